// Server-Sent Events in a real Chromium: the browser's own EventSource reads GET /api/v1/stream,
// and when its connection breaks it reconnects by itself with Last-Event-ID; the gateway resumes
// from its buffer with no gap and no duplicate. A TCP proxy in front of the gateway breaks the
// connection while the gateway (and its buffer) lives on.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { launchChromium, watchProblems } from '../lib/browser.js';
import { StockfeedSystem } from '../lib/system.js';
import { until } from '../lib/wait.js';

/** Forwards a free local port to `targetPort`; cut() breaks every open connection. */
async function startProxy(targetPort) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise((resolve) => { sockets.forEach((s) => s.destroy()); server.close(resolve); }),
  };
}

describe('EventSource on /api/v1/stream', () => {
  let sys;
  let proxy;
  let browser;
  let page;
  let watcher;

  before(async () => {
    sys = await StockfeedSystem.start({ rate: 40, seed: 5 });
    proxy = await startProxy(sys.gatewayPort);
    browser = await launchChromium();
    page = await browser.newPage();
    watcher = watchProblems(page, 'sse page');
    // A page of the gateway's own origin (through the proxy), as the dashboard would be.
    await page.goto(`http://127.0.0.1:${proxy.port}/healthz`);
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
    await sys?.stop();
  });

  test('receives prices with id = seq, and resumes by itself after a broken connection', async () => {
    await page.evaluate(() => {
      window.sse = { prices: [], kinds: [], opens: 0 };
      const source = new EventSource('/api/v1/stream');
      window.sse.source = source;
      source.onopen = () => window.sse.opens++;
      for (const kind of ['connected', 'status', 'snapshot', 'resumed', 'resync', 'conflated']) {
        source.addEventListener(kind, () => window.sse.kinds.push(kind));
      }
      source.addEventListener('price', (event) => {
        window.sse.prices.push({ id: event.lastEventId, seq: JSON.parse(event.data).seq });
      });
    });
    const prices = () => page.evaluate(() => window.sse.prices.length);
    await until(async () => (await prices()) >= 30, { timeoutMs: 20000, message: '30 prices' });

    const before = await prices();
    proxy.cut();
    // EventSource waits `retry` (1 s), reconnects with Last-Event-ID, the gateway says "resumed".
    await until(async () => (await page.evaluate(() => window.sse.kinds.includes('resumed'))), {
      timeoutMs: 20000, message: 'a resumed event after the reconnect',
    });
    await until(async () => (await prices()) >= before + 60, { timeoutMs: 20000, message: '60 more prices' });

    const { prices: seen, kinds, opens } = await page.evaluate(() => window.sse);
    assert.equal(opens, 2, 'one automatic reconnect');
    assert.deepEqual(kinds.filter((k) => k === 'snapshot'), ['snapshot'], 'a snapshot on the first connect only');
    assert.ok(!kinds.includes('resync'), `no resync: ${kinds}`);
    for (let i = 0; i < seen.length; i++) {
      assert.equal(seen[i].id, String(seen[i].seq), 'lastEventId is the seq');
      if (i > 0) assert.equal(seen[i].seq, seen[i - 1].seq + 1, `gap or duplicate at ${i}: ${seen[i - 1].seq} then ${seen[i].seq}`);
    }
    // By design: the cut stream fails as a request, and the plain-text page has no favicon.
    assert.deepEqual(watcher.problems.filter((p) => !/\/api\/v1\/stream|favicon\.ico/.test(p)), []);
  });
});
