//! Replays every input the `ufs_dirblock` fuzz target crashed on
//! (`fixtures/regressions/ufs_dirblock/`) and its committed seeds (real
//! directory blocks from the fixtures) through the code the target runs
//! (`fuzz/src/ufs_inner_case.rs`): each must end without a panic, and the
//! seeds must parse.

#[path = "../../../fuzz/src/ufs_inner_case.rs"]
mod ufs_inner_case;

#[test]
fn ufs_dirblock_regressions() {
    let seeds = fsimage_testkit::replay_fuzz_inputs("ufs_dirblock", ufs_inner_case::dirblock);
    assert!(!seeds.is_empty(), "no seeds");
    // Real directories parse, with names.
    for f in &seeds {
        let data = std::fs::read(f).expect("read seed");
        let recs = fsimage_plugin_ufs::fuzzing::dir_blocks(&data, 1 << 16)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            recs.iter().any(|r| r.3 == b".."),
            "{}: no '..'",
            f.display()
        );
    }
}
