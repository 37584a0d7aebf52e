#!/usr/bin/env bash
# Builds everything and runs every test: unit, integration (real binaries),
# PostgreSQL (a throwaway real server), browser (Debian's Chromium) and the
# benchmark smoke run. Exit code = result. Extra arguments go to ctest,
# e.g. deploy/test.sh -L integration.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
web/build.sh
cmake --preset dev
cmake --build --preset dev
ctest --preset dev --parallel 2 "$@"
