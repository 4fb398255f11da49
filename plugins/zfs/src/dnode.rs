//! Dnodes (include/sys/dnode.h) and reading an object's bytes through its
//! tree of indirect blocks; object sets (include/sys/dmu_objset.h).

use crate::bp::{BP_SIZE, Bp};
use crate::limits::{MAX_BLOCK_SIZE, MAX_INDBLKSHIFT, MAX_LEVELS, MIN_INDBLKSHIFT};
use crate::ondisk::dnode_phys_t;
use crate::pool::Pool;
use fsimage_abi::{Error, Result};
use std::sync::Arc;
use zerocopy::FromBytes;

/// DNODE_SIZE (one slot).
pub const DNODE_SIZE: u64 = 512;
/// Bytes of the dnode head before the block pointers.
const DNODE_CORE: usize = 64;
/// DNODE_FLAG_SPILL_BLKPTR.
const FLAG_SPILL: u8 = 4;
/// DN_MAX_SLOTS (dnodesize=16k).
const MAX_SLOTS: u64 = 32;

/// One dnode with all its slots.
#[derive(Debug, Clone)]
pub struct Dnode {
    pub obj: u64,
    pub phys: dnode_phys_t,
    raw: Vec<u8>,
}

impl Dnode {
    /// Parses and checks a dnode; `raw` holds all its slots.
    pub fn parse(obj: u64, raw: Vec<u8>) -> Result<Dnode> {
        let phys = dnode_phys_t::read_from_prefix(&raw)
            .map_err(|_| Error::corrupt(format!("dnode {obj}: truncated")))?
            .0;
        let d = Dnode { obj, phys, raw };
        if d.phys.dn_type == 0 {
            return Err(Error::corrupt(format!("object {obj}: free dnode")));
        }
        let nbp = usize::from(d.phys.dn_nblkptr);
        if !(1..=3).contains(&nbp) || DNODE_CORE + nbp * BP_SIZE > d.raw.len() {
            return Err(Error::corrupt(format!("dnode {obj}: {nbp} block pointers")));
        }
        let nl = d.phys.dn_nlevels;
        if nl == 0 || nl > MAX_LEVELS {
            return Err(Error::corrupt(format!(
                "dnode {obj}: {nl} levels (1..={MAX_LEVELS})"
            )));
        }
        let ibs = d.phys.dn_indblkshift;
        if nl > 1 && !(MIN_INDBLKSHIFT..=MAX_INDBLKSHIFT).contains(&ibs) {
            return Err(Error::corrupt(format!(
                "dnode {obj}: indirect block shift {ibs}"
            )));
        }
        if d.datablksz() == 0 || d.datablksz() > MAX_BLOCK_SIZE {
            return Err(Error::corrupt(format!(
                "dnode {obj}: data block size {}",
                d.datablksz()
            )));
        }
        Ok(d)
    }

    /// Slots this dnode occupies (1 + dn_extra_slots).
    pub fn slots(&self) -> u64 {
        1 + u64::from(self.phys.dn_extra_slots)
    }

    pub fn datablksz(&self) -> u64 {
        u64::from(self.phys.dn_datablkszsec.get()) << 9
    }

    pub fn maxblkid(&self) -> u64 {
        self.phys.dn_maxblkid.get()
    }

    pub fn blkptr(&self, i: usize) -> Result<Bp> {
        if i >= usize::from(self.phys.dn_nblkptr) {
            return Err(Error::corrupt(format!(
                "dnode {}: block pointer {i} of {}",
                self.obj, self.phys.dn_nblkptr
            )));
        }
        Bp::parse(&self.raw[DNODE_CORE + i * BP_SIZE..])
    }

    fn has_spill(&self) -> bool {
        self.phys.dn_flags & FLAG_SPILL != 0
    }

    /// The bonus buffer (dn_bonuslen bytes after the block pointers, never
    /// into the spill pointer).
    pub fn bonus(&self) -> Result<&[u8]> {
        let start = DNODE_CORE + usize::from(self.phys.dn_nblkptr) * BP_SIZE;
        let mut end = self.raw.len();
        if self.has_spill() {
            end -= BP_SIZE;
        }
        let len = usize::from(self.phys.dn_bonuslen.get());
        self.raw
            .get(start..start + len)
            .filter(|_| start + len <= end)
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "dnode {}: bonus of {len} bytes does not fit",
                    self.obj
                ))
            })
    }

    pub fn bonustype(&self) -> u8 {
        self.phys.dn_bonustype
    }

    /// The spill block pointer, if the dnode has one.
    pub fn spill(&self) -> Result<Option<Bp>> {
        if !self.has_spill() {
            return Ok(None);
        }
        let at = self.raw.len() - BP_SIZE;
        Bp::parse(&self.raw[at..]).map(Some)
    }
}

impl Pool {
    /// The level-0 block `blkid` of an object, or `None` for a hole.
    pub fn dnode_block(&self, dn: &Dnode, blkid: u64) -> Result<Option<Arc<Vec<u8>>>> {
        if blkid > dn.maxblkid() {
            return Ok(None);
        }
        let nlevels = u32::from(dn.phys.dn_nlevels);
        let epbs = u32::from(dn.phys.dn_indblkshift).saturating_sub(7);
        let shift_of = |level: u32| -> u64 {
            let s = epbs * level;
            if s >= 64 { 0 } else { blkid >> s }
        };
        let top = shift_of(nlevels - 1);
        let top = usize::try_from(top)
            .ok()
            .filter(|&t| t < usize::from(dn.phys.dn_nblkptr))
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "object {}: block {blkid} beyond its {} levels",
                    dn.obj, nlevels
                ))
            })?;
        let mut bp = dn.blkptr(top)?;
        for level in (0..nlevels - 1).rev() {
            if bp.is_hole() {
                return Ok(None);
            }
            if !bp.is_embedded() && u32::from(bp.level()) != level + 1 {
                return Err(Error::corrupt(format!(
                    "object {}: indirect block at level {} says level {}",
                    dn.obj,
                    level + 1,
                    bp.level()
                )));
            }
            let ind = self.read_bp(&bp)?;
            let idx = (shift_of(level) & ((1u64 << epbs) - 1)) as usize;
            let at = idx * BP_SIZE;
            if at + BP_SIZE > ind.len() {
                return Err(Error::corrupt(format!(
                    "object {}: indirect block of {} bytes < entry {idx}",
                    dn.obj,
                    ind.len()
                )));
            }
            bp = Bp::parse(&ind[at..])?;
        }
        if bp.is_hole() {
            return Ok(None);
        }
        self.read_bp(&bp).map(Some)
    }

    /// Reads `buf.len()` bytes of an object's data at `offset` (holes and
    /// bytes past a short block read as zeros).
    pub fn dnode_read(&self, dn: &Dnode, offset: u64, buf: &mut [u8]) -> Result<()> {
        let bs = dn.datablksz();
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset
                .checked_add(done as u64)
                .ok_or_else(|| Error::corrupt("read offset overflows"))?;
            let blkid = pos / bs;
            let in_blk = (pos % bs) as usize;
            // bs <= 16 MiB.
            let n = (bs as usize - in_blk).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            match self.dnode_block(dn, blkid)? {
                None => out.fill(0),
                Some(b) => {
                    let have = b.len().saturating_sub(in_blk).min(n);
                    if have > 0 {
                        out[..have].copy_from_slice(&b[in_blk..in_blk + have]);
                    }
                    out[have..].fill(0);
                }
            }
            done += n;
        }
        Ok(())
    }
}

/// An object set: its meta dnode (object 0), which holds every dnode.
#[derive(Debug, Clone)]
pub struct Objset {
    pub meta: Dnode,
    pub os_type: u64,
}

/// Byte offset of os_type in objset_phys_t (after the 512-byte meta dnode
/// and the 192-byte ZIL header).
const OS_TYPE_OFFSET: usize = 512 + 192;

impl Objset {
    pub fn open(pool: &Pool, bp: &Bp) -> Result<Objset> {
        if bp.is_hole() {
            return Err(Error::corrupt("object set: hole block pointer"));
        }
        let b = pool.read_bp(bp)?;
        let raw = b
            .get(..DNODE_SIZE as usize)
            .ok_or_else(|| Error::corrupt("object set: block too small"))?
            .to_vec();
        let os_type = b
            .get(OS_TYPE_OFFSET..OS_TYPE_OFFSET + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        let meta = Dnode::parse(0, raw)?;
        Ok(Objset { meta, os_type })
    }

    /// Dnode of object `obj`.
    pub fn dnode(&self, pool: &Pool, obj: u64) -> Result<Dnode> {
        let off = obj
            .checked_mul(DNODE_SIZE)
            .ok_or_else(|| Error::corrupt(format!("object {obj}: number too large")))?;
        let mut first = vec![0u8; DNODE_SIZE as usize];
        pool.dnode_read(&self.meta, off, &mut first)?;
        let extra = u64::from(first[12]);
        let slots = 1 + extra;
        if slots > MAX_SLOTS {
            return Err(Error::corrupt(format!("dnode {obj}: {slots} slots")));
        }
        // A dnode never crosses a meta-dnode block.
        let bs = self.meta.datablksz();
        if (off % bs) + slots * DNODE_SIZE > bs {
            return Err(Error::corrupt(format!(
                "dnode {obj}: {slots} slots cross a block"
            )));
        }
        let raw = if slots == 1 {
            first
        } else {
            // slots <= 32: at most 16 KiB.
            let mut all = vec![0u8; (slots * DNODE_SIZE) as usize];
            pool.dnode_read(&self.meta, off, &mut all)?;
            all
        };
        Dnode::parse(obj, raw)
    }
}
