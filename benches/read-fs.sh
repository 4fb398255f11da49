#!/usr/bin/env bash
# Reading one 1 GiB file out of an ISO 9660, UFS or ZFS image: fsimage-cat
# (sandboxed, the default, and --no-sandbox) against the physical limit (a
# plain pread of 1 GiB of the same image, by dd) and the peers that read the
# format: grub-fstest, The Sleuth Kit's icat, 7-Zip. (ext4: read-1g.sh.
# ReiserFS: no image of that size can be made here, mkreiserfs writes no
# files and this kernel has no reiserfs.)
#
# usage: benches/read-fs.sh iso9660|ufs1|ufs2|zfs [WORKDIR]
#   needs hyperfine and the format's maker: xorriso (iso9660), makefs (ufs),
#   zfs-fuse's zpool with its daemon runnable as root (zfs); the peers are
#   optional. Images (~1.1 GiB each) go to WORKDIR (default
#   /tmp/fsimage-bench); page cache warm (warm-up run), output to /dev/null.
set -euo pipefail
fs=${1:?usage: read-fs.sh iso9660|ufs1|ufs2|zfs [WORKDIR]}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-/tmp/fsimage-bench}
mkdir -p "$work"
src=$work/big.bin
[ -f "$src" ] || head -c 1073741824 /dev/urandom > "$src"
img=$work/$fs-1g.img
tree=$work/tree-$fs
fresh_tree() { rm -rf "$tree" && mkdir -p "$tree" && cp "$src" "$tree/big.bin"; }
if [ ! -f "$img" ]; then
  case $fs in
    iso9660)
      fresh_tree
      xorriso -as mkisofs -quiet -R -J -o "$img" "$tree" ;;
    ufs1|ufs2)
      fresh_tree
      makefs -t ffs -o version="${fs#ufs}" -s 1200m "$img" "$tree" ;;
    zfs)
      pgrep -x zfs-fuse >/dev/null || { zfs-fuse && sleep 1; }
      truncate -s 1300M "$img"
      mnt=$work/zfs-mnt
      zpool create -f -O compression=off -R "$mnt" fsbench "$img"
      cp "$src" "$mnt/big.bin"
      sync
      zpool export fsbench ;;
    *) echo "unknown filesystem $fs" >&2; exit 2 ;;
  esac
  rm -rf "$tree"
fi
(cd "$here" && cargo build --release --workspace -q)
bin=$here/target/release
cmds=(
  "dd if=$img of=/dev/null bs=1M count=1024 status=none"
  "$bin/fsimage-cat $img /big.bin"
  "$bin/fsimage-cat --no-sandbox $img /big.bin"
)
names=(pread fsimage-cat fsimage-cat-no-sandbox)
# GRUB names the root dataset's files /@/PATH.
gpath=/big.bin
[ "$fs" = zfs ] && gpath=/@/big.bin
if command -v grub-fstest >/dev/null && grub-fstest "$img" ls / >/dev/null 2>&1; then
  cmds+=("grub-fstest $img cat $gpath"); names+=(grub-fstest)
fi
if command -v ifind >/dev/null && ino=$(ifind -n /big.bin "$img" 2>/dev/null) && [ -n "$ino" ]; then
  cmds+=("icat $img $ino"); names+=(icat)
fi
if command -v 7zz >/dev/null && 7zz l "$img" big.bin >/dev/null 2>&1; then
  cmds+=("7zz e -so $img big.bin"); names+=(7zz)
fi
# Every tool must return the same bytes before it is timed.
want=$(sha256sum < "$src")
for i in "${!cmds[@]}"; do
  [ "${names[$i]}" = pread ] && continue
  got=$(eval "${cmds[$i]}" 2>/dev/null | sha256sum)
  if [ "$got" != "$want" ]; then
    echo "${names[$i]}: wrong bytes, not timed" >&2
    unset "cmds[$i]" "names[$i]"
  fi
done
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-markdown "$work/read-$fs.md" "${args[@]}"
cat "$work/read-$fs.md"
