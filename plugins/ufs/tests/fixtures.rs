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

/// Several cylinder groups with only 32 inodes each: inodes (and their
/// data) live in groups past the first, so ino_to_fsba's group arithmetic
/// is exercised.
#[test]
fn ufs1_le_4k_inodes_in_four_groups() {
    check_fixture("ufs/ufs1-le-4k-multicg", 1000);
}

#[test]
fn ufs2_be_4k_inodes_in_six_groups() {
    check_fixture("ufs/ufs2-be-4k-multicg", 1000);
}

/// The walk really visits inodes past the first group.
#[test]
fn multicg_fixtures_use_later_groups() {
    use fsimage_abi::{Filesystem, sdk};
    for (name, ipg) in [
        ("ufs/ufs1-le-4k-multicg", 32),
        ("ufs/ufs2-be-4k-multicg", 16),
    ] {
        let fs = mount(name).unwrap();
        let id = sdk::lookup_path(&fs, b"/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10").unwrap();
        let mut max = 0;
        let mut stack = vec![fs.root()];
        while let Some(d) = stack.pop() {
            for e in sdk::list_dir(&fs, d, 1000).unwrap() {
                max = max.max(e.id);
                if e.kind == fsimage_abi::FileKind::Dir {
                    stack.push(e.id);
                }
            }
        }
        assert!(max > ipg, "{name}: highest inode {max}");
        assert!(fs.stat(id).is_ok());
    }
}
