// Backward compatibility: the workshop's own "Production Dashboard HTML", taken unmodified from
// the seed document (../shared/seed/workshop.md beside the repository), runs against the real
// gateway. The page hard-codes ws://127.0.0.1:8080, so the gateway runs on that port; the test
// is skipped when the seed is missing or the port is taken.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchChromium, screenshot, watchProblems } from '../lib/browser.js';
import { portIsFree, REPO_ROOT, StockfeedSystem } from '../lib/system.js';
import { until } from '../lib/wait.js';

const SEED = process.env.STOCKFEED_WORKSHOP_SEED || path.join(REPO_ROOT, '../shared/seed/workshop.md');

/** The first ```html block after the "Production Dashboard HTML" heading. */
function workshopDashboardHtml() {
  if (!fs.existsSync(SEED)) return null;
  const text = fs.readFileSync(SEED, 'utf8');
  const heading = text.indexOf('Production Dashboard HTML');
  if (heading < 0) return null;
  const match = /```html\n([\s\S]*?)```/.exec(text.slice(heading));
  return match ? match[1] : null;
}

const WORKSHOP_PORT = 8080;
const html = workshopDashboardHtml();
const skip = !html ? `no seed at ${SEED}`
  : !(await portIsFree(WORKSHOP_PORT)) ? `port ${WORKSHOP_PORT} is taken` : false;

describe('the workshop dashboard, unmodified, against ws_gateway', { skip }, () => {
  let sys;
  let browser;
  let page;
  let watcher;

  before(async () => {
    sys = await StockfeedSystem.start({ rate: 20, seed: 3, gatewayPort: WORKSHOP_PORT });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watcher = watchProblems(page, 'workshop dashboard');
    // Like a student opening dashboard.html from disk: a page of its own origin.
    await page.setContent(html);
  });

  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('connects and shows a card per symbol and source with changing prices', async () => {
    await until(async () => (await page.textContent('#status'))?.includes('Connected'), {
      timeoutMs: 15000, message: 'the workshop page to say Connected',
    });
    // 6 symbols x 2 sources from the snapshot, then live updates.
    await until(async () => (await page.locator('.stock-card').count()) === 12, {
      timeoutMs: 15000, message: '12 stock cards',
    });
    const prices = () => page.locator('.stock-card .price').allTextContents();
    const first = await prices();
    assert.ok(first.every((p) => /^\$\d+\.\d\d$/.test(p)), `prices look like $123.45: ${first}`);
    await until(async () => (await prices()).join() !== first.join(), {
      timeoutMs: 15000, message: 'a price to change',
    });
    const symbols = new Set(await page.locator('.stock-card .symbol').allTextContents());
    assert.deepEqual([...symbols].sort(), ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'TSLA']);
    await screenshot(page, 'workshop-dashboard');
  });

  test('no console errors or page errors', () => {
    assert.deepEqual(watcher.problems, []);
  });
});
