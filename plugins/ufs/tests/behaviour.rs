//! Read/extent/stat behaviour on the fixtures beyond the manifest walk.

mod common;
use common::*;
use fsimage_abi::{Error, ExtentKind, FileKind, Filesystem, sdk};

const ALL: [&str; 6] = [
    "ufs/ufs1-le-8k",
    "ufs/ufs1-le-32k",
    "ufs/ufs1-be-16k",
    "ufs/ufs2-le-8k",
    "ufs/ufs2-be-8k",
    "ufs/ufs2-be-32k",
];

fn kernel(fs: &fsimage_plugin_ufs::UfsFs) -> u64 {
    let boot = sdk::lookup_path(fs, b"/boot").unwrap();
    let e = sdk::list_dir(fs, boot, 100).unwrap();
    e.iter()
        .find(|e| e.name.starts_with(b"vmlinuz-"))
        .map(|e| e.id)
        .unwrap()
}

/// Reads at unaligned offsets and lengths (across fragment, block and
/// direct/indirect boundaries) agree with one whole read.
#[test]
fn partial_reads_match_whole_reads() {
    for name in ALL {
        let fs = mount(name).unwrap();
        let id = kernel(&fs);
        let whole = sdk::read_all(&fs, id, 1 << 20).unwrap();
        assert_eq!(whole.len(), 307217);
        for bs in [8192usize, 16384, 32768] {
            for at in [0, 1, bs - 1, bs, bs + 1, 12 * bs - 3, 12 * bs, 307217 - 5] {
                if at >= whole.len() {
                    continue;
                }
                for len in [1usize, 7, 1000, bs + 3, 70000] {
                    let mut buf = vec![0xaau8; len];
                    let n = fs.read(id, at as u64, &mut buf).unwrap();
                    let want = &whole[at..(at + len).min(whole.len())];
                    assert_eq!(&buf[..n], want, "{name} at {at} len {len}");
                }
            }
        }
        // At and past the end: nothing.
        let mut b = [0u8; 4];
        assert_eq!(fs.read(id, 307217, &mut b).unwrap(), 0);
        assert_eq!(fs.read(id, u64::MAX, &mut b).unwrap(), 0);
    }
}

/// An extent map asked for from the middle starts there, is contiguous and
/// merged, and its Data extents hold the file's bytes.
#[test]
fn extents_from_the_middle() {
    for name in ALL {
        let path = fsimage_testkit::image(name);
        let dev = file_dev(&path);
        let fs = mount(name).unwrap();
        let id = kernel(&fs);
        let whole = sdk::read_all(&fs, id, 1 << 20).unwrap();
        let mut all = Extents(Vec::new());
        fs.extents(id, 0, &mut all).unwrap();
        // makefs lays files out contiguously: a handful of runs at most
        // (indirect blocks interrupt them).
        assert!(all.0.len() <= 8, "{name}: {:?}", all.0);
        for from in [1u64, 5000, 100_000, 307_216] {
            let mut ex = Extents(Vec::new());
            fs.extents(id, from, &mut ex).unwrap();
            assert_eq!(ex.0[0].file_offset, from);
            let mut pos = from;
            for e in &ex.0 {
                assert_eq!(e.file_offset, pos);
                assert_eq!(e.kind, ExtentKind::Data);
                let mut b = vec![0u8; e.length as usize];
                fsimage_abi::ReadAt::read_exact_at(&dev, e.device_offset, &mut b).unwrap();
                assert_eq!(&b[..], &whole[pos as usize..(pos + e.length) as usize]);
                pos += e.length;
            }
            assert_eq!(pos, 307217);
        }
        let mut none = Extents(Vec::new());
        fs.extents(id, 307217, &mut none).unwrap();
        assert!(none.0.is_empty());
    }
}

/// A sink that takes one extent at a time still sees the whole map.
#[test]
fn one_extent_at_a_time() {
    let fs = mount("ufs/ufs1-le-8k").unwrap();
    let id = kernel(&fs);
    let mut all = Extents(Vec::new());
    fs.extents(id, 0, &mut all).unwrap();
    let mut got = Vec::new();
    let mut from = 0;
    while from < 307217 {
        let mut s = fsimage_testkit::plugin::ExtentsUpTo(Vec::new(), 1);
        fs.extents(id, from, &mut s).unwrap();
        let e = s.0[0];
        from = e.file_offset + e.length;
        got.push(e);
    }
    assert_eq!(got, all.0);
}

#[test]
fn stat_fields() {
    for name in ALL {
        let fs = mount(name).unwrap();
        let st = fs.stat(fs.root()).unwrap();
        assert_eq!(st.kind, FileKind::Dir);
        assert_eq!(st.ino, 2);
        assert!(st.nlink >= 2, "{name}: root nlink {}", st.nlink);
        let id = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
        let st = fs.stat(id).unwrap();
        assert_eq!((st.kind, st.perm, st.size), (FileKind::File, 0o644, 10));
        assert_eq!(st.nlink, 1);
        if name.contains("ufs1") {
            // makefs -T 1700000000 stamps every UFS1 file.
            assert_eq!(st.mtime.sec, 1_700_000_000, "{name}");
        } else {
            // This makefs ignores -T for UFS2 and stamps its own clock (the
            // fixtures were made in November 2026).
            assert!(
                (1_795_000_000..1_796_000_000).contains(&st.mtime.sec),
                "{name}: {:?}",
                st.mtime
            );
            assert_eq!(st.atime, st.mtime);
        }
        assert!(st.mtime.nsec < 1_000_000_000);
        let secret = sdk::lookup_path(&fs, b"/etc/secret").unwrap();
        assert_eq!(fs.stat(secret).unwrap().perm, 0o600);
        let l = sdk::lookup_path(&fs, b"/etc/short-link").unwrap();
        let st = fs.stat(l).unwrap();
        assert_eq!((st.kind, st.size), (FileKind::Symlink, 8));
    }
}

/// Fast symlinks keep every byte (GRUB drops the last one); slow ones read
/// from their block.
#[test]
fn symlink_targets() {
    for name in ALL {
        let fs = mount(name).unwrap();
        let rl = |p: &str| fs.read_link(sdk::lookup_path(&fs, p.as_bytes()).unwrap());
        assert_eq!(rl("/etc/short-link").unwrap(), b"hostname");
        let long = rl("/etc/long-link").unwrap();
        assert_eq!(long.len(), 191);
        assert!(matches!(rl("/etc/hostname"), Err(Error::NotASymlink)));
        // The fast one has an Opaque map; read gives the target too.
        let id = sdk::lookup_path(&fs, b"/etc/short-link").unwrap();
        let mut ex = Extents(Vec::new());
        fs.extents(id, 0, &mut ex).unwrap();
        assert_eq!(ex.0.len(), 1);
        assert_eq!(ex.0[0].kind, ExtentKind::Opaque);
        let mut b = [0u8; 20];
        assert_eq!(fs.read(id, 0, &mut b).unwrap(), 8);
        assert_eq!(&b[..8], b"hostname");
    }
}

#[test]
fn lookups() {
    let fs = mount("ufs/ufs2-be-8k").unwrap();
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    assert_eq!(fs.lookup(etc, b".").unwrap(), etc);
    assert_eq!(fs.lookup(etc, b"..").unwrap(), fs.root());
    assert_eq!(fs.lookup(fs.root(), b".."), Ok(fs.root()));
    assert!(matches!(fs.lookup(etc, b"nope"), Err(Error::NotFound)));
    assert!(matches!(fs.lookup(etc, b""), Err(Error::NotFound)));
    assert!(matches!(fs.lookup(etc, &[b'a'; 300]), Err(Error::NotFound)));
    let host = fs.lookup(etc, b"hostname").unwrap();
    assert!(matches!(fs.lookup(host, b"x"), Err(Error::NotADirectory)));
    assert!(matches!(
        fs.read_dir(host, 0, &mut Collect(Vec::new(), 10)),
        Err(Error::NotADirectory)
    ));
    let mut b = [0u8; 1];
    assert!(matches!(fs.read(etc, 0, &mut b), Err(Error::IsADirectory)));
    // Names are bytes as stored.
    let names = sdk::lookup_path(&fs, b"/names").unwrap();
    assert!(fs.lookup(names, "café-日本".as_bytes()).is_ok());
    assert!(fs.lookup(names, &[b'n'; 255]).is_ok());
}

#[test]
fn cookies_resume_at_the_refused_entry() {
    let fs = mount("ufs/ufs1-le-32k").unwrap();
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    let all = list(&fs, etc, 1000);
    assert!(all.len() >= 6);
    for (i, (cookie, id, _, name)) in all.iter().enumerate() {
        let mut c = Collect(Vec::new(), 1);
        fs.read_dir(etc, *cookie, &mut c).unwrap();
        assert_eq!(&c.0[0].3, name, "entry {i}");
        assert_eq!(c.0[0].1, *id);
    }
    // Past the end: nothing.
    let mut c = Collect(Vec::new(), 10);
    fs.read_dir(etc, 1 << 40, &mut c).unwrap();
    assert!(c.0.is_empty());
}

#[test]
fn labels_and_probe() {
    for name in ALL {
        let fs = mount(name).unwrap();
        // makefs leaves fs_volname empty.
        assert_eq!(fs.label(), None, "{name}");
        let dev = file_dev(&fsimage_testkit::image(name));
        assert_eq!(fsimage_plugin_ufs::UfsFs::probe(&[dev]).unwrap(), 90);
    }
    // Another filesystem is not UFS.
    let ext = fsimage_testkit::image("ext/ext2-1k");
    assert_eq!(
        fsimage_plugin_ufs::UfsFs::probe(&[file_dev(&ext)]).unwrap(),
        0
    );
    assert!(fsimage_plugin_ufs::UfsFs::mount(vec![], b"").is_err());
    assert!(mount_bytes(image_bytes("ufs/ufs1-le-8k")).is_ok());
    assert!(matches!(
        fsimage_plugin_ufs::UfsFs::mount(
            vec![file_dev(&fsimage_testkit::image("ufs/ufs1-le-8k"))],
            b"bogus"
        ),
        Err(Error::InvalidArgument(_))
    ));
}
