//! Root choice: which partition holds the root filesystem, as pygrub would
//! pick it — and better (pygrub follows no extended partitions, no SPARC
//! labels and no 4K-sector GPT). In order:
//!
//! 1. No partition table: the whole disk.
//! 2. A hybrid ISO ("CD001" at byte 32769, the standard identifier of the
//!    volume descriptor at byte 32768), with any table: the whole disk.
//! 3. Sun label: the first slice tagged V_ROOT holding a filesystem a plugin
//!    recognises; else the first non-backup slice holding one.
//! 4. GPT: the first entry with the Legacy BIOS Bootable attribute holding a
//!    filesystem; else the first of a root type (Solaris root, Linux root of
//!    any architecture) holding one; else, in entry order, the first that is
//!    not EFI System, BIOS boot or swap and holds one.
//! 5. MBR: the active partition if it holds a filesystem — for a Solaris
//!    partition (0xBF, or 0x82 with a VTOC) its first V_ROOT slice, else its
//!    first non-backup slice holding one; otherwise, in table order (primaries
//!    1–4, then logicals in chain order), the first holding one, Solaris
//!    partitions contributing their first V_ROOT slice.
//!
//! Filesystems are recognised by the caller's probe (the plugins), which sees
//! only the partition's window. Invalid partitions and extended containers
//! are never probed; each partition is probed at most once.

use super::{
    DiskError, DiskLayout, PartType, Partition, Scheme, TableKind,
    gpt::{self, Role},
    vtoc::{V_BACKUP, V_ROOT},
};
use fsimage_abi::{ReadAt, io::Window};

/// The partition root choice picked and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootChoice {
    /// The partition (id `0`, scheme [`Scheme::Disk`] for the whole disk).
    pub partition: Partition,
    /// What the probe said it holds (`None` only for the whole disk when the
    /// probe recognised nothing).
    pub fs: Option<String>,
    /// Which rule picked it, e.g. "rule 5: MBR: active partition 1".
    pub rule: String,
}

impl RootChoice {
    /// Id of the chosen partition (`0` = whole disk).
    pub fn id(&self) -> &str {
        &self.partition.id
    }

    /// The chosen partition as a byte source of its own.
    pub fn window<R: ReadAt>(&self, disk: R) -> Result<Window<R>, DiskError> {
        self.partition.window(disk)
    }
}

/// True when the disk carries an ISO 9660 volume descriptor at byte 32768.
pub fn hybrid_iso(disk: &dyn ReadAt) -> bool {
    let mut id = [0u8; 5];
    disk.read_exact_at(32769, &mut id).is_ok() && &id == b"CD001"
}

/// The probe and a memo of what it said per partition id.
struct Prober<'p> {
    probe: &'p mut dyn FnMut(&Partition) -> Option<String>,
    memo: Vec<(String, Option<String>)>,
}

impl Prober<'_> {
    fn fs(&mut self, p: &Partition) -> Option<String> {
        if !p.is_valid() || p.ptype.is_extended() {
            return None;
        }
        if let Some((_, fs)) = self.memo.iter().find(|(id, _)| *id == p.id) {
            return fs.clone();
        }
        let fs = (self.probe)(p);
        self.memo.push((p.id.clone(), fs.clone()));
        fs
    }

    /// First partition of `cands` that holds a filesystem.
    fn first<'l>(
        &mut self,
        cands: impl IntoIterator<Item = &'l Partition>,
    ) -> Option<(&'l Partition, String)> {
        for p in cands {
            if let Some(fs) = self.fs(p) {
                return Some((p, fs));
            }
        }
        None
    }
}

fn chosen(p: &Partition, fs: String, rule: String) -> RootChoice {
    RootChoice {
        partition: p.clone(),
        fs: Some(fs),
        rule,
    }
}

/// Picks the root filesystem's partition (rules in the module docs). `probe`
/// is handed each candidate's window and returns the filesystem it holds.
pub fn choose_root(
    disk: &dyn ReadAt,
    layout: &DiskLayout,
    probe: &mut dyn FnMut(&dyn ReadAt) -> Option<String>,
) -> Result<RootChoice, DiskError> {
    let mut by_part = |p: &Partition| match p.window(disk) {
        Ok(w) => probe(&w),
        Err(_) => None,
    };
    choose_root_by(disk, layout, &mut by_part)
}

/// [`choose_root`] for callers that build their own windows: `probe` is
/// handed each candidate partition (always valid, never an extended
/// container; id `0` is the whole disk). `disk` is read only for the hybrid
/// ISO check (rule 2).
pub fn choose_root_by(
    disk: &dyn ReadAt,
    layout: &DiskLayout,
    probe: &mut dyn FnMut(&Partition) -> Option<String>,
) -> Result<RootChoice, DiskError> {
    let mut pr = Prober {
        probe,
        memo: Vec::new(),
    };
    let whole = layout.whole_disk();
    if layout.table == TableKind::None {
        let fs = pr.fs(&whole);
        return Ok(RootChoice {
            partition: whole,
            fs,
            rule: "rule 1: no partition table: whole disk".to_owned(),
        });
    }
    if hybrid_iso(disk) {
        let fs = pr.fs(&whole);
        return Ok(RootChoice {
            partition: whole,
            fs,
            rule: format!(
                "rule 2: hybrid ISO 9660 (CD001 at byte 32769) with a {} table: whole disk",
                layout.table.as_str()
            ),
        });
    }
    let parts = &layout.partitions;
    match layout.table {
        TableKind::None => unreachable_none(),
        TableKind::Sun => {
            let slices = || parts.iter().filter(|p| p.scheme == Scheme::Sun);
            if let Some((p, fs)) = pr.first(slices().filter(|p| p.ptype.vtoc_tag() == Some(V_ROOT)))
            {
                let rule = format!(
                    "rule 3: Sun label: first V_ROOT slice holding a filesystem ({})",
                    p.id
                );
                return Ok(chosen(p, fs, rule));
            }
            if let Some((p, fs)) =
                pr.first(slices().filter(|p| p.ptype.vtoc_tag() != Some(V_BACKUP)))
            {
                let rule = format!(
                    "rule 3: Sun label: no V_ROOT slice holds a filesystem; first non-backup slice holding one ({})",
                    p.id
                );
                return Ok(chosen(p, fs, rule));
            }
            Err(DiskError::NoRoot(
                "Sun label: no slice holds a recognised filesystem".to_owned(),
            ))
        }
        TableKind::Gpt => {
            let role = |p: &Partition| match p.ptype {
                PartType::Gpt(g) => gpt::role(&g),
                _ => Role::Other,
            };
            if let Some((p, fs)) = pr.first(parts.iter().filter(|p| p.bootable)) {
                let rule = format!(
                    "rule 4: GPT: first Legacy BIOS Bootable entry holding a filesystem ({})",
                    p.id
                );
                return Ok(chosen(p, fs, rule));
            }
            if let Some((p, fs)) = pr.first(parts.iter().filter(|p| role(p) == Role::Root)) {
                let rule = format!(
                    "rule 4: GPT: first root-type entry holding a filesystem ({}, {})",
                    p.id,
                    p.ptype.description()
                );
                return Ok(chosen(p, fs, rule));
            }
            if let Some((p, fs)) = pr.first(parts.iter().filter(|p| role(p) != Role::NotRoot)) {
                let rule = format!(
                    "rule 4: GPT: first entry (not EFI System, BIOS boot or swap) holding a filesystem ({})",
                    p.id
                );
                return Ok(chosen(p, fs, rule));
            }
            Err(DiskError::NoRoot(
                "GPT: no entry holds a recognised filesystem".to_owned(),
            ))
        }
        TableKind::Mbr => choose_mbr(&mut pr, layout),
    }
}

fn unreachable_none() -> Result<RootChoice, DiskError> {
    // Handled by rule 1 above; kept total without a panic.
    Err(DiskError::NoRoot("no partition table".to_owned()))
}

fn choose_mbr(pr: &mut Prober<'_>, layout: &DiskLayout) -> Result<RootChoice, DiskError> {
    let parts = &layout.partitions;
    let top = || {
        parts
            .iter()
            .filter(|p| matches!(p.scheme, Scheme::Mbr | Scheme::Ebr))
    };
    let has_slices = |p: &Partition| layout.slices_of(&p.id).next().is_some();
    let root_slices = |p: &Partition| -> Vec<&Partition> {
        layout
            .partitions
            .iter()
            .filter(|s| s.parent.as_deref() == Some(p.id.as_str()))
            .filter(|s| s.ptype.vtoc_tag() == Some(V_ROOT))
            .collect()
    };

    if let Some(active) = top().find(|p| p.bootable && p.scheme == Scheme::Mbr) {
        if has_slices(active) {
            if let Some((s, fs)) = pr.first(root_slices(active)) {
                let rule = format!(
                    "rule 5: MBR: active Solaris partition {}: first V_ROOT slice holding a filesystem ({})",
                    active.id, s.id
                );
                return Ok(chosen(s, fs, rule));
            }
            let others = layout
                .slices_of(&active.id)
                .filter(|s| s.ptype.vtoc_tag() != Some(V_BACKUP));
            if let Some((s, fs)) = pr.first(others) {
                let rule = format!(
                    "rule 5: MBR: active Solaris partition {}: no V_ROOT slice holds a filesystem; first slice holding one ({})",
                    active.id, s.id
                );
                return Ok(chosen(s, fs, rule));
            }
        } else if let Some(fs) = pr.fs(active) {
            let rule = format!("rule 5: MBR: active partition {}", active.id);
            return Ok(chosen(active, fs, rule));
        }
    }
    for p in top() {
        if has_slices(p) {
            if let Some((s, fs)) = pr.first(root_slices(p)) {
                let rule = format!(
                    "rule 5: MBR: first partition in table order holding a filesystem: V_ROOT slice {} of Solaris partition {}",
                    s.id, p.id
                );
                return Ok(chosen(s, fs, rule));
            }
        } else if let Some(fs) = pr.fs(p) {
            let rule = format!(
                "rule 5: MBR: first partition in table order holding a filesystem ({})",
                p.id
            );
            return Ok(chosen(p, fs, rule));
        }
    }
    Err(DiskError::NoRoot(
        "MBR: no partition holds a recognised filesystem".to_owned(),
    ))
}

/// Reads the table and picks the root in one go: [`super::parse`] then
/// [`choose_root`]. A hybrid ISO whose table cannot be read (e.g. an
/// isohybrid GPT both of whose headers are damaged) is still the whole disk
/// by rule 2; any other unreadable table is the parse error.
pub fn locate_root(
    disk: &dyn ReadAt,
    probe: &mut dyn FnMut(&dyn ReadAt) -> Option<String>,
) -> Result<RootChoice, DiskError> {
    let mut by_part = |p: &Partition| match p.window(disk) {
        Ok(w) => probe(&w),
        Err(_) => None,
    };
    locate_root_by(disk, &mut by_part)
}

/// [`locate_root`] with a probe that is handed partitions (see
/// [`choose_root_by`]).
pub fn locate_root_by(
    disk: &dyn ReadAt,
    probe: &mut dyn FnMut(&Partition) -> Option<String>,
) -> Result<RootChoice, DiskError> {
    match super::parse(disk) {
        Ok(layout) => choose_root_by(disk, &layout, probe),
        Err(e) if hybrid_iso(disk) => {
            let whole = super::whole_disk(disk.size());
            let fs = probe(&whole);
            Ok(RootChoice {
                partition: whole,
                fs,
                rule: format!(
                    "rule 2: hybrid ISO 9660 (CD001 at byte 32769), table unreadable ({e}): whole disk"
                ),
            })
        }
        Err(e) => Err(e),
    }
}

/// [`locate_root`] over a byte slice holding a whole disk (fuzzing entry).
pub fn choose_root_bytes(
    data: &[u8],
    probe: &mut dyn FnMut(&dyn ReadAt) -> Option<String>,
) -> Result<RootChoice, DiskError> {
    locate_root(&data, probe)
}
