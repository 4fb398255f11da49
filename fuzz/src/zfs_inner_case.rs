//! What the `zfs_nvlist`, `zfs_zap` and `zfs_decompress` targets run: the
//! ZFS plugin's pure parsers over one input. Included by those targets and
//! by the ZFS plugin's `tests/fuzz_regressions.rs`.
#![allow(dead_code)]

use fsimage_plugin_zfs::{decompress, nvlist, zap};

/// A packed (XDR) nvlist as in a vdev label.
pub fn nvlist(data: &[u8]) {
    if let Ok(l) = nvlist::unpack(data) {
        // Whatever decoded can be walked.
        let _ = l.list("vdev_tree").map(|t| t.lists("children").len());
    }
}

/// A ZAP object: first byte block size, then its blocks.
pub fn zap(data: &[u8]) {
    if let Ok(v) = zap::fuzz_zap(data) {
        for e in &v {
            assert!(e.name.len() <= fsimage_plugin_zfs::limits::ZAP_MAX_NAME);
            let _ = e.first_int();
        }
    }
}

/// One compressed block: first byte codec, second output KiB.
pub fn decompress(data: &[u8]) {
    if let Ok(out) = decompress::fuzz_decompress(data) {
        let k = data.get(1).copied().unwrap_or(0);
        let want = if k == 0 { 512 } else { usize::from(k) << 10 };
        assert_eq!(out.len(), want, "output is exactly the logical size");
    }
}
