// Pure dashboard state: latest quote per symbol/source, what changed since the last frame,
// which symbols are watched, the resume position, and client-side stats. No DOM, no sockets;
// time comes in as arguments so node tests can drive it.
import { subscribeMsg, unsubscribeMsg } from './protocol.js';

const WINDOW_US = 1_000_000;

/** Latest state of one symbol/source pair. The view reads it; only the model writes it. */
export class Quote {
  constructor(symbol, source, price) {
    this.symbol = symbol;
    this.source = source;
    this.price = price;
    this.prevPrice = null; // price of the previous tick
    this.dayOpen = null; // the session's reference price (first of the trading day), from the service
    this.seq = 0;
    this.eventTimeUs = 0;
    this.timestamp = 0; // unix seconds
  }
  get tickChange() {
    return this.prevPrice === null ? 0 : this.price - this.prevPrice;
  }
  get tickPercent() {
    return this.prevPrice ? (this.tickChange / this.prevPrice) * 100 : 0;
  }
  /** Change since the session reference; null until the service told us the reference. */
  get dayChange() {
    return this.dayOpen === null ? null : this.price - this.dayOpen;
  }
  get dayPercent() {
    return this.dayOpen ? (this.dayChange / this.dayOpen) * 100 : null;
  }
  /** Unix seconds of the price, for the chart's time axis. */
  get timeSec() {
    if (this.eventTimeUs) return Math.floor(this.eventTimeUs / 1e6);
    return this.timestamp ? Math.floor(this.timestamp) : 0;
  }
}

/** Samples in a sliding one-second window; amortised O(1) per sample. */
class Window {
  constructor() {
    this.times = [];
    this.values = [];
    this.head = 0;
  }
  push(tUs, value) {
    this.times.push(tUs);
    this.values.push(value);
  }
  prune(nowUs) {
    while (this.head < this.times.length && this.times[this.head] <= nowUs - WINDOW_US) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
    }
  }
  get count() {
    return this.times.length - this.head;
  }
  current() {
    return this.values.slice(this.head);
  }
}

export class FeedModel {
  constructor() {
    /** symbol -> Map(source -> Quote), in arrival order; the view sorts. */
    this.symbols = new Map();
    /** null = watch all symbols (no filter), else the explicit set. */
    this.watched = null;
    this.epoch = '';
    this.lastSeq = 0;
    this.upstream = 'unknown';
    this.activeConnections = null;
    this.updates = new Window();
    this.latencies = new Window();
    this.#resetChanges();
  }

  #resetChanges() {
    this.changes = { newSymbols: [], newQuotes: [], changed: new Set(), watchChanged: false };
  }

  /** Hands the changes since the last call to the renderer and starts a new batch. */
  takeChanges() {
    const c = this.changes;
    this.#resetChanges();
    return c;
  }

  isWatched(symbol) {
    return this.watched === null || this.watched.has(symbol);
  }

  /** A new epoch means sequences restarted: old positions mean nothing any more. */
  setEpoch(epoch) {
    if (!epoch || epoch === this.epoch) return;
    if (this.epoch) {
      this.lastSeq = 0;
      for (const sources of this.symbols.values()) for (const q of sources.values()) q.seq = 0;
    }
    this.epoch = epoch;
  }

  /** Everything up to `seq` is covered (e.g. by a snapshot): resume from there. */
  coverUpTo(seq) {
    if (Number.isFinite(seq) && seq > this.lastSeq) this.lastSeq = seq;
  }

  #noteSymbol(symbol) {
    let sources = this.symbols.get(symbol);
    if (!sources) {
      sources = new Map();
      this.symbols.set(symbol, sources);
      this.changes.newSymbols.push(symbol);
    }
    return sources;
  }

  /** Symbols the gateway knows (GET /api/v1/symbols), watched or not, so each can be chosen. */
  knowSymbols(symbols) {
    for (const symbol of symbols) if (typeof symbol === 'string' && symbol) this.#noteSymbol(symbol);
  }

  /**
   * Applies a normalised price (protocol.normalizePrice). Returns true when it changed a quote.
   * Snapshot/replayed updates not newer than the quote (by seq) are dropped as duplicates;
   * updates for unwatched symbols only register the symbol so it can be chosen.
   */
  applyPrice(p, nowUs) {
    const sources = this.#noteSymbol(p.symbol);
    if (p.seq) this.coverUpTo(p.seq);
    if (!this.isWatched(p.symbol)) return false;

    let q = sources.get(p.source);
    if (!q) {
      q = new Quote(p.symbol, p.source, p.price);
      sources.set(p.source, q);
      this.changes.newQuotes.push(q);
    } else {
      // Snapshot and replayed prices may repeat what we already show. Live prices always
      // apply: a lower seq there means the sequence space restarted (new epoch).
      if ((p.snapshot || p.history) && p.seq && q.seq && p.seq <= q.seq) return false;
      q.prevPrice = q.price;
      q.price = p.price;
    }
    q.seq = p.seq || q.seq;
    q.eventTimeUs = p.eventTimeUs;
    q.timestamp = p.timestamp;
    this.changes.changed.add(q);

    if (!p.snapshot) {
      this.updates.push(nowUs, 1);
      if (!p.history && p.eventTimeUs) this.latencies.push(nowUs, nowUs - p.eventTimeUs);
    }
    return true;
  }

  /** updates/s and end-to-end latency (µs) over the last second. */
  stats(nowUs) {
    this.updates.prune(nowUs);
    this.latencies.prune(nowUs);
    const lat = this.latencies.current().sort((a, b) => a - b);
    return {
      rate: this.updates.count,
      latencyP50Us: lat.length ? lat[Math.floor((lat.length - 1) / 2)] : null,
      latencyMaxUs: lat.length ? lat[lat.length - 1] : null,
      activeConnections: this.activeConnections,
    };
  }

  /**
   * Watches or stops watching one symbol; returns the control message for the gateway, or
   * null. The gateway treats an empty symbol set as "all", so leaving "all" sends the explicit
   * remaining list as a subscribe; the page also filters locally, so the UI is right either way.
   */
  setSymbolWatched(symbol, on) {
    if (on === this.isWatched(symbol)) return null;
    this.changes.watchChanged = true;
    if (on) {
      this.watched.add(symbol);
      return subscribeMsg([symbol]);
    }
    if (this.watched === null) {
      this.watched = new Set([...this.symbols.keys()].filter((s) => s !== symbol));
      return this.watched.size ? subscribeMsg([...this.watched]) : null;
    }
    this.watched.delete(symbol);
    return unsubscribeMsg([symbol]);
  }

  /** Watches every symbol; returns the message that adds the known ones at the gateway. */
  watchAll() {
    if (this.watched === null) return null;
    const missing = [...this.symbols.keys()].filter((s) => !this.watched.has(s));
    this.watched = null;
    this.changes.watchChanged = true;
    return missing.length ? subscribeMsg(missing) : null;
  }

  watchNone() {
    const before = this.watched === null ? [] : [...this.watched];
    this.watched = new Set();
    this.changes.watchChanged = true;
    return before.length ? unsubscribeMsg(before) : null;
  }

  /** The session reference of a pair (GET /api/v1/bars session.open); marks the quote changed. */
  setDayOpen(symbol, source, price) {
    const q = this.symbols.get(symbol)?.get(source);
    if (!q || !(price > 0) || q.dayOpen === price) return;
    q.dayOpen = price;
    this.changes.changed.add(q);
  }

  /** Parameters for the next (re)connect: restore the subscription and resume. */
  connectParams() {
    return {
      symbols: this.watched === null ? null : [...this.watched],
      afterSeq: this.lastSeq,
      epoch: this.epoch,
    };
  }
}

/**
 * What the status bar shows, from the socket state ('connecting' | 'open' | 'reconnecting')
 * and the gateway's upstream state.
 */
export function displayState(socket, upstream) {
  if (socket === 'open') {
    if (upstream === 'reconnecting' || upstream === 'down') return 'down';
    return 'live';
  }
  return socket === 'reconnecting' ? 'reconnecting' : 'connecting';
}
