//! oslab: the lecture demos' shared library.
//!
//! Every binary in `src/bin/` is one lecture program; what is not the lecture lives here, once:
//!
//! - [`demos`]: each demo's lab bench (its result types, the orchestration that is not the
//!   lecture, the analysis and the verdict), one module per chapter of the catalogue;
//! - [`kit`]: what every demo uses the same way: the flags, the run contract ([`kit::run`]), the
//!   report, timing, statistics, histograms, progress, pauses, input, Ctrl-C, the machine;
//! - [`proc`]: the kernel's own accounting read back from `/proc`: counters, task states, the
//!   process tree;
//! - [`process`]: fork, wait, the `Child` guard, limits, scheduling requests, the one channel
//!   from a child to its parent;
//! - [`sync`]: the primitives the lecture teaches: spinlock, mutex choices, semaphore, start
//!   gate, wait-for graph;
//! - [`sys`]: the only module with `unsafe` code, one syscall family per file;
//! - [`catalogue`]: every demo, its chapter, concept, tour flags and compare families;
//! - [`pictures`]: which report draws which picture (`--plot`, `oslab plot`);
//! - [`umbrella`]: how `oslab tour` and `oslab compare` run each demo (and pass Ctrl-C on).

/// oslab's version and the git commit it was built from: `0.1.0 (1a2b3c4d5e6f)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("OSLAB_GIT_COMMIT"),
    ")"
);

pub mod catalogue;
pub mod demos;
pub mod error;
pub mod kit;
pub mod lab_report;
pub mod pictures;
pub mod proc;
pub mod process;
pub mod sync;
pub mod sys;
pub mod umbrella;

pub use error::{Error, Result};

#[cfg(test)]
mod shape;

/// Helpers for the library's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use nix::sys::signal::Signal;

    use crate::kit::machine::Machine;
    use crate::kit::{Context, Findings, Verdict};
    use crate::proc::counters::Delta;

    /// This machine, read once for every test.
    pub fn machine() -> &'static Machine {
        static MACHINE: OnceLock<Machine> = OnceLock::new();
        MACHINE.get_or_init(Machine::collect)
    }

    /// The context the kit gives an analysis of fixed results: `machine` (this one unless a
    /// test changes it), no counters, stopped by `stopped`, no `--cpu`.
    pub fn context_on(machine: &Machine, stopped: Option<Signal>) -> Context<'_> {
        static COUNTERS: Delta = Delta {
            minflt: 0,
            majflt: 0,
            voluntary_cs: 0,
            nonvoluntary_cs: 0,
            threads: 0,
            rss_kib: 0,
            utime_us: 0,
            stime_us: 0,
        };
        Context {
            machine,
            counters: &COUNTERS,
            stopped,
            cpu: None,
        }
    }

    /// This machine's context, not stopped.
    pub fn context() -> Context<'static> {
        context_on(machine(), None)
    }

    /// What the kit prints after the lecture's lines for fixed findings, on this machine:
    /// the verdict, the lesson and the analysis lines.
    pub fn judge<F: Findings>(findings: &F, params: &F::Params) -> (Verdict, String, Vec<String>) {
        judge_on(findings, params, &context())
    }

    /// The same in a given context (another machine, a stopped run).
    pub fn judge_on<F: Findings>(
        findings: &F,
        params: &F::Params,
        cx: &Context<'_>,
    ) -> (Verdict, String, Vec<String>) {
        (
            findings.verdict(params, cx),
            findings.lesson(params, cx),
            findings.analysis(params, cx),
        )
    }

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
