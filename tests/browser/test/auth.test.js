// The dashboard's token handling (web/js/auth.js, and feed.js answering token_expiring), in node
// without a browser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refusedForToken, takeTokenFromUrl, TokenSource, withToken } from '../../../web/js/auth.js';
import { FeedConnection } from '../../../web/js/feed.js';
import { buildFeedUrl } from '../../../web/js/protocol.js';
import { FakeSocket } from '../lib/fake_socket.js';

const noTimers = { setTimeout: () => 0, clearTimeout: () => {}, setInterval: () => 0, clearInterval: () => {} };
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('dashboard token', () => {
  test('comes from ?token=, which leaves the address bar', () => {
    const replaced = [];
    const history = { state: null, replaceState: (_s, _t, url) => replaced.push(url) };
    assert.equal(takeTokenFromUrl({ href: 'https://h/?symbols=A&token=abc.def.ghi#x' }, history), 'abc.def.ghi');
    assert.deepEqual(replaced, ['/?symbols=A#x']);
    assert.equal(takeTokenFromUrl({ href: 'https://h/' }, history), null);
    assert.equal(replaced.length, 1);
  });

  test('rides on the WebSocket URL and API paths as the query parameter token', () => {
    const url = new URL(buildFeedUrl({ protocol: 'https:', host: 'h' }, { token: 'abc.def.ghi' }));
    assert.equal(url.searchParams.get('token'), 'abc.def.ghi');
    assert.equal(new URL(buildFeedUrl({ protocol: 'http:', host: 'h' })).searchParams.has('token'), false);
    assert.equal(withToken('/api/v1/bars?symbol=A', 't1'), '/api/v1/bars?symbol=A&token=t1');
    assert.equal(withToken('/api/v1/symbols', 't1'), '/api/v1/symbols?token=t1');
    assert.equal(withToken('/api/v1/symbols', null), '/api/v1/symbols');
  });

  test('is kept in session storage and replaced by a fresh one from the hook', async () => {
    const stored = new Map();
    const storage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, v), removeItem: (k) => stored.delete(k) };
    const first = new TokenSource({ initial: 'one', storage });
    assert.equal(first.current, 'one');
    assert.equal(new TokenSource({ storage }).current, 'one', 'a reload keeps the token of this tab');
    let calls = 0;
    const tokens = new TokenSource({ storage, fetchToken: async () => `two${++calls}` });
    const [a, b] = await Promise.all([tokens.fresh('expiring'), tokens.fresh('expiring')]);
    assert.equal(a, 'two1');
    assert.equal(b, 'two1', 'one request at a time');
    assert.equal(tokens.current, 'two1');
    const failing = new TokenSource({ initial: 'old', fetchToken: async () => { throw new Error('down'); } });
    assert.equal(await failing.fresh('expiring'), null);
    assert.equal(failing.current, 'old');
  });

  test('token_expiring is answered with a refresh carrying the fresh token', async () => {
    FakeSocket.all = [];
    const tokens = new TokenSource({ initial: 'old', fetchToken: async (reason) => `new-for-${reason}` });
    const feed = new FeedConnection({
      urlFor: () => buildFeedUrl({ protocol: 'http:', host: 'h' }, { token: tokens.current }),
      onMessages: () => {},
      onState: () => {},
      WebSocketImpl: FakeSocket,
      timers: noTimers,
      tokens,
    });
    feed.start();
    const socket = FakeSocket.all[0];
    assert.equal(new URL(socket.url).searchParams.get('token'), 'old');
    socket.open();
    socket.message({ type: 'token_expiring', expires_in: 30 });
    await flush();
    assert.deepEqual(socket.sent.at(-1), { type: 'refresh', token: 'new-for-expiring' });
    feed.stop();
  });

  test('a connect that never opens asks whether a token is what is missing', async () => {
    FakeSocket.all = [];
    let refused = 0;
    const feed = new FeedConnection({
      urlFor: () => 'ws://h/ws',
      onMessages: () => {},
      onState: () => {},
      WebSocketImpl: FakeSocket,
      timers: noTimers,
      onRefusedBeforeOpen: () => refused++,
    });
    feed.start();
    FakeSocket.all[0].drop();
    assert.equal(refused, 1);
    assert.equal(await refusedForToken('t', async (url) => ({ status: url.endsWith('token=t') ? 401 : 200 })), true);
    assert.equal(await refusedForToken(null, async () => ({ status: 200 })), false);
    assert.equal(await refusedForToken(null, async () => { throw new Error('offline'); }), false);
    feed.stop();
  });
});
