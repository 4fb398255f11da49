//! Solaris x86 VTOC: the label in sector 1 of an fdisk partition. The input
//! is the partition (type 0xBF, then 0x82) inside a disk that starts at
//! sector 0 with the input; the whole-disk parse runs too.
#![no_main]

use fsimage::disk::{self, DiskLayout, PartType, Partition, Scheme, TableKind, Validity, vtoc};
use fsimage_abi::ReadAt;
use fsimage_fuzz::SparseImage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let img = SparseImage::from_input(data);
    for ptype in [0xBF, 0x82] {
        let part = Partition {
            id: "1".to_owned(),
            scheme: Scheme::Mbr,
            start: 0,
            size: img.size(),
            ptype: PartType::Mbr(ptype),
            name: None,
            bootable: false,
            attributes: 0,
            parent: None,
            validity: Validity::Valid,
        };
        let mut layout = DiskLayout {
            table: TableKind::Mbr,
            sector_size: 512,
            disk_size: img.size(),
            partitions: vec![part.clone()],
            warnings: Vec::new(),
        };
        vtoc::parse_x86(&img, &part, &mut layout);
        fsimage_fuzz::check_layout(&layout);
    }
    if let Ok(layout) = disk::parse(&img) {
        fsimage_fuzz::check_layout(&layout);
    }
});
