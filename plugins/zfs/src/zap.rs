//! ZAP objects (include/sys/zap_impl.h, zap_leaf.h): micro-ZAPs (one block
//! of 64-byte entries) and fat ZAPs (a header block, a pointer table and
//! leaf blocks of 24-byte chunks).
//!
//! Entries are streamed in a stable order with resumable positions:
//! micro-ZAP entry `i` is position `i`; fat-ZAP chunk `c` of leaf block `b`
//! is position `b << 20 | c`.

use crate::dnode::Dnode;
use crate::limits::{
    ZAP_MAX_ARRAY_CHUNKS, ZAP_MAX_ENTRIES, ZAP_MAX_NAME, ZAP_MAX_PTRTBL, ZAP_MAX_VALUE,
};
use crate::ondisk::{mzap_ent_phys_t, zap_leaf_array, zap_leaf_entry, zap_leaf_header, zap_phys_t};
use crate::pool::Pool;
use fsimage_abi::{Error, Result};
use std::collections::BTreeSet;
use std::sync::Arc;
use zerocopy::FromBytes;

/// zap_block_type values.
const ZBT_LEAF: u64 = 1 << 63;
const ZBT_HEADER: u64 = (1 << 63) + 1;
const ZBT_MICRO: u64 = (1 << 63) + 3;
/// ZAP_MAGIC and ZAP_LEAF_MAGIC.
const ZAP_MAGIC: u64 = 0x2F52AB2AB;
const ZAP_LEAF_MAGIC: u32 = 0x2AB1EAF;
/// Chunk types and the end of a chunk chain.
const ZAP_CHUNK_ENTRY: u8 = 252;
const ZAP_CHUNK_ARRAY: u8 = 251;
const CHAIN_END: u16 = 0xffff;
const CHUNK_SIZE: usize = 24;
const ARRAY_BYTES: usize = 21;
/// MZAP_ENT_LEN.
const MZAP_ENT_LEN: usize = 64;
/// ZAP_FLAG_UINT64_KEY: keys are u64 arrays, not strings.
const ZAP_FLAG_UINT64_KEY: u64 = 1 << 1;
/// Bits of a position kept for the chunk number.
const POS_CHUNK_BITS: u32 = 20;

/// One ZAP entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name without its terminating NUL.
    pub name: Vec<u8>,
    /// Bytes per integer of the value (1, 2, 4 or 8).
    pub intlen: u8,
    /// The value's integers, big-endian (fat ZAP) — micro-ZAP values are
    /// converted to the same form.
    pub value: Vec<u8>,
}

impl Entry {
    /// The first integer of the value.
    pub fn first_int(&self) -> Option<u64> {
        let n = usize::from(self.intlen);
        let b = self.value.get(..n)?;
        Some(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
    }

    /// All integers of the value.
    pub fn ints(&self) -> Vec<u64> {
        let n = usize::from(self.intlen).max(1);
        self.value
            .chunks_exact(n)
            .map(|c| c.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
            .collect()
    }
}

/// Where a ZAP's blocks come from: an object of the pool, or (fuzzing) a
/// plain buffer.
pub trait ZapSource {
    fn obj(&self) -> u64;
    fn block_size(&self) -> u64;
    fn max_blkid(&self) -> u64;
    /// Block `blkid`, `None` for a hole.
    fn block(&self, blkid: u64) -> Result<Option<Arc<Vec<u8>>>>;
}

/// A ZAP object of the pool.
pub struct ObjZap<'a> {
    pub pool: &'a Pool,
    pub dn: &'a Dnode,
}

impl ZapSource for ObjZap<'_> {
    fn obj(&self) -> u64 {
        self.dn.obj
    }
    fn block_size(&self) -> u64 {
        self.dn.datablksz()
    }
    fn max_blkid(&self) -> u64 {
        self.dn.maxblkid()
    }
    fn block(&self, blkid: u64) -> Result<Option<Arc<Vec<u8>>>> {
        self.pool.dnode_block(self.dn, blkid)
    }
}

/// A ZAP held in a buffer of `block_size` blocks (fuzzing, tests).
pub struct BufZap {
    pub block_size: u64,
    pub data: Vec<u8>,
}

impl ZapSource for BufZap {
    fn obj(&self) -> u64 {
        0
    }
    fn block_size(&self) -> u64 {
        self.block_size
    }
    fn max_blkid(&self) -> u64 {
        (self.data.len() as u64 / self.block_size.max(1)).saturating_sub(1)
    }
    fn block(&self, blkid: u64) -> Result<Option<Arc<Vec<u8>>>> {
        let bs = self.block_size.max(1);
        let start = blkid
            .checked_mul(bs)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| Error::corrupt("block number"))?;
        Ok(self
            .data
            .get(start..start.saturating_add(bs as usize))
            .filter(|b| b.len() as u64 == bs)
            .map(|b| Arc::new(b.to_vec())))
    }
}

/// Fuzzing entry point: the first byte picks the block size (512 << n%6),
/// the rest is the ZAP object's data; lists every entry.
pub fn fuzz_zap(data: &[u8]) -> Result<Vec<Entry>> {
    let Some((&k, rest)) = data.split_first() else {
        return Err(Error::invalid("empty input"));
    };
    let z = BufZap {
        block_size: 512 << (k % 6),
        data: rest.to_vec(),
    };
    let mut v = Vec::new();
    for_each(&z, 0, &mut |_, e| {
        v.push(e);
        Ok(v.len() < 100_000)
    })?;
    Ok(v)
}

fn le64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// Calls `f(position, entry)` for every entry at or after `from`, in
/// position order, until `f` returns `false`.
pub fn for_each(
    z: &dyn ZapSource,
    from: u64,
    f: &mut dyn FnMut(u64, Entry) -> Result<bool>,
) -> Result<()> {
    let Some(b0) = z.block(0)? else {
        return Err(Error::corrupt(format!(
            "ZAP object {}: no block 0",
            z.obj()
        )));
    };
    let ty = b0
        .get(..8)
        .map(le64)
        .ok_or_else(|| Error::corrupt(format!("ZAP object {}: empty block", z.obj())))?;
    match ty {
        ZBT_MICRO => micro(&b0, from, f),
        ZBT_HEADER => fat(z, &b0, from, f),
        other => Err(Error::corrupt(format!(
            "ZAP object {}: block type {other:#x}",
            z.obj()
        ))),
    }
}

fn micro(b0: &[u8], from: u64, f: &mut dyn FnMut(u64, Entry) -> Result<bool>) -> Result<()> {
    let n = (b0.len() / MZAP_ENT_LEN).saturating_sub(1);
    for i in usize::try_from(from).unwrap_or(usize::MAX)..n {
        let at = (i + 1) * MZAP_ENT_LEN;
        let Ok((e, _)) = mzap_ent_phys_t::read_from_prefix(&b0[at..]) else {
            break;
        };
        if e.mze_name[0] == 0 {
            continue;
        }
        let len = e.mze_name.iter().position(|&c| c == 0).unwrap_or(50);
        let entry = Entry {
            name: e.mze_name[..len].to_vec(),
            intlen: 8,
            value: e.mze_value.get().to_be_bytes().to_vec(),
        };
        if !f(i as u64, entry)? {
            break;
        }
    }
    Ok(())
}

/// Block shift of a fat ZAP (its data block size must be a power of two).
fn block_shift(z: &dyn ZapSource) -> Result<u32> {
    let bs = z.block_size();
    if !bs.is_power_of_two() || bs < 512 {
        return Err(Error::corrupt(format!(
            "fat ZAP object {}: block size {bs}",
            z.obj()
        )));
    }
    Ok(bs.trailing_zeros())
}

/// The set of leaf blocks the pointer table names.
fn leaf_blocks(z: &dyn ZapSource, b0: &[u8], hdr: &zap_phys_t) -> Result<BTreeSet<u64>> {
    let shift = block_shift(z)?;
    let bs = 1u64 << shift;
    let mut set = BTreeSet::new();
    let zt_shift = hdr.zt_shift.get();
    if zt_shift > 63 || (1u64 << zt_shift) > ZAP_MAX_PTRTBL {
        return Err(Error::limit(format!(
            "fat ZAP object {}: pointer table of 2^{zt_shift} entries > {ZAP_MAX_PTRTBL}",
            z.obj()
        )));
    }
    let entries = 1u64 << zt_shift;
    let mut add = |blk: u64| -> Result<()> {
        if blk == 0 || blk > z.max_blkid() {
            return Err(Error::corrupt(format!(
                "fat ZAP object {}: pointer to block {blk} (max {})",
                z.obj(),
                z.max_blkid()
            )));
        }
        set.insert(blk);
        Ok(())
    };
    if hdr.zt_numblks.get() == 0 {
        // Embedded table: the second half of block 0.
        let half = b0.len() / 2;
        let n = usize::try_from(entries).unwrap_or(usize::MAX).min(half / 8);
        for i in 0..n {
            add(le64(&b0[half + i * 8..]))?;
        }
    } else {
        let per = bs / 8;
        let nblks = entries.div_ceil(per);
        if hdr.zt_numblks.get() < nblks {
            return Err(Error::corrupt(format!(
                "fat ZAP object {}: pointer table of {} blocks < {nblks}",
                z.obj(),
                hdr.zt_numblks.get()
            )));
        }
        for k in 0..nblks {
            let blk = hdr
                .zt_blk
                .get()
                .checked_add(k)
                .ok_or_else(|| Error::corrupt("fat ZAP: pointer table block"))?;
            let Some(b) = z.block(blk)? else {
                return Err(Error::corrupt(format!(
                    "fat ZAP object {}: pointer table block {blk} is a hole",
                    z.obj()
                )));
            };
            let left = entries - k * per;
            for i in 0..usize::try_from(left.min(per)).unwrap_or(0).min(b.len() / 8) {
                add(le64(&b[i * 8..]))?;
            }
        }
    }
    Ok(set)
}

/// Reads a chain of array chunks holding `len` bytes. Each chunk of a leaf
/// belongs to one chain: `used` marks those taken, so chains that loop or
/// share chunks (which would let one small leaf decode to gigabytes) fail.
fn read_array(
    leaf: &[u8],
    chunks_at: usize,
    used: &mut [bool],
    first: u16,
    len: usize,
) -> Result<Vec<u8>> {
    let nchunks = used.len();
    let mut out = Vec::with_capacity(len.min(ZAP_MAX_VALUE));
    let mut c = first;
    let mut hops = 0usize;
    while out.len() < len {
        hops += 1;
        if c == CHAIN_END || usize::from(c) >= nchunks || hops > ZAP_MAX_ARRAY_CHUNKS {
            return Err(Error::corrupt(format!(
                "ZAP leaf: array chain at chunk {c} ends before {len} bytes"
            )));
        }
        if std::mem::replace(&mut used[usize::from(c)], true) {
            return Err(Error::corrupt(format!(
                "ZAP leaf: array chunk {c} is in a chain twice"
            )));
        }
        let at = chunks_at + usize::from(c) * CHUNK_SIZE;
        let Ok((a, _)) = zap_leaf_array::read_from_prefix(&leaf[at..]) else {
            return Err(Error::corrupt("ZAP leaf: chunk past the block"));
        };
        if a.la_type != ZAP_CHUNK_ARRAY {
            return Err(Error::corrupt(format!(
                "ZAP leaf: chunk {c} of type {} in an array chain",
                a.la_type
            )));
        }
        let take = (len - out.len()).min(ARRAY_BYTES);
        out.extend_from_slice(&a.la_array[..take]);
        c = a.la_next.get();
    }
    Ok(out)
}

fn fat(
    z: &dyn ZapSource,
    b0: &[u8],
    from: u64,
    f: &mut dyn FnMut(u64, Entry) -> Result<bool>,
) -> Result<()> {
    let hdr = zap_phys_t::read_from_prefix(b0)
        .map_err(|_| Error::corrupt("fat ZAP: header truncated"))?
        .0;
    if hdr.zap_magic.get() != ZAP_MAGIC {
        return Err(Error::corrupt(format!(
            "fat ZAP object {}: magic {:#x}",
            z.obj(),
            hdr.zap_magic.get()
        )));
    }
    let u64_keys = hdr.zap_flags.get() & ZAP_FLAG_UINT64_KEY != 0;
    let leaves = leaf_blocks(z, b0, &hdr)?;
    let shift = block_shift(z)?;
    let bs = 1usize << shift;
    let hash_ents = 1usize << (shift - 5);
    let chunks_at = 48 + 2 * hash_ents;
    let nchunks = (bs - 2 * hash_ents) / CHUNK_SIZE - 2;
    let from_leaf = from >> POS_CHUNK_BITS;
    let from_chunk = (from & ((1 << POS_CHUNK_BITS) - 1)) as usize;
    let mut seen = 0usize;
    for &blk in leaves.range(from_leaf..) {
        if blk >= 1 << (64 - POS_CHUNK_BITS) {
            return Err(Error::corrupt(format!("fat ZAP: leaf block {blk}")));
        }
        let Some(leaf) = z.block(blk)? else {
            return Err(Error::corrupt(format!(
                "fat ZAP object {}: leaf block {blk} is a hole",
                z.obj()
            )));
        };
        if leaf.len() < bs {
            return Err(Error::corrupt(format!(
                "fat ZAP object {}: short leaf",
                z.obj()
            )));
        }
        let lh = zap_leaf_header::read_from_prefix(&leaf[..])
            .map_err(|_| Error::corrupt("ZAP leaf: header truncated"))?
            .0;
        if lh.lh_block_type.get() != ZBT_LEAF || lh.lh_magic.get() != ZAP_LEAF_MAGIC {
            return Err(Error::corrupt(format!(
                "fat ZAP object {}: block {blk} is not a leaf",
                z.obj()
            )));
        }
        let start = if blk == from_leaf { from_chunk } else { 0 };
        let mut used = vec![false; nchunks];
        for c in start..nchunks {
            let at = chunks_at + c * CHUNK_SIZE;
            let Ok((e, _)) = zap_leaf_entry::read_from_prefix(&leaf[at..]) else {
                break;
            };
            if e.le_type != ZAP_CHUNK_ENTRY {
                continue;
            }
            seen += 1;
            if seen > ZAP_MAX_ENTRIES {
                return Err(Error::limit(format!(
                    "fat ZAP object {}: more than {ZAP_MAX_ENTRIES} entries",
                    z.obj()
                )));
            }
            let name_int = if u64_keys { 8 } else { 1 };
            let name_len = usize::from(e.le_name_numints.get()) * name_int;
            if name_len > ZAP_MAX_NAME {
                return Err(Error::limit(format!(
                    "ZAP entry name of {name_len} bytes > {ZAP_MAX_NAME}"
                )));
            }
            let intlen = e.le_value_intlen;
            if !matches!(intlen, 1 | 2 | 4 | 8) {
                return Err(Error::corrupt(format!(
                    "ZAP entry: value integer length {intlen}"
                )));
            }
            let vlen = usize::from(e.le_value_numints.get()) * usize::from(intlen);
            if vlen > ZAP_MAX_VALUE {
                return Err(Error::limit(format!(
                    "ZAP entry value of {vlen} bytes > {ZAP_MAX_VALUE}"
                )));
            }
            let mut name =
                read_array(&leaf, chunks_at, &mut used, e.le_name_chunk.get(), name_len)?;
            if !u64_keys && name.last() == Some(&0) {
                name.pop();
            }
            let value = read_array(&leaf, chunks_at, &mut used, e.le_value_chunk.get(), vlen)?;
            let pos = (blk << POS_CHUNK_BITS) | c as u64;
            if !f(
                pos,
                Entry {
                    name,
                    intlen,
                    value,
                },
            )? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Looks `name` up by scanning (names are compared byte for byte, which
/// also works for normalized ZAPs: they store names as given).
pub fn lookup(pool: &Pool, dn: &Dnode, name: &[u8]) -> Result<Option<Entry>> {
    let mut found = None;
    for_each(&ObjZap { pool, dn }, 0, &mut |_, e| {
        if e.name == name {
            found = Some(e);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// Looks up a name whose value is one integer.
pub fn lookup_int(pool: &Pool, dn: &Dnode, name: &[u8]) -> Result<Option<u64>> {
    Ok(lookup(pool, dn, name)?.and_then(|e| e.first_int()))
}

/// Every entry (bounded by ZAP_MAX_ENTRIES).
pub fn all(pool: &Pool, dn: &Dnode) -> Result<Vec<Entry>> {
    let mut v = Vec::new();
    for_each(&ObjZap { pool, dn }, 0, &mut |_, e| {
        if v.len() >= ZAP_MAX_ENTRIES {
            return Err(Error::limit(format!(
                "ZAP object {}: more than {ZAP_MAX_ENTRIES} entries",
                dn.obj
            )));
        }
        v.push(e);
        Ok(true)
    })?;
    Ok(v)
}
