#!/usr/bin/env bash
# cpp_example.sh BUILD_DIR: stages `cmake --install BUILD_DIR`, builds
# docs/examples/cpp as a separate project against it (find_package(stockfeed)),
# then runs it through run_example.py like the other gRPC examples.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build_dir="$1"
work="$(mktemp -d "${STOCKFEED_TEST_DIR:-/tmp}/example-cpp-XXXXXX")"
trap 'rm -rf "$work/stage" "$work/build"' EXIT
cmake --install "$build_dir" --prefix "$work/stage" >"$work/install.log"
cmake -S "$here/../../docs/examples/cpp" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/stage" \
  >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
exec /usr/bin/python3 "$here/run_example.py" grpc -- "$work/build/stockfeed_consumer" '{target}'
