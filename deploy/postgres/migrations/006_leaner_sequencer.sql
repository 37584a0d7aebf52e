-- The sequencer step of migration 003, same contract, about half the CPU a
-- row (docs/benchmarks.md, "Issue #16"): the taken ids are sorted once into
-- one array and cut into batches by slicing it, where 003 numbered them with
-- a window function, materialised them and sorted each batch again for
-- array_agg. A missing feed_state row is now an error (the step rolls back
-- and the pending ids stay queued) instead of pending ids dropped unnumbered.
CREATE OR REPLACE FUNCTION stock_prices_sequence(max_rows integer) RETURNS bigint LANGUAGE plpgsql
SET jit = off AS $$
DECLARE
  sorted bigint[];
  total bigint;
  base bigint;
BEGIN
  -- Serialises replicas ("sfseq"); not waiting: the holder's commit notifies.
  IF NOT pg_try_advisory_xact_lock(495873221489) THEN
    RETURN 0;
  END IF;
  -- Whole statements' ids, oldest first, until about max_rows are taken.
  WITH picked AS (
    SELECT ctid AS row_ctid
      FROM (SELECT ctid, sum(cardinality(ids)) OVER (ORDER BY ids[1], ctid) - cardinality(ids) AS before
              FROM stock_prices_pending) p
     WHERE before < max_rows
  ), taken AS (
    DELETE FROM stock_prices_pending q USING picked WHERE q.ctid = picked.row_ctid RETURNING q.ids
  )
  SELECT array_agg(id ORDER BY id) INTO sorted FROM taken, unnest(taken.ids) AS id;
  total := coalesce(cardinality(sorted), 0);
  IF total = 0 THEN
    RETURN 0;
  END IF;
  UPDATE feed_state SET last_seq = last_seq + total RETURNING last_seq - total INTO STRICT base;
  -- Batch k holds seq base + k * max_rows + 1 onwards: sorted[k * max_rows + 1 ...].
  INSERT INTO stock_prices_batches (last_seq, first_seq, ids)
  SELECT base + least(total, (k + 1) * max_rows), base + k * max_rows + 1,
         sorted[k * max_rows + 1 : (k + 1) * max_rows]
    FROM generate_series(0, (total - 1) / max_rows) AS k;
  PERFORM pg_notify('stock_prices', '');
  RETURN total;
END
$$;
