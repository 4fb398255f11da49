//! The ufs plugin over a whole image: see `fsimage_fuzz::fs_case`.
#![no_main]

use fsimage_fuzz::walk::Budget;
use fsimage_plugin_ufs::UfsFs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fsimage_fuzz::fs_case::run::<UfsFs>(data, b"", &Budget::FUZZ);
});
