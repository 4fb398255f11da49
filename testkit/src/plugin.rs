//! Helpers for a filesystem plugin's own tests, generic over any
//! [`Filesystem`]: a device over an image file, devices that count or log
//! reads, collecting sinks, streaming `read_dir` with small sinks, hashing a
//! file through its extent map, and walking a whole tree into manifest
//! entries to compare with the fixture's manifest.

use crate::{Entry, EntryKind, Hasher};
use fsimage_abi::sdk::read_all;
use fsimage_abi::{
    Device, DirSink, Error, Extent, ExtentKind, ExtentSink, FileKind, Filesystem, ReadAt, Result,
};
use std::collections::HashSet;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A read-only image file read by position.
pub struct FileDev(pub std::fs::File, pub u64);

impl ReadAt for FileDev {
    fn size(&self) -> u64 {
        self.1
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        fsimage_abi::io::check_range(offset, buf.len() as u64, self.1)?;
        self.0
            .read_exact_at(buf, offset)
            .map_err(|e| Error::Io(e.to_string()))
    }
}

/// A device over the image file at `path`.
pub fn file_dev(path: &Path) -> Device {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let len = f.metadata().expect("image metadata").len();
    Device::new(FileDev(f, len))
}

/// A committed fixture image's bytes (for corruption tests).
pub fn image_bytes(name: &str) -> Vec<u8> {
    std::fs::read(crate::image(name)).expect("fixture image")
}

/// Mounts committed fixture `name` as `F` with `options`.
pub fn mount<F: Filesystem>(name: &str, options: &str) -> Result<F> {
    F::mount(vec![file_dev(&crate::image(name))], options.as_bytes())
}

/// Mounts an in-memory image as `F` with `options`.
pub fn mount_bytes<F: Filesystem>(bytes: Vec<u8>, options: &str) -> Result<F> {
    F::mount(vec![Device::new(bytes)], options.as_bytes())
}

/// A device that counts the reads made of `inner` (in `reads`).
pub struct Counting {
    /// The device read.
    pub inner: Device,
    /// Reads so far (shareable between devices).
    pub reads: Arc<AtomicU64>,
}

impl Counting {
    /// A counting device over `inner` and its counter.
    pub fn wrap(inner: Device) -> (Device, Arc<AtomicU64>) {
        let reads = Arc::new(AtomicU64::new(0));
        let dev = Device::new(Counting {
            inner,
            reads: reads.clone(),
        });
        (dev, reads)
    }
}

impl ReadAt for Counting {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_exact_at(offset, buf)
    }
}

/// `(offset, length)` of every read a [`Recorder`] saw, in order.
pub type ReadLog = Arc<Mutex<Vec<(u64, usize)>>>;

/// A device that logs every read made of `inner`.
pub struct Recorder {
    /// The device read.
    pub inner: Device,
    /// The reads so far.
    pub log: ReadLog,
}

impl Recorder {
    /// A recording device over `inner` and its log.
    pub fn wrap(inner: Device) -> (Device, ReadLog) {
        let log = ReadLog::default();
        let dev = Device::new(Recorder {
            inner,
            log: log.clone(),
        });
        (dev, log)
    }
}

impl ReadAt for Recorder {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((offset, buf.len()));
        self.inner.read_exact_at(offset, buf)
    }
}

/// A directory sink keeping `(cookie, id, kind, name)` and refusing entries
/// past its capacity (the `usize`).
pub struct Collect(pub Vec<(u64, u64, FileKind, Vec<u8>)>, pub usize);

impl DirSink for Collect {
    fn push(&mut self, cookie: u64, id: u64, kind: FileKind, name: &[u8]) -> bool {
        if self.0.len() >= self.1 {
            return false;
        }
        self.0.push((cookie, id, kind, name.to_vec()));
        true
    }
}

/// An extent sink that takes everything.
pub struct Extents(pub Vec<Extent>);

impl ExtentSink for Extents {
    fn push(&mut self, e: Extent) -> bool {
        self.0.push(e);
        true
    }
}

/// An extent sink that keeps the first `.1` extents and refuses the next.
pub struct ExtentsUpTo(pub Vec<Extent>, pub usize);

impl ExtentSink for ExtentsUpTo {
    fn push(&mut self, e: Extent) -> bool {
        if self.0.len() >= self.1 {
            return false;
        }
        self.0.push(e);
        true
    }
}

/// All entries of a directory via `read_dir` in sinks of `chunk` entries,
/// resuming from the cookie of the first refused entry each time.
pub fn list<F: Filesystem>(fs: &F, dir: u64, chunk: usize) -> Vec<(u64, u64, FileKind, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        // One more than we keep, to learn the resume cookie.
        let mut c = Collect(Vec::new(), chunk + 1);
        fs.read_dir(dir, cookie, &mut c).expect("read_dir");
        let more = c.0.len() > chunk;
        if more {
            cookie = c.0[chunk].0;
            c.0.truncate(chunk);
        }
        out.extend(c.0);
        if !more {
            return out;
        }
    }
}

/// sha256 of a file streamed through its extent map (Data from the device,
/// Zero as zeros, Opaque via `read`). Checks that the map covers exactly
/// `[0, size)` and, with `merged`, that no two neighbours could be one.
pub fn hash_via_extents<F: Filesystem>(
    fs: &F,
    dev: &dyn ReadAt,
    id: u64,
    size: u64,
    merged: bool,
) -> String {
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).expect("extents");
    let mut h = Hasher::new();
    let mut pos = 0u64;
    let zeros = vec![0u8; 1 << 20];
    let mut buf = vec![0u8; 1 << 20];
    for (i, e) in ex.0.iter().enumerate() {
        assert_eq!(e.file_offset, pos, "extent map has a gap or overlap");
        assert!(e.length > 0, "empty extent {e:?}");
        if merged && i > 0 {
            let p = ex.0[i - 1];
            let mergeable = p.kind == e.kind
                && (e.kind != ExtentKind::Data || p.device_offset + p.length == e.device_offset);
            assert!(!mergeable, "extents {p:?} and {e:?} were not merged");
        }
        let mut done = 0;
        while done < e.length {
            let n = (e.length - done).min(buf.len() as u64) as usize;
            match e.kind {
                ExtentKind::Zero => h.update(&zeros[..n]),
                ExtentKind::Data => {
                    dev.read_exact_at(e.device_offset + done, &mut buf[..n])
                        .expect("extent inside the device");
                    h.update(&buf[..n]);
                }
                ExtentKind::Opaque => {
                    let got = fs.read(id, pos + done, &mut buf[..n]).expect("read");
                    assert_eq!(got, n, "short read inside the file");
                    h.update(&buf[..n]);
                }
            }
            done += n as u64;
        }
        pos += e.length;
    }
    assert_eq!(pos, size, "extent map does not end at the file size");
    h.finish()
}

/// What [`walk`] checks besides collecting entries.
#[derive(Clone, Copy, Debug)]
pub struct WalkOpts {
    /// `read_dir` sink size (small values exercise cookies).
    pub chunk: usize,
    /// Also read each file (under 64 MiB) through `read` and compare.
    pub check_read: bool,
    /// Neighbouring extents must not be mergeable.
    pub merged_extents: bool,
    /// Record permission bits (`false`: `mode: None`, for formats without).
    pub modes: bool,
    /// `stat(id).ino == id`.
    pub ino_is_id: bool,
    /// `lookup(dir, "..")` gives the parent.
    pub dotdot: bool,
}

impl Default for WalkOpts {
    fn default() -> WalkOpts {
        WalkOpts {
            chunk: 1000,
            check_read: true,
            merged_extents: false,
            modes: true,
            ino_is_id: false,
            dotdot: false,
        }
    }
}

/// Walks the whole tree, checking on the way that `lookup` finds what
/// `read_dir` listed, that entry types match `stat` (where the directory
/// records one), that symlink sizes match their targets and that `read`
/// agrees with the extent map; returns the tree as sorted manifest entries.
pub fn walk<F: Filesystem>(fs: &F, dev: &dyn ReadAt, o: WalkOpts) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack = vec![(fs.root(), String::new())];
    let mut seen = HashSet::new();
    while let Some((dir, path)) = stack.pop() {
        assert!(seen.insert(dir), "directory loop at {path}");
        for (_, id, kind, name) in list(fs, dir, o.chunk) {
            let name = String::from_utf8(name).expect("UTF-8 name");
            let p = format!("{path}/{name}");
            let st = fs.stat(id).unwrap_or_else(|e| panic!("{p}: stat: {e}"));
            if o.ino_is_id {
                assert_eq!(st.ino, id, "{p}: inode number");
            }
            if kind != FileKind::Unknown {
                assert_eq!(kind, st.kind, "{p}: entry type vs stat");
            }
            assert_eq!(
                fs.lookup(dir, name.as_bytes()).expect("lookup"),
                id,
                "{p}: lookup"
            );
            let mode = o.modes.then_some(st.perm);
            let e = match st.kind {
                FileKind::Dir => {
                    if o.dotdot {
                        assert_eq!(fs.lookup(id, b"..").expect(".."), dir, "{p}: ..");
                    }
                    stack.push((id, p.clone()));
                    Entry {
                        kind: EntryKind::Dir,
                        path: p,
                        size: 0,
                        sha256: None,
                        target: None,
                        mode,
                    }
                }
                FileKind::Symlink => {
                    let t = fs.read_link(id).expect("read_link");
                    assert_eq!(t.len() as u64, st.size, "{p}: symlink size");
                    Entry {
                        kind: EntryKind::Symlink,
                        path: p,
                        size: st.size,
                        sha256: None,
                        target: Some(String::from_utf8(t).expect("UTF-8 target")),
                        mode,
                    }
                }
                FileKind::File => {
                    let sha = hash_via_extents(fs, dev, id, st.size, o.merged_extents);
                    if o.check_read && st.size < (64 << 20) {
                        let data = read_all(fs, id, 64 << 20).expect("read");
                        assert_eq!(crate::sha256_hex(&data), sha, "{p}: read vs extents");
                    }
                    Entry {
                        kind: EntryKind::File,
                        path: p,
                        size: st.size,
                        sha256: Some(sha),
                        target: None,
                        mode,
                    }
                }
                other => panic!("{p}: unexpected kind {other:?}"),
            };
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Walks `fs` and compares the tree with `want` entry by entry.
pub fn check_tree<F: Filesystem>(
    fs: &F,
    dev: &dyn ReadAt,
    mut want: Vec<Entry>,
    name: &str,
    o: WalkOpts,
) {
    let got = walk(fs, dev, o);
    want.sort_by(|a, b| a.path.cmp(&b.path));
    let gp: Vec<_> = got.iter().map(|e| &e.path).collect();
    let wp: Vec<_> = want.iter().map(|e| &e.path).collect();
    assert_eq!(gp, wp, "{name}: paths differ");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name}: entry differs");
    }
}

/// Mounts `image` with `options` as `F` and checks it against `want`.
pub fn check_image<F: Filesystem>(
    image: &Path,
    options: &str,
    want: Vec<Entry>,
    name: &str,
    o: WalkOpts,
) {
    let dev = file_dev(image);
    let fs = F::mount(vec![dev.clone()], options.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: mount: {e}"));
    check_tree(&fs, &dev, want, name, o);
}

/// Mounts fixture `name` as `F` with `options` and checks the whole tree
/// against the fixture's manifest.
pub fn check_fixture<F: Filesystem>(name: &str, options: &str, o: WalkOpts) {
    check_image::<F>(&crate::image(name), options, crate::manifest(name), name, o);
}

/// Mounts an in-memory image as `F` with `options` and checks it against
/// `want`.
pub fn check_bytes<F: Filesystem>(
    img: Vec<u8>,
    options: &str,
    want: Vec<Entry>,
    name: &str,
    o: WalkOpts,
) {
    let dev = Device::new(img);
    let fs = F::mount(vec![dev.clone()], options.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: mount: {e}"));
    check_tree(&fs, &dev, want, name, o);
}
