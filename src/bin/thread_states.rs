//! thread_states: four threads on one CPU, two computing, one blocked on a lock, one blocked
//! reading a pipe, watched RUNNING, READY and BLOCKED; then main wakes the blocked two.
//!
//! What the lecture wants you to see: the slide "Thread States": at most one RUNNING thread per
//! core, queues for the READY and the BLOCKED ones. The two computing threads take turns on the
//! CPU: while one is RUNNING the other is READY, runnable and waiting in the run queue. The
//! thread waiting for the lock and the one reading an empty pipe are BLOCKED: not in the run
//! queue, taking no CPU at all. When main unlocks the lock and writes to the pipe they become
//! READY, and then RUNNING in their turn, four threads sharing one CPU.
//!
//! The kernel's `stat` says `R` for RUNNING and READY alike; the sampler (on another CPU) tells
//! them apart by each thread's CPU clock over a 1 ms window, and prints how it decided.
//!
//! In C, in outline:
//!
//! ```c
//! void *compute(void *arg) { while (!stop) x++; }
//! void *on_lock(void *arg) { pthread_mutex_lock(&lock); pthread_mutex_unlock(&lock); compute(arg); }
//! void *on_pipe(void *arg) { read(fds[0], &c, 1); compute(arg); }
//! int main(void) {
//!     pthread_mutex_lock(&lock); pipe(fds);
//!     /* four threads, each pinned to CPU 0 (pthread_setaffinity_np) */
//!     sleep(1);                                  /* watch: ps -L -o tid,stat,wchan */
//!     pthread_mutex_unlock(&lock); write(fds[1], "x", 1);
//!     sleep(1); stop = 1;                        /* watch again, then join */
//! }
//! ```

use std::io::{PipeReader, Read};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use oslab::Error;
use oslab::demos::threads::thread_states::{self as lab, Bench, Phase, Wake};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged, whole};
use oslab::kit::report::Output;
use oslab::kit::{self, Session};

/// The Thread States slide: RUNNING, READY, BLOCKED; at most one RUNNING thread per core.
///
/// The slide "Thread States": four threads pinned to one CPU: two compute, one waits for a lock
/// main holds, one reads a pipe main has not written. A sampler on another CPU reads each
/// thread's /proc state and CPU clock and prints a timeline of RUNNING / READY / BLOCKED; then
/// main unlocks and writes, and the two blocked threads become READY and RUNNING.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: thread_states --samples 60 --interval 5   (--cpu 1 puts the threads on CPU 1)"
)]
struct Args {
    /// Samples before the wake, and as many after it [2-1000]
    #[arg(long, default_value_t = 40, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(2, 1000))]
    samples: u32,

    /// Time between samples (10, 5ms; a bare number is ms) [2ms-1s]
    #[arg(long, default_value = "10", value_name = "MS",
          value_parser = duration(Duration::from_millis(2), Duration::from_secs(1), Unit::Ms))]
    interval: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// `while (!stop) x++;`: CPU-bound, never blocks.
fn compute(stop: &AtomicBool) {
    let mut x = 0u64;
    while !stop.load(Relaxed) {
        x = std::hint::black_box(x.wrapping_add(1)); // x++
    }
}

/// The thread that waits for the lock main holds, then computes.
fn on_lock(tid: i32, lock: &Mutex<()>, stop: &AtomicBool, out: Output) {
    out.lecture(format_args!(
        "[lock] TID {tid}: pthread_mutex_lock(&lock)..."
    ));
    drop(lock.lock()); // pthread_mutex_lock(&lock); pthread_mutex_unlock(&lock);
    out.lecture(format_args!("[lock] TID {tid}: got the lock, computing"));
    compute(stop);
}

/// The thread that reads the pipe main has not written, then computes.
fn on_pipe(tid: i32, mut pipe: PipeReader, stop: &AtomicBool, out: Output) {
    out.lecture(format_args!("[pipe] TID {tid}: read(fds[0], &c, 1)..."));
    let mut c = [0u8; 1];
    let _ = pipe.read(&mut c); // read(fds[0], &c, 1): a byte, or end of file
    out.lecture(format_args!("[pipe] TID {tid}: read a byte, computing"));
    compute(stop);
}

/// main: takes the lock, makes the pipe, starts the four threads, watches, wakes, watches.
fn thread_states(args: &Args, s: &Session) -> Result<lab::Results> {
    let out = s.out;
    let (stop, lock) = (AtomicBool::new(false), Mutex::new(()));
    let held = lock
        .lock()
        .map_err(|_| Error::Failed("the lock is poisoned".into()))?;
    let (reader, writer) = std::io::pipe().map_err(Error::io("pipe"))?; // pipe(fds)
    let mut bench = Bench::new(params(args), s.cpu.as_ref())?;
    std::thread::scope(|scope| -> Result<lab::Results> {
        let mut wake = Wake::new(held, writer, &stop); // lets everything go on every path
        for _ in 0..2 {
            bench.spawn(scope, |tid| {
                out.lecture(format_args!("[compute] TID {tid}: computing"));
                compute(&stop)
            })?;
        }
        bench.spawn(scope, |tid| on_lock(tid, &lock, &stop, out))?;
        bench.spawn(scope, |tid| on_pipe(tid, reader, &stop, out))?;
        bench.sample(Phase::Before)?; // sleep(1), watched
        out.lecture("[main] pthread_mutex_unlock(&lock); write(fds[1], \"x\", 1)");
        wake.now()?;
        bench.sample(Phase::After)?; // sleep(1), watched; then stop = 1 (wake's drop) and join
        Ok(bench.finish())
    })
}

fn params(args: &Args) -> lab::Params {
    lab::Params {
        samples: args.samples,
        interval_ms: whole(args.interval, Unit::Ms),
        window_us: 1000.min(whole(args.interval, Unit::Ms) * 500),
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("thread_states");
    kit::run("thread_states", &args.common, params(&args), |s| {
        thread_states(&args, s)
    })
}
