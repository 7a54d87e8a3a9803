//! goroutines' lab bench: a little M:N runtime (Go's G, M and P, much simplified), the three
//! measurements around it and the verdict.
//!
//! The runtime: M worker threads ("M" bound to a "P"), each with a local run queue (a
//! crossbeam `deque::Worker`); an idle worker steals half of another's queue
//! (`Stealer::steal_batch_and_pop`), as Go's `runqsteal`. A task is a state machine, not a
//! stack: a struct with a step counter that the worker calls until it says it is done, so a
//! yield is a return to the worker loop (no ucontext switch; coop_sched has those, and a
//! ucontext stack cannot safely move between OS threads). A task's blocking system call goes
//! through [`P::syscall`], Go's `entersyscall`/`exitsyscall`: the worker marks itself in a
//! system call, and with hand-off a monitor thread (Go's `sysmon`) that sees it there for a
//! tick starts a spare thread that takes the blocked worker's queue (`handoffp`).
//!
//! Beside the runtime, what a switch costs on one CPU: two of the library's ucontext user threads
//! (`sys::ult`, as coop_sched's) yielding to each other through a scheduler loop, two of these
//! tasks yielding through a worker's loop, and two OS threads handing a byte back and forth
//! through pipes (context_switch's thread ping-pong), where the kernel switches.
//!
//! The lecture's program (the task body, `go work(i)`) is the binary's
//! (`src/bin/goroutines.rs`).

use std::collections::VecDeque;
use std::io::{PipeReader, PipeWriter, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::deque::{Steal, Stealer, Worker};
use crossbeam::utils::Backoff;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use serde::Serialize;

use crate::demos::scheduling::context_switch::thread_pingpong;
use crate::kit::timing::{fmt_ns, monotonic_ns, nanos_since};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::counters::ThreadUsage;
use crate::proc::tasks::threads_of_self;
use crate::process::scheduler::{pin_self, placement, restore_affinity};
use crate::sys::ult::{self, Switch, UserThread};
use crate::{Error, Result};

/// How often the monitor (Go's sysmon) looks at the workers; Go's starts at 20 µs and backs off
/// to 10 ms. A worker in a system call for longer loses its queue to a spare thread.
pub const SYSMON_TICK: Duration = Duration::from_millis(1);
/// OS threads created and joined to time one, for the comparison with a task.
pub const THREADS_TIMED: u32 = 100;
/// How many times dearer an OS thread switch must be than a task's yield to count as "far":
/// the same bar as creation's.
pub const FAR: f64 = 10.0;

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub tasks: u32,
    pub workers: u32,
    /// Numbers each task sums, and how many it sums between yields.
    pub numbers: u64,
    pub chunk: u64,
    /// How long the blocking task's system call sleeps, ns.
    pub block_ns: u64,
    /// Switches timed of each kind (user threads, tasks, OS threads).
    pub switches: u64,
}

/// A user-level task (Go's G): the state of the lecture's `work(i)` between steps.
#[derive(Debug)]
pub struct Goroutine {
    pub id: u32,
    /// Numbers summed so far (the step counter) and their sum.
    pub pc: u64,
    pub sum: u64,
    pub numbers: u64,
    pub chunk: u64,
    /// Some: the task first makes a blocking system call this long.
    pub block: Option<Duration>,
    queued_ns: u64,
    started_ns: Option<u64>,
    first_m: u32,
    runs: u32,
    /// The worker whose queue it was put on behind a blocking task (the stall phases).
    behind: Option<u32>,
}

impl Goroutine {
    /// `go work(id)`: a task that sums `numbers` numbers, `chunk` at a time.
    pub fn new(id: u32, numbers: u64, chunk: u64) -> Goroutine {
        Goroutine {
            id,
            pc: 0,
            sum: 0,
            numbers,
            chunk,
            block: None,
            queued_ns: 0,
            started_ns: None,
            first_m: 0,
            runs: 0,
            behind: None,
        }
    }
}

/// What a task's step returns: it yields (back on the queue) or it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Yield,
    Done,
}

/// One step of a task, run by a worker: the lecture's function as a state machine.
pub type Body = fn(&mut Goroutine, &P) -> Step;

/// What a running task sees of its worker: the way to make a blocking system call.
pub struct P<'a> {
    slot: &'a Slot,
    unblocked_ns: &'a AtomicU64,
}

impl P<'_> {
    /// Go's `entersyscall` … `exitsyscall`: the worker is marked in a system call while `call`
    /// runs, so the monitor can hand its queue to another thread.
    pub fn syscall<T>(&self, call: impl FnOnce() -> T) -> T {
        self.slot.since_ns.store(monotonic_ns(), Ordering::SeqCst);
        let got = call();
        self.slot.since_ns.store(0, Ordering::SeqCst);
        self.unblocked_ns.store(monotonic_ns(), Ordering::SeqCst);
        got
    }
}

/// A worker's public face: its queue's stealing end and whether it is in a system call.
struct Slot {
    stealer: Stealer<Goroutine>,
    /// CLOCK_MONOTONIC when it entered a system call; 0 when not in one.
    since_ns: AtomicU64,
    handed_off: AtomicBool,
}

/// One task as it ran: a CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct TaskRecord {
    pub phase: &'static str,
    pub id: u32,
    /// The OS thread that first ran it: a worker 0..M, or a spare thread M.. (hand-off).
    pub thread: u32,
    pub blocker: bool,
    /// The worker it was queued on behind a blocking task.
    pub behind: Option<u32>,
    /// From the phase's start: when it was queued, first ran, finished.
    pub queued_ns: u64,
    pub started_ns: u64,
    pub finished_ns: u64,
    pub runs: u32,
}

/// Creation costs: a task against an OS thread.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Creation {
    pub tasks: u64,
    pub task_total_ns: u64,
    pub task_ns: f64,
    pub threads: u64,
    pub thread_total_ns: u64,
    /// The median of the threads' create-and-join times.
    pub thread_ns: f64,
}

impl Creation {
    fn ratio(&self) -> f64 {
        if self.task_ns > 0.0 {
            self.thread_ns / self.task_ns
        } else {
            0.0
        }
    }
}

/// One kind of switch, timed: two of them on one CPU taking turns `switches` times.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SwitchCost {
    pub switches: u64,
    pub total_ns: u64,
    /// Per switch.
    pub ns: f64,
    /// Context switches the kernel counted for the OS thread(s) meanwhile.
    pub kernel_cs: u64,
}

impl SwitchCost {
    fn of(switches: u64, total_ns: u64, kernel_cs: u64) -> SwitchCost {
        SwitchCost {
            switches,
            total_ns,
            ns: total_ns as f64 / switches.max(1) as f64,
            kernel_cs,
        }
    }
}

/// Switch costs on one CPU: user-level (ucontext user threads, and the runtime's tasks) against
/// the kernel's (two OS threads).
#[derive(Clone, Debug, Serialize)]
pub struct Switches {
    pub cpu: usize,
    /// Two ucontext user threads on one OS thread, yielding through a scheduler loop.
    pub user: SwitchCost,
    /// Two tasks yielding through a worker's loop (a step returns, the next task is picked).
    pub task: SwitchCost,
    /// Two OS threads passing a byte through two pipes: a round trip is two switches.
    pub os: SwitchCost,
    pub os_round_trips: u64,
    /// The kernel's count per round trip: 2 when each side blocks once per round trip.
    pub os_cs_per_round_trip: f64,
    /// The system call glibc's swapcontext makes at every switch (rt_sigprocmask, saving and
    /// setting the signal mask), timed alone: ns per call. A user thread's switch makes two.
    pub sigmask_ns: f64,
}

impl Switches {
    /// How many user-level switches one OS thread switch costs.
    fn ratio(&self) -> f64 {
        if self.user.ns > 0.0 {
            self.os.ns / self.user.ns
        } else {
            0.0
        }
    }

    fn task_ratio(&self) -> f64 {
        if self.task.ns > 0.0 {
            self.os.ns / self.task.ns
        } else {
            0.0
        }
    }

    /// The share of a user thread's switch spent in its two signal-mask system calls, in %.
    fn sigmask_pct(&self) -> f64 {
        if self.user.ns > 0.0 {
            100.0 * 2.0 * self.sigmask_ns / self.user.ns
        } else {
            0.0
        }
    }

    /// True when a task's yield is far cheaper than an OS thread switch and a user thread's
    /// switch cheaper at all (and the OS threads' figure is a kernel switch).
    fn far(&self) -> bool {
        self.kernel_switched() && self.task_ratio() >= FAR && self.ratio() > 1.0
    }

    /// `a ucontext user thread's 426 ns (5.1× less; 2 signal-mask system calls …)`.
    fn ucontext(&self) -> String {
        format!(
            "a ucontext user thread's {} ({:.1}× {}: glibc's swapcontext makes 2 signal-mask system calls per switch, {} each when timed alone, {:.0}% of it)",
            fmt_ns(self.user.ns),
            if self.ratio() >= 1.0 {
                self.ratio()
            } else {
                1.0 / self.ratio().max(f64::MIN_POSITIVE)
            },
            if self.ratio() >= 1.0 { "less" } else { "more" },
            fmt_ns(self.sigmask_ns),
            self.sigmask_pct()
        )
    }

    /// True when the OS threads really switched through the kernel at every hand-over: each
    /// side blocked on its read, so at least ~2 switches a round trip were counted.
    fn kernel_switched(&self) -> bool {
        self.os_cs_per_round_trip >= 1.5
    }
}

/// One run of the runtime.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub workers: u32,
    pub handoff: bool,
    pub tasks: u64,
    /// Tasks finished, and the ids that ran more than once or never.
    pub finished: u64,
    pub ran_twice: u64,
    pub never_ran: u64,
    /// The process's threads before the workers started (main), and the most seen in
    /// /proc/self/task while the tasks ran.
    pub threads_before: u64,
    pub kernel_threads: u64,
    pub kernel_samples: u64,
    /// Tasks each OS thread ran first (workers, then spare threads).
    pub per_thread: Vec<u64>,
    pub steals: u64,
    pub yields: u64,
    pub handoffs: u64,
    pub elapsed_ns: u64,
    /// Stall phases: when the first blocking call returned (from the phase's start), and the
    /// tasks queued behind a blocker that started before and after it.
    pub first_unblock_ns: Option<u64>,
    pub queued_behind: u64,
    pub started_before_unblock: u64,
    pub started_after_unblock: u64,
    pub delay_median_ns: u64,
    pub delay_max_ns: u64,
    #[serde(skip)]
    pub records: Vec<TaskRecord>,
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub creation: Creation,
    /// None when Ctrl-C stopped the run before the switches were timed.
    pub switches: Option<Switches>,
    pub phases: Vec<Phase>,
}

/// The whole demo: the creation costs, the switch costs, K tasks on M workers, then a blocking
/// task on every worker without and with hand-off. `make` is `go work(i)`; `body` is one step
/// of it.
pub fn run(
    s: &Session,
    p: &Params,
    make: fn(u32, &Params) -> Goroutine,
    body: Body,
) -> Result<Results> {
    // The tasks and their records (three phases), roughly.
    let bytes = (p.tasks as u64 + p.workers as u64) * 4 * 128;
    crate::process::limits::check_memory(bytes, "the tasks and their records")?;
    let mut r = Results {
        creation: Creation::default(),
        switches: None,
        phases: Vec::new(),
    };
    // (b) creating K tasks (onto worker 0's queue, as `go` puts a G on the current P's queue)
    let queue = Worker::new_fifo();
    let t0 = Instant::now();
    for i in 0..p.tasks {
        queue.push(make(i, p));
    }
    r.creation.tasks = p.tasks as u64;
    r.creation.task_total_ns = nanos_since(t0);
    r.creation.task_ns = r.creation.task_total_ns as f64 / p.tasks as f64;
    // … against creating and joining OS threads that do nothing: the median of each's time
    // (a join waits for the new thread to get a CPU, which a busy machine delays now and then).
    let mut each = Vec::with_capacity(THREADS_TIMED as usize);
    for _ in 0..THREADS_TIMED {
        let t0 = Instant::now();
        thread::Builder::new()
            .spawn(|| std::hint::black_box(0u64))
            .map_err(|e| Error::spawn(1, 1, e))?
            .join()
            .map_err(|_| Error::WorkerPanicked { index: 0 })?;
        each.push(nanos_since(t0));
    }
    each.sort_unstable();
    r.creation.threads = THREADS_TIMED as u64;
    r.creation.thread_total_ns = each.iter().sum();
    r.creation.thread_ns = each[each.len() / 2] as f64;
    let c = &r.creation;
    s.out.lecture(format!(
        "go work(i), {} times: {} ({} each); {} created and joined: {} (median {} each)",
        c.tasks,
        fmt_ns(c.task_total_ns as f64),
        fmt_ns(c.task_ns),
        words::count(c.threads, "OS thread"),
        fmt_ns(c.thread_total_ns as f64),
        fmt_ns(c.thread_ns)
    ));
    if interrupt::requested().is_some() {
        return Ok(r);
    }
    // (b') a switch: user threads and tasks against OS threads, all on one CPU.
    let (cpu, _) = placement(s.cpu.as_ref())?;
    r.switches = switches(p, cpu, make, body)?;
    let Some(sw) = &r.switches else {
        return Ok(r);
    };
    s.out.lecture(format!(
        "runtime.Gosched() on CPU {cpu}: a task's yield {}, a user thread's switch {}; an OS thread's switch {} ({:.0}× a task's, {:.1}× a user thread's)",
        fmt_ns(sw.task.ns),
        fmt_ns(sw.user.ns),
        fmt_ns(sw.os.ns),
        sw.task_ratio(),
        sw.ratio()
    ));
    // (a) K tasks on M workers, all queued on worker 0: the others steal.
    let mut queues: Vec<Worker<Goroutine>> = (0..p.workers).map(|_| Worker::new_fifo()).collect();
    queues[0] = queue;
    let run = schedule("run", queues, p.tasks as u64, body, false)?;
    s.out.lecture(format!(
        "{} done on {} (GOMAXPROCS={}) in {}",
        words::count(run.finished, "goroutine"),
        words::count(p.workers, "OS thread"),
        p.workers,
        fmt_ns(run.elapsed_ns as f64)
    ));
    r.phases.push(run);
    // (c) the trap: every worker's first task blocks, the rest wait behind; then hand-off.
    for (name, handoff) in [("stall", false), ("handoff", true)] {
        if interrupt::requested().is_some() {
            break;
        }
        let queues: Vec<Worker<Goroutine>> = (0..p.workers).map(|_| Worker::new_fifo()).collect();
        for (w, q) in queues.iter().enumerate() {
            let mut g = make(u32::MAX - w as u32, p);
            g.block = Some(Duration::from_nanos(p.block_ns));
            q.push(g);
        }
        for i in 0..p.tasks {
            let w = (i % p.workers) as usize;
            let mut g = make(i, p);
            g.behind = Some(w as u32);
            queues[w].push(g);
        }
        let total = p.tasks as u64 + p.workers as u64;
        let ph = schedule(name, queues, total, body, handoff)?;
        s.out.lecture(format!(
            "{} in syscall.Nanosleep({}), {} queued behind them: median wait {}{}",
            words::count(p.workers, "goroutine"),
            fmt_ns(p.block_ns as f64),
            p.tasks,
            fmt_ns(ph.delay_median_ns as f64),
            if handoff { " (hand-off)" } else { "" }
        ));
        r.phases.push(ph);
    }
    Ok(r)
}

/// The switch costs on `cpu`, `p.switches` of each kind; None when Ctrl-C came first.
fn switches(
    p: &Params,
    cpu: usize,
    make: fn(u32, &Params) -> Goroutine,
    body: Body,
) -> Result<Option<Switches>> {
    let restore = pin_self(cpu)?;
    let measured = user_switches(p.switches).and_then(|user| match user {
        Some(user) => Ok(task_switches(p, make, body)?.map(|task| (user, task))),
        None => Ok(None),
    });
    restore_affinity(&restore)?;
    let Some((user, task)) = measured? else {
        return Ok(None);
    };
    let round_trips = p.switches.div_ceil(2);
    let Some(rt) = thread_pingpong(pass_back, pass, round_trips, cpu)? else {
        return Ok(None);
    };
    let sigmask_ns = sigmask_ns(p.switches)?;
    let kernel_cs = rt.parent_voluntary_cs
        + rt.parent_nonvoluntary_cs
        + rt.child_voluntary_cs
        + rt.child_nonvoluntary_cs;
    Ok(Some(Switches {
        cpu,
        user,
        task,
        os: SwitchCost::of(2 * round_trips, rt.elapsed_ns, kernel_cs),
        os_round_trips: round_trips,
        os_cs_per_round_trip: rt.switches_per_round_trip,
        sigmask_ns,
    }))
}

/// The system call inside glibc's swapcontext, alone: `rt_sigprocmask(SIG_SETMASK, &mask,
/// &old)` with the thread's own mask (nothing changes), `n` times; ns per call.
fn sigmask_ns(n: u64) -> Result<f64> {
    let mask = SigSet::thread_get_mask().map_err(|e| Error::sys("pthread_sigmask", e))?;
    let mut old = SigSet::empty();
    let start = Instant::now();
    for _ in 0..n {
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&mask), Some(&mut old))
            .map_err(|e| Error::sys("pthread_sigmask", e))?;
    }
    Ok(nanos_since(start) as f64 / n as f64)
}

/// Two ucontext user threads on this OS thread yielding to each other through a scheduler loop
/// (coop_sched's: take the next ready thread, `run` it until it yields, queue it again), `n`
/// switches timed after each thread's first run. None when Ctrl-C stopped it.
fn user_switches(n: u64) -> Result<Option<SwitchCost>> {
    let turns = n.div_ceil(2);
    let mut ready: VecDeque<UserThread> = VecDeque::new();
    for _ in 0..2 {
        ready.push_back(UserThread::new(move || {
            for i in 0..turns {
                if i % 4096 == 4095 && interrupt::requested().is_some() {
                    return;
                }
                ult::yield_now(); // back to the scheduler, which runs the other thread
            }
        })?);
    }
    // Each thread's first run (a fresh stack's first pages faulted in) is not timed.
    for t in &mut ready {
        t.run();
    }
    let before = ThreadUsage::now()?;
    let start = Instant::now();
    let mut runs = 0u64;
    while let Some(mut t) = ready.pop_front() {
        runs += 1;
        if t.run() == Switch::Yielded {
            ready.push_back(t);
        }
    }
    let total_ns = nanos_since(start);
    let kernel = before.delta(&ThreadUsage::now()?);
    if interrupt::requested().is_some() {
        return Ok(None);
    }
    Ok(Some(SwitchCost::of(
        runs,
        total_ns,
        kernel.voluntary_cs + kernel.nonvoluntary_cs,
    )))
}

/// Two of the lecture's tasks, each yielding after every number it sums, through a worker's
/// own loop on this thread: each step returns to the loop, which picks the next task. `n`
/// switches (picks). None when Ctrl-C stopped it.
fn task_switches(
    p: &Params,
    make: fn(u32, &Params) -> Goroutine,
    body: Body,
) -> Result<Option<SwitchCost>> {
    let local = Worker::new_fifo();
    for i in 0..2 {
        let mut g = make(i, p);
        (g.numbers, g.chunk) = (p.switches.div_ceil(2), 1);
        local.push(g);
    }
    let sh = Shared {
        slots: vec![Slot {
            stealer: local.stealer(),
            since_ns: AtomicU64::new(0),
            handed_off: AtomicBool::new(false),
        }],
        unblocked: vec![AtomicU64::new(0)],
        remaining: AtomicUsize::new(2),
        start_ns: monotonic_ns(),
        steals: AtomicU64::new(0),
        yields: AtomicU64::new(0),
        go: AtomicBool::new(true),
    };
    let before = ThreadUsage::now()?;
    let start = Instant::now();
    let done = worker(&sh, 0, 0, local, body);
    let total_ns = nanos_since(start);
    let kernel = before.delta(&ThreadUsage::now()?);
    if done.len() < 2 {
        return Ok(None); // Ctrl-C
    }
    let picks: u64 = done.iter().map(|r| r.runs as u64).sum();
    Ok(Some(SwitchCost::of(
        picks,
        total_ns,
        kernel.voluntary_cs + kernel.nonvoluntary_cs,
    )))
}

/// The OS threads' hand-over, sending side: a byte into one pipe, then a blocking read until it
/// comes back through the other (perf bench sched pipe's loop), `n` times or until Ctrl-C.
fn pass(n: u64, to: &mut PipeWriter, from: &mut PipeReader) -> std::io::Result<u64> {
    let mut byte = [b'!'];
    let mut done = 0;
    while done < n && (done % 4096 != 4095 || interrupt::requested().is_none()) {
        to.write_all(&byte)?;
        from.read_exact(&mut byte)?;
        done += 1;
    }
    Ok(done)
}

/// The other side: a blocking read until the byte comes, then it goes back, `n` times.
fn pass_back(n: u64, from: &mut PipeReader, to: &mut PipeWriter) -> std::io::Result<()> {
    let mut byte = [0u8];
    for _ in 0..n {
        from.read_exact(&mut byte)?;
        to.write_all(&byte)?;
    }
    Ok(())
}

/// What the threads share.
struct Shared {
    slots: Vec<Slot>,
    unblocked: Vec<AtomicU64>,
    remaining: AtomicUsize,
    start_ns: u64,
    steals: AtomicU64,
    yields: AtomicU64,
    /// Workers wait for it: main counts the threads before any task runs.
    go: AtomicBool,
}

impl Shared {
    fn done(&self) -> bool {
        self.remaining.load(Ordering::SeqCst) == 0 || interrupt::requested().is_some()
    }
}

/// One OS thread's scheduling loop (Go's `schedule()`): its own queue first, then steal; a
/// spare thread first takes the queue it was started for.
fn worker(
    sh: &Shared,
    me: u32,
    slot: usize,
    local: Worker<Goroutine>,
    body: Body,
) -> Vec<TaskRecord> {
    let mut done = Vec::new();
    let p = P {
        slot: &sh.slots[slot],
        unblocked_ns: &sh.unblocked[slot],
    };
    let backoff = Backoff::new();
    while !sh.go.load(Ordering::SeqCst) && interrupt::requested().is_none() {
        thread::yield_now();
    }
    while !sh.done() {
        let next = local.pop().or_else(|| steal(sh, &local, slot));
        let Some(mut g) = next else {
            if backoff.is_completed() {
                thread::sleep(Duration::from_micros(50));
            } else {
                backoff.snooze();
            }
            continue;
        };
        backoff.reset();
        if g.started_ns.is_none() {
            g.started_ns = Some(monotonic_ns());
            g.first_m = me;
        }
        g.runs += 1;
        match body(&mut g, &p) {
            Step::Yield => {
                sh.yields.fetch_add(1, Ordering::Relaxed);
                local.push(g);
            }
            Step::Done => {
                let at = |ns: u64| ns.saturating_sub(sh.start_ns);
                done.push(TaskRecord {
                    phase: "",
                    id: g.id,
                    thread: g.first_m,
                    blocker: g.block.is_some(),
                    behind: g.behind,
                    queued_ns: at(g.queued_ns),
                    started_ns: at(g.started_ns.unwrap_or(0)),
                    finished_ns: at(monotonic_ns()),
                    runs: g.runs,
                });
                sh.remaining.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    done
}

/// Half of another queue, the spare's target first: Go's `runqsteal`.
fn steal(sh: &Shared, local: &Worker<Goroutine>, first: usize) -> Option<Goroutine> {
    let n = sh.slots.len();
    for k in 0..n {
        let victim = &sh.slots[(first + k) % n].stealer;
        loop {
            match victim.steal_batch_and_pop(local) {
                Steal::Success(g) => {
                    sh.steals.fetch_add(1, Ordering::Relaxed);
                    return Some(g);
                }
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }
    None
}

/// Runs the tasks in `queues` (one per worker) until all `total` are done, sampling
/// /proc/self/task meanwhile; with `handoff`, a monitor gives a blocked worker's queue to a
/// spare thread.
fn schedule(
    name: &'static str,
    queues: Vec<Worker<Goroutine>>,
    total: u64,
    body: Body,
    handoff: bool,
) -> Result<Phase> {
    let m = queues.len();
    let threads_before = threads_of_self().len() as u64;
    let start_ns = monotonic_ns();
    let sh = Shared {
        slots: queues
            .iter()
            .map(|q| Slot {
                stealer: q.stealer(),
                since_ns: AtomicU64::new(0),
                handed_off: AtomicBool::new(false),
            })
            .collect(),
        unblocked: (0..m).map(|_| AtomicU64::new(0)).collect(),
        remaining: AtomicUsize::new(total as usize),
        start_ns,
        steals: AtomicU64::new(0),
        yields: AtomicU64::new(0),
        go: AtomicBool::new(false),
    };
    for q in &queues {
        // Everything was queued at the start: stamp it now.
        let mut all = Vec::new();
        while let Some(mut g) = q.pop() {
            g.queued_ns = start_ns;
            all.push(g);
        }
        all.into_iter().for_each(|g| q.push(g));
    }
    let started = Instant::now();
    let (mut kernel, mut samples, mut handoffs) = (0u64, 0u64, 0u64);
    let records: Vec<TaskRecord> = thread::scope(|s| -> Result<Vec<TaskRecord>> {
        let sh = &sh;
        let mut handles = Vec::new();
        for (i, q) in queues.into_iter().enumerate() {
            let h = thread::Builder::new()
                .name(format!("worker{i}"))
                .spawn_scoped(s, move || worker(sh, i as u32, i, q, body));
            handles.push(h.map_err(|e| Error::spawn(i + 1, m, e))?);
        }
        let mut spares = 0u32;
        kernel = threads_of_self().len() as u64; // every worker is here, none has run a task
        samples = 1;
        sh.go.store(true, Ordering::SeqCst);
        // main: watch the kernel's thread count (and, with hand-off, be sysmon).
        while !sh.done() {
            kernel = kernel.max(threads_of_self().len() as u64);
            samples += 1;
            if handoff {
                for (w, slot) in sh.slots.iter().enumerate() {
                    let since = slot.since_ns.load(Ordering::SeqCst);
                    let long = since != 0
                        && monotonic_ns().saturating_sub(since)
                            >= crate::kit::timing::nanos(SYSMON_TICK);
                    if long
                        && !slot.stealer.is_empty()
                        && !slot.handed_off.swap(true, Ordering::SeqCst)
                    {
                        let me = m as u32 + spares;
                        spares += 1;
                        handoffs += 1;
                        let h = thread::Builder::new()
                            .name(format!("spare{w}"))
                            .spawn_scoped(s, move || worker(sh, me, w, Worker::new_fifo(), body));
                        handles.push(h.map_err(|e| Error::spawn(1, 1, e))?);
                    }
                }
            }
            thread::sleep(if handoff {
                SYSMON_TICK
            } else {
                Duration::from_micros(200)
            });
        }
        let mut all = Vec::new();
        for (index, h) in handles.into_iter().enumerate() {
            all.extend(h.join().map_err(|_| Error::WorkerPanicked { index })?);
        }
        Ok(all)
    })?;
    let elapsed_ns = nanos_since(started);
    let mut per_thread = vec![0u64; m + handoffs as usize];
    let mut seen = vec![0u32; total as usize];
    let mut recs = records;
    for r in &mut recs {
        r.phase = name;
        per_thread[r.thread as usize] += 1;
        let slot = if r.blocker {
            (u32::MAX - r.id) as usize + (total as usize - m)
        } else {
            r.id as usize
        };
        if let Some(c) = seen.get_mut(slot) {
            *c += 1;
        }
    }
    let unblocks: Vec<u64> = (sh.unblocked.iter())
        .map(|a| a.load(Ordering::SeqCst))
        .filter(|&t| t != 0)
        .map(|t| t.saturating_sub(start_ns))
        .collect();
    let first_unblock_ns = unblocks.iter().copied().min();
    let mut phase = Phase {
        name,
        workers: m as u32,
        handoff,
        tasks: total,
        finished: recs.len() as u64,
        ran_twice: seen.iter().filter(|&&c| c > 1).count() as u64,
        never_ran: seen.iter().filter(|&&c| c == 0).count() as u64,
        threads_before,
        kernel_threads: kernel,
        kernel_samples: samples,
        per_thread,
        steals: sh.steals.load(Ordering::Relaxed),
        yields: sh.yields.load(Ordering::Relaxed),
        handoffs,
        elapsed_ns,
        first_unblock_ns,
        queued_behind: 0,
        started_before_unblock: 0,
        started_after_unblock: 0,
        delay_median_ns: 0,
        delay_max_ns: 0,
        records: recs,
    };
    phase.tally();
    Ok(phase)
}

impl Phase {
    /// The stall figures: tasks queued behind a blocker, when they started against the first
    /// blocking call's return, and their start delays.
    fn tally(&mut self) {
        let mut delays: Vec<u64> = Vec::new();
        let (mut before, mut after) = (0, 0);
        for r in self.records.iter().filter(|r| r.behind.is_some()) {
            delays.push(r.started_ns.saturating_sub(r.queued_ns));
            match self.first_unblock_ns {
                Some(u) if r.started_ns >= u => after += 1,
                _ => before += 1,
            }
        }
        delays.sort_unstable();
        self.queued_behind = delays.len() as u64;
        self.started_before_unblock = before;
        self.started_after_unblock = after;
        self.delay_median_ns = delays.get(delays.len() / 2).copied().unwrap_or(0);
        self.delay_max_ns = delays.last().copied().unwrap_or(0);
    }
}

impl Results {
    fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }
}

const CLAIM: &str = "many tasks run inside a few OS threads: the kernel sees the threads, a task is far cheaper to create, a user-level switch costs far less than a kernel one, and a blocking call stalls its thread's queue until hand-off";

fn threads_of(p: &Phase) -> String {
    let spares = p.per_thread.len() as u64 - p.workers as u64;
    let mut parts = vec![
        format!("main{}", if p.handoff { " as sysmon" } else { "" }),
        words::count(p.workers, "worker"),
    ];
    if spares > 0 {
        parts.push(words::count(spares, "spare"));
    }
    words::list(parts)
}

impl Findings for Results {
    type Params = Params;
    type Row = TaskRecord;

    fn headline(&self, p: &Params) -> String {
        let c = &self.creation;
        let mut h = format!(
            "task {} vs thread {} to create ({:.0}×)",
            fmt_ns(c.task_ns),
            fmt_ns(c.thread_ns),
            c.ratio()
        );
        if let Some(sw) = &self.switches {
            h += &format!(
                "; a switch: task {}, user thread {}, OS thread {}",
                fmt_ns(sw.task.ns),
                fmt_ns(sw.user.ns),
                fmt_ns(sw.os.ns)
            );
        }
        if let Some(run) = self.phase("run") {
            h = format!(
                "{} on {}: the kernel saw {}; {h}",
                words::count(p.tasks, "task"),
                words::count(p.workers, "thread"),
                words::count(run.kernel_threads, "thread")
            );
        }
        if let (Some(a), Some(b)) = (self.phase("stall"), self.phase("handoff")) {
            h += &format!(
                "; behind a blocked worker: median wait {} without hand-off, {} with",
                fmt_ns(a.delay_median_ns as f64),
                fmt_ns(b.delay_median_ns as f64)
            );
        }
        h
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let c = &self.creation;
        let mut lines = vec![format!(
            "create: {} in {} ({} each: a struct on a run queue); {} created and joined in {} (median {} each): {:.0}× dearer",
            words::count(c.tasks, "task"),
            fmt_ns(c.task_total_ns as f64),
            fmt_ns(c.task_ns),
            words::count(c.threads, "OS thread"),
            fmt_ns(c.thread_total_ns as f64),
            fmt_ns(c.thread_ns),
            c.ratio()
        )];
        if let Some(sw) = &self.switches {
            lines.push(format!(
                "switch on CPU {}: 2 ucontext user threads on one OS thread yielded to each other through a scheduler loop, {} in {}: {} each (a swapcontext into the loop and one out, each with a signal-mask system call: {} alone), the kernel counting {} of that OS thread meanwhile; 2 tasks yielded through a worker's loop, {} in {}: {} each (a step returns, the next task is popped); 2 OS threads passed a byte through two pipes, {} in {}: {} per switch (the kernel counted {:.2} per round trip): {:.1}× a user thread's switch, {:.0}× a task's",
                sw.cpu,
                words::count(sw.user.switches, "switch"),
                fmt_ns(sw.user.total_ns as f64),
                fmt_ns(sw.user.ns),
                fmt_ns(sw.sigmask_ns),
                words::count(sw.user.kernel_cs, "context switch"),
                words::count(sw.task.switches, "yield"),
                fmt_ns(sw.task.total_ns as f64),
                fmt_ns(sw.task.ns),
                words::count(sw.os_round_trips, "round trip"),
                fmt_ns(sw.os.total_ns as f64),
                fmt_ns(sw.os.ns),
                sw.os_cs_per_round_trip,
                sw.ratio(),
                sw.task_ratio()
            ));
        }
        if let Some(r) = self.phase("run") {
            let per: Vec<String> = (r.per_thread.iter().enumerate())
                .map(|(i, n)| format!("worker {i} {n}"))
                .collect();
            lines.push(format!(
                "run: {} queued on worker 0 ran on {} in {}: {} (idle workers stole {}; {}); {}",
                words::count(r.tasks, "task"),
                words::count(r.workers, "OS thread"),
                fmt_ns(r.elapsed_ns as f64),
                per.join(", "),
                words::count(r.steals, "batch"),
                words::count(r.yields, "yield"),
                once(r)
            ));
            lines.push(format!(
                "kernel: /proc/self/task listed {} while they ran ({} samples): {}, not {}",
                words::count(r.kernel_threads, "thread"),
                r.kernel_samples,
                threads_of(r),
                r.tasks
            ));
        }
        for ph in self.phases.iter().filter(|ph| ph.name != "run") {
            let how = if ph.handoff {
                format!(
                    "with hand-off (sysmon every {}, {} handed to spare threads)",
                    fmt_ns(crate::kit::timing::nanos(SYSMON_TICK) as f64),
                    words::count(ph.handoffs, "queue")
                )
            } else {
                "without hand-off".to_string()
            };
            lines.push(format!(
                "{}: the first task on each of {} sleeps {} in a system call; {}: of the {} queued behind, {} started before the first call returned, {} after; wait median {}, max {}; the kernel saw {} ({})",
                ph.name,
                words::count(ph.workers, "worker"),
                fmt_ns(p.block_ns as f64),
                how,
                words::count(ph.queued_behind, "task"),
                ph.started_before_unblock,
                ph.started_after_unblock,
                fmt_ns(ph.delay_median_ns as f64),
                fmt_ns(ph.delay_max_ns as f64),
                words::count(ph.kernel_threads, "thread"),
                threads_of(ph)
            ));
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let (Some(run), Some(stall), Some(hand)) = (
            self.phase("run"),
            self.phase("stall"),
            self.phase("handoff"),
        ) else {
            return Verdict::unchecked(
                CLAIM,
                format!(
                    "the run stopped after {}",
                    words::count(self.phases.len() as u64, "phase")
                ),
            );
        };
        let Some(sw) = &self.switches else {
            return Verdict::unchecked(CLAIM, "the run stopped before the switches were timed");
        };
        let c = &self.creation;
        let want = run.threads_before + p.workers as u64;
        let seen = run.kernel_threads == want;
        let cheap = c.ratio() >= 10.0;
        let far = sw.far();
        let stalled = stall.queued_behind > 0 && stall.started_before_unblock == 0;
        let cured = hand.started_before_unblock > 0;
        let facts = [
            (
                seen,
                if seen {
                    format!(
                        "the kernel listed {} for {} (main and {})",
                        words::count(run.kernel_threads, "thread"),
                        words::count(run.tasks, "task"),
                        words::count(p.workers, "worker")
                    )
                } else {
                    format!(
                        "the kernel listed {} where main and {} make {want}",
                        words::count(run.kernel_threads, "thread"),
                        words::count(p.workers, "worker")
                    )
                },
            ),
            (
                cheap,
                format!(
                    "a task cost {} to create, a thread {} ({:.0}×{})",
                    fmt_ns(c.task_ns),
                    fmt_ns(c.thread_ns),
                    c.ratio(),
                    if cheap { "" } else { ", under 10×" }
                ),
            ),
            (
                far,
                if sw.kernel_switched() {
                    format!(
                        "a task's yield cost {}, an OS thread's switch {} ({:.0}×{}); {}",
                        fmt_ns(sw.task.ns),
                        fmt_ns(sw.os.ns),
                        sw.task_ratio(),
                        if sw.task_ratio() >= FAR {
                            String::new()
                        } else {
                            format!(", under {FAR:.0}×")
                        },
                        sw.ucontext()
                    )
                } else {
                    format!(
                        "the OS threads' hand-over counted {:.2} context switches per round trip, not 2: no kernel switch was timed",
                        sw.os_cs_per_round_trip
                    )
                },
            ),
            (
                stalled,
                if stalled {
                    format!(
                        "without hand-off none of the {} queued behind a blocked worker started before a blocking call returned (median wait {})",
                        stall.queued_behind,
                        fmt_ns(stall.delay_median_ns as f64)
                    )
                } else {
                    format!(
                        "without hand-off {} of the {} queued behind a blocked worker started before a blocking call returned",
                        stall.started_before_unblock, stall.queued_behind
                    )
                },
            ),
            (
                cured,
                if cured {
                    format!(
                        "with hand-off {} of them did (median wait {})",
                        hand.started_before_unblock,
                        fmt_ns(hand.delay_median_ns as f64)
                    )
                } else {
                    "with hand-off none of them started before a blocking call returned: no queue was handed over in time".to_string()
                },
            ),
        ];
        let held = facts.iter().all(|(ok, _)| *ok);
        let mut because: Vec<&str> = facts
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, s)| s.as_str())
            .collect();
        because.extend(facts.iter().filter(|(ok, _)| *ok).map(|(_, s)| s.as_str()));
        Verdict::check(CLAIM, held, because.join("; "))
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let c = &self.creation;
        let mut l = format!(
            "a user-level runtime is a little OS inside a few OS threads: creating a task here cost {} (a struct put on a queue) against {} for an OS thread",
            fmt_ns(c.task_ns),
            fmt_ns(c.thread_ns)
        );
        if let Some(r) = self.phase("run") {
            l += &format!(
                ", and {} ran on {} the kernel schedules, stealing work from each other's queues",
                words::count(r.tasks, "task"),
                words::count(p.workers, "thread")
            );
        }
        if let Some(sw) = &self.switches {
            let (user, task, os) = (fmt_ns(sw.user.ns), fmt_ns(sw.task.ns), fmt_ns(sw.os.ns));
            l += &if !sw.kernel_switched() {
                format!(
                    ". A task's yield cost {task} and a user thread's switch {user}; the OS threads' hand-over ({os}) was no kernel switch here ({:.2} counted per round trip), so it tells nothing about one",
                    sw.os_cs_per_round_trip
                )
            } else if sw.far() {
                let ucontext = if sw.ratio() >= FAR {
                    format!(
                        "a ucontext user thread's switch ({user}, swapcontext into the scheduler loop and out) {:.0}× less",
                        sw.ratio()
                    )
                } else {
                    format!(
                        "a ucontext user thread's switch cost {user}, only {:.1}× less, because glibc's swapcontext enters the kernel to save and set the signal mask ({} a call here, two a switch): a user-level switch is cheap as long as it stays out of the kernel, which is why Go's own (gogo) saves a few registers and makes no system call",
                        sw.ratio(),
                        fmt_ns(sw.sigmask_ns)
                    )
                };
                format!(
                    ". Switching is cheap for the same reason: a task's yield cost {task} (a return to the worker loop), {:.0}× less than the {os} the kernel took to switch between two OS threads on one CPU; {ucontext}",
                    sw.task_ratio()
                )
            } else {
                format!(
                    ". A task's yield cost {task} and a user thread's switch {user}, a kernel switch between two OS threads on one CPU {os}: {:.1}× and {:.1}× a user-level one here, not the wide gap a user-level switch usually has",
                    sw.task_ratio(),
                    sw.ratio()
                )
            };
        }
        if let (Some(a), Some(b)) = (self.phase("stall"), self.phase("handoff")) {
            let block = fmt_ns(p.block_ns as f64);
            l += &if a.started_before_unblock == 0 && a.queued_behind > 0 {
                format!(
                    ". But the kernel knows only the threads: a task blocked in a system call took its whole worker with it, and none of the {} tasks queued behind started until a {block} call had returned (median wait {})",
                    a.queued_behind,
                    fmt_ns(a.delay_median_ns as f64)
                )
            } else {
                format!(
                    ". A task blocked in a system call takes its whole worker with it; here {} of the {} tasks queued behind still started before a {block} call returned, so something else ran them",
                    a.started_before_unblock, a.queued_behind
                )
            };
            l += &if b.started_before_unblock > 0 {
                format!(
                    "; Go's cure is the hand-off (sysmon sees a P in a system call and gives it, queue and all, to another thread): with it {} started while the call still slept (median wait {}), at the price of more kernel threads ({} instead of {})",
                    b.started_before_unblock,
                    fmt_ns(b.delay_median_ns as f64),
                    b.kernel_threads,
                    a.kernel_threads
                )
            } else {
                format!(
                    "; Go's cure is the hand-off (sysmon sees a P in a system call and gives it, queue and all, to another thread), but here no queue changed hands before the {block} call returned ({})",
                    words::count(b.handoffs, "hand-off")
                )
            };
        }
        l + &format!(
            ". These tasks are state machines without stacks (a yield is a return); a goroutine has a growable 2 KiB stack, the ucontext user threads a {} KiB one",
            ult::STACK_SIZE / 1024
        )
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "GODEBUG=schedtrace=1000 ./prog   (Go's own scheduler: gomaxprocs, threads, idle Ps, run-queue lengths each second); taskset -c 0 perf bench sched pipe -T -l {}   (the OS thread switch: two threads through pipes, per round trip)",
            p.switches.div_ceil(2)
        )
    }

    fn rows(&self, _p: &Params) -> Vec<TaskRecord> {
        self.phases
            .iter()
            .flat_map(|ph| ph.records.iter().cloned())
            .collect()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some(format!("{} of 3 phases", self.phases.len()))
    }
}

/// `every task ran exactly once`, or what went wrong.
fn once(r: &Phase) -> String {
    if r.ran_twice == 0 && r.never_ran == 0 {
        "every task ran exactly once".into()
    } else {
        format!("{} ran twice, {} never", r.ran_twice, r.never_ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            tasks: 1000,
            workers: 2,
            numbers: 3000,
            chunk: 1000,
            block_ns: 200_000_000,
            switches: 10_000,
        }
    }

    /// Tasks `task_ns` a yield, user threads `user_ns` a switch, OS threads `os_ns`, with
    /// `per_rt` kernel switches counted per round trip; a signal-mask call 100 ns.
    fn switches(task_ns: f64, user_ns: f64, os_ns: f64, per_rt: f64) -> Switches {
        let cost = |ns: f64, kernel_cs| SwitchCost {
            switches: 10_000,
            total_ns: (ns * 10_000.0) as u64,
            ns,
            kernel_cs,
        };
        Switches {
            cpu: 0,
            user: cost(user_ns, 0),
            task: cost(task_ns, 0),
            os: cost(os_ns, (per_rt * 5000.0) as u64),
            os_round_trips: 5000,
            os_cs_per_round_trip: per_rt,
            sigmask_ns: 100.0,
        }
    }

    fn phase(name: &'static str, handoff: bool, kernel: u64, before: u64) -> Phase {
        Phase {
            name,
            workers: 2,
            handoff,
            tasks: 1000,
            finished: 1000,
            ran_twice: 0,
            never_ran: 0,
            threads_before: 1,
            kernel_threads: kernel,
            kernel_samples: 5,
            per_thread: vec![600, 400],
            steals: 10,
            yields: 2000,
            handoffs: 0,
            elapsed_ns: 1_000_000,
            first_unblock_ns: Some(200_000_000),
            queued_behind: 1000,
            started_before_unblock: before,
            started_after_unblock: 1000 - before,
            delay_median_ns: if before > 0 { 2_000_000 } else { 205_000_000 },
            delay_max_ns: 210_000_000,
            records: Vec::new(),
        }
    }

    fn results(kernel: u64, thread_ns: f64, stalled_before: u64, cured_before: u64) -> Results {
        Results {
            creation: Creation {
                tasks: 1000,
                task_total_ns: 100_000,
                task_ns: 100.0,
                threads: 100,
                thread_total_ns: (thread_ns * 100.0) as u64,
                thread_ns,
            },
            switches: Some(switches(20.0, 800.0, 4000.0, 2.0)),
            phases: vec![
                phase("run", false, kernel, 0),
                phase("stall", false, 3, stalled_before),
                phase("handoff", true, 5, cured_before),
            ],
        }
    }

    fn verdict(r: &Results) -> Verdict {
        crate::testing::judge(r, &params()).0
    }

    #[test]
    fn the_five_facts_hold_together() {
        let v = verdict(&results(3, 20_000.0, 0, 900));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .starts_with("the kernel listed 3 threads for 1000 tasks"),
            "{}",
            v.because
        );
        assert!(v.because.contains("(200×)"), "{}", v.because);
        assert!(
            v.because.contains(
                "a task's yield cost 20.0 ns, an OS thread's switch 4.00 µs (200×); a ucontext user thread's 800 ns (5.0× less: glibc's swapcontext makes 2 signal-mask system calls per switch, 100 ns each when timed alone, 25% of it)"
            ),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("with hand-off 900 of them did"),
            "{}",
            v.because
        );
    }

    #[test]
    fn each_fact_alone_turns_the_verdict_and_comes_first() {
        let cases = [
            (
                results(4, 20_000.0, 0, 900),
                "the kernel listed 4 threads where main and 2 workers make 3",
            ),
            (
                results(3, 500.0, 0, 900),
                "a task cost 100 ns to create, a thread 500 ns (5×, under 10×)",
            ),
            (
                results(3, 20_000.0, 7, 900),
                "without hand-off 7 of the 1000",
            ),
            (results(3, 20_000.0, 0, 0), "with hand-off none of them"),
            (
                Results {
                    switches: Some(switches(800.0, 800.0, 4000.0, 2.0)),
                    ..results(3, 20_000.0, 0, 900)
                },
                "a task's yield cost 800 ns, an OS thread's switch 4.00 µs (5×, under 10×)",
            ),
            (
                Results {
                    switches: Some(switches(20.0, 5000.0, 4000.0, 2.0)),
                    ..results(3, 20_000.0, 0, 900)
                },
                "a task's yield cost 20.0 ns, an OS thread's switch 4.00 µs (200×); a ucontext user thread's 5.00 µs (1.2× more",
            ),
            (
                Results {
                    switches: Some(switches(20.0, 200.0, 4000.0, 0.1)),
                    ..results(3, 20_000.0, 0, 900)
                },
                "the OS threads' hand-over counted 0.10 context switches per round trip, not 2",
            ),
        ];
        for (r, first) in cases {
            let v = verdict(&r);
            assert_eq!(v.held, Some(false), "{v:?}");
            assert!(v.because.starts_with(first), "{}", v.because);
        }
    }

    #[test]
    fn the_lesson_follows_the_switch_ratio() {
        let lesson = |sw| {
            let r = Results {
                switches: Some(sw),
                ..results(3, 20_000.0, 0, 900)
            };
            crate::testing::judge(&r, &params()).1
        };
        let both = lesson(switches(20.0, 200.0, 4000.0, 2.0));
        assert!(
            both.contains("a task's yield cost 20.0 ns (a return to the worker loop), 200× less than the 4.00 µs the kernel took"),
            "{both}"
        );
        assert!(both.contains("out) 20× less"), "{both}");
        assert!(!both.contains("glibc"), "{both}");
        let glibc = lesson(switches(20.0, 800.0, 4000.0, 2.0));
        assert!(
            glibc.contains("cost 800 ns, only 5.0× less, because glibc's swapcontext"),
            "{glibc}"
        );
        let near = lesson(switches(800.0, 800.0, 4000.0, 2.0));
        assert!(
            near.contains("5.0× and 5.0× a user-level one here"),
            "{near}"
        );
        assert!(!near.contains("cheap for the same reason"), "{near}");
        let none = lesson(switches(20.0, 200.0, 4000.0, 0.1));
        assert!(none.contains("was no kernel switch here"), "{none}");
    }

    #[test]
    fn a_run_stopped_before_the_switches_is_unchecked() {
        let mut r = results(3, 20_000.0, 0, 900);
        r.switches = None;
        let v = verdict(&r);
        assert_eq!(v.held, None);
        assert!(v.because.contains("before the switches"), "{}", v.because);
    }

    #[test]
    fn a_run_stopped_before_the_last_phase_is_unchecked() {
        let mut r = results(3, 20_000.0, 0, 900);
        r.phases.pop();
        let v = verdict(&r);
        assert_eq!(v.held, None);
        assert!(v.because.contains("after 2 phases"), "{}", v.because);
    }

    #[test]
    fn tally_splits_the_queued_tasks_at_the_first_unblock() {
        let rec = |behind: Option<u32>, started_ns| TaskRecord {
            phase: "stall",
            id: 0,
            thread: 0,
            blocker: behind.is_none(),
            behind,
            queued_ns: 0,
            started_ns,
            finished_ns: started_ns + 1,
            runs: 1,
        };
        let mut ph = phase("stall", false, 3, 0);
        ph.first_unblock_ns = Some(100);
        ph.records = vec![
            rec(None, 0),
            rec(Some(0), 50),
            rec(Some(1), 100),
            rec(Some(0), 300),
        ];
        ph.tally();
        assert_eq!(
            (
                ph.queued_behind,
                ph.started_before_unblock,
                ph.started_after_unblock
            ),
            (3, 1, 2)
        );
        assert_eq!((ph.delay_median_ns, ph.delay_max_ns), (100, 300));
    }
}
