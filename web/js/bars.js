// OHLC bars on the page: what each range asks the gateway for (GET /api/v1/bars), and the
// current bar extended by live ticks. Pure functions and a small class; no DOM, no fetch.

/** Chart ranges: the span shown and the bar interval that fills it with a useful bar count. */
export const RANGES = {
  '15m': { label: '15 min', interval: '1s', intervalSec: 1, spanSec: 15 * 60 },
  '1h': { label: '1 hour', interval: '1m', intervalSec: 60, spanSec: 60 * 60 },
  '1d': { label: '1 day', interval: '5m', intervalSec: 300, spanSec: 24 * 60 * 60 },
};
export const DEFAULT_RANGE = '15m';

/** What a chart of `rangeKey` asks for: its interval, and bars enough to fill its span. */
export function rangeQuery(rangeKey) {
  const range = RANGES[rangeKey] ?? RANGES[DEFAULT_RANGE];
  return { interval: range.interval, limit: Math.ceil(range.spanSec / range.intervalSec) };
}
/** The smallest question that still answers the session reference (the day change). */
export const REFERENCE_QUERY = { interval: '1h', limit: 1 };

// The gateway's bounds of one batch (docs/protocol.md), and a query well inside its 8 KiB head.
export const MAX_BATCH_PAIRS = 64;
export const MAX_BATCH_BARS = 10000;
const MAX_PAIRS_CHARS = 2000;

export const pairKey = (symbol, source) => `${symbol}\u0000${source}`;

/**
 * The fewest GET /api/v1/bars requests that ask for every [symbol, source] of `pairs` with
 * `query` ({interval, limit}): [{path, pairs}], each within the gateway's batch bounds.
 */
export function batchRequests(pairs, { interval, limit }) {
  const perRequest = Math.max(1, Math.min(MAX_BATCH_PAIRS, Math.floor(MAX_BATCH_BARS / limit)));
  const requests = [];
  let batch = [];
  let items = [];
  let chars = 0;
  const close = () => {
    // Names stay literal where the query allows it (all of the gateway's name syntax): the token
    // gate compares them literally, and ':' and ',' must stay separators.
    const path = `/api/v1/bars?pairs=${items.join(',')}&${new URLSearchParams({ interval, limit: String(limit) })}`;
    requests.push({ path, pairs: batch });
    batch = [];
    items = [];
    chars = 0;
  };
  for (const [symbol, source] of pairs) {
    const item = `${symbol}:${source}`.replace(/[^A-Za-z0-9._\-^=/:]/g, encodeURIComponent);
    if (batch.length === perRequest || (batch.length && chars + item.length + 1 > MAX_PAIRS_CHARS)) close();
    batch.push([symbol, source]);
    items.push(item);
    chars += item.length + 1;
  }
  if (batch.length) close();
  return requests;
}

// The gateway's name syntax (common/symbols.cc): names outside it have no bars to ask for.
const SYMBOL_RE = /^[A-Za-z0-9._\-^=/]{1,32}$/;
const SOURCE_RE = /^[a-z0-9._-]{1,32}$/;
/** Whether /api/v1/bars can answer for this pair (a workshop feed may carry any name). */
export const hasBars = (symbol, source) => SYMBOL_RE.test(symbol) && SOURCE_RE.test(source);

/** Start of the bar containing `timeSec`. */
export const binStart = (timeSec, intervalSec) => Math.floor(timeSec / intervalSec) * intervalSec;

/**
 * The bars of one series: those fetched from the gateway plus what live ticks add. `tick`
 * returns the bars to hand to the chart's series.update() (the current one, and the one it
 * closed when a tick rolled over into a new interval). Ticks that arrive before the fetched
 * bars are kept and merged into them.
 */
export class BarSeries {
  constructor(intervalSec) {
    this.intervalSec = intervalSec;
    this.bars = []; // ascending by time
    this.loaded = false;
  }

  get last() {
    return this.bars[this.bars.length - 1] ?? null;
  }

  /** Applies one tick; returns the bars that changed (oldest first), empty for a stale tick. */
  tick(timeSec, price) {
    const time = binStart(timeSec, this.intervalSec);
    const last = this.last;
    if (last && time < last.time) return []; // older than the current bar: the chart only grows forward
    if (last && time === last.time) {
      last.high = Math.max(last.high, price);
      last.low = Math.min(last.low, price);
      last.close = price;
      last.count += 1;
      return [last];
    }
    const bar = { time, open: price, high: price, low: price, close: price, count: 1 };
    this.bars.push(bar);
    return [bar];
  }

  /**
   * Takes the fetched bars (ascending); ticks seen meanwhile that are newer than the last
   * fetched bar are appended, and those inside it widen it.
   */
  load(fetched) {
    const early = this.bars;
    this.bars = fetched.map((b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close, count: b.count }));
    this.loaded = true;
    const lastTime = this.last?.time ?? -Infinity;
    for (const bar of early) {
      if (bar.time < lastTime) continue;
      if (bar.time === lastTime) {
        const last = this.last;
        last.high = Math.max(last.high, bar.high);
        last.low = Math.min(last.low, bar.low);
        last.close = bar.close;
        last.count += bar.count;
      } else {
        this.bars.push(bar);
      }
    }
  }

  /** Keeps at most `max` bars, dropping the oldest. */
  trim(max) {
    if (this.bars.length > max) this.bars = this.bars.slice(this.bars.length - max);
  }
}

/**
 * Checks one pair's answer of /api/v1/bars (a result of a batch) and returns {bars,
 * sessionOpen, sessionStart, timeZone}; throws on one that is not what the gateway sends.
 */
export function parseBarsResponse(body) {
  if (!body || !Array.isArray(body.bars) || typeof body.session !== 'object') throw new Error('unexpected bars response');
  const finite = (v) => typeof v === 'number' && Number.isFinite(v);
  const bars = body.bars.filter((b) => finite(b.time) && finite(b.open) && finite(b.high) && finite(b.low) && finite(b.close));
  const session = body.session ?? {};
  return {
    bars,
    sessionOpen: finite(session.open) && session.open > 0 ? session.open : null,
    sessionStart: finite(session.start) ? session.start : null,
    timeZone: typeof session.time_zone === 'string' ? session.time_zone : '',
  };
}

/** A batch's answer as Map(pairKey -> parseBarsResponse of that pair); throws on a bad body. */
export function parseBarsBatch(body) {
  if (!body || !Array.isArray(body.results)) throw new Error('unexpected bars response');
  const out = new Map();
  for (const result of body.results) {
    if (typeof result?.symbol !== 'string' || typeof result.source !== 'string') throw new Error('unexpected bars response');
    out.set(pairKey(result.symbol, result.source), parseBarsResponse(result));
  }
  return out;
}

/** Decimals to show for a symbol, from a typical price: cents for most, more for pennies. */
export function precisionFor(price) {
  if (!(price > 0)) return 2;
  if (price < 1) return 4;
  if (price < 10) return 3;
  return 2;
}

/** A stable colour per source name (same name, same colour on every load and page). */
const SOURCE_PALETTE = ['#2962ff', '#e67e22', '#16a085', '#8e44ad', '#c0392b', '#d4a017', '#0097a7', '#6d4c41'];
export function sourceColor(name) {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return SOURCE_PALETTE[hash % SOURCE_PALETTE.length];
}
