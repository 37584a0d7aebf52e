// Wires the dashboard: gateway messages -> model (per message) -> view (per animation frame).
import { askUserForToken, refusedForToken, takeTokenFromUrl, TokenSource } from './js/auth.js';
import { FeedConnection } from './js/feed.js';
import { FeedModel, displayState } from './js/model.js';
import { buildFeedUrl, normalizePrice } from './js/protocol.js';
import { DashboardView } from './js/view.js';
import {
  DEFAULT_RANGE, RANGES, REFERENCE_QUERY, batchRequests, hasBars, pairKey, parseBarsBatch, rangeQuery,
} from './js/bars.js';

const STATS_RENDER_MS = 250;
// Live but no price for this long: say so (the feed may be quiet, or stuck upstream).
const STALE_AFTER_MS = 10_000;
// Bars requests in flight at once; the rest wait (a page may have hundreds of pairs).
const MAX_FETCHES = 4;
// Pairs wanted within this long go out together, in as few batch requests as the gateway allows.
const BARS_BATCH_MS = 30;
const PREFS_KEY = 'stockfeed.prefs';
const WATCHLIST_KEY = 'stockfeed.watchlist';

function loadJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null');
  } catch {
    return null;
  }
}
function saveJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch { /* private mode or full: the page works without */ }
}
const savedPrefs = loadJson(PREFS_KEY) ?? {};
const prefs = {
  mode: savedPrefs.mode === 'line' ? 'line' : 'candles',
  range: RANGES[savedPrefs.range] ? savedPrefs.range : DEFAULT_RANGE,
  view: savedPrefs.view === 'table' ? 'table' : 'cards',
};

// Wall clock in µs with sub-millisecond resolution. performance.now() is monotonic and can
// drift from Date.now() over hours, so the base is re-anchored to the wall clock regularly.
let clockBase = Date.now() - performance.now();
setInterval(() => (clockBase = Date.now() - performance.now()), 5000);
const wallClockUs = () => (clockBase + performance.now()) * 1000;

const model = new FeedModel();
const savedWatchlist = loadJson(WATCHLIST_KEY);
if (Array.isArray(savedWatchlist)) model.watched = new Set(savedWatchlist.filter((x) => typeof x === 'string'));
let socketState = 'connecting';
let lastPriceAt = 0;
let retryAt = null;

/** Headers of every /api/ request: the token, when token auth gave us one. */
function apiHeaders() {
  return tokens.current ? { Authorization: `Bearer ${tokens.current}` } : {};
}

// Pairs waiting for their bars, by question: "interval/limit" -> {query, pairs: Map(pairKey -> waiter)}.
// They go out in full batches as requests finish, so pairs wanted meanwhile share requests.
const barsWanted = new Map();
let barsFlushTimer = null;
let fetching = 0;

/** One pair's bars for `query` ({interval, limit}), asked together with the others wanted now. */
function askBars(symbol, source, query) {
  return new Promise((resolve, reject) => {
    const key = `${query.interval}/${query.limit}`;
    let group = barsWanted.get(key);
    if (!group) barsWanted.set(key, (group = { query, pairs: new Map() }));
    const id = pairKey(symbol, source);
    let waiter = group.pairs.get(id);
    if (!waiter) group.pairs.set(id, (waiter = { symbol, source, callbacks: [] }));
    waiter.callbacks.push({ resolve, reject });
    barsFlushTimer ??= setTimeout(() => {
      barsFlushTimer = null;
      pumpBars();
    }, BARS_BATCH_MS);
  });
}

/**
 * Sends waiting pairs, a full batch per request, with at most MAX_FETCHES requests in flight;
 * charts in view first, day references (the one-bar question) after them.
 */
function pumpBars() {
  const groups = [...barsWanted].sort(([, a], [, b]) => (a.query.limit === 1) - (b.query.limit === 1));
  for (const [key, group] of groups) {
    while (fetching < MAX_FETCHES && group.pairs.size) {
      const [request] = batchRequests([...group.pairs.values()].map((w) => [w.symbol, w.source]), group.query);
      const waiters = request.pairs.map(([symbol, source]) => {
        const id = pairKey(symbol, source);
        const waiter = group.pairs.get(id);
        group.pairs.delete(id);
        return waiter;
      });
      fetchBars(request.path, waiters);
    }
    if (!group.pairs.size) barsWanted.delete(key);
  }
}

function fetchBars(path, waiters) {
  fetching++;
  const settle = (each) => {
    for (const w of waiters) for (const cb of w.callbacks) each(cb, w);
  };
  fetch(path, { headers: apiHeaders() })
    .then(async (res) => {
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
      return parseBarsBatch(await res.json());
    })
    .then((answers) => settle((cb, w) => {
      const answer = answers.get(pairKey(w.symbol, w.source));
      if (answer) cb.resolve(answer);
      else cb.reject(new Error('pair missing from the answer'));
    }), (e) => settle((cb) => cb.reject(e)))
    .finally(() => {
      fetching--;
      pumpBars();
    });
}

/** Bars for a chart; the answer's session reference also sets the quote's day change. */
async function loadBars(symbol, source, range) {
  if (!hasBars(symbol, source)) return { bars: [], sessionOpen: null }; // live ticks only
  const answer = await askBars(symbol, source, rangeQuery(range));
  if (answer.sessionOpen) {
    model.setDayOpen(symbol, source, answer.sessionOpen);
    requestRender();
  }
  return answer;
}

/**
 * Every symbol the gateway knows, also those this page does not watch (a watchlist kept from
 * an earlier visit subscribes to fewer): the picker must offer them all.
 */
function loadSymbolList() {
  fetch('/api/v1/symbols', { headers: apiHeaders() })
    .then((res) => (res.ok ? res.json() : null))
    .then((body) => {
      if (!Array.isArray(body?.symbols)) return;
      model.knowSymbols(body.symbols);
      requestRender();
    })
    .catch(() => {}); // the next connection asks again
}

/** The day change needs each pair's session reference, chart or not: one small bar each. */
const referenceAsked = new Set();
function askReference(symbol, source) {
  const key = pairKey(symbol, source);
  if (referenceAsked.has(key) || !hasBars(symbol, source)) return;
  referenceAsked.add(key);
  askBars(symbol, source, REFERENCE_QUERY).then((answer) => {
    if (answer.sessionOpen) model.setDayOpen(symbol, source, answer.sessionOpen);
    requestRender();
  }).catch((e) => {
    // Unavailable for now: asked again with a later price. A refusal (4xx) stays one.
    if (!(e.status >= 400 && e.status < 500)) referenceAsked.delete(key);
  });
}

const view = new DashboardView(document, {
  onToggle: (symbol, on) => control(model.setSymbolWatched(symbol, on)),
  onWatchAll: () => control(model.watchAll()),
  onWatchNone: () => control(model.watchNone()),
  onReconnectNow: () => feed.reconnectNow(),
  loadBars,
  onPrefs: (p) => saveJson(PREFS_KEY, p),
}, prefs);
document.querySelector('[data-testid=note-dismiss]').addEventListener('click', (ev) => {
  ev.target.closest('[data-testid=note]').hidden = true;
});

// Token auth (docs/security.md): ?token= in the page URL, a hook, or the login field.
const tokens = new TokenSource({
  initial: takeTokenFromUrl(location, history),
  storage: sessionStorage,
  askUser: (reason) => askUserForToken(document, reason),
});
// A connect that never opened may be a 401 the browser hides: ask once it can be (never for a
// dashboard that was live without a token: that gateway is merely down).
async function onRefusedBeforeOpen() {
  if (feed.openedOnce && !tokens.current) return;
  if (await refusedForToken(tokens.current)) {
    if (await tokens.fresh('refused')) feed.reconnectNow();
  }
}

const feed = new FeedConnection({
  urlFor: () => buildFeedUrl(location, { ...model.connectParams(), token: tokens.current }),
  tokens,
  onRefusedBeforeOpen,
  onMessages: handleMessages,
  onState: (state, info) => {
    socketState = state;
    // A fresh connection counts as news: quiet is measured from it when no price came since.
    if (state === 'open') {
      lastPriceAt = Date.now();
      loadSymbolList();
    }
    retryAt = info.retryAt;
    if (state !== 'open') {
      model.upstream = 'unknown'; // the next connection reports afresh
      model.activeConnections = null;
    }
    showStatus();
  },
});

/** Sends a subscription change now; if offline, the next connect URL carries it anyway. */
function control(msg) {
  if (msg) feed.send(msg);
  saveJson(WATCHLIST_KEY, model.watched === null ? null : [...model.watched]);
  requestRender();
}

let lastStatusKey = '';
function showStatus() {
  let state = displayState(socketState, model.upstream);
  if (state === 'live' && Date.now() - lastPriceAt > STALE_AFTER_MS) state = 'stale';
  const key = `${state}|${retryAt}|${state === 'stale' ? Math.round((Date.now() - lastPriceAt) / 1000) : ''}`;
  if (key === lastStatusKey) return;
  lastStatusKey = key;
  const quietFor = Math.round((Date.now() - lastPriceAt) / 1000);
  view.setStatus(state, { retryAt, message: state === 'stale' ? `no price for ${quietFor} s` : '' });
}

function applyPrices(list, nowUs, snapshot) {
  for (const raw of list) {
    const p = normalizePrice(raw);
    if (!p) continue;
    if (snapshot) p.snapshot = true;
    if (!model.applyPrice(p, nowUs)) continue;
    const q = model.symbols.get(p.symbol).get(p.source);
    view.tick(q);
    if (q.dayOpen === null) askReference(p.symbol, p.source);
  }
  if (!snapshot && list.length) lastPriceAt = Date.now();
}

// What the page's own code costs, for the browser tests' render-cost checks (read-only for
// them): message batches and frame renders since reset(), count, total and longest in ms.
const cost = {
  reset() {
    Object.assign(this, { batches: 0, messagesMs: 0, maxMessagesMs: 0, renders: 0, renderMs: 0, maxRenderMs: 0 });
  },
};
cost.reset();

function handleMessages(msgs) {
  const started = performance.now();
  handleMessageList(msgs);
  const ms = performance.now() - started;
  cost.batches++;
  cost.messagesMs += ms;
  cost.maxMessagesMs = Math.max(cost.maxMessagesMs, ms);
}

function handleMessageList(msgs) {
  const nowUs = wallClockUs();
  for (const m of msgs) {
    switch (m.type) {
      case 'price':
        applyPrices([m], nowUs, false);
        break;
      case 'snapshot':
        model.setEpoch(m.epoch);
        applyPrices(Array.isArray(m.prices) ? m.prices : [], nowUs, true);
        model.coverUpTo(Number(m.seq));
        break;
      case 'connected':
        model.setEpoch(m.epoch);
        break;
      case 'status':
        model.upstream = m.upstream;
        showStatus();
        break;
      case 'stats':
        model.activeConnections = Number.isFinite(m.active_connections) ? m.active_connections : null;
        if (typeof m.upstream === 'string') {
          model.upstream = m.upstream;
          showStatus();
        }
        break;
      case 'error':
        console.warn('stockfeed: gateway error', m.code, m.message);
        break;
      case 'resync':
        view.showNote('Resuming was not possible: the gateway no longer held the prices missed while away, '
          + 'so the view was reloaded from a fresh snapshot and the charts from the service\'s bars.');
        view.reloadCharts();
        break;
      case 'subscribed':
      case 'resumed':
      case 'pong':
        console.debug('stockfeed:', m.type, m);
        break;
      default:
        console.debug('stockfeed: ignoring message type', m.type);
    }
  }
  requestRender();
}

let frameRequested = false;
function requestRender() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const started = performance.now();
    view.render(model.takeChanges(), model);
    const ms = performance.now() - started;
    cost.renders++;
    cost.renderMs += ms;
    cost.maxRenderMs = Math.max(cost.maxRenderMs, ms);
  });
}

setInterval(() => view.renderStats(model.stats(wallClockUs())), STATS_RENDER_MS);
setInterval(showStatus, 1000); // notices a feed gone quiet
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => view.applyTheme());
addEventListener('online', () => feed.reconnectNow());

showStatus();
feed.start();

// Debug handle for the console and the browser tests (chart data, render cost).
window.stockfeed = { model, view, feed, handleMessages, requestRender, tokens, cost };
