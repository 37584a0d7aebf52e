#!/usr/bin/env bash
# Installs the dashboard's npm dependency (lightweight-charts, pinned in package-lock.json)
# and copies its standalone bundle into vendor/, which the gateway serves with the page.
# Idempotent: skips `npm ci` while node_modules matches package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"

bundle=node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js
stamp=node_modules/.stockfeed-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)

if [[ ! -f "$bundle" || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  # --ignore-scripts: the package needs no install scripts; do not run any.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

mkdir -p vendor
for f in "$bundle" node_modules/lightweight-charts/LICENSE node_modules/lightweight-charts/NOTICE; do
  [[ -f "$f" ]] || continue
  dest=vendor/$(basename "$f")
  [[ "$f" == "$bundle" ]] || dest=vendor/lightweight-charts.$(basename "$f")
  cmp -s "$f" "$dest" || cp "$f" "$dest"
done
test -s vendor/lightweight-charts.standalone.production.js
