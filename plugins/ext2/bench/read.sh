#!/bin/sh
# Benchmark (not a test): read a 1 GiB contiguous file out of an ext4 image
# made by mke2fs -d, through the plugin's extent map and `read`, against a
# plain pread (dd) of the same bytes, debugfs -R cat and TSK icat.
# usage: plugins/ext2/bench/read.sh [WORKDIR]   (needs ~2.2 GB free)
set -eu
W=${1:-${CARGO_TARGET_DIR:-target}/ext2-bench}
mkdir -p "$W/tree"
[ -f "$W/tree/big" ] || head -c 1073741824 /dev/urandom > "$W/tree/big"
[ -f "$W/img" ] || mke2fs -F -q -t ext4 -d "$W/tree" "$W/img" 1200M
cargo build -q --release -p fsimage-plugin-ext2 --example ext2cat
BIN=${CARGO_TARGET_DIR:-target}/release/examples/ext2cat
# The file's first block and length, for the plain pread baseline.
START=$(debugfs -R "bmap /big 0" "$W/img" 2>/dev/null)
t() { name=$1; shift; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$name $(echo "$e - $s" | bc)"; }
cat "$W/img" > /dev/null   # warm the page cache: measure the readers, not the disk
for i in 1 2 3; do
  t "pread(dd)" dd if="$W/img" bs=1M iflag=skip_bytes,count_bytes skip=$((START * 4096)) count=1073741824 status=none
  t "ext2-extents" "$BIN" --extents "$W/img" /big
  t "ext2-read" "$BIN" --read "$W/img" /big
done
t "debugfs-cat" debugfs -R "cat /big" "$W/img"
INO=$(debugfs -R "stat /big" "$W/img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
if command -v icat > /dev/null; then t "tsk-icat" icat "$W/img" "$INO"; fi
if command -v grub-fstest > /dev/null; then t "grub-fstest" grub-fstest "$W/img" cat /big; fi
"$BIN" "$W/img" /big | cmp - "$W/tree/big" && echo "content ok"
