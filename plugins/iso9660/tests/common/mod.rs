//! Helpers shared by the iso9660 plugin's integration tests (the generic
//! ones live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Filesystem, ReadAt, Result};
use fsimage_plugin_iso9660::Iso9660Fs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Extents, file_dev, image_bytes, list};

pub fn mount(name: &str, options: &str) -> Result<Iso9660Fs> {
    let path = fsimage_testkit::image(name);
    Iso9660Fs::mount(vec![file_dev(&path)], options.as_bytes())
}

/// The fixture's manifest, sorted by path.
pub fn manifest(name: &str) -> Vec<Entry> {
    let mut v = fsimage_testkit::manifest(name);
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

/// sha256 of a file streamed through its extent map.
pub fn hash_via_extents(fs: &Iso9660Fs, dev: &dyn ReadAt, id: u64, size: u64) -> String {
    plugin::hash_via_extents(fs, dev, id, size, false)
}

/// Mounts fixture `name` and checks the whole tree against its manifest
/// (`..` too; permission bits only where the manifest has them: plain ISO
/// 9660 and Joliet record none).
pub fn check_fixture(name: &str, options: &str, chunk: usize) {
    let want = manifest(name);
    let modes = want.iter().all(|w| w.mode.is_some());
    plugin::check_image::<Iso9660Fs>(
        &fsimage_testkit::image(name),
        options,
        want,
        name,
        WalkOpts {
            chunk,
            modes,
            dotdot: true,
            ..WalkOpts::default()
        },
    );
}

/// The fixture image (the testkit writes it sparse, so the 4 GiB
/// multi-extent image costs little disk).
pub fn sparse_image(name: &str) -> std::path::PathBuf {
    fsimage_testkit::image(name)
}

/// Mounts the sparse copy of fixture `name` (see [`sparse_image`]).
pub fn mount_sparse(name: &str) -> Result<Iso9660Fs> {
    Iso9660Fs::mount(vec![file_dev(&sparse_image(name))], b"")
}
