// Pure dashboard logic (web/js/{protocol,backoff,model,feed}.js), in node without a browser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../../web/js/backoff.js';
import { FeedConnection } from '../../../web/js/feed.js';
import { FeedModel, displayState } from '../../../web/js/model.js';
import { buildFeedUrl, normalizePrice, parseFrame } from '../../../web/js/protocol.js';
import { FakeSocket } from '../lib/fake_socket.js';

const loc = { protocol: 'http:', host: 'example.test:8080' };
const price = (symbol, source, value, seq, extra = {}) =>
  normalizePrice({ type: 'price', symbol, source, price: value, seq, event_time_us: 1_000_000, timestamp: 1, ...extra });

describe('protocol', () => {
  test('URL carries protocol, batch, subscription and resume position', () => {
    assert.equal(buildFeedUrl(loc), 'ws://example.test:8080/ws?protocol=v1&batch=1');
    const u = new URL(buildFeedUrl({ protocol: 'https:', host: 'h' }, { symbols: ['A', 'B&C'], afterSeq: 7, epoch: 'e1' }));
    assert.equal(u.protocol, 'wss:');
    assert.equal(u.searchParams.get('symbols'), 'A,B&C');
    assert.equal(u.searchParams.get('after_seq'), '7');
    assert.equal(u.searchParams.get('epoch'), 'e1');
    assert.equal(new URL(buildFeedUrl(loc, { afterSeq: 7 })).searchParams.has('after_seq'), false);
  });

  test('frames: single objects, batches, workshop prices; garbage is dropped', () => {
    assert.deepEqual(parseFrame('{"type":"pong"}'), [{ type: 'pong' }]);
    assert.equal(parseFrame('[{"type":"price","symbol":"A","price":1},{"type":"price","symbol":"B","price":2}]').length, 2);
    assert.equal(parseFrame('{"symbol":"A","price":1,"source":"s"}')[0].type, 'price');
    assert.deepEqual(parseFrame('not json'), []);
    assert.deepEqual(parseFrame('[1,null,"x",[]]'), []);
  });

  test('prices are validated; optional fields may be missing', () => {
    assert.equal(normalizePrice({ symbol: '', price: 1 }), null);
    assert.equal(normalizePrice({ symbol: 'A', price: 'NaN' }), null);
    const p = normalizePrice({ symbol: '<script>', price: '2.5' });
    assert.deepEqual([p.symbol, p.source, p.price, p.seq], ['<script>', 'unknown', 2.5, 0]);
  });
});

describe('backoff', () => {
  test('doubles from 0.5 s to a 15 s cap with jitter in the upper half', () => {
    const lo = new Backoff({ random: () => 0 });
    assert.deepEqual(Array.from({ length: 8 }, () => lo.next()), [250, 500, 1000, 2000, 4000, 7500, 7500, 7500]);
    const hi = new Backoff({ random: () => 1 });
    assert.deepEqual(Array.from({ length: 7 }, () => hi.next()), [500, 1000, 2000, 4000, 8000, 15000, 15000]);
    hi.reset();
    assert.equal(hi.next(), 500);
  });
});

describe('model', () => {
  test('tracks tick and day changes; drops duplicates by seq', () => {
    const m = new FeedModel();
    m.applyPrice(price('A', 'f', 100, 1), 2_000_000);
    m.applyPrice(price('A', 'f', 101, 2), 2_000_000);
    assert.equal(m.applyPrice(price('A', 'f', 50, 2, { snapshot: true }), 2_000_000), false, 'snapshot duplicate');
    assert.equal(m.applyPrice(price('A', 'f', 50, 1, { history: true }), 2_000_000), false, 'replayed duplicate');
    m.applyPrice(price('A', 'f', 99.99, 3), 2_000_000);
    const q = m.symbols.get('A').get('f');
    assert.equal(q.prevPrice, 101);
    assert.ok(Math.abs(q.tickChange + 1.01) < 1e-9);
    assert.equal(q.dayChange, null, 'no day change before the session reference is known');
    m.setDayOpen('A', 'f', 100);
    assert.ok(Math.abs(q.dayChange + 0.01) < 1e-9);
    assert.ok(Math.abs(q.dayPercent + 0.01) < 1e-9);
    assert.equal(m.lastSeq, 3);
    const c = m.takeChanges();
    assert.deepEqual(c.newSymbols, ['A']);
    assert.equal(c.changed.size, 1);
    assert.equal(m.takeChanges().changed.size, 0);
  });

  test('a new epoch resets positions so restarted sequences apply', () => {
    const m = new FeedModel();
    m.setEpoch('e1');
    m.applyPrice(price('A', 'f', 1, 500), 0);
    m.setEpoch('e2');
    assert.equal(m.lastSeq, 0);
    assert.equal(m.applyPrice(price('A', 'f', 2, 3), 0), true);
    assert.deepEqual(m.connectParams(), { symbols: null, afterSeq: 3, epoch: 'e2' });
    // A silent restart (no epoch seen yet): live prices still apply.
    assert.equal(m.applyPrice(price('A', 'f', 3, 1), 0), true);
  });

  test('stats: rate and latency over the last second; snapshots and history excluded', () => {
    const m = new FeedModel();
    for (let i = 0; i < 10; i++) m.applyPrice(price('A', 'f', 1, i + 1, { event_time_us: 1_000_000 + i * 1000 }), 1_020_000 + i * 1000);
    m.applyPrice(price('A', 'f', 1, 20, { snapshot: true, event_time_us: 1 }), 1_030_000);
    m.applyPrice(price('A', 'f', 1, 21, { history: true, event_time_us: 1 }), 1_030_000);
    const s = m.stats(1_100_000);
    assert.equal(s.rate, 11);
    assert.equal(s.latencyP50Us, 20_000);
    assert.equal(s.latencyMaxUs, 20_000);
    assert.equal(m.stats(3_000_000).rate, 0);
  });

  test('watching: leaving "all" subscribes the rest explicitly; unwatched prices are ignored', () => {
    const m = new FeedModel();
    for (const s of ['A', 'B', 'C']) m.applyPrice(price(s, 'f', 1, 0), 0);
    assert.deepEqual(m.setSymbolWatched('B', false), { type: 'subscribe', symbols: ['A', 'C'], sources: [] });
    assert.deepEqual(m.setSymbolWatched('C', false), { type: 'unsubscribe', symbols: ['C'] });
    assert.equal(m.setSymbolWatched('C', false), null);
    assert.equal(m.applyPrice(price('B', 'f', 2, 0), 0), false);
    assert.deepEqual(m.connectParams().symbols, ['A']);
    assert.deepEqual(m.setSymbolWatched('B', true), { type: 'subscribe', symbols: ['B'], sources: [] });
    assert.deepEqual(m.watchAll(), { type: 'subscribe', symbols: ['C'], sources: [] });
    assert.equal(m.connectParams().symbols, null);
    assert.deepEqual(m.watchNone(), null);
  });

  test('display state', () => {
    assert.equal(displayState('open', 'connected'), 'live');
    assert.equal(displayState('open', 'unknown'), 'live');
    assert.equal(displayState('open', 'down'), 'down');
    assert.equal(displayState('reconnecting', 'connected'), 'reconnecting');
    assert.equal(displayState('connecting', 'unknown'), 'connecting');
  });
});

describe('feed connection', () => {
  function fakeTimers() {
    const t = { now: 0, queue: [], id: 0 };
    t.setTimeout = (fn, ms) => { t.queue.push({ id: ++t.id, at: t.now + ms, fn }); return t.id; };
    t.setInterval = (fn, ms) => { const e = { id: ++t.id, at: t.now + ms, fn, every: ms }; t.queue.push(e); return e.id; };
    t.clearTimeout = t.clearInterval = (id) => { t.queue = t.queue.filter((e) => e.id !== id); };
    t.advance = (ms) => {
      const end = t.now + ms;
      for (;;) {
        t.queue.sort((a, b) => a.at - b.at);
        const e = t.queue[0];
        if (!e || e.at > end) break;
        t.now = e.at;
        if (e.every) e.at += e.every; else t.queue.shift();
        e.fn();
      }
      t.now = end;
    };
    return t;
  }

  test('reconnects with backoff, resumes via urlFor, polls stats, resets after a healthy link', () => {
    FakeSocket.all = [];
    const timers = fakeTimers();
    const states = [];
    const got = [];
    let n = 0;
    const feed = new FeedConnection({
      urlFor: () => `ws://x/ws?n=${++n}`,
      onMessages: (m) => got.push(...m),
      onState: (s, info) => states.push([s, info.retryAt]),
      WebSocketImpl: FakeSocket,
      backoff: new Backoff({ random: () => 1 }),
      timers,
      now: () => timers.now,
    });
    feed.start();
    const s1 = FakeSocket.all[0];
    s1.open();
    assert.deepEqual(s1.sent, [{ type: 'stats' }]);
    s1.message([{ type: 'price', symbol: 'A', price: 1 }, { type: 'stats', active_connections: 1 }]);
    assert.equal(got.length, 2);
    timers.advance(2000);
    assert.deepEqual(s1.sent.at(-1), { type: 'stats' });

    s1.drop();
    assert.deepEqual(states.at(-1), ['reconnecting', timers.now + 500]);
    timers.advance(500);
    assert.equal(FakeSocket.all.length, 2);
    FakeSocket.all[1].drop(); // refused
    assert.deepEqual(states.at(-1), ['reconnecting', timers.now + 1000]);
    feed.reconnectNow();
    const s3 = FakeSocket.all[2];
    assert.equal(s3.url, 'ws://x/ws?n=3');
    s3.open();
    s3.message({ type: 'connected' });
    assert.equal(feed.state, 'open');
    s3.drop();
    assert.deepEqual(states.at(-1), ['reconnecting', timers.now + 500], 'backoff reset after a healthy link');
  });

  test('a silent connection is dropped and retried', () => {
    FakeSocket.all = [];
    const timers = fakeTimers();
    const feed = new FeedConnection({
      urlFor: () => 'ws://x/ws', onMessages: () => {}, onState: () => {},
      WebSocketImpl: FakeSocket, backoff: new Backoff({ random: () => 1 }), timers, now: () => timers.now,
      idleTimeoutMs: 5000,
    });
    const warn = console.warn;
    console.warn = () => {};
    try {
      feed.start();
      FakeSocket.all[0].open();
      timers.advance(6000);
      assert.equal(feed.state, 'reconnecting');
      assert.ok(FakeSocket.all[0].sent.some((m) => m.type === 'ping'));
      timers.advance(500);
      assert.equal(FakeSocket.all.length, 2);
    } finally {
      console.warn = warn;
    }
  });
});

describe('bars', async () => {
  const {
    BarSeries, MAX_BATCH_BARS, MAX_BATCH_PAIRS, REFERENCE_QUERY, batchRequests, pairKey, parseBarsBatch, parseBarsResponse,
    precisionFor, rangeQuery, sourceColor,
  } = await import('../../../web/js/bars.js');

  test('ticks extend the current bar and open a new one on roll-over', () => {
    const s = new BarSeries(60);
    assert.deepEqual(s.tick(120.5, 10), [{ time: 120, open: 10, high: 10, low: 10, close: 10, count: 1 }]);
    s.tick(130, 12);
    s.tick(179.9, 9);
    assert.deepEqual(s.last, { time: 120, open: 10, high: 12, low: 9, close: 9, count: 3 });
    const rolled = s.tick(180, 11);
    assert.equal(rolled[0].time, 180);
    assert.equal(s.bars.length, 2);
    assert.deepEqual(s.tick(100, 1), [], 'older than the current bar: ignored');
  });

  test('fetched bars merge with ticks that arrived before them', () => {
    const s = new BarSeries(60);
    s.tick(125, 15); // inside the last fetched bar
    s.tick(185, 16); // after it
    s.load([{ time: 60, open: 1, high: 2, low: 1, close: 2, count: 4 }, { time: 120, open: 10, high: 11, low: 9, close: 10, count: 5 }]);
    assert.deepEqual(s.bars.map((b) => [b.time, b.high, b.close, b.count]), [[60, 2, 2, 4], [120, 15, 15, 6], [180, 16, 16, 1]]);
    assert.equal(s.loaded, true);
  });

  test('range, response parsing, precision and colours', () => {
    assert.deepEqual(rangeQuery('1h'), { interval: '1m', limit: 60 });
    assert.deepEqual(rangeQuery('15m'), { interval: '1s', limit: 900 });
    assert.equal(rangeQuery('1d').interval, '5m');
    const r = parseBarsResponse({ session: { start: 5, open: 9.5, time_zone: 'UTC' }, bars: [{ time: 1, open: 1, high: 1, low: 1, close: 1 }, { time: 'x' }] });
    assert.equal(r.bars.length, 1);
    assert.equal(r.sessionOpen, 9.5);
    assert.equal(parseBarsResponse({ session: {}, bars: [] }).sessionOpen, null);
    assert.throws(() => parseBarsResponse({ error: 'x' }));
    assert.equal(precisionFor(0.5), 4);
    assert.equal(precisionFor(189.2), 2);
    assert.equal(sourceColor('finnhub'), sourceColor('finnhub'));
    assert.notEqual(sourceColor('finnhub'), sourceColor('alpha_vantage'));
  });

  test('batch requests: as few as the gateway\'s bounds allow, every pair once', () => {
    const pairs = [];
    for (let i = 0; i < 60; i++) for (const src of ['alpha', 'beta', 'gamma']) pairs.push([`S${i}`, src]);
    const refs = batchRequests(pairs, REFERENCE_QUERY);
    assert.equal(refs.length, Math.ceil(180 / MAX_BATCH_PAIRS)); // 180 pairs: 3 requests, not 180
    const asked = refs.flatMap((r) => r.pairs.map(([a, b]) => `${a}:${b}`));
    assert.deepEqual(asked, pairs.map(([a, b]) => `${a}:${b}`));
    const u = new URL(refs[0].path, 'http://x');
    assert.equal(u.pathname, '/api/v1/bars');
    assert.equal(u.searchParams.get('interval'), '1h');
    assert.equal(u.searchParams.get('limit'), '1');
    assert.equal(u.searchParams.get('pairs').split(',').length, MAX_BATCH_PAIRS);
    assert.match(refs[0].path, /pairs=S0:alpha,S0:beta,/, 'separators stay literal');
    // 900 one-second bars each: 11 pairs per request stay within 10,000 bars.
    const charts = batchRequests(pairs.slice(0, 30), rangeQuery('15m'));
    assert.deepEqual(charts.map((r) => r.pairs.length), [11, 11, 8]);
    for (const r of charts) assert.ok(r.pairs.length * 900 <= MAX_BATCH_BARS);
    // Names stay literal (the token gate compares them so); anything outside their syntax is escaped.
    const odd = batchRequests([['BRK.B', 's'], ['^GSPC', 's'], ['BTC/USD', 's'], ['ES=F', 's']], REFERENCE_QUERY);
    assert.match(odd[0].path, /\?pairs=BRK\.B:s,\^GSPC:s,BTC\/USD:s,ES=F:s&/);
    assert.equal(new URL(odd[0].path, 'http://x').searchParams.get('pairs'), 'BRK.B:s,^GSPC:s,BTC/USD:s,ES=F:s');
    assert.match(batchRequests([['A&B,C', 's']], REFERENCE_QUERY)[0].path, /pairs=A%26B%2CC:s&/);
    // Long names split by length too.
    const long = Array.from({ length: 64 }, (_, i) => [`${'X'.repeat(30)}${String(i).padStart(2, '0')}`, 'a'.repeat(32)]);
    const byLength = batchRequests(long, REFERENCE_QUERY);
    assert.ok(byLength.length > 1 && byLength.every((r) => r.path.length < 2200), byLength.map((r) => r.path.length).join());
    assert.deepEqual(batchRequests([], REFERENCE_QUERY), []);
  });

  test('a batch answer maps each pair to its bars', () => {
    const answers = parseBarsBatch({ interval: '1h', results: [
      { symbol: 'A', source: 's', session: { open: 2 }, bars: [{ time: 0, open: 1, high: 1, low: 1, close: 1 }] },
      { symbol: 'B', source: 's', session: {}, bars: [] },
    ] });
    assert.equal(answers.get(pairKey('A', 's')).sessionOpen, 2);
    assert.equal(answers.get(pairKey('A', 's')).bars.length, 1);
    assert.equal(answers.get(pairKey('B', 's')).sessionOpen, null);
    assert.equal(answers.has(pairKey('A', 't')), false);
    assert.throws(() => parseBarsBatch({ bars: [] }));
    assert.throws(() => parseBarsBatch({ results: [{ source: 's', session: {}, bars: [] }] }));
  });
});
