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
import signal
import socket
import subprocess
import sys
import time

SERVER_CPU = "1"   # taskset core for the server under test
LOADGEN_CPU = "0"  # taskset core for ws_loadgen
KINDS = ("ours", "node", "python")
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
        if self.kind == "ours":
            grpc_port, ws_port = free_port(), free_port()
            ps = self._spawn([str(self.env.price_service), f"--listen=127.0.0.1:{grpc_port}",
                              f"--rate={self.rate}", "--seed=1"] + tick, "price_service")
            wait_for_port(grpc_port, ps)
            gw = self._spawn([str(self.env.ws_gateway), f"--listen=127.0.0.1:{ws_port}",
                              f"--upstream=127.0.0.1:{grpc_port}", "--threads=1"], "ws_gateway")
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


# ---------------------------------------------------------------- scenarios

def scenario_idle(env, kind):
    n = env.scale(10_000)
    with ServerUnderTest(env, kind, rate=1) as srv:
        r = run_loadgen(env, srv, n, duration=env.dur(10), connect_rate=2000)
    s = r["servers"][0]
    per_conn = (s["rss_connected_kib"] - s["rss_start_kib"]) * 1024 / max(1, r["opened"])
    return {"clients": r["opened"], "rss_per_conn_bytes": round(per_conn),
            "rss_mib": round(s["rss_connected_kib"] / 1024, 1),
            "cpu_pct": round(100 * r["server_cpu_s"] / r["measured_s"], 1),
            "p99_ms": r["latency_us"]["p99"] / 1000, "failed": r["failed"],
            "gaps": r["seq_gaps"], "limited": r["limited_by_loadgen"]}


def scenario_ladder(env, kind):
    rows = {}
    for rate in (10, 50, 100):
        with ServerUnderTest(env, kind, rate=rate) as srv:
            r = run_loadgen(env, srv, env.scale(1000), duration=env.dur(10))
        rows[f"{rate}/s"] = {"p50_ms": r["latency_us"]["p50"] / 1000,
                             "p99_ms": r["latency_us"]["p99"] / 1000,
                             "p999_ms": r["latency_us"]["p999"] / 1000,
                             "deliveries_per_s": round(r["updates_per_s"]),
                             "cpu_pct": round(100 * r["server_cpu_s"] / r["measured_s"], 1),
                             "gaps": r["seq_gaps"], "limited": r["limited_by_loadgen"]}
    return rows


def scenario_saturation(env, kind, batch=False):
    best, steps = None, []
    for rate in (50, 100, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000, 5000):
        for attempt in range(2):  # a failed step gets one retry: a GC pause is not saturation
            with ServerUnderTest(env, kind, rate=rate, batch=batch) as srv:
                r = run_loadgen(env, srv, env.scale(1000), duration=env.dur(6))
            why = loss(r, rate) or (f"p99 {r['latency_us']['p99'] / 1000:.1f} ms"
                                    if r["latency_us"]["p99"] > P99_LIMIT_US else None)
            if not why:
                break
        steps.append({"rate": rate, "deliveries_per_s": round(r["updates_per_s"]),
                      "p99_ms": r["latency_us"]["p99"] / 1000, "stop": why,
                      "limited": r["limited_by_loadgen"]})
        if why:
            break
        best = {"rate": rate, "deliveries_per_s": round(r["updates_per_s"]),
                "per_cpu_s": round(r["updates"] / max(1e-9, r["server_cpu_s"])),
                "p99_ms": r["latency_us"]["p99"] / 1000, "limited": r["limited_by_loadgen"]}
        if r["limited_by_loadgen"]:
            break  # further steps would measure the load generator
    return {"best": best, "stopped_by": steps[-1]["stop"] or "loadgen limit", "steps": steps}


def scenario_burst(env, kind):
    if kind == "ours" and "tick_ms" not in env.price_service_flags:
        return {"skipped": "price_service has no --tick_ms (burst) flag"}
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


def scenario_grpc(env):
    client = next(env.build_dir.rglob("grpc_loadgen"), None)
    if client is None or not os.access(client, os.X_OK) or not env.price_service.exists():
        return {"skipped": "no gRPC load client (grpc_loadgen) in the build"}
    rows = {}
    for subscribers in (1, 50):
        port = free_port()
        srv = ServerUnderTest(env, "ours", rate=1_000_000)
        ps = srv._spawn([str(env.price_service), f"--listen=127.0.0.1:{port}",
                         "--rate=1000000", "--seed=1"], "price_service_grpc")
        try:
            wait_for_port(port, ps)
            out = subprocess.run(["taskset", "-c", LOADGEN_CPU, str(client),
                                  f"--target=127.0.0.1:{port}", f"--subscribers={subscribers}",
                                  f"--duration={env.dur(10)}"],
                                 capture_output=True, text=True, timeout=300)
            line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
            rows[f"{subscribers} sub"] = json.loads(line[7:]) if line else {"error": out.stderr[-300:]}
        finally:
            srv.__exit__(None, None, None)
    return rows


# ---------------------------------------------------------------- reporting

def ratio(ours, node):
    if not isinstance(ours, (int, float)) or not isinstance(node, (int, float)) or not node:
        return "–"
    return f"{ours / node:.2f}×"


def fmt(v):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def table(title, metrics, results, note=""):
    """results: kind -> dict (or {"skipped": why}). One row per metric."""
    kinds = [k for k in KINDS if k in results]
    lines = [f"### {title}", ""] + ([note, ""] if note else [])
    lines.append("| metric | " + " | ".join(kinds) + " | ours vs node |")
    lines.append("|---" * (len(kinds) + 2) + "|")
    for key, label in metrics:
        row = [fmt(results[k].get(key)) if "skipped" not in results[k] else "skipped" for k in kinds]
        ours = results.get("ours", {}).get(key)
        node = results.get("node", {}).get(key)
        lines.append(f"| {label} | " + " | ".join(row) + f" | {ratio(ours, node)} |")
    for k in kinds:
        if "skipped" in results[k]:
            lines.append(f"\n{k}: skipped — {results[k]['skipped']}")
        elif "error" in results[k]:
            lines.append(f"\n{k}: error — {results[k]['error']}")
    return "\n".join(lines) + "\n"


def render(all_results, env):
    out = []
    r = all_results
    if "1" in r:
        out.append(table("1. 10,000 idle clients, 1 update/s", [
            ("clients", "clients connected"), ("rss_per_conn_bytes", "RSS per connection (bytes)"),
            ("rss_mib", "RSS with all connected (MiB)"), ("cpu_pct", "server CPU (% of a core)"),
            ("p99_ms", "p99 latency (ms)"), ("gaps", "seq gaps"), ("limited", "limited by loadgen")], r["1"]))
    if "2" in r:
        for rate in ("10/s", "50/s", "100/s"):
            sub = {k: v.get(rate, v) for k, v in r["2"].items()}
            out.append(table(f"2. Latency ladder: 1,000 clients at {rate}", [
                ("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)"), ("p999_ms", "p99.9 (ms)"),
                ("deliveries_per_s", "deliveries/s"), ("cpu_pct", "server CPU (%)"),
                ("gaps", "seq gaps"), ("limited", "limited by loadgen")], sub))
    if "3" in r:
        sub = {k: (dict(v["best"] or {}, stopped_by=v["stopped_by"]) if "best" in v else v)
               for k, v in r["3"].items()}
        out.append(table("3. Saturation: 1,000 clients, rate raised until p99 > 100 ms or loss", [
            ("rate", "highest clean rate (updates/s)"), ("deliveries_per_s", "max deliveries/s"),
            ("per_cpu_s", "deliveries per server CPU-second"), ("p99_ms", "p99 at that rate (ms)"),
            ("stopped_by", "next step failed by"), ("limited", "limited by loadgen")], sub))
    if "4" in r:
        out.append(table("4. Burst: 5,000 clients, 200 back-to-back updates every second", [
            ("drain_ms_median", "drain time, median (ms)"), ("drain_ms_max", "drain time, max (ms)"),
            ("p999_ms", "p99.9 latency (ms)"), ("deliveries_per_s", "deliveries/s"),
            ("gaps", "seq gaps"), ("closed", "closed by server"), ("limited", "limited by loadgen")],
            r["4"], note="Drain time = the highest latency seen in each one-second interval "
                         "(the last update of a burst reaching the last client)."))
    if "5" in r:
        out.append(table("5. Slow consumers: 10 of 1,000 clients stop reading for 30 s, 100 updates/s", [
            ("healthy_p99_ms", "healthy clients' p99 (ms)"), ("healthy_gaps", "healthy seq gaps"),
            ("healthy_closed", "healthy closed"), ("rss_start_mib", "server RSS before (MiB)"),
            ("rss_peak_mib", "server RSS peak (MiB)"), ("stalled_closed", "stalled clients dropped"),
            ("stalled_missing", "updates stalled clients missed"), ("limited", "limited by loadgen")], r["5"]))
    if "6" in r:
        out.append("### 6. gRPC: price_service → subscribers\n\n" +
                   ("skipped — " + r["6"]["skipped"] if "skipped" in r["6"] else
                    "```\n" + json.dumps(r["6"], indent=1) + "\n```") + "\n")
    if "7" in r:
        out.append("### 7. PostgreSQL source\n\nskipped — " + r["7"]["skipped"] + "\n")
    return "\n".join(out)


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
        self.factor = args.scale
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
    ap.add_argument("--scenarios", default="1,2,3,4,5,6,7")
    ap.add_argument("--scale", type=float, default=1.0, help="scale client counts and durations")
    ap.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    ap.add_argument("--command", default="tests/bench/run_benchmarks.sh")
    args = ap.parse_args()
    env = Env(args)
    if not os.access(env.loadgen, os.X_OK):
        sys.exit(f"missing {env.loadgen}; build the ws_loadgen target")

    kinds = [k for k in args.only.split(",") if k] or list(KINDS)
    if "ours" in kinds and not env.have_ours():
        if args.only:
            sys.exit(f"ours requested but {env.price_service} / {env.ws_gateway} are not built")
        print("ours: price_service/ws_gateway not built, skipping them")
        kinds.remove("ours")
    if args.quick:
        if not args.only:  # ours when built, else the Python peer (no npm needed)
            kinds = ["ours"] if env.have_ours() else ["python"]
        sys.exit(0 if quick(env, kinds) else 1)

    scenarios = {
        "1": ("idle 10k", scenario_idle), "2": ("latency ladder", scenario_ladder),
        "3": ("saturation", scenario_saturation), "4": ("burst", scenario_burst),
        "5": ("slow consumers", scenario_slow),
    }
    results = {}
    for sid in args.scenarios.split(","):
        if sid in scenarios:
            name, fn = scenarios[sid]
            results[sid] = {}
            for kind in kinds:
                print(f"== scenario {sid} ({name}): {kind}", flush=True)
                try:
                    results[sid][kind] = fn(env, kind)
                except Exception as e:  # one broken server must not lose the others' numbers
                    print(f"   error: {e}")
                    results[sid][kind] = {"error": str(e)[:200]}
            if sid == "3" and "ours" in kinds:
                print("== scenario 3 (saturation): ours, batch=1", flush=True)
                results["3b"] = scenario_saturation(env, "ours", batch=True)
        elif sid == "6":
            print("== scenario 6 (gRPC)", flush=True)
            results["6"] = scenario_grpc(env) if env.have_ours() else {"skipped": "price_service not built"}
        elif sid == "7":
            results["7"] = {"skipped": "PostgreSQL scenario not written yet"}

    if "3b" in results:  # show batch mode as its own column-less note
        results["3"]["ours (batch)"] = results.pop("3b")
    body = render({k: {kk: vv for kk, vv in v.items() if kk in KINDS} if k not in ("6", "7") else v
                   for k, v in results.items()}, env)
    if "3" in results and "ours (batch)" in results["3"]:
        b = results["3"]["ours (batch)"]
        body += (f"\nours with `batch=1`: {json.dumps(b['best'])}, next step failed by {b['stopped_by']}\n")
    print("\n" + body)
    raw = env.log_dir / f"results-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    raw.write_text(json.dumps(results, indent=1))
    print(f"raw results: {raw}")
    if not args.no_doc:
        update_doc(env, body, args.command)


if __name__ == "__main__":
    main()
