#!/usr/bin/env bash
# CI smoke: builds every fuzz target (stable toolchain, no sanitizer) and
# runs each for a short time (default 20 s) from its committed seeds.
# Fails on the first crash, hang (-timeout=10) or out-of-memory.
#
#   fuzz/smoke.sh [SECONDS]
#
# Needs cargo-fuzz (installed here if missing). .ci/run calls it after the
# tests; about 4 min end to end on a 2-core machine with a warm build, a few
# more cold (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
mkdir -p artifacts
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
start=$(date +%s)
cargo fuzz build -s none
built=$(date +%s)
targets=$(cargo fuzz list)
for t in $targets; do
  echo "== $t ($secs s)"
  mkdir -p "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  status=0
  ./run.sh "$t" "$secs" none > "artifacts/smoke-$t.log" 2>&1 || status=$?
  grep -a -E "DONE|panicked|ERROR|SUMMARY" "artifacts/smoke-$t.log" || true
  after=$(ls "artifacts/$t" | wc -l)
  if [ "$status" != 0 ] || [ "$after" != "$before" ]; then
    echo "FAILED: $t (exit $status; log artifacts/smoke-$t.log)" >&2
    exit 1
  fi
done
end=$(date +%s)
echo "smoke: build $((built - start)) s, runs $((end - built)) s, total $((end - start)) s"
