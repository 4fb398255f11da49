//! The held-out gauntlet (issue 7): the pipeline gauntlet's mutation kinds
//! (`fuzz/src/mutate.rs`: bit flips in metadata, extreme integers, copied and
//! overwritten sectors, truncation) over images the normal suite never sees,
//! run through the real `fsimage-ls -R` and `fsimage-cat` binaries, half of
//! the cases sandboxed and half `--no-sandbox` (so a parser fault would hit
//! the tool itself and its memory is the tool's).
//!
//! A case fails on: a panic, a death by signal, an exit status other than 0
//! or 1, a sandboxed plugin that crashed or timed out (the sandbox caught a
//! parser bug: still a bug), a run past its deadline (a hang), or a peak RSS
//! (the tool's, with any worker it reaped) over the memory bound.
//!
//! Not part of `cargo test`: it needs images made for the purpose.
//! `fuzz/heldout.sh` builds them with the filesystems' own tools and runs
//! this test:
//!
//! ```sh
//! FSIMAGE_HELDOUT_DIR=DIR [FSIMAGE_HELDOUT_CASES=N] \
//!     cargo test -p fsimage-cli --test heldout -- --ignored --nocapture
//! ```

#[path = "../../fuzz/src/mutate.rs"]
#[allow(dead_code)]
mod mutate;
#[path = "../../fuzz/src/scratch.rs"]
mod scratch;

use mutate::{Mutated, name_seed};
use scratch::Scratch;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wall-clock bound of one tool run.
const DEADLINE: Duration = Duration::from_secs(60);
/// Peak resident memory one tool run may reach.
const MAX_RSS: u64 = 512 << 20;
/// Files `fsimage-cat` reads per case.
const CAT_FILES: usize = 24;
/// Files larger than this (as listed) are not read: a mutated size field
/// or a sparse multi-GiB file would only measure the pipe.
const CAT_MAX_SIZE: u64 = 64 << 20;
/// Output kept from one run (the listing).
const STDOUT_KEEP: u64 = 64 << 20;

fn tool(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug/deps");
    dir.join(name)
}

struct Outcome {
    status: i32,
    signal: Option<i32>,
    max_rss: u64,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

/// Runs `cmd` under `DEADLINE`, killing it past it; reaps it with `wait4`
/// for its peak RSS.
fn run(cmd: &mut Command) -> Result<Outcome, String> {
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    // Keep at most STDOUT_KEEP bytes of output (a listing); file bytes
    // from fsimage-cat are only drained.
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = (&mut out).take(STDOUT_KEEP).read_to_end(&mut v);
        let _ = std::io::copy(&mut out, &mut std::io::sink());
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: `pid` is our unreaped child; the out-pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            return Err(format!("wait4: {}", std::io::Error::last_os_error()));
        }
        if t.elapsed() > DEADLINE && !killed {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stdout = o.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&e.join().unwrap_or_default()).into_owned();
    if killed {
        return Err(format!("hang: killed after {DEADLINE:?}"));
    }
    let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    Ok(Outcome {
        status: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        signal,
        max_rss: (usage.ru_maxrss as u64).saturating_mul(1024),
        stdout,
        stderr,
        elapsed: t.elapsed(),
    })
}

/// What is wrong with an outcome, if anything.
fn judge(o: &Outcome) -> Option<String> {
    if let Some(s) = o.signal {
        return Some(format!("killed by signal {s}"));
    }
    if o.stderr.contains("panicked") {
        return Some(format!("panic: {}", o.stderr.trim()));
    }
    if o.status != 0 && o.status != 1 {
        return Some(format!("exit status {}: {}", o.status, o.stderr.trim()));
    }
    if o.stderr.contains(" crashed (") || o.stderr.contains("timed out after") {
        return Some(format!("sandboxed plugin failed: {}", o.stderr.trim()));
    }
    if o.max_rss > MAX_RSS {
        return Some(format!("peak RSS {} MiB", o.max_rss >> 20));
    }
    None
}

/// Regular files in `fsimage-ls -R --json` output.
fn files(json: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(json);
    text.lines()
        .filter(|l| l.contains("\"type\": \"file\""))
        .filter_map(|l| {
            let rest = l.strip_prefix("{\"path\": \"")?;
            let end = rest.find("\", \"type\"")?;
            let p = &rest[..end];
            let size: u64 = l
                .split("\"size\": ")
                .nth(1)?
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            if size > CAT_MAX_SIZE {
                return None;
            }
            // Only plain names: the held-out images' trees are ASCII-ish
            // and escapes would need a JSON parser.
            (!p.contains('\\')).then(|| p.to_owned())
        })
        .collect()
}

fn images(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "img"))
        .collect();
    v.sort();
    v
}

/// Byte ranges worth extra attention in any image: the partition-table
/// sectors and the superblocks of every format fsimage reads.
const HOT: [(u64, u64); 8] = [
    (0, 512),
    (512, 1024),
    (1024, 2048),
    (8192, 2048),
    (32768, 4096),
    (65536, 4096),
    (16384, 8192),
    (131072, 8192),
];

#[test]
#[ignore = "held-out gauntlet: run through fuzz/heldout.sh"]
fn heldout_gauntlet() {
    let dir = PathBuf::from(
        std::env::var_os("FSIMAGE_HELDOUT_DIR")
            .expect("FSIMAGE_HELDOUT_DIR: a folder of *.img (fuzz/heldout.sh makes one)"),
    );
    let cases: u64 = std::env::var("FSIMAGE_HELDOUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let (ls, cat) = (tool("fsimage-ls"), tool("fsimage-cat"));
    assert!(ls.exists() && cat.exists(), "run `cargo build --workspace`");
    let imgs = images(&dir);
    assert!(!imgs.is_empty(), "no *.img in {}", dir.display());
    let mut failures = Vec::new();
    let (mut runs, mut listed, mut read, mut peak) = (0u64, 0u64, 0u64, 0u64);
    let mut slowest = Duration::ZERO;
    for img in &imgs {
        let name = img.file_name().unwrap_or_default().to_string_lossy();
        let base = Arc::new(std::fs::read(img).expect("read image"));
        let size = base.len() as u64;
        // Metadata: non-zero blocks of the first 2 MiB, the last MiB (ZFS
        // labels, GPT backup) and the first 512 KiB of every partition.
        let mut areas = vec![(0, 2 << 20), (size.saturating_sub(1 << 20), size)];
        let mut hot = HOT.to_vec();
        if let Ok(layout) = fsimage::disk::parse(&base.as_slice()) {
            for p in &layout.partitions {
                areas.push((p.start, p.start.saturating_add(512 << 10)));
                hot.push((p.start, 4096));
                hot.push((p.start.saturating_add(65536), 4096));
            }
        }
        let outside = |off: u64| !areas.iter().any(|&(s, e)| off >= s && off < e);
        let meta = mutate::metadata_blocks(&base, &outside);
        let mut scratch = Scratch::new(&base, &format!("heldout-{name}"));
        let first = name_seed(&name);
        for i in 0..cases {
            let seed = first.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut m = Mutated::new(base.clone());
            let what = mutate::mutate(&mut m, &meta, &hot, seed);
            let undo = scratch.apply(&m);
            let sandbox = seed % 2 == 0;
            let label = format!("{name} seed {seed:#x} sandbox {sandbox}: {what}");
            let with_mode = |c: &mut Command| {
                if !sandbox {
                    c.arg("--no-sandbox");
                }
            };
            let mut c = Command::new(&ls);
            c.args(["-R", "--json"]);
            with_mode(&mut c);
            c.arg(&scratch.path);
            runs += 1;
            let paths = match run(&mut c) {
                Err(e) => {
                    failures.push(format!("{label}: fsimage-ls: {e}"));
                    Vec::new()
                }
                Ok(o) => {
                    peak = peak.max(o.max_rss);
                    slowest = slowest.max(o.elapsed);
                    if let Some(bad) = judge(&o) {
                        failures.push(format!("{label}: fsimage-ls: {bad}"));
                    }
                    if o.status == 0 {
                        listed += 1;
                    }
                    files(&o.stdout)
                }
            };
            for chunk in paths.chunks(CAT_FILES).take(1) {
                let mut c = Command::new(&cat);
                with_mode(&mut c);
                c.arg(&scratch.path).args(chunk);
                runs += 1;
                match run(&mut c) {
                    Err(e) => failures.push(format!("{label}: fsimage-cat: {e}")),
                    Ok(o) => {
                        peak = peak.max(o.max_rss);
                        slowest = slowest.max(o.elapsed);
                        if let Some(bad) = judge(&o) {
                            failures.push(format!("{label}: fsimage-cat: {bad}"));
                        }
                        if o.status == 0 {
                            read += 1;
                        }
                    }
                }
            }
            scratch.restore(undo);
        }
    }
    eprintln!(
        "held-out gauntlet: {} images x {cases} cases, {runs} tool runs; \
         {listed} listings and {read} cat runs succeeded; peak RSS {} MiB; \
         slowest run {:.1} s; {} failures",
        imgs.len(),
        peak >> 20,
        slowest.as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} held-out cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
