//! race_condition_mutex: `++var` inside a mutex.
//!
//! What the lecture wants you to see: var is exactly 2000000 and this is the slowest fix: a
//! thread that finds the mutex taken sleeps in the kernel (a futex) and must be woken, which
//! costs context switches, far more than the one increment it protects.

use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

use clap::{Parser, ValueEnum};
use oslab::race::{self, Program, RaceArgs, Var};

/// Two threads increment a shared counter inside a mutex: nothing is lost, at the highest cost.
///
/// The lecture's race_condition_mutex.c: pthread_mutex_lock / ++var / pthread_mutex_unlock. A
/// thread that finds the mutex taken sleeps in the kernel until the holder unlocks it.
/// --lock parking_lot swaps in parking_lot's mutex (spins a little, then parks; eventually fair).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: race_condition_mutex --trials 5 --lock parking_lot"
)]
struct Args {
    /// Which mutex: std (std::sync::Mutex, a futex like glibc's) or parking_lot
    #[arg(long, value_enum, default_value_t = Lock::Std)]
    lock: Lock,

    #[command(flatten)]
    race: RaceArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Lock {
    Std,
    #[value(name = "parking_lot", alias = "parking-lot")]
    ParkingLot,
}

// In idiomatic Rust the mutex would own the data (Mutex<i32>). Here it guards `var` the way the
// C program's lock does, so the five programs differ only in the lines that differ in C.
struct WithMutex {
    lock: Mutex<()>,
    var: Var,
}

impl Program for WithMutex {
    fn var(&self) -> &Var {
        &self.var
    }

    fn step(&self, delta: i32) {
        // pthread_mutex_lock(&lock);  (a poisoned lock only means another thread panicked)
        let _locked = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.var.add(delta); // ++var
        // pthread_mutex_unlock(&lock);  (when _locked goes out of scope)
    }
}

struct WithParkingLot {
    lock: parking_lot::Mutex<()>,
    var: Var,
}

impl Program for WithParkingLot {
    fn var(&self) -> &Var {
        &self.var
    }

    fn step(&self, delta: i32) {
        let _locked = self.lock.lock();
        self.var.add(delta);
    }
}

const STD: race::Demo = race::Demo {
    name: "race_condition_mutex",
    variant: "std::sync::Mutex around each ++var",
    threads: 2,
    steps: 1_000_000,
    racy: false,
    explain_switches: false,
    lesson: "a mutex puts a waiting thread to sleep in the kernel: right for long critical sections, but here each handover costs more than the increment",
    compare: "stress-ng --mutex 2 --metrics-brief -t 3; will-it-scale pthread_mutex1_threads -t 2   (a contended lock)",
};

const PARKING_LOT: race::Demo = race::Demo {
    variant: "parking_lot::Mutex around each ++var",
    ..STD
};

fn main() -> ExitCode {
    let args: Args = race::parse(&STD, |a: &Args| &a.race);
    match args.lock {
        Lock::Std => race::run(&STD, &args.race, || WithMutex {
            lock: Mutex::new(()),
            var: Var::new(),
        }),
        Lock::ParkingLot => race::run(&PARKING_LOT, &args.race, || WithParkingLot {
            lock: parking_lot::Mutex::new(()),
            var: Var::new(),
        }),
    }
}
