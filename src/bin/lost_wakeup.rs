//! lost_wakeup: main notifies before anyone waits, and the notification is lost.
//!
//! What the lecture wants you to see: a condition variable remembers nothing. condition.py
//! sleeps a second before it notifies, hoping the waiter waits by then; if main notifies first,
//! a waiter that calls `cond.wait()` because it was told to wait sleeps forever. A waiter that
//! checks a condition kept under the lock (`while not ready: cond.wait()`) finds it already true
//! and does not wait at all. A semaphore does remember: an early post stays in its count
//! (`--semaphore`). This is `condition --lost-wakeup`, as a program of its own.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::synchronisation::condition::{Params, Shared, WaiterRun, Woken};
use oslab::demos::synchronisation::lost_wakeup as lab;
use oslab::kit::cli::{CommonArgs, Unit, duration, whole};
use oslab::kit::{self, report::Output};

/// Main notifies before anyone waits: the notification is lost unless the waiter checks a
/// predicate.
///
/// The lost wake-up of the lecture's condition.py: main calls cond.notify() first; then a waiter
/// without a predicate waits (with a time limit, --bound, or it would wait forever) and one with
/// the predicate loop returns at once. --semaphore posts a counting semaphore instead, which
/// keeps the post.
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// How long the waiter without a predicate waits before giving up (1000, 2s; a bare number
    /// is ms) [1ms-1m]
    #[arg(long, default_value = "1000", value_name = "MS",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(60), Unit::Ms))]
    bound: Duration,

    /// Post a counting semaphore (built on Mutex + Condvar) before anyone waits, instead of
    /// notifying a bare condition variable
    #[arg(long)]
    semaphore: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// Main, first: `cond.acquire(); cond.notify(); cond.release()` while nobody waits (or a post).
fn notify_first(shared: &Shared, args: &Args, out: Output) {
    let mut state = shared.lock(); // cond.acquire()
    state.notified(); // what a waiter's predicate checks: it stays true
    if args.semaphore {
        drop(state);
        shared.semaphore.post(1); // sem.release(): kept in the count
        out.lecture("Main thread: posted the semaphore (no thread is waiting yet)");
    } else {
        shared.cond.notify_one(); // cond.notify(): nobody is waiting, so nothing happens
        drop(state); // cond.release()
        out.lecture(
            "Main thread: notified waiting thread (no thread is waiting yet: the notification has no effect)",
        );
    }
}

/// The waiter without a predicate, as the lecture writes it (`cond.acquire(); cond.wait()`), but
/// with a time limit: the notify came before the wait, so nothing will ever wake it.
fn without_predicate(shared: &Shared, bound: Duration, out: Output) -> WaiterRun {
    let label = "Waiting thread 1 (no predicate)";
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let mut state = shared.lock(); // cond.acquire()
    let mut wait = shared.waiting(&mut state, 0);
    let (mut state, result) = shared
        .cond
        .wait_timeout(state, bound)
        .unwrap_or_else(|p| p.into_inner()); // cond.wait()
    let woken = match (state.released(), result.timed_out()) {
        (true, _) => Woken::Released,
        (false, true) => Woken::TimedOut,
        (false, false) => {
            wait.spurious = 1; // no notify came after the wait began: a spurious wakeup
            Woken::Notified
        }
    };
    let run = shared.woke(wait, woken, &mut state);
    let ms = bound.as_millis();
    if woken == Woken::TimedOut {
        out.lecture(format_args!(
            "{label}: not notified after {ms} ms: the notification came before the wait and was lost; without the time limit it would wait forever"
        ));
    } else if woken == Woken::Notified {
        out.lecture(format_args!(
            "{label}: woke up although nobody notified it (a spurious wakeup)"
        ));
    }
    run
}

/// The waiter with the predicate loop: `while not notified: cond.wait()`.
fn with_predicate(shared: &Shared, out: Output) -> WaiterRun {
    let label = "Waiting thread 2 (predicate loop)";
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let mut state = shared.lock(); // cond.acquire()
    let mut wait = shared.waiting(&mut state, 1);
    wait.predicate = true;
    while !state.sent() && !state.released() {
        state = shared.cond.wait(state).unwrap_or_else(|p| p.into_inner()); // cond.wait()
        wait.waits += 1;
    }
    let woken = Woken::notified_if(state.sent());
    let run = shared.woke(wait, woken, &mut state);
    if woken == Woken::Notified {
        let how = if run.waits == 0 {
            "did not wait at all"
        } else {
            "waited"
        };
        out.lecture(format_args!(
            "{label}: notified by main thread (the condition was already true: it {how})"
        ));
    }
    run
}

/// With --semaphore: `sem.acquire()` finds the early post in the count and returns at once.
fn semaphore_waiter(shared: &Shared, out: Output) -> WaiterRun {
    out.lecture("Waiting thread: waiting for main thread...");
    let wait = shared.waiting(&mut shared.lock(), 0);
    let posted = shared.semaphore.wait(); // sem.acquire()
    let woken = Woken::notified_if(posted);
    let run = shared.woke(wait, woken, &mut shared.lock());
    if posted {
        out.lecture("Waiting thread: notified by main thread");
    }
    run
}

/// Waiter `i`: the semaphore's one, or the two of the condition variable in turn.
fn waiter(i: usize, shared: &Shared, args: &Args, out: Output) -> WaiterRun {
    let bound = Duration::from_millis(whole(args.bound, Unit::Ms)); // as reported: whole ms
    match (args.semaphore, i) {
        (true, _) => semaphore_waiter(shared, out),
        (false, 0) => without_predicate(shared, bound, out),
        (false, _) => with_predicate(shared, out),
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("lost_wakeup");
    let p = Params::lost_wakeup(args.bound, args.semaphore);
    kit::run("lost_wakeup", &args.common, p.clone(), |s| {
        let first = |sh: &Shared| notify_first(sh, &args, s.out);
        lab::notify_then_wait(&p, first, |i, sh| waiter(i, sh, &args, s.out))
    })
}
