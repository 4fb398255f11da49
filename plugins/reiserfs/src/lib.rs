//! ReiserFS plugin: a read-only reader for ReiserFS 3.5 and 3.6 (magics
//! `ReIsErFs`, `ReIsEr2Fs` and `ReIsEr3Fs`, the last for filesystems with a
//! relocated or non-standard journal), the format many older Xen guests
//! boot from.
//!
//! Everything lives in one S+tree of items keyed (dir_id, objectid,
//! offset, type): stat data, directory items, direct items (file tails kept
//! inside leaves) and indirect items (pointers to unformatted data blocks,
//! 0 for a hole). An object's id here is `dir_id << 32 | objectid`.
//!
//! Facts from the Linux kernel's fs/reiserfs (reiserfs.h, stree.c,
//! hashes.c, journal.c). Mount options: `journal=replay` replays committed
//! journal transactions in memory (never written back); `journal=ignore`
//! (the default) reads the tree as it stands on disk.
#![forbid(unsafe_code)]

mod dir;
pub mod hash;
mod inode;
mod journal;
mod key;
pub mod limits;
pub mod node;
mod ondisk;
mod superblock;
mod tree;

use fsimage_abi::raw::RawMagic;
use fsimage_abi::sdk::Coalesce;
use fsimage_abi::{
    Device, DirSink, Error, Extent, ExtentSink, FileKind, Filesystem, ReadAt, Result, Stat,
};
use inode::Inode;
use key::{Key, TYPE_ANY, TYPE_DIRECT, TYPE_DIRENTRY, TYPE_INDIRECT, TYPE_STAT_DATA};
use limits::{MAX_DIR_ENTRIES, MAX_SYMLINK};
use std::ffi::CStr;
use tree::Tree;

/// The root directory's key: REISERFS_ROOT_PARENT_OBJECTID 1,
/// REISERFS_ROOT_OBJECTID 2.
const ROOT_ID: u64 = (1 << 32) | 2;

/// The kernel's private xattr/ACL tree in the root directory: Linux hides it
/// from listings and lookups (unless mounted with expose_privroot).
const PRIV_ROOT: &[u8] = b".reiserfs_priv";

/// A mounted ReiserFS filesystem.
#[derive(Debug)]
pub struct ReiserFs {
    tree: Tree,
}

fn split(id: u64) -> (u32, u32) {
    ((id >> 32) as u32, id as u32)
}

/// A directory scan's callback for each entry: go on?
type EntryFn<'a> = dyn FnMut(&dir::Entry) -> Result<bool> + 'a;
/// A directory scan's callback for each directory item read: go on?
type ItemFn<'a> = dyn FnMut(&[dir::Entry]) -> bool + 'a;

/// How a run of file bytes is found.
enum Piece<'a> {
    /// A hole, a zero block pointer, or bytes no item covers.
    Zero,
    /// Bytes of an unformatted block at this device offset.
    Block(u64),
    /// Bytes of a tail (direct item), with their device offset when the
    /// leaf is the one on the device (not a journal copy).
    Tail(&'a [u8], Option<u64>),
}

fn parse_options(options: &[u8]) -> Result<bool> {
    let mut replay = false;
    for opt in options.split(|&b| b == b',') {
        match opt.trim_ascii() {
            b"" => {}
            b"journal=replay" => replay = true,
            b"journal=ignore" | b"journal=none" => replay = false,
            other => {
                return Err(Error::invalid(format!(
                    "reiserfs: unknown option '{}'",
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
    Ok(replay)
}

impl ReiserFs {
    /// Stat data of object `id`.
    fn inode(&self, id: u64) -> Result<Inode> {
        let (d, o) = split(id);
        let key = Key::new(d, o, 0, TYPE_STAT_DATA);
        let c = self.tree.seek(&key)?;
        match c.item() {
            Some((it, body, _)) if it.key == key => inode::decode(body, it.v2, id),
            _ => Err(Error::corrupt(format!("object {d} {o}: no stat data item"))),
        }
    }

    fn dir_inode(&self, id: u64) -> Result<Inode> {
        let i = self.inode(id)?;
        if i.kind() != FileKind::Dir {
            return Err(Error::NotADirectory);
        }
        Ok(i)
    }

    /// Calls `f(entry)` for every entry of directory `dir` whose offset is
    /// at least `start`, in offset order, until `f` says stop; `on_item`
    /// sees every directory item read, first.
    fn scan_dir(
        &self,
        dir: &Inode,
        start: u32,
        on_item: &mut ItemFn,
        f: &mut EntryFn,
    ) -> Result<()> {
        let (d, o) = split(dir.id);
        let me = Key::new(d, o, u64::from(start), TYPE_DIRENTRY);
        let mut c = self.tree.seek(&me)?;
        let mut last: Option<u32> = None;
        let mut seen = 0u64;
        while let Some((it, body, blk)) = c.item() {
            if !it.key.same_object(&me) {
                if it.key > me {
                    break;
                }
            } else if it.key.ty == TYPE_DIRENTRY {
                let pos = c.pos();
                let what = || format!("leaf block {blk}: item {pos} (directory {d} {o})");
                let ents = dir::entries(body, it.entry_count, &what)?;
                if !on_item(&ents) {
                    return Ok(());
                }
                for e in &ents {
                    if e.offset < start {
                        continue;
                    }
                    if last.is_some_and(|l| e.offset <= l) {
                        return Err(Error::corrupt(format!(
                            "{}: entry offset {} not above {} before it",
                            what(),
                            e.offset,
                            last.unwrap_or(0)
                        )));
                    }
                    last = Some(e.offset);
                    seen += 1;
                    if seen > MAX_DIR_ENTRIES {
                        return Err(Error::limit(format!(
                            "directory {d} {o}: entries read ({MAX_DIR_ENTRIES})"
                        )));
                    }
                    if !f(e)? {
                        return Ok(());
                    }
                }
            } else if it.key.ty != TYPE_STAT_DATA {
                return Err(Error::corrupt(format!(
                    "leaf block {blk}: item {} of directory {d} {o} has type {}",
                    c.pos(),
                    it.key.ty
                )));
            }
            if !self.tree.advance(&mut c)? {
                break;
            }
        }
        Ok(())
    }

    /// Looks a name up by reading every entry.
    fn lookup_linear(&self, dir: &Inode, name: &[u8]) -> Result<Option<u64>> {
        let mut found = None;
        self.scan_dir(dir, 0, &mut |_| true, &mut |e| {
            if e.visible && e.name == name {
                found = Some(e.id());
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }

    /// Looks a name up by its hash: only the directory items that can hold
    /// that hash are read. Every entry of each item read must carry its own
    /// name's hash; if one does not (a wrong hash code in the superblock),
    /// the answer is `None` and the caller reads the whole directory.
    fn lookup_hashed(&self, dir: &Inode, name: &[u8]) -> Result<Option<Option<u64>>> {
        let code = self.tree.geo.hash_code;
        let Some(h) = hash::offset_hash(code, name) else {
            return Ok(None);
        };
        let (mut found, mut consistent) = (None, true);
        let mut check = |item: &[dir::Entry]| {
            consistent = item.iter().all(|x| {
                x.offset <= dir::DOT_DOT_OFFSET
                    || hash::offset_hash(code, x.name) == Some(x.offset & 0x7fff_ff80)
            });
            consistent
        };
        self.scan_dir(dir, h, &mut check, &mut |e| {
            if e.offset > (h | 0x7f) {
                return Ok(false);
            }
            if e.visible && e.name == name {
                found = Some(e.id());
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(consistent.then_some(found))
    }

    /// Walks the bytes [from, to) of a file as pieces, in order and without
    /// gaps: `f(file_offset, len, piece)`; stops when `f` returns false.
    fn pieces(
        &self,
        ino: &Inode,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, u64, Piece) -> Result<bool>,
    ) -> Result<()> {
        if from >= to {
            return Ok(());
        }
        let (d, o) = split(ino.id);
        let bs = u64::from(self.tree.geo.block_size);
        let me = Key::new(d, o, from.saturating_add(1), TYPE_ANY);
        let mut c = self.tree.seek(&me)?;
        let mut pos = from;
        while let Some((it, body, blk)) = c.item() {
            if !it.key.same_object(&me) {
                if it.key > me {
                    break;
                }
            } else if it.key.ty == TYPE_DIRECT || it.key.ty == TYPE_INDIRECT {
                let ipos = c.pos();
                let what = || format!("leaf block {blk}: item {ipos} (object {d} {o})");
                let Some(start) = it.key.offset.checked_sub(1) else {
                    return Err(Error::corrupt(format!("{}: data at offset 0", what())));
                };
                if start >= to {
                    break;
                }
                let direct = it.key.ty == TYPE_DIRECT;
                let span = if direct {
                    body.len() as u64
                } else {
                    if start % bs != 0 {
                        return Err(Error::corrupt(format!(
                            "{}: indirect item at byte {start}, not a block boundary",
                            what()
                        )));
                    }
                    (body.len() as u64 / 4) * bs
                };
                let item_end = start
                    .checked_add(span)
                    .ok_or_else(|| Error::corrupt(format!("{}: item end overflows", what())))?;
                if item_end > pos {
                    if start > pos {
                        if !f(pos, start - pos, Piece::Zero)? {
                            return Ok(());
                        }
                        pos = start;
                    }
                    let stop = item_end.min(to);
                    if direct {
                        // pos - start < span = body.len().
                        let s = (pos - start) as usize;
                        let e = (stop - start) as usize;
                        let dev = if self.tree.overlay.contains_key(&blk) {
                            None
                        } else {
                            Some(u64::from(blk) * bs + (it.loc + s) as u64)
                        };
                        if !f(pos, stop - pos, Piece::Tail(&body[s..e], dev))? {
                            return Ok(());
                        }
                        pos = stop;
                    } else {
                        while pos < stop {
                            let idx = ((pos - start) / bs) as usize;
                            let blk_start = start + idx as u64 * bs;
                            let end = (blk_start + bs).min(stop);
                            let p = body
                                .get(idx * 4..idx * 4 + 4)
                                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                            let piece = if p == 0 {
                                Piece::Zero
                            } else if let Some(b) = self.tree.overlay.get(&p) {
                                // Data journaling logged this block.
                                let s = (pos - blk_start) as usize;
                                let e = (end - blk_start) as usize;
                                Piece::Tail(b.get(s..e).unwrap_or(&[]), None)
                            } else {
                                let w = || format!("{} pointer {idx}", what());
                                let base = self.tree.block_offset(p, bs, &w)?;
                                Piece::Block(base + (pos - blk_start))
                            };
                            if !f(pos, end - pos, piece)? {
                                return Ok(());
                            }
                            pos = end;
                        }
                    }
                    if pos >= to {
                        return Ok(());
                    }
                }
            }
            if !self.tree.advance(&mut c)? {
                break;
            }
        }
        if pos < to {
            f(pos, to - pos, Piece::Zero)?;
        }
        Ok(())
    }

    /// Reads file bytes from `offset`; returns how many (short only at EOF).
    fn read_data(&self, ino: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let size = ino.size;
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(size - offset).map_or(buf.len(), |r| r.min(buf.len()));
        let buf = &mut buf[..n];
        let dev = &self.tree.dev;
        let id = ino.id;
        // Reads one run of contiguous device bytes into buf[s..s + len].
        let fetch = |buf: &mut [u8], (off, s, len): (u64, usize, usize)| {
            dev.read_exact_at(off, &mut buf[s..s + len])
                .map_err(|e| match e {
                    Error::OutOfBounds { .. } => {
                        Error::corrupt(format!("object {id}: data at device byte {off}: {e}"))
                    }
                    e => e,
                })
        };
        // Physically contiguous blocks are read with one device read.
        let mut run: Option<(u64, usize, usize)> = None;
        self.pieces(ino, offset, offset + n as u64, &mut |at, len, piece| {
            // Inside [offset, offset + n), so these fit in usize.
            let s = (at - offset) as usize;
            let l = len as usize;
            if let Piece::Block(off) = piece {
                match &mut run {
                    Some((ro, rs, rl)) if *ro + *rl as u64 == off && *rs + *rl == s => *rl += l,
                    _ => {
                        if let Some(r) = run.replace((off, s, l)) {
                            fetch(buf, r)?;
                        }
                    }
                }
                return Ok(true);
            }
            if let Some(r) = run.take() {
                fetch(buf, r)?;
            }
            let out = &mut buf[s..s + l];
            match piece {
                Piece::Tail(bytes, _) if bytes.len() == out.len() => out.copy_from_slice(bytes),
                Piece::Tail(..) => {
                    return Err(Error::corrupt(format!("object {id}: tail at byte {at}")));
                }
                _ => out.fill(0),
            }
            Ok(true)
        })?;
        if let Some(r) = run {
            fetch(buf, r)?;
        }
        Ok(n)
    }
}

impl Filesystem for ReiserFs {
    const NAME: &'static CStr = c"reiserfs";

    const MAGICS: &'static [RawMagic] = &superblock::MAGICS;

    fn probe(devices: &[Device]) -> Result<u32> {
        let Some(dev) = devices.first() else {
            return Ok(0);
        };
        let Ok(geo) = superblock::find(dev) else {
            return Ok(0);
        };
        // A stale superblock can outlive a reformat (mke2fs need not touch
        // 64 KiB): only a root block that still holds a tree node of the
        // superblock's height makes this certain.
        let level = geo.root_level;
        let tree = Tree::new(dev.clone(), geo);
        Ok(match tree.node(tree.geo.root_block) {
            Ok(n) if n.level() == level => 95,
            _ => 30,
        })
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        let replay = parse_options(options)?;
        let Some(dev) = devices.into_iter().next() else {
            return Err(Error::invalid("reiserfs: no device"));
        };
        let geo = superblock::find(&dev)?;
        let mut tree = Tree::new(dev, geo);
        if replay {
            journal::replay(&mut tree)?;
        }
        let fs = ReiserFs { tree };
        fs.dir_inode(ROOT_ID)?;
        Ok(fs)
    }

    fn root(&self) -> u64 {
        ROOT_ID
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        let d = self.dir_inode(dir)?;
        if !fsimage_abi::is_component(name) || (dir == ROOT_ID && name == PRIV_ROOT) {
            return Err(Error::NotFound);
        }
        let hashed = if name == b"." || name == b".." {
            None
        } else {
            self.lookup_hashed(&d, name)?
        };
        let found = match hashed {
            Some(r) => r,
            None => self.lookup_linear(&d, name)?,
        };
        found.ok_or(Error::NotFound)
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        Ok(self.inode(id)?.stat())
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let ino = self.inode(id)?;
        match ino.kind() {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => {}
            _ => return Ok(0),
        }
        self.read_data(&ino, offset, buf)
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        let d = self.dir_inode(dir)?;
        let Ok(start) = u32::try_from(cookie) else {
            return Ok(());
        };
        self.scan_dir(&d, start, &mut |_| true, &mut |e| {
            if !e.visible
                || e.name == b"."
                || e.name == b".."
                || (dir == ROOT_ID && e.name == PRIV_ROOT)
            {
                return Ok(true);
            }
            let id = e.id();
            let kind = self.inode(id).map_or(FileKind::Unknown, |i| i.kind());
            Ok(sink.push(u64::from(e.offset), id, kind, e.name))
        })
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let ino = self.inode(id)?;
        if ino.kind() != FileKind::Symlink {
            return Err(Error::NotASymlink);
        }
        if ino.size > MAX_SYMLINK {
            return Err(Error::corrupt(format!(
                "object {}: symlink of {} bytes > {MAX_SYMLINK}",
                ino.id, ino.size
            )));
        }
        // size <= MAX_SYMLINK.
        let mut v = vec![0u8; ino.size as usize];
        let n = self.read_data(&ino, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let ino = self.inode(id)?;
        match ino.kind() {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => {}
            _ => return Ok(()),
        }
        let mut out = Coalesce::new(sink);
        self.pieces(&ino, from, ino.size, &mut |at, len, piece| {
            Ok(out.push(match piece {
                Piece::Zero => Extent::zero(at, len),
                Piece::Block(off) | Piece::Tail(_, Some(off)) => Extent::data(at, len, off),
                Piece::Tail(_, None) => Extent::opaque(at, len),
            }))
        })?;
        out.finish();
        Ok(())
    }

    fn label(&self) -> Option<Vec<u8>> {
        // Only the 3.6 superblock has s_label.
        if !self.tree.geo.v36 {
            return None;
        }
        let n = &self.tree.geo.label;
        let len = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        (len > 0).then(|| n[..len].to_vec())
    }
}

/// Parses `block` as a tree node and, for a leaf, decodes every item in it
/// (stat data, directory entries, indirect pointers): the node parser's
/// whole surface, as a pure function for fuzzing. Returns the number of
/// items (0 for an internal node).
pub fn check_leaf(block: &[u8]) -> Result<usize> {
    let node = node::parse(block.to_vec(), 0)?;
    let node::Node::Leaf(leaf) = node else {
        return Ok(0);
    };
    for (i, it) in leaf.items.iter().enumerate() {
        let body = leaf.body(it);
        match it.key.ty {
            TYPE_STAT_DATA => {
                let ino = inode::decode(body, it.v2, it.key.object())?;
                let _ = ino.stat();
            }
            TYPE_DIRENTRY => {
                let ents = dir::entries(body, it.entry_count, &|| format!("item {i}"))?;
                for e in ents {
                    let _ = hash::offset_hash(hash::R5_HASH, e.name);
                }
            }
            TYPE_INDIRECT => {
                let _ = body.chunks_exact(4).filter(|p| p != &[0u8; 4]).count();
            }
            _ => {}
        }
    }
    Ok(leaf.items.len())
}

fsimage_abi::export_plugin!(ReiserFs);
