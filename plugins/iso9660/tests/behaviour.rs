//! API behaviour on real fixtures: errors by kind, partial reads, extent
//! maps from an offset, mount options, attributes.

mod common;
use common::*;
use fsimage_abi::{Error, ExtentKind, FileKind, Filesystem, sdk};

#[test]
fn errors_by_kind() {
    let fs = mount("iso9660/iso-rr", "").unwrap();
    let root = fs.root();
    let file = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    let link = sdk::lookup_path(&fs, b"/etc/short-link").unwrap();
    assert!(matches!(fs.lookup(root, b"nope"), Err(Error::NotFound)));
    assert!(matches!(fs.lookup(file, b"x"), Err(Error::NotADirectory)));
    assert!(matches!(
        fs.read_dir(file, 0, &mut Collect(Vec::new(), 9)),
        Err(Error::NotADirectory)
    ));
    assert!(matches!(
        fs.read(root, 0, &mut [0; 4]),
        Err(Error::IsADirectory)
    ));
    assert!(matches!(fs.read_link(file), Err(Error::NotASymlink)));
    assert!(matches!(fs.read_link(root), Err(Error::NotASymlink)));
    assert_eq!(fs.read_link(link).unwrap(), b"hostname");
    assert_eq!(fs.lookup(root, b"..").unwrap(), root);
    assert_eq!(fs.lookup(root, b".").unwrap(), root);
    assert_eq!(fs.label().unwrap(), b"FIXTURE");
    assert!(matches!(
        mount("iso9660/iso-rr", "bogus"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn partial_reads_and_extents_from_an_offset() {
    let path = fsimage_testkit::image("iso9660/iso-rr");
    let dev = file_dev(&path);
    let fs = mount("iso9660/iso-rr", "").unwrap();
    let id = sdk::lookup_path(&fs, b"/sizes/s4097").unwrap();
    let all = sdk::read_all(&fs, id, 1 << 20).unwrap();
    assert_eq!(all.len(), 4097);
    let mut buf = [0u8; 100];
    assert_eq!(fs.read(id, 4000, &mut buf).unwrap(), 97);
    assert_eq!(&buf[..97], &all[4000..]);
    assert_eq!(fs.read(id, 4097, &mut buf).unwrap(), 0);
    assert_eq!(fs.read(id, u64::MAX, &mut buf).unwrap(), 0);
    let mut ex = Extents(Vec::new());
    fs.extents(id, 1000, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1);
    let e = ex.0[0];
    assert_eq!(
        (e.file_offset, e.length, e.kind),
        (1000, 3097, ExtentKind::Data)
    );
    let mut direct = vec![0u8; 3097];
    fsimage_abi::ReadAt::read_exact_at(&dev, e.device_offset, &mut direct).unwrap();
    assert_eq!(&direct[..], &all[1000..]);
    // Past the end: an empty map.
    let mut ex = Extents(Vec::new());
    fs.extents(id, 5000, &mut ex).unwrap();
    assert!(ex.0.is_empty());
    // An empty file has no extents.
    let empty = sdk::lookup_path(&fs, b"/empty").unwrap();
    let mut ex = Extents(Vec::new());
    fs.extents(empty, 0, &mut ex).unwrap();
    assert!(ex.0.is_empty());
}

#[test]
fn rock_ridge_attributes() {
    let fs = mount("iso9660/iso-rr", "").unwrap();
    let secret = fs
        .stat(sdk::lookup_path(&fs, b"/etc/secret").unwrap())
        .unwrap();
    assert_eq!(secret.perm, 0o600);
    assert_eq!(secret.kind, FileKind::File);
    // TF times: after 2020 and not in the far future.
    assert!(
        secret.mtime.sec > 1_577_836_800 && secret.mtime.sec < 4_102_444_800,
        "{secret:?}"
    );
    let link = fs
        .stat(sdk::lookup_path(&fs, b"/etc/long-link").unwrap())
        .unwrap();
    assert_eq!(
        (link.kind, link.size, link.perm),
        (FileKind::Symlink, 191, 0o777)
    );
    let root = fs.stat(fs.root()).unwrap();
    assert_eq!(root.kind, FileKind::Dir);
    assert_eq!(root.perm, 0o755);
}

#[test]
fn plain_names_and_defaults() {
    let fs = mount("iso9660/iso-l1", "").unwrap();
    // Names as recorded (upper case), looked up ignoring ASCII case.
    let a = sdk::lookup_path(&fs, b"/ETC/HOSTNAME").unwrap();
    let b = sdk::lookup_path(&fs, b"/etc/hostname").unwrap();
    assert_eq!(a, b);
    let st = fs.stat(a).unwrap();
    assert_eq!((st.perm, st.nlink), (0o444, 1));
    let d = fs.stat(fs.root()).unwrap();
    assert_eq!((d.perm, d.nlink), (0o555, 2));
    // A recording date, not zero.
    assert!(st.mtime.sec > 1_577_836_800, "{st:?}");
}

#[test]
fn options_choose_the_tree() {
    // Rock Ridge preferred; norock shows the Joliet tree; both off: plain.
    let rr = mount("iso9660/iso-rr-joliet", "").unwrap();
    assert!(sdk::lookup_path(&rr, b"/etc/short-link").is_ok());
    let j = mount("iso9660/iso-rr-joliet", "norock").unwrap();
    let id = sdk::lookup_path(&j, b"/names/with space").unwrap();
    assert_eq!(j.stat(id).unwrap().perm, 0o444);
    assert!(sdk::lookup_path(&j, b"/etc/short-link").is_err());
    let p = mount("iso9660/iso-rr-joliet", "norock,nojoliet").unwrap();
    assert!(sdk::lookup_path(&p, b"/names/with space").is_err());
    assert!(sdk::lookup_path(&p, b"/ETC/HOSTNAME").is_ok());
}

#[test]
fn relocated_directories_are_found_and_hidden() {
    let fs = mount("iso9660/iso-genisoimage-rj", "").unwrap();
    // rr_moved is listed but its relocated children are hidden.
    let moved = sdk::lookup_path(&fs, b"/rr_moved").unwrap();
    assert!(sdk::list_dir(&fs, moved, 100).unwrap().is_empty());
    let deep = b"/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9";
    let id = sdk::lookup_path(&fs, deep).unwrap();
    let d8 = sdk::lookup_path(&fs, &deep[..deep.len() - 3]).unwrap();
    assert_eq!(fs.lookup(id, b"..").unwrap(), d8);
    assert_eq!(fs.stat(id).unwrap().kind, FileKind::Dir);
}

#[test]
fn read_dir_cookies_resume_exactly() {
    let fs = mount("iso9660/iso-rr", "").unwrap();
    let root = fs.root();
    let all = list(&fs, root, 1000);
    for chunk in 1..4 {
        assert_eq!(list(&fs, root, chunk), all);
    }
    // Resuming at each entry's cookie starts at that entry.
    for (i, (cookie, ..)) in all.iter().enumerate() {
        let mut c = Collect(Vec::new(), 1);
        fs.read_dir(root, *cookie, &mut c).unwrap();
        assert_eq!(c.0[0], all[i]);
    }
}

/// A multi-extent file made from iso-l1's bytes: /SIZES/S2048 gets the
/// multi-extent flag and the next record (S4095) is renamed to S2048, so one
/// file has two sections (what mkisofs writes for files of 4 GiB and more).
#[test]
fn multi_extent_file() {
    let path = fsimage_testkit::image("iso9660/iso-l1");
    let mut b = std::fs::read(&path).unwrap();
    let clean = mount("iso9660/iso-l1", "").unwrap();
    let first = sdk::read_all(
        &clean,
        sdk::lookup_path(&clean, b"/SIZES/S2048").unwrap(),
        1 << 20,
    )
    .unwrap();
    let second = sdk::read_all(
        &clean,
        sdk::lookup_path(&clean, b"/SIZES/S4095").unwrap(),
        1 << 20,
    )
    .unwrap();
    let a = b.windows(9).position(|w| w == b"\x08S2048.;1").unwrap() - 32;
    let next = a + usize::from(b[a]);
    assert_eq!(&b[next + 33..next + 41], b"S4095.;1");
    b[a + 25] |= 0x80;
    b[next + 33..next + 41].copy_from_slice(b"S2048.;1");
    let dev = fsimage_abi::Device::new(b);
    let fs = fsimage_plugin_iso9660::Iso9660Fs::mount(vec![dev.clone()], b"").unwrap();
    let sizes = sdk::lookup_path(&fs, b"/SIZES").unwrap();
    let names: Vec<_> = sdk::list_dir(&fs, sizes, 100)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "S2048").count(),
        1,
        "{names:?}"
    );
    assert!(!names.contains(&"S4095".to_string()), "{names:?}");
    let id = fs.lookup(sizes, b"S2048").unwrap();
    assert_eq!(fs.stat(id).unwrap().size, 2048 + 4095);
    let mut want = first.clone();
    want.extend_from_slice(&second);
    assert_eq!(sdk::read_all(&fs, id, 1 << 20).unwrap(), want);
    // A read across the section boundary.
    let mut buf = [0u8; 100];
    assert_eq!(fs.read(id, 2000, &mut buf).unwrap(), 100);
    assert_eq!(&buf[..], &want[2000..2100]);
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 2);
    assert_eq!((ex.0[1].file_offset, ex.0[1].length), (2048, 4095));
    assert_eq!(
        hash_via_extents(&fs, &dev, id, 6143),
        fsimage_testkit::sha256_hex(&want)
    );
    let mut ex = Extents(Vec::new());
    fs.extents(id, 3000, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1);
    assert_eq!((ex.0[0].file_offset, ex.0[0].length), (3000, 3143));
}

/// SUSP without any Rock Ridge entry (only SP in the root's "." record, the
/// rest renamed to an unknown signature in iso-rr-joliet's bytes) is not
/// Rock Ridge: the Joliet tree is read.
#[test]
fn susp_without_rock_ridge_falls_back_to_joliet() {
    let mut b = std::fs::read(fsimage_testkit::image("iso9660/iso-rr-joliet")).unwrap();
    let pvd = 16 * 2048;
    let root = u32::from_le_bytes(b[pvd + 158..pvd + 162].try_into().unwrap()) as usize * 2048;
    let len = usize::from(b[root]);
    let nlen = usize::from(b[root + 32]);
    let mut p = root + 33 + nlen + usize::from(nlen % 2 == 0);
    assert_eq!(&b[p..p + 2], b"SP");
    let mut renamed = 0;
    while p + 4 <= root + len && b[p] != 0 {
        let elen = usize::from(b[p + 2]);
        if &b[p..p + 2] != b"SP" {
            b[p..p + 2].copy_from_slice(b"XX");
            renamed += 1;
        }
        p += elen;
    }
    assert!(renamed > 0);
    let fs =
        fsimage_plugin_iso9660::Iso9660Fs::mount(vec![fsimage_abi::Device::new(b)], b"").unwrap();
    let id = sdk::lookup_path(&fs, b"/names/with space").unwrap();
    assert_eq!(fs.stat(id).unwrap().perm, 0o444, "Joliet: no modes");
    assert!(sdk::lookup_path(&fs, b"/etc/short-link").is_err());
}

/// A file whose extent starts with a one-block extended attribute record
/// (iso-l1's /ETC/HOSTNAME moved one block back, EAR length 1): the data
/// after the record is read.
#[test]
fn extended_attribute_record_is_skipped() {
    let mut b = std::fs::read(fsimage_testkit::image("iso9660/iso-l1")).unwrap();
    let clean = mount("iso9660/iso-l1", "").unwrap();
    let want = sdk::read_all(
        &clean,
        sdk::lookup_path(&clean, b"/ETC/HOSTNAME").unwrap(),
        4096,
    )
    .unwrap();
    let rec = b.windows(12).position(|w| w == b"\x0bHOSTNAME.;1").unwrap() - 32;
    let ext = u32::from_le_bytes(b[rec + 2..rec + 6].try_into().unwrap()) - 1;
    b[rec + 1] = 1;
    b[rec + 2..rec + 6].copy_from_slice(&ext.to_le_bytes());
    b[rec + 6..rec + 10].copy_from_slice(&ext.to_be_bytes());
    let fs =
        fsimage_plugin_iso9660::Iso9660Fs::mount(vec![fsimage_abi::Device::new(b)], b"").unwrap();
    let id = sdk::lookup_path(&fs, b"/ETC/HOSTNAME").unwrap();
    assert_eq!(sdk::read_all(&fs, id, 4096).unwrap(), want);
}

#[test]
fn probe() {
    for name in ["iso9660/iso-l1", "iso9660/iso-joliet", "iso9660/iso-rr"] {
        let dev = file_dev(&fsimage_testkit::image(name));
        assert_eq!(
            fsimage_plugin_iso9660::Iso9660Fs::probe(&[dev]).unwrap(),
            90,
            "{name}"
        );
    }
    let ext = file_dev(&fsimage_testkit::image("ext/ext2-1k"));
    assert_eq!(fsimage_plugin_iso9660::Iso9660Fs::probe(&[ext]).unwrap(), 0);
    assert_eq!(fsimage_plugin_iso9660::Iso9660Fs::probe(&[]).unwrap(), 0);
}
