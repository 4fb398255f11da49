//! Damaged images, made from real fixture bytes: every one ends in an error
//! (never a panic, a hang or an unbounded allocation).

mod common;
use common::*;
use fsimage_abi::{Error, Filesystem, sdk};
use fsimage_plugin_ufs::UfsFs;

const SB: usize = 8192;

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Byte offset of inode `ino` in a one-group little-endian fixture, from the
/// superblock's fs_iblkno (offset 16) and fs_fsize (52), independently of
/// the plugin.
fn inode_off(img: &[u8], ino: u64) -> usize {
    let ufs2 = le32(img, SB + 1372) == 0x1954_0119;
    let iblkno = le32(img, SB + 16) as usize;
    let fsize = le32(img, SB + 52) as usize;
    iblkno * fsize + ino as usize * if ufs2 { 256 } else { 128 }
}

/// Offset of di_size, di_db[0] and di_ib[0] in the inode.
fn fields(ufs2: bool) -> (usize, usize, usize) {
    if ufs2 { (16, 112, 208) } else { (8, 40, 88) }
}

fn ino_of(name: &str, path: &str) -> u64 {
    let fs = mount(name).unwrap();
    sdk::lookup_path(&fs, path.as_bytes()).unwrap()
}

fn is_corrupt<T: std::fmt::Debug>(r: fsimage_abi::Result<T>, want: &str) {
    match r {
        Err(Error::Corrupt(m)) => assert!(m.contains(want), "message {m:?} lacks {want:?}"),
        other => panic!("expected a corrupt error naming {want:?}, got {other:?}"),
    }
}

#[test]
fn no_magic_is_not_recognised() {
    let mut img = image_bytes("ufs/ufs2-le-8k");
    img[SB + 1372..SB + 1376].fill(0);
    let dev = fsimage_abi::Device::new(img.clone());
    assert_eq!(UfsFs::probe(&[dev]).unwrap(), 0);
    assert!(matches!(mount_bytes(img), Err(Error::NotRecognized(_))));
    // Too small to hold any superblock.
    assert!(matches!(
        mount_bytes(vec![0u8; 100]),
        Err(Error::NotRecognized(_))
    ));
}

#[test]
fn byte_swapped_magic_alone_is_refused() {
    // A big-endian magic on a little-endian superblock: every other field
    // then reads as nonsense, and the sanity checks refuse it.
    let mut img = image_bytes("ufs/ufs1-le-8k");
    img[SB + 1372..SB + 1376].copy_from_slice(&0x0001_1954u32.to_be_bytes());
    assert!(matches!(mount_bytes(img), Err(Error::Corrupt(_))));
}

#[test]
fn bad_block_sizes() {
    for (off, v, want) in [
        (48, 12345, "fs_bsize"),   // not a power of two
        (48, 1 << 20, "fs_bsize"), // past MAXBSIZE
        (52, 256, "fs_fsize"),     // below DEV_BSIZE
        (52, 512, "fs_fsize"),     // 8192/512 = 16 fragments a block
        (56, 4, "fs_frag"),        // disagrees with bsize / fsize
        (120, 7, "fs_inopb"),      // inodes per block
        (116, 99, "fs_nindir"),    // pointers per indirect block
    ] {
        let mut img = image_bytes("ufs/ufs2-le-8k");
        put32(&mut img, SB + off, v);
        is_corrupt(mount_bytes(img), want);
    }
}

#[test]
fn zero_and_absurd_group_counts() {
    for (off, v, want) in [
        (184, 0, "fs_ipg"),
        (184, u32::MAX, "fs_ipg"),
        (188, 0, "fs_fpg"),
        (44, 0, "fs_ncg"),
        (44, u32::MAX, "fs_ncg"),
        (44, 5, "fs_ncg"),   // disagrees with fs_size / fs_fpg
        (184, 95, "fs_ipg"), // not a multiple of INOPB
        (16, 100_000, "fs_iblkno"),
    ] {
        let mut img = image_bytes("ufs/ufs2-le-8k");
        put32(&mut img, SB + off, v);
        if v == u32::MAX {
            // Past MAX_NCG / MAX_IPG: the reader's limit, named.
            match mount_bytes(img) {
                Err(Error::Limit(m)) => assert!(m.contains(want) && m.contains("MAX_"), "{m}"),
                other => panic!("expected the {want} limit, got {other:?}"),
            }
        } else {
            is_corrupt(mount_bytes(img), want);
        }
    }
}

#[test]
fn groups_past_the_device() {
    // A size of many groups on a small image: the last group is outside.
    let mut img = image_bytes("ufs/ufs2-le-8k");
    let fpg = le32(&img, SB + 188) as u64;
    put32(&mut img, SB + 44, 1000);
    put64(&mut img, SB + 1080, fpg * 1000);
    is_corrupt(mount_bytes(img), "past the end of the device");
}

#[test]
fn ufs2_superblock_elsewhere_than_it_says() {
    let mut img = image_bytes("ufs/ufs2-le-8k");
    put64(&mut img, SB + 1000, 65536);
    is_corrupt(mount_bytes(img), "lives at 65536");
}

#[test]
fn inode_numbers_out_of_range() {
    let fs = mount("ufs/ufs2-le-8k").unwrap();
    for id in [0, 96, 97, u64::MAX, 1 << 40] {
        assert!(
            matches!(fs.stat(id), Err(Error::InvalidArgument(_))),
            "inode {id}"
        );
    }
    // A directory entry naming an inode past the last group.
    let mut img = image_bytes("ufs/ufs2-le-8k");
    let (_, db, _) = fields(true);
    let root = inode_off(&img, 2);
    let blk = le32(&img, root + db) as usize * 1024;
    // Third record of the root ('.' and '..' are 12 bytes each).
    put32(&mut img, blk + 24, 1_000_000);
    let fs = mount_bytes(img).unwrap();
    is_corrupt(sdk::list_dir(&fs, 2, 1000), "d_ino 1000000");
}

fn damage_root_dir(name: &str, at: usize, bytes: &[u8]) -> UfsFs {
    let mut img = image_bytes(name);
    let ufs2 = le32(&img, SB + 1372) == 0x1954_0119;
    let (_, db, _) = fields(ufs2);
    let root = inode_off(&img, 2);
    let fsize = le32(&img, SB + 52) as usize;
    let blk = le32(&img, root + db) as usize * fsize;
    img[blk + at..blk + at + bytes.len()].copy_from_slice(bytes);
    mount_bytes(img).unwrap()
}

#[test]
fn reclen_zero_unaligned_or_past_the_chunk() {
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        // d_reclen of '..' (record at 12, field at +4).
        for reclen in [0u16, 2, 13, 600, 0xfffc] {
            let fs = damage_root_dir(name, 16, &reclen.to_le_bytes());
            is_corrupt(sdk::list_dir(&fs, 2, 1000), "d_reclen");
            is_corrupt(fs.lookup(2, b"etc"), "d_reclen");
        }
        // d_namlen longer than its record.
        let fs = damage_root_dir(name, 12 + 7, &[200]);
        is_corrupt(sdk::list_dir(&fs, 2, 1000), "d_namlen");
    }
}

#[test]
fn name_with_a_slash() {
    // '..' becomes './' .
    let fs = damage_root_dir("ufs/ufs1-le-8k", 12 + 8 + 1, b"/");
    is_corrupt(sdk::list_dir(&fs, 2, 1000), "'/'");
}

/// Patches file `path`'s inode in fixture `name` with `f(img, inode_offset, ufs2)`.
fn patch_inode(name: &str, path: &str, f: impl FnOnce(&mut Vec<u8>, usize, bool)) -> (UfsFs, u64) {
    let ino = ino_of(name, path);
    let mut img = image_bytes(name);
    let ufs2 = le32(&img, SB + 1372) == 0x1954_0119;
    let off = inode_off(&img, ino);
    f(&mut img, off, ufs2);
    (mount_bytes(img).unwrap(), ino)
}

fn big_file(name: &str) -> &'static str {
    match name {
        "ufs/ufs2-le-8k" => "/boot/vmlinuz-5",
        _ => "/boot/vmlinuz-2",
    }
}

#[test]
fn indirect_pointer_past_the_device() {
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        let (fs, ino) = patch_inode(name, big_file(name), |img, off, ufs2| {
            let (_, _, ib) = fields(ufs2);
            put32(img, off + ib, 0x7fff_fff0);
        });
        let mut buf = vec![0u8; 8192];
        // Direct blocks still read; the first indirect one does not.
        assert_eq!(fs.read(ino, 0, &mut buf).unwrap(), 8192);
        is_corrupt(fs.read(ino, 12 * 8192, &mut buf), "past the end");
        is_corrupt(fs.extents(ino, 0, &mut Extents(Vec::new())), "past the end");
    }
}

#[test]
fn negative_pointer() {
    let (fs, ino) = patch_inode("ufs/ufs1-le-8k", "/boot/vmlinuz-2", |img, off, _| {
        put32(img, off + 40 + 4, 0x8000_0000);
    });
    let mut buf = vec![0u8; 16384];
    assert!(matches!(fs.read(ino, 0, &mut buf), Err(Error::Corrupt(_))));
}

#[test]
fn pointer_loops_and_huge_sparse_trees_stay_bounded() {
    // The triple indirect pointer names the single indirect block, whose
    // entries then serve as pointers to more indirect blocks (a loop), on a
    // file grown to reach the triple indirect range.
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        let (fs, ino) = patch_inode(name, big_file(name), |img, off, ufs2| {
            let (size, _, ib) = fields(ufs2);
            let w = if ufs2 { 8 } else { 4 };
            let single = le32(img, off + ib);
            put32(img, off + ib + 2 * w, single);
            put32(img, off + ib + w, single);
            put64(img, off + size, 1 << 42);
        });
        let mut buf = vec![0u8; 65536];
        for at in [0u64, 1 << 30, 1 << 36, (1 << 42) - 65536] {
            // Either bytes or a clear error; never a hang or panic.
            let _ = fs.read(ino, at, &mut buf);
        }
        // A bounded sink stops the map however large the file.
        let _ = fs.extents(ino, 0, &mut ExtentsUpTo(Vec::new(), 1000));
    }
}

#[test]
fn size_past_what_the_map_addresses() {
    let (fs, ino) = patch_inode("ufs/ufs2-le-8k", "/boot/vmlinuz-5", |img, off, _| {
        put64(img, off + 16, i64::MAX as u64);
    });
    let mut buf = [0u8; 16];
    is_corrupt(fs.read(ino, 1 << 50, &mut buf), "block map");
    is_corrupt(
        fs.extents(ino, 0, &mut ExtentsUpTo(Vec::new(), 10)),
        "block map",
    );
    // Sizes past i64 are refused outright.
    let (fs, ino) = patch_inode("ufs/ufs1-le-8k", "/boot/vmlinuz-2", |img, off, _| {
        put64(img, off + 8, u64::MAX);
    });
    is_corrupt(fs.stat(ino), "size");
}

#[test]
fn huge_hole_is_one_zero_extent() {
    // Every pointer cleared and the size set past 4 TiB: the map is one Zero
    // extent, found without visiting each block.
    let (fs, ino) = patch_inode("ufs/ufs2-le-8k", "/boot/vmlinuz-5", |img, off, _| {
        img[off + 112..off + 232].fill(0);
        put64(img, off + 16, 5 << 40);
    });
    let mut ex = Extents(Vec::new());
    fs.extents(ino, 0, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1, "{:?}", ex.0);
    assert_eq!(ex.0[0].kind, fsimage_abi::ExtentKind::Zero);
    assert_eq!(ex.0[0].length, 5 << 40);
    let mut buf = vec![1u8; 4096];
    assert_eq!(fs.read(ino, (5 << 40) - 100, &mut buf).unwrap(), 100);
    assert!(buf[..100].iter().all(|&b| b == 0));
}

#[test]
fn absurd_symlink_lengths() {
    // A slow symlink of 1 TiB, and a fast one claiming more than its area.
    let fs_path = "/etc/short-link";
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        let (fs, ino) = patch_inode(name, fs_path, |img, off, ufs2| {
            let (size, _, _) = fields(ufs2);
            put64(img, off + size, 1 << 40);
        });
        match fs.read_link(ino) {
            Err(Error::Limit(m)) => assert!(m.contains("MAX_SYMLINK"), "{m}"),
            other => panic!("expected the symlink limit, got {other:?}"),
        }
    }
}

#[test]
fn truncated_images_never_panic() {
    let img = image_bytes("ufs/ufs1-be-16k");
    for len in [0, 8192, 8192 + 1000, 9000, 20000, 65536, 100_000, 300_000] {
        let mut t = img.clone();
        t.truncate(len);
        if let Ok(fs) = mount_bytes(t) {
            // Whatever is reachable reads or fails cleanly.
            let _ = sdk::list_dir(&fs, fs.root(), 1000);
            for p in ["/boot/vmlinuz-3", "/etc/hostname", "/bin/tool"] {
                if let Ok(id) = sdk::lookup_path(&fs, p.as_bytes()) {
                    let _ = sdk::read_all(&fs, id, 1 << 20);
                }
            }
        }
    }
}

/// A cleared pointer (direct, and the whole single indirect one) is a hole:
/// a Zero extent that reads as zeros, the rest of the file unchanged.
#[test]
fn cleared_pointers_are_holes() {
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        let orig = {
            let fs = mount(name).unwrap();
            let id = sdk::lookup_path(&fs, big_file(name).as_bytes()).unwrap();
            sdk::read_all(&fs, id, 1 << 20).unwrap()
        };
        let (fs, ino) = patch_inode(name, big_file(name), |img, off, ufs2| {
            let (_, db, ib) = fields(ufs2);
            let w = if ufs2 { 8 } else { 4 };
            img[off + db + 3 * w..off + db + 4 * w].fill(0);
            img[off + ib..off + ib + w].fill(0);
        });
        let got = sdk::read_all(&fs, ino, 1 << 20).unwrap();
        assert_eq!(got.len(), orig.len());
        let bs = 8192;
        let mut want = orig.clone();
        want[3 * bs..4 * bs].fill(0);
        want[12 * bs..].fill(0);
        assert!(got == want, "{name}: holes read wrong");
        let mut ex = Extents(Vec::new());
        fs.extents(ino, 0, &mut ex).unwrap();
        let zeros: Vec<_> =
            ex.0.iter()
                .filter(|e| e.kind == fsimage_abi::ExtentKind::Zero)
                .map(|e| (e.file_offset, e.length))
                .collect();
        assert_eq!(
            zeros,
            vec![
                (3 * bs as u64, bs as u64),
                (12 * bs as u64, orig.len() as u64 - 12 * bs as u64)
            ],
            "{name}"
        );
    }
}

/// d_type 0 (DT_UNKNOWN, as old filesystems write) is answered from the inode.
#[test]
fn unknown_d_type_is_answered_from_the_inode() {
    for name in ["ufs/ufs2-le-8k", "ufs/ufs1-le-8k"] {
        let pristine = sdk::list_dir(&mount(name).unwrap(), 2, 1000).unwrap();
        // d_type of the root's third record (after '.' and '..').
        let fs = damage_root_dir(name, 24 + 6, &[0]);
        let got = sdk::list_dir(&fs, 2, 1000).unwrap();
        assert_eq!(got, pristine, "{name}");
        assert!(got.iter().all(|e| e.kind != fsimage_abi::FileKind::Unknown));
    }
}

/// fs_volname is the UFS2 label; UFS1 has none.
#[test]
fn volume_name_is_the_ufs2_label() {
    for (name, want) in [
        ("ufs/ufs2-le-8k", Some(b"guest-root".to_vec())),
        ("ufs/ufs1-le-8k", None),
    ] {
        let mut img = image_bytes(name);
        img[SB + 680..SB + 690].copy_from_slice(b"guest-root");
        assert_eq!(mount_bytes(img).unwrap().label(), want, "{name}");
    }
}

/// Rewrites a UFS1 fixture's root directory and superblock into the 4.2BSD
/// format (fs_maxsymlinklen 0; each record's bytes 6-7 one 16-bit d_namlen
/// in the image's byte order, no d_type), as Solaris and old BSDs write it.
fn to_old_format(name: &str, big_endian: bool) -> Vec<u8> {
    let mut img = image_bytes(name);
    let rd32 = |b: &[u8], o: usize| {
        let a: [u8; 4] = b[o..o + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    img[SB + 1320..SB + 1324].fill(0);
    let iblkno = rd32(&img, SB + 16) as usize;
    let fsize = rd32(&img, SB + 52) as usize;
    let root = iblkno * fsize + 2 * 128;
    let dir_size = rd32(&img, root + 8 + if big_endian { 4 } else { 0 }) as usize;
    let blk = rd32(&img, root + 40) as usize * fsize;
    let mut pos = 0;
    while pos < dir_size {
        let r = blk + pos;
        let reclen = if big_endian {
            u16::from_be_bytes([img[r + 4], img[r + 5]])
        } else {
            u16::from_le_bytes([img[r + 4], img[r + 5]])
        } as usize;
        let namlen = img[r + 7] as u16;
        let b = if big_endian {
            namlen.to_be_bytes()
        } else {
            namlen.to_le_bytes()
        };
        img[r + 6..r + 8].copy_from_slice(&b);
        pos += reclen;
    }
    img
}

#[test]
fn old_format_directories_and_ids() {
    for (name, be) in [("ufs/ufs1-le-8k", false), ("ufs/ufs1-be-16k", true)] {
        let pristine = sdk::list_dir(&mount(name).unwrap(), 2, 1000).unwrap();
        let mut img = to_old_format(name, be);
        // 16-bit di_ouid of the root: used in this format when di_uid and
        // di_gid are 0 (they are in these fixtures).
        let root = inode_off(&image_bytes("ufs/ufs1-le-8k"), 2);
        let root = if be {
            let iblkno = u32::from_be_bytes(img[SB + 16..SB + 20].try_into().unwrap()) as usize;
            let fsize = u32::from_be_bytes(img[SB + 52..SB + 56].try_into().unwrap()) as usize;
            iblkno * fsize + 2 * 128
        } else {
            root
        };
        let ouid: [u8; 2] = if be {
            1234u16.to_be_bytes()
        } else {
            1234u16.to_le_bytes()
        };
        img[root + 4..root + 6].copy_from_slice(&ouid);
        let fs = mount_bytes(img.clone()).unwrap();
        let got = sdk::list_dir(&fs, 2, 1000).unwrap();
        assert_eq!(got, pristine, "{name}: old-format root listing");
        assert_eq!(
            fs.lookup(2, b"etc").unwrap(),
            pristine.iter().find(|e| e.name == b"etc").unwrap().id
        );
        assert_eq!(fs.stat(2).unwrap().uid, 1234, "{name}");
        // In the 4.4BSD format the old field is ignored.
        let mut img44 = image_bytes(name);
        img44[root + 4..root + 6].copy_from_slice(&ouid);
        assert_eq!(
            mount_bytes(img44).unwrap().stat(2).unwrap().uid,
            0,
            "{name}"
        );
    }
}
