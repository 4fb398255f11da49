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

use fsimage_testkit::{fuzz_regressions, fuzz_seeds, replay_fuzz_inputs};
use std::path::PathBuf;

#[test]
fn ext2_image_regressions() {
    let files = fuzz_regressions("ext2_image");
    assert!(!files.is_empty(), "no regression inputs");
    for f in files {
        let data = std::fs::read(&f).expect("read regression input");
        let r = std::panic::catch_unwind(|| ext2_case::run(&data, &walk::Budget::FUZZ));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
}

use fsimage_plugin_ext2::fuzzing;

fn seed_cases(target: &str, force: u32) -> Vec<(PathBuf, fuzzing::Case)> {
    fuzz_seeds(target)
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
    assert!(!replay_fuzz_inputs("ext2_extents", ext2_inner_case::extents).is_empty());
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
    assert!(!replay_fuzz_inputs("ext2_htree", ext2_inner_case::htree).is_empty());
    // The seeds' real htrees find every listed name (checksums verified
    // where the image has them).
    for (f, c) in seed_cases("ext2_htree", fuzzing::INDEX_FL) {
        let es = c
            .entries(0, 1 << 20)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // (The kernel's three-level htree, cut to one descent, keeps few.)
        assert!(es.len() > 2, "{}: {} entries", f.display(), es.len());
        for (_, ino, name) in es.iter().step_by(es.len() / 50 + 1) {
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
        // A seed cut to one descent has holes where other names hash to.
        if !f.to_string_lossy().ends_with("-cut") {
            assert!(matches!(c.htree_lookup(b"no-such-name"), Ok(Some(None))));
        }
    }
}

#[test]
fn ext2_dirblock_regressions() {
    assert!(!replay_fuzz_inputs("ext2_dirblock", ext2_inner_case::dirblock).is_empty());
    for (f, c) in seed_cases("ext2_dirblock", 0) {
        let es = c
            .entries(0, 1 << 20)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(es.len() > 2, "{}: {} entries", f.display(), es.len());
    }
}

/// A hostile htree whose every index entry continues one hash (low bit
/// set) over a huge sparse directory: the lookup stops at
/// MAX_HTREE_LEAF_CHAIN leaves instead of scanning the whole directory.
#[test]
fn htree_leaf_chain_is_bounded() {
    let mut d = std::fs::read(
        fuzz_seeds("ext2_htree")
            .into_iter()
            .find(|p| p.ends_with("ext4-1k-htree_many"))
            .expect("ext4-1k-htree seed"),
    )
    .expect("read seed");
    let (h, bs) = (fuzzing::HEADER, 1024usize);
    let put16 = |d: &mut Vec<u8>, o: usize, v: u16| d[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |d: &mut Vec<u8>, o: usize, v: u32| d[o..o + 4].copy_from_slice(&v.to_le_bytes());
    // Checksums off (the index is rewritten); 2^21 blocks; a 1 GiB directory
    // whose blocks past the real ones are holes.
    d[0] &= !4;
    put32(&mut d, 9, 1 << 21);
    put32(&mut d, 29 + 4, 1 << 30);
    let c = fuzzing::case(&d, fuzzing::INDEX_FL).expect("case");
    let name = b"not-in-this-directory";
    let hash = fuzzing::name_hash(name, 1, &c.hash_seed()).expect("half_md4");
    assert_eq!(c.htree_lookup(name).expect("lookup"), Some(None));
    // Root (entries at 32) and its index node (at 8): every entry after the
    // first carries hash | 1, "continues the previous hash".
    let root = h;
    let node_lblk = u32::from_le_bytes(d[root + 36..root + 40].try_into().unwrap()) as usize;
    let node = h + node_lblk * bs;
    for (at, limit) in [(root + 32, 123u16), (node + 8, 126)] {
        let first = u32::from_le_bytes(d[at + 4..at + 8].try_into().unwrap());
        put16(&mut d, at + 2, limit);
        for i in 1..usize::from(limit) {
            put32(&mut d, at + 8 * i, hash | 1);
            put32(&mut d, at + 8 * i + 4, first);
        }
    }
    let c = fuzzing::case(&d, fuzzing::INDEX_FL).expect("case");
    match c.htree_lookup(name) {
        Err(fsimage_abi::Error::Limit(m)) => assert!(m.contains("MAX_HTREE_LEAF_CHAIN"), "{m}"),
        other => panic!("expected the leaf chain limit, got {other:?}"),
    }
}
