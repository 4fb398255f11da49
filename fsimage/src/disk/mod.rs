//! Partition tables and root choice: pure parsers over [`ReadAt`].
//!
//! [`parse`] reads the table of a whole disk — MBR/fdisk with its EBR chain,
//! GPT (512- and 4096-byte sectors, backup header when the primary is bad),
//! a Solaris x86 VTOC inside an fdisk partition, or a SPARC/Sun disk label —
//! into a [`DiskLayout`]. [`choose_root`] then picks the partition holding the
//! root filesystem (rules in [`root`]). Nothing here trusts the image: every
//! count, pointer and size is checked, chains are bounded and cycle-checked,
//! and nothing allocates more than a bounded amount (the GPT entry array is
//! capped at [`gpt::MAX_ENTRY_ARRAY_BYTES`]).
//!
//! # Partition ids
//!
//! Ids are stable strings; every `--partition ID` the tools accept is one of:
//!
//! | id        | what                                                        |
//! |-----------|-------------------------------------------------------------|
//! | `0`       | the whole disk (the only entry when there is no table)      |
//! | `1`..`4`  | MBR primary entries, by slot (empty slots are skipped)       |
//! | `5`, `6`… | MBR logical partitions, in EBR chain order (as Linux/fdisk) |
//! | `1`, `2`… | GPT entries, by 1-based index in the entry array (as Linux, sgdisk) |
//! | `N.M`     | slice M (0..15) of the Solaris x86 VTOC in fdisk partition N |
//! | `s0`..`s7`| slices of a SPARC/Sun disk label                            |
//!
//! [`DiskLayout::find`] also takes the fixture spelling as an alias: `pN` for
//! `N`, `pNsM` for `N.M`, `p0` for `0`.
//!
//! # Partitions past their container
//!
//! One policy everywhere: a partition or slice that does not lie entirely
//! inside its container — the disk for primaries, GPT entries and Sun slices,
//! the extended partition for logicals, the fdisk partition for VTOC slices —
//! is **reported, marked [`Validity::Invalid`] with the reason, and never
//! used**: [`Partition::window`] refuses it and root choice skips it. It is not
//! clipped, because a clipped filesystem would be read as if it were whole.
//!
//! # Errors and warnings
//!
//! A table that cannot be read at all (GPT with both headers bad, a Sun label
//! with a bad checksum and no MBR behind it) is a [`DiskError`]. Damage that
//! still leaves a usable table (an EBR chain that loops or leaves the extended
//! partition, more than [`mbr::MAX_LOGICALS`] logicals, a bad primary GPT
//! header with a good backup) truncates or repairs the list and adds a line
//! to [`DiskLayout::warnings`].
//!
//! # Fuzzing
//!
//! [`parse_bytes`] and [`choose_root_bytes`] take a `&[u8]` (the whole disk).

#![forbid(unsafe_code)]

pub mod gpt;
pub mod mbr;
pub mod root;
pub mod vtoc;

pub use root::{
    RootChoice, choose_root, choose_root_by, choose_root_bytes, hybrid_iso, locate_root,
    locate_root_by,
};

use fsimage_abi::{ReadAt, io::Window};
use std::fmt;

/// Bytes of an MBR-era sector; MBR, EBR and VTOC addresses count in these.
pub const SECTOR: u64 = 512;

/// Why a disk's table could not be read, or a partition cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// A read of the disk failed (past its end, or an I/O error).
    #[error("{what}: {source}")]
    Read {
        /// The structure being read, e.g. "GPT header at LBA 1".
        what: String,
        /// The underlying error.
        source: fsimage_abi::Error,
    },
    /// Both GPT headers (or their entry arrays) are unusable.
    #[error("GPT: {0}")]
    Gpt(String),
    /// The SPARC/Sun disk label at sector 0 is damaged.
    #[error("Sun disk label: {0}")]
    SunLabel(String),
    /// No partition with this id.
    #[error("no partition {0:?} (ids are listed by fsimage-ls --partitions)")]
    NoSuchPartition(String),
    /// The partition exists but is not usable (e.g. runs past its container).
    #[error("partition {id} is not usable: {reason}")]
    InvalidPartition {
        /// Its id.
        id: String,
        /// Why.
        reason: String,
    },
    /// Root choice found no partition holding a recognised filesystem.
    #[error("no root filesystem found ({0})")]
    NoRoot(String),
}

impl DiskError {
    pub(crate) fn read(what: impl fmt::Display, source: fsimage_abi::Error) -> DiskError {
        DiskError::Read {
            what: what.to_string(),
            source,
        }
    }
}

/// The kind of table a disk carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// No partition table: the whole disk is one filesystem (or nothing).
    None,
    /// MBR/fdisk (possibly with EBRs and Solaris x86 VTOCs inside).
    Mbr,
    /// GUID partition table.
    Gpt,
    /// SPARC/Sun disk label (VTOC_8).
    Sun,
}

impl TableKind {
    /// Lower-case name: "none", "mbr", "gpt", "sun".
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::None => "none",
            TableKind::Mbr => "mbr",
            TableKind::Gpt => "gpt",
            TableKind::Sun => "sun",
        }
    }
}

/// Which structure a partition entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// The whole disk (id `0`).
    Disk,
    /// An MBR primary entry.
    Mbr,
    /// A logical partition from an EBR.
    Ebr,
    /// A GPT entry.
    Gpt,
    /// A slice of a Solaris x86 VTOC inside an fdisk partition.
    Vtoc,
    /// A slice of a SPARC/Sun disk label.
    Sun,
}

impl Scheme {
    /// The name used in `--json` output: "disk", "mbr", "ebr", "gpt", "vtoc", "sun".
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Disk => "disk",
            Scheme::Mbr => "mbr",
            Scheme::Ebr => "ebr",
            Scheme::Gpt => "gpt",
            Scheme::Vtoc => "vtoc",
            Scheme::Sun => "sun",
        }
    }
}

/// A partition's type, as its table spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartType {
    /// The whole disk has no type.
    None,
    /// MBR/EBR system id byte.
    Mbr(u8),
    /// GPT partition type GUID, in on-disk byte order.
    Gpt([u8; 16]),
    /// VTOC tag and flag (x86 VTOC or Sun label).
    Vtoc {
        /// `p_tag` (V_ROOT = 2, ...).
        tag: u16,
        /// `p_flag` (V_UNMNT 0x01, V_RONLY 0x10).
        flag: u16,
    },
}

impl PartType {
    /// The type as `--json` prints it: `"0x83"`, a GUID in sgdisk's textual
    /// form, or a VTOC tag name (`"root"`); empty for the whole disk.
    pub fn code(&self) -> String {
        match self {
            PartType::None => String::new(),
            PartType::Mbr(t) => format!("0x{t:02x}"),
            PartType::Gpt(g) => gpt::guid_string(g),
            PartType::Vtoc { tag, .. } => vtoc::tag_name(*tag),
        }
    }

    /// A human description ("Linux", "EFI System", "root (wm)").
    pub fn description(&self) -> String {
        match self {
            PartType::None => "whole disk".to_owned(),
            PartType::Mbr(t) => mbr::type_name(*t).unwrap_or("unknown").to_owned(),
            PartType::Gpt(g) => gpt::type_name(g).unwrap_or("unknown").to_owned(),
            PartType::Vtoc { tag, flag } => {
                let mut s = vtoc::tag_name(*tag);
                s.push_str(vtoc::flag_suffix(*flag));
                s
            }
        }
    }

    /// MBR extended container (0x05, 0x0F, 0x85): never a filesystem itself.
    pub fn is_extended(&self) -> bool {
        matches!(self, PartType::Mbr(t) if mbr::is_extended(*t))
    }

    /// The VTOC tag, if this is a slice.
    pub fn vtoc_tag(&self) -> Option<u16> {
        match self {
            PartType::Vtoc { tag, .. } => Some(*tag),
            _ => None,
        }
    }
}

/// Whether a partition may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validity {
    /// Lies inside its container.
    Valid,
    /// Reported but never used; the text says why.
    Invalid(String),
}

/// One partition or slice of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Stable id (see the module docs).
    pub id: String,
    /// The structure it came from.
    pub scheme: Scheme,
    /// First byte, from the start of the disk.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Type byte, GUID or VTOC tag.
    pub ptype: PartType,
    /// GPT partition name (UTF-16 decoded), if any.
    pub name: Option<String>,
    /// MBR active flag (0x80) or GPT Legacy BIOS Bootable (attribute bit 2).
    pub bootable: bool,
    /// GPT attribute bits (0 for other schemes).
    pub attributes: u64,
    /// For a VTOC slice, the id of the fdisk partition holding the VTOC.
    pub parent: Option<String>,
    /// Inside its container, or why not.
    pub validity: Validity,
}

impl Partition {
    /// A valid, non-bootable entry with no name, attributes or parent.
    pub fn new(id: String, scheme: Scheme, start: u64, size: u64, ptype: PartType) -> Partition {
        Partition {
            id,
            scheme,
            start,
            size,
            ptype,
            name: None,
            bootable: false,
            attributes: 0,
            parent: None,
            validity: Validity::Valid,
        }
    }

    /// The same entry, marked invalid for `reason`.
    pub fn invalid(self, reason: impl Into<String>) -> Partition {
        Partition {
            validity: Validity::Invalid(reason.into()),
            ..self
        }
    }

    /// True unless marked invalid.
    pub fn is_valid(&self) -> bool {
        self.validity == Validity::Valid
    }

    /// The partition as a byte source of its own. Refuses invalid partitions;
    /// reads through the window never leave the partition.
    pub fn window<R: ReadAt>(&self, disk: R) -> Result<Window<R>, DiskError> {
        if let Validity::Invalid(reason) = &self.validity {
            return Err(DiskError::InvalidPartition {
                id: self.id.clone(),
                reason: reason.clone(),
            });
        }
        Window::new(disk, self.start, self.size).map_err(|e| DiskError::InvalidPartition {
            id: self.id.clone(),
            reason: e.to_string(),
        })
    }

    /// Builds an entry, marking it invalid unless `[start, start+size)` lies in
    /// `[lo, hi)` (its container).
    pub(crate) fn checked(
        base: Partition,
        container: (u64, u64),
        container_name: &str,
    ) -> Partition {
        let (lo, hi) = container;
        let end = base.start.checked_add(base.size);
        let validity = match end {
            None => Validity::Invalid("start + size overflows".to_owned()),
            Some(_) if base.size == 0 => Validity::Invalid("size is zero".to_owned()),
            Some(end) if base.start < lo || end > hi => Validity::Invalid(format!(
                "bytes [{}, {end}) run outside {container_name} [{lo}, {hi})",
                base.start
            )),
            Some(_) => Validity::Valid,
        };
        Partition { validity, ..base }
    }
}

/// A disk's partition table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskLayout {
    /// Kind of table found.
    pub table: TableKind,
    /// Logical sector size in bytes (512 or 4096).
    pub sector_size: u32,
    /// Size of the disk in bytes.
    pub disk_size: u64,
    /// Every entry, in table order: primaries (each followed by its VTOC
    /// slices), then logicals in chain order; GPT entries by index; Sun slices
    /// by number. With no table, the whole disk as id `0`.
    pub partitions: Vec<Partition>,
    /// Damage that was worked around (truncated chains, backup GPT used, ...).
    pub warnings: Vec<String>,
}

impl DiskLayout {
    /// The partition with this id (or fixture-style alias `pN`, `pNsM`, `p0`).
    pub fn find(&self, id: &str) -> Option<&Partition> {
        let canon = canonical_id(id);
        self.partitions.iter().find(|p| p.id == canon)
    }

    /// Like [`DiskLayout::find`], but `0` always answers (the whole disk) and
    /// a missing id is an error.
    pub fn select(&self, id: &str) -> Result<Partition, DiskError> {
        if let Some(p) = self.find(id) {
            return Ok(p.clone());
        }
        if canonical_id(id) == "0" {
            return Ok(self.whole_disk());
        }
        Err(DiskError::NoSuchPartition(id.to_owned()))
    }

    /// The whole disk as a partition (id `0`).
    pub fn whole_disk(&self) -> Partition {
        whole_disk(self.disk_size)
    }

    /// The VTOC slices of fdisk partition `parent_id`, in slice order.
    pub fn slices_of<'a>(&'a self, parent_id: &'a str) -> impl Iterator<Item = &'a Partition> {
        self.partitions
            .iter()
            .filter(move |p| p.parent.as_deref() == Some(parent_id))
    }
}

/// The whole disk of `size` bytes as a partition (id `0`).
pub fn whole_disk(size: u64) -> Partition {
    Partition::new("0".to_owned(), Scheme::Disk, 0, size, PartType::None)
}

/// Maps the fixture spelling (`p3`, `p1s0`, `p0`) to the canonical id.
pub fn canonical_id(id: &str) -> String {
    if let Some(rest) = id.strip_prefix('p') {
        let (part, slice) = match rest.split_once('s') {
            Some((p, s)) => (p, Some(s)),
            None => (rest, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(part) && slice.is_none_or(digits) {
            return match slice {
                Some(s) => format!("{part}.{s}"),
                None => part.to_owned(),
            };
        }
    }
    id.to_owned()
}

/// Reads the partition table of a whole disk.
///
/// Order of detection: a SPARC/Sun label (DKL_MAGIC and a good checksum at
/// sector 0); an MBR (0x55AA) — a GPT when it holds a protective 0xEE entry;
/// a GPT header with no MBR at all (warned); otherwise no table.
pub fn parse(disk: &dyn ReadAt) -> Result<DiskLayout, DiskError> {
    let size = disk.size();
    let mut layout = DiskLayout {
        table: TableKind::None,
        sector_size: 512,
        disk_size: size,
        partitions: Vec::new(),
        warnings: Vec::new(),
    };
    if size < SECTOR {
        layout.partitions.push(whole_disk(size));
        return Ok(layout);
    }
    let mut s0 = [0u8; 512];
    disk.read_exact_at(0, &mut s0)
        .map_err(|e| DiskError::read("sector 0", e))?;

    let sun = vtoc::sun_label_state(&s0);
    let mbr_sig = mbr::has_signature(&s0);
    match sun {
        vtoc::SunState::Good => {
            vtoc::parse_sun(&s0, &mut layout)?;
            return Ok(layout);
        }
        vtoc::SunState::BadChecksum(msg) if !mbr_sig => {
            return Err(DiskError::SunLabel(msg));
        }
        _ => {}
    }

    if mbr_sig {
        match mbr::parse_table(&s0) {
            Ok(table) if table.protective => {
                gpt::parse(disk, &mut layout)?;
                if table.hybrid {
                    layout.warnings.push(
                        "hybrid MBR: the MBR also lists partitions; the GPT is used".to_owned(),
                    );
                }
                return Ok(layout);
            }
            Ok(table) if table.is_empty() => {
                layout
                    .warnings
                    .push("MBR signature with no partitions: treated as no table".to_owned());
            }
            Ok(table) => {
                mbr::parse(disk, &table, &mut layout)?;
                return Ok(layout);
            }
            Err(why) => {
                layout
                    .warnings
                    .push(format!("sector 0 has 0x55AA but is no MBR: {why}"));
            }
        }
    }
    // No usable MBR: a GPT without its protective MBR is still a GPT.
    if gpt::detect_sector_size(disk).is_some() {
        let mut g = layout.clone();
        if gpt::parse(disk, &mut g).is_ok() {
            g.warnings
                .push("GPT without a protective MBR (no 0xEE entry)".to_owned());
            return Ok(g);
        }
    }
    layout.partitions.push(whole_disk(size));
    Ok(layout)
}

/// [`parse`] over a byte slice holding a whole disk (fuzzing entry point).
pub fn parse_bytes(data: &[u8]) -> Result<DiskLayout, DiskError> {
    parse(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_aliases_map_to_ids() {
        assert_eq!(canonical_id("p1s0"), "1.0");
        assert_eq!(canonical_id("p3"), "3");
        assert_eq!(canonical_id("p0"), "0");
        assert_eq!(canonical_id("s3"), "s3");
        assert_eq!(canonical_id("1.2"), "1.2");
        assert_eq!(canonical_id("ps"), "ps");
        assert_eq!(canonical_id("p1s"), "p1s");
    }

    fn part(start: u64, size: u64) -> Partition {
        Partition {
            start,
            size,
            ..whole_disk(0)
        }
    }

    #[test]
    fn container_policy() {
        let ok = Partition::checked(part(10, 10), (10, 20), "c");
        assert!(ok.is_valid());
        for (s, n) in [(9, 10), (11, 10), (10, 0), (u64::MAX, 2)] {
            let p = Partition::checked(part(s, n), (10, 20), "c");
            assert!(!p.is_valid(), "{s} {n}");
            assert!(p.window(&[0u8; 64][..]).is_err());
        }
    }

    #[test]
    fn guids_print_mixed_endian() {
        let g = [
            0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47, 0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47,
            0x7D, 0xE4,
        ];
        assert_eq!(gpt::guid_string(&g), "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
        assert_eq!(gpt::type_name(&g), Some("Linux filesystem"));
        assert_eq!(gpt::role(&g), gpt::Role::Other);
    }

    #[test]
    fn vtoc_tags() {
        assert_eq!(vtoc::tag_name(vtoc::V_ROOT), "root");
        assert_eq!(vtoc::tag_name(vtoc::V_BACKUP), "backup");
        assert_eq!(vtoc::tag_name(0x77), "0x77");
        let t = PartType::Vtoc { tag: 3, flag: 0x11 };
        assert_eq!(t.description(), "swap (unmountable, read-only)");
        assert_eq!(PartType::Mbr(0x0f).code(), "0x0f");
        assert!(PartType::Mbr(0x85).is_extended());
    }
}
