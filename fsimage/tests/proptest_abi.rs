//! Properties of the ABI's directory records (issue 7): the decoder never
//! panics on any bytes, and decodes exactly what `BufferDirSink` packed —
//! also when the buffer fills up part way.

use fsimage::abi::sdk::{self, BufferDirSink};
use fsimage::abi::{DirEntry, DirSink, FileKind};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = Vec<u8>> {
    // Any bytes but '/' and NUL, 1..=255 long: what a plugin may list.
    proptest::collection::vec(
        any::<u8>().prop_filter("no / or NUL", |b| *b != b'/' && *b != 0),
        1..=255,
    )
}

fn entry() -> impl Strategy<Value = DirEntry> {
    (any::<u64>(), 0u8..=7, name()).prop_map(|(id, k, name)| DirEntry {
        name,
        id,
        kind: FileKind::from_u8(k),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = sdk::decode_dir_records(&data);
    }

    #[test]
    fn decoder_round_trips_the_sink(entries in proptest::collection::vec(entry(), 0..40), cap in 0usize..6000) {
        let mut buf = vec![0u8; cap];
        let mut sink = BufferDirSink::new(&mut buf);
        let mut taken = 0;
        for (i, e) in entries.iter().enumerate() {
            if !sink.push(i as u64 + 100, e.id, e.kind, &e.name) {
                break;
            }
            taken += 1;
        }
        let (used, next, too_small) = (sink.used(), sink.next, sink.too_small);
        let decoded = sdk::decode_dir_records(&buf[..used]).expect("what the sink packed decodes");
        prop_assert_eq!(&decoded[..], &entries[..taken]);
        if taken < entries.len() {
            // The first entry not taken is where a later call resumes.
            prop_assert_eq!(next, Some(taken as u64 + 100));
            prop_assert_eq!(too_small.is_some(), taken == 0);
        } else {
            prop_assert_eq!(next, None);
        }
    }
}
