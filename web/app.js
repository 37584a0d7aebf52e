// Wires the dashboard: gateway messages -> model (per message) -> view (per animation frame).
import { askUserForToken, refusedForToken, takeTokenFromUrl, TokenSource } from './js/auth.js';
import { FeedConnection } from './js/feed.js';
import { FeedModel, displayState } from './js/model.js';
import { buildFeedUrl, normalizePrice } from './js/protocol.js';
import { DashboardView } from './js/view.js';

const STATS_RENDER_MS = 250;

// Wall clock in µs with sub-millisecond resolution. performance.now() is monotonic and can
// drift from Date.now() over hours, so the base is re-anchored to the wall clock regularly.
let clockBase = Date.now() - performance.now();
setInterval(() => (clockBase = Date.now() - performance.now()), 5000);
const wallClockUs = () => (clockBase + performance.now()) * 1000;

const model = new FeedModel();
let socketState = 'connecting';
let retryAt = null;
let upstreamMessage = '';

const view = new DashboardView(document, {
  onToggle: (symbol, on) => control(model.setSymbolWatched(symbol, on)),
  onWatchAll: () => control(model.watchAll()),
  onWatchNone: () => control(model.watchNone()),
  onReconnectNow: () => feed.reconnectNow(),
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
  requestRender();
}

let lastStatusKey = '';
function showStatus() {
  const state = displayState(socketState, model.upstream);
  const key = `${state}|${retryAt}|${upstreamMessage}`;
  if (key === lastStatusKey) return;
  lastStatusKey = key;
  view.setStatus(state, { retryAt, message: upstreamMessage });
}

function applyPrices(list, nowUs, snapshot) {
  for (const raw of list) {
    const p = normalizePrice(raw);
    if (!p) continue;
    if (snapshot) p.snapshot = true;
    model.applyPrice(p, nowUs);
  }
}

function handleMessages(msgs) {
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
        upstreamMessage = typeof m.message === 'string' ? m.message : '';
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
      case 'subscribed':
      case 'resumed':
      case 'resync':
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
    view.render(model.takeChanges(), model);
  });
}

setInterval(() => view.renderStats(model.stats(wallClockUs())), STATS_RENDER_MS);
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => view.applyTheme());
addEventListener('online', () => feed.reconnectNow());

showStatus();
feed.start();

// Debug handle for the console and the browser tests' render-cost check.
window.stockfeed = { model, view, feed, handleMessages, requestRender, tokens };
