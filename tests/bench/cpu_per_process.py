#!/usr/bin/python3
"""CPU seconds per process while scenario 7 runs (docs/benchmarks.md, "Issue #16").

Reads every process's CPU time from /proc every 0.5 s until SIGTERM/SIGINT,
then prints (and writes to OUT as JSON), for each stretch in which a
stockfeed_feeder ran, the CPU seconds each process group used in it, keyed by
the feeder's --rate. PostgreSQL backends are named by their application_name
(asked of the throwaway cluster the driver started).

    tests/bench/cpu_per_process.py OUT & sampler=$!
    tests/bench/bench_driver.py --root . --build-dir build/release --scenarios=7 --pg-rates=100000 --no-doc
    kill -TERM $sampler; wait $sampler
"""
import collections, json, os, re, signal, subprocess, sys, time
out = sys.argv[1]
tick = os.sysconf("SC_CLK_TCK")
samples = []  # (t, {pid: (comm, cmdline, cpu_s)}, the running feeder's --rate or None)
stop = False
def handler(*_):
    global stop; stop = True
signal.signal(signal.SIGTERM, handler); signal.signal(signal.SIGINT, handler)
apps = {}  # postgres backend pid -> application_name
def learn_apps(d):
    for pid, (comm, cmd, cpu) in d.items():
        m = re.search(r"postgres -D (\S+)/data", cmd)
        if not m: continue
        base = m.group(1)
        try:
            port = open(base + "/port").read().strip()
            outp = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-h", base, "-p", port, "-U", "postgres", "-d", "postgres",
                                   "-tAc", "select pid, application_name, backend_type from pg_stat_activity"],
                                  capture_output=True, text=True, timeout=5).stdout
        except Exception: continue
        for line in outp.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[0].isdigit():
                apps[int(parts[0])] = parts[1] or parts[2]
def group_of(pid, comm, cmd):
    if comm == "postgres":
        return "postgres: " + apps.get(pid, "other (server processes, autovacuum)")
    return comm
def snap():
    d = {}; feeder = None
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try:
            with open(f"/proc/{pid}/stat") as f: st = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f: cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError: continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        if comm == "stockfeed_feede":
            m = re.search(r"--rate=(\d+)", cmd)
            if m: feeder = m.group(1)
        d[int(pid)] = (comm, cmd, cpu)
    return d, feeder
n = 0
while not stop:
    d, feeder = snap(); samples.append((time.time(), d, feeder))
    if feeder and n % 4 == 0: learn_apps(d)
    n += 1; time.sleep(0.5)
# Windows: stretches of samples in which the same feeder (its --rate) ran.
windows, cur = [], []
for s in samples:
    if cur and s[2] != cur[0][2]: windows.append(cur); cur = []
    if s[2]: cur.append(s)
if cur: windows.append(cur)
res = []
for w in windows:
    first, last = w[0], w[-1]
    per = collections.Counter()
    for pid, (comm, cmd, cpu) in last[1].items():
        c0 = first[1].get(pid, (comm, cmd, 0.0))[2] if pid in first[1] else 0.0
        per[group_of(pid, comm, cmd)] += cpu - c0
    res.append({"rate": first[2], "seconds": round(last[0] - first[0], 1), "cpu_s": {k: round(v, 2) for k, v in per.most_common() if v > 0.05}})
with open(out, "w") as f: json.dump(res, f, indent=1)
print(json.dumps(res, indent=1))
