//! What the `reiserfs_image` and `reiserfs_leaf` targets run on one input.
//! The ReiserFS plugin's `tests/fuzz_regressions.rs` includes this file
//! (with `sparse.rs` and `walk.rs` as siblings).
//!
//! `image`: probe, mount, bounded walk over the input as a device (raw, or
//! sparse at its stated size); sparse inputs with flag bit 1 mount with
//! `journal=replay`. `leaf`: the leaf node parser and every item decoder
//! over one block (`fsimage_plugin_reiserfs::check_leaf`).

use super::sparse::SparseImage;
use super::walk::{Budget, Outcome, walk};
use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_plugin_reiserfs::ReiserFs;

/// Runs one whole-image input; `None` when it does not mount.
pub fn image(data: &[u8], budget: &Budget) -> Option<Outcome> {
    let img = SparseImage::from_input(data);
    let size = img.size();
    let opts: &[u8] = if img.flags & 2 != 0 {
        b"journal=replay"
    } else {
        b""
    };
    let dev = Device::new(img);
    let _ = ReiserFs::probe(std::slice::from_ref(&dev));
    let fs = ReiserFs::mount(vec![dev], opts).ok()?;
    let _ = fs.label();
    Some(walk(&fs, &[size], budget))
}

/// Runs one node block; the item count when it parses (0 for an internal
/// node, which `check_leaf` parses too).
pub fn leaf(data: &[u8]) -> Option<usize> {
    let n = fsimage_plugin_reiserfs::check_leaf(data).ok()?;
    // No more items than fit the block (24-byte head, 1 body byte each).
    assert!(n * 25 <= data.len(), "{n} items in {} bytes", data.len());
    Some(n)
}
