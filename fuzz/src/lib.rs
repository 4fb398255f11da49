//! Shared pieces of the fsimage fuzz targets: the input format (raw bytes or
//! a sparse image), checksum fix-ups that let mutations get past CRCs, and
//! the bounded tree walk every filesystem target runs.
//!
//! # Input format
//!
//! A raw input is the image itself. An input that starts with `SPRS` is a
//! sparse image, so a seed can keep a disk's or filesystem's metadata at its
//! real offsets without megabytes of zeros:
//!
//! ```text
//! "SPRS" | flags: u32 LE | size: u64 LE | { offset: u64 LE | len: u32 LE | bytes[len] }*
//! ```
//!
//! Bytes outside every chunk read as zeros; later chunks win where they
//! overlap; a truncated last chunk keeps what is there. `size` is capped at
//! [`MAX_VIRTUAL_SIZE`]. `flags` bit 0 asks the target to fix checksums up
//! (GPT CRC32s, the Sun label XOR) before parsing, so mutations reach the
//! code behind the checksum; other bits are target-specific.

//!
//! The code each target runs lives in [`disk_cases`], [`fs_case`],
//! [`sandbox_case`] and `ext2_case.rs` (included by its target: a binary may
//! link only one plugin, as each exports the same entry symbol), which
//! the regression tests of the main workspace include by `#[path]` and run
//! over every file of `fixtures/regressions/<target>/`.

#![forbid(unsafe_code)]

pub mod disk_cases;
pub mod fixups;
pub mod fs_case;
pub mod sandbox_case;
pub mod sparse;
pub mod walk;

pub use fixups::{fix_gpt, fix_sun};
pub use sparse::{FLAG_FIX_CHECKSUMS, MAX_VIRTUAL_SIZE, SPARSE_MAGIC, SparseImage};
