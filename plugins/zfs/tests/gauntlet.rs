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

#[path = "../../../fuzz/src/harness.rs"]
mod harness;
#[path = "../../../fuzz/src/mutate.rs"]
#[allow(dead_code)]
mod mutate;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

use fsimage_abi::{Device, FileKind, Filesystem, ReadAt, Result, sdk};
use fsimage_plugin_zfs::ZfsFs;
use harness::{CaseLimits, CountingAlloc};
use mutate::{Mutated, name_seed};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const DEFAULT_CASES: u64 = 24;

const BUDGET: walk::Budget = walk::Budget {
    max_depth: 32,
    max_entries: 2000,
    max_dir_entries: 10_000,
    max_file_bytes: 1 << 20,
    max_total_bytes: 4 << 20,
    max_extents: 64,
};

/// A block may claim 16 MiB logical and physical, and the cache holds
/// 16 MiB: 128 MiB leaves room for both plus the walk.
const LIMITS: CaseLimits = CaseLimits {
    time: Duration::from_secs(20),
    peak: 128 << 20,
};

const FIXTURES: [&str; 4] = [
    "zfs/fuse-v23-lzjb",
    "zfs/fuse-v14-rpool",
    "zfs/ozfs-lz4",
    "zfs/ozfs-rpool-bootfs",
];

struct Recorder {
    inner: Device,
    log: Arc<Mutex<Vec<(u64, usize)>>>,
}

impl ReadAt for Recorder {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.log.lock().unwrap().push((offset, buf.len()));
        self.inner.read_exact_at(offset, buf)
    }
}

struct Fixture {
    name: String,
    base: Arc<Vec<u8>>,
    meta: Vec<u64>,
}

fn load(name: &str) -> Fixture {
    let base = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture image"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let rec = Device::new(Recorder {
        inner: Device::new(base.clone()),
        log: log.clone(),
    });
    let fs = ZfsFs::mount(vec![rec], b"").expect("pristine mount");
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
    for &(off, len) in log.lock().unwrap().iter() {
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
    Fixture {
        name: name.to_owned(),
        base,
        meta: blocks.into_iter().collect(),
    }
}

fn case(fx: &Fixture, seed: u64) -> std::result::Result<(Duration, Option<walk::Outcome>), String> {
    let mut img = Mutated::new(fx.base.clone());
    // Label 0: the start of its nvlist, and its uberblock ring.
    let hot = [(16 << 10, 2048), (128 << 10, 128 << 10)];
    let what = mutate::mutate(&mut img, &fx.meta, &hot, seed);
    let size = img.size();
    let opts: &'static [u8] = if seed & 1 == 1 { b"csum=off" } else { b"" };
    let label = format!(
        "{} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}) {}: {what}",
        fx.name,
        String::from_utf8_lossy(opts)
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stats = harness::run_case(&label, LIMITS, move || {
        let dev = Device::new(img);
        let _ = ZfsFs::probe(std::slice::from_ref(&dev));
        let o = ZfsFs::mount(vec![dev], opts).map(|fs| {
            let _ = fs.bootstring();
            walk::walk(&fs, &[size], &BUDGET)
        });
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
