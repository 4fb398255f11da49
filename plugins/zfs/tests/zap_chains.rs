//! Fat-ZAP array chains: each chunk of a leaf belongs to one chain, so a
//! chain that loops or borrows another entry's chunks (which would let a
//! small leaf decode to gigabytes) is refused. The ZAP is a real one
//! (a large directory of fuse-v23-full), edited in place.

use fsimage_abi::Error;
use fsimage_plugin_zfs::zap::fuzz_zap;

/// The fuzz seed: block-size byte, then the ZAP object's blocks.
fn zap() -> (Vec<u8>, usize) {
    let p = fsimage_testkit::workspace_root().join("fuzz/seeds/zfs_zap/fuse-v23-full-many.zap");
    let d = std::fs::read(p).unwrap();
    let bs = 512usize << (d[0] % 6);
    (d, bs)
}

/// Byte offset in the seed of chunk `c` of the first leaf (block 1).
fn chunk(bs: usize, c: usize) -> usize {
    let hash_ents = 1 << (bs.trailing_zeros() - 5);
    1 + bs + 48 + 2 * hash_ents + 24 * c
}

#[test]
fn chains_that_share_or_loop_are_refused() {
    let (d, bs) = zap();
    let n = fuzz_zap(&d).unwrap().len();
    assert!(n > 100, "{n} entries");
    // The leaf's first two entries, as the seed holds them.
    let (e1, e2) = (chunk(bs, 18), chunk(bs, 27));
    assert_eq!((d[e1], d[e2]), (252, 252), "entry chunks");
    let name_of = |d: &[u8], e: usize| u16::from_le_bytes([d[e + 4], d[e + 5]]);

    // The second entry's name chain borrows the first's.
    let mut shared = d.clone();
    let first_name = name_of(&d, e1);
    shared[e2 + 4..e2 + 6].copy_from_slice(&first_name.to_le_bytes());
    let err = fuzz_zap(&shared).unwrap_err();
    assert!(
        matches!(err, Error::Corrupt(_)) && err.to_string().contains("twice"),
        "{err}"
    );

    // The first entry's name chunk points to itself and claims 200 bytes.
    let mut looped = d.clone();
    let a = chunk(bs, usize::from(first_name));
    looped[a + 22..a + 24].copy_from_slice(&first_name.to_le_bytes()); // la_next
    looped[e1 + 6..e1 + 8].copy_from_slice(&200u16.to_le_bytes()); // le_name_numints
    let err = fuzz_zap(&looped).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}
