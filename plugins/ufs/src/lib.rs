//! UFS plugin: a read-only reader for UFS1 and UFS2, the Berkeley Fast File
//! System of FreeBSD, NetBSD, OpenBSD and Solaris/illumos, in both byte
//! orders (found from which way the superblock magic reads).
//!
//! Facts from FreeBSD `sys/ufs/ffs/fs.h`, `sys/ufs/ufs/dinode.h` and
//! `sys/ufs/ufs/dir.h`. No mount options.
#![forbid(unsafe_code)]

mod bmap;
mod dir;
#[doc(hidden)]
pub mod fuzzing;
mod inode;
pub mod limits;
mod ondisk;
mod superblock;
mod volume;

use fsimage_abi::raw::RawMagic;
use fsimage_abi::{
    Device, DirSink, Error, Extent, ExtentSink, FileKind, Filesystem, ReadAt, Result, Stat,
};
use inode::Inode;
use limits::MAX_SYMLINK;
use std::ffi::CStr;
use volume::Volume;

/// UFS_ROOTINO.
const ROOT_INO: u64 = 2;

/// A mounted UFS1 or UFS2 filesystem.
#[derive(Debug)]
pub struct UfsFs {
    vol: Volume,
}

impl UfsFs {
    fn inode(&self, id: u64) -> Result<Inode> {
        self.vol.inode(id)
    }

    fn dir_inode(&self, id: u64) -> Result<Inode> {
        let i = self.inode(id)?;
        if i.kind() != FileKind::Dir {
            return Err(Error::NotADirectory);
        }
        Ok(i)
    }

    /// Whether the target lives in the inode's pointer area
    /// (di_size < fs_maxsymlinklen; the whole target, no byte dropped).
    fn is_fast_symlink(&self, inode: &Inode) -> bool {
        inode.kind() == FileKind::Symlink && inode.size < self.vol.geo.maxsymlinklen
    }

    /// Logical blocks the file spans, refusing sizes its map cannot address.
    fn span_blocks(&self, inode: &Inode) -> Result<u64> {
        let g = &self.vol.geo;
        let n = inode.size.div_ceil(g.bsize);
        if n > bmap::max_blocks(g.nindir) {
            return Err(Error::corrupt(format!(
                "inode {}: size {} is more than its block map can address",
                inode.ino, inode.size
            )));
        }
        Ok(n)
    }

    /// Reads file bytes from `offset`; returns how many (short only at EOF).
    fn read_data(&self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let size = inode.size;
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(size - offset).map_or(buf.len(), |r| r.min(buf.len()));
        let buf = &mut buf[..n];
        if self.is_fast_symlink(inode) {
            // offset + n <= size < maxsymlinklen <= the pointer area.
            let src = usize::try_from(offset)
                .ok()
                .and_then(|o| inode.ptr_area.get(o..o.checked_add(n)?));
            let Some(src) = src else {
                return Err(Error::corrupt(format!("inode {}: fast symlink", inode.ino)));
            };
            buf.copy_from_slice(src);
            return Ok(n);
        }
        self.span_blocks(inode)?;
        let bs = self.vol.geo.bsize;
        let end = offset + n as u64;
        let vol = &self.vol;
        let ino = inode.ino;
        bmap::for_each_run(vol, inode, offset / bs, end.div_ceil(bs), &mut |run| {
            // Within [offset, end), so the slice indices fit in usize.
            let rs = (run.lbn * bs).max(offset);
            let re = ((run.lbn + run.count) * bs).min(end);
            let out = &mut buf[(rs - offset) as usize..(re - offset) as usize];
            match run.addr {
                None => out.fill(0),
                Some(a) => {
                    let what = || format!("inode {ino}: data block {}", rs / bs);
                    let base = vol.frag_range(a, re - run.lbn * bs, &what)?;
                    vol.read_at(base + (rs - run.lbn * bs), out, &what)?;
                }
            }
            Ok(true)
        })?;
        Ok(n)
    }
}

impl Filesystem for UfsFs {
    const NAME: &'static CStr = c"ufs";

    const MAGICS: &'static [RawMagic] = &superblock::MAGICS;

    fn probe(devices: &[Device]) -> Result<u32> {
        let Some(dev) = devices.first() else {
            return Ok(0);
        };
        Ok(match superblock::find(dev) {
            Ok(_) => 90,
            Err(_) => 0,
        })
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        if !options.trim_ascii().is_empty() {
            return Err(Error::invalid(format!(
                "ufs: unknown option '{}'",
                String::from_utf8_lossy(options)
            )));
        }
        let Some(dev) = devices.into_iter().next() else {
            return Err(Error::invalid("ufs: no device"));
        };
        let geo = superblock::find(&dev)?;
        let fs = UfsFs {
            vol: Volume { dev, geo },
        };
        // The root must be a directory, or nothing can be read.
        fs.dir_inode(ROOT_INO)?;
        Ok(fs)
    }

    fn root(&self) -> u64 {
        ROOT_INO
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        let d = self.dir_inode(dir)?;
        if name.is_empty() || name.len() > limits::MAX_NAMLEN || name.contains(&b'/') {
            return Err(Error::NotFound);
        }
        let mut found = None;
        dir::for_each(self, &d, 0, &mut |_, r| {
            if r.name == name {
                found = Some(u64::from(r.ino));
                return Ok(false);
            }
            Ok(true)
        })?;
        found.ok_or(Error::NotFound)
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        Ok(self.inode(id)?.stat())
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.inode(id)?;
        match inode.kind() {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => {}
            _ => return Ok(0),
        }
        self.read_data(&inode, offset, buf)
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        let d = self.dir_inode(dir)?;
        dir::for_each(self, &d, cookie, &mut |c, r| {
            if r.name == b"." || r.name == b".." {
                return Ok(true);
            }
            let kind = match r.kind {
                // Old filesystems have no d_type: ask the inode.
                FileKind::Unknown => self.inode(u64::from(r.ino))?.kind(),
                k => k,
            };
            Ok(sink.push(c, u64::from(r.ino), kind, r.name))
        })
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let inode = self.inode(id)?;
        if inode.kind() != FileKind::Symlink {
            return Err(Error::NotASymlink);
        }
        if inode.size > MAX_SYMLINK {
            return Err(Error::limit(format!(
                "inode {}: symlink of {} bytes > {MAX_SYMLINK} (MAX_SYMLINK)",
                inode.ino, inode.size
            )));
        }
        // size <= MAX_SYMLINK.
        let mut v = vec![0u8; inode.size as usize];
        let n = self.read_data(&inode, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let inode = self.inode(id)?;
        match inode.kind() {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => {}
            _ => return Ok(()),
        }
        let size = inode.size;
        if from >= size {
            return Ok(());
        }
        if self.is_fast_symlink(&inode) {
            fsimage_abi::sdk::opaque_tail(from, size, sink);
            return Ok(());
        }
        let nblocks = self.span_blocks(&inode)?;
        let bs = self.vol.geo.bsize;
        let vol = &self.vol;
        let ino = inode.ino;
        bmap::for_each_run(vol, &inode, from / bs, nblocks, &mut |run| {
            let rs = (run.lbn * bs).max(from);
            let re = ((run.lbn + run.count) * bs).min(size);
            if rs >= re {
                return Ok(true);
            }
            let e = match run.addr {
                None => Extent::zero(rs, re - rs),
                Some(a) => {
                    let what = || format!("inode {ino}: data block {}", rs / bs);
                    let base = vol.frag_range(a, re - run.lbn * bs, &what)?;
                    let dev_off = base + (rs - run.lbn * bs);
                    if dev_off
                        .checked_add(re - rs)
                        .is_none_or(|e| e > vol.dev.size())
                    {
                        return Err(Error::corrupt(format!(
                            "{}: past the end of the device",
                            what()
                        )));
                    }
                    Extent::data(rs, re - rs, dev_off)
                }
            };
            Ok(sink.push(e))
        })
    }

    fn label(&self) -> Option<Vec<u8>> {
        let g = &self.vol.geo;
        if !g.ufs2 {
            return None;
        }
        let n = &g.volname;
        let len = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        (len > 0).then(|| n[..len].to_vec())
    }
}

fsimage_abi::export_plugin!(UfsFs);
