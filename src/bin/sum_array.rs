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
use std::sync::{Mutex, atomic::Ordering::Relaxed};

use clap::Parser;
use oslab::Result;
use oslab::demos::processes::sum_array::{self as lab, Mode, Window, Work, Worker};
use oslab::kit;
use oslab::kit::cli::{self, CommonArgs, TrialArgs, ranged};
use oslab::process::{self, Forked, SingleThreaded, channel::channel};

/// sum_part: for (i = start; i < end; i++) sum += array[i];
fn sum(part: &[i32]) -> i64 {
    part.iter().map(|&x| i64::from(x)).sum()
}

/// main() of the lab's programs: start the clock, split the work, join, print.
fn sum_array(w: &mut Work<'_>) -> Result<Option<Window>> {
    let gil = Mutex::new(());
    // fork's proof that the process is single-threaded, made before the timer (a /proc read)
    let single = (w.mode == Mode::Processes)
        .then(SingleThreaded::check)
        .transpose()?;
    w.start_clock()?; // start = get_current_millis();
    let workers = match (w.mode, &single) {
        (Mode::Threads, _) => with_threads(w, None)?,
        (Mode::GlobalLock, _) => with_threads(w, Some(&gil))?,
        (Mode::Processes, Some(single)) => match with_processes(w, single)? {
            Some(workers) => workers,
            None => return Ok(None), // Ctrl-C
        },
        (Mode::Processes, None) => unreachable!("the proof is made above"),
    };
    let final_result: i64 = workers.iter().map(|w| w.partial).sum();
    let window = w.stop_clock(workers)?; // time = get_current_millis() - start;
    let time = window.time_ms;
    // printf("Array sum is %ld\nTime spent: %lu ms\n", final_result, time);
    w.out.lecture(format_args!("Array sum is {final_result}"));
    w.out.lecture(format_args!("Time spent: {time} ms"));
    Ok(Some(window))
}

/// sum_array_threads.c: N threads, one part each. With --global-lock each holds one lock while
/// it sums, as a thread holds CPython's GIL while it computes.
fn with_threads(w: &Work<'_>, gil: Option<&Mutex<()>>) -> Result<Vec<Worker>> {
    std::thread::scope(|s| {
        let mut tids = Vec::with_capacity(w.n);
        for i in 0..w.n {
            // pthread_create(&tids[i], NULL, sum_part, &args[i]);
            tids.push(lab::spawn(s, i, w.n, move || {
                let _held = gil.map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
                let began = w.now();
                w.report(i, sum(&w.array[w.part(i)]), began)
            })?);
        }
        lab::join(tids) // pthread_join(tids[i], NULL);
    })
}

/// sum_array_processes.c: N children, one part each; each writes its partial sum into the
/// shared mapping (results[i]) and reports its times to the parent.
fn with_processes(w: &Work<'_>, single: &SingleThreaded) -> Result<Option<Vec<Worker>>> {
    let (reports, sender) = channel::<Worker>()?;
    let mut pids = Vec::with_capacity(w.n);
    for (i, result) in w.results.words().iter().enumerate() {
        // pid = fork();
        match process::fork(single)? {
            Forked::Child => process::run_child(|| {
                let began = w.now();
                let partial = sum(&w.array[w.part(i)]);
                result.store(partial, Relaxed); // results[i] = sum of my part
                i32::from(sender.send(&w.report(i, partial, began)).is_err())
            }),
            Forked::Parent(child) => pids.push(child),
        }
    }
    drop(sender); // the children hold the only sending ends now
    lab::wait_for(w, pids, reports) // waitpid(pids[i], &status, 0); final_result += results[i]
}

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
    /// Workers: threads, or processes with --processes (default: one per usable CPU, as the lab
    /// runs it on the machine in front of you) [1-1024]
    #[arg(value_name = "N", allow_negative_numbers = true, value_parser = ranged::<u32>(1, 1024))]
    workers: Option<u32>,

    /// Fork N processes instead of creating N threads; each writes its partial sum into a
    /// shared mapping (mmap MAP_SHARED | MAP_ANONYMOUS)
    #[arg(long, conflicts_with = "global_lock")]
    processes: bool,

    /// The array on 4 KiB pages (MADV_NOHUGEPAGE) instead of 2 MiB ones: forked children then
    /// pay for each page's first read, which the fault counters do not show
    #[arg(long)]
    small_pages: bool,

    /// Every thread holds one global lock while it computes, as CPython's GIL makes threads do
    #[arg(long)]
    global_lock: bool,

    /// Elements in the array [1-1000000000]
    #[arg(long, default_value_t = lab::ARR_LEN, value_name = "N", allow_negative_numbers = true,
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

fn main() -> ExitCode {
    let (args, _) = cli::parse::<Args>("sum_array", |c| c.args_override_self(true));
    let mode = Mode::of(args.processes, args.global_lock);
    let workers = args.workers.unwrap_or_else(lab::one_per_cpu);
    let p = lab::Params::of(workers, mode, args.len, args.seed, &args.trials)
        .small_pages(args.small_pages);
    kit::run("sum_array", &args.common, p.clone(), |s| {
        lab::run(s, &p, sum_array)
    })
}
