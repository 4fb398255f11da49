//! Replays every input the `ufs_dirblock` fuzz target crashed on
//! (`fixtures/regressions/ufs_dirblock/`) and its committed seeds (real
//! directory blocks from the fixtures) through the code the target runs
//! (`fuzz/src/ufs_inner_case.rs`): each must end without a panic, and the
//! seeds must parse.

#[path = "../../../fuzz/src/ufs_inner_case.rs"]
mod ufs_inner_case;

use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    files
}

#[test]
fn ufs_dirblock_regressions() {
    let root = fsimage_testkit::fixtures_dir();
    let seeds = files_in(&root.join("../fuzz/seeds/ufs_dirblock"));
    assert!(!seeds.is_empty(), "no seeds");
    for f in files_in(&root.join("regressions/ufs_dirblock"))
        .iter()
        .chain(&seeds)
    {
        let data = std::fs::read(f).expect("read input");
        let r = std::panic::catch_unwind(|| ufs_inner_case::dirblock(&data));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
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
