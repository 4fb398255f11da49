//! Makes the ZFS fuzz seeds (`fuzz/seeds/zfs_*`) from the fixtures:
//! `cargo test -p fsimage-plugin-zfs --test mkseeds -- --ignored`.
//!
//! - `zfs_image`: SPRS sparse images holding only the bytes a mount and a
//!   metadata walk read (labels, uberblocks, MOS, dnodes, ZAPs), non-zero
//!   512-byte pieces only, at their real offsets; flags 0 (raw-like:
//!   `csum=off`) and 4 (checksums verified).
//! - `zfs_nvlist`: the packed nvlist of a label, trailing zeros cut.
//! - `zfs_zap`: directory ZAP objects (first byte: block size index).
//! - `zfs_decompress`: small blocks of each codec.

use fsimage_abi::{Device, Error, FileKind, Filesystem, ReadAt, sdk};
use fsimage_plugin_zfs::ZfsFs;
use fsimage_testkit::plugin::{Recorder, file_dev};
use std::path::PathBuf;

fn seeds_dir(target: &str) -> PathBuf {
    let d = fsimage_testkit::fixtures_dir()
        .join("../fuzz/seeds")
        .join(target);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Metadata walk: list, stat, lookup, read_link (no file data).
fn meta_walk(fs: &ZfsFs) {
    let mut stack = vec![fs.root()];
    while let Some(d) = stack.pop() {
        for e in sdk::list_dir(fs, d, 100_000).unwrap() {
            let _ = fs.stat(e.id);
            let _ = fs.lookup(d, &e.name);
            match e.kind {
                FileKind::Dir => stack.push(e.id),
                FileKind::Symlink => {
                    let _ = fs.read_link(e.id);
                }
                _ => {}
            }
        }
    }
}

fn sparse(img: &Device, ranges: &[(u64, usize)], flags: u32) -> Vec<u8> {
    let mut pieces = std::collections::BTreeSet::new();
    for &(off, len) in ranges {
        let mut p = off / 512;
        while p * 512 < off + len as u64 {
            pieces.insert(p);
            p += 1;
        }
    }
    let mut out = b"SPRS".to_vec();
    out.extend(flags.to_le_bytes());
    out.extend(img.size().to_le_bytes());
    let mut buf = [0u8; 512];
    let mut chunk: Option<(u64, Vec<u8>)> = None;
    let flush = |c: &mut Option<(u64, Vec<u8>)>, out: &mut Vec<u8>| {
        if let Some((o, b)) = c.take() {
            out.extend(o.to_le_bytes());
            out.extend((b.len() as u32).to_le_bytes());
            out.extend(b);
        }
    };
    for p in pieces {
        if img.read_exact_at(p * 512, &mut buf).is_err() || buf.iter().all(|&b| b == 0) {
            flush(&mut chunk, &mut out);
            continue;
        }
        match &mut chunk {
            Some((o, b)) if *o + b.len() as u64 == p * 512 => b.extend_from_slice(&buf),
            _ => {
                flush(&mut chunk, &mut out);
                chunk = Some((p * 512, buf.to_vec()));
            }
        }
    }
    flush(&mut chunk, &mut out);
    out
}

#[test]
#[ignore]
fn make_seeds() {
    for name in [
        "ozfs-lz4",
        "fuse-v23-lzjb",
        "ozfs-rpool-bootfs",
        "fuse-v14-rpool",
    ] {
        let dev = file_dev(&fsimage_testkit::image(&format!("zfs/{name}")));
        let (rec, log) = Recorder::wrap(dev.clone());
        let fs = ZfsFs::mount(vec![rec], b"").unwrap();
        meta_walk(&fs);
        let ranges = log.lock().unwrap().clone();
        let verify: &[u32] = if name == "ozfs-lz4" { &[0, 4] } else { &[0] };
        for &flags in verify {
            let s = sparse(&dev, &ranges, flags);
            let tag = if flags == 4 { "-verify" } else { "" };
            std::fs::write(seeds_dir("zfs_image").join(format!("{name}{tag}.sprs")), &s).unwrap();
            eprintln!("{name}{tag}: {} bytes", s.len());
        }
        // The label nvlist.
        let mut area = vec![0u8; 112 << 10];
        dev.read_exact_at(16 << 10, &mut area).unwrap();
        area.truncate((112 << 10) - 40); // without the embedded checksum
        let end = area.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        area.truncate(end + 8);
        std::fs::write(
            seeds_dir("zfs_nvlist").join(format!("{name}.nvlist")),
            &area,
        )
        .unwrap();
        // Directory ZAPs: the root and /etc.
        for (tag, path) in [("root", "/"), ("etc", "/etc")] {
            let id = sdk::lookup_path(&fs, path.as_bytes()).unwrap();
            let (bs, data) = fs.raw_object(id, 256 << 10).unwrap();
            let k = (bs / 512).trailing_zeros() as u8;
            let mut s = vec![k];
            s.extend(data);
            std::fs::write(seeds_dir("zfs_zap").join(format!("{name}-{tag}.zap")), s).unwrap();
        }
    }
    // The 3000-entry fat ZAP directory, when ../shared is there.
    if let Some(img) = fsimage_testkit::shared_image("zfs/fuse-v23-full") {
        let fs = ZfsFs::mount(vec![file_dev(&img)], b"").unwrap();
        let id = sdk::lookup_path(&fs, b"/many").unwrap();
        let (bs, data) = fs.raw_object(id, 1 << 20).unwrap();
        let k = (bs / 512).trailing_zeros() as u8;
        let mut s = vec![k];
        s.extend(data);
        std::fs::write(seeds_dir("zfs_zap").join("fuse-v23-full-many.zap"), s).unwrap();
    }
    // Decompressor seeds: codec byte (0 lzjb, 1 lz4, 2 gzip, 3 zle, 4 zstd),
    // output KiB (0 = 512 bytes), then the block as ZFS stores it.
    let d = seeds_dir("zfs_decompress");
    // A literal, then matches of 66 bytes at offset 1, to 512 bytes.
    let mut lzjb = vec![0u8, 0, 0b1111_1110, b'a'];
    lzjb.extend([0xFC, 1].repeat(7));
    lzjb.extend([0xFF, 0xFC, 1]);
    std::fs::write(d.join("lzjb.bin"), lzjb).unwrap();
    let zle = [3u8, 0, 1, b'x', b'y', 66, 0, b'z', 255, 255, 185];
    std::fs::write(d.join("zle.bin"), zle).unwrap();
    let text: Vec<u8> = b"ZFS block, ZFS block, ZFS block! "
        .iter()
        .cycle()
        .take(512)
        .copied()
        .collect();
    // lz4: one literal-only sequence (token 0xF0, length 512-15 as 0xFF,
    // 0xF2), behind ZFS's big-endian length.
    let mut blk = vec![0xF0];
    let mut rest = 512 - 15;
    while rest >= 255 {
        blk.push(255);
        rest -= 255;
    }
    blk.push(rest as u8);
    blk.extend_from_slice(&text);
    let mut lz4 = vec![1u8, 0];
    lz4.extend((blk.len() as u32).to_be_bytes());
    lz4.extend(blk);
    std::fs::write(d.join("lz4.bin"), lz4).unwrap();
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&text, 6);
    let mut gz = vec![2u8, 0];
    gz.extend(z);
    std::fs::write(d.join("gzip.bin"), gz).unwrap();
    let frame =
        ruzstd::encoding::compress_to_vec(&text[..], ruzstd::encoding::CompressionLevel::Fastest);
    let body = &frame[4..]; // ZFS stores the frame without its magic
    let mut zs = vec![4u8, 0];
    zs.extend((body.len() as u32).to_be_bytes());
    zs.extend(0x0001_0503u32.to_be_bytes());
    zs.extend(body);
    std::fs::write(d.join("zstd.bin"), zs).unwrap();
    let _ = Error::NotFound;
}

/// The decompressor seeds decode to what they were made from.
#[test]
fn decompress_seeds_decode() {
    let d = seeds_dir("zfs_decompress");
    for f in std::fs::read_dir(d).unwrap() {
        let data = std::fs::read(f.unwrap().path()).unwrap();
        fsimage_plugin_zfs::decompress::fuzz_decompress(&data).unwrap();
    }
}
