//! Reads one file out of an ext2/3/4 image and writes it to stdout, either
//! through `Filesystem::read` or through the extent map (what the core's
//! fast path does). Used by `bench/read.sh`.
//!
//! usage: ext2cat [--read|--extents] IMAGE PATH [OPTIONS]

use fsimage_abi::{Extent, ExtentKind, ExtentSink, Filesystem, ReadAt};
use fsimage_plugin_ext2::Ext2Fs;
use std::io::Write;

struct Batch(Vec<Extent>);
impl ExtentSink for Batch {
    fn push(&mut self, e: Extent) -> bool {
        if self.0.len() >= 256 {
            return false;
        }
        self.0.push(e);
        true
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, img, path) = match args.get(1).map(String::as_str) {
        Some("--read") | Some("--extents") => (args[1].as_str(), &args[2], &args[3]),
        _ => ("--extents", &args[1], &args[2]),
    };
    let opts = args
        .get(if mode == args[1] { 4 } else { 3 })
        .cloned()
        .unwrap_or_default();
    let dev = fsimage_testkit::plugin::file_dev(std::path::Path::new(img));
    let fs = Ext2Fs::mount(vec![dev.clone()], opts.as_bytes())?;
    let id = fsimage_abi::sdk::lookup_path(&fs, path.as_bytes())?;
    let size = fs.stat(id)?.size;
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    if mode == "--read" {
        loop {
            let n = fs.read(id, pos, &mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            pos += n as u64;
        }
        return Ok(());
    }
    while pos < size {
        let mut b = Batch(Vec::new());
        fs.extents(id, pos, &mut b)?;
        for e in b.0 {
            let mut done = 0u64;
            while done < e.length {
                let n = (e.length - done).min(buf.len() as u64) as usize;
                match e.kind {
                    ExtentKind::Data => dev.read_exact_at(e.device_offset + done, &mut buf[..n])?,
                    ExtentKind::Zero => buf[..n].fill(0),
                    ExtentKind::Opaque => {
                        fs.read(id, e.file_offset + done, &mut buf[..n])?;
                    }
                }
                out.write_all(&buf[..n])?;
                done += n as u64;
            }
            pos = e.file_offset + e.length;
        }
    }
    Ok(())
}
