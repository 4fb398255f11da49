//! What the `ufs_image` and `iso9660_image` targets run: probe, mount with
//! the given options, bounded walk, over the input as a device (raw, or
//! sparse at its stated size). Generic over the plugin.

use super::sparse::SparseImage;
use super::walk::{Budget, Outcome, walk};
use fsimage_abi::{Device, Filesystem, ReadAt};

/// Runs one input through plugin `F`; `None` when it does not mount.
pub fn run<F: Filesystem>(data: &[u8], options: &[u8], budget: &Budget) -> Option<Outcome> {
    let img = SparseImage::from_input(data);
    let size = img.size();
    let dev = Device::new(img);
    let _ = F::probe(std::slice::from_ref(&dev));
    let fs = F::mount(vec![dev], options).ok()?;
    Some(walk(&fs, &[size], budget))
}
