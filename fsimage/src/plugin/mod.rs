//! Plugins: loading them, and the one interface the core uses to talk to a
//! mounted filesystem, whether the plugin runs in this process or in a
//! sandbox worker.

mod inproc;
pub mod loader;

pub use inproc::{InProcessMount, probe_in_process};
pub use loader::{LoadError, Plugin, Registry};

use fsimage_abi::{DirEntry, Extent, ExtentKind, Result, Stat};

/// Largest directory chunk asked of a plugin at once.
pub const DIR_CHUNK_BYTES: usize = 64 * 1024;
/// Most extents asked of a plugin at once.
pub const EXTENT_CHUNK: usize = 256;
/// Most bytes asked of a plugin's `read` at once (the sandbox's frame
/// bound too), so one call stays well inside the plugin's per-operation
/// [`budget`](fsimage_abi::budget).
pub const READ_CHUNK: usize = 8 << 20;

/// A mounted filesystem as the core sees it. Implemented by
/// [`InProcessMount`] and by the sandbox's worker proxy; everything above it
/// (path walking, symlinks, the fast data path) is shared.
pub trait Mount: Send + Sync {
    /// Filesystem name (the plugin's).
    fn fs_name(&self) -> &str;
    /// Id of the root directory.
    fn root(&self) -> Result<u64>;
    /// One component looked up in a directory.
    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64>;
    /// Metadata of an object.
    fn stat(&self, id: u64) -> Result<Stat>;
    /// Reads at an offset; short only at end of file.
    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Appends the entries from `cookie` on to `out` (one chunk); returns
    /// the next cookie, [`fsimage_abi::raw::COOKIE_EOF`] at the end.
    fn read_dir(&self, dir: u64, cookie: u64, out: &mut Vec<DirEntry>) -> Result<u64>;
    /// A symlink's target.
    fn read_link(&self, id: u64) -> Result<Vec<u8>>;
    /// Up to `max` extents from `from` on (unchecked: see [`check_extents`]).
    fn extents(&self, id: u64, from: u64, max: usize) -> Result<Vec<Extent>>;
    /// The boot string, if any.
    fn bootstring(&self) -> Result<Option<Vec<u8>>>;
    /// The label, if any.
    fn label(&self) -> Result<Option<Vec<u8>>>;
}

/// Checks extents a plugin (or a worker) returned before anything is read
/// through them: they must start at `from`, follow each other without gaps,
/// stay inside `file_size`, and `Data` extents must lie inside their device.
pub fn check_extents(
    extents: &[Extent],
    from: u64,
    file_size: u64,
    device_sizes: &[u64],
) -> Result<()> {
    let bad = |why: String| {
        Err(fsimage_abi::Error::corrupt(format!(
            "plugin extent map: {why}"
        )))
    };
    let mut expect = from;
    for (i, e) in extents.iter().enumerate() {
        let end = e.file_offset.checked_add(e.length);
        // The first extent may begin before `from` (it contains it).
        let starts_ok = if i == 0 {
            e.file_offset <= from && end.is_some_and(|end| end > from)
        } else {
            e.file_offset == expect
        };
        if e.length == 0 || !starts_ok {
            return bad(format!(
                "extent {i} covers [{}, +{}) but {expect} was expected next",
                e.file_offset, e.length
            ));
        }
        let Some(end) = end.filter(|&end| end <= file_size) else {
            return bad(format!("extent {i} ends past the file size {file_size}"));
        };
        if e.kind == ExtentKind::Data {
            let Some(&dev_size) = device_sizes.get(e.device as usize) else {
                return bad(format!(
                    "extent {i} names device {} of {}",
                    e.device,
                    device_sizes.len()
                ));
            };
            if e.device_offset
                .checked_add(e.length)
                .is_none_or(|x| x > dev_size)
            {
                return bad(format!(
                    "extent {i} at device offset {} (+{}) lies outside the device ({dev_size} bytes)",
                    e.device_offset, e.length
                ));
            }
        }
        expect = end;
    }
    Ok(())
}
