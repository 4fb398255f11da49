//! The fuzz input format: raw bytes, or a sparse image (see the crate docs).
//! Depends on nothing but `fsimage_abi`, so tests can include it by `#[path]`.

use fsimage_abi::{ReadAt, Result, io::check_range};

/// Largest virtual size a sparse input may claim (reads are served lazily, so
/// this costs nothing unless a parser reads that far).
pub const MAX_VIRTUAL_SIZE: u64 = 1 << 40;

/// Magic of a sparse input.
pub const SPARSE_MAGIC: &[u8; 4] = b"SPRS";

/// Flag: fix checksums up before parsing.
pub const FLAG_FIX_CHECKSUMS: u32 = 1;

/// An image made of chunks over zeros.
#[derive(Debug, Clone, Default)]
pub struct SparseImage {
    size: u64,
    chunks: Vec<(u64, Vec<u8>)>,
    /// The flags word of a sparse input (0 for raw inputs).
    pub flags: u32,
}

impl SparseImage {
    /// Decodes a fuzz input (raw or `SPRS`).
    pub fn from_input(data: &[u8]) -> SparseImage {
        let Some(rest) = data.strip_prefix(SPARSE_MAGIC) else {
            return SparseImage {
                size: data.len() as u64,
                chunks: vec![(0, data.to_vec())],
                flags: 0,
            };
        };
        let u32_at = |b: &[u8], i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
        };
        let u64_at = |b: &[u8], i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
        };
        let flags = u32_at(rest, 0).unwrap_or(0);
        let size = u64_at(rest, 4).unwrap_or(0).min(MAX_VIRTUAL_SIZE);
        let mut img = SparseImage {
            size,
            chunks: Vec::new(),
            flags,
        };
        let mut pos = 12usize;
        while let (Some(off), Some(len)) = (u64_at(rest, pos), u32_at(rest, pos + 8)) {
            pos += 12;
            let avail = rest.len().saturating_sub(pos);
            let take = (len as usize).min(avail);
            let bytes = &rest[pos..pos + take];
            pos += take;
            img.put(off, bytes);
        }
        img
    }

    /// An image of `size` bytes of zeros.
    pub fn zeros(size: u64) -> SparseImage {
        SparseImage {
            size,
            chunks: Vec::new(),
            flags: 0,
        }
    }

    /// Overlays `bytes` at `off`, clipped to the image.
    pub fn put(&mut self, off: u64, bytes: &[u8]) {
        if off >= self.size || bytes.is_empty() {
            return;
        }
        let n = (self.size - off).min(bytes.len() as u64) as usize;
        self.chunks.push((off, bytes[..n].to_vec()));
    }

    /// Grows (never shrinks) the virtual size, capped at [`MAX_VIRTUAL_SIZE`].
    pub fn extend_to(&mut self, size: u64) {
        self.size = self.size.max(size.min(MAX_VIRTUAL_SIZE));
    }

    /// Encodes as a sparse input (the seed generator's inverse).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = SPARSE_MAGIC.to_vec();
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        for (off, b) in &self.chunks {
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    /// Reads a little-endian u32 (zeros outside the image).
    pub fn le32(&self, off: u64) -> u32 {
        let mut b = [0u8; 4];
        let _ = self.read_exact_at(off, &mut b);
        u32::from_le_bytes(b)
    }

    /// Reads a little-endian u64 (zeros outside the image).
    pub fn le64(&self, off: u64) -> u64 {
        let mut b = [0u8; 8];
        let _ = self.read_exact_at(off, &mut b);
        u64::from_le_bytes(b)
    }
}

impl ReadAt for SparseImage {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.size)?;
        buf.fill(0);
        let end = offset + buf.len() as u64;
        for (coff, bytes) in &self.chunks {
            let cend = coff + bytes.len() as u64;
            let (s, e) = (offset.max(*coff), end.min(cend));
            if s < e {
                let dst = &mut buf[(s - offset) as usize..(e - offset) as usize];
                dst.copy_from_slice(&bytes[(s - coff) as usize..(e - coff) as usize]);
            }
        }
        Ok(())
    }
}

/// The size an ext2 superblock at byte 1024 claims for its filesystem
/// (`s_blocks_count` x block size), so a truncated or sparse seed mounts as
/// if whole: the rest reads as zeros.
pub fn ext2_claimed_size(img: &SparseImage) -> u64 {
    let lo = u64::from(img.le32(1024 + 4));
    let hi = u64::from(img.le32(1024 + 0x150));
    let incompat = img.le32(1024 + 0x60);
    let blocks = if incompat & 0x80 != 0 {
        lo | (hi << 32)
    } else {
        lo
    };
    let log = img.le32(1024 + 24).min(6);
    blocks.saturating_mul(1024u64 << log)
}
