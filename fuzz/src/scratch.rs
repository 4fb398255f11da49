//! A scratch copy of an image on disk that gauntlet cases patch with a
//! [`Mutated`] image and then restore, so a case costs its patches rather
//! than a copy of the image (the pipeline and held-out gauntlets open
//! images by path). Included by `#[path]`, next to `mutate.rs`.

use super::mutate::Mutated;
use fsimage_abi::ReadAt;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// A scratch copy of a fixture that cases patch and then restore, so a case
/// costs its patches rather than a copy of the image.
pub struct Scratch {
    /// The scratch image file.
    pub path: PathBuf,
    file: std::fs::File,
    base: Arc<Vec<u8>>,
}

impl Scratch {
    pub fn new(base: &Arc<Vec<u8>>, tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "fsimage-gauntlet-{}-{}.img",
            std::process::id(),
            tag.replace('/', "_")
        ));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("scratch image");
        file.write_all(base).expect("write scratch image");
        Scratch {
            path,
            file,
            base: base.clone(),
        }
    }

    fn write_at(&mut self, off: u64, b: &[u8]) {
        self.file.seek(SeekFrom::Start(off)).expect("seek");
        self.file.write_all(b).expect("write");
    }

    /// Writes the mutated image; returns how to undo it.
    pub fn apply(&mut self, m: &Mutated) -> (Vec<(u64, u64)>, u64) {
        let mut touched = Vec::new();
        for (off, bytes) in m.patches() {
            self.write_at(*off, bytes);
            touched.push((*off, bytes.len() as u64));
        }
        let size = m.size();
        if size < self.base.len() as u64 {
            self.file.set_len(size).expect("truncate");
        }
        (touched, size)
    }

    pub fn restore(&mut self, (touched, size): (Vec<(u64, u64)>, u64)) {
        let full = self.base.len() as u64;
        if size < full {
            self.file.set_len(full).expect("extend");
            // The cut-off tail comes back as zeros: rewrite what was not.
            let base = self.base.clone();
            let mut off = size;
            while off < full {
                let end = (off + (64 << 10) - off % (64 << 10)).min(full);
                let chunk = &base[off as usize..end as usize];
                if chunk.iter().any(|&b| b != 0) {
                    self.write_at(off, chunk);
                }
                off = end;
            }
        }
        let base = self.base.clone();
        for (off, len) in touched {
            let end = (off + len).min(size);
            if off < end {
                self.write_at(off, &base[off as usize..end as usize]);
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
