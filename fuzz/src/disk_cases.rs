//! What the partition-table targets run on one input. The regression test
//! `fsimage/tests/fuzz_regressions.rs` includes this file (with `sparse.rs`
//! and `fixups.rs` as siblings) and replays `fixtures/regressions/<target>/`.

use super::fixups::{fix_gpt, fix_sun};
use super::sparse::{FLAG_FIX_CHECKSUMS, SparseImage};
use fsimage::disk::{self, DiskLayout, PartType, Partition, Scheme, TableKind, gpt, mbr, vtoc};
use fsimage_abi::ReadAt;

/// What every parsed layout must satisfy, however hostile the disk: each
/// usable partition lies inside the disk and is not empty (but for the whole
/// disk, which may be), ids are unique.
pub fn check_layout(layout: &DiskLayout) {
    let mut ids = std::collections::HashSet::new();
    for p in &layout.partitions {
        assert!(ids.insert(p.id.as_str()), "duplicate partition id {}", p.id);
        if p.is_valid() {
            let end = p.start.checked_add(p.size);
            assert!(
                (p.size > 0 || p.scheme == Scheme::Disk)
                    && end.is_some_and(|e| e <= layout.disk_size),
                "valid partition outside the disk of {} bytes: {p:?}",
                layout.disk_size
            );
        }
    }
}

fn empty_layout(img: &SparseImage, table: TableKind) -> DiskLayout {
    DiskLayout {
        table,
        sector_size: 512,
        disk_size: img.size(),
        partitions: Vec::new(),
        warnings: Vec::new(),
    }
}

fn whole_parse(img: &SparseImage) {
    if let Ok(layout) = disk::parse(img) {
        check_layout(&layout);
    }
}

/// `mbr`: the primary table, the EBR chains behind it, the whole parse.
pub fn mbr(data: &[u8]) {
    let img = SparseImage::from_input(data);
    let mut s0 = [0u8; 512];
    if img.read_exact_at(0, &mut s0).is_ok() {
        let _ = mbr::has_signature(&s0);
        if let Ok(table) = mbr::parse_table(&s0) {
            let mut layout = empty_layout(&img, TableKind::None);
            if mbr::parse(&img, &table, &mut layout).is_ok() {
                check_layout(&layout);
            }
        }
    }
    whole_parse(&img);
}

/// `gpt`: both headers, both sector sizes, the entry arrays.
pub fn gpt(data: &[u8]) {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fix_gpt(&mut img);
    }
    let _ = gpt::detect_sector_size(&img);
    let mut layout = empty_layout(&img, TableKind::None);
    if gpt::parse(&img, &mut layout).is_ok() {
        check_layout(&layout);
    }
    whole_parse(&img);
}

/// `vtoc`: the input is an fdisk partition (0xBF, then 0x82) whose sector 1
/// may hold a Solaris x86 VTOC.
pub fn vtoc(data: &[u8]) {
    let img = SparseImage::from_input(data);
    if img.size() == 0 {
        return;
    }
    for ptype in [0xBF, 0x82] {
        let part = Partition::new(
            "1".to_owned(),
            Scheme::Mbr,
            0,
            img.size(),
            PartType::Mbr(ptype),
        );
        let mut layout = empty_layout(&img, TableKind::Mbr);
        layout.partitions.push(part.clone());
        vtoc::parse_x86(&img, &part, &mut layout);
        check_layout(&layout);
    }
    whole_parse(&img);
}

/// `sun`: the SPARC/Sun label in sector 0.
pub fn sun(data: &[u8]) {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fix_sun(&mut img);
    }
    let mut s0 = [0u8; 512];
    if img.read_exact_at(0, &mut s0).is_ok() {
        let _ = vtoc::sun_label_state(&s0);
        let mut layout = empty_layout(&img, TableKind::None);
        if vtoc::parse_sun(&s0, &mut layout).is_ok() {
            check_layout(&layout);
        }
    }
    whole_parse(&img);
}

/// `root`: the table, then root choice with `probe` on each candidate (the
/// fuzz target passes the ext2 plugin's probe).
pub fn root(data: &[u8], probe: &mut dyn FnMut(&dyn ReadAt) -> Option<String>) {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fix_gpt(&mut img);
        fix_sun(&mut img);
    }
    if let Ok(layout) = disk::parse(&img) {
        check_layout(&layout);
        if let Ok(choice) = disk::choose_root(&img, &layout, probe) {
            check_choice(&img, &choice);
        }
    }
    if let Ok(choice) = disk::locate_root(&img, probe) {
        check_choice(&img, &choice);
    }
}

fn check_choice(img: &SparseImage, choice: &disk::RootChoice) {
    let p = &choice.partition;
    assert!(
        p.is_valid(),
        "root choice picked an invalid partition: {p:?}"
    );
    assert!(
        !p.ptype.is_extended(),
        "root choice picked an extended container"
    );
    assert!(
        choice.window(img).is_ok(),
        "root choice's window fails: {p:?}"
    );
}
