//! On-disk structures, declared once for both byte orders: every multi-byte
//! field is a zerocopy integer generic over its [`ByteOrder`], and the
//! filesystem's order (found from the magic) picks the instance.
//!
//! Layouts from FreeBSD `sys/ufs/ffs/fs.h` (struct fs), `sys/ufs/ufs/dinode.h`
//! (struct ufs1_dinode, ufs2_dinode) and `sys/ufs/ufs/dir.h` (struct direct).

use zerocopy::byteorder::{ByteOrder, I16, I32, I64, U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// fs.h `struct fs`: the superblock (1376 bytes). Fields this reader never
/// needs are kept as byte arrays under their spec names.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Fs<O: ByteOrder> {
    pub fs_firstfield: I32<O>,
    pub fs_unused_1: I32<O>,
    pub fs_sblkno: I32<O>,
    pub fs_cblkno: I32<O>,
    pub fs_iblkno: I32<O>,
    pub fs_dblkno: I32<O>,
    pub fs_old_cgoffset: I32<O>,
    pub fs_old_cgmask: I32<O>,
    pub fs_old_time: I32<O>,
    pub fs_old_size: I32<O>,
    pub fs_old_dsize: I32<O>,
    pub fs_ncg: U32<O>,
    pub fs_bsize: I32<O>,
    pub fs_fsize: I32<O>,
    pub fs_frag: I32<O>,
    pub fs_minfree: I32<O>,
    pub fs_old_rotdelay: I32<O>,
    pub fs_old_rps: I32<O>,
    pub fs_bmask: I32<O>,
    pub fs_fmask: I32<O>,
    pub fs_bshift: I32<O>,
    pub fs_fshift: I32<O>,
    pub fs_maxcontig: I32<O>,
    pub fs_maxbpg: I32<O>,
    pub fs_fragshift: I32<O>,
    pub fs_fsbtodb: I32<O>,
    pub fs_sbsize: I32<O>,
    pub fs_spare1: [u8; 8],
    pub fs_nindir: I32<O>,
    pub fs_inopb: U32<O>,
    pub fs_old_nspf: I32<O>,
    pub fs_optim: I32<O>,
    pub fs_old_npsect: I32<O>,
    pub fs_old_interleave: I32<O>,
    pub fs_old_trackskew: I32<O>,
    pub fs_id: [u8; 8],
    pub fs_old_csaddr: I32<O>,
    pub fs_cssize: I32<O>,
    pub fs_cgsize: I32<O>,
    pub fs_spare2: I32<O>,
    pub fs_old_nsect: I32<O>,
    pub fs_old_spc: I32<O>,
    pub fs_old_ncyl: I32<O>,
    pub fs_old_cpg: I32<O>,
    pub fs_ipg: U32<O>,
    pub fs_fpg: I32<O>,
    /// struct csum (4 x int32).
    pub fs_old_cstotal: [u8; 16],
    pub fs_fmod: u8,
    pub fs_clean: u8,
    pub fs_ronly: u8,
    pub fs_old_flags: u8,
    /// MAXMNTLEN = 468.
    pub fs_fsmnt: [u8; 468],
    /// MAXVOLLEN = 32.
    pub fs_volname: [u8; 32],
    pub fs_swuid: U64<O>,
    pub fs_pad: I32<O>,
    pub fs_cgrotor: I32<O>,
    /// In-core pointers (fs_ocsp[], fs_si): 128 bytes on disk.
    pub fs_ocsp: [u8; 128],
    pub fs_old_cpc: I32<O>,
    pub fs_maxbsize: I32<O>,
    pub fs_unrefs: I64<O>,
    pub fs_providersize: I64<O>,
    pub fs_metaspace: I64<O>,
    pub fs_sparecon64: [u8; 104],
    pub fs_sblockactualloc: I64<O>,
    pub fs_sblockloc: I64<O>,
    /// struct csum_total (8 x int64).
    pub fs_cstotal: [u8; 64],
    pub fs_time: I64<O>,
    pub fs_size: I64<O>,
    pub fs_dsize: I64<O>,
    pub fs_csaddr: I64<O>,
    pub fs_pendingblocks: I64<O>,
    pub fs_pendinginodes: U32<O>,
    /// FSMAXSNAP = 20 inode numbers.
    pub fs_snapinum: [u8; 80],
    pub fs_avgfilesize: U32<O>,
    pub fs_avgfpdir: U32<O>,
    pub fs_save_cgsize: I32<O>,
    pub fs_mtime: I64<O>,
    pub fs_sujfree: I32<O>,
    pub fs_sparecon32: [u8; 84],
    pub fs_ckhash: U32<O>,
    pub fs_metackhash: U32<O>,
    pub fs_flags: I32<O>,
    pub fs_contigsumsize: I32<O>,
    pub fs_maxsymlinklen: I32<O>,
    pub fs_old_inodefmt: I32<O>,
    pub fs_maxfilesize: U64<O>,
    pub fs_qbmask: I64<O>,
    pub fs_qfmask: I64<O>,
    pub fs_state: I32<O>,
    pub fs_old_postblformat: I32<O>,
    pub fs_old_nrpos: I32<O>,
    pub fs_spare5: [u8; 8],
    pub fs_magic: I32<O>,
}

/// Size of `struct fs` (CTASSERT in fs.h).
pub const FS_SIZE: usize = 1376;
/// Offset of `fs_magic` in the superblock.
pub const FS_MAGIC_OFFSET: usize = 1372;
const _: () = assert!(std::mem::size_of::<Fs<zerocopy::LittleEndian>>() == FS_SIZE);

/// dinode.h `struct ufs1_dinode` (128 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ufs1Dinode<O: ByteOrder> {
    pub di_mode: U16<O>,
    pub di_nlink: I16<O>,
    /// di_u: 4.2BSD-format 16-bit uid and gid (di_ouid, di_ogid).
    pub di_ouid: U16<O>,
    pub di_ogid: U16<O>,
    pub di_size: U64<O>,
    pub di_atime: I32<O>,
    pub di_atimensec: I32<O>,
    pub di_mtime: I32<O>,
    pub di_mtimensec: I32<O>,
    pub di_ctime: I32<O>,
    pub di_ctimensec: I32<O>,
    /// UFS_NDADDR direct and UFS_NIADDR indirect pointers; also the fast
    /// symlink area.
    pub di_db: [I32<O>; 12],
    pub di_ib: [I32<O>; 3],
    pub di_flags: U32<O>,
    pub di_blocks: U32<O>,
    pub di_gen: U32<O>,
    pub di_uid: U32<O>,
    pub di_gid: U32<O>,
    pub di_modrev: U64<O>,
}
const _: () = assert!(std::mem::size_of::<Ufs1Dinode<zerocopy::LittleEndian>>() == 128);

/// dinode.h `struct ufs2_dinode` (256 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ufs2Dinode<O: ByteOrder> {
    pub di_mode: U16<O>,
    pub di_nlink: I16<O>,
    pub di_uid: U32<O>,
    pub di_gid: U32<O>,
    pub di_blksize: U32<O>,
    pub di_size: U64<O>,
    pub di_blocks: U64<O>,
    pub di_atime: I64<O>,
    pub di_mtime: I64<O>,
    pub di_ctime: I64<O>,
    pub di_birthtime: I64<O>,
    pub di_mtimensec: I32<O>,
    pub di_atimensec: I32<O>,
    pub di_ctimensec: I32<O>,
    pub di_birthnsec: I32<O>,
    pub di_gen: U32<O>,
    pub di_kernflags: U32<O>,
    pub di_flags: U32<O>,
    pub di_extsize: U32<O>,
    pub di_extb: [I64<O>; 2],
    pub di_db: [I64<O>; 12],
    pub di_ib: [I64<O>; 3],
    pub di_modrev: U64<O>,
    pub di_freelink: U32<O>,
    pub di_ckhash: U32<O>,
    pub di_spare: [U32<O>; 2],
}
const _: () = assert!(std::mem::size_of::<Ufs2Dinode<zerocopy::LittleEndian>>() == 256);

/// dir.h `struct direct` header (the name follows, then padding to 4).
/// In the 4.2BSD format (`fs_maxsymlinklen <= 0`) bytes 6-7 are one 16-bit
/// `d_namlen` and there is no `d_type`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Direct<O: ByteOrder> {
    pub d_ino: U32<O>,
    pub d_reclen: U16<O>,
    pub d_type: u8,
    pub d_namlen: u8,
}
/// Size of the fixed part of `struct direct`.
pub const DIRECT_HEADER: usize = 8;
/// 4.2BSD-format view of the same 8 bytes.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct OldDirect<O: ByteOrder> {
    pub d_ino: U32<O>,
    pub d_reclen: U16<O>,
    pub d_namlen: U16<O>,
}
