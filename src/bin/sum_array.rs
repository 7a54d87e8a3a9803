//! sum_array: the lab's sum_array_threads.c and sum_array_processes.c. Sums 100,000,000 random
//! ints split over N threads (default) or N processes, timed from creating the workers to
//! joining them.
//!
//! What the lecture wants you to see: N workers on N CPUs finish sooner, but less than N times
//! sooner (creating them costs time, and the memory bus is shared); threads start faster than
//! processes (a fork copies the page tables of the whole 400 MB array). And with a global lock
//! that every thread holds while it computes, as CPython's GIL does, threads give no speed-up
//! at all: they take turns.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use anyhow::bail;
use clap::Parser;
use oslab::Error;
use oslab::kit::cli::{self, CommonArgs, TrialArgs, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::{Machine, current_cpu};
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::stats::Spread;
use oslab::kit::timing::{self, fmt_ns, lecture_ms, nanos, sig3};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::limits::{check_can_create, check_memory};
use oslab::process::{self, Forked};
use oslab::sys::mman::{HugePages, Mapping, Sharing};
use serde::Serialize;

/// The lab's `#define ARR_LEN 100000000`.
const ARR_LEN: u64 = 100_000_000;
/// The lab's `#define MAX_ELEMENT 1000`: elements are `rand_r(&seed) % MAX_ELEMENT`.
const MAX_ELEMENT: u64 = 1000;

/// Sum a large array with N threads or N processes: the speed-up, and what a global lock does
/// to it.
///
/// The lab's sum_array_threads.c and sum_array_processes.c (compute/lab/support/sum-array):
/// 100,000,000 random ints below 1000, split into N equal parts, one worker per part; the
/// processes write their partial sums into a shared mapping. The timer runs from creating the
/// workers to joining them, as the lab's does (filling the array is not timed). The analysis
/// compares with one sequential pass (sum_array_sequential.c).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: sum_array 2   (then: sum_array 2 --processes; sum_array 2 --global-lock)"
)]
struct Args {
    /// Workers: threads, or processes with --processes [1-1024]
    #[arg(value_name = "N", allow_negative_numbers = true, value_parser = ranged::<u32>(1, 1024))]
    workers: u32,

    /// Fork N processes instead of creating N threads; each writes its partial sum into a
    /// shared mapping (mmap MAP_SHARED | MAP_ANONYMOUS)
    #[arg(long, conflicts_with = "global_lock")]
    processes: bool,

    /// Every thread holds one global lock while it computes, as CPython's GIL makes threads do
    #[arg(long)]
    global_lock: bool,

    /// Elements in the array [1-1000000000]
    #[arg(long, default_value_t = ARR_LEN, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, 1_000_000_000))]
    len: u64,

    /// Seed of the random numbers; the same seed gives the same array, and so the same sum, in
    /// every mode (the lab seeds with time(0)) [0-18446744073709551615]
    #[arg(long, default_value_t = 1, value_name = "S", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, u64::MAX))]
    seed: u64,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// How the work is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Threads,
    Processes,
    GlobalLock,
}

impl Mode {
    fn of(args: &Args) -> Mode {
        if args.processes {
            Mode::Processes
        } else if args.global_lock {
            Mode::GlobalLock
        } else {
            Mode::Threads
        }
    }

    fn worker(self) -> &'static str {
        match self {
            Mode::Processes => "process",
            Mode::Threads | Mode::GlobalLock => "thread",
        }
    }

    fn workers(self) -> &'static str {
        match self {
            Mode::Processes => "processes",
            Mode::Threads | Mode::GlobalLock => "threads",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The array: rand_r(&seed) % MAX_ELEMENT, from a seeded generator.

/// The lab's `rand_r`, replaced by SplitMix64: small, fast and the same on every machine, so a
/// seed names one array.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// for (i = 0; i < ARR_LEN; i++) array[i] = rand_r(&seed) % MAX_ELEMENT;
fn generate(len: u64, seed: u64) -> Vec<i32> {
    let mut rng = SplitMix64(seed);
    (0..len)
        .map(|_| (rng.next() % MAX_ELEMENT) as i32)
        .collect()
}

/// One worker's part: `ARR_LEN / N` elements, the last worker also taking the remainder (the
/// lab drops it; here every mode sums the whole array).
fn part(len: usize, workers: usize, i: usize) -> std::ops::Range<usize> {
    let chunk = len / workers;
    let end = if i + 1 == workers {
        len
    } else {
        (i + 1) * chunk
    };
    i * chunk..end
}

/// The work itself: for (i = start; i < end; i++) sum += array[i];
fn sum(part: &[i32]) -> i64 {
    part.iter().map(|&x| i64::from(x)).sum()
}

// ---------------------------------------------------------------------------------------------
// The three ways of splitting it.

/// What one worker did; times count from the start of the timed window.
#[derive(Clone, Debug, Default, Serialize)]
struct Worker {
    worker: usize,
    start: usize,
    len: usize,
    partial: i64,
    /// When it started summing, and when it was done.
    began_ns: u64,
    ended_ns: u64,
    cpu: Option<usize>,
}

/// N threads; with `lock`, each holds it while it sums (a GIL).
fn with_threads(array: &[i32], n: usize, lock: Option<&Mutex<()>>) -> anyhow::Result<Vec<Worker>> {
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let range = part(array.len(), n, i);
            // pthread_create(&tids[i], NULL, sum_part, &args[i]);
            let handle = std::thread::Builder::new()
                .spawn_scoped(s, move || {
                    let _gil = lock.map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
                    let began_ns = nanos(t0.elapsed());
                    let partial = sum(&array[range.clone()]);
                    Worker {
                        worker: i,
                        start: range.start,
                        len: range.len(),
                        partial,
                        began_ns,
                        ended_ns: nanos(t0.elapsed()),
                        cpu: current_cpu(),
                    }
                })
                .map_err(|source| Error::Spawn {
                    index: i,
                    total: n,
                    source,
                })?;
            handles.push(handle);
        }
        // pthread_join(tids[i], NULL);
        handles
            .into_iter()
            .enumerate()
            .map(|(index, h)| h.join().map_err(|_| Error::WorkerPanicked { index }.into()))
            .collect()
    })
}

/// N processes; each writes its partial sum (and its times) into `shared`, four words per
/// worker: the partial sum, began_ns, ended_ns, the CPU + 1. Returns None when Ctrl-C stopped
/// the run: the children are then killed and reaped.
fn with_processes(
    array: &[i32],
    n: usize,
    shared: &Mapping,
    single: &SingleThreaded,
) -> anyhow::Result<Option<Vec<Worker>>> {
    let slots = shared.words();
    let t0 = Instant::now();
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        let range = part(array.len(), n, i);
        // pid = fork();
        match process::fork(single)? {
            Forked::Child => process::run_child(|| {
                let slot = &slots[4 * i..4 * i + 4];
                slot[1].store(nanos(t0.elapsed()) as i64, Relaxed);
                slot[0].store(sum(&array[range]), Relaxed); // results[i] = sum of my part
                slot[2].store(nanos(t0.elapsed()) as i64, Relaxed);
                slot[3].store(current_cpu().map_or(0, |c| c as i64 + 1), Relaxed);
                0
            }),
            Forked::Parent(child) => children.push((child, range)),
        }
    }
    let mut workers = Vec::with_capacity(n);
    for (i, (child, range)) in children.into_iter().enumerate() {
        // waitpid(pids[i], &status, 0);
        let pid = child.pid();
        let process::Waited::Ended { exit, .. } = process::wait_or_stop(child)? else {
            return Ok(None); // the children not yet waited for are killed and reaped on drop
        };
        if !exit.success() {
            bail!("worker process {i} (pid {pid}) {exit}: its partial sum is missing");
        }
        let slot = &slots[4 * i..4 * i + 4];
        workers.push(Worker {
            worker: i,
            start: range.start,
            len: range.len(),
            partial: slot[0].load(Relaxed),
            began_ns: slot[1].load(Relaxed) as u64,
            ended_ns: slot[2].load(Relaxed) as u64,
            cpu: (slot[3].load(Relaxed) as usize).checked_sub(1),
        });
    }
    Ok(Some(workers))
}

// ---------------------------------------------------------------------------------------------

/// One trial: one CSV row.
#[derive(Clone, Debug, Serialize)]
struct Trial {
    trial: u32,
    /// The lab's two lines: the sum and whole ms.
    sum: i64,
    time_ms: u64,
    /// The lab's window (create → join), in ns.
    elapsed_ns: u64,
    /// One pass over the whole array in the main thread, no worker created.
    sequential_ns: u64,
    /// sequential_ns / elapsed_ns.
    speedup: f64,
    /// elapsed_ns per element.
    ns_per_element: f64,
    voluntary_cs: u64,
    nonvoluntary_cs: u64,
    workers: Vec<Worker>,
}

#[derive(Serialize)]
struct Params {
    workers: u32,
    mode: Mode,
    len: u64,
    seed: u64,
    trials: u32,
    warmup: u32,
    cpu: Option<String>,
}

#[derive(Serialize)]
struct Results {
    trials: Vec<Trial>,
    /// The array's sum, from the sequential pass: every trial must find it.
    expected_sum: i64,
    /// The time to fill the array (not timed by the lab).
    generate_ns: u64,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    time_ms: Option<Spread>,
    speedup: Option<Spread>,
}

fn trial(args: &Args, array: &[i32], number: u32) -> anyhow::Result<Option<Trial>> {
    let n = args.workers as usize;
    let mode = Mode::of(args);
    // The lab's sum_array_sequential.c, for the speed-up: one pass, no worker.
    let start = Instant::now();
    let sequential = std::hint::black_box(sum(std::hint::black_box(array)));
    let sequential_ns = nanos(start.elapsed());

    let lock = Mutex::new(());
    // Before the timer starts, as in the lab: the mapping for the partial sums
    // (results = mmap(NULL, n * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
    // -1, 0)), and the proof that fork may run.
    let shared = Mapping::new(n * 4 * 8, Sharing::Shared, HugePages::Default)?;
    let single = match mode {
        Mode::Processes => Some(SingleThreaded::check()?),
        _ => None,
    };
    let before = Snapshot::of_self()?;
    let start = Instant::now(); // the lab's window: create, sum, join
    let workers = match (mode, &single) {
        (Mode::Threads, _) => with_threads(array, n, None)?,
        (Mode::GlobalLock, _) => with_threads(array, n, Some(&lock))?,
        (Mode::Processes, Some(single)) => match with_processes(array, n, &shared, single)? {
            Some(w) => w,
            None => return Ok(None),
        },
        (Mode::Processes, None) => unreachable!("the proof is made above"),
    };
    let total: i64 = workers.iter().map(|w| w.partial).sum();
    let elapsed = start.elapsed();
    let counters = before.delta(&Snapshot::of_self()?);
    if total != sequential {
        bail!("the workers' sum {total} differs from the sequential sum {sequential}");
    }
    let elapsed_ns = nanos(elapsed);
    Ok(Some(Trial {
        trial: number,
        sum: total,
        time_ms: lecture_ms(elapsed),
        elapsed_ns,
        sequential_ns,
        speedup: sequential_ns as f64 / elapsed_ns.max(1) as f64,
        ns_per_element: elapsed_ns as f64 / array.len() as f64,
        voluntary_cs: counters.voluntary_cs,
        nonvoluntary_cs: counters.nonvoluntary_cs,
        workers,
    }))
}

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("sum_array", |c| c.args_override_self(true));
    cli::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let mode = Mode::of(&args);
    if args.workers as u64 > args.len {
        bail!(
            "{} workers for {} elements: every worker needs at least one",
            args.workers,
            args.len
        );
    }
    let bytes = args.len * std::mem::size_of::<i32>() as u64;
    check_memory(bytes, &format!("an array of {} ints", args.len))?;
    if mode == Mode::Processes {
        check_can_create(u64::from(args.workers))?;
    }

    let start = Instant::now();
    let array = generate(args.len, args.seed);
    let generate_ns = nanos(start.elapsed());
    let expected_sum = sum(&array);

    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    let trials = timing::run_trials(
        args.trials.warmup,
        args.trials.trials,
        |r| trial(&args, &array, r.number()),
        |t| {
            if let Some(t) = t {
                // printf("Array sum is %ld\nTime spent: %lu ms\n", final_result, time);
                out.lecture(format_args!("Array sum is {}", t.sum));
                out.lecture(format_args!("Time spent: {} ms", t.time_ms));
            }
        },
        Option::is_some,
    )?;
    let counters = before.delta(&Snapshot::of_self()?);
    let done: Vec<Trial> = trials.done.into_iter().flatten().collect();
    if let Some(signal) = trials.interrupted {
        eprintln!(
            "sum_array: stopped by {signal} after {} of {} trials; results are partial",
            done.len(),
            args.trials.trials
        );
    }
    let summary = Summary {
        time_ms: Spread::of(done.iter().map(|t| t.time_ms as f64)),
        speedup: Spread::of(done.iter().map(|t| t.speedup)),
    };
    analyse(&args, &out, &system, &done, &summary, generate_ns);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "sum_array",
        schema_version: SCHEMA_VERSION,
        params: Params {
            workers: args.workers,
            mode,
            len: args.len,
            seed: args.seed,
            trials: args.trials.trials,
            warmup: args.trials.warmup,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: done
            .last()
            .map_or("stopped before a trial ended".into(), |t| {
                format!(
                    "{} {}: {} ms, speed-up {}× over one sequential pass",
                    args.workers,
                    mode.workers(),
                    t.time_ms,
                    sig3(t.speedup)
                )
            }),
        lesson: lesson(mode).into(),
        partial: trials.interrupted.is_some(),
        counters,
        system,
        results: Results {
            trials: done,
            expected_sum,
            generate_ns,
            summary,
        },
    };
    out.finish(&report, &report.results.trials)?;
    Ok(interrupt::exit_status(trials.interrupted))
}

fn lesson(mode: Mode) -> &'static str {
    match mode {
        Mode::Threads => {
            "N threads on N CPUs sum faster, but less than N times faster: creating them costs time and they share one memory bus"
        }
        Mode::Processes => {
            "processes divide the work as threads do, but each fork first copies the page tables of the whole array: they start later"
        }
        Mode::GlobalLock => {
            "with one lock held while computing, as under CPython's GIL, only one thread runs at a time: more threads give no speed-up"
        }
    }
}

fn analyse(
    args: &Args,
    out: &Output,
    system: &Machine,
    done: &[Trial],
    summary: &Summary,
    generate_ns: u64,
) {
    let mode = Mode::of(args);
    let n = args.workers as usize;
    if done.len() > 1 {
        let f = |s: &Option<Spread>| {
            s.map_or("-".into(), |s| {
                format!("{} / {} / {}", sig3(s.min), sig3(s.median), sig3(s.max))
            })
        };
        out.analysis(format_args!(
            "over {} trials, min / median / max: time {} ms, speed-up {}×",
            done.len(),
            f(&summary.time_ms),
            f(&summary.speedup)
        ));
    }
    let Some(t) = done.last() else {
        out.analysis("no trial completed");
        return;
    };
    out.analysis(format_args!(
        "array: {} random ints below {MAX_ELEMENT} (seed {}, filled in {}, not timed), {} per {} ({}{})",
        args.len,
        args.seed,
        fmt_ns(generate_ns as f64),
        args.len / n as u64,
        mode.worker(),
        match mode {
            Mode::Threads => "threads",
            Mode::Processes => "processes, partial sums in a MAP_SHARED mapping",
            Mode::GlobalLock => "threads behind one global lock",
        },
        if !args.len.is_multiple_of(n as u64) {
            "; the last also takes the remainder"
        } else {
            ""
        }
    ));
    let usable = system.cpus_usable_count;
    let ideal = n.min(usable).max(1);
    out.analysis(format_args!(
        "speed-up: {}× over one sequential pass ({}); ideal {ideal}× ({n} {} on {usable} usable CPUs){}",
        sig3(t.speedup),
        fmt_ns(t.sequential_ns as f64),
        if n == 1 { mode.worker() } else { mode.workers() },
        match mode {
            Mode::GlobalLock if n > 1 => format!(
                "; the lock lost {}× of it: one thread summed at a time",
                sig3(ideal as f64 / t.speedup.max(0.001))
            ),
            _ => String::new(),
        }
    ));
    let per_worker: Vec<String> = t
        .workers
        .iter()
        .map(|w| {
            format!(
                "{} {}–{}{}",
                w.worker,
                fmt_ns(w.began_ns as f64),
                fmt_ns(w.ended_ns as f64),
                w.cpu.map_or(String::new(), |c| format!(" CPU {c}"))
            )
        })
        .collect();
    out.analysis(format_args!(
        "workers (start–end of each sum, from the start of the window): {}",
        per_worker.join(", ")
    ));
    match mode {
        Mode::Processes => {
            let last_start = t.workers.iter().map(|w| w.began_ns).max().unwrap_or(0);
            out.analysis(format_args!(
                "  the last process began summing {} into the window: every fork copies the parent's page tables, and they map the whole {} MiB array",
                fmt_ns(last_start as f64),
                (args.len * 4) >> 20
            ));
        }
        Mode::GlobalLock if n > 1 => out.analysis(
            "  with the lock the sums ran one after another: each thread began when the previous one ended",
        ),
        _ => {}
    }
    out.analysis(format_args!(
        "context switches in the window: {} voluntary, {} nonvoluntary",
        t.voluntary_cs, t.nonvoluntary_cs
    ));
    out.analysis(format_args!("lesson: {}", lesson(mode)));
    out.analysis(
        "compare: perf stat -e task-clock,context-switches,cpu-migrations -- sum_array N   (\"CPUs utilized\" is the parallelism the run got); oslab compare sum_array",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
