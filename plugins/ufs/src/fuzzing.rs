//! Entry point for the `ufs_dirblock` fuzz target and its regression test.
//! Not part of the plugin's API.

use crate::dir;
use crate::superblock::{Endian, Geometry};
use fsimage_abi::{Error, FileKind, Result};

/// Bytes before the directory data.
pub const HEADER: usize = 5;

/// One listed record: (position, inode, kind, name).
pub type Listed = (u64, u32, FileKind, Vec<u8>);

/// Parses the directory data of `data` as `read_dir` and `lookup` do, block
/// by block of `bsize` bytes, returning up to `max` records as (position,
/// inode, kind, name).
///
/// ```text
/// [0]     flags: bit 0 big-endian, bit 1 4.2BSD format (16-bit d_namlen,
///         no d_type); bits 2-4 block size 4 KiB << n (at most 64 KiB)
/// [1..5]  inodes in the filesystem (LE; d_ino must be below it)
/// [5..]   the directory's bytes
/// ```
pub fn dir_blocks(data: &[u8], max: usize) -> Result<Vec<Listed>> {
    let Some(head) = data.get(..HEADER) else {
        return Err(Error::invalid("fuzz input shorter than its header"));
    };
    let flags = head[0];
    let inodes = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let bsize = 4096u64 << u32::from((flags >> 2) & 7).min(4);
    let g = Geometry {
        endian: if flags & 1 != 0 {
            Endian::Big
        } else {
            Endian::Little
        },
        ufs2: false,
        bsize,
        fsize: bsize / 8,
        frag: 8,
        fragshift: 3,
        // ncg * ipg = inodes.
        ncg: 1,
        ipg: inodes,
        fpg: 0,
        inopb: 0,
        iblkno: 0,
        old_cgoffset: 0,
        old_cgmask: -1,
        size: 0,
        nindir: 0,
        maxsymlinklen: 0,
        old_format: flags & 2 != 0,
        volname: [0; 32],
    };
    let mut out = Vec::new();
    let body = &data[HEADER..];
    // bsize <= 64 KiB.
    for (i, block) in body.chunks(bsize as usize).enumerate() {
        let go = dir::scan_block(&g, 2, block, i as u64 * bsize, 0, &mut |at, r| {
            out.push((at, r.ino, r.kind, r.name.to_vec()));
            Ok(out.len() < max)
        })?;
        if !go {
            break;
        }
    }
    Ok(out)
}
