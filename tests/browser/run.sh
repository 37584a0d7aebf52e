#!/usr/bin/env bash
# Browser tests of the dashboard: installs playwright-core (no browser download; Debian's
# chromium is used), builds web/ (vendors lightweight-charts), then runs every test file.
# Needs STOCKFEED_PRICE_SERVICE and STOCKFEED_WS_GATEWAY (or binaries under build/).
# Exit code = test result.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.stockfeed-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules/playwright-core || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
../../web/build.sh

# One file at a time: the 2-core CI machine runs a browser plus two servers per file.
if [[ $# -eq 0 ]]; then set -- test/*.test.js; fi
exec node --test --test-concurrency=1 --test-reporter=spec "$@"
