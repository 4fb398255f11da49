//! The corrupt-image gauntlet for the disk layer and the whole pipeline
//! (issue 7). Seeded deterministic mutations — bit flips, extreme integers
//! over aligned fields, overwritten and duplicated sectors, truncation — of
//! every committed disk fixture (and a few bare ext, UFS and ISO images), over the
//! structures that matter: partition-table sectors (MBR, EBRs, GPT headers
//! and arrays, VTOC and Sun labels, with their checksums fixed up half of
//! the time so the mutation reaches the fields behind them) and each
//! partition's filesystem metadata. Then:
//!
//! * disk layer: `disk::parse`, root choice, the chosen partition's window;
//! * pipeline: `OpenOptions` with the ext2, UFS and ISO 9660 plugins (in
//!   process, and a quarter of the cases in the sandbox)
//!   over the mutated image written to a file, then a bounded walk through
//!   the public API (read_dir, symlink_metadata, read_link, File::read_at
//!   capped at 16 MiB a file).
//!
//! Every case must end in Ok or a clean Err within its time bound, without
//! a panic; a failure names the fixture and seed. `FSIMAGE_GAUNTLET_CASES=N`
//! sets the cases per fixture, `FSIMAGE_GAUNTLET_SEED=S` replays one.
//!
//! Memory: the counting allocator sees the core's allocations only; an
//! in-process plugin is a cdylib with its own allocator calls (the ext2
//! plugin's memory is bounded by its own gauntlet, which links it as an
//! rlib).

#[path = "../../fuzz/src/disk_cases.rs"]
#[allow(dead_code)]
mod disk_cases;
#[path = "../../fuzz/src/fixups.rs"]
#[allow(dead_code)]
mod fixups;
#[path = "../../fuzz/src/harness.rs"]
mod harness;
#[path = "../../fuzz/src/mutate.rs"]
#[allow(dead_code)]
mod mutate;
#[path = "../../fuzz/src/scratch.rs"]
mod scratch;
#[path = "../../fuzz/src/sparse.rs"]
#[allow(dead_code)]
mod sparse;

use fsimage::disk;
use fsimage::plugin::Registry;
use fsimage::{FileKind, Filesystem, OpenOptions, ReadAt};
use harness::{CaseLimits, CountingAlloc};
use mutate::{BLOCK, Mutated, SplitMix64};
use scratch::Scratch;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

impl fixups::Patch for Mutated {
    fn put(&mut self, off: u64, bytes: &[u8]) {
        Mutated::put(self, off, bytes);
    }
}

const DISK_CASES: u64 = 40;
const PIPELINE_CASES: u64 = 8;

const LIMITS: CaseLimits = CaseLimits {
    time: Duration::from_secs(20),
    peak: 96 << 20,
};

struct Fixture {
    name: String,
    base: Arc<Vec<u8>>,
    meta: Vec<u64>,
    hot: Vec<(u64, u64)>,
}

/// The non-zero 1 KiB blocks of the table areas (first and last 64 KiB, the
/// MiB before and the first 256 KiB of every partition: EBRs, VTOC and Sun
/// labels, filesystem superblocks and their first metadata).
fn load(name: &str) -> Fixture {
    let base = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture image"));
    let size = base.len() as u64;
    let mut areas = vec![(0, 64 << 10), (size.saturating_sub(64 << 10), size)];
    let layout = disk::parse(&base.as_slice()).expect("pristine table");
    for p in &layout.partitions {
        areas.push((p.start.saturating_sub(1 << 20), p.start + (256 << 10)));
    }
    let outside = |off: u64| !areas.iter().any(|&(s, e)| off >= s && off < e);
    let meta = mutate::metadata_blocks(&base, &outside);
    let mut hot = vec![(0, 512), (512, 512), (4096, 512)];
    hot.extend(layout.partitions.iter().map(|p| (p.start, 4096)));
    Fixture {
        name: name.to_owned(),
        base,
        meta,
        hot,
    }
}

/// Mutates, fixing checksums up for odd seeds.
fn mutated(fx: &Fixture, seed: u64) -> (Mutated, String) {
    let mut img = Mutated::new(fx.base.clone());
    let mut what = mutate::mutate(&mut img, &fx.meta, &fx.hot, seed);
    if seed & 1 == 1 {
        fixups::fix_gpt(&mut img);
        fixups::fix_sun(&mut img);
        what.push_str("; checksums fixed");
    }
    (img, what)
}

/// Recognises what the plugins would, by magic (the core has no plugin
/// linked in): ext2 (0xEF53 at 1080), ISO 9660 (CD001 at 32769).
fn magic_probe(w: &dyn ReadAt) -> Option<String> {
    let mut b = [0u8; 5];
    if w.read_exact_at(1080, &mut b[..2]).is_ok() && b[..2] == [0x53, 0xEF] {
        return Some("ext2".to_owned());
    }
    if w.read_exact_at(32769, &mut b).is_ok() && &b == b"CD001" {
        return Some("iso9660".to_owned());
    }
    None
}

#[test]
fn disk_layer() {
    let mut failures = Vec::new();
    let mut n = 0;
    for name in fsimage_testkit::fixture_names("disk") {
        let fx = load(&name);
        for seed in harness::seeds(&name, DISK_CASES) {
            n += 1;
            let (img, what) = mutated(&fx, seed);
            let label = format!("{name} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}): {what}");
            let r = harness::run_case(&label, LIMITS, move || {
                if let Ok(layout) = disk::parse(&img) {
                    disk_cases::check_layout(&layout);
                    for p in layout.partitions.iter().filter(|p| p.is_valid()) {
                        let w = p.window(&img).expect("a valid partition has a window");
                        let mut b = [0u8; 16];
                        let _ = w.read_exact_at(w.size().saturating_sub(16), &mut b);
                    }
                    let mut probe = magic_probe;
                    if let Ok(c) = disk::choose_root(&img, &layout, &mut probe) {
                        assert!(c.partition.is_valid(), "root is invalid: {c:?}");
                        c.window(&img).expect("root window");
                    }
                }
                let mut probe = magic_probe;
                let _ = disk::locate_root(&img, &mut probe);
            });
            if let Err(e) = r {
                failures.push(e);
            }
        }
    }
    harness::report(&failures, n);
}

/// target/debug, where `cargo build --workspace` leaves the plugins.
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/debug/deps")
        .to_path_buf()
}

/// Every filesystem plugin `cargo build --workspace` left in target/debug.
fn registry() -> Arc<Registry> {
    let ext = if cfg!(target_os = "macos") {
        "dylib"
    } else {
        "so"
    };
    let mut reg = Registry::default();
    for name in ["ext2", "ufs", "iso9660", "reiserfs"] {
        let so = build_dir().join(format!("libfsimage_plugin_{name}.{ext}"));
        if name == "ext2" || so.exists() {
            reg.load_file(&so).unwrap_or_else(|| {
                panic!(
                    "{}: {:?} (run `cargo build --workspace` first)",
                    so.display(),
                    reg.failures()
                )
            });
        }
    }
    Arc::new(reg)
}

/// Walks the tree through the public API within fixed bounds.
fn walk_api(fs: &Filesystem) {
    let mut stack = vec![(b"/".to_vec(), 0usize)];
    let mut seen = std::collections::HashSet::new();
    let (mut entries, mut bytes) = (0usize, 0u64);
    let _ = fs.label();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(md) = fs.metadata(&dir) else { continue };
        if !seen.insert(md.ino()) {
            continue;
        }
        let Ok(rd) = fs.read_dir(&dir) else { continue };
        for e in rd {
            entries += 1;
            if entries > 2000 {
                return;
            }
            let Ok(e) = e else { break };
            let mut path = dir.clone();
            if path.last() != Some(&b'/') {
                path.push(b'/');
            }
            path.extend_from_slice(e.name());
            let Ok(md) = fs.symlink_metadata(&path) else {
                continue;
            };
            match md.kind() {
                FileKind::Dir if depth < 32 => stack.push((path, depth + 1)),
                FileKind::Symlink => {
                    let _ = fs.read_link(&path);
                }
                FileKind::File if bytes < (8 << 20) => {
                    if let Ok(f) = fs.open(&path) {
                        let cap = f.len().min(16 << 20).min((8 << 20) - bytes);
                        let mut buf = vec![0u8; cap as usize];
                        if let Ok(n) = f.read_at(0, &mut buf) {
                            bytes += n as u64;
                        }
                        let mut tail = [0u8; 512];
                        let _ = f.read_at(f.len().saturating_sub(100), &mut tail);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Disk fixtures plus bare ext images, mutated, written to a scratch file,
/// opened through `OpenOptions` and walked. Every fourth case runs in the
/// sandbox.
#[test]
fn pipeline() {
    let reg = registry();
    let mut names = fsimage_testkit::fixture_names("disk");
    names.extend(
        [
            "ext/ext4",
            "ext/ext2-1k",
            "ext/ext3-journal-dirty",
            "ufs/ufs2-le-8k",
            "ufs/ufs1-be-16k",
            "iso9660/iso-rr-joliet",
            "reiserfs/reiserfs36",
        ]
        .map(String::from),
    );
    let mut failures = Vec::new();
    let (mut n, mut opened) = (0, 0);
    let opened_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for name in names {
        let fx = if name.starts_with("disk/") {
            load(&name)
        } else {
            let base = Arc::new(std::fs::read(fsimage_testkit::image(&name)).expect("image"));
            let meta = mutate::metadata_blocks(&base[..(1 << 20).min(base.len())], &|_| false);
            Fixture {
                name: name.clone(),
                base,
                meta,
                // ext superblock and descriptors; UFS1 and UFS2 superblocks;
                // the ISO primary volume descriptor.
                hot: vec![(1024, 2048), (8192, 2048), (65536, 2048), (32768, 2048)],
            }
        };
        let mut scratch = Scratch::new(&fx.base, &format!("pipeline-{}", fx.name));
        for seed in harness::seeds(&name, PIPELINE_CASES) {
            n += 1;
            let (img, what) = mutated(&fx, seed);
            let undo = scratch.apply(&img);
            let sandbox = SplitMix64(seed).next_u64() % 4 == 0;
            let label = format!(
                "{name} seed {seed:#x} (FSIMAGE_GAUNTLET_SEED={seed}) sandbox {sandbox}: {what}"
            );
            let (path, reg) = (scratch.path.clone(), reg.clone());
            let count = opened_count.clone();
            let r = harness::run_case(&label, LIMITS, move || {
                let fs = OpenOptions::new()
                    .registry(reg)
                    .sandbox(sandbox)
                    .sandbox_timeout(Duration::from_secs(10))
                    .open(&path);
                if let Ok(fs) = fs {
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    walk_api(&fs);
                }
            });
            if let Err(e) = r {
                failures.push(e);
            }
            scratch.restore(undo);
        }
        // The scratch copy is pristine again.
        let mut back = Vec::new();
        std::io::Read::read_to_end(
            &mut std::fs::File::open(&scratch.path).expect("reopen"),
            &mut back,
        )
        .expect("read back");
        assert!(back == *fx.base, "{name}: scratch image not restored");
    }
    opened += opened_count.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("pipeline: {opened} of {n} mutated images opened and walked");
    // Most mutations leave a filesystem that still opens: the walk is reached.
    assert!(
        opened * 3 >= n,
        "only {opened} of {n} cases opened: mutations too blunt?"
    );
    harness::report(&failures, n);
}

/// A mutation is reproducible from its seed alone.
#[test]
fn mutations_are_deterministic() {
    let fx = load("disk/dev-gpt");
    let (a, wa) = mutated(&fx, 42);
    let (b, wb) = mutated(&fx, 42);
    assert_eq!(wa, wb);
    assert!(a.to_vec() == b.to_vec());
    let (c, _) = mutated(&fx, 43);
    assert!(a.to_vec() != c.to_vec() || a.size() != c.size());
}

/// The metadata areas really hold the tables (the gauntlet would be
/// toothless otherwise): sector 0 and, for GPT, LBA 1.
#[test]
fn metadata_covers_the_tables() {
    let fx = load("disk/dev-gpt");
    assert!(fx.meta.contains(&0));
    assert!(fx.meta.iter().any(|&b| b <= 512 && 512 < b + BLOCK));
}
