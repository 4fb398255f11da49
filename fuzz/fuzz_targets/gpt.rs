//! GPT headers (primary and backup, 512- and 4096-byte sectors) and entry
//! arrays. Sparse inputs with flag bit 0 get their CRC32s fixed first, so
//! mutations reach the code behind the checksums.
#![no_main]

use fsimage::disk::{self, DiskLayout, TableKind, gpt};
use fsimage_fuzz::{FLAG_FIX_CHECKSUMS, SparseImage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fsimage_fuzz::fix_gpt(&mut img);
    }
    let _ = gpt::detect_sector_size(&img);
    let mut layout = DiskLayout {
        table: TableKind::None,
        sector_size: 512,
        disk_size: fsimage_abi::ReadAt::size(&img),
        partitions: Vec::new(),
        warnings: Vec::new(),
    };
    if gpt::parse(&img, &mut layout).is_ok() {
        fsimage_fuzz::check_layout(&layout);
    }
    if let Ok(layout) = disk::parse(&img) {
        fsimage_fuzz::check_layout(&layout);
    }
});
