//! Every committed ext fixture reads back exactly as its manifest says.

mod common;
use common::*;

#[test]
fn ext2_1k() {
    check_fixture("ext/ext2-1k", "", 1000);
}

#[test]
fn ext2_4k() {
    check_fixture("ext/ext2-4k", "", 1000);
}

#[test]
fn ext3() {
    check_fixture("ext/ext3", "", 1000);
}

#[test]
fn ext3_journal_replay() {
    check_fixture("ext/ext3", "journal=replay", 1000);
}

#[test]
fn ext4_blockmap_i128() {
    check_fixture("ext/ext4-blockmap-i128", "", 1000);
}

#[test]
fn ext4() {
    check_fixture("ext/ext4", "", 1000);
}

#[test]
fn ext4_inline() {
    check_fixture("ext/ext4-inline", "", 1000);
}

#[test]
fn ext4_huge() {
    check_fixture("ext/ext4-huge", "", 1000);
}

#[test]
fn ext4_full() {
    check_fixture("ext/ext4-full", "", 100_000);
}
