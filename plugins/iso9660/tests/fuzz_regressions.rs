//! Replays every input the `iso9660_susp` and `zisofs` fuzz targets crashed
//! on (`fixtures/regressions/<target>/`) and their committed seeds (real
//! system use areas and zisofs / zisofs2 files from the fixtures) through the code the
//! targets run (`fuzz/src/iso9660_inner_case.rs`): each must end without a
//! panic, and the seeds must parse.

#[path = "../../../fuzz/src/iso9660_inner_case.rs"]
mod iso9660_inner_case;

use fsimage_plugin_iso9660::fuzzing;
use std::path::PathBuf;

/// Replays a target's regression inputs and seeds; returns the seeds.
fn replay(target: &str, run: fn(&[u8])) -> Vec<PathBuf> {
    let seeds = fsimage_testkit::replay_fuzz_inputs(target, run);
    assert!(!seeds.is_empty(), "{target}: no seeds");
    seeds
}

#[test]
fn iso9660_susp_regressions() {
    for f in replay("iso9660_susp", iso9660_inner_case::susp) {
        let data = std::fs::read(&f).expect("read seed");
        fuzzing::susp(&data).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn zisofs_regressions() {
    for f in replay("zisofs", iso9660_inner_case::zisofs) {
        let data = std::fs::read(&f).expect("read seed");
        // z2-* seeds are zisofs2 files (`fuzzing::zisofs2` layout).
        let v2 = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("z2-"));
        let out = if v2 {
            fuzzing::zisofs2(&data, 1 << 20)
        } else {
            fuzzing::zisofs(&data, 1 << 20)
        }
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!out.is_empty(), "{}: nothing inflated", f.display());
    }
}
