//! reentrancy: the slide's four add2 functions, called from threads at once and re-entered by a
//! signal handler on one thread; the slide's thread-safe × reentrant table, filled by measuring.
//!
//! What the lecture wants you to see: thread-safety and reentrancy are two different properties.
//! A function that keeps its state in a global (`int tmp`) and reads it back gives wrong results
//! both when two threads call it at once and when a signal handler interrupts it and calls it
//! again on the same thread. Making `tmp` thread_local cures the threads but not the handler (it
//! runs on the same thread, so it shares the thread's `tmp`); writing `tmp` without reading it
//! back cures the handler (the result no longer depends on it) but leaves a race on `tmp`
//! between threads; with no `tmp` at all the function is both. Recursion is not reentrancy: a
//! recursive call happens where the function chose, a re-entry at any instruction.
//!
//! Each add2 below is the slide's C beside its Rust. `tmp` is an atomic read and written with
//! relaxed ordering: the same loads and stores as the C's `int`, so the same races, but without
//! the undefined behaviour a data race is in C (and in Rust). `preempt_here()` is the slide's
//! `/* Preempt here */`: with threads it dwells a moment so another thread can get in; with the
//! handler it waits until SIGALRM has arrived and the handler has run (see the lab bench).

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};
use std::time::Duration;

use clap::Parser;
use oslab::demos::synchronisation::reentrancy::{self as lab, Variant, preempt_here};
use oslab::kit;
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged, whole};

/// Thread-safety and reentrancy: the slide's four add2 functions, each called from N threads at
/// once, then interrupted between `tmp = x` and `return tmp + 2` by a timer signal (SIGALRM)
/// whose handler calls add2 again; wrong results counted, the slide's 2×2 table filled in.
///
/// The lecture's slide "Thread-safety and Reentrancy - Examples" (add2). --threads and --calls
/// size the threaded run, --reentries and --tick the run with the handler.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: reentrancy --threads 4 --calls 500000\n         reentrancy --cpu 0   (the threads share one CPU: they race only when preempted)"
)]
struct Args {
    /// Threads calling add2 at once [1-64]
    #[arg(long, short = 't', default_value_t = 2, value_parser = ranged::<u32>(1, 64))]
    threads: u32,

    /// Calls of add2 by each thread [1-100000000]
    #[arg(long, default_value_t = 100_000, value_parser = ranged::<u64>(1, 100_000_000))]
    calls: u64,

    /// Calls of add2 on the main thread while SIGALRM re-enters it [1-1000000]
    #[arg(long, default_value_t = 1_000, value_parser = ranged::<u64>(1, 1_000_000))]
    reentries: u64,

    /// The timer's period: SIGALRM every this long (100, 1ms; a bare number is µs) [20µs-100ms]
    #[arg(long, default_value = "100", value_name = "US",
          value_parser = duration(Duration::from_micros(20), Duration::from_millis(100), Unit::Us))]
    tick: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// `int tmp`: the global of the first two add2s (one `tmp` each on the slide; they never run at
/// the same time here, so they share it).
static TMP: AtomicI32 = AtomicI32::new(0);

thread_local! {
    /// `thread_local int tmp`: const-initialised, no destructor, so an access is a plain TLS
    /// access (no lazy set-up, no allocation): safe from the signal handler too.
    static LOCAL_TMP: AtomicI32 = const { AtomicI32::new(0) };
}

// /* Not thread-safe, not reentrant: */
// int tmp
// int add2(int x) {
fn add2_read_back(x: i32) -> i32 {
    TMP.store(x, Relaxed); //     tmp = x;
    preempt_here(); //            /* Preempt here */
    TMP.load(Relaxed) + 2 //      return tmp + 2;
} // }

// /* Reentrant, not thread-safe: */
// int tmp
// int add2(int x) {
fn add2_written(x: i32) -> i32 {
    TMP.store(x, Relaxed); //     tmp = x;
    preempt_here();
    x + 2 //                      return x + 2;
} // }

// /* Thread-safe not reentrant: */
// thread_local int tmp
// int add2(int x) {
fn add2_thread_local(x: i32) -> i32 {
    LOCAL_TMP.with(|tmp| tmp.store(x, Relaxed)); //      tmp = x;
    preempt_here();
    LOCAL_TMP.with(|tmp| tmp.load(Relaxed)) + 2 //       return tmp + 2;
} // }

// /* Both thread-safe and reentrant: */
// int add2(int x) {
fn add2_pure(x: i32) -> i32 {
    preempt_here();
    x + 2 //                      return x + 2;
} // }

/// The four, in the slide's order, each with its `tmp` (for the check that another caller
/// overwrote it during a call) and what the slide says of it: (thread-safe, reentrant).
static VARIANTS: [Variant; 4] = [
    Variant::new(
        "tmp read back",
        add2_read_back,
        Some(|| TMP.load(Relaxed)),
        (false, false),
    ),
    Variant::new(
        "tmp written only",
        add2_written,
        Some(|| TMP.load(Relaxed)),
        (false, true),
    ),
    Variant::new(
        "thread_local tmp",
        add2_thread_local,
        Some(|| LOCAL_TMP.with(|tmp| tmp.load(Relaxed))),
        (true, false),
    ),
    Variant::new("no tmp", add2_pure, None, (true, true)),
];

fn main() -> ExitCode {
    let a: Args = kit::parse("reentrancy");
    let p = lab::Params::new(a.threads, a.calls, a.reentries, whole(a.tick, Unit::Us));
    kit::run("reentrancy", &a.common, p, |s| lab::run(s, &p, &VARIANTS))
}
