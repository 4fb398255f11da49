//! Contract details on real fixtures: resumable directory cookies, htree
//! lookups that read a handful of blocks, holes, extent maps against `read`,
//! options, probe, label, threads.

mod common;
use common::*;
use fsimage_abi::{Error, ExtentKind, FileKind, Filesystem, ReadAt};
use fsimage_plugin_ext2::Ext2Fs;
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn path(fs: &Ext2Fs, p: &str) -> u64 {
    fsimage_abi::sdk::lookup_path(fs, p.as_bytes()).unwrap()
}

#[test]
fn htree_lookups_read_a_handful_of_blocks() {
    for name in [
        "ext/ext4-1k-htree",
        "ext/ext4-htree-tea-unsigned",
        "ext/ext2-nofiletype-legacy",
    ] {
        let want: Vec<_> = fsimage_testkit::manifest(name)
            .into_iter()
            .filter(|e| e.path.starts_with("/many/"))
            .collect();
        assert_eq!(want.len(), 5001, "{name}");
        for e in want.iter().step_by(250).chain(want.last()) {
            let (fs, reads) = counting_mount(name);
            let many = path(&fs, "/many");
            reads.store(0, Ordering::Relaxed);
            let leaf = e.path.strip_prefix("/many/").unwrap();
            let id = fs.lookup(many, leaf.as_bytes()).unwrap();
            let n = reads.load(Ordering::Relaxed);
            // Inode table, index root, index node, leaf (+ an extent block):
            // a linear scan would read 38 to 160 blocks.
            assert!(n <= 6, "{name}: lookup of {leaf} read {n} blocks");
            assert_eq!(fs.stat(id).unwrap().size, e.size);
            // Misses are just as cheap.
            reads.store(0, Ordering::Relaxed);
            let miss = format!("{leaf}-missing");
            assert_eq!(fs.lookup(many, miss.as_bytes()), Err(Error::NotFound));
            assert!(reads.load(Ordering::Relaxed) <= 6, "{name}: miss");
        }
    }
}

#[test]
fn read_dir_resumes_from_every_cookie() {
    for (name, dir) in [
        ("ext/ext4-1k-htree", "/many"),
        ("ext/ext2-nofiletype-legacy", "/"),
        ("ext/ext4-inline", "/etc"),
        ("ext/ext4-inline", "/"),
        ("ext/ext4-full", "/many"),
        ("ext/ext2-1k", "/sizes"),
    ] {
        let fs = mount(name, "").unwrap();
        let d = path(&fs, dir);
        let all = list(&fs, d, usize::MAX - 1);
        assert!(all.len() > 5, "{name}:{dir}");
        for chunk in [1, 2, 3, 7] {
            assert_eq!(list(&fs, d, chunk), all, "{name}:{dir} chunk {chunk}");
        }
        // Any entry's cookie resumes exactly at that entry.
        for (i, e) in all.iter().enumerate().step_by(97.min(all.len() / 3)) {
            let mut c = Collect(Vec::new(), usize::MAX);
            fs.read_dir(d, e.0, &mut c).unwrap();
            assert_eq!(c.0, all[i..], "{name}:{dir} from cookie {}", e.0);
        }
        // Cookies strictly increase.
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

#[test]
fn inline_directories_and_files() {
    let fs = mount("ext/ext4-inline", "").unwrap();
    let etc = path(&fs, "/etc");
    // `..` of an inline directory comes from its first four bytes.
    assert_eq!(fs.lookup(etc, b"..").unwrap(), fs.root());
    let host = fs.lookup(etc, b"hostname").unwrap();
    let mut ex = Extents(Vec::new());
    fs.extents(host, 0, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1);
    assert_eq!(ex.0[0].kind, ExtentKind::Opaque);
    let mut buf = [0u8; 64];
    let n = fs.read(host, 3, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"ture-6\n");
}

#[test]
fn holes_read_as_zeros_past_4_gib() {
    let path_ = fsimage_testkit::image("ext/ext4-huge");
    let dev = file_dev(&path_);
    let fs = Ext2Fs::mount(vec![dev.clone()], b"").unwrap();
    let id = path(&fs, "/data/huge-sparse.bin");
    let st = fs.stat(id).unwrap();
    assert_eq!(st.size, 4608 * 1024 * 1024 + 65536 + 3);
    // A read entirely inside the leading hole.
    let mut buf = vec![0xAAu8; 8192];
    assert_eq!(fs.read(id, (4 << 30) - 4096, &mut buf).unwrap(), 8192);
    assert!(buf.iter().all(|&b| b == 0));
    // A read across the hole's end into the data.
    let start = 4608u64 * 1024 * 1024 - 100;
    let mut buf = vec![0xAAu8; 200];
    assert_eq!(fs.read(id, start, &mut buf).unwrap(), 200);
    assert!(buf[..100].iter().all(|&b| b == 0));
    let mut ex = Extents(Vec::new());
    fs.extents(id, start, &mut ex).unwrap();
    assert_eq!(ex.0[0].file_offset, start);
    assert_eq!(ex.0[0].kind, ExtentKind::Zero);
    assert_eq!(ex.0[0].length, 100);
    let data = ex.0[1];
    assert_eq!(data.kind, ExtentKind::Data);
    let mut direct = vec![0u8; 100];
    dev.read_exact_at(data.device_offset, &mut direct).unwrap();
    assert_eq!(&buf[100..], &direct[..]);
    // The read at the very end stops at EOF.
    let mut tail = [0u8; 10];
    assert_eq!(fs.read(id, st.size - 3, &mut tail).unwrap(), 3);
    assert_eq!(&tail[..3], b"end");
    assert_eq!(fs.read(id, st.size, &mut tail).unwrap(), 0);
}

/// Bytes [off, off+len) of a file assembled from its extent map.
fn via_extents(fs: &Ext2Fs, dev: &dyn ReadAt, id: u64, off: u64, len: usize) -> Vec<u8> {
    let mut ex = Extents(Vec::new());
    fs.extents(id, off, &mut ex).unwrap();
    let mut out = Vec::new();
    let mut pos = off;
    for e in ex.0 {
        assert_eq!(e.file_offset, pos);
        if out.len() >= len {
            break;
        }
        let n = (len - out.len()).min(e.length as usize);
        let mut b = vec![0u8; n];
        match e.kind {
            ExtentKind::Zero => {}
            ExtentKind::Data => dev.read_exact_at(e.device_offset, &mut b).unwrap(),
            ExtentKind::Opaque => {
                fs.read(id, pos, &mut b).unwrap();
            }
        }
        out.extend(b);
        pos += e.length;
    }
    out
}

#[test]
fn extents_match_read_at_random_offsets() {
    for (name, file) in [
        ("ext/ext4-full", "/data/big.bin"),
        ("ext/ext4-full", "/data/sparse.bin"),
        ("ext/ext2-1k", "/boot/vmlinuz-2"),
        ("ext/ext4-blockmap-i128", "/boot/vmlinuz-7"),
        ("ext/ext4-bigalloc", "/boot/vmlinuz-24"),
        ("ext/ext4-metabg", "/boot/vmlinuz-25"),
    ] {
        let p = fsimage_testkit::image(name);
        let dev = file_dev(&p);
        let fs = Ext2Fs::mount(vec![dev.clone()], b"").unwrap();
        let id = path(&fs, file);
        let size = fs.stat(id).unwrap().size;
        // A small deterministic LCG: offsets anywhere, lengths across blocks.
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..40 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let off = (x >> 11) % size;
            let len = ((x >> 3) % 20000) as usize;
            let mut buf = vec![0u8; len];
            let n = fs.read(id, off, &mut buf).unwrap();
            assert_eq!(n as u64, len.min((size - off) as usize) as u64);
            let want = via_extents(&fs, &dev, id, off, n);
            assert_eq!(buf[..n], want[..], "{name}{file} at {off}+{len}");
        }
    }
}

#[test]
fn extent_maps_merge_contiguous_blocks() {
    let fs = mount("ext/ext4-full", "").unwrap();
    let id = path(&fs, "/data/big.bin");
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    // 8 MiB written in one go by mke2fs: a few extents, not 2049 blocks.
    assert!(ex.0.len() <= 4, "{:?}", ex.0);
    let fs = mount("ext/ext2-1k", "").unwrap();
    let id = path(&fs, "/boot/vmlinuz-2");
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    // Block-mapped: runs break only where indirect blocks sit in between.
    assert!(ex.0.len() < 20, "{} extents", ex.0.len());
}

#[test]
fn a_full_extent_sink_stops_the_map() {
    let fs = mount("ext/ext4-full", "").unwrap();
    let id = path(&fs, "/data/sparse.bin");
    let mut s = fsimage_testkit::plugin::ExtentsUpTo(Vec::new(), 1);
    fs.extents(id, 0, &mut s).unwrap();
    assert_eq!(s.0.len(), 1);
    assert_eq!(s.0[0].kind, ExtentKind::Zero);
    assert_eq!(s.0[0].length, 5 * 1024 * 1024);
}

#[test]
fn options_probe_and_label() {
    let e = mount("ext/ext4", "journal=replay,bogus=1").err().unwrap();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("bogus=1")),
        "{e:?}"
    );
    assert!(mount("ext/ext4", "csum=off, journal=replay").is_ok());
    for name in ["ext/ext2-1k", "ext/ext4", "ext/ext4-bigalloc"] {
        let dev = file_dev(&fsimage_testkit::image(name));
        assert_eq!(Ext2Fs::probe(&[dev]).unwrap(), 90);
    }
    let zeros = fsimage_abi::Device::new(vec![0u8; 1 << 16]);
    assert_eq!(Ext2Fs::probe(std::slice::from_ref(&zeros)).unwrap(), 0);
    assert!(matches!(
        Ext2Fs::mount(vec![zeros], b""),
        Err(Error::NotRecognized(_))
    ));
    let tiny = fsimage_abi::Device::new(vec![0u8; 100]);
    assert_eq!(Ext2Fs::probe(&[tiny]).unwrap(), 0);
    assert_eq!(
        mount("ext/ext4-bigalloc", "").unwrap().label().as_deref(),
        Some(&b"fsimage-bigalloc"[..])
    );
    assert_eq!(mount("ext/ext4", "").unwrap().label(), None);
}

#[test]
fn stat_and_errors() {
    let fs = mount("ext/ext4", "").unwrap();
    let root = fs.stat(fs.root()).unwrap();
    assert_eq!(root.kind, FileKind::Dir);
    assert_eq!(root.ino, 2);
    assert!(root.nlink >= 3);
    // Made in 2026: 2020 < mtime < 2100.
    assert!(root.mtime.sec > 1_577_836_800 && root.mtime.sec < 4_102_444_800);
    let host = path(&fs, "/etc/hostname");
    let st = fs.stat(host).unwrap();
    assert_eq!((st.perm, st.uid, st.gid, st.size), (0o644, 0, 0, 10));
    assert_eq!(fs.read_link(host), Err(Error::NotASymlink));
    assert_eq!(fs.lookup(host, b"x"), Err(Error::NotADirectory));
    assert_eq!(
        fs.read(fs.root(), 0, &mut [0u8; 4]),
        Err(Error::IsADirectory)
    );
    assert_eq!(fs.lookup(fs.root(), b"nope"), Err(Error::NotFound));
    assert!(matches!(fs.stat(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(fs.stat(1 << 40), Err(Error::InvalidArgument(_))));
    let link = path(&fs, "/etc/long-link");
    assert_eq!(
        fs.read_link(link).unwrap(),
        b"/long-directory-name-00/long-directory-name-01/long-directory-name-02/long-directory-name-03/long-directory-name-04/long-directory-name-05/long-directory-name-06/long-directory-name-07/target"
    );
}

#[test]
fn mounts_are_shared_between_threads() {
    let p = fsimage_testkit::image("ext/ext4-full");
    let dev = file_dev(&p);
    let fs = Arc::new(Ext2Fs::mount(vec![dev.clone()], b"").unwrap());
    let want = fsimage_testkit::manifest("ext/ext4-full");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let fs = fs.clone();
            let want = want.clone();
            std::thread::spawn(move || {
                for e in want.iter().skip(t).step_by(4).take(400) {
                    let id = fsimage_abi::sdk::lookup_path(&*fs, e.path.as_bytes()).unwrap();
                    if let Some(sha) = &e.sha256 {
                        let data = fsimage_abi::sdk::read_all(&*fs, id, 1 << 26).unwrap();
                        assert_eq!(&fsimage_testkit::sha256_hex(&data), sha, "{}", e.path);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn casefolded_htree_lookups() {
    let fs = mount("ext/ext4-casefold", "").unwrap();
    let many = path(&fs, "/many");
    // ASCII names go through the index (hash of the lower-cased name) ...
    let t = fs.lookup(many, b".target").unwrap();
    assert_eq!(fs.stat(t).unwrap().size, 7);
    // ... non-ASCII ones are scanned; names match as stored.
    let e = "ent\u{e9}-02999-\u{ff}";
    assert_eq!(fs.lookup(many, e.as_bytes()).unwrap(), t);
    assert_eq!(fs.lookup(many, b"missing"), Err(Error::NotFound));
}

#[test]
fn dot_and_dot_dot_in_htree_directories() {
    let fs = mount("ext/ext4-1k-htree", "").unwrap();
    let many = path(&fs, "/many");
    assert_eq!(fs.lookup(many, b"..").unwrap(), fs.root());
    assert_eq!(fs.lookup(many, b".").unwrap(), many);
    assert_eq!(fs.lookup(fs.root(), b"..").unwrap(), fs.root());
}
