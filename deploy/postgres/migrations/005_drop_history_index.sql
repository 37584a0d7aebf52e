-- stock_prices_history_idx (symbol, timestamp), from migration 001, serves
-- no query of stockfeed (the feed reads by seq through stock_prices_batches,
-- GetBars and the pair count by stock_prices_bars_idx), but every INSERT
-- paid for it: 2.5-3 µs of about 10 a row in COPY (docs/benchmarks.md,
-- "Issue #16"). Who queries stock_prices by symbol and timestamp directly
-- can create it again: CREATE INDEX ON stock_prices (symbol, timestamp).
DROP INDEX IF EXISTS stock_prices_history_idx;
