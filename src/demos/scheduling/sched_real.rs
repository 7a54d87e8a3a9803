//! `sched_sim --real`'s lab bench: the job list run on the real kernel, beside the simulator's
//! prediction for the same jobs.
//!
//! One thread per job (named after it, so the kernel's record shows `P1`), all pinned to one
//! CPU, each under the kernel's version of the algorithm: SCHED_FIFO for fifo, SCHED_RR for rr
//! (the kernel's fixed slice, `sched_rr_timeslice_ms`), SCHED_RR at one real-time priority per
//! job priority for priority, SCHED_OTHER with each job's nice value for fair (EEVDF). A tick
//! becomes real time: by default the kernel's slice divided by the simulated slice, so the
//! simulated slice *is* the kernel's. Each job burns the CPU until its length has run, by its
//! own clock ([`job`]). A launcher thread on another CPU releases each job at its
//! arrival, in the list's order, and waits until the kernel has it runnable before releasing the
//! next, so the run queue gets the jobs in the simulator's order.
//!
//! Who ran when comes from the kernel's `sched:sched_switch` tracepoint
//! ([`crate::proc::switches`]), not from us; without the privilege to trace (or with
//! `--own-clock`), from the jobs' own clock readings ([`super::turns`]), and the output says so.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use serde::Serialize;

use super::sched_sim::{Job, Params, Policy, Schedule};
use super::time_slice::KernelSlice;
use super::turns::{Turn, Turns};
use crate::kit::machine::{policy_name, usable_cpus};
use crate::kit::timing::{fmt_ns, monotonic_ns, thread_cpu_ns};
use crate::kit::{Session, interrupt, words};
use crate::proc::switches::{OnCpu, SwitchTrace};
use crate::proc::tasks::TaskState;
use crate::process::limits;
use crate::process::scheduler::{self, FirstRefusal, Refusal, RtLimits, placement};
use crate::{Error, Result, sys};

/// The most a real run may take: the jobs' run times and the last arrival, in real time.
pub const MAX_REAL_NS: u64 = 60_000_000_000;

/// How long after a timer tick the first job is released: the tick's own work done.
const TICK_OFFSET_NS: u64 = 100_000;

/// The timer tick's grid: a time a tick fired (CLOCK_MONOTONIC, the `.last_tick` of a CPU in
/// /proc/timer_list, root only) and the period. Every CPU's tick fires on one grid.
fn tick_grid(period: u64) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/timer_list").ok()?;
    let last = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(".last_tick"))
        .filter_map(|l| {
            l.trim_start_matches([' ', ':'])
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()?;
    (last > 0).then_some((last, period))
}

/// A gap longer than this between a job's clock readings is time off the CPU.
const GAP_NS: u64 = 5_000;

/// A job on the kernel is cpu_bound.c until it has held the CPU for its length, by its
/// own clock: a gap in its readings is time another task had the CPU (the turn log tells a
/// switch from an interrupt, which the kernel's slice counts as ours).
///
/// ```c
/// while (held < length) {
///     t = now();
///     if (t - last > GAP && another_job_ran())   /* we were off the CPU */
///         turn_ends(last), turn_starts(t);
///     else held += t - last;
///     last = t;
/// }
/// ```
pub fn job(turns: &mut Turns<'_>, length_ns: u64) {
    let mut last = monotonic_ns();
    turns.begin(last);
    while turns.held_ns(last) < length_ns {
        let now = monotonic_ns();
        if now - last > turns.gap_ns() && !turns.off_cpu(last, now) {
            break; // the log is full
        }
        last = now;
        if now >= turns.deadline_ns() || interrupt::requested().is_some() {
            break;
        }
    }
    turns.end(last);
}

/// The kernel's policy for a simulated one, or why there is none.
pub fn kernel_policy(policy: Policy) -> std::result::Result<&'static str, String> {
    match policy {
        Policy::Fifo => Ok("SCHED_FIFO"),
        Policy::Rr | Policy::Priority => Ok("SCHED_RR"),
        Policy::Fair => Ok("SCHED_OTHER"),
        Policy::Sjf | Policy::Mlfq => Err(format!(
            "--real: Linux has no {} scheduling class; --real runs fifo (SCHED_FIFO), rr (SCHED_RR), priority (SCHED_RR, a real-time priority per job priority) and fair (SCHED_OTHER, EEVDF, with the jobs' nice values)",
            policy.title()
        )),
    }
}

/// Where the record of who ran when came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The kernel's `sched:sched_switch` tracepoint.
    SchedSwitch,
    /// The jobs' own clock readings.
    OwnClock,
}

/// Who held the CPU, from when to when (ns since the first release).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// A job's name, `idle`, or another task's name (`kworker/1:1`).
    pub who: String,
    /// The job's index, for a job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<usize>,
    /// A job's thread after its work was done, on its way out (not the job's work, not another
    /// task's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exiting: bool,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// One job, predicted and measured.
#[derive(Clone, Debug, Serialize)]
pub struct RealJob {
    pub job: String,
    pub tid: i32,
    /// The policy read back from the kernel: `SCHED_RR 10`, `SCHED_OTHER nice 5`.
    pub in_force: String,
    /// Its run time and arrival in real time.
    pub length_ns: u64,
    pub arrival_ns: u64,
    /// The simulator's first run and finish, in ticks.
    pub predicted_first: u32,
    pub predicted_finish: u32,
    /// The record's first run and finish, ns since the first release, and in ticks.
    pub first_ns: u64,
    pub finish_ns: u64,
    pub first_ticks: f64,
    pub finish_ticks: f64,
    /// Its time holding the CPU by its own clock (interruptions included), and its CPU time by
    /// the kernel's (CLOCK_THREAD_CPUTIME_ID).
    pub ran_ns: u64,
    pub cpu_ns: u64,
    /// Its turns in the record.
    pub turns: usize,
    /// Its finish by its own clock (ns since the first release), for the cross-check.
    pub own_finish_ns: u64,
    /// The deadline (a safety bound) or a signal stopped it before its length had run.
    pub cut: bool,
}

/// What the real run found.
#[derive(Clone, Debug, Serialize)]
pub struct RealRun {
    /// The kernel's policy: `SCHED_RR priority 10`, ...
    pub kernel_policy: String,
    pub cpu: usize,
    /// The CPU the launcher released the jobs from.
    pub launcher_cpu: usize,
    pub tick_ns: u64,
    /// How the tick was chosen, in words.
    pub tick_from: String,
    /// Each job works its length less this, and why.
    pub margin_ns: u64,
    pub margin_why: String,
    /// SCHED_RR's slice (`sched_rr_get_interval` in a job), for the RR policies.
    pub rr_slice_ns: Option<u64>,
    pub source: Source,
    /// Why the kernel's record was not used, when it was not.
    pub source_note: Option<String>,
    /// tracefs was mounted for this run.
    pub mounted_tracefs: bool,
    /// When the first job was released: just after a timer tick, or why not.
    pub released: String,
    /// Events the trace buffer lost.
    pub lost_events: u64,
    pub jobs: Vec<RealJob>,
    /// Who held the CPU, from the first release to the last finish.
    pub slots: Vec<Slot>,
    pub predicted_turns: Vec<String>,
    pub measured_turns: Vec<String>,
    pub predicted_switches: usize,
    pub measured_switches: usize,
    /// The cross-check: the turns by the jobs' own clocks, and how far their first runs are
    /// from the record's (the same when the record is theirs).
    pub own_turns: Vec<String>,
    pub own_first_off_ns: u64,
    /// Time other tasks and the idle task held the CPU during the run (trace only), and the
    /// busiest of the others.
    pub other_ns: u64,
    pub idle_ns: u64,
    pub others: Vec<(String, u64)>,
    /// The run's end (the last finish), ns since the first release.
    pub end_ns: u64,
}

/// A job's time on the CPU while all were runnable (ns), and its share by weight.
pub type Share = (String, u64, f64);

/// What the threads share.
struct Shared {
    who: AtomicUsize,
    deadline_ns: AtomicU64,
    arrived: AtomicUsize,
    abort: AtomicBool,
    released: Vec<AtomicBool>,
    running: Vec<AtomicBool>,
    tids: Vec<AtomicI32>,
    refused: FirstRefusal,
}

impl Shared {
    fn refuse(&self, r: Refusal) {
        self.refused.keep(r);
        self.abort.store(true, Relaxed);
    }

    fn stop(&self) -> bool {
        self.abort.load(Relaxed) || interrupt::requested().is_some()
    }
}

/// What a job thread brings back.
struct JobRun {
    tid: i32,
    in_force: String,
    rr_slice_ns: Option<u64>,
    turns: Vec<Turn>,
    ran_ns: u64,
    cpu_ns: u64,
    end_ns: u64,
    cut: bool,
}

/// The real-time priority of each job: `base` for fifo and rr; for priority, `base` plus the
/// rank of the job's priority among the list's (so priorities 0, 5, 9 become base, base + 1,
/// base + 2, in the same order).
fn rt_priorities(p: &Params) -> Vec<i32> {
    let mut levels: Vec<i32> = p.jobs.iter().map(|j| j.priority).collect();
    levels.sort_unstable();
    levels.dedup();
    (p.jobs.iter())
        .map(|j| match p.policy {
            Policy::Priority => {
                p.rt_priority + levels.binary_search(&j.priority).unwrap_or(0) as i32
            }
            _ => p.rt_priority,
        })
        .collect()
}

/// How much less than its length each job works, and why: one timer tick for the SCHED_RR
/// policies. The kernel counts a SCHED_RR slice in timer ticks (task_tick_rt), so a turn that
/// starts between two ticks gets up to a tick less than the slice; a job of exactly two slices
/// would miss the end of its second by a fraction of a tick and wait a whole round for it.
fn margin(p: &Params, kernel: &KernelSlice) -> (u64, String) {
    if let Some(ns) = p.margin_ns {
        return (ns, "--margin".into());
    }
    match p.policy {
        Policy::Rr | Policy::Priority => {
            let (ns, from) = match kernel.hz {
                Some(hz) => (1_000_000_000 / hz, format!("HZ={hz}")),
                None => (4_000_000, "HZ unknown, taken as 250".into()),
            };
            (
                ns,
                format!(
                    "one timer tick ({from}): the kernel counts a SCHED_RR slice in timer ticks, so a turn that starts between two ticks is up to a tick short; --margin 0 shows a job of exactly two slices wait a whole round for the rest"
                ),
            )
        }
        _ => (0, "none".into()),
    }
}

/// The tick in real time, and how it was chosen.
fn tick(p: &Params, kernel: &KernelSlice) -> (u64, String) {
    if let Some(ns) = p.tick_ns {
        return (ns, "--tick".into());
    }
    match p.policy {
        Policy::Fair => {
            let (slice, from) = match (kernel.base_slice_ns, kernel.hz) {
                (Some(base), Some(hz)) if base < 1_000_000_000 / hz => (
                    1_000_000_000 / hz,
                    format!(
                        "EEVDF's slice ({}) ends at the next timer tick (HZ={hz})",
                        fmt_ns(base as f64)
                    ),
                ),
                (Some(base), _) => (base, "EEVDF's base slice".to_string()),
                (None, Some(hz)) => (
                    1_000_000_000 / hz,
                    format!("EEVDF checks the slice at each timer tick (HZ={hz})"),
                ),
                (None, None) => (
                    4_000_000,
                    "EEVDF's slice, taken as 4 ms (HZ unknown)".to_string(),
                ),
            };
            (
                slice / u64::from(p.quantum),
                format!("{from}: {} = {} ticks", fmt_ns(slice as f64), p.quantum),
            )
        }
        _ => {
            let ms = RtLimits::read()
                .and_then(|l| l.rr_timeslice_ms)
                .filter(|&ms| ms > 0)
                .unwrap_or(100) as u64;
            let slice = ms * 1_000_000;
            (
                slice / u64::from(p.quantum),
                format!(
                    "SCHED_RR's slice (kernel.sched_rr_timeslice_ms) {ms} ms = {} ticks",
                    p.quantum
                ),
            )
        }
    }
}

/// Runs the jobs on the kernel and compares its schedule with `predicted`.
/// A checked plan for a real run: the kernel's class, the tick, the margin, the priorities.
#[derive(Clone, Debug)]
pub struct Plan {
    class: &'static str,
    tick_ns: u64,
    tick_from: String,
    margin_ns: u64,
    margin_why: String,
    prios: Vec<i32>,
    /// The timer tick's period (1/HZ), to release the first job just after a tick.
    tick_period_ns: Option<u64>,
}

/// Checks that `p` can run on the kernel (a class for it, a length that fits, priorities in
/// range) before anything is printed or started.
pub fn plan(s: &Session, p: &Params) -> Result<Plan> {
    let class = kernel_policy(p.policy).map_err(Error::Limit)?;
    let kernel = KernelSlice::read(&s.machine);
    let (tick_ns, tick_from) = tick(p, &kernel);
    let (margin_ns, margin_why) = margin(p, &kernel);
    if let Some(j) = p.jobs.iter().find(|j| j.run as u64 * tick_ns <= margin_ns) {
        return Err(Error::Limit(format!(
            "{} runs {} ticks of {}, no more than the margin of {}: use a longer --tick or a smaller --margin",
            j.name,
            j.run,
            fmt_ns(tick_ns as f64),
            fmt_ns(margin_ns as f64)
        )));
    }
    let last_arrival = p.jobs.iter().map(|j| j.arrival).max().unwrap_or(0) as u64;
    let total: u64 = p.jobs.iter().map(|j| j.run as u64).sum::<u64>() + last_arrival;
    if total.saturating_mul(tick_ns) > MAX_REAL_NS {
        return Err(Error::Limit(format!(
            "--real would run for {} ({} ticks of {}): at most {}; use shorter jobs or a shorter --tick",
            fmt_ns(total as f64 * tick_ns as f64),
            total,
            fmt_ns(tick_ns as f64),
            fmt_ns(MAX_REAL_NS as f64)
        )));
    }
    let prios = rt_priorities(p);
    if let Some(&top) = prios.iter().max()
        && class != "SCHED_OTHER"
        && top + 1 > 99
    {
        return Err(Error::Limit(format!(
            "--rt-priority {} with {} priority levels goes above 99: use a lower --rt-priority",
            p.rt_priority,
            top - p.rt_priority + 1
        )));
    }
    Ok(Plan {
        class,
        tick_ns,
        tick_from,
        margin_ns,
        margin_why,
        prios,
        tick_period_ns: kernel.hz.filter(|&hz| hz > 0).map(|hz| 1_000_000_000 / hz),
    })
}

/// Runs the jobs on the kernel as `plan` says and compares its schedule with `predicted`.
pub fn run(s: &Session, p: &Params, plan: Plan, predicted: &Schedule) -> Result<RealRun> {
    let Plan {
        class,
        tick_ns,
        tick_from,
        margin_ns,
        margin_why,
        prios,
        tick_period_ns,
    } = plan;
    let n = p.jobs.len();
    limits::check_can_create(n as u64 + 1)?;
    let (cpu, other) = placement(s.cpu.as_ref())?;
    let launcher_cpu = other
        .or_else(|| usable_cpus().into_iter().find(|&c| c != cpu))
        .unwrap_or(cpu);
    let mut logs = Vec::with_capacity(n);
    for j in &p.jobs {
        // A turn per 100 µs of the job's run at most; a job whose log fills goes on unlogged.
        let cap = (j.run as u64 * tick_ns / 100_000) as usize + 64;
        logs.push(limits::allocate::<Turn>(cap, "a job's turn log")?);
    }
    let shared = Shared {
        who: AtomicUsize::new(usize::MAX),
        deadline_ns: AtomicU64::new(u64::MAX),
        arrived: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
        released: (0..n).map(|_| AtomicBool::new(false)).collect(),
        running: (0..n).map(|_| AtomicBool::new(false)).collect(),
        tids: (0..n).map(|_| AtomicI32::new(0)).collect(),
        refused: FirstRefusal::default(),
    };
    let (trace, source_note) = if p.own_clock {
        (None, Some("--own-clock".to_string()))
    } else {
        match SwitchTrace::start(cpu) {
            Ok(t) => (Some(t), None),
            Err(why) => (None, Some(why)),
        }
    };
    let mounted_tracefs = trace.as_ref().is_some_and(|t| t.mounted);
    let t0 = AtomicU64::new(0);
    let grid = tick_period_ns.and_then(tick_grid);
    let aligned = grid.map_or(
        "not after a timer tick (/proc/timer_list not readable)".to_string(),
        |_| "just after a timer tick (the tick grid from /proc/timer_list)".to_string(),
    );
    let joined: Result<Vec<Option<JobRun>>> = thread::scope(|sc| {
        let mut handles = Vec::with_capacity(n);
        for (j, log) in logs.into_iter().enumerate() {
            let (shared, job, prio) = (&shared, &p.jobs[j], prios[j]);
            let spawned =
                thread::Builder::new()
                    .name(job.name.clone())
                    .spawn_scoped(sc, move || {
                        let work_ns = job.run as u64 * tick_ns - margin_ns;
                        job_thread(j, job, work_ns, class, prio, cpu, shared, log)
                    });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    shared.abort.store(true, Relaxed);
                    handles.iter().for_each(|h| h.thread().unpark());
                    return Err(Error::spawn(j + 1, n, e));
                }
            }
        }
        let threads: Vec<thread::Thread> = handles.iter().map(|h| h.thread().clone()).collect();
        let (shared, t0, prios) = (&shared, &t0, &prios);
        let launcher = thread::Builder::new()
            .name("launcher".into())
            .spawn_scoped(sc, move || {
                launch(&Launch {
                    p,
                    tick_ns,
                    grid,
                    class,
                    prios,
                    cpu,
                    launcher_cpu,
                    shared,
                    threads: &threads,
                    t0,
                })
            })
            .map_err(|e| {
                shared.abort.store(true, Relaxed);
                Error::spawn(n + 1, n + 1, e)
            });
        let launched =
            launcher.and_then(|h| h.join().map_err(|_| Error::WorkerPanicked { index: n })?);
        if launched.is_err() {
            shared.abort.store(true, Relaxed);
            for h in &handles {
                h.thread().unpark();
            }
        }
        let runs: Result<Vec<Option<JobRun>>> = (handles.into_iter().enumerate())
            .map(|(index, h)| h.join().map_err(|_| Error::WorkerPanicked { index })?)
            .collect();
        launched?;
        runs
    });
    let recorded = trace.map(SwitchTrace::stop);
    let joined = joined?;
    shared.refused.check()?;
    let runs: Vec<JobRun> = joined.into_iter().flatten().collect();
    if runs.len() < n {
        return Err(Error::Failed(
            "stopped before every job had started; nothing to compare".into(),
        ));
    }
    let t0 = t0.load(Relaxed);
    let end_abs = runs.iter().map(|r| r.end_ns).max().unwrap_or(t0);
    let tids: Vec<i32> = runs.iter().map(|r| r.tid).collect();
    let (slots, source, source_note, lost) = match recorded {
        Some(Ok(rec)) => (
            from_trace(&rec.on_cpu(t0, end_abs), &tids, &p.jobs, t0),
            Source::SchedSwitch,
            None,
            rec.lost,
        ),
        Some(Err(why)) => (
            from_own_clock(&runs, &p.jobs, t0),
            Source::OwnClock,
            Some(why),
            0,
        ),
        None => (
            from_own_clock(&runs, &p.jobs, t0),
            Source::OwnClock,
            source_note,
            0,
        ),
    };
    let rr_slice_ns = runs.iter().find_map(|r| r.rr_slice_ns);
    let kernel_policy = match class {
        "SCHED_OTHER" => "SCHED_OTHER (EEVDF), the jobs' nice values".to_string(),
        c if p.policy == Policy::Priority => format!(
            "{c}, real-time priority {}-{} by job priority",
            prios.iter().min().unwrap_or(&p.rt_priority),
            prios.iter().max().unwrap_or(&p.rt_priority)
        ),
        c => format!("{c} priority {}", p.rt_priority),
    };
    Ok(compare(
        p,
        predicted,
        Measured {
            kernel_policy,
            cpu,
            launcher_cpu,
            tick_ns,
            tick_from,
            margin_ns,
            margin_why,
            rr_slice_ns,
            source,
            source_note,
            mounted_tracefs,
            lost,
            t0,
            aligned,
        },
        runs,
        slots,
    ))
}

/// One job's thread: its CPU and policy, the wait for its release, its work.
#[allow(clippy::too_many_arguments)]
fn job_thread(
    j: usize,
    job: &Job,
    work_ns: u64,
    class: &str,
    prio: i32,
    cpu: usize,
    shared: &Shared,
    log: Vec<Turn>,
) -> Result<Option<JobRun>> {
    const INSTEAD: &str = "nothing is run on the kernel: run as root (or with CAP_SYS_NICE) for the real-time policies, or use --policy fair --real (SCHED_OTHER with nice values of 0 or more)";
    let tid = nix::unistd::gettid().as_raw();
    shared.tids[j].store(tid, Relaxed);
    let pinned = crate::kit::cli::CpuList(vec![cpu]).pin_current_thread();
    let asked = match class {
        "SCHED_FIFO" => scheduler::request_policy(scheduler::Policy::Fifo, prio, INSTEAD),
        "SCHED_RR" => scheduler::request_policy(scheduler::Policy::Rr, prio, INSTEAD),
        _ if job.nice != 0 => scheduler::request_nice(job.nice, INSTEAD),
        _ => Ok(()),
    };
    if let Err(r) = asked {
        shared.refuse(r);
    }
    if pinned.is_err() {
        shared.abort.store(true, Relaxed);
    }
    shared.arrived.fetch_add(1, Relaxed);
    // Parked with no timeout: a job woken before its release would sit in the run queue, ahead
    // of the jobs that arrive before it. The launcher unparks every job when the run stops.
    while !shared.released[j].load(Relaxed) {
        if shared.stop() {
            return pinned.map(|()| None);
        }
        thread::park();
    }
    shared.running[j].store(true, Relaxed);
    let cpu_before = thread_cpu_ns().unwrap_or(0);
    let mut turns = Turns::new(
        &shared.who,
        j,
        GAP_NS,
        shared.deadline_ns.load(Relaxed),
        log,
    );
    self::job(&mut turns, work_ns);
    let cpu_ns = thread_cpu_ns().unwrap_or(0).saturating_sub(cpu_before);
    let policy = sys::sched::policy().unwrap_or(-1);
    let in_force = match policy_name(policy) {
        "SCHED_OTHER" => format!("SCHED_OTHER nice {}", sys::sched::nice().unwrap_or(0)),
        name => format!("{name} {}", sys::sched::priority().unwrap_or(0)),
    };
    let ran_ns = turns.all().map(|t| t.end_ns - t.start_ns).sum();
    Ok(Some(JobRun {
        tid,
        in_force,
        rr_slice_ns: (class == "SCHED_RR")
            .then(|| sys::sched::rr_interval().ok())
            .flatten(),
        turns: turns.all().collect(),
        ran_ns,
        cpu_ns,
        end_ns: turns.end_ns(),
        cut: ran_ns < work_ns,
    }))
}

/// What the launcher needs: the run, where, and the jobs' threads.
struct Launch<'a> {
    p: &'a Params,
    tick_ns: u64,
    /// The timer tick's grid (a tick's time and the period), when readable.
    grid: Option<(u64, u64)>,
    class: &'a str,
    prios: &'a [i32],
    cpu: usize,
    launcher_cpu: usize,
    shared: &'a Shared,
    threads: &'a [thread::Thread],
    /// Set to the first release's time.
    t0: &'a AtomicU64,
}

/// The launcher: waits for every job to be ready, then releases each at its arrival, in the
/// list's order, each once the previous one is on the CPU or runnable. When the run stops
/// early, it wakes every job so that each sees it.
fn launch(l: &Launch<'_>) -> Result<()> {
    let released = release(l);
    if released.is_err() || l.shared.stop() {
        l.shared.abort.store(true, Relaxed);
        l.threads.iter().for_each(thread::Thread::unpark);
    }
    released
}

/// [`launch`]'s work: the releases.
fn release(l: &Launch<'_>) -> Result<()> {
    let Launch {
        p,
        tick_ns,
        grid,
        class,
        prios,
        cpu,
        launcher_cpu,
        shared,
        threads,
        t0,
    } = *l;
    crate::kit::cli::CpuList(vec![launcher_cpu]).pin_current_thread()?;
    if class != "SCHED_OTHER" {
        // Released on time even when its CPU is busy; above the jobs when it shares theirs.
        let top = prios.iter().max().copied().unwrap_or(p.rt_priority);
        let prio = if launcher_cpu == cpu { top + 1 } else { top };
        let _ = scheduler::request_policy(scheduler::Policy::Fifo, prio, "");
    }
    let n = p.jobs.len();
    while shared.arrived.load(Relaxed) < n {
        if shared.stop() {
            return Ok(());
        }
        thread::sleep(Duration::from_micros(200));
    }
    if shared.stop() {
        return Ok(());
    }
    // Jobs that arrive together go in the list's order, the higher real-time priority first (a
    // lower one released first would hold the CPU for the moment before the next release).
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&j| (p.jobs[j].arrival, std::cmp::Reverse(prios[j]), j));
    let last_arrival = p.jobs.iter().map(|j| j.arrival).max().unwrap_or(0) as u64;
    let work: u64 = p.jobs.iter().map(|j| j.run as u64).sum();
    // The first release just after a timer tick: the kernel checks a running task's slice at
    // the tick, so a first turn that started between two ticks would be short by the phase.
    let start = match grid {
        Some((tick_at, period)) => {
            let soon = monotonic_ns() + 1_000_000;
            let next = soon + (period - (soon - tick_at % period) % period) % period;
            let at = next + TICK_OFFSET_NS;
            while monotonic_ns() < at {
                let left = at.saturating_sub(monotonic_ns());
                if left > 200_000 {
                    thread::sleep(Duration::from_nanos(left - 150_000));
                } else {
                    std::hint::spin_loop();
                }
            }
            monotonic_ns()
        }
        None => monotonic_ns(),
    };
    t0.store(start, Relaxed);
    // A safety bound, not the schedule: four times the whole run, and two seconds.
    shared.deadline_ns.store(
        start + 4 * (work + last_arrival) * tick_ns + 2_000_000_000,
        Relaxed,
    );
    for j in order {
        let at = start + p.jobs[j].arrival as u64 * tick_ns;
        loop {
            let now = monotonic_ns();
            if now >= at {
                break;
            }
            if shared.stop() {
                return Ok(());
            }
            thread::sleep(Duration::from_nanos((at - now).min(20_000_000)));
        }
        shared.released[j].store(true, Relaxed);
        threads[j].unpark();
        // Wait (at most 20 ms) until the kernel has it on the CPU or in its run queue.
        let tid = nix::unistd::Pid::from_raw(shared.tids[j].load(Relaxed));
        let waited = monotonic_ns();
        while !shared.running[j].load(Relaxed)
            && TaskState::of_thread(tid).map_or(true, |t| t.state != 'R')
            && monotonic_ns() - waited < 20_000_000
        {
            std::hint::spin_loop();
        }
    }
    Ok(())
}

/// The run's facts other than the jobs and the slots.
struct Measured {
    kernel_policy: String,
    cpu: usize,
    launcher_cpu: usize,
    tick_ns: u64,
    tick_from: String,
    margin_ns: u64,
    margin_why: String,
    rr_slice_ns: Option<u64>,
    source: Source,
    source_note: Option<String>,
    mounted_tracefs: bool,
    lost: u64,
    t0: u64,
    aligned: String,
}

/// The kernel's record as slots, the jobs' threads named after their jobs.
fn from_trace(on_cpu: &[OnCpu], tids: &[i32], jobs: &[Job], t0: u64) -> Vec<Slot> {
    on_cpu
        .iter()
        .map(|o| {
            let job = tids.iter().position(|&t| t == o.pid);
            Slot {
                who: match job {
                    Some(j) => jobs[j].name.clone(),
                    None if o.pid == 0 => "idle".into(),
                    None => o.comm.clone(),
                },
                job,
                exiting: false,
                start_ns: o.start_ns.saturating_sub(t0),
                end_ns: o.end_ns.saturating_sub(t0),
            }
        })
        .collect()
}

/// The jobs' own turns as slots, in time order.
fn from_own_clock(runs: &[JobRun], jobs: &[Job], t0: u64) -> Vec<Slot> {
    let mut slots: Vec<Slot> = (runs.iter().enumerate())
        .flat_map(|(j, r)| {
            r.turns.iter().map(move |t| Slot {
                who: jobs[j].name.clone(),
                job: Some(j),
                exiting: false,
                start_ns: t.start_ns.saturating_sub(t0),
                end_ns: t.end_ns.saturating_sub(t0),
            })
        })
        .collect();
    slots.sort_by_key(|s| s.start_ns);
    slots
}

/// The jobs' turns in order, consecutive stretches of the same job merged (other tasks between
/// them do not end a turn).
pub fn turn_order(slots: &[Slot]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for s in slots.iter().filter(|s| s.job.is_some()) {
        if order.last() != Some(&s.who) {
            order.push(s.who.clone());
        }
    }
    order
}

/// The simulator's turns in order.
pub fn predicted_order(schedule: &Schedule) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for name in schedule.ticks.iter().filter_map(|t| t.running.as_ref()) {
        if order.last() != Some(name) {
            order.push(name.clone());
        }
    }
    order
}

fn compare(
    p: &Params,
    predicted: &Schedule,
    m: Measured,
    runs: Vec<JobRun>,
    mut slots: Vec<Slot>,
) -> RealRun {
    let tick = m.tick_ns as f64;
    // A job's thread on the CPU after its work was done is on its way out.
    let own_finish: Vec<u64> = runs.iter().map(|r| r.end_ns.saturating_sub(m.t0)).collect();
    for s in &mut slots {
        if let Some(j) = s.job
            && s.start_ns >= own_finish[j]
        {
            s.job = None;
            s.exiting = true;
        }
    }
    let predicted_turns = predicted_order(predicted);
    let measured_turns = turn_order(&slots);
    let own = from_own_clock(&runs, &p.jobs, m.t0);
    let own_turns = turn_order(&own);
    let jobs: Vec<RealJob> = (p.jobs.iter().zip(&runs).enumerate())
        .map(|(j, (job, r))| {
            let mine: Vec<&Slot> = slots.iter().filter(|s| s.job == Some(j)).collect();
            let first_ns = mine.first().map_or(0, |s| s.start_ns);
            // Its work ended inside its last stretch (the rest of which is its way out).
            let finish_ns = mine
                .iter()
                .map(|s| s.end_ns)
                .max()
                .unwrap_or(0)
                .min(own_finish[j]);
            let stats = &predicted.jobs[j];
            RealJob {
                job: job.name.clone(),
                tid: r.tid,
                in_force: r.in_force.clone(),
                length_ns: job.run as u64 * m.tick_ns,
                arrival_ns: job.arrival as u64 * m.tick_ns,
                predicted_first: stats.first_run,
                predicted_finish: stats.finish,
                first_ns,
                finish_ns,
                first_ticks: first_ns as f64 / tick,
                finish_ticks: finish_ns as f64 / tick,
                ran_ns: r.ran_ns,
                cpu_ns: r.cpu_ns,
                turns: measured_turns.iter().filter(|t| **t == job.name).count(),
                own_finish_ns: own_finish[j],
                cut: r.cut,
            }
        })
        .collect();
    let end_ns = jobs.iter().map(|j| j.finish_ns).max().unwrap_or(0);
    let (mut other_ns, mut idle_ns) = (0, 0);
    let mut others: Vec<(String, u64)> = Vec::new();
    for s in slots.iter().filter(|s| s.job.is_none() && !s.exiting) {
        let len = s.end_ns.min(end_ns).saturating_sub(s.start_ns);
        if s.who == "idle" {
            idle_ns += len;
            continue;
        }
        other_ns += len;
        match others.iter_mut().find(|(w, _)| *w == s.who) {
            Some((_, t)) => *t += len,
            None => others.push((s.who.clone(), len)),
        }
    }
    others.sort_by_key(|o| std::cmp::Reverse(o.1));
    let own_first_off_ns = (jobs.iter().enumerate())
        .filter_map(|(j, job)| {
            let first = own.iter().find(|s| s.job == Some(j))?.start_ns;
            Some(first.abs_diff(job.first_ns))
        })
        .max()
        .unwrap_or(0);
    RealRun {
        kernel_policy: m.kernel_policy,
        cpu: m.cpu,
        launcher_cpu: m.launcher_cpu,
        tick_ns: m.tick_ns,
        tick_from: m.tick_from,
        margin_ns: m.margin_ns,
        margin_why: m.margin_why,
        rr_slice_ns: m.rr_slice_ns,
        source: m.source,
        source_note: m.source_note,
        mounted_tracefs: m.mounted_tracefs,
        released: m.aligned,
        lost_events: m.lost,
        predicted_switches: predicted_turns.len().saturating_sub(1),
        measured_switches: measured_turns.len().saturating_sub(1),
        predicted_turns,
        measured_turns,
        own_turns,
        own_first_off_ns,
        jobs,
        slots,
        other_ns,
        idle_ns,
        others,
        end_ns,
    }
}

impl RealRun {
    /// The largest difference between a measured and a predicted finish, in ticks, and whose.
    pub fn worst_finish(&self) -> Option<(&RealJob, f64)> {
        self.jobs
            .iter()
            .map(|j| (j, j.finish_ticks - j.predicted_finish as f64))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
    }

    /// Where the measured record came from, in words.
    pub fn source_words(&self) -> String {
        match (self.source, &self.source_note) {
            (Source::SchedSwitch, _) => format!(
                "the kernel's record: sched:sched_switch on CPU {}{}",
                self.cpu,
                if self.mounted_tracefs {
                    "; tracefs mounted on /sys/kernel/tracing for it"
                } else {
                    ""
                }
            ),
            (Source::OwnClock, Some(why)) => {
                format!("the jobs' own clock readings, not the kernel's record: {why}")
            }
            (Source::OwnClock, None) => "the jobs' own clock readings".into(),
        }
    }

    /// The measured Gantt chart, on the simulator's axis: `w` characters per tick, each
    /// character a slice of the tick: █ the job held the CPU for at least half of it, ▒ for
    /// some of it, · not at all. A row `other` for the other tasks, when any ran.
    pub fn gantt(&self, ticks: u32, w: usize, name_w: usize) -> Vec<String> {
        let cells = ticks as usize * w;
        let cell_ns = self.tick_ns as f64 / w as f64;
        let held = |pred: &dyn Fn(&Slot) -> bool, c: usize| -> f64 {
            let (a, b) = (c as f64 * cell_ns, (c + 1) as f64 * cell_ns);
            self.slots
                .iter()
                .filter(|s| pred(s))
                .map(|s| (b.min(s.end_ns as f64) - a.max(s.start_ns as f64)).max(0.0))
                .sum::<f64>()
                / cell_ns
        };
        let row = |name: &str, pred: &dyn Fn(&Slot) -> bool| {
            let mut line = format!("{name:name_w$}  ");
            for c in 0..cells {
                let f = held(pred, c);
                line.push(if f >= 0.5 {
                    '█'
                } else if f > 0.0 {
                    '▒'
                } else {
                    '·'
                });
            }
            line
        };
        let mut lines: Vec<String> = (self.jobs.iter().enumerate())
            .map(|(j, job)| row(&job.job, &|s: &Slot| s.job == Some(j)))
            .collect();
        if self.other_ns > 0 {
            lines.push(row("other", &|s: &Slot| {
                s.job.is_none() && !s.exiting && s.who != "idle"
            }));
        }
        lines
    }

    /// `kworker/1:1 0.8 ms, ksoftirqd/1 0.2 ms`: the busiest other tasks.
    pub fn others_words(&self) -> String {
        let top: Vec<String> = (self.others.iter().take(3))
            .map(|(w, ns)| format!("{w} {}", fmt_ns(*ns as f64)))
            .collect();
        let more = self.others.len().saturating_sub(3);
        format!(
            "{}{}",
            top.join(", "),
            if more > 0 {
                format!(" and {}", words::count(more as u64, "other"))
            } else {
                String::new()
            }
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The analysis and the verdict.

fn ticks2(x: f64) -> String {
    format!("{x:.2}")
}

impl RealRun {
    /// `rr on the kernel: finish P1 8.01, P2 9.01, P3 12.02 ticks (predicted 8, 9, 12)`.
    pub fn headline(&self, p: &Params) -> String {
        let measured: Vec<String> = (self.jobs.iter())
            .map(|j| format!("{} {}", j.job, ticks2(j.finish_ticks)))
            .collect();
        let predicted: Vec<String> = (self.jobs.iter())
            .map(|j| j.predicted_finish.to_string())
            .collect();
        format!(
            "{} on the kernel ({}): finish {} ticks (predicted {})",
            p.policy.title(),
            self.kernel_policy,
            measured.join(", "),
            predicted.join(", ")
        )
    }

    /// The comparison, job by job, then the turns, the other tasks and the cross-check.
    pub fn analysis(&self) -> Vec<String> {
        let tick = self.tick_ns as f64;
        let rows: Vec<Vec<String>> = (self.jobs.iter())
            .map(|j| {
                vec![
                    j.job.clone(),
                    j.in_force.clone(),
                    fmt_ns(j.length_ns as f64),
                    format!("{}-{}", j.predicted_first, j.predicted_finish),
                    format!("{}-{}", ticks2(j.first_ticks), ticks2(j.finish_ticks)),
                    format!(
                        "{:+.2} ({})",
                        j.finish_ticks - j.predicted_finish as f64,
                        signed_ns(j.finish_ns as f64 - j.predicted_finish as f64 * tick)
                    ),
                    j.turns.to_string(),
                    fmt_ns(j.cpu_ns as f64),
                ]
            })
            .collect();
        let header = [
            "job",
            "in force",
            "run",
            "predicted (ticks)",
            "measured (ticks)",
            "finish off by",
            "turns",
            "CPU time",
        ];
        let mut lines: Vec<String> = crate::kit::report::table(&header, &rows, true)
            .lines()
            .map(str::to_string)
            .collect();
        lines.push(format!(
            "turns, predicted: {} ({}); measured: {} ({})",
            self.predicted_turns.join(" "),
            words::count(self.predicted_switches as u64, "switch"),
            self.measured_turns.join(" "),
            words::count(self.measured_switches as u64, "switch")
        ));
        if self.source == Source::SchedSwitch {
            lines.push(format!(
                "CPU {} over the run's {}: our jobs {}, other tasks {}{}, idle {}",
                self.cpu,
                fmt_ns(self.end_ns as f64),
                fmt_ns(self.end_ns.saturating_sub(self.other_ns + self.idle_ns) as f64),
                fmt_ns(self.other_ns as f64),
                if self.others.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", self.others_words())
                },
                fmt_ns(self.idle_ns as f64)
            ));
            lines.push(if self.own_turns == self.measured_turns {
                format!(
                    "cross-check: the jobs' own clock readings give the same turns, each job's first run within {} of the kernel's record",
                    fmt_ns(self.own_first_off_ns as f64)
                )
            } else {
                format!(
                    "cross-check: the jobs' own clock readings give other turns ({}): a gap they took for an interrupt was another job's turn, or the other way round",
                    self.own_turns.join(" ")
                )
            });
            if self.lost_events > 0 {
                lines.push(format!(
                    "the trace buffer lost {}: the record has holes",
                    words::count(self.lost_events, "event")
                ));
            }
        }
        if let Some(ns) = self.rr_slice_ns {
            lines.push(format!(
                "sched_rr_get_interval() in a job: {} (kernel.sched_rr_timeslice_ms)",
                fmt_ns(ns as f64)
            ));
        }
        lines
    }

    /// The claim: the kernel's schedule is the simulator's, turn by turn, each finish within half
    /// a tick; for fair, where EEVDF's turns are its own, the shares ([`Self::fair_verdict`]).
    pub fn verdict(&self, p: &Params) -> crate::kit::Verdict {
        use crate::kit::Verdict;
        if p.policy == Policy::Fair {
            return self.fair_verdict(p);
        }
        let claim = format!(
            "the kernel ({}) runs these jobs as the simulator's {} predicts: the same turns in the same order, each job finishing within half a tick ({}) of the prediction",
            self.kernel_policy,
            p.policy.title(),
            fmt_ns(self.tick_ns as f64 / 2.0)
        );
        if let Some(cut) = self.jobs.iter().find(|j| j.cut) {
            return Verdict::unchecked(
                claim,
                format!("{} was stopped before its length had run", cut.job),
            );
        }
        let Some((worst, off)) = self.worst_finish() else {
            return Verdict::unchecked(claim, "no job ran");
        };
        let close = off.abs() <= 0.5;
        let (same, mut because) = if self.predicted_turns == self.measured_turns {
            (
                true,
                format!("turns {} as predicted", self.measured_turns.join(" ")),
            )
        } else {
            let k = (self.predicted_turns.iter().zip(&self.measured_turns))
                .position(|(a, b)| a != b)
                .unwrap_or(self.predicted_turns.len().min(self.measured_turns.len()));
            (
                false,
                format!(
                    "turn {} was {} where the simulator ran {} ({} measured turns against {} predicted)",
                    k + 1,
                    self.measured_turns.get(k).map_or("nobody", String::as_str),
                    self.predicted_turns.get(k).map_or("nobody", String::as_str),
                    self.measured_turns.len(),
                    self.predicted_turns.len()
                ),
            )
        };
        because.push_str(&format!(
            "; the finish furthest from its prediction is {}'s, {} ticks against {} ({:+.2} tick, {})",
            worst.job,
            ticks2(worst.finish_ticks),
            worst.predicted_finish,
            off,
            signed_ns(off * self.tick_ns as f64)
        ));
        if !(same && close) {
            because.push_str(&self.why_not());
        }
        Verdict::check(claim, same && close, because)
    }

    /// While every job was runnable (from the last arrival to the first finish): the window,
    /// and each job's time on the CPU in it against its share by nice weight.
    pub fn shares(&self, p: &Params) -> Option<(u64, Vec<Share>)> {
        let from = self.jobs.iter().map(|j| j.arrival_ns).max()?;
        let to = self.jobs.iter().map(|j| j.finish_ns).min()?;
        if to <= from {
            return None;
        }
        let held: Vec<u64> = (0..self.jobs.len())
            .map(|j| {
                (self.slots.iter().filter(|s| s.job == Some(j)))
                    .map(|s| s.end_ns.min(to).saturating_sub(s.start_ns.max(from)))
                    .sum()
            })
            .collect();
        let total: u64 = held.iter().sum();
        let weights: Vec<f64> = (p.jobs.iter())
            .map(|j| crate::process::scheduler::weight(j.nice) as f64)
            .collect();
        let sum: f64 = weights.iter().sum();
        Some((
            to - from,
            (self.jobs.iter().zip(held).zip(weights))
                .map(|((j, h), w)| (j.job.clone(), h, total as f64 * w / sum))
                .collect(),
        ))
    }

    /// Fair: the slides' claim for CFS is the share, not a turn order (EEVDF places a waking
    /// task at the queue's average vruntime and lets it preempt, which the textbook CFS of the
    /// simulator does not): while all the jobs were runnable, each held the CPU within one
    /// slice of its share by weight.
    fn fair_verdict(&self, p: &Params) -> crate::kit::Verdict {
        use crate::kit::Verdict;
        let slice = self.tick_ns * u64::from(p.quantum);
        let claim = format!(
            "the kernel ({}) shares the CPU by weight, as the simulator's fair scheduler does: while all the jobs were runnable, each held the CPU within one slice ({}) of its share",
            self.kernel_policy,
            fmt_ns(slice as f64)
        );
        if let Some(cut) = self.jobs.iter().find(|j| j.cut) {
            return Verdict::unchecked(
                claim,
                format!("{} was stopped before its length had run", cut.job),
            );
        }
        let Some((window, shares)) = self.shares(p) else {
            return Verdict::unchecked(
                claim,
                "a job finished before the last one arrived: no time when all were runnable",
            );
        };
        let worst = (shares.iter())
            .map(|(_, h, e)| (*h as f64 - e).abs())
            .fold(0.0, f64::max);
        let each: Vec<String> = (shares.iter())
            .map(|(n, h, e)| format!("{n} {} (share {})", fmt_ns(*h as f64), fmt_ns(*e)))
            .collect();
        let order = if self.predicted_turns == self.measured_turns {
            "; the turns were the simulator's too".to_string()
        } else {
            format!(
                "; the turns were not the simulator's ({} against {}): EEVDF's turns end at a timer tick and a waking task may preempt, where the textbook CFS runs whole slices in queue order",
                self.measured_turns.join(" "),
                self.predicted_turns.join(" ")
            )
        };
        let mut because = format!(
            "over the {} all were runnable: {}; the furthest off by {}{order}",
            fmt_ns(window as f64),
            each.join(", "),
            fmt_ns(worst)
        );
        let held = worst <= slice as f64;
        if !held && self.source == Source::SchedSwitch && self.other_ns * 20 > self.end_ns {
            because.push_str(&format!(
                ": other tasks held the CPU for {} ({})",
                fmt_ns(self.other_ns as f64),
                self.others_words()
            ));
        }
        Verdict::check(claim, held, because)
    }

    /// What decided a run that did not match.
    fn why_not(&self) -> String {
        let mut why = Vec::new();
        if self.source == Source::SchedSwitch && self.other_ns * 20 > self.end_ns {
            why.push(format!(
                "other tasks held the CPU for {} of the run's {} ({})",
                fmt_ns(self.other_ns as f64),
                fmt_ns(self.end_ns as f64),
                self.others_words()
            ));
        }
        for (j, job) in self.jobs.iter().enumerate() {
            let last = self.slots.iter().rev().find(|s| s.job == Some(j));
            let predicted = self
                .predicted_turns
                .iter()
                .filter(|t| **t == job.job)
                .count();
            if let Some(last) = last
                && job.turns > predicted
                && (last.end_ns - last.start_ns) * 2 < self.tick_ns
            {
                why.push(format!(
                    "{}'s last turn lasted {}: its slice ended that much before its work did, and it waited a whole round for it (the kernel counts a slice in timer ticks; the default --margin of one tick avoids this)",
                    job.job,
                    fmt_ns((last.end_ns - last.start_ns) as f64)
                ));
            }
        }
        if self.source == Source::OwnClock {
            why.push("the jobs' own clocks cannot see who else ran".into());
        }
        if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join("; "))
        }
    }

    /// What the kernel's version of the algorithm is.
    pub fn lesson(&self, p: &Params) -> String {
        let slice = self
            .rr_slice_ns
            .map_or("100 ms".into(), |ns| fmt_ns(ns as f64));
        match p.policy {
            Policy::Fifo => "SCHED_FIFO is the lecture's FIFO in the kernel: a real-time task runs until it blocks, ends or a higher priority wants the CPU; a queue per priority, no slices".to_string(),
            Policy::Rr => format!(
                "SCHED_RR is the slide's Round-Robin in the kernel: a queue per real-time priority, a fixed slice ({slice}, kernel.sched_rr_timeslice_ms); a job whose slice ends goes to the back of its queue, as in the simulator; a tick is {} here, so the simulator's slice of {} is the kernel's",
                fmt_ns(self.tick_ns as f64),
                p.quantum
            ),
            Policy::Priority => format!(
                "SCHED_RR at several real-time priorities is priority Round-Robin: the highest non-empty queue runs, its jobs share it in {slice} slices, and a higher priority that wakes up takes the CPU at once (the simulator waits for the slice to end)"
            ),
            _ => "SCHED_OTHER is EEVDF (Linux 6.6 and later): the weights and vruntime of CFS, but the task picked is the eligible one (lag ≥ 0) with the earliest virtual deadline, and the running one is checked at each timer tick, so the turns are the kernel's slice, not a fixed quantum; the shares follow the nice weights".to_string(),
        }
    }
}

/// `+1.2 ms`, `-350 µs`.
fn signed_ns(ns: f64) -> String {
    if ns < 0.0 {
        format!("-{}", fmt_ns(-ns))
    } else {
        format!("+{}", fmt_ns(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demos::scheduling::sched_sim::{job_list, scheduler, simulate};

    const TICK: u64 = 50_000_000;

    fn params(policy: Policy, jobs: &str) -> Params {
        Params {
            policy,
            quantum: 2,
            jobs: job_list(jobs).unwrap().0,
            age: 6,
            boost: 20,
            predict: false,
            answer: None,
            compare: false,
            real: true,
            tick_ns: Some(TICK),
            margin_ns: None,
            rt_priority: 10,
            own_clock: false,
        }
    }

    fn predicted(p: &Params) -> Schedule {
        simulate(
            p.policy,
            &p.jobs,
            p.quantum,
            scheduler(p.policy, p).unwrap().as_mut(),
        )
    }

    fn slot(who: &str, job: Option<usize>, from: f64, to: f64) -> Slot {
        Slot {
            who: who.into(),
            job,
            exiting: false,
            start_ns: (from * TICK as f64) as u64,
            end_ns: (to * TICK as f64) as u64,
        }
    }

    fn runs(ends: &[f64]) -> Vec<JobRun> {
        (ends.iter().enumerate())
            .map(|(j, &end)| JobRun {
                tid: 100 + j as i32,
                in_force: "SCHED_RR 10".into(),
                rr_slice_ns: Some(100_000_000),
                turns: Vec::new(),
                ran_ns: 0,
                cpu_ns: 0,
                end_ns: 1_000 + (end * TICK as f64) as u64,
                cut: false,
            })
            .collect()
    }

    fn measured() -> Measured {
        Measured {
            kernel_policy: "SCHED_RR priority 10".into(),
            cpu: 1,
            launcher_cpu: 0,
            tick_ns: TICK,
            tick_from: "--tick".into(),
            margin_ns: 0,
            margin_why: "none".into(),
            rr_slice_ns: Some(100_000_000),
            source: Source::SchedSwitch,
            source_note: None,
            mounted_tracefs: false,
            lost: 0,
            t0: 1_000,
            aligned: "--tick".into(),
        }
    }

    /// The slide's jobs under priority Round-Robin with one priority, which is Round-Robin:
    /// P1 0-2, P2 2-4, P3 4-6, P1 6-8, P2 8-9, P3 9-12.
    fn slide_slots() -> Vec<Slot> {
        vec![
            slot("P1", Some(0), 0.0, 2.0),
            slot("P2", Some(1), 2.0, 4.0),
            slot("kworker/1:1", None, 4.0, 4.01),
            slot("P3", Some(2), 4.01, 6.0),
            slot("P1", Some(0), 6.0, 8.0),
            slot("P2", Some(1), 8.0, 9.0),
            slot("P3", Some(2), 9.0, 12.0),
            slot("P1", Some(0), 12.0, 12.001), // P1's thread on its way out
        ]
    }

    #[test]
    fn the_kernel_s_record_matching_the_prediction_holds() {
        let p = params(Policy::Priority, "P1:4,P2:3,P3:5");
        let r = compare(
            &p,
            &predicted(&p),
            measured(),
            runs(&[8.0, 9.0, 12.0]),
            slide_slots(),
        );
        assert_eq!(r.predicted_turns, ["P1", "P2", "P3", "P1", "P2", "P3"]);
        assert_eq!(r.measured_turns, r.predicted_turns);
        assert_eq!((r.predicted_switches, r.measured_switches), (5, 5));
        let finishes: Vec<f64> = r.jobs.iter().map(|j| j.finish_ticks).collect();
        assert_eq!(finishes, [8.0, 9.0, 12.0]);
        assert!(
            r.slots.last().unwrap().exiting,
            "after its work: on its way out"
        );
        assert_eq!(r.other_ns, TICK / 100);
        assert_eq!(r.others, [("kworker/1:1".to_string(), TICK / 100)]);
        let v = r.verdict(&p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.contains("turns P1 P2 P3 P1 P2 P3 as predicted"),
            "{}",
            v.because
        );
        let gantt = r.gantt(12, 2, 5);
        assert_eq!(gantt[0], "P1     ████········████········");
        assert_eq!(gantt[3], "other  ········▒···············");
    }

    #[test]
    fn a_job_that_misses_its_slice_s_end_waits_a_round_and_the_verdict_says_why() {
        let p = params(Policy::Priority, "P1:4,P2:3,P3:5");
        let mut slots = slide_slots();
        slots.truncate(7);
        slots[4].end_ns = 7 * TICK + TICK * 98 / 100; // P1's slice ended 1 ms before its work
        slots[5] = slot("P2", Some(1), 7.98, 8.98);
        slots[6] = slot("P3", Some(2), 8.98, 10.98);
        slots.push(slot("P1", Some(0), 10.98, 11.0));
        slots.push(slot("P3", Some(2), 11.0, 12.0));
        let r = compare(
            &p,
            &predicted(&p),
            measured(),
            runs(&[11.0, 8.98, 12.0]),
            slots,
        );
        assert_eq!(
            r.measured_turns,
            ["P1", "P2", "P3", "P1", "P2", "P3", "P1", "P3"]
        );
        let v = r.verdict(&p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because
                .contains("turn 7 was P1 where the simulator ran nobody"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("P1's last turn lasted 1.00 ms"),
            "{}",
            v.because
        );
    }

    #[test]
    fn a_stopped_job_cannot_be_judged() {
        let p = params(Policy::Priority, "P1:4,P2:3,P3:5");
        let mut runs = runs(&[8.0, 9.0, 12.0]);
        runs[2].cut = true;
        let r = compare(&p, &predicted(&p), measured(), runs, slide_slots());
        assert_eq!(r.verdict(&p).held, None);
    }

    #[test]
    fn fair_is_judged_by_the_shares_while_all_jobs_are_runnable() {
        // A nice 0 and B nice 5 (weights 1024 and 335), together from 0 to A's finish at 5.
        let p = params(Policy::Fair, "A:4:0:0:0,B:2:0:0:5");
        let mut sched = scheduler(Policy::Priority, &p).unwrap(); // only the finishes matter
        let predicted = simulate(Policy::Fair, &p.jobs, 2, sched.as_mut());
        let slots = |b_share: f64| {
            vec![
                slot("A", Some(0), 0.0, 4.0 - b_share),
                slot("B", Some(1), 4.0 - b_share, 4.0),
                slot("A", Some(0), 4.0, 5.0),
                slot("B", Some(1), 5.0, 6.0),
            ]
        };
        let fair = compare(&p, &predicted, measured(), runs(&[5.0, 6.0]), slots(1.0));
        let v = fair.verdict(&p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("A 200 ms (share 188 ms), B 50.0 ms (share 61.6 ms)"),
            "{}",
            v.because
        );
        // B held the CPU for 3.5 ticks of the 5: off by more than a slice (2 ticks).
        let unfair = compare(&p, &predicted, measured(), runs(&[5.0, 6.0]), slots(3.5));
        let v = unfair.verdict(&p);
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    #[test]
    fn priorities_become_real_time_priorities_in_the_same_order() {
        let p = params(Policy::Priority, "A:2:0:-3,B:3:0:5,C:2:1:5,D:1:0:0");
        assert_eq!(rt_priorities(&p), [10, 12, 12, 11]);
        let p = params(Policy::Rr, "A:2:0:-3,B:3:0:5");
        assert_eq!(rt_priorities(&p), [10, 10]);
    }

    #[test]
    fn only_the_kernel_s_own_classes_run_for_real() {
        assert_eq!(kernel_policy(Policy::Rr), Ok("SCHED_RR"));
        assert_eq!(kernel_policy(Policy::Fifo), Ok("SCHED_FIFO"));
        assert_eq!(kernel_policy(Policy::Fair), Ok("SCHED_OTHER"));
        let e = kernel_policy(Policy::Sjf).unwrap_err();
        assert!(e.contains("Linux has no SJF"), "{e}");
        assert!(kernel_policy(Policy::Mlfq).is_err());
    }
}
