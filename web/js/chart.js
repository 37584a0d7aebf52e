// One lightweight-charts chart per symbol card, one line series per source.
// The library is the standalone bundle loaded by a plain <script> (window.LightweightCharts);
// build.sh always vendors it, but the page keeps working without charts if it is missing.

const MAX_POINTS = 600; // ~10 minutes at one point per second
const SERIES_COLORS = ['#2962ff', '#e67e22', '#16a085', '#8e44ad', '#c0392b', '#7f8c8d'];

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const localTime = (t) => timeFmt.format(new Date(t * 1000));

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

/** One colour per source across all cards, so a source looks the same everywhere. */
const sourceColors = new Map();
export function sourceColor(source) {
  if (!sourceColors.has(source)) sourceColors.set(source, SERIES_COLORS[sourceColors.size % SERIES_COLORS.length]);
  return sourceColors.get(source);
}

export const chartsAvailable = () => typeof globalThis.LightweightCharts?.createChart === 'function';

export class SymbolChart {
  constructor(container) {
    this.chart = globalThis.LightweightCharts.createChart(container, {
      autoSize: true,
      ...themeOptions(),
      timeScale: {
        ...themeOptions().timeScale, timeVisible: true, secondsVisible: true, tickMarkFormatter: localTime,
        barSpacing: 3, rightOffset: 2,
      },
      localization: { timeFormatter: localTime },
      handleScroll: false,
      handleScale: false,
    });
    /** source -> {series, points} */
    this.series = new Map();
  }

  /** Adds the latest price of a source; points within the same second replace each other. */
  push(source, timeSec, price) {
    if (!timeSec) return;
    let s = this.series.get(source);
    if (!s) {
      const color = sourceColor(source);
      s = { series: this.chart.addLineSeries({ color, lineWidth: 2, priceLineVisible: false }), points: [] };
      this.series.set(source, s);
    }
    const last = s.points[s.points.length - 1];
    if (last && timeSec < last.time) return; // late replay; the chart only grows forward
    const point = { time: timeSec, value: price };
    if (last && last.time === timeSec) s.points[s.points.length - 1] = point;
    else s.points.push(point);
    if (s.points.length > 2 * MAX_POINTS) {
      s.points = s.points.slice(-MAX_POINTS);
      s.series.setData(s.points);
    } else {
      s.series.update(point);
    }
  }

  applyTheme() {
    this.chart.applyOptions(themeOptions());
  }

  remove() {
    this.chart.remove();
  }
}
