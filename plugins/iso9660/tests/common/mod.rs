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

/// Fixture `name` decompressed into the fixture cache as a sparse file
/// (runs of zeros are seeked over, not written): for iso-multiextent, 4 GiB
/// of mostly zeros, which `fsimage_testkit::image` would write out in full.
/// Cached beside the testkit's images as `NAME.sparse.img`.
pub fn sparse_image(name: &str) -> std::path::PathBuf {
    use std::io::{Read, Seek, SeekFrom, Write};
    let src = fsimage_testkit::fixtures_dir().join(format!("{name}.img.zst"));
    let src_len = std::fs::metadata(&src).expect("fixture").len();
    let cache = std::env::var_os("FSIMAGE_FIXTURE_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| fsimage_testkit::workspace_root().join("target/fixtures"));
    let dst = cache.join("repo").join(format!("{name}.sparse.img"));
    let stamp = dst.with_extension("img.src-len");
    if dst.exists() && std::fs::read_to_string(&stamp).ok() == Some(src_len.to_string()) {
        return dst;
    }
    std::fs::create_dir_all(dst.parent().expect("parent")).expect("fixture cache");
    let tmp = dst.with_extension(format!(
        "tmp.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let input = std::io::BufReader::new(std::fs::File::open(&src).expect("fixture"));
    let mut dec = ruzstd::decoding::StreamingDecoder::new(input).expect("zstd");
    let mut out = std::fs::File::create(&tmp).expect("create");
    let zeros = vec![0u8; 1 << 16];
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        // Fill the chunk (the decoder may return less).
        let mut n = 0;
        while n < buf.len() {
            let k = dec.read(&mut buf[n..]).expect("decompress");
            if k == 0 {
                break;
            }
            n += k;
        }
        if n == 0 {
            break;
        }
        // Slice equality is a memcmp: fast in a debug build too.
        if buf[..n] == zeros[..n] {
            out.seek(SeekFrom::Current(n as i64)).expect("seek");
        } else {
            out.write_all(&buf[..n]).expect("write");
        }
        len += n as u64;
    }
    out.set_len(len).expect("set_len");
    drop(out);
    std::fs::rename(&tmp, &dst).expect("rename");
    std::fs::write(&stamp, src_len.to_string()).expect("stamp");
    dst
}

/// Mounts the sparse copy of fixture `name` (see [`sparse_image`]).
pub fn mount_sparse(name: &str) -> Result<Iso9660Fs> {
    Iso9660Fs::mount(vec![file_dev(&sparse_image(name))], b"")
}
