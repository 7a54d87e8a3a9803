//! deadlock's lab bench: the two locks with their wait-for graph, the two threads and the
//! watchdog that watches them, the report, the analysis and the verdict. The lecture's program
//! (the threads' bodies, deadlock.py's `thread_1` and `thread_2`) is `src/bin/deadlock.rs`.
//!
//! The watchdog (the main thread) looks at the wait-for graph every [`WATCHDOG_TICK`]. After
//! the timeout, a cycle in it is the deadlock: it reads each thread's kernel state, tells every
//! wait to give up ([`LockTable::abort`]), joins the threads and reports (exit 3). `--timeout 0`
//! never looks, and the program hangs as the lecture's does until Ctrl-C.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use serde::Serialize;

use crate::kit::timing::{fmt_ns, nanos};
use crate::kit::{Context, Findings, Verdict, words};
use crate::proc::tasks::TaskState;
use crate::sync::waitgraph::{Edge, Held, LockTable, ThreadView, find_cycle};
use crate::{Error, Result};

/// The examples after `deadlock --help`.
pub const EXAMPLES: &str = "Example: deadlock --timeout 2 --sleep 100   (exit 3: the deadlock, detected)\n         deadlock --fix trylock\n\nExit status: 0 both threads finished, 3 deadlock detected, 130/143 Ctrl-C/SIGTERM.";

/// `resource1 = Lock(); resource2 = Lock()`.
pub const RESOURCES: [&str; 2] = ["resource 1", "resource 2"];
/// The lecture's two threads.
pub const THREADS: [&str; 2] = ["Thread 1", "Thread 2"];

/// How often the watchdog looks at the wait-for graph: when the cycle formed is reported to
/// within this.
pub const WATCHDOG_TICK: Duration = Duration::from_millis(10);

/// The two classic cures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fix {
    /// One global order: every thread locks resource 1 before resource 2
    Ordered,
    /// Try the second lock; if it is taken, release the first, wait a random while, retry
    Trylock,
}

/// The resources thread `me` locks, first and second: thread 1 takes resource 1 then 2, thread
/// 2 the mirror image, unless the cure is one order for everyone.
pub fn order(me: usize, fix: Option<Fix>) -> (usize, usize) {
    match (me, fix) {
        (_, Some(Fix::Ordered)) | (0, _) => (0, 1),
        _ => (1, 0),
    }
}

/// The trylock cure's pause before retry `k`: random, so the two threads fall out of step (equal
/// pauses would have them collide again and again: a livelock), and doubling from 10 ms up to
/// one second, so repeated collisions back off further.
pub fn backoff(k: u32) -> Duration {
    let cap = 10u64 << k.saturating_sub(1).min(7);
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    Duration::from_millis(1 + random % cap.min(1000))
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub sleep_ms: u64,
    pub timeout_s: f64,
    pub fix: Option<Fix>,
}

impl Params {
    /// `--sleep`, `--timeout`, `--fix`.
    pub fn new(sleep_ms: u64, timeout: Duration, fix: Option<Fix>) -> Params {
        Params {
            sleep_ms,
            timeout_s: timeout.as_secs_f64(),
            fix,
        }
    }
}

/// What a thread did: its part of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThreadRun {
    /// Its resources in the order it locks them (numbered from 1).
    pub first: usize,
    pub second: usize,
    pub locked_both: bool,
    pub retries: u32,
    /// Time spent waiting in lock calls (the ordered cure's price), ns.
    pub waited_ns: u64,
    /// Time spent backing off (the trylock cure's price), ns.
    pub backoff_ns: u64,
    #[serde(skip)]
    pub ended: Option<Instant>,
}

impl ThreadRun {
    /// Thread `me` before it has done anything.
    pub fn new(me: usize, fix: Option<Fix>) -> ThreadRun {
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

    /// The thread had both resources and let them go: it is done, now.
    pub fn finished(mut self) -> ThreadRun {
        self.locked_both = true;
        self.ended = Some(Instant::now());
        self
    }
}

/// The two resources as the threads see them: locks that keep the wait-for graph (so the
/// watchdog can find a cycle) and time each wait (the ordered cure's price).
pub struct Locks {
    table: LockTable,
    /// Set when a thread first reaches a sleep: thread 1, after its first line. The main thread
    /// starts thread 2 then, as deadlock.py's does (see [`two_threads_watched`]).
    slept: AtomicBool,
    /// The main thread, woken when `slept` is set.
    main: thread::Thread,
}

impl Locks {
    /// `lock.acquire()` by thread `me`: sleeps until the resource is free, adding the wait to
    /// `run`. `None` when the watchdog called the run off while it waited.
    pub fn lock(&self, me: usize, resource: usize, run: &mut ThreadRun) -> Option<Held<'_>> {
        let began = Instant::now();
        let held = self.table.lock(me, resource)?;
        run.waited_ns += nanos(began.elapsed());
        Some(held)
    }

    /// `lock.acquire(blocking=False)`: the resource if it is free now, `None` if it is not.
    pub fn try_lock(&self, me: usize, resource: usize) -> Option<Held<'_>> {
        self.table.try_lock(me, resource)
    }

    /// `sleep(...)` while holding: `None` if the watchdog called the run off meanwhile.
    pub fn sleep(&self, length: Duration) -> Option<()> {
        if !self.slept.swap(true, Ordering::AcqRel) {
            self.main.unpark(); // the lecture's main thread gets on to t2.start()
        }
        self.table.sleep(length).then_some(())
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Both threads locked both resources and finished.
    Completed,
    /// The watchdog found a cycle in the wait-for graph.
    Deadlock,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// What the watchdog saw when it stopped watching.
struct Watch {
    outcome: Outcome,
    /// The graph and each thread's kernel state at that moment (empty when completed).
    graph: Vec<ThreadView>,
    states: Vec<Option<TaskState>>,
    cycle: Option<Vec<Edge>>,
    /// When the cycle first appeared, from the start.
    cycle_formed: Option<Duration>,
    at: Duration,
}

/// Starts the lecture's two threads on `body` (`body(me, locks)`, `me` 0 or 1) as deadlock.py
/// does, watches the wait-for graph until both are done, Ctrl-C arrives or (after `timeout`,
/// unless it is zero) the graph has a cycle; then lets every wait give up and joins them.
///
/// deadlock.py runs `t1.start(); t2.start()`: `start()` returns once thread 1 runs, and under
/// the GIL thread 1 goes on to lock resource 1 and print before the main thread creates thread 2
/// (it gets the GIL back at thread 1's `sleep(2)` at the latest). So thread 2 starts here once
/// thread 1 has printed its first line and reached its sleep (or finished, or the run was
/// stopped): Thread 1's line comes first, as on the slide.
pub fn two_threads_watched(
    timeout: Duration,
    fix: Option<Fix>,
    body: impl Fn(usize, &Locks) -> Option<ThreadRun> + Sync,
) -> Result<Results> {
    let locks = Locks {
        table: LockTable::new(&RESOURCES, &THREADS),
        slept: AtomicBool::new(false),
        main: thread::current(),
    };
    let start = Instant::now();
    let (watch, runs) = thread::scope(|s| -> Result<_> {
        let mut handles: Vec<ScopedJoinHandle<'_, Option<ThreadRun>>> = Vec::new();
        for me in 0..THREADS.len() {
            if let Some(first) = handles.first() {
                // t2.start() comes when thread 1 lets the main thread run: at its sleep.
                while !locks.slept.load(Ordering::Acquire)
                    && !first.is_finished()
                    && crate::kit::interrupt::requested().is_none()
                {
                    thread::park_timeout(WATCHDOG_TICK);
                }
            }
            let (locks, body) = (&locks, &body);
            let spawned = thread::Builder::new()
                .name(format!("Thread-{}", me + 1))
                .spawn_scoped(s, move || {
                    locks.table.enter(me);
                    body(me, locks)
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(source) => {
                    let error = Error::spawn(me + 1, THREADS.len(), source); // while the others still count
                    locks.table.abort(); // thread 1, if it runs, gives up and returns
                    return Err(error);
                }
            }
        }
        let watch = watch(&locks.table, &handles, timeout, start);
        // A deadlock or Ctrl-C: every wait gives up, the threads unlock and return.
        locks.table.abort();
        let runs: Vec<Option<ThreadRun>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(None))
            .collect();
        Ok((watch, runs))
    })?;
    // Completed: until the last thread finished (the watchdog only looks every few ms);
    // otherwise until the watchdog stopped the run.
    let elapsed = match runs.iter().flatten().filter_map(|r| r.ended).max() {
        Some(last) if watch.outcome == Outcome::Completed => last - start,
        _ => watch.at,
    };
    Ok(Results {
        trials: vec![Trial::new(&watch, &runs, elapsed, fix)],
    })
}

/// The main thread's loop: until both threads are done, Ctrl-C arrives, or (after `timeout`,
/// unless it is zero) the wait-for graph has a cycle.
fn watch(
    table: &LockTable,
    handles: &[ScopedJoinHandle<'_, Option<ThreadRun>>],
    timeout: Duration,
    start: Instant,
) -> Watch {
    let mut cycle_formed = None;
    loop {
        let graph = table.snapshot();
        let cycle = find_cycle(&graph);
        if cycle.is_some() {
            cycle_formed.get_or_insert(start.elapsed());
        }
        let outcome = if handles.iter().all(|h| h.is_finished()) {
            Outcome::Completed
        } else if crate::kit::interrupt::requested().is_some() {
            Outcome::Interrupted
        } else if cycle.is_some() && !timeout.is_zero() && start.elapsed() >= timeout {
            Outcome::Deadlock
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
        return Watch {
            outcome,
            graph: if done { Vec::new() } else { graph },
            states: if done { Vec::new() } else { states },
            cycle,
            cycle_formed,
            at: start.elapsed(),
        };
    }
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// One run (a JSON array so `oslab compare` reads it like every demo's trials).
    pub trials: Vec<Trial>,
}

/// The run.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    pub trial: u32,
    pub outcome: Outcome,
    /// True when the watchdog found the cycle (or Ctrl-C found the threads in one).
    pub deadlocked: bool,
    pub elapsed_ns: u64,
    /// When the cycle formed, from the start.
    pub cycle_formed_ns: Option<u64>,
    /// When the watchdog reported it.
    pub detected_ns: Option<u64>,
    /// Trylock retries, both threads together.
    pub retries: u32,
    pub threads: Vec<ThreadReport>,
    /// The cycle, one step per thread: thread N waits for resource R, held by thread M.
    pub cycle: Vec<CycleStep>,
}

/// One thread: what it did, and where it was when the watchdog looked.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadReport {
    pub thread: usize,
    pub tid: Option<i32>,
    #[serde(flatten)]
    pub run: ThreadRun,
    /// At the watchdog's look: the resources it held and the one it waited for.
    pub holds: Vec<usize>,
    pub waits_for: Option<usize>,
    /// Its kernel state then (`/proc/self/task/<tid>/stat` field 3) and `wchan`.
    pub state: Option<char>,
    pub state_name: Option<&'static str>,
    pub wchan: Option<String>,
    /// The same, as read (for the analysis line).
    #[serde(skip)]
    pub task: Option<TaskState>,
}

/// One step of the cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleStep {
    pub thread: usize,
    pub waits_for: usize,
    pub held_by: usize,
}

/// A CSV row: one per thread, with the run's outcome.
#[derive(Serialize)]
pub struct CsvRow {
    outcome: Outcome,
    deadlocked: bool,
    elapsed_ns: u64,
    cycle_formed_ns: Option<u64>,
    detected_ns: Option<u64>,
    #[serde(flatten)]
    thread: ThreadReport,
}

impl Trial {
    /// Numbers from 1, as the lecture names threads and resources.
    fn new(w: &Watch, runs: &[Option<ThreadRun>], elapsed: Duration, fix: Option<Fix>) -> Trial {
        let threads: Vec<ThreadReport> = (0..THREADS.len())
            .map(|i| {
                // A thread the watchdog stopped returns nothing: it did nothing to report.
                let run = runs.get(i).cloned().flatten();
                let view = w.graph.get(i);
                let task = w.states.get(i).cloned().flatten();
                ThreadReport {
                    thread: i + 1,
                    tid: view.and_then(|t| t.tid).map(|t| t.as_raw()),
                    run: run.unwrap_or_else(|| ThreadRun::new(i, fix)),
                    holds: view.map_or(Vec::new(), |t| t.holds.iter().map(|r| r + 1).collect()),
                    waits_for: view.and_then(|t| t.waits_for).map(|r| r + 1),
                    state: task.as_ref().map(|s| s.state),
                    state_name: task.as_ref().map(|s| s.state_name),
                    wchan: task.as_ref().and_then(|s| s.wchan.clone()),
                    task,
                }
            })
            .collect();
        let deadlocked = w.outcome == Outcome::Deadlock
            || (w.outcome == Outcome::Interrupted && w.cycle.is_some());
        Trial {
            trial: 1,
            outcome: w.outcome,
            deadlocked,
            elapsed_ns: nanos(elapsed),
            cycle_formed_ns: w.cycle_formed.map(nanos),
            detected_ns: (w.outcome == Outcome::Deadlock).then(|| nanos(w.at)),
            retries: threads.iter().map(|t| t.run.retries).sum(),
            cycle: w
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

    /// When the watchdog reported the deadlock (or the run ended).
    fn detected(&self) -> String {
        secs(self.detected_ns.unwrap_or(self.elapsed_ns))
    }

    /// When the cycle formed.
    fn formed(&self) -> String {
        self.cycle_formed_ns.map_or("?".into(), secs)
    }

    /// Both threads locked both resources.
    fn both_finished(&self) -> bool {
        self.outcome == Outcome::Completed && self.threads.iter().all(|t| t.run.locked_both)
    }

    /// `Thread 1 waits for resource 2, held by Thread 2, which waits for resource 1, held by
    /// Thread 1`.
    fn cycle_text(&self) -> String {
        self.cycle
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let who = if i == 0 {
                    format!("Thread {} waits for", c.thread)
                } else {
                    "which waits for".to_string()
                };
                format!(
                    "{who} resource {}, held by Thread {}",
                    c.waits_for, c.held_by
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The thread that waited longest for a lock, and how long.
    fn longest_wait(&self) -> Option<&ThreadReport> {
        self.threads.iter().max_by_key(|t| t.run.waited_ns)
    }

    /// Time both threads spent backing off.
    fn backoff_ns(&self) -> u64 {
        self.threads.iter().map(|t| t.run.backoff_ns).sum()
    }
}

fn secs(ns: u64) -> String {
    fmt_ns(ns as f64)
}

/// `once`, `twice`, `3 times`, and `0 times` (which reads better than "never" after "retried").
fn retried(n: u32) -> String {
    if n == 0 {
        "0 times".into()
    } else {
        words::times(n)
    }
}

/// `holds resource 1`, `holds resource 1 and 2`, `holds nothing`.
fn holds(resources: &[usize]) -> String {
    if resources.is_empty() {
        "holds nothing".into()
    } else {
        format!("holds resource {}", words::list(resources))
    }
}

/// The lecture's claim for this run's flags.
fn claim(p: &Params) -> &'static str {
    match (p.fix, p.sleep_ms) {
        (None, 0) => {
            "two threads that lock two resources in opposite orders deadlock (with no sleep between the locks, only if they happen to interleave that way)"
        }
        (None, _) => {
            "two threads that lock two resources in opposite orders, with a sleep between the locks, deadlock"
        }
        (Some(Fix::Ordered), _) => {
            "with one lock order for both threads no deadlock forms, and both finish"
        }
        (Some(Fix::Trylock), _) => {
            "threads that never wait while holding (trylock, give back, retry) cannot deadlock, so both finish"
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = CsvRow;

    fn headline(&self, p: &Params) -> String {
        let Some(t) = self.trials.first() else {
            return "no run".into();
        };
        let how = match p.fix {
            Some(Fix::Ordered) => " (fix: one lock order)",
            Some(Fix::Trylock) => " (fix: trylock and back off)",
            None => "",
        };
        match t.outcome {
            Outcome::Deadlock => format!(
                "deadlock detected after {}: {}",
                t.detected(),
                t.threads
                    .iter()
                    .map(|th| format!(
                        "Thread {} {}, waits for resource {}",
                        th.thread,
                        holds(&th.holds),
                        th.waits_for.map_or("-".into(), |r| r.to_string())
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Outcome::Completed => format!(
                "no deadlock{how}: both threads finished in {}; {}",
                secs(t.elapsed_ns),
                words::count(t.retries, "retry")
            ),
            Outcome::Interrupted => format!("interrupted after {}", secs(t.elapsed_ns)),
        }
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(t) = self.trials.first() else {
            return lines;
        };
        match t.outcome {
            Outcome::Deadlock => lines.push(format!(
                "deadlock: after {} neither thread can go on: the wait-for graph has a cycle (it formed at {})",
                t.detected(),
                t.formed()
            )),
            Outcome::Interrupted if t.deadlocked => lines.push(format!(
                "stopped after {}; the threads were deadlocked: the wait-for graph had a cycle (it formed at {})",
                secs(t.elapsed_ns),
                t.formed()
            )),
            Outcome::Interrupted => lines.push(format!(
                "stopped after {}, before any deadlock; where the threads were:",
                secs(t.elapsed_ns)
            )),
            Outcome::Completed => {}
        }
        if t.outcome != Outcome::Completed {
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
                let state = th.task.as_ref().map_or(
                    "state unknown (its /proc entry could not be read)".into(),
                    |s| format!("state {}", s.describe()),
                );
                let holding = if th.holds.is_empty() {
                    "nothing".to_string()
                } else {
                    words::list(th.holds.iter().map(|r| format!("resource {r}")))
                };
                lines.push(format!(
                    "  Thread {} (tid {}): holds {holding}, {waits}; {state}",
                    th.thread,
                    th.tid.map_or("?".into(), |t| t.to_string()),
                ));
            }
            if !t.cycle.is_empty() {
                lines.push(format!("  cycle: {}", t.cycle_text()));
                if t.threads.iter().all(|th| th.state == Some('S')) {
                    lines.push(
                        "  both threads sleep in the kernel (state S) and use no CPU: a deadlock does not spin, it simply never ends".into(),
                    );
                }
            }
            if t.outcome == Outcome::Deadlock {
                lines.push(
                    "the lecture's program hangs here until Ctrl-C; this one's watchdog told both threads to give up, they unlocked their resources and were joined (exit 3; --timeout 0 hangs like the lecture)".into(),
                );
            }
            return lines;
        }
        let done = |th: &ThreadReport| match p.fix {
            Some(Fix::Trylock) => format!(
                "Thread {} retried {}, backed off {}",
                th.thread,
                retried(th.run.retries),
                secs(th.run.backoff_ns)
            ),
            _ => format!(
                "Thread {} waited {} for locks",
                th.thread,
                secs(th.run.waited_ns)
            ),
        };
        lines.push(format!(
            "no deadlock: both threads locked both resources and finished in {} ({})",
            secs(t.elapsed_ns),
            t.threads.iter().map(done).collect::<Vec<_>>().join("; ")
        ));
        lines.push(match p.fix {
            Some(Fix::Ordered) => "fix ordered: both threads lock resource 1 first, so whoever gets it also gets resource 2 and the other waits without holding anything: no cycle can form".into(),
            Some(Fix::Trylock) => format!(
                "fix trylock: retried {} in all; a thread that finds its second resource taken unlocks its first, so nobody waits while holding",
                retried(t.retries)
            ),
            None if p.sleep_ms == 0 => "without the sleep, one thread took both resources before the other took its first: the deadlock needs the threads to interleave just so (run it again, or `oslab compare deadlock --trials 50` counts how often)".into(),
            None => "the threads did not interleave into the deadlock this time (one was slower to start than the sleep)".into(),
        });
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = claim(p);
        let Some(t) = self.trials.first() else {
            return Verdict::unchecked(claim, "no run");
        };
        if t.deadlocked {
            let when = match t.outcome {
                Outcome::Deadlock => format!("the watchdog found it after {}", t.detected()),
                _ => format!(
                    "Ctrl-C found the threads in it after {}",
                    secs(t.elapsed_ns)
                ),
            };
            return Verdict::check(
                claim,
                p.fix.is_none(),
                format!(
                    "{}; the cycle formed at {} and {when}",
                    t.cycle_text(),
                    t.formed()
                ),
            );
        }
        if !t.both_finished() {
            return Verdict::unchecked(
                claim,
                format!(
                    "stopped after {}, before any deadlock formed and before both threads finished",
                    secs(t.elapsed_ns)
                ),
            );
        }
        let finished = format!(
            "both threads locked both resources and finished in {}",
            secs(t.elapsed_ns)
        );
        match p.fix {
            None => Verdict::did_not_hold(
                claim,
                format!(
                    "{finished}: one thread took both resources before the other took its first{}",
                    if p.sleep_ms == 0 {
                        " (no sleep between the locks: the deadlock needs the threads to interleave just so)"
                    } else {
                        " (it started later than the other's sleep lasted: a loaded machine, or an idle vCPU woken first)"
                    }
                ),
            ),
            Some(Fix::Ordered) => Verdict::held(
                claim,
                match t.longest_wait() {
                    Some(w) if w.run.waited_ns > 0 => format!(
                        "{finished}; Thread {} waited {} for resource 1 while holding nothing",
                        w.thread,
                        secs(w.run.waited_ns)
                    ),
                    _ => finished,
                },
            ),
            Some(Fix::Trylock) => Verdict::held(
                claim,
                format!(
                    "{finished} after {} (backed off {} in all)",
                    words::count(t.retries, "retry"),
                    secs(t.backoff_ns())
                ),
            ),
        }
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let general = "two threads that lock two resources in opposite orders can each hold one and wait for the other forever: a cycle in the wait-for graph; cure it with one lock order or by never waiting while holding";
        let Some(t) = self.trials.first() else {
            return general.into();
        };
        match (p.fix, t.deadlocked, t.both_finished()) {
            (None, true, _) => format!(
                "each thread held one resource and waited for the other from {} on, with nothing inside the program able to break the cycle{}; cure it with one lock order (--fix ordered) or by never waiting while holding (--fix trylock)",
                t.formed(),
                if t.threads.iter().all(|th| th.state == Some('S')) {
                    " (both slept in the kernel, state S, using no CPU)"
                } else {
                    ""
                }
            ),
            (None, false, true) => format!(
                "no cycle formed this time: one thread had both resources before the other took its first (both done in {}); a deadlock needs each thread to hold one resource while it waits for the other, which {} makes likely, not certain",
                secs(t.elapsed_ns),
                if p.sleep_ms == 0 {
                    "a sleep between the locks (--sleep)"
                } else {
                    "the sleep between the locks"
                }
            ),
            (Some(Fix::Ordered), false, true) => format!(
                "when every thread locks the resources in one global order, a wait-for cycle cannot form: the thread that got resource 1 first also got resource 2, the other waited its turn ({} here) holding nothing",
                t.longest_wait()
                    .map_or("0 ns".into(), |w| secs(w.run.waited_ns))
            ),
            (Some(Fix::Trylock), false, true) => format!(
                "never wait while holding: a thread that found its second resource taken gave its first back and retried after a random pause ({} here, {} of back-off); a fixed pause could repeat the collision forever, a livelock",
                words::count(t.retries, "retry"),
                secs(t.backoff_ns())
            ),
            _ => general.into(),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "deadlock --timeout 0 & gdb -p $! -batch -ex 'thread apply all bt'   (the debugger's view of a hung program: each thread's stack, stopped in pthread_mutex_timedlock under thread_body; ps -L -o tid,stat,wchan:32,comm -p PID shows the states above)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<CsvRow> {
        self.trials
            .iter()
            .flat_map(|t| {
                t.threads.iter().map(|th| CsvRow {
                    outcome: t.outcome,
                    deadlocked: t.deadlocked,
                    elapsed_ns: t.elapsed_ns,
                    cycle_formed_ns: t.cycle_formed_ns,
                    detected_ns: t.detected_ns,
                    thread: th.clone(),
                })
            })
            .collect()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        self.trials.first().map(|t| secs(t.elapsed_ns))
    }

    fn status(&self) -> u8 {
        let deadlock = self.trials.iter().any(|t| t.outcome == Outcome::Deadlock);
        if deadlock { 3 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(i: usize, holds: &[usize], waits_for: Option<usize>, run: ThreadRun) -> ThreadReport {
        ThreadReport {
            thread: i + 1,
            tid: Some(100 + i as i32),
            run,
            holds: holds.to_vec(),
            waits_for,
            state: Some('S'),
            state_name: Some("sleeping"),
            wchan: Some("futex_do_wait".into()),
            task: Some(TaskState {
                tid: 100 + i as i32,
                comm: format!("Thread-{}", i + 1),
                state: 'S',
                state_name: "sleeping",
                wchan: Some("futex_do_wait".into()),
            }),
        }
    }

    fn deadlocked() -> Results {
        Results {
            trials: vec![Trial {
                trial: 1,
                outcome: Outcome::Deadlock,
                deadlocked: true,
                elapsed_ns: 5_010_000_000,
                cycle_formed_ns: Some(2_001_000_000),
                detected_ns: Some(5_010_000_000),
                retries: 0,
                threads: vec![
                    thread(0, &[1], Some(2), ThreadRun::new(0, None)),
                    thread(1, &[2], Some(1), ThreadRun::new(1, None)),
                ],
                cycle: vec![
                    CycleStep {
                        thread: 1,
                        waits_for: 2,
                        held_by: 2,
                    },
                    CycleStep {
                        thread: 2,
                        waits_for: 1,
                        held_by: 1,
                    },
                ],
            }],
        }
    }

    fn completed(fix: Option<Fix>, retries: [u32; 2], waited: [u64; 2]) -> Results {
        let run = |i: usize| ThreadRun {
            retries: retries[i],
            waited_ns: waited[i],
            backoff_ns: 7_000_000 * u64::from(retries[i]),
            ..ThreadRun::new(i, fix).finished()
        };
        let mut t = thread(0, &[], None, run(0));
        t.task = None;
        Results {
            trials: vec![Trial {
                trial: 1,
                outcome: Outcome::Completed,
                deadlocked: false,
                elapsed_ns: 101_000_000,
                cycle_formed_ns: None,
                detected_ns: None,
                retries: retries.iter().sum(),
                threads: vec![t, thread(1, &[], None, run(1))],
                cycle: Vec::new(),
            }],
        }
    }

    fn params(sleep_ms: u64, fix: Option<Fix>) -> Params {
        Params::new(sleep_ms, Duration::from_secs(5), fix)
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn a_found_cycle_is_the_deadlock_the_lecture_promised() {
        let p = params(2000, None);
        let r = deadlocked();
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .contains("Thread 1 waits for resource 2, held by Thread 2")
        );
        assert!(v.because.contains("the watchdog found it after 5.01 s"));
        assert!(lesson.contains("from 2.00 s on"), "{lesson}");
        assert!(lines[0].starts_with("deadlock: after 5.01 s"), "{lines:?}");
        assert!(lines[1].contains("holds resource 1, waits for resource 2 (held by Thread 2)"));
        assert!(lines[1].ends_with("state S (sleeping), in futex_do_wait"));
        assert!(lines.iter().any(|l| l.starts_with("  both threads sleep")));
        assert_eq!(r.status(), 3);
        assert!(r.headline(&p).starts_with("deadlock detected after 5.01 s"));
    }

    #[test]
    fn threads_that_both_finish_without_a_cure_did_not_deadlock() {
        let r = completed(None, [0, 0], [1000, 2000]);
        let (v, lesson, lines) = judge(&r, &params(0, None));
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("finished in 101 ms"), "{}", v.because);
        assert!(
            v.because.contains("no sleep between the locks"),
            "{}",
            v.because
        );
        assert!(lesson.contains("no cycle formed"), "{lesson}");
        assert!(lines[1].starts_with("without the sleep"), "{lines:?}");
        assert_eq!(r.status(), 0);
        let (v, ..) = judge(&r, &params(2000, None));
        assert!(v.because.contains("a loaded machine"), "{}", v.because);
        assert_eq!(
            r.headline(&params(0, None)),
            "no deadlock: both threads finished in 101 ms; 0 retries"
        );
    }

    #[test]
    fn the_cures_hold_when_both_finish_and_not_when_a_cycle_forms() {
        let p = params(100, Some(Fix::Ordered));
        let (v, lesson, lines) = judge(&completed(p.fix, [0, 0], [3_000, 50_100_000]), &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because.contains("Thread 2 waited 50.1 ms"),
            "{}",
            v.because
        );
        assert!(lesson.contains("(50.1 ms here)"), "{lesson}");
        assert!(lines[1].starts_with("fix ordered"), "{lines:?}");
        let (v, ..) = judge(&deadlocked(), &p);
        assert_eq!(v.held, Some(false), "a cure that deadlocks did not hold");

        let p = params(100, Some(Fix::Trylock));
        let r = completed(p.fix, [0, 1], [0, 0]);
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .ends_with("after 1 retry (backed off 7.00 ms in all)")
        );
        assert!(lesson.contains("1 retry here"), "{lesson}");
        assert!(lines[0].contains("Thread 1 retried 0 times, backed off 0 ns"));
        assert!(lines[0].contains("Thread 2 retried once, backed off 7.00 ms"));
        assert!(lines[1].starts_with("fix trylock: retried once in all"));
        assert!(r.headline(&p).ends_with("; 1 retry"));
    }

    #[test]
    fn a_run_stopped_before_anything_formed_cannot_tell() {
        let mut r = completed(None, [0, 0], [0, 0]);
        let t = &mut r.trials[0];
        t.outcome = Outcome::Interrupted;
        for th in &mut t.threads {
            th.run.locked_both = false;
        }
        let (v, _, lines) = judge(&r, &params(2000, None));
        assert_eq!(v.held, None, "{v:?}");
        assert!(lines[0].contains("before any deadlock"), "{lines:?}");
        assert!(lines[1].contains("holds nothing, waits for nothing; state unknown"));
        assert_eq!(r.progress(&params(2000, None)).as_deref(), Some("101 ms"));

        // Ctrl-C with the threads in the cycle: deadlocked all the same.
        let mut r = deadlocked();
        r.trials[0].outcome = Outcome::Interrupted;
        let (v, _, lines) = judge(&r, &params(50, None));
        assert_eq!(v.held, Some(true));
        assert!(v.because.contains("Ctrl-C found the threads in it"));
        assert!(lines[0].contains("the threads were deadlocked"));
        assert_eq!(r.status(), 0, "the kit gives 130 for the signal");
    }

    #[test]
    fn orders_and_backoffs() {
        assert_eq!(order(0, None), (0, 1));
        assert_eq!(order(1, None), (1, 0));
        assert_eq!(order(1, Some(Fix::Ordered)), (0, 1));
        assert_eq!(order(1, Some(Fix::Trylock)), (1, 0));
        for k in 1..20 {
            let b = backoff(k);
            assert!(b >= Duration::from_millis(1) && b <= Duration::from_millis(1000));
        }
        assert!(backoff(1) <= Duration::from_millis(10));
    }
}
