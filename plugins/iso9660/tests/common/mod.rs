//! Helpers shared by the iso9660 plugin's integration tests.
#![allow(dead_code)]

use fsimage_abi::{
    DirSink, Error, Extent, ExtentKind, ExtentSink, FileKind, Filesystem, ReadAt, Result,
};
use fsimage_plugin_iso9660::Iso9660Fs;
use fsimage_testkit::Hasher;
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

pub fn mount(name: &str, options: &str) -> Result<Iso9660Fs> {
    let path = fsimage_testkit::image(name);
    Iso9660Fs::mount(vec![file_dev(&path)], options.as_bytes())
}

/// The image's bytes, for corruption tests.
pub fn image_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fsimage_testkit::image(name)).unwrap()
}

/// One manifest line. `mode` is None for '-' (no permissions recorded:
/// plain ISO 9660 and Joliet without Rock Ridge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub kind: char,
    pub path: String,
    pub size: u64,
    pub hash_or_target: String,
    pub mode: Option<u32>,
}

/// Reads `fixtures/NAME.manifest` through the testkit parser.
pub fn manifest(name: &str) -> Vec<Want> {
    use fsimage_testkit::EntryKind;
    let mut v: Vec<Want> = fsimage_testkit::manifest(name)
        .into_iter()
        .map(|e| Want {
            kind: match e.kind {
                EntryKind::File => 'f',
                EntryKind::Dir => 'd',
                EntryKind::Symlink => 'l',
            },
            path: e.path,
            size: e.size,
            hash_or_target: e.sha256.or(e.target).unwrap_or_else(|| "-".to_owned()),
            mode: e.mode,
        })
        .collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
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

/// All entries of a directory via read_dir in chunks of `chunk`, resuming
/// from the cookie of the first refused entry each time.
pub fn list(fs: &Iso9660Fs, dir: u64, chunk: usize) -> Vec<(u64, u64, FileKind, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
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

/// sha256 of a file streamed through its extent map (Data from the device,
/// Zero as zeros, Opaque via read); checks the map covers exactly [0, size).
pub fn hash_via_extents(fs: &Iso9660Fs, dev: &dyn ReadAt, id: u64, size: u64) -> String {
    let mut ex = Extents(Vec::new());
    fs.extents(id, 0, &mut ex).unwrap();
    let mut h = Hasher::new();
    let mut pos = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for e in &ex.0 {
        assert_eq!(e.file_offset, pos, "extent map has a gap or overlap");
        assert!(e.length > 0);
        let mut done = 0;
        while done < e.length {
            let n = (e.length - done).min(buf.len() as u64) as usize;
            match e.kind {
                ExtentKind::Zero => h.update(&vec![0u8; n]),
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
    assert_eq!(pos, size, "extent map does not end at the file size");
    h.finish()
}

/// Walks the whole tree (checking lookup, `..`, read vs extents) and
/// returns it as manifest lines; modes only where `modes`.
pub fn walk(fs: &Iso9660Fs, dev: &dyn ReadAt, chunk: usize, modes: bool) -> Vec<Want> {
    let mut out = Vec::new();
    let mut stack = vec![(fs.root(), String::new())];
    let mut seen = HashSet::new();
    while let Some((dir, path)) = stack.pop() {
        assert!(seen.insert(dir), "directory loop at {path}");
        for (_, id, kind, name) in list(fs, dir, chunk) {
            let name = String::from_utf8(name).unwrap();
            let p = format!("{path}/{name}");
            let st = fs.stat(id).unwrap();
            assert_eq!(kind, st.kind, "{p}: entry type vs stat");
            assert_eq!(fs.lookup(dir, name.as_bytes()).unwrap(), id, "{p}: lookup");
            let mode = modes.then_some(st.perm);
            let w = match st.kind {
                FileKind::Dir => {
                    assert_eq!(fs.lookup(id, b"..").unwrap(), dir, "{p}: ..");
                    stack.push((id, p.clone()));
                    Want {
                        kind: 'd',
                        path: p,
                        size: 0,
                        hash_or_target: "-".into(),
                        mode,
                    }
                }
                FileKind::Symlink => {
                    let t = fs.read_link(id).unwrap();
                    assert_eq!(t.len() as u64, st.size);
                    Want {
                        kind: 'l',
                        path: p,
                        size: st.size,
                        hash_or_target: String::from_utf8(t).unwrap(),
                        mode,
                    }
                }
                FileKind::File => {
                    let sha = hash_via_extents(fs, dev, id, st.size);
                    let data = fsimage_abi::sdk::read_all(fs, id, 64 << 20).unwrap();
                    assert_eq!(
                        fsimage_testkit::sha256_hex(&data),
                        sha,
                        "{p}: read vs extents"
                    );
                    Want {
                        kind: 'f',
                        path: p,
                        size: st.size,
                        hash_or_target: sha,
                        mode,
                    }
                }
                other => panic!("{p}: unexpected kind {other:?}"),
            };
            out.push(w);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, options: &str, chunk: usize) {
    let path = fsimage_testkit::image(name);
    let dev = file_dev(&path);
    let fs = Iso9660Fs::mount(vec![dev.clone()], options.as_bytes()).unwrap();
    let want = manifest(name);
    let modes = want.iter().all(|w| w.mode.is_some());
    let got = walk(&fs, &dev, chunk, modes);
    let gp: Vec<_> = got.iter().map(|e| &e.path).collect();
    let wp: Vec<_> = want.iter().map(|e| &e.path).collect();
    assert_eq!(gp, wp, "{name}: paths differ");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name}: entry differs");
    }
}
