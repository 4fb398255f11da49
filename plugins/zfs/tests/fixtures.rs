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

/// OpenSolaris-style root pool: the bootfs (the default) and, by name, the
/// pool's root dataset that holds GRUB's menu.lst (each with its manifest;
/// the two menu.lst files differ).
#[test]
fn fuse_v14_osol_bootfs_and_root_dataset() {
    use fsimage_testkit::plugin;
    check_fixture("zfs/fuse-v14-osol", 1000);
    let img = fsimage_testkit::image("zfs/fuse-v14-osol");
    plugin::check_image::<fsimage_plugin_zfs::ZfsFs>(
        &img,
        "rpool/ROOT/opensolaris",
        fsimage_testkit::manifest("zfs/fuse-v14-osol"),
        "rpool/ROOT/opensolaris",
        opts(1000),
    );
    plugin::check_image::<fsimage_plugin_zfs::ZfsFs>(
        &img,
        "rpool",
        fsimage_testkit::manifest("zfs/fuse-v14-osol.rootds"),
        "rpool",
        opts(1000),
    );
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

// dnodesize=auto (large dnodes) is also in ozfs-rpool-bootfs; the
// ozfs-dnodesize-auto image of ../shared is in the extended test.

/// Both halves of the two-way mirror, together and each alone (each image
/// is a complete copy: reads fall back to whichever child verifies).
#[test]
fn ozfs_mirror_two_devices_and_each_alone() {
    use fsimage_abi::Filesystem;
    use fsimage_plugin_zfs::ZfsFs;
    let d0 = file_dev(&fsimage_testkit::image("zfs/ozfs-mirror-0"));
    let d1 = file_dev(&fsimage_testkit::image("zfs/ozfs-mirror-1"));
    let want = fsimage_testkit::manifest("zfs/ozfs-mirror");
    let fs = ZfsFs::mount(vec![d0.clone(), d1.clone()], b"").unwrap();
    check_fs(&fs, &d0, want.clone(), "mirror", 1000);
    for d in [d0, d1] {
        let fs = ZfsFs::mount(vec![d.clone()], b"").unwrap();
        check_fs(&fs, &d, want.clone(), "mirror half", 7);
    }
}

/// Small read_dir sinks resume from cookies and see the same tree.
#[test]
fn tiny_dir_sinks() {
    check_fixture("zfs/ozfs-lz4", 1);
    check_fixture("zfs/fuse-v23-lzjb", 2);
}

/// Every ZFS fixture of ../shared (when present), the big ones included:
/// fat-ZAP directories, 8 MiB files, sparse files past 4 GiB, recordsize
/// 1M, all checksums and codecs.
#[test]
fn shared_fixtures_extended() {
    let names = [
        "fuse-v10",
        "fuse-v14-rpool",
        "fuse-v23-off",
        "fuse-v23-lzjb",
        "fuse-v23-gzip9",
        "fuse-v23-sha256",
        "fuse-v23-fletcher2",
        "fuse-v23-fletcher4",
        "fuse-v23-full",
        "ozfs-lz4",
        "ozfs-zstd",
        "ozfs-gzip",
        "ozfs-zle",
        "ozfs-off",
        "ozfs-recordsize1m",
        "ozfs-dnodesize-auto",
        "ozfs-rpool-bootfs",
        "ozfs-bpool-grub2",
    ];
    for n in names {
        let name = format!("zfs/{n}");
        let (Some(img), Some(want)) = (
            fsimage_testkit::shared_image(&name),
            fsimage_testkit::shared_manifest(&name),
        ) else {
            eprintln!("{name}: ../shared not present, skipped");
            continue;
        };
        check_image(&img, want, &name, 1000);
    }
}

/// `csum=off` (the fuzzing option) reads the same tree, with or without a
/// dataset name beside it.
#[test]
fn csum_off_reads_the_same_tree() {
    use fsimage_testkit::plugin;
    for (name, o) in [
        ("zfs/ozfs-lz4", "csum=off"),
        ("zfs/fuse-v14-rpool", "rpool/ROOT/be1,csum=off"),
    ] {
        let img = fsimage_testkit::image(name);
        plugin::check_image::<fsimage_plugin_zfs::ZfsFs>(
            &img,
            o,
            fsimage_testkit::manifest(name),
            name,
            opts(1000),
        );
    }
}

fn devs(prefix: &str, n: usize) -> Vec<fsimage_abi::Device> {
    (0..n)
        .map(|i| file_dev(&fsimage_testkit::image(&format!("zfs/{prefix}-{i}"))))
        .collect()
}

/// Mounts pool `prefix` over all its `n` devices, then over every set
/// with one device left out (its columns rebuilt from parity), and checks
/// each against the manifest.
fn check_raidz_each_missing(prefix: &str, n: usize) {
    use fsimage_abi::Filesystem;
    use fsimage_plugin_zfs::ZfsFs;
    let all = devs(prefix, n);
    let want = fsimage_testkit::manifest(&format!("zfs/{prefix}"));
    let fs = ZfsFs::mount(all.clone(), b"").unwrap();
    check_fs(&fs, &all[0], want.clone(), prefix, 1000);
    for skip in 0..n {
        let some: Vec<_> = (0..n)
            .filter(|&i| i != skip)
            .map(|i| all[i].clone())
            .collect();
        let fs = ZfsFs::mount(some.clone(), b"").unwrap();
        check_fs(
            &fs,
            &some[0],
            want.clone(),
            &format!("{prefix} without {skip}"),
            1000,
        );
    }
}

/// RAID-Z1 over three files (zfs-fuse, pool version 23): all devices, then
/// every device left out in turn.
#[test]
fn fuse_raidz1_all_devices_and_each_missing() {
    check_raidz_each_missing("fuse-raidz1", 3);
}

/// RAID-Z2 over four files, lzjb: all devices, and each one left out.
#[test]
fn fuse_raidz2_all_devices_and_each_missing() {
    check_raidz_each_missing("fuse-raidz2", 4);
}

/// A snapshot by name reads the tree as it was; the head reads as it is.
#[test]
fn fuse_v23_snapshot_and_head() {
    use fsimage_testkit::plugin;
    let img = fsimage_testkit::image("zfs/fuse-v23-snap");
    plugin::check_image::<fsimage_plugin_zfs::ZfsFs>(
        &img,
        "",
        fsimage_testkit::manifest("zfs/fuse-v23-snap"),
        "head",
        opts(1000),
    );
    plugin::check_image::<fsimage_plugin_zfs::ZfsFs>(
        &img,
        "tank@before",
        fsimage_testkit::manifest("zfs/fuse-v23-snap.before"),
        "tank@before",
        opts(1000),
    );
}
