//! What the `ufs_dirblock` target does with one input (format of
//! `fsimage_plugin_ufs::fuzzing::dir_blocks`). Included by the target and by
//! `plugins/ufs/tests/fuzz_regressions.rs`.

/// Records collected per input.
const MAX_RECORDS: usize = 4096;

/// Parses the blocks; listed records must be usable and in order.
pub fn dirblock(data: &[u8]) {
    let Ok(recs) = fsimage_plugin_ufs::fuzzing::dir_blocks(data, MAX_RECORDS) else {
        return;
    };
    let mut last: Option<u64> = None;
    for (at, ino, _, name) in &recs {
        assert!(
            !name.is_empty() && name.len() <= 255 && !name.contains(&b'/') && !name.contains(&0),
            "unusable name {name:?}"
        );
        assert_ne!(*ino, 0, "deleted entry listed");
        assert!(last < Some(*at), "positions not increasing at {at}");
        last = Some(*at);
    }
}
