// Cross-site WebSocket hijacking in a real Chromium: a page served from a second origin (a tiny
// node http server on another loopback port) opens a WebSocket and an EventSource to the gateway,
// which runs with --allowed_origins naming neither. The browser sends that page's Origin and the
// gateway refuses it (403 before any upgrade), with and without a token, while a page of the
// gateway's own origin connects and gets prices (with token auth off, and with a token when on).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchChromium } from '../lib/browser.js';
import { binary, StockfeedSystem } from '../lib/system.js';
import { until } from '../lib/wait.js';

/** An http server on a free loopback port serving one empty page: the "other site". */
async function startOtherSite() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>another site</title><p>not the dashboard</p>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

/**
 * In the page: opens a WebSocket to `wsUrl` and an EventSource to `sseUrl` and reports what the
 * browser saw within `ms`: whether each opened, the first price's symbol, the close code.
 */
function tryFeed(page, wsUrl, sseUrl, ms = 4000) {
  return page.evaluate(({ wsUrl, sseUrl, ms }) => new Promise((resolve) => {
    const seen = { wsOpened: false, wsPrice: null, wsClose: null, sseOpened: false, ssePrice: null };
    const ws = new WebSocket(wsUrl);
    ws.onopen = () => { seen.wsOpened = true; };
    ws.onmessage = (e) => {
      const message = JSON.parse(e.data);
      if (message.type === 'price' && !seen.wsPrice) seen.wsPrice = message.symbol;
    };
    ws.onclose = (e) => { seen.wsClose = e.code; };
    const sse = new EventSource(sseUrl);
    sse.onopen = () => { seen.sseOpened = true; };
    sse.addEventListener('price', (e) => { if (!seen.ssePrice) seen.ssePrice = JSON.parse(e.data).symbol; });
    setTimeout(() => { ws.close(); sse.close(); resolve(seen); }, ms);
  }), { wsUrl, sseUrl, ms });
}

function refusals(sys, status) {
  return sys.gateway.lines.filter((l) => l.includes('access') && l.includes(`status=${status}`)).length;
}

describe('a page from another origin', () => {
  let other;
  let browser;
  let keyDir;

  before(async () => {
    other = await startOtherSite();
    browser = await launchChromium();
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockfeed-browser-keys-'));
  });

  after(async () => {
    await browser?.close();
    await other?.close();
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });

  test('is refused without token auth while the own origin gets prices', async () => {
    const sys = await StockfeedSystem.start({ gatewayArgs: ['--allowed_origins=https://app.example.com'] });
    try {
      const ws = `ws://127.0.0.1:${sys.gatewayPort}/ws`;
      const sse = `http://127.0.0.1:${sys.gatewayPort}/api/v1/stream`;
      const page = await browser.newPage();
      await page.goto(other.url);
      const refusedBefore = refusals(sys, 403);
      const foreign = await tryFeed(page, ws, sse);
      assert.equal(foreign.wsOpened, false, 'the other site opened a WebSocket');
      assert.equal(foreign.wsPrice, null);
      assert.equal(foreign.wsClose, 1006, 'a refused handshake closes with 1006 in the browser');
      assert.equal(foreign.ssePrice, null, 'the other site read the SSE stream');
      await until(() => refusals(sys, 403) >= refusedBefore + 2, { message: 'two 403s in the access log' });

      const own = await browser.newPage();
      await own.goto(`${sys.baseUrl}/healthz`);
      const mine = await tryFeed(own, ws, sse);
      assert.equal(mine.wsOpened, true, `own origin: ${JSON.stringify(mine)}\n${sys.logs()}`);
      assert.ok(mine.wsPrice, 'own origin: a price over WebSocket');
      assert.ok(mine.ssePrice, 'own origin: a price over SSE');
      await page.close();
      await own.close();
    } finally {
      await sys.stop();
    }
  });

  test('is refused even with a good token while the own origin needs one', async () => {
    const secret = path.join(keyDir, 'hs.key');
    fs.writeFileSync(secret, 'browser-test-secret-0123456789-0123456789\n');
    const token = execFileSync(binary('STOCKFEED_TOKEN', 'stockfeed_token'),
      [`--key=${secret}`, '--sub=browser', '--ttl=10m'], { encoding: 'utf8' }).trim();
    const sys = await StockfeedSystem.start({
      gatewayArgs: ['--allowed_origins=https://app.example.com', `--jwt_hs256_secret_file=${secret}`],
    });
    try {
      const ws = `ws://127.0.0.1:${sys.gatewayPort}/ws`;
      const sse = `http://127.0.0.1:${sys.gatewayPort}/api/v1/stream`;
      const page = await browser.newPage();
      await page.goto(other.url);
      const refusedBefore = refusals(sys, 403);
      const foreign = await tryFeed(page, `${ws}?token=${token}`, `${sse}?token=${token}`);
      assert.equal(foreign.wsOpened, false, 'the other site opened a WebSocket with a stolen token');
      assert.equal(foreign.ssePrice, null);
      await until(() => refusals(sys, 403) >= refusedBefore + 2, { message: 'two 403s in the access log' });

      const own = await browser.newPage();
      await own.goto(`${sys.baseUrl}/healthz`);
      const unauthorizedBefore = refusals(sys, 401);
      const withoutToken = await tryFeed(own, ws, sse, 2500);
      assert.equal(withoutToken.wsOpened, false, 'own origin without a token');
      assert.equal(withoutToken.ssePrice, null);
      await until(() => refusals(sys, 401) >= unauthorizedBefore + 2, { message: 'two 401s in the access log' });
      const withToken = await tryFeed(own, `${ws}?token=${token}`, `${sse}?token=${token}`);
      assert.equal(withToken.wsOpened, true, `own origin with a token: ${JSON.stringify(withToken)}\n${sys.logs()}`);
      assert.ok(withToken.wsPrice, 'own origin with a token: a price over WebSocket');
      assert.ok(withToken.ssePrice, 'own origin with a token: a price over SSE');
      await page.close();
      await own.close();
    } finally {
      await sys.stop();
    }
  });
});
