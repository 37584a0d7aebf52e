// DOM of the dashboard. Builds each card, row and chip once; afterwards a frame only writes
// textContent/attributes of the cells whose quote changed. Never re-renders the grid.
// Charts: each card's chart loads its bars from the gateway when the card first comes into
// view, then live ticks extend the current bar (BarSeries); the chart is redrawn from the
// changed bars on a staggered tick so that many charts never draw in one frame.
import { h, setText } from './dom.js';
import { ARROWS, direction, formatChange, formatLatency, formatPrice, formatTime } from './format.js';
import { SymbolChart, chartsAvailable, sourceColor } from './chart.js';
import { BarSeries, RANGES, precisionFor } from './bars.js';
import { QuoteTable } from './table.js';

const STATUS_LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  stale: 'Live, no recent prices',
  reconnecting: 'Gateway unreachable',
  down: 'Feed down upstream',
};
const CHART_TICK_MS = 100;
// Charts redraw in turns, at most this many per tick, those waiting longest first: a bounded
// cost however many cards there are (6 cards in view: each within 300 ms of a price).
const CHARTS_PER_TICK = 2;
// A chart out of view collects its changed bars; past this many it is redrawn whole instead
// (dirty entry null).
const MAX_DIRTY_BARS = 100;
const MAX_BARS = 5000;

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
   * @param {{onToggle(symbol: string, on: boolean): void, onWatchAll(): void, onWatchNone(): void,
   *          onReconnectNow(): void, loadBars(symbol: string, source: string, range: string): Promise<object>,
   *          onPrefs(prefs: object): void}} handlers
   * @param {{mode: string, range: string, view: string}} prefs  remembered choices
   */
  constructor(doc, handlers, prefs) {
    const $ = (id) => doc.querySelector(`[data-testid="${id}"]`);
    this.el = {
      status: $('status'),
      statusText: $('status-text'),
      statusDetail: $('status-detail'),
      reconnectNow: $('reconnect-now'),
      note: $('note'),
      symbols: $('symbol-list'),
      symbolSearch: $('symbol-search'),
      picker: $('symbol-picker'),
      cards: $('cards'),
      table: $('table'),
      empty: $('empty'),
      connections: $('stat-connections'),
      rate: $('stat-rate'),
      latency: $('stat-latency'),
      detail: $('detail'),
      detailTitle: $('detail-title'),
      detailCharts: $('detail-charts'),
    };
    this.handlers = handlers;
    this.prefs = { ...prefs };
    this.cards = new Map(); // symbol -> {el, list, rows, chart, bars: Map(source -> BarSeries), dirty: Map(source -> Set of bars | null)}
    this.chips = new Map(); // symbol -> checkbox
    this.precision = new Map(); // symbol -> decimals
    this.chartTick = 0;
    this.staleRows = new Set(); // quotes changed while the table was shown
    this.countdownTimer = null;
    this.detail = null; // {symbol, charts: Map(source -> SymbolChart)}

    this.el.reconnectNow.addEventListener('click', () => handlers.onReconnectNow());
    $('watch-all').addEventListener('click', () => handlers.onWatchAll());
    $('watch-none').addEventListener('click', () => handlers.onWatchNone());
    this.el.symbols.addEventListener('change', (ev) => {
      const box = ev.target;
      if (box instanceof HTMLInputElement && box.type === 'checkbox') handlers.onToggle(box.value, box.checked);
    });
    this.el.symbolSearch.addEventListener('input', () => this.#filterChips());
    // On a phone the picker starts folded: the prices come first, not a wall of chips.
    if (matchMedia('(max-width: 40rem)').matches) this.el.picker.open = false;

    for (const button of doc.querySelectorAll('[data-range]')) {
      button.addEventListener('click', () => this.setRange(button.dataset.range));
    }
    for (const button of doc.querySelectorAll('[data-mode]')) {
      button.addEventListener('click', () => this.setMode(button.dataset.mode));
    }
    for (const button of doc.querySelectorAll('[data-view]')) {
      button.addEventListener('click', () => this.setView(button.dataset.view));
    }
    $('detail-close').addEventListener('click', () => this.el.detail.close());
    this.el.detail.addEventListener('close', () => this.#closeDetail());

    this.table = new QuoteTable(this.el.table, {
      onOpen: (symbol) => this.openDetail(symbol),
      precisionOf: (symbol) => this.precision.get(symbol) ?? 2,
    });
    this.table.setVisible(this.prefs.view === 'table');
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const card = this.cards.get(entry.target.dataset.symbol);
        if (!card) continue;
        card.inView = entry.isIntersecting;
        if (entry.isIntersecting) this.#ensureChart(card);
      }
    }, { rootMargin: '200px' });
    this.#showToggles();
    setInterval(() => this.#flushCharts(), CHART_TICK_MS);
  }

  /** Applies one batch of model changes (model.takeChanges()); called once per animation frame. */
  render(changes, model) {
    for (const symbol of changes.newSymbols) this.#addChip(symbol, model.isWatched(symbol));
    for (const q of changes.newQuotes) {
      if (!this.precision.has(q.symbol)) this.precision.set(q.symbol, precisionFor(q.price));
      this.#addRow(q, model.isWatched(q.symbol));
      this.table.add(q);
    }
    // Only the visible view is written to; the other catches up when it is shown.
    const cardsShown = this.prefs.view === 'cards';
    for (const q of changes.changed) {
      if (cardsShown) this.#updateRow(q);
      else this.staleRows.add(q);
      this.table.markChanged(q);
    }
    if (changes.watchChanged) {
      for (const [symbol, box] of this.chips) box.checked = model.isWatched(symbol);
      for (const [symbol, card] of this.cards) card.el.hidden = !model.isWatched(symbol);
    }
    if (changes.newQuotes.length || changes.watchChanged) {
      this.el.empty.hidden = [...this.cards.values()].some((c) => !c.el.hidden);
    }
    this.table.render(false);
  }

  /** Every live price, before rendering: extends the current bar of its chart. */
  tick(q) {
    const card = this.cards.get(q.symbol);
    const bars = card?.bars.get(q.source);
    if (!bars) return;
    const changed = bars.tick(q.eventTimeUs ? q.eventTimeUs / 1e6 : q.timestamp, q.price);
    if (!bars.loaded) return;
    // Hours of live 1 s bars: keep the newest MAX_BARS, and redraw the chart whole.
    if (bars.bars.length > MAX_BARS * 1.1) {
      bars.trim(MAX_BARS);
      card.dirty.set(q.source, null);
    }
    let dirty = card.dirty.get(q.source);
    if (dirty === null) return; // a whole redraw is due anyway
    if (!dirty) card.dirty.set(q.source, (dirty = new Set()));
    for (const bar of changed) dirty.add(bar);
    if (dirty.size > MAX_DIRTY_BARS) card.dirty.set(q.source, null);
  }

  #addChip(symbol, watched) {
    const box = h('input', { type: 'checkbox', value: symbol, 'data-testid': 'symbol-toggle' });
    box.checked = watched;
    const chip = h('label', { class: 'chip', 'data-symbol': symbol }, box, h('span', { text: symbol }));
    insertSorted(this.el.symbols, chip, symbol, (c) => c.dataset.symbol);
    this.chips.set(symbol, box);
    if (this.el.symbolSearch.value) this.#filterChips();
  }

  #filterChips() {
    const q = this.el.symbolSearch.value.trim().toLowerCase();
    for (const chip of this.el.symbols.children) chip.hidden = q !== '' && !chip.dataset.symbol.toLowerCase().includes(q);
  }

  #card(symbol, watched) {
    let card = this.cards.get(symbol);
    if (card) return card;
    const headingId = `card-${this.cards.size}`;
    const list = h('ul', { class: 'quotes', 'aria-label': 'Prices by source' });
    const chartEl = h('div', { class: 'chart', 'data-testid': 'chart', 'aria-label': `${symbol} chart` });
    const legend = h('div', { class: 'legend', 'data-testid': 'legend', 'aria-live': 'off' });
    const open = h('button', { type: 'button', class: 'button small', text: 'Details', 'data-testid': 'open-detail', 'aria-label': `Details of ${symbol}` });
    open.addEventListener('click', () => this.openDetail(symbol));
    const el = h(
      'section',
      { class: 'card', 'data-testid': 'card', 'data-symbol': symbol, 'aria-labelledby': headingId },
      h('div', { class: 'card-head' }, h('h3', { id: headingId, class: 'card-symbol', text: symbol }), open),
      list,
      legend,
      chartEl,
    );
    el.hidden = !watched;
    insertSorted(this.el.cards, el, symbol, (c) => c.dataset.symbol);
    card = { el, list, legend, chartEl, rows: new Map(), chart: null, bars: new Map(), dirty: new Map(), flushedAt: 0, inView: false };
    if (!chartsAvailable()) {
      chartEl.hidden = true;
      legend.hidden = true;
    }
    this.cards.set(symbol, card);
    this.observer.observe(el);
    return card;
  }

  /** First time a card is near the viewport: create its chart and load its sources' bars. */
  #ensureChart(card) {
    if (!card || card.chart || !chartsAvailable()) return;
    const range = RANGES[this.prefs.range];
    card.chart = new SymbolChart(card.chartEl, card.legend, {
      mode: this.prefs.mode, precision: this.precision.get(card.el.dataset.symbol) ?? 2, showSeconds: range.intervalSec < 60,
    });
    for (const source of card.rows.keys()) this.#loadBars(card, source);
  }

  #loadBars(card, source) {
    const symbol = card.el.dataset.symbol;
    const rangeKey = this.prefs.range;
    const bars = new BarSeries(RANGES[rangeKey].intervalSec);
    card.bars.set(source, bars);
    card.dirty.delete(source);
    card.el.dataset.barsLoading = String(Number(card.el.dataset.barsLoading || 0) + 1);
    this.handlers.loadBars(symbol, source, rangeKey).then((answer) => {
      if (card.bars.get(source) !== bars) return; // the range changed meanwhile
      bars.load(answer.bars);
      bars.trim(MAX_BARS);
      card.chart?.setData(source, bars);
      card.chart?.showSpan(RANGES[rangeKey].spanSec);
      this.#detailChart(symbol, source)?.setData(source, bars);
    }).catch((e) => {
      console.warn('stockfeed: bars unavailable', symbol, source, e.message);
      bars.loaded = true; // show live ticks at least
      card.chart?.setData(source, bars);
    }).finally(() => {
      card.el.dataset.barsLoading = String(Number(card.el.dataset.barsLoading) - 1);
    });
  }

  #addRow(q, watched) {
    const card = this.#card(q.symbol, watched);
    const cells = {
      price: h('span', { class: 'price', 'data-testid': 'price', 'data-source': q.source }),
      arrow: h('span', { class: 'arrow', 'aria-hidden': 'true' }),
      tick: h('span', { class: 'change', 'data-testid': 'change-tick', title: 'Change since the previous tick' }),
      day: h('span', { class: 'change', 'data-testid': 'change-day' }),
      time: h('time', { class: 'time' }),
    };
    // The swatch doubles as the chart legend: same colour as the source's series.
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true', 'data-testid': 'swatch', 'data-source': q.source });
    swatch.style.backgroundColor = sourceColor(q.source);
    const li = h(
      'li',
      { class: 'quote', 'data-testid': 'quote', 'data-source': q.source },
      h('div', { class: 'quote-head' }, h('span', { class: 'source' }, swatch, h('span', { text: q.source })), cells.time),
      h('div', { class: 'quote-main' }, cells.price, h('span', { class: 'tick' }, cells.arrow, cells.tick)),
      h('div', { class: 'quote-day' }, h('span', { class: 'label', text: 'Day ', title: 'Change since the first price of the trading session' }), cells.day),
    );
    insertSorted(card.list, li, q.source, (c) => c.dataset.source);
    card.rows.set(q.source, { li, cells, dir: '', dayDir: '', flip: false });
    if (card.chart) this.#loadBars(card, q.source);
  }

  #updateRow(q, flash = true) {
    const row = this.cards.get(q.symbol)?.rows.get(q.source);
    if (!row) return;
    const { cells } = row;
    setText(cells.price, formatPrice(q.price, this.precision.get(q.symbol)));
    const dir = direction(q.tickChange);
    if (dir !== row.dir) {
      row.dir = dir;
      cells.arrow.textContent = ARROWS[dir];
      cells.arrow.dataset.dir = dir;
      cells.tick.dataset.dir = dir;
    }
    setText(cells.tick, q.prevPrice === null ? '–' : formatChange(q.tickChange, q.tickPercent));
    const dayDir = q.dayChange === null ? 'flat' : direction(q.dayChange);
    if (dayDir !== row.dayDir) cells.day.dataset.dir = row.dayDir = dayDir;
    setText(cells.day, q.dayChange === null ? '–' : formatChange(q.dayChange, q.dayPercent));
    cells.day.dataset.reference = q.dayOpen ?? '';
    const t = q.timeSec;
    if (t && cells.time.dataset.t !== String(t)) {
      cells.time.dataset.t = String(t);
      cells.time.dateTime = new Date(t * 1000).toISOString();
      cells.time.textContent = formatTime(t);
    }
    if (flash && q.prevPrice !== null && dir !== 'flat') {
      // Alternating two identical animations restarts the flash without forcing a reflow.
      row.flip = !row.flip;
      row.li.className = `quote flash-${dir}-${row.flip ? 'a' : 'b'}`;
    }
  }

  #flushCharts() {
    if (document.hidden) return;
    this.chartTick++;
    if (this.detail) this.#flushCard(this.cards.get(this.detail.symbol));
    const waiting = [];
    for (const card of this.cards.values()) {
      if (card.dirty.size && card.chart && card.inView && !card.el.hidden) waiting.push(card);
    }
    waiting.sort((a, b) => a.flushedAt - b.flushedAt);
    for (const card of waiting.slice(0, CHARTS_PER_TICK)) this.#flushCard(card);
  }

  /** Hands a card's changed bars to its chart (and to the detail view's, if open). */
  #flushCard(card) {
    const symbol = card.el.dataset.symbol;
    for (const [source, bars] of card.dirty) {
      const series = card.bars.get(source);
      const charts = [card.chart, this.#detailChart(symbol, source)].filter(Boolean);
      if (bars === null) {
        for (const chart of charts) chart.setData(source, series);
        continue;
      }
      const list = [...bars].sort((a, b) => a.time - b.time);
      for (const chart of charts) chart.update(source, list);
    }
    card.dirty.clear();
    card.flushedAt = this.chartTick;
  }

  #detailChart(symbol, source) {
    return this.detail?.symbol === symbol ? this.detail.charts.get(source) : undefined;
  }

  /** The larger view of one symbol: one chart per source, with its own legend. */
  openDetail(symbol) {
    const card = this.cards.get(symbol);
    if (!card || !chartsAvailable()) return;
    this.#ensureChart(card);
    this.#closeDetail();
    setText(this.el.detailTitle, symbol);
    this.el.detail.dataset.symbol = symbol;
    this.detail = { symbol, charts: new Map() };
    const range = RANGES[this.prefs.range];
    const panes = [];
    for (const [source, bars] of card.bars) {
      const legend = h('div', { class: 'legend', 'data-testid': 'detail-legend', 'data-source': source });
      const chartEl = h('div', { class: 'detail-chart', 'data-testid': 'detail-chart', 'data-source': source, 'aria-label': `${symbol} ${source} chart` });
      panes.push(h('section', { class: 'detail-pane' }, legend, chartEl));
      this.detail.pendingCharts ??= [];
      this.detail.pendingCharts.push({ source, bars, legend, chartEl });
    }
    this.el.detailCharts.replaceChildren(...panes);
    if (!this.el.detail.open) this.el.detail.showModal();
    for (const { source, bars, legend, chartEl } of this.detail.pendingCharts) {
      const chart = new SymbolChart(chartEl, legend, {
        mode: this.prefs.mode, precision: this.precision.get(symbol) ?? 2, showSeconds: range.intervalSec < 60,
      });
      if (bars.loaded) chart.setData(source, bars);
      chart.showSpan(range.spanSec);
      this.detail.charts.set(source, chart);
    }
  }

  #closeDetail() {
    if (!this.detail) return;
    for (const chart of this.detail.charts.values()) chart.remove();
    this.detail = null;
    this.el.detailCharts.replaceChildren();
  }

  setRange(rangeKey) {
    if (!RANGES[rangeKey] || rangeKey === this.prefs.range) return;
    this.prefs.range = rangeKey;
    this.handlers.onPrefs(this.prefs);
    this.#showToggles();
    this.reloadCharts();
  }

  /** Rebuilds every chart from freshly loaded bars (a new range, or live ticks were missed). */
  reloadCharts() {
    if (this.detail) this.el.detail.close();
    for (const card of this.cards.values()) {
      if (!card.chart) continue;
      card.chart.remove();
      card.chart = null;
      card.bars.clear();
      card.dirty.clear();
      this.#ensureChart(card);
    }
  }

  setMode(mode) {
    if (mode !== 'candles' && mode !== 'line') return;
    this.prefs.mode = mode;
    this.handlers.onPrefs(this.prefs);
    this.#showToggles();
    for (const card of this.cards.values()) card.chart?.setMode(mode);
    for (const chart of this.detail?.charts.values() ?? []) chart.setMode(mode);
  }

  setView(view) {
    if (view !== 'cards' && view !== 'table') return;
    this.prefs.view = view;
    this.handlers.onPrefs(this.prefs);
    this.#showToggles();
    this.table.setVisible(view === 'table');
    if (view === 'cards') {
      for (const q of this.staleRows) this.#updateRow(q, false);
      this.staleRows.clear();
    }
  }

  #showToggles() {
    for (const b of document.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === this.prefs.range));
    for (const b of document.querySelectorAll('[data-mode]')) b.setAttribute('aria-pressed', String(b.dataset.mode === this.prefs.mode));
    for (const b of document.querySelectorAll('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === this.prefs.view));
    document.body.dataset.view = this.prefs.view;
    document.body.dataset.range = this.prefs.range;
    document.body.dataset.mode = this.prefs.mode;
  }

  applyTheme() {
    for (const card of this.cards.values()) card.chart?.applyTheme();
    for (const chart of this.detail?.charts.values() ?? []) chart.applyTheme();
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

  /** A sentence under the header that stays until dismissed (e.g. a resume that was impossible). */
  showNote(text) {
    setText(this.el.note.querySelector('span'), text);
    this.el.note.hidden = false;
  }

  /**
   * @param {'connecting'|'live'|'stale'|'reconnecting'|'down'} state
   * @param {{retryAt?: number|null, message?: string}} info
   * Only the label sits in the aria-live region, so screen readers hear state changes,
   * not the countdown or prices.
   */
  setStatus(state, { retryAt = null, message = '' } = {}) { // message: our own words, never a library's
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
      const details = { reconnecting: 'connecting…', down: 'the price service is not reachable; prices resume by themselves', stale: message };
      setText(this.el.statusDetail, details[state] ?? '');
      delete this.el.statusDetail.dataset.seconds;
    }
  }
}
