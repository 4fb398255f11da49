//! Linear directories (ext4 disk layout, "Directory Entries"): entry parsing
//! and checks, leaf block checksums, streaming with resumable cookies, and
//! inline-data directories.

use crate::csum;
use crate::inline;
use crate::inode::{EXT4_INDEX_FL, EXT4_INLINE_DATA_FL, Inode};
use crate::map;
use crate::superblock::{COMPAT_DIR_INDEX, INCOMPAT_FILETYPE};
use crate::volume::Volume;
use fsimage_abi::{Error, FileKind, ReadAt, Result};
use std::sync::Arc;
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct ext4_dir_entry_2` header (the name follows). Without the
/// `filetype` feature `name_len` is 16 bits wide and `file_type` its high byte.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4DirEntry2 {
    pub inode: U32,
    pub rec_len: U16,
    pub name_len: u8,
    pub file_type: u8,
}

/// `struct ext4_dir_entry_tail` (metadata_csum), the last 12 bytes of a leaf.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4DirEntryTail {
    pub det_reserved_zero1: U32,
    pub det_rec_len: U16,
    pub det_reserved_zero2: u8,
    pub det_reserved_ft: u8,
    pub det_checksum: U32,
}

const DIRENT_HEADER: usize = 8;
const TAIL_SIZE: usize = 12;
const TAIL_FT: u8 = 0xDE;
/// Bytes of `i_block` that hold entries in an inline directory (after the
/// 4-byte parent inode number).
const INLINE_DIR_AREA: u64 = 56;

/// One directory entry as found on disk.
pub struct RawEntry<'a> {
    pub offset: usize,
    pub inode: u32,
    pub name: &'a [u8],
    pub kind: FileKind,
}

fn kind_of(ft: u8) -> FileKind {
    match ft {
        1 => FileKind::File,
        2 => FileKind::Dir,
        3 => FileKind::CharDevice,
        4 => FileKind::BlockDevice,
        5 => FileKind::Fifo,
        6 => FileKind::Socket,
        7 => FileKind::Symlink,
        _ => FileKind::Unknown,
    }
}

/// Decodes rec_len; 64 KiB blocks store 65536 in 16 bits.
fn rec_len(raw: u16, block_size: u32) -> usize {
    let r = usize::from(raw);
    if block_size < 65536 {
        r
    } else if raw == 0xFFFF || raw == 0 {
        65536
    } else {
        (r & 65532) | ((r & 3) << 16)
    }
}

/// Walks the entries of one region (a block or an inline area), calling
/// `f` for each used entry at or after `from`. Stops when `f` says so
/// (returns false then).
pub fn scan(
    vol: &Volume,
    region: &[u8],
    from: usize,
    what: &dyn Fn() -> String,
    f: &mut dyn FnMut(RawEntry<'_>) -> Result<bool>,
) -> Result<bool> {
    let filetype = vol.geo.has_incompat(INCOMPAT_FILETYPE);
    let mut off = 0usize;
    while off + DIRENT_HEADER <= region.len() {
        let Ok((d, _)) = Ext4DirEntry2::read_from_prefix(&region[off..]) else {
            break;
        };
        let rl = rec_len(d.rec_len.get(), vol.geo.block_size);
        let name_len = if filetype {
            usize::from(d.name_len)
        } else {
            usize::from(d.name_len) | (usize::from(d.file_type) << 8)
        };
        let bad = |why: &str| {
            Error::corrupt(format!(
                "{}: directory entry at offset {off}: {why} (rec_len {rl}, name_len {name_len})",
                what()
            ))
        };
        if rl < 12 || rl % 4 != 0 {
            return Err(bad("bad rec_len"));
        }
        if rl > region.len() - off {
            return Err(bad("rec_len past the end of the block"));
        }
        if DIRENT_HEADER + name_len > rl {
            return Err(bad("name longer than the entry"));
        }
        let ino = d.inode.get();
        if ino > vol.geo.inodes_count {
            return Err(bad(&format!("inode {ino} out of range")));
        }
        if ino != 0 && off >= from {
            let name = &region[off + DIRENT_HEADER..off + DIRENT_HEADER + name_len];
            if !fsimage_abi::is_component(name) {
                return Err(bad("invalid name"));
            }
            let kind = if filetype {
                kind_of(d.file_type)
            } else {
                FileKind::Unknown
            };
            if !f(RawEntry {
                offset: off,
                inode: ino,
                name,
                kind,
            })? {
                return Ok(false);
            }
        }
        off += rl;
    }
    Ok(true)
}

/// Whether block `lblk` of `dir` is an htree index node, decided as the
/// kernel does: in an indexed directory block 0 (dx_root) always, any other
/// block when its first (fake) entry spans the whole block (dx_node). The
/// tail's shape cannot tell: when the kernel turns a linear directory into
/// an htree, the root keeps the old leaf's tail bytes in dt_reserved.
fn is_index_block(vol: &Volume, dir: &Inode, blk: &[u8], lblk: u64) -> bool {
    if !dir.has_flag(EXT4_INDEX_FL) || !vol.geo.has_compat(COMPAT_DIR_INDEX) {
        return false;
    }
    lblk == 0
        || Ext4DirEntry2::read_from_prefix(blk)
            .is_ok_and(|(d, _)| rec_len(d.rec_len.get(), vol.geo.block_size) == blk.len())
}

/// Verifies a leaf block's checksum tail when it has one (index nodes carry
/// their own, checked by the htree lookup).
fn verify_leaf(vol: &Volume, dir: &Inode, blk: &[u8], lblk: u64) -> Result<()> {
    let Some(seed) = vol.csum_seed else {
        return Ok(());
    };
    if is_index_block(vol, dir, blk, lblk) {
        return Ok(());
    }
    let Some(t) = blk.len().checked_sub(TAIL_SIZE) else {
        return Ok(());
    };
    let Ok(tail) = Ext4DirEntryTail::read_from_bytes(&blk[t..]) else {
        return Ok(());
    };
    if tail.det_reserved_zero1.get() != 0
        || tail.det_rec_len.get() != TAIL_SIZE as u16
        || tail.det_reserved_zero2 != 0
        || tail.det_reserved_ft != TAIL_FT
    {
        // htree index blocks and old leaves carry no leaf tail.
        return Ok(());
    }
    let c = csum::chksum(dir.csum_seed(seed), &blk[..t]);
    if c != tail.det_checksum.get() {
        return Err(Error::corrupt(format!(
            "directory {}: block {lblk}: checksum {c:#010x} != stored {:#010x}",
            dir.ino,
            tail.det_checksum.get()
        )));
    }
    Ok(())
}

/// Checks leaf block `lblk` of `dir` (its checksum tail, when it has one) and
/// walks its entries from offset `from`, as `scan` does.
pub fn scan_leaf(
    vol: &Volume,
    dir: &Inode,
    blk: &[u8],
    lblk: u64,
    from: usize,
    f: &mut dyn FnMut(RawEntry<'_>) -> Result<bool>,
) -> Result<bool> {
    verify_leaf(vol, dir, blk, lblk)?;
    let ino = dir.ino;
    scan(vol, blk, from, &|| format!("directory {ino}"), f)
}

/// Logical block `lblk` of a block-mapped directory (`None` for a hole),
/// checksum-verified when it is a leaf.
pub fn dir_block(vol: &Volume, dir: &Inode, lblk: u64) -> Result<Option<Arc<[u8]>>> {
    let Some(p) = map::block_of(vol, dir, lblk)? else {
        return Ok(None);
    };
    let b = vol.meta_block(p, || format!("directory {} block {lblk}", dir.ino))?;
    verify_leaf(vol, dir, &b, lblk)?;
    Ok(Some(b))
}

/// Looks for `name` in one leaf block.
pub fn find_in_block(vol: &Volume, dir: &Inode, blk: &[u8], name: &[u8]) -> Result<Option<u32>> {
    let mut found = None;
    scan(
        vol,
        blk,
        0,
        &|| format!("directory {}", dir.ino),
        &mut |e| {
            if e.name == name {
                found = Some(e.inode);
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    Ok(found)
}

/// Streams the entries of `dir` (including `.` and `..` if stored) from
/// `cookie` on; `f` gets (cookie, entry) and returns false to stop.
pub fn for_each(
    vol: &Volume,
    dir: &Inode,
    cookie: u64,
    f: &mut dyn FnMut(u64, RawEntry<'_>) -> Result<bool>,
) -> Result<()> {
    let ino = dir.ino;
    let what = || format!("directory {ino}");
    if dir.has_flag(EXT4_INLINE_DATA_FL) {
        let ib = dir.i_block();
        let ex = inline::extra(dir)?;
        if cookie < INLINE_DIR_AREA {
            let area = &ib[4..];
            let go = scan(vol, area, cookie as usize, &what, &mut |e| {
                f(e.offset as u64, e)
            })?;
            if !go {
                return Ok(());
            }
        }
        let from = cookie.saturating_sub(INLINE_DIR_AREA);
        if let Ok(from) = usize::try_from(from) {
            scan(vol, ex, from, &what, &mut |e| {
                f(INLINE_DIR_AREA + e.offset as u64, e)
            })?;
        }
        return Ok(());
    }
    let bs = vol.block_size();
    let nblocks = dir_blocks(vol, dir)?;
    let first = cookie / bs;
    let mut in_first = (cookie % bs) as usize;
    map::for_each_run(vol, dir, first, nblocks, &mut |run| {
        let Some(p0) = run.pblk else {
            in_first = 0;
            return Ok(true);
        };
        for i in 0..run.len {
            let lblk = run.lblk + i;
            let b = vol.meta_block(p0 + i, || format!("directory {ino} block {lblk}"))?;
            let from = std::mem::take(&mut in_first);
            if !scan_leaf(vol, dir, &b, lblk, from, &mut |e| {
                f(lblk * bs + e.offset as u64, e)
            })? {
                return Ok(false);
            }
        }
        Ok(true)
    })
}

/// Number of blocks of a block-mapped directory; a directory cannot be
/// larger than the device it is on.
pub fn dir_blocks(vol: &Volume, dir: &Inode) -> Result<u64> {
    let bs = vol.block_size();
    let n = dir.size().div_ceil(bs);
    if n > vol.dev.size() / bs {
        return Err(Error::corrupt(format!(
            "directory {}: size {} larger than the device",
            dir.ino,
            dir.size()
        )));
    }
    Ok(n)
}

/// Scans `dir` for `name` entry by entry.
pub fn linear_lookup(vol: &Volume, dir: &Inode, name: &[u8]) -> Result<Option<u32>> {
    let mut found = None;
    for_each(vol, dir, 0, &mut |_, e| {
        if e.name == name {
            found = Some(e.inode);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// The parent stored in an inline directory's first four bytes.
pub fn inline_parent(dir: &Inode) -> u32 {
    let b = dir.i_block();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
