//! oslab: the shared toolkit behind the demos.
//!
//! Every binary in `src/bin/` is one lecture demo. What they share lives here, once, one concern
//! per module: timing and trials, latency statistics, `/proc` counters, the report printed as
//! text, JSON or CSV, the common flags, the progress bar, the pause points, the system
//! description, and `sys`, the only module with `unsafe` code.

pub mod catalogue;
pub mod cli;
pub mod counters;
pub mod error;
pub mod forks;
pub mod gate;
pub mod histogram;
pub mod input;
pub mod interrupt;
pub mod mutex;
pub mod pause;
pub mod process;
pub mod progress;
pub mod race;
pub mod report;
pub mod sched;
pub mod semaphore;
pub mod spinlock;
pub mod stats;
pub mod sys;
pub mod system;
pub mod tasks;
pub mod timing;
pub mod waitgraph;

pub use error::{Error, Result};

/// Helpers for the library's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    /// Runs `threads` threads that each make `steps` non-atomic increments (a separate load and
    /// store), every one inside `locked`, and asserts that none was lost: the lock excludes.
    pub fn assert_excludes(threads: usize, steps: u64, locked: impl Fn(&dyn Fn()) + Sync) {
        let var = AtomicU64::new(0);
        let bump = || {
            let v = var.load(Relaxed);
            var.store(v + 1, Relaxed);
        };
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..steps {
                        locked(&bump);
                    }
                });
            }
        });
        assert_eq!(var.load(Relaxed), threads as u64 * steps);
    }
}
