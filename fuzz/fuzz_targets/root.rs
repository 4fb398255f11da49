//! Root choice (`fsimage_fuzz::disk_cases::root`) with the ext2 plugin's
//! real probe on each candidate's first 64 KiB.
#![no_main]

use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_plugin_ext2::Ext2Fs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut probe = |w: &dyn ReadAt| -> Option<String> {
        let n = w.size().min(64 << 10);
        let head = w.read_vec_at(0, n as usize).ok()?;
        match Ext2Fs::probe(&[Device::new(head)]) {
            Ok(c) if c > 0 => Some("ext2".to_owned()),
            _ => None,
        }
    };
    fsimage_fuzz::disk_cases::root(data, &mut probe);
});
