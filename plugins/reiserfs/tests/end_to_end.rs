//! The ReiserFS plugin through the core (`fsimage::OpenOptions`, default
//! sandbox, plugins loaded from the build's target directory): the probe
//! picks it, and every manifest entry reads back through the public API.
//! Needs `cargo build --workspace` first.

use fsimage_testkit::{EntryKind, manifest, sha256_hex};

fn check(img: &std::path::Path, want: Vec<fsimage_testkit::Entry>, name: &str) {
    let fs = fsimage::OpenOptions::new()
        .open(img)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(fs.fs_type(), "reiserfs", "{name}");
    let mut files = 0;
    for e in want {
        let p = e.path.as_bytes();
        match e.kind {
            EntryKind::File => {
                let data = fs
                    .read(p)
                    .unwrap_or_else(|err| panic!("{name} {}: {err}", e.path));
                assert_eq!(data.len() as u64, e.size, "{name} {}", e.path);
                assert_eq!(Some(sha256_hex(&data)), e.sha256, "{name} {}", e.path);
                files += 1;
            }
            EntryKind::Symlink => {
                let t = fs.read_link(p).unwrap();
                assert_eq!(
                    Some(String::from_utf8(t).unwrap()),
                    e.target,
                    "{name} {}",
                    e.path
                );
            }
            EntryKind::Dir => {
                assert!(fs.read_dir(p).is_ok(), "{name} {}", e.path);
            }
        }
    }
    assert!(files > 10, "{name}");
    // Symlinks resolve inside the filesystem.
    assert_eq!(
        fs.read("/etc/short-link").unwrap(),
        fs.read("/etc/hostname").unwrap(),
        "{name}"
    );
}

#[test]
fn reiserfs_fixtures_through_the_core() {
    for name in ["reiserfs/reiserfs36", "reiserfs/reiserfs36-notail"] {
        check(&fsimage_testkit::image(name), manifest(name), name);
    }
}

#[test]
fn journal_replay_option_through_the_core() {
    let img = fsimage_testkit::image("reiserfs/reiserfs36");
    let fs = fsimage::OpenOptions::new()
        .options("journal=replay")
        .open(&img)
        .unwrap();
    assert_eq!(fs.read("/etc/hostname").unwrap().len(), 10);
}

#[test]
fn full_image_through_the_core() {
    let name = "reiserfs/reiserfs36-full";
    let (Some(img), Some(want)) = (
        fsimage_testkit::shared_image(name),
        fsimage_testkit::shared_manifest(name),
    ) else {
        eprintln!("../shared not present: skipped");
        return;
    };
    check(&img, want, name);
}

/// The empty mkreiserfs images: 3.5 format, tea hash with a label, 1 KiB
/// blocks; the core's probe order picks reiserfs for each.
#[test]
fn empty_filesystems_through_the_core() {
    for (name, label) in [
        ("reiserfs/reiserfs35-empty", None),
        ("reiserfs/reiserfs36-tea-label", Some(&b"TEALABEL"[..])),
        ("reiserfs/reiserfs36-1k-rupasov", None),
    ] {
        let fs = fsimage::OpenOptions::new()
            .open(fsimage_testkit::image(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fs.fs_type(), "reiserfs", "{name}");
        assert_eq!(fs.read_dir("/").unwrap().count(), 0, "{name}");
        assert_eq!(fs.label().unwrap().as_deref(), label, "{name}");
        assert!(fs.read("/boot/grub/grub.cfg").is_err(), "{name}");
    }
}
