//! Partition tables and root choice on the disk fixtures (made by sfdisk,
//! sgdisk, util-linux fdisk, xorriso), checked against what mmls, sfdisk and
//! GRUB read in each `.parts` file; corrupt variants are made here from the
//! real fixture bytes by overlaying a few patched bytes.

use fsimage::disk::{
    self, DiskError, DiskLayout, PartType, Partition, Scheme, TableKind, Validity,
};
use fsimage::{FileImage, ReadAt, abi};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------
// Test-only filesystem sniffer. NOT a filesystem reader: it stands in for the
// plugins' probes, looking only at well-known magic numbers.
// ---------------------------------------------------------------------------

fn read_u32(d: &dyn ReadAt, off: u64) -> Option<[u8; 4]> {
    let mut b = [0u8; 4];
    d.read_exact_at(off, &mut b).ok().map(|()| b)
}

/// TEST-ONLY sniffer: ext2/3/4 (0xEF53 at 1080), UFS1/UFS2 (fs_magic at
/// superblock + 1372, either byte order, superblock at 8 KiB or 64 KiB),
/// ISO 9660 ("CD001" at 32769), ReiserFS (at 64 KiB + 52), ZFS (uberblock
/// magic 0x00bab10c at 128 KiB, either byte order).
fn test_sniff(d: &dyn ReadAt) -> Option<String> {
    let mut b2 = [0u8; 2];
    if d.read_exact_at(1080, &mut b2).is_ok() && u16::from_le_bytes(b2) == 0xEF53 {
        return Some("ext2".into());
    }
    for sb in [8192u64, 65536] {
        if let Some(m) = read_u32(d, sb + 1372) {
            for v in [u32::from_le_bytes(m), u32::from_be_bytes(m)] {
                if v == 0x0001_1954 || v == 0x1954_0119 {
                    return Some("ufs".into());
                }
            }
        }
    }
    let mut cd = [0u8; 5];
    if d.read_exact_at(32769, &mut cd).is_ok() && &cd == b"CD001" {
        return Some("iso9660".into());
    }
    let mut rs = [0u8; 10];
    if d.read_exact_at(65536 + 52, &mut rs).is_ok()
        && (rs.starts_with(b"ReIsErFs")
            || rs.starts_with(b"ReIsEr2Fs")
            || rs.starts_with(b"ReIsEr3Fs"))
    {
        return Some("reiserfs".into());
    }
    let mut ub = [0u8; 8];
    if d.read_exact_at(128 * 1024, &mut ub).is_ok()
        && (u64::from_le_bytes(ub) == 0x00ba_b10c || u64::from_be_bytes(ub) == 0x00ba_b10c)
    {
        return Some("zfs".into());
    }
    None
}

// ---------------------------------------------------------------------------
// Byte sources derived from a real fixture: patched bytes, or a shorter disk.
// ---------------------------------------------------------------------------

struct Overlay<R> {
    base: R,
    size: u64,
    patch: BTreeMap<u64, u8>,
}

impl<R: ReadAt> Overlay<R> {
    fn new(base: R) -> Self {
        let size = base.size();
        Overlay {
            base,
            size,
            patch: BTreeMap::new(),
        }
    }
    fn truncated(mut self, size: u64) -> Self {
        self.size = size;
        self
    }
    fn put(&mut self, at: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.patch.insert(at + i as u64, *b);
        }
    }
    fn get(&self, at: u64, len: usize) -> Vec<u8> {
        self.read_vec_at(at, len).expect("read inside the fixture")
    }
}

impl<R: ReadAt> ReadAt for Overlay<R> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> abi::Result<()> {
        abi::io::check_range(offset, buf.len() as u64, self.size)?;
        self.base.read_exact_at(offset, buf)?;
        for (&at, &b) in self.patch.range(offset..offset + buf.len() as u64) {
            buf[(at - offset) as usize] = b;
        }
        Ok(())
    }
}

fn open(name: &str) -> FileImage {
    FileImage::open(fsimage_testkit::image(&format!("disk/{name}"))).expect("open fixture")
}

fn parts_text(name: &str) -> String {
    std::fs::read_to_string(fsimage_testkit::fixtures_dir().join(format!("disk/{name}.parts")))
        .expect("read .parts")
}

fn layout_of(d: &dyn ReadAt) -> DiskLayout {
    disk::parse(d).expect("table parses")
}

fn root_of(d: &dyn ReadAt, l: &DiskLayout) -> disk::RootChoice {
    disk::choose_root(d, l, &mut |w| test_sniff(w)).expect("a root is found")
}

/// (id, scheme, start sector, sectors, type code) of every entry.
fn summary(l: &DiskLayout) -> Vec<(String, &'static str, u64, u64, String)> {
    l.partitions
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.scheme.as_str(),
                p.start / 512,
                p.size / 512,
                p.ptype.code(),
            )
        })
        .collect()
}

fn row(
    id: &str,
    scheme: &'static str,
    start: u64,
    len: u64,
    ty: &str,
) -> (String, &'static str, u64, u64, String) {
    (id.to_owned(), scheme, start, len, ty.to_owned())
}

// ---------------------------------------------------------------------------
// Readers' views in the .parts files.
// ---------------------------------------------------------------------------

/// `sfdisk -d` lines: (number, start sector, sectors, type).
fn sfdisk_rows(text: &str) -> Vec<(u32, u64, u64, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((dev, rest)) = line.split_once(" : start=") else {
            continue;
        };
        let num: u32 = dev
            .trim()
            .rsplit(".img")
            .next()
            .and_then(|n| n.parse().ok())
            .expect("device number");
        let field = |k: &str| {
            rest.split(", ")
                .map(str::trim)
                .find_map(|f| f.strip_prefix(k))
                .map(|v| v.trim().to_owned())
        };
        let start: u64 = rest.split(',').next().unwrap().trim().parse().unwrap();
        let size: u64 = field("size=").unwrap().parse().unwrap();
        out.push((num, start, size, field("type=").unwrap()));
    }
    out
}

/// "Partitions holding filesystems": (fixture part name, start byte, size bytes).
fn fs_rows(text: &str) -> Vec<(String, u64, u64)> {
    let mut out = Vec::new();
    let mut on = false;
    for line in text.lines() {
        if line.starts_with("## Partitions holding filesystems") {
            on = true;
            continue;
        }
        if on {
            if line.starts_with("##") || line.trim().is_empty() {
                break;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f[0] == "part" {
                continue;
            }
            out.push((
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            ));
        }
    }
    out
}

/// pygrub's pick: "first offset holding a filesystem: OFFSET (pX, ...".
fn pygrub_pick(text: &str) -> (u64, String) {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("first offset holding a filesystem: "))
        .expect("pygrub section");
    let (off, rest) = line.split_once(" (").unwrap();
    let part = rest.split(',').next().unwrap();
    (off.parse().unwrap(), part.to_owned())
}

/// Checks the layout against every reader view the .parts file holds.
fn check_against_parts(name: &str, l: &DiskLayout) {
    let text = parts_text(name);
    let rows = sfdisk_rows(&text);
    assert_eq!(
        rows.is_empty(),
        l.table == TableKind::None,
        "{name}: sfdisk rows"
    );
    let fs = fs_rows(&text);
    assert!(!fs.is_empty(), "{name}: filesystem rows");
    for (num, start, size, ty) in rows {
        let id = if l.table == TableKind::Sun {
            format!("s{}", num - 1) // Linux numbers Sun slices from 1
        } else {
            num.to_string()
        };
        let p = l
            .find(&id)
            .unwrap_or_else(|| panic!("{name}: no partition {id}"));
        assert_eq!((p.start / 512, p.size / 512), (start, size), "{name} {id}");
        match p.ptype {
            PartType::Mbr(t) => assert_eq!(format!("{t:x}"), ty, "{name} {id}"),
            PartType::Gpt(_) => assert_eq!(p.ptype.code(), ty, "{name} {id}"),
            PartType::Vtoc { tag, .. } => assert_eq!(tag.to_string(), ty, "{name} {id}"),
            PartType::None => panic!("{name} {id}: no type"),
        }
    }
    for (part, start, size) in fs {
        let p = l
            .select(&part)
            .unwrap_or_else(|e| panic!("{name}: {part}: {e}"));
        assert_eq!((p.start, p.size), (start, size), "{name} {part}");
        assert!(p.is_valid(), "{name} {part}");
    }
}

// ---------------------------------------------------------------------------
// Every fixture.
// ---------------------------------------------------------------------------

#[test]
fn mbr_primaries() {
    let d = open("dev-mbr-primaries");
    let l = layout_of(&d);
    assert_eq!(l.table, TableKind::Mbr);
    assert_eq!(
        summary(&l),
        vec![
            row("1", "mbr", 2048, 32768, "0x83"),
            row("2", "mbr", 34816, 32768, "0x83"),
            row("3", "mbr", 67584, 24576, "0xa9"),
            row("4", "mbr", 92160, 8192, "0x96"),
        ]
    );
    assert!(l.find("1").unwrap().bootable);
    assert!(!l.find("2").unwrap().bootable);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_against_parts("dev-mbr-primaries", &l);
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "1");
    assert!(r.rule.contains("active partition 1"), "{}", r.rule);
    assert_eq!(
        pygrub_pick(&parts_text("dev-mbr-primaries")).0,
        r.partition.start
    );
}

#[test]
fn mbr_logicals_in_chain_order() {
    let d = open("dev-mbr-logical");
    let l = layout_of(&d);
    assert_eq!(
        summary(&l),
        vec![
            row("1", "mbr", 2048, 16384, "0x83"),
            row("2", "mbr", 18432, 112640, "0x05"),
            row("5", "ebr", 20480, 16384, "0x82"),
            row("6", "ebr", 38912, 24576, "0x83"),
            row("7", "ebr", 65536, 16384, "0x83"),
        ]
    );
    // Logical 5 is type 0x82 without a VTOC: plain swap, no slices, no warning.
    assert_eq!(l.slices_of("5").count(), 0);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_against_parts("dev-mbr-logical", &l);
    assert_eq!(root_of(&d, &l).id(), "1");
}

#[test]
fn mbr_ebr_chain_not_in_disk_order() {
    let d = open("dev-mbr-ebr-unsorted");
    let l = layout_of(&d);
    assert_eq!(
        summary(&l),
        vec![
            row("1", "mbr", 2048, 16384, "0x83"),
            row("2", "mbr", 18432, 79872, "0x05"),
            row("5", "ebr", 20480, 16384, "0x83"),
            row("6", "ebr", 77824, 16384, "0x83"),
            row("7", "ebr", 40960, 16384, "0x83"),
        ]
    );
    check_against_parts("dev-mbr-ebr-unsorted", &l);
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "1");
    assert_eq!(
        pygrub_pick(&parts_text("dev-mbr-ebr-unsorted")).0,
        r.partition.start
    );
}

const GPT_TYPES: [&str; 5] = [
    "21686148-6449-6E6F-744E-656564454649",
    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    "6A85CF4D-1DD2-11B2-99A6-080020736631",
    "6A87C46F-1DD2-11B2-99A6-080020736631",
];

fn check_gpt_layout(l: &DiskLayout) {
    assert_eq!(l.table, TableKind::Gpt);
    let starts = [
        (2048, 2048),
        (4096, 16384),
        (20480, 32768),
        (53248, 24576),
        (77824, 8192),
    ];
    let names = [
        "bios-boot",
        "esp",
        "linux-root",
        "solaris-root",
        "solaris-swap",
    ];
    let want: Vec<_> = (0..5)
        .map(|i| {
            row(
                &(i + 1).to_string(),
                "gpt",
                starts[i].0,
                starts[i].1,
                GPT_TYPES[i],
            )
        })
        .collect();
    assert_eq!(summary(l), want);
    for (p, n) in l.partitions.iter().zip(names) {
        assert_eq!(p.name.as_deref(), Some(n));
    }
    let descr: Vec<String> = l.partitions.iter().map(|p| p.ptype.description()).collect();
    assert_eq!(
        descr,
        [
            "BIOS boot",
            "EFI System",
            "Linux filesystem",
            "Solaris root",
            "Solaris swap"
        ]
    );
}

#[test]
fn gpt() {
    let d = open("dev-gpt");
    let l = layout_of(&d);
    assert_eq!(l.sector_size, 512);
    check_gpt_layout(&l);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_against_parts("dev-gpt", &l);
    let r = root_of(&d, &l);
    // Issue 2, rule 4: no entry is Legacy BIOS Bootable, so the first entry of
    // a *root type* holding a filesystem wins: 4 (Solaris root, UFS). Entry 3
    // is named "linux-root" but typed "Linux filesystem", which is not a root
    // type. pygrub (no such rule) takes entry 3, the first with a filesystem.
    assert_eq!(r.id(), "4");
    assert_eq!(r.fs.as_deref(), Some("ufs"));
    assert!(r.rule.contains("root-type"), "{}", r.rule);
    assert_eq!(pygrub_pick(&parts_text("dev-gpt")).1, "p3");
}

#[test]
fn sun_sparc_label() {
    let d = open("dev-sun-sparc");
    let l = layout_of(&d);
    assert_eq!(l.table, TableKind::Sun);
    assert_eq!(
        summary(&l),
        vec![
            row("s0", "sun", 0, 16384, "root"),
            row("s1", "sun", 16384, 8192, "swap"),
            row("s2", "sun", 0, 65536, "backup"),
            row("s6", "sun", 24576, 16384, "usr"),
        ]
    );
    assert_eq!(
        l.find("s1").unwrap().ptype,
        PartType::Vtoc { tag: 3, flag: 1 }
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_against_parts("dev-sun-sparc", &l);
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "s0");
    assert!(r.rule.contains("V_ROOT"), "{}", r.rule);
}

#[test]
fn solaris_x86_vtoc() {
    let d = open("dev-solaris-x86");
    let l = layout_of(&d);
    assert_eq!(
        summary(&l),
        vec![
            row("1", "mbr", 2048, 129024, "0xbf"),
            row("1.0", "vtoc", 2048 + 9072, 32256, "root"),
            row("1.1", "vtoc", 2048 + 1008, 8064, "swap"),
            row("1.2", "vtoc", 2048, 127008, "backup"),
            row("1.7", "vtoc", 2048 + 41328, 20160, "home"),
            row("1.8", "vtoc", 2048, 1008, "boot"),
        ]
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_against_parts("dev-solaris-x86", &l);
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "1.0");
    assert_eq!(r.fs.as_deref(), Some("ufs"));
    assert_eq!(
        pygrub_pick(&parts_text("dev-solaris-x86")),
        (r.partition.start, "p1s0".into())
    );
    assert_eq!(l.find("p1s7").map(|p| p.id.as_str()), Some("1.7"));
}

#[test]
fn isohybrid_is_whole_disk() {
    let d = open("dev-isohybrid");
    let l = layout_of(&d);
    assert_eq!(summary(&l), vec![row("1", "mbr", 0, 2048, "0x17")]);
    check_against_parts("dev-isohybrid", &l);
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "0");
    assert_eq!(r.partition.size, d.size());
    assert_eq!(r.fs.as_deref(), Some("iso9660"));
    assert!(r.rule.starts_with("rule 2"), "{}", r.rule);
}

#[test]
fn isohybrid_with_unreadable_gpt_is_still_whole_disk() {
    let mut d = Overlay::new(open("dev-isohybrid"));
    d.put(entry_at(0, 0) + 4, &[0xEE]); // protective entry, but no GPT behind it
    let err = disk::parse(&d).unwrap_err();
    assert!(
        matches!(&err, DiskError::Gpt(m) if m.contains("EFI PART")),
        "{err}"
    );
    let r = disk::locate_root(&d, &mut |w| test_sniff(w)).unwrap();
    assert_eq!((r.id(), r.fs.as_deref()), ("0", Some("iso9660")));
    assert!(
        r.rule.starts_with("rule 2") && r.rule.contains("unreadable"),
        "{}",
        r.rule
    );
    // Without the ISO, the same damage is the GPT error.
    d.put(32769, b"XXXXX");
    assert!(matches!(
        disk::locate_root(&d, &mut |w| test_sniff(w)),
        Err(DiskError::Gpt(_))
    ));
}

#[test]
fn no_table_is_whole_disk() {
    let d = open("dev-whole-disk-ext4");
    let l = layout_of(&d);
    assert_eq!(l.table, TableKind::None);
    assert_eq!(summary(&l), vec![row("0", "disk", 0, 32768, "")]);
    check_against_parts("dev-whole-disk-ext4", &l);
    let r = root_of(&d, &l);
    assert_eq!((r.id(), r.fs.as_deref()), ("0", Some("ext2")));
    assert!(r.rule.starts_with("rule 1"), "{}", r.rule);
}

// ---------------------------------------------------------------------------
// Corrupt variants, made from the real fixture bytes.
// ---------------------------------------------------------------------------

/// Byte offset of entry `i` (0-based) of the MBR/EBR at `sector`.
fn entry_at(sector: u64, i: u64) -> u64 {
    sector * 512 + 446 + 16 * i
}

#[test]
fn ebr_loop_ends_with_a_warning() {
    let mut d = Overlay::new(open("dev-mbr-logical"));
    // The last EBR (sector 63488) gets a link back to the first (relative 0).
    let link = entry_at(63488, 1);
    d.put(link + 4, &[0x05]);
    d.put(link + 8, &0u32.to_le_bytes());
    d.put(link + 12, &2048u32.to_le_bytes());
    let l = layout_of(&d);
    let ids: Vec<&str> = l.partitions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "5", "6", "7"]);
    assert!(
        l.warnings.iter().any(|w| w.contains("loops back")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn ebr_self_loop_ends() {
    let mut d = Overlay::new(open("dev-mbr-logical"));
    // First EBR links to itself.
    let link = entry_at(18432, 1);
    d.put(link + 8, &0u32.to_le_bytes());
    let l = layout_of(&d);
    let ids: Vec<&str> = l.partitions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "5"]);
    assert!(
        l.warnings.iter().any(|w| w.contains("loops back")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn ebr_link_outside_the_extended_partition() {
    let mut d = Overlay::new(open("dev-mbr-logical"));
    d.put(entry_at(18432, 1) + 8, &200_000u32.to_le_bytes());
    let l = layout_of(&d);
    let ids: Vec<&str> = l.partitions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "5"]);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("outside the extended partition")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn logical_past_the_extended_partition_is_invalid() {
    let mut d = Overlay::new(open("dev-mbr-ebr-unsorted"));
    // Logical 6 (EBR at 75776) grows past the extended partition's end.
    d.put(entry_at(75776, 0) + 12, &30_000u32.to_le_bytes());
    let l = layout_of(&d);
    let p6 = l.find("6").unwrap();
    assert!(matches!(&p6.validity, Validity::Invalid(r) if r.contains("extended partition 2")));
    assert!(matches!(
        p6.window(&d),
        Err(DiskError::InvalidPartition { .. })
    ));
    assert!(l.find("7").unwrap().is_valid());
}

#[test]
fn bad_primary_gpt_header_uses_backup() {
    let mut d = Overlay::new(open("dev-gpt"));
    let b = d.get(512 + 56, 1)[0];
    d.put(512 + 56, &[b ^ 0xff]); // a DiskGUID byte: header CRC no longer matches
    let l = layout_of(&d);
    check_gpt_layout(&l);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("HeaderCRC32") && w.contains("backup header at LBA 131071")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn bad_primary_entry_array_uses_backup() {
    let mut d = Overlay::new(open("dev-gpt"));
    d.put(1024 + 128 * 2 + 32, &[0x77]); // entry 3's starting LBA
    let l = layout_of(&d);
    check_gpt_layout(&l);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("PartitionEntryArrayCRC32")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn both_gpt_headers_bad_is_an_error() {
    let mut d = Overlay::new(open("dev-gpt"));
    d.put(512 + 56, &[0xAB]);
    d.put(d.size() - 512 + 56, &[0xAB]);
    match disk::parse(&d) {
        Err(DiskError::Gpt(msg)) => {
            assert!(msg.contains("primary header at LBA 1"), "{msg}");
            assert!(msg.contains("backup header at LBA 131071"), "{msg}");
        }
        other => panic!("expected a GPT error, got {other:?}"),
    }
}

#[test]
fn truncated_gpt_disk() {
    // Cut at 30 MiB: primary still good; entries 4 and 5 run past the end.
    let d = Overlay::new(open("dev-gpt")).truncated(30 << 20);
    let l = layout_of(&d);
    let valid: Vec<bool> = l.partitions.iter().map(Partition::is_valid).collect();
    assert_eq!(valid, [true, true, true, false, false]);
    // Root choice never probes the invalid Solaris root: rule 4c picks entry 3.
    let r = root_of(&d, &l);
    assert_eq!(r.id(), "3");
}

#[test]
fn truncated_mbr_disk() {
    let d = Overlay::new(open("dev-mbr-primaries")).truncated(40 << 20);
    let l = layout_of(&d);
    let valid: Vec<bool> = l.partitions.iter().map(Partition::is_valid).collect();
    assert_eq!(valid, [true, true, false, false]);
    let p3 = l.find("3").unwrap();
    assert!(matches!(&p3.validity, Validity::Invalid(r) if r.contains("outside the disk")));
    // Truncated below the first EBR: the chain ends with a warning.
    let d = Overlay::new(open("dev-mbr-logical")).truncated(5 << 20);
    let l = layout_of(&d);
    assert!(!l.find("2").unwrap().is_valid());
    assert!(l.find("5").is_none());
    assert!(!l.warnings.is_empty());
}

/// Recomputes a VTOC/Sun label's dkl_cksum (last 2 bytes) after a patch.
fn fix_label_checksum(d: &mut Overlay<FileImage>, label_at: u64) {
    let mut s = d.get(label_at, 512);
    s[510] = 0;
    s[511] = 0;
    let x = s
        .chunks_exact(2)
        .fold(0u16, |a, w| a ^ u16::from_be_bytes([w[0], w[1]]));
    // XOR of the words read big-endian, stored the same way: right for both
    // byte orders, since byte-swapping commutes with XOR.
    d.put(label_at + 510, &x.to_be_bytes());
}

#[test]
fn vtoc_slice_past_its_fdisk_partition() {
    let mut d = Overlay::new(open("dev-solaris-x86"));
    let label = 1_049_088u64;
    // v_part[7].p_size (VTOC_16: v_part at 72, 12 bytes each, p_size at +8).
    d.put(label + 72 + 7 * 12 + 8, &200_000i32.to_le_bytes());
    fix_label_checksum(&mut d, label);
    let l = layout_of(&d);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let s7 = l.find("1.7").unwrap();
    assert!(matches!(&s7.validity, Validity::Invalid(r) if r.contains("fdisk partition 1")));
    assert!(l.find("1.0").unwrap().is_valid());
    assert_eq!(root_of(&d, &l).id(), "1.0");
}

#[test]
fn vtoc_in_legacy_0x82_partition() {
    // The same VTOC under the legacy Solaris id 0x82 is still found ...
    let mut d = Overlay::new(open("dev-solaris-x86"));
    d.put(entry_at(0, 0) + 4, &[0x82]);
    let l = layout_of(&d);
    assert_eq!(l.slices_of("1").count(), 5);
    assert_eq!(root_of(&d, &l).id(), "1.0");
    // ... and without it, 0x82 is plain Linux swap: no slices, no warning,
    d.put(1_049_088 + 508, &[0, 0]);
    let l = layout_of(&d);
    assert_eq!(l.slices_of("1").count(), 0);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    // while 0xBF without a VTOC is warned about.
    d.put(entry_at(0, 0) + 4, &[0xBF]);
    let l = layout_of(&d);
    assert_eq!(l.slices_of("1").count(), 0);
    assert!(
        l.warnings.iter().any(|w| w.contains("no VTOC")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn sun_label_checksum_and_slice_past_end() {
    let mut d = Overlay::new(open("dev-sun-sparc"));
    // dkl_map[6].dkl_nblk (map at 444, 8 bytes each, nblk at +4): 64 MiB.
    d.put(444 + 6 * 8 + 4, &131_072u32.to_be_bytes());
    match disk::parse(&d) {
        Err(DiskError::SunLabel(msg)) => assert!(msg.contains("checksum"), "{msg}"),
        other => panic!("expected a Sun label error, got {other:?}"),
    }
    fix_label_checksum(&mut d, 0);
    let l = layout_of(&d);
    let s6 = l.find("s6").unwrap();
    assert!(matches!(&s6.validity, Validity::Invalid(r) if r.contains("the disk")));
    assert!(l.find("s0").unwrap().is_valid());
}

#[test]
fn ids_and_windows() {
    let d = open("dev-solaris-x86");
    let l = layout_of(&d);
    assert_eq!(l.select("p1s0").unwrap().id, "1.0");
    assert_eq!(l.select("0").unwrap().size, d.size());
    assert!(matches!(l.select("9"), Err(DiskError::NoSuchPartition(_))));
    let p = l.select("1.0").unwrap();
    let w = p.window(&d).unwrap();
    assert_eq!(w.size(), 32256 * 512);
    let mut b = [0u8; 1];
    assert!(w.read_exact_at(w.size(), &mut b).is_err());
    assert_eq!(p.parent.as_deref(), Some("1"));
    assert_eq!(p.scheme, Scheme::Vtoc);
}

#[test]
fn bare_filesystem_images_have_no_table() {
    // Boot blocks of filesystems made by their own tools are not tables.
    for name in ["ext/ext2-1k", "ext/ext3", "ext/ext4-64k"] {
        let d = FileImage::open(fsimage_testkit::image(name)).unwrap();
        let l = layout_of(&d);
        assert_eq!(l.table, TableKind::None, "{name}");
        assert!(l.warnings.is_empty(), "{name}: {:?}", l.warnings);
        let r = root_of(&d, &l);
        assert_eq!((r.id(), r.fs.as_deref()), ("0", Some("ext2")), "{name}");
    }
}

#[test]
fn tiny_and_empty_disks_are_whole_disks() {
    for len in [0usize, 1, 511] {
        let data = vec![0u8; len];
        let l = disk::parse_bytes(&data).unwrap();
        assert_eq!(summary(&l), vec![row("0", "disk", 0, 0, "")]);
        assert_eq!(l.partitions[0].size, len as u64);
    }
}

fn put_u32(d: &mut Overlay<FileImage>, at: u64, v: u32) {
    d.put(at, &v.to_le_bytes());
}
fn put_u64(d: &mut Overlay<FileImage>, at: u64, v: u64) {
    d.put(at, &v.to_le_bytes());
}

/// dev-gpt re-addressed in 4096-byte logical blocks: its own header moved
/// to LBA 1 (byte 4096), its own entries to LBA 2 with each LBA divided by 8,
/// CRCs recomputed. Every partition keeps its byte range.
fn gpt_4k() -> Overlay<FileImage> {
    let mut d = Overlay::new(open("dev-gpt"));
    let header = d.get(512, 92);
    let mut entries = d.get(1024, 128 * 128);
    for e in entries.chunks_exact_mut(128) {
        if e[..16] == [0u8; 16] {
            continue;
        }
        let first = u64::from_le_bytes(e[32..40].try_into().unwrap());
        let last = u64::from_le_bytes(e[40..48].try_into().unwrap());
        assert!(first % 8 == 0 && (last + 1) % 8 == 0);
        e[32..40].copy_from_slice(&(first / 8).to_le_bytes());
        e[40..48].copy_from_slice(&((last + 1) / 8 - 1).to_le_bytes());
    }
    d.put(512, &[0u8; 512]); // no "EFI PART" at byte 512 any more
    d.put(8192, &entries);
    let h = 4096u64;
    let last_lba = d.size() / 4096 - 1;
    d.put(h, &header);
    put_u64(&mut d, h + 32, last_lba); // AlternateLBA
    put_u64(&mut d, h + 40, 6); // FirstUsableLBA
    put_u64(&mut d, h + 48, last_lba - 5); // LastUsableLBA
    put_u64(&mut d, h + 72, 2); // PartitionEntryLBA
    put_u32(&mut d, h + 88, crc32fast::hash(&entries));
    put_u32(&mut d, h + 16, 0);
    let crc = crc32fast::hash(&d.get(h, 92));
    put_u32(&mut d, h + 16, crc);
    d
}

#[test]
fn gpt_with_4096_byte_sectors() {
    let d = gpt_4k();
    let l = layout_of(&d);
    assert_eq!(l.sector_size, 4096);
    check_gpt_layout(&l);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(root_of(&d, &l).id(), "4");
    // Breaking its header CRC leaves no usable header of that size (the
    // backup in the last 512-byte sector says MyLBA 131071, not 16383).
    let mut bad = gpt_4k();
    bad.put(4096 + 56, &[0xEE]);
    assert!(matches!(disk::parse(&bad), Err(DiskError::Gpt(_))));
}

// ---------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------

fn every_valid_partition_is_inside(l: &DiskLayout, size: u64) -> Result<(), String> {
    for p in &l.partitions {
        if p.is_valid() {
            let end = p.start.checked_add(p.size).ok_or("overflow")?;
            if end > size || (p.size == 0 && p.scheme != Scheme::Disk) {
                return Err(format!("{} [{}, {end}) outside {size}", p.id, p.start));
            }
            if let Some(parent) = &p.parent {
                let q = l.find(parent).ok_or("missing parent")?;
                if p.start < q.start || end > q.start + q.size {
                    return Err(format!("{} outside its parent {parent}", p.id));
                }
            }
        }
    }
    Ok(())
}

/// Recomputes dev-gpt's primary header and entry-array CRCs after a patch,
/// so that mutations reach the entry decoding instead of failing the CRC.
fn fix_gpt_crcs(d: &mut Overlay<FileImage>) {
    let h = d.get(512, 92);
    let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
    let lba = u64::from_le_bytes(h[72..80].try_into().unwrap());
    let total = u64::from(u32_at(80)) * u64::from(u32_at(84));
    if total <= 1 << 20
        && let Some(at) = lba.checked_mul(512)
        && let Ok(entries) = d.read_vec_at(at, total as usize)
    {
        put_u32(d, 512 + 88, crc32fast::hash(&entries));
    }
    let hsize = u64::from(u32_at(12));
    if (92..=512).contains(&hsize) {
        put_u32(d, 512 + 16, 0);
        let crc = crc32fast::hash(&d.get(512, hsize as usize));
        put_u32(d, 512 + 16, crc);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// `FSIMAGE_PROPTEST_CASES` raises the case count for a longer local run.
    fn cases() -> u32 {
        std::env::var("FSIMAGE_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(l) = disk::parse_bytes(&data) {
                prop_assert!(every_valid_partition_is_inside(&l, data.len() as u64).is_ok());
            }
            let _ = disk::choose_root_bytes(&data, &mut |w| test_sniff(w));
        }

        #[test]
        fn mutated_fixture_tables(
            which in 0usize..5,
            edits in proptest::collection::vec((0u64..1536, any::<u8>()), 1..24),
            fix_checksums in any::<bool>(),
            cut in proptest::option::of(0u64..(64 << 20)),
        ) {
            // (fixture, second area edited: an EBR, the GPT entries, the VTOC)
            let (name, base) = [
                ("dev-mbr-logical", 18432u64 * 512),
                ("dev-mbr-ebr-unsorted", 75776 * 512),
                ("dev-gpt", 1024),
                ("dev-sun-sparc", 0),
                ("dev-solaris-x86", 2049 * 512),
            ][which];
            let mut d = Overlay::new(open(name));
            for (off, b) in edits {
                // Edits land in sectors 0-1 or in the second area.
                let at = if off < 1024 { off } else { base + off - 1024 };
                d.put(at, &[b]);
            }
            if fix_checksums {
                match name {
                    "dev-gpt" => fix_gpt_crcs(&mut d),
                    "dev-sun-sparc" => fix_label_checksum(&mut d, 0),
                    "dev-solaris-x86" => fix_label_checksum(&mut d, base),
                    _ => {}
                }
            }
            if let Some(c) = cut {
                let size = c.min(d.size());
                d = d.truncated(size);
            }
            if let Ok(l) = disk::parse(&d) {
                let inside = every_valid_partition_is_inside(&l, d.size());
                prop_assert!(inside.is_ok(), "{:?}", inside);
                let mut ids: Vec<&str> = l.partitions.iter().map(|p| p.id.as_str()).collect();
                ids.sort_unstable();
                let n = ids.len();
                ids.dedup();
                prop_assert_eq!(ids.len(), n, "duplicate ids");
                if let Ok(r) = disk::choose_root(&d, &l, &mut |w| test_sniff(w)) {
                    prop_assert!(r.partition.is_valid());
                    prop_assert!(r.fs.is_some() || r.id() == "0");
                }
            }
        }
    }
}
