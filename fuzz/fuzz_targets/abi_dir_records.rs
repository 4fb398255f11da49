//! The ABI's directory record decoder (the core decodes what a plugin, or a
//! sandboxed worker, packed): never panics, and decode . encode . decode is
//! decode.
#![no_main]

use fsimage_abi::{DirSink, sdk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = sdk::decode_dir_records(data) else {
        return;
    };
    let mut buf = vec![0u8; data.len()];
    let mut sink = sdk::BufferDirSink::new(&mut buf);
    for (i, e) in entries.iter().enumerate() {
        assert!(
            sink.push(i as u64, e.id, e.kind, &e.name),
            "re-encoding overflows"
        );
    }
    let used = sink.used();
    assert_eq!(used, data.len(), "re-encoded length differs");
    let again = sdk::decode_dir_records(&buf[..used]).expect("re-encoded records decode");
    assert_eq!(again, entries);
});
