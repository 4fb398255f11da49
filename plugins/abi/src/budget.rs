//! The per-operation work budget (issue 7, "a time or step budget per
//! operation").
//!
//! Every ABI entry point (probe, mount, lookup, read, read_dir, ...) runs
//! under a fresh budget: at most [`MAX_DEVICE_READS`] reads of its devices
//! and at most [`MAX_WALL_TIME`] of wall-clock time. A plugin charges the
//! budget through [`Device`](crate::Device) reads, so a parser that is led
//! round a loop it failed to detect, or through a structure that is merely
//! enormous, stops with an [`Error::Limit`] naming the budget instead of
//! spinning until the sandbox deadline (or forever, in-process).
//!
//! The budget is per thread and per call, kept in a thread-local cell: it
//! is not shared state between mounts or calls, and it costs no syscall
//! (the clock is read through the vDSO, and only every
//! [`CLOCK_EVERY`] reads).
//!
//! Code that calls a [`Filesystem`](crate::Filesystem) directly (unit tests,
//! fuzz targets) runs without a budget unless it opts in with [`run`].

use crate::error::{Error, Result};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Device reads one entry point may make. A lookup in a 100 000-entry
/// directory or an 8 MiB read of 512-byte sectors needs tens of thousands;
/// the core never asks more than 8 MiB of a plugin in one call.
pub const MAX_DEVICE_READS: u64 = 1 << 20;

/// Wall-clock time one entry point may take.
pub const MAX_WALL_TIME: Duration = Duration::from_secs(30);

/// The clock is read once per this many device reads.
pub const CLOCK_EVERY: u64 = 64;

/// The limits of one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Device reads allowed.
    pub reads: u64,
    /// Wall-clock time allowed.
    pub time: Duration,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            reads: MAX_DEVICE_READS,
            time: MAX_WALL_TIME,
        }
    }
}

#[derive(Clone, Copy)]
struct Active {
    limit: Budget,
    used: u64,
    deadline: Option<Instant>,
}

thread_local! {
    static ACTIVE: Cell<Option<Active>> = const { Cell::new(None) };
}

/// Runs `body` under a fresh `budget`; the budget of an enclosing call (if
/// any) is put back afterwards, even if `body` panics.
pub fn run<T>(budget: Budget, body: impl FnOnce() -> T) -> T {
    struct Restore(Option<Active>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(self.0));
        }
    }
    let active = Active {
        limit: budget,
        used: 0,
        deadline: Instant::now().checked_add(budget.time),
    };
    let _restore = Restore(ACTIVE.with(|a| a.replace(Some(active))));
    body()
}

/// Charges one device read to the current budget; an error naming the
/// budget once it is spent. Without a budget, always `Ok`.
pub fn charge() -> Result<()> {
    ACTIVE.with(|a| {
        let Some(mut act) = a.get() else {
            return Ok(());
        };
        act.used = act.used.saturating_add(1);
        a.set(Some(act));
        if act.used > act.limit.reads {
            return Err(Error::Limit(format!(
                "per-operation budget: more than {} device reads",
                act.limit.reads
            )));
        }
        if act.used % CLOCK_EVERY == 0
            && let Some(deadline) = act.deadline
            && Instant::now() > deadline
        {
            return Err(Error::Limit(format!(
                "per-operation budget: more than {} s of wall-clock time",
                act.limit.time.as_secs_f64()
            )));
        }
        Ok(())
    })
}

/// Device reads charged so far to the current budget (`None` without one).
pub fn used() -> Option<u64> {
    ACTIVE.with(|a| a.get().map(|act| act.used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_budget_never_fails() {
        for _ in 0..10 {
            charge().unwrap();
        }
        assert_eq!(used(), None);
    }

    #[test]
    fn read_budget_is_enforced_and_named() {
        let b = Budget {
            reads: 3,
            time: Duration::from_secs(60),
        };
        let r = run(b, || {
            for _ in 0..3 {
                charge()?;
            }
            assert_eq!(used(), Some(3));
            charge()
        });
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Limit(_)));
        assert!(e.to_string().contains("more than 3 device reads"), "{e}");
        assert_eq!(used(), None, "budget removed after the call");
    }

    #[test]
    fn time_budget_is_enforced() {
        let b = Budget {
            reads: u64::MAX,
            time: Duration::ZERO,
        };
        let r: Result<()> = run(b, || {
            std::thread::sleep(Duration::from_millis(2));
            for _ in 0..CLOCK_EVERY {
                charge()?;
            }
            Ok(())
        });
        assert!(r.unwrap_err().to_string().contains("wall-clock"));
    }

    #[test]
    fn nested_budgets_restore_the_outer_one() {
        run(Budget::default(), || {
            charge().unwrap();
            run(Budget::default(), || charge().unwrap());
            assert_eq!(used(), Some(1));
        });
    }
}
