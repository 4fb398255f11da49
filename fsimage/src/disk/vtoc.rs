//! Solaris disk labels: the x86 VTOC inside an fdisk partition and the
//! SPARC/Sun disk label at sector 0.
//!
//! Layouts from illumos `usr/src/uts/common/sys/dklabel.h` (`struct dk_label`,
//! `struct dk_vtoc`, `_SUNOS_VTOC_16` for x86 — little-endian, 16 slices with
//! sector starts — and `_SUNOS_VTOC_8` for SPARC — big-endian, 8 slices with
//! cylinder starts) and tag/flag values from `sys/vtoc.h`.

use super::{DiskError, DiskLayout, PartType, Partition, SECTOR, Scheme, TableKind};
use fsimage_abi::ReadAt;
use zerocopy::FromBytes;

/// dklabel.h DKL_MAGIC: identifies a disk label (both layouts).
pub const DKL_MAGIC: u16 = 0xDABE;
/// vtoc.h VTOC_SANE.
pub const VTOC_SANE: u32 = 0x600D_DEEE;
/// vtoc.h V_VERSION.
pub const V_VERSION: u32 = 1;

/// vtoc.h partition tags.
pub const V_UNASSIGNED: u16 = 0x00;
/// Boot slice.
pub const V_BOOT: u16 = 0x01;
/// Root filesystem.
pub const V_ROOT: u16 = 0x02;
/// Swap.
pub const V_SWAP: u16 = 0x03;
/// /usr.
pub const V_USR: u16 = 0x04;
/// The whole disk (or fdisk partition): overlaps every other slice.
pub const V_BACKUP: u16 = 0x05;
/// vtoc.h V_UNMNT flag.
pub const V_UNMNT: u16 = 0x01;
/// vtoc.h V_RONLY flag.
pub const V_RONLY: u16 = 0x10;

/// Lower-case tag name as format(1M)/prtvtoc print it; unknown tags as hex.
pub fn tag_name(tag: u16) -> String {
    let s = match tag {
        V_UNASSIGNED => "unassigned",
        V_BOOT => "boot",
        V_ROOT => "root",
        V_SWAP => "swap",
        V_USR => "usr",
        V_BACKUP => "backup",
        0x06 => "stand",
        0x07 => "var",
        0x08 => "home",
        0x09 => "alternates",
        0x0a => "cache",
        0x0b => "reserved",
        0x0c => "system",
        _ => return format!("0x{tag:02x}"),
    };
    s.to_owned()
}

/// " (unmountable)", " (read-only)", both, or nothing.
pub fn flag_suffix(flag: u16) -> &'static str {
    match (flag & V_UNMNT != 0, flag & V_RONLY != 0) {
        (true, true) => " (unmountable, read-only)",
        (true, false) => " (unmountable)",
        (false, true) => " (read-only)",
        (false, false) => "",
    }
}

mod be {
    use zerocopy::byteorder::big_endian::{U16, U32};
    use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

    /// dklabel.h `struct dk_map2` (VTOC_8 vtoc part: tag and flag only).
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct DkMap2 {
        pub p_tag: U16,
        pub p_flag: U16,
    }

    /// dklabel.h `struct dk_vtoc`, `_SUNOS_VTOC_8` variant. The C struct has
    /// 2 bytes of alignment padding before `v_bootinfo`; spelled out here.
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct DkVtoc8 {
        pub v_version: U32,
        pub v_volume: [u8; 8],
        pub v_nparts: U16,
        pub v_part: [DkMap2; 8],
        pub pad: [u8; 2],
        pub v_bootinfo: [U32; 3],
        pub v_sanity: U32,
        pub v_reserved: [U32; 10],
        pub v_timestamp: [U32; 8],
    }

    /// dklabel.h `struct dk_map32`: starting cylinder and block count.
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct DkMap32 {
        pub dkl_cylno: U32,
        pub dkl_nblk: U32,
    }

    /// dklabel.h `struct dk_label`, `_SUNOS_VTOC_8` (SPARC, big-endian).
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct SunDkLabel {
        pub dkl_asciilabel: [u8; 128],
        pub dkl_vtoc: DkVtoc8,
        pub dkl_write_reinstruct: U16,
        pub dkl_read_reinstruct: U16,
        pub dkl_pad: [u8; 152],
        pub dkl_rpm: U16,
        pub dkl_pcyl: U16,
        pub dkl_apc: U16,
        pub dkl_obs1: U16,
        pub dkl_obs2: U16,
        pub dkl_intrlv: U16,
        pub dkl_ncyl: U16,
        pub dkl_acyl: U16,
        pub dkl_nhead: U16,
        pub dkl_nsect: U16,
        pub dkl_obs3: U16,
        pub dkl_obs4: U16,
        pub dkl_map: [DkMap32; 8],
        pub dkl_magic: U16,
        pub dkl_cksum: U16,
    }
    const _: () = assert!(size_of::<DkVtoc8>() == 136);
    const _: () = assert!(size_of::<SunDkLabel>() == 512);
}

mod le {
    use zerocopy::byteorder::little_endian::{I32, U16, U32};
    use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

    /// dklabel.h `struct dkl_partition`.
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct DklPartition {
        pub p_tag: U16,
        pub p_flag: U16,
        pub p_start: U32,
        pub p_size: I32,
    }

    /// dklabel.h `struct dk_vtoc`, `_SUNOS_VTOC_16` variant (x86).
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct DkVtoc16 {
        pub v_bootinfo: [U32; 3],
        pub v_sanity: U32,
        pub v_version: U32,
        pub v_volume: [u8; 8],
        pub v_sectorsz: U16,
        pub v_nparts: U16,
        pub v_reserved: [U32; 10],
        pub v_part: [DklPartition; 16],
        pub timestamp: [U32; 16],
        pub v_asciilabel: [u8; 128],
    }

    /// dklabel.h `struct dk_label`, `_SUNOS_VTOC_16` (x86, little-endian).
    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    pub struct X86DkLabel {
        pub dkl_vtoc: DkVtoc16,
        pub dkl_pcyl: U32,
        pub dkl_ncyl: U32,
        pub dkl_acyl: U16,
        pub dkl_bcyl: U16,
        pub dkl_nhead: U32,
        pub dkl_nsect: U32,
        pub dkl_intrlv: U16,
        pub dkl_skew: U16,
        pub dkl_apc: U16,
        pub dkl_rpm: U16,
        pub dkl_write_reinstruct: U16,
        pub dkl_read_reinstruct: U16,
        pub dkl_extra: [U16; 4],
        pub dkl_pad: [u8; 12],
        pub dkl_magic: U16,
        pub dkl_cksum: U16,
    }
    const _: () = assert!(size_of::<DkVtoc16>() == 456);
    const _: () = assert!(size_of::<X86DkLabel>() == 512);
}

/// XOR of all 16-bit words of the label: 0 when `dkl_cksum` is right. The
/// result is zero or not regardless of byte order.
fn xor_words(sector: &[u8; 512]) -> u16 {
    sector
        .chunks_exact(2)
        .fold(0u16, |acc, w| acc ^ u16::from_be_bytes([w[0], w[1]]))
}

/// What sector 0 says about a Sun label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SunState {
    /// No DKL_MAGIC (big-endian) at byte 508.
    Absent,
    /// Magic present, but the XOR checksum does not come out.
    BadChecksum(String),
    /// Magic and checksum good.
    Good,
}

/// Checks sector 0 for a SPARC/Sun disk label.
pub fn sun_label_state(sector: &[u8; 512]) -> SunState {
    let Ok(l) = be::SunDkLabel::ref_from_bytes(sector) else {
        return SunState::Absent;
    };
    if l.dkl_magic.get() != DKL_MAGIC {
        return SunState::Absent;
    }
    match xor_words(sector) {
        0 => SunState::Good,
        x => SunState::BadChecksum(format!(
            "DKL_MAGIC present but the XOR checksum is off by 0x{x:04x} (dkl_cksum 0x{:04x})",
            l.dkl_cksum.get()
        )),
    }
}

/// Fills `layout` from the Sun label in `sector` (sector 0 of the disk).
/// Slices start at `dkl_cylno * dkl_nhead * dkl_nsect`; empty ones
/// (`dkl_nblk == 0`) are left out. Ids `s0`..`s7`.
pub fn parse_sun(sector: &[u8; 512], layout: &mut DiskLayout) -> Result<(), DiskError> {
    let l = be::SunDkLabel::ref_from_bytes(sector)
        .map_err(|_| DiskError::SunLabel("sector is not 512 bytes".to_owned()))?;
    layout.table = TableKind::Sun;
    layout.sector_size = 512;
    let vtoc = &l.dkl_vtoc;
    let sane = vtoc.v_sanity.get() == VTOC_SANE;
    if !sane {
        layout.warnings.push(format!(
            "Sun label: vtoc part not sane (v_sanity 0x{:08x}): slice tags unknown",
            vtoc.v_sanity.get()
        ));
    } else if vtoc.v_version.get() != V_VERSION {
        layout.warnings.push(format!(
            "Sun label: vtoc version {} (expected {V_VERSION})",
            vtoc.v_version.get()
        ));
    }
    let per_cyl = u64::from(l.dkl_nhead.get()) * u64::from(l.dkl_nsect.get());
    let disk_size = layout.disk_size;
    for (i, (map, part)) in l.dkl_map.iter().zip(vtoc.v_part.iter()).enumerate() {
        let nblk = u64::from(map.dkl_nblk.get());
        if nblk == 0 {
            continue;
        }
        let cyl = u64::from(map.dkl_cylno.get());
        let (tag, flag) = if sane {
            (part.p_tag.get(), part.p_flag.get())
        } else {
            (V_UNASSIGNED, 0)
        };
        // cyl < 2^32 and per_cyl < 2^32: the product fits; times 512 may not.
        let start = (cyl * per_cyl).checked_mul(SECTOR);
        let base = Partition::new(
            format!("s{i}"),
            Scheme::Sun,
            start.unwrap_or(u64::MAX),
            nblk * SECTOR,
            PartType::Vtoc { tag, flag },
        );
        let p = if per_cyl == 0 && cyl != 0 {
            base.invalid(format!(
                "starts at cylinder {cyl} but the label's geometry has 0 sectors per cylinder"
            ))
        } else if start.is_none() {
            base.invalid("start overflows")
        } else {
            Partition::checked(base, (0, disk_size), "the disk")
        };
        layout.partitions.push(p);
    }
    Ok(())
}

/// Why sector 1 of a partition is (not) an x86 VTOC.
fn x86_label_check(sector: &[u8; 512]) -> Result<&le::X86DkLabel, String> {
    let l = le::X86DkLabel::ref_from_bytes(sector).map_err(|_| "short sector".to_owned())?;
    if l.dkl_magic.get() != DKL_MAGIC {
        return Err(format!(
            "no DKL_MAGIC at byte 508 (found 0x{:04x})",
            l.dkl_magic.get()
        ));
    }
    let v = &l.dkl_vtoc;
    if v.v_sanity.get() != VTOC_SANE {
        return Err(format!(
            "v_sanity 0x{:08x} is not VTOC_SANE",
            v.v_sanity.get()
        ));
    }
    if v.v_version.get() != V_VERSION {
        return Err(format!(
            "v_version {} is not {V_VERSION}",
            v.v_version.get()
        ));
    }
    Ok(l)
}

/// Looks for an x86 VTOC in sector 1 of fdisk partition `part` and appends its
/// slices (ids `N.M`, `p_start` relative to the partition). Returns whether a
/// VTOC was found. A 0x82 partition without one is just Linux swap; a 0xBF
/// one without one gets a warning.
pub fn parse_x86(disk: &dyn ReadAt, part: &Partition, layout: &mut DiskLayout) -> bool {
    let solaris2 = part.ptype == PartType::Mbr(0xBF);
    let Some(end) = part.start.checked_add(part.size) else {
        return false;
    };
    let mut sector = [0u8; 512];
    let found = if part.size < 2 * SECTOR {
        Err("partition is smaller than two sectors".to_owned())
    } else {
        // start + 512 < start + size = end: cannot overflow.
        disk.read_exact_at(part.start + SECTOR, &mut sector)
            .map_err(|e| e.to_string())
            .and_then(|()| x86_label_check(&sector))
    };
    let l = match found {
        Ok(l) => l,
        Err(why) => {
            if solaris2 {
                layout.warnings.push(format!(
                    "partition {} (Solaris 0xbf): no VTOC in its sector 1 ({why}); slices not listed",
                    part.id
                ));
            }
            return false;
        }
    };
    if xor_words(&sector) != 0 {
        layout.warnings.push(format!(
            "partition {}: VTOC checksum is wrong (slices still listed)",
            part.id
        ));
    }
    let v = &l.dkl_vtoc;
    let sectorsz = v.v_sectorsz.get();
    if sectorsz != 0 && u64::from(sectorsz) != SECTOR {
        layout.warnings.push(format!(
            "partition {}: VTOC v_sectorsz {sectorsz}; slice addresses read as 512-byte sectors",
            part.id
        ));
    }
    let nparts = v.v_nparts.get();
    if nparts > 16 {
        layout.warnings.push(format!(
            "partition {}: VTOC v_nparts {nparts} > 16; 16 slices read",
            part.id
        ));
    }
    // Older labels set v_nparts 8 and leave slices 8..15 as garbage.
    let n = if nparts > 8 { 16 } else { 8 };
    for (i, s) in v.v_part.iter().enumerate().take(n) {
        let size = s.p_size.get();
        if size == 0 {
            continue;
        }
        let start = part.start.checked_add(u64::from(s.p_start.get()) * SECTOR);
        let base = Partition {
            parent: Some(part.id.clone()),
            ..Partition::new(
                format!("{}.{i}", part.id),
                Scheme::Vtoc,
                start.unwrap_or(u64::MAX),
                u64::try_from(size).unwrap_or(0) * SECTOR,
                PartType::Vtoc {
                    tag: s.p_tag.get(),
                    flag: s.p_flag.get(),
                },
            )
        };
        let p = if size < 0 {
            base.invalid(format!("p_size {size} is negative"))
        } else if start.is_none() {
            base.invalid("start overflows")
        } else {
            Partition::checked(
                base,
                (part.start, end),
                &format!("fdisk partition {}", part.id),
            )
        };
        layout.partitions.push(p);
    }
    true
}
