// Number formatting for the view. Formatters are created once; they are hot at 1,000 updates/s.
const priceFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const smallPriceFmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const changeFmt = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2, maximumFractionDigits: 4, signDisplay: 'exceptZero',
});
const pctFmt = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero',
});
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const formatPrice = (p) => (Math.abs(p) < 1 ? smallPriceFmt : priceFmt).format(p);
export const formatChange = (abs, pct) => `${changeFmt.format(abs)} (${pctFmt.format(pct)}%)`;
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
