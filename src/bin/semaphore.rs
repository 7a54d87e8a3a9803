//! semaphore: N workers share K permits of a counting semaphore.
//!
//! What the lecture wants you to see: a semaphore is an atomic counter. `acquire()` is
//! `counter--`: it returns at once while the counter is above 0 and blocks at 0; `release()` is
//! `counter++` and signals the waiting threads. With 5 workers and 3 permits, three get in, two
//! wait, and each release lets one of them in: never more than 3 inside at once.
//!
//! Each line shows the counter after the call, who is inside and who waits; the analysis
//! checks that at most K workers were ever inside and says how long each waited.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::synchronisation::semaphore::{self as lab, Permits};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::{self, interrupt};

/// N workers share K permits: acquire() ~ counter-- blocks at 0, release() ~ counter++.
///
/// The slide "Semaphores": an atomic counter that can be above 1; acquire() returns if
/// counter > 0 and blocks if counter == 0; release() signals the waiting threads. 5 workers,
/// 3 permits, on oslab::sync::semaphore (Mutex + Condvar); --posix uses a sem_t (sem_wait,
/// sem_post). Checks that at most K workers are ever inside and times each wait.
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// Worker threads [1-64]
    #[arg(long, short = 'w', default_value_t = 5, value_name = "N",
          allow_negative_numbers = true, value_parser = ranged::<u32>(1, 64))]
    workers: u32,

    /// Permits, the semaphore's initial counter [1-64]
    #[arg(long, short = 'k', default_value_t = 3, value_name = "K",
          allow_negative_numbers = true, value_parser = ranged::<u32>(1, 64))]
    permits: u32,

    /// Times each worker acquires and releases [1-1000]
    #[arg(long, default_value_t = 1, value_name = "R", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1000))]
    rounds: u32,

    /// The work done holding a permit: worker i works (i mod 3 + 1) × this, so the releases
    /// come one by one; 100ms, 2s; a bare number is ms [0-10s]
    #[arg(long, default_value = "100ms", value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(10), Unit::Ms))]
    hold: Duration,

    /// Use a POSIX sem_t (sem_init, sem_wait, sem_post) instead of the library's semaphore
    #[arg(long)]
    posix: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// The worker: take a permit, work while holding it, give it back, `rounds` times. Jobs take
/// different times: worker i works (i mod 3 + 1) × `hold`.
fn worker(me: usize, sem: &Permits, rounds: u32, hold: Duration) {
    for _ in 0..rounds {
        if interrupt::requested().is_some() {
            break;
        }
        sem.acquire(me); // sem.acquire()   ~ counter--: returns if counter > 0, blocks at 0
        let finished = lab::work(hold * (me as u32 % 3 + 1)); // at most K workers here at once
        sem.release(me); // sem.release()   ~ counter++: signals the waiting threads
        if !finished {
            break; // Ctrl-C during the work
        }
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("semaphore");
    let (n, k, hold) = (args.workers, args.permits, args.hold);
    let p = lab::Params::new(n, k, args.rounds, hold, args.posix);
    kit::run("semaphore", &args.common, p.clone(), |s| {
        lab::run(s, &p, |me, sem| worker(me, sem, args.rounds, args.hold))
    })
}
