//! Root choice over any table: `disk::parse` then `disk::choose_root`, with
//! the ext2 plugin's real probe on each candidate (over the candidate's
//! first 64 KiB). Checksums of sparse inputs with flag bit 0 are fixed.
#![no_main]

use fsimage::disk;
use fsimage_abi::{Device, Filesystem, ReadAt};
use fsimage_fuzz::{FLAG_FIX_CHECKSUMS, SparseImage};
use fsimage_plugin_ext2::Ext2Fs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut img = SparseImage::from_input(data);
    if img.flags & FLAG_FIX_CHECKSUMS != 0 {
        fsimage_fuzz::fix_gpt(&mut img);
        fsimage_fuzz::fix_sun(&mut img);
    }
    let Ok(layout) = disk::parse(&img) else {
        return;
    };
    fsimage_fuzz::check_layout(&layout);
    let mut probe = |w: &dyn ReadAt| -> Option<String> {
        let n = w.size().min(64 << 10);
        let head = w.read_vec_at(0, n as usize).ok()?;
        let dev = Device::new(head);
        match Ext2Fs::probe(&[dev]) {
            Ok(c) if c > 0 => Some("ext2".to_owned()),
            _ => None,
        }
    };
    if let Ok(choice) = disk::choose_root(&img, &layout, &mut probe) {
        let p = &choice.partition;
        assert!(p.is_valid(), "root choice picked an invalid partition: {p:?}");
        assert!(!p.ptype.is_extended(), "root choice picked an extended container");
        assert!(choice.window(&img).is_ok(), "root choice's window fails: {p:?}");
    }
});
