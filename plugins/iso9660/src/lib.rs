//! ISO 9660 plugin: a read-only reader for CD/DVD images (ECMA-119) with
//! Rock Ridge (SUSP/RRIP) and Joliet.
//!
//! Which tree is read: the primary tree with Rock Ridge names and attributes
//! when the root's "." record carries RRIP entries (or an ER naming RRIP);
//! else the Joliet tree (UCS-2 names) when a Joliet supplementary descriptor
//! exists; else the plain primary tree. Mount options: `norock`, `nojoliet`.
//!
//! Names: Rock Ridge NM names as recorded; Joliet and plain names with the
//! `;N` version and a trailing `.` stripped, in the case recorded on the disc
//! (plain names are upper case; `lookup` of plain names ignores ASCII case).
//!
//! Object ids are absolute byte offsets in the image:
//! - a directory's id is the byte offset of its data (where its "." record
//!   is). Every path to a directory — its entry in the parent, a Rock Ridge
//!   CL link, a child's ".." record or PL link — resolves to that one id, so
//!   relocated directories and `..` work, and a "." record that does not point
//!   to itself is refused;
//! - any other object's id is the byte offset of its (first) directory
//!   record. Hard links are separate records: `stat.ino` is the Rock Ridge
//!   PX serial number when recorded (RRIP 1.12); else, for a file whose PX
//!   link count is above 1, the byte offset of its data (links share the
//!   extent: xorriso 1.5 records no serial numbers); else the id.
//!
//! Without Rock Ridge there are no permissions: `stat` reports 0o555 for
//! directories and 0o444 for files, uid/gid 0, nlink 1 (2 for directories),
//! and the recording date for every time.
//!
//! Ignored: El Torito (the boot catalog is an ordinary file), path tables,
//! associated files (hidden as on Linux), directories relocated to
//! `rr_moved` (the RE entry hides them there; they are found through CL).
//! zisofs and zisofs2 files (Rock Ridge ZF "pz"; ZF or Z2 "PZ") are
//! decompressed in `read` and mapped as one `Opaque` extent. Refused by
//! name: interleaved files, ZF entries of other algorithms.
#![forbid(unsafe_code)]

mod dir;
pub mod limits;
mod ondisk;
mod susp;
mod time;
mod zisofs;

use dir::Record;
use fsimage_abi::raw::RawMagic;
use fsimage_abi::sdk::opaque_tail;
use fsimage_abi::{
    Device, DirSink, Error, Extent, ExtentSink, FileKind, Filesystem, ReadAt, Result, Stat,
};
use limits::{
    DIR_CACHE_DIRS, DIR_CACHE_MAX_ENTRIES, MAX_FILE_SECTIONS, MAX_PATH_TABLE_LEN,
    MAX_VOLUME_DESCRIPTORS,
};
use ondisk::{
    FLAG_ASSOCIATED, FLAG_DIRECTORY, FLAG_MULTI_EXTENT, PathTableRecord, SECTOR, STANDARD_ID,
    VD_PRIMARY, VD_SUPPLEMENTARY, VD_TERMINATOR, VDS_OFFSET, VolumeDescriptor,
};
use std::ffi::CStr;
use std::sync::Arc;
use susp::Rr;
use zerocopy::FromBytes;

/// How names and attributes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    Plain,
    Joliet,
    /// Rock Ridge, with SUSP's `LEN_SKP` bytes skipped in each area.
    Rock(u8),
}

/// A mounted ISO 9660 volume.
pub struct Iso9660Fs {
    dev: Device,
    block_size: u64,
    root: u64,
    names: Names,
    label: Vec<u8>,
    /// The last zisofs block decompressed: (id, block number, bytes).
    zcache: std::sync::Mutex<Option<ZBlock>>,
    /// Listings of the directories looked up last: (directory id, entries).
    dcache: std::sync::Mutex<Vec<(u64, Arc<Vec<Cached>>)>>,
    /// (location in blocks, size in bytes) of the tree's type L path table.
    path_table: (u64, u32),
}

/// (location in blocks, size in bytes) of a type L path table.
type PathTable = (u64, u32);

/// A decompressed zisofs block: (object id, block number, bytes).
type ZBlock = (u64, u64, std::sync::Arc<Vec<u8>>);

/// What the volume descriptor set holds.
struct Descriptors {
    block_size: u64,
    /// The primary root directory record.
    root: Record,
    path_table: (u64, u32),
    joliet_root: Option<(Record, (u64, u32))>,
    label: Vec<u8>,
}

/// A descriptor's type L path table: (location, size).
fn path_table(vd: &VolumeDescriptor) -> (u64, u32) {
    let [a, b, c, d, ..] = vd.path_tables;
    (
        u64::from(u32::from_le_bytes([a, b, c, d])),
        vd.path_table_size.le.get(),
    )
}

/// One directory entry as shown.
struct Entry {
    name: Vec<u8>,
    id: u64,
    kind: FileKind,
    hidden: bool,
    /// Reached through a Rock Ridge CL link.
    relocated: bool,
}

/// One entry of a cached directory listing.
struct Cached {
    name: Vec<u8>,
    id: u64,
    kind: FileKind,
    relocated: bool,
    /// Position of its record in the directory.
    pos: u64,
}

/// A directory: its data range and its "." record.
struct Directory {
    start: u64,
    end: u64,
    dot: Record,
}

/// Everything `stat`, `read` and `extents` need about one object.
struct Node {
    kind: FileKind,
    rec: Record,
    rr: Option<Rr>,
    size: u64,
    /// (device offset, length) of each file section.
    sections: Vec<(u64, u64)>,
    interleaved: bool,
}

fn read_descriptors(dev: &dyn ReadAt) -> Result<Descriptors> {
    let mut pvd: Option<(u64, Record, Vec<u8>, PathTable)> = None;
    let mut joliet: Option<(u64, Record, PathTable)> = None;
    let mut buf = [0u8; SECTOR as usize];
    for i in 0..MAX_VOLUME_DESCRIPTORS {
        let off = VDS_OFFSET + i * SECTOR;
        if dev.read_exact_at(off, &mut buf).is_err() {
            if i == 0 {
                return Err(Error::not_recognized("iso9660: image too small"));
            }
            break;
        }
        let (vd, _) = VolumeDescriptor::ref_from_prefix(&buf[..])
            .map_err(|_| Error::corrupt("iso9660: volume descriptor"))?;
        if &vd.standard_identifier != STANDARD_ID {
            if i == 0 {
                return Err(Error::not_recognized("iso9660: no CD001 at sector 16"));
            }
            // The set ends without a terminator: keep what was found.
            break;
        }
        match vd.volume_descriptor_type {
            VD_TERMINATOR => break,
            VD_PRIMARY if pvd.is_none() => {
                let bs = u64::from(vd.logical_block_size.le.get());
                // 2^(n+9), at most the logical sector size (ECMA-119 6.2.2).
                if !matches!(bs, 512 | 1024 | 2048) {
                    return Err(Error::corrupt(format!(
                        "iso9660: primary volume descriptor: logical block size {bs} is not 512, 1024 or 2048"
                    )));
                }
                let root = dir::parse(&vd.root_directory_record, off + 156)?.ok_or_else(|| {
                    Error::corrupt("iso9660: primary volume descriptor: no root directory record")
                })?;
                let mut label = vd.volume_identifier.to_vec();
                while matches!(label.last(), Some(b' ' | 0)) {
                    label.pop();
                }
                pvd = Some((bs, root, label, path_table(vd)));
            }
            VD_SUPPLEMENTARY if joliet.is_none() => {
                let esc = &vd.escape_sequences[..3];
                // Joliet UCS-2 levels 1-3 (Joliet specification 5.1).
                if matches!(esc, b"%/@" | b"%/C" | b"%/E") && vd.volume_flags & 1 == 0 {
                    let bs = u64::from(vd.logical_block_size.le.get());
                    if let Some(root) = dir::parse(&vd.root_directory_record, off + 156)? {
                        joliet = Some((bs, root, path_table(vd)));
                    }
                }
            }
            _ => {}
        }
    }
    let Some((block_size, root, label, pt)) = pvd else {
        return Err(Error::corrupt(
            "iso9660: no primary volume descriptor in the descriptor set",
        ));
    };
    let joliet_root = joliet
        .filter(|(bs, _, _)| *bs == block_size)
        .map(|(_, r, t)| (r, t));
    Ok(Descriptors {
        block_size,
        root,
        path_table: pt,
        joliet_root,
        label,
    })
}

impl Iso9660Fs {
    fn dev(&self) -> &dyn ReadAt {
        &self.dev
    }

    /// Byte offset of a block number.
    fn block_offset(&self, block: u64, what: &str) -> Result<u64> {
        block
            .checked_mul(self.block_size)
            .filter(|&o| o < self.dev.size())
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "iso9660: {what}: block {block} is past the image ({} bytes)",
                    self.dev.size()
                ))
            })
    }

    /// Byte offset of a record's data (after its extended attribute record).
    fn data_offset(&self, rec: &Record) -> Result<u64> {
        let block = rec.extent.saturating_add(rec.ear);
        let off = block.checked_mul(self.block_size).ok_or_else(|| {
            Error::corrupt(format!(
                "iso9660: directory record at byte {}: extent location overflows",
                rec.off
            ))
        })?;
        Ok(off)
    }

    /// Reads the record at absolute byte `off`.
    fn record_at(&self, off: u64) -> Result<Record> {
        let in_sector = off % SECTOR;
        let room = (SECTOR - in_sector).min(self.dev.size().saturating_sub(off));
        if room == 0 {
            return Err(Error::invalid(format!("iso9660: no object {off}")));
        }
        let mut buf = vec![0u8; usize::try_from(room).unwrap_or(0)];
        self.dev.read_exact_at(off, &mut buf)?;
        dir::parse(&buf, off)?
            .ok_or_else(|| Error::invalid(format!("iso9660: no directory record at byte {off}")))
    }

    /// Reads a zisofs file, one decompressed block at a time (the last block
    /// is kept for the next sequential read).
    fn read_zisofs(
        &self,
        id: u64,
        n: &Node,
        zf: &zisofs::ZfEntry,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        let zf = zisofs::Zf::from_entry(zf)?;
        let raw = Sections {
            dev: self.dev(),
            sections: &n.sections,
        };
        zisofs::check_header(&zf, &raw)?;
        let want = zf.size.saturating_sub(offset).min(buf.len() as u64);
        let bs = zf.block_size();
        let mut done = 0u64;
        while done < want {
            let pos = offset + done;
            let bi = pos / bs;
            let cached = self.zcache.lock().ok().and_then(|c| {
                c.as_ref()
                    .filter(|(cid, cb, _)| *cid == id && *cb == bi)
                    .map(|(_, _, d)| d.clone())
            });
            let data = match cached {
                Some(d) => d,
                None => {
                    let d = std::sync::Arc::new(zisofs::block(&zf, &raw, bi)?);
                    if let Ok(mut c) = self.zcache.lock() {
                        *c = Some((id, bi, d.clone()));
                    }
                    d
                }
            };
            let in_block = usize::try_from(pos - bi * bs).unwrap_or(usize::MAX);
            let avail = data.get(in_block..).unwrap_or(&[]);
            let k = avail
                .len()
                .min(usize::try_from(want - done).unwrap_or(usize::MAX));
            if k == 0 {
                break;
            }
            let from = usize::try_from(done).unwrap_or(usize::MAX);
            buf[from..from + k].copy_from_slice(&avail[..k]);
            done += k as u64;
        }
        Ok(usize::try_from(done).unwrap_or(0))
    }

    fn rock(&self, rec: &Record) -> Result<Option<Rr>> {
        let Names::Rock(skip) = self.names else {
            return Ok(None);
        };
        let ctx = susp::Ctx {
            dev: self.dev(),
            block_size: self.block_size,
            record: rec.off,
        };
        susp::parse(&ctx, &rec.su, usize::from(skip)).map(Some)
    }

    /// The directory whose data starts at `id`.
    fn directory(&self, id: u64) -> Result<Directory> {
        let dot = self.record_at(id)?;
        if !dot.is_dot() {
            return Err(Error::NotADirectory);
        }
        if dot.flags & FLAG_DIRECTORY == 0 {
            return Err(Error::corrupt(format!(
                "iso9660: directory at byte {id}: its \".\" record is not flagged a directory"
            )));
        }
        if self.data_offset(&dot)? != id {
            return Err(Error::corrupt(format!(
                "iso9660: directory at byte {id}: its \".\" record points to block {}",
                dot.extent
            )));
        }
        let end = id.saturating_add(dot.data_len);
        if end > self.dev.size() {
            return Err(Error::corrupt(format!(
                "iso9660: directory at byte {id}: extent of {} bytes runs past the image ({} bytes)",
                dot.data_len,
                self.dev.size()
            )));
        }
        Ok(Directory {
            start: id,
            end,
            dot,
        })
    }

    /// Calls `f(position in the directory, record)` for each record from
    /// byte `from` of the directory on, until `f` returns false.
    fn scan(
        &self,
        d: &Directory,
        from: u64,
        f: &mut dyn FnMut(u64, Record) -> Result<bool>,
    ) -> Result<()> {
        let mut pos = d.start.saturating_add(from);
        let mut buf = vec![0u8; SECTOR as usize];
        while pos < d.end {
            // Records never cross a logical sector (ECMA-119 6.8.1.1).
            let sector_end = (pos / SECTOR + 1).saturating_mul(SECTOR).min(d.end);
            let n = usize::try_from(sector_end - pos).unwrap_or(0);
            let chunk = &mut buf[..n];
            self.dev.read_exact_at(pos, chunk)?;
            let mut p = 0usize;
            while let Some(rest) = chunk.get(p..) {
                let at = pos + p as u64;
                let Some(rec) = dir::parse(rest, at)? else {
                    break;
                };
                p += usize::from(rest[0]);
                if !f(at - d.start, rec)? {
                    return Ok(());
                }
            }
            pos = sector_end;
        }
        Ok(())
    }

    /// How the record shows in a listing.
    fn entry(&self, rec: &Record) -> Result<Entry> {
        let rr = self.rock(rec)?;
        let mut name = match (&rr, self.names) {
            (Some(Rr { name: Some(n), .. }), _) => n.clone(),
            (_, Names::Joliet) => dir::joliet_name(&rec.ident, rec.off)?,
            _ => dir::plain_name(&rec.ident),
        };
        if name.is_empty() {
            name = rec.ident.clone();
        }
        dir::check_name(&name, rec.off)?;
        let hidden = rec.flags & FLAG_ASSOCIATED != 0 || rr.as_ref().is_some_and(|r| r.re);
        let relocated = rr.as_ref().is_some_and(|r| r.cl.is_some());
        let (kind, id) = if let Some(cl) = rr.as_ref().and_then(|r| r.cl) {
            (FileKind::Dir, self.block_offset(u64::from(cl), "CL link")?)
        } else if rec.flags & FLAG_DIRECTORY != 0 {
            (FileKind::Dir, self.data_offset(rec)?)
        } else {
            (file_kind(rr.as_ref()), rec.off)
        };
        Ok(Entry {
            name,
            id,
            kind,
            hidden,
            relocated,
        })
    }

    /// Streams the visible entries of a directory from `cookie` on.
    fn entries(
        &self,
        d: &Directory,
        cookie: u64,
        f: &mut dyn FnMut(u64, Entry) -> Result<bool>,
    ) -> Result<()> {
        let mut continuation = false;
        self.scan(d, cookie, &mut |pos, rec| {
            // Later sections of a multi-extent file belong to its first record.
            let was_continuation = continuation;
            continuation = rec.flags & FLAG_MULTI_EXTENT != 0;
            if was_continuation || rec.is_dot() || rec.is_dotdot() {
                return Ok(true);
            }
            let e = self.entry(&rec)?;
            if e.hidden {
                return Ok(true);
            }
            f(pos, e)
        })
    }

    /// A CL link must lead to a directory whose ".." carries a PL link back
    /// to the directory holding the CL (RRIP 4.1.5): this refuses CL links
    /// that would make a directory its own descendant.
    fn check_relocated(&self, target: u64, holder: u64, cl_record: u64) -> Result<()> {
        let bad = |why: &str| {
            Error::corrupt(format!(
                "iso9660: CL link at byte {cl_record} to the directory at byte {target}: {why}"
            ))
        };
        if target == holder {
            return Err(bad("points to the directory holding it"));
        }
        let d = self.directory(target).map_err(|e| bad(&e.to_string()))?;
        let dotdot = self.record_at(d.start + d.dot.len)?;
        let pl = self.rock(&dotdot)?.and_then(|r| r.pl);
        match pl.and_then(|b| u64::from(b).checked_mul(self.block_size)) {
            Some(p) if p == holder => Ok(()),
            _ => Err(bad("its \"..\" has no PL link back")),
        }
    }

    /// A subdirectory listed in `holder` must lead back to it: through PL
    /// for a CL link, else through its ".." record (or a ".." pointing to
    /// itself, as xorriso writes in Joliet trees — there only loops to the
    /// root or to the holder are caught). This refuses directory records and
    /// CL links that point at an ancestor (directory loops).
    fn check_subdir(&self, e: &Entry, holder: u64, record: u64) -> Result<()> {
        if e.kind != FileKind::Dir {
            return Ok(());
        }
        if e.relocated {
            return self.check_relocated(e.id, holder, record);
        }
        self.check_plain_subdir(e.id, holder, record)
    }

    fn check_plain_subdir(&self, id: u64, holder: u64, record: u64) -> Result<()> {
        let bad = |why: String| {
            Error::corrupt(format!(
                "iso9660: directory record at byte {record} for the directory at byte {id}: {why}"
            ))
        };
        if id == holder {
            return Err(bad("points to the directory holding it".into()));
        }
        if id == self.root {
            return Err(bad("points to the root".into()));
        }
        let d = self.directory(id).map_err(|err| bad(err.to_string()))?;
        let dotdot = self.record_at(d.start + d.dot.len)?;
        if !dotdot.is_dotdot() {
            return Err(bad("second record is not \"..\"".into()));
        }
        let up = self.data_offset(&dotdot)?;
        if up != holder && up != id {
            return Err(bad(format!("its \"..\" points to byte {up}, not back")));
        }
        Ok(())
    }

    /// The visible entries of a directory, from the cache of recently
    /// looked-up directories (so a path walk through a big directory parses
    /// it once); None for directories too big to cache.
    fn listing(&self, d: &Directory) -> Result<Option<Arc<Vec<Cached>>>> {
        if let Ok(c) = self.dcache.lock() {
            if let Some((_, l)) = c.iter().find(|(id, _)| *id == d.start) {
                return Ok(Some(l.clone()));
            }
        }
        let mut list = Vec::new();
        let mut too_big = false;
        self.entries(d, 0, &mut |pos, e| {
            if list.len() >= DIR_CACHE_MAX_ENTRIES {
                too_big = true;
                return Ok(false);
            }
            list.push(Cached {
                name: e.name,
                id: e.id,
                kind: e.kind,
                relocated: e.relocated,
                pos,
            });
            Ok(true)
        })?;
        if too_big {
            return Ok(None);
        }
        let list = Arc::new(list);
        if let Ok(mut c) = self.dcache.lock() {
            if c.len() >= DIR_CACHE_DIRS {
                c.remove(0);
            }
            c.push((d.start, list.clone()));
        }
        Ok(Some(list))
    }

    /// The parent of a directory: its ".." record, or the Rock Ridge PL link
    /// of a relocated directory.
    fn parent(&self, d: &Directory) -> Result<u64> {
        let rec = self.record_at(d.start + d.dot.len)?;
        if !rec.is_dotdot() {
            return Err(Error::corrupt(format!(
                "iso9660: directory at byte {}: second record is not \"..\"",
                d.start
            )));
        }
        if let Some(pl) = self.rock(&rec)?.and_then(|r| r.pl) {
            return self.block_offset(u64::from(pl), "PL link");
        }
        let up = self.data_offset(&rec)?;
        if up == d.start && d.start != self.root {
            // A ".." pointing to itself (xorriso 1.5's Joliet trees): the
            // path table knows the parent.
            return self.parent_from_path_table(d.start);
        }
        Ok(up)
    }

    /// The parent of the directory at byte `start`, from the path table.
    fn parent_from_path_table(&self, start: u64) -> Result<u64> {
        let (loc, size) = self.path_table;
        let err = |what: String| Error::corrupt(format!("iso9660: path table: {what}"));
        if size > MAX_PATH_TABLE_LEN {
            return Err(Error::limit(format!(
                "iso9660: path table of {size} bytes > {MAX_PATH_TABLE_LEN} (MAX_PATH_TABLE_LEN)"
            )));
        }
        let off = self.block_offset(loc, "path table")?;
        let table = self
            .dev
            .read_vec_at(off, usize::try_from(size).unwrap_or(usize::MAX))
            .map_err(|e| err(e.to_string()))?;
        // Directory numbers count records from 1 (ECMA-119 6.9.1).
        let mut extents: Vec<(u64, u16)> = Vec::new();
        let mut p = 0usize;
        while let Some(rest) = table.get(p..) {
            let Ok((r, _)) = PathTableRecord::ref_from_prefix(rest) else {
                break;
            };
            let n = usize::from(r.length_of_directory_identifier);
            if n == 0 {
                break;
            }
            let block = u64::from(r.location_of_extent.get())
                .saturating_add(u64::from(r.extended_attribute_record_length));
            extents.push((block, r.parent_directory_number.get()));
            p += 8 + n + n % 2;
        }
        let me = extents
            .iter()
            .find(|(b, _)| b.checked_mul(self.block_size) == Some(start))
            .ok_or_else(|| err(format!("no entry for the directory at byte {start}")))?;
        let parent = usize::from(me.1)
            .checked_sub(1)
            .and_then(|i| extents.get(i))
            .ok_or_else(|| err(format!("parent number {} out of range", me.1)))?;
        let up = self.block_offset(parent.0, "path table entry")?;
        if up == start {
            return Err(err(format!("directory at byte {start} is its own parent")));
        }
        Ok(up)
    }

    fn node(&self, id: u64) -> Result<Node> {
        let rec = self.record_at(id)?;
        if rec.is_dot() {
            let d = self.directory(id)?;
            let rr = self.rock(&d.dot)?;
            return Ok(Node {
                kind: FileKind::Dir,
                size: d.dot.data_len,
                rec: d.dot,
                rr,
                sections: Vec::new(),
                interleaved: false,
            });
        }
        let rr = self.rock(&rec)?;
        if rec.is_dotdot()
            || rec.flags & FLAG_DIRECTORY != 0
            || rr.as_ref().is_some_and(|r| r.cl.is_some())
        {
            return Err(Error::invalid(format!("iso9660: no object {id}")));
        }
        let kind = file_kind(rr.as_ref());
        let mut sections = vec![(self.data_offset(&rec)?, rec.data_len)];
        let mut interleaved = rec.file_unit_size != 0 || rec.interleave_gap != 0;
        let mut last = rec.clone();
        while last.flags & FLAG_MULTI_EXTENT != 0 {
            if sections.len() >= MAX_FILE_SECTIONS {
                return Err(Error::limit(format!(
                    "iso9660: file at byte {id}: more than {MAX_FILE_SECTIONS} sections (MAX_FILE_SECTIONS)"
                )));
            }
            let mut next = last.off + last.len;
            // The next section may start the next sector.
            let at_end = next % SECTOR == 0
                || self
                    .dev
                    .read_vec_at(next, 1)
                    .map(|b| b.first() == Some(&0))
                    .unwrap_or(true);
            if at_end {
                next = (next / SECTOR + u64::from(next % SECTOR != 0)) * SECTOR;
            }
            let r = self.record_at(next).map_err(|_| {
                Error::corrupt(format!(
                    "iso9660: file at byte {id}: multi-extent section {} missing",
                    sections.len()
                ))
            })?;
            if r.ident != rec.ident || r.flags & FLAG_DIRECTORY != 0 {
                return Err(Error::corrupt(format!(
                    "iso9660: file at byte {id}: multi-extent section {} at byte {next} belongs to another file",
                    sections.len()
                )));
            }
            interleaved |= r.file_unit_size != 0 || r.interleave_gap != 0;
            sections.push((self.data_offset(&r)?, r.data_len));
            last = r;
        }
        let size = match (&rr, kind) {
            (
                Some(Rr {
                    symlink: Some(t), ..
                }),
                FileKind::Symlink,
            ) => t.len() as u64,
            (Some(Rr { zf: Some(z), .. }), _) => z.size(),
            _ => sections
                .iter()
                .try_fold(0u64, |a, s| a.checked_add(s.1))
                .ok_or_else(|| {
                    Error::corrupt(format!("iso9660: file at byte {id}: size overflows"))
                })?,
        };
        Ok(Node {
            kind,
            rec,
            rr,
            size,
            sections,
            interleaved,
        })
    }

    /// Checks a regular file can be mapped, and that its sections lie in the image.
    fn plain_sections(&self, id: u64, n: &Node) -> Result<()> {
        if n.interleaved {
            return Err(Error::unsupported("iso9660 feature: interleaved files"));
        }
        for &(off, len) in &n.sections {
            if len > 0 && fsimage_abi::io::check_range(off, len, self.dev.size()).is_err() {
                return Err(Error::corrupt(format!(
                    "iso9660: file at byte {id}: extent at byte {off} of {len} bytes runs past the image ({} bytes)",
                    self.dev.size()
                )));
            }
        }
        Ok(())
    }
}

/// A zisofs file's compressed bytes: its sections end to end.
struct Sections<'a> {
    dev: &'a dyn ReadAt,
    sections: &'a [(u64, u64)],
}

impl zisofs::Raw for Sections<'_> {
    fn raw_size(&self) -> u64 {
        self.sections
            .iter()
            .map(|s| s.1)
            .fold(0, u64::saturating_add)
    }
    fn raw_read(&self, off: u64, buf: &mut [u8]) -> Result<()> {
        let end = off.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > self.raw_size()) {
            return Err(Error::corrupt(format!(
                "iso9660: zisofs read of {} bytes at {off} past the {} compressed bytes",
                buf.len(),
                self.raw_size()
            )));
        }
        let mut done = 0usize;
        let mut pos = 0u64;
        for &(dev_off, len) in self.sections {
            let want = off + done as u64;
            if done == buf.len() {
                break;
            }
            if want < pos + len {
                let k =
                    usize::try_from((pos + len - want).min((buf.len() - done) as u64)).unwrap_or(0);
                self.dev
                    .read_exact_at(dev_off + (want - pos), &mut buf[done..done + k])?;
                done += k;
            }
            pos += len;
        }
        Ok(())
    }
}

/// The kind of a non-directory record from its Rock Ridge entries.
fn file_kind(rr: Option<&Rr>) -> FileKind {
    match rr {
        Some(r) if r.symlink.is_some() => FileKind::Symlink,
        Some(Rr { mode: Some(m), .. }) => match FileKind::from_mode(*m) {
            // A directory mode on a record not flagged as one: read its bytes.
            FileKind::Dir | FileKind::Unknown => FileKind::File,
            FileKind::Symlink => FileKind::File,
            k => k,
        },
        _ => FileKind::File,
    }
}

/// Any failure to read the root directory is a corrupt volume.
fn root_error(root: u64, e: Error) -> Error {
    match e {
        Error::Corrupt(_) | Error::Io(_) | Error::Limit(_) => e,
        other => Error::corrupt(format!("iso9660: root directory at byte {root}: {other}")),
    }
}

fn parse_options(options: &[u8]) -> Result<(bool, bool)> {
    let (mut rock, mut joliet) = (true, true);
    for opt in options.split(|&b| b == b',') {
        match opt.trim_ascii() {
            b"" => {}
            b"norock" => rock = false,
            b"nojoliet" => joliet = false,
            other => {
                return Err(Error::invalid(format!(
                    "iso9660: unknown option '{}'",
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
    Ok((rock, joliet))
}

impl Filesystem for Iso9660Fs {
    const NAME: &'static CStr = c"iso9660";

    // "CD001" of the first volume descriptor (ECMA-119 8.1.2).
    const MAGICS: &'static [RawMagic] = &[RawMagic::new(
        VDS_OFFSET + std::mem::offset_of!(VolumeDescriptor, standard_identifier) as u64,
        STANDARD_ID,
    )];

    fn probe(devices: &[Device]) -> Result<u32> {
        let Some(dev) = devices.first() else {
            return Ok(0);
        };
        Ok(match read_descriptors(dev) {
            Ok(_) => 90,
            Err(_) => 0,
        })
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        let (use_rock, use_joliet) = parse_options(options)?;
        let Some(dev) = devices.into_iter().next() else {
            return Err(Error::invalid("iso9660: no device"));
        };
        let d = read_descriptors(&dev)?;
        let mut fs = Iso9660Fs {
            dev,
            block_size: d.block_size,
            root: 0,
            names: Names::Plain,
            label: d.label,
            zcache: std::sync::Mutex::new(None),
            dcache: std::sync::Mutex::new(Vec::new()),
            path_table: d.path_table,
        };
        fs.root = fs.data_offset(&d.root)?;
        let root = fs.directory(fs.root).map_err(|e| root_error(fs.root, e))?;
        if use_rock {
            // SUSP starts in the root's "." record (SUSP 5.3).
            let ctx = susp::Ctx {
                dev: fs.dev(),
                block_size: fs.block_size,
                record: root.dot.off,
            };
            let rr = susp::parse(&ctx, &root.dot.su, 0)?;
            // SUSP alone (e.g. only xorriso's AAIP ACL entries) is not Rock
            // Ridge: then Joliet, with its real names, is the better tree.
            if rr.any || rr.er_rrip {
                fs.names = Names::Rock(rr.sp.unwrap_or(0));
            }
        }
        if fs.names == Names::Plain && use_joliet {
            if let Some((j, pt)) = d.joliet_root {
                fs.root = fs.data_offset(&j)?;
                fs.path_table = pt;
                fs.names = Names::Joliet;
                fs.directory(fs.root).map_err(|e| root_error(fs.root, e))?;
            }
        }
        Ok(fs)
    }

    fn root(&self) -> u64 {
        self.root
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        let d = self.directory(dir)?;
        match name {
            b"" | b"." => return Ok(dir),
            b".." => {
                return if dir == self.root {
                    Ok(dir)
                } else {
                    self.parent(&d)
                };
            }
            _ => {}
        }
        let plain = self.names == Names::Plain;
        if let Some(list) = self.listing(&d)? {
            let hit = list.iter().find(|c| {
                if plain {
                    c.name.eq_ignore_ascii_case(name)
                } else {
                    c.name == name
                }
            });
            let Some(c) = hit else {
                return Err(Error::NotFound);
            };
            if c.kind == FileKind::Dir {
                let record = d.start + c.pos;
                if c.relocated {
                    self.check_relocated(c.id, dir, record)?;
                } else {
                    self.check_plain_subdir(c.id, dir, record)?;
                }
            }
            return Ok(c.id);
        }
        let mut found = None;
        self.entries(&d, 0, &mut |pos, e| {
            let hit = if plain {
                e.name.eq_ignore_ascii_case(name)
            } else {
                e.name == name
            };
            if hit {
                self.check_subdir(&e, dir, d.start + pos)?;
                found = Some(e.id);
            }
            Ok(!hit)
        })?;
        found.ok_or(Error::NotFound)
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        let n = self.node(id)?;
        let mut st = Stat::new(id, n.kind, n.size);
        let date = time::short(&n.rec.date);
        st.mtime = date;
        st.atime = date;
        st.ctime = date;
        match &n.rr {
            Some(rr) if rr.mode.is_some() || rr.any => {
                st.perm = rr.mode.map_or(0o555, |m| m & 0o7777);
                st.uid = rr.uid;
                st.gid = rr.gid;
                st.nlink = u64::from(rr.nlink.unwrap_or(1));
                if let Some(ino) = rr.ino.filter(|&i| i != 0) {
                    st.ino = u64::from(ino);
                } else if st.nlink > 1 && n.kind == FileKind::File && n.size > 0 {
                    // Hard links without RRIP 1.12 serial numbers share one
                    // extent: its byte offset is the inode number.
                    if let Some(&(off, _)) = n.sections.first() {
                        st.ino = off;
                    }
                }
                st.mtime = rr.mtime.unwrap_or(date);
                st.atime = rr.atime.unwrap_or(st.mtime);
                st.ctime = rr.ctime.unwrap_or(st.mtime);
                if matches!(n.kind, FileKind::CharDevice | FileKind::BlockDevice) {
                    st.rdev = rr.rdev.unwrap_or(0);
                }
            }
            _ => {
                st.perm = if n.kind == FileKind::Dir {
                    0o555
                } else {
                    0o444
                };
                st.nlink = if n.kind == FileKind::Dir { 2 } else { 1 };
            }
        }
        Ok(st)
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.node(id)?;
        match n.kind {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::Symlink => {
                let t = n.rr.and_then(|r| r.symlink).unwrap_or_default();
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(t.len());
                let k = (t.len() - start).min(buf.len());
                buf[..k].copy_from_slice(&t[start..start + k]);
                return Ok(k);
            }
            FileKind::File => {}
            _ => return Ok(0),
        }
        self.plain_sections(id, &n)?;
        if let Some(zf) = n.rr.as_ref().and_then(|r| r.zf) {
            return self.read_zisofs(id, &n, &zf, offset, buf);
        }
        let want = n.size.saturating_sub(offset).min(buf.len() as u64);
        let mut done = 0u64;
        let mut file_pos = 0u64;
        for &(dev_off, len) in &n.sections {
            if done >= want {
                break;
            }
            let pos = offset + done;
            let sec_end = file_pos + len;
            if pos < sec_end {
                let k = (sec_end - pos).min(want - done);
                let from = usize::try_from(done).unwrap_or(usize::MAX);
                let to = usize::try_from(done + k).unwrap_or(usize::MAX);
                let dst = buf
                    .get_mut(from..to)
                    .ok_or_else(|| Error::invalid("buffer"))?;
                self.dev.read_exact_at(dev_off + (pos - file_pos), dst)?;
                done += k;
            }
            file_pos = sec_end;
        }
        Ok(usize::try_from(done).unwrap_or(0))
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        let d = self.directory(dir)?;
        self.entries(&d, cookie, &mut |pos, e| {
            self.check_subdir(&e, dir, d.start + pos)?;
            Ok(sink.push(pos, e.id, e.kind, &e.name))
        })
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let n = self.node(id)?;
        match (n.kind, n.rr.and_then(|r| r.symlink)) {
            (FileKind::Symlink, Some(t)) => Ok(t),
            _ => Err(Error::NotASymlink),
        }
    }

    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let n = self.node(id)?;
        match n.kind {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::Symlink => {
                opaque_tail(from, n.size, sink);
                return Ok(());
            }
            FileKind::File => {}
            _ => return Ok(()),
        }
        self.plain_sections(id, &n)?;
        if let Some(zf) = n.rr.as_ref().and_then(|r| r.zf) {
            zisofs::Zf::from_entry(&zf)?;
            // Compressed: the core must ask `read`.
            opaque_tail(from, n.size, sink);
            return Ok(());
        }
        let mut file_pos = 0u64;
        for &(dev_off, len) in &n.sections {
            let end = file_pos + len;
            if len > 0 && from < end {
                let skip = from.saturating_sub(file_pos);
                let e = Extent::data(file_pos + skip, len - skip, dev_off + skip);
                if !sink.push(e) {
                    return Ok(());
                }
            }
            file_pos = end;
        }
        Ok(())
    }

    fn label(&self) -> Option<Vec<u8>> {
        Some(self.label.clone())
    }
}

fsimage_abi::export_plugin!(Iso9660Fs);

/// Entry points for the `iso9660_susp` and `zisofs` fuzz targets and their
/// regression tests. Not part of the plugin's API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{Sections, file_kind, susp, zisofs};
    use fsimage_abi::{Error, Result};

    /// Parses a system use area as a directory record's is parsed, following
    /// CE continuation areas on a small device, and decodes what the listing
    /// and `read` take from it (kind, ZF parameters).
    ///
    /// ```text
    /// [0]       bytes to skip (the root's SP len_skp)
    /// [1]       logical block size: 512 << (n % 3)
    /// [2..4]    length of the system use area (LE)
    /// [4..]     the area, then the device: CE block_location counts
    ///           logical blocks from the byte after the area
    /// ```
    pub fn susp(data: &[u8]) -> Result<()> {
        let Some(head) = data.get(..4) else {
            return Err(Error::invalid("fuzz input shorter than its header"));
        };
        let skip = usize::from(head[0]);
        let block_size = 512u64 << (head[1] % 3);
        let su_len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let rest = &data[4..];
        let (su, dev) = rest.split_at(su_len.min(rest.len()));
        let dev = dev.to_vec();
        let ctx = susp::Ctx {
            dev: &dev,
            block_size,
            record: 0,
        };
        let rr = susp::parse(&ctx, su, skip)?;
        let _ = file_kind(Some(&rr));
        if let Some(zf) = rr.zf {
            zisofs::Zf::from_entry(&zf)?;
        }
        Ok(())
    }

    /// Decompresses a zisofs file as `read` does, block after block, up to
    /// `max` bytes of output.
    ///
    /// ```text
    /// [0]       the ZF entry's header size / 4
    /// [1]       the ZF entry's log2 block size
    /// [2..6]    the ZF entry's uncompressed size (LE)
    /// [6..]     the file's bytes (header, block pointers, zlib streams)
    /// ```
    pub fn zisofs(data: &[u8], max: u64) -> Result<Vec<u8>> {
        let Some(head) = data.get(..6) else {
            return Err(Error::invalid("fuzz input shorter than its header"));
        };
        let mut size = [0u8; 8];
        size[..4].copy_from_slice(&head[2..6]);
        inflate(b"pz", head[0], head[1], size, &data[6..], max)
    }

    /// The same for a zisofs2 file (ZF algorithm "PZ"):
    ///
    /// ```text
    /// [0]       the ZF entry's header size / 4
    /// [1]       the ZF entry's log2 block size
    /// [2..10]   the ZF entry's uncompressed size (LE, 64 bits)
    /// [10..]    the file's bytes (header, 64-bit block pointers, zlib streams)
    /// ```
    pub fn zisofs2(data: &[u8], max: u64) -> Result<Vec<u8>> {
        let Some(head) = data.get(..10) else {
            return Err(Error::invalid("fuzz input shorter than its header"));
        };
        let mut size = [0u8; 8];
        size.copy_from_slice(&head[2..10]);
        inflate(b"PZ", head[0], head[1], size, &data[10..], max)
    }

    fn inflate(
        algorithm: &[u8; 2],
        header_size_div4: u8,
        log2_block_size: u8,
        uncompressed_size: [u8; 8],
        file: &[u8],
        max: u64,
    ) -> Result<Vec<u8>> {
        let zf = zisofs::Zf::from_entry(&zisofs::ZfEntry {
            algorithm: *algorithm,
            header_size_div4,
            log2_block_size,
            uncompressed_size,
        })?;
        let dev = file.to_vec();
        let sections = [(0u64, dev.len() as u64)];
        let raw = Sections {
            dev: &dev,
            sections: &sections,
        };
        zisofs::check_header(&zf, &raw)?;
        let mut out = Vec::new();
        let mut i = 0u64;
        while (out.len() as u64) < zf.size.min(max) {
            let b = zisofs::block(&zf, &raw, i)?;
            out.extend_from_slice(&b);
            i += 1;
        }
        Ok(out)
    }
}
