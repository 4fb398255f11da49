//! The corrupt-image gauntlet for the UFS plugin: for every committed UFS
//! fixture, seeded deterministic mutations of its metadata (the shared
//! `fuzz/src` mutator: bit flips, extreme integers, overwritten and
//! duplicated sectors, truncation), then probe, mount and a bounded walk
//! through the plugin's `Filesystem` API. Each case must end in Ok or a
//! clean Err: a panic, a case over its time bound or a case holding more than
//! its memory bound fails the test, naming the seed.
//!
//! Metadata = the non-zero 1 KiB blocks no regular file's extent map claims
//! (superblock, cylinder group, inodes, directories, indirect blocks); the
//! superblock gets extra attention.
//!
//! `FSIMAGE_GAUNTLET_CASES=N` sets the cases per fixture;
//! `FSIMAGE_GAUNTLET_SEED=S` replays one case of every fixture.

#[path = "../../../fuzz/src/plugin_gauntlet.rs"]
mod plugin_gauntlet;

use fsimage_plugin_ufs::UfsFs;
use plugin_gauntlet::Gauntlet;

/// The small fixtures (the big one adds time, not new structures).
const FIXTURES: [&str; 8] = [
    "ufs/ufs1-le-8k",
    "ufs/ufs1-le-32k",
    "ufs/ufs1-be-16k",
    "ufs/ufs2-le-8k",
    "ufs/ufs2-be-8k",
    "ufs/ufs2-be-32k",
    "ufs/ufs1-le-4k-multicg",
    "ufs/ufs2-be-4k-multicg",
];

fn gauntlet(part: usize, parts: usize) {
    Gauntlet::<UfsFs> {
        fixtures: FIXTURES.map(String::from).to_vec(),
        cases: 40,
        // The superblock (all fixtures keep it at 8 KiB).
        hot: &[(8192, 1376)],
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
