// Debian's chromium driven by playwright-core. No browser is ever downloaded.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from './system.js';

export const CHROMIUM = process.env.STOCKFEED_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR =
  process.env.STOCKFEED_SCREENSHOT_DIR || path.join(REPO_ROOT, 'tests/browser/screenshots');

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic', '--disable-sync',
    ],
  });
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Records console errors/warnings and uncaught page errors. `allow(re)` tolerates matching
 * console errors until the returned function is called (e.g. the browser's own
 * "WebSocket connection ... failed" while the gateway is deliberately down).
 */
export function watchProblems(page, label = 'page') {
  const problems = [];
  const allowed = new Set();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if ([...allowed].some((re) => re.test(text))) return;
    problems.push(`${label} console.error: ${text} @ ${JSON.stringify(msg.location())}`);
  });
  page.on('pageerror', (err) => problems.push(`${label} pageerror: ${err.stack || err.message}`));
  page.on('requestfailed', (req) => {
    if (req.url().startsWith('ws')) return;
    problems.push(`${label} request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${label} HTTP ${res.status()} for ${res.url()}`);
  });
  return {
    problems,
    allow(re) {
      allowed.add(re);
      return () => allowed.delete(re);
    },
  };
}

/** Records WebSocket URLs and received frames (parsed) of a page, with arrival times. */
export function watchSockets(page) {
  const urls = [];
  const frames = [];
  page.on('websocket', (ws) => {
    urls.push(ws.url());
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') return;
      try {
        const data = JSON.parse(payload);
        for (const m of Array.isArray(data) ? data : [data]) frames.push({ at: Date.now(), m });
      } catch { /* the page tolerates garbage; so do we */ }
    });
  });
  return { urls, frames };
}
