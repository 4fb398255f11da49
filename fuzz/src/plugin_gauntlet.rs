//! The corrupt-image gauntlet driver every filesystem plugin runs over its
//! fixtures, included by `#[path]` from `plugins/*/tests/gauntlet.rs` (test
//! only: not a module of the fuzz crate). For each fixture it finds the
//! metadata blocks of the pristine image, then for each seed mutates them
//! (`mutate.rs`: bit flips, extreme integers, overwritten and duplicated
//! sectors, truncation) and runs probe, mount and a bounded walk
//! (`walk.rs`) as one case under `harness.rs`. Each case must end in Ok or a
//! clean Err: a panic, a case over its time bound or a case thread holding
//! more than its memory bound fails the test, naming the seed.
//!
//! This module installs the harness's counting allocator as the global
//! allocator, so every gauntlet has its memory bound enforced.
//!
//! `FSIMAGE_GAUNTLET_CASES=N` sets the cases per fixture;
//! `FSIMAGE_GAUNTLET_SEED=S` replays one case of every fixture (the seed is
//! printed on failure).

// Each plugin's gauntlet uses only part of this (and of `mutate`, `walk`).
#![allow(dead_code)]

#[path = "harness.rs"]
pub mod harness;
#[path = "mutate.rs"]
pub mod mutate;
#[path = "walk.rs"]
pub mod walk;

use fsimage_abi::{Device, ExtentKind, FileKind, Filesystem, ReadAt, sdk};
use harness::{CaseLimits, CountingAlloc};
use mutate::Mutated;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The usual walk of a case: whole trees, files capped at 16 MiB, 8 MiB
/// read in all (keeps debug builds fast).
pub const BUDGET: walk::Budget = walk::Budget {
    max_depth: 32,
    max_entries: 2000,
    max_dir_entries: 10_000,
    max_file_bytes: 16 << 20,
    max_total_bytes: 8 << 20,
    max_extents: 4096,
};

/// The usual bounds of a case: 20 s, and `peak` bytes held at once.
pub const fn limits(peak: usize) -> CaseLimits {
    CaseLimits {
        time: Duration::from_secs(20),
        peak,
    }
}

/// How a fixture's metadata blocks (the 1 KiB blocks mutated) are found.
#[derive(Debug, Clone, Copy)]
pub enum Metadata {
    /// The non-zero blocks that no regular file's data extents claim, from
    /// a walk of the pristine mount. With `skip_unlistable`, a directory the
    /// pristine mount cannot list is passed over (a fixture may hold one on
    /// purpose); otherwise it fails the test.
    Unclaimed { skip_unlistable: bool },
    /// The non-zero blocks that a pristine mount and a metadata walk (list,
    /// stat, read_link) read: for formats whose file data is not mapped to
    /// the device.
    Read,
}

/// What is specific to one plugin's gauntlet.
pub struct Gauntlet<F> {
    /// Fixture names, as for `fsimage_testkit::image`.
    pub fixtures: Vec<String>,
    /// Cases per fixture unless `FSIMAGE_GAUNTLET_CASES` says otherwise.
    pub cases: u64,
    /// Byte ranges `(offset, length)` that get extra mutations.
    pub hot: &'static [(u64, u64)],
    pub metadata: Metadata,
    /// What one case may walk.
    pub budget: walk::Budget,
    /// Time and memory bounds of one case.
    pub limits: CaseLimits,
    /// Called before the mutations with the fixture's name, the seed and
    /// the image (which it may patch); returns the mount options.
    pub prepare: fn(&str, u64, &mut Mutated) -> &'static [u8],
    /// Called on a mounted case before the walk.
    pub mounted: fn(&F),
}

impl<F: Filesystem> Gauntlet<F> {
    /// The usual settings, for a plugin to override what is its own (it
    /// always names its fixtures, case count and hot ranges): metadata =
    /// unclaimed blocks, [`BUDGET`], 64 MiB a case, no options, nothing
    /// done between mount and walk.
    pub fn usual() -> Gauntlet<F> {
        Gauntlet {
            fixtures: Vec::new(),
            cases: 0,
            hot: &[],
            metadata: Metadata::Unclaimed {
                skip_unlistable: false,
            },
            budget: BUDGET,
            limits: limits(64 << 20),
            prepare: |_, _, _| b"",
            mounted: |_| {},
        }
    }
}

struct Fixture {
    name: String,
    base: Arc<Vec<u8>>,
    meta: Vec<u64>,
}

/// Byte ranges of every regular file's data in the pristine image, sorted.
fn file_data_ranges<F: Filesystem>(fs: &F, skip_unlistable: bool) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![fs.root()];
    let mut seen = HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        let entries = match sdk::list_dir(fs, d, 1 << 20) {
            Ok(v) => v,
            Err(_) if skip_unlistable => continue,
            Err(e) => panic!("pristine listing: {e}"),
        };
        for e in entries {
            match fs.stat(e.id).expect("pristine stat").kind {
                FileKind::Dir => stack.push(e.id),
                FileKind::File => {
                    let mut c = fsimage_testkit::plugin::Extents(Vec::new());
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

/// The non-zero blocks read by a pristine mount and a metadata walk.
fn blocks_read<F: Filesystem>(base: &Arc<Vec<u8>>) -> Vec<u64> {
    let (rec, log) = fsimage_testkit::plugin::Recorder::wrap(Device::new(base.clone()));
    let fs = F::mount(vec![rec], b"").expect("pristine mount");
    let mut stack = vec![fs.root()];
    while let Some(d) = stack.pop() {
        for e in sdk::list_dir(&fs, d, 1 << 20).expect("pristine listing") {
            let _ = fs.stat(e.id);
            match e.kind {
                FileKind::Dir => stack.push(e.id),
                FileKind::Symlink => {
                    let _ = fs.read_link(e.id);
                }
                _ => {}
            }
        }
    }
    let mut blocks = BTreeSet::new();
    for &(off, len) in log.lock().expect("read log").iter() {
        let mut b = off / mutate::BLOCK;
        while b * mutate::BLOCK < off + len as u64 {
            let s = (b * mutate::BLOCK) as usize;
            let e = (s + mutate::BLOCK as usize).min(base.len());
            if base[s..e].iter().any(|&x| x != 0) {
                blocks.insert(b * mutate::BLOCK);
            }
            b += 1;
        }
    }
    blocks.into_iter().collect()
}

impl<F: Filesystem> Gauntlet<F> {
    fn load(&self, name: &str) -> Fixture {
        let base = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture image"));
        let meta = match self.metadata {
            Metadata::Unclaimed { skip_unlistable } => {
                let fs = F::mount(vec![Device::new(base.clone())], b"").expect("pristine mount");
                let data = file_data_ranges(&fs, skip_unlistable);
                // A block is file data when a data range covers it entirely.
                let is_data = |off: u64| {
                    let i = data.partition_point(|&(s, _)| s <= off);
                    i > 0 && data[i - 1].1 >= off + mutate::BLOCK
                };
                mutate::metadata_blocks(&base, &is_data)
            }
            Metadata::Read => blocks_read::<F>(&base),
        };
        Fixture {
            name: name.to_owned(),
            base,
            meta,
        }
    }

    /// One case: mutate, then probe, mount and walk. Returns the case's time
    /// and, if it mounted, what the walk saw.
    fn case(&self, fx: &Fixture, seed: u64) -> Result<(Duration, Option<walk::Outcome>), String> {
        let mut img = Mutated::new(fx.base.clone());
        let opts = (self.prepare)(&fx.name, seed, &mut img);
        let what = mutate::mutate(&mut img, &fx.meta, self.hot, seed);
        let size = img.size();
        let label = format!(
            "{} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}) opts {:?}: {what}",
            fx.name,
            String::from_utf8_lossy(opts)
        );
        let (budget, mounted) = (self.budget, self.mounted);
        let (tx, rx) = std::sync::mpsc::channel();
        let stats = harness::run_case(&label, self.limits, move || {
            let dev = Device::new(img);
            let _ = F::probe(std::slice::from_ref(&dev));
            let o = F::mount(vec![dev], opts).map(|fs| {
                mounted(&fs);
                walk::walk(&fs, &[size], &budget)
            });
            let _ = tx.send(o.ok());
        })?;
        Ok((stats.elapsed, rx.recv().ok().flatten()))
    }

    /// Runs the gauntlet over the fixtures whose index is `part` modulo
    /// `parts` (split so the test harness runs parts in parallel).
    pub fn run(&self, part: usize, parts: usize) {
        let mut failures = Vec::new();
        let mut n = 0;
        for name in self.fixtures.iter().skip(part).step_by(parts) {
            let t = Instant::now();
            let fx = self.load(name);
            assert!(!fx.meta.is_empty(), "{name}: no metadata blocks found");
            let loaded = t.elapsed();
            let (mut slowest, mut mounted, mut files, mut errors) = (Duration::ZERO, 0, 0, 0);
            for seed in harness::seeds(&fx.name, self.cases) {
                n += 1;
                match self.case(&fx, seed) {
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
                "{name}: {} metadata blocks, loaded in {loaded:.1?}, cases in {:.1?} \
                 (slowest {slowest:.1?}); {mounted} mounted, {files} files read, {errors} errors",
                fx.meta.len(),
                t.elapsed() - loaded
            );
        }
        harness::report(&failures, n);
    }
}
