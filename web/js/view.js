// DOM of the dashboard. Builds each card, row and chip once; afterwards a frame only writes
// textContent/attributes of the cells whose quote changed. Never re-renders the grid.
import { h, setText } from './dom.js';
import { ARROWS, direction, formatChange, formatLatency, formatPrice, formatTime } from './format.js';
import { SymbolChart, chartsAvailable, sourceColor } from './chart.js';

const STATUS_LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Disconnected, reconnecting',
  down: 'Feed down upstream',
};
// Charts show one point per second, so each chart is redrawn once a second; the redraws are
// staggered over CHART_SLOTS ticks because drawing every chart in one frame costs a long task.
const CHART_TICK_MS = 100;
const CHART_SLOTS = 10;

const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Inserts `el` among `parent`'s children, which are kept sorted by `keyOf`. */
function insertSorted(parent, el, key, keyOf) {
  for (const child of parent.children) {
    if (byText(key, keyOf(child)) < 0) return parent.insertBefore(el, child);
  }
  return parent.append(el);
}

export class DashboardView {
  /**
   * @param {Document} doc
   * @param {{onToggle(symbol: string, on: boolean): void, onWatchAll(): void,
   *          onWatchNone(): void, onReconnectNow(): void}} handlers
   */
  constructor(doc, handlers) {
    const $ = (id) => doc.querySelector(`[data-testid="${id}"]`);
    this.el = {
      status: $('status'),
      statusText: $('status-text'),
      statusDetail: $('status-detail'),
      reconnectNow: $('reconnect-now'),
      symbols: $('symbol-list'),
      cards: $('cards'),
      empty: $('empty'),
      connections: $('stat-connections'),
      rate: $('stat-rate'),
      latency: $('stat-latency'),
    };
    this.handlers = handlers;
    this.cards = new Map(); // symbol -> {el, list, rows: Map(source -> row), chart}
    this.chips = new Map(); // symbol -> checkbox
    this.chartTick = 0;
    this.countdownTimer = null;

    this.el.reconnectNow.addEventListener('click', () => handlers.onReconnectNow());
    $('watch-all').addEventListener('click', () => handlers.onWatchAll());
    $('watch-none').addEventListener('click', () => handlers.onWatchNone());
    // One delegated listener for all chips.
    this.el.symbols.addEventListener('change', (ev) => {
      const box = ev.target;
      if (box instanceof HTMLInputElement && box.type === 'checkbox') handlers.onToggle(box.value, box.checked);
    });
    setInterval(() => this.#flushCharts(), CHART_TICK_MS);
  }

  /** Applies one batch of model changes (model.takeChanges()); called once per animation frame. */
  render(changes, model) {
    for (const symbol of changes.newSymbols) this.#addChip(symbol, model.isWatched(symbol));
    for (const q of changes.newQuotes) this.#addRow(q, model.isWatched(q.symbol));
    for (const q of changes.changed) {
      this.#updateRow(q);
      this.cards.get(q.symbol)?.chartQueue.add(q);
    }
    if (changes.watchChanged) {
      for (const [symbol, box] of this.chips) box.checked = model.isWatched(symbol);
      for (const [symbol, card] of this.cards) card.el.hidden = !model.isWatched(symbol);
    }
    if (changes.newQuotes.length || changes.watchChanged) {
      this.el.empty.hidden = [...this.cards.values()].some((c) => !c.el.hidden);
    }
  }

  #addChip(symbol, watched) {
    const box = h('input', { type: 'checkbox', value: symbol, 'data-testid': 'symbol-toggle' });
    box.checked = watched;
    const chip = h('label', { class: 'chip', 'data-symbol': symbol }, box, h('span', { text: symbol }));
    insertSorted(this.el.symbols, chip, symbol, (c) => c.dataset.symbol);
    this.chips.set(symbol, box);
  }

  #card(symbol, watched) {
    let card = this.cards.get(symbol);
    if (card) return card;
    const headingId = `card-${this.cards.size}`;
    const list = h('ul', { class: 'quotes', 'aria-label': `Prices by source` });
    const chartEl = h('div', { class: 'chart', 'data-testid': 'chart', 'aria-hidden': 'true' });
    const el = h(
      'section',
      { class: 'card', 'data-testid': 'card', 'data-symbol': symbol, 'aria-labelledby': headingId },
      h('h3', { id: headingId, class: 'card-symbol', text: symbol }),
      list,
      chartEl,
    );
    el.hidden = !watched;
    insertSorted(this.el.cards, el, symbol, (c) => c.dataset.symbol);
    card = {
      el, list, rows: new Map(), chart: chartsAvailable() ? new SymbolChart(chartEl) : null,
      chartSlot: this.cards.size % CHART_SLOTS,
      chartQueue: new Set(), // quotes changed since the chart was last drawn
    };
    if (!card.chart) chartEl.hidden = true;
    this.cards.set(symbol, card);
    return card;
  }

  #addRow(q, watched) {
    const card = this.#card(q.symbol, watched);
    const cells = {
      price: h('span', { class: 'price', 'data-testid': 'price', 'data-source': q.source }),
      arrow: h('span', { class: 'arrow', 'aria-hidden': 'true' }),
      tick: h('span', { class: 'change', 'data-testid': 'change-tick', title: 'Change since the previous tick' }),
      session: h('span', { class: 'change', 'data-testid': 'change-session' }),
      time: h('time', { class: 'time' }),
    };
    // The swatch doubles as the chart legend: same colour as the source's line.
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = sourceColor(q.source);
    if (!card.chart) swatch.hidden = true;
    const li = h(
      'li',
      { class: 'quote', 'data-testid': 'quote', 'data-source': q.source },
      h('div', { class: 'quote-head' }, h('span', { class: 'source' }, swatch, h('span', { text: q.source })), cells.time),
      h('div', { class: 'quote-main' }, cells.price, h('span', { class: 'tick' }, cells.arrow, cells.tick)),
      h('div', { class: 'quote-session' }, h('span', { class: 'label', text: 'Session ' }), cells.session),
    );
    insertSorted(card.list, li, q.source, (c) => c.dataset.source);
    card.rows.set(q.source, { li, cells, dir: '', sessionDir: '', flip: false });
  }

  #updateRow(q) {
    const row = this.cards.get(q.symbol)?.rows.get(q.source);
    if (!row) return;
    const { cells } = row;
    setText(cells.price, formatPrice(q.price));
    const dir = direction(q.tickChange);
    if (dir !== row.dir) {
      row.dir = dir;
      cells.arrow.textContent = ARROWS[dir];
      cells.arrow.dataset.dir = dir;
      cells.tick.dataset.dir = dir;
    }
    setText(cells.tick, q.prevPrice === null ? '–' : formatChange(q.tickChange, q.tickPercent));
    const sessionDir = direction(q.sessionChange);
    if (sessionDir !== row.sessionDir) cells.session.dataset.dir = row.sessionDir = sessionDir;
    setText(cells.session, formatChange(q.sessionChange, q.sessionPercent));
    const t = q.timeSec;
    if (t && cells.time.dataset.t !== String(t)) {
      cells.time.dataset.t = String(t);
      cells.time.dateTime = new Date(t * 1000).toISOString();
      cells.time.textContent = formatTime(t);
    }
    if (q.prevPrice !== null && dir !== 'flat') {
      // Alternating two identical animations restarts the flash without forcing a reflow.
      row.flip = !row.flip;
      row.li.className = `quote flash-${dir}-${row.flip ? 'a' : 'b'}`;
    }
  }

  #flushCharts() {
    const slot = this.chartTick++ % CHART_SLOTS;
    if (document.hidden) return;
    for (const card of this.cards.values()) {
      if (card.chartSlot !== slot || !card.chart || card.el.hidden || card.chartQueue.size === 0) continue;
      for (const q of card.chartQueue) card.chart.push(q.source, q.timeSec, q.price);
      card.chartQueue.clear();
    }
  }

  applyTheme() {
    for (const card of this.cards.values()) card.chart?.applyTheme();
  }

  renderStats({ rate, latencyP50Us, latencyMaxUs, activeConnections }) {
    setText(this.el.connections, activeConnections === null ? '–' : String(activeConnections));
    this.el.connections.dataset.value = activeConnections ?? '';
    setText(this.el.rate, String(rate));
    this.el.rate.dataset.value = String(rate);
    setText(this.el.latency, `${formatLatency(latencyP50Us)} / ${formatLatency(latencyMaxUs)}`);
    this.el.latency.dataset.p50Us = latencyP50Us ?? '';
    this.el.latency.dataset.maxUs = latencyMaxUs ?? '';
  }

  /**
   * @param {'connecting'|'live'|'reconnecting'|'down'} state
   * @param {{retryAt?: number|null, message?: string}} info
   * Only the label sits in the aria-live region, so screen readers hear state changes,
   * not the countdown or prices.
   */
  setStatus(state, { retryAt = null, message = '' } = {}) {
    const { status, statusText, reconnectNow } = this.el;
    status.dataset.state = state;
    document.body.dataset.state = state; // lets CSS mark prices as stale while not live
    setText(statusText, STATUS_LABELS[state] ?? state);
    reconnectNow.hidden = !(state === 'reconnecting' && retryAt);
    clearInterval(this.countdownTimer);
    this.countdownTimer = null;
    if (state === 'reconnecting' && retryAt) {
      const tick = () => {
        const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
        setText(this.el.statusDetail, `retry in ${s} s`);
        this.el.statusDetail.dataset.seconds = String(s);
      };
      tick();
      this.countdownTimer = setInterval(tick, 250);
    } else {
      setText(this.el.statusDetail, state === 'reconnecting' ? 'connecting…' : state === 'down' ? message : '');
      delete this.el.statusDetail.dataset.seconds;
    }
  }
}
