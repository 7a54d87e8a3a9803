//! sleep_jitter: sleep 5 ms, 50,000 times, and time every sleep.
//!
//! What the lecture wants you to see: a sleep is a promise of *at least* the time asked for.
//! Timed in whole milliseconds, almost every `sleep(5 ms)` lands in the [5, 6) bin and a few
//! later; at microsecond resolution every one of them overshoots: by the timer slack the
//! kernel adds to batch wakeups (50 µs for a normal task), the wakeup itself, and whatever else
//! was running. Real-time work removes what it can, the way cyclictest does: absolute deadlines
//! (no drift), SCHED_FIFO (nothing normal runs first), mlockall (no page faults), no slack, and
//! idle CPUs kept awake (`/dev/cpu_dma_latency`) so that a wakeup does not wait for one.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nix::sys::time::TimeSpec;
use nix::time::{ClockId, ClockNanosleepFlags, clock_nanosleep};
use oslab::demos::scheduling::sleep_jitter::{self as lab, Mode, Samples};
use oslab::kit::cli::{self, CommonArgs, Unit, duration, ranged, whole};
use oslab::kit::timing::{monotonic_ns, nanos};
use oslab::kit::{self, interrupt};

/// Sleeps 5 ms 50,000 times and times every sleep: the lecture's millisecond histogram, then
/// the true overshoot at microsecond resolution.
///
/// The lecture's sleep-histogram demo (time.sleep(.005), 50e3 times, plt.hist(times, [4, 5,
/// 6, 7, 8, 9, 10])), then what cyclictest measures: the overshoot of each wakeup past its deadline, as
/// percentiles and a histogram. --mode absolute, --fifo, --mlock, --dma-latency and --timerslack
/// remove the noise cyclictest removes, one at a time.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: sleep_jitter --count 2000 --interval 1ms --mode absolute --fifo 80 --mlock"
)]
struct Args {
    /// Sleeps to time [1-10000000]
    #[arg(long, default_value_t = 50_000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, 10_000_000))]
    count: u64,

    /// The time each sleep asks for: 5ms, 500us, 1s, or bare µs as cyclictest -i [1µs-10s]
    #[arg(long, default_value = "5ms", value_name = "US",
          value_parser = duration(Duration::from_micros(1), Duration::from_secs(10), Unit::Us))]
    interval: Duration,

    /// relative: sleep(interval), as the lecture; absolute: clock_nanosleep to deadlines
    /// `next += interval` (TIMER_ABSTIME), as cyclictest; busy: spin until each deadline
    #[arg(long, value_enum, default_value_t = Mode::Relative)]
    mode: Mode,

    /// Run under SCHED_FIFO at this priority (needs CAP_SYS_NICE) [1-99]
    #[arg(long, value_name = "PRIO", allow_negative_numbers = true,
          value_parser = ranged::<i32>(1, 99))]
    fifo: Option<i32>,

    /// Lock all memory first, mlockall(MCL_CURRENT|MCL_FUTURE), as cyclictest -m
    #[arg(long)]
    mlock: bool,

    /// Hold CPU idle latency at this (a bare number is µs) through /dev/cpu_dma_latency (root),
    /// as cyclictest does with 0 by default: idle CPUs then poll instead of halting, so a wakeup
    /// does not wait for its CPU to wake first [0-1s]
    #[arg(long, value_name = "US",
          value_parser = duration(Duration::ZERO, Duration::from_secs(1), Unit::Us))]
    dma_latency: Option<Duration>,

    /// Set the timer slack (PR_SET_TIMERSLACK; a bare number is ns); normal tasks get 50us
    /// [1ns-1s]
    #[arg(long, value_name = "NS",
          value_parser = duration(Duration::from_nanos(1), Duration::from_secs(1), Unit::Ns))]
    timerslack: Option<Duration>,

    /// Overshoots at or above this count as overflows: 100us, or bare µs as cyclictest -h 100
    /// [1µs-10s]
    #[arg(long, default_value = "100us", value_name = "US",
          value_parser = duration(Duration::from_micros(1), Duration::from_secs(10), Unit::Us))]
    hist_max: Duration,

    /// Draw the overshoot's histogram in power-of-two buckets (0 -> 1, 2 -> 3, 4 -> 7 … µs), as
    /// bcc's tools do, instead of a dozen even ones and an open last row
    #[arg(long)]
    log2: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// The lecture's loop, `for i in range(50000): start = millis(); time.sleep(.005); ...`, with
/// the overshoot of each wakeup past its deadline measured as cyclictest measures it. Ctrl-C
/// wakes a sleep at once (clock_nanosleep returns EINTR); a sleep cut short is no sample.
fn sleep_and_time(args: &Args, samples: &mut Samples) {
    let interval = nanos(args.interval);
    let mut next = monotonic_ns() + interval; // absolute and busy: the first deadline
    for _ in 0..args.count {
        if interrupt::requested().is_some() {
            break;
        }
        let start = monotonic_ns();
        let slept = match args.mode {
            Mode::Relative => {
                let length = TimeSpec::from_duration(args.interval);
                // time.sleep(.005): nanosleep, as std::thread::sleep (which would resume it)
                let flags = ClockNanosleepFlags::empty();
                let woke = clock_nanosleep(ClockId::CLOCK_MONOTONIC, flags, &length);
                woke.ok().map(|_| start + interval)
            }
            Mode::Absolute => {
                let at = TimeSpec::from_duration(Duration::from_nanos(next));
                let flags = ClockNanosleepFlags::TIMER_ABSTIME;
                let woke = clock_nanosleep(ClockId::CLOCK_MONOTONIC, flags, &at);
                next += interval; // cyclictest: the schedule is absolute, errors never add up
                woke.ok().map(|_| next - interval)
            }
            Mode::Busy => {
                while monotonic_ns() < next && interrupt::requested().is_none() {
                    std::hint::spin_loop();
                }
                next += interval;
                interrupt::requested().is_none().then_some(next - interval)
            }
        };
        if let Some(deadline) = slept {
            samples.record(start, deadline, monotonic_ns()); // millis() after - millis() before
        }
    }
}

fn params(a: &Args) -> lab::Params {
    lab::Params {
        count: a.count,
        interval_ns: nanos(a.interval),
        mode: a.mode,
        fifo: a.fifo,
        mlock: a.mlock,
        dma_latency_us: a.dma_latency.map(|d| whole(d, Unit::Us) as i32),
        timerslack_ns: a.timerslack.map(nanos),
        hist_max_ns: nanos(a.hist_max),
        log2: a.log2,
    }
}

fn main() -> ExitCode {
    // Later flags win over earlier ones: `oslab compare sleep_jitter -- --count 1000` overrides
    // the family's small count.
    let (args, _) = cli::parse::<Args>("sleep_jitter", |c| c.args_override_self(true));
    let p = params(&args);
    kit::run("sleep_jitter", &args.common, p.clone(), |s| {
        lab::run(s, &p, |samples| sleep_and_time(&args, samples))
    })
}
