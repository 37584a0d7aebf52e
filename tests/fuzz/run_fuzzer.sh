#!/usr/bin/env bash
# Runs one libFuzzer target: every input of its checked-in corpus first
# (seeds and every former crash input, so a fixed bug stays fixed), then new
# inputs for STOCKFEED_FUZZ_SECONDS (default 25). New corpus entries go to a
# scratch directory, never into the repository; a crash input is written to
# STOCKFEED_FUZZ_ARTIFACTS (default ./fuzz-artifacts) and named in the
# output: copy it into the corpus with the fix.
# STOCKFEED_FUZZ_SEED (default 1) fixes the random walk, so the suite's short
# run explores the same inputs each time (a red CI is a regression, not luck);
# STOCKFEED_FUZZ_SEED=0 lets libFuzzer pick a new seed for exploring runs.
#   run_fuzzer.sh FUZZER CORPUS_DIR [extra libFuzzer flags…]
set -euo pipefail
fuzzer=$1 corpus=$2
shift 2
seconds=${STOCKFEED_FUZZ_SECONDS:-25}
seed=${STOCKFEED_FUZZ_SEED:-1}
artifacts=${STOCKFEED_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
if [[ ! -x $fuzzer ]]; then
  echo "run_fuzzer: $fuzzer not built: cmake --preset fuzz && cmake --build --preset fuzz" >&2
  exit 1
fi
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dict=$(dirname "$0")/$(basename "$corpus").dict
dict_flag=()
[[ -f $dict ]] && dict_flag=(-dict="$dict")
# -timeout: one input taking seconds is a finding (a hang) too.
exec "$fuzzer" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict_flag[@]}" "$@" "$scratch" "$corpus"
