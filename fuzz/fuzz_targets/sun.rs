//! SPARC/Sun disk label (VTOC_8) in sector 0. Sparse inputs with flag bit 0
//! get the XOR checksum fixed first.
#![no_main]

use fsimage::disk::{self, DiskLayout, TableKind, vtoc};
use fsimage_abi::ReadAt;
use fsimage_fuzz::{FLAG_FIX_CHECKSUMS, SparseImage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fsimage_fuzz::fix_sun(&mut img);
    }
    let mut s0 = [0u8; 512];
    if img.read_exact_at(0, &mut s0).is_ok() {
        let _ = vtoc::sun_label_state(&s0);
        let mut layout = DiskLayout {
            table: TableKind::None,
            sector_size: 512,
            disk_size: img.size(),
            partitions: Vec::new(),
            warnings: Vec::new(),
        };
        if vtoc::parse_sun(&s0, &mut layout).is_ok() {
            fsimage_fuzz::check_layout(&layout);
        }
    }
    if let Ok(layout) = disk::parse(&img) {
        fsimage_fuzz::check_layout(&layout);
    }
});
