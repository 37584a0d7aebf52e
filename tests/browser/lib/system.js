// Starts the real stockfeed binaries for a browser test: price_service and ws_gateway on free
// loopback ports, the gateway serving <repo>/web. Paths come from STOCKFEED_PRICE_SERVICE and
// STOCKFEED_WS_GATEWAY (set by the C++ build); without them, build/**/<name> is tried.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './wait.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB_ROOT = path.join(REPO_ROOT, 'web');

/** Whether nothing listens on 127.0.0.1:port. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** n distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function findInBuild(name, dir = path.join(REPO_ROOT, 'build'), depth = 4) {
  if (depth < 0 || !fs.existsSync(dir)) return null;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch { /* not executable */ }
    } else if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'CMakeFiles') {
      const found = findInBuild(name, p, depth - 1);
      if (found) return found;
    }
  }
  return null;
}

export function binary(envName, name) {
  const p = process.env[envName] || findInBuild(name);
  if (!p) throw new Error(`${envName} is not set and no executable ${name} was found under build/`);
  return p;
}

/** A child process whose recent output is kept for failure messages. */
class Proc {
  constructor(name, file, args) {
    this.name = name;
    this.lines = [];
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exitInfo = null;
    this.exited.then((info) => (this.exitInfo = info));
    this.child.once('error', (e) => this.#log(`spawn error: ${e.message}`));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        parts.forEach((l) => this.#log(l));
      });
    }
  }
  #log(line) {
    this.lines.push(line);
    if (this.lines.length > 200) this.lines.shift();
    if (process.env.STOCKFEED_TEST_VERBOSE) process.stderr.write(`[${this.name}] ${line}\n`);
  }
  get running() {
    return this.exitInfo === null;
  }
  output() {
    return `--- last output of ${this.name} ---\n${this.lines.slice(-40).join('\n')}`;
  }
  async stop(signal = 'SIGTERM', graceMs = 3000) {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

async function httpOk(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

export class StockfeedSystem {
  /**
   * `gatewayPort`: a fixed port for the gateway (default: a free one); `gatewayArgs`,
   * `serviceArgs`: more flags (e.g. --backfill=1h for charts with history at once).
   */
  static async start({ rate = 50, seed = 1, gatewayPort = 0, gatewayArgs = [], serviceArgs = [] } = {}) {
    const sys = new StockfeedSystem();
    sys.gatewayArgs = gatewayArgs;
    sys.priceServiceBin = binary('STOCKFEED_PRICE_SERVICE', 'price_service');
    sys.gatewayBin = binary('STOCKFEED_WS_GATEWAY', 'ws_gateway');
    [sys.servicePort, sys.gatewayPort] = await freePorts(2);
    if (gatewayPort) sys.gatewayPort = gatewayPort;
    sys.serviceArgs = [`--listen=127.0.0.1:${sys.servicePort}`, `--rate=${rate}`, `--seed=${seed}`,
      '--admin_listen=127.0.0.1:0', ...serviceArgs];
    try {
      await sys.startService();
      await sys.startGateway();
    } catch (e) {
      await sys.stop();
      throw e;
    }
    return sys;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.gatewayPort}`;
  }

  /** Starts ws_gateway on its (fixed) port and waits until it serves the page. */
  async startGateway({ timeoutMs = 20000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.gateway = new Proc('ws_gateway', this.gatewayBin, [
        `--listen=127.0.0.1:${this.gatewayPort}`,
        `--upstream=127.0.0.1:${this.servicePort}`,
        `--web_root=${WEB_ROOT}`,
        ...(this.gatewayArgs ?? []),
      ]);
      const ok = await until(async () => !this.gateway.running || (await httpOk(`${this.baseUrl}/`)), {
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 100,
      }).catch(() => false);
      if (ok && this.gateway.running) return;
      if (!this.service.running) throw new Error(`price_service exited\n${this.service.output()}`);
      // The port may still be held right after a restart: retry until the deadline.
      if (Date.now() >= deadline) {
        const out = this.gateway.output();
        await this.gateway.stop();
        throw new Error(`ws_gateway did not serve ${this.baseUrl}/ in time\n${out}\n${this.service.output()}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Starts price_service on its (fixed) port and waits until it accepts TCP connections. */
  async startService({ timeoutMs = 20000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.service = new Proc('price_service', this.priceServiceBin, this.serviceArgs);
      await until(async () => !this.service.running || (await tcpOpen(this.servicePort)), {
        timeoutMs: Math.max(0, deadline - Date.now()),
      }).catch(() => false);
      if (this.service.running && (await tcpOpen(this.servicePort))) return;
      if (Date.now() >= deadline) {
        const out = this.service.output();
        await this.service.stop();
        throw new Error(`price_service did not listen on ${this.servicePort} in time\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async killService() {
    await this.service?.stop('SIGKILL');
  }

  /** Kills the gateway abruptly, as a crash would. */
  async killGateway() {
    await this.gateway?.stop('SIGKILL');
  }

  logs() {
    return [this.service?.output(), this.gateway?.output()].filter(Boolean).join('\n');
  }

  async stop() {
    await this.gateway?.stop();
    await this.service?.stop();
  }
}
