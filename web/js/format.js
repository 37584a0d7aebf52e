// Number formatting for the view. Formatters are created once; they are hot at 1,000 updates/s.
const priceFmts = new Map(); // decimals -> formatter
const changeFmt = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2, maximumFractionDigits: 4, signDisplay: 'exceptZero',
});
const pctFmt = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero',
});
// Times carry their zone, so a screenshot or a colleague abroad reads them right.
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

/** A price with `decimals` digits (the symbol's precision); 2, or 4 below 1, when not given. */
export function formatPrice(p, decimals = Math.abs(p) < 1 ? 4 : 2) {
  let fmt = priceFmts.get(decimals);
  if (!fmt) {
    fmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    priceFmts.set(decimals, fmt);
  }
  return fmt.format(p);
}
export const formatPercent = (pct) => pctFmt.format(pct);
/** "+0.12 (+0.05%)", or just "+0.12" without a percentage. */
export const formatChange = (abs, pct) => (pct === undefined ? changeFmt.format(abs) : `${changeFmt.format(abs)} (${pctFmt.format(pct)}%)`);
export const formatTime = (unixSec) => (unixSec ? timeFmt.format(new Date(unixSec * 1000)) : '');

export function direction(change) {
  if (change > 0) return 'up';
  if (change < 0) return 'down';
  return 'flat';
}
export const ARROWS = { up: '▲', down: '▼', flat: '▬' };

export function formatLatency(us) {
  if (us === null || us === undefined) return '–';
  return us < 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us / 1000)} ms`;
}
