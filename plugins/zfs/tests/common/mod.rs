//! Helpers shared by the ZFS plugin's integration tests (the generic ones
//! live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Device, Filesystem, Result};
use fsimage_plugin_zfs::ZfsFs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Extents, file_dev, image_bytes, list};
use std::path::Path;

pub fn mount(name: &str) -> Result<ZfsFs> {
    plugin::mount(name, "")
}

pub fn mount_opts(name: &str, opts: &str) -> Result<ZfsFs> {
    plugin::mount(name, opts)
}

pub fn mount_bytes(bytes: Vec<u8>) -> Result<ZfsFs> {
    plugin::mount_bytes(bytes, "")
}

pub fn opts(chunk: usize) -> WalkOpts {
    WalkOpts {
        chunk,
        ino_is_id: true,
        ..WalkOpts::default()
    }
}

/// Checks a mounted pool's tree against a manifest (extents are one opaque
/// extent per file, so `read` is what gets hashed).
pub fn check_fs(fs: &ZfsFs, dev: &Device, want: Vec<Entry>, name: &str, chunk: usize) {
    plugin::check_tree(fs, dev, want, name, opts(chunk));
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, chunk: usize) {
    plugin::check_fixture::<ZfsFs>(name, "", opts(chunk));
}

pub fn check_image(path: &Path, want: Vec<Entry>, name: &str, chunk: usize) {
    plugin::check_image::<ZfsFs>(path, "", want, name, opts(chunk));
}
