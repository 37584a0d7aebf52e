-- stock_prices: the workshop's table (a plain
--   INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES (...)
-- keeps working) plus what price_service needs to stream it without loss:
--   id          insertion order (bigserial; NOT commit order, see seq)
--   inserted_at high-resolution insert time, becomes PriceUpdate.event_time_us
--   seq         commit-ordered, dense feed position, assigned after commit by
--               price_service's sequencer (never write it yourself); NULL
--               until then. Becomes PriceUpdate.sequence.
-- Works on a fresh database and on one that already has the workshop table.
CREATE TABLE IF NOT EXISTS stock_prices (
  symbol    text             NOT NULL,
  price     double precision NOT NULL,
  source    text             NOT NULL,
  timestamp bigint           NOT NULL
);
ALTER TABLE stock_prices
  ADD COLUMN IF NOT EXISTS id bigserial,
  ADD COLUMN IF NOT EXISTS inserted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  ADD COLUMN IF NOT EXISTS seq bigint;
ALTER TABLE stock_prices
  ALTER COLUMN timestamp SET DEFAULT extract(epoch FROM clock_timestamp())::bigint;

-- NOT VALID: enforced for every new row without rejecting old workshop rows.
-- NaN compares greater than every number in PostgreSQL, hence the explicit test.
ALTER TABLE stock_prices
  ADD CONSTRAINT stock_prices_symbol_check
    CHECK (char_length(symbol) BETWEEN 1 AND 32) NOT VALID,
  ADD CONSTRAINT stock_prices_source_check
    CHECK (char_length(source) BETWEEN 1 AND 32) NOT VALID,
  ADD CONSTRAINT stock_prices_price_check
    CHECK (price > 0 AND price < 'Infinity' AND price <> 'NaN') NOT VALID;

-- One row: the feed's identity and its sequence counter. `epoch` is copied by
-- physical replication and backups, so every replica of price_service in front
-- of this database (or its promoted standby) reports the same epoch.
CREATE TABLE feed_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  epoch     text   NOT NULL,
  last_seq  bigint NOT NULL CHECK (last_seq >= 0)
);

-- Rows that existed before this migration are history, not news: number them
-- now so the first price_service start does not stream them as live updates.
UPDATE stock_prices p SET seq = n.rn
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM stock_prices) n
 WHERE p.id = n.id;
INSERT INTO feed_state (epoch, last_seq)
  SELECT 'pg-' || gen_random_uuid(), coalesce(max(seq), 0) FROM stock_prices;

ALTER TABLE stock_prices ADD PRIMARY KEY (id);
-- The reader's cursor (WHERE seq > $1 ORDER BY seq); unique guards the sequencer.
CREATE UNIQUE INDEX stock_prices_seq_key ON stock_prices (seq);
-- The sequencer's work list: small, since rows leave it within milliseconds.
CREATE INDEX stock_prices_unsequenced_idx ON stock_prices (id) WHERE seq IS NULL;
-- Latest price per symbol/source (DISTINCT ON ... ORDER BY seq DESC) and
-- per-symbol history by time.
CREATE INDEX stock_prices_latest_idx ON stock_prices (symbol, source, seq DESC);
CREATE INDEX stock_prices_history_idx ON stock_prices (symbol, timestamp);

-- Wake price_service after every INSERT statement. Only a wake-up: readers
-- always go back to the table, so a lost notification costs latency (until
-- the safety poll), never data. FOR EACH STATEMENT: one NOTIFY per batch.
CREATE FUNCTION stock_prices_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('stock_prices', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER stock_prices_notify AFTER INSERT ON stock_prices
  FOR EACH STATEMENT EXECUTE FUNCTION stock_prices_notify();
