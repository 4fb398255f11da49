//! Dataset choice by options and by bootfs, the boot string, labels,
//! read_dir cookies and extents.

mod common;
use common::*;
use fsimage_abi::{Error, ExtentKind, Filesystem, sdk};
use fsimage_plugin_zfs::ZfsFs;

fn hostname(fs: &ZfsFs) -> Vec<u8> {
    let id = sdk::lookup_path(fs, b"/etc/hostname").unwrap();
    sdk::read_all(fs, id, 1 << 20).unwrap()
}

fn root_names(fs: &ZfsFs) -> Vec<Vec<u8>> {
    let mut v: Vec<_> = sdk::list_dir(fs, fs.root(), 10_000)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    v.sort();
    v
}

/// The boot string names the dataset's object number as zdb's "ID" (the
/// recipes' `zdb -d`), and the pool name; file vdevs record no phys_path.
#[test]
fn bootstring_names_pool_and_dataset_object() {
    for (name, want) in [
        ("zfs/fuse-v14-rpool", "zfs-bootfs=rpool/36,bootpath=''"),
        ("zfs/ozfs-rpool-bootfs", "zfs-bootfs=rpool/89,bootpath=''"),
        ("zfs/ozfs-lz4", "zfs-bootfs=tank/54,bootpath=''"),
        ("zfs/fuse-v23-lzjb", "zfs-bootfs=tank/16,bootpath=''"),
    ] {
        let fs = mount(name).unwrap();
        let bs = fs.bootstring().unwrap().unwrap();
        assert_eq!(String::from_utf8(bs).unwrap(), want, "{name}");
    }
}

/// Empty options pick the bootfs; naming datasets picks them (the pool's
/// and rpool/ROOT hold no files); the object number follows the choice.
#[test]
fn dataset_by_options() {
    let boot = mount("zfs/ozfs-rpool-bootfs").unwrap();
    let by_name = mount_opts("zfs/ozfs-rpool-bootfs", "rpool/ROOT/debian").unwrap();
    assert_eq!(hostname(&boot), hostname(&by_name));
    assert_eq!(by_name.dataset_object(), 89);
    assert!(root_names(&boot).contains(&b"etc".to_vec()));

    let top = mount_opts("zfs/ozfs-rpool-bootfs", "rpool").unwrap();
    assert_eq!(top.dataset_object(), 54);
    assert!(root_names(&top).is_empty());
    let mid = mount_opts("zfs/ozfs-rpool-bootfs", " rpool/ROOT\n").unwrap();
    assert_eq!(mid.dataset_object(), 80);
    assert!(
        String::from_utf8(mid.bootstring().unwrap().unwrap())
            .unwrap()
            .starts_with("zfs-bootfs=rpool/80,")
    );

    let old = mount_opts("zfs/fuse-v14-rpool", "rpool/ROOT/be1").unwrap();
    assert_eq!(old.dataset_object(), 36);
    assert_eq!(
        hostname(&old),
        hostname(&mount("zfs/fuse-v14-rpool").unwrap())
    );
    assert_eq!(
        mount_opts("zfs/fuse-v14-rpool", "rpool/ROOT")
            .unwrap()
            .dataset_object(),
        30
    );
}

#[test]
fn bad_dataset_names_are_refused() {
    for o in [
        "rpool/ROOT/nothere",
        "otherpool/ROOT/debian",
        "rpool/ROOT/debian@nosnap",
        "rpool@",
        "/",
    ] {
        let e = mount_opts("zfs/ozfs-rpool-bootfs", o).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{o}: {e:?}");
    }
}

/// Without a bootfs the root dataset is used.
#[test]
fn no_bootfs_means_root_dataset() {
    let fs = mount("zfs/ozfs-zle").unwrap();
    assert_eq!(fs.dataset_object(), 54);
    assert_eq!(fs.label().unwrap(), b"tank");
}

#[test]
fn read_dir_cookies_resume_at_the_refused_entry() {
    let fs = mount("zfs/ozfs-lz4").unwrap();
    let all = list(&fs, fs.root(), 100_000);
    for chunk in [1, 2, 3] {
        assert_eq!(list(&fs, fs.root(), chunk), all);
    }
    let fs = mount("zfs/fuse-v23-lzjb").unwrap();
    let all = list(&fs, fs.root(), 100_000);
    assert_eq!(list(&fs, fs.root(), 1), all);
}

/// Files are one opaque extent from the asked offset to the end.
#[test]
fn extents_are_opaque_and_reads_stop_at_eof() {
    let fs = mount("zfs/ozfs-lz4").unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-1").or_else(|_| {
        let boot = sdk::lookup_path(&fs, b"/boot")?;
        let e = sdk::list_dir(&fs, boot, 100)?
            .into_iter()
            .find(|e| e.name.starts_with(b"vmlinuz"))
            .ok_or(Error::NotFound)?;
        Ok::<u64, Error>(e.id)
    });
    let id = id.unwrap();
    let size = fs.stat(id).unwrap().size;
    let mut ex = Extents(Vec::new());
    fs.extents(id, 1000, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1);
    assert_eq!(ex.0[0].kind, ExtentKind::Opaque);
    assert_eq!(ex.0[0].file_offset, 1000);
    assert_eq!(ex.0[0].length, size - 1000);
    let mut buf = vec![0u8; 100];
    assert_eq!(fs.read(id, size - 10, &mut buf).unwrap(), 10);
    assert_eq!(fs.read(id, size + 10, &mut buf).unwrap(), 0);
    // A read across block boundaries equals the same bytes read whole.
    let whole = sdk::read_all(&fs, id, 1 << 30).unwrap();
    let mut mid = vec![0u8; 300_000.min(size as usize - 1000)];
    let n = fs.read(id, 1000, &mut mid).unwrap();
    assert_eq!(&mid[..n], &whole[1000..1000 + n]);
    assert!(matches!(
        fs.read(fs.root(), 0, &mut buf),
        Err(Error::IsADirectory)
    ));
    assert!(matches!(fs.read_link(id), Err(Error::NotASymlink)));
    assert!(matches!(fs.lookup(id, b"x"), Err(Error::NotADirectory)));
    assert!(matches!(
        fs.lookup(fs.root(), b"nothere"),
        Err(Error::NotFound)
    ));
}

/// Devices of two different pools are refused together.
#[test]
fn devices_of_different_pools_are_refused() {
    let a = file_dev(&fsimage_testkit::image("zfs/ozfs-lz4"));
    let b = file_dev(&fsimage_testkit::image("zfs/ozfs-zstd"));
    let e = ZfsFs::mount(vec![a, b], b"").unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

#[test]
fn probe_recognises_pools_only() {
    let a = file_dev(&fsimage_testkit::image("zfs/ozfs-lz4"));
    assert_eq!(ZfsFs::probe(&[a]).unwrap(), 90);
    let ext = file_dev(&fsimage_testkit::image("ext/ext2-1k"));
    assert_eq!(ZfsFs::probe(&[ext]).unwrap(), 0);
    assert_eq!(ZfsFs::probe(&[]).unwrap(), 0);
}

/// The boot string of a snapshot names the snapshot's dataset object
/// (zdb: "tank@before ... ID 30"; the head is ID 16).
#[test]
fn snapshot_bootstring_and_missing_snapshot() {
    let snap = mount_opts("zfs/fuse-v23-snap", "tank@before").unwrap();
    assert_eq!(
        snap.bootstring().unwrap().unwrap(),
        b"zfs-bootfs=tank/30,bootpath=''"
    );
    let head = mount("zfs/fuse-v23-snap").unwrap();
    assert_eq!(head.dataset_object(), 16);
    let e = mount_opts("zfs/fuse-v23-snap", "tank@after").unwrap_err();
    assert!(e.to_string().contains("tank@after"), "{e}");
}
