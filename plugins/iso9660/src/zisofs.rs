//! zisofs and zisofs2: files compressed block by block with zlib (the Rock
//! Ridge ZF entry, or zisofs2's Z2; formats as mkzftree, libisofs and
//! Linux's isofs read them).
//!
//! The file's data starts with a header (magic, size, header size, block
//! size) and a table of `blocks + 1` little-endian byte offsets — 4 bytes
//! each in zisofs (algorithm "pz"), 8 in zisofs2 (algorithm "PZ", files of
//! 4 GiB and more, blocks up to 1 MiB as xorriso writes them); block i is
//! the compressed stream between offsets i and i+1, or zeros when they are
//! equal.

use crate::limits::{
    ZISOFS_LOG2_BLOCK, ZISOFS_MAX_COMPRESSED_BLOCK, ZISOFS2_LOG2_BLOCK,
    ZISOFS2_MAX_COMPRESSED_BLOCK,
};
use crate::ondisk::{Zisofs2Header, ZisofsHeader};
use fsimage_abi::{Error, Result};
use zerocopy::FromBytes;

/// First bytes of a zisofs file.
pub const MAGIC: [u8; 8] = [0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];
/// First bytes of a zisofs2 file.
pub const MAGIC2: [u8; 8] = [0xEF, 0x22, 0x55, 0xA1, 0xBC, 0x1B, 0x95, 0xA0];
/// zisofs2's `@alg_id` for zlib ("PZ").
const ALG_ID_ZLIB: u8 = 1;
/// zisofs2 algorithms other than zlib (named when refused).
const ZISOFS2_OTHER: [&[u8; 2]; 4] = [b"XZ", b"L4", b"ZD", b"B2"];

/// A ZF (or Z2) entry as recorded.
#[derive(Debug, Clone, Copy)]
pub struct ZfEntry {
    pub algorithm: [u8; 2],
    pub header_size_div4: u8,
    pub log2_block_size: u8,
    pub uncompressed_size: [u8; 8],
}

impl ZfEntry {
    /// The uncompressed size: 32 bits (both-byte order) for zisofs "pz",
    /// 64 bits little-endian for zisofs2.
    pub fn size(&self) -> u64 {
        let s = self.uncompressed_size;
        if &self.algorithm == b"pz" {
            u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        } else {
            u64::from_le_bytes(s)
        }
    }
}

/// Which format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// zisofs: 16-byte header, 32-bit block pointers.
    V1,
    /// zisofs2: 24-byte header, 64-bit block pointers.
    V2,
}

/// What a file's ZF entry says, checked.
#[derive(Debug, Clone, Copy)]
pub struct Zf {
    pub version: Version,
    pub header_size: u64,
    pub log2_block: u8,
    pub size: u64,
}

impl Zf {
    /// Checks a ZF entry: zlib only ("pz", zisofs2 "PZ"); other algorithms
    /// are `Unsupported` naming them.
    pub fn from_entry(e: &ZfEntry) -> Result<Zf> {
        let (version, range, min_header) = match &e.algorithm {
            b"pz" => (Version::V1, ZISOFS_LOG2_BLOCK, 16),
            b"PZ" => (Version::V2, ZISOFS2_LOG2_BLOCK, 24),
            other => {
                let known = if ZISOFS2_OTHER.contains(&other) {
                    " (zisofs2)"
                } else {
                    ""
                };
                return Err(Error::unsupported(format!(
                    "iso9660 feature: ZF compression '{}'{known}",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        let log2_block = e.log2_block_size;
        if !range.contains(&log2_block) {
            return Err(Error::corrupt(format!(
                "iso9660: zisofs block size 2^{log2_block} outside 2^{}..2^{}",
                range.start(),
                range.end()
            )));
        }
        let header_size = u64::from(e.header_size_div4) * 4;
        if header_size < min_header {
            return Err(Error::corrupt(format!(
                "iso9660: zisofs header of {header_size} bytes < {min_header}"
            )));
        }
        Ok(Zf {
            version,
            header_size,
            log2_block,
            size: e.size(),
        })
    }

    pub fn block_size(&self) -> u64 {
        1 << self.log2_block
    }

    /// Bytes of one block pointer.
    fn pointer_size(&self) -> u64 {
        match self.version {
            Version::V1 => 4,
            Version::V2 => 8,
        }
    }

    /// Bytes one compressed block may take (zlib never grows data by this much).
    fn max_compressed(&self) -> u64 {
        match self.version {
            Version::V1 => ZISOFS_MAX_COMPRESSED_BLOCK,
            Version::V2 => ZISOFS2_MAX_COMPRESSED_BLOCK,
        }
    }
}

/// Reads `buf.len()` bytes at `off` of the compressed data (bounds-checked).
pub trait Raw {
    fn raw_size(&self) -> u64;
    fn raw_read(&self, off: u64, buf: &mut [u8]) -> Result<()>;
}

/// Checks the file header against the ZF entry.
pub fn check_header(zf: &Zf, raw: &dyn Raw) -> Result<()> {
    let bad = |what: String| Error::corrupt(format!("iso9660: zisofs file header: {what}"));
    match zf.version {
        Version::V1 => {
            let mut b = [0u8; 16];
            raw.raw_read(0, &mut b)?;
            let (h, _) =
                ZisofsHeader::ref_from_prefix(&b[..]).map_err(|_| bad("too short".into()))?;
            if h.hdr_magic != MAGIC {
                return Err(Error::corrupt("iso9660: zisofs file without its magic"));
            }
            let size = h.size.get();
            if u64::from(size) != zf.size {
                return Err(Error::corrupt(format!(
                    "iso9660: zisofs header size {size} != ZF size {}",
                    zf.size
                )));
            }
        }
        Version::V2 => {
            let mut b = [0u8; 24];
            raw.raw_read(0, &mut b)?;
            let (h, _) =
                Zisofs2Header::ref_from_prefix(&b[..]).map_err(|_| bad("too short".into()))?;
            if h.hdr_magic != MAGIC2 {
                return Err(Error::corrupt("iso9660: zisofs2 file without its magic"));
            }
            let size = h.size.get();
            if size != zf.size {
                return Err(Error::corrupt(format!(
                    "iso9660: zisofs2 header size {size} != ZF size {}",
                    zf.size
                )));
            }
            if h.hdr_version != 0 || h.alg_id != ALG_ID_ZLIB {
                return Err(bad(format!(
                    "zisofs2 header version {} algorithm {} (expected 0 and zlib, 1)",
                    h.hdr_version, h.alg_id
                )));
            }
            if u64::from(h.hdr_size) * 4 != zf.header_size || h.hdr_bsize != zf.log2_block {
                return Err(bad(format!(
                    "zisofs2 header size {}×4, block 2^{} disagree with the ZF entry ({}, 2^{})",
                    h.hdr_size, h.hdr_bsize, zf.header_size, zf.log2_block
                )));
            }
        }
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
    // At most 1 MiB (ZISOFS2_LOG2_BLOCK).
    let want = (zf.size - start).min(bs);
    let want_usize = usize::try_from(want).unwrap_or(usize::MAX);
    let ps = zf.pointer_size();
    let at = i
        .checked_mul(ps)
        .and_then(|p| p.checked_add(zf.header_size))
        .ok_or_else(|| {
            Error::corrupt(format!(
                "iso9660: zisofs block {i}: pointer offset overflows"
            ))
        })?;
    let mut pair = [0u8; 16];
    let p = if ps == 4 {
        &mut pair[..8]
    } else {
        &mut pair[..]
    };
    raw.raw_read(at, p)?;
    let (a, b) = match zf.version {
        Version::V1 => (
            u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]])),
            u64::from(u32::from_le_bytes([p[4], p[5], p[6], p[7]])),
        ),
        Version::V2 => {
            let (x, y) = p.split_at(8);
            let mut xa = [0u8; 8];
            let mut ya = [0u8; 8];
            xa.copy_from_slice(x);
            ya.copy_from_slice(y);
            (u64::from_le_bytes(xa), u64::from_le_bytes(ya))
        }
    };
    if a == b {
        return Ok(vec![0u8; want_usize]);
    }
    if a > b || b > raw.raw_size() || b - a > zf.max_compressed() {
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
