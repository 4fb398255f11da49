//! The ext2/3/4 plugin over a whole image: see `fsimage_fuzz::ext2_case`.
#![no_main]

use fsimage_fuzz::walk::Budget;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fsimage_fuzz::ext2_case::run(data, &Budget::FUZZ);
});
