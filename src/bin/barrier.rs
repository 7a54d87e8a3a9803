//! barrier: threads print a line, wait at a barrier until all have arrived, print another.
//!
//! What the lecture wants you to see: without the barrier each thread prints its "Before" and
//! "After" lines as it goes, so the lines of different threads interleave any which way. With
//! `--use-barrier` no thread passes the barrier until every thread has reached it: all the
//! "Before" lines come first, then all the "After" lines (each group in any order).
//!
//! This one checks that property instead of leaving it to the eye: every printed line is logged
//! in the order it was printed, and the analysis says whether every Before came before every
//! After. `--rounds K` runs the program K times and counts the rounds where the order held.

use std::process::ExitCode;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use clap::Parser;
use oslab::demos::synchronisation::barrier::{self as lab, Line, Log, ThreadRun};
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::{self};

/// Display the functionality of a barrier: no thread passes it until all have reached it.
///
/// The lecture's barrier.py: 3 threads named thread-0.. each print "Before barrier", wait at a
/// barrier if --use-barrier is given (std::sync::Barrier, Python's threading.Barrier), then
/// print "After barrier". The analysis checks whether every Before came before every After;
/// --rounds K repeats the run and counts the rounds where that held.
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// Wait at a barrier between the two lines, as the lecture's --use-barrier
    #[arg(long)]
    use_barrier: bool,

    /// Threads, the lecture's NUM_THREADS [1-256]
    #[arg(long, short = 't', default_value_t = 3, value_name = "N",
          allow_negative_numbers = true, value_parser = ranged::<u32>(1, 256))]
    threads: u32,

    /// Runs of the whole program (fresh threads and barrier each time); counts the rounds where
    /// every Before came before every After [1-100000]
    #[arg(long, default_value_t = 1, value_name = "K", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 100_000))]
    rounds: u32,

    #[command(flatten)]
    common: CommonArgs,
}

/// The lecture's thread function: print, `barrier.wait()` if there is a barrier, print. The
/// lab bench starts NUM_THREADS of them (named thread-0, ...) and joins them.
fn thread_function(me: usize, barrier: Option<&Barrier>, log: &Log) -> ThreadRun {
    let current = thread::current();
    let name = current.name().unwrap_or("?"); // current_thread().name
    log.print(
        Line::Before(me),
        format_args!("Before barrier: thread name = {name}"),
    );
    let arrived = Instant::now();
    // if use_barrier: barrier.wait()
    let leader = barrier.is_some_and(|b| b.wait().is_leader());
    let passed = Instant::now();
    log.print(
        Line::After(me),
        format_args!("After barrier: thread name = {name}"),
    );
    ThreadRun::new(me, barrier.is_some(), leader, arrived, passed)
}

fn main() -> ExitCode {
    let args: Args = kit::parse("barrier");
    let p = lab::Params {
        use_barrier: args.use_barrier,
        threads: args.threads,
        rounds: args.rounds,
    };
    kit::run("barrier", &args.common, p.clone(), |s| {
        lab::rounds(s, &p, thread_function)
    })
}
