//! On-disk structures of ReiserFS 3.5/3.6, all little-endian.
//!
//! Layouts from the Linux kernel's fs/reiserfs/reiserfs.h (struct
//! reiserfs_super_block, block_head, reiserfs_key, item_head, disk_child,
//! stat_data_v1, stat_data, reiserfs_de_head) and fs/reiserfs/journal.c's
//! journal header, description and commit blocks.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// reiserfs.h `struct journal_params`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub struct JournalParams {
    pub jp_journal_1st_block: U32,
    pub jp_journal_dev: U32,
    pub jp_journal_size: U32,
    pub jp_journal_trans_max: U32,
    pub jp_journal_magic: U32,
    pub jp_journal_max_batch: U32,
    pub jp_journal_max_commit_age: U32,
    pub jp_journal_max_trans_age: U32,
}

/// reiserfs.h `struct reiserfs_super_block` (v1 part, 76 bytes, then the
/// 3.6 additions; 204 bytes), at 64 KiB (8 KiB on very old 3.5).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SuperBlock {
    pub s_block_count: U32,
    pub s_free_blocks: U32,
    pub s_root_block: U32,
    pub s_journal: JournalParams,
    pub s_blocksize: U16,
    pub s_oid_maxsize: U16,
    pub s_oid_cursize: U16,
    pub s_umount_state: U16,
    pub s_magic: [u8; 10],
    pub s_fs_state: U16,
    pub s_hash_function_code: U32,
    pub s_tree_height: U16,
    pub s_bmap_nr: U16,
    pub s_version: U16,
    pub s_reserved_for_journal: U16,
    // 3.6 additions.
    pub s_inode_generation: U32,
    pub s_flags: U32,
    pub s_uuid: [u8; 16],
    pub s_label: [u8; 16],
    pub s_mnt_count: U16,
    pub s_max_mnt_count: U16,
    pub s_lastcheck: U32,
    pub s_check_interval: U32,
    pub s_unused: [u8; 76],
}

/// reiserfs.h `struct block_head`: the head of every tree node.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BlockHead {
    pub blk_level: U16,
    pub blk_nr_item: U16,
    pub blk_free_space: U16,
    pub blk_reserved: U16,
    pub blk_right_delim_key: RawKey,
}
pub const BLKH_SIZE: usize = 24;

/// reiserfs.h `struct reiserfs_key`: the offset half is `offset_v1`
/// (k_offset, k_uniqueness) or `offset_v2` (60-bit offset, 4-bit type).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub struct RawKey {
    pub k_dir_id: U32,
    pub k_objectid: U32,
    pub k_offset: U64,
}
pub const KEY_SIZE: usize = 16;

/// reiserfs.h `struct item_head`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ItemHead {
    pub ih_key: RawKey,
    /// ih_free_space_reserved, or ih_entry_count for directory items.
    pub ih_entry_count: U16,
    pub ih_item_len: U16,
    pub ih_item_location: U16,
    pub ih_version: U16,
}
pub const IH_SIZE: usize = 24;

/// reiserfs.h `struct disk_child`: an internal node's child pointer.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DiskChild {
    pub dc_block_number: U32,
    pub dc_size: U16,
    pub dc_reserved: U16,
}
pub const DC_SIZE: usize = 8;

/// reiserfs.h `struct stat_data_v1` (3.5 format, 32 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct StatDataV1 {
    pub sd_mode: U16,
    pub sd_nlink: U16,
    pub sd_uid: U16,
    pub sd_gid: U16,
    pub sd_size: U32,
    pub sd_atime: U32,
    pub sd_mtime: U32,
    pub sd_ctime: U32,
    /// sd_rdev or sd_blocks.
    pub sd_rdev: U32,
    pub sd_first_direct_byte: U32,
}

/// reiserfs.h `struct stat_data` (3.6 format, 44 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct StatDataV2 {
    pub sd_mode: U16,
    pub sd_attrs: U16,
    pub sd_nlink: U32,
    pub sd_size: U64,
    pub sd_uid: U32,
    pub sd_gid: U32,
    pub sd_atime: U32,
    pub sd_mtime: U32,
    pub sd_ctime: U32,
    pub sd_blocks: U32,
    /// sd_rdev or sd_generation.
    pub sd_rdev: U32,
}

/// reiserfs.h `struct reiserfs_de_head`: one directory entry's head.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DeHead {
    pub deh_offset: U32,
    pub deh_dir_id: U32,
    pub deh_objectid: U32,
    pub deh_location: U16,
    pub deh_state: U16,
}
pub const DEH_SIZE: usize = 16;

/// journal.c `struct reiserfs_journal_header`: the block after the log.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct JournalHeader {
    pub j_last_flush_trans_id: U32,
    pub j_first_unflushed_offset: U32,
    pub j_mount_id: U32,
    pub jh_journal: JournalParams,
}

/// journal.c `struct reiserfs_journal_desc` / `reiserfs_journal_commit`
/// head: transaction id and length, then real block numbers.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct JournalDescHead {
    pub j_trans_id: U32,
    pub j_len: U32,
    pub j_mount_id: U32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_headers() {
        assert_eq!(size_of::<SuperBlock>(), 204);
        assert_eq!(size_of::<JournalParams>(), 32);
        assert_eq!(size_of::<BlockHead>(), BLKH_SIZE);
        assert_eq!(size_of::<RawKey>(), KEY_SIZE);
        assert_eq!(size_of::<ItemHead>(), IH_SIZE);
        assert_eq!(size_of::<DiskChild>(), DC_SIZE);
        assert_eq!(size_of::<StatDataV1>(), 32);
        assert_eq!(size_of::<StatDataV2>(), 44);
        assert_eq!(size_of::<DeHead>(), DEH_SIZE);
        // The probe's magic: 64 KiB + 52.
        assert_eq!(std::mem::offset_of!(SuperBlock, s_magic), 52);
    }
}
