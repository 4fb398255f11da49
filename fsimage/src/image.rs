//! Image files opened read-only and read by position.

use fsimage_abi::{Error as AbiError, ReadAt, io::check_range};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A disk or filesystem image: a regular file or block device, opened
/// read-only, read with `pread` (no shared cursor, so it is `Sync`).
#[derive(Debug)]
pub struct FileImage {
    file: File,
    size: u64,
    path: PathBuf,
}

impl FileImage {
    /// Opens `path` read-only. Nothing ever opens an image for writing.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<FileImage> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let size = device_or_file_size(&file)?;
        Ok(FileImage {
            file,
            size,
            path: path.to_path_buf(),
        })
    }

    /// Wraps an already-open file (e.g. a descriptor a sandbox worker was handed).
    pub fn from_file(file: File, path: PathBuf) -> std::io::Result<FileImage> {
        let size = device_or_file_size(&file)?;
        Ok(FileImage { file, size, path })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Size of a regular file, or of a block device (whose metadata says 0).
fn device_or_file_size(file: &File) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    // Block devices: seeking to the end reports their size. `&File` implements
    // Seek; the cursor is never used for reads (they are positional).
    let mut f = file;
    let end = f.seek(SeekFrom::End(0))?;
    f.seek(SeekFrom::Start(0))?;
    Ok(end)
}

impl ReadAt for FileImage {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), AbiError> {
        check_range(offset, buf.len() as u64, self.size)?;
        self.file.read_exact_at(buf, offset).map_err(|e| {
            AbiError::Io(format!(
                "{}: read of {} bytes at {offset}: {e}",
                self.path.display(),
                buf.len()
            ))
        })
    }
}
