//! The ext2/3/4 plugin over a whole image: probe, mount, then the bounded
//! walk (list, stat, lookup, read, read_link, extents). The device is the
//! input zero-extended to the size its superblock claims, so truncated and
//! sparse seeds mount as if whole.
//!
//! Mount options: raw inputs use `csum=off` (mutations would otherwise stop
//! at the first metadata checksum); sparse inputs choose with their flags:
//! bit 1 `journal=replay`, bit 2 verify checksums.
#![no_main]

use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_fuzz::SparseImage;
use fsimage_fuzz::walk::{Budget, walk};
use fsimage_plugin_ext2::Ext2Fs;
use libfuzzer_sys::fuzz_target;

/// Largest device a fuzz input may claim (reads past the input are zeros).
const MAX_DEVICE: u64 = 1 << 30;

fuzz_target!(|data: &[u8]| {
    let mut img = SparseImage::from_input(data);
    img.extend_to(fsimage_fuzz::ext2_claimed_size(&img).min(MAX_DEVICE));
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
    let Ok(fs) = Ext2Fs::mount(vec![dev], opts.join(",").as_bytes()) else {
        return;
    };
    walk(&fs, &[size], &Budget::FUZZ);
});
