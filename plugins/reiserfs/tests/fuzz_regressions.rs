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

use fsimage_testkit::replay_fuzz_inputs;

#[test]
fn reiserfs_image_inputs() {
    let seeds = replay_fuzz_inputs("reiserfs_image", |d| {
        reiserfs_case::image(d, &walk::Budget::FUZZ);
    });
    assert!(!seeds.is_empty(), "no reiserfs_image seeds");
    for p in seeds {
        let data = std::fs::read(&p).unwrap();
        let o = reiserfs_case::image(&data, &walk::Budget::FUZZ)
            .unwrap_or_else(|| panic!("{}: does not mount", p.display()));
        assert!(o.dirs >= 1, "{}: {o:?}", p.display());
    }
}

#[test]
fn reiserfs_leaf_inputs() {
    let seeds = replay_fuzz_inputs("reiserfs_leaf", |d| {
        reiserfs_case::leaf(d);
    });
    assert!(!seeds.is_empty(), "no reiserfs_leaf seeds");
    for p in seeds {
        let data = std::fs::read(&p).unwrap();
        let items =
            reiserfs_case::leaf(&data).unwrap_or_else(|| panic!("{}: does not parse", p.display()));
        assert!(items >= 1, "{}", p.display());
    }
}
