//! Entry points for the inner-parser fuzz targets (`fuzz/fuzz_targets/
//! ext2_extents.rs`, `ext2_htree.rs`, `ext2_dirblock.rs`) and their
//! regression tests. Not part of the plugin's API.
//!
//! Each runs the production code (extent tree walk, htree descent, leaf
//! block checks and entry scan) over a small in-memory filesystem built
//! from one input, with no superblock or group table to get past:
//!
//! ```text
//! [0]        flags: bits 0-1 block size (1, 2, 4 or 64 KiB); bit 2 verify
//!            metadata_csum with the seed below; bit 3 filetype; bit 4
//!            largedir; bit 5 unsigned-char hashes; bit 6 casefold
//! [1..5]     filesystem checksum seed (LE)
//! [5..9]     inode number (LE; part of the block checksums' seed)
//! [9..13]    blocks in the filesystem (LE); past the input's they read
//!            as zeros (so extents may point far without a big input)
//! [13..29]   s_hash_seed
//! [29..285]  the inode (256 bytes, as in the inode table)
//! [285..]    blocks 1, 2, ... of the device (block 0 reads as zeros)
//! ```
//!
//! `fuzz/mkseeds.py` builds such inputs from fixture images, moving a
//! file's tree or directory blocks to blocks 1.. and pointing the inode's
//! map at them (the checksums do not cover block numbers or the inode's
//! own checksum, which is not verified here, so they stay valid).

use crate::dir;
use crate::htree;
use crate::inode::{EXT4_EXTENTS_FL, Inode};
use crate::map;
use crate::superblock::{
    COMPAT_DIR_INDEX, EXT2_FLAGS_UNSIGNED_HASH, EXT2_SUPER_MAGIC, Ext4SuperBlock,
    INCOMPAT_CASEFOLD, INCOMPAT_FILETYPE, INCOMPAT_LARGEDIR, RO_COMPAT_METADATA_CSUM,
};
use crate::volume::Volume;
use fsimage_abi::{Device, Error, FileKind, ReadAt, Result, io::check_range};
use zerocopy::FromZeros;

pub use crate::htree::name_hash;
pub use crate::map::Run;

/// Bytes before the device blocks.
pub const HEADER: usize = 285;
/// Bytes of the inode in the header.
pub const INODE_SIZE: usize = 256;
/// `i_flags` bits the targets force on.
pub use crate::inode::{
    EXT4_EXTENTS_FL as EXTENTS_FL, EXT4_INDEX_FL as INDEX_FL, EXT4_INLINE_DATA_FL as INLINE_DATA_FL,
};

/// One decoded input: a volume over the blocks and the inode.
pub struct Case {
    vol: Volume,
    inode: Inode,
}

/// Builds the volume and inode of `data`, with `force_flags` or-ed into
/// the inode's `i_flags`.
pub fn case(data: &[u8], force_flags: u32) -> Result<Case> {
    let Some(head) = data.get(..HEADER) else {
        return Err(Error::invalid("fuzz input shorter than its header"));
    };
    let flags = head[0];
    let le32 = |o: usize| u32::from_le_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]]);
    let log = [0u32, 1, 2, 6][usize::from(flags & 3)];
    let bs = 1024usize << log;
    // Block 0, then the input's blocks, then zeros up to the stated size
    // (at least two blocks).
    let mut dev = vec![0u8; bs];
    dev.extend_from_slice(&data[HEADER..]);
    let blocks = (dev.len().div_ceil(bs) as u64)
        .max(u64::from(le32(9)))
        .max(2);
    let dev = Padded {
        data: dev,
        size: blocks * bs as u64,
    };
    let per_group = 8 * bs as u64;
    let groups = blocks.div_ceil(per_group);

    let mut sb = Ext4SuperBlock::new_zeroed();
    sb.s_magic.set(EXT2_SUPER_MAGIC);
    sb.s_rev_level.set(1);
    sb.s_log_block_size.set(log);
    sb.s_first_data_block.set(u32::from(bs == 1024));
    sb.s_blocks_count_lo
        .set(u32::try_from(blocks).unwrap_or(u32::MAX));
    sb.s_blocks_per_group
        .set(u32::try_from(per_group).unwrap_or(u32::MAX));
    sb.s_inodes_per_group
        .set(u32::try_from(per_group).unwrap_or(u32::MAX));
    sb.s_inodes_count
        .set(u32::try_from(groups * per_group).unwrap_or(u32::MAX));
    sb.s_inode_size.set(INODE_SIZE as u16);
    let mut incompat = 0;
    for (bit, f) in [
        (8, INCOMPAT_FILETYPE),
        (16, INCOMPAT_LARGEDIR),
        (64, INCOMPAT_CASEFOLD),
    ] {
        if flags & bit != 0 {
            incompat |= f;
        }
    }
    sb.s_feature_incompat.set(incompat);
    sb.s_feature_compat.set(COMPAT_DIR_INDEX);
    let verify = flags & 4 != 0;
    if verify {
        sb.s_feature_ro_compat.set(RO_COMPAT_METADATA_CSUM);
    }
    if flags & 32 != 0 {
        sb.s_flags.set(EXT2_FLAGS_UNSIGNED_HASH);
    }
    for (i, s) in sb.s_hash_seed.iter_mut().enumerate() {
        s.set(le32(13 + 4 * i));
    }
    let vol = Volume::detached(Device::new(dev), sb, verify.then(|| le32(1)))?;
    let mut inode = Inode::parse(le32(5), head[29..HEADER].to_vec(), None)?;
    inode.d.i_flags.set(inode.flags() | force_flags);
    Ok(Case { vol, inode })
}

impl Case {
    pub fn block_size(&self) -> u64 {
        self.vol.block_size()
    }

    /// Blocks of the device (and filesystem).
    pub fn blocks(&self) -> u64 {
        self.vol.geo.blocks_count
    }

    /// Logical blocks the inode's size spans.
    pub fn size_blocks(&self) -> u64 {
        self.inode.size().div_ceil(self.block_size())
    }

    /// The inode's `i_flags`.
    pub fn flags(&self) -> u32 {
        self.inode.flags()
    }

    /// The inode's map over logical blocks `[start, end)` as `read`,
    /// `extents` and directory walks see it, up to `max` runs.
    pub fn runs(&self, start: u64, end: u64, max: usize) -> Result<Vec<Run>> {
        let mut out = Vec::new();
        map::for_each_run(&self.vol, &self.inode, start, end, &mut |r| {
            out.push(r);
            Ok(out.len() < max)
        })?;
        Ok(out)
    }

    /// The physical block behind logical block `lblk`.
    pub fn block_of(&self, lblk: u64) -> Result<Option<u64>> {
        map::block_of(&self.vol, &self.inode, lblk)
    }

    /// Whether the inode maps blocks with an extent tree.
    pub fn has_extents(&self) -> bool {
        self.inode.has_flag(EXT4_EXTENTS_FL)
    }

    /// The directory's entries from `cookie` on, as `read_dir` streams them
    /// (inline, block map or extents), up to `max`: (cookie, inode, name).
    pub fn entries(&self, cookie: u64, max: usize) -> Result<Vec<(u64, u32, Vec<u8>)>> {
        let mut out = Vec::new();
        dir::for_each(&self.vol, &self.inode, cookie, &mut |c, e| {
            out.push((c, e.inode, e.name.to_vec()));
            Ok(out.len() < max)
        })?;
        Ok(out)
    }

    /// Checks device block `pblk` as leaf block `lblk` of the directory
    /// (checksum tail) and returns its entries from byte `from` on, with
    /// their kinds.
    pub fn leaf(&self, pblk: u64, lblk: u64, from: usize) -> Result<Vec<(u32, FileKind, Vec<u8>)>> {
        let ino = self.inode.ino;
        let b = self
            .vol
            .meta_block(pblk, || format!("directory {ino} block {lblk}"))?;
        let mut out = Vec::new();
        dir::scan_leaf(&self.vol, &self.inode, &b, lblk, from, &mut |e| {
            out.push((e.inode, e.kind, e.name.to_vec()));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Looks `name` up in device block `pblk` as a leaf, as the htree does.
    pub fn find_in_leaf(&self, pblk: u64, name: &[u8]) -> Result<Option<u32>> {
        let ino = self.inode.ino;
        let b = self
            .vol
            .meta_block(pblk, || format!("directory {ino} leaf"))?;
        dir::find_in_block(&self.vol, &self.inode, &b, name)
    }

    /// Looks `name` up through the directory's htree: `Ok(None)` when the
    /// htree cannot be used (`lookup` then scans linearly).
    pub fn htree_lookup(&self, name: &[u8]) -> Result<Option<Option<u32>>> {
        htree::lookup(&self.vol, &self.inode, name)
    }

    /// The filesystem's `s_hash_seed`.
    pub fn hash_seed(&self) -> [u32; 4] {
        self.vol.sb.s_hash_seed.each_ref().map(|s| s.get())
    }
}

/// The input's bytes followed by zeros up to `size`.
struct Padded {
    data: Vec<u8>,
    size: u64,
}

impl ReadAt for Padded {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.size)?;
        buf.fill(0);
        if let Ok(start) = usize::try_from(offset) {
            if let Some(src) = self.data.get(start..) {
                let n = src.len().min(buf.len());
                buf[..n].copy_from_slice(&src[..n]);
            }
        }
        Ok(())
    }
}
