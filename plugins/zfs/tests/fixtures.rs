//! Every committed ZFS fixture reads back exactly as its manifest says.

mod common;
use common::*;

#[test]
fn fuse_v23_lzjb() {
    check_fixture("zfs/fuse-v23-lzjb", 1000);
}

#[test]
fn fuse_v14_rpool_bootfs() {
    check_fixture("zfs/fuse-v14-rpool", 1000);
}

#[test]
fn ozfs_lz4() {
    check_fixture("zfs/ozfs-lz4", 1000);
}

#[test]
fn ozfs_zstd() {
    check_fixture("zfs/ozfs-zstd", 1000);
}

#[test]
fn ozfs_gzip() {
    check_fixture("zfs/ozfs-gzip", 1000);
}

#[test]
fn ozfs_zle() {
    check_fixture("zfs/ozfs-zle", 1000);
}

#[test]
fn ozfs_rpool_bootfs() {
    check_fixture("zfs/ozfs-rpool-bootfs", 1000);
}

#[test]
fn ozfs_dnodesize_auto() {
    check_fixture("zfs/ozfs-dnodesize-auto", 1000);
}
