//! condition: a thread sleeps on a condition variable until the main thread notifies it.
//!
//! What the lecture wants you to see: `wait()` needs the lock and gives it up while it sleeps
//! (so main can take it to notify); the waiting thread uses no CPU until `notify` wakes it.
//! `notify` wakes one waiter, `notify_all` wakes every one (`--waiters 3 [--all]` counts who
//! woke). A notification that nobody is waiting for has no effect: it is not remembered
//! (`--lost-wakeup`, which runs the `lost_wakeup` binary), which is why real code waits in a
//! loop on a condition it can check, and why a semaphore, which does remember, is sometimes the
//! better tool (`--semaphore`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::synchronisation::condition::{self as lab, Shared, WaiterRun, Woken};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::{self, report::Output};

/// The lecture's waiting thread: `print(...)`, `cond.acquire()`, `cond.wait()`, `print(...)`.
fn waiting_thread(me: usize, label: &str, shared: &Shared, args: &Args, out: Output) -> WaiterRun {
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let mut state = shared.lock(); // cond.acquire()
    let mut wait = shared.waiting(&mut state, me); // (tells main we wait; starts the clocks)
    let woken = if args.semaphore {
        drop(state);
        let posted = shared.semaphore.wait(); // sem.acquire(): sleeps until main posts
        state = shared.lock();
        Woken::notified_if(posted)
    } else {
        loop {
            if state.released() {
                break Woken::Released; // the run ended before we slept (a waiter failed to start)
            }
            // cond.wait(): gives the lock up while asleep, has it again when it returns.
            state = shared.cond.wait(state).unwrap_or_else(|p| p.into_inner());
            match state.woken() {
                Some(woken) => break woken,
                None => wait.spurious += 1, // woke with nothing notified: wait again
            }
        }
    };
    let run = shared.woke(wait, woken, &mut state);
    if woken == Woken::Notified {
        out.lecture(format_args!("{label}: notified by main thread"));
    }
    run
} // cond.release()

/// Main's side: `cond.acquire(); cond.notify(); cond.release()` (or notify_all, or a post).
fn notify(shared: &Shared, args: &Args) {
    let mut state = shared.lock(); // cond.acquire()
    state.notified(); // what a waiter's predicate would check
    if args.semaphore {
        drop(state);
        let posts = if args.all { args.waiters } else { 1 };
        shared.semaphore.post(u64::from(posts)); // sem.release(n)
    } else if args.all {
        shared.cond.notify_all(); // cond.notify_all()
    } else {
        shared.cond.notify_one(); // cond.notify()
    }
} // cond.release()

/// A thread waits on a condition variable until main notifies it: type "notify".
///
/// The lecture's condition.py: the waiting thread prints that it waits and calls cond.wait();
/// main reads lines from stdin, ignores all but "notify", then calls cond.notify(). With
/// --notify-after MS it notifies without reading stdin. --lost-wakeup notifies before anyone
/// waits; --waiters N [--all] shows notify versus notify_all; --semaphore does the same with a
/// counting semaphore.
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// Notify after this long instead of reading "notify" from stdin (500, 2s; a bare number is
    /// ms) [0-10m]
    #[arg(long, value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(600), Unit::Ms))]
    notify_after: Option<Duration>,

    /// Notify before anyone waits: a waiter without a predicate misses it (shown with a bounded
    /// wait), a waiter with the predicate loop returns at once
    #[arg(long, conflicts_with_all = ["waiters", "all", "notify_after"])]
    lost_wakeup: bool,

    /// With --lost-wakeup: how long the waiter without a predicate waits before giving up
    /// (1000, 2s; a bare number is ms) [1ms-1m]
    #[arg(long, default_value = "1000", value_name = "MS",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(60), Unit::Ms))]
    bound: Duration,

    /// Waiting threads [1-64]
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 64))]
    waiters: u32,

    /// notify_all instead of notify: wake every waiter (with --semaphore: one post per waiter)
    #[arg(long)]
    all: bool,

    /// Order the same events with a counting semaphore (built on Mutex + Condvar) instead of a
    /// bare condition variable
    #[arg(long)]
    semaphore: bool,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = kit::parse("condition");
    if args.lost_wakeup {
        return kit::cli::run_instead("lost_wakeup", "--lost-wakeup"); // a concept of its own
    }
    let p = lab::Params::notify(args.waiters, args.all, args.semaphore, args.notify_after);
    kit::run("condition", &args.common, p.clone(), |s| {
        let waiter = |me, label: &str, sh: &Shared| waiting_thread(me, label, sh, &args, s.out);
        lab::notify_run(s, &p, waiter, |sh| notify(sh, &args))
    })
}
