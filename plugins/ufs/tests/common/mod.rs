//! Helpers shared by the UFS plugin's integration tests (the generic ones
//! live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Filesystem, Result};
use fsimage_plugin_ufs::UfsFs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Extents, ExtentsUpTo, file_dev, image_bytes, list};
use std::path::Path;

pub fn mount(name: &str) -> Result<UfsFs> {
    plugin::mount(name, "")
}

pub fn mount_bytes(bytes: Vec<u8>) -> Result<UfsFs> {
    plugin::mount_bytes(bytes, "")
}

/// What the walks check: inode numbers are the ids, neighbouring extents
/// are merged.
fn opts(chunk: usize) -> WalkOpts {
    WalkOpts {
        chunk,
        merged_extents: true,
        ino_is_id: true,
        ..WalkOpts::default()
    }
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, chunk: usize) {
    plugin::check_fixture::<UfsFs>(name, "", opts(chunk));
}

/// Mounts the image at `path` and checks the whole tree against `want`.
pub fn check_image(path: &Path, want: Vec<Entry>, name: &str, chunk: usize) {
    plugin::check_image::<UfsFs>(path, "", want, name, opts(chunk));
}
