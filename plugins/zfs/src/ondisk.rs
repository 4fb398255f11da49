//! On-disk structures, declared once, little-endian (the byte order of every
//! pool this reader mounts; big-endian pools are refused at the uberblock).
//! Field names as in the OpenZFS headers named on each struct.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `blkptr_t` (include/sys/spa.h): three DVAs, properties, birth txgs,
/// fill count, checksum. 128 bytes.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct blkptr_t {
    pub blk_dva: [[U64; 2]; 3],
    pub blk_prop: U64,
    pub blk_pad: [U64; 2],
    pub blk_phys_birth: U64,
    pub blk_birth: U64,
    pub blk_fill: U64,
    pub blk_cksum: [U64; 4],
}

/// `uberblock_t` (include/sys/uberblock_impl.h), the fields this reader uses.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct uberblock_t {
    pub ub_magic: U64,
    pub ub_version: U64,
    pub ub_txg: U64,
    pub ub_guid_sum: U64,
    pub ub_timestamp: U64,
    pub ub_rootbp: blkptr_t,
}

/// `zio_eck_t` (include/sys/zio.h): the embedded checksum at the end of a
/// label area, an uberblock slot or a gang header.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct zio_eck_t {
    pub zec_magic: U64,
    pub zec_cksum: [U64; 4],
}

/// The 64-byte head of `dnode_phys_t` (include/sys/dnode.h); block
/// pointers, bonus and spill pointer follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct dnode_phys_t {
    pub dn_type: u8,
    pub dn_indblkshift: u8,
    pub dn_nlevels: u8,
    pub dn_nblkptr: u8,
    pub dn_bonustype: u8,
    pub dn_checksum: u8,
    pub dn_compress: u8,
    pub dn_flags: u8,
    pub dn_datablkszsec: U16,
    pub dn_bonuslen: U16,
    pub dn_extra_slots: u8,
    pub dn_pad2: [u8; 3],
    pub dn_maxblkid: U64,
    pub dn_used: U64,
    pub dn_pad3: [U64; 4],
}

/// `dsl_dir_phys_t` (include/sys/dsl_dir.h), leading fields.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct dsl_dir_phys_t {
    pub dd_creation_time: U64,
    pub dd_head_dataset_obj: U64,
    pub dd_parent_obj: U64,
    pub dd_origin_obj: U64,
    pub dd_child_dir_zapobj: U64,
}

/// `dsl_dataset_phys_t` (include/sys/dsl_dataset.h), up to `ds_bp`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct dsl_dataset_phys_t {
    pub ds_dir_obj: U64,
    pub ds_prev_snap_obj: U64,
    pub ds_prev_snap_txg: U64,
    pub ds_next_snap_obj: U64,
    pub ds_snapnames_zapobj: U64,
    pub ds_num_children: U64,
    pub ds_creation_time: U64,
    pub ds_creation_txg: U64,
    pub ds_deadlist_obj: U64,
    pub ds_referenced_bytes: U64,
    pub ds_compressed_bytes: U64,
    pub ds_uncompressed_bytes: U64,
    pub ds_unique_bytes: U64,
    pub ds_fsid_guid: U64,
    pub ds_guid: U64,
    pub ds_flags: U64,
    pub ds_bp: blkptr_t,
}

/// `znode_phys_t` (include/sys/zfs_znode.h): the bonus of ZPL v1-4 objects.
/// 264 bytes; an inline symlink target follows it.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct znode_phys_t {
    pub zp_atime: [U64; 2],
    pub zp_mtime: [U64; 2],
    pub zp_ctime: [U64; 2],
    pub zp_crtime: [U64; 2],
    pub zp_gen: U64,
    pub zp_mode: U64,
    pub zp_size: U64,
    pub zp_parent: U64,
    pub zp_links: U64,
    pub zp_xattr: U64,
    pub zp_rdev: U64,
    pub zp_flags: U64,
    pub zp_uid: U64,
    pub zp_gid: U64,
    pub zp_zap: U64,
    pub zp_pad: [U64; 3],
    pub zp_acl: [u8; 88],
}

/// `mzap_ent_phys_t` (include/sys/zap_impl.h): one micro-ZAP entry.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct mzap_ent_phys_t {
    pub mze_value: U64,
    pub mze_cd: U32,
    pub mze_pad: U16,
    pub mze_name: [u8; 50],
}

/// `zap_phys_t` (include/sys/zap_impl.h): block 0 of a fat ZAP, with the
/// pointer table descriptor `zap_table_phys_t` inlined.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct zap_phys_t {
    pub zap_block_type: U64,
    pub zap_magic: U64,
    pub zt_blk: U64,
    pub zt_numblks: U64,
    pub zt_shift: U64,
    pub zt_nextblk: U64,
    pub zt_blks_copied: U64,
    pub zap_freeblk: U64,
    pub zap_num_leafs: U64,
    pub zap_num_entries: U64,
    pub zap_salt: U64,
    pub zap_normflags: U64,
    pub zap_flags: U64,
}

/// `zap_leaf_phys_t` header (include/sys/zap_leaf.h), 48 bytes; the hash
/// table and the 24-byte chunks follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct zap_leaf_header {
    pub lh_block_type: U64,
    pub lh_pad1: U64,
    pub lh_prefix: U64,
    pub lh_magic: U32,
    pub lh_nfree: U16,
    pub lh_nentries: U16,
    pub lh_prefix_len: U16,
    pub lh_freelist: U16,
    pub lh_flags: u8,
    pub lh_pad2: [u8; 11],
}

/// `zap_leaf_entry` (include/sys/zap_leaf.h), a 24-byte chunk.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct zap_leaf_entry {
    pub le_type: u8,
    pub le_value_intlen: u8,
    pub le_next: U16,
    pub le_name_chunk: U16,
    pub le_name_numints: U16,
    pub le_value_chunk: U16,
    pub le_value_numints: U16,
    pub le_cd: U32,
    pub le_hash: U64,
}

/// `zap_leaf_array` (include/sys/zap_leaf.h), a 24-byte chunk.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct zap_leaf_array {
    pub la_type: u8,
    pub la_array: [u8; 21],
    pub la_next: U16,
}

/// `sa_hdr_phys_t` (include/sys/sa_impl.h): head of an SA bonus or spill;
/// `sa_lengths[]` of the variable-size attributes follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct sa_hdr_phys_t {
    pub sa_magic: U32,
    pub sa_layout_info: U16,
}
