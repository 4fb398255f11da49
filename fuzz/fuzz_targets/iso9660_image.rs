//! The iso9660 plugin over a whole image: see `fsimage_fuzz::fs_case`.
#![no_main]

use fsimage_fuzz::walk::Budget;
use fsimage_plugin_iso9660::Iso9660Fs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fsimage_fuzz::fs_case::run::<Iso9660Fs>(data, b"", &Budget::FUZZ);
});
