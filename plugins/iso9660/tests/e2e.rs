//! The core end to end over this plugin: the real loader and the sandboxed
//! worker (built by `cargo build --workspace`) open each ISO fixture, and the
//! disk fixtures holding an ISO (a hybrid ISO, an ISO in an MBR partition).

mod common;
use fsimage::{Filesystem, OpenOptions};
use fsimage_testkit::{EntryKind, image, manifest, sha256_hex};

const ISOS: &[&str] = &[
    "iso9660/iso-l1",
    "iso9660/iso-l3",
    "iso9660/iso-joliet",
    "iso9660/iso-rr",
    "iso9660/iso-rr-joliet",
    "iso9660/iso-genisoimage-rj",
    "iso9660/iso-eltorito-full",
    "iso9660/iso-zisofs",
    "iso9660/iso-zisofs2",
];

/// The manifest's sha256 of the entry whose path is `path` ignoring ASCII case.
fn manifest_sha(name: &str, path: &str) -> String {
    manifest(name)
        .into_iter()
        .find(|e| e.path.eq_ignore_ascii_case(path))
        .and_then(|e| e.sha256)
        .unwrap()
}

#[test]
fn every_iso_fixture_reads_hostname_sandboxed() {
    for name in ISOS {
        let fs = OpenOptions::new()
            .open(image(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fs.fs_type(), "iso9660", "{name}");
        assert_eq!(
            fs.label().unwrap().as_deref(),
            Some(&b"FIXTURE"[..]),
            "{name}"
        );
        // Plain ISO names are upper case; lookup ignores ASCII case there.
        let data = fs
            .read("/etc/hostname")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            sha256_hex(&data),
            manifest_sha(name, "/etc/hostname"),
            "{name}"
        );
    }
}

/// Every manifest entry reads back through the public API.
fn check(fs: &Filesystem, manifest_name: &str) {
    let entries = manifest(manifest_name);
    assert!(!entries.is_empty());
    for e in &entries {
        let m = fs
            .symlink_metadata(&e.path)
            .unwrap_or_else(|err| panic!("{manifest_name}: {}: {err}", e.path));
        if let Some(mode) = e.mode {
            assert_eq!(m.permissions(), mode, "{}: mode", e.path);
        }
        match e.kind {
            EntryKind::Dir => assert!(m.is_dir(), "{}", e.path),
            EntryKind::Symlink => {
                let t = fs.read_link(&e.path).unwrap();
                assert_eq!(e.target.as_deref(), Some(&*String::from_utf8(t).unwrap()));
            }
            EntryKind::File => {
                assert_eq!(m.len(), e.size, "{}: size", e.path);
                let data = fs.read(&e.path).unwrap();
                assert_eq!(Some(sha256_hex(&data)), e.sha256, "{}: content", e.path);
            }
        }
    }
}

/// zisofs decompression runs inside the sandboxed worker too.
#[test]
fn zisofs_through_the_sandbox() {
    let name = "iso9660/iso-zisofs";
    let fs = OpenOptions::new().open(image(name)).unwrap();
    for path in ["/etc/motd", "/boot/seq.txt", "/zeros"] {
        let data = fs.read(path).unwrap();
        assert_eq!(sha256_hex(&data), manifest_sha(name, path), "{path}");
    }
}

/// zisofs2 too: the whole iso-zisofs2 tree, and the markers of the 4 GiB
/// file of iso-zisofs2-big (Z2 entries) read in place.
#[test]
fn zisofs2_through_the_sandbox() {
    let fs = OpenOptions::new()
        .open(image("iso9660/iso-zisofs2"))
        .unwrap();
    check(&fs, "iso9660/iso-zisofs2");
    let fs = OpenOptions::new()
        .open(image("iso9660/iso-zisofs2-big"))
        .unwrap();
    let f = fs.open("/huge").unwrap();
    assert_eq!(f.len(), 4_296_028_217);
    let mut buf = [0u8; 23];
    assert_eq!(f.read_at(2 << 30, &mut buf).unwrap(), 23);
    assert_eq!(&buf, b"MIDDLE-MARKER at 2 GiB\n");
    let mut tail = [0u8; 32];
    assert_eq!(f.read_at(f.len() - 16, &mut tail).unwrap(), 16);
    assert_eq!(&tail[..16], b"TAIL-END-MARKER\n");
}

/// The multi-extent file of iso-multiextent (two sections, 4 GiB + 5000
/// bytes) through the core's extent map.
#[test]
fn multi_extent_through_the_sandbox() {
    let name = "iso9660/iso-multiextent";
    let fs = OpenOptions::new().open(common::sparse_image(name)).unwrap();
    let f = fs.open("/big.bin").unwrap();
    assert_eq!(f.len(), (4 << 30) + 5000);
    let mut buf = [0u8; 28];
    assert_eq!(f.read_at(0xFFFF_F800 - 12, &mut buf).unwrap(), 28);
    assert_eq!(&buf, b"ACROSS-THE-SECTION-BOUNDARY\n");
    assert_eq!(f.read_at(2 << 30, &mut buf[..23]).unwrap(), 23);
    assert_eq!(&buf[..23], b"MIDDLE-MARKER at 2 GiB\n");
    assert_eq!(f.read_at(f.len() - 16, &mut buf).unwrap(), 16);
    assert_eq!(&buf[..16], b"TAIL-END-MARKER\n");
    for p in ["/before.txt", "/after.txt"] {
        assert_eq!(
            sha256_hex(&fs.read(p).unwrap()),
            manifest_sha(name, p),
            "{p}"
        );
    }
}

#[test]
fn hybrid_iso_whole_disk_by_root_choice() {
    let fs = OpenOptions::new()
        .open(image("disk/dev-isohybrid"))
        .unwrap();
    assert_eq!(fs.fs_type(), "iso9660");
    assert_eq!(fs.offset(), 0, "root choice: {}", fs.chosen_by());
    check(&fs, "disk/dev-isohybrid.p0");
}

#[test]
fn iso_in_an_mbr_partition() {
    let fs = OpenOptions::new()
        .partition("4")
        .open(image("disk/dev-mbr-primaries"))
        .unwrap();
    assert_eq!(fs.fs_type(), "iso9660");
    check(&fs, "disk/dev-mbr-primaries.p4");
}
