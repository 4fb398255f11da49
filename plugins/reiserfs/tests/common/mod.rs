//! Helpers shared by the ReiserFS plugin's integration tests (the generic ones
//! live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Filesystem, Result};
use fsimage_plugin_reiserfs::ReiserFs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Extents, file_dev, image_bytes, list};
use std::path::Path;

pub fn mount(name: &str) -> Result<ReiserFs> {
    ReiserFs::mount(vec![file_dev(&fsimage_testkit::image(name))], b"")
}

pub fn mount_bytes(bytes: Vec<u8>) -> Result<ReiserFs> {
    ReiserFs::mount(vec![fsimage_abi::Device::new(bytes)], b"")
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, chunk: usize) {
    let path = fsimage_testkit::image(name);
    check_image(&path, fsimage_testkit::manifest(name), name, chunk);
}

/// Mounts the image at `path` and checks the whole tree against `want`
/// (inode numbers are the ids; neighbouring extents are merged).
pub fn check_image(path: &Path, want: Vec<Entry>, name: &str, chunk: usize) {
    plugin::check_image::<ReiserFs>(
        path,
        "",
        want,
        name,
        WalkOpts {
            chunk,
            merged_extents: true,
            ino_is_id: true,
            ..WalkOpts::default()
        },
    );
}
