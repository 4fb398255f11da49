//! What the `ext2_image` target runs on one input: probe, mount, bounded
//! walk. The device is the input zero-extended to the size its superblock
//! claims (at most [`MAX_DEVICE`]), so truncated and sparse seeds mount as
//! if whole. The ext2 plugin's `tests/fuzz_regressions.rs` includes this file
//! (with `sparse.rs` and `walk.rs` as siblings).
//!
//! Mount options: raw inputs use `csum=off` (mutations would otherwise stop
//! at the first metadata checksum); sparse inputs choose with their flags:
//! bit 1 `journal=replay`, bit 2 verify checksums; bit 3 keeps the device
//! as long as the input says (a truncated image) instead of extending it.

use super::sparse::{SparseImage, ext2_claimed_size};
use super::walk::{Budget, Outcome, walk};
use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_plugin_ext2::Ext2Fs;

/// Largest device a fuzz input may claim (reads past the input are zeros).
pub const MAX_DEVICE: u64 = 1 << 30;

/// Runs one input; `None` when it does not mount.
pub fn run(data: &[u8], budget: &Budget) -> Option<Outcome> {
    let mut img = SparseImage::from_input(data);
    if img.flags & 8 == 0 {
        img.extend_to(ext2_claimed_size(&img).min(MAX_DEVICE));
    }
    let size = img.size();
    let mut opts = Vec::new();
    if img.flags & 2 != 0 {
        opts.push("journal=replay");
    }
    if img.flags & 4 == 0 {
        opts.push("csum=off");
    }
    let dev = Device::new(img);
    let _ = Ext2Fs::probe(std::slice::from_ref(&dev));
    let fs = Ext2Fs::mount(vec![dev], opts.join(",").as_bytes()).ok()?;
    Some(walk(&fs, &[size], budget))
}
