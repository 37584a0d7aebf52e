#!/usr/bin/env python3
"""Runs one docs/examples consumer against the real system, breaks its
connection mid-stream, and checks it resumed with no gap and no duplicate.

  run_example.py grpc -- CMD...   price_service on a throwaway PostgreSQL (so a
                                   restart keeps the sequence), fed by the
                                   feeder; the service is killed and restarted.
  run_example.py ws -- CMD...      price_service (simulator) + ws_gateway behind
                                   a TCP proxy; the proxy cuts the connection
                                   (the gateway's buffer serves the resume), then
                                   the gateway is restarted (its buffer is gone:
                                   the example must report the resync).

CMD may contain {target} (HOST:PORT) and {url} (ws://HOST:PORT/ws). The example
prints one JSON object per price with "seq" and "epoch" on stdout.
Binaries come from the environment: STOCKFEED_PRICE_SERVICE, STOCKFEED_WS_GATEWAY,
STOCKFEED_FEEDER, STOCKFEED_LOCAL_POSTGRES, STOCKFEED_WEB_ROOT.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 60  # seconds for each phase; generous for a loaded machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"FAIL: nothing listens on port {port}")


class Example:
    """The example under test: its stdout parsed as price lines, stderr kept."""

    def __init__(self, command, log_dir):
        self.stderr_path = os.path.join(log_dir, "example.stderr")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "w"),
                                        text=True, cwd=log_dir)
        self.prices = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            price = json.loads(line)
            with self.lock:
                self.prices.append((price["seq"], price["epoch"], price.get("snapshot", False)))

    def count(self):
        with self.lock:
            return len(self.prices)

    def wait_for(self, count, what):
        deadline = time.time() + TIMEOUT
        while self.count() < count:
            if self.process.poll() is not None or time.time() > deadline:
                self.fail(f"{what}: {self.count()} prices, expected {count}")
            time.sleep(0.05)

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def fail(self, message):
        self.stop()
        raise SystemExit(f"FAIL: {message}\n--- example stderr ---\n{self.stderr()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class TcpProxy:
    """Forwards 127.0.0.1:port to a backend port; cut() breaks every connection."""

    def __init__(self, backend_port):
        self.backend_port = backend_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            try:
                backend = socket.create_connection(("127.0.0.1", self.backend_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, backend]
            for a, b in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets = []


def start(args, log_path):
    return subprocess.Popen(args, stdout=open(log_path, "a"), stderr=subprocess.STDOUT)


def kill(process):
    process.kill()
    process.wait()


def check_no_gap_no_duplicate(prices, what):
    """One epoch; sequences strictly increasing; live prices consecutive
    (snapshot entries, the latest value per pair at connect, are not)."""
    epochs = {epoch for _, epoch, _ in prices}
    if len(epochs) != 1:
        return f"{what}: expected one epoch, saw {sorted(epochs)}"
    for i in range(1, len(prices)):
        (previous, _, _), (seq, _, snapshot) = prices[i - 1], prices[i]
        if seq <= previous or (not snapshot and i > 0 and not prices[i - 1][2] and seq != previous + 1):
            return f"{what}: seq {seq} follows {previous} (line {i}): gap or duplicate"
    return None


def run_grpc(command, log_dir):
    env = os.environ
    pg_dir = os.path.join(log_dir, "pg")
    pg = [env["STOCKFEED_LOCAL_POSTGRES"]]
    url = subprocess.run(pg + ["start", pg_dir, str(free_port())], check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    service_log = os.path.join(log_dir, "price_service.log")
    port = free_port()
    service_args = [env["STOCKFEED_PRICE_SERVICE"], "--source=postgres", f"--database_url={url}",
                    f"--listen=127.0.0.1:{port}", "--poll_interval=100ms", "--admin_listen=127.0.0.1:0"]
    feeder = service = example = None
    try:
        feeder = start([env["STOCKFEED_FEEDER"], f"--database_url={url}", "--rate=40"],
                       os.path.join(log_dir, "feeder.log"))
        service = start(service_args, service_log)
        wait_for_port(port)
        example = Example([a.replace("{target}", f"127.0.0.1:{port}") for a in command], log_dir)
        example.wait_for(30, "before the restart")
        kill(service)  # SIGKILL: no goodbye to the client
        before = example.count()
        time.sleep(2)  # the feeder keeps writing: these rows must arrive after the restart
        service = start(service_args, service_log)
        wait_for_port(port)
        example.wait_for(before + 120, "after the restart")
        example.stop()
        if error := check_no_gap_no_duplicate(example.prices, "across the service restart"):
            example.fail(error)
        if "resuming after seq" not in example.stderr():
            example.fail("the example never reported losing its stream")
        print(f"OK: {example.count()} prices, seq {example.prices[0][0]}..{example.prices[-1][0]}, "
              f"service killed after {before}, resumed with no gap or duplicate")
    finally:
        for p in (example, ):
            if p:
                p.stop()
        for p in (service, feeder):
            if p and p.poll() is None:
                kill(p)
        subprocess.run(pg + ["stop", pg_dir])


def run_ws(command, log_dir):
    env = os.environ
    service_port, gateway_port = free_port(), free_port()
    service = start([env["STOCKFEED_PRICE_SERVICE"], f"--listen=127.0.0.1:{service_port}", "--rate=40",
                     "--admin_listen=127.0.0.1:0"],
                    os.path.join(log_dir, "price_service.log"))
    wait_for_port(service_port)
    gateway_args = [env["STOCKFEED_WS_GATEWAY"], f"--listen=127.0.0.1:{gateway_port}",
                    f"--upstream=127.0.0.1:{service_port}", f"--web_root={env['STOCKFEED_WEB_ROOT']}",
                    "--threads=1"]
    gateway_log = os.path.join(log_dir, "ws_gateway.log")
    gateway = start(gateway_args, gateway_log)
    example = None
    try:
        wait_for_port(gateway_port)
        proxy = TcpProxy(gateway_port)
        example = Example([a.replace("{url}", f"ws://127.0.0.1:{proxy.port}/ws")
                           .replace("{target}", f"127.0.0.1:{proxy.port}") for a in command], log_dir)
        example.wait_for(30, "before the cut")
        proxy.cut()
        cut_at = example.count()
        example.wait_for(cut_at + 60, "after the cut")
        if error := check_no_gap_no_duplicate(example.prices, "across the cut connection"):
            example.fail(error)
        if "resumed" not in example.stderr():
            example.fail("the example never reported a resume")

        # A restarted gateway starts with an empty buffer: no gap-free resume
        # is possible, and the example must say so rather than skip silently.
        kill(gateway)
        before_restart = example.count()
        time.sleep(1)
        gateway = start(gateway_args, gateway_log)
        wait_for_port(gateway_port)
        example.wait_for(before_restart + 60, "after the gateway restart")
        example.stop()
        seqs = [seq for seq, _, _ in example.prices]
        if any(b <= a for a, b in zip(seqs, seqs[1:])):
            example.fail("a sequence repeated or went back after the gateway restart")
        if "resync" not in example.stderr():
            example.fail("the example did not report the resync after the gateway restart")
        print(f"OK: {example.count()} prices; cut after {cut_at}: resumed with no gap or duplicate; "
              f"gateway restart after {before_restart}: resync reported, no duplicate")
    finally:
        if example:
            example.stop()
        for p in (gateway, service):
            if p.poll() is None:
                kill(p)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--" or sys.argv[1] not in ("grpc", "ws"):
        raise SystemExit(__doc__)
    log_dir = tempfile.mkdtemp(prefix=f"example-{sys.argv[1]}-", dir=os.environ.get("STOCKFEED_TEST_DIR"))
    os.chmod(log_dir, 0o755)  # run as root, the throwaway PostgreSQL runs as user postgres
    print(f"logs in {log_dir}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    (run_grpc if sys.argv[1] == "grpc" else run_ws)(sys.argv[3:], log_dir)


if __name__ == "__main__":
    main()
