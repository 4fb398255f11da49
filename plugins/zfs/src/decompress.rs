//! Block decompression: every algorithm a ZFS block pointer can name
//! (`enum zio_compress` in OpenZFS `include/sys/zio.h`).
//!
//! Each decoder fills exactly the logical size it is given and never reads
//! or writes outside its slices; corrupt input is an error, not a panic.

use crate::limits::MAX_BLOCK_SIZE;
use fsimage_abi::{Error, Result};

/// A compression algorithm as stored in a block pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// ZIO_COMPRESS_OFF: the physical bytes are the logical bytes.
    Off,
    /// ZIO_COMPRESS_LZJB (and ZIO_COMPRESS_ON, which meant lzjb).
    Lzjb,
    /// ZIO_COMPRESS_EMPTY: all zeros.
    Empty,
    /// ZIO_COMPRESS_GZIP_1..9: a zlib stream.
    Gzip,
    /// ZIO_COMPRESS_ZLE: zero-length encoding of runs of zeros.
    Zle,
    /// ZIO_COMPRESS_LZ4: a 4-byte big-endian length, then an LZ4 block.
    Lz4,
    /// ZIO_COMPRESS_ZSTD: an 8-byte header, then a zstd frame.
    Zstd,
}

impl Codec {
    /// The codec for a block pointer's compression field.
    pub fn from_bp(v: u8) -> Result<Codec> {
        Ok(match v {
            2 => Codec::Off,
            1 | 3 => Codec::Lzjb,
            4 => Codec::Empty,
            5..=13 => Codec::Gzip,
            14 => Codec::Zle,
            15 => Codec::Lz4,
            16 => Codec::Zstd,
            other => {
                return Err(Error::unsupported(format!(
                    "block compression {other} (inherit or unknown)"
                )));
            }
        })
    }
}

/// Decompresses `src` (the physical bytes) into exactly `dst` (the logical
/// size). Bytes a codec legitimately leaves unwritten read as zeros.
pub fn decompress(codec: Codec, src: &[u8], dst: &mut [u8]) -> Result<()> {
    match codec {
        Codec::Off => {
            let Some(s) = src.get(..dst.len()) else {
                return Err(Error::corrupt(format!(
                    "uncompressed block: {} physical bytes < {} logical",
                    src.len(),
                    dst.len()
                )));
            };
            dst.copy_from_slice(s);
            Ok(())
        }
        Codec::Empty => {
            dst.fill(0);
            Ok(())
        }
        Codec::Lzjb => lzjb(src, dst),
        Codec::Zle => zle(src, dst),
        Codec::Lz4 => lz4(src, dst),
        Codec::Gzip => gzip(src, dst),
        Codec::Zstd => zstd(src, dst),
    }
}

/// The zstd frame magic that ZFS leaves out.
const ZSTD_MAGIC: u32 = 0xFD2F_B528;

fn short(what: &str) -> Error {
    Error::corrupt(format!("{what}: compressed data ends early"))
}

/// LZJB (Lempel-Ziv, Jeff Bonwick): a copy-map byte says for each of the
/// next 8 items whether it is a literal byte or a 2-byte match of 6 bits
/// length (+3) and 10 bits offset back into the output.
pub fn lzjb(src: &[u8], dst: &mut [u8]) -> Result<()> {
    const MATCH_BITS: u32 = 6;
    const MATCH_MIN: usize = 3;
    const OFFSET_MASK: usize = (1 << (16 - MATCH_BITS)) - 1;
    let mut s = 0usize;
    let mut d = 0usize;
    let mut copymask: u32 = 1 << 7;
    let mut copymap: u8 = 0;
    while d < dst.len() {
        copymask <<= 1;
        if copymask == 1 << 8 {
            copymask = 1;
            copymap = *src.get(s).ok_or_else(|| short("lzjb"))?;
            s += 1;
        }
        if u32::from(copymap) & copymask != 0 {
            let (Some(&b0), Some(&b1)) = (src.get(s), src.get(s + 1)) else {
                return Err(short("lzjb"));
            };
            s += 2;
            let mlen = usize::from(b0 >> (8 - MATCH_BITS)) + MATCH_MIN;
            let off = ((usize::from(b0) << 8) | usize::from(b1)) & OFFSET_MASK;
            if off == 0 || off > d {
                return Err(Error::corrupt(format!(
                    "lzjb: match offset {off} at output byte {d}"
                )));
            }
            let end = (d + mlen).min(dst.len());
            // Byte by byte: a match may overlap the bytes it produces.
            for i in d..end {
                dst[i] = dst[i - off];
            }
            d = end;
        } else {
            dst[d] = *src.get(s).ok_or_else(|| short("lzjb"))?;
            s += 1;
            d += 1;
        }
    }
    Ok(())
}

/// ZLE with ZFS's level 64: a byte n < 64 means n+1 literal bytes follow;
/// n >= 64 means n-63 zero bytes. Must fill the output exactly.
pub fn zle(src: &[u8], dst: &mut [u8]) -> Result<()> {
    const N: usize = 64;
    let mut s = 0usize;
    let mut d = 0usize;
    while s < src.len() && d < dst.len() {
        let len = 1 + usize::from(src[s]);
        s += 1;
        if len <= N {
            let (Some(from), Some(to)) = (src.get(s..s + len), dst.get_mut(d..d + len)) else {
                return Err(Error::corrupt(format!(
                    "zle: literal run of {len} at byte {s}"
                )));
            };
            to.copy_from_slice(from);
            s += len;
            d += len;
        } else {
            let z = len - N;
            let Some(to) = dst.get_mut(d..d + z) else {
                return Err(Error::corrupt(format!("zle: zero run of {z} past the end")));
            };
            to.fill(0);
            d += z;
        }
    }
    if d != dst.len() {
        return Err(Error::corrupt(format!(
            "zle: {d} bytes decoded, {} expected",
            dst.len()
        )));
    }
    Ok(())
}

/// LZ4 as ZFS stores it: the compressed length as a big-endian u32, then a
/// raw LZ4 block.
pub fn lz4(src: &[u8], dst: &mut [u8]) -> Result<()> {
    let Some(hdr) = src.get(..4) else {
        return Err(short("lz4 header"));
    };
    let n = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    let body = usize::try_from(n)
        .ok()
        .and_then(|n| src.get(4..4usize.checked_add(n)?))
        .ok_or_else(|| {
            Error::corrupt(format!(
                "lz4: stored length {n} > {} physical bytes",
                src.len().saturating_sub(4)
            ))
        })?;
    let got = lz4_flex::block::decompress_into(body, dst)
        .map_err(|e| Error::corrupt(format!("lz4: {e}")))?;
    if let Some(rest) = dst.get_mut(got..) {
        rest.fill(0);
    }
    Ok(())
}

/// gzip-N: a zlib stream (RFC 1950), checked with its Adler-32.
pub fn gzip(src: &[u8], dst: &mut [u8]) -> Result<()> {
    let got = miniz_oxide::inflate::decompress_slice_iter_to_slice(
        dst,
        std::iter::once(src),
        true,
        false,
    )
    .map_err(|e| Error::corrupt(format!("gzip: inflate failed ({e:?})")))?;
    if let Some(rest) = dst.get_mut(got..) {
        rest.fill(0);
    }
    Ok(())
}

/// zstd as ZFS stores it (`zfs_zstd_header`): compressed length (u32
/// big-endian), version and level (u32), then one zstd frame in the
/// magicless format (ZSTD_f_zstd1_magicless: no leading 4-byte magic).
pub fn zstd(src: &[u8], dst: &mut [u8]) -> Result<()> {
    let Some(hdr) = src.get(..8) else {
        return Err(short("zstd header"));
    };
    let n = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    let body = usize::try_from(n)
        .ok()
        .and_then(|n| src.get(8..8usize.checked_add(n)?))
        .ok_or_else(|| {
            Error::corrupt(format!(
                "zstd: stored length {n} > {} physical bytes",
                src.len().saturating_sub(8)
            ))
        })?;
    let mut dec = ruzstd::decoding::FrameDecoder::new();
    // A ZFS block is at most 16 MiB: no frame needs a larger window.
    dec.set_max_window_size(MAX_BLOCK_SIZE);
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
    frame.extend_from_slice(body);
    let got = dec
        .decode_all(&frame, dst)
        .map_err(|e| Error::corrupt(format!("zstd: {e}")))?;
    if let Some(rest) = dst.get_mut(got..) {
        rest.fill(0);
    }
    Ok(())
}

/// Fuzzing entry point: the first byte picks the codec (lzjb, lz4, gzip,
/// zle, zstd), the second the output size in KiB (0 = 512 bytes).
pub fn fuzz_decompress(data: &[u8]) -> Result<Vec<u8>> {
    let (Some(&c), Some(&k)) = (data.first(), data.get(1)) else {
        return Err(Error::invalid("short input"));
    };
    let codec = match c % 5 {
        0 => Codec::Lzjb,
        1 => Codec::Lz4,
        2 => Codec::Gzip,
        3 => Codec::Zle,
        _ => Codec::Zstd,
    };
    let len = if k == 0 { 512 } else { usize::from(k) << 10 };
    let mut out = vec![0u8; len];
    decompress(codec, data.get(2..).unwrap_or(&[]), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzjb_literals_and_overlapping_match() {
        // copymap 0b10: literal 'a', then a match of length 3+3=6 at offset 1.
        let src = [0b0000_0010, b'a', (3 << 2), 1];
        let mut out = [0u8; 7];
        lzjb(&src, &mut out).unwrap();
        assert_eq!(&out, b"aaaaaaa");
        // Offset past the start of the output is refused.
        let bad = [0b0000_0010, b'a', (3 << 2), 2];
        assert!(lzjb(&bad, &mut out).is_err());
        // Truncated input is refused.
        assert!(lzjb(&[0u8], &mut out).is_err());
    }

    #[test]
    fn zle_runs() {
        // 2 literals, then 3 zeros (64 + 3 - 1 = 66), then 1 literal.
        let src = [1, b'x', b'y', 66, 0, b'z'];
        let mut out = [9u8; 6];
        zle(&src, &mut out).unwrap();
        assert_eq!(&out, b"xy\0\0\0z");
        let mut short = [0u8; 7];
        assert!(zle(&src, &mut short).is_err(), "must fill the output");
        let mut tiny = [0u8; 2];
        assert!(zle(&[200], &mut tiny).is_err(), "zero run past the end");
    }

    #[test]
    fn lz4_and_zstd_lengths_are_checked() {
        let mut out = [0u8; 16];
        assert!(lz4(&[0, 0, 0, 9, 1], &mut out).is_err());
        assert!(lz4(&[0xff, 0xff, 0xff, 0xff], &mut out).is_err());
        assert!(zstd(&[0, 0, 0, 1, 0, 0, 0, 0], &mut out).is_err());
        assert!(gzip(&[1, 2, 3], &mut out).is_err());
    }

    /// Data that decompresses to more than the logical size is an error
    /// for every codec, never a write past the output.
    #[test]
    fn output_larger_than_lsize_is_refused() {
        let text = vec![b'z'; 4096];
        let mut small = vec![0u8; 1024];
        // gzip (zlib stream of 4 KiB into 1 KiB).
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&text, 6);
        assert!(gzip(&z, &mut small).is_err());
        // lz4: 'z' then a long match (token 0x1F, offset 1, length 15+255+...).
        let mut blk = vec![0x1F, b'z', 1, 0];
        blk.extend([255u8; 8]);
        blk.push(0);
        blk.extend([0x50, b'a', b'b', b'c', b'd', b'e']);
        // The same block decodes into a big enough buffer.
        let mut ok = vec![0u8; 1 + 4 + 15 + 8 * 255 + 5];
        assert_eq!(
            lz4_flex::block::decompress_into(&blk, &mut ok).unwrap(),
            ok.len()
        );
        let mut lz = (blk.len() as u32).to_be_bytes().to_vec();
        lz.extend(blk);
        assert!(lz4(&lz, &mut small).is_err());
        // zstd: a frame of 4 KiB into 1 KiB.
        let frame = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut zs = ((frame.len() - 4) as u32).to_be_bytes().to_vec();
        zs.extend([0, 0, 0, 0]);
        zs.extend(&frame[4..]);
        let mut big = vec![0u8; 4096];
        zstd(&zs, &mut big).unwrap();
        assert_eq!(big, text);
        assert!(zstd(&zs, &mut small).is_err());
    }
}
