//! The superblock (ext4 disk layout, "The Super Block") and the feature flags
//! this reader accepts or refuses.

use fsimage_abi::{Error, Result};
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Byte offset of the primary superblock from the start of the partition.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// `s_magic`.
pub const EXT2_SUPER_MAGIC: u16 = 0xEF53;

/// `struct ext4_super_block` (1024 bytes at byte 1024).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone)]
#[repr(C)]
pub struct Ext4SuperBlock {
    pub s_inodes_count: U32,
    pub s_blocks_count_lo: U32,
    pub s_r_blocks_count_lo: U32,
    pub s_free_blocks_count_lo: U32,
    pub s_free_inodes_count: U32,
    pub s_first_data_block: U32,
    pub s_log_block_size: U32,
    pub s_log_cluster_size: U32,
    pub s_blocks_per_group: U32,
    pub s_clusters_per_group: U32,
    pub s_inodes_per_group: U32,
    pub s_mtime: U32,
    pub s_wtime: U32,
    pub s_mnt_count: U16,
    pub s_max_mnt_count: U16,
    pub s_magic: U16,
    pub s_state: U16,
    pub s_errors: U16,
    pub s_minor_rev_level: U16,
    pub s_lastcheck: U32,
    pub s_checkinterval: U32,
    pub s_creator_os: U32,
    pub s_rev_level: U32,
    pub s_def_resuid: U16,
    pub s_def_resgid: U16,
    // EXT4_DYNAMIC_REV fields.
    pub s_first_ino: U32,
    pub s_inode_size: U16,
    pub s_block_group_nr: U16,
    pub s_feature_compat: U32,
    pub s_feature_incompat: U32,
    pub s_feature_ro_compat: U32,
    pub s_uuid: [u8; 16],
    pub s_volume_name: [u8; 16],
    pub s_last_mounted: [u8; 64],
    pub s_algorithm_usage_bitmap: U32,
    pub s_prealloc_blocks: u8,
    pub s_prealloc_dir_blocks: u8,
    pub s_reserved_gdt_blocks: U16,
    pub s_journal_uuid: [u8; 16],
    pub s_journal_inum: U32,
    pub s_journal_dev: U32,
    pub s_last_orphan: U32,
    pub s_hash_seed: [U32; 4],
    pub s_def_hash_version: u8,
    pub s_jnl_backup_type: u8,
    pub s_desc_size: U16,
    pub s_default_mount_opts: U32,
    pub s_first_meta_bg: U32,
    pub s_mkfs_time: U32,
    pub s_jnl_blocks: [U32; 17],
    // 64bit support.
    pub s_blocks_count_hi: U32,
    pub s_r_blocks_count_hi: U32,
    pub s_free_blocks_count_hi: U32,
    pub s_min_extra_isize: U16,
    pub s_want_extra_isize: U16,
    pub s_flags: U32,
    pub s_raid_stride: U16,
    pub s_mmp_interval: U16,
    pub s_mmp_block: U64,
    pub s_raid_stripe_width: U32,
    pub s_log_groups_per_flex: u8,
    pub s_checksum_type: u8,
    pub s_encryption_level: u8,
    pub s_reserved_pad: u8,
    pub s_kbytes_written: U64,
    pub s_snapshot_inum: U32,
    pub s_snapshot_id: U32,
    pub s_snapshot_r_blocks_count: U64,
    pub s_snapshot_list: U32,
    pub s_error_count: U32,
    pub s_first_error_time: U32,
    pub s_first_error_ino: U32,
    pub s_first_error_block: U64,
    pub s_first_error_func: [u8; 32],
    pub s_first_error_line: U32,
    pub s_last_error_time: U32,
    pub s_last_error_ino: U32,
    pub s_last_error_line: U32,
    pub s_last_error_block: U64,
    pub s_last_error_func: [u8; 32],
    pub s_mount_opts: [u8; 64],
    pub s_usr_quota_inum: U32,
    pub s_grp_quota_inum: U32,
    pub s_overhead_blocks: U32,
    pub s_backup_bgs: [U32; 2],
    pub s_encrypt_algos: [u8; 4],
    pub s_encrypt_pw_salt: [u8; 16],
    pub s_lpf_ino: U32,
    pub s_prj_quota_inum: U32,
    pub s_checksum_seed: U32,
    pub s_wtime_hi: u8,
    pub s_mtime_hi: u8,
    pub s_mkfs_time_hi: u8,
    pub s_lastcheck_hi: u8,
    pub s_first_error_time_hi: u8,
    pub s_last_error_time_hi: u8,
    pub s_first_error_errcode: u8,
    pub s_last_error_errcode: u8,
    pub s_encoding: U16,
    pub s_encoding_flags: U16,
    pub s_orphan_file_inum: U32,
    pub s_reserved: [U32; 94],
    pub s_checksum: U32,
}

const _: () = assert!(std::mem::size_of::<Ext4SuperBlock>() == 1024);

/// Byte offset of `s_checksum` (the superblock checksum covers what precedes it).
pub const S_CHECKSUM_OFFSET: usize = 0x3FC;

// s_feature_compat
pub const COMPAT_HAS_JOURNAL: u32 = 0x4;
pub const COMPAT_DIR_INDEX: u32 = 0x20;
pub const COMPAT_SPARSE_SUPER2: u32 = 0x200;

// s_feature_ro_compat (never refused: this reader never writes)
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub const RO_COMPAT_BIGALLOC: u32 = 0x200;
pub const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

// s_feature_incompat
pub const INCOMPAT_COMPRESSION: u32 = 0x1;
pub const INCOMPAT_FILETYPE: u32 = 0x2;
pub const INCOMPAT_RECOVER: u32 = 0x4;
pub const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
pub const INCOMPAT_META_BG: u32 = 0x10;
pub const INCOMPAT_EXTENTS: u32 = 0x40;
pub const INCOMPAT_64BIT: u32 = 0x80;
pub const INCOMPAT_MMP: u32 = 0x100;
pub const INCOMPAT_FLEX_BG: u32 = 0x200;
pub const INCOMPAT_EA_INODE: u32 = 0x400;
pub const INCOMPAT_DIRDATA: u32 = 0x1000;
pub const INCOMPAT_CSUM_SEED: u32 = 0x2000;
pub const INCOMPAT_LARGEDIR: u32 = 0x4000;
pub const INCOMPAT_INLINE_DATA: u32 = 0x8000;
pub const INCOMPAT_ENCRYPT: u32 = 0x10000;
pub const INCOMPAT_CASEFOLD: u32 = 0x20000;

/// Incompat flags this reader handles (everything else is refused by name).
const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE
    | INCOMPAT_RECOVER
    | INCOMPAT_META_BG
    | INCOMPAT_EXTENTS
    | INCOMPAT_64BIT
    | INCOMPAT_MMP
    | INCOMPAT_FLEX_BG
    | INCOMPAT_EA_INODE
    | INCOMPAT_CSUM_SEED
    | INCOMPAT_LARGEDIR
    | INCOMPAT_INLINE_DATA
    | INCOMPAT_CASEFOLD;

/// Names of the incompat flags, for refusals.
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (INCOMPAT_COMPRESSION, "compression"),
    (INCOMPAT_JOURNAL_DEV, "journal_dev"),
    (INCOMPAT_DIRDATA, "dirdata"),
    (INCOMPAT_ENCRYPT, "encrypt"),
];

// s_flags
pub const EXT2_FLAGS_UNSIGNED_HASH: u32 = 0x2;

/// Refuses a filesystem that uses an incompat feature this reader cannot read,
/// naming the feature.
pub fn check_incompat(incompat: u32) -> Result<()> {
    let bad = incompat & !INCOMPAT_SUPPORTED;
    if bad == 0 {
        return Ok(());
    }
    for &(bit, name) in INCOMPAT_NAMES {
        if bad & bit != 0 {
            return Err(Error::unsupported(format!("ext4 feature: {name}")));
        }
    }
    Err(Error::unsupported(format!(
        "ext4 feature: unknown incompat flags {bad:#x}"
    )))
}

/// The geometry derived from a checked superblock.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub block_size: u32,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u32,
    pub inodes_count: u32,
    pub inode_size: u32,
    pub desc_size: u32,
    pub group_count: u64,
    pub incompat: u32,
    pub ro_compat: u32,
    pub compat: u32,
}

impl Geometry {
    pub fn has_incompat(&self, f: u32) -> bool {
        self.incompat & f != 0
    }
    pub fn has_ro_compat(&self, f: u32) -> bool {
        self.ro_compat & f != 0
    }
    pub fn has_compat(&self, f: u32) -> bool {
        self.compat & f != 0
    }
    pub fn metadata_csum(&self) -> bool {
        self.has_ro_compat(RO_COMPAT_METADATA_CSUM)
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("superblock: {what}"))
}

/// Checks the superblock's magic and every count the reader divides or
/// multiplies by, and derives the geometry.
pub fn geometry(sb: &Ext4SuperBlock) -> Result<Geometry> {
    if sb.s_magic.get() != EXT2_SUPER_MAGIC {
        return Err(Error::not_recognized(format!(
            "ext2: bad superblock magic {:#06x}",
            sb.s_magic.get()
        )));
    }
    let log = sb.s_log_block_size.get();
    // 1 KiB << 6 = 64 KiB, the largest block size ext4 allows.
    if log > 6 {
        return Err(corrupt(format!("s_log_block_size {log} > 6")));
    }
    let block_size = 1024u32 << log;
    let rev = sb.s_rev_level.get();
    if rev > 1 {
        return Err(corrupt(format!("s_rev_level {rev} unknown")));
    }
    let (incompat, ro_compat, compat) = if rev == 0 {
        (0, 0, 0)
    } else {
        (
            sb.s_feature_incompat.get(),
            sb.s_feature_ro_compat.get(),
            sb.s_feature_compat.get(),
        )
    };
    let inode_size = if rev == 0 {
        128
    } else {
        u32::from(sb.s_inode_size.get())
    };
    if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
        return Err(corrupt(format!("s_inode_size {inode_size} invalid")));
    }
    let ipg = sb.s_inodes_per_group.get();
    if ipg == 0 || u64::from(ipg) > u64::from(block_size) * 8 {
        return Err(corrupt(format!("s_inodes_per_group {ipg} invalid")));
    }
    let bpg = u64::from(sb.s_blocks_per_group.get());
    // With bigalloc a group's bitmap counts clusters, so a group may hold up to
    // 8 * block_size clusters of up to 2^16 blocks... bounded by the u32 field.
    let max_bpg = if ro_compat & RO_COMPAT_BIGALLOC != 0 {
        u64::from(u32::MAX)
    } else {
        u64::from(block_size) * 8
    };
    if bpg == 0 || bpg > max_bpg {
        return Err(corrupt(format!("s_blocks_per_group {bpg} invalid")));
    }
    let sixty_four = incompat & INCOMPAT_64BIT != 0;
    let blocks_count = u64::from(sb.s_blocks_count_lo.get())
        | if sixty_four {
            u64::from(sb.s_blocks_count_hi.get()) << 32
        } else {
            0
        };
    // Byte offsets of blocks must fit in 64 bits.
    if blocks_count.checked_mul(u64::from(block_size)).is_none() {
        return Err(corrupt(format!("s_blocks_count {blocks_count} too large")));
    }
    let first_data_block = u64::from(sb.s_first_data_block.get());
    if first_data_block > 1 || blocks_count <= first_data_block {
        return Err(corrupt(format!(
            "s_blocks_count {blocks_count} / s_first_data_block {first_data_block} invalid"
        )));
    }
    let desc_size = if sixty_four {
        let d = u32::from(sb.s_desc_size.get());
        if !(64..=1024).contains(&d) || !d.is_power_of_two() || d > block_size {
            return Err(corrupt(format!("s_desc_size {d} invalid")));
        }
        d
    } else {
        32
    };
    let group_count = (blocks_count - first_data_block).div_ceil(bpg);
    let inodes_count = sb.s_inodes_count.get();
    if inodes_count < 11 || u64::from(inodes_count) > group_count.saturating_mul(u64::from(ipg)) {
        return Err(corrupt(format!(
            "s_inodes_count {inodes_count} does not fit {group_count} groups of {ipg} inodes"
        )));
    }
    Ok(Geometry {
        block_size,
        blocks_count,
        first_data_block,
        blocks_per_group: bpg,
        inodes_per_group: ipg,
        inodes_count,
        inode_size,
        desc_size,
        group_count,
        incompat,
        ro_compat,
        compat,
    })
}
