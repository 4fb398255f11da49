//! The mounted filesystem's device and geometry: bounded reads of
//! fragments and inodes.

use crate::inode::{self, Inode};
use crate::superblock::Geometry;
use fsimage_abi::{Device, Error, ReadAt, Result};

#[derive(Debug)]
pub struct Volume {
    pub dev: Device,
    pub geo: Geometry,
}

impl Volume {
    /// Byte offset of `len` bytes at fragment `addr`, checked against the
    /// filesystem size (`what` names the pointer for the error).
    pub fn frag_range(&self, addr: i64, len: u64, what: &dyn Fn() -> String) -> Result<u64> {
        let g = &self.geo;
        let end_bytes = g.size.checked_mul(g.fsize);
        let off = u64::try_from(addr)
            .ok()
            .and_then(|a| a.checked_mul(g.fsize))
            .filter(|&o| {
                o.checked_add(len)
                    .zip(end_bytes)
                    .is_some_and(|(e, max)| e <= max)
            });
        off.ok_or_else(|| {
            Error::corrupt(format!(
                "{}: block {addr} past the end of the filesystem ({} fragments)",
                what(),
                g.size
            ))
        })
    }

    /// Reads `buf.len()` bytes at device offset `off`.
    pub fn read_at(&self, off: u64, buf: &mut [u8], what: &dyn Fn() -> String) -> Result<()> {
        self.dev.read_exact_at(off, buf).map_err(|e| match e {
            Error::OutOfBounds { .. } => Error::corrupt(format!("{}: {e}", what())),
            e => e,
        })
    }

    /// Loads inode `ino` (1 <= ino < fs_ncg * fs_ipg).
    pub fn inode(&self, ino: u64) -> Result<Inode> {
        let g = &self.geo;
        if ino == 0 || ino >= g.inodes() {
            return Err(Error::invalid(format!(
                "ufs: inode {ino} out of range (1..{})",
                g.inodes()
            )));
        }
        let off = g
            .inode_offset(ino)
            .ok_or_else(|| Error::corrupt(format!("inode {ino}: location overflows")))?;
        let mut raw = [0u8; 256];
        let raw = &mut raw[..g.inode_size() as usize];
        self.read_at(off, raw, &|| format!("inode {ino}"))?;
        inode::decode(raw, ino, g)
    }
}
