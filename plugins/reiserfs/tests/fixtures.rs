//! Every committed ReiserFS fixture reads back exactly as its manifest says,
//! through read_dir (with tiny and large sinks), lookup, stat, read,
//! read_link and extents.

mod common;
use common::*;
use fsimage_abi::{Filesystem, sdk};

#[test]
fn reiserfs36_tails() {
    check_fixture("reiserfs/reiserfs36", 1000);
}

#[test]
fn reiserfs36_notail() {
    check_fixture("reiserfs/reiserfs36-notail", 1000);
}

/// Small read_dir sinks resume from cookies and see the same tree.
#[test]
fn tiny_dir_sinks() {
    check_fixture("reiserfs/reiserfs36", 1);
    check_fixture("reiserfs/reiserfs36-notail", 3);
}

/// The big image from ../shared (extended suite only): 3000-entry directory
/// across many leaves, 8 MiB file, sparse file, hard link.
#[test]
fn reiserfs36_full_shared() {
    let Some(img) = fsimage_testkit::shared_image("reiserfs/reiserfs36-full") else {
        eprintln!("../shared not present: skipped");
        return;
    };
    let want = fsimage_testkit::shared_manifest("reiserfs/reiserfs36-full").unwrap();
    check_image(&img, want, "reiserfs36-full", 100_000);
}

#[test]
fn hostname_and_label() {
    let fs = mount("reiserfs/reiserfs36").unwrap();
    let id = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    let data = sdk::read_all(&fs, id, 1 << 20).unwrap();
    assert_eq!(data.len(), 10);
    assert_eq!(fs.label(), None);
    assert_eq!(
        fs.lookup(fs.root(), b"nope"),
        Err(fsimage_abi::Error::NotFound)
    );
    // "." and ".." answer from the directory's own entries.
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    assert_eq!(fs.lookup(etc, b".").unwrap(), etc);
    assert_eq!(fs.lookup(etc, b"..").unwrap(), fs.root());
}
