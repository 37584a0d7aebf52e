// The dashboard with token auth on, in real Chromium against the real binaries: a token from the
// page URL (which then leaves the address bar), token_expiring answered with a refresh from the
// page's hook so the connection outlives the first token, and the login field when there is none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchChromium, watchSockets } from '../lib/browser.js';
import { binary, StockfeedSystem } from '../lib/system.js';
import { sleep, until } from '../lib/wait.js';

describe('dashboard with token auth', () => {
  let sys;
  let browser;
  let keyDir;
  let secret;

  const mint = (ttl) => execFileSync(binary('STOCKFEED_TOKEN', 'stockfeed_token'),
    [`--key=${secret}`, '--sub=dashboard-user', `--ttl=${ttl}`], { encoding: 'utf8' }).trim();
  const prices = (frames) => frames.filter((f) => f.m.type === 'price').length;

  before(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockfeed-browser-keys-'));
    secret = path.join(keyDir, 'hs.key');
    fs.writeFileSync(secret, 'dashboard-test-secret-0123456789-0123456789\n');
    sys = await StockfeedSystem.start({
      rate: 20, gatewayArgs: [`--jwt_hs256_secret_file=${secret}`, '--jwt_refresh_window=5s'],
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await sys?.stop();
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  });

  test('a token in the URL connects, and the hook\'s fresh token keeps the connection past expiry', async () => {
    const first = mint('8s');
    const fresh = mint('10m');
    const page = await browser.newPage();
    await page.addInitScript((token) => { window.stockfeedFetchToken = async () => token; }, fresh);
    const sockets = watchSockets(page);
    const startedAt = Date.now();
    await page.goto(`${sys.baseUrl}/?token=${first}`);
    assert.equal(new URL(page.url()).searchParams.has('token'), false, 'the token left the address bar');
    await until(() => prices(sockets.frames) > 0, { timeoutMs: 15000, message: 'prices with the URL token' });
    assert.equal(new URL(sockets.urls[0]).searchParams.get('token'), first);

    await until(() => sockets.frames.some((f) => f.m.type === 'refreshed'), {
      timeoutMs: 15000, message: `"refreshed" after token_expiring\n${sys.logs()}`,
    });
    assert.ok(sockets.frames.some((f) => f.m.type === 'token_expiring'));
    // Past the first token's expiry (8 s + the 5 s leeway): still the same connection, still prices.
    await sleep(Math.max(0, startedAt + 15000 - Date.now()));
    const before = prices(sockets.frames);
    await until(() => prices(sockets.frames) > before + 5, { timeoutMs: 10000, message: 'prices after expiry' });
    assert.equal(sockets.urls.length, 1, `the connection was replaced: ${sockets.urls.length}\n${sys.logs()}`);
    // (Not a search for "4001": peers' ephemeral ports, such as 127.0.0.1:40013, contain it.)
    const expiredCloses = sys.gateway.lines.filter((l) => l.includes('reason=token expired'));
    assert.deepEqual(expiredCloses, [], 'the gateway closed a client for an expired token');
    await page.close();
  });

  test('without a token the login field asks for one, then prices arrive', async () => {
    const page = await browser.newPage();
    const sockets = watchSockets(page);
    await page.goto(`${sys.baseUrl}/`);
    const field = page.locator('[data-testid=login-token]');
    await field.waitFor({ timeout: 15000 });
    assert.equal(prices(sockets.frames), 0);
    await field.fill(mint('10m'));
    await page.locator('[data-testid=login] button').click();
    await until(() => prices(sockets.frames) > 0, { timeoutMs: 15000, message: 'prices after logging in' });
    assert.ok(new URL(sockets.urls.at(-1)).searchParams.get('token'));
    await page.close();
  });
});
