// The dashboard in Debian's chromium against the real price_service and ws_gateway.
// The tests share one browser page and run in order; each waits by polling, not sleeping.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchChromium, screenshot, watchProblems, watchSockets } from '../lib/browser.js';
import { StockfeedSystem } from '../lib/system.js';
import { until } from '../lib/wait.js';

const attr = (v) => JSON.stringify(v); // CSS attribute value; symbols are arbitrary strings

/** {"SYMBOL|source": priceText} of the visible price cells. */
const readPrices = (page) =>
  page.evaluate(() => {
    const out = {};
    for (const card of document.querySelectorAll('[data-testid=card]:not([hidden])')) {
      for (const cell of card.querySelectorAll('[data-testid=price]')) {
        out[`${card.dataset.symbol}|${cell.dataset.source}`] = cell.textContent;
      }
    }
    return out;
  });

/** Waits until at least one price cell (optionally of `symbol` only) shows a new value. */
async function waitForPriceChange(page, { symbol = null, timeoutMs = 15000 } = {}) {
  const mine = (key) => symbol === null || key.startsWith(`${symbol}|`);
  const first = await readPrices(page);
  return until(async () => {
    const now = await readPrices(page);
    return Object.keys(now).filter((k) => mine(k) && k in first && now[k] !== first[k]).length > 0;
  }, { timeoutMs, message: `a price change${symbol ? ` of ${symbol}` : ''}` });
}

const statusState = (page) => page.getAttribute('[data-testid=status]', 'data-state');

describe('dashboard against price_service + ws_gateway', () => {
  let sys;
  let browser;
  let page;
  let watcher;
  let sockets;

  before(async () => {
    sys = await StockfeedSystem.start({ rate: 50, seed: 1 });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    watcher = watchProblems(page);
    sockets = watchSockets(page);
    await page.goto(`${sys.baseUrl}/`);
  });

  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('the gateway serves the page and its assets with standard content types', async () => {
    const expect = {
      '/': /^text\/html/,
      '/app.js': /javascript/,
      '/js/model.js': /javascript/,
      '/style.css': /^text\/css/,
      '/favicon.svg': /^image\/svg\+xml/,
      '/vendor/lightweight-charts.standalone.production.js': /javascript/,
    };
    for (const [path, type] of Object.entries(expect)) {
      const res = await fetch(`${sys.baseUrl}${path}`);
      assert.equal(res.status, 200, `GET ${path}`);
      assert.match(res.headers.get('content-type') ?? '', type, `content-type of ${path}`);
    }
    assert.equal(await page.title(), 'stockfeed · live prices');
  });

  test('goes live; cards appear with charts and prices change in place', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'live',
      null, { timeout: 20000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=card]').length >= 2,
      null, { timeout: 20000 });
    assert.match(sockets.urls[0], /\/ws\?.*protocol=v1/);
    assert.match(sockets.urls[0], /batch=1/);

    // Tag the existing price nodes: after updates they must be the same nodes (no re-render).
    const tagged = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-testid=price]')];
      cells.forEach((c) => (c.__stockfeedTag = c.textContent));
      return cells.length;
    });
    await waitForPriceChange(page);
    const kept = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-testid=price]')].filter((c) => '__stockfeedTag' in c);
      return { kept: cells.length, changed: cells.filter((c) => c.__stockfeedTag !== c.textContent).length };
    });
    assert.equal(kept.kept, tagged, 'price cells must be updated in place, not re-created');
    assert.ok(kept.changed > 0);

    const card = page.locator('[data-testid=card]').first();
    assert.match(await card.locator('[data-testid=change-tick]').first().textContent(), /[-+–−0-9]/);
    await page.waitForFunction(() => document.querySelector('[data-testid=card] [data-testid=chart] canvas'),
      null, { timeout: 10000 });
    await screenshot(page, 'desktop-light');
  });

  test('stats panel shows active connections, updates/s and latency', async () => {
    await page.waitForFunction(() => {
      const v = (id) => document.querySelector(`[data-testid=${id}]`).dataset;
      return Number(v('stat-connections').value) >= 1 && Number(v('stat-rate').value) > 0 &&
        v('stat-latency').p50Us !== '' && v('stat-latency').p50Us !== undefined;
    }, null, { timeout: 10000 });
    const latency = await page.textContent('[data-testid=stat-latency]');
    assert.match(latency, /ms \/ .*ms/);
  });

  test('symbol filter: only the chosen symbol stays visible and updating', async () => {
    const symbols = await page.$$eval('[data-testid=symbol-toggle]', (els) => els.map((e) => e.value));
    assert.ok(symbols.length >= 2, `need two symbols, got ${symbols}`);
    const [keep, ...drop] = symbols;

    // First one by keyboard (controls must be keyboard reachable), the rest by mouse.
    await page.focus(`[data-testid=symbol-toggle][value=${attr(drop[0])}]`);
    await page.keyboard.press('Space');
    for (const s of drop.slice(1)) await page.uncheck(`[data-testid=symbol-toggle][value=${attr(s)}]`);
    const filteredAt = Date.now();

    await page.waitForFunction((keep) => {
      const cards = [...document.querySelectorAll('[data-testid=card]')];
      return cards.every((c) => c.hidden === (c.dataset.symbol !== keep));
    }, keep, { timeout: 5000 });
    assert.equal(await page.isChecked(`[data-testid=symbol-toggle][value=${attr(keep)}]`), true);
    await waitForPriceChange(page, { symbol: keep });

    // The gateway must have applied the subscription too: after a grace period, no frames
    // carry prices of the dropped symbols.
    await until(() => Date.now() - filteredAt > 3000, { timeoutMs: 5000 });
    const leaked = sockets.frames.filter(({ at, m }) =>
      at > filteredAt + 1500 && m.type === 'price' && m.symbol !== keep);
    assert.equal(leaked.length, 0,
      `gateway kept sending unsubscribed symbols: ${JSON.stringify(leaked.slice(0, 3).map((f) => f.m))}`);
    await screenshot(page, 'filtered');

    await page.click('[data-testid=watch-all]');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=card]')].every((c) => !c.hidden), null, { timeout: 5000 });
    await waitForPriceChange(page, { symbol: drop[0] });
  });

  test('light/dark and phone to wide layouts render', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(bg, 'rgb(244, 246, 249)', 'dark scheme must change the palette');
    await screenshot(page, 'desktop-dark');
    for (const [name, width, height] of [['phone', 375, 740], ['wide', 1920, 1080]]) {
      await page.setViewportSize({ width, height });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: horizontal overflow of ${overflow}px`);
      await screenshot(page, `${name}-dark`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 375, height: 740 });
    await screenshot(page, 'phone-light');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('gateway restart: reconnecting with countdown, then live again and resumed without reload', async () => {
    await page.evaluate(() => (window.__notReloaded = true));
    const urlsBefore = sockets.urls.length;
    const endAllowance = watcher.allow(/WebSocket connection to .* failed/);
    try {
      await sys.killGateway();
      await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'reconnecting',
        null, { timeout: 10000 });
      assert.equal(await page.textContent('[data-testid=status-text]'), 'Gateway unreachable');
      await page.waitForFunction(() => /retry in \d+ s/.test(document.querySelector('[data-testid=status-detail]').textContent),
        null, { timeout: 10000, polling: 50 });
      await screenshot(page, 'reconnecting');

      await sys.startGateway();
      await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'live',
        null, { timeout: 30000 });
    } finally {
      endAllowance();
    }
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'page must not reload');
    await waitForPriceChange(page);

    const resumeUrl = new URL(sockets.urls.at(-1));
    assert.ok(sockets.urls.length > urlsBefore);
    assert.equal(resumeUrl.searchParams.get('protocol'), 'v1');
    assert.ok(Number(resumeUrl.searchParams.get('after_seq')) > 0, `resume position in ${resumeUrl}`);
    assert.ok(resumeUrl.searchParams.get('epoch'), `epoch in ${resumeUrl}`);
    await screenshot(page, 'after-reconnect');
  });

  test('price_service outage: "feed down upstream", then live again with its new epoch', async () => {
    await sys.killService();
    await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'down',
      null, { timeout: 20000 });
    assert.equal(await page.textContent('[data-testid=status-text]'), 'Feed down upstream');
    await screenshot(page, 'upstream-down');
    await sys.startService();
    await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'live',
      null, { timeout: 30000 });
    // The restarted service starts a new sequence space; prices must keep moving anyway.
    await waitForPriceChange(page, { timeoutMs: 20000 });
  });

  test('no console errors, page errors or failed requests during the run', () => {
    assert.deepEqual(watcher.problems, [], `${watcher.problems.join('\n')}\n${sys.logs()}`);
  });
});
