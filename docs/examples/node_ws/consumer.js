// Follows stockfeed prices through the WebSocket gateway (protocol v1) and
// prints one JSON line per price.
//
// After a lost connection it reconnects with after_seq and epoch: the gateway
// replays what it still holds, so nothing is printed twice or skipped. When
// the gateway cannot (a `resync`: another epoch, a restarted gateway, or older
// than its buffer) or the client fell behind (`conflated`), it says so on stderr.
//
//   npm ci && node consumer.js [--url ws://127.0.0.1:8080/ws] [--symbols AAPL,MSFT] [--count N]
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/ws' },
    symbols: { type: 'string', default: '' },
    count: { type: 'string', default: '0' },
  },
});
const symbols = args.symbols.split(',').filter(Boolean);
const count = Number(args.count);
const log = (message) => console.error(`consumer: ${message}`);

// The position: the last sequence printed, and its epoch. Gateway sequences
// are JSON numbers, exact up to 2^53.
let epoch = '';
let lastSeq = 0;
let printed = 0;
let delayMs = 100;

function connectUrl() {
  const url = new URL(args.url);
  url.searchParams.set('protocol', 'v1');
  if (symbols.length) url.searchParams.set('symbols', symbols.join(','));
  if (lastSeq) {
    url.searchParams.set('after_seq', String(lastSeq));
    url.searchParams.set('epoch', epoch);
  }
  return url;
}

function printPrice(price, snapshot) {
  if (price.seq <= lastSeq) return; // already printed
  snapshot ||= Boolean(price.snapshot);
  if (!snapshot && symbols.length === 0 && lastSeq && price.seq !== lastSeq + 1) {
    log(`gap: ${price.seq - lastSeq - 1} update(s) missing before seq ${price.seq}`);
  }
  lastSeq = price.seq;
  const { seq, symbol, source } = price;
  console.log(JSON.stringify({ seq, epoch, symbol, source, price: price.price, snapshot }));
  if (count && ++printed === count) process.exit(0);
}

function handle(message) {
  switch (message.type) {
    case 'connected':
      if (epoch && message.epoch !== epoch) {
        log(`epoch changed from ${epoch} to ${message.epoch}: numbering restarted`);
        lastSeq = 0;
      }
      epoch = message.epoch;
      break;
    case 'resumed':
      log(`resumed from seq ${message.from_seq}`);
      break;
    case 'resync':
      log(`resync: ${message.reason}; what followed seq ${lastSeq} is lost, a snapshot follows`);
      break;
    case 'conflated':
      log(`conflated: fell behind, ${message.skipped} update(s) skipped`);
      break;
    case 'snapshot':
      for (const price of message.prices) printPrice(price, true);
      break;
    case 'price':
      printPrice(message, false);
      break;
    case 'error':
      log(`gateway error ${message.code}: ${message.message}`);
      break;
  }
}

function connect() {
  const ws = new WebSocket(connectUrl());
  ws.on('open', () => { delayMs = 100; });
  ws.on('message', (data) => handle(JSON.parse(data)));
  ws.on('error', (error) => log(`connection error (${error.message})`));
  ws.on('close', () => {
    log(`connection lost; reconnecting after seq ${lastSeq} in ${delayMs} ms`);
    setTimeout(connect, delayMs);
    delayMs = Math.min(delayMs * 2, 5000);
  });
}

connect();
