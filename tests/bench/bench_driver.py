#!/usr/bin/python3
"""Runs the benchmark scenarios of docs/benchmarks.md against stockfeed and
the peer servers, prints tables and updates the results section of
docs/benchmarks.md. Started by run_benchmarks.sh, which builds first."""

import argparse
import datetime
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SERVER_CPU = "1"   # taskset core for the server under test
LOADGEN_CPU = "0"  # taskset core for ws_loadgen
KINDS = ("ours", "node", "python")
# With --baseline-ws-gateway: ours again, with an older gateway binary, in the
# same rotation, so a change's before and after come from one run.
BASELINE = "baseline"
OUR_KINDS = ("ours", BASELINE)
P99_LIMIT_US = 100_000  # saturation: p99 above this ends the ladder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[2]} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


class ServerUnderTest:
    """One server setup (ours = price_service + ws_gateway, or a peer),
    pinned to SERVER_CPU. Use as a context manager; stops what it started."""

    def __init__(self, env, kind, rate, tick_ms=None, batch=False):
        self.env, self.kind, self.rate, self.tick_ms, self.batch = env, kind, rate, tick_ms, batch
        self.procs = []

    def _spawn(self, argv, name):
        log = open(self.env.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def __enter__(self):
        tick = [f"--tick_ms={self.tick_ms}"] if self.tick_ms else []
        if self.kind in OUR_KINDS:
            grpc_port, ws_port = free_port(), free_port()
            tick = [f"--tick={self.tick_ms}ms"] if self.tick_ms else []  # an absl::Duration
            ps = self._spawn([str(self.env.price_service), f"--listen=127.0.0.1:{grpc_port}", "--admin_listen=127.0.0.1:0",
                              f"--rate={self.rate}", "--seed=1"] + tick, "price_service")
            wait_for_port(grpc_port, ps)
            # STOCKFEED_GATEWAY_ARGS: extra ws_gateway flags, for trying settings.
            gateway = self.env.baseline_ws_gateway if self.kind == BASELINE else self.env.ws_gateway
            gw = self._spawn([str(gateway), f"--listen=127.0.0.1:{ws_port}",
                              f"--upstream=127.0.0.1:{grpc_port}", "--threads=1",
                              *os.environ.get("STOCKFEED_GATEWAY_ARGS", "").split()], "ws_gateway")
            wait_for_port(ws_port, gw)
            time.sleep(0.5)  # let the gateway's upstream stream start
            self.url = f"ws://127.0.0.1:{ws_port}/ws?protocol=v1" + ("&batch=1" if self.batch else "")
            self.pids = [gw.pid, ps.pid]  # gateway first: its RSS is "the" memory
            self.main_pid = gw.pid
        else:
            port = free_port()
            peers = self.env.root / "tests/bench/peers"
            argv = (["node", str(peers / "node_ws_server.js")] if self.kind == "node" else
                    ["/usr/bin/python3", str(peers / "python_ws_server.py")])
            proc = self._spawn(argv + [f"--port={port}", f"--rate={self.rate}"] + tick, self.kind)
            wait_for_port(port, proc)
            # Workshop-compatible URL: one price object per frame, like ours without batch.
            self.url = f"ws://127.0.0.1:{port}/" + ("?batch=1" if self.batch else "")
            self.pids = [proc.pid]
            self.main_pid = proc.pid
        return self

    def rss_kib(self):
        with open(f"/proc/{self.main_pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def counter(port, name):
    """One counter from a Prometheus /metrics page on 127.0.0.1:port (None when unreadable)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            for line in page.read().decode().splitlines():
                if line.startswith(name + " "):
                    return int(float(line.split()[1]))
    except OSError:
        return None
    return None


def run_loadgen(env, server, connections, duration, warmup=2, connect_rate=2000, extra=()):
    argv = ["taskset", "-c", LOADGEN_CPU, str(env.loadgen), f"--url={server.url}",
            f"--connections={connections}", f"--connect_rate={connect_rate}",
            f"--warmup={warmup}", f"--duration={duration}",
            "--server_pids=" + ",".join(map(str, server.pids)), "--intervals=false", *extra]
    print("  $ " + shlex.join(argv[3:]), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 120)
    with open(env.log_dir / "loadgen.log", "a") as log:
        log.write(shlex.join(argv) + "\n" + out.stdout + out.stderr + "\n")
    result = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        elif line.startswith(("latency", "seq", "WARNING", "NOT CLEAN", "connections:", "measured")):
            print("    " + line)
    if result is None:
        raise RuntimeError(f"ws_loadgen exited {out.returncode} without RESULT: {out.stderr[-500:]}")
    result["exit_code"] = out.returncode
    result["server_cpu_s"] = sum(max(0.0, s["cpu_s"]) for s in result["servers"])
    return result


def loss(result, rate):
    """Why a run counts as lossy, or None."""
    if result["seq_gaps"] or result["seq_duplicates"] or result["seq_backwards"]:
        return "seq gaps"
    if result["closed_by_server"] or result["failed"]:
        return "connections lost"
    expected = rate * result["opened"]
    if result["updates_per_s"] < 0.95 * expected:
        return f"delivered {result['updates_per_s']:.0f}/s of {expected:.0f}/s"
    return None


# ---------------------------------------------------------------- repetition

def repeated(env, kinds, run_one, label):
    """Runs run_one(kind) env.runs times for each kind, alternating kinds
    (the order rotates every round, so no kind always runs first or on a
    machine just warmed by another). Returns kind -> list of results."""
    out = {kind: [] for kind in kinds}
    for i in range(env.runs):
        order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]
        for kind in order:
            print(f"== {label}: {kind}, run {i + 1}/{env.runs}", flush=True)
            try:
                out[kind].append(run_one(kind))
            except Exception as e:  # one broken run must not lose the others' numbers
                print(f"   error: {e}")
                out[kind].append({"error": str(e)[:200]})
    return out


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def summarize(runs):
    """Several runs' results -> one: numbers become {median, min, max, runs};
    yes/no flags are yes if any run said yes; text is the first run's."""
    good = [r for r in runs if "error" not in r and "skipped" not in r]
    if not good:
        return runs[0] if runs else {"error": "no run"}
    out = {"runs": len(good)}
    if len(good) < len(runs):
        out["failed_runs"] = len(runs) - len(good)
    for key in dict.fromkeys(k for r in good for k in r):
        values = [r[key] for r in good if key in r and r[key] is not None]
        if not values:
            out[key] = None
        elif all(is_number(v) for v in values):
            out[key] = {"median": median(values), "min": min(values), "max": max(values), "runs": len(values)}
        elif all(isinstance(v, bool) for v in values):
            out[key] = any(values)
        else:
            out[key] = values[0]
    return out


def mid(v):
    """The median of a summarized number, or the plain value."""
    return v["median"] if isinstance(v, dict) and "median" in v else v


# ---------------------------------------------------------------- scenarios

LADDER_RATES = (10, 50, 100)
SATURATION_RATES = (50, 100, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000, 5000)
SUSTAINED = 0.95  # a server sustains a rate when it delivers this share of it


def scenario_idle(env, kind):
    n = env.scale(10_000)
    with ServerUnderTest(env, kind, rate=1) as srv:
        r = run_loadgen(env, srv, n, duration=env.dur(10), connect_rate=2000)
    s = r["servers"][0]
    per_conn = (s["rss_connected_kib"] - s["rss_start_kib"]) * 1024 / max(1, r["opened"])
    return {"clients": r["opened"], "rss_per_conn_bytes": round(per_conn),
            "rss_mib": round(s["rss_connected_kib"] / 1024, 1),
            "cpu_pct": round(100 * r["server_cpu_s"] / r["measured_s"], 1),
            "p99_ms": r["latency_us"]["p99"] / 1000, "read_p99_ms": r["read_latency_us"]["p99"] / 1000,
            "failed": r["failed"],
            "gaps": r["seq_gaps"], "limited": r["limited_by_loadgen"]}


def kernel_floor(env, connections):
    """fanout_floor: the kernel alone sending one message to each loopback connection."""
    argv = [str(env.fanout_floor), f"--connections={connections}",
            f"--sender_cpu={SERVER_CPU}", f"--reader_cpu={LOADGEN_CPU}"]
    print("  $ " + shlex.join(argv), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            print(f"    one round of sends: {result['round_ms_median']:.1f} ms, "
                  f"{result['us_per_send']:.2f} us per send; sends from their round's start: "
                  f"p99 {result['send_p99_ms']:.1f} ms", flush=True)
            return {"connections": result["connections"], "bytes": result["bytes"],
                    "round_ms": result["round_ms_median"], "us_per_send": result["us_per_send"],
                    "p99_ms": result["send_p99_ms"]}
    raise RuntimeError(f"fanout_floor exited {out.returncode}: {out.stderr[-300:]}")


def with_floor(env, kinds, connections, run_one, label):
    """Runs the kinds and, in the same rotation, the kernel floor for
    `connections`; returns kind -> summary, the floor under "floor", and
    each kind's median p99 as a multiple of the floor's median round
    (p99_vs_floor, issue #16's measure) and of the floor's own median p99
    (p99_vs_floor_p99: the same statistic on both sides, so a VM whose
    rounds vary does not count against the server)."""
    floor = ["floor"] if os.access(env.fanout_floor, os.X_OK) else []
    runs = repeated(env, kinds + floor,
                    lambda kind: kernel_floor(env, connections) if kind == "floor" else run_one(kind), label)
    out = {kind: summarize(r) for kind, r in runs.items()}
    for ratio, floor_key in (("p99_vs_floor", "round_ms"), ("p99_vs_floor_p99", "p99_ms")):
        floor_ms = mid(out.get("floor", {}).get(floor_key))
        for kind in kinds:
            p99 = mid(out[kind].get("p99_ms"))
            if is_number(floor_ms) and floor_ms > 0 and is_number(p99):
                out[kind][ratio] = round(p99 / floor_ms, 2)
    return out


def ladder_step(env, kind, rate):
    with ServerUnderTest(env, kind, rate=rate) as srv:
        r = run_loadgen(env, srv, env.scale(1000), duration=env.dur(10))
    return {"p50_ms": r["latency_us"]["p50"] / 1000, "p99_ms": r["latency_us"]["p99"] / 1000,
            "p999_ms": r["latency_us"]["p999"] / 1000, "read_p99_ms": r["read_latency_us"]["p99"] / 1000,
            "deliveries_per_s": round(r["updates_per_s"]),
            "delivered_fraction": round(r["updates_per_s"] / max(1, rate * r["opened"]), 3),
            "cpu_pct": round(100 * r["server_cpu_s"] / r["measured_s"], 1),
            "gaps": r["seq_gaps"], "limited": r["limited_by_loadgen"]}


def scenario_ladder(env, kinds):
    steps = {}
    for rate in LADDER_RATES:
        step = with_floor(env, kinds, env.scale(1000), lambda kind: ladder_step(env, kind, rate),
                          f"scenario 2 (latency ladder, {rate}/s)")
        for kind in kinds:
            fraction = mid(step[kind].get("delivered_fraction"))
            step[kind]["sustained"] = is_number(fraction) and fraction >= SUSTAINED
        steps[f"{rate}/s"] = step
    return steps


def saturation_run(env, kind, rate, batch):
    with ServerUnderTest(env, kind, rate=rate, batch=batch) as srv:
        r = run_loadgen(env, srv, env.scale(1000), duration=env.dur(6))
    why = loss(r, rate) or (f"p99 {r['latency_us']['p99'] / 1000:.1f} ms"
                            if r["latency_us"]["p99"] > P99_LIMIT_US else None)
    return {"deliveries_per_s": round(r["updates_per_s"]),
            "per_cpu_s": round(r["updates"] / max(1e-9, r["server_cpu_s"])),
            "p99_ms": r["latency_us"]["p99"] / 1000, "stop": why, "limited": r["limited_by_loadgen"]}


def most(flags):
    """Whether more than half of `flags` are true: a step's runs decide by majority."""
    flags = list(flags)
    return 2 * sum(1 for flag in flags if flag) > len(flags)


def decide(summary, whys):
    """Marks a step by its runs' stop reasons (None = clean): clean when most
    runs are, else stopped by the first failed run's reason."""
    clean = [not why for why in whys]
    summary["stop"] = None if most(clean) else next(why for why in whys if why)
    summary["clean_runs"] = f"{sum(clean)}/{len(whys)}"
    return summary


def scenario_saturation(env, kinds, batch=False):
    """Every kind still clean climbs to the next rate; a step is clean when
    most of its runs are (so one GC pause is not taken for saturation)."""
    active, best, steps = list(kinds), {}, {kind: [] for kind in kinds}
    stopped_by = {kind: "end of the ladder" for kind in kinds}
    for rate in SATURATION_RATES:
        if not active:
            break
        runs = repeated(env, active, lambda kind: saturation_run(env, kind, rate, batch),
                        f"scenario 3 (saturation{', batch=1' if batch else ''}, {rate}/s)")
        for kind in list(active):
            whys = [r.get("error") or r.get("stop") for r in runs[kind]]
            summary = decide(dict(summarize([r for r in runs[kind] if not r.get("stop")] or runs[kind]),
                                  rate=rate), whys)
            steps[kind].append(summary)
            if summary["stop"]:
                active.remove(kind)
                stopped_by[kind] = summary["stop"]
                continue
            best[kind] = summary
            # Further steps would measure the load generator; like "clean",
            # decided by most runs, so one run at the edge does not end the climb.
            if most(r.get("limited") for r in runs[kind]):
                active.remove(kind)
                stopped_by[kind] = "loadgen limit"
    return {kind: {"best": best.get(kind), "stopped_by": stopped_by[kind] if steps[kind] else "not run",
                   "steps": steps[kind]} for kind in kinds}


def scenario_burst(env, kind):
    if kind in OUR_KINDS and "-tick" not in env.price_service_flags:
        return {"skipped": "price_service has no --tick (burst) flag"}
    with ServerUnderTest(env, kind, rate=200, tick_ms=1000) as srv:
        r = run_loadgen(env, srv, env.scale(5000), duration=env.dur(10), warmup=3)
    return {"drain_ms_median": r["interval_max_latency_us"]["median"] / 1000,
            "drain_ms_max": r["interval_max_latency_us"]["max"] / 1000,
            "p999_ms": r["latency_us"]["p999"] / 1000, "deliveries_per_s": round(r["updates_per_s"]),
            "gaps": r["seq_gaps"], "closed": r["closed_by_server"], "limited": r["limited_by_loadgen"]}


def scenario_slow(env, kind):
    stall_for = env.dur(30)
    with ServerUnderTest(env, kind, rate=100) as srv:
        r = run_loadgen(env, srv, env.scale(1000), duration=stall_for + env.dur(10),
                        extra=(f"--stall={env.scale(10)}", "--stall_after=5",
                               f"--stall_for={stall_for}"))
    s = r["servers"][0]
    return {"healthy_p99_ms": r["latency_us"]["p99"] / 1000,
            "healthy_gaps": r["seq_gaps"], "healthy_closed": r["closed_by_server"],
            "rss_start_mib": round(s["rss_connected_kib"] / 1024, 1),
            "rss_peak_mib": round(s["rss_peak_kib"] / 1024, 1),
            "stalled_closed": r["stalled"]["closed_by_server"],
            "stalled_missing": r["stalled"]["seq_missing"], "limited": r["limited_by_loadgen"]}

GRPC_RATES = (300_000, 1_000_000)  # simulator updates/s offered
GRPC_SUBSCRIBERS = (1, 50)


def run_grpc_loadgen(env, target, subscribers, duration, server_pids, warmup=2, extra=()):
    argv = ["taskset", "-c", LOADGEN_CPU, str(env.grpc_loadgen), f"--target={target}",
            f"--subscribers={subscribers}", f"--warmup={warmup}", f"--duration={duration}",
            "--intervals=false", "--server_pids=" + ",".join(map(str, server_pids)), *extra]
    print("  $ " + shlex.join(argv[3:]), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 120)
    with open(env.log_dir / "grpc_loadgen.log", "a") as log:
        log.write(shlex.join(argv) + "\n" + out.stdout + out.stderr + "\n")
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    for l in out.stdout.splitlines():
        if l.startswith(("subscribers:", "measured", "latency", "seq", "WARNING", "loadgen cpu")):
            print("    " + l)
    if line is None:
        raise RuntimeError(f"grpc_loadgen exited {out.returncode} without RESULT: {out.stderr[-300:]}")
    return json.loads(line[len("RESULT "):])


def grpc_row(env, price_service, rate, subscribers, batched=False, service_flags=()):
    """One price_service (the binary `price_service`, with `service_flags`) at
    `rate` on the server core, `subscribers` streams of grpc_loadgen on the
    other: one table row."""
    port = free_port()
    srv = ServerUnderTest(env, "ours", rate=rate)
    try:
        ps = srv._spawn([str(price_service), f"--listen=127.0.0.1:{port}", "--admin_listen=127.0.0.1:0",
                         f"--rate={rate}", "--seed=1", "--log_level=warn", *service_flags], "price_service_grpc")
        wait_for_port(port, ps)
        r = run_grpc_loadgen(env, f"127.0.0.1:{port}", subscribers, env.dur(10), [ps.pid],
                             extra=["--batched"] if batched else [])
    except Exception as e:  # keep the other rows
        return {"error": str(e)[:200]}
    finally:
        srv.__exit__(None, None, None)
    cpu = r["servers"][0]["cpu_s"] if r["servers"] else -1
    return {"updates_per_s": round(r["updates_per_s"]),
            "per_sub_min": round(r["per_subscriber_updates_per_s"]["min"]),
            "per_sub_max": round(r["per_subscriber_updates_per_s"]["max"]),
            "p50_ms": r["latency_us"]["p50"] / 1000, "p99_ms": r["latency_us"]["p99"] / 1000,
            "max_ms": r["latency_us"]["max"] / 1000,
            "opened": r["opened"], "failed": r["failed"],
            "missing": r["seq_missing"], "unexplained_gaps": r["unexplained_gaps"],
            "dup_back": r["seq_duplicates"] + r["seq_backwards"],
            "server_cpu_pct": round(100 * cpu / r["measured_s"]) if cpu >= 0 else None,
            "loadgen_cpu_pct": round(100 * r["loadgen_cpu_s"] / r["measured_s"]),
            "all_received": (r["opened"] == subscribers and r["seq_missing"] == 0 and r["unexplained_gaps"] == 0
                             and r["per_subscriber_updates_per_s"]["min"] >= SUSTAINED * rate),
            "limited": r["limited_by_loadgen"]}


def scenario_grpc(env):
    """price_service alone, pinned like the other servers; grpc_loadgen on the loadgen core."""
    if not env.grpc_loadgen.is_file() or not os.access(env.grpc_loadgen, os.X_OK):
        return {"skipped": f"no gRPC load client ({env.grpc_loadgen}); build the grpc_loadgen target"}
    return {f"{rate}/s, {subscribers} sub": grpc_row(env, env.price_service, rate, subscribers)
            for rate in GRPC_RATES for subscribers in GRPC_SUBSCRIBERS}


FANOUT_RATE = 20_000      # scenario 8: simulator updates/s, every subscriber wants all of them
FANOUT_SUBSCRIBERS = 100  # 2,000,000 deliveries/s from one core


def scenario_grpc_fanout(env):
    """Scenario 8: one replica feeding many gateways. FANOUT_SUBSCRIBERS
    streams of the whole feed at FANOUT_RATE, over Subscribe (one message per
    update) and SubscribeBatched, paced (the default --stream_pacing) and not
    (--stream_pacing=0, a message per publish), and over Subscribe of
    --baseline-price-service (an older build) when given. The simulator
    publishes every 1 ms. Rows alternate run by run; returns row -> list of
    runs."""
    if not env.grpc_loadgen.is_file() or not os.access(env.grpc_loadgen, os.X_OK):
        return {"skipped": f"no gRPC load client ({env.grpc_loadgen}); build the grpc_loadgen target"}
    rows = {"Subscribe": (env.price_service, False, ()),
            "SubscribeBatched, --stream_pacing=0": (env.price_service, True, ("--stream_pacing=0",)),
            "SubscribeBatched (paced, default)": (env.price_service, True, ())}
    if env.baseline_price_service:
        rows = {"before (baseline build): Subscribe": (env.baseline_price_service, False, ()), **rows}
    names = list(rows)
    out = {name: [] for name in names}
    for i in range(env.runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            print(f"== scenario 8 (gRPC fan-out, {FANOUT_SUBSCRIBERS} x {FANOUT_RATE}/s): {name}, "
                  f"run {i + 1}/{env.runs}", flush=True)
            binary, batched, flags = rows[name]
            out[name].append(grpc_row(env, binary, FANOUT_RATE, env.scale(FANOUT_SUBSCRIBERS), batched, flags))
    return out


# ---------------------------------------------------------------- scenario 7: PostgreSQL

PG_RATES = (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 100_000, 200_000)
PG_P99_LIMIT_US = 1_000_000


class LocalPostgres:
    """A throwaway cluster under a temp dir (deploy/postgres/local_postgres.sh);
    stopped and removed on exit, whatever happened."""

    def __init__(self, env):
        self.env = env
        self.script = env.root / "deploy/postgres/local_postgres.sh"
        self.psql = pathlib.Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"

    def __enter__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="stockfeed-bench-pg-"))
        os.chmod(self.dir, 0o755)  # run as root, the server runs as postgres
        self.port = free_port()
        try:
            out = subprocess.run([str(self.script), "start", str(self.dir), str(self.port)],
                                 capture_output=True, text=True, timeout=120, check=True)
        except subprocess.CalledProcessError as e:
            self.__exit__()
            raise RuntimeError(f"local_postgres.sh start failed: {e.stderr[-300:]}")
        self.url = out.stdout.strip().splitlines()[-1]
        return self

    def sql(self, statement, db="postgres"):
        out = subprocess.run([str(self.psql), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                              "-d", db, "-tAc", statement], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql {statement!r}: {out.stderr.strip()[-300:]}")
        return out.stdout.strip()

    def fresh_database(self):
        """Every step starts on an empty stockdb: no backlog from the previous one."""
        self.sql("DROP DATABASE IF EXISTS stockdb WITH (FORCE)")
        self.sql("CREATE DATABASE stockdb")

    def activity(self):
        """Counters of what PostgreSQL did besides serving us: checkpoints, WAL
        written (bytes, from the current LSN) and autovacuum/autoanalyze passes
        in stockdb. Read before and after a step to see what fell inside it."""
        checkpoints, wal = self.sql("SELECT checkpoints_timed + checkpoints_req, "
                                    "pg_current_wal_lsn() - '0/0' FROM pg_stat_bgwriter").split("|")
        vacuums = self.sql("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) "
                           "FROM pg_stat_all_tables", db="stockdb")
        return {"checkpoints": int(checkpoints), "wal_bytes": int(float(wal)), "autovacuums": int(vacuums)}

    def __exit__(self, *exc):
        subprocess.run([str(self.script), "stop", str(self.dir)], capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_step(env, pg, rate, clients, batch):
    """feeder --rate → PostgreSQL → price_service --source=postgres → ws_gateway → ws_loadgen."""
    pg.fresh_database()
    srv = ServerUnderTest(env, "ours", rate=rate, batch=batch)
    try:
        grpc_port, ws_port, admin_port = free_port(), free_port(), free_port()
        ps = srv._spawn([str(env.price_service), "--source=postgres", f"--database_url={pg.url}",
                         f"--listen=127.0.0.1:{grpc_port}", f"--admin_listen=127.0.0.1:{admin_port}",
                         "--log_level=warn"],
                        "price_service_pg")
        wait_for_port(grpc_port, ps, timeout=30)
        gw = srv._spawn([str(env.ws_gateway), f"--listen=127.0.0.1:{ws_port}",
                         f"--upstream=127.0.0.1:{grpc_port}", "--threads=1", "--log_level=warn"],
                        "ws_gateway_pg")
        wait_for_port(ws_port, gw)
        time.sleep(0.5)
        srv.url = f"ws://127.0.0.1:{ws_port}/ws?protocol=v1" + ("&batch=1" if batch else "")
        srv.pids = [gw.pid, ps.pid]
        srv.main_pid = gw.pid
        before = pg.activity()
        # The feeder logs when it sends each COMMIT and the load generator
        # measures from it too: commit → client is what #16 asks about, while
        # inserted_at also counts the rest of the feeder's transaction. Made
        # empty here, so the load generator can open it before the feeder writes.
        commit_log = env.log_dir / "commit_times.bin"
        commit_log.write_bytes(b"")
        # The feeder shares the load generator's core; PostgreSQL runs unpinned.
        log = open(env.log_dir / "stockfeed_feeder.log", "ab")
        feeder = subprocess.Popen(["taskset", "-c", LOADGEN_CPU, str(env.feeder), f"--database_url={pg.url}",
                                   "--mode=simulate", f"--rate={rate}", "--migrate=false", "--log_level=warn",
                                   f"--commit_log={commit_log}"],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        srv.procs.append(feeder)
        r = run_loadgen(env, srv, clients, duration=env.dur(10), warmup=3, extra=[f"--commit_log={commit_log}"])
        feeder.send_signal(signal.SIGTERM)
        feeder.wait(timeout=10)
        # A seq gap has two designed causes under overload: the service moved a
        # stream past its replay buffer (announced in dropped_before), or the
        # gateway conflated a client past --max_backlog. These counters tell which.
        skipped_by_service = counter(admin_port, "price_service_dropped_updates_announced_total")
        conflations = counter(ws_port, "ws_gateway_conflations_total")
        after = pg.activity()
        # What the feeder really inserted, so a feeder limit is not taken for ours.
        count, span = pg.sql("SELECT count(*), extract(epoch FROM max(inserted_at) - min(inserted_at)) "
                             "FROM stock_prices", db="stockdb").split("|")
    finally:
        srv.__exit__(None, None, None)
    inserted_per_s = int(count) / max(1e-9, float(span or 0)) if int(count) > 1 else 0.0
    per_client = r["updates_per_s"] / max(1, r["opened"])
    return {"rate": rate, "inserted_per_s": round(inserted_per_s), "delivered_per_client_s": round(per_client),
            "p50_ms": r["latency_us"]["p50"] / 1000, "p99_ms": r["latency_us"]["p99"] / 1000,
            "p999_ms": r["latency_us"]["p999"] / 1000, "max_ms": r["latency_us"]["max"] / 1000,
            "commit_p50_ms": r["commit_latency_us"]["p50"] / 1000,
            "commit_p99_ms": r["commit_latency_us"]["p99"] / 1000, "without_commit": r["without_commit"],
            "gaps": r["seq_gaps"], "missing": r["seq_missing"], "closed": r["closed_by_server"],
            "skipped_by_service": skipped_by_service, "conflations": conflations,
            "server_cpu_pct": round(100 * r["server_cpu_s"] / r["measured_s"], 1),
            "checkpoints": after["checkpoints"] - before["checkpoints"],
            "wal_bytes_per_row": round((after["wal_bytes"] - before["wal_bytes"]) / max(1, int(count))),
            "autovacuums": after["autovacuums"] - before["autovacuums"],
            "limited": r["limited_by_loadgen"], "_r": r}


def postgres_runs(env, pg, rate, clients, batch):
    """env.runs steps at `rate`; a step is clean when most of its runs are."""
    runs = []
    for i in range(env.runs):
        print(f"== scenario 7 (PostgreSQL): {rate} rows/s{', batch=1' if batch else ''}, run {i + 1}/{env.runs}",
              flush=True)
        step = postgres_step(env, pg, rate, clients, batch=batch)
        r = step.pop("_r")
        why = None
        if r["seq_gaps"] or r["seq_duplicates"] or r["seq_backwards"]:
            why = "seq gaps"
        elif r["closed_by_server"] or r["failed"]:
            why = "connections lost"
        elif step["delivered_per_client_s"] < 0.95 * rate:
            why = (f"delivered {step['delivered_per_client_s']}/s per client of {rate}/s "
                   f"(feeder inserted {step['inserted_per_s']}/s)")
        elif r["latency_us"]["p99"] > PG_P99_LIMIT_US:
            why = f"p99 {step['p99_ms']:.0f} ms"
        step["stop"] = why
        print(f"   p99 {step['p99_ms']:.1f} ms (from COMMIT {step['commit_p99_ms']:.1f} ms), "
              f"{step['delivered_per_client_s']}/s per client, "
              f"{step['gaps']} gaps ({step['missing']} missing; service skipped {step['skipped_by_service']}, "
              f"gateway conflated {step['conflations']}), "
              f"{step['checkpoints']} checkpoints, {step['autovacuums']} autovacuum passes, "
              f"{step['wal_bytes_per_row']} WAL bytes/row"
              f"{', ' + str(step['without_commit']) + ' prices with no COMMIT logged' if step['without_commit'] else ''}"
              f"{', ' + why if why else ''}", flush=True)
        runs.append(step)
    return decide(dict(summarize(runs), rate=rate), [r["stop"] for r in runs])


def scenario_postgres(env):
    if not env.feeder.exists():
        return {"skipped": f"{env.feeder} not built"}
    if not (env.root / "deploy/postgres/local_postgres.sh").exists():
        return {"skipped": "deploy/postgres/local_postgres.sh missing"}
    clients = env.scale(10)
    result = {"clients": clients}
    with LocalPostgres(env) as pg:
        # Latency at 1,000 rows/s, one price per frame (what a browser gets).
        result["latency_1000"] = postgres_runs(env, pg, 1_000, clients, batch=False)
        # Ladder: batch=1 so the load generator is not the limit.
        steps, best = [], None
        for rate in env.pg_rates:
            step = postgres_runs(env, pg, rate, clients, batch=True)
            steps.append(step)
            if step["stop"]:
                break
            best = step
            if step.get("limited"):
                break
        result["best"] = best
        result["steps"] = steps
    return result


def summarize_rows(runs):
    """Several runs of a table (row name -> result) -> row name -> summary."""
    return {row: summarize([r[row] for r in runs if row in r]) for row in dict.fromkeys(k for r in runs for k in r)}


# ---------------------------------------------------------------- reporting

def ratio(ours, node):
    ours, node = mid(ours), mid(node)
    if not is_number(ours) or not is_number(node) or not node:
        return "–"
    return f"{ours / node:.2f}×"


def fmt_number(v):
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def fmt(v):
    """A value, or a summarized number as "median (min–max)"."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict) and "median" in v:
        if v["min"] == v["max"]:
            return fmt_number(v["median"])
        return f"{fmt_number(v['median'])} ({fmt_number(v['min'])}–{fmt_number(v['max'])})"
    return fmt_number(v)


# Rows whose comparison with a peer means nothing unless the peer kept up.
RATE_INDEPENDENT = {"deliveries_per_s", "delivered_fraction", "clients", "gaps", "limited", "sustained"}


def table(title, metrics, results, note=""):
    """results: kind -> summary (or {"skipped": why}). One row per metric.
    Latency is compared with Node only where Node sustained the rate."""
    kinds = [k for k in KINDS + (BASELINE,) if k in results]
    lines = [f"### {title}", ""] + ([note, ""] if note else [])
    lines.append("| metric | " + " | ".join(kinds) + " | ours vs node |")
    lines.append("|---" * (len(kinds) + 2) + "|")
    node_kept_up = results.get("node", {}).get("sustained", True)
    for key, label in metrics:
        row = [fmt(results[k].get(key)) if "skipped" not in results[k] else "skipped" for k in kinds]
        cmp = ratio(results.get("ours", {}).get(key), results.get("node", {}).get(key))
        if not node_kept_up and key not in RATE_INDEPENDENT:
            cmp = "– (node below rate)"
        lines.append(f"| {label} | " + " | ".join(row) + f" | {cmp} |")
    for k in kinds:
        if "skipped" in results[k]:
            lines.append(f"\n{k}: skipped — {results[k]['skipped']}")
        elif "error" in results[k]:
            lines.append(f"\n{k}: error — {results[k]['error']}")
    return "\n".join(lines) + "\n"


def floor_note(floor, what):
    if not floor or "round_ms" not in floor:
        return ""
    return (f"Kernel floor (`fanout_floor`: one `send()` of {int(mid(floor['bytes']))} bytes to each of "
            f"{int(mid(floor['connections'])):,} loopback connections and nothing else, sender on core "
            f"{SERVER_CPU}, reader on core {LOADGEN_CPU}), measured in the same rotation {what}: "
            f"one round takes {fmt(floor['round_ms'])} ms, {fmt(floor['us_per_send'])} µs per send, "
            f"and the p99 of its sends' times from their round's start is {fmt(floor.get('p99_ms'))} ms. "
            f"\"p99 / floor\" is the median p99 divided by the median round; \"p99 / floor p99\" "
            f"divides it by the floor's median p99.\n")


def render(all_results, env):
    out = []
    r = all_results
    runs_note = (f"Each cell: median of {env.runs} runs (min–max), kinds alternating run by run."
                 if env.runs > 1 else "")
    if "1" in r:
        floor = r["1"].pop("floor", None)
        out.append(table(f"1. {env.scale(10_000):,} idle clients, 1 update/s", [
            ("clients", "clients connected"), ("rss_per_conn_bytes", "RSS per connection (bytes)"),
            ("rss_mib", "RSS with all connected (MiB)"), ("cpu_pct", "server CPU (% of a core)"),
            ("p99_ms", "p99 latency (ms)"), ("p99_vs_floor", "p99 / floor"),
            ("p99_vs_floor_p99", "p99 / floor p99"), ("read_p99_ms", "p99 to the loadgen's read (ms)"),
            ("gaps", "seq gaps"), ("limited", "limited by loadgen")], r["1"], note=runs_note))
        out.append(floor_note(floor, "as these runs"))
    if "2" in r:
        for rate, step in r["2"].items():
            floor = step.pop("floor", None)
            out.append(table(f"2. Latency ladder: {env.scale(1000):,} clients at {rate}", [
                ("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)"), ("p99_vs_floor", "p99 / floor"),
                ("p99_vs_floor_p99", "p99 / floor p99"), ("read_p99_ms", "p99 to the loadgen's read (ms)"),
                ("p999_ms", "p99.9 (ms)"), ("deliveries_per_s", "deliveries/s"),
                ("delivered_fraction", "delivered / offered"), ("cpu_pct", "server CPU (%)"),
                ("gaps", "seq gaps"), ("limited", "limited by loadgen")], step, note=runs_note))
            out.append(floor_note(floor, "as this step"))
    if "3" in r:
        sub = {k: (dict(v["best"] or {}, stopped_by=v["stopped_by"]) if "best" in v else v)
               for k, v in r["3"].items() if k in KINDS + (BASELINE,)}
        out.append(table(f"3. Saturation: {env.scale(1000):,} clients, rate raised until p99 > 100 ms or loss", [
            ("rate", "highest clean rate (updates/s)"), ("deliveries_per_s", "max deliveries/s"),
            ("per_cpu_s", "deliveries per server CPU-second"), ("p99_ms", "p99 at that rate (ms)"),
            ("clean_runs", "clean runs at that rate"),
            ("stopped_by", "next step failed by"), ("limited", "limited by loadgen")], sub,
            note=(runs_note + " A step is clean when most of its runs are.").strip()))
        if "ours (batch)" in r["3"]:
            b = r["3"]["ours (batch)"]
            best = b["best"] or {}
            out.append(f"ours with `batch=1`: highest clean rate {fmt(best.get('rate'))}/s, "
                       f"{fmt(best.get('deliveries_per_s'))} deliveries/s, p99 {fmt(best.get('p99_ms'))} ms, "
                       f"limited by loadgen: {fmt(best.get('limited'))}; next step failed by {b['stopped_by']}\n")
    if "4" in r:
        out.append(table(f"4. Burst: {env.scale(5000):,} clients, 200 back-to-back updates every second", [
            ("drain_ms_median", "drain time, median (ms)"), ("drain_ms_max", "drain time, max (ms)"),
            ("p999_ms", "p99.9 latency (ms)"), ("deliveries_per_s", "deliveries/s"),
            ("gaps", "seq gaps"), ("closed", "closed by server"), ("limited", "limited by loadgen")],
            r["4"], note=("Drain time = the highest latency seen in each one-second interval "
                          "(the last update of a burst reaching the last client). " + runs_note).strip()))
    if "5" in r:
        out.append(table(f"5. Slow consumers: {env.scale(10)} of {env.scale(1000):,} clients stop reading "
                         f"for {env.dur(30)} s, 100 updates/s", [
            ("healthy_p99_ms", "healthy clients' p99 (ms)"), ("healthy_gaps", "healthy seq gaps"),
            ("healthy_closed", "healthy closed"), ("rss_start_mib", "server RSS before (MiB)"),
            ("rss_peak_mib", "server RSS peak (MiB)"), ("stalled_closed", "stalled clients dropped"),
            ("stalled_missing", "updates stalled clients missed"), ("limited", "limited by loadgen")], r["5"],
            note=runs_note))
    if "6" in r:
        out.append(render_grpc(r["6"]))
    if "7" in r:
        out.append(render_postgres(r["7"]))
    if "8" in r:
        out.append(render_grpc_fanout(r["8"], env))
    return "\n".join(out)


def plain_table(columns, rows):
    """columns: (key, label); rows: list of dicts."""
    lines = ["| " + " | ".join(label for _, label in columns) + " |", "|---" * len(columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def render_grpc(r):
    title = "### 6. gRPC: price_service → grpc_loadgen subscribers\n\n"
    if "skipped" in r:
        return title + "skipped — " + r["skipped"] + "\n"
    rows = [dict(v, setup=k) for k, v in r.items()]
    return title + (
        "Simulator at the offered rate, price_service alone on core 1, grpc_loadgen "
        "(one channel per subscriber) on core 0. Latency = receive time − event_time_us; "
        "missing = updates skipped by the service (all announced in `dropped_before` "
        "unless `unexplained gaps` > 0).\n\n" + plain_table([
            ("setup", "offered rate, subscribers"), ("updates_per_s", "updates/s total"),
            ("per_sub_min", "per sub min"), ("per_sub_max", "per sub max"),
            ("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)"), ("max_ms", "max (ms)"),
            ("opened", "streams with data"), ("missing", "missing"), ("unexplained_gaps", "unexplained gaps"),
            ("server_cpu_pct", "price_service CPU %"), ("limited", "limited by loadgen"),
            ("error", "error")], rows) + "\n")


def render_grpc_fanout(r, env):
    title = (f"### 8. gRPC fan-out: {FANOUT_SUBSCRIBERS} subscribers x {FANOUT_RATE:,} updates/s "
             f"({FANOUT_SUBSCRIBERS * FANOUT_RATE:,} deliveries/s) from one core\n\n")
    if "skipped" in r:
        return title + "skipped — " + r["skipped"] + "\n"
    rows = [dict(v, setup=k) for k, v in r.items()]
    return title + (
        "price_service (simulator, every subscriber takes the whole feed) alone on core 1, grpc_loadgen "
        "(one channel per subscriber) on core 0. \"all received\": every stream open, nothing missing and "
        f"every subscriber at ≥ {SUSTAINED:.0%} of the offered rate. "
        + (f"Each cell: median of {env.runs} runs (min–max), rows alternating run by run. " if env.runs > 1 else "")
        + "\n\n" + plain_table([
            ("setup", "stream"), ("updates_per_s", "deliveries/s total"),
            ("per_sub_min", "per sub min"), ("per_sub_max", "per sub max"),
            ("missing", "missing (announced drops)"), ("unexplained_gaps", "unexplained gaps"),
            ("all_received", "all received"), ("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)"),
            ("server_cpu_pct", "price_service CPU %"), ("loadgen_cpu_pct", "grpc_loadgen CPU %"),
            ("limited", "limited by loadgen"), ("error", "error")], rows) + "\n")


def render_postgres(r):
    title = "### 7. PostgreSQL source: feeder → PostgreSQL → price_service → ws_gateway → clients\n\n"
    if "skipped" in r or "error" in r:
        return title + ("skipped — " + r["skipped"] if "skipped" in r else "error — " + r["error"]) + "\n"
    cols = [("rate", "feeder rows/s"), ("inserted_per_s", "inserted/s"),
            ("delivered_per_client_s", "delivered/s per client"), ("p50_ms", "p50 (ms)"),
            ("p99_ms", "p99 (ms)"), ("p999_ms", "p99.9 (ms)"), ("max_ms", "max (ms)"),
            ("commit_p50_ms", "from COMMIT: p50 (ms)"), ("commit_p99_ms", "from COMMIT: p99 (ms)"),
            ("gaps", "seq gaps"),
            ("skipped_by_service", "skipped by service"), ("conflations", "gateway conflations"),
            ("server_cpu_pct", "gateway+service CPU %"), ("checkpoints", "checkpoints"),
            ("wal_bytes_per_row", "WAL bytes/row"), ("autovacuums", "autovacuum passes"),
            ("clean_runs", "clean runs"), ("limited", "limited by loadgen")]
    best = r.get("best")
    last = r["steps"][-1] if r.get("steps") else {}
    return title + (
        f"{r['clients']} WebSocket clients; latency = receive time − `inserted_at` "
        "(clock_timestamp() at INSERT, so it includes the rest of the feeder's transaction); "
        "\"from COMMIT\" = receive time − when the feeder sent the row's COMMIT (never less than "
        "commit → client; `stockfeed_feeder --commit_log`, `ws_loadgen --commit_log`). price_service and "
        "ws_gateway on core 1, feeder and ws_loadgen on core 0, PostgreSQL (fsync off) unpinned. "
        "Cells: median (min–max) over the runs of each step; a step is clean when most runs are.\n\n"
        "At 1,000 rows/s, one price per frame (goal: p99 < 20 ms):\n\n" +
        plain_table(cols, [r["latency_1000"]]) +
        "\n\nHighest sustained insert rate (`batch=1`; stop when a client gets < 95% of the rows, "
        "a gap, or p99 > 1 s): " +
        (f"**{best['rate']} rows/s**" if best else "none") +
        (f"; next step failed by {last.get('stop')}" if last.get("stop") else "") + "\n\n" +
        plain_table(cols + [("stop", "stopped by")], r.get("steps", [])) + "\n")


def machine_description():
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    model = sh("lscpu | sed -n 's/^Model name:[ ]*//p'")
    mem = sh("free -g | awk '/Mem:/{print $2}'")
    ws_version = sh("/usr/bin/python3 -c 'import websockets; print(websockets.__version__)'")
    ws_node = sh("node -p \"require('./tests/bench/peers/node_modules/ws/package.json').version\"")
    return (f"{model}, {sh('nproc')} cores, {mem} GiB RAM, {sh('uname -sr')}, "
            f"g++ {sh('g++ -dumpfullversion')}, node {sh('node --version')} + ws {ws_node}, "
            f"python3 websockets {ws_version}")


def update_doc(env, body, command):
    doc = env.root / "docs/benchmarks.md"
    begin, end = "<!-- BEGIN RESULTS (written by tests/bench/run_benchmarks.sh) -->", "<!-- END RESULTS -->"
    section = (f"{begin}\n## Latest results\n\n"
               f"- Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M %Z').strip()}\n"
               f"- Machine: {machine_description()}\n"
               f"- Command: `{command}`\n"
               f"- Server pinned to core {SERVER_CPU}, ws_loadgen (1 io thread) to core {LOADGEN_CPU}.\n\n"
               f"{body}\n{end}")
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text)
    print(f"updated {doc}")


# ---------------------------------------------------------------- main

class Env:
    def __init__(self, args):
        self.root = pathlib.Path(args.root).resolve()
        self.build_dir = pathlib.Path(args.build_dir).resolve()
        self.loadgen = pathlib.Path(args.loadgen or self.build_dir / "tests/bench/ws_loadgen")
        self.price_service = self.build_dir / "price_service/price_service"
        self.ws_gateway = self.build_dir / "ws_gateway/ws_gateway"
        self.feeder = self.build_dir / "price_service/stockfeed_feeder"
        self.grpc_loadgen = self.build_dir / "tests/bench/grpc_loadgen"
        self.fanout_floor = self.build_dir / "tests/bench/fanout_floor"
        self.factor = args.scale
        self.runs = max(1, args.runs)
        self.pg_rates = [int(x) for x in args.pg_rates.split(",") if x]
        self.baseline_price_service = (pathlib.Path(args.baseline_price_service).resolve()
                                       if args.baseline_price_service else None)
        self.baseline_ws_gateway = (pathlib.Path(args.baseline_ws_gateway).resolve()
                                    if args.baseline_ws_gateway else None)
        self.log_dir = self.build_dir / "bench-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.price_service_flags = ""
        if self.have_ours():
            out = subprocess.run([str(self.price_service), "--helpfull"], capture_output=True, text=True)
            self.price_service_flags = out.stdout + out.stderr

    def have_ours(self):
        return os.access(self.price_service, os.X_OK) and os.access(self.ws_gateway, os.X_OK)

    def scale(self, n):
        return max(1, round(n * self.factor))

    def dur(self, seconds):
        return max(2, round(seconds * min(1.0, self.factor)))


def quick(env, kinds):
    ok = True
    for kind in kinds:
        with ServerUnderTest(env, kind, rate=100) as srv:
            r = run_loadgen(env, srv, 50, duration=2, warmup=1, extra=("--require_clean",))
        good = r["exit_code"] == 0 and r["updates"] > 0 and r["seq_gaps"] == 0
        print(f"quick {kind}: {'PASS' if good else 'FAIL'} updates {r['updates']} "
              f"gaps {r['seq_gaps']} p99 {r['latency_us']['p99']} us")
        ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--loadgen", default="", help="ws_loadgen binary")
    ap.add_argument("--only", default="", help="comma list of ours,node,python")
    ap.add_argument("--scenarios", default="1,2,3,4,5,6,7,8")
    ap.add_argument("--scale", type=float, default=1.0, help="scale client counts and durations")
    ap.add_argument("--runs", type=int, default=3, help="runs of each scenario or step (median, min–max)")
    ap.add_argument("--pg-rates", default=",".join(map(str, PG_RATES)), help="scenario 7's ladder, rows/s")
    ap.add_argument("--baseline-price-service", default="",
                    help="scenario 8: also measure this (older) price_service binary's Subscribe")
    ap.add_argument("--baseline-ws-gateway", default="",
                    help="scenarios 1-5: also run ours with this (older) ws_gateway binary, as kind \"baseline\"")
    ap.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    ap.add_argument("--command", default="tests/bench/run_benchmarks.sh")
    args = ap.parse_args()
    env = Env(args)
    websocket_scenarios = set(args.scenarios.split(",")) - {"6", "8"}  # 6 and 8 are gRPC only
    if (args.quick or websocket_scenarios) and not os.access(env.loadgen, os.X_OK):
        sys.exit(f"missing {env.loadgen}; build the ws_loadgen target")

    kinds = [k for k in args.only.split(",") if k] or list(KINDS)
    if "ours" in kinds and not env.have_ours():
        if args.only:
            sys.exit(f"ours requested but {env.price_service} / {env.ws_gateway} are not built")
        print("ours: price_service/ws_gateway not built, skipping them")
        kinds.remove("ours")
    if env.baseline_ws_gateway:
        if not os.access(env.baseline_ws_gateway, os.X_OK):
            sys.exit(f"--baseline-ws-gateway: {env.baseline_ws_gateway} is not an executable")
        kinds.insert(kinds.index("ours") + 1 if "ours" in kinds else 0, BASELINE)
    if args.quick:
        if not args.only:  # ours when built, else the Python peer (no npm needed)
            kinds = ["ours"] if env.have_ours() else ["python"]
        sys.exit(0 if quick(env, kinds) else 1)

    results = {}
    for sid in args.scenarios.split(","):
        if sid == "1":
            results["1"] = with_floor(env, kinds, env.scale(10_000), lambda kind: scenario_idle(env, kind),
                                      "scenario 1 (idle 10k)")
        elif sid == "2":
            results["2"] = scenario_ladder(env, kinds)
        elif sid == "3":
            results["3"] = scenario_saturation(env, kinds)
            if "ours" in kinds:
                results["3"]["ours (batch)"] = scenario_saturation(env, ["ours"], batch=True)["ours"]
        elif sid in ("4", "5"):
            fn, name = (scenario_burst, "burst") if sid == "4" else (scenario_slow, "slow consumers")
            runs = repeated(env, kinds, lambda kind: fn(env, kind), f"scenario {sid} ({name})")
            results[sid] = {kind: summarize(r) for kind, r in runs.items()}
        elif sid == "6":
            print("== scenario 6 (gRPC)", flush=True)
            results["6"] = (summarize_rows([scenario_grpc(env) for _ in range(env.runs)]) if env.have_ours()
                            else {"skipped": "price_service not built"})
        elif sid == "8":
            results["8"] = ({row: summarize(runs) for row, runs in scenario_grpc_fanout(env).items()}
                            if os.access(env.price_service, os.X_OK) else {"skipped": "price_service not built"})
        elif sid == "7":
            print("== scenario 7 (PostgreSQL)", flush=True)
            try:
                results["7"] = (scenario_postgres(env) if env.have_ours()
                                else {"skipped": "price_service / ws_gateway not built"})
            except Exception as e:
                print(f"   error: {e}")
                results["7"] = {"error": str(e)[:300]}

    raw = env.log_dir / f"results-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    raw.write_text(json.dumps(results, indent=1))
    body = render(results, env)
    print("\n" + body)
    print(f"raw results: {raw}")
    if not args.no_doc:
        update_doc(env, body, args.command)


if __name__ == "__main__":
    main()
