//! Finding, decoding and checking the superblock (fs.h `struct fs`).

use crate::limits::*;
use crate::ondisk::{FS_MAGIC_OFFSET, FS_SIZE, Fs};
use fsimage_abi::raw::RawMagic;
use fsimage_abi::{Device, Error, ReadAt, Result};
use zerocopy::byteorder::ByteOrder;
use zerocopy::{BigEndian, FromBytes, LittleEndian};

/// FS_UFS1_MAGIC.
pub const FS_UFS1_MAGIC: i32 = 0x0001_1954;
/// FS_UFS2_MAGIC.
pub const FS_UFS2_MAGIC: i32 = 0x1954_0119;
/// SBLOCKSEARCH without SBLOCK_FLOPPY: SBLOCK_UFS2, SBLOCK_UFS1,
/// SBLOCK_PIGGY, in FreeBSD's order.
pub const SBLOCKSEARCH: [u64; 3] = [65536, 8192, 262144];
/// fs_magic, UFS1 and UFS2, in either byte order, at every SBLOCKSEARCH
/// place: `find` looks nowhere else.
pub const MAGICS: [RawMagic; 12] = {
    let kinds = [
        FS_UFS1_MAGIC.to_le_bytes(),
        FS_UFS1_MAGIC.to_be_bytes(),
        FS_UFS2_MAGIC.to_le_bytes(),
        FS_UFS2_MAGIC.to_be_bytes(),
    ];
    let mut out = [RawMagic::new(0, &[0]); 12];
    let mut i = 0;
    while i < out.len() {
        let at = SBLOCKSEARCH[i / kinds.len()] + FS_MAGIC_OFFSET as u64;
        out[i] = RawMagic::new(at, &kinds[i % kinds.len()]);
        i += 1;
    }
    out
};
/// FS_44INODEFMT: 4.4BSD inodes and directories (with d_type).
const FS_44INODEFMT: i32 = 2;

/// Byte order of the filesystem, found from which way its magic reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// A signed 32-bit value (a UFS1 block pointer) in this order.
    pub fn i32(self, b: [u8; 4]) -> i32 {
        match self {
            Endian::Little => i32::from_le_bytes(b),
            Endian::Big => i32::from_be_bytes(b),
        }
    }
    /// A signed 64-bit value (a UFS2 block pointer) in this order.
    pub fn i64(self, b: [u8; 8]) -> i64 {
        match self {
            Endian::Little => i64::from_le_bytes(b),
            Endian::Big => i64::from_be_bytes(b),
        }
    }
}

/// The superblock values the reader uses, decoded to native integers and
/// checked.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub endian: Endian,
    pub ufs2: bool,
    pub bsize: u64,
    pub fsize: u64,
    /// Fragments per block.
    pub frag: u64,
    pub fragshift: u32,
    pub ncg: u32,
    pub ipg: u32,
    /// Fragments per cylinder group.
    pub fpg: u64,
    /// Inodes per block.
    pub inopb: u64,
    /// Fragment offset of the inode blocks in each group.
    pub iblkno: u64,
    /// UFS1 cylinder-group rotation (fs_old_cgoffset, fs_old_cgmask).
    pub old_cgoffset: u64,
    pub old_cgmask: i32,
    /// Filesystem size in fragments.
    pub size: u64,
    /// Block pointers per indirect block.
    pub nindir: u64,
    /// Fast symlinks are those shorter than this (0: none).
    pub maxsymlinklen: u64,
    /// 4.2BSD inode and directory format (no d_type, 16-bit d_namlen).
    pub old_format: bool,
    pub volname: [u8; 32],
}

impl Geometry {
    /// Size of one on-disk inode.
    pub fn inode_size(&self) -> u64 {
        if self.ufs2 { 256 } else { 128 }
    }
    /// Size of one block pointer.
    pub fn ptr_size(&self) -> u64 {
        if self.ufs2 { 8 } else { 4 }
    }
    /// Inodes in the filesystem (`fs_ncg * fs_ipg`; checked at decode).
    pub fn inodes(&self) -> u64 {
        u64::from(self.ncg) * u64::from(self.ipg)
    }
    /// cgstart(): first fragment of group `cg` (UFS1 groups are staggered).
    pub fn cgstart(&self, cg: u32) -> Option<u64> {
        let base = self.fpg.checked_mul(u64::from(cg))?;
        if self.ufs2 {
            return Some(base);
        }
        // cgstart(): fs_old_cgoffset * (c & ~fs_old_cgmask).
        let rot = u64::try_from(i64::from(cg) & !i64::from(self.old_cgmask)).ok()?;
        let stagger = self.old_cgoffset.checked_mul(rot)?;
        base.checked_add(stagger)
    }
    /// ino_to_fsba / ino_to_fsbo: byte offset of inode `ino`.
    pub fn inode_offset(&self, ino: u64) -> Option<u64> {
        let ipg = u64::from(self.ipg);
        let cg = u32::try_from(ino / ipg).ok()?;
        let idx = ino % ipg;
        let block = idx / self.inopb;
        let frag = self
            .cgstart(cg)?
            .checked_add(self.iblkno)?
            .checked_add(block << self.fragshift)?;
        frag.checked_mul(self.fsize)?
            .checked_add((idx % self.inopb) * self.inode_size())
    }
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!("ufs superblock: {what}"))
}

fn pow2_in(v: i32, lo: u32, hi: u32, name: &str) -> Result<u64> {
    match u32::try_from(v) {
        Ok(x) if x.is_power_of_two() && (lo..=hi).contains(&x) => Ok(u64::from(x)),
        _ => Err(bad(format!(
            "{name} {v} is not a power of two in {lo}..={hi}"
        ))),
    }
}

fn decode<O: ByteOrder>(fs: &Fs<O>, at: u64, endian: Endian, dev_size: u64) -> Result<Geometry> {
    let ufs2 = match fs.fs_magic.get() {
        FS_UFS1_MAGIC => false,
        FS_UFS2_MAGIC => true,
        _ => return Err(Error::not_recognized("no UFS magic")),
    };
    // A UFS2 superblock names its own place; a copy elsewhere is a backup
    // or stale data (FreeBSD checks the same).
    let loc = fs.fs_sblockloc.get();
    if ufs2 && loc != 0 && u64::try_from(loc).ok() != Some(at) {
        return Err(bad(format!(
            "UFS2 superblock at {at} says it lives at {loc}"
        )));
    }
    let bsize = pow2_in(fs.fs_bsize.get(), MIN_BSIZE, MAX_BSIZE, "fs_bsize")?;
    let fsize = pow2_in(fs.fs_fsize.get(), MIN_FSIZE, MAX_BSIZE, "fs_fsize")?;
    if fsize > bsize || bsize / fsize > u64::from(MAX_FRAG) {
        return Err(bad(format!(
            "fs_bsize {bsize} / fs_fsize {fsize} is not 1..=8"
        )));
    }
    let frag = bsize / fsize;
    if u64::try_from(fs.fs_frag.get()).ok() != Some(frag) {
        return Err(bad(format!("fs_frag {} != {frag}", fs.fs_frag.get())));
    }
    let fragshift = frag.trailing_zeros();
    if i64::from(fs.fs_fragshift.get()) != i64::from(fragshift) {
        return Err(bad(format!("fs_fragshift {}", fs.fs_fragshift.get())));
    }
    let ncg = fs.fs_ncg.get();
    if ncg == 0 {
        return Err(bad("fs_ncg 0"));
    }
    if ncg > MAX_NCG {
        return Err(Error::limit(format!(
            "ufs superblock: fs_ncg {ncg} > {MAX_NCG} (MAX_NCG)"
        )));
    }
    let ipg = fs.fs_ipg.get();
    if ipg == 0 {
        return Err(bad("fs_ipg 0"));
    }
    if ipg > MAX_IPG {
        return Err(Error::limit(format!(
            "ufs superblock: fs_ipg {ipg} > {MAX_IPG} (MAX_IPG)"
        )));
    }
    let fpg = match u64::try_from(fs.fs_fpg.get()) {
        Ok(f) if f >= frag && f % frag == 0 => f,
        _ => return Err(bad(format!("fs_fpg {}", fs.fs_fpg.get()))),
    };
    let isize: u64 = if ufs2 { 256 } else { 128 };
    let inopb = bsize / isize;
    if u64::from(fs.fs_inopb.get()) != inopb {
        return Err(bad(format!("fs_inopb {} != {inopb}", fs.fs_inopb.get())));
    }
    if u64::from(ipg) % inopb != 0 {
        return Err(bad(format!(
            "fs_ipg {ipg} is not a multiple of fs_inopb {inopb}"
        )));
    }
    let psize: u64 = if ufs2 { 8 } else { 4 };
    let nindir = bsize / psize;
    if u64::try_from(fs.fs_nindir.get()).ok() != Some(nindir) {
        return Err(bad(format!("fs_nindir {} != {nindir}", fs.fs_nindir.get())));
    }
    let size = if ufs2 {
        fs.fs_size.get()
    } else {
        i64::from(fs.fs_old_size.get())
    };
    let size = match u64::try_from(size) {
        Ok(s) if s > 0 => s,
        _ => return Err(bad(format!("fs_size {size}"))),
    };
    // fs_ncg = howmany(fs_size, fs_fpg).
    if size.div_ceil(fpg) != u64::from(ncg) {
        return Err(bad(format!(
            "fs_ncg {ncg} does not match fs_size {size} / fs_fpg {fpg}"
        )));
    }
    let iblkno = match u64::try_from(fs.fs_iblkno.get()) {
        Ok(i) if i < fpg => i,
        _ => return Err(bad(format!("fs_iblkno {}", fs.fs_iblkno.get()))),
    };
    // The inode blocks must fit in a group.
    let iblocks = u64::from(ipg) / inopb;
    match iblocks
        .checked_mul(frag)
        .and_then(|f| f.checked_add(iblkno))
    {
        Some(end) if end <= fpg => {}
        _ => return Err(bad(format!("fs_ipg {ipg} inodes do not fit in a group"))),
    }
    let (old_cgoffset, old_cgmask) = if ufs2 {
        (0, 0)
    } else {
        let off = u64::try_from(fs.fs_old_cgoffset.get())
            .map_err(|_| bad(format!("fs_old_cgoffset {}", fs.fs_old_cgoffset.get())))?;
        (off, fs.fs_old_cgmask.get())
    };
    let maxsym = fs.fs_maxsymlinklen.get();
    let old_format = !ufs2 && (maxsym <= 0 || fs.fs_old_inodefmt.get() < FS_44INODEFMT);
    let maxsymlinklen = if old_format {
        0
    } else {
        // The fast symlink area is the 15 block pointers.
        let area = 15 * psize;
        match u64::try_from(maxsym) {
            Ok(m) if m <= area => m,
            _ => return Err(bad(format!("fs_maxsymlinklen {maxsym} > {area}"))),
        }
    };
    let g = Geometry {
        endian,
        ufs2,
        bsize,
        fsize,
        frag,
        fragshift,
        ncg,
        ipg,
        fpg,
        inopb,
        iblkno,
        old_cgoffset,
        old_cgmask,
        size,
        nindir,
        maxsymlinklen,
        old_format,
        volname: fs.fs_volname,
    };
    // Every group's inode area must start inside the device.
    let last = g
        .cgstart(ncg - 1)
        .and_then(|s| s.checked_add(iblkno))
        .and_then(|f| f.checked_mul(fsize));
    match last {
        Some(off) if off < dev_size => {}
        _ => {
            return Err(bad(format!(
                "cylinder group {} lies past the end of the device ({dev_size} bytes)",
                ncg - 1
            )));
        }
    }
    Ok(g)
}

/// Decodes and checks the superblock bytes found at `at`.
pub fn parse(buf: &[u8], at: u64, dev_size: u64) -> Result<Geometry> {
    let m = buf
        .get(FS_MAGIC_OFFSET..FS_MAGIC_OFFSET + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| bad("short"))?;
    let le = i32::from_le_bytes(m);
    let be = i32::from_be_bytes(m);
    let bytes = buf.get(..FS_SIZE).ok_or_else(|| bad("short"))?;
    if le == FS_UFS1_MAGIC || le == FS_UFS2_MAGIC {
        let fs = Fs::<LittleEndian>::ref_from_bytes(bytes).map_err(|_| bad("short"))?;
        decode(fs, at, Endian::Little, dev_size)
    } else if be == FS_UFS1_MAGIC || be == FS_UFS2_MAGIC {
        let fs = Fs::<BigEndian>::ref_from_bytes(bytes).map_err(|_| bad("short"))?;
        decode(fs, at, Endian::Big, dev_size)
    } else {
        Err(Error::not_recognized("no UFS magic"))
    }
}

/// Searches SBLOCKSEARCH for a sane superblock. A magic with a broken
/// superblock is reported if no location holds a sane one.
pub fn find(dev: &Device) -> Result<Geometry> {
    let mut first_err = None;
    for at in SBLOCKSEARCH {
        let mut buf = [0u8; FS_SIZE];
        if dev.read_exact_at(at, &mut buf).is_err() {
            continue;
        }
        match parse(&buf, at, dev.size()) {
            Ok(g) => return Ok(g),
            Err(Error::NotRecognized(_)) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| Error::not_recognized("no UFS superblock")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(ufs2: bool, cgoffset: u64, cgmask: i32) -> Geometry {
        Geometry {
            endian: Endian::Little,
            ufs2,
            bsize: 8192,
            fsize: 1024,
            frag: 8,
            fragshift: 3,
            ncg: 40,
            ipg: 64,
            fpg: 1000,
            inopb: if ufs2 { 32 } else { 64 },
            iblkno: 24,
            old_cgoffset: cgoffset,
            old_cgmask: cgmask,
            size: 40_000,
            nindir: 2048,
            maxsymlinklen: 60,
            old_format: false,
            volname: [0; 32],
        }
    }

    /// 4.2BSD-era UFS1 staggers each group's start by fs_old_cgoffset *
    /// (c & ~fs_old_cgmask) (fs_old_cgmask = ~(ntrak - 1)); UFS2 never does.
    #[test]
    fn staggered_group_starts() {
        let g = geo(false, 16, !15);
        assert_eq!(g.cgstart(0), Some(0));
        assert_eq!(g.cgstart(1), Some(1000 + 16));
        assert_eq!(g.cgstart(15), Some(15_000 + 16 * 15));
        assert_eq!(g.cgstart(16), Some(16_000));
        assert_eq!(g.cgstart(17), Some(17_000 + 16));
        // Modern UFS1 (mask -1) and UFS2: no stagger.
        assert_eq!(geo(false, 0, -1).cgstart(7), Some(7000));
        assert_eq!(geo(true, 16, !15).cgstart(7), Some(7000));
        // Inode 64*3 + 70 (group 3, block 1, slot 6) of the staggered one.
        let ino = 64 * 3 + 70 - 64; // = 198: group 3, index 6
        assert_eq!(
            g.inode_offset(ino),
            Some((3000 + 16 * 3 + 24) * 1024 + 6 * 128)
        );
        // UFS2: index 40 of group 2 is in the second inode block.
        let g2 = geo(true, 0, 0);
        assert_eq!(
            g2.inode_offset(2 * 64 + 40),
            Some((2000 + 24 + 8) * 1024 + 8 * 256)
        );
        assert_eq!(g.inode_offset(u64::MAX), None);
    }
}
