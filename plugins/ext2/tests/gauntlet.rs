//! The corrupt-image gauntlet for the ext2/3/4 plugin (issue 7): for every
//! committed ext fixture, seeded deterministic mutations of its metadata —
//! bit flips, extreme integers over aligned fields, overwritten and
//! duplicated sectors and blocks, truncation — then probe, mount and a
//! bounded walk (list, stat, lookup, read capped at 16 MiB a file, read_link,
//! extents) through the plugin's `Filesystem` API. Each case must end in Ok
//! or a clean Err: a panic, a case over its time bound (20 s), or a case thread
//! holding more than its memory bound fails the test, naming the seed.
//!
//! Metadata is found from the real structures: the non-zero 1 KiB blocks of
//! the image that no regular file's extent map claims (superblock, group
//! descriptors, bitmaps, inode tables, directories, extent index blocks,
//! the journal). The superblock gets extra attention.
//!
//! `FSIMAGE_GAUNTLET_CASES=N` sets the cases per fixture (default below);
//! `FSIMAGE_GAUNTLET_SEED=S` replays one case of every fixture (seed printed
//! on failure).

#[path = "../../../fuzz/src/plugin_gauntlet.rs"]
mod plugin_gauntlet;

use fsimage_plugin_ext2::Ext2Fs;
use plugin_gauntlet::harness::{self, CaseLimits};
use plugin_gauntlet::{Gauntlet, Metadata, limits};
use std::time::Duration;

fn gauntlet(part: usize, parts: usize) {
    let mut fixtures = fsimage_testkit::fixture_names("ext");
    fixtures.push("disk/dev-whole-disk-ext4".to_owned());
    fixtures.sort();
    Gauntlet::<Ext2Fs> {
        fixtures,
        // The whole gauntlet stays well under a minute in a debug build.
        cases: 12,
        // The superblock and the first group descriptors.
        hot: &[(1024, 1024), (2048, 2048), (4096, 256)],
        // ext4-kernel-dirty, read without replay, has a directory that is
        // unreadable on purpose (as for the kernel).
        metadata: Metadata::Unclaimed {
            skip_unlistable: true,
        },
        // The walk's own read buffers plus the plugin's bounded caches.
        limits: limits(96 << 20),
        prepare: |name, seed, _| match seed % 4 {
            0 => b"",
            1 if name.contains("journal") => b"journal=replay,csum=off",
            _ => b"csum=off",
        },
        ..Gauntlet::usual()
    }
    .run(part, parts);
}

#[test]
fn gauntlet_part_0() {
    gauntlet(0, 3);
}

#[test]
fn gauntlet_part_1() {
    gauntlet(1, 3);
}

#[test]
fn gauntlet_part_2() {
    gauntlet(2, 3);
}

/// The harness itself can fail: a panicking case, a hanging case and a case
/// holding too much memory are each reported.
#[test]
fn harness_catches_panics_hangs_and_memory() {
    let quick = CaseLimits {
        time: Duration::from_millis(300),
        peak: 1 << 20,
    };
    assert!(harness::run_case("panic", quick, || panic!("boom")).is_err());
    assert!(
        harness::run_case("hang", quick, || std::thread::sleep(Duration::from_secs(2))).is_err()
    );
    assert!(
        harness::run_case("memory", quick, || {
            std::hint::black_box(vec![1u8; 4 << 20]);
        })
        .is_err()
    );
    assert!(harness::run_case("fine", quick, || {}).is_ok());
}
