//! Every committed UFS fixture reads back exactly as its manifest says.

mod common;
use common::*;

#[test]
fn ufs1_le_8k_direct_indirect_fast_slow_symlinks() {
    check_fixture("ufs/ufs1-le-8k", 1000);
}

#[test]
fn ufs1_le_32k() {
    check_fixture("ufs/ufs1-le-32k", 1000);
}

#[test]
fn ufs1_be_16k() {
    check_fixture("ufs/ufs1-be-16k", 1000);
}

#[test]
fn ufs2_le_8k_superblock_at_8k() {
    check_fixture("ufs/ufs2-le-8k", 1000);
}

#[test]
fn ufs2_be_8k() {
    check_fixture("ufs/ufs2-be-8k", 1000);
}

#[test]
fn ufs2_be_32k() {
    check_fixture("ufs/ufs2-be-32k", 1000);
}

/// Small read_dir sinks resume from cookies and see the same tree.
#[test]
fn tiny_dir_sinks() {
    check_fixture("ufs/ufs1-be-16k", 1);
    check_fixture("ufs/ufs2-le-8k", 2);
}

/// The big UFS2 image: 8 MiB double-indirect file, 3000-entry directory,
/// "sparse" file (makefs allocates its zero blocks: no holes), hard link.
#[test]
fn ufs2_le_16k_full() {
    check_fixture("ufs/ufs2-le-16k-full", 100_000);
}
