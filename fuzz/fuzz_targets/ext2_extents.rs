//! See `src/ext2_inner_case.rs` (`extents`).
#![no_main]

#[allow(dead_code)] // the sibling targets' functions
#[path = "../src/ext2_inner_case.rs"]
mod ext2_inner_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ext2_inner_case::extents(data);
});
