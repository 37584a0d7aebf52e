#!/usr/bin/python3
"""What TLS clients cost the gateway (docs/benchmarks.md, session 19).

Starts a price_service (simulator) and, in turn, each gateway binary given,
with a throwaway P-256 certificate, `--threads=1` on core 1 (the service too);
the clients run on core 0. Per gateway and round, three measurements:

- memory: RSS growth per idle wss:// client (1 price/s, as scenario 1), 400
  clients after 100 that warm the allocator up;
- delivery: gateway CPU and client p99 while 10 wss clients take the
  service's prices (--rate, default 1,000/s) for 8 s;
- bursts: p99 of 5 wss probes (at 50 prices/s) while, every second, 300 TLS
  clients connect at once, upgrade and are replaced by the next burst
  (`nice 19`, so the probes get their core when they need it); and the same
  probes with no bursts.

Gateways alternate within each round, so a before/after comes from one run:

    /usr/bin/python3 tests/bench/tls_clients.py --service build/release/price_service/price_service \\
        --gateway build/release/ws_gateway/ws_gateway --gateway /tmp/ws_gateway.old --rounds 2

Needs Debian's python3-websockets (at /usr/bin/python3) and openssl.
"""
import argparse
import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import websockets

from bench_driver import free_port, wait_for_port

SERVER_CPU, CLIENT_CPU = "1", "0"
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def probes(port, count, seconds, warmup=2.0):
    """Latencies (ms, receive time - event_time_us) of `count` wss clients."""
    latencies = []
    start = time.time()

    async def one():
        async with websockets.connect(f"wss://127.0.0.1:{port}/ws?protocol=v1", ssl=client_context(),
                                      max_size=None) as ws:
            while time.time() < start + warmup + seconds:
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=1)
                except asyncio.TimeoutError:
                    continue
                now = time.time()
                if now >= start + warmup and '"price"' in message:
                    update = json.loads(message)
                    if update.get("type") == "price":
                        latencies.append((now * 1e6 - update["event_time_us"]) / 1000)

    await asyncio.gather(*(one() for _ in range(count)))
    latencies.sort()
    return {"n": len(latencies), "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2)} if latencies else {"n": 0}


class Gateway:
    def __init__(self, binary, service_port, cert, key, log):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, binary, f"--listen=127.0.0.1:{self.port}",
             f"--upstream=127.0.0.1:{service_port}", "--threads=1", f"--tls_cert_file={cert}",
             f"--tls_key_file={key}", "--log_level=error"],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc)
        time.sleep(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def idle_memory(gateway):
    held = []

    def open_clients(count):
        for _ in range(count):
            client = client_context().wrap_socket(socket.create_connection(("127.0.0.1", gateway.port)),
                                                  server_hostname="localhost")
            client.sendall(UPGRADE)
            client.recv(4096)
            held.append(client)
        time.sleep(1)

    open_clients(100)
    before = rss_bytes(gateway.proc.pid)
    open_clients(400)
    per_client = (rss_bytes(gateway.proc.pid) - before) // 400
    for client in held:
        client.close()
    return per_client


def delivery(gateway, seconds=8):
    cpu_before = cpu_seconds(gateway.proc.pid)
    result = asyncio.run(probes(gateway.port, 10, seconds))
    result["gateway_cpu_ms"] = round(1000 * (cpu_seconds(gateway.proc.pid) - cpu_before))
    return result


def with_bursts(gateway, burst, seconds=10):
    bursts = subprocess.Popen(["taskset", "-c", CLIENT_CPU, "nice", "-n", "19", sys.executable, __file__,
                               "--burst-port", str(gateway.port), "--burst", str(burst),
                               "--burst-seconds", str(seconds + 3)])
    time.sleep(1)
    result = asyncio.run(probes(gateway.port, 5, seconds))
    bursts.wait()
    return result


async def burst_loop(port, burst, seconds):
    """Every second `burst` TLS clients upgrade at once; each burst replaces the last."""
    async def one():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(),
                                                           server_hostname="localhost")
            writer.write(UPGRADE)
            await reader.read(200)
            return writer
        except OSError:
            return None

    held, end = [], time.time() + seconds
    while time.time() < end:
        started = time.time()
        new = await asyncio.gather(*(one() for _ in range(burst)))
        for writer in held:
            writer.close()
        held = [w for w in new if w]
        await asyncio.sleep(max(0.0, 1 - (time.time() - started)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--service", help="price_service binary")
    ap.add_argument("--gateway", action="append", default=[], help="ws_gateway binary (repeat to compare)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1000, help="prices/s for the delivery measurement")
    ap.add_argument("--burst", type=int, default=300)
    ap.add_argument("--burst-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--burst-seconds", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.burst_port:
        asyncio.run(burst_loop(args.burst_port, args.burst, args.burst_seconds))
        return
    if not args.service or not args.gateway:
        ap.error("--service and at least one --gateway are required")
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    with tempfile.TemporaryDirectory(prefix="stockfeed-tls-bench-") as tmp:
        cert, key = f"{tmp}/cert.pem", f"{tmp}/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        log = open(f"{tmp}/processes.log", "ab")
        for rate in (1, args.rate, 50):
            service_port = free_port()
            service = subprocess.Popen(["taskset", "-c", SERVER_CPU, args.service, f"--listen=127.0.0.1:{service_port}",
                                        "--admin_listen=127.0.0.1:0", f"--rate={rate}", "--log_level=error"],
                                       stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port(service_port, service)
                for round_number in range(1, args.rounds + 1):
                    for binary in args.gateway:
                        with Gateway(binary, service_port, cert, key, log) as gateway:
                            if rate == 1:
                                line = {"memory_bytes_per_idle_client": idle_memory(gateway)}
                            elif rate == args.rate:
                                line = {f"delivery_{rate}_per_s": delivery(gateway)}
                            else:
                                line = {"quiet_probes": asyncio.run(probes(gateway.port, 5, 10)),
                                        f"bursts_of_{args.burst}": with_bursts(gateway, args.burst)}
                        print(f"round {round_number} {binary}: {json.dumps(line)}", flush=True)
            finally:
                service.terminate()
                service.wait()


if __name__ == "__main__":
    main()
