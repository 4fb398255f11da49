//! inline_data (ext4 disk layout, "Inline Data"): the first 60 bytes of a
//! small file or directory live in `i_block`, the rest in the `system.data`
//! extended attribute inside the inode.

use crate::inode::Inode;
use fsimage_abi::{Error, Result};
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct ext4_xattr_entry` (in-inode attributes follow a 4-byte magic).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Ext4XattrEntry {
    pub e_name_len: u8,
    pub e_name_index: u8,
    pub e_value_offs: U16,
    pub e_value_inum: U32,
    pub e_value_size: U32,
    pub e_hash: U32,
}

const XATTR_MAGIC: u32 = 0xEA02_0000;
/// Name index of the `system.` prefix.
const XATTR_INDEX_SYSTEM: u8 = 7;
const ENTRY_SIZE: usize = std::mem::size_of::<Ext4XattrEntry>();
/// Bytes of `i_block`.
pub const I_BLOCK_LEN: u64 = 60;

/// The value of `system.data`: the inline bytes past `i_block` (may be empty).
pub fn extra(inode: &Inode) -> Result<&[u8]> {
    let ino = inode.ino;
    let start = 128 + usize::from(inode.d.i_extra_isize.get());
    let raw = &inode.raw;
    let Some(magic) = raw.get(start..start + 4) else {
        return Ok(&[]);
    };
    if u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) != XATTR_MAGIC {
        return Ok(&[]);
    }
    // Value offsets count from the first entry, right after the magic.
    let region = &raw[start + 4..];
    let mut off = 0usize;
    while let Some(head) = region.get(off..off + ENTRY_SIZE) {
        if head[..4] == [0, 0, 0, 0] {
            break;
        }
        let Ok(e) = Ext4XattrEntry::read_from_bytes(head) else {
            break;
        };
        let name_len = usize::from(e.e_name_len);
        let Some(name) = region.get(off + ENTRY_SIZE..off + ENTRY_SIZE + name_len) else {
            return Err(Error::corrupt(format!(
                "inode {ino}: in-inode xattr entry runs past the inode"
            )));
        };
        if e.e_name_index == XATTR_INDEX_SYSTEM && name == b"data" {
            if e.e_value_inum.get() != 0 {
                return Err(Error::unsupported(format!(
                    "inode {ino}: inline data stored in an EA inode"
                )));
            }
            let vo = usize::from(e.e_value_offs.get());
            let vs = e.e_value_size.get() as usize;
            return vo
                .checked_add(vs)
                .and_then(|end| region.get(vo..end))
                .ok_or_else(|| {
                    Error::corrupt(format!("inode {ino}: system.data value outside the inode"))
                });
        }
        off += (ENTRY_SIZE + name_len + 3) & !3;
    }
    Ok(&[])
}

/// Reads inline file bytes at `offset` into `buf` (the caller clipped it to
/// the file size).
pub fn read(inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<()> {
    let ib = inode.i_block();
    let ex = extra(inode)?;
    let total = I_BLOCK_LEN + ex.len() as u64;
    let end = offset + buf.len() as u64;
    if end > total {
        return Err(Error::corrupt(format!(
            "inode {}: inline size {} > {} inline bytes",
            inode.ino,
            inode.size(),
            total
        )));
    }
    // Bytes from i_block first, then from the attribute value.
    let mut pos = offset;
    let mut out = &mut buf[..];
    while !out.is_empty() {
        let (src, at) = if pos < I_BLOCK_LEN {
            (&ib[..], pos)
        } else {
            (ex, pos - I_BLOCK_LEN)
        };
        let from = usize::try_from(at).ok().and_then(|a| src.get(a..));
        let Some(from) = from.filter(|f| !f.is_empty()) else {
            return Err(Error::corrupt(format!("inode {}: inline data", inode.ino)));
        };
        let n = from.len().min(out.len());
        out[..n].copy_from_slice(&from[..n]);
        out = &mut out[n..];
        pos += n as u64;
    }
    Ok(())
}
