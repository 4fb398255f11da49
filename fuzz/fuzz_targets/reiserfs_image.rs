//! The ReiserFS plugin over a whole image: see `src/reiserfs_case.rs`.
#![no_main]

use fsimage_fuzz::walk::Budget;
// reiserfs_case.rs names its siblings `super::sparse` and `super::walk`.
use fsimage_fuzz::{sparse, walk};

#[allow(dead_code)] // the sibling target's function
#[path = "../src/reiserfs_case.rs"]
mod reiserfs_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reiserfs_case::image(data, &Budget::FUZZ);
});
