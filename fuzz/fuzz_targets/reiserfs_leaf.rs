//! The ReiserFS leaf node parser and item decoders over one block: see
//! `src/reiserfs_case.rs` (`leaf`).
#![no_main]

// reiserfs_case.rs names its siblings `super::sparse` and `super::walk`.
#[allow(unused_imports)]
use fsimage_fuzz::{sparse, walk};

#[allow(dead_code)] // the sibling target's function
#[path = "../src/reiserfs_case.rs"]
mod reiserfs_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reiserfs_case::leaf(data);
});
