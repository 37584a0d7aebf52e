#!/usr/bin/env bash
# Builds everything and runs every test: unit, integration (real binaries),
# PostgreSQL (a throwaway real server), browser (Debian's Chromium), the
# reliability suite (adversarial clients, faults, soak, libFuzzer targets)
# and the benchmark smoke run; then a ThreadSanitizer stage
# (docs/reliability.md#sanitizers). Exit code = result.
# Extra arguments go to the dev ctest run, e.g. deploy/test.sh -L integration;
# the TSan stage runs on a full run only (no arguments), or when
# STOCKFEED_SANITIZERS=1; STOCKFEED_SANITIZERS=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
web/build.sh
cmake --preset dev
cmake --build --preset dev
ctest --preset dev --parallel 2 "$@"

default_sanitizers=0
(($# == 0)) && default_sanitizers=1
[[ ${STOCKFEED_SANITIZERS:-$default_sanitizers} == 1 ]] || exit 0

# TSan over the unit tests and the gateway's integration tests (shards,
# sessions, hub fan-out and the upstream client's reconnect and resume across
# real threads and sockets, with both servers built with TSan). Only what
# those tests run is built.
cmake --preset tsan
cmake --build --preset tsan --target ws_gateway price_service tests/unit/all gateway_integration_tests
ctest --preset tsan --parallel 2 -L unit
ctest --preset tsan --parallel 2 -R '^(GatewayTest|GatewayUpstreamTest)\.'
