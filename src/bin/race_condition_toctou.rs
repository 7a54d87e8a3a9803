//! race_condition_toctou: `++var` behind a flag that is checked, then set: the slide's mistake.
//!
//! What the lecture wants you to see: `if (lock == 0) { lock = 1; ... }` is not a lock. The
//! check and the set are two instructions; two threads can both read 0 before either writes 1,
//! and both are inside the critical section at once: var still ends below 2000000.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

use clap::Parser;
use oslab::demos::synchronisation::race::{self, Program, RaceArgs, Var};

/// Two threads increment a shared counter behind a flag checked, then set (TOCTOU): it lets
/// both in.
///
/// The slide "Synchronization Mistake – TOCTOU": `if (lock == 0) { lock = 1; ++var; lock = 0; }`
/// in race_condition.c's loop, counting the threads inside together; race_condition_spinlock's
/// test-and-set is the fix. The threads go one per usable CPU (--spread); --cpu 0 shares one.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: race_condition_toctou --trials 5   (then: race_condition_spinlock)"
)]
struct Args {
    #[command(flatten)]
    race: RaceArgs,
}

/// `static int lock;`: a plain flag, read and written with separate relaxed accesses (each is
/// atomic, the pair is not), as the C's `int` at -O0: no undefined behaviour, the same race.
struct CheckThenSet {
    lock: AtomicI32,
}

impl Program for CheckThenSet {
    fn step(&'static self, var: &'static Var, delta: i32) {
        // The slide's `if`, tried again until it lets this thread in: every step is one ++var.
        loop {
            // if (lock == 0) {     time of check
            if self.lock.load(Relaxed) == 0 {
                // lock = 1;        time of use: another thread may have read the 0 meanwhile
                self.lock.store(1, Relaxed);
                var.enter(); // the lab's count of the threads inside (not the lecture's code)
                var.add(delta); // ++var
                var.leave();
                // lock = 0; }
                self.lock.store(0, Relaxed);
                return;
            }
            std::hint::spin_loop(); // } else: the flag was set; check again
        }
    }
}

const DEMO: race::Demo = race::Demo {
    name: "race_condition_toctou",
    variant: "a flag checked, then set (if (lock == 0) lock = 1)",
    threads: 2,
    steps: 1_000_000,
    coded: None,
    claim: race::Claim::Toctou,
    compare: "race_condition_spinlock   (the same flag, set by one test-and-set: var is exact)",
};

fn main() -> ExitCode {
    let args: Args = race::parse(&DEMO, |a: &Args| &a.race);
    race::run(&DEMO, &args.race, None, || CheckThenSet {
        lock: AtomicI32::new(0),
    })
}
