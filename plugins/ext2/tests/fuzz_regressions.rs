//! Replays every input the `ext2_image` fuzz target ever crashed on
//! (`fixtures/regressions/ext2_image/`) through the very code the target
//! runs (`fuzz/src/ext2_case.rs`): probe, mount, bounded walk. Each must end
//! in Ok or a clean Err, without a panic.

#[path = "../../../fuzz/src/ext2_case.rs"]
mod ext2_case;
#[path = "../../../fuzz/src/sparse.rs"]
#[allow(dead_code)]
mod sparse;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = fsimage_testkit::fixtures_dir()
        .join("regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    files
}

#[test]
fn ext2_image_regressions() {
    let files = corpus("ext2_image");
    assert!(!files.is_empty(), "no regression inputs");
    for f in files {
        let data = std::fs::read(&f).expect("read regression input");
        let r = std::panic::catch_unwind(|| ext2_case::run(&data, &walk::Budget::FUZZ));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
}
