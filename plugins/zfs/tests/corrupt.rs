//! Damage made from real fixture bytes: the reader falls back where ZFS
//! keeps redundancy and fails with a clear error where it does not.

mod common;
use common::*;
use fsimage_abi::{Device, Error, Filesystem, sdk};
use fsimage_plugin_zfs::{ZfsFs, nvlist};

const LABEL: usize = 256 << 10;
const UB_MAGIC: u64 = 0x00ba_b10c;

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn label_offsets(len: usize) -> [usize; 4] {
    let p = len & !(LABEL - 1);
    [0, LABEL, p - 2 * LABEL, p - LABEL]
}

/// Offsets of every uberblock slot (of `slot` bytes) holding txg `txg`.
fn ub_slots(img: &[u8], slot: usize, txg: u64) -> Vec<usize> {
    let mut v = Vec::new();
    for l in label_offsets(img.len()) {
        let ring = l + (128 << 10);
        for s in (ring..ring + (128 << 10)).step_by(slot) {
            if le64(img, s) == UB_MAGIC && le64(img, s + 16) == txg {
                v.push(s);
            }
        }
    }
    v
}

fn max_txg(img: &[u8], slot: usize) -> u64 {
    let mut m = 0;
    for l in label_offsets(img.len()) {
        let ring = l + (128 << 10);
        for s in (ring..ring + (128 << 10)).step_by(slot) {
            if le64(img, s) == UB_MAGIC {
                m = m.max(le64(img, s + 16));
            }
        }
    }
    m
}

fn mount_vec(img: Vec<u8>) -> fsimage_abi::Result<ZfsFs> {
    ZfsFs::mount(vec![Device::new(img)], b"")
}

/// The newest uberblock's checksum fails in every label: the next older
/// one is used and the tree still reads back exactly.
#[test]
fn bad_newest_uberblock_falls_back_to_an_older_one() {
    for (name, slot) in [("zfs/ozfs-lz4", 4096), ("zfs/fuse-v23-lzjb", 1024)] {
        let mut img = image_bytes(name);
        let newest = max_txg(&img, slot);
        let fs = mount_vec(img.clone()).unwrap();
        assert_eq!(fs.txg(), newest, "{name}");
        let slots = ub_slots(&img, slot, newest);
        assert!(slots.len() >= 2, "{name}: copies of txg {newest}");
        for s in slots {
            img[s + 32] ^= 0xff; // ub_timestamp: the embedded checksum fails
        }
        let fs = mount_vec(img.clone()).unwrap();
        assert!(fs.txg() < newest, "{name}: txg {}", fs.txg());
        assert!(!fs.uberblock_txgs().contains(&newest));
        let dev = Device::new(img);
        check_fs(&fs, &dev, fsimage_testkit::manifest(name), name, 1000);
    }
}

/// With every uberblock wrong there is no pool.
#[test]
fn no_valid_uberblock_is_not_recognised() {
    let mut img = image_bytes("zfs/fuse-v23-lzjb");
    for l in label_offsets(img.len()) {
        for b in &mut img[l + (128 << 10)..l + (256 << 10)] {
            *b = 0;
        }
    }
    let dev = Device::new(img.clone());
    assert_eq!(ZfsFs::probe(&[dev]).unwrap(), 0);
    assert!(matches!(mount_vec(img), Err(Error::NotRecognized(_))));
}

/// The label nvlist of a real pool, damaged before decoding: absurd pair
/// sizes, element counts and string lengths are refused by name.
#[test]
fn label_nvlist_with_huge_counts() {
    let img = image_bytes("zfs/ozfs-lz4");
    let area = &img[16 << 10..(16 << 10) + (112 << 10)];
    let good = nvlist::unpack(area).unwrap();
    assert_eq!(good.str("name"), Some(&b"tank"[..]));
    let tree = good.list("vdev_tree").unwrap();
    assert_eq!(tree.str("type"), Some(&b"file"[..]));

    // The first pair starts after the 4-byte header and version/flags.
    let mut bad = area.to_vec();
    bad[12..16].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
    assert!(matches!(nvlist::unpack(&bad), Err(Error::Corrupt(_))));
    // Name length of the first pair: 4 GiB.
    let mut bad = area.to_vec();
    bad[20..24].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    assert!(matches!(nvlist::unpack(&bad), Err(Error::Limit(_))));
    // Find the vdev_tree's "children"-free file tree: make any nvlist
    // array huge by rewriting the element count of "features_for_read"'s
    // type field to an nvlist array of 2^31 elements.
    let key = b"features_for_read";
    let at = area.windows(key.len()).position(|w| w == key).unwrap();
    let mut bad = area.to_vec();
    let ty = at + key.len().div_ceil(4) * 4;
    bad[ty..ty + 4].copy_from_slice(&20u32.to_be_bytes());
    bad[ty + 4..ty + 8].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    assert!(matches!(nvlist::unpack(&bad), Err(Error::Limit(_))));
    // Truncated anywhere: an error, never a panic.
    for cut in (0..2048).step_by(3) {
        let _ = nvlist::unpack(&area[..cut]);
    }
}

/// An image cut short: blocks past the end are read errors, not panics,
/// and the front labels still identify the pool.
#[test]
fn truncated_image_reads_fail_cleanly() {
    let img = image_bytes("zfs/ozfs-lz4");
    for cut in [5 << 20, 8 << 20, 16 << 20, 40 << 20] {
        let short = img[..cut].to_vec();
        if let Ok(fs) = mount_vec(short) {
            let _ = sdk::lookup_path(&fs, b"/boot/vmlinuz-1")
                .and_then(|id| sdk::read_all(&fs, id, 1 << 30));
        }
    }
}

/// Find where a 512-byte sector of a file (at a multiple of 512 in the
/// file) lies in an image: blocks start on sectors, so only sector starts
/// are compared (uncompressed data only).
fn find(img: &[u8], sector: &[u8]) -> Option<usize> {
    assert_eq!(sector.len(), 512);
    (0..img.len() / 512)
        .map(|i| i * 512)
        .find(|&o| &img[o..o + 512] == sector)
}

/// A flipped byte in an uncompressed data block: the checksum catches it
/// (one copy only: the read fails, naming the mismatch).
#[test]
fn data_block_checksum_mismatch_is_an_error() {
    let name = "zfs/fuse-v14-rpool";
    let fs = mount(name).unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-8").unwrap();
    let data = sdk::read_all(&fs, id, 1 << 30).unwrap();
    let mut img = image_bytes(name);
    let at = find(&img, &data[199_680..200_192]).expect("kernel bytes stored raw");
    img[at] ^= 1;
    let fs = mount_vec(img).unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-8").unwrap();
    let e = sdk::read_all(&fs, id, 1 << 30).unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    // The other files still read.
    let h = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    assert!(sdk::read_all(&fs, h, 1 << 20).is_ok());
}

/// The same damage on one side of a mirror is healed from the other side.
#[test]
fn mirror_reads_the_child_whose_checksum_verifies() {
    let fs = mount("zfs/ozfs-mirror-0").unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/vmlinuz-5").unwrap();
    let data = sdk::read_all(&fs, id, 1 << 30).unwrap();
    let mut img0 = image_bytes("zfs/ozfs-mirror-0");
    let at = find(&img0, &data[199_680..200_192]).expect("kernel bytes stored raw");
    img0[at] ^= 1;
    let img1 = image_bytes("zfs/ozfs-mirror-1");
    let d0 = Device::new(img0.clone());
    // Alone, the damaged half fails; with its twin the read is exact.
    let alone = ZfsFs::mount(vec![d0.clone()], b"").unwrap();
    assert!(sdk::read_all(&alone, id, 1 << 30).is_err());
    let both = ZfsFs::mount(vec![d0, Device::new(img1)], b"").unwrap();
    assert_eq!(sdk::read_all(&both, id, 1 << 30).unwrap(), data);
}

/// The pristine image with `[from, to)` reading as zeros.
struct Zeroed {
    base: std::sync::Arc<Vec<u8>>,
    from: u64,
    to: u64,
}

impl fsimage_abi::ReadAt for Zeroed {
    fn size(&self) -> u64 {
        self.base.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> fsimage_abi::Result<()> {
        self.base.read_exact_at(offset, buf)?;
        for (i, b) in buf.iter_mut().enumerate() {
            let o = offset + i as u64;
            if o >= self.from && o < self.to {
                *b = 0;
            }
        }
        Ok(())
    }
}

/// Zeroed metadata areas anywhere in the first part of the pool: every
/// outcome is Ok or an error (metadata has ditto copies and checksums).
#[test]
fn zeroed_chunks_never_panic() {
    let base = std::sync::Arc::new(image_bytes("zfs/ozfs-rpool-bootfs"));
    for k in 0..24u64 {
        let from = (4 << 20) + k * (256 << 10);
        let dev = Device::new(Zeroed {
            base: base.clone(),
            from,
            to: from + (64 << 10),
        });
        if let Ok(fs) = ZfsFs::mount(vec![dev], b"") {
            let _ = sdk::lookup_path(&fs, b"/etc/hostname")
                .and_then(|id| sdk::read_all(&fs, id, 1 << 20));
            let _ = sdk::list_dir(&fs, fs.root(), 10_000);
        }
    }
}

/// Damage inside one RAID-Z1 data column: the checksum fails, the column
/// is rebuilt from parity and the file reads back exactly.
#[test]
fn raidz1_rebuilds_a_damaged_column() {
    let names: Vec<String> = (0..3).map(|i| format!("zfs/fuse-raidz1-{i}")).collect();
    let pristine: Vec<Device> = names
        .iter()
        .map(|n| file_dev(&fsimage_testkit::image(n)))
        .collect();
    let fs = ZfsFs::mount(pristine, b"").unwrap();
    let id = sdk::lookup_path(&fs, b"/etc/kernel-link")
        .and_then(|l| {
            let t = fs.read_link(l)?;
            let name = t.rsplit(|&c| c == b'/').next().unwrap().to_vec();
            let boot = sdk::lookup_path(&fs, b"/boot")?;
            fs.lookup(boot, &name)
        })
        .unwrap();
    let data = sdk::read_all(&fs, id, 1 << 30).unwrap();
    let mut imgs: Vec<Vec<u8>> = names.iter().map(|n| image_bytes(n)).collect();
    let mut hit = false;
    for img in imgs.iter_mut() {
        if let Some(at) = find(img, &data[99_840..100_352]) {
            img[at] ^= 0x40;
            hit = true;
            break;
        }
    }
    assert!(hit, "kernel bytes found raw in one column");
    let devs: Vec<Device> = imgs.into_iter().map(Device::new).collect();
    let fs = ZfsFs::mount(devs, b"").unwrap();
    assert_eq!(sdk::read_all(&fs, id, 1 << 30).unwrap(), data);
}
