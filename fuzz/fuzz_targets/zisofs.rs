//! See `src/iso9660_inner_case.rs` (`zisofs`).
#![no_main]

#[allow(dead_code)] // the sibling targets' functions
#[path = "../src/iso9660_inner_case.rs"]
mod iso9660_inner_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    iso9660_inner_case::zisofs(data);
});
