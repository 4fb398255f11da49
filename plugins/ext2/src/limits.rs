//! Every bound the ext2/3/4 reader puts on values read from disk or on the
//! memory it keeps. A bound that is hit is an `Error::Limit` naming it
//! (format invariants, such as a bad magic, stay `Error::Corrupt`).

/// Deepest extent tree followed: the kernel never builds deeper trees (its
/// own `ext4_ext_check` refuses more), so deeper is damage or a loop.
pub const MAX_EXTENT_DEPTH: u16 = 5;
/// htree index levels below the root (`indirect_levels + 1`): 2, or 3 with
/// `largedir`, as the kernel allows; deeper trees are scanned linearly.
pub const MAX_HTREE_LEVELS: usize = 2;
/// htree index levels with the `largedir` feature.
pub const MAX_HTREE_LEVELS_LARGEDIR: usize = 3;
/// Leaves one htree lookup visits for one hash: names share a leaf chain
/// only when their 31-bit hashes collide, a handful of leaves in a real
/// directory; a hostile index whose entries all carry one hash could
/// otherwise make a lookup scan every block of a huge sparse directory.
pub const MAX_HTREE_LEAF_CHAIN: u64 = 1024;
/// Longest name looked up (EXT4_NAME_LEN: `name_len` is one byte).
pub const MAX_NAME_LEN: usize = 255;
/// Longest symlink target read (the kernel caps targets at a page; 64 KiB
/// covers 64 KiB pages and blocks).
pub const MAX_SYMLINK: u64 = 65536;
/// Revoke records kept while scanning the journal (each costs memory; a
/// real journal holds far fewer).
pub const MAX_REVOKES: usize = 1 << 21;
/// Bytes of metadata blocks cached per mount.
pub const BLOCK_CACHE_BYTES: usize = 4 << 20;
/// Fewest blocks cached, whatever the block size (64 KiB blocks).
pub const BLOCK_CACHE_MIN_BLOCKS: usize = 16;
/// Group descriptor blocks checked at mount time (every filesystem up to
/// 8 TiB with 4 KiB blocks); beyond that they are checked on use, so a
/// hostile `s_blocks_count` cannot make the mount read millions of them.
pub const EAGER_DESC_BLOCKS: u64 = 1024;

/// Cache capacity in blocks for a block size.
pub fn cache_blocks(block_size: u32) -> usize {
    (BLOCK_CACHE_BYTES / block_size.max(1) as usize).max(BLOCK_CACHE_MIN_BLOCKS)
}
