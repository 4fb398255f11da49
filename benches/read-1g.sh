#!/usr/bin/env bash
# Reading one 1 GiB contiguous file out of an ext4 image: fsimage-cat
# (sandboxed, the default, and --no-sandbox) against the physical limit (a
# plain pread of the same bytes, by dd) and the peers: debugfs, The Sleuth
# Kit's icat, grub-fstest, 7-Zip.
#
# usage: benches/read-1g.sh [WORKDIR]      (needs: mke2fs, debugfs, hyperfine;
#        optional: icat (sleuthkit), grub-fstest (grub-common), 7zz (7zip))
# The image is made in WORKDIR (default /tmp/fsimage-bench), ~1.1 GiB; page
# cache warm for every tool (hyperfine warm-up runs), output to /dev/null.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/fsimage-bench}
mkdir -p "$work"
img=$work/ext4-1g.img
if [ ! -f "$img" ]; then
  rm -rf "$work/tree" && mkdir -p "$work/tree"
  head -c 1073741824 /dev/urandom > "$work/tree/big.bin"
  echo "bench" > "$work/tree/small.txt"
  mke2fs -F -q -t ext4 -d "$work/tree" "$img" 1200M
  rm -rf "$work/tree"
fi
(cd "$here" && cargo build --release --workspace -q)
bin=$here/target/release
# Where the file's bytes start: the pread baseline reads 1 GiB from there.
bs=$(dumpe2fs -h "$img" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /,"",$2); print $2}')
first=$(debugfs -R "bmap /big.bin 0" "$img" 2>/dev/null)
ino=$(debugfs -R "stat /big.bin" "$img" 2>/dev/null | awk '/^Inode:/ {print $2; exit}')
echo "block size $bs, first physical block $first, inode $ino"
cmds=(
  "dd if=$img of=/dev/null bs=1M iflag=skip_bytes,count_bytes skip=$((first * bs)) count=1073741824 status=none"
  "$bin/fsimage-cat $img /big.bin"
  "$bin/fsimage-cat --no-sandbox $img /big.bin"
  "debugfs -R 'cat /big.bin' $img"
)
names=(pread fsimage-cat fsimage-cat-no-sandbox debugfs)
if command -v icat >/dev/null; then cmds+=("icat $img $ino"); names+=(icat); fi
if command -v grub-fstest >/dev/null; then cmds+=("grub-fstest $img cat /big.bin"); names+=(grub-fstest); fi
if command -v 7zz >/dev/null; then cmds+=("7zz e -so $img big.bin"); names+=(7zz); fi
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
# hyperfine sends each command's output to /dev/null itself.
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-markdown "$work/read-1g.md" "${args[@]}"
cat "$work/read-1g.md"
# Open an image and read a small file: latency, sandboxed vs not.
hyperfine -N --warmup 3 --runs 30 \
  -n open+small "$bin/fsimage-cat $img /small.txt" \
  -n open+small-no-sandbox "$bin/fsimage-cat --no-sandbox $img /small.txt"
