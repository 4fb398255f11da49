//! XDR-encoded name/value lists (libnvpair's `nvs_xdr` encoding), as found
//! in the vdev label's 112 KiB `vdev_phys` area.
//!
//! Layout: a 4-byte header (encoding 1 = XDR, host endianness, 2 reserved),
//! then a list: version and flags (XDR u32 each), pairs, and two zero u32s.
//! A pair: encoded size, decoded size, name (XDR string), data type, element
//! count, value. All integers are big-endian (XDR).

use crate::limits::{NVLIST_MAX_ARRAY, NVLIST_MAX_DEPTH, NVLIST_MAX_PAIRS, NVLIST_MAX_STRING};
use fsimage_abi::{Error, Result};

/// data_type_t values (sys/nvpair.h) this reader decodes.
const DATA_TYPE_BOOLEAN: u32 = 1;
const DATA_TYPE_INT64: u32 = 7;
const DATA_TYPE_UINT64: u32 = 8;
const DATA_TYPE_STRING: u32 = 9;
const DATA_TYPE_UINT64_ARRAY: u32 = 16;
const DATA_TYPE_HRTIME: u32 = 18;
const DATA_TYPE_NVLIST: u32 = 19;
const DATA_TYPE_NVLIST_ARRAY: u32 = 20;
const DATA_TYPE_BOOLEAN_VALUE: u32 = 21;
/// NV_ENCODE_XDR.
const NV_ENCODE_XDR: u8 = 1;

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvValue {
    U64(u64),
    Str(Vec<u8>),
    Bool(bool),
    U64Array(Vec<u64>),
    List(NvList),
    Lists(Vec<NvList>),
    /// A type this reader does not decode (skipped by its encoded size).
    Other(u32),
}

/// A decoded nvlist: pairs in their stored order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvList {
    pub pairs: Vec<(Vec<u8>, NvValue)>,
}

impl NvList {
    pub fn get(&self, name: &str) -> Option<&NvValue> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v)
    }
    pub fn u64(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            NvValue::U64(v) => Some(*v),
            _ => None,
        }
    }
    pub fn str(&self, name: &str) -> Option<&[u8]> {
        match self.get(name)? {
            NvValue::Str(v) => Some(v),
            _ => None,
        }
    }
    pub fn list(&self, name: &str) -> Option<&NvList> {
        match self.get(name)? {
            NvValue::List(v) => Some(v),
            _ => None,
        }
    }
    pub fn lists(&self, name: &str) -> &[NvList] {
        match self.get(name) {
            Some(NvValue::Lists(v)) => v,
            _ => &[],
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    pairs: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32> {
        let b = self
            .pos
            .checked_add(4)
            .and_then(|e| self.buf.get(self.pos..e))
            .ok_or_else(|| Error::corrupt(format!("nvlist: truncated at byte {}", self.pos)))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let hi = self.u32()?;
        let lo = self.u32()?;
        Ok((u64::from(hi) << 32) | u64::from(lo))
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        let len = self.u32()? as usize;
        if len > NVLIST_MAX_STRING {
            return Err(Error::limit(format!(
                "nvlist: string of {len} bytes > {NVLIST_MAX_STRING}"
            )));
        }
        let padded = len.div_ceil(4) * 4;
        let s = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or_else(|| Error::corrupt("nvlist: string past the end"))?;
        let s = s.to_vec();
        self.pos += padded;
        if self.pos > self.buf.len() {
            return Err(Error::corrupt("nvlist: string padding past the end"));
        }
        Ok(s)
    }

    fn count(&mut self, nelem: u32) -> Result<usize> {
        let n = nelem as usize;
        if n > NVLIST_MAX_ARRAY {
            return Err(Error::limit(format!(
                "nvlist: array of {n} elements > {NVLIST_MAX_ARRAY}"
            )));
        }
        Ok(n)
    }

    fn list(&mut self, depth: usize) -> Result<NvList> {
        if depth > NVLIST_MAX_DEPTH {
            return Err(Error::limit(format!(
                "nvlist: nesting deeper than {NVLIST_MAX_DEPTH}"
            )));
        }
        let _version = self.u32()?;
        let _flags = self.u32()?;
        let mut out = NvList::default();
        loop {
            let start = self.pos;
            let enc = self.u32()? as usize;
            let dec = self.u32()?;
            if enc == 0 && dec == 0 {
                return Ok(out);
            }
            self.pairs += 1;
            if self.pairs > NVLIST_MAX_PAIRS {
                return Err(Error::limit(format!(
                    "nvlist: more than {NVLIST_MAX_PAIRS} pairs"
                )));
            }
            let end = start
                .checked_add(enc)
                .filter(|&e| e <= self.buf.len() && e >= start + 8)
                .ok_or_else(|| {
                    Error::corrupt(format!("nvlist: pair at byte {start} of {enc} bytes"))
                })?;
            let name = self.string()?;
            let ty = self.u32()?;
            let nelem = self.u32()?;
            let value = match ty {
                DATA_TYPE_BOOLEAN => NvValue::Bool(true),
                DATA_TYPE_BOOLEAN_VALUE => NvValue::Bool(self.u32()? != 0),
                DATA_TYPE_UINT64 | DATA_TYPE_INT64 | DATA_TYPE_HRTIME => NvValue::U64(self.u64()?),
                DATA_TYPE_STRING => NvValue::Str(self.string()?),
                DATA_TYPE_UINT64_ARRAY => {
                    let n = self.count(nelem)?;
                    let mut v = Vec::with_capacity(n);
                    for _ in 0..n {
                        v.push(self.u64()?);
                    }
                    NvValue::U64Array(v)
                }
                DATA_TYPE_NVLIST => NvValue::List(self.list(depth + 1)?),
                DATA_TYPE_NVLIST_ARRAY => {
                    let n = self.count(nelem)?;
                    let mut v = Vec::with_capacity(n);
                    for _ in 0..n {
                        v.push(self.list(depth + 1)?);
                    }
                    NvValue::Lists(v)
                }
                other => NvValue::Other(other),
            };
            // The encoded size covers the whole pair, embedded lists included.
            if self.pos > end {
                return Err(Error::corrupt(format!(
                    "nvlist: pair '{}' overruns its encoded size {enc}",
                    String::from_utf8_lossy(&name)
                )));
            }
            self.pos = end;
            out.pairs.push((name, value));
        }
    }
}

/// Decodes a packed (XDR) nvlist with its 4-byte stream header.
pub fn unpack(buf: &[u8]) -> Result<NvList> {
    let Some(hdr) = buf.get(..4) else {
        return Err(Error::corrupt("nvlist: no header"));
    };
    if hdr[0] != NV_ENCODE_XDR {
        return Err(Error::unsupported(format!(
            "nvlist encoding {} (only XDR)",
            hdr[0]
        )));
    }
    let mut r = Reader {
        buf,
        pos: 4,
        pairs: 0,
    };
    r.list(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(v: u32) -> [u8; 4] {
        v.to_be_bytes()
    }

    fn pair_u64(name: &str, v: u64) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(be(name.len() as u32));
        body.extend(name.as_bytes());
        while body.len() % 4 != 0 {
            body.push(0);
        }
        body.extend(be(DATA_TYPE_UINT64));
        body.extend(be(1));
        body.extend(v.to_be_bytes());
        let mut p = Vec::new();
        p.extend(be(body.len() as u32 + 8));
        p.extend(be(0));
        p.extend(body);
        p
    }

    #[test]
    fn decodes_a_flat_list_and_bounds_counts() {
        let mut b = vec![1, 1, 0, 0];
        b.extend(be(0));
        b.extend(be(1));
        b.extend(pair_u64("txg", 42));
        b.extend([0u8; 8]);
        let l = unpack(&b).unwrap();
        assert_eq!(l.u64("txg"), Some(42));
        // A huge encoded size is refused, not followed.
        let mut bad = b.clone();
        bad[12..16].copy_from_slice(&be(0x7fff_ffff));
        assert!(unpack(&bad).is_err());
        // Truncated list.
        assert!(unpack(&b[..b.len() - 4]).is_err());
    }
}
