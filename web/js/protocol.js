// Wire format of the gateway's WebSocket protocol v1: URL building and frame parsing.
// Pure functions, no DOM and no sockets, so node tests can import them.

/**
 * WebSocket URL for a (re)connect.
 * @param {{protocol: string, host: string}} loc  e.g. window.location
 * @param {{symbols?: string[]|null, afterSeq?: number, epoch?: string, token?: string|null}} opts
 *   symbols: null = all symbols; afterSeq+epoch: resume after that position; token: for token auth.
 */
export function buildFeedUrl(loc, { symbols = null, afterSeq = 0, epoch = '', token = null } = {}) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = new URLSearchParams({ protocol: 'v1', batch: '1' });
  if (symbols && symbols.length > 0) params.set('symbols', symbols.join(','));
  if (afterSeq > 0 && epoch) {
    params.set('after_seq', String(afterSeq));
    params.set('epoch', epoch);
  }
  if (token) params.set('token', token);
  return `${scheme}//${loc.host}/ws?${params}`;
}

/**
 * Parses one frame into a list of messages. A frame is one message object or, with batch=1,
 * an array of them. Price objects without a `type` (workshop format) count as prices.
 * Returns [] for garbage: the feed must survive a bad frame.
 */
export function parseFrame(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const items = Array.isArray(data) ? data : [data];
  const out = [];
  for (const item of items) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
    if (typeof item.type === 'string') out.push(item);
    else if ('symbol' in item && 'price' in item) out.push({ ...item, type: 'price' });
  }
  return out;
}

/**
 * Validates and normalises a price object; null when unusable.
 * Symbols and sources stay arbitrary strings: the view must only ever use textContent.
 */
export function normalizePrice(p) {
  if (!p || typeof p.symbol !== 'string' || p.symbol === '') return null;
  const price = Number(p.price);
  if (!Number.isFinite(price)) return null;
  const seq = Number(p.seq);
  const eventTimeUs = Number(p.event_time_us);
  const timestamp = Number(p.timestamp);
  return {
    symbol: p.symbol,
    source: typeof p.source === 'string' && p.source !== '' ? p.source : 'unknown',
    price,
    seq: Number.isFinite(seq) && seq > 0 ? seq : 0,
    eventTimeUs: Number.isFinite(eventTimeUs) && eventTimeUs > 0 ? eventTimeUs : 0,
    timestamp: Number.isFinite(timestamp) && timestamp > 0 ? timestamp : 0,
    snapshot: p.snapshot === true,
    history: p.history === true,
  };
}

export const subscribeMsg = (symbols) => ({ type: 'subscribe', symbols, sources: [] });
export const unsubscribeMsg = (symbols) => ({ type: 'unsubscribe', symbols });
export const STATS_REQUEST = { type: 'stats' };
export const PING = { type: 'ping' };
export const refreshMsg = (token) => ({ type: 'refresh', token });
