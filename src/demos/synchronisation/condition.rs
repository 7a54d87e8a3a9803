//! condition's lab bench: the shared state beside the condition variable, the waiting threads'
//! clocks, main's side of the run (wait until every waiter waits, then the timer or stdin, then
//! release whoever still waits and join them), the report, the analysis and the verdict. The
//! lecture's program (the waiting thread, main's notify) is `src/bin/condition.rs`; the lost
//! wake-up (`condition --lost-wakeup`) is `src/bin/lost_wakeup.rs`, over [`super::lost_wakeup`].

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use crate::kit::cli::{Unit, whole};
use crate::kit::input::{Input, StdinLines};
use crate::kit::timing::{fmt_ns, nanos};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::counters::ThreadUsage;
use crate::proc::tasks::TaskState;
use crate::sync::semaphore::Semaphore;

/// The examples after `condition --help`.
pub const EXAMPLES: &str = "Example: condition --waiters 3 --all --notify-after 50\n         echo notify | condition\n         condition --lost-wakeup --semaphore";

/// How long main waits for the notified waiters to run again before it gives up on them.
const WAKE_LIMIT: Duration = Duration::from_secs(2);
/// How long main then watches whether a waiter that was not notified wakes all the same.
const GRACE: Duration = Duration::from_millis(100);

/// What can end a run of condition early.
#[derive(Debug, thiserror::Error)]
pub enum ConditionError {
    /// stdin ended before a line "notify".
    #[error(
        "end of input before a line \"notify\" ({} ignored): the waiting thread was never notified (it was released so the program could end); type notify, pipe it in (echo notify | condition) or use --notify-after MS",
        words::count(*.ignored, "other line")
    )]
    NoNotify { ignored: u64 },
    #[error(transparent)]
    Oslab(#[from] crate::Error),
}

/// `cond = Condition()`: the lock and the condition variable, plus what a careful program keeps
/// beside them (what the waiters may check), and the semaphore of `--semaphore`.
pub struct Shared {
    state: Mutex<State>,
    /// The lecture's `cond`: waiters sleep on it, main notifies it.
    pub cond: Condvar,
    /// Tells main that a waiter is in `wait()`, or woke. A second condition variable, so that it
    /// never wakes a waiter by mistake.
    arrived: Condvar,
    /// `--semaphore`: the waiters take a permit, main posts.
    pub semaphore: Semaphore,
    /// When the run started: every time in the report counts from here.
    start: Instant,
}

/// What the lock protects.
#[derive(Debug, Default)]
pub struct State {
    /// Waiters that are inside `wait()`.
    waiting: usize,
    /// Their thread ids, to see in `/proc` when they are asleep.
    tids: Vec<nix::unistd::Pid>,
    /// Main has notified (the condition a predicate loop checks), and when.
    sent_at: Option<Instant>,
    /// Main is ending the run: every waiter may go (notify_all at the end).
    released: bool,
    /// Waiters that returned because of the notification.
    woke: usize,
}

impl State {
    /// Main notifies: from now on the condition is true.
    pub fn notified(&mut self) {
        self.sent_at = Some(Instant::now());
    }

    /// True once main has notified.
    pub fn sent(&self) -> bool {
        self.sent_at.is_some()
    }

    /// True once main has ended the run.
    pub fn released(&self) -> bool {
        self.released
    }

    /// Why a wait returned: the end of the run, the notification, or neither (`None`: a
    /// spurious wakeup, so wait again).
    pub fn woken(&self) -> Option<Woken> {
        if self.released {
            Some(Woken::Released)
        } else if self.sent() {
            Some(Woken::Notified)
        } else {
            None
        }
    }
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            state: Mutex::default(),
            cond: Condvar::new(),
            arrived: Condvar::new(),
            semaphore: Semaphore::default(),
            start: Instant::now(),
        }
    }
}

/// A waiter's clocks, from the moment it starts waiting: wall time, its own CPU time, its
/// context switches.
#[derive(Debug)]
pub struct Waiting {
    me: usize,
    began: Instant,
    cpu_ns: Option<u64>,
    usage: Option<ThreadUsage>,
    /// Whether it checks a condition in a loop around `wait()`.
    pub predicate: bool,
    /// Returns from `wait()` with nothing notified.
    pub spurious: u32,
    /// Calls of `wait()` it made.
    pub waits: u32,
}

impl Shared {
    /// `cond.acquire()`.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data changed in single statements: still good after a panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waiter `me` (from 0), holding the lock, is about to wait: tells main, starts its clocks.
    pub fn waiting(&self, state: &mut State, me: usize) -> Waiting {
        state.waiting += 1;
        state.tids.push(nix::unistd::gettid());
        self.arrived.notify_all();
        Waiting {
            me,
            usage: ThreadUsage::now().ok(),
            cpu_ns: crate::kit::timing::thread_cpu_ns(),
            began: Instant::now(),
            predicate: false,
            spurious: 0,
            waits: 0,
        }
    }

    /// The wait is over (the lock held again), ended as `woken`: stops the clocks, tells main.
    pub fn woke(&self, wait: Waiting, woken: Woken, state: &mut State) -> WaiterRun {
        let returned = Instant::now();
        let since = |t: Instant| nanos(t.saturating_duration_since(self.start));
        let cpu_ns = crate::kit::timing::thread_cpu_ns()
            .zip(wait.cpu_ns)
            .map(|(now, then)| now.saturating_sub(then));
        let slept = ThreadUsage::now()
            .ok()
            .zip(wait.usage)
            .map(|(now, then)| then.delta(&now).voluntary_cs);
        // The latency of a wake-up: only for a waiter that was waiting when main notified.
        let wake_latency_ns = match (woken, state.sent_at) {
            (Woken::Notified, Some(at)) if at > wait.began => {
                Some(nanos(returned.saturating_duration_since(at)))
            }
            _ => None,
        };
        if woken == Woken::Notified {
            state.woke += 1;
            self.arrived.notify_all();
        }
        WaiterRun {
            waiter: wait.me + 1,
            predicate: wait.predicate,
            woken,
            waited_ns: nanos(returned.saturating_duration_since(wait.began)),
            wake_latency_ns,
            spurious: wait.spurious,
            began_ns: since(wait.began),
            returned_ns: since(returned),
            cpu_ns,
            voluntary_cs: slept,
            waits: wait.waits,
        }
    }

    /// Waits (at most `limit`) until every waiter inside `wait()` is asleep in the kernel
    /// (state S in `/proc/self/task/<tid>/stat`), as a person typing `notify` always waits: a
    /// notify that comes before the waiter has gone to sleep wakes nobody who slept. The lecture
    /// sleeps 1 s for the same reason. Returns the signal if Ctrl-C came first.
    pub fn until_asleep(&self, limit: Duration) -> Option<Signal> {
        let tids = self.lock().tids.clone();
        let deadline = Instant::now() + limit;
        let asleep = |tid: &nix::unistd::Pid| {
            TaskState::of_thread(*tid).is_ok_and(|t| matches!(t.state, 'S' | 'D'))
        };
        while !tids.iter().all(asleep) && Instant::now() < deadline {
            if let Some(signal) = interrupt::sleep(Duration::from_micros(200)) {
                return Some(signal);
            }
        }
        interrupt::requested()
    }

    /// The end of every run: whoever still waits may go (notify_all, or close the semaphore), so
    /// every thread can be joined and the process exits cleanly.
    pub fn release(&self) {
        self.lock().released = true;
        self.cond.notify_all();
        self.semaphore.close();
    }

    /// When main notified, from the start.
    fn notified_ns(&self) -> Option<u64> {
        let at = self.lock().sent_at?;
        Some(nanos(at.saturating_duration_since(self.start)))
    }

    /// Waits (on `arrived`, in short slices so Ctrl-C is seen) until `done` holds or `limit`
    /// passes: the signal, if one came.
    fn until(
        &self,
        done: impl Fn(&State) -> bool,
        limit: Option<Duration>,
    ) -> Option<nix::sys::signal::Signal> {
        let start = Instant::now();
        let mut state = self.lock();
        while !done(&state) && limit.is_none_or(|l| start.elapsed() < l) {
            if let Some(signal) = interrupt::requested() {
                return Some(signal);
            }
            state = self
                .arrived
                .wait_timeout(state, interrupt::POLL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        None
    }
}

/// How a waiter's wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Woken {
    /// By main's notify (or post).
    Notified,
    /// By the notify_all (or the semaphore's close) at the end of the run: the notification
    /// did not wake it.
    Released,
    /// `lost_wakeup` without a predicate: the bound ran out; nothing would ever have woken it.
    TimedOut,
}

impl Woken {
    /// `Notified` if the wait ended with what main sent (a permit, the condition), `Released`
    /// if it ended because the run did.
    pub fn notified_if(sent: bool) -> Woken {
        if sent {
            Woken::Notified
        } else {
            Woken::Released
        }
    }
}

/// One waiting thread: a CSV row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaiterRun {
    pub waiter: usize,
    /// Whether it checks a condition in a loop around `wait()` (lost_wakeup's second waiter).
    pub predicate: bool,
    pub woken: Woken,
    /// From entering `wait()` to returning from it.
    pub waited_ns: u64,
    /// From main's notify to this waiter running again (waiters notified while waiting).
    pub wake_latency_ns: Option<u64>,
    /// Returns from `wait()` with nothing notified yet (POSIX allows them; they are rare).
    pub spurious: u32,
    /// When it began waiting and returned, from the start of the run.
    #[serde(skip)]
    pub began_ns: u64,
    #[serde(skip)]
    pub returned_ns: u64,
    /// CPU time it used while it waited (CLOCK_THREAD_CPUTIME_ID), and its voluntary context
    /// switches meanwhile (getrusage RUSAGE_THREAD): how it waited.
    #[serde(skip)]
    pub cpu_ns: Option<u64>,
    #[serde(skip)]
    pub voluntary_cs: Option<u64>,
    /// Calls of `wait()` in a predicate loop.
    #[serde(skip)]
    pub waits: u32,
}

impl WaiterRun {
    /// How it waited: `waited 50.2 ms, using 11.0 µs of CPU, with 1 voluntary context switch`.
    pub fn how_it_waited(&self) -> String {
        let cpu = self
            .cpu_ns
            .map_or(String::new(), |c| format!(", using {} of CPU", secs(c)));
        let cs = self.voluntary_cs.map_or(String::new(), |n| {
            format!(", with {}", words::count(n, "voluntary context switch"))
        });
        format!("waited {}{cpu}{cs}", secs(self.waited_ns))
    }

    /// True when it slept rather than ran while it waited: it blocked in the kernel (a
    /// voluntary context switch) and used less than half the wait on the CPU.
    pub fn slept(&self) -> bool {
        let blocked = self.voluntary_cs.is_none_or(|cs| cs > 0);
        let idle = self
            .cpu_ns
            .is_none_or(|cpu| cpu.saturating_mul(2) < self.waited_ns);
        let known = self.cpu_ns.is_some() || self.voluntary_cs.is_some();
        known && blocked && idle
    }

    /// Whether it waited before the notify, slept, and returned after it: `Err` names what
    /// broke the order.
    pub fn woke_after(&self, notified_ns: u64) -> std::result::Result<(), String> {
        if self.began_ns >= notified_ns {
            Err(format!(
                "it began waiting {} after the notify",
                secs(self.began_ns - notified_ns)
            ))
        } else if self.returned_ns < notified_ns {
            Err(format!(
                "it returned {} before the notify",
                secs(notified_ns - self.returned_ns)
            ))
        } else if !self.slept() {
            let why = if self.voluntary_cs == Some(0) {
                "it never blocked in the kernel (0 voluntary context switches)"
            } else {
                "it spent most of its wait on the CPU"
            };
            Err(format!(
                "{why}: the notify came {} after its wait began, before it was asleep",
                secs(notified_ns - self.began_ns)
            ))
        } else {
            Ok(())
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub waiters: u32,
    pub all: bool,
    pub semaphore: bool,
    pub lost_wakeup: bool,
    pub notify_after_ms: Option<u64>,
    pub bound_ms: Option<u64>,
}

impl Params {
    /// condition's run: `--waiters`, `--all`, `--semaphore`, `--notify-after`.
    /// `notify_after` is reported (and waited) in whole ms.
    pub fn notify(
        waiters: u32,
        all: bool,
        semaphore: bool,
        notify_after: Option<Duration>,
    ) -> Params {
        Params {
            waiters,
            all,
            semaphore,
            lost_wakeup: false,
            notify_after_ms: notify_after.map(|d| whole(d, Unit::Ms)),
            bound_ms: None,
        }
    }

    /// lost_wakeup's run (`condition --lost-wakeup`): `--bound`, `--semaphore`. Two waiters
    /// (without and with a predicate), one with the semaphore.
    /// `bound` is reported in whole ms.
    pub fn lost_wakeup(bound: Duration, semaphore: bool) -> Params {
        Params {
            waiters: if semaphore { 1 } else { 2 },
            all: false,
            semaphore,
            lost_wakeup: true,
            notify_after_ms: None,
            bound_ms: Some(whole(bound, Unit::Ms)),
        }
    }

    /// `condvar` or `semaphore`.
    fn primitive(&self) -> &'static str {
        if self.semaphore {
            "semaphore"
        } else {
            "condvar"
        }
    }

    /// What main does: notify, notify_all, post 1, post N.
    fn wake(&self) -> String {
        match (self.semaphore, self.all) {
            (true, true) => format!("post {}", self.waiters),
            (true, false) => "post 1".into(),
            (false, true) => "notify_all".into(),
            (false, false) => "notify".into(),
        }
    }

    /// How many waiters the notification should wake.
    fn expected(&self) -> usize {
        if self.all { self.waiters as usize } else { 1 }
    }
}

/// What started the notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A line "notify" on stdin.
    Stdin,
    /// --notify-after.
    Timer,
    /// lost_wakeup: before anyone waited.
    BeforeWait,
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// `condvar` or `semaphore`.
    pub primitive: &'static str,
    /// What main did: notify, notify_all, post 1, post N.
    pub wake: String,
    pub trigger: Trigger,
    /// Whether main got to notify (not when Ctrl-C came first).
    pub sent: bool,
    /// stdin lines that were not "notify".
    pub ignored_lines: u64,
    /// How many waiters the notification woke, and how many were released at the end.
    pub woke: usize,
    pub released: usize,
    pub waiters: Vec<WaiterRun>,
    /// When main notified, from the start.
    #[serde(skip)]
    pub notified_ns: Option<u64>,
}

impl Results {
    /// The results of a run with parameters `p`, from the waiters' runs.
    pub fn of(
        p: &Params,
        trigger: Trigger,
        shared: &Shared,
        ignored_lines: u64,
        waiters: Vec<WaiterRun>,
    ) -> Results {
        let notified_ns = shared.notified_ns();
        Results {
            primitive: p.primitive(),
            wake: p.wake(),
            trigger,
            sent: notified_ns.is_some(),
            ignored_lines,
            woke: waiters
                .iter()
                .filter(|r| r.woken == Woken::Notified)
                .count(),
            released: waiters
                .iter()
                .filter(|r| r.woken == Woken::Released)
                .count(),
            waiters,
            notified_ns,
        }
    }

    fn notified(&self) -> impl Iterator<Item = &WaiterRun> {
        self.waiters.iter().filter(|w| w.woken == Woken::Notified)
    }

    fn latencies(&self) -> Vec<u64> {
        self.waiters
            .iter()
            .filter_map(|w| w.wake_latency_ns)
            .collect()
    }

    /// `, 29.9 µs after the notify` or `, 40.5 µs to 4.20 ms after the notify`.
    fn after(&self) -> String {
        let latencies = self.latencies();
        match (latencies.iter().min(), latencies.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => format!(", {} after the notify", secs(*lo)),
            (Some(lo), Some(hi)) => {
                format!(", {} to {} after the notify", secs(*lo), secs(*hi))
            }
            _ => String::new(),
        }
    }
}

/// `Waiting thread` alone, `Waiting thread 2` among several.
fn label(me: usize, waiters: usize) -> String {
    if waiters == 1 {
        "Waiting thread".to_string()
    } else {
        format!("Waiting thread {}", me + 1)
    }
}

fn secs(ns: u64) -> String {
    fmt_ns(ns as f64)
}

/// Main's side of condition's run: starts `p.waiters` threads on `waiter(me, label, shared)`,
/// waits until all of them wait (the lecture sleeps 1 s and hopes), then notifies with
/// `notify(shared)` after `--notify-after` or when stdin says "notify" (the lecture's
/// `input()` loop, which Ctrl-C can interrupt here), gives the notified waiters time to run,
/// releases whoever still waits and joins them all.
pub fn notify_run(
    s: &Session,
    p: &Params,
    waiter: impl Fn(usize, &str, &Shared) -> WaiterRun + Sync,
    notify: impl FnOnce(&Shared),
) -> std::result::Result<Results, ConditionError> {
    let shared = Shared::default();
    let n = p.waiters as usize;
    let mut ignored = 0;
    let mut trigger = Trigger::Timer;
    let mut ended = false;
    let runs = thread::scope(|scope| -> std::result::Result<_, ConditionError> {
        let handles = spawn_waiters(scope, &shared, n, &waiter)?;
        let mut stop = shared.until(|st| st.waiting == n, None);
        stop = stop.or_else(|| shared.until_asleep(ASLEEP_LIMIT));
        if stop.is_none() {
            match p.notify_after_ms {
                Some(ms) => {
                    s.out.lecture(format_args!(
                        "Main thread: notifying waiting thread in {ms} ms (--notify-after)"
                    ));
                    stop = interrupt::sleep(Duration::from_millis(ms));
                }
                None => {
                    trigger = Trigger::Stdin;
                    s.out
                        .lecture(r#"Main thread: type "notify" to notify waiting thread"#);
                    let mut lines = StdinLines::new();
                    loop {
                        match lines.next_line()? {
                            Input::Line(l) if l.trim() == "notify" => break,
                            Input::Line(_) => ignored += 1,
                            Input::End => {
                                ended = true;
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
        if stop.is_none() && !ended {
            notify(&shared);
            // Wait for the woken to run, then a little longer to see that nobody else wakes.
            stop = shared.until(|st| st.woke >= p.expected(), Some(WAKE_LIMIT));
            if stop.is_none() && p.expected() < n {
                interrupt::sleep(GRACE);
            }
        }
        shared.release();
        Ok(join(handles)?)
    })?;
    if ended {
        return Err(ConditionError::NoNotify { ignored });
    }
    Ok(Results::of(p, trigger, &shared, ignored, runs))
}

/// The longest main waits for the waiters to fall asleep before it notifies (or prompts).
const ASLEEP_LIMIT: Duration = Duration::from_millis(500);

/// Starts `n` waiting threads (released and joined again if one cannot be created).
fn spawn_waiters<'s>(
    scope: &'s Scope<'s, '_>,
    shared: &'s Shared,
    n: usize,
    waiter: &'s (impl Fn(usize, &str, &Shared) -> WaiterRun + Sync),
) -> crate::Result<Vec<ScopedJoinHandle<'s, WaiterRun>>> {
    let mut handles = Vec::with_capacity(n);
    for me in 0..n {
        let spawned = thread::Builder::new()
            .name(format!("waiter-{}", me + 1))
            .spawn_scoped(scope, move || waiter(me, &label(me, n), shared));
        match spawned {
            Ok(h) => handles.push(h),
            Err(source) => {
                shared.release(); // the ones already waiting return, and the scope joins them
                return Err(crate::Error::spawn(me + 1, n, source));
            }
        }
    }
    Ok(handles)
}

/// Joins the waiters: an error if one panicked (its run would be meaningless).
pub fn join(handles: Vec<ScopedJoinHandle<'_, WaiterRun>>) -> crate::Result<Vec<WaiterRun>> {
    handles
        .into_iter()
        .enumerate()
        .map(|(index, h)| h.join().map_err(|_| crate::Error::WorkerPanicked { index }))
        .collect()
}

impl Findings for Results {
    type Params = Params;
    type Row = WaiterRun;

    fn headline(&self, _p: &Params) -> String {
        let latency = self
            .latencies()
            .into_iter()
            .min()
            .map_or(String::new(), |ns| {
                format!("; woke {} after the notify", secs(ns))
            });
        format!(
            "{} woke {} of {}{}{latency}",
            self.wake,
            self.woke,
            words::count(self.waiters.len() as u64, "waiter"),
            if self.released > 0 {
                format!(", {} released at the end", self.released)
            } else {
                String::new()
            }
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let n = self.waiters.len();
        let mut lines: Vec<String> = self
            .waiters
            .iter()
            .filter(|w| w.woken == Woken::Released)
            .map(|w| {
                format!(
                    "{}: released at the end of the run (no notification woke it)",
                    label(w.waiter - 1, n)
                )
            })
            .collect();
        if !self.sent {
            lines.push(format!(
                "stopped before main notified: {} released at the end so every thread could be joined",
                words::count(self.released as u64, "waiter")
            ));
            return lines;
        }
        lines.push(format!(
            "woke: {} of {}: {}{}",
            self.woke,
            words::count(n as u64, "waiter"),
            match (p.semaphore, p.all) {
                (false, false) => "notify wakes one",
                (false, true) => "notify_all wakes all",
                (true, _) => "each post lets one waiter through",
            },
            if self.ignored_lines > 0 {
                format!(
                    "; {} other than \"notify\" ignored",
                    words::count(self.ignored_lines, "line")
                )
            } else {
                String::new()
            }
        ));
        let woken: Vec<String> = self
            .waiters
            .iter()
            .filter_map(|w| w.wake_latency_ns.map(|ns| (w.waiter, ns)))
            .map(|(w, ns)| format!("waiter {w} {}", secs(ns)))
            .collect();
        if !woken.is_empty() {
            lines.push(format!(
                "wake-up latency, from the notify to the waiter running with the lock again: {}",
                woken.join(", ")
            ));
        }
        let asleep: Vec<String> = self
            .notified()
            .map(|w| format!("waiter {} {}", w.waiter, w.how_it_waited()))
            .collect();
        if !asleep.is_empty() {
            lines.push(format!(
                "in {}: {}",
                if p.semaphore {
                    "sem.acquire()"
                } else {
                    "wait()"
                },
                asleep.join("; ")
            ));
        }
        if self.released > 0 {
            lines.push(format!(
                "released: {} still waited after the notification ({} later) and {} set free at the end ({}), so every thread could be joined and the process exit cleanly",
                words::count(self.released as u64, "waiter"),
                secs(nanos(GRACE)),
                words::noun(self.released as u64, "was"),
                if p.semaphore {
                    "the semaphore was closed"
                } else {
                    "a notify_all with the run marked over"
                }
            ));
        }
        let spurious: u32 = self.waiters.iter().map(|w| w.spurious).sum();
        if spurious > 0 {
            lines.push(format!(
                "{} (a wait returned with nothing notified; the waiter waited again)",
                words::count(spurious, "spurious wakeup")
            ));
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let n = self.waiters.len();
        let claim = match (n, p.semaphore, p.all) {
            (1, false, _) => {
                "the waiting thread sleeps until it is notified, and wakes after the notify"
            }
            (1, true, _) => {
                "the waiting thread sleeps until main posts, and goes on after the post"
            }
            (_, false, false) => "notify wakes exactly one of the waiters",
            (_, false, true) => "notify_all wakes every waiter",
            (_, true, false) => "one post lets exactly one waiter through",
            (_, true, true) => "one post per waiter lets every waiter through",
        };
        let Some(at) = self.notified_ns else {
            return Verdict::unchecked(claim, "stopped before main notified");
        };
        let broken = self
            .notified()
            .find_map(|w| w.woke_after(at).err().map(|e| (w.waiter, e)));
        if n == 1 {
            let Some(w) = self.notified().next() else {
                return Verdict::did_not_hold(
                    claim,
                    "the notify did not wake the waiter: it was released at the end of the run",
                );
            };
            let latency = w.wake_latency_ns.map_or(String::new(), |l| {
                format!(", and ran again {} after it", secs(l))
            });
            return match broken {
                None => Verdict::held(
                    claim,
                    format!(
                        "it began waiting {} before the notify and {}{latency}",
                        secs(at.saturating_sub(w.began_ns)),
                        w.how_it_waited()
                    ),
                ),
                Some((_, why)) => Verdict::did_not_hold(
                    claim,
                    format!(
                        "{why}; it waited {}{}{latency}",
                        secs(w.waited_ns),
                        w.cpu_ns
                            .map_or(String::new(), |c| format!(", {} of it on the CPU", secs(c)))
                    ),
                ),
            };
        }
        let after = self.after();
        let rest = if self.released > 0 {
            format!(
                "; {} still waited {} later and {} released at the end",
                self.released,
                secs(nanos(GRACE)),
                words::noun(self.released as u64, "was")
            )
        } else {
            String::new()
        };
        let problem = broken.map_or(String::new(), |(w, why)| format!(": waiter {w}: {why}"));
        Verdict::check(
            claim,
            self.woke == p.expected() && problem.is_empty(),
            format!("{} of {n} woke{after}{rest}{problem}", self.woke),
        )
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let n = self.waiters.len();
        let (Some(w), Some(at)) = (self.notified().next(), self.notified_ns) else {
            return "wait() gives up the lock and sleeps until notify; notify must come after the wait (here main makes sure; the lecture sleeps 1 s) or it is lost".into();
        };
        if p.semaphore {
            return format!(
                "each post lets exactly one waiter through: {} let {} of {} go on; a semaphore is a counter of wake-ups, a condition variable is not",
                p.wake(),
                self.woke,
                words::count(n as u64, "waiter")
            );
        }
        if n > 1 {
            let others = match self
                .waiters
                .iter()
                .filter(|w| w.woken == Woken::Released)
                .filter_map(|w| w.cpu_ns)
                .max()
            {
                Some(cpu) => format!(
                    "; the other {} slept on, using at most {} of CPU each, until released at the end",
                    self.released,
                    secs(cpu)
                ),
                None => String::new(),
            };
            return format!(
                "{} woke {} of the {n} waiters{}{others}: {}",
                p.wake(),
                self.woke,
                self.after(),
                if p.all {
                    "notify_all wakes every waiter, and each then takes the lock back in turn"
                } else {
                    "notify wakes one, notify_all would wake every one"
                }
            );
        }
        match w.woke_after(at) {
            Ok(()) => format!(
                "wait() gave up the lock and slept until the notify: {} in wait(), {} of it on the CPU{}; notify must come after the wait (here main makes sure; the lecture sleeps 1 s) or it is lost (lost_wakeup)",
                secs(w.waited_ns),
                w.cpu_ns.map_or("?".into(), secs),
                w.wake_latency_ns.map_or(String::new(), |l| format!(
                    ", and it ran again {} after the notify",
                    secs(l)
                ))
            ),
            Err(_) => format!(
                "wait() gives up the lock and sleeps until notify, but here main notified {} after the wait began, before the waiter was asleep ({}); the lecture sleeps 1 s before it notifies so that the waiter surely sleeps (type notify by hand, or --notify-after 50), and a notify before the wait would be lost (lost_wakeup)",
                secs(at.saturating_sub(w.began_ns)),
                w.how_it_waited()
            ),
        }
    }

    fn compare(&self, p: &Params) -> String {
        compare(p.semaphore)
    }

    fn rows(&self, _p: &Params) -> Vec<WaiterRun> {
        self.waiters.clone()
    }
}

/// The field's tool for what a notify or a post does underneath.
pub fn compare(semaphore: bool) -> String {
    if semaphore {
        "perf bench futex wake -t 3 -w 1   (what each post does underneath: FUTEX_WAKE of a sleeping waiter, timed over many runs)".into()
    } else {
        "perf bench futex wake -t 3 -w 1   (notify is a FUTEX_WAKE of one sleeping waiter; -w 3 wakes all, as notify_all does; timed over many runs)".into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A waiter that waited from `began` to `returned` (ms from the start), using `cpu_us`.
    pub(crate) fn waiter(
        me: usize,
        woken: Woken,
        began: u64,
        returned: u64,
        cpu_us: u64,
    ) -> WaiterRun {
        let ms = 1_000_000;
        WaiterRun {
            waiter: me + 1,
            predicate: false,
            woken,
            waited_ns: (returned - began) * ms,
            wake_latency_ns: (woken == Woken::Notified && returned >= 50)
                .then(|| (returned - 50) * ms + 20_000),
            spurious: 0,
            began_ns: began * ms,
            returned_ns: returned * ms + 20_000,
            cpu_ns: Some(cpu_us * 1000),
            voluntary_cs: Some(1),
            waits: 1,
        }
    }

    /// A run whose main notified at 50 ms.
    fn results(p: &Params, waiters: Vec<WaiterRun>) -> Results {
        let count = |k| waiters.iter().filter(|w| w.woken == k).count();
        Results {
            primitive: p.primitive(),
            wake: p.wake(),
            trigger: Trigger::Timer,
            sent: true,
            ignored_lines: 0,
            woke: count(Woken::Notified),
            released: count(Woken::Released),
            waiters,
            notified_ns: Some(50_000_000),
        }
    }

    pub(crate) fn judge<F: Findings>(r: &F, p: &F::Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn a_waiter_that_slept_until_the_notify_holds_the_claim() {
        let p = Params::notify(1, false, false, Some(Duration::from_millis(50)));
        let r = results(&p, vec![waiter(0, Woken::Notified, 0, 50, 12)]);
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "it began waiting 50.0 ms before the notify and waited 50.0 ms, using 12.0 µs of CPU, with 1 voluntary context switch, and ran again 20.0 µs after it"
        );
        assert!(
            lesson.contains("slept until the notify: 50.0 ms in wait(), 12.0 µs of it on the CPU, and it ran again 20.0 µs after"),
            "{lesson}"
        );
        assert_eq!(lines[0], "woke: 1 of 1 waiter: notify wakes one");
        assert!(lines[1].ends_with("waiter 1 20.0 µs"), "{lines:?}");
        assert_eq!(
            r.headline(&p),
            "notify woke 1 of 1 waiter; woke 20.0 µs after the notify"
        );
    }

    #[test]
    fn a_waiter_that_spun_or_woke_first_did_not_hold() {
        let p = Params::notify(1, false, false, Some(Duration::from_millis(50)));
        // Most of the wait on the CPU: it never went to sleep.
        let r = results(&p, vec![waiter(0, Woken::Notified, 0, 50, 40_000)]);
        let (v, ..) = judge(&r, &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .starts_with("it spent most of its wait on the CPU")
        );
        // Never blocked in the kernel: the notify came first.
        let mut w = waiter(0, Woken::Notified, 0, 50, 1);
        w.voluntary_cs = Some(0);
        let (v, lesson, _) = judge(&results(&p, vec![w]), &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.starts_with("it never blocked in the kernel (0 voluntary context switches): the notify came 50.0 ms after"),
            "{}",
            v.because
        );
        assert!(lesson.contains("before the waiter was asleep"), "{lesson}");
        // Returned before the notify.
        let mut w = waiter(0, Woken::Notified, 0, 40, 1);
        w.returned_ns = 40_000_000;
        let (v, ..) = judge(&results(&p, vec![w]), &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .starts_with("it returned 10.0 ms before the notify")
        );
        // Never notified at all.
        let mut r = results(&p, vec![waiter(0, Woken::Released, 0, 60, 1)]);
        let (v, _, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            lines[0],
            "Waiting thread: released at the end of the run (no notification woke it)"
        );
        r.notified_ns = None;
        r.sent = false;
        let (v, _, lines) = judge(&r, &p);
        assert_eq!(v.held, None, "{v:?}");
        assert!(lines[1].starts_with("stopped before main notified: 1 waiter released"));
    }

    #[test]
    fn notify_wakes_one_and_notify_all_every_one() {
        let p = Params::notify(3, false, false, Some(Duration::from_millis(50)));
        let one = vec![
            waiter(0, Woken::Notified, 0, 50, 10),
            waiter(1, Woken::Released, 0, 150, 10),
            waiter(2, Woken::Released, 0, 150, 10),
        ];
        let r = results(&p, one.clone());
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "1 of 3 woke, 20.0 µs after the notify; 2 still waited 100 ms later and were released at the end"
        );
        assert!(
            lesson.starts_with("notify woke 1 of the 3 waiters"),
            "{lesson}"
        );
        assert_eq!(
            lines[0],
            "Waiting thread 2: released at the end of the run (no notification woke it)"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == "woke: 1 of 3 waiters: notify wakes one")
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("released: 2 waiters still waited"))
        );
        // The same run judged as notify_all: two waiters too few.
        let all = Params::notify(3, true, false, Some(Duration::from_millis(50)));
        let (v, ..) = judge(&results(&all, one), &all);
        assert_eq!(v.held, Some(false), "{v:?}");
        let every: Vec<WaiterRun> = (0..3)
            .map(|i| waiter(i, Woken::Notified, 0, 50, 10))
            .collect();
        let (v, ..) = judge(&results(&all, every.clone()), &all);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.starts_with("3 of 3 woke"), "{}", v.because);
        // notify that woke three: not the claim.
        let (v, ..) = judge(&results(&p, every), &p);
        assert_eq!(v.held, Some(false), "{v:?}");
    }

    #[test]
    fn the_semaphore_counts_its_posts() {
        let p = Params::notify(3, false, true, Some(Duration::from_millis(50)));
        let r = results(
            &p,
            vec![
                waiter(0, Woken::Released, 0, 150, 10),
                waiter(1, Woken::Notified, 0, 50, 10),
                waiter(2, Woken::Released, 0, 150, 10),
            ],
        );
        let (v, lesson, lines) = judge(&r, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            lesson.contains("post 1 let 1 of 3 waiters go on"),
            "{lesson}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("each post lets one waiter through"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("in sem.acquire(): waiter 2 waited"))
        );
        assert_eq!(r.wake, "post 1");
        assert_eq!(Params::notify(3, true, true, None).wake(), "post 3");
    }

    #[test]
    fn the_missing_notify_error_counts_the_lines() {
        let e = ConditionError::NoNotify { ignored: 2 };
        assert!(
            e.to_string()
                .starts_with("end of input before a line \"notify\" (2 other lines ignored)")
        );
        let e = ConditionError::NoNotify { ignored: 1 };
        assert!(e.to_string().contains("(1 other line ignored)"));
    }

    #[test]
    fn the_shared_state_times_a_wait() {
        let shared = Shared::default();
        let mut state = shared.lock();
        let wait = shared.waiting(&mut state, 0);
        assert_eq!(state.woken(), None);
        state.notified();
        assert_eq!(state.woken(), Some(Woken::Notified));
        let run = shared.woke(wait, Woken::Notified, &mut state);
        drop(state);
        assert_eq!(run.waiter, 1);
        assert!(run.wake_latency_ns.is_some());
        assert!(run.began_ns <= run.returned_ns);
        assert!(shared.notified_ns().is_some());
        shared.release();
        assert_eq!(shared.lock().woken(), Some(Woken::Released));
    }
}
