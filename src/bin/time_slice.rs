//! time_slice: two CPU-bound threads pinned to one CPU, each reading the clock in a tight loop;
//! a gap in its readings is time off the CPU, so each thread's log is its turns on the CPU. How
//! long a turn lasts, against the notes' "Processes are switched quickly 20ms".
//!
//! What the lecture wants you to see: a preemptive scheduler lets each thread run for a time
//! slice, then switches to another (an involuntary context switch). The slice is the kernel's
//! choice, not a law: EEVDF (Linux 6.6 and later) gives every fair task a base slice of under
//! a few milliseconds and checks the running task at the timer tick (CONFIG_HZ), so two
//! CPU-bound threads take turns of a few milliseconds, not 20; nice changes how often each one
//! runs, not its slice; SCHED_RR uses a fixed quantum (`sched_rr_get_interval`, 100 ms by
//! default). The notes' 20 ms is one figure among many: measure it.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::scheduling::time_slice::{self as lab, SlicePolicy, Turns};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::timing::{monotonic_ns, nanos};
use oslab::kit::{self, interrupt};

/// Two CPU-bound threads on one CPU record when they run: how long each turn lasts before the
/// kernel switches to the other, against "Processes are switched quickly 20ms" (the notes).
///
/// The lecture's time slice, measured: percentiles and a histogram of turn lengths, the
/// kernel's base slice and CONFIG_HZ. --nice N runs the second thread at nice N; --policy rr
/// runs them under SCHED_RR (needs CAP_SYS_NICE) with its quantum.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: time_slice --seconds 2 --nice 5")]
struct Args {
    /// CPU-bound threads sharing the CPU [2-16]
    #[arg(long, default_value_t = 2, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<usize>(2, 16))]
    threads: usize,

    /// How long they share it, e.g. 2, 0.5 or 500ms (a bare number is seconds) [100ms-1m]
    #[arg(long, default_value = "2", value_name = "SECONDS",
          value_parser = duration(Duration::from_millis(100), Duration::from_secs(60), Unit::S))]
    seconds: Duration,

    /// A gap longer than this between two clock readings is time off the CPU (5us, 2000ns; a
    /// bare number is µs) [1µs-1ms]
    #[arg(long, default_value = "5us", value_name = "US",
          value_parser = duration(Duration::from_micros(1), Duration::from_millis(1), Unit::Us))]
    gap: Duration,

    /// The second thread's nice value; the others stay at 0 (below 0 needs CAP_SYS_NICE)
    /// [-20-19]
    #[arg(long, default_value_t = 0, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<i32>(-20, 19))]
    nice: i32,

    /// other: SCHED_OTHER (the fair scheduler); rr: SCHED_RR (needs CAP_SYS_NICE)
    #[arg(long, value_enum, default_value_t = SlicePolicy::Other)]
    policy: SlicePolicy,

    /// The SCHED_RR priority of every thread [1-99]
    #[arg(long, default_value_t = 10, value_name = "PRIO", allow_negative_numbers = true,
          value_parser = ranged::<i32>(1, 99))]
    rt_priority: i32,

    /// Draw the turn lengths' histogram in power-of-two buckets (… 1024 -> 2047, 2048 -> 4095
    /// µs), as bcc's tools do, instead of ten even ones up to the p99 and an open last row
    #[arg(long)]
    log2: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// cpu_bound.c with a clock in its loop: every reading close to the last one means we still hold
/// the CPU; a gap means someone else had it.
///
/// ```c
/// last = now();
/// while (now() < deadline) {
///     t = now();
///     if (t - last > GAP)     /* we were off the CPU */
///         turns[n++] = last - start, start = t;
///     last = t;
/// }
/// ```
fn take_turns(turns: &mut Turns<'_>) {
    let mut last = monotonic_ns(); // last = now();
    turns.begin(last);
    loop {
        let now = monotonic_ns(); // t = now();
        if now - last > turns.gap_ns() && !turns.off_cpu(last, now) {
            break; // the log is full
        }
        last = now; // last = t;
        if now >= turns.deadline_ns() || interrupt::requested().is_some() {
            break;
        }
    }
    turns.end(last);
}

fn params(a: &Args) -> lab::Params {
    lab::Params {
        threads: a.threads,
        seconds: a.seconds.as_secs_f64(),
        gap_ns: nanos(a.gap),
        nice: a.nice,
        policy: a.policy,
        rt_priority: a.rt_priority,
        log2: a.log2,
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("time_slice");
    let p = params(&args);
    kit::run("time_slice", &args.common, p.clone(), |s| {
        lab::run(s, &p, take_turns)
    })
}
