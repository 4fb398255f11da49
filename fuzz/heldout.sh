#!/usr/bin/env bash
# The held-out gauntlet (issue 7): makes images the normal suite never sees,
# with the filesystems' own tools, and runs cli/tests/heldout.rs over them
# (mutated images through the real fsimage-ls and fsimage-cat).
#
#   fuzz/heldout.sh [CASES-PER-IMAGE] [DIR]
#
# Needs: mke2fs (e2fsprogs), xorriso, makefs, sfdisk (fdisk), zstd for the
# ../shared images of filesystems whose plugin exists. Missing tools skip
# their images (said on stderr). Not part of .ci/run: it takes a while.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-16}
out=${2:-target/heldout}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
tree="$out/tree"
# First: which plugins exist decides which shared images are used.
cargo build --workspace

# A tree unlike the fixtures': deep paths, a 600-entry directory, long
# names, symlinks (fast and slow), a hard link, a sparse file, a 3 MiB file.
mkdir -p "$tree/boot/grub" "$tree/etc/deep/a/b/c/d/e/f/g" "$tree/big" "$tree/var/log"
printf 'set timeout=3\nmenuentry "held-out" { linux /boot/vmlinuz root=/dev/xvda1 }\n' > "$tree/boot/grub/grub.cfg"
head -c 3145728 /dev/urandom > "$tree/boot/vmlinuz"
head -c 70000 /dev/urandom > "$tree/boot/initrd.img"
echo heldout > "$tree/etc/hostname"
seq 1 200000 > "$tree/boot/config"
echo deep > "$tree/etc/deep/a/b/c/d/e/f/g/leaf"
for i in $(seq 1 600); do echo "$i" > "$tree/big/entry-$i-$(printf '%0*d' $((i % 40)) 0)"; done
ln -s ../boot/grub/grub.cfg "$tree/etc/menu"
ln -s "$(printf 'x%.0s' $(seq 1 200))/target" "$tree/etc/slowlink"
ln "$tree/etc/hostname" "$tree/etc/hostname.hard"
dd if=/dev/urandom of="$tree/var/log/sparse" bs=4096 count=1 seek=300 status=none
have() { command -v "$1" >/dev/null || { echo "heldout: no $1, skipping $2" >&2; return 1; }; }

if have mke2fs ext; then
  mk() { local n=$1 size=$2; shift 2; mke2fs -q -F -d "$tree" "$@" "$out/$n.img" "$size" >/dev/null; }
  mk ext4-2k 24M -t ext4 -b 2048
  mk ext4-nojournal-i128 24M -t ext4 -O ^has_journal -I 128
  mk ext4-inline 24M -t ext4 -O inline_data
  mk ext4-32bit-flexbg64 24M -t ext4 -O ^64bit -G 64
  mk ext3-1k 24M -t ext3 -b 1024
  mk ext2-nodirindex 24M -t ext2 -O ^dir_index
  mk ext4-metacsum-seed 24M -t ext4 -O metadata_csum_seed,^resize_inode -O meta_bg
fi
if have xorriso iso; then
  xorriso -as mkisofs -quiet -R -J -V HELDOUT -o "$out/iso-rr-joliet.img" "$tree" 2>/dev/null
  xorriso -as mkisofs -quiet -iso-level 3 -V PLAIN -o "$out/iso-plain-l3.img" "$tree" 2>/dev/null
  xorriso -as mkisofs -quiet -R -o "$out/iso-rr.img" "$tree" 2>/dev/null
  xorriso -no_rc -outdev "$out/iso-zisofs.img" -map "$tree" / \
    -set_filter_r --zisofs /boot -- -commit >/dev/null 2>&1 || echo "heldout: zisofs image failed" >&2
fi
if have makefs ufs; then
  makefs -t ffs -o version=1 -B le -s 24m "$out/ufs1-le.img" "$tree" >/dev/null
  makefs -t ffs -o version=2 -B be -o bsize=32768,fsize=4096 -s 32m "$out/ufs2-be-32k.img" "$tree" >/dev/null
  makefs -t ffs -o version=2 -B le -o bsize=4096,fsize=512 -s 24m "$out/ufs2-le-4k.img" "$tree" >/dev/null
fi
if have sfdisk disk && [ -e "$out/ext4-2k.img" ] && [ -e "$out/ufs2-le-4k.img" ]; then
  # A GPT disk: ext4 (Linux filesystem) and UFS (FreeBSD UFS type).
  d="$out/disk-gpt.img"
  truncate -s 64M "$d"
  printf 'label: gpt\nstart=2048, size=49152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=51200, size=49152, type=516E7CB6-6ECF-11D6-8FF8-00022D09712B\n' | sfdisk -q "$d"
  dd if="$out/ext4-2k.img" of="$d" bs=512 seek=2048 conv=notrunc status=none
  dd if="$out/ufs2-le-4k.img" of="$d" bs=512 seek=51200 conv=notrunc status=none
  # An MBR disk with a logical partition holding ext3.
  d="$out/disk-mbr-logical.img"
  truncate -s 64M "$d"
  printf 'label: dos\nstart=2048, size=16384, type=83\nstart=20480, size=100000, type=5\nstart=22528, size=49152, type=83\n' | sfdisk -q "$d"
  dd if="$out/ext3-1k.img" of="$d" bs=512 seek=22528 conv=notrunc status=none
fi
# Held-out images from ../shared for filesystems whose plugin exists.
if [ -d ../shared/fixtures ] && have zstd shared; then
  for fs in reiserfs zfs; do
    ls target/debug/libfsimage_plugin_$fs.so >/dev/null 2>&1 || continue
    for z in ../shared/fixtures/$fs/*.img.zst; do
      n=$(basename "$z" .img.zst)
      [ -e "fixtures/$fs/$n.img.zst" ] && continue
      # Second and later disks of multi-device pools need --add-image.
      case "$n" in *-[1-9]) continue ;; esac
      zstd -q -d "$z" -o "$out/$n.img"
    done
  done
fi
rm -rf "$tree"
ls "$out"
FSIMAGE_HELDOUT_DIR="$out" FSIMAGE_HELDOUT_CASES="$cases" \
  cargo test -p fsimage-cli --test heldout -- --ignored --nocapture
