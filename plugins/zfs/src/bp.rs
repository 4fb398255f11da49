//! Block pointer fields (`blkptr_t` bit layout, include/sys/spa.h).

use crate::ondisk::blkptr_t;
use fsimage_abi::{Error, Result};
use zerocopy::FromBytes;

/// Size of a block pointer.
pub const BP_SIZE: usize = 128;

/// One data virtual address: top-level vdev, byte offset past the front
/// labels and boot area, allocated size, gang flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dva {
    pub vdev: u64,
    pub offset: u64,
    pub asize: u64,
    pub gang: bool,
}

/// A parsed block pointer.
#[derive(Debug, Clone, Copy)]
pub struct Bp {
    pub raw: blkptr_t,
    bytes: [u8; BP_SIZE],
}

fn bits(v: u64, lo: u32, len: u32) -> u64 {
    (v >> lo) & ((1u64 << len) - 1)
}

impl Bp {
    pub fn parse(b: &[u8]) -> Result<Bp> {
        let bytes: [u8; BP_SIZE] = b
            .get(..BP_SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::corrupt("block pointer: truncated"))?;
        let raw = blkptr_t::read_from_bytes(&bytes)
            .map_err(|_| Error::corrupt("block pointer: truncated"))?;
        Ok(Bp { raw, bytes })
    }

    fn prop(&self) -> u64 {
        self.raw.blk_prop.get()
    }

    pub fn is_embedded(&self) -> bool {
        bits(self.prop(), 39, 1) == 1
    }

    /// BP_IS_HOLE: not embedded and the first DVA is empty.
    pub fn is_hole(&self) -> bool {
        !self.is_embedded()
            && self.raw.blk_dva[0][0].get() == 0
            && self.raw.blk_dva[0][1].get() == 0
    }

    /// Logical (decompressed) size.
    pub fn lsize(&self) -> u64 {
        if self.is_embedded() {
            bits(self.prop(), 0, 25) + 1
        } else {
            (bits(self.prop(), 0, 16) + 1) << 9
        }
    }

    /// Physical (stored) size.
    pub fn psize(&self) -> u64 {
        if self.is_embedded() {
            bits(self.prop(), 25, 7) + 1
        } else {
            (bits(self.prop(), 16, 16) + 1) << 9
        }
    }

    pub fn compress(&self) -> u8 {
        bits(self.prop(), 32, 7) as u8
    }

    /// Checksum algorithm (for an embedded bp: the embedded payload type).
    pub fn checksum(&self) -> u8 {
        bits(self.prop(), 40, 8) as u8
    }

    pub fn dmu_type(&self) -> u8 {
        bits(self.prop(), 48, 8) as u8
    }

    pub fn level(&self) -> u8 {
        bits(self.prop(), 56, 5) as u8
    }

    pub fn encrypted(&self) -> bool {
        bits(self.prop(), 61, 1) == 1
    }

    /// BP_GET_BYTEORDER: 1 = little-endian.
    pub fn little_endian(&self) -> bool {
        bits(self.prop(), 63, 1) == 1
    }

    pub fn birth(&self) -> u64 {
        self.raw.blk_birth.get()
    }

    /// BP_GET_BIRTH: the physical birth when set, else the logical one.
    pub fn phys_birth(&self) -> u64 {
        match self.raw.blk_phys_birth.get() {
            0 => self.birth(),
            b => b,
        }
    }

    pub fn cksum(&self) -> [u64; 4] {
        self.raw.blk_cksum.map(|w| w.get())
    }

    pub fn dva(&self, i: usize) -> Option<Dva> {
        let d = self.raw.blk_dva.get(i)?;
        let (w0, w1) = (d[0].get(), d[1].get());
        if w0 == 0 && w1 == 0 {
            return None;
        }
        Some(Dva {
            vdev: w0 >> 32,
            asize: bits(w0, 0, 24) << 9,
            offset: bits(w1, 0, 63) << 9,
            gang: w1 >> 63 == 1,
        })
    }

    /// The payload of an embedded block pointer: every byte of the bp but
    /// `blk_prop` (word 6) and `blk_birth` (word 10), in order, cut to psize.
    pub fn embedded_payload(&self) -> Result<Vec<u8>> {
        let psize = self.psize();
        if psize > 112 {
            return Err(Error::corrupt(format!(
                "embedded block pointer: payload {psize} > 112 bytes"
            )));
        }
        let mut all = Vec::with_capacity(112);
        for (w, word) in self.bytes.chunks_exact(8).enumerate() {
            if w != 6 && w != 10 {
                all.extend_from_slice(word);
            }
        }
        all.truncate(psize as usize);
        Ok(all)
    }
}
