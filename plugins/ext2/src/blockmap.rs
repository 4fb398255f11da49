//! Classic block maps (ext4 disk layout, "Direct/Indirect Block Addressing"):
//! 12 direct pointers, then single, double and triple indirect blocks.

use crate::inode::Inode;
use crate::map::Cover;
use crate::volume::Volume;
use fsimage_abi::Result;
use std::sync::Arc;

const DIRECT: u64 = 12;

fn le32(b: &[u8], i: usize) -> u64 {
    b.get(i * 4..i * 4 + 4).map_or(0, |s| {
        u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    })
}

/// Number of logical blocks a block map can address.
pub fn max_blocks(block_size: u32) -> u64 {
    let p = u64::from(block_size / 4);
    DIRECT + p + p * p + p * p * p
}

/// Feeds the map of `inode` from `cover.cur` into `cover`.
pub fn walk(vol: &Volume, inode: &Inode, cover: &mut Cover<'_, '_>) -> Result<()> {
    let p = u64::from(vol.geo.block_size / 4);
    let ib = inode.i_block();
    loop {
        let lblk = cover.cur;
        if lblk >= cover.end {
            return Ok(());
        }
        // Locate the array of leaf pointers holding lblk.
        let (array, first, index): (Arc<[u8]>, u64, u64);
        if lblk < DIRECT {
            array = Arc::from(&ib[..48]);
            first = 0;
            index = lblk;
        } else {
            let mut rel = lblk - DIRECT;
            let mut base = DIRECT;
            let mut depth = 1u32;
            let mut span = p;
            while rel >= span {
                rel -= span;
                base += span;
                depth += 1;
                if depth > 3 {
                    // Past what a block map can address: the rest is a hole.
                    return Ok(());
                }
                span *= p;
            }
            let mut node = le32(ib, 11 + depth as usize);
            let mut covered = span;
            let mut hole = None;
            let mut node_base = base;
            for _level in (1..depth).rev() {
                if node == 0 {
                    hole = Some(node_base + covered);
                    break;
                }
                let blk =
                    vol.meta_block(node, || format!("inode {}: indirect block", inode.ino))?;
                let child = covered / p;
                let idx = rel / child;
                node = le32(&blk, idx as usize);
                rel %= child;
                node_base += idx * child;
                covered = child;
            }
            if let Some(next) = hole {
                if !cover.push(lblk, next - lblk, None)? {
                    return Ok(());
                }
                continue;
            }
            if node == 0 {
                if !cover.push(lblk, node_base + covered - lblk, None)? {
                    return Ok(());
                }
                continue;
            }
            array = vol.meta_block(node, || format!("inode {}: indirect block", inode.ino))?;
            first = node_base;
            index = rel;
        }
        let count = if first == 0 { DIRECT } else { p };
        let mut i = index;
        while i < count {
            let ptr = le32(&array, i as usize);
            if ptr == 0 {
                // A run of holes in one step.
                let mut j = i + 1;
                while j < count && le32(&array, j as usize) == 0 {
                    j += 1;
                }
                if !cover.push(first + i, j - i, None)? {
                    return Ok(());
                }
                i = j;
                continue;
            }
            vol.check_data_blocks(ptr, 1, inode.ino)?;
            if !cover.push(first + i, 1, Some(ptr))? {
                return Ok(());
            }
            i += 1;
        }
    }
}
