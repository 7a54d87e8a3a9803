//! race_condition_spinlock: `++var` inside a spinlock, the slide's test-and-set loop.
//!
//! What the lecture wants you to see: var is exactly 2000000, and the spinlock is cheap here
//! because the critical section is one increment: a waiting thread spins for a few nanoseconds
//! instead of sleeping. Look at fairness too: whoever spins at the right moment wins.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};
use oslab::sync::spinlock::Spinlock;

/// Two threads increment a shared counter inside a test-and-set spinlock: nothing is lost.
///
/// The lecture's race_condition_spinlock.c, with the slide's spinlock
/// `while (atomic_flag_test_and_set(&lock)) ;  ...  lock = 0;` (oslab::sync::spinlock) around `++var`.
/// A waiting thread spins on its CPU rather than sleeping.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: race_condition_spinlock --trials 5")]
struct Args {
    #[command(flatten)]
    race: RaceArgs,
}

struct WithSpinlock {
    lock: Spinlock,
}

impl Program for WithSpinlock {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // while (atomic_flag_test_and_set(&lock)) ;
        let _locked = self.lock.lock();
        // ++var: the same load, add, store as race_condition, but only one thread is here.
        var.add(delta);
        // lock = 0;  (when _locked goes out of scope)
    }
}

const DEMO: race::Demo = race::Demo {
    name: "race_condition_spinlock",
    variant: "test-and-set spinlock around each ++var",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Spinlock,
    compare: "perf stat -e context-switches,cycles race_condition_spinlock   (no switches; the waiting is all cycles)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run(&DEMO, &args.race, None, || WithSpinlock {
        lock: Spinlock::new(),
    })
}
