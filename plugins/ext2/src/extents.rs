//! Extent trees (ext4 disk layout, "Extent Tree").

use crate::csum;
use crate::inode::Inode;
use crate::limits::MAX_EXTENT_DEPTH;
use crate::map::Cover;
use crate::volume::Volume;
use fsimage_abi::{Error, Result};
use std::sync::Arc;
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct ext4_extent_header`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4ExtentHeader {
    pub eh_magic: U16,
    pub eh_entries: U16,
    pub eh_max: U16,
    pub eh_depth: U16,
    pub eh_generation: U32,
}

/// `struct ext4_extent_idx` (interior nodes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4ExtentIdx {
    pub ei_block: U32,
    pub ei_leaf_lo: U32,
    pub ei_leaf_hi: U16,
    pub ei_unused: U16,
}

/// `struct ext4_extent` (leaves).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4Extent {
    pub ee_block: U32,
    pub ee_len: U16,
    pub ee_start_hi: U16,
    pub ee_start_lo: U32,
}

pub const EXT4_EXT_MAGIC: u16 = 0xF30A;
/// ee_len above this marks an unwritten extent of ee_len - 32768 blocks.
const EXT_INIT_MAX_LEN: u16 = 32768;
const ENTRY: usize = 12;

/// Checks a node header; returns (entries, depth).
fn header(node: &[u8], ino: u32, where_: &str, want_depth: Option<u16>) -> Result<(usize, u16)> {
    let bad = |what: String| Error::corrupt(format!("inode {ino}: extent {where_}: {what}"));
    let Ok((h, _)) = Ext4ExtentHeader::read_from_prefix(node) else {
        return Err(bad("truncated header".into()));
    };
    if h.eh_magic.get() != EXT4_EXT_MAGIC {
        return Err(bad(format!("bad magic {:#06x}", h.eh_magic.get())));
    }
    let depth = h.eh_depth.get();
    if depth > MAX_EXTENT_DEPTH {
        return Err(Error::limit(format!(
            "inode {ino}: extent tree depth {depth} > {MAX_EXTENT_DEPTH} (MAX_EXTENT_DEPTH)"
        )));
    }
    if let Some(w) = want_depth {
        if depth != w {
            return Err(bad(format!("depth {depth}, expected {w}")));
        }
    }
    let max = usize::from(h.eh_max.get());
    let entries = usize::from(h.eh_entries.get());
    if (max + 1) * ENTRY > node.len() || entries > max {
        return Err(bad(format!("{entries} entries / max {max} do not fit")));
    }
    Ok((entries, depth))
}

fn entry(node: &[u8], i: usize) -> &[u8] {
    // Callers checked (entries + 1) * 12 <= node.len().
    &node[ENTRY * (i + 1)..ENTRY * (i + 2)]
}

/// Finds the leaf covering `key`; returns it with its entry count and the
/// first logical block of the next leaf, if any.
fn find_leaf(vol: &Volume, inode: &Inode, key: u64) -> Result<(Arc<[u8]>, usize, Option<u64>)> {
    let ino = inode.ino;
    let mut node: Arc<[u8]> = Arc::from(&inode.i_block()[..]);
    let (mut entries, mut depth) = header(&node, ino, "root", None)?;
    let mut next = None;
    while depth > 0 {
        if entries == 0 {
            return Err(Error::corrupt(format!(
                "inode {ino}: empty extent index node"
            )));
        }
        // Last index whose first block is <= key (the first if none is).
        let mut pick = 0;
        for i in 1..entries {
            let Ok(ix) = Ext4ExtentIdx::read_from_bytes(entry(&node, i)) else {
                break;
            };
            if u64::from(ix.ei_block.get()) <= key {
                pick = i;
            } else {
                next = Some(u64::from(ix.ei_block.get()));
                break;
            }
        }
        let Ok(ix) = Ext4ExtentIdx::read_from_bytes(entry(&node, pick)) else {
            return Err(Error::corrupt(format!("inode {ino}: extent index")));
        };
        let child = u64::from(ix.ei_leaf_lo.get()) | (u64::from(ix.ei_leaf_hi.get()) << 32);
        let blk = vol.meta_block(child, || format!("inode {ino}: extent tree block"))?;
        let (e, d) = header(&blk, ino, &format!("block {child}"), Some(depth - 1))?;
        if let Some(seed) = vol.csum_seed {
            verify_tail(&blk, inode.csum_seed(seed), ino, child)?;
        }
        node = blk;
        entries = e;
        depth = d;
    }
    Ok((node, entries, next))
}

/// Checks the `ext4_extent_tail` checksum after eh_max entries.
fn verify_tail(blk: &[u8], seed: u32, ino: u32, at: u64) -> Result<()> {
    let Ok((h, _)) = Ext4ExtentHeader::read_from_prefix(blk) else {
        return Err(Error::corrupt("extent block header"));
    };
    let tail = ENTRY * (usize::from(h.eh_max.get()) + 1);
    let Some(stored) = blk.get(tail..tail + 4) else {
        return Err(Error::corrupt(format!(
            "inode {ino}: extent block {at}: no room for its checksum"
        )));
    };
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let c = csum::chksum(seed, &blk[..tail]);
    if c != stored {
        return Err(Error::corrupt(format!(
            "inode {ino}: extent block {at}: checksum {c:#010x} != stored {stored:#010x}"
        )));
    }
    Ok(())
}

/// Feeds the extent map of `inode` from `cover.cur` into `cover`.
pub fn walk(vol: &Volume, inode: &Inode, cover: &mut Cover<'_, '_>) -> Result<()> {
    let ino = inode.ino;
    let mut key = cover.cur;
    loop {
        let (leaf, entries, next) = find_leaf(vol, inode, key)?;
        let mut prev_end = 0u64;
        for i in 0..entries {
            let Ok(e) = Ext4Extent::read_from_bytes(entry(&leaf, i)) else {
                break;
            };
            let first = u64::from(e.ee_block.get());
            let raw_len = e.ee_len.get();
            let (len, unwritten) = if raw_len > EXT_INIT_MAX_LEN {
                (u64::from(raw_len - EXT_INIT_MAX_LEN), true)
            } else {
                (u64::from(raw_len), false)
            };
            if len == 0 {
                return Err(Error::corrupt(format!(
                    "inode {ino}: extent at block {first} has length 0"
                )));
            }
            if first < prev_end {
                return Err(Error::corrupt(format!(
                    "inode {ino}: extents overlap or are out of order at block {first}"
                )));
            }
            prev_end = first + len;
            let start = u64::from(e.ee_start_lo.get()) | (u64::from(e.ee_start_hi.get()) << 32);
            vol.check_data_blocks(start, len, ino)?;
            if !cover.push(first, len, (!unwritten).then_some(start))? {
                return Ok(());
            }
        }
        match next {
            Some(n) if n > key => {
                if n >= cover.end {
                    return Ok(());
                }
                key = n;
            }
            Some(n) => {
                return Err(Error::corrupt(format!(
                    "inode {ino}: extent index out of order at block {n}"
                )));
            }
            None => return Ok(()),
        }
    }
}
