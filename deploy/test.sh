#!/usr/bin/env bash
# Builds everything and runs every test: unit, integration (real binaries),
# PostgreSQL (a throwaway real server), browser (Debian's Chromium), the
# reliability suite (adversarial clients, faults, soak, libFuzzer targets)
# and the benchmark smoke run; then a ThreadSanitizer stage and an
# AddressSanitizer+UBSan stage (docs/reliability.md#sanitizers). Exit code = result. Extra arguments go to
# the dev ctest run, e.g. deploy/test.sh -L integration; the sanitizer stages
# run on a full run only (no arguments), or when STOCKFEED_SANITIZERS=1;
# STOCKFEED_SANITIZERS=0 skips them.
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

# TSan over the unit tests and the integration tests of the concurrent parts,
# with both servers built with TSan: the gateway's shards, sessions, SSE and
# frame socket, the upstream client's reconnect, resume and failover, the
# service's hub, pacer and streams, and shutdown on signals. Only what those
# tests run is built.
tsan_integration=(gateway_integration_tests protocol_integration_tests sse_integration_tests frame_socket_tests
  shard_tests upstream_failover_tests lifecycle_signals_tests price_service_integration_tests subscribe_streams_tests)
cmake --preset tsan
cmake --build --preset tsan --target ws_gateway price_service tests/unit/all "${tsan_integration[@]}"
ctest --preset tsan --parallel 2 -L unit
ctest --preset tsan --parallel 2 -R '^(GatewayTest|GatewayUpstreamTest|ProtocolTest|SseTest|FrameSocketTest|SendBatchTest|ShardTest|PassWrites/StalledReaderTest|UpstreamFailoverTest|LifecycleSignalsTest|PriceService[A-Za-z]*|PacedStreamsTest|SlowStreamTest|SubscribeStreamsTest)\.'

# ASan+UBSan over the unit tests and the integration label (both servers and
# the client tools built with ASan+UBSan); STOCKFEED_ASAN=0 leaves it out.
# A sanitizer report
# fails the stage even where the test passed (a server's leak report at exit,
# say): ASan and LeakSanitizer write every process's report to
# build/asan/sanitizer-reports (the preset's log_path), UBSan writes to the
# server logs under test-logs/.
[[ ${STOCKFEED_ASAN:-1} == 1 ]] || exit 0
asan_reports=build/asan/sanitizer-reports
cmake --preset asan
cmake --build --preset asan --target tests/unit/all loadgen_unit_tests tests/integration/all tests/security/all
rm -rf "$asan_reports" build/asan/tests/*/test-logs
mkdir -p "$asan_reports"
asan_status=0
ctest --preset asan --parallel 2 -L 'unit|integration' || asan_status=$?
mapfile -t reported < <(grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
  "$asan_reports" build/asan/tests/*/test-logs 2>/dev/null || true)
for report in "${reported[@]}"; do
  echo "=== sanitizer report: $report"
  cat "$report"
done
((${#reported[@]} == 0)) || { echo "ASan/UBSan stage: ${#reported[@]} report(s)"; exit 1; }
exit "$asan_status"
