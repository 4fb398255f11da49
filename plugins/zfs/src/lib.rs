//! ZFS plugin: a read-only reader for ZFS pools — pool versions 1-28
//! (Solaris, zfs-fuse) and 5000 (feature flags, OpenZFS) — on one or more
//! devices (plain and mirror vdevs).
//!
//! The mount options string names the dataset, `pool/fs[@snap]`; empty
//! means the pool's `bootfs` property, else the pool's root dataset.
//! `csum=off` (comma-separated from the name) skips checksum verification,
//! for fuzzing. The
//! boot string is libfsimage's `zfs-bootfs=<pool>/<dataset object>,
//! bootpath='<phys_path>'`.
//!
//! Facts from the ZFS On-Disk Specification (2006), the OpenZFS headers
//! named in each module, and GRUB's `grub-core/fs/zfs`.
#![forbid(unsafe_code)]

mod bp;
mod checksum;
pub mod decompress;
mod dnode;
pub mod limits;
pub mod nvlist;
mod ondisk;
mod pool;
mod raidz;
pub mod zap;
mod znode;

use dnode::{Dnode, Objset};
use fsimage_abi::raw::RawMagic;
use fsimage_abi::{
    Device, DirSink, Error, ExtentSink, FileKind, Filesystem, Result, Stat, Timespec,
};
use limits::{DIR_CACHE_ENTRIES, MAX_DATASET_DEPTH, MAX_SYMLINK, MAX_UBERBLOCK_TRIES};
use ondisk::{dsl_dataset_phys_t, dsl_dir_phys_t};
use pool::Pool;
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Mutex;
use zerocopy::FromBytes;
use znode::{Attrs, SaTables};

/// The MOS object directory (DMU_POOL_DIRECTORY_OBJECT) and the ZPL
/// master node (MASTER_NODE_OBJ) are both object 1.
const DIRECTORY_OBJ: u64 = 1;
/// dmu_objset_type_t values.
const DMU_OST_META: u64 = 1;
const DMU_OST_ZFS: u64 = 2;
/// Highest ZPL version read.
const ZPL_VERSION_MAX: u64 = 5;
/// ZFS_DIRENT_OBJ: the low 48 bits of a directory entry value.
const DIRENT_OBJ_MASK: u64 = (1 << 48) - 1;

/// Features needed for reading that this reader implements (or that do
/// not change what a reader sees).
const SUPPORTED_FEATURES: &[&str] = &[
    "org.illumos:lz4_compress",
    "com.delphix:hole_birth",
    "com.delphix:extensible_dataset",
    "com.delphix:embedded_data",
    "org.open-zfs:large_blocks",
    "org.zfsonlinux:large_dnode",
    "org.illumos:sha512",
    "org.freebsd:zstd_compress",
    "com.klarasystems:vdev_zaps_v2",
    "org.openzfs:longname",
    "org.openzfs:large_microzap",
    "com.delphix:spacemap_histogram",
    "com.delphix:bookmark_v2",
    "com.datto:bookmark_v2",
    "com.delphix:head_errlog",
];

fn check_feature(name: &[u8]) -> Result<()> {
    if SUPPORTED_FEATURES.iter().any(|f| f.as_bytes() == name) {
        return Ok(());
    }
    Err(Error::unsupported(format!(
        "zfs: feature '{}' needed to read",
        String::from_utf8_lossy(name)
    )))
}

/// A directory's entries by name (object, name -> ZAP entry value).
type DirCache = (u64, HashMap<Vec<u8>, u64>);

/// A mounted ZFS dataset.
pub struct ZfsFs {
    pool: Pool,
    os: Objset,
    root: u64,
    sa: Option<SaTables>,
    dsobj: u64,
    dataset: Vec<u8>,
    /// The txg of the uberblock mounted.
    txg: u64,
    /// The last directory listed for lookups: (object, name -> entry value).
    dir_cache: Mutex<Option<DirCache>>,
}

impl std::fmt::Debug for ZfsFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ZfsFs({:?}, dataset {} (object {}))",
            self.pool,
            String::from_utf8_lossy(&self.dataset),
            self.dsobj
        )
    }
}

fn bonus_struct<T: FromBytes>(dn: &Dnode, what: &str) -> Result<T> {
    T::read_from_prefix(dn.bonus()?)
        .map(|(t, _)| t)
        .map_err(|_| Error::corrupt(format!("{what} {}: bonus too short", dn.obj)))
}

fn need(v: Option<u64>, what: impl std::fmt::Display) -> Result<u64> {
    v.ok_or_else(|| Error::corrupt(format!("{what} missing")))
}

/// Which dataset the options name.
struct Wanted<'a> {
    fs: Vec<&'a [u8]>,
    snap: Option<&'a [u8]>,
}

/// Mount options: comma-separated; `csum=off` (read without verifying
/// checksums, for fuzzing) and at most one dataset name.
struct Options<'a> {
    wanted: Option<Wanted<'a>>,
    verify: bool,
}

fn parse_mount_options(opts: &[u8]) -> Result<Options<'_>> {
    let mut o = Options {
        wanted: None,
        verify: true,
    };
    for tok in opts.split(|&c| c == b',') {
        let t = tok.trim_ascii();
        if t.is_empty() {
            continue;
        }
        if t == b"csum=off" {
            o.verify = false;
        } else if t.contains(&b'=') {
            return Err(Error::invalid(format!(
                "zfs: unknown option '{}'",
                String::from_utf8_lossy(t)
            )));
        } else if o.wanted.is_some() {
            return Err(Error::invalid("zfs: more than one dataset named"));
        } else {
            o.wanted = parse_options(t)?;
        }
    }
    Ok(o)
}

fn parse_options(opts: &[u8]) -> Result<Option<Wanted<'_>>> {
    let o = opts.trim_ascii();
    if o.is_empty() {
        return Ok(None);
    }
    let (fs, snap) = match o.iter().position(|&c| c == b'@') {
        Some(i) => (&o[..i], Some(&o[i + 1..])),
        None => (o, None),
    };
    let fs: Vec<&[u8]> = fs.split(|&c| c == b'/').filter(|c| !c.is_empty()).collect();
    if fs.is_empty() || fs.len() > MAX_DATASET_DEPTH || snap.is_some_and(|s| s.is_empty()) {
        return Err(Error::invalid(format!(
            "zfs: bad dataset name '{}'",
            String::from_utf8_lossy(o)
        )));
    }
    Ok(Some(Wanted { fs, snap }))
}

struct Mounted {
    txg: u64,
    os: Objset,
    root: u64,
    sa: Option<SaTables>,
    dsobj: u64,
}

fn mount_uberblock(pool: &Pool, ub: &pool::Uberblock, wanted: &Option<Wanted>) -> Result<Mounted> {
    let mos = Objset::open(pool, &ub.rootbp)?;
    if mos.os_type != DMU_OST_META {
        return Err(Error::corrupt(format!(
            "MOS: object set type {}",
            mos.os_type
        )));
    }
    let objdir = mos.dnode(pool, DIRECTORY_OBJ)?;
    if let Some(f) = zap::lookup_int(pool, &objdir, b"features_for_read")? {
        let f = mos.dnode(pool, f)?;
        for e in zap::all(pool, &f)? {
            if e.first_int().unwrap_or(0) > 0 {
                check_feature(&e.name)?;
            }
        }
    }
    let root_dir = need(
        zap::lookup_int(pool, &objdir, b"root_dataset")?,
        "MOS directory: root_dataset",
    )?;
    let dir_phys = |obj: u64| -> Result<dsl_dir_phys_t> {
        bonus_struct(&mos.dnode(pool, obj)?, "DSL directory")
    };
    let dsobj = match wanted {
        None => {
            let bootfs = match zap::lookup_int(pool, &objdir, b"pool_props")? {
                Some(p) => zap::lookup_int(pool, &mos.dnode(pool, p)?, b"bootfs")?,
                None => None,
            };
            match bootfs {
                Some(b) if b != 0 => b,
                _ => dir_phys(root_dir)?.dd_head_dataset_obj.get(),
            }
        }
        Some(w) => {
            let name = || {
                let mut n = w.fs.join(&b'/');
                if let Some(s) = w.snap {
                    n.push(b'@');
                    n.extend_from_slice(s);
                }
                String::from_utf8_lossy(&n).into_owned()
            };
            if w.fs[0] != pool.name.as_slice() {
                return Err(Error::invalid(format!(
                    "zfs: dataset '{}' is not in pool '{}'",
                    name(),
                    String::from_utf8_lossy(&pool.name)
                )));
            }
            let mut dir = root_dir;
            for comp in &w.fs[1..] {
                let children = dir_phys(dir)?.dd_child_dir_zapobj.get();
                let cz = mos.dnode(pool, children)?;
                dir = zap::lookup_int(pool, &cz, comp)?
                    .ok_or_else(|| Error::invalid(format!("zfs: no dataset '{}'", name())))?;
            }
            let head = dir_phys(dir)?.dd_head_dataset_obj.get();
            match w.snap {
                None => head,
                Some(s) => {
                    let ds: dsl_dataset_phys_t =
                        bonus_struct(&mos.dnode(pool, head)?, "DSL dataset")?;
                    let snaps = mos.dnode(pool, ds.ds_snapnames_zapobj.get())?;
                    zap::lookup_int(pool, &snaps, s)?
                        .ok_or_else(|| Error::invalid(format!("zfs: no snapshot '{}'", name())))?
                }
            }
        }
    };
    let ds: dsl_dataset_phys_t = bonus_struct(&mos.dnode(pool, dsobj)?, "DSL dataset")?;
    let os = Objset::open(
        pool,
        &bp::Bp::parse(zerocopy::IntoBytes::as_bytes(&ds.ds_bp))?,
    )?;
    if os.os_type != DMU_OST_ZFS {
        return Err(Error::unsupported(format!(
            "zfs: dataset object {dsobj} is of type {} (not a filesystem)",
            os.os_type
        )));
    }
    let master = os.dnode(pool, DIRECTORY_OBJ)?;
    let version = zap::lookup_int(pool, &master, b"VERSION")?.unwrap_or(1);
    if version > ZPL_VERSION_MAX {
        return Err(Error::unsupported(format!("zfs: ZPL version {version}")));
    }
    let root = need(
        zap::lookup_int(pool, &master, b"ROOT")?,
        "ZPL master node: ROOT",
    )?;
    let sa = match zap::lookup_int(pool, &master, b"SA_ATTRS")? {
        Some(o) => Some(SaTables::load(pool, &os, o)?),
        None => None,
    };
    Ok(Mounted {
        txg: ub.txg,
        os,
        root,
        sa,
        dsobj,
    })
}

impl ZfsFs {
    fn dnode(&self, id: u64) -> Result<Dnode> {
        self.os.dnode(&self.pool, id)
    }

    fn attrs(&self, dn: &Dnode) -> Result<Attrs> {
        znode::attrs(&self.pool, self.sa.as_ref(), dn)
    }

    fn node(&self, id: u64) -> Result<(Dnode, Attrs)> {
        let dn = self.dnode(id)?;
        let a = self.attrs(&dn)?;
        Ok((dn, a))
    }

    fn dir(&self, id: u64) -> Result<Dnode> {
        let (dn, a) = self.node(id)?;
        if kind_of(a.mode) != FileKind::Dir {
            return Err(Error::NotADirectory);
        }
        Ok(dn)
    }

    /// The txg of the uberblock in use (the newest one that mounts).
    pub fn txg(&self) -> u64 {
        self.txg
    }

    /// The txgs of every valid uberblock found, newest first.
    pub fn uberblock_txgs(&self) -> Vec<u64> {
        self.pool.uberblocks.iter().map(|u| u.txg).collect()
    }

    /// An object's data block size and its first `max` bytes of data, as
    /// stored (directories: their ZAP blocks). For making fuzz seeds.
    #[doc(hidden)]
    pub fn raw_object(&self, id: u64, max: u64) -> Result<(u64, Vec<u8>)> {
        let dn = self.dnode(id)?;
        let bs = dn.datablksz();
        let len = bs.saturating_mul(dn.maxblkid().saturating_add(1)).min(max);
        // len <= max, which callers keep small.
        let mut v = vec![0u8; len as usize];
        self.pool.dnode_read(&dn, 0, &mut v)?;
        Ok((bs, v))
    }

    /// The dataset's object number in the MOS (what the boot string names).
    pub fn dataset_object(&self) -> u64 {
        self.dsobj
    }

    fn read_data(&self, dn: &Dnode, a: &Attrs, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= a.size || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(a.size - offset).map_or(buf.len(), |r| r.min(buf.len()));
        let buf = &mut buf[..n];
        if let Some(t) = &a.symlink {
            let src = usize::try_from(offset)
                .ok()
                .and_then(|o| t.get(o..o.checked_add(n)?))
                .ok_or_else(|| Error::corrupt(format!("object {}: symlink target", dn.obj)))?;
            buf.copy_from_slice(src);
            return Ok(n);
        }
        self.pool.dnode_read(dn, offset, buf)?;
        Ok(n)
    }
}

/// The file type of a ZPL mode (only the S_IFMT bits matter).
fn kind_of(mode: u64) -> FileKind {
    FileKind::from_mode(u32::try_from(mode & 0o170000).unwrap_or(0))
}

/// The kind in a ZPL directory entry: the top 4 bits hold the `DT_*` type.
fn kind_of_dirent(v: u64) -> FileKind {
    // v >> 60 < 16: the cast cannot truncate.
    FileKind::from_dt((v >> 60) as u8)
}

fn ts(t: [u64; 2]) -> Timespec {
    Timespec {
        sec: i64::try_from(t[0]).unwrap_or(i64::MAX),
        nsec: u32::try_from(t[1]).unwrap_or(0).min(999_999_999),
    }
}

impl Filesystem for ZfsFs {
    const NAME: &'static CStr = c"zfs";

    const MAGICS: &'static [RawMagic] = &pool::MAGICS;

    fn probe(devices: &[Device]) -> Result<u32> {
        let Some(dev) = devices.first() else {
            return Ok(0);
        };
        Ok(if pool::probe(dev) { 90 } else { 0 })
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        let Options { wanted, verify } = parse_mount_options(options)?;
        let pool = Pool::open(devices, verify)?;
        for f in pool.features_for_read() {
            check_feature(&f)?;
        }
        let mut last = Error::not_recognized("zfs: no uberblock");
        let mut got = None;
        for ub in pool.uberblocks.iter().take(MAX_UBERBLOCK_TRIES) {
            match mount_uberblock(&pool, ub, &wanted) {
                Ok(m) => {
                    got = Some(m);
                    break;
                }
                // A damaged newest txg falls back to an older uberblock;
                // anything else (unsupported, no such dataset) is final.
                Err(e @ (Error::Corrupt(_) | Error::Io(_) | Error::OutOfBounds { .. })) => last = e,
                Err(e) => return Err(e),
            }
        }
        let Some(m) = got else {
            return Err(last);
        };
        let dataset = match &wanted {
            Some(w) => {
                let mut n = w.fs.join(&b'/');
                if let Some(s) = w.snap {
                    n.push(b'@');
                    n.extend_from_slice(s);
                }
                n
            }
            None => pool.name.clone(),
        };
        let fs = ZfsFs {
            pool,
            os: m.os,
            root: m.root,
            sa: m.sa,
            dsobj: m.dsobj,
            dataset,
            txg: m.txg,
            dir_cache: Mutex::new(None),
        };
        fs.dir(fs.root)?;
        Ok(fs)
    }

    fn root(&self) -> u64 {
        self.root
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        if let Ok(c) = self.dir_cache.lock()
            && let Some((d, map)) = c.as_ref()
            && *d == dir
        {
            return map
                .get(name)
                .map(|v| v & DIRENT_OBJ_MASK)
                .ok_or(Error::NotFound);
        }
        let dn = self.dir(dir)?;
        let mut map = HashMap::new();
        let mut complete = true;
        zap::for_each(
            &zap::ObjZap {
                pool: &self.pool,
                dn: &dn,
            },
            0,
            &mut |_, e| {
                if map.len() >= DIR_CACHE_ENTRIES {
                    complete = false;
                    return Ok(false);
                }
                if let Some(v) = e.first_int() {
                    map.insert(e.name, v);
                }
                Ok(true)
            },
        )?;
        if !complete {
            let e = zap::lookup(&self.pool, &dn, name)?.ok_or(Error::NotFound)?;
            return Ok(e.first_int().unwrap_or(0) & DIRENT_OBJ_MASK);
        }
        let r = map
            .get(name)
            .map(|v| v & DIRENT_OBJ_MASK)
            .ok_or(Error::NotFound);
        if let Ok(mut c) = self.dir_cache.lock() {
            *c = Some((dir, map));
        }
        r
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        let (_, a) = self.node(id)?;
        let kind = kind_of(a.mode);
        Ok(Stat {
            ino: id,
            kind,
            perm: u32::try_from(a.mode & 0o7777).unwrap_or(0),
            uid: u32::try_from(a.uid).unwrap_or(u32::MAX),
            gid: u32::try_from(a.gid).unwrap_or(u32::MAX),
            nlink: a.links,
            size: a.size,
            atime: ts(a.atime),
            mtime: ts(a.mtime),
            ctime: ts(a.ctime),
            rdev: a.rdev,
        })
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let (dn, a) = self.node(id)?;
        match kind_of(a.mode) {
            FileKind::Dir => Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => self.read_data(&dn, &a, offset, buf),
            _ => Ok(0),
        }
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        let dn = self.dir(dir)?;
        zap::for_each(
            &zap::ObjZap {
                pool: &self.pool,
                dn: &dn,
            },
            cookie,
            &mut |pos, e| {
                let n = &e.name;
                if !fsimage_abi::is_entry_name(n) {
                    return Err(Error::corrupt(format!(
                        "directory {dir}: entry name {:?} is not a file name",
                        String::from_utf8_lossy(n)
                    )));
                }
                let v = e.first_int().unwrap_or(0);
                Ok(sink.push(pos, v & DIRENT_OBJ_MASK, kind_of_dirent(v), n))
            },
        )
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let (dn, a) = self.node(id)?;
        if kind_of(a.mode) != FileKind::Symlink {
            return Err(Error::NotASymlink);
        }
        if a.size > MAX_SYMLINK {
            return Err(Error::corrupt(format!(
                "object {id}: symlink of {} bytes > {MAX_SYMLINK}",
                a.size
            )));
        }
        // size <= MAX_SYMLINK.
        let mut v = vec![0u8; a.size as usize];
        let n = self.read_data(&dn, &a, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// ZFS data is checksummed and usually compressed: the whole file is
    /// one opaque extent, read through `read`.
    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let (_, a) = self.node(id)?;
        match kind_of(a.mode) {
            FileKind::Dir => return Err(Error::IsADirectory),
            FileKind::File | FileKind::Symlink => {}
            _ => return Ok(()),
        }
        fsimage_abi::sdk::opaque_tail(from, a.size, sink);
        Ok(())
    }

    fn bootstring(&self) -> Result<Option<Vec<u8>>> {
        let mut s = b"zfs-bootfs=".to_vec();
        s.extend_from_slice(&self.pool.name);
        s.extend_from_slice(format!("/{},bootpath='", self.dsobj).as_bytes());
        s.extend_from_slice(&self.pool.bootpath);
        s.push(b'\'');
        Ok(Some(s))
    }

    fn label(&self) -> Option<Vec<u8>> {
        Some(self.pool.name.clone())
    }
}

fsimage_abi::export_plugin!(ZfsFs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_read_features_are_refused_by_name() {
        assert!(check_feature(b"com.delphix:embedded_data").is_ok());
        assert!(check_feature(b"org.zfsonlinux:large_dnode").is_ok());
        for f in [
            "com.datto:encryption",
            "com.delphix:device_removal",
            "org.illumos:skein",
            "com.example:future",
        ] {
            let e = check_feature(f.as_bytes()).unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)));
            assert!(e.to_string().contains(f), "{e}");
        }
    }

    #[test]
    fn dataset_option_parsing() {
        assert!(parse_options(b"  ").unwrap().is_none());
        let w = parse_options(b"rpool/ROOT/be@snap").unwrap().unwrap();
        assert_eq!(w.fs, vec![&b"rpool"[..], b"ROOT", b"be"]);
        assert_eq!(w.snap, Some(&b"snap"[..]));
        assert!(parse_options(b"@x").is_err());
        assert!(parse_options(b"p@").is_err());
        let deep = "a/".repeat(100);
        assert!(parse_options(deep.as_bytes()).is_err());
        let o = parse_mount_options(b"csum=off, tank/a").unwrap();
        assert!(!o.verify);
        assert_eq!(o.wanted.unwrap().fs, vec![&b"tank"[..], b"a"]);
        assert!(parse_mount_options(b"a,b").is_err());
        assert!(parse_mount_options(b"journal=replay").is_err());
    }
}
