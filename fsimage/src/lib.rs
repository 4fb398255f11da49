//! fsimage: read files out of untrusted disk and filesystem images.
//!
//! ```no_run
//! let fs = fsimage::OpenOptions::new().open("guest.img")?;
//! let menu = fs.read("/boot/grub/grub.cfg")?;
//! for entry in fs.read_dir("/boot")? {
//!     let entry = entry?;
//!     println!("{}", String::from_utf8_lossy(entry.name()));
//! }
//! # Ok::<(), fsimage::Error>(())
//! ```

pub mod capi;
mod choose;
pub mod disk;
pub mod error;
pub mod fs;
pub mod image;
mod open;
pub mod plugin;
pub mod sandbox;

pub use error::{Error, ErrorKind, Result};
pub use fs::{DirEntry, File, Filesystem, Metadata, ReadDir};
pub use fsimage_abi::{self as abi, FileKind, ReadAt, Timespec, io::Window};
pub use image::FileImage;
pub use open::{OpenOptions, PartitionReport};
