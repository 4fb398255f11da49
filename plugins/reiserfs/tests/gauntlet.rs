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

#[path = "../../../fuzz/src/harness.rs"]
mod harness;
#[path = "../../../fuzz/src/mutate.rs"]
#[allow(dead_code)]
mod mutate;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

use fsimage_abi::{Device, Extent, ExtentKind, ExtentSink, FileKind, Filesystem, sdk};
use fsimage_plugin_reiserfs::ReiserFs;
use harness::{CaseLimits, CountingAlloc};
use mutate::{Mutated, name_seed};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const DEFAULT_CASES: u64 = 100;

const BUDGET: walk::Budget = walk::Budget {
    max_depth: 32,
    max_entries: 2000,
    max_dir_entries: 10_000,
    max_file_bytes: 16 << 20,
    max_total_bytes: 8 << 20,
    max_extents: 4096,
};

const LIMITS: CaseLimits = CaseLimits {
    time: Duration::from_secs(20),
    peak: 64 << 20,
};

/// Both committed fixtures (tails and notail).
const FIXTURES: [&str; 2] = ["reiserfs/reiserfs36", "reiserfs/reiserfs36-notail"];

struct Collect(Vec<Extent>);
impl ExtentSink for Collect {
    fn push(&mut self, e: Extent) -> bool {
        self.0.push(e);
        true
    }
}

fn file_data_ranges(fs: &ReiserFs) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![fs.root()];
    let mut seen = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        for e in sdk::list_dir(fs, d, 1 << 20).expect("pristine listing") {
            match fs.stat(e.id).expect("pristine stat").kind {
                FileKind::Dir => stack.push(e.id),
                FileKind::File => {
                    let mut c = Collect(Vec::new());
                    fs.extents(e.id, 0, &mut c).expect("pristine extents");
                    out.extend(
                        c.0.iter()
                            .filter(|x| x.kind == ExtentKind::Data)
                            .map(|x| (x.device_offset, x.device_offset + x.length)),
                    );
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

struct Fixture {
    name: String,
    base: Arc<Vec<u8>>,
    meta: Vec<u64>,
}

fn load(name: &str) -> Fixture {
    let base = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture image"));
    let fs = ReiserFs::mount(vec![Device::new(base.clone())], b"").expect("pristine mount");
    let data = file_data_ranges(&fs);
    let is_data = |off: u64| {
        let i = data.partition_point(|&(s, _)| s <= off);
        i > 0 && data[i - 1].1 >= off + mutate::BLOCK
    };
    let meta = mutate::metadata_blocks(&base, &is_data);
    Fixture {
        name: name.to_owned(),
        base,
        meta,
    }
}

fn case(fx: &Fixture, seed: u64) -> Result<(Duration, Option<walk::Outcome>), String> {
    let mut img = Mutated::new(fx.base.clone());
    // The superblock (at 64 KiB) and the journal header (block 18 + 512).
    let hot = [(65536, 204), (530 * 4096, 12)];
    let replay = seed & 1 == 1;
    if replay {
        // j_last_flush_trans_id 9, j_first_unflushed_offset 0, j_mount_id
        // 10: the fixtures' log holds transactions 10..15 of mount 10.
        let mut h = [0u8; 12];
        h[..4].copy_from_slice(&9u32.to_le_bytes());
        h[8..].copy_from_slice(&10u32.to_le_bytes());
        img.put(530 * 4096, &h);
    }
    let what = mutate::mutate(&mut img, &fx.meta, &hot, seed);
    let size = fsimage_abi::ReadAt::size(&img);
    let label = format!(
        "{} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}): {what}",
        fx.name
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stats = harness::run_case(&label, LIMITS, move || {
        let dev = Device::new(img);
        let _ = ReiserFs::probe(std::slice::from_ref(&dev));
        let opts: &[u8] = if replay { b"journal=replay" } else { b"" };
        let o = ReiserFs::mount(vec![dev], opts).map(|fs| walk::walk(&fs, &[size], &BUDGET));
        let _ = tx.send(o.ok());
    })?;
    Ok((stats.elapsed, rx.recv().ok().flatten()))
}

fn seeds(fx: &Fixture) -> Vec<u64> {
    if let Some(s) = std::env::var("FSIMAGE_GAUNTLET_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return vec![s];
    }
    let base = name_seed(&fx.name);
    (0..harness::cases(DEFAULT_CASES))
        .map(|i| base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect()
}

fn gauntlet(part: usize, parts: usize) {
    let mut failures = Vec::new();
    let mut n = 0;
    for name in FIXTURES.iter().skip(part).step_by(parts) {
        let fx = load(name);
        assert!(!fx.meta.is_empty(), "{name}: no metadata blocks found");
        let (mut slowest, mut mounted, mut files, mut errors) = (Duration::ZERO, 0, 0, 0);
        for seed in seeds(&fx) {
            n += 1;
            match case(&fx, seed) {
                Ok((d, o)) => {
                    slowest = slowest.max(d);
                    if let Some(o) = o {
                        mounted += 1;
                        files += o.files;
                        errors += o.errors;
                    }
                }
                Err(e) => failures.push(e),
            }
        }
        eprintln!(
            "{name}: {} metadata blocks; slowest case {slowest:.1?}; \
             {mounted} mounted, {files} files read, {errors} errors",
            fx.meta.len()
        );
    }
    assert!(n > 0, "no cases ran");
    assert!(
        failures.is_empty(),
        "{} of {n} gauntlet cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gauntlet_part_0() {
    gauntlet(0, 2);
}

#[test]
fn gauntlet_part_1() {
    gauntlet(1, 2);
}
