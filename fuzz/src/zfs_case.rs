//! What the `zfs_image` target runs on one input: probe, mount, bounded
//! walk, over the input as a device (raw, or sparse at its stated size).
//! The ZFS plugin's `tests/fuzz_regressions.rs` includes this file (with
//! `sparse.rs` and `walk.rs` as siblings).
//!
//! Raw inputs mount with `csum=off` (every ZFS block is checksummed: a
//! mutation would otherwise stop at the first checksum); sparse inputs
//! verify checksums when their flags have bit 2 set.

use super::sparse::SparseImage;
use super::walk::{Budget, Outcome, walk};
use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_plugin_zfs::ZfsFs;

/// Runs one input; `None` when it does not mount.
pub fn run(data: &[u8], budget: &Budget) -> Option<Outcome> {
    let img = SparseImage::from_input(data);
    let size = img.size();
    let opts: &[u8] = if img.flags & 4 == 0 { b"csum=off" } else { b"" };
    let dev = Device::new(img);
    let _ = ZfsFs::probe(std::slice::from_ref(&dev));
    let fs = ZfsFs::mount(vec![dev], opts).ok()?;
    let _ = fs.bootstring();
    Some(walk(&fs, &[size], budget))
}
