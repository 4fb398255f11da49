//! Replays every input the ReiserFS fuzz targets crashed on
//! (`fixtures/regressions/reiserfs_*/`) and their committed seeds
//! (`fuzz/seeds/reiserfs_*/`) through the very code the targets run
//! (`fuzz/src/reiserfs_case.rs`): each must end in Ok or a clean Err,
//! without a panic. The seeds are real metadata, so they must also mount
//! (journal replay included) and parse.

#[path = "../../../fuzz/src/reiserfs_case.rs"]
mod reiserfs_case;
#[path = "../../../fuzz/src/sparse.rs"]
#[allow(dead_code)]
mod sparse;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

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

fn seeds(target: &str) -> Vec<PathBuf> {
    files_in(
        &fsimage_testkit::fixtures_dir()
            .join("../fuzz/seeds")
            .join(target),
    )
}

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let mut files = files_in(
        &fsimage_testkit::fixtures_dir()
            .join("regressions")
            .join(target),
    );
    files.extend(seeds(target));
    for p in &files {
        let data = std::fs::read(p).expect("read input");
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{}: panicked", p.display());
    }
    files.len()
}

#[test]
fn reiserfs_image_inputs() {
    let n = replay("reiserfs_image", |d| {
        reiserfs_case::image(d, &walk::Budget::FUZZ);
    });
    assert!(n > 0, "no reiserfs_image inputs");
    for p in seeds("reiserfs_image") {
        let data = std::fs::read(&p).unwrap();
        let o = reiserfs_case::image(&data, &walk::Budget::FUZZ)
            .unwrap_or_else(|| panic!("{}: does not mount", p.display()));
        assert!(o.dirs >= 1, "{}: {o:?}", p.display());
    }
}

#[test]
fn reiserfs_leaf_inputs() {
    let n = replay("reiserfs_leaf", |d| {
        reiserfs_case::leaf(d);
    });
    assert!(n > 0, "no reiserfs_leaf inputs");
    for p in seeds("reiserfs_leaf") {
        let data = std::fs::read(&p).unwrap();
        let items =
            reiserfs_case::leaf(&data).unwrap_or_else(|| panic!("{}: does not parse", p.display()));
        assert!(items >= 1, "{}", p.display());
    }
}
