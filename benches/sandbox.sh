#!/usr/bin/env bash
# Sandbox overhead: a 1 GiB file read sandboxed vs in-process (target: within
# 1.2x), and opening an image + reading a small file (target: under 5 ms
# added). Runs worker/examples/sandbox_bench.rs in release mode.
#
# usage: benches/sandbox.sh [WORKDIR] [ROUNDS]     (needs mke2fs)
# The ~1.1 GiB ext4 image is made in WORKDIR (default /tmp/fsimage-bench-sandbox)
# with mke2fs -d, never committed. Page cache warm (best of ROUNDS).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/fsimage-bench-sandbox}
rounds=${2:-5}
mkdir -p "$work"
img=$work/ext4-1g.img
if [ ! -f "$img" ]; then
  rm -rf "$work/tree" && mkdir -p "$work/tree/boot"
  head -c 1073741824 /dev/urandom > "$work/tree/big.bin"
  echo "menuentry 'bench' { linux /boot/vmlinuz }" > "$work/tree/boot/grub.cfg"
  mke2fs -F -q -t ext4 -d "$work/tree" "$img" 1200M
  rm -rf "$work/tree"
fi
cd "$here"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
cargo build --release --workspace -q
cargo build --release -q -p fsimage-worker --example sandbox_bench
# The example finds the plugins and the worker one level up from examples/.
"$CARGO_TARGET_DIR/release/examples/sandbox_bench" "$img" /big.bin /boot/grub.cfg "$rounds"
# A one-shot CLI run, worker start included, if hyperfine is installed.
if command -v hyperfine >/dev/null; then
  cat=$CARGO_TARGET_DIR/release/fsimage-cat
  hyperfine -N -w 10 -r 200 "$cat $img /boot/grub.cfg" "$cat --no-sandbox $img /boot/grub.cfg"
fi
