//! coarse_granularity: two threads, one mutex, held around each thread's whole loop.
//!
//! What the lecture wants you to see: this is fast, but only because the threads run one after
//! another: each takes the lock once, does its million increments and leaves. Almost no
//! context switches and no parallelism at all. Compare fine_granularity.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var, Work};
use oslab::sync::mutex::{Lock, LockArgs};

/// Two threads increment a counter, each holding one mutex around its whole loop.
///
/// The lecture's granularity.c built with -D COARSE_GRAINED, `lock; for (...) ++var; unlock;`,
/// run as the slide runs it: 2 threads × 1000000 (--as-coded: the code's NUM_THREADS 10 ×
/// NUM_STEPS 2000000). Large critical sections: few context switches, no parallelism.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: coarse_granularity --as-coded   (then fine_granularity --as-coded)"
)]
struct Args {
    #[command(flatten)]
    lock: LockArgs,

    #[command(flatten)]
    race: RaceArgs,
}

struct Coarse<L> {
    lock: L,
}

impl<L: Lock> Program for Coarse<L> {
    fn step(&'static self, var: &'static Var, delta: i32) {
        var.add(delta); // ++var; only ever called with the lock held, below
    }

    fn thread_body(&'static self, var: &'static Var, steps: u64, delta: i32, work: &Work<'_>) {
        // pthread_mutex_lock(&lock);  once, around the whole loop
        let _locked = self.lock.lock();
        var.note_owner(); // the lab's count: did another thread hold the lock last?
        work.run(steps, |n| {
            for _ in 0..n {
                self.step(var, delta);
            }
        });
        // pthread_mutex_unlock(&lock);
    }
}

race::locked!(Coarse);

const DEMO: race::Demo = race::Demo {
    name: "coarse_granularity",
    variant: "one mutex around each thread's whole loop",
    threads: 2,
    steps: 1_000_000,
    coded: Some((10, 2_000_000)),
    claim: race::Claim::Coarse,
    compare: "perf stat -e context-switches coarse_granularity; will-it-scale pthread_mutex1 vs pthread_mutex2 (one lock vs a lock per task)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run_locked::<Coarse<()>>(&DEMO, &args.race, args.lock.lock)
}
