//! The ZFS plugin through the core (`fsimage::OpenOptions`, default sandbox,
//! plugins loaded from the build's target directory): every committed ZFS
//! fixture, the mirror as two images (`add_image`), a dataset chosen by
//! options, and the boot string. Needs `cargo build --workspace` first.

use fsimage_testkit::{manifest, manifest_sha, sha256_hex};

fn check(fs: &fsimage::Filesystem, m: &str) {
    assert_eq!(fs.fs_type(), "zfs", "{m}");
    let host = fs.read("/etc/hostname").unwrap();
    assert_eq!(sha256_hex(&host), manifest_sha(m, "/etc/hostname"), "{m}");
    // A kernel (many blocks) through the symlink that points at it.
    let k = fs.read("/etc/kernel-link").unwrap();
    let target = manifest(m)
        .into_iter()
        .find(|e| e.path == "/etc/kernel-link")
        .and_then(|e| e.target)
        .unwrap();
    let kpath = format!("/etc/{target}");
    let kname = format!("/boot/{}", target.rsplit('/').next().unwrap());
    assert_eq!(sha256_hex(&k), manifest_sha(m, &kname), "{m}: {kpath}");
}

#[test]
fn zfs_fixtures_through_the_core() {
    for name in [
        "fuse-v23-lzjb",
        "fuse-v14-rpool",
        "ozfs-lz4",
        "ozfs-zstd",
        "ozfs-gzip",
        "ozfs-zle",
        "ozfs-rpool-bootfs",
        "fuse-v23-snap",
    ] {
        let m = format!("zfs/{name}");
        let img = fsimage_testkit::image(&m);
        let fs = fsimage::OpenOptions::new()
            .open(&img)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        check(&fs, &m);
    }
}

#[test]
fn boot_string_and_dataset_through_the_core() {
    let img = fsimage_testkit::image("zfs/ozfs-rpool-bootfs");
    let fs = fsimage::OpenOptions::new().open(&img).unwrap();
    assert_eq!(
        fs.bootstring().unwrap().unwrap(),
        b"zfs-bootfs=rpool/89,bootpath=''"
    );
    let top = fsimage::OpenOptions::new()
        .options("rpool/ROOT")
        .open(&img)
        .unwrap();
    assert!(top.read("/etc/hostname").is_err());
    assert_eq!(
        top.bootstring().unwrap().unwrap(),
        b"zfs-bootfs=rpool/80,bootpath=''"
    );
}

#[test]
fn mirror_as_two_images() {
    let a = fsimage_testkit::image("zfs/ozfs-mirror-0");
    let b = fsimage_testkit::image("zfs/ozfs-mirror-1");
    let fs = fsimage::OpenOptions::new().add_image(&b).open(&a).unwrap();
    check(&fs, "zfs/ozfs-mirror");
}

#[test]
fn raidz1_as_three_images() {
    let img = |i| fsimage_testkit::image(&format!("zfs/fuse-raidz1-{i}"));
    let fs = fsimage::OpenOptions::new()
        .add_image(img(1))
        .add_image(img(2))
        .open(img(0))
        .unwrap();
    check(&fs, "zfs/fuse-raidz1");
}
