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

/// Empty filesystems straight from mkreiserfs: the 3.5 format (v1 keys and
/// stat data, standard journal), tea hash with a label, 1 KiB blocks with
/// the rupasov hash.
#[test]
fn mkreiserfs_empty_filesystems() {
    use fsimage_abi::FileKind;
    for (name, label) in [
        ("reiserfs/reiserfs35-empty", None),
        ("reiserfs/reiserfs36-tea-label", Some(&b"TEALABEL"[..])),
        ("reiserfs/reiserfs36-1k-rupasov", None),
    ] {
        check_fixture(name, 10);
        let fs = mount(name).unwrap();
        assert_eq!(fs.label().as_deref(), label, "{name}");
        let root = fs.stat(fs.root()).unwrap();
        assert_eq!(root.kind, FileKind::Dir, "{name}");
        assert_eq!(root.perm, 0o755, "{name}");
        assert_eq!(fs.lookup(fs.root(), b".").unwrap(), fs.root(), "{name}");
        // The root's ".." names its parent key (0, 1), which has no stat data.
        assert_eq!(fs.lookup(fs.root(), b"..").unwrap(), 1, "{name}");
        assert_eq!(
            fs.lookup(fs.root(), b"boot"),
            Err(fsimage_abi::Error::NotFound)
        );
    }
}
