//! goroutines: 10,000 user-level tasks on as many OS threads as there are CPUs, scheduled by a
//! little runtime of our own with a run queue per thread and work stealing (Go's M:N model).
//!
//! What the lecture wants you to see: "many goroutines execute within a single OS thread; the
//! runtime is a little OS inside one OS thread; a logical processor is mapped to a thread". The
//! kernel lists only the M threads, not the K tasks; a task costs nanoseconds to create where a
//! thread costs microseconds; and the classic M:N trap: a task that blocks in a system call
//! blocks its whole thread, and the tasks queued behind it wait, until the runtime hands the
//! queue to a spare thread (Go's hand-off). A task here is a state machine (a step counter the
//! worker calls until it is done), not a ucontext stack: a yield is a return to the worker loop.
//! Beside it, what a switch costs on one CPU: two of the library's ucontext user threads (as
//! coop_sched's) yielding to each other, two tasks yielding, and two OS threads the kernel
//! switches between (a byte through pipes, as context_switch's ping-pong).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::scheduling::goroutines::{self as lab, Goroutine, P, Step};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::machine::usable_cpus;
use oslab::kit::timing::nanos;
use oslab::kit::{self, interrupt};

/// K user-level tasks on M OS threads (Go's goroutines on GOMAXPROCS threads): the kernel's
/// thread count, the cost of creating a task against a thread, of a user-level switch against
/// an OS thread switch, and a blocking system call stalling its thread's queue, without and
/// with Go's hand-off.
///
/// The lecture's Go notes: `for i := 0; i < K; i++ { go work(i) }`, where work sums numbers
/// and calls runtime.Gosched() now and then; the blocking call is syscall.Nanosleep.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: goroutines --tasks 2000 --block-ms 50")]
struct Args {
    /// User-level tasks, K [1-1000000]
    #[arg(long, default_value_t = 10_000, value_name = "K", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1_000_000))]
    tasks: u32,

    /// Worker OS threads, M (Go's GOMAXPROCS); default: the usable CPUs [1-64]
    #[arg(long, value_name = "M", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 64))]
    workers: Option<u32>,

    /// Numbers each task sums [1-10000000]
    #[arg(long, default_value_t = 3000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, 10_000_000))]
    numbers: u64,

    /// Yields per task: it calls runtime.Gosched() this many times [0-1000]
    #[arg(long, default_value_t = 2, value_name = "Y", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 1000))]
    yields: u64,

    /// How long the blocking task's system call sleeps (200, 0.5s; a bare number is ms) [1ms-10s]
    #[arg(long, default_value = "200", value_name = "MS",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(10), Unit::Ms))]
    block_ms: Duration,

    /// Switches timed of each kind: user threads, tasks, OS threads (half as many pipe round
    /// trips) [2-10000000]
    #[arg(long, default_value_t = 4000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(2, 10_000_000))]
    switches: u64,

    #[command(flatten)]
    common: CommonArgs,
}

/// One step of the lecture's goroutine, resumed where it yielded (`g.pc`):
///
/// ```go
/// func work(id int) {
///     if blocker { syscall.Nanosleep(&ts, nil) }   // a blocking system call
///     sum := 0
///     for i := 0; i < n; i++ {
///         sum += i
///         if i%chunk == chunk-1 { runtime.Gosched() }   // yield
///     }
/// }
/// ```
fn work(g: &mut Goroutine, p: &P) -> Step {
    if let Some(d) = g.block
        && g.pc == 0
    {
        p.syscall(|| interrupt::sleep(d)); // syscall.Nanosleep: the whole OS thread sleeps
    }
    let end = (g.pc + g.chunk).min(g.numbers);
    for i in g.pc..end {
        g.sum = std::hint::black_box(g.sum.wrapping_add(i)); // sum += i
    }
    g.pc = end;
    if g.pc < g.numbers {
        Step::Yield // runtime.Gosched(): back to the worker's run queue
    } else {
        Step::Done
    }
}

/// `go work(i)`: a new task, not yet run.
fn go(i: u32, p: &lab::Params) -> Goroutine {
    Goroutine::new(i, p.numbers, p.chunk)
}

/// GOMAXPROCS: `--workers`, or the CPUs this process may use (`--cpu`'s, which the kit applies
/// only when the run starts), as Go counts its affinity mask.
fn params(a: &Args) -> lab::Params {
    let cpus = match &a.common.cpu {
        Some(list) => list.0.len(),
        None => usable_cpus().len(),
    };
    lab::Params {
        tasks: a.tasks,
        workers: a.workers.unwrap_or(cpus.max(1) as u32),
        numbers: a.numbers,
        chunk: a.numbers.div_ceil(a.yields + 1),
        block_ns: nanos(a.block_ms),
        switches: a.switches,
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("goroutines");
    let p = params(&args);
    kit::run("goroutines", &args.common, p.clone(), |s| {
        lab::run(s, &p, go, work)
    })
}
