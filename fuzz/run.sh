#!/usr/bin/env bash
# Runs one fuzz target with its seeds, dictionary and limits.
#
#   fuzz/run.sh TARGET [SECONDS] [none|address]     (default: 60 s, none)
#
# `none` builds with the stable toolchain and no sanitizer (Rust's own bounds
# and overflow checks still fire); `address` builds with AddressSanitizer,
# which needs RUSTC_BOOTSTRAP=1 on a stable toolchain (set here). New inputs
# go to fuzz/corpus/TARGET (git-ignored); committed seeds are fuzz/seeds/TARGET;
# crashes land in fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
t=${1:?usage: run.sh TARGET [SECONDS] [none|address]}
secs=${2:-60}
san=${3:-none}

case $t in
  mbr)             dict=mbr;  max_len=8192 ;;
  gpt)             dict=gpt;  max_len=65536 ;;
  vtoc)            dict=vtoc; max_len=8192 ;;
  sun)             dict=sun;  max_len=4096 ;;
  root)            dict=root; max_len=65536 ;;
  ext2_image)      dict=ext2; max_len=262144 ;;
  ufs_image)       dict=ufs;  max_len=262144 ;;
  iso9660_image)   dict=iso9660; max_len=262144 ;;
  abi_dir_records) dict=abi;  max_len=4096 ;;
  sandbox_reply)   dict=sandbox; max_len=4096 ;;
  ext2_extents)    dict=ext2_inner; max_len=65536 ;;
  ext2_htree)      dict=ext2_inner; max_len=262144 ;;
  ext2_dirblock)   dict=ext2_inner; max_len=131072 ;;
  ufs_dirblock)    dict=ufs;  max_len=131072 ;;
  iso9660_susp)    dict=iso9660; max_len=16384 ;;
  zisofs)          dict=zisofs; max_len=131072 ;;
  zfs_image)       dict=zfs;  max_len=262144 ;;
  zfs_nvlist)      dict=zfs;  max_len=16384 ;;
  zfs_zap)         dict=zfs;  max_len=524288 ;;
  zfs_decompress)  dict=zfs;  max_len=65536 ;;
  reiserfs_image)  dict=reiserfs; max_len=262144 ;;
  reiserfs_leaf)   dict=reiserfs; max_len=32768 ;;
  *) echo "unknown target $t" >&2; exit 2 ;;
esac

mkdir -p "corpus/$t"
flags=(
  -max_total_time="$secs"
  -max_len="$max_len"
  -dict="dicts/$dict.dict"
  -timeout=10
  -rss_limit_mb=2048
  -print_final_stats=1
)
if [ "$san" = address ]; then
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- "${flags[@]}"
else
  cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- "${flags[@]}"
fi
