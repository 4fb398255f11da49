//! Gauntlet case runner: each case runs on its own thread under a watchdog
//! (a time bound) with panics caught, and a counting allocator bounds the
//! memory a case thread holds and the largest single allocation it asks for.
//! Included by `#[path]` from the gauntlet tests (beside `mutate.rs`, as
//! `mutate`), which install [`CountingAlloc`] as their `#[global_allocator]`.

#![allow(unsafe_code)]

use super::mutate::name_seed;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::mpsc;
use std::time::{Duration, Instant};

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting on threads that asked for it.
pub struct CountingAlloc;

fn note_alloc(size: usize) {
    let _ = TRACK.try_with(|t| {
        if t.get() {
            let live = LIVE.with(|l| {
                let v = l.get().saturating_add(size);
                l.set(v);
                v
            });
            PEAK.with(|p| p.set(p.get().max(live)));
            LARGEST.with(|m| m.set(m.get().max(size)));
        }
    });
}

fn note_free(size: usize) {
    let _ = TRACK.try_with(|t| {
        if t.get() {
            LIVE.with(|l| l.set(l.get().saturating_sub(size)));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping
// touches only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What one case did.
#[derive(Debug)]
pub struct CaseStats {
    /// Wall time.
    #[allow(dead_code)]
    pub elapsed: Duration,
    /// Most bytes the case thread held at once.
    #[allow(dead_code)]
    pub peak: usize,
    /// Largest single allocation.
    #[allow(dead_code)]
    pub largest: usize,
}

/// Limits for [`run_case`].
#[derive(Debug, Clone, Copy)]
pub struct CaseLimits {
    /// Wall-time bound.
    pub time: Duration,
    /// Bound on bytes held at once by the case thread.
    pub peak: usize,
}

/// Runs `f` on a fresh thread; fails (naming `label`) on a panic, on
/// overrunning the time bound, or on holding more memory than allowed.
pub fn run_case<F>(label: &str, limits: CaseLimits, f: F) -> Result<CaseStats, String>
where
    F: FnOnce() + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .name(label.to_owned())
        .stack_size(8 << 20)
        .spawn(move || {
            TRACK.with(|t| t.set(true));
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let peak = PEAK.with(|p| p.get());
            let largest = LARGEST.with(|m| m.get());
            TRACK.with(|t| t.set(false));
            let msg = r.err().map(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            });
            let _ = tx.send((msg, peak, largest));
        })
        .map_err(|e| format!("{label}: cannot spawn: {e}"))?;
    match rx.recv_timeout(limits.time) {
        Ok((None, peak, largest)) => {
            if peak > limits.peak {
                return Err(format!(
                    "{label}: held {peak} bytes at once (limit {}), largest allocation {largest}",
                    limits.peak
                ));
            }
            Ok(CaseStats {
                elapsed: start.elapsed(),
                peak,
                largest,
            })
        }
        Ok((Some(msg), ..)) => Err(format!("{label}: panicked: {msg}")),
        // The thread cannot be killed; it is left behind and the test fails.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "{label}: no result within {:?} (hang?)",
            limits.time
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{label}: thread died")),
    }
}

/// Cases per fixture: `FSIMAGE_GAUNTLET_CASES` or the default.
pub fn cases(default: u64) -> u64 {
    std::env::var("FSIMAGE_GAUNTLET_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seeds of a fixture's cases: `FSIMAGE_GAUNTLET_SEED` alone, or
/// [`cases`]`(default)` seeds spread from the fixture's name.
pub fn seeds(name: &str, default: u64) -> Vec<u64> {
    if let Some(s) = std::env::var("FSIMAGE_GAUNTLET_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return vec![s];
    }
    let base = name_seed(name);
    (0..cases(default))
        .map(|i| base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect()
}

/// Fails the test if no case ran or any failed, listing the failures.
pub fn report(failures: &[String], n: usize) {
    assert!(n > 0, "no cases ran");
    assert!(
        failures.is_empty(),
        "{} of {n} gauntlet cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
