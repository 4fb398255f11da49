//! The ext2/3/4 plugin over a whole image: see `src/ext2_case.rs`.
#![no_main]

use fsimage_fuzz::walk::Budget;
// ext2_case.rs names its siblings `super::sparse` and `super::walk`.
use fsimage_fuzz::{sparse, walk};

#[path = "../src/ext2_case.rs"]
mod ext2_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ext2_case::run(data, &Budget::FUZZ);
});
