#!/usr/bin/env node
// Peer server for the benchmarks: the same price workload as stockfeed,
// written the idiomatic Node way (npm `ws`, broadcast by looping over
// wss.clients). Usage: node node_ws_server.js --port=8090 --rate=100
//   --rate=N      price updates per second in total
//   --tick_ms=T   timer period; each tick sends the updates that are due, so
//                 --rate=200 --tick_ms=1000 sends 200 back-to-back once a second
// event_time_us is the tick the update was due at, not when the timer got
// round to it: a server that falls behind its schedule shows it in latency.
// A URL with ?batch=1 gets each tick's updates as one JSON array per frame;
// ?protocol=v1 gets a {"type":"connected"} greeting first.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

function parseArgs(argv) {
  const args = { port: 8090, rate: 100, tick_ms: 0, host: '127.0.0.1' };
  for (const a of argv) {
    const m = /^--([a-z_]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in args)) throw new Error(`unknown argument ${a}`);
    args[m[1]] = m[1] === 'host' ? m[2] : Number(m[2]);
  }
  // Default tick: 10 ms, or the update period when updates are rarer.
  if (!args.tick_ms) args.tick_ms = Math.max(1, Math.min(1000 / args.rate, 10));
  return args;
}

const SYMBOLS = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'TSLA', 'NVDA'];
const SOURCES = ['finnhub', 'alpha_vantage'];
const BASE = { AAPL: 189.2, MSFT: 415.5, GOOGL: 172.3, AMZN: 185.1, TSLA: 242.8, NVDA: 121.4 };

class Simulator {
  constructor() {
    this.seq = 0;
    this.prices = new Map();
    for (const s of SYMBOLS) for (const src of SOURCES) this.prices.set(`${s}/${src}`, BASE[s]);
  }
  // One update as a plain object, round-robin over symbol/source pairs.
  next(dueUs) {
    const pair = this.seq % (SYMBOLS.length * SOURCES.length);
    const symbol = SYMBOLS[pair % SYMBOLS.length];
    const source = SOURCES[Math.floor(pair / SYMBOLS.length)];
    const key = `${symbol}/${source}`;
    const price = Math.max(1, this.prices.get(key) * (1 + (Math.random() - 0.5) * 0.002));
    this.prices.set(key, price);
    this.seq += 1;
    return {
      type: 'price', symbol, price: Math.round(price * 100) / 100, source,
      timestamp: Math.floor(dueUs / 1e6), seq: this.seq, event_time_us: dueUs,
    };
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const wss = new WebSocketServer({ host: args.host, port: args.port, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const query = new URL(req.url, 'ws://x').searchParams;
    ws.batch = query.get('batch') === '1';
    if (query.get('protocol') === 'v1') ws.send(JSON.stringify({ type: 'connected', protocol: 'v1' }));
    ws.on('error', () => {});
  });
  wss.on('listening', () => console.log(`node ws peer listening on ${args.host}:${args.port} rate ${args.rate}/s tick ${args.tick_ms} ms`));

  const sim = new Simulator();
  const start = process.hrtime.bigint();
  const startUs = (performance.timeOrigin + performance.now()) * 1000;
  // Update n (from 1) is due at the first tick at or after n / rate seconds.
  const dueUs = (n) => Math.round(startUs + Math.ceil(n / args.rate / (args.tick_ms / 1000) - 1e-9) * args.tick_ms * 1000);
  let sent = 0;
  setInterval(() => {
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    let due = Math.floor(elapsedS * args.rate) - sent;
    if (due > args.rate) { sent += due - args.rate; due = args.rate; }  // > 1 s behind: skip ahead
    if (due <= 0) return;
    const texts = [];
    for (let i = 1; i <= due; i++) texts.push(JSON.stringify(sim.next(dueUs(sent + i))));
    sent += due;
    let batchText = null;
    for (const client of wss.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.batch) {
        batchText ??= `[${texts.join(',')}]`;
        client.send(batchText);
      } else {
        for (const t of texts) client.send(t);
      }
    }
  }, args.tick_ms);

  const stop = () => { wss.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
