//! Every bound the ZFS reader puts on values read from disk.

/// Deepest nesting of nvlists in a vdev label (the vdev tree of a pool is
/// root -> top-level -> leaf, a few levels; 16 leaves room for spares/logs).
pub const NVLIST_MAX_DEPTH: usize = 16;
/// Most name/value pairs in one decoded label nvlist, all levels together.
pub const NVLIST_MAX_PAIRS: usize = 4096;
/// Longest nvlist name or string value (MAXPATHLEN-sized paths and more).
pub const NVLIST_MAX_STRING: usize = 4096;
/// Most elements of one nvlist or uint64 array.
pub const NVLIST_MAX_ARRAY: usize = 1024;
/// Bytes of the packed nvlist area of a label (VDEV_PHYS_SIZE, 112 KiB).
pub const VDEV_PHYS_SIZE: usize = 112 << 10;

/// Largest logical or physical block (SPA_MAXBLOCKSIZE, 16 MiB).
pub const MAX_BLOCK_SIZE: u64 = 16 << 20;
/// Deepest gang-block nesting followed (ZFS itself makes at most a few).
pub const MAX_GANG_DEPTH: usize = 8;
/// Most dnode levels (DN_MAX_LEVELS for 64-bit offsets and 4 KiB indirect
/// blocks of 128-byte block pointers is 12).
pub const MAX_LEVELS: u8 = 12;
/// Indirect block shift range (DN_MIN_INDBLKSHIFT..=DN_MAX_INDBLKSHIFT;
/// pools of zfs-fuse era used 14, and 10 is accepted for very old pools).
pub const MIN_INDBLKSHIFT: u8 = 10;
pub const MAX_INDBLKSHIFT: u8 = 17;
/// Bytes of decompressed blocks kept in the block cache.
pub const CACHE_BYTES: usize = 16 << 20;
/// Most blocks in the block cache.
pub const CACHE_BLOCKS: usize = 512;
/// Most entries of a fat ZAP pointer table read (2^20 leaf pointers: 8 MiB).
pub const ZAP_MAX_PTRTBL: u64 = 1 << 20;
/// Most chunks followed in one ZAP leaf array chain (names up to the 1023-byte
/// longname limit and value arrays: 21 bytes per chunk).
pub const ZAP_MAX_ARRAY_CHUNKS: usize = 4096;
/// Most entries of a ZAP read into memory at once (directories are streamed
/// from a cookie; this bounds MOS and SA tables).
pub const ZAP_MAX_ENTRIES: usize = 1 << 20;
/// Longest ZAP name accepted (ZAP_MAXNAMELEN_NEW with longname is 1024).
pub const ZAP_MAX_NAME: usize = 1024;
/// Longest ZAP value array, in bytes.
pub const ZAP_MAX_VALUE: usize = 1 << 16;
/// Longest symlink target read (MAXPATHLEN is 1024; allow more, bounded).
pub const MAX_SYMLINK: u64 = 4096;
/// Most components of a dataset name `pool/a/b@snap`.
pub const MAX_DATASET_DEPTH: usize = 64;
/// Most uberblocks tried, newest first, before giving up.
pub const MAX_UBERBLOCK_TRIES: usize = 16;
/// Most devices (images) of one pool.
pub const MAX_DEVICES: usize = 64;
/// Most system attributes in one SA layout.
pub const MAX_SA_ATTRS: usize = 256;
/// Largest directory listing cached for lookups (entries).
pub const DIR_CACHE_ENTRIES: usize = 1 << 16;
/// Most ways of rebuilding a RAID-Z block tried (each is a checksum and a
/// decompression of up to 16 MiB): the straight read, then each data
/// column from P or Q, then pairs from P and Q.
pub const MAX_RAIDZ_TRIES: usize = 32;
