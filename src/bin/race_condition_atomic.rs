//! race_condition_atomic: the same increments, each one atomic_fetch_add.
//!
//! What the lecture wants you to see: var is exactly 2000000 every time, at a cost: the CPU
//! locks the cache line for the whole read-modify-write, and the line moves between the CPUs
//! on every increment. Cheaper than any lock, dearer than the racy version.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};

/// Two threads increment a shared counter with an atomic fetch_add: nothing is lost.
///
/// The lecture's race_condition_atomic_gcc.c: `atomic_fetch_add(&var, 1)` (`lock xadd` on x86)
/// instead of `++var`. One indivisible read-modify-write, so no increment is overwritten.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: race_condition_atomic --trials 5")]
struct Args {
    #[command(flatten)]
    race: RaceArgs,
}

struct Atomic;

impl Program for Atomic {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // atomic_fetch_add(&var, 1): one indivisible read-modify-write. SeqCst, as C11's
        // atomic_fetch_add is; on x86 every ordering compiles to the same `lock xadd`.
        var.atomic().fetch_add(delta, Ordering::SeqCst);
    }
}

const DEMO: race::Demo = race::Demo {
    name: "race_condition_atomic",
    variant: "atomic fetch_add (lock xadd)",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Atomic,
    compare: "stress-ng --atomic 2 --metrics-brief -t 3   (atomic ops/s on this machine)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run(&DEMO, &args.race, None, || Atomic)
}
