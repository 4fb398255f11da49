//! Directories (dir.h): `struct direct` records packed in DIRBLKSIZ (512)
//! byte chunks that no record crosses.

use crate::UfsFs;
use crate::limits::{MAX_DIR_SIZE, MAX_NAMLEN};
use crate::ondisk::{DIRECT_HEADER, Direct, OldDirect};
use crate::superblock::{Endian, Geometry};
use fsimage_abi::{Error, FileKind, Result};
use zerocopy::byteorder::ByteOrder;
use zerocopy::{BigEndian, FromBytes, LittleEndian};

/// DIRBLKSIZ.
pub const DIRBLKSIZ: u64 = 512;
/// DT_WHT: a whiteout (union mounts), not a file.
const DT_WHT: u8 = 14;

/// One decoded directory record.
pub struct Record<'a> {
    pub ino: u32,
    pub kind: FileKind,
    pub name: &'a [u8],
}

/// (d_ino, d_reclen, d_type, d_namlen) of the header at the start of `b`.
fn header<O: ByteOrder>(b: &[u8], old: bool) -> Option<(u32, u16, u8, usize)> {
    if old {
        let (d, _) = OldDirect::<O>::ref_from_prefix(b).ok()?;
        Some((
            d.d_ino.get(),
            d.d_reclen.get(),
            0,
            usize::from(d.d_namlen.get()),
        ))
    } else {
        let (d, _) = Direct::<O>::ref_from_prefix(b).ok()?;
        Some((
            d.d_ino.get(),
            d.d_reclen.get(),
            d.d_type,
            usize::from(d.d_namlen),
        ))
    }
}

/// Streams the records of directory inode `dir` from byte position
/// `cookie` on; `f(position, record)` returns false to stop.
pub fn for_each(
    fs: &UfsFs,
    dir: &crate::inode::Inode,
    cookie: u64,
    f: &mut dyn FnMut(u64, Record<'_>) -> Result<bool>,
) -> Result<()> {
    let g = &fs.vol.geo;
    let size = dir.size;
    if size > MAX_DIR_SIZE {
        return Err(Error::limit(format!(
            "inode {}: directory of {size} bytes > {MAX_DIR_SIZE} (MAX_DIR_SIZE)",
            dir.ino
        )));
    }
    let bsize = g.bsize;
    let mut block_start = cookie / bsize * bsize;
    // bsize <= 64 KiB.
    let mut buf = vec![0u8; bsize as usize];
    while block_start < size {
        let n = fs.read_data(dir, block_start, &mut buf)?;
        let data = buf.get(..n).unwrap_or_default();
        if !scan_block(g, dir.ino, data, block_start, cookie, f)? {
            return Ok(());
        }
        block_start += bsize;
    }
    Ok(())
}

/// The records of one directory block `data` that starts at byte
/// `block_start` of directory inode `ino`, DIRBLKSIZ chunk by chunk; `f` gets
/// those at or after `cookie` and returns false to stop (then so does this).
pub fn scan_block(
    g: &Geometry,
    ino: u64,
    data: &[u8],
    block_start: u64,
    cookie: u64,
    f: &mut dyn FnMut(u64, Record<'_>) -> Result<bool>,
) -> Result<bool> {
    let mut chunk = 0usize;
    while chunk < data.len() {
        let cend = data.len().min(chunk + DIRBLKSIZ as usize);
        let mut pos = chunk;
        while pos < cend {
            let at = block_start + pos as u64;
            let bad = |what: String| {
                Error::corrupt(format!("inode {ino}: directory entry at {at}: {what}"))
            };
            let rec = data.get(pos..cend).unwrap_or_default();
            let h = match g.endian {
                Endian::Little => header::<LittleEndian>(rec, g.old_format),
                Endian::Big => header::<BigEndian>(rec, g.old_format),
            };
            let Some((d_ino, reclen, dtype, namlen)) = h else {
                return Err(bad("truncated header".into()));
            };
            let reclen = usize::from(reclen);
            if reclen == 0 || reclen % 4 != 0 || reclen > rec.len() {
                return Err(bad(format!(
                    "d_reclen {reclen} (room {} in its {DIRBLKSIZ}-byte chunk)",
                    rec.len()
                )));
            }
            if d_ino != 0 {
                if namlen == 0 || namlen > MAX_NAMLEN || DIRECT_HEADER + namlen > reclen {
                    return Err(bad(format!("d_namlen {namlen} in d_reclen {reclen}")));
                }
                if u64::from(d_ino) >= g.inodes() {
                    return Err(bad(format!("d_ino {d_ino} >= {}", g.inodes())));
                }
                let name = rec
                    .get(DIRECT_HEADER..DIRECT_HEADER + namlen)
                    .unwrap_or_default();
                if !fsimage_abi::is_component(name) {
                    return Err(bad("name holds '/' or NUL".into()));
                }
                if at >= cookie && dtype != DT_WHT {
                    let r = Record {
                        ino: d_ino,
                        kind: FileKind::from_dt(dtype),
                        name,
                    };
                    if !f(at, r)? {
                        return Ok(false);
                    }
                }
            }
            pos += reclen;
        }
        chunk = cend;
    }
    Ok(true)
}
