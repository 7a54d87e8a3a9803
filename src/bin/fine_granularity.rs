//! fine_granularity: two threads, one mutex, taken and released around every increment.
//!
//! What the lecture wants you to see: it is many times slower than coarse_granularity. The
//! analysis counts how often the lock changed hands and the context switches: on several CPUs
//! the lock mostly moves between running threads (its cache line), and a switch per step, the
//! lab quiz's answer, is the worst case.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};
use oslab::sync::mutex::{Lock, LockArgs};

/// Two threads increment a counter, taking one mutex around each increment.
///
/// The lecture's granularity.c built with -D FINE_GRAINED, `for (...) { lock; ++var; unlock; }`,
/// run as the slide runs it: 2 threads × 1000000 (--as-coded: the code's NUM_THREADS 10 ×
/// NUM_STEPS 2000000). The analysis counts the lock's handovers and the context switches.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: fine_granularity --cpu 0   (one CPU: each handover of the lock is a switch)"
)]
struct Args {
    #[command(flatten)]
    lock: LockArgs,

    #[command(flatten)]
    race: RaceArgs,
}

struct Fine<L> {
    lock: L,
}

impl<L: Lock> Program for Fine<L> {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // pthread_mutex_lock(&lock); ++var; pthread_mutex_unlock(&lock);  every single step
        let _locked = self.lock.lock();
        var.add(delta);
        var.note_owner(); // the lab's count: did another thread hold the lock last?
    }
}

race::locked!(Fine);

const DEMO: race::Demo = race::Demo {
    name: "fine_granularity",
    variant: "one mutex around each ++var",
    threads: 2,
    steps: 1_000_000,
    coded: Some((10, 2_000_000)),
    claim: race::Claim::Fine,
    compare: "perf stat -e context-switches fine_granularity; will-it-scale pthread_mutex1_threads -t 2",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run_locked::<Fine<()>>(&DEMO, &args.race, args.lock.lock)
}
