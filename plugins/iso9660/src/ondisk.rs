//! On-disk structures of ECMA-119 (ISO 9660) and SUSP / Rock Ridge (IEEE P1282).
//!
//! Numbers recorded "both-byte order" are read from their little-endian half,
//! as Linux and GRUB do.

use zerocopy::byteorder::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Bytes per logical sector: fixed at 2048 for every ISO 9660 volume (ECMA-119 6.1.2).
pub const SECTOR: u64 = 2048;
/// Byte offset of the volume descriptor set (sector 16, ECMA-119 6.2.1).
pub const VDS_OFFSET: u64 = 16 * SECTOR;
/// Standard identifier of every volume descriptor (ECMA-119 8.1.2).
pub const STANDARD_ID: &[u8; 5] = b"CD001";

pub const VD_PRIMARY: u8 = 1;
pub const VD_SUPPLEMENTARY: u8 = 2;
pub const VD_TERMINATOR: u8 = 255;

/// A both-byte-order 32-bit number (ECMA-119 7.3.3).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub struct Both32 {
    pub le: U32,
    pub be: [u8; 4],
}

/// A both-byte-order 16-bit number (ECMA-119 7.2.3).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub struct Both16 {
    pub le: U16,
    pub be: [u8; 2],
}

/// Primary / supplementary volume descriptor, up to the root directory
/// record (ECMA-119 8.4 and 8.5; the rest of the sector is not used).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct VolumeDescriptor {
    pub volume_descriptor_type: u8,
    pub standard_identifier: [u8; 5],
    pub volume_descriptor_version: u8,
    pub volume_flags: u8,
    pub system_identifier: [u8; 32],
    pub volume_identifier: [u8; 32],
    pub unused1: [u8; 8],
    pub volume_space_size: Both32,
    /// Escape sequences: Joliet's UCS-2 levels in an SVD (Joliet spec 5).
    pub escape_sequences: [u8; 32],
    pub volume_set_size: Both16,
    pub volume_sequence_number: Both16,
    pub logical_block_size: Both16,
    pub path_table_size: Both32,
    pub path_tables: [u8; 16],
    pub root_directory_record: [u8; 34],
}

/// Fixed part of a directory record (ECMA-119 9.1); the file identifier,
/// a pad byte when its length is even, and the system use area follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DirectoryRecord {
    pub length_of_directory_record: u8,
    pub extended_attribute_record_length: u8,
    pub location_of_extent: Both32,
    pub data_length: Both32,
    pub recording_date_and_time: [u8; 7],
    pub file_flags: u8,
    pub file_unit_size: u8,
    pub interleave_gap_size: u8,
    pub volume_sequence_number: Both16,
    pub length_of_file_identifier: u8,
}

/// Size of [`DirectoryRecord`].
pub const DR_FIXED: usize = 33;

/// File flags (ECMA-119 9.1.6).
pub const FLAG_DIRECTORY: u8 = 0x02;
pub const FLAG_ASSOCIATED: u8 = 0x04;
pub const FLAG_MULTI_EXTENT: u8 = 0x80;

/// Header of a System Use Entry (SUSP 4.1).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SuspHeader {
    pub signature: [u8; 2],
    pub length: u8,
    pub version: u8,
}

/// CE: continuation area (SUSP 5.1).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SuspCe {
    pub header: SuspHeader,
    pub block_location: Both32,
    pub offset: Both32,
    pub length: Both32,
}

/// SP: SUSP indicator in the root's "." record (SUSP 5.3).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SuspSp {
    pub header: SuspHeader,
    pub check_bytes: [u8; 2],
    pub len_skp: u8,
}

/// PX: POSIX file attributes (RRIP 4.1.1); `file_serial_number` only in RRIP 1.12.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RripPx {
    pub header: SuspHeader,
    pub file_mode: Both32,
    pub links: Both32,
    pub user_id: Both32,
    pub group_id: Both32,
}

/// CL / PL: child link / parent link of a relocated directory (RRIP 4.1.5).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RripLink {
    pub header: SuspHeader,
    pub location: Both32,
}

/// ZF (or zisofs2's Z2): zisofs compressed file (zisofs extension to RRIP;
/// zisofs2 format, "ZF System Use Entry Format"). The last 8 bytes are the
/// uncompressed size: both-byte-order 32 bits for algorithm "pz" (zisofs
/// version 1), a little-endian 64-bit number for zisofs2 algorithms.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RripZf {
    pub header: SuspHeader,
    pub algorithm: [u8; 2],
    pub header_size_div4: u8,
    pub log2_block_size: u8,
    pub uncompressed_size: [u8; 8],
}

/// zisofs (version 1) file header (zisofs format, "LEGACY" file header).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ZisofsHeader {
    pub hdr_magic: [u8; 8],
    pub size: U32,
    pub hdr_size: u8,
    pub hdr_bsize: u8,
    pub reserved: [u8; 2],
}

/// zisofs2 file header (zisofs2 format, "File Header"); 64-bit
/// little-endian block pointers follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Zisofs2Header {
    pub hdr_magic: [u8; 8],
    pub hdr_version: u8,
    pub hdr_size: u8,
    pub alg_id: u8,
    pub hdr_bsize: u8,
    pub size: U64,
    pub padding: [u8; 4],
}

/// Fixed part of a path table record (ECMA-119 9.4), type L (little-endian);
/// the directory identifier and a pad byte when its length is odd follow.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct PathTableRecord {
    pub length_of_directory_identifier: u8,
    pub extended_attribute_record_length: u8,
    pub location_of_extent: U32,
    pub parent_directory_number: U16,
}
