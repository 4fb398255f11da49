//! Replays every input the `ext2_image` fuzz target ever crashed on
//! (`fixtures/regressions/ext2_image/`) through the very code the target
//! runs (`fuzz/src/ext2_case.rs`): probe, mount, bounded walk. Each must end
//! in Ok or a clean Err, without a panic. The same for the inner-parser
//! targets (`ext2_extents`, `ext2_htree`, `ext2_dirblock`,
//! `fuzz/src/ext2_inner_case.rs`), whose committed seeds (real structures
//! from the fixtures) are replayed too and must parse.

#[path = "../../../fuzz/src/ext2_case.rs"]
mod ext2_case;
#[path = "../../../fuzz/src/ext2_inner_case.rs"]
mod ext2_inner_case;
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

/// Files of `dir`, sorted; none if it does not exist.
fn files_in(dir: &std::path::Path) -> Vec<PathBuf> {
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
    let root = fsimage_testkit::fixtures_dir();
    files_in(&root.join("../fuzz/seeds").join(target))
}

/// Replays the regression inputs and the seeds of an inner target; returns
/// how many seeds there were.
fn replay_inner(target: &str, run: fn(&[u8])) -> usize {
    let root = fsimage_testkit::fixtures_dir();
    let seeds = seeds(target);
    for f in files_in(&root.join("regressions").join(target))
        .iter()
        .chain(&seeds)
    {
        let data = std::fs::read(f).expect("read input");
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
    seeds.len()
}

use fsimage_plugin_ext2::fuzzing;

fn seed_cases(target: &str, force: u32) -> Vec<(PathBuf, fuzzing::Case)> {
    seeds(target)
        .into_iter()
        .map(|f| {
            let data = std::fs::read(&f).expect("read seed");
            let c = fuzzing::case(&data, force).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f, c)
        })
        .collect()
}

#[test]
fn ext2_extents_regressions() {
    assert!(replay_inner("ext2_extents", ext2_inner_case::extents) > 0);
    // The seeds' real trees map every block of their files.
    for (f, c) in seed_cases("ext2_extents", fuzzing::EXTENTS_FL) {
        let n = c.size_blocks();
        let runs = c
            .runs(0, n, 1 << 20)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            runs.iter().any(|r| r.pblk.is_some()),
            "{}: no data",
            f.display()
        );
        assert_eq!(
            runs.last().map(|r| r.lblk + r.len),
            Some(n),
            "{}",
            f.display()
        );
    }
}

#[test]
fn ext2_htree_regressions() {
    assert!(replay_inner("ext2_htree", ext2_inner_case::htree) > 0);
    // The seeds' real htrees find every listed name (checksums verified
    // where the image has them).
    for (f, c) in seed_cases("ext2_htree", fuzzing::INDEX_FL) {
        let es = c
            .entries(0, 1 << 20)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(es.len() > 1000, "{}: {} entries", f.display(), es.len());
        for (_, ino, name) in es.iter().step_by(97) {
            if name == b"." || name == b".." {
                continue;
            }
            let r = c.htree_lookup(name);
            // Casefolded non-ASCII names are scanned (Ok(None)).
            let scanned = !name.is_ascii() && matches!(r, Ok(None));
            assert!(
                scanned || matches!(r, Ok(Some(Some(i))) if i == *ino),
                "{}: {:?}: {r:?}",
                f.display(),
                String::from_utf8_lossy(name)
            );
        }
        assert!(matches!(c.htree_lookup(b"no-such-name"), Ok(Some(None))));
    }
}

#[test]
fn ext2_dirblock_regressions() {
    assert!(replay_inner("ext2_dirblock", ext2_inner_case::dirblock) > 0);
    for (f, c) in seed_cases("ext2_dirblock", 0) {
        let es = c
            .entries(0, 1 << 20)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(es.len() > 2, "{}: {} entries", f.display(), es.len());
    }
}
