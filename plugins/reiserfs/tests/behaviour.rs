//! Behaviour beyond "the tree reads back": directory cookies, the hashed
//! lookup and its fallback, extents vs read, errors for the wrong kind of
//! object, stat fields, and journal replay.

mod common;
use common::raw::{self, BS, SB, put32};
use common::*;
use fsimage_abi::{Error, ExtentKind, FileKind, Filesystem, sdk};
use fsimage_plugin_reiserfs::{ReiserFs, hash};
use std::sync::atomic::Ordering;

const TAILS: &str = "reiserfs/reiserfs36";
const NOTAIL: &str = "reiserfs/reiserfs36-notail";

/// Every entry's cookie is its directory key offset: its hash part must be
/// the r5 hash of its name (the fixtures use r5), which checks our r5
/// against names the kernel hashed (high-bit bytes included).
fn check_r5(fs: &ReiserFs) -> usize {
    let mut n = 0;
    let mut stack = vec![fs.root()];
    while let Some(d) = stack.pop() {
        for (cookie, id, kind, name) in list(fs, d, 100_000) {
            let h = hash::offset_hash(hash::R5_HASH, &name).unwrap();
            assert_eq!(
                cookie as u32 & 0x7fff_ff80,
                h,
                "{}",
                String::from_utf8_lossy(&name)
            );
            n += 1;
            if kind == FileKind::Dir {
                stack.push(id);
            }
        }
    }
    n
}

#[test]
fn r5_hash_matches_the_kernel() {
    assert!(check_r5(&mount(TAILS).unwrap()) > 50);
    if let Some(img) = fsimage_testkit::shared_image("reiserfs/reiserfs36-full") {
        let fs = ReiserFs::mount(vec![file_dev(&img)], b"").unwrap();
        assert!(check_r5(&fs) > 3000);
    }
}

/// With the superblock naming another hash (or none), names are still
/// found: the entries read do not carry that hash, so lookup falls back to
/// reading the whole directory.
#[test]
fn wrong_hash_code_falls_back_to_a_scan() {
    for code in [0u32, 1, 2, 9] {
        let mut img = image_bytes(TAILS);
        put32(&mut img, SB + 64, code);
        check_bytes(
            img,
            "",
            fsimage_testkit::manifest(TAILS),
            &format!("hash {code}"),
        );
    }
}

/// A lookup in the 3000-entry directory reads only the leaves its hash
/// leads to, not the whole directory (about 60 leaves).
#[test]
fn lookup_in_a_big_directory_reads_few_blocks() {
    let Some(img) = fsimage_testkit::shared_image("reiserfs/reiserfs36-full") else {
        eprintln!("../shared not present: skipped");
        return;
    };
    let bytes = std::fs::read(img).unwrap();
    let (dev, reads) = Counting::wrap(fsimage_abi::Device::new(bytes));
    let fs = ReiserFs::mount(vec![dev], b"").unwrap();
    let many = sdk::lookup_path(&fs, b"/many").unwrap();
    let listed = sdk::list_dir(&fs, many, 10_000).unwrap();
    assert_eq!(listed.len(), 3000);
    for (i, e) in listed.iter().enumerate().step_by(97) {
        let fs = ReiserFs::mount(
            vec![fsimage_abi::Device::new(Counting {
                inner: fsimage_abi::Device::new(
                    std::fs::read(
                        fsimage_testkit::shared_image("reiserfs/reiserfs36-full").unwrap(),
                    )
                    .unwrap(),
                ),
                reads: reads.clone(),
            })],
            b"",
        )
        .unwrap();
        let many = sdk::lookup_path(&fs, b"/many").unwrap();
        let before = reads.load(Ordering::Relaxed);
        assert_eq!(fs.lookup(many, &e.name).unwrap(), e.id, "entry {i}");
        assert_eq!(fs.lookup(many, b"entry-nope"), Err(Error::NotFound));
        let used = reads.load(Ordering::Relaxed) - before;
        assert!(used <= 8, "entry {i}: {used} reads");
    }
}

#[test]
fn cookies_resume_at_the_refused_entry() {
    let fs = mount(TAILS).unwrap();
    let sizes = sdk::lookup_path(&fs, b"/sizes").unwrap();
    let all = list(&fs, sizes, 1000);
    assert_eq!(all.len(), 12);
    // Resuming from each entry's cookie lists it and everything after it.
    for (i, (cookie, ..)) in all.iter().enumerate() {
        let mut c = Collect(Vec::new(), 1000);
        fs.read_dir(sizes, *cookie, &mut c).unwrap();
        assert_eq!(c.0, all[i..].to_vec());
    }
    // Cookies increase; one past the last, or past u32, lists nothing.
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    for cookie in [all.last().unwrap().0 + 1, 1 << 32, u64::MAX] {
        let mut c = Collect(Vec::new(), 1000);
        fs.read_dir(sizes, cookie, &mut c).unwrap();
        assert!(c.0.is_empty(), "cookie {cookie}");
    }
    // A sink that takes nothing.
    let mut c = Collect(Vec::new(), 0);
    fs.read_dir(sizes, 0, &mut c).unwrap();
    assert!(c.0.is_empty());
}

#[test]
fn wrong_kinds_and_missing_names() {
    let fs = mount(TAILS).unwrap();
    let f = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    let d = sdk::lookup_path(&fs, b"/etc").unwrap();
    let l = sdk::lookup_path(&fs, b"/etc/short-link").unwrap();
    assert_eq!(fs.lookup(f, b"x"), Err(Error::NotADirectory));
    assert_eq!(fs.read(d, 0, &mut [0; 8]), Err(Error::IsADirectory));
    assert_eq!(fs.read_link(f), Err(Error::NotASymlink));
    assert_eq!(fs.read_link(l).unwrap(), b"hostname");
    let mut x = Extents(Vec::new());
    assert_eq!(fs.extents(d, 0, &mut x), Err(Error::IsADirectory));
    assert!(matches!(
        fs.read_dir(f, 0, &mut Collect(Vec::new(), 9)),
        Err(Error::NotADirectory)
    ));
    for bad in [
        &b""[..],
        b"a/b",
        b"a\0b",
        b"hostnam",
        b"hostname2",
        b"HOSTNAME",
    ] {
        assert_eq!(fs.lookup(d, bad), Err(Error::NotFound), "{bad:?}");
    }
    // The kernel's private xattr root is hidden like Linux hides it.
    assert_eq!(
        fs.lookup(fs.root(), b".reiserfs_priv"),
        Err(Error::NotFound)
    );
    // Reads past the end, and partial reads at the end.
    let mut buf = [0u8; 64];
    assert_eq!(fs.read(f, 10, &mut buf).unwrap(), 0);
    assert_eq!(fs.read(f, u64::MAX, &mut buf).unwrap(), 0);
    assert_eq!(fs.read(f, 4, &mut buf).unwrap(), 6);
    // An id that names no object.
    assert!(matches!(fs.stat(0x7777_0000_7777), Err(Error::Corrupt(_))));
}

#[test]
fn stat_fields() {
    let fs = mount(TAILS).unwrap();
    let st = fs
        .stat(sdk::lookup_path(&fs, b"/etc/secret").unwrap())
        .unwrap();
    assert_eq!(st.kind, FileKind::File);
    assert_eq!(st.perm, 0o600);
    assert_eq!(st.size, 17);
    assert_eq!(st.nlink, 1);
    assert!(st.mtime.sec > 1_600_000_000, "{:?}", st.mtime);
    let root = fs.stat(fs.root()).unwrap();
    assert_eq!(root.kind, FileKind::Dir);
    assert_eq!(root.ino, fs.root());
    assert!(root.nlink >= 3);
    assert_eq!(fs.label(), None);
    if let Some(img) = fsimage_testkit::shared_image("reiserfs/reiserfs36-full") {
        let fs = ReiserFs::mount(vec![file_dev(&img)], b"").unwrap();
        let a = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
        let b = sdk::lookup_path(&fs, b"/etc/hostname.hardlink").unwrap();
        assert_eq!(a, b);
        assert_eq!(fs.stat(a).unwrap().nlink, 2);
    }
}

/// Tails are Data extents at their exact bytes inside the leaf block;
/// notail files are all unformatted blocks; `from` starts mid-file.
#[test]
fn extents_of_tails_and_blocks() {
    for (name, path, size) in [
        (TAILS, "/sizes/s4097", 4097u64),
        (TAILS, "/etc/hostname", 10),
        (TAILS, "/sizes/s1025", 1025),
        (NOTAIL, "/sizes/s1025", 1025),
        (NOTAIL, "/sizes/s4097", 4097),
        (NOTAIL, "/boot/vmlinuz-4", 0),
    ] {
        let img = image_bytes(name);
        let fs = mount_bytes(img.clone()).unwrap();
        let id = sdk::lookup_path(&fs, path.as_bytes()).unwrap();
        let st = fs.stat(id).unwrap();
        if size != 0 {
            assert_eq!(st.size, size);
        }
        let data = sdk::read_all(&fs, id, 1 << 24).unwrap();
        for from in [0, 1, 4095, 4096, st.size / 2, st.size - 1] {
            if from >= st.size {
                continue;
            }
            let mut x = Extents(Vec::new());
            fs.extents(id, from, &mut x).unwrap();
            let mut pos = from;
            for e in &x.0 {
                assert_eq!(e.file_offset, pos);
                let want = &data[pos as usize..(pos + e.length) as usize];
                match e.kind {
                    ExtentKind::Data => {
                        let o = e.device_offset as usize;
                        assert_eq!(&img[o..o + e.length as usize], want, "{name} {path} {from}");
                    }
                    ExtentKind::Zero => assert!(want.iter().all(|&b| b == 0)),
                    ExtentKind::Opaque => panic!("{name} {path}: opaque extent"),
                }
                pos += e.length;
            }
            assert_eq!(pos, st.size);
        }
        // Where the tail lives: inside a leaf (not block-aligned) or not.
        let mut x = Extents(Vec::new());
        fs.extents(id, 0, &mut x).unwrap();
        let last = x.0.last().unwrap();
        let in_leaf = raw::nodes(&img)
            .iter()
            .any(|&(b, _)| last.device_offset / BS as u64 == u64::from(b));
        if st.size < 4096 {
            assert_eq!(in_leaf, name == TAILS, "{name} {path}: {:?}", x.0);
        }
    }
}

/// A sink that stops after one extent gets exactly one.
#[test]
fn extent_sink_refusal() {
    let fs = mount(NOTAIL).unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-4").unwrap();
    let mut o = fsimage_testkit::plugin::ExtentsUpTo(Vec::new(), 1);
    fs.extents(id, 0, &mut o).unwrap();
    assert_eq!(o.0.len(), 1);
}

#[test]
fn options() {
    let dev = file_dev(&fsimage_testkit::image(TAILS));
    for ok in [
        "",
        "journal=ignore",
        "journal=replay",
        " journal=replay , journal=none",
    ] {
        assert!(
            ReiserFs::mount(vec![dev.clone()], ok.as_bytes()).is_ok(),
            "{ok}"
        );
    }
    assert!(matches!(
        ReiserFs::mount(vec![dev], b"hash=tea"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        ReiserFs::mount(vec![], b""),
        Err(Error::InvalidArgument(_))
    ));
}

/// The fixtures were unmounted cleanly: their journal header points past
/// the last transaction (10..15 of mount 10). Rewinding the header to make
/// them unflushed, and wiping the on-disk root block whose newest copy is
/// in transaction 10, gives an image only a replay can read: replayed, it
/// reads exactly as the manifest says.
#[test]
fn journal_replay_restores_a_wiped_root() {
    for name in [TAILS, NOTAIL] {
        let mut img = image_bytes(name);
        let (first, size) = (raw::u32at(&img, SB + 12), raw::u32at(&img, SB + 20));
        let hdr = (first + size) as usize * BS;
        // j_last_flush_trans_id 9, j_first_unflushed_offset 0, j_mount_id 10.
        put32(&mut img, hdr, 9);
        put32(&mut img, hdr + 4, 0);
        put32(&mut img, hdr + 8, 10);
        let root = raw::root(&img) as usize;
        img[root * BS..(root + 1) * BS].fill(0);
        assert!(
            mount_bytes(img.clone()).is_err(),
            "{name}: readable without replay"
        );
        check_bytes(
            img.clone(),
            "journal=replay",
            fsimage_testkit::manifest(name),
            name,
        );
        // A transaction that would replay onto the log itself is refused.
        let mut bad = img.clone();
        // The description block of transaction 10 sits at log offset 0.
        put32(&mut bad, first as usize * BS + 12, first + 3);
        let m = match ReiserFs::mount(vec![fsimage_abi::Device::new(bad)], b"journal=replay") {
            Err(Error::Corrupt(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(m.contains("replays onto log block"), "{m}");
    }
}

/// Without a usable header, the log is scanned for the oldest transaction
/// of the newest mount; with a clean header nothing is replayed.
#[test]
fn journal_scan_without_a_header() {
    let mut img = image_bytes(TAILS);
    let (first, size) = (raw::u32at(&img, SB + 12), raw::u32at(&img, SB + 20));
    let hdr = (first + size) as usize * BS;
    put32(&mut img, hdr, 0);
    put32(&mut img, hdr + 4, 0xffff);
    let root = raw::root(&img) as usize;
    img[root * BS..(root + 1) * BS].fill(0);
    check_bytes(
        img,
        "journal=replay",
        fsimage_testkit::manifest(TAILS),
        "scan",
    );
}

/// Reads at any offset and length agree with the whole file; contiguous
/// blocks are fetched with few device reads.
#[test]
fn partial_reads_and_read_coalescing() {
    for name in [TAILS, NOTAIL] {
        let (dev, reads) = Counting::wrap(fsimage_abi::Device::new(image_bytes(name)));
        let fs = ReiserFs::mount(vec![dev], b"").unwrap();
        let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-2")
            .or_else(|_| sdk::lookup_path(&fs, b"/boot/vmlinuz-4"))
            .unwrap();
        let before = reads.load(Ordering::Relaxed);
        let all = sdk::read_all(&fs, id, 1 << 24).unwrap();
        let used = reads.load(Ordering::Relaxed) - before;
        let blocks = all.len() / 4096;
        assert!(used < 20, "{name}: {used} reads for {blocks} blocks");
        let size = all.len() as u64;
        for off in [0u64, 1, 4095, 4096, 5000, size / 2, size - 3] {
            for len in [1usize, 4096, 10_000, 100_000] {
                let mut buf = vec![0xAAu8; len];
                let n = fs.read(id, off, &mut buf).unwrap();
                let want = &all[off as usize..(off as usize + len).min(all.len())];
                assert_eq!(&buf[..n], want, "{name} {off}+{len}");
            }
        }
    }
}
