//! race_condition: two threads run `++var` a million times each with nothing protecting it.
//!
//! What the lecture wants you to see: var ends well below 2000000, and differently every run.
//! `++var` is not one step but three (load, add, store); when both threads load the same value,
//! both store value + 1 and one increment is lost.

use std::process::ExitCode;

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};

/// Two threads increment a shared counter with no protection, and updates are lost.
///
/// The lecture's race_condition.c: NUM_THREADS 2 × NUM_STEPS 1000000 of `++var`, timed around
/// thread creation and join. `++var` is a load, an add and a store; another thread's increments
/// between them are overwritten. Needs two CPUs to show (see --cpu).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: race_condition --trials 5   (then: race_condition --cpu 0)"
)]
struct Args {
    #[command(flatten)]
    race: RaceArgs,
}

/// Nothing guards `var`.
struct Unprotected;

impl Program for Unprotected {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // ++var, unprotected: a separate load and store (see Var::add), with no lock around them.
        var.add(delta);
    }
}

const DEMO: race::Demo = race::Demo {
    name: "race_condition",
    variant: "nothing (load, add, store)",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Lost,
    compare: "perf c2c record -- race_condition; perf c2c report   (the one cache line both CPUs write)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run(&DEMO, &args.race, None, || Unprotected)
}
