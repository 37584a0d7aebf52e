-- The feed order moves out of stock_prices into one row per sequencer batch.
--
-- Before, the sequencer UPDATEd every row to set its seq: a second heap tuple
-- plus an entry in every index of stock_prices, per row (13 µs a row measured,
-- on top of 7-15 µs for the INSERT; 100,000 rows/s needed more than the two
-- cores of the benchmark machine). Now:
--   stock_prices_pending   ids of committed, not yet numbered rows: one array
--                          per INSERT statement, filled by a statement trigger
--   stock_prices_batches   the numbering: seq first_seq + k - 1 is row ids[k]
--                          (dense, commit-ordered, written once per batch)
--   stock_prices_sequence  the sequencer step (price_service calls it)
--   stock_prices_sequenced the feed as a view: (seq, stock_prices.*)
-- A plain workshop INSERT keeps working; seq is no longer a column of
-- stock_prices (read it from stock_prices_sequenced). docs/benchmarks.md,
-- "Issue #16", has the measurements.

-- No INSERT may slip between the conversion below and the new trigger.
LOCK TABLE stock_prices IN ACCESS EXCLUSIVE MODE;

CREATE TABLE stock_prices_pending (
  ids bigint[] NOT NULL
);

CREATE TABLE stock_prices_batches (
  last_seq  bigint   PRIMARY KEY,
  first_seq bigint   NOT NULL,
  ids       bigint[] NOT NULL,
  CHECK (first_seq >= 1 AND last_seq - first_seq + 1 = cardinality(ids))
);

-- Rows numbered so far keep their seq: one batch per run of consecutive seq
-- values (deleted rows leave holes), at most 5,000 rows each.
INSERT INTO stock_prices_batches (last_seq, first_seq, ids)
SELECT max(seq), min(seq), array_agg(id ORDER BY seq)
  FROM (SELECT id, seq, seq - row_number() OVER (ORDER BY seq) AS run,
               (row_number() OVER (ORDER BY seq) - 1) / 5000 AS part
          FROM stock_prices WHERE seq IS NOT NULL) numbered
 GROUP BY run, part;
-- Rows not numbered yet wait for the sequencer, as before.
INSERT INTO stock_prices_pending (ids)
SELECT array_agg(id ORDER BY id) FROM stock_prices WHERE seq IS NULL HAVING count(*) > 0;

-- Also drops stock_prices_seq_key, stock_prices_unsequenced_idx and
-- stock_prices_latest_idx: nothing indexes the feed order in stock_prices now.
ALTER TABLE stock_prices DROP COLUMN seq;
DROP TRIGGER stock_prices_notify ON stock_prices;
DROP FUNCTION stock_prices_notify();

-- After every INSERT statement (COPY too): queue the new ids, wake price_service.
-- The notification is only a wake-up (a lost one costs latency until the
-- safety poll, never data).
CREATE FUNCTION stock_prices_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stock_prices_pending (ids) SELECT array_agg(id) FROM new_rows HAVING count(*) > 0;
  PERFORM pg_notify('stock_prices', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER stock_prices_enqueue AFTER INSERT ON stock_prices
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION stock_prices_enqueue();

-- The sequencer step: numbers the committed pending rows (whole statements,
-- about max_rows rows; in id order within the step) with the next dense values
-- of feed_state.last_seq, in batches of at most max_rows. Returns how many it
-- numbered: 0 when nothing was pending or another replica holds the sequencer
-- lock (its commit notifies us). Consumes no number it does not commit: a
-- rollback also rolls back the counter and the pending rows.
-- jit off: the planner's guesses for these CTEs (feed_state never analyzed)
-- cost enough to JIT-compile the statement, 350 ms of a 5 ms step.
CREATE FUNCTION stock_prices_sequence(max_rows integer) RETURNS bigint LANGUAGE plpgsql
SET jit = off AS $$
DECLARE
  numbered bigint;
BEGIN
  -- Serialises replicas ("sfseq"); not waiting: the holder's commit notifies.
  IF NOT pg_try_advisory_xact_lock(495873221489) THEN
    RETURN 0;
  END IF;
  WITH picked AS (
    SELECT ctid AS row_ctid
      FROM (SELECT ctid, sum(cardinality(ids)) OVER (ORDER BY ids[1], ctid) - cardinality(ids) AS before
              FROM stock_prices_pending) p
     WHERE before < max_rows
  ), taken AS (
    DELETE FROM stock_prices_pending q USING picked WHERE q.ctid = picked.row_ctid RETURNING q.ids
  ), ordered AS MATERIALIZED (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM taken, unnest(taken.ids) AS id
  ), counter AS (
    UPDATE feed_state SET last_seq = last_seq + (SELECT count(*) FROM ordered)
     WHERE (SELECT count(*) FROM ordered) > 0
    RETURNING last_seq - (SELECT count(*) FROM ordered) AS base
  ), batches AS (
    INSERT INTO stock_prices_batches (last_seq, first_seq, ids)
    SELECT base + max(n), base + min(n), array_agg(id ORDER BY n)
      FROM ordered, counter
     GROUP BY base, (n - 1) / max_rows
    RETURNING cardinality(ids) AS rows
  )
  SELECT coalesce(sum(rows), 0) INTO numbered FROM batches;
  IF numbered > 0 THEN
    PERFORM pg_notify('stock_prices', '');
  END IF;
  RETURN numbered;
END
$$;

-- The feed for people and tools: every numbered row that still exists.
CREATE VIEW stock_prices_sequenced AS
SELECT b.first_seq + u.ord - 1 AS seq, p.*
  FROM stock_prices_batches b
 CROSS JOIN LATERAL unnest(b.ids) WITH ORDINALITY AS u(id, ord)
  JOIN stock_prices p ON p.id = u.id;
