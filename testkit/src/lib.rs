//! Test support shared by the workspace's tests: the fixture images committed
//! under `fixtures/` (zstd-compressed, made by the filesystems' own tools) and
//! the manifests of what each must read back.
//!
//! Images are decompressed once into `target/fixtures/` (or
//! `$FSIMAGE_FIXTURE_CACHE`) and shared by every test run after that.
//! [`plugin`] has the helpers a plugin's own tests share.

pub mod plugin;

use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives one level below the workspace root")
        .to_path_buf()
}

/// The committed fixture folder (`fixtures/`).
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("fixtures")
}

/// `../shared/fixtures` when present: the extended suite's larger set.
pub fn shared_fixtures_dir() -> Option<PathBuf> {
    let p = workspace_root().join("../shared/fixtures");
    p.is_dir().then_some(p)
}

fn cache_dir() -> PathBuf {
    std::env::var_os("FSIMAGE_FIXTURE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures"))
}

/// Writes everything `input` gives to a new file at `path`, leaving runs of
/// zeros as holes: most images are mostly empty, and some (a 4 GiB
/// multi-extent ISO) would otherwise cost gigabytes of disk and time.
fn write_sparse(input: &mut impl Read, path: &Path) -> std::io::Result<()> {
    const CHUNK: usize = 64 << 10;
    let mut out = fs::File::create(path)?;
    let zeros = vec![0u8; CHUNK];
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0u64;
    loop {
        // Fill the chunk (a decoder may return less).
        let mut n = 0;
        while n < CHUNK {
            match input.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            break;
        }
        // Slice equality is a memcmp: fast in a debug build too.
        if buf[..n] == zeros[..n] {
            out.seek(SeekFrom::Current(n as i64))?;
        } else {
            out.write_all(&buf[..n])?;
        }
        len += n as u64;
        if n < CHUNK {
            break;
        }
    }
    out.set_len(len)
}

/// Decompresses `NAME.img.zst` (a path relative to `base`, without the
/// `.img.zst`) into the cache and returns the image's path.
fn decompress(base: &Path, name: &str, tag: &str) -> PathBuf {
    let src = base.join(format!("{name}.img.zst"));
    let dst = cache_dir().join(tag).join(format!("{name}.img"));
    let src_len = fs::metadata(&src)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", src.display()))
        .len();
    // A stamp beside the image records which compressed file it came from.
    let stamp = dst.with_extension("img.src-len");
    if dst.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(&src_len.to_string()) {
        return dst;
    }
    fs::create_dir_all(dst.parent().expect("has a parent")).expect("create fixture cache");
    let input = fs::File::open(&src).expect("open fixture");
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(input))
        .unwrap_or_else(|e| panic!("fixture {}: {e}", src.display()));
    // Unique temporary name, then rename: parallel tests may race here.
    let tmp = dst.with_extension(format!(
        "tmp.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    write_sparse(&mut decoder, &tmp)
        .unwrap_or_else(|e| panic!("decompress {}: {e}", src.display()));
    fs::rename(&tmp, &dst).expect("rename fixture");
    fs::write(&stamp, src_len.to_string()).expect("write stamp");
    dst
}

/// A committed fixture image, e.g. `image("ext/ext4")` or `image("disk/dev-gpt")`.
pub fn image(name: &str) -> PathBuf {
    decompress(&fixtures_dir(), name, "repo")
}

/// An image from `../shared/fixtures`, if that folder is present.
pub fn shared_image(name: &str) -> Option<PathBuf> {
    let base = shared_fixtures_dir()?;
    base.join(format!("{name}.img.zst"))
        .exists()
        .then(|| decompress(&base, name, "shared"))
}

/// The committed images of `fixtures/<group>/` as names for [`image`]
/// (`"ext/ext4"`), sorted.
pub fn fixture_names(group: &str) -> Vec<String> {
    let dir = fixtures_dir().join(group);
    let mut v: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            Some(format!("{group}/{}", n.strip_suffix(".img.zst")?))
        })
        .collect();
    v.sort();
    v
}

/// The files of `dir` but its READMEs (`*.md`), sorted; none if `dir` does
/// not exist.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    files
}

/// The inputs a fuzz target once crashed on (`fixtures/regressions/<target>/`).
pub fn fuzz_regressions(target: &str) -> Vec<PathBuf> {
    files_in(&fixtures_dir().join("regressions").join(target))
}

/// A fuzz target's committed seeds (`fuzz/seeds/<target>/`).
pub fn fuzz_seeds(target: &str) -> Vec<PathBuf> {
    files_in(&workspace_root().join("fuzz/seeds").join(target))
}

/// Runs `run` (the code a fuzz target runs) over the target's regression
/// inputs, then its seeds, failing on the first that panics; returns the
/// seeds, for the checks a caller makes on real structures.
pub fn replay_fuzz_inputs(target: &str, run: fn(&[u8])) -> Vec<PathBuf> {
    let seeds = fuzz_seeds(target);
    for f in fuzz_regressions(target).iter().chain(&seeds) {
        let data = fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
    seeds
}

/// Kind of a manifest entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// `f`: regular file.
    File,
    /// `d`: directory.
    Dir,
    /// `l`: symbolic link.
    Symlink,
}

/// One line of a manifest: `type path size sha256-or-target mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Entry type.
    pub kind: EntryKind,
    /// Absolute path from the filesystem root, UTF-8 as in the manifest.
    pub path: String,
    /// File size, or symlink target length; 0 for directories.
    pub size: u64,
    /// Lower-case hex sha256 of a file's bytes.
    pub sha256: Option<String>,
    /// A symlink's target.
    pub target: Option<String>,
    /// Permission bits; `None` where the format has none (`-` in the
    /// manifest: plain ISO 9660 and Joliet).
    pub mode: Option<u32>,
}

/// Parses manifest text.
pub fn parse_manifest(text: &str) -> Vec<Entry> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "manifest line {line:?}");
            let kind = match cols[0] {
                "f" => EntryKind::File,
                "d" => EntryKind::Dir,
                "l" => EntryKind::Symlink,
                other => panic!("manifest type {other:?}"),
            };
            Entry {
                kind,
                path: cols[1].to_owned(),
                size: cols[2].parse().expect("manifest size"),
                sha256: (kind == EntryKind::File).then(|| cols[3].to_owned()),
                target: (kind == EntryKind::Symlink).then(|| cols[3].to_owned()),
                mode: (cols[4] != "-")
                    .then(|| u32::from_str_radix(cols[4], 8).expect("manifest mode")),
            }
        })
        .collect()
}

/// The manifest `NAME.manifest` (or `NAME.pN.manifest`) from `fixtures/`.
pub fn manifest(name: &str) -> Vec<Entry> {
    let p = fixtures_dir().join(format!("{name}.manifest"));
    parse_manifest(&fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

/// The SHA-256 a committed fixture's manifest gives for the file `path`.
pub fn manifest_sha(name: &str, path: &str) -> String {
    manifest(name)
        .into_iter()
        .find(|e| e.path == path && e.kind == EntryKind::File)
        .and_then(|e| e.sha256)
        .unwrap_or_else(|| panic!("{path} is not a file of {name}"))
}

/// A manifest from `../shared/fixtures`, if present.
pub fn shared_manifest(name: &str) -> Option<Vec<Entry>> {
    let p = shared_fixtures_dir()?.join(format!("{name}.manifest"));
    Some(parse_manifest(&fs::read_to_string(p).ok()?))
}

/// Lower-case hex sha256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An incremental sha256 for streamed (large or sparse) files.
pub struct Hasher(Sha256);

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Hasher {
        Hasher(Sha256::new())
    }
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// Lower-case hex digest.
    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse() {
        let m = manifest("ext/ext4");
        let host = m.iter().find(|e| e.path == "/etc/hostname").unwrap();
        assert_eq!(host.kind, EntryKind::File);
        assert_eq!(host.size, "fixture-5\n".len() as u64);
        assert_eq!(host.mode, Some(0o644));
        let link = m.iter().find(|e| e.path == "/etc/short-link").unwrap();
        assert_eq!(link.target.as_deref(), Some("hostname"));
    }

    #[test]
    fn images_decompress() {
        let p = image("ext/ext4");
        let data = fs::read(p).unwrap();
        // ext2 superblock magic 0xEF53 at byte 1024+56.
        assert_eq!(&data[1080..1082], &[0x53, 0xef]);
    }
}
