//! Hostile input: real fixture bytes with one field broken end in a clean
//! error naming the structure, never a panic, hang or huge allocation.

mod common;
use common::*;
use fsimage_abi::{Device, Error, FileKind, Filesystem, Result};
use fsimage_plugin_ext2::Ext2Fs;
use std::collections::HashSet;

fn image(name: &str) -> Vec<u8> {
    std::fs::read(fsimage_testkit::image(name)).unwrap()
}

fn mount_bytes(img: &[u8], opts: &str) -> Result<Ext2Fs> {
    Ext2Fs::mount(vec![Device::new(img.to_vec())], opts.as_bytes())
}

fn put16(img: &mut [u8], off: usize, v: u16) {
    img[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(img: &mut [u8], off: usize, v: u32) {
    img[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn get32(img: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(img[off..off + 4].try_into().unwrap())
}

const SB: usize = 1024;

fn corrupt_msg(r: Result<impl Sized>) -> String {
    match r {
        Err(Error::Corrupt(m)) => m,
        Err(e) => panic!("expected Corrupt, got {e:?}"),
        Ok(_) => panic!("expected Corrupt, got success"),
    }
}

fn block_size(img: &[u8]) -> usize {
    1024 << get32(img, SB + 0x18)
}

/// Byte offset of inode `ino` (group 0 only), from the descriptor table.
fn inode_offset(img: &[u8], ino: usize) -> usize {
    let bs = block_size(img);
    let gdt = if bs == 1024 { 2 * bs } else { bs };
    let table = get32(img, gdt + 8) as usize;
    let isz = u16::from_le_bytes([img[SB + 0x58], img[SB + 0x59]]) as usize;
    table * bs + (ino - 1) * isz
}

/// Byte offset of the root directory's first block ("." and ".." both 2).
fn root_dir_block(img: &[u8]) -> usize {
    let pat = [2u8, 0, 0, 0, 12, 0, 1, 2, b'.', 0, 0, 0, 2, 0, 0, 0];
    let bs = block_size(img);
    (0..img.len() / bs)
        .map(|b| b * bs)
        .find(|&o| img[o..o + 16] == pat)
        .expect("root directory block")
}

#[test]
fn superblock_fields() {
    let good = image("ext/ext2-4k");
    assert!(mount_bytes(&good, "").is_ok());
    let cases: &[(usize, u32, usize, &str)] = &[
        (0x28, 0, 4, "s_inodes_per_group"),
        (0x28, 0xFFFF_FFFF, 4, "s_inodes_per_group"),
        (0x18, 30, 4, "s_log_block_size"),
        (0x20, 0, 4, "s_blocks_per_group"),
        (0x00, 0xFFFF_FFFF, 4, "s_inodes_count"),
        (0x04, 0, 4, "s_blocks_count"),
        (0x58, 100, 2, "s_inode_size"),
        (0x58, 8192, 2, "s_inode_size"),
        (0x4C, 7, 4, "s_rev_level"),
    ];
    for &(off, v, w, what) in cases {
        let mut img = good.clone();
        if w == 4 {
            put32(&mut img, SB + off, v);
        } else {
            put16(&mut img, SB + off, v as u16);
        }
        let m = corrupt_msg(mount_bytes(&img, ""));
        assert!(m.contains(what), "{what}: {m}");
        // probe says no rather than erroring.
        assert_eq!(Ext2Fs::probe(&[Device::new(img)]).unwrap(), 0);
    }
    // 64bit: s_blocks_count_hi so large that byte offsets overflow.
    let mut img = good.clone();
    let f = get32(&img, SB + 0x60);
    put32(&mut img, SB + 0x60, f | 0x80);
    put16(&mut img, SB + 0xFE, 64);
    put32(&mut img, SB + 0x150, 0xFFFF_FFFF);
    let m = corrupt_msg(mount_bytes(&img, ""));
    assert!(m.contains("s_blocks_count"), "{m}");
    let mut img = good.clone();
    put16(&mut img, SB + 0x38, 0xEF54);
    assert!(matches!(
        mount_bytes(&img, ""),
        Err(Error::NotRecognized(_))
    ));
    // A truncated image: reads past the end are errors, not panics.
    assert!(mount_bytes(&good[..1500], "").is_err());
    assert!(mount_bytes(&good[..8192], "").is_err());
}

#[test]
fn incompat_features_are_refused_by_name() {
    let good = image("ext/ext2-4k");
    for (bit, name) in [
        (0x10000u32, "ext4 feature: encrypt"),
        (0x1, "ext4 feature: compression"),
        (0x1000, "ext4 feature: dirdata"),
        (0x8, "ext4 feature: journal_dev"),
        (
            0x0100_0000,
            "ext4 feature: unknown incompat flags 0x1000000",
        ),
    ] {
        let mut img = good.clone();
        let f = get32(&img, SB + 0x60);
        put32(&mut img, SB + 0x60, f | bit);
        match mount_bytes(&img, "") {
            Err(Error::Unsupported(m)) => assert_eq!(m, name),
            other => panic!("{name}: {:?}", other.err()),
        }
    }
    // RO_COMPAT flags never stop a read-only reader, even unknown ones.
    let mut img = good.clone();
    let f = get32(&img, SB + 0x64);
    put32(&mut img, SB + 0x64, f | 0xFFF0_0000);
    let fs = mount_bytes(&img, "").unwrap();
    assert!(list(&fs, fs.root(), 100).len() > 5);
}

#[test]
fn directory_entries() {
    let good = image("ext/ext2-4k");
    let root = root_dir_block(&good);
    // First entry "." : rec_len at +4, name_len at +6. Second ".." at +12.
    let cases: &[(usize, u16, &str)] = &[
        (4, 0, "bad rec_len"),
        (4, 13, "bad rec_len"),
        (16, 0xFFF0, "rec_len past the end of the block"),
    ];
    for &(off, v, what) in cases {
        let mut img = good.clone();
        put16(&mut img, root + off, v);
        let fs = mount_bytes(&img, "").unwrap();
        let m = corrupt_msg(fs.read_dir(fs.root(), 0, &mut Collect(Vec::new(), 100)));
        assert!(m.contains(what) && m.contains("directory 2"), "{m}");
        let m = corrupt_msg(fs.lookup(fs.root(), b"etc"));
        assert!(m.contains(what), "{m}");
    }
    // A name longer than its entry.
    let mut img = good.clone();
    img[root + 6] = 200;
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.read_dir(fs.root(), 0, &mut Collect(Vec::new(), 100)));
    assert!(m.contains("name longer"), "{m}");
    // Names no path can hold: empty, with '/', with NUL ("etc" is entry 3+).
    let fs = mount_bytes(&good, "").unwrap();
    let (cookie, _, _, _) = list(&fs, fs.root(), 100)
        .into_iter()
        .find(|e| e.3 == b"etc")
        .unwrap();
    let at = root + cookie as usize;
    for (off, v) in [(6usize, 0u8), (8, b'/'), (9, 0)] {
        let mut img = good.clone();
        img[at + off] = v;
        let fs = mount_bytes(&img, "").unwrap();
        let m = corrupt_msg(fs.read_dir(fs.root(), 0, &mut Collect(Vec::new(), 100)));
        assert!(m.contains("invalid name"), "{m}");
    }
    // An entry naming an inode past s_inodes_count.
    let mut img = good.clone();
    put32(&mut img, root + 24, 0x7FFF_FFFF);
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.read_dir(fs.root(), 0, &mut Collect(Vec::new(), 100)));
    assert!(m.contains("out of range"), "{m}");
}

#[test]
fn directory_loops_are_the_walkers_to_stop_but_never_hang() {
    // /bin's entry made to point at the root: every call still returns.
    let good = image("ext/ext2-4k");
    let root = root_dir_block(&good);
    let fs = mount_bytes(&good, "").unwrap();
    let entries = list(&fs, fs.root(), 100);
    let (cookie, _, _, _) = entries.iter().find(|e| e.3 == b"bin").unwrap();
    let mut img = good.clone();
    put32(&mut img, root + *cookie as usize, 2);
    let fs = mount_bytes(&img, "").unwrap();
    let bin = fs.lookup(fs.root(), b"bin").unwrap();
    assert_eq!(bin, 2);
    assert_eq!(fs.lookup(bin, b"bin").unwrap(), 2);
}

#[test]
fn extent_trees() {
    let good = image("ext/ext4");
    let ino = inode_offset(&good, 2);
    let i_block = ino + 0x28;
    assert_eq!(&good[i_block..i_block + 2], &[0x0A, 0xF3]);
    // Depth 9.
    let mut img = good.clone();
    put16(&mut img, i_block + 6, 9);
    let fs = mount_bytes(&img, "csum=off").unwrap();
    match fs.read_dir(2, 0, &mut Collect(Vec::new(), 100)) {
        Err(Error::Limit(m)) => {
            assert_eq!(m, "inode 2: extent tree depth 9 > 5 (MAX_EXTENT_DEPTH)")
        }
        other => panic!("expected the depth limit, got {other:?}"),
    }
    // With checksums on, the inode checksum catches it first.
    let m = corrupt_msg(mount_bytes(&img, ""));
    assert!(m.starts_with("inode 2: checksum"), "{m}");
    // An extent pointing past the end of the filesystem.
    let mut img = good.clone();
    put32(&mut img, i_block + 12 + 8, 0xFFFF_FF00);
    let fs = mount_bytes(&img, "csum=off").unwrap();
    let m = corrupt_msg(fs.read_dir(2, 0, &mut Collect(Vec::new(), 100)));
    assert!(m.contains("outside the filesystem"), "{m}");
    // eh_entries > eh_max, bad magic, zero-length extent.
    for (off, v, what) in [
        (2usize, 9u16, "do not fit"),
        (0, 0x1234, "bad magic"),
        (12 + 4, 0, "length 0"),
    ] {
        let mut img = good.clone();
        put16(&mut img, i_block + off, v);
        let fs = mount_bytes(&img, "csum=off").unwrap();
        let m = corrupt_msg(fs.read_dir(2, 0, &mut Collect(Vec::new(), 100)));
        assert!(m.contains(what), "{what}: {m}");
    }
}

#[test]
fn absurd_sizes() {
    let good = image("ext/ext2-4k");
    let fs = mount_bytes(&good, "").unwrap();
    let id = fsimage_abi::sdk::lookup_path(&fs, b"/boot/grub/grub.cfg").unwrap() as usize;
    let ino = inode_offset(&good, id);
    let mut img = good.clone();
    put32(&mut img, ino + 0x6C, 0xFFFF_FFFF); // i_size_high
    let fs = mount_bytes(&img, "").unwrap();
    let id = id as u64;
    assert_eq!(fs.stat(id).unwrap().size >> 32, 0xFFFF_FFFF);
    let m = corrupt_msg(fs.read(id, 1 << 40, &mut [0u8; 16]));
    assert!(m.contains("more than its block map can address"), "{m}");
    let m = corrupt_msg(fs.extents(id, 0, &mut Extents(Vec::new())));
    assert!(m.contains("more than its block map can address"), "{m}");
    // A symlink claiming 4 GiB.
    let link = fsimage_abi::sdk::lookup_path(&fs, b"/etc/long-link").unwrap() as usize;
    let mut img = good.clone();
    put32(&mut img, inode_offset(&good, link) + 0x6C, 1);
    let fs = mount_bytes(&img, "").unwrap();
    match fs.read_link(link as u64) {
        Err(Error::Limit(m)) => assert!(m.contains("MAX_SYMLINK"), "{m}"),
        other => panic!("expected the symlink limit, got {other:?}"),
    }
    // An indirect block pointing past the filesystem.
    let big = fsimage_abi::sdk::lookup_path(&fs, b"/boot/vmlinuz-3").unwrap() as usize;
    let mut img = good.clone();
    put32(
        &mut img,
        inode_offset(&good, big) + 0x28 + 12 * 4,
        0x00FF_FFFF,
    );
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.read(big as u64, 20 * 4096, &mut [0u8; 16]));
    assert!(m.contains("outside the filesystem"), "{m}");
}

#[test]
fn group_descriptors() {
    let good = image("ext/ext2-4k");
    let mut img = good.clone();
    put32(&mut img, 4096 + 8, 0x7FFF_FFF0); // bg_inode_table_lo
    let m = corrupt_msg(mount_bytes(&img, ""));
    assert!(m.contains("group descriptor 0: inode table"), "{m}");
}

#[test]
fn metadata_checksums() {
    let good = image("ext/ext4");
    // Superblock: a byte of the volume name.
    let mut img = good.clone();
    img[SB + 0x78] ^= 1;
    let m = corrupt_msg(mount_bytes(&img, ""));
    assert!(m.starts_with("superblock: checksum"), "{m}");
    assert!(mount_bytes(&img, "csum=off").is_ok());
    // Group descriptor 0: its free block count.
    let mut img = good.clone();
    img[4096 + 0x0C] ^= 1;
    let m = corrupt_msg(mount_bytes(&img, ""));
    assert!(m.starts_with("group descriptor 0: checksum"), "{m}");
    assert!(mount_bytes(&img, "csum=off").is_ok());
    // Inode: its mtime.
    let mut img = good.clone();
    let id = {
        let fs = mount_bytes(&good, "").unwrap();
        fsimage_abi::sdk::lookup_path(&fs, b"/etc/motd").unwrap()
    };
    img[inode_offset(&good, id as usize) + 0x10] ^= 1;
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.stat(id));
    assert_eq!(&m[..m.find(':').unwrap()], format!("inode {id}"));
    assert!(mount_bytes(&img, "csum=off").unwrap().stat(id).is_ok());
    // Directory leaf: a byte of a name in the root directory.
    let root = root_dir_block(&good);
    let mut img = good.clone();
    img[root + 24 + 8] ^= 0x20;
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.read_dir(2, 0, &mut Collect(Vec::new(), 100)));
    assert!(m.starts_with("directory 2: block 0: checksum"), "{m}");
    let fs = mount_bytes(&img, "csum=off").unwrap();
    assert!(fs.read_dir(2, 0, &mut Collect(Vec::new(), 100)).is_ok());
}

#[test]
fn extent_and_htree_block_checksums() {
    // ext4-full's /many (21 fragments) has an extent tree with a separate
    // leaf block; ext4-1k-htree's /many has index blocks.
    let good = image("ext/ext4-full");
    let fs = mount_bytes(&good, "").unwrap();
    let big = fsimage_abi::sdk::lookup_path(&fs, b"/many").unwrap() as usize;
    let i_block = inode_offset(&good, big) + 0x28;
    assert!(
        u16::from_le_bytes([good[i_block + 6], good[i_block + 7]]) > 0,
        "depth"
    );
    let leaf = get32(&good, i_block + 12 + 4) as usize * 4096;
    assert_eq!(&good[leaf..leaf + 2], &[0x0A, 0xF3]);
    let mut img = good.clone();
    img[leaf + 12 + 4] ^= 1; // first extent's ee_len
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.read_dir(big as u64, 0, &mut Collect(Vec::new(), 10)));
    assert!(
        m.contains(&format!("inode {big}: extent block")) && m.contains("checksum"),
        "{m}"
    );

    let good = image("ext/ext4-1k-htree");
    let fs = mount_bytes(&good, "").unwrap();
    let many = fsimage_abi::sdk::lookup_path(&fs, b"/many").unwrap();
    let name = list(&fs, many, 1)[0].3.clone();
    // The dx root is the directory's block 0: find it by its ".." entry
    // spanning the block and the dx_root_info after it.
    let bs = 1024;
    let root = (0..good.len() / bs)
        .map(|b| b * bs)
        .find(|&o| {
            get32(&good, o) == many as u32
                && good[o + 8] == b'.'
                && u16::from_le_bytes([good[o + 16], good[o + 17]]) == 1012
                && good[o + 24 + 5] == 8
        })
        .expect("dx root");
    let mut img = good.clone();
    img[root + 40] ^= 1; // a hash in the index
    let fs = mount_bytes(&img, "").unwrap();
    let m = corrupt_msg(fs.lookup(many, &name));
    assert!(m.contains("htree node: checksum"), "{m}");
    // Without verification the lookup still works (or misses), cleanly.
    let fs = mount_bytes(&img, "csum=off").unwrap();
    let _ = fs.lookup(many, &name);
}

/// Walks everything reachable with errors allowed, bounded.
fn tolerant_walk(fs: &Ext2Fs) {
    let mut stack = vec![fs.root()];
    let mut seen = HashSet::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Some(d) = stack.pop() {
        if !seen.insert(d) || seen.len() > 500 {
            continue;
        }
        let mut c = Collect(Vec::new(), 2000);
        let _ = fs.read_dir(d, 0, &mut c);
        for (_, id, _, name) in c.0 {
            let _ = fs.lookup(d, &name);
            let Ok(st) = fs.stat(id) else { continue };
            match st.kind {
                FileKind::Dir => stack.push(id),
                FileKind::Symlink => {
                    let _ = fs.read_link(id);
                }
                _ => {
                    let _ = fs.read(id, 0, &mut buf);
                    let _ = fs.read(id, st.size.saturating_sub(100), &mut buf);
                    let _ = fs.extents(id, 0, &mut Extents(Vec::new()));
                }
            }
        }
    }
}

#[test]
fn random_metadata_damage_never_panics() {
    // EXT2_DAMAGE_ITERS raises the rounds for a longer soak.
    let rounds: usize = std::env::var("EXT2_DAMAGE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    for (name, span, opts) in [
        ("ext/ext2-1k", 80 * 1024, ""),
        ("ext/ext4", 600 * 4096, "csum=off"),
        ("ext/ext4-inline", 600 * 4096, "csum=off"),
        ("ext/ext3-journal-dirty", 300 * 1024, "journal=replay"),
        (
            "ext/ext4-journal-dirty",
            1400 * 4096,
            "journal=replay,csum=off",
        ),
        ("ext/ext4-1k-htree", 2200 * 1024, "csum=off"),
        ("ext/ext2-nofiletype-legacy", 1024 * 1024, ""),
    ] {
        let good = image(name);
        let span = span.min(good.len());
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..rounds {
            let mut img = good.clone();
            for _ in 0..40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = 1024 + (x as usize % (span - 1024));
                img[at] = (x >> 40) as u8;
            }
            if let Ok(fs) = mount_bytes(&img, opts) {
                tolerant_walk(&fs);
            }
        }
    }
}

/// Reads a file through a mount of `img`.
fn read_path(img: &[u8], opts: &str, p: &str) -> Vec<u8> {
    let fs = mount_bytes(img, opts).unwrap();
    let id = fsimage_abi::sdk::lookup_path(&fs, p.as_bytes()).unwrap();
    fsimage_abi::sdk::read_all(&fs, id, 1 << 20).unwrap()
}

#[test]
fn journal_checksums_decide_what_is_replayed() {
    // ext4-journal-dirty.recipe: log block 1 = descriptor of transaction 1,
    // 2 = /etc/hostname's new copy, 3 = /sizes/s4096's, 4 = its commit.
    let good = image("ext/ext4-journal-dirty");
    let j = inode_offset(&good, 8) + 0x28;
    assert_eq!(&good[j..j + 2], &[0x0A, 0xF3]);
    let j0 = get32(&good, j + 12 + 8) as usize * 4096;
    let host = b"REPLAYED-1\n".to_vec();
    let orig = read_path(&good, "", "/etc/hostname");
    assert_eq!(read_path(&good, "journal=replay", "/etc/hostname"), host);
    // A damaged data block is not replayed; the rest of its transaction is.
    let mut img = good.clone();
    img[j0 + 2 * 4096 + 100] ^= 1;
    assert_eq!(read_path(&img, "journal=replay", "/etc/hostname"), orig);
    let s4096 = read_path(&img, "journal=replay", "/sizes/s4096");
    assert_eq!(&s4096[..4], &[0xC0, 0x3B, 0x39, 0x98]);
    // Without verification it is replayed as found.
    assert_eq!(
        read_path(&img, "journal=replay,csum=off", "/etc/hostname"),
        host
    );
    // A damaged commit block: transaction 1 never committed.
    let mut img = good.clone();
    img[j0 + 4 * 4096 + 40] ^= 1;
    assert_eq!(read_path(&img, "journal=replay", "/etc/hostname"), orig);
    assert_eq!(
        read_path(&img, "journal=replay,csum=off", "/etc/hostname"),
        host
    );
    // A damaged journal superblock is an error when replaying.
    let mut img = good.clone();
    img[j0 + 0x30] ^= 1; // s_uuid
    let m = corrupt_msg(mount_bytes(&img, "journal=replay"));
    assert!(m.starts_with("journal: superblock checksum"), "{m}");
    assert!(mount_bytes(&img, "").is_ok());
}

#[test]
fn truncated_images_map_nothing_past_the_device() {
    let good = image("ext/ext4");
    let fs = mount_bytes(&good, "").unwrap();
    let id = fsimage_abi::sdk::lookup_path(&fs, b"/boot/vmlinuz-5").unwrap();
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    let data_end =
        ex.0.iter()
            .map(|e| e.device_offset + e.length)
            .max()
            .unwrap() as usize;
    // Cut the image inside the file's data: its map is now an error, not
    // extents pointing past the end.
    let cut = &good[..data_end - 8192];
    let fs = mount_bytes(cut, "").unwrap();
    let m = corrupt_msg(fs.extents(id, 0, &mut Extents(Vec::new())));
    assert!(m.contains("outside the filesystem"), "{m}");
    assert!(fs.read(id, 0, &mut vec![0u8; 400_000]).is_err());
}
