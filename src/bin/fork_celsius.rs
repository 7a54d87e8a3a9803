//! fork_celsius: a parent forks N children; each converts one temperature, prints it and exits.
//!
//! What the lecture wants you to see: `fork()` returns twice, and from then on parent and child
//! run on their own. The children print in whatever order the scheduler runs them, and the
//! parent's `Spawned` line lands anywhere among theirs: run it twice and compare. The lecture's
//! parent does not wait for its children, so they can outlive it; the kernel then gives them a
//! new parent (`--no-wait` shows which).
//!
//! The lecture's program (`thread_celsius.c`, CPython Internals, "Parallelism and
//! Concurrency"), in outline:
//!
//! ```c
//! for (int i = 1; i <= number; i++) {
//!     double f_value = 100 + i * 10;
//!     if (fork() == 0) {                               /* the child */
//!         printf("%f F is %f C (pid %d)\n", f_value, celsius(f_value), getpid());
//!         exit(0);
//!     }
//! }                                                    /* the parent: on at once, no wait */
//! printf("Spawned %d processes from %d\n", number, getpid());
//! ```

use std::process::ExitCode;

use clap::Parser;
use nix::unistd::getpid;
use oslab::demos::processes::fork_celsius::{
    self as lab, Adopter, ChildReport, ForkFailed, Lecture,
};
use oslab::kit;
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::process::{self, Forked};

// static const double five_ninths = 5.0/9.0;
const FIVE_NINTHS: f64 = 5.0 / 9.0;

// double celsius(double f) { return (f - 32) * five_ninths; }
fn celsius(f: f64) -> f64 {
    (f - 32.0) * FIVE_NINTHS
}

/// The lecture's main(): one fork per temperature, then the `Spawned` line, and no wait(). Each
/// child runs [`child`] and never comes back. The loop stops at a fork that fails.
fn thread_celsius(number: u32, lab: &mut Lecture) -> Result<(), ForkFailed> {
    for i in 1..=number {
        let f_value = f64::from(100 + i * 10); // double f_value = 100 + (i*10);
        let forked_ns = lab.now();
        match process::fork(&lab.single) {
            // pid_t child = fork(); if (child == 0) { ... }
            Ok(Forked::Child) => {
                process::forget_inherited(&mut lab.kids); // my siblings, not my children
                process::run_child(|| child(i, f_value, forked_ns, lab))
            }
            Ok(Forked::Parent(kid)) => lab.kids.push(kid),
            Err(error) => return Err(ForkFailed { child: i, error }),
        }
    }
    // printf("Spawned %d processes from %d\n", number, getpid());
    lab.out
        .lecture(format_args!("Spawned {number} processes from {}", getpid()));
    Ok(()) // return 0; with no wait(): the demo reaps the children (--no-wait: their adopter)
}

/// One child: its conversion, its line and `exit(0)`, after a report of the line for the demo.
/// `forked_ns`: when the parent called fork() for it.
fn child(i: u32, f_value: f64, forked_ns: u64, lab: &mut Lecture) -> i32 {
    let started_ns = lab.now();
    let c_value = celsius(f_value); // double c_value = celsius(f_value);
    // printf("%f F is %f C (pid %d)\n", f_value, c_value, getpid());
    lab.out.lecture(format_args!(
        "{f_value:.6} F is {c_value:.6} C (pid {})",
        getpid()
    ));
    let line_ns = lab.now();
    let pid = getpid().as_raw();
    // exit(0); once the demo has the report (and, with --no-wait, has seen who adopted us)
    lab.exit(ChildReport {
        index: i,
        fahrenheit: f_value,
        celsius: c_value,
        pid,
        forked_ns,
        started_ns,
        line_ns,
    })
}

/// Fork one child per temperature; each prints its conversion and exits.
///
/// The CPython Internals fork example (thread_celsius.c): for i = 1..N the parent forks a child
/// that prints `%f F is %f C (pid %d)` for f = 100 + 10·i, then prints `Spawned N processes from
/// PID`. The lines interleave as the scheduler runs the processes. Ours waits for every child;
/// --no-wait keeps the lecture's parent, which leaves orphans behind, and shows who adopts them.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: fork_celsius 8 --no-wait")]
struct Args {
    /// Children to fork, one temperature each [1-4096]
    #[arg(default_value_t = 4, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, lab::MAX_CHILDREN))]
    number: u32,

    /// Do as the lecture's parent: end without waiting for the children (they become orphans,
    /// and another process adopts them)
    #[arg(long)]
    no_wait: bool,

    /// With --no-wait, who adopts the orphans: `demo` (this program makes itself a child
    /// subreaper, then adopts and reaps them) or `system` (the nearest subreaper above this
    /// program, or PID 1, as on a plain system; the demo waits up to 5 s to see them reaped)
    #[arg(long, value_enum, default_value_t = Adopter::Demo, requires = "no_wait")]
    adopter: Adopter,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = kit::parse("fork_celsius");
    let params = lab::Params::new(args.number, args.no_wait.then_some(args.adopter));
    kit::run("fork_celsius", &args.common, params, |s| {
        lab::run(s, params, |lab| thread_celsius(args.number, lab))
    })
}
