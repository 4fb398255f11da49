//! The corrupt-image gauntlet for the ReiserFS plugin: for every committed ReiserFS
//! fixture, seeded deterministic mutations of its metadata (the shared
//! `fuzz/src` mutator: bit flips, extreme integers, overwritten and
//! duplicated sectors, truncation), then probe, mount and a bounded walk
//! through the plugin's `Filesystem` API. Each case must end in Ok or a
//! clean Err: a panic, a case over its time bound or a case holding more than
//! its memory bound fails the test, naming the seed.
//!
//! Metadata = the non-zero 1 KiB blocks no regular file's extent map claims
//! (superblock, bitmaps, journal, tree nodes); the superblock gets extra
//! attention. Odd seeds mount with `journal=replay`, after rewinding the
//! journal header so that the log's transactions are replayed (and their
//! mutations reach the tree).
//!
//! `FSIMAGE_GAUNTLET_CASES=N` sets the cases per fixture;
//! `FSIMAGE_GAUNTLET_SEED=S` replays one case of every fixture.

#[path = "../../../fuzz/src/plugin_gauntlet.rs"]
mod plugin_gauntlet;

use fsimage_plugin_reiserfs::ReiserFs;
use plugin_gauntlet::Gauntlet;

/// Both committed fixtures (tails and notail).
const FIXTURES: [&str; 2] = ["reiserfs/reiserfs36", "reiserfs/reiserfs36-notail"];

fn gauntlet(part: usize, parts: usize) {
    Gauntlet::<ReiserFs> {
        fixtures: FIXTURES.map(String::from).to_vec(),
        cases: 100,
        // The superblock (at 64 KiB) and the journal header (block 18 + 512).
        hot: &[(65536, 204), (530 * 4096, 12)],
        prepare: |_, seed, img| {
            if seed & 1 == 0 {
                return b"";
            }
            // j_last_flush_trans_id 9, j_first_unflushed_offset 0, j_mount_id
            // 10: the fixtures' log holds transactions 10..15 of mount 10.
            let mut h = [0u8; 12];
            h[..4].copy_from_slice(&9u32.to_le_bytes());
            h[8..].copy_from_slice(&10u32.to_le_bytes());
            img.put(530 * 4096, &h);
            b"journal=replay"
        },
        ..Gauntlet::usual()
    }
    .run(part, parts);
}

#[test]
fn gauntlet_part_0() {
    gauntlet(0, 2);
}

#[test]
fn gauntlet_part_1() {
    gauntlet(1, 2);
}
