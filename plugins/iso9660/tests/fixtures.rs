//! Every committed ISO 9660 fixture reads back exactly as its manifest says.

mod common;
use common::*;
use fsimage_testkit::EntryKind;

#[test]
fn plain_level1() {
    check_fixture("iso9660/iso-l1", "", 1000);
}

#[test]
fn plain_level3() {
    check_fixture("iso9660/iso-l3", "", 1000);
}

#[test]
fn joliet() {
    check_fixture("iso9660/iso-joliet", "", 1000);
}

#[test]
fn rock_ridge() {
    check_fixture("iso9660/iso-rr", "", 1000);
}

#[test]
fn rock_ridge_preferred_to_joliet() {
    check_fixture("iso9660/iso-rr-joliet", "", 1000);
}

#[test]
fn genisoimage_relocated_directories() {
    check_fixture("iso9660/iso-genisoimage-rj", "", 1000);
}

#[test]
fn small_read_dir_chunks() {
    check_fixture("iso9660/iso-rr", "", 1);
}

/// El Torito boot record (the catalog is a plain file), a 3000-entry
/// directory over many sectors, an 8 MiB file, hard links.
#[test]
fn eltorito_full() {
    check_fixture("iso9660/iso-eltorito-full", "", 100_000);
}

#[test]
fn eltorito_full_hard_links_share_an_inode_number() {
    let fs = mount("iso9660/iso-eltorito-full", "").unwrap();
    let want = manifest("iso9660/iso-eltorito-full");
    // mktree.py links /etc/hostname.hardlink to /etc/hostname.
    let mut by_ino = std::collections::HashMap::<u64, Vec<String>>::new();
    for w in want
        .iter()
        .filter(|w| w.kind == EntryKind::File && w.path.starts_with("/etc/"))
    {
        let id = fsimage_abi::sdk::lookup_path(&fs, w.path.as_bytes()).unwrap();
        let st = fsimage_abi::Filesystem::stat(&fs, id).unwrap();
        by_ino.entry(st.ino).or_default().push(w.path.clone());
    }
    let shared: Vec<_> = by_ino.values().filter(|v| v.len() > 1).collect();
    assert_eq!(shared.len(), 1, "hard links seen: {shared:?}");
    for paths in shared {
        let ids: Vec<u64> = paths
            .iter()
            .map(|p| fsimage_abi::sdk::lookup_path(&fs, p.as_bytes()).unwrap())
            .collect();
        let st = fsimage_abi::Filesystem::stat(&fs, ids[0]).unwrap();
        assert!(st.nlink >= 2, "{paths:?}: nlink {}", st.nlink);
    }
}

/// zisofs-compressed files (RR ZF), decompressed in `read`, one Opaque
/// extent each; a multi-block text file and an all-zero file.
#[test]
fn zisofs() {
    check_fixture("iso9660/iso-zisofs", "", 1000);
}

#[test]
fn zisofs_reads_at_every_block_boundary() {
    let fs = mount("iso9660/iso-zisofs", "").unwrap();
    let id = fsimage_abi::sdk::lookup_path(&fs, b"/boot/seq.txt").unwrap();
    let all = fsimage_abi::sdk::read_all(&fs, id, 1 << 20).unwrap();
    let want: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(all, want.as_bytes());
    let mut buf = [0u8; 64];
    for k in 1..all.len() / 32768 {
        let off = k * 32768 - 32;
        let n = fsimage_abi::Filesystem::read(&fs, id, off as u64, &mut buf).unwrap();
        assert_eq!(&buf[..n], &all[off..off + 64]);
    }
    let mut ex = Extents(Vec::new());
    fsimage_abi::Filesystem::extents(&fs, id, 100, &mut ex).unwrap();
    assert_eq!(ex.0.len(), 1);
    assert_eq!(ex.0[0].kind, fsimage_abi::ExtentKind::Opaque);
    assert_eq!((ex.0[0].file_offset, ex.0[0].length), (100, 588_795));
}
