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
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use oslab::kit::cli::{self, CommonArgs, Session, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::stats::median;
use oslab::kit::timing::{fmt_ns, nanos};
use oslab::proc::counters::Snapshot;
use oslab::sync::gate::StartGate;
use serde::Serialize;

/// Display the functionality of a barrier: no thread passes it until all have reached it.
///
/// The lecture's barrier.py: 3 threads named thread-0.. each print "Before barrier", wait at a
/// barrier if --use-barrier is given (std::sync::Barrier, Python's threading.Barrier), then
/// print "After barrier". The analysis checks whether every Before came before every After;
/// --rounds K repeats the run and counts the rounds where that held.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: barrier --use-barrier --rounds 200 --quiet\n         barrier --rounds 200 --format csv"
)]
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

/// A line a thread printed, in the order the lines were printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    Before(usize),
    After(usize),
}

/// The printed lines, in print order: a thread logs its line and prints it under one lock, so
/// the log's order is the order on the screen.
struct Log {
    lines: Mutex<Vec<Line>>,
    out: Output,
}

impl Log {
    fn print(&self, line: Line, name: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.push(line);
        match line {
            Line::Before(_) => self
                .out
                .lecture(format_args!("Before barrier: thread name = {name}")),
            Line::After(_) => self
                .out
                .lecture(format_args!("After barrier: thread name = {name}")),
        }
    }
}

/// What one thread measured.
#[derive(Clone, Debug, Serialize)]
struct ThreadRun {
    thread: usize,
    /// Time between reaching the barrier and passing it, ns (0 without one).
    waited_ns: u64,
    /// The last to arrive: it found the others waiting and released them (std's `is_leader`).
    leader: bool,
    #[serde(skip)]
    arrived: Instant,
    #[serde(skip)]
    passed: Instant,
}

/// The lecture's thread function.
fn thread_function(me: usize, barrier: Option<&Barrier>, log: &Log) -> ThreadRun {
    let current = thread::current();
    let name = current.name().unwrap_or("?"); // current_thread().name
    log.print(Line::Before(me), name);
    let arrived = Instant::now();
    // if use_barrier: barrier.wait()
    let leader = barrier.is_some_and(|b| b.wait().is_leader());
    let passed = Instant::now();
    log.print(Line::After(me), name);
    ThreadRun {
        thread: me,
        waited_ns: if barrier.is_some() {
            nanos(passed - arrived)
        } else {
            0
        },
        leader,
        arrived,
        passed,
    }
}

/// One run of the lecture's program: create the threads, let them run, join them.
fn round(number: u32, args: &Args, out: Output) -> anyhow::Result<Round> {
    let n = args.threads as usize;
    let barrier = Barrier::new(n); // barrier = Barrier(NUM_THREADS)
    let barrier = args.use_barrier.then_some(&barrier);
    let log = Log {
        lines: Mutex::new(Vec::with_capacity(2 * n)),
        out,
    };
    // The threads wait at a gate until all exist: if creating one fails, the others are let go
    // instead of waiting at the barrier forever for a thread that will never come.
    let gate = StartGate::new();
    let runs = thread::scope(|s| -> anyhow::Result<Vec<ThreadRun>> {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (gate, log) = (&gate, &log);
            let spawned = thread::Builder::new()
                .name(format!("thread-{i}"))
                .spawn_scoped(s, move || {
                    gate.wait().then(|| thread_function(i, barrier, log))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    gate.abort();
                    return Err(e).context(format!("could not start thread-{i} of {n}"));
                }
            }
        }
        gate.open();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten().context("a thread panicked"))
            .collect()
    })?;
    let lines = log.lines.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Round::new(number, &lines, runs))
}

// ---------------------------------------------------------------------------------------------
// main and the report

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("barrier", |c| c);
    cli::finish(run(args))
}

/// One round: a CSV row.
#[derive(Clone, Debug, Serialize)]
struct Round {
    round: u32,
    /// Every Before line came before every After line.
    held: bool,
    /// After lines printed before the last Before line (0 when the order held).
    early_afters: usize,
    /// The lines in print order: B0 = thread-0's Before, A2 = thread-2's After.
    order: String,
    /// The thread that arrived last and released the others (with the barrier).
    leader: Option<usize>,
    /// From the last arrival to the last thread passing: the barrier's release, ns.
    release_ns: Option<u64>,
    threads: Vec<ThreadRun>,
}

impl Round {
    fn new(round: u32, lines: &[Line], threads: Vec<ThreadRun>) -> Round {
        let last_before = lines.iter().rposition(|l| matches!(l, Line::Before(_)));
        let early_afters = last_before.map_or(0, |last| {
            lines[..last]
                .iter()
                .filter(|l| matches!(l, Line::After(_)))
                .count()
        });
        let order = lines
            .iter()
            .map(|l| match l {
                Line::Before(t) => format!("B{t}"),
                Line::After(t) => format!("A{t}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let leader = threads.iter().find(|t| t.leader).map(|t| t.thread);
        let release_ns = leader.and_then(|_| {
            let last_arrival = threads.iter().map(|t| t.arrived).max()?;
            let last_pass = threads.iter().map(|t| t.passed).max()?;
            Some(nanos(last_pass.saturating_duration_since(last_arrival)))
        });
        Round {
            round,
            held: early_afters == 0,
            early_afters,
            order,
            leader,
            release_ns,
            threads,
        }
    }
}

#[derive(Debug, Serialize)]
struct Params {
    use_barrier: bool,
    threads: u32,
    rounds: u32,
    cpu: Option<String>,
}

#[derive(Debug, Serialize)]
struct Results {
    rounds: Vec<Round>,
    /// Rounds where every Before came before every After, and where it did not.
    held: usize,
    violated: usize,
    /// Median over rounds of the barrier's release, ns.
    release_median_ns: Option<f64>,
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Session {
        out,
        system,
        before,
    } = args.common.start()?;
    let mut rounds = Vec::with_capacity(args.rounds as usize);
    let mut stopped = None;
    for k in 1..=args.rounds {
        if let Some(signal) = interrupt::requested() {
            stopped = Some(signal);
            break;
        }
        rounds.push(round(k, &args, out)?);
    }
    let counters = before.delta(&Snapshot::of_self()?);
    if let Some(signal) = stopped {
        eprintln!(
            "barrier: stopped by {signal} after {} of {} rounds; results are partial",
            rounds.len(),
            args.rounds
        );
    }
    let held = rounds.iter().filter(|r| r.held).count();
    let releases: Vec<f64> = rounds
        .iter()
        .filter_map(|r| r.release_ns.map(|ns| ns as f64))
        .collect();
    let results = Results {
        held,
        violated: rounds.len() - held,
        release_median_ns: (!releases.is_empty()).then(|| median(releases)),
        rounds,
    };
    analyse(&args, out, &results, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "barrier",
        schema_version: SCHEMA_VERSION,
        params: Params {
            use_barrier: args.use_barrier,
            threads: args.threads,
            rounds: args.rounds,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: format!(
            "order held in {} of {} round{} ({})",
            results.held,
            results.rounds.len(),
            if results.rounds.len() == 1 { "" } else { "s" },
            if args.use_barrier {
                "with the barrier"
            } else {
                "no barrier"
            }
        ),
        lesson: lesson(args.use_barrier).to_string(),
        partial: stopped.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &report.results.rounds)?;
    Ok(interrupt::exit_status(stopped))
}

fn lesson(use_barrier: bool) -> &'static str {
    if use_barrier {
        "no thread passes a barrier until all have reached it: everything before it happens before anything after it, in every run"
    } else {
        "threads run in no particular order: without a barrier one thread's After can come before another's Before"
    }
}

fn analyse(args: &Args, out: Output, r: &Results, system: &Machine) {
    let Some(last) = r.rounds.last() else {
        return;
    };
    let n = args.threads;
    if r.rounds.len() == 1 {
        if last.held {
            out.analysis(format_args!(
                "order: every Before came before every After: held{}",
                if args.use_barrier {
                    " (the barrier makes it so)"
                } else {
                    " this time, by luck: nothing made it so"
                }
            ));
        } else {
            out.analysis(format_args!(
                "order: violated: {} After line{} printed before the last Before line ({})",
                last.early_afters,
                if last.early_afters == 1 {
                    " was"
                } else {
                    "s were"
                },
                last.order
            ));
        }
    } else {
        out.analysis(format_args!(
            "rounds: {}: every Before came before every After in {} (held) and not in {} (violated)",
            r.rounds.len(),
            r.held,
            r.violated
        ));
    }
    if args.use_barrier && n > 1 {
        let first_waited = last.threads.iter().map(|t| t.waited_ns).max().unwrap_or(0);
        out.analysis(format_args!(
            "at the barrier (last round): thread-{} arrived last and released the others; the first to arrive waited {}",
            last.leader.map_or("?".into(), |l| l.to_string()),
            fmt_ns(first_waited as f64)
        ));
        if let Some(release) = r.release_median_ns {
            out.analysis(format_args!(
                "release: from the last arrival to the last thread passing, {} (median of {} round{}): the leader wakes {} sleeping thread{} at once",
                fmt_ns(release),
                r.rounds.len(),
                if r.rounds.len() == 1 { "" } else { "s" },
                n - 1,
                if n == 2 { "" } else { "s" }
            ));
        }
    }
    out.analysis(format_args!("lesson: {}", lesson(args.use_barrier)));
    out.analysis(format_args!(
        "compare: perf bench futex wake -t {} -w {}   (a barrier's release: the last thread to arrive wakes every sleeping one with one FUTEX_WAKE, as std's Barrier does through notify_all)",
        n.saturating_sub(1).max(1),
        n.saturating_sub(1).max(1)
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
