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

#[path = "../../../fuzz/src/harness.rs"]
mod harness;
#[path = "../../../fuzz/src/mutate.rs"]
#[allow(dead_code)]
mod mutate;
#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

use fsimage_abi::{Device, Extent, ExtentKind, ExtentSink, FileKind, Filesystem, sdk};
use fsimage_plugin_ext2::Ext2Fs;
use harness::{CaseLimits, CountingAlloc};
use mutate::{Mutated, name_seed};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Default cases per fixture (the whole gauntlet stays well under a minute
/// in a debug build).
const DEFAULT_CASES: u64 = 12;

/// What one case may walk: whole trees, files capped at 16 MiB, 8 MiB read
/// in all per case (keeps debug builds fast).
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
    // The walk's own read buffers plus the plugin's bounded caches.
    peak: 96 << 20,
};

fn fixture_names() -> Vec<String> {
    let dir = fsimage_testkit::fixtures_dir().join("ext");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/ext")
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            Some(format!("ext/{}", n.strip_suffix(".img.zst")?))
        })
        .collect();
    v.push("disk/dev-whole-disk-ext4".to_owned());
    v.sort();
    v
}

struct Collect(Vec<Extent>);
impl ExtentSink for Collect {
    fn push(&mut self, e: Extent) -> bool {
        self.0.push(e);
        true
    }
}

/// Byte ranges of every regular file's data in the pristine image.
fn file_data_ranges(fs: &Ext2Fs) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![fs.root()];
    let mut seen = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        // ext4-kernel-dirty, read without replay, has a directory that is
        // unreadable on purpose (as for the kernel): skip it.
        let Ok(entries) = sdk::list_dir(fs, d, 1 << 20) else {
            continue;
        };
        for e in entries {
            let st = fs.stat(e.id).expect("pristine stat");
            match st.kind {
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
    journal: bool,
}

fn load(name: &str) -> Fixture {
    let base = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture image"));
    let fs = Ext2Fs::mount(vec![Device::new(base.clone())], b"").expect("pristine mount");
    let data = file_data_ranges(&fs);
    // A block is file data when a data range covers it entirely.
    let is_data = |off: u64| {
        let i = data.partition_point(|&(s, _)| s <= off);
        i > 0 && data[i - 1].1 >= off + mutate::BLOCK
    };
    let meta = mutate::metadata_blocks(&base, &is_data);
    Fixture {
        name: name.to_owned(),
        journal: name.contains("journal"),
        base,
        meta,
    }
}

/// One case: mutate, then probe, mount and walk with the options the seed picks.
/// Returns the case's time and, if it mounted, what the walk saw.
fn case(fx: &Fixture, seed: u64) -> Result<(Duration, Option<walk::Outcome>), String> {
    let mut img = Mutated::new(fx.base.clone());
    // The superblock and the first group descriptors.
    let hot = [(1024, 1024), (2048, 2048), (4096, 256)];
    let what = mutate::mutate(&mut img, &fx.meta, &hot, seed);
    let opts: &[u8] = match seed % 4 {
        0 => b"",
        1 if fx.journal => b"journal=replay,csum=off",
        _ => b"csum=off",
    };
    let size = fsimage_abi::ReadAt::size(&img);
    let label = format!(
        "{} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}) opts {:?}: {what}",
        fx.name,
        String::from_utf8_lossy(opts)
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stats = harness::run_case(&label, LIMITS, move || {
        let dev = Device::new(img);
        let _ = Ext2Fs::probe(std::slice::from_ref(&dev));
        let o = Ext2Fs::mount(vec![dev], opts).map(|fs| walk::walk(&fs, &[size], &BUDGET));
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

/// Runs the gauntlet over the fixtures whose index is `part` modulo `parts`
/// (split so the test harness runs parts in parallel).
fn gauntlet(part: usize, parts: usize) {
    let mut failures = Vec::new();
    let mut n = 0;
    for name in fixture_names().iter().skip(part).step_by(parts) {
        let t = std::time::Instant::now();
        let fx = load(name);
        assert!(!fx.meta.is_empty(), "{name}: no metadata blocks found");
        let loaded = t.elapsed();
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
            "{name}: {} metadata blocks, loaded in {loaded:.1?}, cases in {:.1?} \
             (slowest {slowest:.1?}); {mounted} mounted, {files} files read, {errors} errors",
            fx.meta.len(),
            t.elapsed() - loaded
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
