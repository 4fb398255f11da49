//! Helpers shared by the ext2 plugin's integration tests (the generic ones
//! live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Filesystem, ReadAt, Result};
use fsimage_plugin_ext2::Ext2Fs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Extents, file_dev, list};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub fn mount(name: &str, options: &str) -> Result<Ext2Fs> {
    plugin::mount(name, options)
}

/// sha256 of a file streamed through its extent map.
pub fn hash_via_extents(fs: &Ext2Fs, dev: &dyn ReadAt, id: u64, size: u64) -> String {
    plugin::hash_via_extents(fs, dev, id, size, false)
}

/// Walks the whole tree and returns it as manifest entries.
pub fn walk(fs: &Ext2Fs, dev: &dyn ReadAt, chunk: usize, check_read: bool) -> Vec<Entry> {
    plugin::walk(
        fs,
        dev,
        WalkOpts {
            chunk,
            check_read,
            ..WalkOpts::default()
        },
    )
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, options: &str, chunk: usize) {
    check_with(name, options, name, chunk);
}

/// Mounts image `name` with `options` and checks it against manifest `manifest`.
pub fn check_fixture_as(name: &str, options: &str, manifest: &str) {
    check_with(name, options, manifest, 1000);
}

fn check_with(name: &str, options: &str, manifest: &str, chunk: usize) {
    plugin::check_image::<Ext2Fs>(
        &fsimage_testkit::image(name),
        options,
        fsimage_testkit::manifest(manifest),
        name,
        WalkOpts {
            chunk,
            ..WalkOpts::default()
        },
    );
}

/// Mounts fixture `name` over a device that counts its reads.
pub fn counting_mount(name: &str) -> (Ext2Fs, Arc<AtomicU64>) {
    let (dev, reads) = plugin::Counting::wrap(file_dev(&fsimage_testkit::image(name)));
    let fs = Ext2Fs::mount(vec![dev], b"").unwrap();
    (fs, reads)
}
