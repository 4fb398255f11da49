//! See `src/ufs_inner_case.rs` (`dirblock`).
#![no_main]

#[allow(dead_code)] // the sibling targets' functions
#[path = "../src/ufs_inner_case.rs"]
mod ufs_inner_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ufs_inner_case::dirblock(data);
});
