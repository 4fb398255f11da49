//! The Rust API end to end: the real loader, the real ext2 plugin (built by
//! `cargo build --workspace`), fixture images made by mke2fs.

use fsimage::{ErrorKind, FileKind, Filesystem, OpenOptions};
use fsimage_testkit::{EntryKind, Hasher, image, manifest};
use std::io::{Read, Seek, SeekFrom};

/// Opens a fixture the default way (sandboxed).
fn open(name: &str) -> Filesystem {
    open_with(name, true)
}

fn open_with(name: &str, sandbox: bool) -> Filesystem {
    OpenOptions::new()
        .sandbox(sandbox)
        .open(image(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Files above this are checked by their tail and a hole, not hashed whole
/// (the ext2 plugin's own tests hash them).
const HASH_LIMIT: u64 = 64 << 20;

fn check_against_manifest(name: &str, sandbox: bool) {
    let fs = open_with(name, sandbox);
    assert_eq!(fs.fs_type(), "ext2");
    let entries = manifest(name);
    assert!(!entries.is_empty());
    for e in &entries {
        let meta = fs
            .symlink_metadata(&e.path)
            .unwrap_or_else(|err| panic!("{name}: {}: {err}", e.path));
        assert_eq!(Some(meta.permissions()), e.mode, "{name}: {} mode", e.path);
        match e.kind {
            EntryKind::Dir => assert!(meta.is_dir(), "{name}: {} is a dir", e.path),
            EntryKind::Symlink => {
                assert!(meta.is_symlink(), "{name}: {} is a symlink", e.path);
                let t = fs.read_link(&e.path).unwrap();
                assert_eq!(
                    Some(String::from_utf8(t).unwrap()),
                    e.target,
                    "{name}: {}",
                    e.path
                );
            }
            EntryKind::File => {
                assert!(meta.is_file(), "{name}: {} is a file", e.path);
                assert_eq!(meta.len(), e.size, "{name}: {} size", e.path);
                if e.size <= HASH_LIMIT {
                    let mut f = fs.open(&e.path).unwrap();
                    let mut h = Hasher::new();
                    let mut buf = vec![0u8; 1 << 20];
                    loop {
                        let n = f.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                    assert_eq!(Some(h.finish()), e.sha256, "{name}: {} content", e.path);
                }
            }
        }
    }
    // Every directory lists exactly its manifest children.
    for d in entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.path.as_str())
        .chain(["/"])
    {
        let mut listed: Vec<String> = fs
            .read_dir(d)
            .unwrap()
            .map(|e| String::from_utf8(e.unwrap().name().to_vec()).unwrap())
            .collect();
        listed.sort();
        let prefix = if d == "/" {
            "/".to_string()
        } else {
            format!("{d}/")
        };
        let mut want: Vec<String> = entries
            .iter()
            .filter_map(|e| e.path.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect();
        want.sort();
        assert_eq!(listed, want, "{name}: listing of {d}");
    }
}

const EXT_FIXTURES: [&str; 7] = [
    "ext/ext2-1k",
    "ext/ext2-4k",
    "ext/ext3",
    "ext/ext4-blockmap-i128",
    "ext/ext4",
    "ext/ext4-inline",
    "ext/ext4-huge",
];

#[test]
fn ext_fixtures_read_back_exactly_sandboxed() {
    for name in EXT_FIXTURES {
        check_against_manifest(name, true);
    }
}

#[test]
fn ext_fixtures_read_back_exactly_in_process() {
    for name in EXT_FIXTURES {
        check_against_manifest(name, false);
    }
}

#[test]
fn sparse_file_past_4gib() {
    let fs = open("ext/ext4-huge");
    let f = fs.open("/data/huge-sparse.bin").unwrap();
    let size = 4608u64 * 1024 * 1024 + 65536 + 3;
    assert_eq!(f.len(), size);
    let mut tail = [0u8; 3];
    assert_eq!(f.read_at(size - 3, &mut tail).unwrap(), 3);
    assert_eq!(&tail, b"end");
    // Inside the hole: zeros; past the end: nothing.
    let mut buf = vec![1u8; 4096];
    assert_eq!(f.read_at(1 << 32, &mut buf).unwrap(), 4096);
    assert!(buf.iter().all(|&b| b == 0));
    assert_eq!(f.read_at(size, &mut buf).unwrap(), 0);
    // A read that straddles the end is short.
    assert_eq!(f.read_at(size - 10, &mut buf).unwrap(), 10);
    // Reading it whole is refused by size, before anything is allocated.
    let e = fs.read("/data/huge-sparse.bin").unwrap_err();
    assert_eq!(e.kind(), fsimage::ErrorKind::Limit, "{e}");
    assert!(e.to_string().contains("read limit"), "{e}");
}

#[test]
fn read_whole_files_within_a_limit() {
    let fs = open("ext/ext4");
    let e = fsimage_testkit::manifest("ext/ext4")
        .into_iter()
        .find(|e| e.kind == EntryKind::File && e.size > 1)
        .unwrap();
    let whole = fs.read(&e.path).unwrap();
    assert_eq!(Some(fsimage_testkit::sha256_hex(&whole)), e.sha256);
    assert_eq!(fs.read_limited(&e.path, e.size).unwrap(), whole);
    let err = fs.read_limited(&e.path, e.size - 1).unwrap_err();
    assert_eq!(err.kind(), fsimage::ErrorKind::Limit, "{err}");
}

#[test]
fn symlinks_resolve_inside_the_filesystem() {
    let fs = open("ext/ext4-symlinks");
    let host = b"symloop-host\n".to_vec();
    for p in [
        "/abs",
        "/dirlink/hostname",
        "/sub/inner/up",
        "/sub/escape",
        "/dot/dot/etc/hostname",
        "/rootlink/etc/hostname",
        "/../../etc/hostname",
        "/sub/../sub/inner/../../etc/./hostname",
        "etc/hostname",
        "/chain39",
    ] {
        assert_eq!(
            fs.read(p).unwrap_or_else(|e| panic!("{p}: {e}")),
            host,
            "{p}"
        );
    }
    // 41 hops is past the limit; loops end in the same error.
    for p in ["/chain40", "/a", "/b", "/self", "/a/x"] {
        let e = fs.read(p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit, "{p}: {e}");
        assert!(e.to_string().contains("symlink hops (40)"), "{p}: {e}");
    }
    // The link itself, unfollowed.
    assert!(fs.symlink_metadata("/a").unwrap().is_symlink());
    assert_eq!(fs.read_link("/chain40").unwrap(), b"chain39");
    assert!(fs.metadata("/dirlink").unwrap().is_dir());
    let names: Vec<Vec<u8>> = fs
        .read_dir("/dirlink")
        .unwrap()
        .map(|e| e.unwrap().name().to_vec())
        .collect();
    assert_eq!(names, vec![b"hostname".to_vec()]);
}

#[test]
fn errors_say_what_and_where() {
    let fs = open("ext/ext4");
    let img = image("ext/ext4");
    let e = fs.open("/no/such/file").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let msg = e.to_string();
    assert!(
        msg.contains(&img.display().to_string()) && msg.contains("/no/such/file"),
        "{msg}"
    );
    assert!(msg.contains("no such file"), "{msg}");
    assert_eq!(
        fs.open("/etc/hostname/x").unwrap_err().kind(),
        ErrorKind::NotADirectory
    );
    assert_eq!(fs.open("/etc").unwrap_err().kind(), ErrorKind::IsADirectory);
    assert_eq!(
        fs.read_dir("/etc/hostname").unwrap_err().kind(),
        ErrorKind::NotADirectory
    );
    assert_eq!(
        fs.read_link("/etc/hostname").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(!fs.exists("/etc/nothing"));
    assert!(fs.exists("/etc/kernel-link"));
}

#[test]
fn files_read_and_seek() {
    let fs = open("ext/ext4");
    let whole = fs.read("/etc/motd").unwrap();
    assert!(whole.starts_with(b"line 0 of the motd\n"));
    let mut f = fs.open("/etc/motd").unwrap();
    assert_eq!(f.seek(SeekFrom::End(-5)).unwrap(), whole.len() as u64 - 5);
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, &whole[whole.len() - 5..]);
    assert!(
        f.seek(SeekFrom::Current(-(whole.len() as i64) - 1))
            .is_err()
    );
    f.seek(SeekFrom::Start(7)).unwrap();
    let mut b = [0u8; 4];
    f.read_exact(&mut b).unwrap();
    assert_eq!(&b, &whole[7..11]);
    // Positional reads leave the cursor alone.
    let mut c = [0u8; 4];
    assert_eq!(f.read_at(0, &mut c).unwrap(), 4);
    f.read_exact(&mut b).unwrap();
    assert_eq!(&b, &whole[11..15]);
}

#[test]
fn one_image_many_threads() {
    let fs = open("ext/ext4");
    let entries = manifest("ext/ext4");
    let files: Vec<_> = entries
        .into_iter()
        .filter(|e| e.kind == EntryKind::File)
        .collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let fs = fs.clone();
            let files = &files;
            s.spawn(move || {
                for e in files.iter().skip(t).step_by(2) {
                    let data = fs.read(&e.path).unwrap();
                    assert_eq!(
                        Some(fsimage_testkit::sha256_hex(&data)),
                        e.sha256,
                        "{}",
                        e.path
                    );
                }
            });
        }
    });
}

#[test]
fn label_and_kinds() {
    let fs = open("ext/ext4");
    let root = fs.metadata("/").unwrap();
    assert_eq!(root.kind(), FileKind::Dir);
    assert_eq!(root.ino(), 2);
    let e = fs
        .read_dir("/")
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.name() == b"etc")
        .unwrap();
    assert_eq!(e.kind(), FileKind::Dir);
    assert!(e.metadata().unwrap().is_dir());
}

#[test]
fn forced_fs_and_offsets() {
    let img = image("ext/ext4");
    let fs = OpenOptions::new().fs("ext2").offset(0).open(&img).unwrap();
    assert_eq!(fs.read("/etc/hostname").unwrap(), b"fixture-5\n");
    let e = OpenOptions::new().fs("nosuchfs").open(&img).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("nosuchfs"), "{e}");
    // An offset where nothing is.
    let e = OpenOptions::new().offset(4096).open(&img).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    // An offset past the end.
    let e = OpenOptions::new().offset(1 << 40).open(&img).unwrap_err();
    assert!(e.to_string().contains(&img.display().to_string()), "{e}");
}

#[test]
fn small_reads_in_order_and_out_of_order_agree() {
    // Sandboxed, ZFS data comes through READ (the plugin must verify and
    // decompress it); reading it in small pieces exercises the host's
    // read-ahead, two files at once checks it never mixes them up.
    let name = "zfs/ozfs-lz4";
    let fs = open(name);
    let mut files: Vec<_> = manifest(name)
        .into_iter()
        .filter(|e| e.kind == EntryKind::File && e.size > 100_000)
        .collect();
    files.sort_by_key(|e| std::cmp::Reverse(e.size));
    assert!(files.len() >= 2, "two large files");
    let (a, b) = (&files[0], &files[1]);
    let (fa, fb) = (fs.open(&a.path).unwrap(), fs.open(&b.path).unwrap());
    let (mut da, mut db) = (Vec::new(), Vec::new());
    let mut piece = vec![0u8; 65536];
    loop {
        let na = fa.read_at(da.len() as u64, &mut piece).unwrap();
        da.extend_from_slice(&piece[..na]);
        let nb = fb.read_at(db.len() as u64, &mut piece[..4096]).unwrap();
        db.extend_from_slice(&piece[..nb]);
        if na == 0 && nb == 0 {
            break;
        }
    }
    assert_eq!(
        Some(fsimage_testkit::sha256_hex(&da)),
        a.sha256,
        "{}",
        a.path
    );
    assert_eq!(
        Some(fsimage_testkit::sha256_hex(&db)),
        b.sha256,
        "{}",
        b.path
    );
    // Backwards, from the end.
    let mut off = da.len() as u64;
    while off > 0 {
        let at = off.saturating_sub(10_000);
        let n = fa.read_at(at, &mut piece[..(off - at) as usize]).unwrap();
        assert_eq!(&piece[..n], &da[at as usize..off as usize]);
        off = at;
    }
}
