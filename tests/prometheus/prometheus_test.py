#!/usr/bin/python3
"""A real Prometheus scrapes the real price_service and ws_gateway.

Starts both binaries on free loopback ports, a Prometheus (Debian's) with
deploy/prometheus/prometheus.yml pointed at them and a 1 s scrape interval,
keeps WebSocket clients reading live prices, and asserts through the HTTP
query API that both targets are up, that rate() of sent messages is non-zero,
that the delivery-latency quantiles computed from the histogram are sane, and
that every query of deploy/grafana/stockfeed.json evaluates.

Binaries: STOCKFEED_PRICE_SERVICE, STOCKFEED_WS_GATEWAY; STOCKFEED_WEB_ROOT,
STOCKFEED_SOURCE_DIR. Exits 77 (skipped) only when `prometheus` is missing.
"""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import websockets
import yaml

RATE_WINDOW = "15s"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def query(prometheus, expr):
    """The instant vector of `expr` as [(labels, value)]; raises on a query error."""
    url = f"http://127.0.0.1:{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    _, body = http_get(url)
    answer = json.loads(body)
    if answer["status"] != "success":
        raise AssertionError(f"query {expr!r} failed: {answer}")
    return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]


def scalar(prometheus, expr):
    result = query(prometheus, expr)
    return result[0][1] if len(result) == 1 else None


class Clients:
    """WebSocket clients reading prices on a thread of their own until stopped."""

    def __init__(self, port, count):
        self.received = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run(port, count)), daemon=True)
        self._thread.start()

    async def _client(self, port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?protocol=v1") as ws:
            while not self._stop.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), 0.5)
                    self.received += 1
                except asyncio.TimeoutError:
                    pass

    async def _run(self, port, count):
        try:
            await asyncio.gather(*(self._client(port) for _ in range(count)))
        except Exception as e:  # reported by the main thread
            self.error = e

    def stop(self):
        self._stop.set()
        self._thread.join(10)


def main():
    prometheus_bin = shutil.which("prometheus")
    if prometheus_bin is None:
        print("SKIP: the prometheus binary is not installed (deploy/install-deps.sh installs it)")
        return 77
    source = os.environ["STOCKFEED_SOURCE_DIR"]
    work = tempfile.mkdtemp(prefix="stockfeed-prometheus-")
    grpc_port, admin_port, gateway_port, prometheus_port = (free_port() for _ in range(4))
    logs = {name: open(os.path.join(work, f"{name}.log"), "w+") for name in ("price_service", "ws_gateway", "prometheus")}
    processes = []

    def start(name, args):
        processes.append(subprocess.Popen(args, stdout=logs[name], stderr=subprocess.STDOUT))

    try:
        start("price_service", [os.environ["STOCKFEED_PRICE_SERVICE"], f"--listen=127.0.0.1:{grpc_port}",
                                f"--admin_listen=127.0.0.1:{admin_port}", "--rate=100"])
        wait_for(lambda: http_get(f"http://127.0.0.1:{admin_port}/readyz")[0] == 200, 30, "price_service /readyz")
        start("ws_gateway", [os.environ["STOCKFEED_WS_GATEWAY"], f"--listen=127.0.0.1:{gateway_port}",
                             f"--upstream=127.0.0.1:{grpc_port}", f"--web_root={os.environ['STOCKFEED_WEB_ROOT']}",
                             "--access_log=false"])
        wait_for(lambda: http_get(f"http://127.0.0.1:{gateway_port}/readyz")[0] == 200, 30, "ws_gateway /readyz")

        # The shipped scrape config is valid as it is (promtool comes with prometheus) ...
        shipped = os.path.join(source, "deploy/prometheus/prometheus.yml")
        check = subprocess.run([shutil.which("promtool") or "promtool", "check", "config", shipped],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        # ... and used with this run's targets and a short interval.
        with open(os.path.join(source, "deploy/prometheus/prometheus.yml")) as f:
            config = yaml.safe_load(f)
        config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
        targets = {"price_service": admin_port, "ws_gateway": gateway_port}
        assert sorted(job["job_name"] for job in config["scrape_configs"]) == sorted(targets)
        for job in config["scrape_configs"]:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
        config_path = os.path.join(work, "prometheus.yml")
        with open(config_path, "w") as f:
            yaml.safe_dump(config, f)
        start("prometheus", [prometheus_bin, f"--config.file={config_path}",
                             f"--storage.tsdb.path={os.path.join(work, 'data')}",
                             f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"])
        wait_for(lambda: http_get(f"http://127.0.0.1:{prometheus_port}/-/ready")[0] == 200, 60, "prometheus ready")

        clients = Clients(gateway_port, 3)
        try:
            for job in targets:
                wait_for(lambda job=job: scalar(prometheus_port, f'up{{job="{job}"}}') == 1.0, 60, f"target {job} up")
            print("targets up: price_service, ws_gateway")

            sent_rate = f"sum(rate(ws_gateway_messages_sent_total[{RATE_WINDOW}]))"
            wait_for(lambda: (scalar(prometheus_port, sent_rate) or 0) > 0, 60, f"{sent_rate} > 0")
            updates_rate = f"sum(rate(price_service_updates_sent_total[{RATE_WINDOW}]))"
            wait_for(lambda: (scalar(prometheus_port, updates_rate) or 0) > 0, 30, f"{updates_rate} > 0")
            print(f"{sent_rate} = {scalar(prometheus_port, sent_rate):.1f}/s; "
                  f"{updates_rate} = {scalar(prometheus_port, updates_rate):.1f}/s; clients read {clients.received}")

            quantile = ("histogram_quantile({q}, sum by (le) "
                        f"(rate(ws_gateway_delivery_latency_seconds_bucket[{RATE_WINDOW}])))")
            wait_for(lambda: scalar(prometheus_port, quantile.format(q=0.99)) is not None, 30, "a latency quantile")
            p50 = scalar(prometheus_port, quantile.format(q=0.5))
            p99 = scalar(prometheus_port, quantile.format(q=0.99))
            print(f"delivery latency from the histogram: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
            # Loopback on a busy machine: well under a second, never negative or NaN.
            assert 0 < p50 <= p99 < 1.0, (p50, p99)
            assert scalar(prometheus_port, "price_service_subscribers") == 1.0
            assert scalar(prometheus_port, "ws_gateway_connections_active") == 3.0
            assert scalar(prometheus_port, 'ws_gateway_upstream_state{state="connected"}') == 1.0
            assert (scalar(prometheus_port, "process_resident_memory_bytes{job='ws_gateway'}") or 0) > 1e6

            # Every dashboard query is valid PromQL over metrics that exist;
            # the PostgreSQL ones have no data with the simulator.
            with open(os.path.join(source, "deploy/grafana/stockfeed.json")) as f:
                dashboard = json.load(f)
            for panel in dashboard["panels"]:
                for target in panel["targets"]:
                    expr = target["expr"].replace("$__rate_interval", RATE_WINDOW)
                    result = query(prometheus_port, expr)
                    if "postgres" not in expr:
                        assert result, f"dashboard panel {panel['title']!r}: {expr} has no data"
            print(f"dashboard: {sum(len(p['targets']) for p in dashboard['panels'])} queries evaluate")
            assert clients.error is None, clients.error
            assert clients.received > 0
        finally:
            clients.stop()
        print("PASS")
        return 0
    except AssertionError:
        for name, log in logs.items():
            log.seek(0)
            print(f"--- {name} log (tail) ---\n" + "".join(log.readlines()[-30:]))
        raise
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
