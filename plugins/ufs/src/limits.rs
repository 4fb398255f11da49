//! Every bound the UFS reader puts on values read from disk. A reader
//! limit that is hit is an `Error::Limit` naming it; the format's own
//! bounds (block and fragment sizes, NDADDR, NIADDR) are `Error::Corrupt`.

/// Most cylinder groups accepted (FreeBSD newfs makes far fewer; this keeps
/// `fs_ncg * fs_ipg` and `fs_ncg * fs_fpg` in range).
pub const MAX_NCG: u32 = 1 << 20;
/// Most inodes per cylinder group.
pub const MAX_IPG: u32 = 1 << 24;
/// Smallest block size (MINBSIZE in fs.h).
pub const MIN_BSIZE: u32 = 4096;
/// Largest block size (MAXBSIZE in sys/param.h).
pub const MAX_BSIZE: u32 = 65536;
/// Smallest fragment (DEV_BSIZE).
pub const MIN_FSIZE: u32 = 512;
/// Most fragments per block (MAXFRAG).
pub const MAX_FRAG: u32 = 8;
/// Longest symlink target read (MAXPATHLEN is 1024 on the BSDs and Solaris;
/// allow more, but never an absurd size).
pub const MAX_SYMLINK: u64 = 4096;
/// Largest directory read (256 MiB: millions of entries, far past any real
/// one; bounds the work a looping map can cause).
pub const MAX_DIR_SIZE: u64 = 256 << 20;
/// Longest name in a directory entry (UFS_MAXNAMLEN).
pub const MAX_NAMLEN: usize = 255;
/// Indirect block levels (NIADDR); the map depth is fixed by this.
pub const NIADDR: usize = 3;
/// Direct block pointers in an inode (UFS_NDADDR).
pub const NDADDR: usize = 12;
