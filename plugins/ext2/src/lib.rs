//! ext2/3/4 plugin.
