//! A mounted filesystem: geometry, group table, block and inode access.

use crate::cache::BlockCache;
use crate::csum;
use crate::group::{self, Group};
use crate::inode::Inode;
use crate::journal::Overlay;
use crate::limits::{EAGER_DESC_BLOCKS, cache_blocks};
use crate::superblock::{
    self, Ext4SuperBlock, Geometry, INCOMPAT_CSUM_SEED, S_CHECKSUM_OFFSET, SUPERBLOCK_OFFSET,
};
use fsimage_abi::{Device, Error, ReadAt, Result};
use std::sync::Arc;
use zerocopy::FromBytes;

pub struct Volume {
    pub dev: Device,
    pub sb: Ext4SuperBlock,
    pub geo: Geometry,
    /// metadata_csum seed when checksums are verified.
    pub csum_seed: Option<u32>,
    cache: BlockCache,
    pub overlay: Overlay,
}

/// Reads and checks the primary superblock.
pub fn read_superblock(read: &dyn Fn(u64, &mut [u8]) -> Result<()>) -> Result<Ext4SuperBlock> {
    let mut raw = [0u8; 1024];
    read(SUPERBLOCK_OFFSET, &mut raw)?;
    Ext4SuperBlock::read_from_bytes(&raw[..]).map_err(|_| Error::corrupt("superblock: bad size"))
}

impl Volume {
    /// Opens the filesystem; `verify` turns metadata_csum checking on.
    pub fn open(dev: Device, verify: bool) -> Result<Volume> {
        let sb = read_superblock(&|off, buf| dev.read_exact_at(off, buf))?;
        let geo = superblock::geometry(&sb)?;
        superblock::check_incompat(geo.incompat)?;
        let mut vol = Volume {
            cache: BlockCache::new(cache_blocks(geo.block_size)),
            dev,
            sb,
            geo,
            csum_seed: None,
            overlay: Overlay::default(),
        };
        vol.load_metadata(verify)?;
        Ok(vol)
    }

    /// A volume over `dev` as `sb` describes it, without reading the
    /// superblock or group table from `dev` (the fuzz entry points hand the
    /// parsers their blocks directly). `sb` goes through the same checks.
    pub fn detached(dev: Device, sb: Ext4SuperBlock, csum_seed: Option<u32>) -> Result<Volume> {
        let geo = superblock::geometry(&sb)?;
        superblock::check_incompat(geo.incompat)?;
        Ok(Volume {
            cache: BlockCache::new(cache_blocks(geo.block_size)),
            dev,
            sb,
            geo,
            csum_seed,
            overlay: Overlay::default(),
        })
    }

    /// (Re)reads superblock-derived state and the group table, through the
    /// journal overlay if there is one.
    pub fn load_metadata(&mut self, verify: bool) -> Result<()> {
        let mut raw = [0u8; 1024];
        self.read_bytes(SUPERBLOCK_OFFSET, &mut raw)?;
        let sb = Ext4SuperBlock::read_from_bytes(&raw[..])
            .map_err(|_| Error::corrupt("superblock: bad size"))?;
        let geo = superblock::geometry(&sb)?;
        superblock::check_incompat(geo.incompat)?;
        self.csum_seed = None;
        if verify && geo.metadata_csum() {
            if sb.s_checksum_type != 1 {
                return Err(Error::corrupt(format!(
                    "superblock: s_checksum_type {} is not crc32c",
                    sb.s_checksum_type
                )));
            }
            let c = csum::chksum(!0, &raw[..S_CHECKSUM_OFFSET]);
            if c != sb.s_checksum.get() {
                return Err(Error::corrupt(format!(
                    "superblock: checksum {c:#010x} != stored {:#010x}",
                    sb.s_checksum.get()
                )));
            }
            let seed = (geo.incompat & INCOMPAT_CSUM_SEED != 0).then(|| sb.s_checksum_seed.get());
            self.csum_seed = Some(csum::fs_seed(&sb.s_uuid, seed));
        }
        self.geo = geo;
        self.sb = sb;
        // Descriptors are read when needed, so a hostile s_blocks_count
        // cannot make the mount keep millions of them. The table must still
        // fit on the device; up to EAGER_DESC_BLOCKS blocks of it are checked
        // now (every filesystem up to 8 TiB with 4 KiB blocks).
        let per_block = u64::from(self.geo.block_size / self.geo.desc_size);
        let desc_blocks = self.geo.group_count.div_ceil(per_block);
        if desc_blocks > self.dev.size() / self.block_size() {
            return Err(Error::corrupt(format!(
                "superblock: {} groups need {desc_blocks} descriptor blocks, more than the device holds",
                self.geo.group_count
            )));
        }
        let eager = if desc_blocks <= EAGER_DESC_BLOCKS {
            self.geo.group_count
        } else {
            1
        };
        for g in 0..eager {
            self.group(g)?;
        }
        Ok(())
    }

    /// Descriptor of group `g`, checksum-verified.
    pub fn group(&self, g: u64) -> Result<Group> {
        if g >= self.geo.group_count {
            return Err(Error::corrupt(format!(
                "group {g} past the last group ({})",
                self.geo.group_count
            )));
        }
        let per_block = u64::from(self.geo.block_size / self.geo.desc_size);
        let i = g / per_block;
        let blk = group::descriptor_block(&self.sb, &self.geo, i)?;
        let data = self.meta_block(blk, || format!("group descriptor block {i}"))?;
        let ds = self.geo.desc_size as usize;
        let off = (g % per_block) as usize * ds;
        let Some(raw) = data.get(off..off + ds) else {
            return Err(Error::corrupt(format!(
                "group descriptor {g} outside its block"
            )));
        };
        group::decode(&self.geo, g, raw, self.csum_seed)
    }

    /// Forgets cached blocks (after the journal overlay changed what they hold).
    pub fn clear_cache(&mut self) {
        self.cache = BlockCache::new(cache_blocks(self.geo.block_size));
    }

    pub fn block_size(&self) -> u64 {
        u64::from(self.geo.block_size)
    }

    /// Reads bytes at a byte offset of the filesystem as the journal overlay
    /// (if any) says they are.
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if self.overlay.is_empty() {
            return self.dev.read_exact_at(offset, buf);
        }
        let bs = self.block_size();
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let blk = pos / bs;
            let in_blk = (pos % bs) as usize;
            let n = (bs as usize - in_blk).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            match self.overlay.get(blk) {
                Some(_) => {
                    let b = self.overlay_block(blk)?;
                    out.copy_from_slice(&b[in_blk..in_blk + n]);
                }
                None => self.dev.read_exact_at(pos, out)?,
            }
            done += n;
        }
        Ok(())
    }

    fn overlay_block(&self, blk: u64) -> Result<Vec<u8>> {
        let mut v = vec![0u8; self.geo.block_size as usize];
        crate::journal::read_overlay_block(self, blk, &mut v)?;
        Ok(v)
    }

    /// A metadata block (cached). `what` names it for errors.
    pub fn meta_block(&self, blk: u64, what: impl FnOnce() -> String) -> Result<Arc<[u8]>> {
        if blk >= self.geo.blocks_count || (blk == 0 && self.geo.block_size == 1024) {
            return Err(Error::corrupt(format!(
                "{}: block {blk} outside the filesystem ({} blocks)",
                what(),
                self.geo.blocks_count
            )));
        }
        if let Some(b) = self.cache.get(blk) {
            // A hit costs no device read but still counts against the
            // operation's budget: a walk round a cycle of cached blocks
            // must end too.
            fsimage_abi::budget::charge()?;
            return Ok(b);
        }
        let bs = self.block_size();
        let mut v = vec![0u8; bs as usize];
        self.read_bytes(blk * bs, &mut v)?;
        let a: Arc<[u8]> = Arc::from(v);
        self.cache.insert(blk, a.clone());
        Ok(a)
    }

    /// Checks that `[start, start+len)` lies inside the filesystem.
    pub fn check_data_blocks(&self, start: u64, len: u64, ino: u32) -> Result<()> {
        // A filesystem claiming more blocks than its device holds (a
        // truncated image) has only the device's blocks to give.
        let limit = self
            .geo
            .blocks_count
            .min(self.dev.size() / self.block_size());
        match start.checked_add(len) {
            Some(end) if start > 0 && end <= limit => Ok(()),
            _ => Err(Error::corrupt(format!(
                "inode {ino}: blocks {start}+{len} outside the filesystem ({limit} blocks)"
            ))),
        }
    }

    /// Reads inode `ino` (1-based).
    pub fn inode(&self, ino: u32) -> Result<Inode> {
        if ino == 0 || ino > self.geo.inodes_count {
            return Err(Error::corrupt(format!(
                "inode number {ino} outside 1..={}",
                self.geo.inodes_count
            )));
        }
        let idx = ino - 1;
        let group = self.group(u64::from(idx / self.geo.inodes_per_group))?;
        let within = u64::from(idx % self.geo.inodes_per_group) * u64::from(self.geo.inode_size);
        let bs = self.block_size();
        let blk = group.inode_table + within / bs;
        let off = (within % bs) as usize;
        let data = self.meta_block(blk, || format!("inode {ino}: inode table"))?;
        let size = self.geo.inode_size as usize;
        let Some(raw) = data.get(off..off + size) else {
            return Err(Error::corrupt(format!(
                "inode {ino}: outside its table block"
            )));
        };
        Inode::parse(ino, raw.to_vec(), self.csum_seed)
    }
}
