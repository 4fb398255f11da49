//! Block group descriptors (ext4 disk layout, "Block Group Descriptors"),
//! their placement (`meta_bg`, `sparse_super`, `sparse_super2`) and checksums.

use crate::csum;
use crate::superblock::{
    COMPAT_SPARSE_SUPER2, Ext4SuperBlock, Geometry, INCOMPAT_META_BG, RO_COMPAT_SPARSE_SUPER,
};
use fsimage_abi::{Error, Result};
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct ext4_group_desc`; 32-byte descriptors are the first half.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4GroupDesc {
    pub bg_block_bitmap_lo: U32,
    pub bg_inode_bitmap_lo: U32,
    pub bg_inode_table_lo: U32,
    pub bg_free_blocks_count_lo: U16,
    pub bg_free_inodes_count_lo: U16,
    pub bg_used_dirs_count_lo: U16,
    pub bg_flags: U16,
    pub bg_exclude_bitmap_lo: U32,
    pub bg_block_bitmap_csum_lo: U16,
    pub bg_inode_bitmap_csum_lo: U16,
    pub bg_itable_unused_lo: U16,
    pub bg_checksum: U16,
    // 64bit only (s_desc_size >= 64).
    pub bg_block_bitmap_hi: U32,
    pub bg_inode_bitmap_hi: U32,
    pub bg_inode_table_hi: U32,
    pub bg_free_blocks_count_hi: U16,
    pub bg_free_inodes_count_hi: U16,
    pub bg_used_dirs_count_hi: U16,
    pub bg_itable_unused_hi: U16,
    pub bg_exclude_bitmap_hi: U32,
    pub bg_block_bitmap_csum_hi: U16,
    pub bg_inode_bitmap_csum_hi: U16,
    pub bg_reserved: U32,
}

const BG_CHECKSUM_OFFSET: usize = 0x1E;

/// Whether group `g` holds a superblock backup (and so a descriptor copy).
pub fn has_super(sb: &Ext4SuperBlock, geo: &Geometry, g: u64) -> bool {
    if g == 0 {
        return true;
    }
    if geo.has_compat(COMPAT_SPARSE_SUPER2) {
        return sb.s_backup_bgs.iter().any(|b| u64::from(b.get()) == g);
    }
    if !geo.has_ro_compat(RO_COMPAT_SPARSE_SUPER) || g == 1 {
        return true;
    }
    [3u64, 5, 7].iter().any(|&p| is_power_of(g, p))
}

fn is_power_of(mut n: u64, p: u64) -> bool {
    while n > 1 && n % p == 0 {
        n /= p;
    }
    n == 1
}

/// Block holding descriptor block `i` (each holds block_size/desc_size groups).
pub fn descriptor_block(sb: &Ext4SuperBlock, geo: &Geometry, i: u64) -> Result<u64> {
    // The superblock is in block 1 with 1 KiB blocks, else in block 0.
    let sb_block = if geo.block_size == 1024 { 1 } else { 0 };
    let per_block = u64::from(geo.block_size / geo.desc_size);
    let meta = geo.has_incompat(INCOMPAT_META_BG);
    let blk = if !meta || i < u64::from(sb.s_first_meta_bg.get()) {
        Some(sb_block + 1 + i)
    } else {
        // meta_bg: the first block of the first group of each meta group,
        // after its superblock backup if it has one.
        let g = i.checked_mul(per_block);
        g.and_then(|g| {
            let first = g
                .checked_mul(geo.blocks_per_group)?
                .checked_add(geo.first_data_block)?;
            let adjust = u64::from(g == 0 && geo.block_size == 1024 && geo.first_data_block == 0);
            Some(first + u64::from(has_super(sb, geo, g)) + adjust)
        })
    };
    match blk {
        Some(b) if b < geo.blocks_count => Ok(b),
        _ => Err(Error::corrupt(format!(
            "group descriptor block {i} lies past the end of the filesystem"
        ))),
    }
}

/// What the reader keeps of each group.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub inode_table: u64,
}

/// Decodes (and with `verify`, checks the metadata_csum of) descriptor `g`
/// from its raw bytes (`desc_size` long).
pub fn decode(geo: &Geometry, g: u64, raw: &[u8], seed: Option<u32>) -> Result<Group> {
    let mut full = [0u8; 64];
    let n = raw.len().min(64);
    full[..n].copy_from_slice(&raw[..n]);
    let Ok(d) = Ext4GroupDesc::read_from_bytes(&full[..]) else {
        return Err(Error::corrupt("group descriptor: bad size"));
    };
    if let Some(seed) = seed {
        // crc32c over the group number and the descriptor with bg_checksum
        // zeroed, truncated to 16 bits.
        let le = u32::try_from(g).unwrap_or(u32::MAX).to_le_bytes();
        let mut c = csum::chksum(seed, &le);
        c = csum::chksum(c, &raw[..BG_CHECKSUM_OFFSET]);
        c = csum::chksum(c, &[0, 0]);
        c = csum::chksum(c, raw.get(BG_CHECKSUM_OFFSET + 2..).unwrap_or(&[]));
        let want = d.bg_checksum.get();
        if (c & 0xFFFF) as u16 != want {
            return Err(Error::corrupt(format!(
                "group descriptor {g}: checksum {:#06x} != stored {want:#06x}",
                c & 0xFFFF
            )));
        }
    }
    let mut table = u64::from(d.bg_inode_table_lo.get());
    if geo.desc_size >= 64 {
        table |= u64::from(d.bg_inode_table_hi.get()) << 32;
    }
    // The whole inode table must lie inside the filesystem.
    let table_blocks = (u64::from(geo.inodes_per_group) * u64::from(geo.inode_size))
        .div_ceil(u64::from(geo.block_size));
    if table == 0
        || table
            .checked_add(table_blocks)
            .is_none_or(|end| end > geo.blocks_count)
    {
        return Err(Error::corrupt(format!(
            "group descriptor {g}: inode table at block {table} outside the filesystem"
        )));
    }
    Ok(Group { inode_table: table })
}
