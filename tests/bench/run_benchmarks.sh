#!/usr/bin/env bash
# Reproduces the benchmark tables in docs/benchmarks.md.
#
#   tests/bench/run_benchmarks.sh                      # everything, updates docs/benchmarks.md
#   tests/bench/run_benchmarks.sh --quick --build-dir build/dev   # seconds-long smoke run
#   tests/bench/run_benchmarks.sh --only=node,python --scenarios=2,3 --no-doc
#
# Options: --build-dir DIR (default build/release), --quick, --only=ours,node,python,
# --scenarios=1,...,8, --scale=F (client counts/durations), --runs=N (runs of each
# scenario or step, kinds alternating; default 3: median and min–max reported),
# --pg-rates=1000,... (scenario 7's ladder), --no-doc,
# --baseline-price-service=PATH (scenario 8: an older price_service measured beside this one),
# --baseline-ws-gateway=PATH (scenarios 1-5: ours again with an older ws_gateway, as "baseline"),
# --loadgen PATH (default <build-dir>/tests/bench/ws_loadgen).
# Builds with `cmake --preset release` when needed, installs the Node peer's
# dependencies with `npm ci`, then runs tests/bench/bench_driver.py.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir=""
quick=0
only=""
loadgen=""
pass=()
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --quick) quick=1; pass+=("$1"); shift ;;
    --only=*) only="${1#*=}"; pass+=("$1"); shift ;;
    --loadgen) loadgen="$2"; pass+=("--loadgen=$2"); shift 2 ;;
    *) pass+=("$1"); shift ;;
  esac
done

# Thousands of sockets on each side.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
if (( $(ulimit -n) < 20000 )); then echo "note: open-files limit is $(ulimit -n)" >&2; fi

if [[ -z "$build_dir" ]]; then
  build_dir="$root/build/release"
  if ((quick == 0)) || [[ ! -x "$build_dir/tests/bench/ws_loadgen" ]]; then
    (cd "$root" && { [[ -f build/release/build.ninja ]] || cmake --preset release; } &&
      cmake --build --preset release)
  fi
else
  build_dir="$(cd "$build_dir" && pwd)"
  if [[ -z "$loadgen" && ! -x "$build_dir/tests/bench/ws_loadgen" ]]; then
    cmake --build "$build_dir" --target ws_loadgen
  fi
fi

for tool in taskset /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
/usr/bin/python3 -c 'import websockets' 2>/dev/null ||
  { echo "missing Debian python3-websockets (apt-get install python3-websockets)" >&2; exit 2; }

# The Node peer, unless this run cannot need it.
needs_node=1
if ((quick)) && [[ "$only" != *node* ]]; then needs_node=0; fi
if [[ -n "$only" && "$only" != *node* ]]; then needs_node=0; fi
if ((needs_node)) && [[ ! -d "$root/tests/bench/peers/node_modules/ws" ]]; then
  (cd "$root/tests/bench/peers" && npm ci --no-audit --no-fund --loglevel=error)
fi

exec /usr/bin/python3 "$root/tests/bench/bench_driver.py" --root "$root" --build-dir "$build_dir" \
  --command "tests/bench/run_benchmarks.sh${pass[*]:+ ${pass[*]}}" "${pass[@]}"
