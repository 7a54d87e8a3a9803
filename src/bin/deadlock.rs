//! deadlock: two threads take two resources in opposite orders, each ends up holding one and
//! waiting for the other, and neither can ever go on.
//!
//! What the lecture wants you to see: the two "Waiting..." lines, and then nothing, forever.
//! Thread 1 holds resource 1 and waits for resource 2; thread 2 holds resource 2 and waits for
//! resource 1: a cycle of waits that nothing inside the program can break. The `sleep(2)`
//! between the two locks makes sure both threads take their first resource before either tries
//! its second; without it ("what might happen if we comment out the line below?") the deadlock
//! happens only when the threads happen to interleave that way.
//!
//! Here a watchdog (the main thread) keeps a wait-for graph: which thread holds which resource,
//! which it waits for. After `--timeout` seconds it looks for a cycle in it, prints it with each
//! thread's state as the kernel reports it (`/proc/self/task/<tid>/stat`, `wchan`), and exits 3.
//! `--timeout 0` hangs like the lecture (Ctrl-C ends it). `--fix ordered` and `--fix trylock`
//! are the two classic cures.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::synchronisation::deadlock::{self as lab, Fix, Locks, ThreadRun};
use oslab::kit::cli::{CommonArgs, Unit, duration, whole};
use oslab::kit::report::Output;
use oslab::kit::{self, timing::nanos};
use oslab::sync::waitgraph::Held;

/// Two threads lock two resources in opposite orders: each holds one and waits for the other.
///
/// The lecture's deadlock.py: thread 1 locks resource 1, sleeps (--sleep), locks resource 2;
/// thread 2 does the mirror image. The lecture hangs forever; here a watchdog looks at the
/// wait-for graph after --timeout seconds, prints the cycle and each thread's kernel state, and
/// exits 3. --fix ordered / --fix trylock run the two classic cures to completion.
#[derive(Parser, Debug)]
#[command(version, args_override_self = true, after_help = lab::EXAMPLES)]
struct Args {
    /// How long each thread sleeps between its first and its second lock, the lecture's
    /// sleep(2) (2000, 1.5s; a bare number is ms); 0 leaves the deadlock to chance [0-1m]
    #[arg(long, default_value = "2000", value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(60), Unit::Ms))]
    sleep: Duration,

    /// How long before the watchdog looks for a deadlock (5, 0.5, 500ms; a bare number is
    /// seconds); 0 never looks and hangs as the lecture does, until Ctrl-C [0-1h]
    #[arg(long, default_value = "5", value_name = "SECONDS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(3600), Unit::S))]
    timeout: Duration,

    /// Cure it: ordered (both threads lock resource 1 first) or trylock (never wait while
    /// holding: release, back off a random while, retry)
    #[arg(long, value_enum, value_name = "FIX")]
    fix: Option<Fix>,

    #[command(flatten)]
    common: CommonArgs,
}

// resource1 = Lock(); resource2 = Lock()   (the Locks the lab bench hands each thread)

/// `thread_1` and `thread_2` of deadlock.py, one function: thread `me` (0 or 1, printed as
/// Thread 1 and 2) locks `first`, sleeps, locks `second`, then unlocks them in that order.
/// `None` when the watchdog called the run off (every wait gives up; what it held is unlocked).
fn thread_body(me: usize, locks: &Locks, args: &Args, out: Output) -> Option<ThreadRun> {
    let (first, second) = lab::order(me, args.fix);
    let (n, f, s) = (me + 1, first + 1, second + 1);
    let mut run = ThreadRun::new(me, args.fix);
    let mut slept = false;
    let (a, b) = loop {
        let a = locks.lock(me, first, &mut run)?; // resource1.acquire()
        out.lecture(format_args!(
            "Thread {n}: locked resource {f}. Waiting for resource {s}..."
        ));
        if !slept {
            slept = true;
            locks.sleep(Duration::from_millis(whole(args.sleep, Unit::Ms)))?; // sleep(2)
        }
        if args.fix != Some(Fix::Trylock) {
            // resource2.acquire(): the lecture's program stops here, forever
            break (a, locks.lock(me, second, &mut run)?);
        }
        match locks.try_lock(me, second) {
            Some(b) => break (a, b), // resource2.acquire(blocking=False) succeeded
            None => back_off(me, a, second, locks, &mut run, out)?,
        }
    };
    out.lecture(format_args!("Thread {n}: locked resource {s}."));
    drop(a); // resource1.release()
    out.lecture(format_args!("Thread {n}: unlocked resource {f}."));
    drop(b); // resource2.release()
    out.lecture(format_args!("Thread {n}: unlocked resource {s}."));
    Some(run.finished())
}

/// The trylock cure: never wait while holding. The second resource is taken, so give the first
/// back and wait a random while before trying both again. `None`: the run was called off.
fn back_off(
    me: usize,
    first: Held<'_>,
    second: usize,
    locks: &Locks,
    run: &mut ThreadRun,
    out: Output,
) -> Option<()> {
    let (n, f, s) = (me + 1, first.lock() + 1, second + 1);
    drop(first); // resource1.release()
    run.retries += 1;
    let pause = lab::backoff(run.retries);
    out.lecture(format_args!(
        "Thread {n}: resource {s} is taken: unlocked resource {f}, retrying in {} ms",
        pause.as_millis()
    ));
    locks.sleep(pause)?;
    run.backoff_ns += nanos(pause);
    Some(())
}

fn main() -> ExitCode {
    let args: Args = kit::parse("deadlock");
    let params = lab::Params::new(whole(args.sleep, Unit::Ms), args.timeout, args.fix);
    kit::run("deadlock", &args.common, params, |s| {
        lab::two_threads_watched(args.timeout, args.fix, |me, locks| {
            thread_body(me, locks, &args, s.out)
        })
    })
}
