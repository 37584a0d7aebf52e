#!/usr/bin/env bash
# Builds and runs the whole system: price_service + ws_gateway, dashboard at
# http://127.0.0.1:8080. Ctrl-C stops everything.
#
#   deploy/run.sh              simulator (default)
#   deploy/run.sh --postgres   a throwaway local PostgreSQL under build/pg-demo,
#                              the feeder writing 20 prices/s, price_service reading them
#
# Extra flags for each process: PRICE_SERVICE_ARGS="--rate=50" GATEWAY_ARGS="--threads=2".
set -euo pipefail
cd "$(dirname "$0")/.."

mode=simulator
[[ "${1:-}" == "--postgres" ]] && mode=postgres

deploy/install-deps.sh
web/build.sh
cmake --preset release >/dev/null
cmake --build --preset release --target price_service ws_gateway stockfeed_feeder stockfeed_tail

bin=build/release/price_service
pids=()
cleanup() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ "$mode" == postgres ]] && deploy/postgres/local_postgres.sh stop build/pg-demo >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

service_args=()
if [[ "$mode" == postgres ]]; then
  database_url=$(deploy/postgres/local_postgres.sh start build/pg-demo)
  echo "PostgreSQL: $database_url"
  service_args=(--source=postgres --database_url="$database_url")
  "$bin/stockfeed_feeder" --database_url="$database_url" --rate=20 &
  pids+=($!)
fi

# shellcheck disable=SC2086 # the *_ARGS variables are flag lists
"$bin/price_service" "${service_args[@]}" ${PRICE_SERVICE_ARGS:-} &
pids+=($!)
build/release/ws_gateway/ws_gateway --web_root="$PWD/web" ${GATEWAY_ARGS:-} &
pids+=($!)

echo "Dashboard: http://127.0.0.1:8080   (Ctrl-C to stop)"
wait -n "${pids[@]}"
