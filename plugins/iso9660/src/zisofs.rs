//! zisofs: files compressed block by block with zlib (the Rock Ridge ZF
//! entry; format as mkzftree and Linux's isofs read it).
//!
//! The file's data starts with a header (magic, size, header size, block
//! size) and a table of `blocks + 1` little-endian u32 byte offsets; block i
//! is the zlib stream between offsets i and i+1, or zeros when they are equal.

use crate::limits::{ZISOFS_LOG2_BLOCK, ZISOFS_MAX_COMPRESSED_BLOCK};
use fsimage_abi::{Error, Result};

/// First bytes of a zisofs file.
pub const MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];

/// What a file's ZF entry says.
#[derive(Debug, Clone, Copy)]
pub struct Zf {
    pub header_size: u64,
    pub log2_block: u8,
    pub size: u64,
}

impl Zf {
    pub fn new(header_size_div4: u8, log2_block: u8, size: u64) -> Result<Zf> {
        if !ZISOFS_LOG2_BLOCK.contains(&log2_block) {
            return Err(Error::corrupt(format!(
                "iso9660: zisofs block size 2^{log2_block} outside 2^15..2^17"
            )));
        }
        let header_size = u64::from(header_size_div4) * 4;
        if header_size < 16 {
            return Err(Error::corrupt(format!(
                "iso9660: zisofs header of {header_size} bytes < 16"
            )));
        }
        Ok(Zf {
            header_size,
            log2_block,
            size,
        })
    }

    pub fn block_size(&self) -> u64 {
        1 << self.log2_block
    }
}

/// Reads `buf.len()` bytes at `off` of the compressed data (bounds-checked).
pub trait Raw {
    fn raw_size(&self) -> u64;
    fn raw_read(&self, off: u64, buf: &mut [u8]) -> Result<()>;
}

/// Checks the file header against the ZF entry.
pub fn check_header(zf: &Zf, raw: &dyn Raw) -> Result<()> {
    let mut h = [0u8; 16];
    raw.raw_read(0, &mut h)?;
    if h[..8] != MAGIC {
        return Err(Error::corrupt("iso9660: zisofs file without its magic"));
    }
    let size = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if u64::from(size) != zf.size {
        return Err(Error::corrupt(format!(
            "iso9660: zisofs header size {size} != ZF size {}",
            zf.size
        )));
    }
    Ok(())
}

/// Decompresses block `i` (its full length: the block size, less for the last).
pub fn block(zf: &Zf, raw: &dyn Raw, i: u64) -> Result<Vec<u8>> {
    let bs = zf.block_size();
    let start = i
        .checked_mul(bs)
        .filter(|&s| s < zf.size)
        .ok_or_else(|| Error::corrupt(format!("iso9660: zisofs block {i} past the file's end")))?;
    let want = (zf.size - start).min(bs);
    let mut p = [0u8; 8];
    raw.raw_read(zf.header_size + i * 4, &mut p)?;
    let a = u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]]));
    let b = u64::from(u32::from_le_bytes([p[4], p[5], p[6], p[7]]));
    let want_usize = usize::try_from(want).unwrap_or(usize::MAX);
    if a == b {
        return Ok(vec![0u8; want_usize]);
    }
    if a > b || b > raw.raw_size() || b - a > ZISOFS_MAX_COMPRESSED_BLOCK {
        return Err(Error::corrupt(format!(
            "iso9660: zisofs block {i}: pointers {a}..{b} outside the {} compressed bytes",
            raw.raw_size()
        )));
    }
    let mut z = vec![0u8; usize::try_from(b - a).unwrap_or(0)];
    raw.raw_read(a, &mut z)?;
    let out = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&z, want_usize)
        .map_err(|e| Error::corrupt(format!("iso9660: zisofs block {i}: zlib: {e}")))?;
    if out.len() != want_usize {
        return Err(Error::corrupt(format!(
            "iso9660: zisofs block {i}: {} bytes inflated, {want} expected",
            out.len()
        )));
    }
    Ok(out)
}
