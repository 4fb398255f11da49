//! jbd2 journal replay in memory (ext4 disk layout, "Journal (jbd2)"):
//! committed transactions become an overlay of filesystem blocks that later
//! reads see; nothing is ever written back.

use crate::csum;
use crate::inode::Inode;
use crate::limits::MAX_REVOKES;
use crate::map;
use crate::superblock::COMPAT_HAS_JOURNAL;
use crate::volume::Volume;
use fsimage_abi::{Error, ReadAt, Result};
use std::collections::HashMap;
use zerocopy::big_endian::U32;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `journal_header_t` (big-endian, like all of jbd2).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct JournalHeader {
    pub h_magic: U32,
    pub h_blocktype: U32,
    pub h_sequence: U32,
}

/// The start of `journal_superblock_t`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct JournalSuperblock {
    pub s_header: JournalHeader,
    pub s_blocksize: U32,
    pub s_maxlen: U32,
    pub s_first: U32,
    pub s_sequence: U32,
    pub s_start: U32,
    pub s_errno: U32,
    pub s_feature_compat: U32,
    pub s_feature_incompat: U32,
    pub s_feature_ro_compat: U32,
    pub s_uuid: [u8; 16],
    pub s_nr_users: U32,
    pub s_dynsuper: U32,
    pub s_max_transaction: U32,
    pub s_max_trans_data: U32,
    pub s_checksum_type: u8,
    pub s_padding2: [u8; 3],
    pub s_num_fc_blks: U32,
}

const JBD2_MAGIC: u32 = 0xC03B_3998;
const DESCRIPTOR_BLOCK: u32 = 1;
const COMMIT_BLOCK: u32 = 2;
const SUPERBLOCK_V1: u32 = 3;
const SUPERBLOCK_V2: u32 = 4;
const REVOKE_BLOCK: u32 = 5;

const INCOMPAT_REVOKE: u32 = 0x1;
const INCOMPAT_64BIT: u32 = 0x2;
const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
const INCOMPAT_CSUM_V2: u32 = 0x8;
const INCOMPAT_CSUM_V3: u32 = 0x10;
const INCOMPAT_FAST_COMMIT: u32 = 0x20;

/// Offset of `s_checksum` in the journal superblock.
const JSB_CHECKSUM: usize = 0xFC;
/// Offset of `h_chksum[0]` in a commit block.
const COMMIT_CHECKSUM: usize = 16;

const FLAG_ESCAPE: u32 = 1;
const FLAG_SAME_UUID: u32 = 2;
const FLAG_LAST_TAG: u32 = 8;

/// Filesystem blocks whose current contents are in the journal:
/// block -> (physical block of its copy in the journal, escaped).
#[derive(Default)]
pub struct Overlay {
    map: HashMap<u64, (u64, bool)>,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get(&self, blk: u64) -> Option<(u64, bool)> {
        self.map.get(&blk).copied()
    }
}

fn be32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// ext4 fast-commit record tags (fs/ext4/fast_commit.h). Each record is
/// `fc_tag:le16 fc_len:le16` and `fc_len` value bytes, within one block.
const EXT4_FC_TAG_ADD_RANGE: u16 = 0x0001;
const EXT4_FC_TAG_DEL_RANGE: u16 = 0x0002;
const EXT4_FC_TAG_CREAT: u16 = 0x0003;
const EXT4_FC_TAG_LINK: u16 = 0x0004;
const EXT4_FC_TAG_UNLINK: u16 = 0x0005;
const EXT4_FC_TAG_INODE: u16 = 0x0006;
const EXT4_FC_TAG_PAD: u16 = 0x0007;
/// `fc_tid:le32 fc_crc:le32`, then padding to the end of the block.
const EXT4_FC_TAG_TAIL: u16 = 0x0008;
/// `fc_features:le32 fc_tid:le32`.
const EXT4_FC_TAG_HEAD: u16 = 0x0009;

/// Whether the kernel would apply fast commits of transaction `tid` from
/// the area at log blocks `fc_first..fc_end`: it opens with a head record
/// of `tid`, and a tail record of `tid` follows whose CRC (crc32c from 0
/// over every record since the head or the last tail, the tail up to its
/// `fc_crc`) matches, before any malformed record (fast_commit.c,
/// `ext4_fc_replay_scan`). A torn or stale area is ignored, as there.
fn fast_commits_pending(log: &Log<'_>, fc_first: u64, fc_end: u64, tid: u32) -> bool {
    let mut crc = 0u32;
    for (n, j) in (fc_first..fc_end).enumerate() {
        // An unreadable block ends what the kernel could replay too.
        let Ok(b) = log.block(j) else {
            return false;
        };
        let le16 = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
        let le32 = |o: usize| {
            b.get(o..o + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        if n == 0 && le16(0) != Some(EXT4_FC_TAG_HEAD) {
            return false;
        }
        let mut at = 0usize;
        while let (Some(tag), Some(len)) = (le16(at), le16(at + 2)) {
            let val = at + 4;
            let len = usize::from(len);
            let Some(end) = val.checked_add(len).filter(|&e| e <= b.len()) else {
                return false;
            };
            let len_ok = match tag {
                EXT4_FC_TAG_ADD_RANGE => len == 16,
                EXT4_FC_TAG_DEL_RANGE => len == 12,
                EXT4_FC_TAG_CREAT | EXT4_FC_TAG_LINK | EXT4_FC_TAG_UNLINK => {
                    (9..=263).contains(&len)
                }
                EXT4_FC_TAG_INODE => len > 4,
                EXT4_FC_TAG_PAD => true,
                // A tail's value runs on to the end of its block.
                EXT4_FC_TAG_TAIL => len >= 8,
                EXT4_FC_TAG_HEAD => len == 8,
                _ => false,
            };
            if !len_ok {
                return false;
            }
            match tag {
                EXT4_FC_TAG_TAIL => {
                    crc = csum::chksum(crc, &b[at..val + 4]);
                    // A good tail is all the kernel needs to replay.
                    return le32(val) == Some(tid) && le32(val + 4) == Some(crc);
                }
                EXT4_FC_TAG_HEAD if le32(val + 4) != Some(tid) => return false,
                _ => crc = csum::chksum(crc, &b[at..end]),
            }
            at = end;
        }
    }
    false
}

/// Checks the jbd2 v2/v3 checksum of a descriptor, revoke or commit block.
fn block_csum_ok(b: &[u8], kind: u32, seed: u32) -> bool {
    let at = match kind {
        DESCRIPTOR_BLOCK | REVOKE_BLOCK => b.len() - 4,
        COMMIT_BLOCK => COMMIT_CHECKSUM,
        _ => return true,
    };
    let stored = be32(b, at);
    let c = csum::chksum(seed, &b[..at]);
    let c = csum::chksum(c, &[0; 4]);
    let c = csum::chksum(c, &b[at + 4..]);
    c == stored
}

/// Reads the replayed contents of filesystem block `blk` into `out`.
pub fn read_overlay_block(vol: &Volume, blk: u64, out: &mut [u8]) -> Result<()> {
    let Some((p, escaped)) = vol.overlay.get(blk) else {
        return Err(Error::corrupt(format!(
            "journal: block {blk} not in overlay"
        )));
    };
    vol.dev.read_exact_at(p * vol.block_size(), out)?;
    if escaped {
        out[..4].copy_from_slice(&JBD2_MAGIC.to_be_bytes());
    }
    Ok(())
}

struct Log<'a> {
    vol: &'a Volume,
    inode: Inode,
    first: u64,
    last: u64,
}

impl Log<'_> {
    fn phys(&self, j: u64) -> Result<u64> {
        match map::block_of(self.vol, &self.inode, j)? {
            Some(p) => Ok(p),
            None => Err(Error::corrupt(format!("journal: log block {j} is a hole"))),
        }
    }
    fn block(&self, j: u64) -> Result<Vec<u8>> {
        let p = self.phys(j)?;
        let mut v = vec![0u8; self.vol.geo.block_size as usize];
        self.vol
            .dev
            .read_exact_at(p * self.vol.block_size(), &mut v)?;
        Ok(v)
    }
    fn next(&self, j: u64) -> u64 {
        if j + 1 >= self.last {
            self.first
        } else {
            j + 1
        }
    }
}

/// Scans the journal and builds the overlay of committed transactions. With
/// `verify`, jbd2 checksums (v2/v3) are checked as the kernel's recovery
/// does: a bad descriptor, revoke or commit block ends the log there, a data
/// block whose tag checksum fails is not replayed.
pub fn replay(vol: &Volume, verify: bool) -> Result<Overlay> {
    if !vol.geo.has_compat(COMPAT_HAS_JOURNAL) {
        return Ok(Overlay::default());
    }
    let jino = vol.sb.s_journal_inum.get();
    if jino == 0 {
        return Err(Error::unsupported(
            "ext4 feature: journal replay from an external journal device",
        ));
    }
    let inode = vol.inode(jino)?;
    let bs = vol.block_size();
    let Some(p0) = map::block_of(vol, &inode, 0)? else {
        return Err(Error::corrupt("journal: superblock is a hole"));
    };
    let mut raw = vec![0u8; bs as usize];
    vol.dev.read_exact_at(p0 * bs, &mut raw)?;
    let Ok((jsb, _)) = JournalSuperblock::read_from_prefix(&raw[..]) else {
        return Err(Error::corrupt("journal: superblock"));
    };
    let bt = jsb.s_header.h_blocktype.get();
    if jsb.s_header.h_magic.get() != JBD2_MAGIC || !(bt == SUPERBLOCK_V1 || bt == SUPERBLOCK_V2) {
        return Err(Error::corrupt("journal: bad superblock magic"));
    }
    if u64::from(jsb.s_blocksize.get()) != bs {
        return Err(Error::corrupt(format!(
            "journal: block size {} differs from the filesystem's",
            jsb.s_blocksize.get()
        )));
    }
    if jsb.s_start.get() == 0 {
        return Ok(Overlay::default());
    }
    let csum2 = bt == SUPERBLOCK_V2 && jsb.s_feature_incompat.get() & INCOMPAT_CSUM_V2 != 0;
    let csum3 = bt == SUPERBLOCK_V2 && jsb.s_feature_incompat.get() & INCOMPAT_CSUM_V3 != 0;
    // jbd2 checksums: crc32c seeded with the CRC of the journal UUID.
    let seed = (verify && (csum2 || csum3)).then(|| csum::chksum(!0, &jsb.s_uuid));
    if seed.is_some() {
        // The superblock's own checksum is seeded with ~0, not the UUID.
        let mut sb = raw[..1024.min(raw.len())].to_vec();
        let stored = be32(&sb, JSB_CHECKSUM);
        sb[JSB_CHECKSUM..JSB_CHECKSUM + 4].fill(0);
        let c = csum::chksum(!0, &sb);
        if c != stored {
            return Err(Error::corrupt(format!(
                "journal: superblock checksum {c:#010x} != stored {stored:#010x}"
            )));
        }
    }
    let incompat = if bt == SUPERBLOCK_V2 {
        jsb.s_feature_incompat.get()
    } else {
        0
    };
    let known = INCOMPAT_REVOKE
        | INCOMPAT_64BIT
        | INCOMPAT_ASYNC_COMMIT
        | INCOMPAT_CSUM_V2
        | INCOMPAT_CSUM_V3
        | INCOMPAT_FAST_COMMIT;
    if incompat & !known != 0 {
        return Err(Error::unsupported(format!(
            "jbd2 feature flags {:#x}",
            incompat & !known
        )));
    }
    let mut last = u64::from(jsb.s_maxlen.get());
    if incompat & INCOMPAT_FAST_COMMIT != 0 {
        // The fast-commit area sits at the end; only full commits are replayed.
        let fc = match jsb.s_num_fc_blks.get() {
            0 => 256,
            n => u64::from(n),
        };
        last = last.saturating_sub(fc);
    }
    let first = u64::from(jsb.s_first.get());
    let isize_blocks = inode.size() / bs;
    if first == 0 || first >= last || last > isize_blocks {
        return Err(Error::corrupt(format!(
            "journal: log area {first}..{last} invalid for a {isize_blocks}-block journal"
        )));
    }
    let wide = incompat & INCOMPAT_64BIT != 0;
    let tag_bytes: usize = if csum3 {
        16
    } else {
        let t = if csum2 { 14 } else { 12 };
        if wide { t } else { t - 4 }
    };
    let tail = if csum2 || csum3 { 4 } else { 0 };
    let log = Log {
        vol,
        inode,
        first,
        last,
    };
    let mut pos = u64::from(jsb.s_start.get());
    if pos < first || pos >= last {
        return Err(Error::corrupt(format!(
            "journal: s_start {pos} outside the log"
        )));
    }
    let mut seq = jsb.s_sequence.get();
    let mut pending: Vec<(u64, u64, bool)> = Vec::new();
    let mut pending_revokes: Vec<u64> = Vec::new();
    let mut committed: Vec<(u32, u64, u64, bool)> = Vec::new();
    let mut revoked: HashMap<u64, u32> = HashMap::new();
    // Each step consumes at least one log block; the log is finite.
    let mut budget = last - first;
    while budget > 0 {
        let b = log.block(pos)?;
        budget -= 1;
        if be32(&b, 0) != JBD2_MAGIC || be32(&b, 8) != seq {
            break;
        }
        let kind = be32(&b, 4);
        if let Some(seed) = seed {
            if !block_csum_ok(&b, kind, seed) {
                // The kernel stops recovery at a block that fails its checksum.
                break;
            }
        }
        match kind {
            DESCRIPTOR_BLOCK => {
                let mut off = 12usize;
                let end = b.len() - tail;
                let mut data = log.next(pos);
                loop {
                    if off + tag_bytes > end {
                        break;
                    }
                    let t = &b[off..off + tag_bytes];
                    let lo = u64::from(be32(t, 0));
                    let (flags, hi, tag_csum) = if csum3 {
                        (be32(t, 4), u64::from(be32(t, 8)), be32(t, 12))
                    } else {
                        let f = u32::from(u16::from_be_bytes([t[6], t[7]]));
                        let c = u32::from(u16::from_be_bytes([t[4], t[5]]));
                        (f, if wide { u64::from(be32(t, 8)) } else { 0 }, c)
                    };
                    let blk = lo | if wide { hi << 32 } else { 0 };
                    off += tag_bytes;
                    if flags & FLAG_SAME_UUID == 0 {
                        off += 16;
                    }
                    if budget == 0 {
                        break;
                    }
                    let phys = log.phys(data)?;
                    let good = match seed {
                        Some(seed) => {
                            let d = log.block(data)?;
                            let mut c = csum::chksum(seed, &seq.to_be_bytes());
                            c = csum::chksum(c, &d);
                            if csum3 {
                                c == tag_csum
                            } else {
                                c & 0xFFFF == tag_csum
                            }
                        }
                        None => true,
                    };
                    // A data block failing its checksum is skipped, as the
                    // kernel does.
                    if good {
                        pending.push((blk, phys, flags & FLAG_ESCAPE != 0));
                    }
                    data = log.next(data);
                    budget -= 1;
                    if flags & FLAG_LAST_TAG != 0 {
                        break;
                    }
                }
                pos = data;
                continue;
            }
            COMMIT_BLOCK => {
                committed.extend(pending.drain(..).map(|(b, j, e)| (seq, b, j, e)));
                for r in pending_revokes.drain(..) {
                    let e = revoked.entry(r).or_insert(seq);
                    *e = (*e).max(seq);
                }
                seq = seq.wrapping_add(1);
            }
            REVOKE_BLOCK => {
                let count = (be32(&b, 12) as usize).min(b.len() - tail);
                let step = if wide { 8 } else { 4 };
                let mut off = 16;
                while off + step <= count {
                    let r = if wide {
                        (u64::from(be32(&b, off)) << 32) | u64::from(be32(&b, off + 4))
                    } else {
                        u64::from(be32(&b, off))
                    };
                    if pending_revokes.len() + revoked.len() >= MAX_REVOKES {
                        return Err(Error::limit(format!(
                            "journal: more than {MAX_REVOKES} revoke records (MAX_REVOKES)"
                        )));
                    }
                    pending_revokes.push(r);
                    off += step;
                }
            }
            _ => break,
        }
        pos = log.next(pos);
    }
    // Fast commits of the transaction after the last full one are what the
    // kernel would apply next (jbd2: the area starts one block past the
    // log's end, `j_fc_first = j_last + 1`). Replaying them means rebuilding
    // inodes, extents and directory entries, which this reader does not do:
    // say so rather than give an older view as the kernel's.
    let fc_first = last + 1;
    let fc_end = u64::from(jsb.s_maxlen.get());
    if incompat & INCOMPAT_FAST_COMMIT != 0
        && fc_first < fc_end
        && fast_commits_pending(&log, fc_first, fc_end, seq)
    {
        return Err(Error::unsupported(format!(
            "ext4 feature: fast-commit replay (the journal holds fast commits of \
             transaction {seq} after the last full commit; read without \
             journal=replay for the filesystem as it stands)"
        )));
    }
    let mut overlay = Overlay::default();
    for (s, blk, j, esc) in committed {
        if revoked.get(&blk).is_some_and(|&r| r >= s) {
            continue;
        }
        if blk < vol.geo.blocks_count {
            overlay.map.insert(blk, (j, esc));
        }
    }
    Ok(overlay)
}
