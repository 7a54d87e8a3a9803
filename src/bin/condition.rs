//! condition: a thread sleeps on a condition variable until the main thread notifies it.
//!
//! What the lecture wants you to see: `wait()` needs the lock and gives it up while it sleeps
//! (so main can take it to notify); the waiting thread uses no CPU until `notify` wakes it.
//! `notify` wakes one waiter, `notify_all` wakes every one (`--waiters 3 [--all]` counts who
//! woke). A notification that nobody is waiting for has no effect: it is not remembered
//! (`--lost-wakeup`), which is why real code waits in a loop on a condition it can check, and
//! why a semaphore, which does remember, is sometimes the better tool (`--semaphore`).

use std::process::ExitCode;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use nix::sys::signal::Signal;
use oslab::kit::cli::{self, CommonArgs, Session, ranged};
use oslab::kit::input::{Input, StdinLines};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::timing::{fmt_ns, nanos};
use oslab::proc::counters::Snapshot;
use oslab::sync::semaphore::Semaphore;
use serde::Serialize;

/// A thread waits on a condition variable until main notifies it: type "notify".
///
/// The lecture's condition.py: the waiting thread prints that it waits and calls cond.wait();
/// main reads lines from stdin, ignores all but "notify", then calls cond.notify(). With
/// --notify-after MS it notifies without reading stdin. --lost-wakeup notifies before anyone
/// waits; --waiters N [--all] shows notify versus notify_all; --semaphore does the same with a
/// counting semaphore.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: condition --waiters 3 --all --notify-after 50\n         echo notify | condition\n         condition --lost-wakeup --semaphore"
)]
struct Args {
    /// Notify after MS milliseconds instead of reading "notify" from stdin [0-600000]
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 600_000))]
    notify_after: Option<u64>,

    /// Notify before anyone waits: a waiter without a predicate misses it (shown with a bounded
    /// wait), a waiter with the predicate loop returns at once
    #[arg(long, conflicts_with_all = ["waiters", "all", "notify_after"])]
    lost_wakeup: bool,

    /// With --lost-wakeup: how long the waiter without a predicate waits before giving up
    /// [1-60000]
    #[arg(long, default_value_t = 1000, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, 60_000))]
    bound: u64,

    /// Waiting threads [1-64]
    #[arg(long, default_value_t = 1, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 64))]
    waiters: u32,

    /// notify_all instead of notify: wake every waiter (with --semaphore: one post per waiter)
    #[arg(long)]
    all: bool,

    /// Order the same events with a counting semaphore (built on Mutex + Condvar) instead of a
    /// bare condition variable
    #[arg(long)]
    semaphore: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// cond = Condition(): the lock and the condition variable, plus what a careful program keeps
/// beside them (what the waiters may check), and the semaphore of --semaphore.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The lecture's `cond`: waiters sleep on it, main notifies it.
    cond: Condvar,
    /// Tells main that a waiter is in `wait()`. A second condition variable, so that it never
    /// wakes a waiter by mistake.
    arrived: Condvar,
    /// --semaphore: the waiters take a permit, main posts.
    semaphore: Semaphore,
}

#[derive(Default)]
struct State {
    /// Waiters that are inside `wait()`.
    waiting: usize,
    /// Main has notified: the condition a predicate loop checks.
    sent: bool,
    sent_at: Option<Instant>,
    /// Main is ending the run: every waiter may go (notify_all at the end).
    released: bool,
    /// Waiters that returned because of the notification.
    woke: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How a waiter's wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Woken {
    /// By main's notify (or post).
    Notified,
    /// By the notify_all (or the semaphore's close) at the end of the run: the notification
    /// did not wake it.
    Released,
    /// --lost-wakeup without a predicate: the bound ran out; nothing would ever have woken it.
    TimedOut,
}

/// One waiting thread: a CSV row.
#[derive(Clone, Debug, Serialize)]
struct WaiterRun {
    waiter: usize,
    /// Whether it checks a condition in a loop around `wait()` (--lost-wakeup's second waiter).
    predicate: bool,
    woken: Woken,
    /// From entering `wait()` to returning from it.
    waited_ns: u64,
    /// From main's notify to this waiter running again (notified waiters only).
    wake_latency_ns: Option<u64>,
    /// Returns from `wait()` with nothing notified yet (POSIX allows them; they are rare).
    spurious: u32,
}

/// The lecture's waiting thread: `print(...)`, `cond.acquire()`, `cond.wait()`, `print(...)`.
fn waiting_thread(
    me: usize,
    label: &str,
    shared: &Shared,
    semaphore: bool,
    out: Output,
) -> WaiterRun {
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let mut state = shared.lock(); // cond.acquire()
    state.waiting += 1;
    shared.arrived.notify_all();
    let began = Instant::now();
    let mut spurious = 0;
    let woken = if semaphore {
        drop(state);
        // sem.acquire(): sleeps until main posts (or the run ends and the semaphore closes).
        let got = shared.semaphore.wait();
        state = shared.lock();
        if got {
            Woken::Notified
        } else {
            Woken::Released
        }
    } else {
        loop {
            // cond.wait(): gives the lock up while asleep, has it again when it returns.
            state = shared.cond.wait(state).unwrap_or_else(|p| p.into_inner());
            if state.released {
                break Woken::Released;
            } else if state.sent {
                break Woken::Notified;
            }
            spurious += 1; // woke with nothing notified: wait again
        }
    };
    let waited_ns = nanos(began.elapsed());
    let wake_latency_ns = match (woken, state.sent_at) {
        (Woken::Notified, Some(at)) => Some(nanos(at.elapsed())),
        _ => None,
    };
    if woken == Woken::Notified {
        state.woke += 1;
        out.lecture(format_args!("{label}: notified by main thread"));
    }
    drop(state);
    if woken == Woken::Released {
        out.analysis(format_args!(
            "{label}: released at the end of the run (no notification woke it)"
        ));
    }
    WaiterRun {
        waiter: me + 1,
        predicate: false,
        woken,
        waited_ns,
        wake_latency_ns,
        spurious,
    }
}

/// Main's side: `cond.acquire(); cond.notify(); cond.release()` (or notify_all, or a post).
fn notify(shared: &Shared, args: &Args) {
    let mut state = shared.lock();
    state.sent = true;
    state.sent_at = Some(Instant::now());
    if args.semaphore {
        drop(state);
        shared
            .semaphore
            .post(if args.all { u64::from(args.waiters) } else { 1 });
    } else if args.all {
        shared.cond.notify_all();
    } else {
        shared.cond.notify_one();
    }
}

/// The end of every run: whoever still waits may go (notify_all, or close the semaphore), so
/// every thread can be joined and the process exits cleanly.
fn release(shared: &Shared) {
    shared.lock().released = true;
    shared.cond.notify_all();
    shared.semaphore.close();
}

// ---------------------------------------------------------------------------------------------
// --lost-wakeup: the notification comes first.

/// The waiter without a predicate, as the lecture writes it, but with a time limit: the notify
/// came before the wait, so nothing will ever wake it.
fn waiter_without_predicate(shared: &Shared, bound: Duration, out: Output) -> WaiterRun {
    let label = "Waiting thread 1 (no predicate)";
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let state = shared.lock();
    let began = Instant::now();
    let (state, result) = shared
        .cond
        .wait_timeout(state, bound)
        .unwrap_or_else(|p| p.into_inner());
    let waited_ns = nanos(began.elapsed());
    let (woken, spurious) = if state.released {
        (Woken::Released, 0)
    } else if result.timed_out() {
        (Woken::TimedOut, 0)
    } else {
        (Woken::Notified, 1) // no notify was sent after the wait began: a spurious wakeup
    };
    drop(state);
    match woken {
        Woken::TimedOut => out.lecture(format_args!(
            "{label}: not notified after {} ms: the notification came before the wait and was lost; without the time limit it would wait forever",
            bound.as_millis()
        )),
        Woken::Notified => out.lecture(format_args!(
            "{label}: woke up although nobody notified it (a spurious wakeup)"
        )),
        Woken::Released => {}
    }
    WaiterRun {
        waiter: 1,
        predicate: false,
        woken,
        waited_ns,
        wake_latency_ns: None,
        spurious,
    }
}

/// The waiter with the predicate loop: `while not notified: cond.wait()`.
fn waiter_with_predicate(shared: &Shared, out: Output) -> WaiterRun {
    let label = "Waiting thread 2 (predicate loop)";
    out.lecture(format_args!("{label}: waiting for main thread..."));
    let mut state = shared.lock();
    let began = Instant::now();
    let mut waits = 0;
    while !state.sent && !state.released {
        state = shared.cond.wait(state).unwrap_or_else(|p| p.into_inner());
        waits += 1;
    }
    let woken = if state.sent {
        Woken::Notified
    } else {
        Woken::Released
    };
    drop(state);
    if woken == Woken::Notified {
        out.lecture(format_args!(
            "{label}: notified by main thread (the condition was already true: it {})",
            if waits == 0 {
                "did not wait at all"
            } else {
                "waited"
            }
        ));
    }
    WaiterRun {
        waiter: 2,
        predicate: true,
        woken,
        waited_ns: nanos(began.elapsed()),
        wake_latency_ns: None,
        spurious: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// main

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("condition", |c| c);
    cli::finish(run(args))
}

/// What started the notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Trigger {
    /// A line "notify" on stdin.
    Stdin,
    /// --notify-after.
    Timer,
    /// --lost-wakeup: before anyone waited.
    BeforeWait,
}

#[derive(Debug, Serialize)]
struct Params {
    waiters: u32,
    all: bool,
    semaphore: bool,
    lost_wakeup: bool,
    notify_after_ms: Option<u64>,
    bound_ms: Option<u64>,
    cpu: Option<String>,
}

#[derive(Debug, Serialize)]
struct Results {
    /// `condvar` or `semaphore`.
    primitive: &'static str,
    /// What main did: notify, notify_all, post 1, post N.
    wake: String,
    trigger: Trigger,
    /// Whether main got to notify (not when Ctrl-C came first).
    sent: bool,
    /// stdin lines that were not "notify".
    ignored_lines: u64,
    /// How many waiters the notification woke, and how many were released at the end.
    woke: usize,
    released: usize,
    waiters: Vec<WaiterRun>,
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Session {
        out,
        system,
        before,
    } = args.common.start()?;
    let shared = Shared::default();

    let (results, stopped) = if args.lost_wakeup {
        lost_wakeup(&shared, &args, out)?
    } else {
        notify_run(&shared, &args, out)?
    };
    let counters = before.delta(&Snapshot::of_self()?);
    if let Some(signal) = stopped {
        eprintln!("condition: stopped by {signal}; results are partial");
    }
    analyse(&args, out, &results, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "condition",
        schema_version: SCHEMA_VERSION,
        params: Params {
            waiters: if args.lost_wakeup { 2 } else { args.waiters },
            all: args.all,
            semaphore: args.semaphore,
            lost_wakeup: args.lost_wakeup,
            notify_after_ms: args.notify_after,
            bound_ms: args.lost_wakeup.then_some(args.bound),
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: headline(&args, &results),
        lesson: lesson(&args).to_string(),
        partial: stopped.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &report.results.waiters)?;
    Ok(interrupt::exit_status(stopped))
}

/// Starts `n` waiting threads (released and joined again if one cannot be created).
fn spawn_waiters<'s>(
    s: &'s Scope<'s, '_>,
    shared: &'s Shared,
    args: &Args,
    out: Output,
) -> anyhow::Result<Vec<ScopedJoinHandle<'s, WaiterRun>>> {
    let n = args.waiters as usize;
    let semaphore = args.semaphore;
    let mut handles = Vec::with_capacity(n);
    for me in 0..n {
        let spawned = thread::Builder::new()
            .name(format!("waiter-{}", me + 1))
            .spawn_scoped(s, move || {
                let label = if n == 1 {
                    "Waiting thread".to_string()
                } else {
                    format!("Waiting thread {}", me + 1)
                };
                waiting_thread(me, &label, shared, semaphore, out)
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                release(shared); // the ones already waiting return, and the scope joins them
                return Err(e).context(format!("could not start waiting thread {}", me + 1));
            }
        }
    }
    Ok(handles)
}

/// The lecture's run (and --waiters, --all, --semaphore): the waiters wait, main notifies when
/// told to, then releases whoever still waits and joins them all.
fn notify_run(
    shared: &Shared,
    args: &Args,
    out: Output,
) -> anyhow::Result<(Results, Option<Signal>)> {
    let n = args.waiters as usize;
    let mut ignored = 0;
    let (trigger, outcome) = thread::scope(|s| -> anyhow::Result<_> {
        let handles = spawn_waiters(s, shared, args, out)?;
        // The lecture sleeps 1 s here and hopes the waiter is waiting by then; we make sure.
        let mut stop = until(shared, |st| st.waiting == n, None);
        let mut trigger = Trigger::Timer;
        let mut failure = None;
        if stop.is_none() {
            match args.notify_after {
                Some(ms) => {
                    out.lecture(format_args!(
                        "Main thread: notifying waiting thread in {ms} ms (--notify-after)"
                    ));
                    stop = interrupt::sleep(Duration::from_millis(ms));
                }
                None => {
                    trigger = Trigger::Stdin;
                    out.lecture(r#"Main thread: type "notify" to notify waiting thread"#);
                    let mut lines = StdinLines::new();
                    loop {
                        match lines.next_line()? {
                            Input::Line(l) if l.trim() == "notify" => break,
                            Input::Line(_) => ignored += 1,
                            Input::End => {
                                failure = Some(ignored);
                                break;
                            }
                            Input::Stopped(signal) => {
                                stop = Some(signal);
                                break;
                            }
                        }
                    }
                }
            }
        }
        if stop.is_none() && failure.is_none() {
            notify(shared, args);
            let expected = if args.all { n } else { 1 };
            // Wait for the woken to run, then a little longer to see that nobody else wakes.
            stop = until(
                shared,
                |st| st.woke >= expected,
                Some(Duration::from_secs(2)),
            );
            if stop.is_none() && expected < n {
                stop = interrupt::sleep(Duration::from_millis(100));
            }
        }
        release(shared);
        let runs: Vec<WaiterRun> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a waiting thread panicked"))
            })
            .collect::<anyhow::Result<_>>()?;
        if let Some(ignored) = failure {
            bail!(
                "end of input before a line \"notify\" ({ignored} other line{} ignored): the waiting thread was never notified (it was released so the program could end); type notify, pipe it in (echo notify | condition) or use --notify-after MS",
                if ignored == 1 { "" } else { "s" }
            );
        }
        Ok((trigger, (runs, stop)))
    })?;
    let (runs, stop) = outcome;
    Ok((
        Results {
            primitive: primitive(args),
            wake: wake(args),
            trigger,
            sent: shared.lock().sent,
            ignored_lines: ignored,
            woke: runs.iter().filter(|r| r.woken == Woken::Notified).count(),
            released: runs.iter().filter(|r| r.woken == Woken::Released).count(),
            waiters: runs,
        },
        stop,
    ))
}

/// --lost-wakeup: main notifies first; then a waiter without a predicate (bounded), then one
/// with the predicate loop. With --semaphore: main posts first, then one waiter takes it.
fn lost_wakeup(
    shared: &Shared,
    args: &Args,
    out: Output,
) -> anyhow::Result<(Results, Option<Signal>)> {
    notify(shared, args);
    out.lecture(if args.semaphore {
        "Main thread: posted the semaphore (no thread is waiting yet)"
    } else {
        "Main thread: notified waiting thread (no thread is waiting yet: the notification has no effect)"
    });
    let bound = Duration::from_millis(args.bound);
    let mut runs = Vec::new();
    let mut stop = None;
    thread::scope(|s| -> anyhow::Result<()> {
        type Waiter<'a> = Box<dyn FnOnce() -> WaiterRun + Send + 'a>;
        let waiters: Vec<Waiter<'_>> = if args.semaphore {
            vec![Box::new(|| {
                waiting_thread(0, "Waiting thread", shared, true, out)
            })]
        } else {
            vec![
                Box::new(|| waiter_without_predicate(shared, bound, out)),
                Box::new(|| waiter_with_predicate(shared, out)),
            ]
        };
        for (i, waiter) in waiters.into_iter().enumerate() {
            if stop.is_some() {
                break;
            }
            let h = thread::Builder::new()
                .name(format!("waiter-{}", i + 1))
                .spawn_scoped(s, waiter)
                .with_context(|| format!("could not start waiting thread {}", i + 1))?;
            // Watch for Ctrl-C while it waits: release it then.
            while !h.is_finished() {
                if let Some(signal) = interrupt::requested() {
                    stop = Some(signal);
                    release(shared);
                }
                thread::sleep(interrupt::POLL);
            }
            runs.push(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a waiting thread panicked"))?,
            );
        }
        release(shared);
        Ok(())
    })?;
    Ok((
        Results {
            primitive: primitive(args),
            wake: wake(args),
            trigger: Trigger::BeforeWait,
            sent: true,
            ignored_lines: 0,
            woke: runs.iter().filter(|r| r.woken == Woken::Notified).count(),
            released: runs.iter().filter(|r| r.woken == Woken::Released).count(),
            waiters: runs,
        },
        stop,
    ))
}

/// Waits (on `arrived`, in short slices so Ctrl-C is seen) until `done` holds or `limit` passes.
fn until(
    shared: &Shared,
    done: impl Fn(&State) -> bool,
    limit: Option<Duration>,
) -> Option<Signal> {
    let start = Instant::now();
    let mut state = shared.lock();
    while !done(&state) && limit.is_none_or(|l| start.elapsed() < l) {
        if let Some(signal) = interrupt::requested() {
            return Some(signal);
        }
        state = shared
            .arrived
            .wait_timeout(state, interrupt::POLL)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The report.

fn primitive(args: &Args) -> &'static str {
    if args.semaphore {
        "semaphore"
    } else {
        "condvar"
    }
}

fn wake(args: &Args) -> String {
    match (args.semaphore, args.all) {
        (true, true) => format!("post {}", args.waiters),
        (true, false) => "post 1".into(),
        (false, true) => "notify_all".into(),
        (false, false) => "notify".into(),
    }
}

fn headline(args: &Args, r: &Results) -> String {
    if args.lost_wakeup {
        return if args.semaphore {
            "lost wake-up avoided: the semaphore kept the early post; the waiter did not wait"
                .into()
        } else {
            format!(
                "lost wake-up: the waiter without a predicate was never woken ({} ms bound); the predicate loop returned at once",
                args.bound
            )
        };
    }
    let latency = r
        .waiters
        .iter()
        .filter_map(|w| w.wake_latency_ns)
        .min()
        .map_or(String::new(), |ns| {
            format!("; woke {} after the notify", fmt_ns(ns as f64))
        });
    format!(
        "{} woke {} of {} waiter{}{}{latency}",
        r.wake,
        r.woke,
        r.waiters.len(),
        if r.waiters.len() == 1 { "" } else { "s" },
        if r.released > 0 {
            format!(", {} released at the end", r.released)
        } else {
            String::new()
        }
    )
}

fn lesson(args: &Args) -> &'static str {
    match (
        args.lost_wakeup,
        args.semaphore,
        args.all || args.waiters > 1,
    ) {
        (true, false, _) => {
            "a notify with nobody waiting is lost: wait in a loop on a condition kept under the lock (while not ready: cond.wait()), never on the notify alone"
        }
        (true, true, _) => {
            "a semaphore counts its posts, so a post before the wait is kept and no wake-up is lost; a condition variable remembers nothing"
        }
        (false, false, true) => {
            "notify wakes one waiter, notify_all wakes every one; the waiters sleep in the kernel and use no CPU until then"
        }
        (false, true, true) => {
            "each post lets exactly one waiter through: a semaphore is a counter of wake-ups, a condition variable is not"
        }
        (false, _, false) => {
            "wait() gives up the lock and sleeps until notify; notify must come after the wait (here main makes sure; the lecture sleeps 1 s) or it is lost"
        }
    }
}

fn analyse(args: &Args, out: Output, r: &Results, system: &Machine) {
    if args.lost_wakeup {
        for w in &r.waiters {
            let how = match (w.predicate, w.woken) {
                (false, Woken::TimedOut) => format!(
                    "waited its whole bound, {}: the notify had already come and gone",
                    fmt_ns(w.waited_ns as f64)
                ),
                (true, Woken::Notified) => format!(
                    "returned after {}: it checked the condition first and never slept",
                    fmt_ns(w.waited_ns as f64)
                ),
                (false, Woken::Notified) if args.semaphore => format!(
                    "returned after {}: the post was waiting in the semaphore's count",
                    fmt_ns(w.waited_ns as f64)
                ),
                (_, woken) => format!("{woken:?} after {}", fmt_ns(w.waited_ns as f64)),
            };
            out.analysis(format_args!(
                "waiter {} ({}): {how}",
                w.waiter,
                if args.semaphore {
                    "semaphore"
                } else if w.predicate {
                    "predicate loop"
                } else {
                    "no predicate"
                }
            ));
        }
    } else if !r.sent {
        out.analysis(format_args!(
            "stopped before main notified: {} waiter{} released at the end so every thread could be joined",
            r.released,
            if r.released == 1 { "" } else { "s" }
        ));
    } else {
        let n = r.waiters.len();
        out.analysis(format_args!(
            "woke: {} of {n} waiter{}: {}{}",
            r.woke,
            if n == 1 { "" } else { "s" },
            match (args.semaphore, args.all) {
                (false, false) => "notify wakes one",
                (false, true) => "notify_all wakes all",
                (true, _) => "each post lets one waiter through",
            },
            if r.ignored_lines > 0 {
                format!(
                    "; {} line(s) other than \"notify\" ignored",
                    r.ignored_lines
                )
            } else {
                String::new()
            }
        ));
        let woken: Vec<String> = r
            .waiters
            .iter()
            .filter_map(|w| w.wake_latency_ns.map(|ns| (w.waiter, ns)))
            .map(|(w, ns)| format!("waiter {w} {}", fmt_ns(ns as f64)))
            .collect();
        if !woken.is_empty() {
            out.analysis(format_args!(
                "wake-up latency, from the notify to the waiter running with the lock again: {}",
                woken.join(", ")
            ));
        }
        if r.released > 0 {
            out.analysis(format_args!(
                "released: {} waiter{} still waited after the notification (100 ms later) and {} set free at the end ({}), so every thread could be joined and the process exit cleanly",
                r.released,
                if r.released == 1 { "" } else { "s" },
                if r.released == 1 { "was" } else { "were" },
                if args.semaphore {
                    "the semaphore was closed"
                } else {
                    "a notify_all with the run marked over"
                }
            ));
        }
        let spurious: u32 = r.waiters.iter().map(|w| w.spurious).sum();
        if spurious > 0 {
            out.analysis(format_args!(
                "spurious wakeups: {spurious} (a wait returned with nothing notified; the waiter waited again)"
            ));
        }
    }
    out.analysis(format_args!("lesson: {}", lesson(args)));
    out.analysis(if args.semaphore {
        "compare: perf bench futex wake -t 3 -w 1   (what each post does underneath: FUTEX_WAKE of a sleeping waiter, timed over many runs)"
    } else {
        "compare: perf bench futex wake -t 3 -w 1   (notify is a FUTEX_WAKE of one sleeping waiter; -w 3 wakes all, as notify_all does; timed over many runs)"
    });
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
