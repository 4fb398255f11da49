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

use fsimage_testkit::replay_fuzz_inputs;

#[test]
fn zfs_image_inputs() {
    let seeds = replay_fuzz_inputs("zfs_image", |d| {
        zfs_case::run(d, &walk::Budget::FUZZ);
    });
    assert!(!seeds.is_empty(), "no zfs_image seeds");
    // The seeds are real pools: they mount and list their root.
    for p in seeds {
        let data = std::fs::read(&p).unwrap();
        let o = zfs_case::run(&data, &walk::Budget::FUZZ)
            .unwrap_or_else(|| panic!("{}: does not mount", p.display()));
        assert!(o.dirs > 0, "{}: {o:?}", p.display());
    }
}

#[test]
fn zfs_nvlist_inputs() {
    assert!(!replay_fuzz_inputs("zfs_nvlist", zfs_inner_case::nvlist).is_empty());
}

#[test]
fn zfs_zap_inputs() {
    let seeds = replay_fuzz_inputs("zfs_zap", zfs_inner_case::zap);
    assert!(!seeds.is_empty(), "no zfs_zap seeds");
    // Seeds are real directories: they list entries.
    for p in seeds {
        let data = std::fs::read(&p).unwrap();
        let v = fsimage_plugin_zfs::zap::fuzz_zap(&data).unwrap();
        assert!(!v.is_empty(), "{}", p.display());
    }
}

#[test]
fn zfs_decompress_inputs() {
    assert!(!replay_fuzz_inputs("zfs_decompress", zfs_inner_case::decompress).is_empty());
}
