//! MBR/fdisk tables and the EBR chain of extended partitions.
//!
//! Layout: UEFI 2.10 §5.2.1 "Legacy Master Boot Record" (Table 5.1, 5.2).
//! EBR semantics as Linux `block/partitions/msdos.c` and util-linux read them:
//! in each EBR the data entry's start is relative to that EBR's own sector,
//! the link to the next EBR is relative to the start of the (outermost)
//! extended partition; logical partitions are numbered from 5 in chain order.

use super::{DiskError, DiskLayout, PartType, Partition, SECTOR, Scheme, TableKind, vtoc};
use fsimage_abi::ReadAt;
use std::collections::BTreeSet;
use zerocopy::byteorder::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Most logical partitions (and EBRs) followed in one extended partition;
/// Linux stops at a similar bound. Beyond it the list is truncated.
pub const MAX_LOGICALS: usize = 128;

/// UEFI §5.2.1 Table 5.2: one legacy MBR partition record.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
struct PartitionRecord {
    boot_indicator: u8,
    starting_chs: [u8; 3],
    os_type: u8,
    ending_chs: [u8; 3],
    starting_lba: U32,
    size_in_lba: U32,
}

/// UEFI §5.2.1 Table 5.1: the legacy MBR (also the layout of an EBR).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct LegacyMbr {
    boot_code: [u8; 440],
    unique_mbr_disk_signature: U32,
    unknown: U16,
    partition_record: [PartitionRecord; 4],
    signature: U16,
}

const _: () = assert!(size_of::<LegacyMbr>() == 512);

/// The boot-sector signature 0x55 0xAA (read little-endian).
const MBR_SIGNATURE: u16 = 0xAA55;
/// GPT protective MBR partition type.
pub const PROTECTIVE_TYPE: u8 = 0xEE;

/// One decoded entry of an MBR or EBR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// 0x80 = active.
    pub boot_indicator: u8,
    /// System id.
    pub os_type: u8,
    /// First sector (relative, for EBR entries).
    pub starting_lba: u32,
    /// Sectors.
    pub size_in_lba: u32,
}

impl Entry {
    fn is_unused(&self) -> bool {
        self.os_type == 0 || self.size_in_lba == 0
    }
}

/// The four primary entries of sector 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbrTable {
    /// Slots 1..4.
    pub entries: [Entry; 4],
    /// Holds a 0xEE entry: the disk is GPT.
    pub protective: bool,
    /// Holds 0xEE and other used entries (a hybrid MBR).
    pub hybrid: bool,
}

impl MbrTable {
    /// No used entry at all.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(Entry::is_unused)
    }
}

/// Sector holds the 0x55AA boot signature.
pub fn has_signature(sector: &[u8; 512]) -> bool {
    LegacyMbr::ref_from_bytes(sector).is_ok_and(|m| m.signature.get() == MBR_SIGNATURE)
}

fn entries_of(sector: &[u8; 512]) -> [Entry; 4] {
    let mut out = [Entry {
        boot_indicator: 0,
        os_type: 0,
        starting_lba: 0,
        size_in_lba: 0,
    }; 4];
    if let Ok(m) = LegacyMbr::ref_from_bytes(sector) {
        for (o, r) in out.iter_mut().zip(m.partition_record.iter()) {
            *o = Entry {
                boot_indicator: r.boot_indicator,
                os_type: r.os_type,
                starting_lba: r.starting_lba.get(),
                size_in_lba: r.size_in_lba.get(),
            };
        }
    }
    out
}

/// Decodes sector 0 as an MBR. Fails (the sector is a boot sector of some
/// other kind, e.g. FAT) when a boot indicator is neither 0x00 nor 0x80.
pub fn parse_table(sector: &[u8; 512]) -> Result<MbrTable, String> {
    let entries = entries_of(sector);
    for (i, e) in entries.iter().enumerate() {
        if e.boot_indicator != 0 && e.boot_indicator != 0x80 {
            return Err(format!(
                "entry {}: boot indicator 0x{:02x} is neither 0x00 nor 0x80",
                i + 1,
                e.boot_indicator
            ));
        }
    }
    let protective = entries.iter().any(|e| e.os_type == PROTECTIVE_TYPE);
    let hybrid = protective
        && entries
            .iter()
            .any(|e| !e.is_unused() && e.os_type != PROTECTIVE_TYPE);
    Ok(MbrTable {
        entries,
        protective,
        hybrid,
    })
}

/// Extended-partition containers: DOS (0x05), W95 LBA (0x0F), Linux (0x85).
pub fn is_extended(t: u8) -> bool {
    matches!(t, 0x05 | 0x0F | 0x85)
}

/// Types that may hold a Solaris x86 VTOC: Solaris2 (0xBF), and the legacy
/// Solaris id 0x82 (shared with Linux swap) when the VTOC is really there.
pub fn may_hold_vtoc(t: u8) -> bool {
    matches!(t, 0xBF | 0x82)
}

/// Usual names of MBR system ids (as fdisk/mmls print them).
pub fn type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0x00 => "Empty",
        0x01 => "FAT12",
        0x04 => "FAT16 <32M",
        0x05 => "Extended",
        0x06 => "FAT16",
        0x07 => "HPFS/NTFS/exFAT",
        0x0B => "W95 FAT32",
        0x0C => "W95 FAT32 (LBA)",
        0x0E => "W95 FAT16 (LBA)",
        0x0F => "W95 Ext'd (LBA)",
        0x11 => "Hidden FAT12",
        0x12 => "Compaq diagnostics",
        0x14 => "Hidden FAT16 <32M",
        0x16 => "Hidden FAT16",
        0x17 => "Hidden HPFS/NTFS",
        0x1B => "Hidden W95 FAT32",
        0x1C => "Hidden W95 FAT32 (LBA)",
        0x1E => "Hidden W95 FAT16 (LBA)",
        0x27 => "Hidden NTFS WinRE",
        0x42 => "SFS",
        0x4D => "QNX4.x",
        0x63 => "GNU HURD or SysV",
        0x80 => "Old Minix",
        0x81 => "Minix / old Linux",
        0x82 => "Linux swap / Solaris",
        0x83 => "Linux",
        0x85 => "Linux extended",
        0x86 => "NTFS volume set",
        0x8E => "Linux LVM",
        0x96 => "CHRP ISO-9660",
        0xA5 => "FreeBSD",
        0xA6 => "OpenBSD",
        0xA8 => "Darwin UFS",
        0xA9 => "NetBSD",
        0xAB => "Darwin boot",
        0xAF => "HFS / HFS+",
        0xBE => "Solaris boot",
        0xBF => "Solaris",
        0xDA => "Non-FS data",
        0xEE => "GPT",
        0xEF => "EFI (FAT-12/16/32)",
        0xFB => "VMware VMFS",
        0xFC => "VMware VMKCORE",
        0xFD => "Linux raid autodetect",
        _ => return None,
    })
}

fn sectors_to_bytes(what: &str, sectors: u64) -> Result<u64, String> {
    sectors
        .checked_mul(SECTOR)
        .ok_or_else(|| format!("{what}: sector {sectors} overflows a byte offset"))
}

/// Fills `layout` from an MBR: the primaries (each followed by the slices of
/// its VTOC, if it holds one), then the logical partitions of every extended
/// partition, in chain order.
pub fn parse(
    disk: &dyn ReadAt,
    table: &MbrTable,
    layout: &mut DiskLayout,
) -> Result<(), DiskError> {
    layout.table = TableKind::Mbr;
    layout.sector_size = 512;
    let disk_size = disk.size();
    let mut extended = Vec::new();
    for (i, e) in table.entries.iter().enumerate() {
        if e.is_unused() {
            continue;
        }
        let p = Partition::checked(
            Partition {
                bootable: e.boot_indicator == 0x80,
                // u32 sectors times 512 cannot overflow u64.
                ..Partition::new(
                    (i + 1).to_string(),
                    Scheme::Mbr,
                    u64::from(e.starting_lba) * SECTOR,
                    u64::from(e.size_in_lba) * SECTOR,
                    PartType::Mbr(e.os_type),
                )
            },
            (0, disk_size),
            "the disk",
        );
        push_with_slices(disk, p.clone(), layout);
        if is_extended(e.os_type) {
            extended.push(p);
        }
    }
    if extended.len() > 1 {
        layout.warnings.push(format!(
            "{} extended partitions in the MBR; logicals of each are numbered in turn",
            extended.len()
        ));
    }
    let mut next_number = 5usize;
    for ext in &extended {
        follow_chain(disk, ext, &mut next_number, layout);
    }
    Ok(())
}

/// Pushes a primary or logical partition, then its VTOC slices if any.
fn push_with_slices(disk: &dyn ReadAt, p: Partition, layout: &mut DiskLayout) {
    let maybe_vtoc = matches!(p.ptype, PartType::Mbr(t) if may_hold_vtoc(t)) && p.is_valid();
    layout.partitions.push(p.clone());
    if maybe_vtoc {
        vtoc::parse_x86(disk, &p, layout);
    }
}

/// Follows the EBR chain of one extended partition, appending logicals.
fn follow_chain(
    disk: &dyn ReadAt,
    ext: &Partition,
    next_number: &mut usize,
    layout: &mut DiskLayout,
) {
    let Err(e) = walk_chain(disk, ext, next_number, layout) else {
        return;
    };
    layout.warnings.push(format!(
        "EBR chain of extended partition {}: {e}; the logical partition list is truncated there",
        ext.id
    ));
}

fn walk_chain(
    disk: &dyn ReadAt,
    ext: &Partition,
    next_number: &mut usize,
    layout: &mut DiskLayout,
) -> Result<(), String> {
    if !ext.is_valid() {
        return Err("the extended partition itself runs outside the disk".to_owned());
    }
    let ext_start_sector = ext.start / SECTOR;
    let ext_end = ext.start + ext.size; // checked() made sure this fits
    let mut ebr_sector = ext_start_sector;
    let mut seen = BTreeSet::new();
    let mut logicals = 0usize;
    loop {
        if !seen.insert(ebr_sector) {
            return Err(format!("loops back to the EBR at sector {ebr_sector}"));
        }
        if seen.len() > MAX_LOGICALS {
            return Err(format!("more than {MAX_LOGICALS} EBRs"));
        }
        let ebr_at = sectors_to_bytes("EBR", ebr_sector)?;
        if ebr_at < ext.start || ebr_at.checked_add(SECTOR).is_none_or(|end| end > ext_end) {
            return Err(format!(
                "EBR at sector {ebr_sector} lies outside the extended partition (sectors {}..{})",
                ext_start_sector,
                ext_end / SECTOR
            ));
        }
        let mut sector = [0u8; 512];
        disk.read_exact_at(ebr_at, &mut sector)
            .map_err(|e| format!("EBR at sector {ebr_sector}: {e}"))?;
        if !has_signature(&sector) {
            return Err(format!(
                "EBR at sector {ebr_sector} has no 0x55AA signature"
            ));
        }
        let entries = entries_of(&sector);
        for (i, e) in entries.iter().enumerate() {
            if e.is_unused() || is_extended(e.os_type) {
                continue;
            }
            let start_sector = ebr_sector + u64::from(e.starting_lba); // both < 2^33
            let start = sectors_to_bytes("logical", start_sector)?;
            let size = u64::from(e.size_in_lba) * SECTOR;
            // Entries 3 and 4 of an EBR often hold garbage: keep them only
            // when they lie inside the extended partition (as Linux does).
            if i >= 2 && start.checked_add(size).is_none_or(|end| end > ext_end) {
                layout.warnings.push(format!(
                    "EBR at sector {ebr_sector}: entry {} ignored (outside the extended partition)",
                    i + 1
                ));
                continue;
            }
            if logicals >= MAX_LOGICALS {
                return Err(format!("more than {MAX_LOGICALS} logical partitions"));
            }
            logicals += 1;
            let p = Partition::checked(
                Partition {
                    bootable: e.boot_indicator == 0x80,
                    ..Partition::new(
                        next_number.to_string(),
                        Scheme::Ebr,
                        start,
                        size,
                        PartType::Mbr(e.os_type),
                    )
                },
                (ext.start, ext_end),
                &format!("extended partition {}", ext.id),
            );
            *next_number += 1;
            push_with_slices(disk, p, layout);
        }
        match entries
            .iter()
            .find(|e| is_extended(e.os_type) && e.size_in_lba != 0)
        {
            Some(link) => ebr_sector = ext_start_sector + u64::from(link.starting_lba),
            None => return Ok(()),
        }
    }
}
