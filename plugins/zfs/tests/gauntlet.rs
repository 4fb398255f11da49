//! The corrupt-image gauntlet for the ZFS plugin: for committed ZFS
//! fixtures, seeded deterministic mutations of their metadata (the shared
//! `fuzz/src` mutator: bit flips, extreme integers, overwritten and
//! duplicated sectors, truncation), then probe, mount and a bounded walk.
//! Each case must end in Ok or a clean Err: a panic, a case over its time
//! bound or over its memory bound fails the test, naming the seed.
//!
//! Metadata = the non-zero 1 KiB blocks that a mount and a metadata walk of
//! the pristine pool read (labels, uberblocks, MOS, dnodes, ZAPs); the
//! first label's nvlist and uberblock ring get extra attention. Every ZFS
//! block is checksummed, so odd seeds mount with `csum=off` to reach the
//! parsers behind the checksums; even seeds verify.
//!
//! `FSIMAGE_GAUNTLET_CASES=N` sets the cases per fixture;
//! `FSIMAGE_GAUNTLET_SEED=S` replays one case of every fixture.

#[path = "../../../fuzz/src/plugin_gauntlet.rs"]
mod plugin_gauntlet;

use fsimage_abi::Filesystem;
use fsimage_plugin_zfs::ZfsFs;
use plugin_gauntlet::{BUDGET, Gauntlet, Metadata, limits, walk};

const FIXTURES: [&str; 4] = [
    "zfs/fuse-v23-lzjb",
    "zfs/fuse-v14-rpool",
    "zfs/ozfs-lz4",
    "zfs/ozfs-rpool-bootfs",
];

fn gauntlet(part: usize, parts: usize) {
    Gauntlet::<ZfsFs> {
        fixtures: FIXTURES.map(String::from).to_vec(),
        cases: 24,
        // Label 0: the start of its nvlist, and its uberblock ring.
        hot: &[(16 << 10, 2048), (128 << 10, 128 << 10)],
        metadata: Metadata::Read,
        budget: walk::Budget {
            max_file_bytes: 1 << 20,
            max_total_bytes: 4 << 20,
            max_extents: 64,
            ..BUDGET
        },
        // A block may claim 16 MiB logical and physical, and the cache holds
        // 16 MiB: 128 MiB leaves room for both plus the walk.
        limits: limits(128 << 20),
        prepare: |_, seed, _| if seed & 1 == 1 { b"csum=off" } else { b"" },
        mounted: |fs| {
            let _ = fs.bootstring();
        },
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
