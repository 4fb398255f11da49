//! Finding and checking the superblock.

use crate::limits::{MAX_BLOCK_SIZE, MAX_HEIGHT, MIN_BLOCK_SIZE};
use crate::ondisk::SuperBlock;
use fsimage_abi::raw::RawMagic;
use fsimage_abi::{Error, ReadAt, Result};
use zerocopy::FromBytes;

/// REISERFS_DISK_OFFSET_IN_BYTES.
pub const SB_OFFSET: u64 = 64 * 1024;
/// REISERFS_OLD_DISK_OFFSET_IN_BYTES (3.5.0 - 3.5.10).
pub const OLD_SB_OFFSET: u64 = 8 * 1024;
/// The prefix all three s_magic strings share, at both superblock places:
/// `find` looks nowhere else.
pub const MAGICS: [RawMagic; 2] = {
    let at = std::mem::offset_of!(SuperBlock, s_magic) as u64;
    [
        RawMagic::new(SB_OFFSET + at, b"ReIsEr"),
        RawMagic::new(OLD_SB_OFFSET + at, b"ReIsEr"),
    ]
};
/// Superblock bytes read.
pub const SB_SIZE: usize = 204;

/// REISERFS_VERSION_2 in s_version: the 3.6 format.
const REISERFS_VERSION_2: u16 = 2;

/// What the reader needs from the superblock, checked.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub block_size: u32,
    pub block_count: u32,
    pub root_block: u32,
    /// Level of the root node (s_tree_height - 1).
    pub root_level: u16,
    pub hash_code: u32,
    /// 3.6 format (else 3.5).
    pub v36: bool,
    pub journal_1st_block: u32,
    pub journal_size: u32,
    pub journal_dev: u32,
    pub journal_trans_max: u32,
    /// Relocated/non-standard journal ("ReIsEr3Fs"): s_reserved_for_journal
    /// blocks are kept for it on the main device.
    pub jr: bool,
    pub reserved_for_journal: u16,
    pub label: [u8; 16],
    /// Byte offset the superblock was found at.
    pub sb_offset: u64,
}

/// Which magic the superblock carries, if any (prefix compare like the
/// kernel's is_reiserfs_3_5 / 3_6 / jr).
fn magic_kind(m: &[u8; 10]) -> Option<&'static str> {
    if m.starts_with(b"ReIsErFs") {
        Some("3.5")
    } else if m.starts_with(b"ReIsEr2Fs") {
        Some("3.6")
    } else if m.starts_with(b"ReIsEr3Fs") {
        Some("jr")
    } else {
        None
    }
}

/// Reads the superblock at `off` and returns it if it has a magic.
fn read_at(dev: &dyn ReadAt, off: u64) -> Result<Option<SuperBlock>> {
    if off
        .checked_add(SB_SIZE as u64)
        .is_none_or(|e| e > dev.size())
    {
        return Ok(None);
    }
    let mut b = [0u8; SB_SIZE];
    dev.read_exact_at(off, &mut b)?;
    let sb =
        SuperBlock::read_from_bytes(&b).map_err(|_| Error::corrupt("reiserfs superblock: size"))?;
    Ok(magic_kind(&sb.s_magic).map(|_| sb))
}

/// Finds the superblock (64 KiB, then the old 8 KiB spot) and checks it.
pub fn find(dev: &dyn ReadAt) -> Result<Geometry> {
    for off in [SB_OFFSET, OLD_SB_OFFSET] {
        if let Some(sb) = read_at(dev, off)? {
            return check(&sb, off, dev.size());
        }
    }
    Err(Error::not_recognized(
        "no ReiserFS magic at 64 KiB or 8 KiB",
    ))
}

/// Re-reads the superblock from a replayed copy of its block.
pub fn from_bytes(b: &[u8], off: u64, dev_size: u64) -> Result<Geometry> {
    let sb = b
        .get(..SB_SIZE)
        .and_then(|b| SuperBlock::read_from_bytes(b).ok())
        .filter(|sb| magic_kind(&sb.s_magic).is_some())
        .ok_or_else(|| Error::corrupt("journal: replayed superblock has no magic"))?;
    check(&sb, off, dev_size)
}

fn check(sb: &SuperBlock, off: u64, dev_size: u64) -> Result<Geometry> {
    let bs = u32::from(sb.s_blocksize.get());
    if !bs.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bs) {
        return Err(Error::corrupt(format!(
            "superblock: block size {bs} (must be a power of two in {MIN_BLOCK_SIZE}..={MAX_BLOCK_SIZE})"
        )));
    }
    let count = sb.s_block_count.get();
    // The superblock lies inside the filesystem it describes.
    let sb_block = off / u64::from(bs);
    if u64::from(count) <= sb_block {
        return Err(Error::corrupt(format!(
            "superblock: block count {count} does not cover the superblock (block {sb_block})"
        )));
    }
    let root = sb.s_root_block.get();
    if root == 0 || root >= count || u64::from(root) <= sb_block {
        return Err(Error::corrupt(format!(
            "superblock: root block {root} outside the filesystem's tree area (block count {count})"
        )));
    }
    let root_end = (u64::from(root) + 1) * u64::from(bs);
    if root_end > dev_size {
        return Err(Error::corrupt(format!(
            "superblock: root block {root} past the end of the device ({dev_size} bytes)"
        )));
    }
    let height = sb.s_tree_height.get();
    if !(2..=MAX_HEIGHT + 1).contains(&height) {
        return Err(Error::corrupt(format!(
            "superblock: tree height {height} (must be 2..={})",
            MAX_HEIGHT + 1
        )));
    }
    let v36 = match magic_kind(&sb.s_magic) {
        Some("3.6") => true,
        Some("jr") => sb.s_version.get() == REISERFS_VERSION_2,
        _ => false,
    };
    let jp = &sb.s_journal;
    Ok(Geometry {
        block_size: bs,
        block_count: count,
        root_block: root,
        root_level: height - 1,
        hash_code: sb.s_hash_function_code.get(),
        v36,
        journal_1st_block: jp.jp_journal_1st_block.get(),
        journal_size: jp.jp_journal_size.get(),
        journal_dev: jp.jp_journal_dev.get(),
        journal_trans_max: jp.jp_journal_trans_max.get(),
        jr: magic_kind(&sb.s_magic) == Some("jr"),
        reserved_for_journal: sb.s_reserved_for_journal.get(),
        label: sb.s_label,
        sb_offset: off,
    })
}
