//! The UFS plugin through the core (`fsimage::OpenOptions`, default sandbox,
//! plugins loaded from the build's target directory): every UFS fixture, and
//! the UFS partitions of the disk fixtures, by root choice and by
//! `.partition(id)`. Needs `cargo build --workspace` first.

use fsimage_testkit::{EntryKind, manifest, sha256_hex};

/// The manifest's /etc/hostname digest.
fn hostname_sha(manifest_name: &str) -> String {
    manifest(manifest_name)
        .into_iter()
        .find(|e| e.path == "/etc/hostname" && e.kind == EntryKind::File)
        .and_then(|e| e.sha256)
        .expect("manifest lists /etc/hostname")
}

fn check_hostname(fs: &fsimage::Filesystem, manifest_name: &str) {
    assert_eq!(fs.fs_type(), "ufs", "{manifest_name}");
    let data = fs.read("/etc/hostname").unwrap();
    assert_eq!(
        sha256_hex(&data),
        hostname_sha(manifest_name),
        "{manifest_name}"
    );
    // The short symlink resolves inside the filesystem.
    assert_eq!(fs.read("/etc/short-link").unwrap(), data, "{manifest_name}");
}

#[test]
fn ufs_fixtures_through_the_core() {
    for name in [
        "ufs1-le-8k",
        "ufs1-le-32k",
        "ufs1-be-16k",
        "ufs2-le-8k",
        "ufs2-be-8k",
        "ufs2-be-32k",
        "ufs2-le-16k-full",
        "ufs1-le-4k-multicg",
        "ufs2-be-4k-multicg",
    ] {
        let img = fsimage_testkit::image(&format!("ufs/{name}"));
        let fs = fsimage::OpenOptions::new().open(&img).unwrap();
        let m = format!("ufs/{name}");
        assert_eq!(fs.fs_type(), "ufs", "{name}");
        let want = hostname_sha(&m);
        assert_eq!(
            sha256_hex(&fs.read("/etc/hostname").unwrap()),
            want,
            "{name}"
        );
    }
}

/// (disk image, partition id, manifest, picked by the root choice)
const PARTS: &[(&str, &str, &str, bool)] = &[
    ("dev-mbr-primaries", "3", "dev-mbr-primaries.p3", false),
    ("dev-gpt", "4", "dev-gpt.p4", true),
    ("dev-sun-sparc", "s0", "dev-sun-sparc.s0", true),
    ("dev-sun-sparc", "s6", "dev-sun-sparc.s6", false),
    ("dev-solaris-x86", "1.0", "dev-solaris-x86.p1s0", true),
    ("dev-solaris-x86", "1.7", "dev-solaris-x86.p1s7", false),
];

#[test]
fn disk_partitions_by_id() {
    for &(disk, id, m, _) in PARTS {
        let img = fsimage_testkit::image(&format!("disk/{disk}"));
        let fs = fsimage::OpenOptions::new()
            .partition(id)
            .open(&img)
            .unwrap_or_else(|e| panic!("{disk} partition {id}: {e}"));
        assert_eq!(fs.partition(), Some(id), "{disk}");
        check_hostname(&fs, &format!("disk/{m}"));
    }
}

/// With UFS recognised, the root choice picks the Solaris root on the GPT
/// disk (rule 4, root type), s0 on the Sun label and slice 1.0 in the
/// Solaris x86 VTOC.
#[test]
fn root_choice_picks_the_ufs_root() {
    for &(disk, id, m, is_root) in PARTS {
        if !is_root {
            continue;
        }
        let img = fsimage_testkit::image(&format!("disk/{disk}"));
        let fs = fsimage::OpenOptions::new()
            .open(&img)
            .unwrap_or_else(|e| panic!("{disk}: {e}"));
        assert_eq!(fs.partition(), Some(id), "{disk}: {}", fs.chosen_by());
        check_hostname(&fs, &format!("disk/{m}"));
    }
}
