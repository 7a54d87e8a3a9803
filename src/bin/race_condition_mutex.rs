//! race_condition_mutex: `++var` inside a mutex.
//!
//! What the lecture wants you to see: var is exactly 2000000 and this is the slowest fix: a
//! thread that finds the mutex taken sleeps in the kernel (a futex) and must be woken, which
//! costs context switches, far more than the one increment it protects.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};
use oslab::sync::mutex::{Lock, LockArgs};

/// Two threads increment a shared counter inside a mutex: nothing is lost, at the highest cost.
///
/// The lecture's race_condition_mutex.c: pthread_mutex_lock / ++var / pthread_mutex_unlock. A
/// thread that finds the mutex taken sleeps in the kernel until the holder unlocks it.
/// --lock picks the mutex: Rust's std (default), glibc's pthread (the lecture's) or parking_lot.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: race_condition_mutex --trials 5 --lock pthread"
)]
struct Args {
    #[command(flatten)]
    lock: LockArgs,

    #[command(flatten)]
    race: RaceArgs,
}

// In idiomatic Rust the mutex would own the data (Mutex<i32>). Here it guards `var` the way the
// C program's lock does, so the five programs differ only in the lines that differ in C. The
// lock is in place, var right after it: `static pthread_mutex_t lock; static int var;`.
struct WithMutex<L> {
    lock: L,
}

impl<L: Lock> Program for WithMutex<L> {
    fn step(&'static self, var: &'static Var, delta: i32) {
        let _locked = self.lock.lock(); // pthread_mutex_lock(&lock);
        var.add(delta); // ++var;
        // pthread_mutex_unlock(&lock);  (when _locked goes out of scope)
    }
}

race::locked!(WithMutex);

const DEMO: race::Demo = race::Demo {
    name: "race_condition_mutex",
    variant: "a mutex around each ++var",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Mutex,
    compare: "stress-ng --mutex 2 --metrics-brief -t 3; will-it-scale pthread_mutex1_threads -t 2   (a contended lock)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run_locked::<WithMutex<()>>(&DEMO, &args.race, args.lock.lock)
}
