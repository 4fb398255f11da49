//! Replays every input the ZFS fuzz targets crashed on
//! (`fixtures/regressions/zfs_*/`) and their committed seeds
//! (`fuzz/seeds/zfs_*/`) through the very code the targets run
//! (`fuzz/src/zfs_case.rs`, `fuzz/src/zfs_inner_case.rs`): each must end in
//! Ok or a clean Err, without a panic.

#[path = "../../../fuzz/src/sparse.rs"]
#[allow(dead_code)]
mod sparse;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;
#[path = "../../../fuzz/src/zfs_case.rs"]
mod zfs_case;
#[path = "../../../fuzz/src/zfs_inner_case.rs"]
mod zfs_inner_case;

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

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = fsimage_testkit::fixtures_dir();
    let mut v = files_in(&root.join("regressions").join(target));
    v.extend(files_in(&root.join("../fuzz/seeds").join(target)));
    v
}

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let files = inputs(target);
    for p in &files {
        let data = std::fs::read(p).expect("read input");
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{}: panicked", p.display());
    }
    files.len()
}

#[test]
fn zfs_image_inputs() {
    let n = replay("zfs_image", |d| {
        zfs_case::run(d, &walk::Budget::FUZZ);
    });
    assert!(n > 0, "no zfs_image seeds");
    // The seeds are real pools: they mount and list their root.
    for p in files_in(&fsimage_testkit::fixtures_dir().join("../fuzz/seeds/zfs_image")) {
        let data = std::fs::read(&p).unwrap();
        let o = zfs_case::run(&data, &walk::Budget::FUZZ)
            .unwrap_or_else(|| panic!("{}: does not mount", p.display()));
        assert!(o.dirs > 0, "{}: {o:?}", p.display());
    }
}

#[test]
fn zfs_nvlist_inputs() {
    assert!(replay("zfs_nvlist", zfs_inner_case::nvlist) > 0);
}

#[test]
fn zfs_zap_inputs() {
    assert!(replay("zfs_zap", zfs_inner_case::zap) > 0);
    // Seeds are real directories: they list entries.
    for p in files_in(&fsimage_testkit::fixtures_dir().join("../fuzz/seeds/zfs_zap")) {
        let data = std::fs::read(&p).unwrap();
        let v = fsimage_plugin_zfs::zap::fuzz_zap(&data).unwrap();
        assert!(!v.is_empty(), "{}", p.display());
    }
}

#[test]
fn zfs_decompress_inputs() {
    assert!(replay("zfs_decompress", zfs_inner_case::decompress) > 0);
}
