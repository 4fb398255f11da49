//! A file's logical-to-physical block map as gap-free runs, whichever way the
//! inode stores it (block map or extent tree).

use crate::inode::{EXT4_EXTENTS_FL, Inode};
use crate::volume::Volume;
use crate::{blockmap, extents};
use fsimage_abi::Result;

/// `len` logical blocks from `lblk`: at physical block `pblk`, or zeros
/// (hole or unwritten extent) when `pblk` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub lblk: u64,
    pub len: u64,
    pub pblk: Option<u64>,
}

/// Receives runs in order; returns `false` to stop.
pub type Visit<'a> = dyn FnMut(Run) -> Result<bool> + 'a;

/// Turns the pieces a map walk finds into merged, gap-free runs covering
/// `[start, end)`.
pub struct Cover<'a, 'b> {
    /// First logical block not yet covered.
    pub cur: u64,
    pub end: u64,
    pending: Option<Run>,
    visit: &'a mut Visit<'b>,
    stopped: bool,
}

impl<'a, 'b> Cover<'a, 'b> {
    pub fn new(start: u64, end: u64, visit: &'a mut Visit<'b>) -> Self {
        Cover {
            cur: start,
            end,
            pending: None,
            visit,
            stopped: false,
        }
    }

    fn emit(&mut self, r: Run) -> Result<()> {
        if let Some(p) = &mut self.pending {
            let contiguous = match (p.pblk, r.pblk) {
                (None, None) => true,
                (Some(a), Some(b)) => a.checked_add(p.len) == Some(b),
                _ => false,
            };
            if contiguous && p.lblk + p.len == r.lblk {
                p.len += r.len;
                return Ok(());
            }
            let done = *p;
            self.pending = Some(r);
            if !(self.visit)(done)? {
                self.stopped = true;
            }
            return Ok(());
        }
        self.pending = Some(r);
        Ok(())
    }

    /// Adds a mapped (or zero, `pblk` None) piece; pieces before `cur` are
    /// clipped, gaps become holes. Returns `false` once nothing more is wanted.
    pub fn push(&mut self, lblk: u64, len: u64, pblk: Option<u64>) -> Result<bool> {
        if self.stopped || self.cur >= self.end {
            return Ok(false);
        }
        let mut lblk = lblk;
        let mut len = len;
        let mut pblk = pblk;
        let end = lblk.saturating_add(len).min(self.end);
        if end <= self.cur {
            return Ok(true);
        }
        if lblk < self.cur {
            let skip = self.cur - lblk;
            pblk = pblk.map(|p| p + skip);
            lblk = self.cur;
        }
        if lblk >= self.end {
            return Ok(false);
        }
        len = end - lblk;
        if lblk > self.cur {
            self.emit(Run {
                lblk: self.cur,
                len: lblk - self.cur,
                pblk: None,
            })?;
        }
        self.emit(Run { lblk, len, pblk })?;
        self.cur = end;
        Ok(!self.stopped && self.cur < self.end)
    }

    /// Fills the rest with a hole and flushes.
    pub fn finish(mut self) -> Result<()> {
        if !self.stopped && self.cur < self.end {
            let (cur, end) = (self.cur, self.end);
            self.emit(Run {
                lblk: cur,
                len: end - cur,
                pblk: None,
            })?;
        }
        if !self.stopped {
            if let Some(p) = self.pending.take() {
                (self.visit)(p)?;
            }
        }
        Ok(())
    }
}

/// Walks the map of `inode` over logical blocks `[start, end)`.
pub fn for_each_run(
    vol: &Volume,
    inode: &Inode,
    start: u64,
    end: u64,
    visit: &mut Visit<'_>,
) -> Result<()> {
    if start >= end {
        return Ok(());
    }
    let mut cover = Cover::new(start, end, visit);
    if inode.has_flag(EXT4_EXTENTS_FL) {
        extents::walk(vol, inode, &mut cover)?;
    } else {
        blockmap::walk(vol, inode, &mut cover)?;
    }
    cover.finish()
}

/// The physical block behind logical block `lblk`, `None` for a hole.
pub fn block_of(vol: &Volume, inode: &Inode, lblk: u64) -> Result<Option<u64>> {
    let mut out = None;
    for_each_run(vol, inode, lblk, lblk.saturating_add(1), &mut |r| {
        out = r.pblk;
        Ok(false)
    })?;
    Ok(out)
}
