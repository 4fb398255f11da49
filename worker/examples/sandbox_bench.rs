//! Sandbox overhead benchmark (run by `benches/sandbox.sh`):
//!
//! ```text
//! sandbox_bench IMAGE BIG_PATH SMALL_PATH [ROUNDS]
//! ```
//! 1. reads BIG_PATH whole, in 8 MiB positional reads, sandboxed and in
//!    process (alternating, best of ROUNDS);
//! 2. opens IMAGE and reads SMALL_PATH, a fresh open each time (worker
//!    start included), sandboxed and in process: median and p90 of 50.

use fsimage::OpenOptions;
use std::time::{Duration, Instant};

/// target/release: examples live one folder below the plugins and worker.
fn build_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("build dir");
    dir.to_path_buf()
}

fn open(img: &str, sandbox: bool) -> fsimage::Filesystem {
    let dir = build_dir();
    OpenOptions::new()
        .sandbox(sandbox)
        .plugin_dir(&dir)
        .worker_path(dir.join("fsimage-worker"))
        .open(img)
        .unwrap_or_else(|e| panic!("{img}: {e}"))
}

fn read_big(img: &str, path: &str, sandbox: bool) -> (Duration, u64) {
    let fs = open(img, sandbox);
    let f = fs.open(path).unwrap();
    let mut buf = vec![0u8; 8 << 20];
    let t = Instant::now();
    let (mut off, mut sum) = (0u64, 0u64);
    loop {
        let n = f.read_at(off, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(u64::from(buf[n - 1]));
        off += n as u64;
    }
    std::hint::black_box(sum);
    (t.elapsed(), off)
}

fn small(img: &str, path: &str, sandbox: bool) -> Duration {
    let t = Instant::now();
    let fs = open(img, sandbox);
    let data = fs.read(path).unwrap();
    drop(fs);
    std::hint::black_box(data);
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        eprintln!("usage: sandbox_bench IMAGE BIG_PATH SMALL_PATH [ROUNDS]");
        std::process::exit(2);
    }
    let (img, big, small_path) = (&a[1], &a[2], &a[3]);
    let rounds: usize = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);

    let (mut best_in, mut best_sb) = (Duration::MAX, Duration::MAX);
    let mut size = 0;
    for _ in 0..rounds {
        let (t, n) = read_big(img, big, false);
        best_in = best_in.min(t);
        let (t, n2) = read_big(img, big, true);
        best_sb = best_sb.min(t);
        assert_eq!(n, n2);
        size = n;
    }
    let gib = size as f64 / (1u64 << 30) as f64;
    println!(
        "big file ({size} bytes), best of {rounds}: in-process {:.1} ms ({:.2} GiB/s), sandboxed {:.1} ms ({:.2} GiB/s), ratio {:.3}",
        ms(best_in),
        gib / best_in.as_secs_f64(),
        ms(best_sb),
        gib / best_sb.as_secs_f64(),
        best_sb.as_secs_f64() / best_in.as_secs_f64()
    );

    let stats = |sandbox: bool| {
        let _ = small(img, small_path, sandbox); // warm-up
        let mut v: Vec<Duration> = (0..50).map(|_| small(img, small_path, sandbox)).collect();
        v.sort();
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    let (m_in, p_in) = stats(false);
    let (m_sb, p_sb) = stats(true);
    println!(
        "open + read {small_path}, 50 fresh opens: in-process median {:.2} ms (p90 {:.2}), sandboxed median {:.2} ms (p90 {:.2}), added {:.2} ms",
        ms(m_in),
        ms(p_in),
        ms(m_sb),
        ms(p_sb),
        ms(m_sb.saturating_sub(m_in))
    );
}
