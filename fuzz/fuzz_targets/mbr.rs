//! MBR primary table and the EBR chain behind each extended partition, then
//! the whole-disk parse (`fsimage::disk::parse`).
#![no_main]

use fsimage::disk::{self, DiskLayout, TableKind, mbr};
use fsimage_abi::ReadAt;
use fsimage_fuzz::SparseImage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let img = SparseImage::from_input(data);
    let mut s0 = [0u8; 512];
    if img.read_exact_at(0, &mut s0).is_ok() {
        let _ = mbr::has_signature(&s0);
        if let Ok(table) = mbr::parse_table(&s0) {
            let mut layout = DiskLayout {
                table: TableKind::None,
                sector_size: 512,
                disk_size: img.size(),
                partitions: Vec::new(),
                warnings: Vec::new(),
            };
            if mbr::parse(&img, &table, &mut layout).is_ok() {
                fsimage_fuzz::check_layout(&layout);
            }
        }
    }
    if let Ok(layout) = disk::parse(&img) {
        fsimage_fuzz::check_layout(&layout);
    }
});
