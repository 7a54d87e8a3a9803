//! sleep_jitter: sleep 5 ms, 50,000 times, and time every sleep.
//!
//! What the lecture wants you to see: a sleep is a promise of *at least* the time asked for.
//! Timed in whole milliseconds, almost every `sleep(5 ms)` lands in the 5 ms bin and a few in 6
//! or later; at microsecond resolution every one of them overshoots: by the timer slack the
//! kernel adds to batch wakeups (50 µs for a normal task), the wakeup itself, and whatever else
//! was running. Real-time work removes what it can, the way cyclictest does: absolute deadlines
//! (no drift), SCHED_FIFO (nothing normal runs first), mlockall (no page faults), no slack, and
//! idle CPUs kept awake (`/dev/cpu_dma_latency`) so that a wakeup does not wait for one.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use nix::time::{ClockId, ClockNanosleepFlags, clock_nanosleep};
use oslab::kit::cli::{self, CommonArgs, duration, ranged};
use oslab::kit::histogram::{self, Bucket};
use oslab::kit::machine::{Machine, current_cpu, fmt_cpu_list};
use oslab::kit::report::{Output, Report, SCHEMA_VERSION, warn};
use oslab::kit::stats::{LatencySummary, latency_histogram};
use oslab::kit::timing::{fmt_duration, fmt_ns, monotonic_ns};
use oslab::kit::{interrupt, progress};
use oslab::proc::counters::Snapshot;
use oslab::process::scheduler::{self, InForce, Policy, Refusal};
use serde::Serialize;

/// Sleeps 5 ms 50,000 times and times every sleep: the lecture's millisecond histogram, then
/// the true overshoot at microsecond resolution.
///
/// The lecture's sleep-histogram demo (time.sleep(.005), 50e3 times, 1 ms bins from 4 to
/// 10 ms), then what cyclictest measures: the overshoot of each wakeup past its deadline, as
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

    /// The time each sleep asks for, with its unit: 5ms, 500us, 1s [1µs-10s]
    #[arg(long, default_value = "5ms", value_name = "DURATION",
          value_parser = duration(Duration::from_micros(1), Duration::from_secs(10), None))]
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

    /// Hold CPU idle latency at this many µs through /dev/cpu_dma_latency (root), as cyclictest
    /// does with 0 by default: idle CPUs then poll instead of halting, so a wakeup does not wait
    /// for its CPU to wake first [0-1000000]
    #[arg(long, value_name = "US", allow_negative_numbers = true,
          value_parser = ranged::<i32>(0, 1_000_000))]
    dma_latency: Option<i32>,

    /// Set the timer slack (PR_SET_TIMERSLACK) in ns; normal tasks get 50000 [1-1000000000]
    #[arg(long, value_name = "NS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, 1_000_000_000))]
    timerslack: Option<u64>,

    /// Overshoots at or above this count as overflows, as cyclictest -h 100 [1µs-10s]
    #[arg(long, default_value = "100us", value_name = "DURATION",
          value_parser = duration(Duration::from_micros(1), Duration::from_secs(10), None))]
    hist_max: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// How each sleep is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// `std::thread::sleep(interval)`: nanosleep for a duration, the lecture's time.sleep.
    Relative,
    /// `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next)`, `next += interval`.
    Absolute,
    /// Spin on the clock until `next`: no sleep at all, the floor of what a wakeup costs.
    Busy,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Relative => "relative",
            Mode::Absolute => "absolute",
            Mode::Busy => "busy",
        }
    }
}

/// What each sleep gave.
#[derive(Default)]
struct Samples {
    /// Actual minus requested, ns.
    overshoot_ns: Vec<u64>,
    /// The lecture's figure: the sleep in whole milliseconds, as millis() - millis() gives it.
    lecture_ms: Vec<u64>,
    /// The CPU that woke up.
    cpu: Vec<Option<usize>>,
}

/// The lecture's loop, `for i in range(50000): start = millis(); time.sleep(.005); ...`, with
/// the overshoot of each wakeup past its deadline measured as cyclictest measures it.
fn sleep_and_time(args: &Args, samples: &mut Samples, bar: &indicatif::ProgressBar) {
    let interval = args.interval.as_nanos() as u64;
    let mut next = monotonic_ns() + interval; // absolute and busy: the first deadline
    for i in 0..args.count {
        if interrupt::requested().is_some() {
            break;
        }
        let start = monotonic_ns();
        let deadline = match args.mode {
            Mode::Relative => {
                std::thread::sleep(args.interval); // time.sleep(.005)
                start + interval
            }
            Mode::Absolute => {
                let at = nix::sys::time::TimeSpec::from_duration(Duration::from_nanos(next));
                // Interrupted (EINTR) by Ctrl-C: the deadline still stands; the loop stops next.
                let _ = clock_nanosleep(
                    ClockId::CLOCK_MONOTONIC,
                    ClockNanosleepFlags::TIMER_ABSTIME,
                    &at,
                );
                next += interval; // cyclictest: the schedule is absolute, errors never add up
                next - interval
            }
            Mode::Busy => {
                while monotonic_ns() < next {
                    std::hint::spin_loop();
                }
                next += interval;
                next - interval
            }
        };
        let woke = monotonic_ns();
        samples.overshoot_ns.push(woke.saturating_sub(deadline));
        samples
            .lecture_ms
            .push(woke / 1_000_000 - start / 1_000_000); // millis() after - before
        samples.cpu.push(current_cpu());
        if i % 64 == 0 {
            bar.set_position(i);
        }
    }
    bar.finish_and_clear();
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let system = Machine::collect();

    // What cyclictest does before it starts: lock memory, set the slack, go real-time. Each
    // refusal is said out loud; the demo goes on with what it has, and reports what that is.
    let mut refused: Vec<Refusal> = Vec::new();
    if args.mlock
        && let Err(r) = scheduler::request_mlockall(
            "memory stays unlocked: a page fault can add to a wakeup (rarely, after the first few)",
        )
    {
        refused.push(r);
    }
    let _idle_latency = match args.dma_latency {
        Some(us) => scheduler::request_idle_latency(
            us,
            "idle CPUs may halt, and a wakeup then first waits for its CPU to wake (in a VM, an exit to the hypervisor)",
        )
        .map_err(|r| refused.push(r))
        .ok(),
        None => None,
    };
    if let Some(ns) = args.timerslack {
        scheduler::set_timer_slack(ns)?;
    }
    if let Some(prio) = args.fifo {
        if args.mode == Mode::Busy {
            warn(
                "--mode busy under SCHED_FIFO holds its CPU for the whole run (RT throttling leaves others 5%)",
            );
        }
        if let Err(r) = scheduler::request_policy(
            Policy::Fifo,
            prio,
            "the sleeps run under SCHED_OTHER, as read back below: normal tasks may run first and the timer slack applies",
        ) {
            refused.push(r);
        }
    }
    for r in &refused {
        warn(r);
    }
    let in_force = InForce::read();

    let count = args.count as usize;
    let mut samples = Samples {
        overshoot_ns: Vec::with_capacity(count),
        lecture_ms: Vec::with_capacity(count),
        cpu: Vec::with_capacity(count),
    };
    let before = Snapshot::of_self()?;
    let started = monotonic_ns();
    let bar = progress::bar(args.count, "sleeps", args.common.quiet);
    sleep_and_time(&args, &mut samples, &bar);
    let elapsed_ns = monotonic_ns() - started;
    let counters = before.delta(&Snapshot::of_self()?);
    let interrupted = interrupt::requested();
    if let Some(signal) = interrupted {
        eprintln!(
            "sleep_jitter: stopped by {signal} after {} of {} sleeps; results are partial",
            samples.overshoot_ns.len(),
            args.count
        );
    }

    let results = summarise(&args, samples, in_force, refused, elapsed_ns)?;
    print_text(&out, &args, &results, &system);
    let t = &results.trials[0];
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "sleep_jitter",
        schema_version: SCHEMA_VERSION,
        params: Params {
            count: args.count,
            interval_ns: args.interval.as_nanos() as u64,
            mode: args.mode,
            fifo: args.fifo,
            mlock: args.mlock,
            dma_latency_us: args.dma_latency,
            timerslack_ns: args.timerslack,
            hist_max_ns: args.hist_max.as_nanos() as u64,
            cpu: args.common.cpu.as_ref().map(ToString::to_string),
        },
        headline: format!(
            "{} sleep({}) × {}: overshoot p50 {}, p99 {}, max {} ({})",
            args.mode.name(),
            fmt_duration(args.interval),
            t.sleeps,
            fmt_ns(t.p50_ns as f64),
            fmt_ns(t.p99_ns as f64),
            fmt_ns(t.max_ns as f64),
            results.in_force.policy
        ),
        lesson: LESSON.into(),
        partial: interrupted.is_some(),
        counters,
        system,
        results,
    };
    let rows = csv_rows(&report.results);
    out.finish(&report, &rows)?;
    Ok(interrupt::exit_status(interrupted))
}

fn main() -> ExitCode {
    // Later flags win over earlier ones: `oslab compare sleep_jitter -- --count 1000` overrides
    // the family's small count.
    let (args, _cmd) = cli::parse::<Args>("sleep_jitter", |c| c.args_override_self(true));
    cli::finish(run(args))
}

const LESSON: &str = "a sleep lasts at least what was asked: the timer slack, the wakeup and whatever else runs add tens of µs, sometimes ms; absolute deadlines, SCHED_FIFO, mlockall and CPUs kept from deep idle remove what can be removed";

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Serialize)]
struct Params {
    count: u64,
    interval_ns: u64,
    mode: Mode,
    fifo: Option<i32>,
    mlock: bool,
    dma_latency_us: Option<i32>,
    timerslack_ns: Option<u64>,
    hist_max_ns: u64,
    cpu: Option<String>,
}

/// The run's figures: one "trial", for `oslab compare sleep_jitter`.
#[derive(Serialize)]
struct Trial {
    mode: Mode,
    /// Sleeps timed (fewer than asked if Ctrl-C stopped the run).
    sleeps: u64,
    requested_ns: u64,
    min_ns: u64,
    p50_ns: u64,
    p90_ns: u64,
    p99_ns: u64,
    p999_ns: u64,
    max_ns: u64,
    mean_ns: f64,
    /// Overshoots at or above `overflow_threshold_ns` (cyclictest's "Histogram Overflows").
    overflows: u64,
    overflow_threshold_ns: u64,
    /// Wakeups on a different CPU from the one before.
    migrations: u64,
    elapsed_ns: u64,
}

/// The lecture's histogram: sleeps that lasted `ms` whole milliseconds.
#[derive(Serialize)]
struct LectureBin {
    ms: u64,
    count: u64,
}

#[derive(Serialize)]
struct Results {
    trials: Vec<Trial>,
    /// 1 ms bins from interval − 1 to interval + 5 ms (4 to 10 ms for the lecture's 5 ms).
    lecture_histogram: Vec<LectureBin>,
    /// Sleeps outside the lecture's bins: shorter, longer.
    lecture_below: u64,
    lecture_above: u64,
    /// The overshoot's histogram, as drawn.
    histogram: Vec<Bucket>,
    /// The policy, priority, slack, locked memory and CPU in force, read back after asking.
    in_force: InForce,
    /// The CPUs the wakeups happened on.
    cpus: String,
    refused: Vec<Refusal>,
    /// The raw samples, in order.
    overshoot_ns: Vec<u64>,
    lecture_ms: Vec<u64>,
    wake_cpu: Vec<Option<usize>>,
}

/// One CSV row: one sleep.
#[derive(Serialize)]
struct Row {
    sample: usize,
    overshoot_ns: u64,
    lecture_ms: u64,
    wake_cpu: Option<usize>,
}

fn csv_rows(r: &Results) -> Vec<Row> {
    (0..r.overshoot_ns.len())
        .map(|i| Row {
            sample: i + 1,
            overshoot_ns: r.overshoot_ns[i],
            lecture_ms: r.lecture_ms[i],
            wake_cpu: r.wake_cpu[i],
        })
        .collect()
}

fn summarise(
    args: &Args,
    s: Samples,
    in_force: InForce,
    refused: Vec<Refusal>,
    elapsed_ns: u64,
) -> Result<Results> {
    let mut hdr = latency_histogram();
    for &v in &s.overshoot_ns {
        hdr.record(v.max(1))?;
    }
    let summary = LatencySummary::from_histogram(&hdr);
    let threshold = args.hist_max.as_nanos() as u64;
    let n = s.overshoot_ns.len() as u64;
    let empty = n == 0;
    let zero_if_empty = |v: u64| if empty { 0 } else { v };
    let trial = Trial {
        mode: args.mode,
        sleeps: n,
        requested_ns: args.interval.as_nanos() as u64,
        min_ns: zero_if_empty(summary.min_ns),
        p50_ns: zero_if_empty(summary.p50_ns),
        p90_ns: zero_if_empty(summary.p90_ns),
        p99_ns: zero_if_empty(summary.p99_ns),
        p999_ns: zero_if_empty(summary.p999_ns),
        max_ns: zero_if_empty(summary.max_ns),
        mean_ns: if empty { 0.0 } else { summary.mean_ns },
        overflows: s.overshoot_ns.iter().filter(|&&v| v >= threshold).count() as u64,
        overflow_threshold_ns: threshold,
        migrations: s.cpu.windows(2).filter(|w| w[0] != w[1]).count() as u64,
        elapsed_ns,
    };

    // The lecture's bins: 1 ms wide, from one below the interval to five above.
    let first = (args.interval.as_millis() as u64).saturating_sub(1);
    let mut bins: Vec<LectureBin> = (first..=first + 6)
        .map(|ms| LectureBin { ms, count: 0 })
        .collect();
    let (mut below, mut above) = (0, 0);
    for &ms in &s.lecture_ms {
        match ms.checked_sub(first) {
            Some(i) if (i as usize) < bins.len() => bins[i as usize].count += 1,
            Some(_) => above += 1,
            None => below += 1,
        }
    }

    // The overshoot's histogram: about 12 rows of a round width from the minimum to the p99
    // (or to twice the p90 when the p99 is far out in the tail), then one row for the rest.
    let hi = trial.p99_ns.min(2 * trial.p90_ns).max(trial.min_ns + 1);
    let histogram = histogram::buckets(&s.overshoot_ns, trial.min_ns, hi, 12);
    let mut cpus: Vec<usize> = s.cpu.iter().flatten().copied().collect();
    cpus.sort_unstable();
    cpus.dedup();
    Ok(Results {
        trials: vec![trial],
        lecture_histogram: bins,
        lecture_below: below,
        lecture_above: above,
        histogram,
        in_force,
        cpus: fmt_cpu_list(&cpus),
        refused,
        overshoot_ns: s.overshoot_ns,
        lecture_ms: s.lecture_ms,
        wake_cpu: s.cpu,
    })
}

fn print_text(out: &Output, args: &Args, r: &Results, system: &Machine) {
    let t = &r.trials[0];
    out.lecture(format_args!(
        "sleep({}) × {}, each timed in whole milliseconds (millis() after - millis() before):",
        fmt_duration(args.interval),
        t.sleeps
    ));
    let rows: Vec<(String, u64)> = r
        .lecture_histogram
        .iter()
        .map(|b| (format!("{} ms", b.ms), b.count))
        .collect();
    for line in histogram::draw(&rows, 50) {
        out.lecture(line);
    }
    if r.lecture_below + r.lecture_above > 0 {
        out.lecture(format_args!(
            "({} shorter, {} longer: outside the bins)",
            r.lecture_below, r.lecture_above
        ));
    }
    if t.sleeps == 0 {
        return;
    }

    out.analysis(format_args!(
        "overshoot (actual − requested), {} sleeps at µs resolution: min {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}, mean {}",
        t.sleeps,
        fmt_ns(t.min_ns as f64),
        fmt_ns(t.p50_ns as f64),
        fmt_ns(t.p90_ns as f64),
        fmt_ns(t.p99_ns as f64),
        fmt_ns(t.p999_ns as f64),
        fmt_ns(t.max_ns as f64),
        fmt_ns(t.mean_ns)
    ));
    out.analysis(format_args!(
        "overflows: {} of {} at or above {} (what cyclictest -h {} counts as Histogram Overflows)",
        t.overflows,
        t.sleeps,
        fmt_duration(args.hist_max),
        args.hist_max.as_micros()
    ));
    let rows: Vec<(String, u64)> = r
        .histogram
        .iter()
        .map(|b| (histogram::label(b), b.count))
        .collect();
    for line in histogram::draw(&rows, 40) {
        out.analysis(format_args!("  {line}"));
    }
    let how = match args.mode {
        Mode::Relative => {
            "relative: std::thread::sleep(interval), timed from just before the call (the lecture's time.sleep); every overshoot delays all later sleeps: the schedule drifts"
        }
        Mode::Absolute => {
            "absolute: clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to deadlines next += interval, as cyclictest; the schedule never drifts"
        }
        Mode::Busy => {
            "busy: spinning on the clock until each deadline, no sleep: what is left is the cost of reading the clock and of being preempted"
        }
    };
    out.analysis(format_args!("mode: {how}"));
    out.analysis(format_args!(
        "in force: {}; wakeups on CPU {} ({} migrations)",
        r.in_force.describe(),
        r.cpus,
        t.migrations
    ));
    for refusal in &r.refused {
        out.analysis(format_args!("refused: {refusal}"));
    }
    out.analysis(format_args!("lesson: {LESSON}"));
    out.analysis(format_args!(
        "compare: cyclictest -m -p 80 -i {} -h {} -q -l {}   (= sleep_jitter --mode absolute --fifo 80 --mlock --dma-latency 0; add --laptop to leave /dev/cpu_dma_latency alone; it prints min/avg/max, no percentiles)",
        args.interval.as_micros().max(1),
        args.hist_max.as_micros().max(1),
        args.count
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
