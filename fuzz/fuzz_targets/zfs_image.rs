//! The ZFS plugin over a whole pool image: see `src/zfs_case.rs`.
#![no_main]

use fsimage_fuzz::walk::Budget;
// zfs_case.rs names its siblings `super::sparse` and `super::walk`.
use fsimage_fuzz::{sparse, walk};

#[path = "../src/zfs_case.rs"]
mod zfs_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zfs_case::run(data, &Budget::FUZZ);
});
