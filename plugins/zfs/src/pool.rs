//! The pool: vdev labels (include/sys/vdev_impl.h), the uberblock ring,
//! top-level vdevs mapped to the devices handed in, and block reads with
//! checksum verification, gang blocks, decompression and a small cache.

use crate::bp::{BP_SIZE, Bp, Dva};
use crate::checksum::{self, Algo};
use crate::decompress::{self, Codec};
use crate::limits::{
    CACHE_BLOCKS, CACHE_BYTES, MAX_BLOCK_SIZE, MAX_DEVICES, MAX_GANG_DEPTH, MAX_RAIDZ_TRIES,
    NVLIST_MAX_DEPTH, VDEV_PHYS_SIZE,
};
use crate::nvlist::{self, NvList};
use crate::ondisk::{uberblock_t, zio_eck_t};
use crate::raidz;
use fsimage_abi::raw::RawMagic;
use fsimage_abi::{Device, Error, ReadAt, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use zerocopy::FromBytes;

/// sizeof(vdev_label_t).
pub const LABEL_SIZE: u64 = 256 << 10;
/// VDEV_LABEL_START_SIZE: two labels and the 3.5 MiB boot block precede
/// the allocatable space that DVA offsets count from.
pub const LABEL_START: u64 = 4 << 20;
/// Offset of the packed nvlist in a label (after blank and boot header).
const VDEV_PHYS_OFFSET: u64 = 16 << 10;
/// How a label's packed nvlist begins (nvpair.h): NV_ENCODE_XDR, the
/// writer's byte order (1 little, 0 big), two zero bytes, XDR NV_VERSION 0.
const LABEL_NV_HEADERS: [[u8; 8]; 2] = [[1, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]];
/// Those headers in the two front labels: `probe` looks nowhere else.
pub const MAGICS: [RawMagic; 4] = [
    RawMagic::new(VDEV_PHYS_OFFSET, &LABEL_NV_HEADERS[0]),
    RawMagic::new(VDEV_PHYS_OFFSET, &LABEL_NV_HEADERS[1]),
    RawMagic::new(LABEL_SIZE + VDEV_PHYS_OFFSET, &LABEL_NV_HEADERS[0]),
    RawMagic::new(LABEL_SIZE + VDEV_PHYS_OFFSET, &LABEL_NV_HEADERS[1]),
];
/// Offset and size of the uberblock ring in a label.
const UB_RING_OFFSET: u64 = 128 << 10;
const UB_RING_SIZE: u64 = 128 << 10;
/// UBERBLOCK_MAGIC.
pub const UB_MAGIC: u64 = 0x00ba_b10c;
/// ZEC_MAGIC of an embedded checksum.
const ZEC_MAGIC: u64 = 0x0210_da7a_b10c_7a11;
/// SPA_GANGBLOCKSIZE.
const GANG_SIZE: usize = 512;
/// Uberblock slot shifts: MAX(ashift, UBERBLOCK_SHIFT) capped at
/// MAX_UBERBLOCK_SHIFT.
const UB_SHIFT_MIN: u64 = 10;
const UB_SHIFT_MAX: u64 = 13;

/// Verifies an embedded checksum (`zio_eck_t` at the end of `buf`, SHA-256
/// with the verifier words in place of the stored checksum). Both byte
/// orders; `false` when the magic or the checksum is wrong.
pub fn verify_eck(buf: &[u8], verifier: [u64; 4]) -> bool {
    let n = buf.len();
    let Some(tail) = n.checked_sub(40).and_then(|s| buf.get(s..)) else {
        return false;
    };
    let Ok(eck) = zio_eck_t::read_from_bytes(tail) else {
        return false;
    };
    let magic = eck.zec_magic.get();
    let swap = if magic == ZEC_MAGIC {
        false
    } else if magic.swap_bytes() == ZEC_MAGIC {
        true
    } else {
        return false;
    };
    let fix = |w: u64| if swap { w.swap_bytes() } else { w };
    let stored = eck.zec_cksum.map(|w| fix(w.get()));
    let mut copy = buf.to_vec();
    for (i, v) in verifier.iter().enumerate() {
        let at = n - 32 + i * 8;
        copy[at..at + 8].copy_from_slice(&fix(*v).to_le_bytes());
    }
    checksum::sha256(&copy) == stored
}

/// A valid uberblock found in some label.
#[derive(Debug, Clone)]
pub struct Uberblock {
    pub txg: u64,
    pub timestamp: u64,
    pub rootbp: Bp,
}

/// What one label holds.
struct Label {
    nv: Option<NvList>,
    ubs: Vec<Uberblock>,
    big_endian_ubs: usize,
}

fn label_offsets(size: u64) -> Vec<u64> {
    let psize = size & !(LABEL_SIZE - 1);
    let mut v = vec![0, LABEL_SIZE];
    if psize >= 4 * LABEL_SIZE {
        v.push(psize - 2 * LABEL_SIZE);
        v.push(psize - LABEL_SIZE);
    }
    v.retain(|&o| o + LABEL_SIZE <= size);
    v
}

/// Parses the uberblocks of one ring (`ring` read from device offset `at`).
fn parse_ring(ring: &[u8], at: u64, shift: u64, verify: bool, out: &mut Label) {
    let slot = 1usize << shift;
    for (i, s) in ring.chunks_exact(slot).enumerate() {
        let Ok((ub, _)) = uberblock_t::read_from_prefix(s) else {
            continue;
        };
        let magic = ub.ub_magic.get();
        if magic == UB_MAGIC.swap_bytes() {
            out.big_endian_ubs += 1;
            continue;
        }
        if magic != UB_MAGIC {
            continue;
        }
        let off = at + (i as u64) * slot as u64;
        if verify && !verify_eck(s, [off, 0, 0, 0]) {
            continue;
        }
        let Ok(rootbp) = Bp::parse(&s[40..40 + BP_SIZE]) else {
            continue;
        };
        out.ubs.push(Uberblock {
            txg: ub.ub_txg.get(),
            timestamp: ub.ub_timestamp.get(),
            rootbp,
        });
    }
}

fn read_label(dev: &Device, off: u64, verify: bool) -> Label {
    let mut l = Label {
        nv: None,
        ubs: Vec::new(),
        big_endian_ubs: 0,
    };
    if let Ok(area) = dev.read_vec_at(off + VDEV_PHYS_OFFSET, VDEV_PHYS_SIZE)
        && (!verify || verify_eck(&area, [off + VDEV_PHYS_OFFSET, 0, 0, 0]))
    {
        l.nv = nvlist::unpack(&area).ok();
    }
    let ashift =
        l.nv.as_ref()
            .and_then(|n| n.list("vdev_tree"))
            .and_then(|t| t.u64("ashift"))
            .unwrap_or(9);
    let shift = ashift.clamp(UB_SHIFT_MIN, UB_SHIFT_MAX);
    if let Ok(ring) = dev.read_vec_at(off + UB_RING_OFFSET, UB_RING_SIZE as usize) {
        parse_ring(&ring, off + UB_RING_OFFSET, shift, verify, &mut l);
        // Without a readable ashift, try every slot size.
        if l.ubs.is_empty() {
            for other in (UB_SHIFT_MIN..=UB_SHIFT_MAX).filter(|&x| x != shift) {
                parse_ring(&ring, off + UB_RING_OFFSET, other, verify, &mut l);
            }
        }
    }
    l
}

/// Cheap recognition: does a front label of `dev` hold an nvlist header
/// and a valid uberblock? (A pool whose front labels are both gone is not
/// recognised, though its back labels may be whole.)
pub fn probe(dev: &Device) -> bool {
    label_offsets(dev.size()).into_iter().take(2).any(|off| {
        let mut hdr = [0u8; 8];
        if dev.read_exact_at(off + VDEV_PHYS_OFFSET, &mut hdr).is_err()
            || !LABEL_NV_HEADERS.contains(&hdr)
        {
            return false;
        }
        let mut l = Label {
            nv: None,
            ubs: Vec::new(),
            big_endian_ubs: 0,
        };
        if let Ok(ring) = dev.read_vec_at(off + UB_RING_OFFSET, UB_RING_SIZE as usize) {
            for shift in UB_SHIFT_MIN..=UB_SHIFT_MAX {
                parse_ring(&ring, off + UB_RING_OFFSET, shift, true, &mut l);
                if !l.ubs.is_empty() {
                    break;
                }
            }
        }
        !l.ubs.is_empty() || l.big_endian_ubs > 0
    })
}

/// Finds the leaf with `guid` in a vdev tree, bounded by the nvlist depth.
fn find_leaf(tree: &NvList, guid: u64, depth: usize) -> Option<&NvList> {
    if depth > NVLIST_MAX_DEPTH {
        return None;
    }
    if tree.u64("guid") == Some(guid) {
        return Some(tree);
    }
    tree.lists("children")
        .iter()
        .find_map(|c| find_leaf(c, guid, depth + 1))
}

/// What a cached block is known by: its first DVA and birth, and also its
/// properties and checksum, so a second pointer to the same place with
/// another size, compression or checksum is read and verified on its own.
type CacheKey = [u64; 8];

#[derive(Default)]
struct Cache {
    map: HashMap<CacheKey, Arc<Vec<u8>>>,
    order: VecDeque<CacheKey>,
    bytes: usize,
}

impl Cache {
    fn get(&self, k: &CacheKey) -> Option<Arc<Vec<u8>>> {
        self.map.get(k).cloned()
    }
    fn put(&mut self, k: CacheKey, v: Arc<Vec<u8>>) {
        if v.len() > CACHE_BYTES / 4 || self.map.contains_key(&k) {
            return;
        }
        while self.bytes + v.len() > CACHE_BYTES || self.map.len() >= CACHE_BLOCKS {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(o) = self.map.remove(&old) {
                self.bytes -= o.len();
            }
        }
        self.bytes += v.len();
        self.order.push_back(k);
        self.map.insert(k, v);
    }
}

/// A top-level vdev and the devices handed in for it.
enum Top {
    /// disk, file, mirror (replacing, spare): every device found holds all
    /// of the vdev's bytes.
    Copies(Vec<Device>),
    /// RAID-Z: children by their index in the vdev tree.
    Raidz {
        nparity: u64,
        ashift: u32,
        children: Vec<Option<Device>>,
    },
}

/// An opened pool: its configuration and devices.
pub struct Pool {
    /// Top-level vdevs by id.
    tops: Vec<Top>,
    /// The label nvlist with the highest txg.
    pub config: NvList,
    pub name: Vec<u8>,
    pub version: u64,
    /// phys_path of the booting leaf vdev, if recorded.
    pub bootpath: Vec<u8>,
    /// Valid uberblocks, newest first (txg, then timestamp), deduplicated.
    pub uberblocks: Vec<Uberblock>,
    /// Whether checksums are verified (`csum=off` clears it).
    verify: bool,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pool({}, {} top-level vdevs)",
            String::from_utf8_lossy(&self.name),
            self.tops.len()
        )
    }
}

fn is_supported_version(v: u64) -> bool {
    (1..=28).contains(&v) || v == 5000
}

impl Pool {
    /// Reads every label of every device and assembles the pool. With
    /// `verify` false no checksum is checked (labels, uberblocks, blocks):
    /// the `csum=off` option, for fuzzing past the checksums.
    pub fn open(devices: Vec<Device>, verify: bool) -> Result<Pool> {
        if devices.is_empty() {
            return Err(Error::invalid("zfs: no device"));
        }
        if devices.len() > MAX_DEVICES {
            return Err(Error::limit(format!(
                "zfs: {} devices > {MAX_DEVICES}",
                devices.len()
            )));
        }
        let mut ubs: Vec<Uberblock> = Vec::new();
        let mut configs: Vec<Option<NvList>> = Vec::new();
        let mut big_endian = 0usize;
        for dev in &devices {
            let mut best: Option<NvList> = None;
            for off in label_offsets(dev.size()) {
                let l = read_label(dev, off, verify);
                big_endian += l.big_endian_ubs;
                ubs.extend(l.ubs);
                if let Some(nv) = l.nv {
                    let t = nv.u64("txg").unwrap_or(0);
                    if best.as_ref().is_none_or(|b| b.u64("txg").unwrap_or(0) < t) {
                        best = Some(nv);
                    }
                }
            }
            configs.push(best);
        }
        let Some(config) = configs
            .iter()
            .flatten()
            .max_by_key(|c| c.u64("txg").unwrap_or(0))
            .cloned()
        else {
            return Err(Error::not_recognized("zfs: no valid vdev label"));
        };
        if ubs.is_empty() {
            if big_endian > 0 {
                return Err(Error::unsupported("zfs: big-endian pool"));
            }
            return Err(Error::not_recognized("zfs: no valid uberblock"));
        }
        let version = config.u64("version").unwrap_or(0);
        if !is_supported_version(version) {
            return Err(Error::unsupported(format!("zfs: pool version {version}")));
        }
        let name = config
            .str("name")
            .ok_or_else(|| Error::corrupt("zfs label: no pool name"))?
            .to_vec();
        let pool_guid = config.u64("pool_guid");
        let mut tops: Vec<Top> = Vec::new();
        for (i, (dev, cfg)) in devices.iter().zip(&configs).enumerate() {
            let Some(cfg) = cfg else {
                return Err(Error::corrupt(format!(
                    "zfs: device {i} has no valid label"
                )));
            };
            if cfg.u64("pool_guid") != pool_guid {
                return Err(Error::invalid(format!(
                    "zfs: device {i} belongs to another pool"
                )));
            }
            let tree = cfg
                .list("vdev_tree")
                .ok_or_else(|| Error::corrupt(format!("zfs: device {i}: no vdev_tree")))?;
            let id = tree.u64("id").unwrap_or(0);
            let idx = usize::try_from(id)
                .ok()
                .filter(|&x| x < MAX_DEVICES)
                .ok_or_else(|| Error::corrupt(format!("zfs: device {i}: vdev id {id}")))?;
            let ty = tree.str("type").unwrap_or(b"");
            if tops.len() <= idx {
                tops.resize_with(idx + 1, || Top::Copies(Vec::new()));
            }
            match ty {
                b"disk" | b"file" | b"mirror" | b"replacing" | b"spare" => match &mut tops[idx] {
                    Top::Copies(v) => v.push(dev.clone()),
                    Top::Raidz { .. } => {
                        return Err(Error::corrupt(format!(
                            "zfs: device {i}: vdev {id} is raidz on another device"
                        )));
                    }
                },
                b"raidz" => {
                    let kids = tree.lists("children");
                    let n = kids.len();
                    let nparity = tree.u64("nparity").unwrap_or(1);
                    let ashift = tree.u64("ashift").unwrap_or(9);
                    let ashift = u32::try_from(ashift)
                        .ok()
                        .filter(|a| (9..=16).contains(a))
                        .ok_or_else(|| {
                            Error::corrupt(format!("zfs: raidz vdev {id}: ashift {ashift}"))
                        })?;
                    if !(1..=3).contains(&nparity) || n as u64 <= nparity || n > MAX_DEVICES {
                        return Err(Error::corrupt(format!(
                            "zfs: raidz vdev {id}: {n} children, parity {nparity}"
                        )));
                    }
                    let me = cfg.u64("guid");
                    let pos = kids
                        .iter()
                        .position(|k| k.u64("guid") == me)
                        .ok_or_else(|| {
                            Error::corrupt(format!(
                                "zfs: device {i} is not a child of raidz vdev {id}"
                            ))
                        })?;
                    if let Top::Copies(v) = &tops[idx]
                        && v.is_empty()
                    {
                        tops[idx] = Top::Raidz {
                            nparity,
                            ashift,
                            children: vec![None; n],
                        };
                    }
                    match &mut tops[idx] {
                        Top::Raidz {
                            nparity: p,
                            ashift: a,
                            children,
                        } if *p == nparity && *a == ashift && children.len() == n => {
                            children[pos] = Some(dev.clone());
                        }
                        _ => {
                            return Err(Error::corrupt(format!(
                                "zfs: device {i}: raidz vdev {id} disagrees with another device"
                            )));
                        }
                    }
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "zfs: top-level vdev {id} of type '{}'",
                        String::from_utf8_lossy(other)
                    )));
                }
            }
        }
        // Newest first; the same uberblock is in up to four labels per device.
        ubs.sort_by_key(|u| std::cmp::Reverse((u.txg, u.timestamp)));
        ubs.dedup_by(|a, b| {
            a.txg == b.txg && a.timestamp == b.timestamp && a.rootbp.cksum() == b.rootbp.cksum()
        });
        let bootpath = config
            .u64("guid")
            .and_then(|g| find_leaf(config.list("vdev_tree")?, g, 0))
            .and_then(|leaf| leaf.str("phys_path"))
            .unwrap_or(b"")
            .to_vec();
        Ok(Pool {
            tops,
            config,
            name,
            version,
            bootpath,
            uberblocks: ubs,
            verify,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// Names of the features needed to read, from the label.
    pub fn features_for_read(&self) -> Vec<Vec<u8>> {
        self.config
            .list("features_for_read")
            .map(|l| l.pairs.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    }

    /// Reads `len` bytes at a DVA offset from one device.
    fn read_at(dev: &Device, offset: u64, len: usize) -> Result<Vec<u8>> {
        let off = offset
            .checked_add(LABEL_START)
            .ok_or_else(|| Error::corrupt("DVA offset overflows"))?;
        dev.read_vec_at(off, len)
    }

    /// Offers every way of reading `len` bytes at `dva` to `f` (each device
    /// of a mirror; for RAID-Z the data columns, then each data column
    /// rebuilt from parity) until `f` accepts one.
    fn with_copies<T>(
        &self,
        dva: &Dva,
        len: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<T>,
    ) -> Result<T> {
        let top = usize::try_from(dva.vdev)
            .ok()
            .and_then(|i| self.tops.get(i));
        let mut last = Error::corrupt(format!("vdev {} is missing", dva.vdev));
        match top {
            None => {}
            Some(Top::Copies(devs)) => {
                for dev in devs {
                    match Self::read_at(dev, dva.offset, len).and_then(|b| f(&b)) {
                        Ok(t) => return Ok(t),
                        Err(e) => last = e,
                    }
                }
            }
            Some(Top::Raidz {
                nparity,
                ashift,
                children,
            }) => {
                let cols = raidz::map(
                    dva.offset,
                    len as u64,
                    *ashift,
                    children.len() as u64,
                    *nparity,
                )?;
                let np = *nparity as usize;
                let mut bufs: Vec<Option<Vec<u8>>> = Vec::with_capacity(cols.len());
                for c in &cols {
                    // Column sizes are at most the padded block size.
                    let b = children[c.dev]
                        .as_ref()
                        .and_then(|d| Self::read_at(d, c.off, c.size as usize).ok());
                    bufs.push(b);
                }
                let assemble = |data: &[Vec<u8>]| -> Vec<u8> {
                    let mut v = Vec::with_capacity(len);
                    for d in data {
                        v.extend_from_slice(d);
                    }
                    v.truncate(len);
                    v
                };
                let nd = cols.len().saturating_sub(np);
                let data: Vec<Vec<u8>> = (np..cols.len())
                    .map(|j| bufs[j].clone().unwrap_or_default())
                    .collect();
                let missing: Vec<usize> = (0..nd).filter(|&j| bufs[np + j].is_none()).collect();
                let p = bufs.first().cloned().flatten().filter(|_| np >= 1);
                let q = bufs.get(1).cloned().flatten().filter(|_| np >= 2);
                let size_of = |j: usize| cols[np + j].size as usize;
                // Sets of data columns to rebuild, in order: none, each one,
                // each pair (with two parity columns).
                let mut sets: Vec<Vec<usize>> = Vec::new();
                match missing.len() {
                    0 => {
                        sets.push(Vec::new());
                        sets.extend((0..nd).map(|j| vec![j]));
                    }
                    1 => sets.push(missing.clone()),
                    _ => {}
                }
                if np >= 2 && !missing.is_empty() {
                    for x in 0..nd {
                        for y in x + 1..nd {
                            if missing.iter().all(|m| *m == x || *m == y) {
                                sets.push(vec![x, y]);
                            }
                        }
                    }
                }
                // Each set may give two tries (from P and from Q): the limit
                // counts tries.
                let mut tried = 0usize;
                for set in sets {
                    let mut tries: Vec<Vec<Vec<u8>>> = Vec::new();
                    match set.as_slice() {
                        [] => tries.push(data.clone()),
                        &[m] => {
                            if let Some(p) = &p {
                                let mut d = data.clone();
                                d[m] = raidz::rebuild_from_p(p, &data, m, size_of(m));
                                tries.push(d);
                            }
                            if let Some(q) = &q {
                                let mut d = data.clone();
                                d[m] = raidz::rebuild_from_q(q, &data, m, size_of(m));
                                tries.push(d);
                            }
                        }
                        &[x, y] => {
                            if let (Some(p), Some(q)) = (&p, &q) {
                                let mut d = data.clone();
                                let (a, b) =
                                    raidz::rebuild_pq(p, q, &data, x, y, (size_of(x), size_of(y)));
                                d[x] = a;
                                d[y] = b;
                                tries.push(d);
                            }
                        }
                        _ => {}
                    }
                    for d in tries {
                        if tried >= MAX_RAIDZ_TRIES {
                            return Err(last);
                        }
                        tried += 1;
                        match f(&assemble(&d)) {
                            Ok(t) => return Ok(t),
                            Err(e) => last = e,
                        }
                    }
                }
            }
        }
        Err(last)
    }

    /// Reads a block's logical bytes (holes as zeros), verifying the
    /// checksum of every copy tried.
    pub fn read_bp(&self, bp: &Bp) -> Result<Arc<Vec<u8>>> {
        self.read_bp_depth(bp, 0)
    }

    fn read_bp_depth(&self, bp: &Bp, depth: usize) -> Result<Arc<Vec<u8>>> {
        let lsize = bp.lsize();
        if lsize > MAX_BLOCK_SIZE {
            return Err(Error::limit(format!(
                "block of {lsize} bytes > {MAX_BLOCK_SIZE}"
            )));
        }
        // lsize <= 16 MiB.
        let lsize = lsize as usize;
        if bp.is_hole() {
            return Ok(Arc::new(vec![0u8; lsize]));
        }
        if !bp.little_endian() {
            return Err(Error::unsupported("zfs: big-endian block"));
        }
        if bp.encrypted() {
            return Err(Error::unsupported("zfs: encrypted block"));
        }
        let codec = Codec::from_bp(bp.compress())?;
        if bp.is_embedded() {
            if bp.checksum() != 0 {
                return Err(Error::unsupported(format!(
                    "embedded block pointer of type {}",
                    bp.checksum()
                )));
            }
            let payload = bp.embedded_payload()?;
            let mut out = vec![0u8; lsize];
            decompress::decompress(codec, &payload, &mut out)?;
            return Ok(Arc::new(out));
        }
        let psize = bp.psize();
        if psize > MAX_BLOCK_SIZE {
            return Err(Error::limit(format!(
                "block of {psize} physical bytes > {MAX_BLOCK_SIZE}"
            )));
        }
        let psize = psize as usize;
        let algo = Algo::from_bp(bp.checksum())?;
        let key = {
            let d = &bp.raw.blk_dva[0];
            let c = bp.cksum();
            [
                d[0].get(),
                d[1].get(),
                bp.birth(),
                bp.raw.blk_prop.get(),
                c[0],
                c[1],
                c[2],
                c[3],
            ]
        };
        if let Ok(c) = self.cache.lock()
            && let Some(v) = c.get(&key)
        {
            // A hit costs no device read but still counts against the
            // operation's budget, so walks over cached blocks end too.
            drop(c);
            fsimage_abi::budget::charge()?;
            return Ok(v);
        }
        let mut last_err = Error::corrupt("block pointer: no DVA");
        let finish = |phys: &[u8]| -> Result<Vec<u8>> {
            if self.verify
                && let Some(c) = checksum::compute(algo, phys)
                && c != bp.cksum()
            {
                return Err(Error::corrupt(format!(
                    "block at birth txg {}: checksum mismatch",
                    bp.birth()
                )));
            }
            let mut out = vec![0u8; lsize];
            decompress::decompress(codec, phys, &mut out)?;
            Ok(out)
        };
        for i in 0..3 {
            let Some(dva) = bp.dva(i) else {
                continue;
            };
            let attempt = if dva.gang {
                self.read_gang(bp, &dva, psize, depth)
                    .and_then(|phys| finish(&phys))
            } else if dva.asize < psize as u64 {
                Err(Error::corrupt(format!(
                    "DVA {i}: allocated {} < physical size {psize}",
                    dva.asize
                )))
            } else {
                self.with_copies(&dva, psize, &mut |phys| finish(phys))
            };
            match attempt {
                Ok(data) => {
                    let data = Arc::new(data);
                    if let Ok(mut c) = self.cache.lock() {
                        c.put(key, data.clone());
                    }
                    return Ok(data);
                }
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// Assembles a gang block's physical bytes from its gang header's
    /// (up to three) member blocks, which may themselves be gangs.
    fn read_gang(&self, bp: &Bp, dva: &Dva, psize: usize, depth: usize) -> Result<Vec<u8>> {
        if depth >= MAX_GANG_DEPTH {
            return Err(Error::limit(format!(
                "gang blocks nested deeper than {MAX_GANG_DEPTH}"
            )));
        }
        // The gang header's verifier names the bp's first DVA.
        let id = bp.dva(0).unwrap_or(*dva);
        let verifier = [id.vdev, id.offset, bp.phys_birth(), 0];
        let header = self.with_copies(dva, GANG_SIZE, &mut |h| {
            if !self.verify || verify_eck(h, verifier) {
                Ok(h.to_vec())
            } else {
                Err(Error::corrupt("gang header: bad checksum"))
            }
        })?;
        let mut out = Vec::with_capacity(psize);
        for i in 0..3 {
            if out.len() >= psize {
                break;
            }
            let child = Bp::parse(&header[i * BP_SIZE..])?;
            if child.is_hole() {
                continue;
            }
            let data = self.read_bp_depth(&child, depth + 1)?;
            out.extend_from_slice(&data);
        }
        if out.len() < psize {
            return Err(Error::corrupt(format!(
                "gang block: members hold {} bytes < {psize}",
                out.len()
            )));
        }
        out.truncate(psize);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gang block pointer to device offset 0 (no real pool has gang
    /// blocks in the fixtures: this header is built by hand).
    fn gang_bp() -> Vec<u8> {
        let mut b = vec![0u8; BP_SIZE];
        let w0: u64 = 1; // vdev 0, asize 1 sector
        let w1: u64 = 1 << 63; // offset 0, gang
        let prop: u64 = (2 << 32) | (7 << 40) | (19 << 48) | (1 << 63);
        b[0..8].copy_from_slice(&w0.to_le_bytes());
        b[8..16].copy_from_slice(&w1.to_le_bytes());
        b[48..56].copy_from_slice(&prop.to_le_bytes());
        b[80..88].copy_from_slice(&5u64.to_le_bytes());
        b
    }

    fn pool_on(dev: Vec<u8>) -> Pool {
        Pool {
            tops: vec![Top::Copies(vec![Device::new(dev)])],
            config: NvList::default(),
            name: b"t".to_vec(),
            version: 5000,
            bootpath: Vec::new(),
            uberblocks: Vec::new(),
            verify: true,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// A gang header whose member is the gang block itself: the nesting
    /// bound stops the loop.
    #[test]
    fn gang_loop_hits_the_depth_limit() {
        let mut dev = vec![0u8; (LABEL_START as usize) + 4096];
        let at = LABEL_START as usize;
        let mut hdr = vec![0u8; GANG_SIZE];
        hdr[..BP_SIZE].copy_from_slice(&gang_bp());
        hdr[GANG_SIZE - 40..GANG_SIZE - 32].copy_from_slice(&ZEC_MAGIC.to_le_bytes());
        // Embedded checksum with the verifier (vdev, offset, birth, 0).
        let mut v = hdr.clone();
        for (i, w) in [0u64, 0, 5, 0].iter().enumerate() {
            let o = GANG_SIZE - 32 + i * 8;
            v[o..o + 8].copy_from_slice(&w.to_le_bytes());
        }
        let sum = checksum::sha256(&v);
        for (i, w) in sum.iter().enumerate() {
            let o = GANG_SIZE - 32 + i * 8;
            hdr[o..o + 8].copy_from_slice(&w.to_le_bytes());
        }
        assert!(verify_eck(&hdr, [0, 0, 5, 0]));
        dev[at..at + GANG_SIZE].copy_from_slice(&hdr);
        let pool = pool_on(dev);
        let bp = Bp::parse(&gang_bp()).unwrap();
        let e = pool.read_bp(&bp).unwrap_err();
        assert!(matches!(e, Error::Limit(_)), "{e:?}");
        assert!(e.to_string().contains("gang"), "{e}");
    }

    /// The boot path is the phys_path of the label's own leaf, found by
    /// guid anywhere in the vdev tree.
    #[test]
    fn bootpath_is_the_own_leafs_phys_path() {
        use crate::nvlist::NvValue;
        let leaf = |g: u64, p: &str| NvList {
            pairs: vec![
                (b"type".to_vec(), NvValue::Str(b"disk".to_vec())),
                (b"guid".to_vec(), NvValue::U64(g)),
                (b"phys_path".to_vec(), NvValue::Str(p.as_bytes().to_vec())),
            ],
        };
        let tree = NvList {
            pairs: vec![
                (b"type".to_vec(), NvValue::Str(b"mirror".to_vec())),
                (b"guid".to_vec(), NvValue::U64(1)),
                (
                    b"children".to_vec(),
                    NvValue::Lists(vec![
                        leaf(5, "/pci@0/disk@0,0:a"),
                        leaf(6, "/pci@0/disk@1,0:a"),
                    ]),
                ),
            ],
        };
        let got = find_leaf(&tree, 6, 0).and_then(|l| l.str("phys_path"));
        assert_eq!(got, Some(&b"/pci@0/disk@1,0:a"[..]));
        assert!(find_leaf(&tree, 7, 0).is_none());
    }

    /// A block pointer past the end of the device is an error.
    #[test]
    fn bp_past_the_device_is_an_error() {
        let pool = pool_on(vec![0u8; 1 << 20]);
        let mut b = gang_bp();
        b[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes()); // not gang, far
        let bp = Bp::parse(&b).unwrap();
        assert!(pool.read_bp(&bp).is_err());
        // A vdev that is not there.
        b[0..8].copy_from_slice(&((7u64 << 32) | 1).to_le_bytes());
        let e = pool.read_bp(&Bp::parse(&b).unwrap()).unwrap_err();
        assert!(e.to_string().contains("vdev 7"), "{e}");
    }

    /// A logical size past 16 MiB is refused before anything is allocated
    /// (embedded block pointers can claim 32 MiB).
    #[test]
    fn oversized_blocks_are_refused() {
        let pool = pool_on(vec![0u8; 1 << 20]);
        let mut b = vec![0u8; BP_SIZE];
        // Embedded, lsize 2^25, psize 1, compression lz4.
        let prop: u64 = ((1 << 25) - 1) | (15 << 32) | (1 << 39) | (1 << 63);
        b[48..56].copy_from_slice(&prop.to_le_bytes());
        let e = pool.read_bp(&Bp::parse(&b).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Limit(_)), "{e:?}");
    }
}
