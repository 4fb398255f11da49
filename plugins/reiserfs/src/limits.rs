//! Every bound the ReiserFS reader puts on values read from disk.

/// Highest internal node level (MAX_HEIGHT in reiserfs.h: a node above the
/// leaves has a level in 2..=MAX_HEIGHT, the leaves level 1). The superblock's
/// s_tree_height is the root's level plus one.
pub const MAX_HEIGHT: u16 = 5;
/// Smallest block size accepted (a block must hold the 204-byte superblock
/// and a node's headers; mkreiserfs makes 512..=65536, Linux reads 4096).
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest block size accepted: item locations and lengths are 16-bit.
pub const MAX_BLOCK_SIZE: u32 = 32768;
/// Items in one leaf: each needs a 24-byte head and at least one body byte
/// (the kernel's is_leaf bound), so a leaf holds at most this many.
pub const fn max_leaf_items(block_size: u32) -> u32 {
    (block_size - 24) / (24 + 1)
}
/// Keys in one internal node (the kernel's is_internal bound): the block
/// head, `n` 16-byte keys and `n + 1` 8-byte child pointers must fit.
pub const fn max_internal_keys(block_size: u32) -> u32 {
    (block_size - 24 - 8) / (16 + 8)
}
/// Directory entries one read_dir or lookup scan visits before giving up
/// (a directory of a million names is far past anything real).
pub const MAX_DIR_ENTRIES: u64 = 1 << 20;
/// Longest symlink target read (Linux allows a page).
pub const MAX_SYMLINK: u64 = 4096;
/// Parsed tree nodes kept in the mount's cache (1 MiB of 4 KiB blocks).
pub const CACHE_NODES: usize = 256;
/// Leaves one forward scan (a read, a directory listing) may step through
/// without making progress in the file or directory it reads; a walk through
/// a tree never revisits a key, this only bounds the work on a hostile tree.
pub const MAX_LEAF_STEPS: u64 = 1 << 20;
/// Journal blocks a replay looks at (jp_journal_size is at most 8192 in
/// mkreiserfs; allow some more, never an absurd number).
pub const MAX_JOURNAL_BLOCKS: u32 = 1 << 16;
/// Bytes of replayed block copies kept in memory (a full default journal
/// of 8193 4 KiB blocks holds at most 32 MiB).
pub const MAX_REPLAY_BYTES: u64 = 64 << 20;
