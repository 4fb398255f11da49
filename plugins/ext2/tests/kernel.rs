//! The images the Linux kernel wrote (fixtures/ext/mkkernel.sh): checks that
//! they still exercise what their recipes claim, read from the raw bytes by a
//! minimal reader of its own (superblock, group descriptors, inodes, extent
//! trees, htree root), and that the plugin agrees where it matters.

mod common;
use common::*;
use fsimage_abi::sdk::{lookup_path, read_all};
use fsimage_abi::{Error, ExtentKind, FileKind, Filesystem};
use fsimage_testkit::{EntryKind, image, manifest};

/// The raw image, read independently of the plugin.
struct Raw(Vec<u8>);

/// One leaf extent: logical block, length, physical block, unwritten.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    lblk: u64,
    len: u64,
    pblk: u64,
    unwritten: bool,
}

impl Raw {
    fn open(name: &str) -> Raw {
        Raw(std::fs::read(image(name)).expect("image"))
    }
    fn u16(&self, o: usize) -> u64 {
        u64::from(u16::from_le_bytes(self.0[o..o + 2].try_into().unwrap()))
    }
    fn u32(&self, o: usize) -> u64 {
        u64::from(u32::from_le_bytes(self.0[o..o + 4].try_into().unwrap()))
    }
    fn bs(&self) -> usize {
        1024 << self.u32(1024 + 24)
    }
    fn block(&self, b: u64) -> &[u8] {
        let o = b as usize * self.bs();
        &self.0[o..o + self.bs()]
    }
    /// Offset of inode `ino` in the image.
    fn inode(&self, ino: u64) -> usize {
        let sb = 1024;
        let ipg = self.u32(sb + 0x28);
        let isz = self.u16(sb + 0x58) as usize;
        let is64 = self.u32(sb + 0x60) & 0x80 != 0;
        let dsz = if is64 {
            self.u16(sb + 0xFE) as usize
        } else {
            32
        };
        let gdt = if self.bs() == 1024 { 2048 } else { self.bs() };
        let d = gdt + ((ino - 1) / ipg) as usize * dsz;
        let mut table = self.u32(d + 8);
        if is64 {
            table |= self.u32(d + 0x28) << 32;
        }
        table as usize * self.bs() + ((ino - 1) % ipg) as usize * isz
    }
    fn flags(&self, ino: u64) -> u64 {
        self.u32(self.inode(ino) + 0x20)
    }
    /// Depth of the inode's extent tree and its leaves, in order.
    fn extents(&self, ino: u64) -> (u64, Vec<Leaf>) {
        let root = self.inode(ino) + 0x28;
        let depth = self.u16(root + 6);
        let mut out = Vec::new();
        self.walk(root, &mut out);
        (depth, out)
    }
    fn walk(&self, node: usize, out: &mut Vec<Leaf>) {
        assert_eq!(self.u16(node), 0xF30A, "extent header magic");
        let (n, depth) = (self.u16(node + 2) as usize, self.u16(node + 6));
        for i in 0..n {
            let e = node + 12 + 12 * i;
            if depth > 0 {
                let leaf = self.u32(e + 4) | self.u16(e + 8) << 32;
                self.walk(leaf as usize * self.bs(), out);
            } else {
                let len = self.u16(e + 4);
                out.push(Leaf {
                    lblk: self.u32(e),
                    len: if len > 32768 { len - 32768 } else { len },
                    pblk: self.u32(e + 8) | self.u16(e + 6) << 32,
                    unwritten: len > 32768,
                });
            }
        }
    }
}

fn id(fs: &fsimage_plugin_ext2::Ext2Fs, p: &str) -> u64 {
    lookup_path(fs, p.as_bytes()).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn fragmented_files_have_index_nodes_and_read_through_them() {
    let raw = Raw::open("ext/ext4-kernel");
    let fs = mount("ext/ext4-kernel", "").unwrap();
    let bs = raw.bs() as u64;
    // (path, depth, extents; 0: allocation-dependent, at least 20)
    for (p, depth, n) in [
        ("/frag/depth1", 1, 40),
        ("/frag/depth2", 2, 1500),
        ("/frag/interleaved-a", 1, 0),
        ("/frag/interleaved-b", 1, 0),
    ] {
        let ino = id(&fs, p);
        let (d, leaves) = raw.extents(ino);
        let n = if n == 0 { leaves.len().max(20) } else { n };
        assert_eq!((d, leaves.len()), (depth, n), "{p}: depth and extents");
        // The plugin maps every written extent where the raw tree says.
        let mut ex = Extents(Vec::new());
        fs.extents(ino, 0, &mut ex).unwrap();
        let data: Vec<_> = ex.0.iter().filter(|e| e.kind == ExtentKind::Data).collect();
        assert_eq!(data.len(), n, "{p}: data extents");
        for (e, l) in data.iter().zip(&leaves) {
            assert_eq!(
                (e.file_offset, e.device_offset),
                (l.lblk * bs, l.pblk * bs),
                "{p}"
            );
        }
    }
}

#[test]
fn unwritten_extents_on_dirty_blocks_read_as_zeros() {
    unwritten_on_dirty_blocks("ext/ext4-kernel");
}

#[test]
fn unwritten_extents_in_bigalloc_clusters_read_as_zeros() {
    unwritten_on_dirty_blocks("ext/ext4-kernel-bigalloc");
}

fn unwritten_on_dirty_blocks(name: &str) {
    let raw = Raw::open(name);
    let fs = mount(name, "").unwrap();
    let bs = raw.bs() as u64;
    let mut dirty_blocks = 0;
    for p in [
        "/prealloc/partly-written",
        "/prealloc/never-written",
        "/prealloc/keep-size",
        "/holes/zero-range",
    ] {
        let ino = id(&fs, p);
        let size = fs.stat(ino).unwrap().size;
        let data = read_all(&fs, ino, 1 << 20).unwrap();
        let mut ex = Extents(Vec::new());
        fs.extents(ino, 0, &mut ex).unwrap();
        let (_, leaves) = raw.extents(ino);
        for l in leaves.iter().filter(|l| l.unwritten) {
            for b in 0..l.len {
                let off = (l.lblk + b) * bs;
                if off >= size {
                    continue; // past EOF (keep-size): not part of the file
                }
                let disk = raw.block(l.pblk + b);
                // 0xAA from the deleted garbage file, or (zero-range) the
                // file's old data: never zeros, so a reader returning disk
                // bytes here is caught.
                assert!(
                    disk.iter().all(|&x| x != 0),
                    "{p}: block {} is clean",
                    l.pblk + b
                );
                dirty_blocks += 1;
                let end = (off + bs).min(size);
                assert!(
                    data[off as usize..end as usize].iter().all(|&x| x == 0),
                    "{p}: unwritten block at {off} does not read as zeros"
                );
                let e =
                    ex.0.iter()
                        .find(|e| e.file_offset <= off && off < e.file_offset + e.length)
                        .unwrap();
                assert_eq!(e.kind, ExtentKind::Zero, "{p}: extent at {off}");
            }
        }
    }
    assert!(dirty_blocks > 300, "only {dirty_blocks} unwritten blocks");
    // keep-size: unwritten extents past EOF; the map stops at the size.
    let ino = id(&fs, "/prealloc/keep-size");
    let (_, leaves) = raw.extents(ino);
    let last = leaves.last().unwrap();
    assert!(last.unwritten && (last.lblk + last.len) * bs > 10000);
    let mut ex = Extents(Vec::new());
    fs.extents(ino, 0, &mut ex).unwrap();
    let e = ex.0.last().unwrap();
    assert_eq!(e.file_offset + e.length, 10000);
}

#[test]
fn kernel_built_htree_root_keeps_the_old_leaf_tail() {
    // make_indexed_dir leaves the converted leaf's tail (rec_len 12, type
    // 0xDE) in dt_reserved: shaped like a leaf checksum tail, it is not one.
    let raw = Raw::open("ext/ext4-kernel");
    let fs = mount("ext/ext4-kernel", "").unwrap();
    let big = id(&fs, "/big");
    assert_ne!(raw.flags(big) & 0x1000, 0, "/big is indexed");
    let (_, leaves) = raw.extents(big);
    let root = raw.block(leaves[0].pblk);
    let t = root.len() - 12;
    assert_eq!(&root[t..t + 8], &[0, 0, 0, 0, 12, 0, 0, 0xDE]);
    assert_eq!(list(&fs, big, 10_000).len(), 3231);
    assert_eq!(
        fs.lookup(big, b"renamed-00010").unwrap(),
        id(&fs, "/big/linked")
    );
}

#[test]
fn large_dir_three_level_htree_and_inline_data() {
    let raw = Raw::open("ext/ext4-kernel-1k-inline");
    let fs = mount("ext/ext4-kernel-1k-inline", "").unwrap();
    // dx_root_info.indirect_levels (offset 0x1E of block 0): 2 = three levels.
    let large = id(&fs, "/large");
    let (_, leaves) = raw.extents(large);
    assert_eq!(raw.block(leaves[0].pblk)[0x1E], 2);
    assert!(fs.stat(large).unwrap().size > 15_000 * 1024);
    let names = list(&fs, large, 10_000);
    assert_eq!(names.len(), 681);
    let linked = id(&fs, "/large/linked");
    for (_, i, _, name) in &names {
        assert_eq!(fs.lookup(large, name).unwrap(), *i);
        assert_eq!(*i, linked);
    }
    const INLINE: u64 = 0x1000_0000;
    for (p, inline) in [
        ("/inline/file-59", true),
        ("/inline/file-100", true), // past i_block: the system.data xattr
        ("/inline/file-150", false),
        ("/inline/grown", false),
        ("/inline/dir-small", true),
        ("/inline/dir-empty", true),
        ("/inline/dir-grown", false),
    ] {
        assert_eq!(raw.flags(id(&fs, p)) & INLINE != 0, inline, "{p}");
    }
    let small = id(&fs, "/inline/dir-small");
    assert_eq!(list(&fs, small, 10).len(), 2);
    assert_eq!(fs.lookup(small, b"..").unwrap(), id(&fs, "/inline"));
}

/// Without replay, /gone's blocks hold the data /reuse was given after they
/// were freed (the log revokes them): the kernel (ro,noload) fails there and
/// so must we, cleanly. Every other entry reads as the manifest (the
/// kernel's noload view) says.
fn dirty_as_it_stands(name: &str) {
    let fs = mount(name, "").unwrap();
    let dev = file_dev(&image(name));
    let gone = id(&fs, "/gone");
    let mut c = Collect(Vec::new(), 1000);
    let err = fs.read_dir(gone, 0, &mut c).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert!(fs.lookup(gone, b"r000").is_err());
    let want = manifest(name);
    assert!(want.len() > 60);
    for e in want {
        let i = id(&fs, &e.path);
        let st = fs.stat(i).unwrap();
        assert_eq!(st.perm, e.mode.unwrap(), "{}", e.path);
        match e.kind {
            EntryKind::Dir => assert_eq!(st.kind, FileKind::Dir, "{}", e.path),
            EntryKind::Symlink => {
                let t = fs.read_link(i).unwrap();
                assert_eq!(e.target.as_deref(), Some(&*String::from_utf8_lossy(&t)));
            }
            EntryKind::File => {
                assert_eq!(st.size, e.size, "{}", e.path);
                let h = hash_via_extents(&fs, &dev, i, st.size);
                assert_eq!(Some(h), e.sha256, "{}", e.path);
            }
        }
    }
}

#[test]
fn ext4_dirty_journal_as_it_stands_fails_cleanly_where_the_kernel_does() {
    // The kernel: "dx_probe: Directory index failed checksum" (EBADMSG).
    dirty_as_it_stands("ext/ext4-kernel-dirty");
}

#[test]
fn ext3_dirty_journal_as_it_stands_fails_cleanly_where_the_kernel_does() {
    // No checksums: the kernel maps /gone through an indirect block that now
    // holds data ("lblock 19 mapped to illegal pblock", EUCLEAN).
    dirty_as_it_stands("ext/ext3-kernel-dirty");
}

#[test]
fn ext3_kernel_block_maps_reach_triple_indirect() {
    let raw = Raw::open("ext/ext3-kernel-dirty");
    let fs = mount("ext/ext3-kernel-dirty", "journal=replay").unwrap();
    let ino = id(&fs, "/blockmap/deep-sparse");
    let at = raw.inode(ino);
    assert_eq!(raw.flags(ino) & 0x80000, 0, "block-mapped, not extents");
    // i_block[12..15]: single, double, triple indirect, all in use.
    for k in 12..15 {
        assert_ne!(raw.u32(at + 0x28 + 4 * k), 0, "i_block[{k}]");
    }
    let size = fs.stat(ino).unwrap().size;
    assert_eq!(size, (70 << 20) + 3000);
    let mut tail = vec![0u8; 3000];
    assert_eq!(fs.read(ino, 70 << 20, &mut tail).unwrap(), 3000);
    assert!(tail.starts_with(b"bm73400320:00000000\n"));
}

#[test]
fn data_journal_replay_restores_an_escaped_data_block() {
    // ext4-kernel-dirty-dj: the kernel logged /tree/sizes/s65536's first
    // block, which starts with the jbd2 magic, escaped (tag flag 1); in
    // place the old bytes remain.
    let magic = [0xC0u8, 0x3B, 0x39, 0x98].repeat(1024);
    let fs = mount("ext/ext4-kernel-dirty-dj", "journal=replay").unwrap();
    let i = id(&fs, "/tree/sizes/s65536");
    let mut b = vec![0u8; 4096];
    assert_eq!(fs.read(i, 0, &mut b).unwrap(), 4096);
    assert_eq!(b, magic);
    // The block comes from the log: not a device range.
    let mut ex = Extents(Vec::new());
    fs.extents(i, 0, &mut ex).unwrap();
    assert_eq!(ex.0[0].kind, ExtentKind::Opaque);
    assert_eq!((ex.0[0].file_offset, ex.0[0].length), (0, 4096));
    let as_is = mount("ext/ext4-kernel-dirty-dj", "").unwrap();
    assert_eq!(as_is.read(i, 0, &mut b).unwrap(), 4096);
    assert_ne!(b, magic);
}

#[test]
fn three_level_htree_lookups_read_a_handful_of_blocks() {
    use std::sync::atomic::Ordering;
    let name = "ext/ext4-kernel-1k-inline";
    let fs = mount(name, "").unwrap();
    let names = list(&fs, id(&fs, "/large"), 10_000);
    for (_, _, _, hit) in names.iter().step_by(97) {
        let miss = [&hit[..], b"-x"].concat();
        for (n, found) in [(hit, true), (&miss, false)] {
            // A fresh mount each time: nothing cached but the path to /large.
            let (fs, reads) = counting_mount(name);
            let large = id(&fs, "/large");
            reads.store(0, Ordering::Relaxed);
            assert_eq!(fs.lookup(large, n).is_ok(), found);
            let r = reads.load(Ordering::Relaxed);
            // Root, two index levels, a leaf, the directory's extent index
            // and leaf blocks: a linear scan would read 17 000 blocks.
            assert!(r <= 6, "lookup read {r} blocks");
        }
    }
}

#[test]
fn pending_fast_commits_are_refused_by_name() {
    // ext4-kernel-dirty-fc: after the last full commit, fsync logged an
    // append to /tree/etc/motd and two new files as fast commits only. The
    // kernel and e2fsck replay them (ext4-kernel-dirty-fc-replayed.manifest);
    // this plugin replays full commits only, so `journal=replay` refuses
    // the image by name instead of passing off an older view as the
    // kernel's. Read as it stands, it mounts (fixtures.rs checks that).
    let Err(err) = mount("ext/ext4-kernel-dirty-fc", "journal=replay") else {
        panic!("journal=replay mounted an image with pending fast commits");
    };
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("fast-commit replay"), "{msg}");
    assert!(msg.contains("transaction 6"), "{msg}");
    let want = manifest("ext/ext4-kernel-dirty-fc-replayed");
    assert!(want.iter().any(|e| e.path == "/tree/etc/fc-new"));
    // Images whose fast-commit area holds nothing pending still replay:
    // the other kernel-dirty images (no fast_commit) are checked in
    // fixtures.rs; fast_commit without pending records needs no replay.
    assert!(mount("ext/ext4-kernel-dirty-fc", "").is_ok());
}

#[test]
fn a_fast_commit_area_with_a_bad_crc_is_ignored_as_the_kernel_does() {
    // The kernel applies fast commits only up to a tail record whose CRC
    // holds; with the only tail spoiled it replays the full commits alone,
    // and so does journal=replay (rather than refusing).
    let mut bytes = fsimage_testkit::plugin::image_bytes("ext/ext4-kernel-dirty-fc");
    let head = bytes
        .chunks(4096)
        .position(|b| b.starts_with(&[9, 0, 8, 0]) && b.get(8..12) == Some(&6u32.to_le_bytes()))
        .expect("the fast-commit area's head record")
        * 4096;
    // Records: head, then ADD_RANGE, INODE, ..., the tail (tag 8).
    let mut at = head;
    while bytes[at..at + 2] != [8, 0] {
        at += 4 + usize::from(u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    assert_eq!(
        bytes[at + 4..at + 8],
        6u32.to_le_bytes(),
        "tail of transaction 6"
    );
    let good: fsimage_plugin_ext2::Ext2Fs =
        fsimage_testkit::plugin::mount_bytes(bytes.clone(), "").unwrap();
    bytes[at + 8] ^= 1; // fc_crc
    let fs: fsimage_plugin_ext2::Ext2Fs =
        fsimage_testkit::plugin::mount_bytes(bytes, "journal=replay").expect("replayed");
    // The fast commits' new file is not there; the full commits' view is.
    assert!(lookup_path(&fs, b"/tree/etc/fc-new").is_err());
    assert!(lookup_path(&good, b"/tree/etc/fc-new").is_err());
    assert!(lookup_path(&fs, b"/tree/etc/motd").is_ok());
}
