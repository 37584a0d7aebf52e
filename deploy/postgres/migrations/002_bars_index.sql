-- GetBars: the bars of one symbol/source over a time range, computed with
-- date_bin over inserted_at (see price_service/sources/postgres_bars.cc).
-- The range condition needs (symbol, source, inserted_at); INCLUDE (price, id)
-- lets a vacuumed table answer from the index alone. The session's reference
-- price (first price at or after the session start) uses the same index.
CREATE INDEX stock_prices_bars_idx ON stock_prices (symbol, source, inserted_at) INCLUDE (price, id);
