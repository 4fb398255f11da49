//! Helpers shared by the ext2 plugin's integration tests.
#![allow(dead_code)]

use fsimage_abi::{
    DirSink, Error, Extent, ExtentKind, ExtentSink, FileKind, Filesystem, ReadAt, Result,
};
use fsimage_plugin_ext2::Ext2Fs;
use fsimage_testkit::{Entry, EntryKind, Hasher};
use std::collections::HashSet;
use std::os::unix::fs::FileExt;
use std::path::Path;

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

pub fn file_dev(path: &Path) -> fsimage_abi::Device {
    let f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len();
    fsimage_abi::Device::new(FileDev(f, len))
}

pub fn mount(name: &str, options: &str) -> Result<Ext2Fs> {
    let path = fsimage_testkit::image(name);
    Ext2Fs::mount(vec![file_dev(&path)], options.as_bytes())
}

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

pub struct Extents(pub Vec<Extent>);
impl ExtentSink for Extents {
    fn push(&mut self, e: Extent) -> bool {
        self.0.push(e);
        true
    }
}

/// All entries of a directory, via read_dir with the given sink size,
/// resuming from the cookie of the first refused entry each time.
pub fn list(fs: &Ext2Fs, dir: u64, chunk: usize) -> Vec<(u64, u64, FileKind, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        // Ask for one more than we keep so we learn the resume cookie.
        let mut c = Collect(Vec::new(), chunk + 1);
        fs.read_dir(dir, cookie, &mut c).unwrap();
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

/// sha256 of a file streamed through its extent map: Data extents are read
/// from the device directly, Zero extents hashed as zeros, Opaque via read.
/// Also checks that the map covers exactly [0, size).
pub fn hash_via_extents(fs: &Ext2Fs, dev: &dyn ReadAt, id: u64, size: u64) -> String {
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    let mut h = Hasher::new();
    let mut pos = 0u64;
    let zeros = vec![0u8; 1 << 20];
    let mut buf = vec![0u8; 1 << 20];
    for e in &ex.0 {
        assert_eq!(e.file_offset, pos, "extent map has a gap or overlap");
        assert!(e.length > 0);
        let mut done = 0;
        while done < e.length {
            let n = (e.length - done).min(buf.len() as u64) as usize;
            match e.kind {
                ExtentKind::Zero => h.update(&zeros[..n]),
                ExtentKind::Data => {
                    dev.read_exact_at(e.device_offset + done, &mut buf[..n])
                        .unwrap();
                    h.update(&buf[..n]);
                }
                ExtentKind::Opaque => {
                    let got = fs.read(id, pos + done, &mut buf[..n]).unwrap();
                    assert_eq!(got, n);
                    h.update(&buf[..n]);
                }
            }
            done += n as u64;
        }
        pos += e.length;
    }
    assert_eq!(pos, size, "extent map does not end at i_size");
    h.finish()
}

/// Walks the whole tree and returns it as manifest entries.
pub fn walk(fs: &Ext2Fs, dev: &dyn ReadAt, chunk: usize, check_read: bool) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack = vec![(fs.root(), String::new())];
    let mut seen = HashSet::new();
    while let Some((dir, path)) = stack.pop() {
        assert!(seen.insert(dir), "directory loop at {path}");
        for (_, id, kind, name) in list(fs, dir, chunk) {
            let name = String::from_utf8(name).unwrap();
            let p = format!("{path}/{name}");
            let st = fs.stat(id).unwrap();
            if kind != FileKind::Unknown {
                assert_eq!(kind, st.kind, "{p}: entry type vs inode");
            }
            // Lookup finds the same inode.
            assert_eq!(fs.lookup(dir, name.as_bytes()).unwrap(), id, "{p}: lookup");
            let e = match st.kind {
                FileKind::Dir => {
                    stack.push((id, p.clone()));
                    Entry {
                        kind: EntryKind::Dir,
                        path: p,
                        size: 0,
                        sha256: None,
                        target: None,
                        mode: Some(st.perm),
                    }
                }
                FileKind::Symlink => {
                    let t = fs.read_link(id).unwrap();
                    assert_eq!(t.len() as u64, st.size);
                    Entry {
                        kind: EntryKind::Symlink,
                        path: p,
                        size: st.size,
                        sha256: None,
                        target: Some(String::from_utf8(t).unwrap()),
                        mode: Some(st.perm),
                    }
                }
                FileKind::File => {
                    let sha = hash_via_extents(fs, dev, id, st.size);
                    if check_read && st.size < (64 << 20) {
                        let data = fsimage_abi::sdk::read_all(fs, id, 64 << 20).unwrap();
                        assert_eq!(
                            fsimage_testkit::sha256_hex(&data),
                            sha,
                            "{p}: read vs extents"
                        );
                    }
                    Entry {
                        kind: EntryKind::File,
                        path: p,
                        size: st.size,
                        sha256: Some(sha),
                        target: None,
                        mode: Some(st.perm),
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

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, options: &str, chunk: usize) {
    check_with(name, options, name, chunk);
}

/// Mounts image `name` with `options` and checks it against manifest `manifest`.
pub fn check_fixture_as(name: &str, options: &str, manifest: &str) {
    check_with(name, options, manifest, 1000);
}

fn check_with(name: &str, options: &str, manifest: &str, chunk: usize) {
    let path = fsimage_testkit::image(name);
    let dev = file_dev(&path);
    let fs = Ext2Fs::mount(vec![dev.clone()], options.as_bytes()).unwrap();
    let got = walk(&fs, &dev, chunk, true);
    let mut want = fsimage_testkit::manifest(manifest);
    want.sort_by(|a, b| a.path.cmp(&b.path));
    let gp: Vec<_> = got.iter().map(|e| &e.path).collect();
    let wp: Vec<_> = want.iter().map(|e| &e.path).collect();
    assert_eq!(gp, wp, "{name}: paths differ");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name}: entry differs");
    }
}
