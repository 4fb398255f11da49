//! The sandbox host's decoders of worker messages: see
//! `fsimage_fuzz::sandbox_case`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fsimage_fuzz::sandbox_case::run(data));
