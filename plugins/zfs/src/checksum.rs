//! Block checksums (`enum zio_checksum`, OpenZFS `include/sys/zio.h`;
//! algorithms in `module/zcommon/zfs_fletcher.c` and `module/zfs/sha2_zfs.c`).
//! A checksum is four 64-bit words.

use fsimage_abi::{Error, Result};
use sha2::Digest;

/// A checksum algorithm a block pointer can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// ZIO_CHECKSUM_OFF: nothing to verify.
    Off,
    Fletcher2,
    Fletcher4,
    Sha256,
    /// ZIO_CHECKSUM_SHA512 (feature org.illumos:sha512): SHA-512/256.
    Sha512,
}

impl Algo {
    /// The algorithm for a block pointer's checksum field.
    pub fn from_bp(v: u8) -> Result<Algo> {
        Ok(match v {
            2 => Algo::Off,
            6 => Algo::Fletcher2,
            7 => Algo::Fletcher4,
            8 => Algo::Sha256,
            11 => Algo::Sha512,
            12 => return Err(Error::unsupported("checksum skein")),
            13 => return Err(Error::unsupported("checksum edonr")),
            14 => return Err(Error::unsupported("checksum blake3")),
            other => {
                return Err(Error::unsupported(format!(
                    "block checksum {other} (not a data checksum)"
                )));
            }
        })
    }
}

fn le64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// Fletcher-2 over little-endian 64-bit words in two interleaved lanes.
pub fn fletcher2(data: &[u8]) -> [u64; 4] {
    let (mut a0, mut a1, mut b0, mut b1) = (0u64, 0u64, 0u64, 0u64);
    for c in data.chunks_exact(16) {
        a0 = a0.wrapping_add(le64(&c[..8]));
        a1 = a1.wrapping_add(le64(&c[8..]));
        b0 = b0.wrapping_add(a0);
        b1 = b1.wrapping_add(a1);
    }
    [a0, a1, b0, b1]
}

/// Fletcher-4 over little-endian 32-bit words.
pub fn fletcher4(data: &[u8]) -> [u64; 4] {
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for w in data.chunks_exact(4) {
        a = a.wrapping_add(u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
        b = b.wrapping_add(a);
        c = c.wrapping_add(b);
        d = d.wrapping_add(c);
    }
    [a, b, c, d]
}

/// A 32-byte digest as ZFS keeps it: four big-endian words.
fn digest_words(d: &[u8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, w) in d.chunks_exact(8).take(4).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        out[i] = u64::from_be_bytes(b);
    }
    out
}

pub fn sha256(data: &[u8]) -> [u64; 4] {
    digest_words(&sha2::Sha256::digest(data))
}

pub fn sha512_256(data: &[u8]) -> [u64; 4] {
    digest_words(&sha2::Sha512_256::digest(data))
}

/// Computes `algo` over `data`; `None` for [`Algo::Off`].
pub fn compute(algo: Algo, data: &[u8]) -> Option<[u64; 4]> {
    match algo {
        Algo::Off => None,
        Algo::Fletcher2 => Some(fletcher2(data)),
        Algo::Fletcher4 => Some(fletcher4(data)),
        Algo::Sha256 => Some(sha256(data)),
        Algo::Sha512 => Some(sha512_256(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fletcher4_small() {
        let data = [1u8, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(fletcher4(&data), [3, 4, 5, 6]);
    }

    #[test]
    fn sha256_words_are_big_endian() {
        // sha256("") = e3b0c442 98fc1c14 ...
        assert_eq!(sha256(b"")[0], 0xe3b0_c442_98fc_1c14);
    }
}
