//! Helpers shared by the ReiserFS plugin's integration tests (the generic ones
//! live in `fsimage_testkit::plugin`).
#![allow(dead_code, unused_imports)]

use fsimage_abi::{Filesystem, Result};
use fsimage_plugin_reiserfs::ReiserFs;
use fsimage_testkit::Entry;
use fsimage_testkit::plugin::{self, WalkOpts};
pub use fsimage_testkit::plugin::{Collect, Counting, Extents, file_dev, image_bytes, list};
use std::path::Path;

pub fn mount(name: &str) -> Result<ReiserFs> {
    plugin::mount(name, "")
}

pub fn mount_bytes(bytes: Vec<u8>) -> Result<ReiserFs> {
    plugin::mount_bytes(bytes, "")
}

/// What the walks check: inode numbers are the ids, neighbouring extents
/// are merged, `..` leads to the parent.
fn opts(chunk: usize) -> WalkOpts {
    WalkOpts {
        chunk,
        merged_extents: true,
        ino_is_id: true,
        dotdot: true,
        ..WalkOpts::default()
    }
}

/// Mounts fixture `name` and checks the whole tree against its manifest.
pub fn check_fixture(name: &str, chunk: usize) {
    plugin::check_fixture::<ReiserFs>(name, "", opts(chunk));
}

/// Mounts the image at `path` and checks the whole tree against `want`.
pub fn check_image(path: &Path, want: Vec<Entry>, name: &str, chunk: usize) {
    plugin::check_image::<ReiserFs>(path, "", want, name, opts(chunk));
}

/// Raw access to a fixture's bytes for corruption tests: follows the tree
/// from the superblock's root (4 KiB blocks) the simple way.
pub mod raw {
    pub const BS: usize = 4096;
    pub const SB: usize = 65536;

    pub fn u16at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes([b[o], b[o + 1]])
    }
    pub fn u32at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    pub fn put16(b: &mut [u8], o: usize, v: u16) {
        b[o..o + 2].copy_from_slice(&v.to_le_bytes());
    }
    pub fn put32(b: &mut [u8], o: usize, v: u32) {
        b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub fn root(img: &[u8]) -> u32 {
        u32at(img, SB + 8)
    }

    /// One item head as found in a leaf.
    #[derive(Debug, Clone, Copy)]
    pub struct Item {
        pub blk: u32,
        pub idx: usize,
        /// Absolute byte offset of the item head.
        pub head: usize,
        pub dir: u32,
        pub obj: u32,
        pub offset: u64,
        pub ty: u8,
        pub count: u16,
        pub len: u16,
        pub loc: u16,
    }

    impl Item {
        /// Absolute byte offset of the body.
        pub fn body(&self) -> usize {
            self.blk as usize * BS + self.loc as usize
        }
        pub fn id(&self) -> u64 {
            (u64::from(self.dir) << 32) | u64::from(self.obj)
        }
    }

    /// (block, level) of every node, parents first.
    pub fn nodes(img: &[u8]) -> Vec<(u32, u16)> {
        let mut out = Vec::new();
        let mut stack = vec![root(img)];
        while let Some(b) = stack.pop() {
            let o = b as usize * BS;
            let level = u16at(img, o);
            out.push((b, level));
            if level > 1 {
                let n = u16at(img, o + 2) as usize;
                for i in (0..=n).rev() {
                    stack.push(u32at(img, o + 24 + n * 16 + i * 8));
                }
            }
        }
        out
    }

    pub fn items(img: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        for (blk, level) in nodes(img) {
            if level != 1 {
                continue;
            }
            let o = blk as usize * BS;
            let n = u16at(img, o + 2) as usize;
            for idx in 0..n {
                let h = o + 24 + idx * 24;
                let v = u64::from_le_bytes(img[h + 8..h + 16].try_into().unwrap());
                let v2 = u16at(img, h + 22) == 1;
                let (offset, ty) = if v2 {
                    (v & (u64::MAX >> 4), (v >> 60) as u8)
                } else {
                    let ty = match (v >> 32) as u32 {
                        0 => 0,
                        0xffff_fffe => 1,
                        0xffff_ffff => 2,
                        500 => 3,
                        _ => 15,
                    };
                    (v & 0xffff_ffff, ty)
                };
                out.push(Item {
                    blk,
                    idx,
                    head: h,
                    dir: u32at(img, h),
                    obj: u32at(img, h + 4),
                    offset,
                    ty,
                    count: u16at(img, h + 16),
                    len: u16at(img, h + 18),
                    loc: u16at(img, h + 20),
                });
            }
        }
        out
    }

    /// The first item of object `id` with type `ty`.
    pub fn item_of(img: &[u8], id: u64, ty: u8) -> Item {
        items(img)
            .into_iter()
            .find(|i| i.id() == id && i.ty == ty)
            .unwrap_or_else(|| panic!("no item of type {ty} for {id:#x}"))
    }
}

/// Checks an in-memory image mounted with `options` against `want`.
pub fn check_bytes(img: Vec<u8>, options: &str, want: Vec<Entry>, name: &str) {
    plugin::check_bytes::<ReiserFs>(img, options, want, name, opts(7));
}
