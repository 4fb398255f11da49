//! Every bound the reader puts on values read from the image. One that is
//! hit is an `Error::Limit` naming it (the zisofs block size ranges and
//! compressed block bounds, the formats' own, are `Error::Corrupt`).

/// Volume descriptors read from sector 16 before giving up on a terminator.
pub const MAX_VOLUME_DESCRIPTORS: u64 = 64;
/// SUSP continuation areas (CE) followed for one directory record.
pub const MAX_CE_CHAIN: usize = 32;
/// Bytes of one continuation area (SUSP puts it inside one logical block; a
/// little slack for writers that span two).
pub const MAX_CE_LEN: u32 = 4096;
/// SUSP entries parsed for one directory record, continuation areas included.
pub const MAX_SUSP_ENTRIES: usize = 1024;
/// Bytes of one name (Rock Ridge NM pieces joined).
pub const MAX_NAME_LEN: usize = 1024;
/// Bytes of one symlink target (Rock Ridge SL components joined).
pub const MAX_SYMLINK_LEN: usize = 4096;
/// Records (sections) of one multi-extent file.
pub const MAX_FILE_SECTIONS: usize = 1024;
/// Bytes of a path table read to find a directory's parent (used only when
/// a ".." record is unusable, as in xorriso's Joliet trees).
pub const MAX_PATH_TABLE_LEN: u32 = 4 << 20;
/// zisofs block sizes: 2^15 to 2^17 bytes (the zisofs format's own range).
pub const ZISOFS_LOG2_BLOCK: std::ops::RangeInclusive<u8> = 15..=17;
/// Bytes of one compressed zisofs block (zlib never grows data by this much).
pub const ZISOFS_MAX_COMPRESSED_BLOCK: u64 = 2 << 17;
/// zisofs2 block sizes: 2^15 to 2^20 bytes (the format text names 15..17;
/// xorriso's `block_size_v2=` writes up to 1 MiB, as the iso-zisofs2
/// fixture has).
pub const ZISOFS2_LOG2_BLOCK: std::ops::RangeInclusive<u8> = 15..=20;
/// Bytes of one compressed zisofs2 block.
pub const ZISOFS2_MAX_COMPRESSED_BLOCK: u64 = 2 << 20;
/// Directories whose listings are kept for lookups.
pub const DIR_CACHE_DIRS: usize = 8;
/// Entries of one cached listing; bigger directories are scanned per lookup.
pub const DIR_CACHE_MAX_ENTRIES: usize = 65536;
