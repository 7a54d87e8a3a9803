//! deadlock: two threads take two resources in opposite orders, each ends up holding one and
//! waiting for the other, and neither can ever go on.
//!
//! What the lecture wants you to see: the two "Waiting..." lines, and then nothing, forever.
//! Thread 1 holds resource 1 and waits for resource 2; thread 2 holds resource 2 and waits for
//! resource 1: a cycle of waits that nothing inside the program can break. The `sleep(2)`
//! between the two locks makes sure both threads take their first resource before either tries
//! its second; without it ("what might happen if we comment out the line below?") the deadlock
//! happens only when the threads happen to interleave that way.
//!
//! Here a watchdog (the main thread) keeps a wait-for graph: which thread holds which resource,
//! which it waits for. After `--timeout` seconds it looks for a cycle in it, prints it with each
//! thread's state as the kernel reports it (`/proc/self/task/<tid>/stat`, `wchan`), and exits 3.
//! `--timeout 0` hangs like the lecture (Ctrl-C ends it). `--fix ordered` and `--fix trylock`
//! are the two classic cures.

use std::hash::BuildHasher;
use std::process::ExitCode;
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use nix::sys::signal::Signal;
use oslab::kit::cli::{self, CommonArgs, Session, ranged, seconds};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::timing::{fmt_ns, nanos};
use oslab::proc::counters::Snapshot;
use oslab::proc::tasks::TaskState;
use oslab::sync::gate::StartGate;
use oslab::sync::waitgraph::{Edge, LockTable, ThreadView, find_cycle};
use serde::Serialize;

/// Two threads lock two resources in opposite orders: each holds one and waits for the other.
///
/// The lecture's deadlock.py: thread 1 locks resource 1, sleeps (--sleep), locks resource 2;
/// thread 2 does the mirror image. The lecture hangs forever; here a watchdog looks at the
/// wait-for graph after --timeout seconds, prints the cycle and each thread's kernel state, and
/// exits 3. --fix ordered / --fix trylock run the two classic cures to completion.
#[derive(Parser, Debug)]
#[command(
    version,
    args_override_self = true,
    after_help = "Example: deadlock --timeout 2 --sleep 100   (exit 3: the deadlock, detected)\n         deadlock --fix trylock\n\nExit status: 0 both threads finished, 3 deadlock detected, 130/143 Ctrl-C/SIGTERM."
)]
struct Args {
    /// Milliseconds each thread sleeps between its first and its second lock, the lecture's
    /// sleep(2); 0 leaves the deadlock to chance [0-60000]
    #[arg(long, default_value_t = 2000, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 60_000))]
    sleep: u64,

    /// Seconds before the watchdog looks for a deadlock (0.5 works too); 0 never looks and hangs
    /// as the lecture does, until Ctrl-C [0-3600]
    #[arg(long, default_value = "5", value_name = "S", allow_negative_numbers = true,
          value_parser = seconds(0.0, 3600.0))]
    timeout: Duration,

    /// Cure it: ordered (both threads lock resource 1 first) or trylock (never wait while
    /// holding: release, back off a random while, retry)
    #[arg(long, value_enum, value_name = "FIX")]
    fix: Option<Fix>,

    #[command(flatten)]
    common: CommonArgs,
}

/// The two classic cures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Fix {
    /// One global order: every thread locks resource 1 before resource 2
    Ordered,
    /// Try the second lock; if it is taken, release the first, wait a random while, retry
    Trylock,
}

// resource1 = Lock(); resource2 = Lock()
const RESOURCES: [&str; 2] = ["resource 1", "resource 2"];
const THREADS: [&str; 2] = ["Thread 1", "Thread 2"];

/// `thread_1` and `thread_2` of deadlock.py, one function: thread `me` (0 or 1, printed as
/// Thread 1 and 2) locks `first`, sleeps, locks `second`, then unlocks them in that order.
/// Returns `None` when the watchdog aborted it (the table gives up every wait): whatever it held
/// is unlocked on the way out.
fn thread_body(me: usize, table: &LockTable, args: &Args, out: Output) -> Option<ThreadRun> {
    let (first, second) = order(me, args.fix);
    let (n, f, s) = (me + 1, first + 1, second + 1);
    table.enter(me);
    let mut run = ThreadRun::new(me, args.fix);
    let mut slept = false;
    let (held_first, held_second) = loop {
        // resource1.acquire()
        let began = Instant::now();
        let a = table.lock(me, first)?;
        run.waited_ns += nanos(began.elapsed());
        out.lecture(format_args!(
            "Thread {n}: locked resource {f}. Waiting for resource {s}..."
        ));
        // sleep(2): meanwhile the other thread takes its own first resource.
        if !slept {
            slept = true;
            if !table.sleep(Duration::from_millis(args.sleep)) {
                return None;
            }
        }
        // resource2.acquire()
        let began = Instant::now();
        if args.fix == Some(Fix::Trylock) {
            // The cure: never wait while holding. If the second is taken, give the first back.
            if let Some(b) = table.try_lock(me, second) {
                break (a, b);
            }
            drop(a);
            run.retries += 1;
            let pause = backoff(run.retries);
            out.lecture(format_args!(
                "Thread {n}: resource {s} is taken: unlocked resource {f}, retrying in {} ms",
                pause.as_millis()
            ));
            if !table.sleep(pause) {
                return None;
            }
            run.backoff_ns += nanos(pause);
            continue;
        }
        let b = table.lock(me, second)?; // the lecture's program stops here, forever
        run.waited_ns += nanos(began.elapsed());
        break (a, b);
    };
    out.lecture(format_args!("Thread {n}: locked resource {s}."));
    drop(held_first); // resource1.release()
    out.lecture(format_args!("Thread {n}: unlocked resource {f}."));
    drop(held_second); // resource2.release()
    out.lecture(format_args!("Thread {n}: unlocked resource {s}."));
    run.locked_both = true;
    run.ended = Some(Instant::now());
    Some(run)
}

/// The resources thread `me` locks, first and second: thread 1 takes resource 1 then 2, thread
/// 2 the mirror image, unless the cure is one order for everyone.
fn order(me: usize, fix: Option<Fix>) -> (usize, usize) {
    match (me, fix) {
        (_, Some(Fix::Ordered)) | (0, _) => (0, 1),
        _ => (1, 0),
    }
}

/// The trylock cure's pause before retry `k`: random, so the two threads fall out of step (equal
/// pauses would have them collide again and again: a livelock), and doubling from 10 ms up to
/// one second, so repeated collisions back off further.
fn backoff(k: u32) -> Duration {
    let cap = 10u64 << k.saturating_sub(1).min(7);
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    Duration::from_millis(1 + random % cap.min(1000))
}

// ---------------------------------------------------------------------------------------------
// The watchdog: start both threads, watch the wait-for graph, report.

/// How often the watchdog looks at the wait-for graph: when the cycle formed is reported to
/// within this.
const WATCHDOG_TICK: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("deadlock", |c| c);
    cli::finish(run(args))
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    /// Both threads locked both resources and finished.
    Completed,
    /// The watchdog found a cycle in the wait-for graph.
    Deadlock,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// What the watchdog saw when it stopped watching.
struct Verdict {
    outcome: Outcome,
    signal: Option<Signal>,
    /// The graph and each thread's kernel state at that moment (empty when completed).
    graph: Vec<ThreadView>,
    states: Vec<Option<TaskState>>,
    cycle: Option<Vec<Edge>>,
    /// When the cycle first appeared, from the start.
    cycle_formed: Option<Duration>,
    at: Duration,
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Session {
        out,
        system,
        before,
    } = args.common.start()?;
    let table = LockTable::new(&RESOURCES, &THREADS);
    let gate = StartGate::new();
    let start = Instant::now();

    let (verdict, runs) = thread::scope(|s| -> anyhow::Result<_> {
        let mut handles = Vec::new();
        for me in 0..2 {
            let (table, gate, args) = (&table, &gate, &args);
            let spawned = thread::Builder::new()
                .name(format!("Thread-{}", me + 1))
                .spawn_scoped(s, move || {
                    // Both start together, so both take their first resource at once.
                    gate.wait().then(|| thread_body(me, table, args, out))?
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    gate.abort();
                    return Err(e).context(format!("could not start thread {}", me + 1));
                }
            }
        }
        gate.open();
        let verdict = watch(&table, &handles, args.timeout, start);
        // A deadlock or Ctrl-C: every wait gives up, the threads unlock and return.
        table.abort();
        let runs: Vec<Option<ThreadRun>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(None))
            .collect();
        Ok((verdict, runs))
    })?;
    // Completed: until the last thread finished (the watchdog only looks every few ms);
    // otherwise until the watchdog stopped the run.
    let elapsed = match runs.iter().flatten().filter_map(|r| r.ended).max() {
        Some(last) if verdict.outcome == Outcome::Completed => last - start,
        _ => verdict.at,
    };
    let counters = before.delta(&Snapshot::of_self()?);

    let trial = Trial::new(&verdict, &runs, elapsed, args.fix);
    if let Some(signal) = verdict.signal {
        eprintln!(
            "deadlock: stopped by {signal} after {}; results are partial",
            fmt_ns(nanos(elapsed) as f64)
        );
    }
    analyse(&args, out, &verdict, &trial, &system);
    let rows: Vec<CsvRow> = trial
        .threads
        .iter()
        .map(|t| CsvRow {
            outcome: trial.outcome,
            deadlocked: trial.deadlocked,
            elapsed_ns: trial.elapsed_ns,
            cycle_formed_ns: trial.cycle_formed_ns,
            detected_ns: trial.detected_ns,
            thread: t.clone(),
        })
        .collect();
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "deadlock",
        schema_version: SCHEMA_VERSION,
        params: Params {
            sleep_ms: args.sleep,
            timeout_s: args.timeout.as_secs_f64(),
            fix: args.fix,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: headline(&trial, args.fix),
        lesson: lesson(args.fix).to_string(),
        partial: verdict.signal.is_some(),
        counters,
        system,
        results: Results {
            trials: vec![trial],
        },
    };
    out.finish(&report, &rows)?;
    Ok(match (verdict.outcome, verdict.signal) {
        (_, Some(signal)) => ExitCode::from(interrupt::exit_code(signal)),
        (Outcome::Deadlock, _) => ExitCode::from(3),
        _ => ExitCode::SUCCESS,
    })
}

/// The main thread's loop: until both threads are done, Ctrl-C arrives, or (after `timeout`,
/// unless it is zero) the wait-for graph has a cycle.
fn watch(
    table: &LockTable,
    handles: &[ScopedJoinHandle<'_, Option<ThreadRun>>],
    timeout: Duration,
    start: Instant,
) -> Verdict {
    let mut cycle_formed = None;
    loop {
        let graph = table.snapshot();
        let cycle = find_cycle(&graph);
        if cycle.is_some() {
            cycle_formed.get_or_insert(start.elapsed());
        }
        let (outcome, signal) = if handles.iter().all(|h| h.is_finished()) {
            (Outcome::Completed, None)
        } else if let Some(signal) = interrupt::requested() {
            (Outcome::Interrupted, Some(signal))
        } else if cycle.is_some() && !timeout.is_zero() && start.elapsed() >= timeout {
            (Outcome::Deadlock, None)
        } else {
            thread::sleep(WATCHDOG_TICK);
            continue;
        };
        // Read the kernel's view while the threads are still where the graph says they are.
        let states = graph
            .iter()
            .map(|t| t.tid.and_then(|tid| TaskState::of_thread(tid).ok()))
            .collect();
        let done = outcome == Outcome::Completed;
        return Verdict {
            outcome,
            signal,
            graph: if done { Vec::new() } else { graph },
            states: if done { Vec::new() } else { states },
            cycle,
            cycle_formed,
            at: start.elapsed(),
        };
    }
}

// ---------------------------------------------------------------------------------------------
// The report.

#[derive(Debug, Serialize)]
struct Params {
    sleep_ms: u64,
    timeout_s: f64,
    fix: Option<Fix>,
    cpu: Option<String>,
}

#[derive(Debug, Serialize)]
struct Results {
    /// One run (a JSON array so `oslab compare` reads it like every demo's trials).
    trials: Vec<Trial>,
}

/// The run.
#[derive(Clone, Debug, Serialize)]
struct Trial {
    trial: u32,
    outcome: Outcome,
    /// True when the watchdog found the cycle (or Ctrl-C found the threads in one).
    deadlocked: bool,
    elapsed_ns: u64,
    /// When the cycle formed, from the start.
    cycle_formed_ns: Option<u64>,
    /// When the watchdog reported it.
    detected_ns: Option<u64>,
    /// Trylock retries, both threads together.
    retries: u32,
    threads: Vec<ThreadReport>,
    /// The cycle, one step per thread: thread N waits for resource R, held by thread M.
    cycle: Vec<CycleStep>,
}

/// One thread: what it did, and where it was when the watchdog looked.
#[derive(Clone, Debug, Serialize)]
struct ThreadReport {
    thread: usize,
    tid: Option<i32>,
    #[serde(flatten)]
    run: ThreadRun,
    /// At the watchdog's look: the resources it held and the one it waited for.
    holds: Vec<usize>,
    waits_for: Option<usize>,
    /// Its kernel state then (`/proc/self/task/<tid>/stat` field 3) and `wchan`.
    state: Option<char>,
    state_name: Option<&'static str>,
    wchan: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
struct CycleStep {
    thread: usize,
    waits_for: usize,
    held_by: usize,
}

/// A CSV row: one per thread, with the run's outcome.
#[derive(Serialize)]
struct CsvRow {
    outcome: Outcome,
    deadlocked: bool,
    elapsed_ns: u64,
    cycle_formed_ns: Option<u64>,
    detected_ns: Option<u64>,
    #[serde(flatten)]
    thread: ThreadReport,
}

/// What a thread did: its part of the report.
#[derive(Clone, Debug, Serialize)]
struct ThreadRun {
    /// Its resources in the order it locks them (numbered from 1).
    first: usize,
    second: usize,
    locked_both: bool,
    retries: u32,
    /// Time spent waiting in lock calls (the ordered cure's price), ns.
    waited_ns: u64,
    /// Time spent backing off (the trylock cure's price), ns.
    backoff_ns: u64,
    #[serde(skip)]
    ended: Option<Instant>,
}

impl ThreadRun {
    fn new(me: usize, fix: Option<Fix>) -> ThreadRun {
        let (first, second) = order(me, fix);
        ThreadRun {
            first: first + 1,
            second: second + 1,
            locked_both: false,
            retries: 0,
            waited_ns: 0,
            backoff_ns: 0,
            ended: None,
        }
    }
}

impl Trial {
    /// Numbers from 1, as the lecture names threads and resources.
    fn new(v: &Verdict, runs: &[Option<ThreadRun>], elapsed: Duration, fix: Option<Fix>) -> Trial {
        let threads: Vec<ThreadReport> = (0..THREADS.len())
            .map(|i| {
                // A thread the watchdog stopped returns nothing: it did nothing to report.
                let run = runs.get(i).cloned().flatten();
                let view = v.graph.get(i);
                let state = v.states.get(i).cloned().flatten();
                ThreadReport {
                    thread: i + 1,
                    tid: view.and_then(|t| t.tid).map(|t| t.as_raw()),
                    run: run.unwrap_or_else(|| ThreadRun::new(i, fix)),
                    holds: view.map_or(Vec::new(), |t| t.holds.iter().map(|r| r + 1).collect()),
                    waits_for: view.and_then(|t| t.waits_for).map(|r| r + 1),
                    state: state.as_ref().map(|s| s.state),
                    state_name: state.as_ref().map(|s| s.state_name),
                    wchan: state.and_then(|s| s.wchan),
                }
            })
            .collect();
        let deadlocked = v.outcome == Outcome::Deadlock
            || (v.outcome == Outcome::Interrupted && v.cycle.is_some());
        Trial {
            trial: 1,
            outcome: v.outcome,
            deadlocked,
            elapsed_ns: nanos(elapsed),
            cycle_formed_ns: v.cycle_formed.map(nanos),
            detected_ns: (v.outcome == Outcome::Deadlock).then(|| nanos(v.at)),
            retries: threads.iter().map(|t| t.run.retries).sum(),
            cycle: v
                .cycle
                .iter()
                .flatten()
                .map(|e| CycleStep {
                    thread: e.thread + 1,
                    waits_for: e.waits_for + 1,
                    held_by: e.held_by + 1,
                })
                .collect(),
            threads,
        }
    }
}

fn secs(ns: u64) -> String {
    fmt_ns(ns as f64)
}

fn headline(t: &Trial, fix: Option<Fix>) -> String {
    let how = match fix {
        Some(Fix::Ordered) => " (fix: one lock order)",
        Some(Fix::Trylock) => " (fix: trylock and back off)",
        None => "",
    };
    match t.outcome {
        Outcome::Deadlock => format!(
            "deadlock detected after {}: {}",
            secs(t.detected_ns.unwrap_or(t.elapsed_ns)),
            t.threads
                .iter()
                .map(|th| format!(
                    "Thread {} holds resource {}, waits for resource {}",
                    th.thread,
                    list(&th.holds),
                    th.waits_for.map_or("-".into(), |r| r.to_string())
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::Completed => format!(
            "no deadlock{how}: both threads finished in {}; {} retries",
            secs(t.elapsed_ns),
            t.retries
        ),
        Outcome::Interrupted => format!("interrupted after {}", secs(t.elapsed_ns)),
    }
}

fn times(n: u32) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("{n} times")
    }
}

fn list(resources: &[usize]) -> String {
    if resources.is_empty() {
        return "nothing".into();
    }
    resources
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn lesson(fix: Option<Fix>) -> &'static str {
    match fix {
        None => {
            "two threads that lock two resources in opposite orders can each hold one and wait for the other forever: a cycle in the wait-for graph; cure it with one lock order or by never waiting while holding"
        }
        Some(Fix::Ordered) => {
            "when every thread locks the resources in one global order, a wait-for cycle cannot form: the thread that gets resource 1 first also gets resource 2, the other waits its turn"
        }
        Some(Fix::Trylock) => {
            "never wait while holding: if the second lock is taken, release the first and retry after a random pause (a fixed pause could repeat the collision forever, a livelock)"
        }
    }
}

fn analyse(args: &Args, out: Output, v: &Verdict, t: &Trial, system: &Machine) {
    match v.outcome {
        Outcome::Deadlock => out.analysis(format_args!(
            "deadlock: after {} neither thread can go on: the wait-for graph has a cycle (it formed at {})",
            secs(t.detected_ns.unwrap_or(t.elapsed_ns)),
            t.cycle_formed_ns.map_or("?".into(), secs)
        )),
        Outcome::Interrupted if t.deadlocked => out.analysis(format_args!(
            "stopped after {}; the threads were deadlocked: the wait-for graph had a cycle (it formed at {})",
            secs(t.elapsed_ns),
            t.cycle_formed_ns.map_or("?".into(), secs)
        )),
        Outcome::Interrupted => out.analysis(format_args!(
            "stopped after {}, before any deadlock; where the threads were:",
            secs(t.elapsed_ns)
        )),
        Outcome::Completed => {}
    }
    if v.outcome != Outcome::Completed {
        for th in &t.threads {
            let held_by = |r: usize| {
                t.threads
                    .iter()
                    .find(|o| o.holds.contains(&r))
                    .map_or(String::new(), |o| format!(" (held by Thread {})", o.thread))
            };
            let waits = th.waits_for.map_or("waits for nothing".into(), |r| {
                format!("waits for resource {r}{}", held_by(r))
            });
            let state = v.states.get(th.thread - 1).cloned().flatten().map_or(
                "state unknown (its /proc entry could not be read)".into(),
                |s| format!("state {}", s.describe()),
            );
            out.analysis(format_args!(
                "  Thread {} (tid {}): holds {}, {waits}; {state}",
                th.thread,
                th.tid.map_or("?".into(), |t| t.to_string()),
                if th.holds.is_empty() {
                    "nothing".to_string()
                } else {
                    th.holds
                        .iter()
                        .map(|r| format!("resource {r}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                },
            ));
        }
        if !t.cycle.is_empty() {
            let steps: Vec<String> = t
                .cycle
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    format!(
                        "{} resource {}, held by Thread {}",
                        if i == 0 {
                            format!("Thread {} waits for", c.thread)
                        } else {
                            "which waits for".to_string()
                        },
                        c.waits_for,
                        c.held_by
                    )
                })
                .collect();
            out.analysis(format_args!("  cycle: {}", steps.join(", ")));
            let sleeping = t.threads.iter().all(|th| th.state == Some('S'));
            if sleeping {
                out.analysis(
                    "  both threads sleep in the kernel (state S) and use no CPU: a deadlock does not spin, it simply never ends",
                );
            }
        }
        if v.outcome == Outcome::Deadlock {
            out.analysis(format_args!(
                "the lecture's program hangs here until Ctrl-C; this one's watchdog told both threads to give up, they unlocked their resources and were joined (exit 3; --timeout 0 hangs like the lecture)"
            ));
        }
    } else {
        let done = |th: &ThreadReport| match args.fix {
            Some(Fix::Trylock) => format!(
                "Thread {} retried {}, backed off {}",
                th.thread,
                times(th.run.retries),
                secs(th.run.backoff_ns)
            ),
            _ => format!(
                "Thread {} waited {} for locks",
                th.thread,
                secs(th.run.waited_ns)
            ),
        };
        out.analysis(format_args!(
            "no deadlock: both threads locked both resources and finished in {} ({})",
            secs(t.elapsed_ns),
            t.threads.iter().map(done).collect::<Vec<_>>().join("; ")
        ));
        match args.fix {
            Some(Fix::Ordered) => out.analysis(
                "fix ordered: both threads lock resource 1 first, so whoever gets it also gets resource 2 and the other waits without holding anything: no cycle can form",
            ),
            Some(Fix::Trylock) => out.analysis(format_args!(
                "fix trylock: retried {} in all; a thread that finds its second resource taken unlocks its first, so nobody waits while holding",
                times(t.retries)
            )),
            None if args.sleep == 0 => out.analysis(
                "without the sleep, one thread took both resources before the other took its first: the deadlock needs the threads to interleave just so (run it again, or `oslab compare deadlock --trials 50` counts how often)",
            ),
            None => out.analysis(
                "the threads did not interleave into the deadlock this time (one was slower to start than the sleep)",
            ),
        }
    }
    out.analysis(format_args!("lesson: {}", lesson(args.fix)));
    out.analysis(
        "compare: deadlock --timeout 0 & gdb -p $! -batch -ex 'thread apply all bt'   (the debugger's view of a hung program: each thread's stack, stopped in pthread_mutex_timedlock under thread_body; ps -L -o tid,stat,wchan:32,comm -p PID shows the states above)",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
