-- The id arrays of stock_prices_pending and stock_prices_batches (migration
-- 003) are stored out of line without compression. A batch of 1,000 ids is
-- 8 kB, over the 2 kB at which PostgreSQL compresses a value; pglz then
-- took about a tenth of the CPU of both the inserting backend (its trigger)
-- and the sequencer, and halved the sequencer step per row when it was gone
-- (docs/benchmarks.md, "Issue #16"). The cost: about 8 bytes a row in
-- stock_prices_batches instead of about 4. Rows written before keep their
-- compressed arrays; both read the same.
ALTER TABLE stock_prices_pending ALTER COLUMN ids SET STORAGE EXTERNAL;
ALTER TABLE stock_prices_batches ALTER COLUMN ids SET STORAGE EXTERNAL;
