#!/usr/bin/env bash
# with_npm.sh DIR CMD...: installs DIR's locked npm dependencies (npm ci, only
# when package-lock.json changed), then runs CMD.
set -euo pipefail
dir="$1"
shift
stamp="$dir/node_modules/.stockfeed-lock.sha256"
lock_hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi
exec "$@"
