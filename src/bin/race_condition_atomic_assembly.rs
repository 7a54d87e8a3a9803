//! race_condition_atomic_assembly: the atomic increment written as the instruction itself.
//!
//! What the lecture wants you to see: "atomic" is not magic in the compiler, it is one x86
//! instruction with a `lock` prefix, which makes the CPU own the cache line for the whole
//! read-modify-write. Same result, same cost, as race_condition_atomic.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};
use oslab::sys::asm::{lock_dec, lock_inc};

/// Two threads increment a shared counter with the instruction `lock inc`: nothing is lost.
///
/// The lecture's race_condition_atomic_assembly.c: `asm volatile("lock incl %0" : "+m" (var))`.
/// The asm lives in oslab::sys::asm::lock_inc, with the reason it is sound. See it in the binary:
/// objdump -d target/release/race_condition_atomic_assembly | grep 'lock inc'
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: race_condition_atomic_assembly --trials 5"
)]
struct Args {
    #[command(flatten)]
    race: RaceArgs,
}

struct Assembly;

impl Program for Assembly {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // asm volatile("lock incl %0" : "+m" (var));   (lock decl for --decrement)
        if delta > 0 {
            lock_inc(var.atomic());
        } else {
            lock_dec(var.atomic());
        }
    }
}

const DEMO: race::Demo = race::Demo {
    name: "race_condition_atomic_assembly",
    variant: "inline asm lock inc",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Atomic,
    compare: "objdump -d target/release/race_condition_atomic_assembly | grep 'lock inc'; stress-ng --atomic 2 --metrics-brief -t 3",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run(&DEMO, &args.race, None, || Assembly)
}
