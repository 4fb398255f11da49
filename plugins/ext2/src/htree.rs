//! Hashed directory lookup (ext4 disk layout, "Hash Tree Directories"): the
//! name hashes (legacy, half-MD4, TEA; signed and unsigned char variants) and
//! the descent through dx_root/dx_node blocks to the leaf holding a name.

use crate::csum;
use crate::dir;
use crate::inode::{EXT4_CASEFOLD_FL, Inode};
use crate::limits::{MAX_HTREE_LEAF_CHAIN, MAX_HTREE_LEVELS, MAX_HTREE_LEVELS_LARGEDIR};
use crate::superblock::{EXT2_FLAGS_UNSIGNED_HASH, INCOMPAT_CASEFOLD, INCOMPAT_LARGEDIR};
use crate::volume::Volume;
use fsimage_abi::{Error, Result};
use std::sync::Arc;
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct dx_root_info`, after the "." and ".." entries of block 0.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DxRootInfo {
    pub reserved_zero: U32,
    pub hash_version: u8,
    pub info_length: u8,
    pub indirect_levels: u8,
    pub unused_flags: u8,
}

/// `struct dx_countlimit` (overlays the first `dx_entry`'s hash).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DxCountlimit {
    pub limit: U16,
    pub count: U16,
}

/// `struct dx_entry`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DxEntry {
    pub hash: U32,
    pub block: U32,
}

/// `struct dx_tail` (metadata_csum), after `limit` entries.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct DxTail {
    pub dt_reserved: U32,
    pub dt_checksum: U32,
}

pub const DX_HASH_LEGACY: u8 = 0;
pub const DX_HASH_HALF_MD4: u8 = 1;
pub const DX_HASH_TEA: u8 = 2;
pub const DX_HASH_LEGACY_UNSIGNED: u8 = 3;
pub const DX_HASH_HALF_MD4_UNSIGNED: u8 = 4;
pub const DX_HASH_TEA_UNSIGNED: u8 = 5;

const HTREE_EOF_32BIT: u32 = 0x7FFF_FFFF;

fn char_val(c: u8, signed: bool) -> u32 {
    if signed {
        c as i8 as i32 as u32
    } else {
        u32::from(c)
    }
}

/// Packs up to `num` words of the name, padded with a length pattern.
fn str2hashbuf(msg: &[u8], num: usize, signed: bool, out: &mut [u32; 8]) {
    let len = msg.len() as u32;
    let mut pad = len | (len << 8);
    pad |= pad << 16;
    let mut val = pad;
    let take = msg.len().min(num * 4);
    let mut w = 0usize;
    for (i, &c) in msg[..take].iter().enumerate() {
        val = char_val(c, signed).wrapping_add(val << 8);
        if i % 4 == 3 {
            out[w] = val;
            w += 1;
            val = pad;
        }
    }
    if w < num {
        out[w] = val;
        w += 1;
    }
    while w < num {
        out[w] = pad;
        w += 1;
    }
}

fn half_md4_transform(buf: &mut [u32; 4], inp: &[u32; 8]) {
    let (mut a, mut b, mut c, mut d) = (buf[0], buf[1], buf[2], buf[3]);
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    let g = |x: u32, y: u32, z: u32| (x & y).wrapping_add((x ^ y) & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    const K2: u32 = 0x5A82_7999;
    const K3: u32 = 0x6ED9_EBA1;
    macro_rules! round {
        ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $x:expr, $s:expr) => {
            $a = $a
                .wrapping_add($f($b, $c, $d))
                .wrapping_add($x)
                .rotate_left($s);
        };
    }
    round!(f, a, b, c, d, inp[0], 3);
    round!(f, d, a, b, c, inp[1], 7);
    round!(f, c, d, a, b, inp[2], 11);
    round!(f, b, c, d, a, inp[3], 19);
    round!(f, a, b, c, d, inp[4], 3);
    round!(f, d, a, b, c, inp[5], 7);
    round!(f, c, d, a, b, inp[6], 11);
    round!(f, b, c, d, a, inp[7], 19);

    round!(g, a, b, c, d, inp[1].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[3].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[5].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[7].wrapping_add(K2), 13);
    round!(g, a, b, c, d, inp[0].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[2].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[4].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[6].wrapping_add(K2), 13);

    round!(h, a, b, c, d, inp[3].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[7].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[2].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[6].wrapping_add(K3), 15);
    round!(h, a, b, c, d, inp[1].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[5].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[0].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[4].wrapping_add(K3), 15);

    buf[0] = buf[0].wrapping_add(a);
    buf[1] = buf[1].wrapping_add(b);
    buf[2] = buf[2].wrapping_add(c);
    buf[3] = buf[3].wrapping_add(d);
}

fn tea_transform(buf: &mut [u32; 4], inp: &[u32; 8]) {
    let mut sum = 0u32;
    let (mut b0, mut b1) = (buf[0], buf[1]);
    let (a, b, c, d) = (inp[0], inp[1], inp[2], inp[3]);
    for _ in 0..16 {
        sum = sum.wrapping_add(0x9E37_79B9);
        b0 = b0.wrapping_add(
            ((b1 << 4).wrapping_add(a)) ^ (b1.wrapping_add(sum)) ^ ((b1 >> 5).wrapping_add(b)),
        );
        b1 = b1.wrapping_add(
            ((b0 << 4).wrapping_add(c)) ^ (b0.wrapping_add(sum)) ^ ((b0 >> 5).wrapping_add(d)),
        );
    }
    buf[0] = buf[0].wrapping_add(b0);
    buf[1] = buf[1].wrapping_add(b1);
}

fn dx_hack_hash(name: &[u8], signed: bool) -> u32 {
    let (mut hash0, mut hash1) = (0x12A3_FE2Du32, 0x37AB_E8F9u32);
    for &c in name {
        let mut hash = hash1.wrapping_add(hash0 ^ char_val(c, signed).wrapping_mul(7_152_373));
        if hash & 0x8000_0000 != 0 {
            hash = hash.wrapping_sub(0x7FFF_FFFF);
        }
        hash1 = hash0;
        hash0 = hash;
    }
    hash0 << 1
}

/// The major hash of `name` for hash version `version` (already adjusted
/// for unsigned char), or `None` for a version this reader cannot compute.
pub fn name_hash(name: &[u8], version: u8, seed: &[u32; 4]) -> Option<u32> {
    let mut buf = [0x6745_2301u32, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476];
    if seed.iter().any(|&s| s != 0) {
        buf = *seed;
    }
    let mut inp = [0u32; 8];
    let hash = match version {
        DX_HASH_LEGACY | DX_HASH_LEGACY_UNSIGNED => dx_hack_hash(name, version == DX_HASH_LEGACY),
        DX_HASH_HALF_MD4 | DX_HASH_HALF_MD4_UNSIGNED => {
            let signed = version == DX_HASH_HALF_MD4;
            // Each block pads with the length of what is left of the name.
            let mut rest = name;
            while !rest.is_empty() {
                str2hashbuf(rest, 8, signed, &mut inp);
                half_md4_transform(&mut buf, &inp);
                rest = rest.get(32..).unwrap_or(&[]);
            }
            buf[1]
        }
        DX_HASH_TEA | DX_HASH_TEA_UNSIGNED => {
            let signed = version == DX_HASH_TEA;
            let mut rest = name;
            while !rest.is_empty() {
                str2hashbuf(rest, 4, signed, &mut inp);
                tea_transform(&mut buf, &inp);
                rest = rest.get(16..).unwrap_or(&[]);
            }
            buf[0]
        }
        _ => return None,
    };
    let hash = hash & !1;
    Some(if hash == HTREE_EOF_32BIT << 1 {
        (HTREE_EOF_32BIT - 1) << 1
    } else {
        hash
    })
}

fn rd<T: FromBytes>(b: &[u8], off: usize) -> Option<T> {
    T::read_from_prefix(b.get(off..)?).ok().map(|(v, _)| v)
}

/// One index node on the path to a leaf.
struct Level {
    node: Arc<[u8]>,
    /// Offset of the countlimit / first dx_entry.
    entries: usize,
    count: usize,
    at: usize,
}

impl Level {
    fn hash(&self, i: usize) -> u32 {
        rd::<DxEntry>(&self.node, self.entries + 8 * i).map_or(0, |e| e.hash.get())
    }
    fn block(&self, i: usize) -> u64 {
        rd::<DxEntry>(&self.node, self.entries + 8 * i)
            .map_or(0, |e| u64::from(e.block.get() & 0x0FFF_FFFF))
    }
}

/// Looks `name` up through the htree of directory `dir`. `Ok(None)` means the
/// htree cannot be used (the caller scans linearly instead).
pub fn lookup(vol: &Volume, dir: &Inode, name: &[u8]) -> Result<Option<Option<u32>>> {
    let ino = dir.ino;
    // A casefolded directory hashes the folded name. Folding ASCII is
    // lower-casing; other names need Unicode tables, so they are scanned.
    let folded;
    let hashed = if dir.has_flag(EXT4_CASEFOLD_FL) && vol.geo.has_incompat(INCOMPAT_CASEFOLD) {
        if !name.is_ascii() {
            return Ok(None);
        }
        folded = name.to_ascii_lowercase();
        &folded[..]
    } else {
        name
    };
    let bs = vol.block_size();
    let nblocks = dir::dir_blocks(vol, dir)?;
    let Some(root) = dir::dir_block(vol, dir, 0)? else {
        return Ok(None);
    };
    let Some(info) = rd::<DxRootInfo>(&root, 24) else {
        return Ok(None);
    };
    let max_levels = if vol.geo.has_incompat(INCOMPAT_LARGEDIR) {
        MAX_HTREE_LEVELS_LARGEDIR
    } else {
        MAX_HTREE_LEVELS
    };
    let levels = usize::from(info.indirect_levels) + 1;
    if info.reserved_zero.get() != 0 || info.info_length != 8 || levels > max_levels {
        return Ok(None);
    }
    let mut version = info.hash_version;
    if version <= DX_HASH_TEA && vol.sb.s_flags.get() & EXT2_FLAGS_UNSIGNED_HASH != 0 {
        version += 3;
    }
    let seed = vol.sb.s_hash_seed.each_ref().map(|s| s.get());
    let Some(hash) = name_hash(hashed, version, &seed) else {
        return Ok(None);
    };
    let inode_seed = vol.csum_seed.map(|s| dir.csum_seed(s));
    let mut path: Vec<Level> = Vec::with_capacity(levels);
    let mut node = root;
    let mut entries = 32usize;
    let mut blk;
    loop {
        let lvl = index_level(node, entries, hash, ino, inode_seed, bs)?;
        blk = lvl.block(lvl.at);
        path.push(lvl);
        if path.len() == levels {
            break;
        }
        node = index_block(vol, dir, blk, nblocks)?;
        entries = 8;
    }
    // Leaves in hash order; a name may continue into the next leaf when the
    // next index entry carries the same hash.
    let chain = nblocks.clamp(1, MAX_HTREE_LEAF_CHAIN);
    for _ in 0..chain {
        if blk >= nblocks {
            return Err(Error::corrupt(format!(
                "directory {ino}: htree points at block {blk} past the directory end"
            )));
        }
        if let Some(leaf) = dir::dir_block(vol, dir, blk)? {
            if let Some(found) = dir::find_in_block(vol, dir, &leaf, name)? {
                return Ok(Some(Some(found)));
            }
        }
        // Step to the next leaf: up to the first level with an entry left.
        let Some(up) = path.iter().rposition(|l| l.at + 1 < l.count) else {
            return Ok(Some(None));
        };
        path[up].at += 1;
        let next_hash = path[up].hash(path[up].at);
        if next_hash & !1 != hash {
            return Ok(Some(None));
        }
        blk = path[up].block(path[up].at);
        path.truncate(up + 1);
        while path.len() < levels {
            let node = index_block(vol, dir, blk, nblocks)?;
            let mut lvl = index_level(node, 8, hash, ino, inode_seed, bs)?;
            lvl.at = 0;
            blk = lvl.block(0);
            path.push(lvl);
        }
    }
    if chain == MAX_HTREE_LEAF_CHAIN {
        return Err(Error::limit(format!(
            "directory {ino}: htree leaf chain for one hash longer than {MAX_HTREE_LEAF_CHAIN} leaves (MAX_HTREE_LEAF_CHAIN)"
        )));
    }
    Err(Error::corrupt(format!(
        "directory {ino}: htree leaf chain longer than the directory"
    )))
}

fn index_block(vol: &Volume, dir: &Inode, blk: u64, nblocks: u64) -> Result<Arc<[u8]>> {
    if blk >= nblocks {
        return Err(Error::corrupt(format!(
            "directory {}: htree index points at block {blk} past the directory end",
            dir.ino
        )));
    }
    dir::dir_block(vol, dir, blk)?.ok_or_else(|| {
        Error::corrupt(format!(
            "directory {}: htree index block {blk} is a hole",
            dir.ino
        ))
    })
}

/// Checks one index node and picks the entry for `hash`.
fn index_level(
    node: Arc<[u8]>,
    entries: usize,
    hash: u32,
    ino: u32,
    seed: Option<u32>,
    bs: u64,
) -> Result<Level> {
    let bad = |what: String| Error::corrupt(format!("directory {ino}: htree node: {what}"));
    let Some(cl) = rd::<DxCountlimit>(&node, entries) else {
        return Err(bad("truncated".into()));
    };
    let (limit, count) = (usize::from(cl.limit.get()), usize::from(cl.count.get()));
    let tail = if seed.is_some() { 8 } else { 0 };
    if count == 0 || count > limit || (entries + 8 * limit + tail) as u64 > bs {
        return Err(bad(format!("count {count} / limit {limit} invalid")));
    }
    if let Some(seed) = seed {
        let t = entries + 8 * limit;
        let Some(dt) = rd::<DxTail>(&node, t) else {
            return Err(bad("no checksum tail".into()));
        };
        let mut c = csum::chksum(seed, &node[..entries + 8 * count]);
        // The whole tail counts, with dt_checksum as zero.
        c = csum::chksum(c, &node[t..t + 4]);
        c = csum::chksum(c, &[0; 4]);
        if c != dt.dt_checksum.get() {
            return Err(bad(format!(
                "checksum {c:#010x} != stored {:#010x}",
                dt.dt_checksum.get()
            )));
        }
    }
    let mut lvl = Level {
        node,
        entries,
        count,
        at: 0,
    };
    // Last entry whose hash is <= the name's (entry 0 has no hash).
    let (mut lo, mut hi) = (1usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if lvl.hash(mid) > hash {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lvl.at = lo - 1;
    Ok(lvl)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by e2fsprogs 1.47.0 `debugfs -R "dx_hash -h N NAME"`.
    #[test]
    fn hashes_match_e2fsprogs() {
        let names: [&[u8]; 4] = [
            b"a",
            b"hello-world.txt",
            "ent\u{e9}-00042-\u{ff}".as_bytes(),
            b"a-name-longer-than-thirty-two-bytes-for-md4-blocks",
        ];
        let want: [[u32; 4]; 6] = [
            [0xe74b53e2, 0x79413e1e, 0x50d3f44e, 0xbb5c4426],
            [0xd5fa7d7a, 0xcd643256, 0x10fcf384, 0x455a141c],
            [0x6d0ea4c0, 0xe05d56e6, 0xfea833fe, 0xf74e6538],
            [0xe74b53e2, 0x79413e1e, 0x74a417ce, 0xbb5c4426],
            [0xd5fa7d7a, 0xcd643256, 0x9f34a4e4, 0x455a141c],
            [0x6d0ea4c0, 0xe05d56e6, 0x6215213e, 0xf74e6538],
        ];
        for (v, row) in want.iter().enumerate() {
            for (n, &h) in names.iter().zip(row) {
                assert_eq!(name_hash(n, v as u8, &[0; 4]), Some(h), "version {v}");
            }
        }
        // -s 00112233-4455-6677-8899-aabbccddeeff
        let seed = [0x33221100, 0x77665544, 0xbbaa9988, 0xffeeddcc];
        assert_eq!(name_hash(b"hello-world.txt", 1, &seed), Some(0xab687da4));
        assert_eq!(name_hash(b"hello-world.txt", 2, &seed), Some(0x865de1f8));
        assert_eq!(name_hash(b"x", 6, &seed), None);
    }

    #[test]
    fn str2hashbuf_pads_with_length() {
        let mut out = [0u32; 8];
        str2hashbuf(b"a", 4, false, &mut out);
        let pad = 0x0101_0101u32;
        assert_eq!(out[0], 0x61u32.wrapping_add(pad << 8));
        assert_eq!(&out[1..4], &[pad, pad, pad]);
    }
}
