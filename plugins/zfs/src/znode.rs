//! File attributes: the old `znode_phys_t` bonus (ZPL versions 1-4) and
//! system attributes (ZPL version 5: include/sys/sa_impl.h, the registry
//! and layout ZAPs of the SA master object).

use crate::dnode::{Dnode, Objset};
use crate::limits::{MAX_SA_ATTRS, MAX_SYMLINK};
use crate::ondisk::{sa_hdr_phys_t, znode_phys_t};
use crate::pool::Pool;
use crate::zap;
use fsimage_abi::{Error, Result};
use std::collections::HashMap;
use zerocopy::FromBytes;

/// DMU_OT_ZNODE and DMU_OT_SA bonus types.
const DMU_OT_ZNODE: u8 = 17;
const DMU_OT_SA: u8 = 44;
/// SA_MAGIC.
const SA_MAGIC: u32 = 0x2F505A;
/// Size of `znode_phys_t`; an inline symlink target follows it.
const ZNODE_PHYS_SIZE: usize = 264;

/// Attribute names of the legacy table, numbered by position
/// (`sa_legacy_attrs`); the registry may add and renumber.
const LEGACY: [(&str, u16); 16] = [
    ("ZPL_ATIME", 16),
    ("ZPL_MTIME", 16),
    ("ZPL_CTIME", 16),
    ("ZPL_CRTIME", 16),
    ("ZPL_GEN", 8),
    ("ZPL_MODE", 8),
    ("ZPL_SIZE", 8),
    ("ZPL_PARENT", 8),
    ("ZPL_LINKS", 8),
    ("ZPL_XATTR", 8),
    ("ZPL_RDEV", 8),
    ("ZPL_FLAGS", 8),
    ("ZPL_UID", 8),
    ("ZPL_GID", 8),
    ("ZPL_PAD", 32),
    ("ZPL_ZNODE_ACL", 88),
];

/// The SA tables of a dataset.
#[derive(Debug, Default)]
pub struct SaTables {
    /// name -> attribute number
    by_name: HashMap<Vec<u8>, u16>,
    /// attribute number -> registered length (0 = variable)
    len: HashMap<u16, u16>,
    /// layout number -> attribute numbers in stored order
    layouts: HashMap<u64, Vec<u16>>,
}

impl SaTables {
    pub fn load(pool: &Pool, os: &Objset, sa_obj: u64) -> Result<SaTables> {
        let mut t = SaTables::default();
        for (i, (name, len)) in LEGACY.iter().enumerate() {
            t.by_name.insert(name.as_bytes().to_vec(), i as u16);
            t.len.insert(i as u16, *len);
        }
        let master = os.dnode(pool, sa_obj)?;
        if let Some(reg) = zap::lookup_int(pool, &master, b"REGISTRY")? {
            let reg = os.dnode(pool, reg)?;
            for e in zap::all(pool, &reg)? {
                let v = e
                    .first_int()
                    .ok_or_else(|| Error::corrupt("SA registry: empty value"))?;
                let num = (v & 0xffff) as u16;
                let len = ((v >> 24) & 0xffff) as u16;
                t.by_name.insert(e.name, num);
                t.len.insert(num, len);
            }
        }
        if let Some(lay) = zap::lookup_int(pool, &master, b"LAYOUTS")? {
            let lay = os.dnode(pool, lay)?;
            for e in zap::all(pool, &lay)? {
                let num: u64 = std::str::from_utf8(&e.name)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Error::corrupt("SA layouts: name is not a number"))?;
                let attrs: Vec<u16> = e
                    .ints()
                    .into_iter()
                    .map(u16::try_from)
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| Error::corrupt(format!("SA layout {num}: attribute number")))?;
                if attrs.len() > MAX_SA_ATTRS {
                    return Err(Error::limit(format!(
                        "SA layout {num}: {} attributes > {MAX_SA_ATTRS}",
                        attrs.len()
                    )));
                }
                t.layouts.insert(num, attrs);
            }
        }
        Ok(t)
    }

    fn num(&self, name: &str) -> Option<u16> {
        self.by_name.get(name.as_bytes()).copied()
    }

    /// Splits an SA buffer (bonus or spill) into its attributes.
    fn parse<'a>(&self, buf: &'a [u8], obj: u64, out: &mut HashMap<u16, &'a [u8]>) -> Result<()> {
        let hdr = sa_hdr_phys_t::read_from_prefix(buf)
            .map_err(|_| Error::corrupt(format!("object {obj}: SA header truncated")))?
            .0;
        if hdr.sa_magic.get() != SA_MAGIC {
            return Err(Error::corrupt(format!(
                "object {obj}: SA magic {:#x}",
                hdr.sa_magic.get()
            )));
        }
        let info = hdr.sa_layout_info.get();
        let num = u64::from(info & 0x3ff);
        let hdrsz = usize::from((info >> 10) & 0x3f) * 8;
        if hdrsz < 8 || hdrsz > buf.len() {
            return Err(Error::corrupt(format!(
                "object {obj}: SA header of {hdrsz} bytes"
            )));
        }
        let layout = self
            .layouts
            .get(&num)
            .ok_or_else(|| Error::corrupt(format!("object {obj}: unknown SA layout {num}")))?;
        let mut off = hdrsz;
        let mut var = 0usize;
        for &a in layout {
            let mut len = usize::from(*self.len.get(&a).ok_or_else(|| {
                Error::corrupt(format!("object {obj}: unknown SA attribute {a}"))
            })?);
            if len == 0 {
                let li = 6 + var * 2;
                if li + 2 > hdrsz {
                    return Err(Error::corrupt(format!(
                        "object {obj}: SA header lacks length {var}"
                    )));
                }
                len = usize::from(u16::from_le_bytes([buf[li], buf[li + 1]]));
                var += 1;
            }
            let data = buf.get(off..off + len).ok_or_else(|| {
                Error::corrupt(format!("object {obj}: SA attribute {a} past the end"))
            })?;
            out.insert(a, data);
            off = (off + len).div_ceil(8) * 8;
        }
        Ok(())
    }
}

/// What stat and read need of a file.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    pub mode: u64,
    pub size: u64,
    pub uid: u64,
    pub gid: u64,
    pub links: u64,
    pub rdev: u64,
    pub atime: [u64; 2],
    pub mtime: [u64; 2],
    pub ctime: [u64; 2],
    /// A symlink target kept with the attributes (bonus or SA), if so.
    pub symlink: Option<Vec<u8>>,
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    b.get(i * 8..i * 8 + 8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
        .unwrap_or(0)
}

/// Reads an object's attributes.
pub fn attrs(pool: &Pool, sa: Option<&SaTables>, dn: &Dnode) -> Result<Attrs> {
    let obj = dn.obj;
    let bonus = dn.bonus()?;
    match dn.bonustype() {
        DMU_OT_ZNODE => {
            let z = znode_phys_t::read_from_prefix(bonus)
                .map_err(|_| Error::corrupt(format!("object {obj}: znode bonus truncated")))?
                .0;
            let mut a = Attrs {
                mode: z.zp_mode.get(),
                size: z.zp_size.get(),
                uid: z.zp_uid.get(),
                gid: z.zp_gid.get(),
                links: z.zp_links.get(),
                rdev: z.zp_rdev.get(),
                atime: z.zp_atime.map(|w| w.get()),
                mtime: z.zp_mtime.map(|w| w.get()),
                ctime: z.zp_ctime.map(|w| w.get()),
                symlink: None,
            };
            // A short symlink target follows the znode in the bonus.
            if a.mode & 0o170000 == 0o120000
                && a.size <= MAX_SYMLINK
                && let Some(t) = bonus.get(ZNODE_PHYS_SIZE..ZNODE_PHYS_SIZE + a.size as usize)
            {
                a.symlink = Some(t.to_vec());
            }
            Ok(a)
        }
        DMU_OT_SA => {
            let sa = sa.ok_or_else(|| {
                Error::corrupt(format!("object {obj}: SA bonus in a dataset without SA"))
            })?;
            let mut map = HashMap::new();
            sa.parse(bonus, obj, &mut map)?;
            let spill_buf;
            if let Some(sp) = dn.spill()?
                && !sp.is_hole()
            {
                spill_buf = pool.read_bp(&sp)?;
                let mut more = HashMap::new();
                sa.parse(&spill_buf, obj, &mut more)?;
                for (k, v) in more {
                    map.entry(k).or_insert(v);
                }
            }
            let get = |name: &str| sa.num(name).and_then(|n| map.get(&n).copied());
            let num = |name: &str| get(name).map(|b| u64_at(b, 0));
            let pair = |name: &str| get(name).map(|b| [u64_at(b, 0), u64_at(b, 1)]);
            let mode = num("ZPL_MODE")
                .ok_or_else(|| Error::corrupt(format!("object {obj}: no ZPL_MODE")))?;
            let size = num("ZPL_SIZE")
                .ok_or_else(|| Error::corrupt(format!("object {obj}: no ZPL_SIZE")))?;
            Ok(Attrs {
                mode,
                size,
                uid: num("ZPL_UID").unwrap_or(0),
                gid: num("ZPL_GID").unwrap_or(0),
                links: num("ZPL_LINKS").unwrap_or(1),
                rdev: num("ZPL_RDEV").unwrap_or(0),
                atime: pair("ZPL_ATIME").unwrap_or_default(),
                mtime: pair("ZPL_MTIME").unwrap_or_default(),
                ctime: pair("ZPL_CTIME").unwrap_or_default(),
                symlink: get("ZPL_SYMLINK").map(|b| b.to_vec()),
            })
        }
        t => Err(Error::corrupt(format!(
            "object {obj}: bonus type {t} is not a znode"
        ))),
    }
}
