//! gil: N tasks under CPython's global interpreter lock, CPU-bound and I/O-bound, run as
//! threads, processes, asyncio tasks and subinterpreters, each timed against one thread.
//!
//! What the lecture wants you to see: the first seed's "Threads, Processes, and the GIL" and
//! the CPython table (threading / multiprocessing / asyncio: concurrent? parallel?). The GIL
//! lets one thread at a time run bytecode: a thread holds it while it computes and lets it go
//! while it waits for I/O. So threads give no speed-up on CPU-bound work (they take turns, every
//! 5 ms switch interval) but overlap their waits on I/O-bound work, nearly N× faster.
//! Processes have a GIL each and speed up both, at the price of a fork. The table is printed
//! with the speed-ups this run measured; `--python` runs the same workloads in real CPython.
//!
//! The lecture's Python, in outline:
//!
//! ```python
//! def cpu_bound():                  # bytecode only: holds the GIL
//!     k = K
//!     while k > 0: k -= 1
//! def io_bound():                   # time.sleep lets the GIL go
//!     for _ in range(WAITS): time.sleep(IO)
//! threads = [threading.Thread(target=cpu_bound) for _ in range(N)]   # then start, join
//! with multiprocessing.Pool(N) as pool: ...                           # a GIL per process
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use oslab::demos::threads::gil::{self as lab, Lecture};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged, whole};
use oslab::kit::{self, interrupt};
use oslab::sync::gil::Held;

/// The GIL: threads speed up waiting, not computing; processes speed up both.
///
/// The first seed's GIL section and the CPython table (threading, multiprocessing, asyncio:
/// concurrent? parallel?): N tasks under a model of CPython's GIL (held while computing, let go
/// around each wait, given up every switch interval), CPU-bound and I/O-bound, as threads,
/// forked processes, asyncio tasks and subinterpreters; the table with measured speed-ups.
/// --python runs the same workloads in CPython (python3 -c) beside the model.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: gil --tasks 2 --work 50 --python   (the CPython table, measured)"
)]
struct Args {
    /// Tasks run at once: threads, processes, asyncio tasks [1-64]
    #[arg(long, default_value_t = 4, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<usize>(1, 64))]
    tasks: usize,

    /// Bytecode time in one CPU-bound task (100, 1s; a bare number is ms) [1ms-10s]
    #[arg(long, default_value = "100", value_name = "MS",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(10), Unit::Ms))]
    work: Duration,

    /// Waits in one I/O-bound task [1-10000]
    #[arg(long, default_value_t = 20, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 10_000))]
    waits: u32,

    /// Each wait, time.sleep(IO) (5, 2ms; a bare number is ms) [1ms-10s]
    #[arg(long, default_value = "5", value_name = "MS",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(10), Unit::Ms))]
    io: Duration,

    /// The GIL's switch interval, sys.setswitchinterval (CPython's default 5ms; a bare number is
    /// µs) [100µs-1s]
    #[arg(long, default_value = "5000", value_name = "US",
          value_parser = duration(Duration::from_micros(100), Duration::from_secs(1), Unit::Us))]
    switch_interval: Duration,

    /// Also run the same workloads in CPython (python3 -c ...: threading, multiprocessing,
    /// asyncio) and put its speed-ups beside the model's
    #[arg(long)]
    python: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// One bytecode, `k -= 1` with a little arithmetic the compiler cannot fold away.
fn bytecode(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
}

/// `def cpu_bound(): while k > 0: k -= 1`: `k` bytecodes with the GIL held; between two of
/// them the eval loop checks whether a waiter asked for the GIL (every switch interval).
fn cpu_bound(held: &mut Held<'_>, k: u64) {
    let mut x = k;
    for _ in 0..k {
        x = bytecode(x); // k -= 1
        held.check(); // the eval breaker: drop the GIL if asked, then take it again
        if interrupt::requested().is_some() {
            return; // the eval breaker also sees Ctrl-C: KeyboardInterrupt
        }
    }
}

/// `def io_bound(): for _ in range(waits): time.sleep(io)`: each sleep without the GIL.
fn io_bound(held: &mut Held<'_>, waits: u32, io: Duration) {
    for _ in 0..waits {
        // Py_BEGIN_ALLOW_THREADS; sleep(io); Py_END_ALLOW_THREADS
        if held.release_while(|| interrupt::sleep(io)).is_some() {
            return; // Ctrl-C
        }
    }
}

fn params(args: &Args) -> lab::Params {
    lab::Params {
        tasks: args.tasks,
        work_ms: whole(args.work, Unit::Ms),
        waits: args.waits,
        io_ms: whole(args.io, Unit::Ms),
        switch_interval_us: whole(args.switch_interval, Unit::Us),
        python: args.python,
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("gil");
    let params = params(&args);
    let lecture = Lecture {
        cpu_bound,
        io_bound,
    };
    kit::run("gil", &args.common, params.clone(), |s| {
        lab::run(lecture, &params, s.out)
    })
}
