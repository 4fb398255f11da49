//! Inodes (dinode.h): decoded from either format and byte order into one
//! native form.

use crate::limits::{NDADDR, NIADDR};
use crate::ondisk::{Ufs1Dinode, Ufs2Dinode};
use crate::superblock::{Endian, Geometry};
use fsimage_abi::{Error, FileKind, Result, Stat, Timespec};
use zerocopy::byteorder::ByteOrder;
use zerocopy::{BigEndian, FromBytes, LittleEndian};

/// One inode, whichever format it came from.
#[derive(Debug, Clone)]
pub struct Inode {
    pub ino: u64,
    pub mode: u16,
    pub nlink: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// di_db then di_ib, as fragment addresses (signed on disk).
    pub db: [i64; NDADDR],
    pub ib: [i64; NIADDR],
    /// The raw 60 (UFS1) or 120 (UFS2) bytes of the pointer area, which
    /// holds a fast symlink's target.
    pub ptr_area: Vec<u8>,
}

fn ts(sec: i64, nsec: i32) -> Timespec {
    // A nanosecond field out of range is dropped, not trusted.
    let nsec = u32::try_from(nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000)
        .unwrap_or(0);
    Timespec { sec, nsec }
}

fn ufs1<O: ByteOrder>(d: &Ufs1Dinode<O>, ino: u64, raw: &[u8], g: &Geometry) -> Inode {
    let (mut uid, mut gid) = (d.di_uid.get(), d.di_gid.get());
    // 4.2BSD-format inodes keep 16-bit ids in di_u; FreeBSD uses them when
    // fs_old_inodefmt < FS_44INODEFMT. Solaris, also in that format here,
    // fills the 32-bit fields, so the old ones are only used when those are 0.
    if g.old_format && uid == 0 && gid == 0 {
        uid = u32::from(d.di_ouid.get());
        gid = u32::from(d.di_ogid.get());
    }
    // Solaris (4.2BSD format) keeps microseconds there, 4.4BSD nanoseconds.
    let t = |s: i32, sub: i32| {
        if g.old_format {
            ts(i64::from(s), sub.checked_mul(1000).unwrap_or(-1))
        } else {
            ts(i64::from(s), sub)
        }
    };
    Inode {
        ino,
        mode: d.di_mode.get(),
        nlink: u16::try_from(d.di_nlink.get()).unwrap_or(0),
        uid,
        gid,
        size: d.di_size.get(),
        atime: t(d.di_atime.get(), d.di_atimensec.get()),
        mtime: t(d.di_mtime.get(), d.di_mtimensec.get()),
        ctime: t(d.di_ctime.get(), d.di_ctimensec.get()),
        db: d.di_db.map(|p| i64::from(p.get())),
        ib: d.di_ib.map(|p| i64::from(p.get())),
        ptr_area: raw.get(40..100).unwrap_or_default().to_vec(),
    }
}

fn ufs2<O: ByteOrder>(d: &Ufs2Dinode<O>, ino: u64, raw: &[u8]) -> Inode {
    Inode {
        ino,
        mode: d.di_mode.get(),
        nlink: u16::try_from(d.di_nlink.get()).unwrap_or(0),
        uid: d.di_uid.get(),
        gid: d.di_gid.get(),
        size: d.di_size.get(),
        atime: ts(d.di_atime.get(), d.di_atimensec.get()),
        mtime: ts(d.di_mtime.get(), d.di_mtimensec.get()),
        ctime: ts(d.di_ctime.get(), d.di_ctimensec.get()),
        db: d.di_db.map(|p| p.get()),
        ib: d.di_ib.map(|p| p.get()),
        ptr_area: raw.get(112..232).unwrap_or_default().to_vec(),
    }
}

/// Decodes the on-disk inode bytes `raw` of inode `ino`.
pub fn decode(raw: &[u8], ino: u64, g: &Geometry) -> Result<Inode> {
    let short = || Error::corrupt(format!("inode {ino}: short"));
    let i = match (g.ufs2, g.endian) {
        (false, Endian::Little) => ufs1(
            Ufs1Dinode::<LittleEndian>::ref_from_prefix(raw)
                .map_err(|_| short())?
                .0,
            ino,
            raw,
            g,
        ),
        (false, Endian::Big) => ufs1(
            Ufs1Dinode::<BigEndian>::ref_from_prefix(raw)
                .map_err(|_| short())?
                .0,
            ino,
            raw,
            g,
        ),
        (true, Endian::Little) => ufs2(
            Ufs2Dinode::<LittleEndian>::ref_from_prefix(raw)
                .map_err(|_| short())?
                .0,
            ino,
            raw,
        ),
        (true, Endian::Big) => ufs2(
            Ufs2Dinode::<BigEndian>::ref_from_prefix(raw)
                .map_err(|_| short())?
                .0,
            ino,
            raw,
        ),
    };
    if i.size > i64::MAX as u64 {
        return Err(Error::corrupt(format!("inode {ino}: size {}", i.size)));
    }
    Ok(i)
}

impl Inode {
    pub fn kind(&self) -> FileKind {
        FileKind::from_mode(u32::from(self.mode))
    }

    pub fn stat(&self) -> Stat {
        let kind = self.kind();
        let rdev = match kind {
            // di_rdev is di_db[0].
            FileKind::CharDevice | FileKind::BlockDevice => {
                u64::try_from(self.db[0] & 0xffff_ffff).unwrap_or(0)
            }
            _ => 0,
        };
        Stat {
            ino: self.ino,
            kind,
            perm: u32::from(self.mode) & 0o7777,
            uid: self.uid,
            gid: self.gid,
            nlink: u64::from(self.nlink),
            size: self.size,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            rdev,
        }
    }
}
