// The compact table view: one row per symbol/source, sortable, searchable, navigable with the
// keyboard, and virtualised (only the rows in view exist in the DOM, so 500 rows at 1,000
// updates/s cost the same as twenty).
import { h, setText } from './dom.js';
import { direction, formatChange, formatPercent, formatPrice, formatTime } from './format.js';

const ROW_HEIGHT = 32; // px; also in style.css (.table-row)
const OVERSCAN = 6;
// Sorting by a live column re-orders at most this often, so rows do not jump every frame.
const RESORT_MS = 1000;

const COLUMNS = [
  { key: 'symbol', label: 'Symbol', value: (q) => q.symbol },
  { key: 'source', label: 'Source', value: (q) => q.source },
  { key: 'last', label: 'Last', value: (q) => q.price, numeric: true },
  { key: 'change', label: 'Change', value: (q) => q.dayChange ?? -Infinity, numeric: true },
  { key: 'percent', label: '%', value: (q) => q.dayPercent ?? -Infinity, numeric: true },
  { key: 'updated', label: 'Updated', value: (q) => q.eventTimeUs || q.timestamp * 1e6, numeric: true },
];

export class QuoteTable {
  /**
   * @param {HTMLElement} root  the table view's container
   * @param {{onOpen(symbol: string): void, precisionOf(symbol: string): number}} handlers
   */
  constructor(root, handlers) {
    this.handlers = handlers;
    this.quotes = []; // every Quote, in arrival order
    this.order = []; // the visible, sorted subset
    this.sort = { key: 'symbol', dir: 1 };
    this.query = '';
    this.selected = 0;
    this.dirtyOrder = true;
    this.lastSort = 0;
    this.changed = new Set();
    this.visible = false;

    this.search = h('input', {
      type: 'search', class: 'search', placeholder: 'Search symbol or source', 'aria-label': 'Search the table',
      'data-testid': 'table-search', autocomplete: 'off',
    });
    this.search.addEventListener('input', () => {
      this.query = this.search.value.trim().toLowerCase();
      this.selected = 0;
      this.dirtyOrder = true;
      this.render(true);
    });
    this.header = h('div', { class: 'table-head', role: 'row' });
    for (const col of COLUMNS) {
      const button = h('button', { type: 'button', class: 'sort', text: col.label, 'data-sort': col.key, 'data-testid': `sort-${col.key}` });
      button.addEventListener('click', () => this.#sortBy(col.key));
      this.header.append(h('span', { role: 'columnheader', class: `cell col-${col.key}`, 'data-col': col.key }, button));
    }
    this.spacer = h('div', { class: 'table-spacer' });
    this.viewport = h('div', {
      class: 'table-viewport', tabindex: '0', role: 'rowgroup', 'data-testid': 'table-rows',
      'aria-label': 'Prices; arrow keys move, Enter opens the chart',
    }, this.spacer);
    this.viewport.addEventListener('scroll', () => this.render(false), { passive: true });
    this.viewport.addEventListener('keydown', (ev) => this.#onKey(ev));
    this.count = h('span', { class: 'table-count', 'data-testid': 'table-count' });
    root.append(
      h('div', { class: 'table-tools' }, this.search, this.count),
      h('div', { class: 'table', role: 'table', 'aria-label': 'Prices by symbol and source' }, this.header, this.viewport),
    );
    this.rows = []; // pooled row elements
    this.#showSort();
  }

  add(quote) {
    this.quotes.push(quote);
    this.dirtyOrder = true;
  }

  markChanged(quote) {
    this.changed.add(quote);
    const col = this.sort.key;
    if (col !== 'symbol' && col !== 'source') this.liveSortPending = true;
  }

  #sortBy(key) {
    this.sort = this.sort.key === key ? { key, dir: -this.sort.dir } : { key, dir: 1 };
    this.dirtyOrder = true;
    this.#showSort();
    this.render(true);
  }

  #showSort() {
    for (const cell of this.header.children) {
      const col = cell.dataset.col;
      cell.setAttribute('aria-sort', col === this.sort.key ? (this.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  #recomputeOrder() {
    const col = COLUMNS.find((c) => c.key === this.sort.key);
    const q = this.query;
    const list = q ? this.quotes.filter((x) => x.symbol.toLowerCase().includes(q) || x.source.toLowerCase().includes(q)) : [...this.quotes];
    const dir = this.sort.dir;
    list.sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0;
    });
    this.order = list;
    this.selected = Math.min(this.selected, Math.max(0, list.length - 1));
    this.spacer.style.height = `${list.length * ROW_HEIGHT}px`;
    setText(this.count, `${list.length} of ${this.quotes.length}`);
    this.dirtyOrder = false;
    this.liveSortPending = false;
    this.lastSort = performance.now();
  }

  /** Whether the table is on screen; a hidden table only remembers what changed. */
  setVisible(visible) {
    this.visible = visible;
    if (visible) this.render(true);
  }

  /** Draws the rows in view; `force` redraws every visible row, else only changed quotes. */
  render(force) {
    if (!this.visible) return;
    // Layout is read before anything is written, so it never forces a synchronous layout.
    const height = this.viewport.clientHeight || 400;
    const scrollTop = this.viewport.scrollTop;
    if (this.dirtyOrder || (this.liveSortPending && performance.now() - this.lastSort > RESORT_MS)) {
      this.#recomputeOrder();
      force = true;
    }
    const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.order.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    // A row element keeps its list position modulo the pool size, so scrolling fills only
    // the rows that came into view.
    const needed = last - first;
    if (this.rows.length < needed) {
      while (this.rows.length < needed) this.rows.push(this.#makeRow());
      force = true;
    }
    const pool = this.rows.length;
    for (let index = first; index < first + pool; index++) {
      const row = this.rows[index % pool];
      if (index >= last) {
        if (!row.el.hidden) row.el.hidden = true;
        row.quote = null;
        row.index = -1;
        continue;
      }
      const q = this.order[index];
      const moved = row.index !== index;
      if (moved) {
        row.index = index;
        row.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      }
      if (row.el.hidden) row.el.hidden = false;
      const selected = index === this.selected;
      if (row.selected !== selected) {
        row.selected = selected;
        row.el.setAttribute('aria-selected', String(selected));
      }
      if (force || moved || row.quote !== q || this.changed.has(q)) this.#fill(row, q);
    }
    this.changed.clear();
  }

  #makeRow() {
    const cells = {};
    const el = h('div', { class: 'table-row', role: 'row', 'data-testid': 'table-row' });
    for (const col of COLUMNS) {
      cells[col.key] = h('span', { role: 'cell', class: `cell col-${col.key}` });
      el.append(cells[col.key]);
    }
    el.addEventListener('click', () => {
      const row = this.rows.find((r) => r.el === el);
      if (row?.quote) {
        this.selected = row.index;
        this.render(true);
        this.handlers.onOpen(row.quote.symbol);
      }
    });
    this.viewport.append(el);
    return { el, cells, index: -1, quote: null, selected: false };
  }

  #fill(row, q) {
    row.quote = q;
    row.el.dataset.symbol = q.symbol;
    row.el.dataset.source = q.source;
    const { cells } = row;
    setText(cells.symbol, q.symbol);
    setText(cells.source, q.source);
    setText(cells.last, formatPrice(q.price, this.handlers.precisionOf(q.symbol)));
    const dir = q.dayChange === null ? 'flat' : direction(q.dayChange);
    cells.change.dataset.dir = dir;
    cells.percent.dataset.dir = dir;
    setText(cells.change, q.dayChange === null ? '–' : formatChange(q.dayChange));
    setText(cells.percent, q.dayPercent === null ? '–' : `${formatPercent(q.dayPercent)}%`);
    setText(cells.updated, formatTime(q.timeSec));
  }

  #onKey(ev) {
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    if (ev.key === 'Enter') {
      const q = this.order[this.selected];
      if (q) this.handlers.onOpen(q.symbol);
      ev.preventDefault();
      return;
    }
    if (!(ev.key in moves)) return;
    ev.preventDefault();
    this.selected = Math.max(0, Math.min(this.order.length - 1, this.selected + moves[ev.key]));
    const top = this.selected * ROW_HEIGHT;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) {
      this.viewport.scrollTop = top + ROW_HEIGHT - this.viewport.clientHeight;
    }
    this.render(true);
  }
}
