// lightweight-charts wrapper: one chart showing one or more sources of a symbol as candlesticks
// or lines, with a crosshair legend giving the hovered bar's OHLC. Zoom and scroll are the
// library's own (mouse wheel and drag, touch pinch and drag); a focused chart takes the keys
// of CHART_KEYS for the same.
// The library is the standalone bundle loaded by a plain <script> (window.LightweightCharts);
// build.sh always vendors it, but the page keeps working without charts if it is missing.
import { sourceColor } from './bars.js';

function zoneName() {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date())
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
  } catch {
    return '';
  }
}
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortTimeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const ZONE = zoneName();

function themeOptions() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    layout: { background: { type: 'solid', color: 'transparent' }, textColor: v('--muted'), fontFamily: v('--font') },
    grid: { vertLines: { color: v('--grid') }, horzLines: { color: v('--grid') } },
    rightPriceScale: { borderColor: v('--border') },
    timeScale: { borderColor: v('--border') },
  };
}

export { sourceColor };

/** The keys a focused chart answers (also its accessible description). */
export const CHART_KEYS = '← and → scroll, + and - zoom, Home goes to the oldest bar, End to the newest';
export const chartsAvailable = () => typeof globalThis.LightweightCharts?.createChart === 'function';

/** Binary search of the bar starting at `time` in an ascending list. */
function barAt(bars, time) {
  let lo = 0;
  let hi = bars.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].time === time) return bars[mid];
    if (bars[mid].time < time) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

export class SymbolChart {
  /**
   * @param {HTMLElement} container
   * @param {HTMLElement} legend  element the crosshair legend is written into
   * @param {{mode: 'candles'|'line', precision: number, showSeconds: boolean}} opts
   */
  constructor(container, legend, { mode, precision, showSeconds }) {
    this.mode = mode;
    this.precision = precision;
    this.legend = legend;
    this.chart = globalThis.LightweightCharts.createChart(container, {
      autoSize: true,
      ...themeOptions(),
      timeScale: {
        ...themeOptions().timeScale, timeVisible: true, secondsVisible: showSeconds, rightOffset: 2,
        tickMarkFormatter: (t) => shortTimeFmt.format(new Date(t * 1000)),
      },
      localization: { timeFormatter: (t) => `${timeFmt.format(new Date(t * 1000))} ${ZONE}` },
      crosshair: { mode: 0 },
    });
    /** source -> {series, data: BarSeries} */
    this.series = new Map();
    this.chart.subscribeCrosshairMove((param) => this.#showLegend(param?.time ?? null));
    // Focusable, and says what it is and which keys it takes (#onKey).
    container.tabIndex = 0;
    container.setAttribute('role', 'group');
    container.setAttribute('aria-roledescription', 'chart');
    container.setAttribute('aria-description', CHART_KEYS);
    // The container outlives the chart (a range change builds a new one in it): remove() detaches.
    this.listeners = new AbortController();
    container.addEventListener('keydown', (ev) => this.#onKey(ev), { signal: this.listeners.signal });
  }

  #addSeries(source) {
    const color = sourceColor(source);
    const priceFormat = { type: 'price', precision: this.precision, minMove: 10 ** -this.precision };
    if (this.mode === 'line') {
      return this.chart.addLineSeries({ color, lineWidth: 2, priceLineVisible: false, priceFormat });
    }
    // Each source in its own colour: filled when up, hollow when down. The last-value label
    // would take the hollow (transparent) colour, so candles leave the price to the legend.
    return this.chart.addCandlestickSeries({
      upColor: color, downColor: 'rgba(0,0,0,0)', borderUpColor: color, borderDownColor: color,
      wickUpColor: color, wickDownColor: color, priceLineVisible: false, lastValueVisible: false, priceFormat,
    });
  }

  #point(bar) {
    return this.mode === 'line' ? { time: bar.time, value: bar.close } : bar;
  }

  /** Shows `data` (a BarSeries) for `source`, replacing what the chart had for it. */
  setData(source, data) {
    let s = this.series.get(source);
    if (!s) {
      s = { series: this.#addSeries(source), data };
      this.series.set(source, s);
    }
    s.data = data;
    s.series.setData(data.bars.map((b) => this.#point(b)));
    this.#showLegend(null);
  }

  /** Pushes bars that changed (the current one, maybe the one before) to the chart. */
  update(source, bars) {
    const s = this.series.get(source);
    if (!s) return;
    try {
      for (const bar of bars) s.series.update(this.#point(bar));
    } catch {
      s.series.setData(s.data.bars.map((b) => this.#point(b))); // out of order: redraw all
    }
    if (this.legend && this.legend.dataset.time === '') this.#showLegend(null); // the legend follows the newest bar
  }

  /** Shows the last `spanSec` seconds up to the newest bar. */
  showSpan(spanSec) {
    let newest = 0;
    for (const { data } of this.series.values()) newest = Math.max(newest, data.last?.time ?? 0);
    if (!newest) return;
    try {
      this.chart.timeScale().setVisibleRange({ from: newest - spanSec, to: newest });
    } catch {
      this.chart.timeScale().fitContent(); // fewer bars than the span: show them all
    }
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    for (const [source, s] of this.series) {
      this.chart.removeSeries(s.series);
      s.series = this.#addSeries(source);
      s.series.setData(s.data.bars.map((b) => this.#point(b)));
    }
  }

  /** Data of the legend, for tests: {source: {time, open, high, low, close}} at `time` (null = latest). */
  legendData(time) {
    const out = {};
    for (const [source, { data }] of this.series) {
      const bar = time === null ? data.last : barAt(data.bars, time);
      if (bar) out[source] = { time: bar.time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
    }
    return out;
  }

  #showLegend(time) {
    if (!this.legend) return;
    const fmt = (v) => v.toFixed(this.precision);
    const parts = [];
    for (const [source, bar] of Object.entries(this.legendData(time))) {
      parts.push({ source, text: `O ${fmt(bar.open)} H ${fmt(bar.high)} L ${fmt(bar.low)} C ${fmt(bar.close)}`, bar });
    }
    this.legend.replaceChildren(...parts.map(({ source, text, bar }) => {
      const row = document.createElement('span');
      row.className = 'legend-row';
      row.dataset.source = source;
      row.dataset.time = String(bar.time);
      Object.assign(row.dataset, { open: bar.open, high: bar.high, low: bar.low, close: bar.close });
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = sourceColor(source);
      row.append(swatch, `${source} ${text}`);
      return row;
    }));
    this.legend.dataset.time = time === null ? '' : String(time);
  }

  #onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return; // the browser's own shortcuts (page zoom)
    const ts = this.chart.timeScale();
    const range = ts.getVisibleLogicalRange();
    if (!range) return;
    const width = range.to - range.from;
    let next = null;
    if (ev.key === 'ArrowLeft') next = { from: range.from - width / 10, to: range.to - width / 10 };
    else if (ev.key === 'ArrowRight') next = { from: range.from + width / 10, to: range.to + width / 10 };
    else if (ev.key === '+' || ev.key === '=') next = { from: range.from + width / 4, to: range.to };
    else if (ev.key === '-') next = { from: range.from - width / 2, to: range.to };
    else if (ev.key === 'Home') next = { from: 0, to: width };
    else if (ev.key === 'End') {
      ev.preventDefault();
      ts.scrollToRealTime();
      return;
    }
    if (!next) return;
    ev.preventDefault();
    ts.setVisibleLogicalRange(next);
  }

  /**
   * What is in view, in bars: {from, to} logical indexes (0 = the oldest bar; fractions and
   * values past the last bar are the library's own), null before there is data. Zoom changes
   * the width, scroll moves both ends.
   */
  visibleRange() {
    const range = this.chart.timeScale().getVisibleLogicalRange();
    return range ? { from: range.from, to: range.to } : null;
  }

  applyTheme() {
    this.chart.applyOptions(themeOptions());
  }

  remove() {
    this.listeners.abort();
    this.chart.remove();
  }
}
