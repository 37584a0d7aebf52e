// The WebSocket connection to the gateway: connect, keep alive, reconnect with backoff.
// Knows the transport and control messages, not what prices mean (that is model.js).
// The socket class, timers and clock are injectable so the logic can be driven by tests.
import { Backoff } from './backoff.js';
import { parseFrame, refreshMsg, STATS_REQUEST, PING } from './protocol.js';

export class FeedConnection {
  /**
   * @param {object} o
   * @param {() => string} o.urlFor         URL of the next attempt (carries resume position)
   * @param {(msgs: object[]) => void} o.onMessages
   * @param {(state: string, info: {retryAt: number|null}) => void} o.onState
   *   state: 'connecting' (first attempt) | 'open' | 'reconnecting' (down, retrying)
   * @param {{fresh: (reason: string) => Promise<string|null>}} [o.tokens]  token auth: answers
   *   token_expiring with a refresh carrying tokens.fresh('expiring')
   * @param {() => void} [o.onRefusedBeforeOpen]  a connect closed before it opened (maybe a 401)
   */
  constructor({
    urlFor,
    onMessages,
    onState,
    WebSocketImpl = globalThis.WebSocket,
    backoff = new Backoff(),
    timers = globalThis,
    now = () => Date.now(),
    statsIntervalMs = 2000,
    idleTimeoutMs = 12000,
    tokens = null,
    onRefusedBeforeOpen = () => {},
  }) {
    Object.assign(this, { urlFor, onMessages, onState, WebSocketImpl, backoff, timers, now, tokens, onRefusedBeforeOpen });
    this.statsIntervalMs = statsIntervalMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.ws = null;
    this.state = 'idle';
    this.retryAt = null;
    this.retryTimer = null;
    this.tickTimer = null;
    this.lastMessageAt = 0;
    this.healthy = false;
    this.openedOnce = false;
  }

  start() {
    if (this.state === 'idle') this.#connect();
  }

  stop() {
    this.#setState('stopped');
    this.#closeSocket();
    this.timers.clearTimeout(this.retryTimer);
  }

  /** Sends a control message if the socket is open; returns whether it was sent. */
  send(msg) {
    if (this.state !== 'open' || !this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Skips the remaining backoff wait (button, or the browser coming back online). */
  reconnectNow() {
    if (this.state !== 'reconnecting' || this.retryTimer === null) return;
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.#connect();
  }

  #setState(state) {
    this.state = state;
    this.onState(state, { retryAt: this.retryAt });
  }

  #connect() {
    this.retryTimer = null;
    this.retryAt = null;
    this.healthy = false;
    this.#setState(this.state === 'idle' || this.state === 'connecting' ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this.WebSocketImpl(this.urlFor());
    } catch (e) {
      console.warn('stockfeed: cannot open WebSocket', e);
      this.#scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastMessageAt = this.now();
      this.openedOnce = true;
      this.#setState('open');
      this.send(STATS_REQUEST);
      this.tickTimer = this.timers.setInterval(() => this.#tick(), this.statsIntervalMs);
    };
    ws.onmessage = (ev) => {
      this.lastMessageAt = this.now();
      if (!this.healthy) {
        // Reset the backoff only once the gateway really talks, not merely accepts.
        this.healthy = true;
        this.backoff.reset();
      }
      if (typeof ev.data !== 'string') return;
      const msgs = parseFrame(ev.data);
      if (this.tokens && msgs.some((m) => m.type === 'token_expiring')) this.#refreshToken(ws);
      this.onMessages(msgs);
    };
    // A failed connect fires error then close; close alone drives the retry.
    ws.onerror = () => {};
    ws.onclose = () => {
      if (this.state !== 'open') this.onRefusedBeforeOpen();
      this.#closeSocket();
      if (this.state !== 'stopped') this.#scheduleRetry();
    };
  }

  /** Answers token_expiring on `ws` with a fresh token; a token that never comes means close 4001. */
  async #refreshToken(ws) {
    const token = await this.tokens.fresh('expiring');
    if (token && this.ws === ws) this.send(refreshMsg(token));
  }

  /** Every statsIntervalMs while open: poll stats (doubles as keep-alive), detect a dead link. */
  #tick() {
    if (this.now() - this.lastMessageAt > this.idleTimeoutMs) {
      console.warn('stockfeed: no message for', this.idleTimeoutMs, 'ms; reconnecting');
      this.#closeSocket();
      this.#scheduleRetry();
      return;
    }
    this.send(STATS_REQUEST);
    if (this.now() - this.lastMessageAt > this.statsIntervalMs) this.send(PING);
  }

  #closeSocket() {
    this.timers.clearInterval(this.tickTimer);
    this.tickTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (ws.readyState === 0 || ws.readyState === 1) ws.close();
  }

  #scheduleRetry() {
    const delay = this.backoff.next();
    this.retryAt = this.now() + delay;
    this.state = 'reconnecting';
    this.retryTimer = this.timers.setTimeout(() => this.#connect(), delay);
    this.onState('reconnecting', { retryAt: this.retryAt });
  }
}
