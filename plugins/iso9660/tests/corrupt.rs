//! Corruptions made from real fixture bytes: every one ends in an error
//! naming what is wrong, never a panic or a hang.

mod common;
use common::*;
use fsimage_abi::{Device, Error, Filesystem, sdk};
use fsimage_plugin_iso9660::Iso9660Fs;

fn mount_bytes(b: Vec<u8>) -> fsimage_abi::Result<Iso9660Fs> {
    Iso9660Fs::mount(vec![Device::new(b)], b"")
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in the image", String::from_utf8_lossy(needle)))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn put_both32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    b[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Start of the plain directory record whose identifier is `ident`.
fn record_of(b: &[u8], ident: &[u8]) -> usize {
    let p = find(b, ident);
    assert_eq!(usize::from(b[p - 1]), ident.len(), "identifier length");
    p - 33
}

/// Start of the Rock Ridge NM entry holding `name`.
fn nm_entry(b: &[u8], name: &[u8]) -> usize {
    let mut pat = b"NM".to_vec();
    pat.push(5 + name.len() as u8);
    pat.extend_from_slice(&[1, 0]);
    pat.extend_from_slice(name);
    find(b, &pat)
}

fn corrupt_msg<T>(r: fsimage_abi::Result<T>) -> String {
    match r {
        Err(Error::Corrupt(m)) => m,
        Err(other) => panic!("expected a corrupt error, got {other:?}"),
        Ok(_) => panic!("expected a corrupt error, got success"),
    }
}

#[test]
fn absurd_logical_block_size() {
    let mut b = image_bytes("iso9660/iso-l1");
    let pvd = 16 * 2048;
    b[pvd + 128..pvd + 130].copy_from_slice(&3000u16.to_le_bytes());
    let m = corrupt_msg(mount_bytes(b.clone()));
    assert!(m.contains("logical block size 3000"), "{m}");
    assert_eq!(Iso9660Fs::probe(&[Device::new(b)]).unwrap(), 0);
}

#[test]
fn no_volume_descriptor_is_not_recognized() {
    let mut b = image_bytes("iso9660/iso-l1");
    b[16 * 2048 + 1] = b'X';
    assert!(matches!(mount_bytes(b), Err(Error::NotRecognized(_))));
    let short = image_bytes("iso9660/iso-l1")[..20000].to_vec();
    assert!(matches!(mount_bytes(short), Err(Error::NotRecognized(_))));
}

#[test]
fn truncated_images() {
    let full = image_bytes("iso9660/iso-rr");
    for len in [
        16 * 2048 + 100,
        17 * 2048,
        40 * 1024,
        100 * 1024,
        200 * 1024,
    ] {
        let b = full[..len].to_vec();
        // Either the mount fails or walking hits errors; never a panic.
        if let Ok(fs) = mount_bytes(b) {
            let _ = sdk::list_dir(&fs, fs.root(), 1000);
            let _ = sdk::lookup_path(&fs, b"/etc/hostname")
                .and_then(|id| sdk::read_all(&fs, id, 1 << 20));
        }
    }
}

#[test]
fn record_length_too_small_or_past_the_sector() {
    let clean = image_bytes("iso9660/iso-l1");
    let rec = record_of(&clean, b"HOSTNAME.;1");
    // Too short to hold the fixed part.
    let mut b = clean.clone();
    b[rec] = 20;
    let fs = mount_bytes(b).unwrap();
    let etc = sdk::lookup_path(&fs, b"/ETC").unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, etc, 100));
    assert!(m.contains("length 20 < 34"), "{m}");
    // Longer than what is left of its sector.
    let mut b = clean.clone();
    b[rec] = 255;
    let left = 2048 - rec % 2048;
    if left < 255 {
        let fs = mount_bytes(b).unwrap();
        let etc = sdk::lookup_path(&fs, b"/ETC").unwrap();
        let m = corrupt_msg(sdk::list_dir(&fs, etc, 100));
        assert!(m.contains("runs past its sector"), "{m}");
    }
}

#[test]
fn zero_length_root_record() {
    let mut b = image_bytes("iso9660/iso-l1");
    let pvd = 16 * 2048;
    let root = le32(&b, pvd + 156 + 2) as usize * 2048;
    b[root] = 0;
    let m = corrupt_msg(mount_bytes(b));
    assert!(m.contains("root directory"), "{m}");
}

#[test]
fn extent_past_the_image() {
    let mut b = image_bytes("iso9660/iso-l1");
    let rec = record_of(&b, b"HOSTNAME.;1");
    put_both32(&mut b, rec + 2, 0x00ff_ffff);
    let fs = mount_bytes(b).unwrap();
    let id = sdk::lookup_path(&fs, b"/ETC/HOSTNAME").unwrap();
    let m = corrupt_msg(sdk::read_all(&fs, id, 1 << 20));
    assert!(m.contains("past the image"), "{m}");
    let m = corrupt_msg(fs.extents(id, 0, &mut Extents(Vec::new())));
    assert!(m.contains("past the image"), "{m}");
}

#[test]
fn directory_extent_past_the_image() {
    let mut b = image_bytes("iso9660/iso-l1");
    let rec = record_of(&b, b"ETC");
    put_both32(&mut b, rec + 10, 0x7fff_0000);
    let fs = mount_bytes(b).unwrap();
    // The parent's record says one size, the directory's "." another:
    // the "." record rules, so the directory still reads.
    assert!(sdk::lookup_path(&fs, b"/ETC/HOSTNAME").is_ok());
    let mut b = image_bytes("iso9660/iso-l1");
    let rec = record_of(&b, b"ETC");
    let dot = le32(&b, rec + 2) as usize * 2048;
    put_both32(&mut b, dot + 10, 0x7fff_0000);
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::lookup_path(&fs, b"/ETC/HOSTNAME"));
    assert!(m.contains("runs past the image"), "{m}");
}

#[test]
fn multi_extent_flag_on_a_lone_file() {
    let mut b = image_bytes("iso9660/iso-l1");
    let rec = record_of(&b, b"HOSTNAME.;1");
    b[rec + 25] |= 0x80;
    let fs = mount_bytes(b).unwrap();
    let etc = sdk::lookup_path(&fs, b"/ETC").unwrap();
    // The listing hides the next record as a section of HOSTNAME…
    let names: Vec<_> = sdk::list_dir(&fs, etc, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(!names.contains(&b"MOTD".to_vec()), "{names:?}");
    // …and reading HOSTNAME finds that the section belongs to another file.
    let id = fs.lookup(etc, b"HOSTNAME").unwrap();
    let m = corrupt_msg(fs.stat(id));
    assert!(m.contains("multi-extent"), "{m}");
}

#[test]
fn interleaved_file_refused_by_name() {
    let mut b = image_bytes("iso9660/iso-l1");
    let rec = record_of(&b, b"HOSTNAME.;1");
    b[rec + 26] = 1;
    b[rec + 27] = 1;
    let fs = mount_bytes(b).unwrap();
    let id = sdk::lookup_path(&fs, b"/ETC/HOSTNAME").unwrap();
    match sdk::read_all(&fs, id, 1 << 20) {
        Err(Error::Unsupported(m)) => assert_eq!(m, "iso9660 feature: interleaved files"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn zf_entry_of_another_algorithm_refused_by_name() {
    let mut b = image_bytes("iso9660/iso-rr");
    let nm = nm_entry(&b, b"hostname");
    // Turn the record's TF entry (before NM) into a ZF entry of the same length.
    let tf = nm - 60 + find(&b[nm - 60..nm], b"TF\x1a\x01");
    b[tf..tf + 2].copy_from_slice(b"ZF");
    b[tf + 4..tf + 6].copy_from_slice(b"xz");
    let fs = mount_bytes(b).unwrap();
    let id = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    match fs.read(id, 0, &mut [0u8; 16]) {
        Err(Error::Unsupported(m)) => assert_eq!(m, "iso9660 feature: ZF compression 'xz'"),
        other => panic!("{other:?}"),
    }
}

/// zisofs damage: block pointers, bad zlib, wrong header.
#[test]
fn zisofs_damage() {
    let clean = image_bytes("iso9660/iso-zisofs");
    let fs = mount_bytes(clean.clone()).unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/seq.txt").unwrap();
    assert_eq!(fs.stat(id).unwrap().size, 588_895);
    // The compressed data starts with the zisofs magic and the size.
    let magic = [0x37u8, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07];
    let size = 588_895u32.to_le_bytes();
    let start = clean
        .windows(12)
        .position(|w| w[..8] == magic && w[8..] == size)
        .unwrap();
    // Bad magic.
    let mut b = clean.clone();
    b[start] ^= 0xff;
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::read_all(&fs, id, 1 << 20));
    assert!(m.contains("magic"), "{m}");
    // A block pointer past the compressed data.
    let mut b = clean.clone();
    b[start + 16 + 4..start + 16 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::read_all(&fs, id, 1 << 20));
    assert!(m.contains("zisofs block 0"), "{m}");
    // Garbage in the first zlib stream.
    let mut b = clean.clone();
    let p0 = u32::from_le_bytes(b[start + 16..start + 20].try_into().unwrap()) as usize;
    for x in &mut b[start + p0 + 2..start + p0 + 40] {
        *x = 0xAA;
    }
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::read_all(&fs, id, 1 << 20));
    assert!(m.contains("zisofs block 0"), "{m}");
}

/// zisofs2 damage (iso-zisofs2, /boot/seq.txt: 4 blocks of 1 MiB):
/// header fields, 64-bit block pointers, zlib, the ZF entry's block size
/// and algorithm.
#[test]
fn zisofs2_damage() {
    let clean = image_bytes("iso9660/iso-zisofs2");
    let size = 4_088_895u64;
    let fs = mount_bytes(clean.clone()).unwrap();
    let id = sdk::lookup_path(&fs, b"/boot/seq.txt").unwrap();
    assert_eq!(fs.stat(id).unwrap().size, size);
    let magic = [0xEFu8, 0x22, 0x55, 0xA1, 0xBC, 0x1B, 0x95, 0xA0];
    let start = clean
        .windows(20)
        .position(|w| w[..8] == magic && w[12..] == size.to_le_bytes())
        .unwrap();
    // The ZF entry: "ZF", 16, version 2, "PZ", 6, 20, the size (64 bits LE).
    let mut zf_head = b"ZF\x10\x02PZ\x06\x14".to_vec();
    zf_head.extend_from_slice(&size.to_le_bytes());
    let zf = find(&clean, &zf_head);
    let read_err = |b: Vec<u8>| {
        let fs = mount_bytes(b).unwrap();
        let mut buf = vec![0u8; 64];
        fs.read(id, 0, &mut buf)
    };
    let corrupt = |b: Vec<u8>, want: &str| {
        let m = corrupt_msg(read_err(b));
        assert!(m.contains(want), "{want}: {m}");
    };
    let mut b = clean.clone();
    b[start] ^= 0xff;
    corrupt(b, "magic");
    // Header version, algorithm id, header size, block size, size.
    for (at, v, want) in [
        (8, 1u8, "header version"),
        (10, 2, "algorithm"),
        (9, 7, "disagree"),
        (11, 17, "disagree"),
        (12, 0x40, "!= ZF size"),
    ] {
        let mut b = clean.clone();
        b[start + at] = v;
        corrupt(b, want);
    }
    // Block 0's end pointer past the compressed data, then before its start.
    let mut b = clean.clone();
    b[start + 32..start + 40].copy_from_slice(&u64::MAX.to_le_bytes());
    corrupt(b, "zisofs block 0");
    let mut b = clean.clone();
    b[start + 32..start + 40].copy_from_slice(&1u64.to_le_bytes());
    corrupt(b, "zisofs block 0");
    // Garbage in the first zlib stream.
    let mut b = clean.clone();
    let p0 = u64::from_le_bytes(b[start + 24..start + 32].try_into().unwrap()) as usize;
    for x in &mut b[start + p0 + 2..start + p0 + 40] {
        *x = 0xAA;
    }
    corrupt(b, "zisofs block 0");
    // The ZF entry: a block size past 2^20; a size past the header's.
    let mut b = clean.clone();
    b[zf + 7] = 21;
    corrupt(b, "2^21 outside 2^15..2^20");
    let mut b = clean.clone();
    b[zf + 15] = 0x80;
    let fs = mount_bytes(b.clone()).unwrap();
    assert_eq!(fs.stat(id).unwrap().size, size | (0x80 << 56));
    corrupt(b, "!= ZF size");
    // Another zisofs2 algorithm (xz) is refused by name.
    let mut b = clean.clone();
    b[zf + 4..zf + 6].copy_from_slice(b"XZ");
    match read_err(b) {
        Err(Error::Unsupported(m)) => {
            assert_eq!(m, "iso9660 feature: ZF compression 'XZ' (zisofs2)")
        }
        other => panic!("{other:?}"),
    }
}

/// A zisofs2 file whose size claims far more blocks than its pointer table
/// holds: reads past the table are corrupt, never a huge allocation.
#[test]
fn zisofs2_size_past_its_pointer_table() {
    let mut b = image_bytes("iso9660/iso-zisofs2");
    let size = 3_000_000u64;
    let mut zf_head = b"ZF\x10\x02PZ\x06\x14".to_vec();
    zf_head.extend_from_slice(&size.to_le_bytes());
    let zf = find(&b, &zf_head);
    let magic = [0xEFu8, 0x22, 0x55, 0xA1, 0xBC, 0x1B, 0x95, 0xA0];
    let start = b
        .windows(20)
        .position(|w| w[..8] == magic && w[12..] == size.to_le_bytes())
        .unwrap();
    let huge = u64::MAX - 5;
    b[zf + 8..zf + 16].copy_from_slice(&huge.to_le_bytes());
    b[start + 12..start + 20].copy_from_slice(&huge.to_le_bytes());
    let fs = mount_bytes(b).unwrap();
    let id = sdk::lookup_path(&fs, b"/zeros").unwrap();
    assert_eq!(fs.stat(id).unwrap().size, huge);
    let mut buf = vec![0u8; 4096];
    // Block 2's pointers are in the table; zeros.
    assert_eq!(fs.read(id, 2 << 20, &mut buf).unwrap(), 4096);
    assert!(buf.iter().all(|&x| x == 0));
    for off in [4u64 << 20, 1 << 40, huge - 10] {
        let r = fs.read(id, off, &mut buf);
        assert!(
            matches!(r, Err(Error::Corrupt(_)) | Err(Error::OutOfBounds { .. })),
            "{off}: {r:?}"
        );
    }
}

#[test]
fn nm_entry_past_its_area() {
    let mut b = image_bytes("iso9660/iso-rr");
    let nm = nm_entry(&b, b"hostname");
    b[nm + 2] = 250;
    let fs = mount_bytes(b).unwrap();
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, etc, 100));
    assert!(
        m.contains("SUSP entry NM length 250 runs past its area"),
        "{m}"
    );
}

#[test]
fn sl_component_past_its_entry() {
    let mut b = image_bytes("iso9660/iso-rr");
    let nm = nm_entry(&b, b"short-link");
    let sl = nm + find(&b[nm..nm + 200], b"SL");
    // SL: header(4) flags(1) then component: flags, len, content.
    b[sl + 6] = 200;
    let fs = mount_bytes(b).unwrap();
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, etc, 100));
    assert!(
        m.contains("SL component of 200 bytes runs past its entry"),
        "{m}"
    );
}

#[test]
fn ce_continuation_loop() {
    let mut b = image_bytes("iso9660/iso-rr");
    let nm = nm_entry(&b, b"long-link");
    let ce = nm + find(&b[nm..nm + 200], b"CE\x1c\x01");
    let (loc, off, old_len) = (le32(&b, ce + 4), le32(&b, ce + 12), le32(&b, ce + 20));
    assert!(old_len >= 28);
    // Exactly one entry long, so the area holds nothing but the looping CE.
    let len = 28;
    put_both32(&mut b, ce + 20, len);
    // The continuation area starts with a CE pointing to itself.
    let area = loc as usize * 2048 + off as usize;
    b[area..area + 4].copy_from_slice(b"CE\x1c\x01");
    put_both32(&mut b, area + 4, loc);
    put_both32(&mut b, area + 12, off);
    put_both32(&mut b, area + 20, len);
    let fs = mount_bytes(b).unwrap();
    let etc = sdk::lookup_path(&fs, b"/etc").unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, etc, 100));
    assert!(m.contains("CE continuation loop"), "{m}");
}

#[test]
fn cl_link_to_an_ancestor() {
    let mut b = image_bytes("iso9660/iso-genisoimage-rj");
    let cl = find(&b, b"CL\x0c\x01");
    let pvd = 16 * 2048;
    let root_block = le32(&b, pvd + 156 + 2);
    put_both32(&mut b, cl + 4, root_block);
    let fs = mount_bytes(b).unwrap();
    // Some directory on the d0/d1/... chain holds the CL: walking it fails.
    let mut path = String::new();
    let mut hit = None;
    for i in 0..30 {
        path.push_str(&format!("/d{i}"));
        match sdk::lookup_path(&fs, path.as_bytes()) {
            Ok(_) => continue,
            Err(e) => {
                hit = Some(e);
                break;
            }
        }
    }
    let m = corrupt_msg(Err::<(), _>(hit.expect("the CL loop went unnoticed")));
    assert!(m.contains("CL link"), "{m}");
}

#[test]
fn cl_link_to_a_file_record() {
    let mut b = image_bytes("iso9660/iso-genisoimage-rj");
    let cl = find(&b, b"CL\x0c\x01");
    // Block 0 is the system area: no directory there.
    put_both32(&mut b, cl + 4, 0);
    let fs = mount_bytes(b).unwrap();
    let mut path = String::new();
    let mut err = None;
    for i in 0..30 {
        path.push_str(&format!("/d{i}"));
        if let Err(e) = sdk::lookup_path(&fs, path.as_bytes()) {
            err = Some(e);
            break;
        }
    }
    let m = corrupt_msg(Err::<(), _>(err.expect("bad CL went unnoticed")));
    assert!(m.contains("CL link"), "{m}");
}

/// Arbitrary ids from a caller are refused, not trusted.
#[test]
fn arbitrary_ids() {
    let fs = mount("iso9660/iso-rr", "").unwrap();
    for id in [
        0,
        1,
        2047,
        16 * 2048,
        17 * 2048 + 5,
        u64::MAX,
        u64::MAX - 2047,
        1 << 40,
    ] {
        let _ = fs.stat(id);
        let _ = fs.read(id, 0, &mut [0u8; 64]);
        let _ = fs.read_dir(id, 0, &mut Collect(Vec::new(), 10));
        let _ = fs.lookup(id, b"x");
        let _ = fs.read_link(id);
        let _ = fs.extents(id, 0, &mut Extents(Vec::new()));
    }
    let root = fs.root();
    for cookie in [1, 33, 34, 35, 2047, 2048, u64::MAX] {
        let _ = fs.read_dir(root, cookie, &mut Collect(Vec::new(), 10));
    }
}

/// Seeded byte damage over the metadata of every small fixture: walking the
/// damaged tree ends (bounded) with data or errors.
#[test]
fn seeded_damage() {
    let iters: u64 = std::env::var("ISO_DAMAGE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    for name in [
        "iso9660/iso-rr",
        "iso9660/iso-joliet",
        "iso9660/iso-genisoimage-rj",
        "iso9660/iso-zisofs",
    ] {
        let clean = image_bytes(name);
        // Metadata lives in the first ~120 KiB of these images; in the
        // zisofs image damage the compressed data too.
        let meta = if name.ends_with("zisofs") {
            clean.len().min(700 * 1024)
        } else {
            clean.len().min(120 * 1024)
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..iters {
            let mut b = clean.clone();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 16 * 2048 + (seed as usize % (meta - 16 * 2048));
                b[at] = (seed >> 40) as u8;
            }
            let Ok(fs) = mount_bytes(b) else { continue };
            let mut buf = vec![0u8; 128 * 1024];
            let mut stack = vec![(fs.root(), 0)];
            let mut visited = 0;
            while let Some((dir, depth)) = stack.pop() {
                visited += 1;
                if visited > 500 || depth > 40 {
                    break;
                }
                let Ok(entries) = sdk::list_dir(&fs, dir, 5000) else {
                    continue;
                };
                for e in entries {
                    let _ = fs.stat(e.id);
                    let _ = fs.lookup(dir, &e.name);
                    let _ = fs.read_link(e.id);
                    let _ = fs.read(e.id, 0, &mut buf);
                    if e.kind == fsimage_abi::FileKind::Dir {
                        let _ = fs.lookup(e.id, b"..");
                        stack.push((e.id, depth + 1));
                    }
                }
            }
        }
    }
}

#[test]
fn directory_record_loops() {
    let clean = image_bytes("iso9660/iso-l1");
    let pvd = 16 * 2048;
    let root_block = le32(&clean, pvd + 156 + 2);
    // A directory record (not the path table) by its identifier.
    let rec = |b: &[u8], id: &[u8]| {
        let mut pat = b"\x01\x00\x00\x01".to_vec();
        pat.push(id.len() as u8);
        pat.extend_from_slice(id);
        b.windows(pat.len()).position(|w| w == pat).unwrap() - 28
    };
    let d0_block = le32(&clean, rec(&clean, b"D0") + 2);
    // /D0/D1/D2 points at /D0, an ancestor.
    let mut b = clean.clone();
    let d2 = rec(&b, b"D2");
    put_both32(&mut b, d2 + 2, d0_block);
    let fs = mount_bytes(b).unwrap();
    let d1 = sdk::lookup_path(&fs, b"/D0/D1").unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, d1, 100));
    assert!(m.contains("not back"), "{m}");
    let m = corrupt_msg(fs.lookup(d1, b"D2"));
    assert!(m.contains("not back"), "{m}");
    // /D0/D1 points at the root.
    let mut b = clean.clone();
    let d1 = rec(&b, b"D1");
    put_both32(&mut b, d1 + 2, root_block);
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::lookup_path(&fs, b"/D0/D1"));
    assert!(m.contains("points to the root"), "{m}");
    // /D0 points at the root, which holds it.
    let mut b = clean;
    let d0 = rec(&b, b"D0");
    put_both32(&mut b, d0 + 2, root_block);
    let fs = mount_bytes(b).unwrap();
    let m = corrupt_msg(sdk::list_dir(&fs, fs.root(), 100));
    assert!(m.contains("points to the directory holding it"), "{m}");
}
