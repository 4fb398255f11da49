//! ext2/3/4 plugin: a read-only reader for every ext2, ext3 and ext4
//! filesystem current and old mke2fs versions and kernels create.
//!
//! Mount options (comma-separated): `journal=replay` replays committed jbd2
//! transactions in memory (never written back); `csum=off` skips
//! metadata_csum verification.
#![forbid(unsafe_code)]

mod blockmap;
mod cache;
mod csum;
mod dir;
mod extents;
#[doc(hidden)]
pub mod fuzzing;
mod group;
mod htree;
mod inline;
mod inode;
mod journal;
pub mod limits;
mod map;
mod superblock;
mod volume;

use fsimage_abi::raw::RawMagic;
use fsimage_abi::sdk::{Coalesce, opaque_tail};
use fsimage_abi::{
    Device, DirSink, Error, Extent, ExtentSink, FileKind, Filesystem, ReadAt, Result, Stat,
};
use inode::{EXT4_EXTENTS_FL, EXT4_INDEX_FL, EXT4_INLINE_DATA_FL, Inode};
use limits::{MAX_NAME_LEN, MAX_SYMLINK};
use std::ffi::CStr;
use superblock::COMPAT_DIR_INDEX;
use volume::Volume;

/// Root directory inode.
const ROOT_INO: u32 = 2;

/// A mounted ext2/3/4 filesystem.
pub struct Ext2Fs {
    vol: Volume,
}

struct Options {
    replay: bool,
    verify: bool,
}

fn parse_options(options: &[u8]) -> Result<Options> {
    let mut o = Options {
        replay: false,
        verify: true,
    };
    for opt in options.split(|&b| b == b',') {
        let opt = opt.trim_ascii();
        match opt {
            b"" => {}
            b"journal=replay" => o.replay = true,
            b"journal=ignore" | b"journal=none" => o.replay = false,
            b"csum=off" => o.verify = false,
            b"csum=on" => o.verify = true,
            other => {
                return Err(Error::invalid(format!(
                    "ext2: unknown option '{}'",
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
    Ok(o)
}

impl Ext2Fs {
    fn ino(&self, id: u64) -> Result<u32> {
        match u32::try_from(id) {
            Ok(i) if i >= 1 && i <= self.vol.geo.inodes_count => Ok(i),
            _ => Err(Error::invalid(format!("ext2: no inode {id}"))),
        }
    }

    fn inode(&self, id: u64) -> Result<Inode> {
        self.vol.inode(self.ino(id)?)
    }

    fn dir_inode(&self, id: u64) -> Result<Inode> {
        let i = self.inode(id)?;
        if i.kind() != FileKind::Dir {
            return Err(Error::NotADirectory);
        }
        Ok(i)
    }

    /// Number of logical blocks a file of this inode's size spans, refusing
    /// sizes the inode's map cannot address.
    fn span_blocks(&self, inode: &Inode) -> Result<u64> {
        let bs = self.vol.block_size();
        let n = inode.size().div_ceil(bs);
        let max = if inode.has_flag(EXT4_EXTENTS_FL) {
            1u64 << 32
        } else {
            blockmap::max_blocks(self.vol.geo.block_size)
        };
        if n > max {
            return Err(Error::corrupt(format!(
                "inode {}: size {} is more than its block map can address",
                inode.ino,
                inode.size()
            )));
        }
        Ok(n)
    }

    /// Whether the bytes live in the inode itself.
    fn is_inline(inode: &Inode) -> bool {
        inode.has_flag(EXT4_INLINE_DATA_FL)
    }

    fn is_fast_symlink(inode: &Inode) -> bool {
        inode.kind() == FileKind::Symlink
            && !Self::is_inline(inode)
            && inode.size() < inline::I_BLOCK_LEN
    }

    fn read_inode_data(&self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let size = inode.size();
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(size - offset).map_or(buf.len(), |r| r.min(buf.len()));
        let buf = &mut buf[..n];
        if Self::is_inline(inode) {
            inline::read(inode, offset, buf)?;
            return Ok(n);
        }
        if Self::is_fast_symlink(inode) {
            // offset + n <= size < 60.
            let src = usize::try_from(offset)
                .ok()
                .and_then(|o| inode.i_block().get(o..o.checked_add(n)?));
            let Some(src) = src else {
                return Err(Error::corrupt(format!("inode {}: fast symlink", inode.ino)));
            };
            buf.copy_from_slice(src);
            return Ok(n);
        }
        self.span_blocks(inode)?;
        let bs = self.vol.block_size();
        let end = offset + n as u64;
        let vol = &self.vol;
        map::for_each_run(vol, inode, offset / bs, end.div_ceil(bs), &mut |run| {
            let rs = (run.lblk * bs).max(offset);
            let re = ((run.lblk + run.len) * bs).min(end);
            let out = &mut buf[(rs - offset) as usize..(re - offset) as usize];
            match run.pblk {
                None => out.fill(0),
                Some(p) => vol.read_bytes(p * bs + (rs - run.lblk * bs), out)?,
            }
            Ok(true)
        })?;
        Ok(n)
    }
}

impl Filesystem for Ext2Fs {
    const NAME: &'static CStr = c"ext2";

    // s_magic; the probe reads it through `read_superblock`.
    const MAGICS: &'static [RawMagic] = &[RawMagic::new(
        superblock::SUPERBLOCK_OFFSET
            + std::mem::offset_of!(superblock::Ext4SuperBlock, s_magic) as u64,
        &superblock::EXT2_SUPER_MAGIC.to_le_bytes(),
    )];

    fn probe(devices: &[Device]) -> Result<u32> {
        let Some(dev) = devices.first() else {
            return Ok(0);
        };
        if dev.size() < superblock::SUPERBLOCK_OFFSET + 1024 {
            return Ok(0);
        }
        let Ok(sb) = volume::read_superblock(&|off, buf| dev.read_exact_at(off, buf)) else {
            return Ok(0);
        };
        Ok(match superblock::geometry(&sb) {
            Ok(_) => 90,
            Err(_) => 0,
        })
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        let opts = parse_options(options)?;
        let Some(dev) = devices.into_iter().next() else {
            return Err(Error::invalid("ext2: no device"));
        };
        let mut vol = Volume::open(dev, opts.verify)?;
        if opts.replay {
            let overlay = journal::replay(&vol, opts.verify)?;
            if !overlay.is_empty() {
                vol.overlay = overlay;
                vol.clear_cache();
                vol.load_metadata(opts.verify)?;
            }
        }
        let fs = Ext2Fs { vol };
        // The root must be a directory, or nothing can be read.
        fs.dir_inode(u64::from(ROOT_INO))?;
        Ok(fs)
    }

    fn root(&self) -> u64 {
        u64::from(ROOT_INO)
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        let d = self.dir_inode(dir)?;
        if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(&b'/') {
            return Err(Error::NotFound);
        }
        if name == b"." {
            return Ok(dir);
        }
        if name == b".." {
            // Stored in the inline header, or as the second entry of block 0
            // (outside the htree's leaves).
            if Self::is_inline(&d) {
                return Ok(u64::from(dir::inline_parent(&d)));
            }
            return dir::linear_lookup(&self.vol, &d, name)?
                .map(u64::from)
                .ok_or(Error::NotFound);
        }
        let found = if d.has_flag(EXT4_INDEX_FL)
            && !Self::is_inline(&d)
            && self.vol.geo.has_compat(COMPAT_DIR_INDEX)
        {
            match htree::lookup(&self.vol, &d, name)? {
                Some(r) => r,
                None => dir::linear_lookup(&self.vol, &d, name)?,
            }
        } else {
            dir::linear_lookup(&self.vol, &d, name)?
        };
        found.map(u64::from).ok_or(Error::NotFound)
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
        self.read_inode_data(&inode, offset, buf)
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        let d = self.dir_inode(dir)?;
        dir::for_each(&self.vol, &d, cookie, &mut |c, e| {
            if e.name == b"." || e.name == b".." {
                return Ok(true);
            }
            Ok(sink.push(c, u64::from(e.inode), e.kind, e.name))
        })
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let inode = self.inode(id)?;
        if inode.kind() != FileKind::Symlink {
            return Err(Error::NotASymlink);
        }
        let size = inode.size();
        if size > MAX_SYMLINK {
            return Err(Error::limit(format!(
                "inode {}: symlink of {size} bytes > {MAX_SYMLINK} (MAX_SYMLINK)",
                inode.ino
            )));
        }
        // size <= 64 KiB.
        let mut v = vec![0u8; size as usize];
        let n = self.read_inode_data(&inode, 0, &mut v)?;
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
        let size = inode.size();
        if from >= size {
            return Ok(());
        }
        if Self::is_inline(&inode) || Self::is_fast_symlink(&inode) {
            opaque_tail(from, size, sink);
            return Ok(());
        }
        let nblocks = self.span_blocks(&inode)?;
        let bs = self.vol.block_size();
        let vol = &self.vol;
        let mut out = Coalesce::new(sink);
        map::for_each_run(vol, &inode, from / bs, nblocks, &mut |run| {
            let rs = (run.lblk * bs).max(from);
            let re = ((run.lblk + run.len) * bs).min(size);
            if rs >= re {
                return Ok(true);
            }
            Ok(match run.pblk {
                None => out.push(Extent::zero(rs, re - rs)),
                Some(p) => {
                    let dev_off = p * bs + (rs - run.lblk * bs);
                    if vol.overlay.is_empty() {
                        out.push(Extent::data(rs, re - rs, dev_off))
                    } else {
                        // Blocks the journal replaced must go through `read`.
                        let mut ok = true;
                        let mut pos = rs;
                        while pos < re && ok {
                            let blk = p + (pos / bs - run.lblk);
                            let stop = ((pos / bs + 1) * bs).min(re);
                            ok = out.push(if vol.overlay.get(blk).is_some() {
                                Extent::opaque(pos, stop - pos)
                            } else {
                                Extent::data(pos, stop - pos, dev_off + (pos - rs))
                            });
                            pos = stop;
                        }
                        ok
                    }
                }
            })
        })?;
        out.finish();
        Ok(())
    }

    fn label(&self) -> Option<Vec<u8>> {
        let n = &self.vol.sb.s_volume_name;
        let len = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        (len > 0).then(|| n[..len].to_vec())
    }
}

fsimage_abi::export_plugin!(Ext2Fs);
