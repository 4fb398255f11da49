//! What the ext2 inner-parser targets (`ext2_extents`, `ext2_htree`,
//! `ext2_dirblock`) do with one input, in the format of
//! `fsimage_plugin_ext2::fuzzing` (flags, seeds, one inode, then blocks).
//! Included by the targets and by `plugins/ext2/tests/fuzz_regressions.rs`.
//!
//! Besides "no panic", each checks what callers rely on: maps are gap-free
//! runs inside the filesystem, listed names are usable path components, a
//! listing resumed at an entry's cookie starts with that entry.

use fsimage_plugin_ext2::fuzzing::{self, Case, Run};

/// Runs collected per walk (a hostile tree can have many).
const MAX_RUNS: usize = 1 << 16;
/// Entries collected per listing.
const MAX_ENTRIES: usize = 512;
/// Names of each leaf looked up again.
const MAX_FINDS: usize = 8;
/// Device blocks tried as directory leaves.
const MAX_LEAVES: u64 = 64;

fn check_runs(c: &Case, runs: &[Run], start: u64, end: u64) {
    let mut cur = start;
    for r in runs {
        assert_eq!(r.lblk, cur, "runs leave a gap or overlap: {runs:?}");
        assert!(r.len > 0, "empty run: {r:?}");
        cur = r.lblk.checked_add(r.len).expect("run end overflows");
        assert!(cur <= end, "run {r:?} past the end {end}");
        if let Some(p) = r.pblk {
            let e = p.checked_add(r.len).expect("physical end overflows");
            assert!(
                p > 0 && e <= c.blocks(),
                "run {r:?} outside {} blocks",
                c.blocks()
            );
        }
    }
    if runs.len() < MAX_RUNS {
        assert_eq!(cur, end, "runs stop short: {runs:?}");
    }
}

fn check_name(name: &[u8]) {
    assert!(
        !name.is_empty() && !name.contains(&b'/') && !name.contains(&0),
        "unusable name {name:?}"
    );
}

/// The extent tree (or block map) walk: whole file, from the middle, one block.
pub fn extents(data: &[u8]) {
    let Ok(c) = fuzzing::case(data, fuzzing::EXTENTS_FL) else {
        return;
    };
    let n = c.size_blocks().min(1 << 32);
    for start in [0, n / 2] {
        if let Ok(runs) = c.runs(start, n, MAX_RUNS) {
            check_runs(&c, &runs, start, n);
        }
    }
    if let Some(last) = n.checked_sub(1) {
        if let Ok(Some(p)) = c.block_of(last) {
            assert!(p > 0 && p < c.blocks(), "block {p} outside the filesystem");
        }
    }
}

/// Name hashes of every version, then htree lookups of every listed name
/// and of one that is not there.
pub fn htree(data: &[u8]) {
    let Ok(c) = fuzzing::case(data, fuzzing::INDEX_FL) else {
        return;
    };
    let seed = c.hash_seed();
    let mut names: Vec<Vec<u8>> = c
        .entries(0, 64)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.2)
        .collect();
    names.push(b"no-such-name".to_vec());
    for name in &names {
        for v in 0..=6u8 {
            let h = fuzzing::name_hash(name, v, &seed);
            assert_eq!(h.is_some(), v <= 5, "hash version {v}");
            assert_eq!(h.unwrap_or(0) & 1, 0, "hash low bit set");
        }
        if let Ok(Some(Some(ino))) = c.htree_lookup(name) {
            assert_ne!(ino, 0, "htree found a deleted entry");
        }
    }
}

/// Every device block as a leaf, then the directory streamed and resumed.
pub fn dirblock(data: &[u8]) {
    let Ok(c) = fuzzing::case(data, 0) else {
        return;
    };
    for pblk in 1..c.blocks().min(MAX_LEAVES) {
        let Ok(es) = c.leaf(pblk, pblk - 1, 0) else {
            continue;
        };
        for (ino, _, name) in &es {
            check_name(name);
            assert_ne!(*ino, 0, "deleted entry listed");
        }
        // Lookups scan the block again: a few names, not all (quadratic).
        for (_, _, name) in es.iter().take(MAX_FINDS).chain(es.last()) {
            let found = c.find_in_leaf(pblk, name);
            assert!(
                matches!(found, Ok(Some(_))),
                "listed {name:?} not found: {found:?}"
            );
        }
    }
    let Ok(es) = c.entries(0, MAX_ENTRIES) else {
        return;
    };
    for (_, ino, name) in &es {
        check_name(name);
        assert_ne!(*ino, 0, "deleted entry listed");
    }
    for w in es.windows(2) {
        assert!(
            w[0].0 < w[1].0,
            "cookies not increasing: {} then {}",
            w[0].0,
            w[1].0
        );
    }
    for (cookie, ino, name) in es.iter().take(8) {
        let again = c.entries(*cookie, 1);
        let first = again.as_ref().ok().and_then(|v| v.first());
        assert_eq!(
            first,
            Some(&(*cookie, *ino, name.clone())),
            "listing resumed at {cookie} does not start with {name:?}"
        );
    }
}
