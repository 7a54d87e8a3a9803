//! coop_sched: user-level threads on one OS thread, switched by a scheduler written right here:
//! a run queue and a context switch.
//!
//! What the lecture wants you to see: a cooperative scheduler switches only when the running
//! thread yields. With a yield after every step (`--cooperate`) the two threads interleave;
//! with a yield only at the end (the default) thread 1 runs to completion before thread 2 even
//! starts. `--preemptive` adds what the lab's libult adds: a 10 ms profiling timer that takes
//! the CPU back from a thread that never yields. All of it happens inside one process, on one
//! OS thread: the kernel sees none of these switches.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use oslab::kit::cli::{self, CommonArgs, duration, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::timing::{fmt_duration, fmt_ns, nanos};
use oslab::proc::counters::{Snapshot, ThreadUsage};
use oslab::sys::ult::{self, Switch, TimeSlices, UserThread, yield_now};
use serde::Serialize;

/// Two user-level threads take four steps each on one OS thread, switched by a scheduler of our
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

    /// Steps per thread [1-1000]
    #[arg(long, default_value_t = 4, value_name = "K", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1000))]
    steps: u32,

    /// With --preemptive: the time slice, in CPU time [1ms-1s]
    #[arg(long, default_value = "10ms", value_name = "DURATION",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(1), None))]
    slice: Duration,

    /// With --preemptive: how long each step computes [1ms-10s]
    #[arg(long, default_value = "25ms", value_name = "DURATION",
          value_parser = duration(Duration::from_millis(1), Duration::from_secs(10), None))]
    busy: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// When a thread gives the CPU back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// Only once, at the end (the lecture's default build).
    Sequential,
    /// After every step (--cooperate).
    Cooperate,
    /// When the timer says its slice is over (--preemptive).
    Preemptive,
}

// ---------------------------------------------------------------------------------------------
// The lecture's program: the thread function, and main creating and joining the threads.

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

/// A user-level thread as the scheduler sees it: its number, and its context with its stack
/// (`oslab::sys::ult::UserThread`: getcontext/makecontext on an mmap'd stack).
struct Ult {
    tid: u32,
    thread: UserThread,
}

/// The scheduler: a run queue of ready threads, first come, first served (Unikraft's
/// cooperative scheduler; libult's ready queue). Runs until every thread has finished: that is
/// main's pthread_join.
fn schedule(mut ready: VecDeque<Ult>, log: &Log) {
    while let Some(mut next) = ready.pop_front() {
        log.switched_to(next.tid);
        match next.thread.run() {
            // swapcontext(&scheduler, &next): it runs until it yields or returns.
            Switch::Yielded => ready.push_back(next), // it yielded: to the back of the queue
            Switch::Finished => drop(next),           // it returned: munmap its stack
        }
    }
}

/// One step of work under --preemptive: `busy` of computing, in small chunks with a safepoint
/// after each. The SIGPROF handler never switches by itself (libult's handler calls setcontext
/// from inside the signal, which the interrupted code cannot survive if it was halfway through
/// a malloc or held a lock); it only raises a flag. The running thread looks at the flag at its
/// safepoints and yields there, which is how language runtimes preempt their green threads.
fn busy_step(busy: Duration, log: &Log) {
    let mut done = Duration::ZERO;
    let mut x = 0x1234_5678u64;
    while done < busy && interrupt::requested().is_none() {
        let chunk = Instant::now();
        for i in 0..2000u64 {
            x = std::hint::black_box(x ^ i).rotate_left(7); // the lecture's `val ^= j`
        }
        done += chunk.elapsed(); // only the time this thread ran counts towards its step
        if ult::slice_over() {
            log.preempted();
            yield_now(); // the safepoint: the slice is over, back to the scheduler
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let mode = if args.preemptive {
        Mode::Preemptive
    } else if args.cooperate {
        Mode::Cooperate
    } else {
        Mode::Sequential
    };
    let log = Rc::new(Log::new(out));
    let stacks_before = ult::stacks();
    let before = Snapshot::of_self()?;
    let kernel_before = ThreadUsage::now()?;
    let timer = match mode {
        Mode::Preemptive => Some(TimeSlices::start(args.slice)?),
        _ => None,
    };
    let started = Instant::now();

    // main: pthread_create for each thread (they only start running once main waits), then
    // pthread_join: here, the scheduler runs them until all have finished.
    let mut ready = VecDeque::new();
    for tid in 1..=args.threads {
        let log = Rc::clone(&log);
        let (steps, busy) = (args.steps, args.busy);
        let thread = UserThread::new(move || thread_body(tid, steps, mode, busy, &log))?;
        ready.push_back(Ult { tid, thread });
    }
    schedule(ready, &log);

    let elapsed = started.elapsed();
    let ticks = timer.as_ref().map_or(0, TimeSlices::ticks);
    drop(timer);
    let kernel = kernel_before.delta(&ThreadUsage::now()?);
    let counters = before.delta(&Snapshot::of_self()?);
    let stacks_after = ult::stacks();
    let interrupted = interrupt::requested();

    let log = Rc::try_unwrap(log)
        .map_err(|_| anyhow::anyhow!("a user thread outlived the scheduler"))?
        .into_inner();
    let trial = Trial {
        switches: log.schedule.len() as u64,
        preemptions: log.preemptions,
        timer_ticks: ticks,
        elapsed_ns: nanos(elapsed),
        cpu_ns: (counters.utime_us + counters.stime_us) * 1000,
        interleaved: interleaved(&log.events),
        kernel_voluntary_cs: kernel.voluntary_cs,
        kernel_nonvoluntary_cs: kernel.nonvoluntary_cs,
        stacks_mapped: stacks_after.mapped - stacks_before.mapped,
        stacks_unmapped: stacks_after.unmapped - stacks_before.unmapped,
        stacks_leaked: stacks_after.leaked - stacks_before.leaked,
    };
    let system = Machine::collect();
    if let Some(signal) = interrupted {
        eprintln!("coop_sched: stopped by {signal}; results are partial");
    }
    analyse(&out, &args, mode, &log, &trial, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "coop_sched",
        schema_version: SCHEMA_VERSION,
        params: Params {
            mode,
            threads: args.threads,
            steps: args.steps,
            slice_ns: (mode == Mode::Preemptive).then(|| nanos(args.slice)),
            busy_ns: (mode == Mode::Preemptive).then(|| nanos(args.busy)),
            stack_bytes: ult::STACK_SIZE,
            cpu: args.common.cpu.as_ref().map(ToString::to_string),
        },
        headline: headline(mode, &args, &trial),
        lesson: lesson(mode).to_string(),
        partial: interrupted.is_some(),
        counters,
        system,
        results: Results {
            lines: log.events.iter().map(|e| e.line.clone()).collect(),
            schedule: log.schedule.clone(),
            trials: vec![trial],
            events: log.events,
        },
    };
    out.finish(&report, &report.results.events)?;
    Ok(interrupt::exit_status(interrupted))
}

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("coop_sched", |c| c);
    cli::finish(run(args))
}

// ---------------------------------------------------------------------------------------------
// The record of what ran when, and the report.

/// What a thread printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Created,
    Step(u32),
    Finished,
}

/// One lecture line, in the order it was printed: one CSV row.
#[derive(Clone, Debug, Serialize)]
struct Line {
    seq: usize,
    thread: u32,
    event: &'static str,
    step: Option<u32>,
    line: String,
}

/// What the threads printed and when the scheduler switched. Shared by the user threads on
/// one OS thread (no borrow is held across a switch).
struct Log {
    out: Output,
    inner: RefCell<Record>,
}

#[derive(Default)]
struct Record {
    events: Vec<Line>,
    schedule: Vec<u32>,
    preemptions: u64,
}

impl Log {
    fn new(out: Output) -> Log {
        Log {
            out,
            inner: RefCell::new(Record::default()),
        }
    }

    /// The thread's printf: the lecture line, printed as it happens, and recorded.
    fn say(&self, thread: u32, event: Event, line: String) {
        self.out.lecture(&line);
        let mut r = self.inner.borrow_mut();
        let (event, step) = match event {
            Event::Created => ("created", None),
            Event::Step(i) => ("step", Some(i)),
            Event::Finished => ("finished", None),
        };
        let seq = r.events.len() + 1;
        r.events.push(Line {
            seq,
            thread,
            event,
            step,
            line,
        });
    }

    fn switched_to(&self, tid: u32) {
        self.inner.borrow_mut().schedule.push(tid);
    }

    fn preempted(&self) {
        self.inner.borrow_mut().preemptions += 1;
    }

    fn into_inner(self) -> Record {
        self.inner.into_inner()
    }
}

/// True when some thread printed a line between another thread's first and last lines.
fn interleaved(events: &[Line]) -> bool {
    let mut seen_done: Vec<u32> = Vec::new();
    let mut current: Option<u32> = None;
    for e in events {
        if current != Some(e.thread) {
            if seen_done.contains(&e.thread) {
                return true; // it comes back after another thread ran
            }
            if let Some(c) = current {
                seen_done.push(c);
            }
            current = Some(e.thread);
        }
    }
    false
}

#[derive(Serialize)]
struct Params {
    mode: Mode,
    threads: u32,
    steps: u32,
    slice_ns: Option<u64>,
    busy_ns: Option<u64>,
    stack_bytes: usize,
    cpu: Option<String>,
}

/// The run's figures (one "trial", for `oslab compare`).
#[derive(Serialize)]
struct Trial {
    /// Times the scheduler switched to a user thread.
    switches: u64,
    /// Yields made at a safepoint because the timer ended the slice.
    preemptions: u64,
    /// SIGPROF signals received.
    timer_ticks: u64,
    elapsed_ns: u64,
    /// CPU time the process used meanwhile (what ITIMER_PROF counts).
    cpu_ns: u64,
    /// True when the threads' lines interleave.
    interleaved: bool,
    /// The kernel's count for the one OS thread: it switched none of the user threads.
    kernel_voluntary_cs: u64,
    kernel_nonvoluntary_cs: u64,
    stacks_mapped: usize,
    stacks_unmapped: usize,
    stacks_leaked: usize,
}

#[derive(Serialize)]
struct Results {
    /// The lecture's lines, in order.
    lines: Vec<String>,
    /// The thread the scheduler switched to, at each switch.
    schedule: Vec<u32>,
    trials: Vec<Trial>,
    events: Vec<Line>,
}

fn lesson(mode: Mode) -> &'static str {
    match mode {
        Mode::Sequential => {
            "a cooperative thread keeps the CPU until it yields: yielding only at the end, thread 1 runs to completion before thread 2 starts"
        }
        Mode::Cooperate => {
            "a cooperative scheduler switches only at yields: a yield after every step makes the run queue alternate the threads, and the kernel sees none of it"
        }
        Mode::Preemptive => {
            "a timer takes the CPU back without the thread's help: the threads interleave though none of them yields; the handler only flags, the thread switches at a safepoint"
        }
    }
}

fn headline(mode: Mode, args: &Args, t: &Trial) -> String {
    let mode = match mode {
        Mode::Sequential => "yield at the end",
        Mode::Cooperate => "--cooperate",
        Mode::Preemptive => "--preemptive",
    };
    format!(
        "{mode}: {} user threads × {} steps {} by {} switches on one OS thread ({} kernel switches); {}/{} stacks freed",
        args.threads,
        args.steps,
        if t.interleaved {
            "interleaved"
        } else {
            "one after the other"
        },
        t.switches,
        t.kernel_voluntary_cs + t.kernel_nonvoluntary_cs,
        t.stacks_unmapped,
        t.stacks_mapped
    )
}

fn analyse(out: &Output, args: &Args, mode: Mode, log: &Record, t: &Trial, system: &Machine) {
    let how = match mode {
        Mode::Sequential => {
            "each thread yields once, at its end (the lecture's default build)".to_string()
        }
        Mode::Cooperate => "each thread yields after every step (--cooperate)".to_string(),
        Mode::Preemptive => format!(
            "no thread yields; a SIGPROF every {} of CPU time ends the running thread's slice, and each step computes for {}",
            fmt_duration(args.slice),
            fmt_duration(args.busy)
        ),
    };
    out.analysis(format_args!("mode: {how}"));
    let order: Vec<String> = log.schedule.iter().map(u32::to_string).collect();
    out.analysis(format_args!(
        "schedule: the run queue switched to thread {} ({} switches, swapcontext in user space)",
        order.join(", "),
        t.switches
    ));
    out.analysis(format_args!(
        "order: {}",
        if t.interleaved {
            "the threads' lines interleave"
        } else {
            "each thread ran from created to finished before the next one started"
        }
    ));
    if mode == Mode::Preemptive {
        out.analysis(format_args!(
            "timer: {} SIGPROF ticks over {} of CPU time ({} wall); {} preemptions, each taken at a safepoint (the handler only sets a flag)",
            t.timer_ticks,
            fmt_ns(t.cpu_ns as f64),
            fmt_ns(t.elapsed_ns as f64),
            t.preemptions
        ));
    }
    out.analysis(format_args!(
        "kernel: this one OS thread made {} voluntary and {} nonvoluntary context switches meanwhile: the kernel schedules the process, not the user threads",
        t.kernel_voluntary_cs, t.kernel_nonvoluntary_cs
    ));
    out.analysis(format_args!(
        "stacks: {} of {} user-thread stacks ({} KiB each, mmap with a guard page) unmapped{}",
        t.stacks_unmapped,
        t.stacks_mapped,
        ult::STACK_SIZE / 1024,
        if t.stacks_leaked > 0 {
            format!(", {} leaked (stopped midway)", t.stacks_leaked)
        } else {
            String::new()
        }
    ));
    out.analysis(format_args!("lesson: {}", lesson(mode)));
    out.analysis(
        "compare: perf stat -e context-switches,task-clock coop_sched --preemptive   (a handful of kernel switches: the rest are ours)",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(thread: u32) -> Line {
        Line {
            seq: 0,
            thread,
            event: "step",
            step: Some(0),
            line: String::new(),
        }
    }

    #[test]
    fn interleaving_is_a_thread_coming_back() {
        let seq = |ts: &[u32]| ts.iter().map(|&t| line(t)).collect::<Vec<_>>();
        assert!(!interleaved(&seq(&[1, 1, 1, 2, 2, 2])));
        assert!(interleaved(&seq(&[1, 2, 1, 2])));
        assert!(interleaved(&seq(&[1, 1, 2, 2, 1])));
        assert!(!interleaved(&seq(&[])));
    }
}
