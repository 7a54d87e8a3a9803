//! fine_granularity: ten threads, one mutex, taken and released around every increment.
//!
//! What the lecture wants you to see: it is many times slower than coarse_granularity, and the
//! context switches say why: with a short critical section the lock changes hands constantly,
//! and every thread that finds it taken sleeps in the kernel and must be woken again.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};
use oslab::sync::mutex::{LockArgs, Mutex};

/// Ten threads increment a counter, taking one mutex around each increment.
///
/// The lecture's granularity.c built with -D FINE_GRAINED: NUM_THREADS 10 × NUM_STEPS 2000000,
/// `for (...) { lock; ++var; unlock; }`. Short critical sections: the lock changes hands
/// constantly, and the analysis counts the context switches that costs.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: fine_granularity --threads 2 --steps 200000"
)]
struct Args {
    #[command(flatten)]
    lock: LockArgs,

    #[command(flatten)]
    race: RaceArgs,
}

struct Fine {
    lock: Mutex,
}

impl Program for Fine {
    fn step(&self, var: &Var, delta: i32) {
        // pthread_mutex_lock(&lock); ++var; pthread_mutex_unlock(&lock);  every single step
        let _locked = self.lock.lock();
        var.add(delta);
    }
}

const DEMO: race::Demo = race::Demo {
    name: "fine_granularity",
    variant: "one mutex around each ++var",
    threads: 10,
    steps: 2_000_000,
    claim: race::Claim::Fine,
    compare: "perf stat -e context-switches fine_granularity; will-it-scale pthread_mutex1_threads -t 2",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    let kind = args.lock.lock;
    race::run(&DEMO, &args.race, Some(kind), || Fine {
        lock: Mutex::new(kind),
    })
}
