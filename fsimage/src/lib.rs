//! fsimage: read files out of untrusted disk and filesystem images.

pub mod image;

pub use fsimage_abi::{self as abi, ReadAt, io::Window};
pub use image::FileImage;
