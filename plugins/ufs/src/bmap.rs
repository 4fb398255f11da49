//! The block map: direct pointers, then single, double and triple indirect
//! blocks of 32-bit (UFS1) or 64-bit (UFS2) fragment addresses. The depth is
//! fixed by the level, so pointer loops cannot make a walk longer; zero
//! pointers are holes, and a zero indirect pointer is a hole over its whole
//! subtree (skipped in one step).

use crate::inode::Inode;
use crate::limits::{NDADDR, NIADDR};
use crate::volume::Volume;
use fsimage_abi::{Error, Result};

/// Logical blocks a map can address: NDADDR + n + n² + n³ (saturating).
pub fn max_blocks(nindir: u64) -> u64 {
    let mut total = NDADDR as u64;
    let mut span = 1u64;
    for _ in 0..NIADDR {
        span = span.saturating_mul(nindir);
        total = total.saturating_add(span);
    }
    total
}

/// One mapped run: `count` logical blocks from `lbn`, either a hole or
/// physically contiguous from fragment `addr`.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub lbn: u64,
    pub count: u64,
    pub addr: Option<i64>,
}

struct Mapper<'a> {
    vol: &'a Volume,
    inode: &'a Inode,
    /// Last indirect block read at each depth: (address, contents).
    cache: [Option<(i64, Vec<u8>)>; NIADDR],
}

impl Mapper<'_> {
    fn entry(&mut self, depth: usize, addr: i64, idx: u64) -> Result<i64> {
        let vol = self.vol;
        let g = &vol.geo;
        let ino = self.inode.ino;
        let hit = matches!(&self.cache[depth], Some((a, _)) if *a == addr);
        if !hit {
            let what = || format!("inode {ino}: indirect block");
            let off = vol.frag_range(addr, g.bsize, &what)?;
            // bsize <= 64 KiB (checked in the superblock).
            let mut buf = vec![0u8; g.bsize as usize];
            vol.read_at(off, &mut buf, &what)?;
            self.cache[depth] = Some((addr, buf));
        }
        let Some((_, buf)) = &self.cache[depth] else {
            return Err(Error::corrupt("indirect block cache"));
        };
        let w = g.ptr_size() as usize;
        let start = usize::try_from(idx).ok().and_then(|i| i.checked_mul(w));
        let bytes = start.and_then(|s| buf.get(s..s.checked_add(w)?));
        let Some(bytes) = bytes else {
            return Err(Error::corrupt(format!("inode {ino}: indirect index {idx}")));
        };
        Ok(if g.ufs2 {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            g.endian.i64(b)
        } else {
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            i64::from(g.endian.i32(b))
        })
    }

    /// Address of logical block `lbn` (None: hole) and how many blocks from
    /// `lbn` on are known to share its fate when it is a hole.
    fn lookup(&mut self, lbn: u64) -> Result<(Option<i64>, u64)> {
        let ino = self.inode.ino;
        if let Some(&p) = usize::try_from(lbn).ok().and_then(|i| self.inode.db.get(i)) {
            return Ok(((p != 0).then_some(p), 1));
        }
        let n = self.vol.geo.nindir;
        let mut rel = lbn - NDADDR as u64;
        let mut span = 1u64;
        for level in 0..NIADDR {
            span = span.saturating_mul(n);
            if rel >= span {
                rel -= span;
                continue;
            }
            // Walk down: at depth d the pointer covers `cover` blocks.
            let mut ptr = self.inode.ib[level];
            let mut cover = span;
            for depth in 0..=level {
                if ptr == 0 {
                    return Ok((None, cover - rel % cover));
                }
                if ptr < 0 {
                    return Err(Error::corrupt(format!(
                        "inode {ino}: negative block pointer {ptr}"
                    )));
                }
                let child = cover / n;
                let idx = (rel % cover) / child;
                ptr = self.entry(depth, ptr, idx)?;
                cover = child;
            }
            return Ok(((ptr != 0).then_some(ptr), 1));
        }
        Err(Error::corrupt(format!(
            "inode {ino}: logical block {lbn} past the triple indirect range"
        )))
    }
}

/// Calls `f` with the runs covering logical blocks `[first, end)`, in order,
/// merging physically contiguous blocks and adjacent holes. `f` returns
/// `false` to stop.
pub fn for_each_run(
    vol: &Volume,
    inode: &Inode,
    first: u64,
    end: u64,
    f: &mut dyn FnMut(Run) -> Result<bool>,
) -> Result<()> {
    let frag = i64::try_from(vol.geo.frag).unwrap_or(i64::MAX);
    let mut m = Mapper {
        vol,
        inode,
        cache: Default::default(),
    };
    let mut pending: Option<Run> = None;
    let mut lbn = first;
    while lbn < end {
        let (addr, len) = m.lookup(lbn)?;
        let len = len.min(end - lbn);
        if let Some(a) = addr {
            if a < 0 {
                return Err(Error::corrupt(format!(
                    "inode {}: negative block pointer {a}",
                    inode.ino
                )));
            }
        }
        let joined = match (&mut pending, addr) {
            (Some(p), None) if p.addr.is_none() => {
                p.count += len;
                true
            }
            (Some(p), Some(a)) => match p.addr {
                Some(pa)
                    if i64::try_from(p.count)
                        .ok()
                        .and_then(|c| c.checked_mul(frag))
                        .and_then(|d| pa.checked_add(d))
                        == Some(a) =>
                {
                    p.count += len;
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !joined {
            if let Some(p) = pending.take() {
                if !f(p)? {
                    return Ok(());
                }
            }
            pending = Some(Run {
                lbn,
                count: len,
                addr,
            });
        }
        lbn += len;
    }
    if let Some(p) = pending {
        f(p)?;
    }
    Ok(())
}
