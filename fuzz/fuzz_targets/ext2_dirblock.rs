//! See `src/ext2_inner_case.rs` (`dirblock`).
#![no_main]

#[allow(dead_code)] // the sibling targets' functions
#[path = "../src/ext2_inner_case.rs"]
mod ext2_inner_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ext2_inner_case::dirblock(data);
});
