//! See `fsimage_fuzz::disk_cases::mbr`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fsimage_fuzz::disk_cases::mbr(data));
