//! Journal replay in memory (mount option `journal=replay`), following the
//! kernel's journal_read: the journal header (the block after the log)
//! names the first unflushed transaction; if the description block there
//! is a valid transaction, it and every following valid transaction of the
//! same mount are applied, in order, to an overlay of block copies. Without
//! a usable header the whole log is scanned for the oldest valid
//! transaction of the newest mount. Nothing is ever written.
//!
//! A transaction is a description block (trans id, length, mount id, real
//! block numbers, magic "ReIsErLB" in its last 12 bytes), `len` log blocks
//! and a commit block (same trans id and length, the remaining real block
//! numbers), wrapping round the log.

use crate::limits::{MAX_JOURNAL_BLOCKS, MAX_REPLAY_BYTES};
use crate::ondisk::{JournalDescHead, JournalHeader};
use crate::superblock;
use crate::tree::Tree;
use fsimage_abi::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;
use zerocopy::FromBytes;

/// JOURNAL_DESC_MAGIC.
const DESC_MAGIC: &[u8; 8] = b"ReIsErLB";
/// Real block numbers start at these offsets in the description and
/// commit blocks.
const DESC_BLOCKS_AT: usize = 12;
const COMMIT_BLOCKS_AT: usize = 8;

struct Log<'a> {
    tree: &'a Tree,
    first: u32,
    size: u32,
    trans_max: u32,
    /// journal_trans_half: real block numbers a description block holds.
    half: u32,
}

/// One valid transaction found in the log.
struct Trans {
    id: u32,
    len: u32,
    mount_id: u32,
    desc: Vec<u8>,
    commit: Vec<u8>,
}

fn word(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

impl Log<'_> {
    /// Log block at `off` (taken modulo the log size).
    fn block(&self, off: u32) -> Result<Vec<u8>> {
        // size > 0 is checked before any read; first + size was checked
        // against the block count.
        let blk = self.first + off % self.size;
        self.tree
            .read_block(blk, &|| format!("journal block {blk}"))
    }

    /// The transaction whose description block is at `off`, if it is
    /// valid (journal_transaction_is_valid and the commit comparison).
    fn transaction(&self, off: u32) -> Result<Option<Trans>> {
        let desc = self.block(off)?;
        let Ok((h, _)) = JournalDescHead::read_from_prefix(&desc) else {
            return Ok(None);
        };
        let (id, len, mount_id) = (h.j_trans_id.get(), h.j_len.get(), h.j_mount_id.get());
        let magic_at = desc.len() - 12;
        if len == 0 || desc.get(magic_at..magic_at + 8) != Some(&DESC_MAGIC[..]) {
            return Ok(None);
        }
        // Desc + blocks + commit must fit in the log, and every real block
        // number must have a slot in the description or commit block.
        if len > self.trans_max || u64::from(len) + 2 > u64::from(self.size) || len > 2 * self.half
        {
            return Ok(None);
        }
        let commit = self.block(off % self.size + len + 1)?;
        let Ok((c, _)) = JournalDescHead::read_from_prefix(&commit) else {
            return Ok(None);
        };
        if c.j_trans_id.get() != id || c.j_len.get() != len {
            return Ok(None);
        }
        Ok(Some(Trans {
            id,
            len,
            mount_id,
            desc,
            commit,
        }))
    }

    /// Real block number `i` of a transaction.
    fn real_block(&self, t: &Trans, i: u32) -> Option<u32> {
        if i < self.half {
            word(&t.desc, DESC_BLOCKS_AT + 4 * i as usize)
        } else {
            word(&t.commit, COMMIT_BLOCKS_AT + 4 * (i - self.half) as usize)
        }
    }
}

/// Replays committed transactions into `tree.overlay`; returns how many.
pub fn replay(tree: &mut Tree) -> Result<usize> {
    let g = tree.geo.clone();
    if g.journal_dev != 0 {
        return Err(Error::unsupported(format!(
            "reiserfs: journal replay from another device ({:#x})",
            g.journal_dev
        )));
    }
    let (first, size) = (g.journal_1st_block, g.journal_size);
    if size == 0 {
        return Ok(0);
    }
    if !(3..=MAX_JOURNAL_BLOCKS).contains(&size) {
        return Err(Error::corrupt(format!(
            "journal: {size} blocks (must be 3..={MAX_JOURNAL_BLOCKS})"
        )));
    }
    // The header block follows the log.
    let header_blk = first
        .checked_add(size)
        .filter(|&h| h < g.block_count)
        .ok_or_else(|| {
            Error::corrupt(format!(
                "journal: blocks {first}+{size} past the filesystem ({} blocks)",
                g.block_count
            ))
        })?;
    let bs = g.block_size;
    let half = (bs - 24) / 4;
    let trans_max = if g.journal_trans_max == 0 {
        1024
    } else {
        g.journal_trans_max
    };
    // Blocks a replay may never write: the log, its header and the area
    // kept for it (is_block_in_log_or_reserved_area).
    let reserved = if g.jr {
        u32::from(g.reserved_for_journal).max(size + 1)
    } else {
        size + 1
    };
    let mut overlay: HashMap<u32, Arc<[u8]>> = HashMap::new();
    let count;
    {
        let log = Log {
            tree,
            first,
            size,
            trans_max,
            half,
        };
        let hb = tree.read_block(header_blk, &|| "journal header".into())?;
        let jh = JournalHeader::read_from_prefix(&hb)
            .map_err(|_| Error::corrupt("journal header: short block"))?
            .0;
        let unflushed = jh.j_first_unflushed_offset.get();
        let last_flush = jh.j_last_flush_trans_id.get();
        let (start, oldest_id, mount_id) = if unflushed < size && last_flush > 0 {
            // Clean unmount: the header points at an invalid transaction.
            if log.transaction(unflushed)?.is_none() {
                return Ok(0);
            }
            let Some(oldest) = last_flush.checked_add(1) else {
                return Ok(0);
            };
            (unflushed, oldest, jh.j_mount_id.get())
        } else {
            // Scan the whole log for the oldest valid transaction of the
            // newest mount.
            let mut best: Option<(u32, u32)> = None;
            let mut newest_mount = 0u32;
            let mut off = 0u32;
            while off < size {
                match log.transaction(off)? {
                    Some(t) if t.mount_id >= newest_mount => {
                        if t.mount_id > newest_mount {
                            best = None;
                            newest_mount = t.mount_id;
                        }
                        if best.is_none_or(|(_, id)| t.id < id) {
                            best = Some((off, t.id));
                        }
                        off = off.saturating_add(t.len + 2);
                    }
                    _ => off += 1,
                }
            }
            let Some((start, id)) = best else {
                return Ok(0);
            };
            (start, id, newest_mount)
        };
        let mut cur = start;
        let mut n = 0usize;
        // Log blocks the replay has walked: one lap round the log at most
        // (a hostile log of self-matching blocks would otherwise let every
        // offset start a transaction, lap after lap).
        let mut walked = 0u64;
        // Each transaction takes at least three log blocks, so a log of
        // `size` blocks holds fewer than `size` of them.
        while n < size as usize {
            let Some(t) = log.transaction(cur)? else {
                break;
            };
            if t.id < oldest_id || t.mount_id != mount_id {
                break;
            }
            walked += u64::from(t.len) + 2;
            if walked > u64::from(size) {
                break;
            }
            for i in 0..t.len {
                let real = log.real_block(&t, i).ok_or_else(|| {
                    Error::corrupt(format!("journal transaction {}: block list", t.id))
                })?;
                if real >= g.block_count {
                    return Err(Error::corrupt(format!(
                        "journal transaction {}: block {real} past the filesystem ({} blocks)",
                        t.id, g.block_count
                    )));
                }
                if real >= first && real - first < reserved {
                    return Err(Error::corrupt(format!(
                        "journal transaction {}: replays onto log block {real}",
                        t.id
                    )));
                }
                let data = log.block(cur % size + 1 + i)?;
                overlay.insert(real, data.into());
                if overlay.len() as u64 * u64::from(bs) > MAX_REPLAY_BYTES {
                    return Err(Error::limit(format!(
                        "journal replay: more than {MAX_REPLAY_BYTES} bytes of block copies"
                    )));
                }
            }
            n += 1;
            cur = (cur % size + t.len + 2) % size;
            if cur == start {
                break;
            }
        }
        count = n;
    }
    // The superblock is journaled too: take the replayed copy's geometry.
    let sb_blk = g.sb_offset / u64::from(bs);
    if let Some(b) = u32::try_from(sb_blk).ok().and_then(|k| overlay.get(&k)) {
        let within = (g.sb_offset % u64::from(bs)) as usize;
        let newg =
            superblock::from_bytes(b.get(within..).unwrap_or(&[]), g.sb_offset, tree.dev_size())?;
        if newg.block_size != g.block_size {
            return Err(Error::corrupt(
                "journal: replayed superblock changes the block size",
            ));
        }
        tree.geo = newg;
    }
    tree.overlay = overlay;
    Ok(count)
}
