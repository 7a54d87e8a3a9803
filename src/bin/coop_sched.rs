//! coop_sched: user-level threads on one OS thread, switched by a scheduler written right here:
//! a run queue and a context switch.
//!
//! What the lecture wants you to see: a cooperative scheduler switches only when the running
//! thread yields. With a yield after every step (`--cooperate`) the two threads interleave;
//! with a yield only at the end (the default) thread 1 runs to completion before thread 2 even
//! starts. `--preemptive` adds what the lab's libult adds: a 10 ms profiling timer that takes
//! the CPU back from a thread that never yields. All of it happens inside one process, on one
//! OS thread: the kernel sees none of these switches.

use std::{collections::VecDeque, process::ExitCode, rc::Rc, time::Duration};

use clap::Parser;
use oslab::demos::scheduling::coop_sched::{self as lab, Event, Log, Mode};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::{self, interrupt, timing::monotonic_ns, timing::thread_cpu_ns};
use oslab::sys::ult::{self, Switch, UserThread, yield_now};

/// Two user-level threads take three steps each on one OS thread, switched by a scheduler of our
/// own: a run queue and swapcontext.
///
/// The lecture's cooperative-scheduling demo (apps/app-schedule-threads/main.c on Unikraft's
/// cooperative scheduler): with --cooperate each thread yields after every step and they
/// interleave; by default they yield only at the end and run one after the other. --preemptive
/// drives them from a 10 ms profiling timer, as the lab's libult does, with a busy step.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: coop_sched --cooperate")]
struct Args {
    /// Yield after every step (the lecture's CONFIG_APPSCHEDULETHREADS_COOPERATE): the threads
    /// interleave
    #[arg(long, conflicts_with = "preemptive")]
    cooperate: bool,

    /// Never yield: each step computes for --busy, and a profiling timer (setitimer ITIMER_PROF,
    /// as libult) ends the running thread's slice every --slice; it gives way at its next
    /// safepoint
    #[arg(long)]
    preemptive: bool,

    /// User-level threads [1-64]
    #[arg(long, default_value_t = 2, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 64))]
    threads: u32,

    /// Steps per thread (the slides' listings show three; main.c's NUM_STEPS is 4) [1-1000]
    #[arg(long, default_value_t = 3, value_name = "K", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1000))]
    steps: u32,

    /// With --preemptive: the time slice, in CPU time (10ms, or bare ms) [1ms-1s]
    #[arg(long, default_value = "10ms", value_name = "MS", requires = "preemptive",
          conflicts_with = "cooperate", value_parser = duration(Duration::from_millis(1), Duration::from_secs(1), Unit::Ms))]
    slice: Duration,

    /// With --preemptive: how long each step computes (25ms, or bare ms) [1ms-10s]
    #[arg(long, default_value = "25ms", value_name = "MS", requires = "preemptive",
          conflicts_with = "cooperate", value_parser = duration(Duration::from_millis(1), Duration::from_secs(10), Unit::Ms))]
    busy: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// ```c
/// printf("Thread %d created!\n", tid);
/// for (i = 0; i < NUM_STEPS; i++) {
///     printf("Thread %d: step %d\n", tid, i);
/// #ifdef CONFIG_APPSCHEDULETHREADS_COOPERATE
///     uk_sched_yield();            /* coop: yield after every step */
/// #endif
/// }
/// printf("Thread %d finished!\n", tid);
/// #ifndef CONFIG_APPSCHEDULETHREADS_COOPERATE
///     uk_sched_yield();            /* nocoop: yield only once, at the end */
/// #endif
/// ```
fn thread_body(tid: u32, steps: u32, mode: Mode, busy: Duration, log: &Log) {
    log.say(tid, Event::Created, format!("Thread {tid} created!"));
    for i in 0..steps {
        if interrupt::requested().is_some() {
            return; // Ctrl-C: stop stepping; the thread still ends, so its stack is freed
        }
        log.say(tid, Event::Step(i), format!("Thread {tid}: step {i}"));
        match mode {
            Mode::Cooperate => yield_now(), // uk_sched_yield(): the next ready thread runs
            Mode::Preemptive => busy_step(busy, log), // computes; the timer decides
            Mode::Sequential => {}
        }
    }
    log.say(tid, Event::Finished, format!("Thread {tid} finished!"));
    if mode == Mode::Sequential {
        yield_now(); // uk_sched_yield(), once, at the end
    }
}

/// The scheduler: a run queue of ready threads (a number, a context on an mmap'd stack), first
/// come, first served, as Unikraft's cooperative scheduler and libult's ready queue. It runs
/// until every thread has finished: that is main's pthread_join.
fn schedule(mut ready: VecDeque<(u32, UserThread)>, log: &Log) {
    while let Some((tid, mut thread)) = ready.pop_front() {
        log.switched_to(tid);
        match thread.run() {
            // swapcontext(&scheduler, &next): it runs until it yields or returns.
            Switch::Yielded => ready.push_back((tid, thread)), // it yielded: to the back of the queue
            Switch::Finished => drop(thread),                  // it returned: munmap its stack
        }
    }
}

/// One step of work under --preemptive: `busy` of computing, with a safepoint after each small
/// chunk. The SIGPROF handler only raises a flag (libult's calls setcontext inside the signal,
/// which code halfway through a malloc cannot survive); the thread yields at its safepoints.
fn busy_step(busy: Duration, log: &Log) {
    let mut done = Duration::ZERO;
    let mut x = 0x1234_5678u64;
    let cpu_ns = || thread_cpu_ns().unwrap_or_else(monotonic_ns); // CLOCK_THREAD_CPUTIME_ID
    while done < busy && interrupt::requested().is_none() {
        let chunk = cpu_ns();
        for i in 0..20_000u64 {
            x = std::hint::black_box(x ^ i).rotate_left(7); // the lecture's `val ^= j`
        }
        // Only CPU time counts, as for the timer's slice (wall time: a loaded machine, no tick).
        done += Duration::from_nanos(cpu_ns().saturating_sub(chunk));
        if ult::slice_over() {
            log.preempted();
            yield_now(); // the safepoint: the slice is over, back to the scheduler
        }
    }
}

/// main: pthread_create for each thread (none runs before main waits), then pthread_join.
fn create_and_join(args: &Args, mode: Mode, log: &Rc<Log>) -> oslab::Result<()> {
    let mut ready = VecDeque::new();
    for tid in 1..=args.threads {
        let (log, steps, busy) = (Rc::clone(log), args.steps, args.busy);
        let thread = UserThread::new(move || thread_body(tid, steps, mode, busy, &log))?;
        ready.push_back((tid, thread));
    }
    schedule(ready, log);
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = kit::parse("coop_sched");
    let mode = Mode::of(args.cooperate, args.preemptive);
    let p = lab::Params::new(mode, args.threads, args.steps, args.slice, args.busy);
    kit::run("coop_sched", &args.common, p.clone(), |s| {
        lab::run(s, &p, |log| create_and_join(&args, mode, log))
    })
}
