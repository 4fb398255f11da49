//! ZFS nvlist parser: see `src/zfs_inner_case.rs`.
#![no_main]

#[path = "../src/zfs_inner_case.rs"]
mod zfs_inner_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zfs_inner_case::nvlist(data);
});
