//! nice_share's lab bench: two spinners forked onto one CPU, each taking its nice value (or
//! real-time policy) and saying on the channel whether the kernel agreed; one gate and one
//! deadline for both; their CPU time read back from `/proc/PID/stat` and `schedstat`; the
//! prediction from the kernel's weight table; and the verdict on the lecture's claim that the
//! pair splits the CPU as the weights predict.
//!
//! The spinner's own program (`setpriority`/`sched_setscheduler`, then cpu_bound.c's loop) is
//! the binary's (`src/bin/nice_share.rs`), handed over as [`Spinner`].

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::kit::machine::usable_cpus;
use crate::kit::report::{table, warn};
use crate::kit::timing::{fmt_duration, monotonic_ns, nanos};
use crate::kit::{Context, Findings, Session, Verdict, words};
use crate::process::channel::{Next, Receiver, Sender, channel};
use crate::process::gate::ForkGate;
use crate::process::scheduler::{
    self, Policy, Privileged, Refusal, RtLimits, cfs_shares, child_on_cpu, pin_self, placement,
    restore_affinity, weight,
};
use crate::process::{self, Child, Forked, SingleThreaded, forget_inherited, limits, run_child};
use crate::sys::mman::{HugePages, Mapping, Sharing};
use crate::{Error, Result};

/// The real-time policy of `--policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RtPolicy {
    Fifo,
    Rr,
}

/// How one process of a pair is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    pub policy: Policy,
    pub priority: i32,
    pub nice: i32,
}

impl Setting {
    fn normal(nice: i32) -> Setting {
        Setting {
            policy: Policy::Other,
            priority: 0,
            nice,
        }
    }

    fn realtime(policy: Policy, priority: i32) -> Setting {
        Setting {
            policy,
            priority,
            nice: 0,
        }
    }

    fn label(&self) -> String {
        match self.policy {
            Policy::Other => format!("nice {}", self.nice),
            p => format!("{} {}", p.name(), self.priority),
        }
    }
}

/// The spinner's program, as the binary writes it.
#[derive(Clone, Copy, Debug)]
pub struct Spinner {
    /// `setpriority(PRIO_PROCESS, 0, nice)`, or `sched_setscheduler` for a real-time setting.
    pub take_setting: fn(Setting) -> std::result::Result<(), Errno>,
    /// cpu_bound.c's loop, until the deadline (a [`monotonic_ns`] reading).
    pub compute_until: fn(u64),
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub nice: i32,
    pub seconds: f64,
    pub policy: Option<RtPolicy>,
    pub rt_priority: i32,
}

/// One spinner's share.
#[derive(Clone, Debug, Serialize)]
pub struct Task {
    pub pid: i32,
    pub label: String,
    pub policy: Policy,
    pub priority: i32,
    pub nice: i32,
    pub cpu: usize,
    /// utime + stime from /proc/PID/stat (clock ticks, as µs).
    pub cpu_time_us: u64,
    /// The scheduler's own count, /proc/PID/schedstat field 1 (ns).
    pub schedstat_ns: u64,
    /// Its part of the pair's CPU time (from /proc/PID/stat).
    pub share: f64,
    /// What the weights (or the real-time rules) predict.
    pub predicted: f64,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
}

/// One pair: one "trial".
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    pub pair: usize,
    pub what: &'static str,
    pub seconds: f64,
    /// The first task's share of the pair's CPU time, and what was predicted for it.
    pub first_share: f64,
    pub predicted_first_share: f64,
    /// first_share − predicted, in percentage points.
    pub deviation_points: f64,
    /// The pair's CPU time over the wall time: near 1.0 when the CPU was theirs.
    pub cpu_busy: f64,
    pub tasks: Vec<Task>,
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// Each pair, in order: the nice pair first.
    pub trials: Vec<Pair>,
    pub refused: Vec<Refusal>,
    pub rt_limits: Option<RtLimits>,
    /// The kernel's sched_prio_to_weight, nice -20 to 19.
    pub weights: &'static [u32],
    /// The fair scheduler the kernel runs: EEVDF since Linux 6.6, CFS before.
    pub scheduler: String,
}

/// A CSV row: one task of one pair.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub pair: usize,
    pub what: &'static str,
    pub task: Task,
}

/// What a spinner tells the parent.
#[derive(Debug, Serialize, Deserialize)]
enum Report {
    /// It took its CPU and its setting (errno 0), or the kernel refused (the errno).
    Placed { spinner: usize, errno: i32 },
    /// The deadline has passed; it waits, using no CPU, until its counters are read.
    Done { spinner: usize },
}

/// What a pair came to.
enum Outcome {
    Measured(Vec<Task>),
    Refused(Privileged, Errno),
    Interrupted,
}

/// How far a measured share may be from the weights' prediction, in percentage points, for the
/// claim to hold: /proc/PID/stat counts in clock ticks, and a run shares its CPU with the
/// machine's own housekeeping.
pub const TOLERANCE_POINTS: f64 = 3.0;

/// Runs the demo: the nice pair, then (with `--policy`) the real-time pairs, each printing its
/// `ps`-like table.
pub fn run(s: &Session, p: &Params, spinner: &Spinner) -> Result<Results> {
    let (cpu, _) = placement(s.cpu.as_ref())?;
    limits::check_can_create(2)?;
    // We only watch: off the spinners' CPU when there is another.
    let watch = usable_cpus().into_iter().find(|&c| c != cpu).unwrap_or(cpu);
    let previous = pin_self(watch)?;
    let rt = RtLimits::read();
    let mut trials = Vec::new();
    let mut refused = Vec::new();
    let seconds = Duration::from_secs_f64(p.seconds);
    for (i, (what, settings)) in pairs(p).into_iter().enumerate() {
        match share_cpu(cpu, settings, seconds, spinner)? {
            Outcome::Measured(tasks) => {
                let pair = Pair::new(i + 1, what, seconds, tasks, rt);
                print_pair(s, &pair);
                trials.push(pair);
            }
            Outcome::Refused(what, errno) if i == 0 => {
                let r = scheduler::refusal(
                    what,
                    errno,
                    "nothing is measured. The split depends only on the difference of the nice values: --nice 5 (nice 0 against 5) splits as nice -5 against 0 would",
                );
                return Err(Error::Limit(r.to_string()));
            }
            Outcome::Refused(what, errno) => {
                let r = scheduler::refusal(
                    what,
                    errno,
                    "the real-time pairs are skipped; the nice pair above stands",
                );
                warn(&r);
                refused.push(r);
                break;
            }
            Outcome::Interrupted => break,
        }
    }
    restore_affinity(&previous)?;
    Ok(Results {
        trials,
        refused,
        rt_limits: rt,
        weights: &scheduler::SCHED_PRIO_TO_WEIGHT,
        scheduler: s.machine.scheduler.clone(),
    })
}

/// The pairs to run: nice 0 against nice N; with `--policy`, real time against a normal task
/// and against an equal real-time task.
fn pairs(p: &Params) -> Vec<(&'static str, [Setting; 2])> {
    let mut pairs = vec![(
        "CFS shares by weight",
        [Setting::normal(0), Setting::normal(p.nice)],
    )];
    if let Some(policy) = p.policy {
        let rt_task = Setting::realtime(
            match policy {
                RtPolicy::Fifo => Policy::Fifo,
                RtPolicy::Rr => Policy::Rr,
            },
            p.rt_priority,
        );
        pairs.push((
            "real time against a normal task: RT throttling",
            [rt_task, Setting::normal(0)],
        ));
        pairs.push(match policy {
            RtPolicy::Fifo => ("equal FIFO priorities: no time slices", [rt_task, rt_task]),
            RtPolicy::Rr => ("equal RR priorities: round robin", [rt_task, rt_task]),
        });
    }
    pairs
}

/// Runs two spinners with `settings` on `cpu` until the same deadline, `seconds` after both are
/// in place, and reads each one's CPU time from /proc/PID/stat.
fn share_cpu(
    cpu: usize,
    settings: [Setting; 2],
    seconds: Duration,
    spinner: &Spinner,
) -> Result<Outcome> {
    let (mut reports, tx) = channel::<Report>()?;
    let mut start = ForkGate::new()?;
    let mut release = ForkGate::new()?;
    // The common deadline, written by the parent before it opens the start gate.
    let deadline = Mapping::new(8, Sharing::Shared, HugePages::Never)?;
    let mut children: Vec<Child> = Vec::new();
    for (i, setting) in settings.into_iter().enumerate() {
        match process::fork(&SingleThreaded::check()?)? {
            Forked::Child => {
                forget_inherited(&mut children);
                start.leave_to_parent();
                release.leave_to_parent();
                let gates = (&mut start, &mut release);
                run_child(|| spin(i, cpu, setting, spinner, &tx, gates, &deadline))
            }
            Forked::Parent(child) => children.push(child),
        }
    }
    drop(tx);
    let spinners = Spinners {
        children: &children,
        settings,
        cpu,
    };
    // Did the kernel accept each one's policy and nice?
    for _ in 0..2 {
        match spinners.next(&mut reports, "before it took its place on CPU")? {
            Some(Report::Placed { spinner, errno }) if errno != 0 => {
                let setting = settings[spinner.min(1)];
                let what = if setting.policy.is_realtime() {
                    Privileged::Realtime(setting.policy, setting.priority)
                } else {
                    Privileged::Nice(setting.nice)
                };
                return Ok(Outcome::Refused(what, Errno::from_raw(errno)));
            }
            Some(Report::Placed { .. }) => {}
            Some(Report::Done { .. }) => {
                return Err(Error::Channel(
                    "a spinner finished before it started".into(),
                ));
            }
            None => return Ok(Outcome::Interrupted), // the guards kill and reap both
        }
    }
    // The gate: one deadline for both, then both go at once.
    deadline.words()[0].store((monotonic_ns() + nanos(seconds)) as i64, SeqCst);
    start.open();
    for _ in 0..2 {
        match spinners.next(&mut reports, "while the pair shared CPU")? {
            Some(Report::Done { .. }) => {}
            Some(Report::Placed { .. }) => {
                return Err(Error::Channel("a spinner reported twice".into()));
            }
            None => return Ok(Outcome::Interrupted),
        }
    }
    let mut tasks = Vec::new();
    for (child, setting) in children.iter().zip(settings) {
        tasks.push(read_task(child.pid(), setting, cpu)?);
    }
    release.open(); // both may end now
    let names: Vec<String> = (0..2)
        .map(|i| spinners.name(i, children[i].pid()))
        .collect();
    for (child, who) in children.into_iter().zip(names) {
        let exit = child.wait()?;
        if !exit.success() {
            return Err(Error::Failed(format!("{who} {} at its end", exit.verb())));
        }
    }
    Ok(Outcome::Measured(tasks))
}

/// The two spinners, for naming the one that died.
struct Spinners<'a> {
    children: &'a [Child],
    settings: [Setting; 2],
    cpu: usize,
}

impl Spinners<'_> {
    /// `spinner 2, nice 5 (PID 1234)`.
    fn name(&self, i: usize, pid: Pid) -> String {
        format!(
            "spinner {}, {} (PID {pid})",
            i + 1,
            self.settings[i].label()
        )
    }

    /// The next report, or None when Ctrl-C came first. A spinner that ends `when` a report is
    /// due is named, with how it ended (the other one would wait for ever).
    fn next(&self, reports: &mut Receiver<Report>, when: &str) -> Result<Option<Report>> {
        loop {
            match reports.next(Some(crate::kit::interrupt::POLL))? {
                Next::Message(m) => return Ok(Some(m)),
                Next::Stopped(_) => return Ok(None),
                Next::End | Next::TimedOut => {}
            }
            for (i, child) in self.children.iter().enumerate() {
                let Some(exit) = child.ended()? else { continue };
                // What it said before it ended is in the pipe already: that comes first.
                if let Next::Message(m) = reports.next(Some(Duration::ZERO))? {
                    return Ok(Some(m));
                }
                return Err(Error::Failed(format!(
                    "{} {} {when} {}",
                    self.name(i, child.pid()),
                    exit.verb(),
                    self.cpu
                )));
            }
        }
    }
}

/// One spinner, in the child: take its place (CPU, policy, nice), say whether the kernel
/// agreed, wait at the gate, compute until the deadline, say so, then wait (blocked, using no
/// CPU) until the parent has read its counters.
fn spin(
    me: usize,
    cpu: usize,
    setting: Setting,
    spinner: &Spinner,
    tx: &Sender<Report>,
    (start, release): (&mut ForkGate, &mut ForkGate),
    deadline: &Mapping,
) -> i32 {
    let errno = match child_on_cpu(cpu) {
        Err(_) => Errno::EINVAL as i32,
        Ok(()) => (spinner.take_setting)(setting).map_or_else(|e| e as i32, |()| 0),
    };
    if tx.send(&Report::Placed { spinner: me, errno }).is_err() || errno != 0 {
        return 1;
    }
    if !matches!(start.wait(), Ok(None)) {
        return 1; // Ctrl-C: the parent kills us anyway
    }
    (spinner.compute_until)(deadline.words()[0].load(SeqCst) as u64);
    if tx.send(&Report::Done { spinner: me }).is_err() {
        return 1;
    }
    i32::from(!matches!(release.wait(), Ok(None)))
}

/// A spinner's CPU time and counters from /proc/PID/stat, schedstat and status.
fn read_task(pid: Pid, setting: Setting, cpu: usize) -> Result<Task> {
    let proc_error = |what: &str| {
        let what = format!("{what} of PID {pid}");
        move |source| Error::Proc { what, source }
    };
    let p = procfs::process::Process::new(pid.as_raw()).map_err(proc_error("/proc"))?;
    let stat = p.stat().map_err(proc_error("/proc/PID/stat"))?;
    let status = p.status().map_err(proc_error("/proc/PID/status"))?;
    let tick_us = 1_000_000 / procfs::ticks_per_second().max(1);
    Ok(Task {
        pid: pid.as_raw(),
        label: setting.label(),
        policy: setting.policy,
        priority: setting.priority,
        nice: setting.nice,
        cpu,
        cpu_time_us: (stat.utime + stat.stime) * tick_us,
        schedstat_ns: p.schedstat().map_or(0, |s| s.sum_exec_runtime),
        share: 0.0,
        predicted: 0.0,
        voluntary_cs: status.voluntary_ctxt_switches.unwrap_or(0),
        nonvoluntary_cs: status.nonvoluntary_ctxt_switches.unwrap_or(0),
    })
}

impl Pair {
    fn new(
        pair: usize,
        what: &'static str,
        seconds: Duration,
        mut tasks: Vec<Task>,
        rt: Option<RtLimits>,
    ) -> Pair {
        let total: u64 = tasks.iter().map(|t| t.cpu_time_us).sum();
        let predicted = predict(&tasks, rt);
        for (t, p) in tasks.iter_mut().zip(predicted) {
            t.share = if total == 0 {
                0.0
            } else {
                t.cpu_time_us as f64 / total as f64
            };
            t.predicted = p;
        }
        Pair {
            pair,
            what,
            seconds: seconds.as_secs_f64(),
            first_share: tasks[0].share,
            predicted_first_share: tasks[0].predicted,
            deviation_points: 100.0 * (tasks[0].share - tasks[0].predicted),
            cpu_busy: total as f64 / 1e6 / seconds.as_secs_f64(),
            tasks,
        }
    }

    /// True for two SCHED_OTHER tasks: the pair the weights predict.
    fn is_nice_pair(&self) -> bool {
        self.tasks.iter().all(|t| t.policy == Policy::Other)
    }

    /// The first task's share by the scheduler's own ns count (/proc/PID/schedstat), if it has
    /// one.
    fn schedstat_share(&self) -> Option<f64> {
        let (a, b) = (self.tasks[0].schedstat_ns, self.tasks[1].schedstat_ns);
        (a + b > 0).then(|| a as f64 / (a + b) as f64)
    }
}

/// The prediction: the weights for two normal tasks; the throttle's share for a real-time task
/// against a normal one; everything to the first runner for equal FIFO; half each for RR.
fn predict(tasks: &[Task], rt: Option<RtLimits>) -> [f64; 2] {
    let (a, b) = (&tasks[0], &tasks[1]);
    let rt_share = rt.map_or(0.95, |r| r.rt_share());
    match (a.policy, b.policy) {
        (Policy::Other, Policy::Other) => cfs_shares(a.nice, b.nice).into(),
        (_, Policy::Other) => [rt_share, 1.0 - rt_share],
        (Policy::Fifo, Policy::Fifo) => [1.0, 0.0],
        _ => [0.5, 0.5],
    }
}

/// The lecture's view of a pair: which two, then `ps -o pid,ni,cls,rtprio,psr,time` with the
/// shares beside it.
fn print_pair(s: &Session, p: &Pair) {
    s.out.lecture(format_args!(
        "pair {}: {} against {}, both pinned to CPU {}, {}: {}",
        p.pair,
        p.tasks[0].label,
        p.tasks[1].label,
        p.tasks[0].cpu,
        fmt_duration(Duration::from_secs_f64(p.seconds)),
        p.what
    ));
    let rows: Vec<Vec<String>> = p
        .tasks
        .iter()
        .map(|t| {
            vec![
                t.pid.to_string(),
                t.nice.to_string(),
                sched_class(t.policy).into(),
                t.priority.to_string(),
                t.cpu.to_string(),
                format!("{:.2} s", t.cpu_time_us as f64 / 1e6),
                format!("{:.1}%", 100.0 * t.share),
                format!("{:.1}%", 100.0 * t.predicted),
            ]
        })
        .collect();
    let header = [
        "PID",
        "NI",
        "CLS",
        "RTPRIO",
        "PSR",
        "TIME",
        "SHARE",
        "PREDICTED",
    ];
    for line in table(&header, &rows, true).lines() {
        s.out.lecture(format_args!("  {line}"));
    }
}

/// `ps -o cls`: TS (time sharing, SCHED_OTHER), FF (FIFO), RR.
fn sched_class(p: Policy) -> &'static str {
    match p {
        Policy::Other => "TS",
        Policy::Fifo => "FF",
        Policy::Rr => "RR",
    }
}

/// `nice 0 → 1024 and nice 5 → 335, so 1024 / (1024 + 335) = 75.3%`.
fn weights_sum(a: &Task, b: &Task) -> String {
    format!(
        "nice {} → {} and nice {} → {}, so {} / ({} + {}) = {:.1}%",
        a.nice,
        weight(a.nice),
        b.nice,
        weight(b.nice),
        weight(a.nice),
        weight(a.nice),
        weight(b.nice),
        100.0 * a.predicted
    )
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, _p: &Params) -> String {
        let Some(p) = self.trials.first() else {
            return "nothing measured".into();
        };
        format!(
            "{} vs {} on one CPU: {:.1}% / {:.1}% (CFS weights predict {:.1} / {:.1})",
            p.tasks[0].label,
            p.tasks[1].label,
            100.0 * p.tasks[0].share,
            100.0 * p.tasks[1].share,
            100.0 * p.tasks[0].predicted,
            100.0 * p.tasks[1].predicted
        )
    }

    fn analysis(&self, params: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        for p in &self.trials {
            let (a, b) = (&p.tasks[0], &p.tasks[1]);
            let line = match (a.policy, b.policy) {
                (Policy::Other, Policy::Other) => format!(
                    "pair {}: {} gives each runnable task weight / total weight; sched_prio_to_weight has {}; measured {:.1}% ({:+.1} points; the scheduler's own ns count, /proc/PID/schedstat, gives {:.1}%)",
                    p.pair,
                    self.scheduler_words(),
                    weights_sum(a, b),
                    100.0 * a.share,
                    p.deviation_points,
                    100.0 * p.schedstat_share().unwrap_or(0.0)
                ),
                (_, Policy::Other) => format!(
                    "pair {}: the real-time task always runs first, but RT throttling (kernel.sched_rt_runtime_us {} of sched_rt_period_us {}) keeps {:.0}% of each period for normal tasks: measured {:.1}% / {:.1}%{}",
                    p.pair,
                    self.rt_limits.map_or(-1, |l| l.runtime_us),
                    self.rt_limits.map_or(-1, |l| l.period_us),
                    100.0 * (1.0 - a.predicted),
                    100.0 * a.share,
                    100.0 * b.share,
                    self.throttle_note(p)
                ),
                (Policy::Fifo, _) => {
                    let (first, other) = if a.cpu_time_us >= b.cpu_time_us {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    format!(
                        "pair {}: SCHED_FIFO has no time slice: the first to run (PID {}) kept the CPU until the deadline and the other, at the same priority, got {:.2} s (throttling's spare time goes to normal tasks, not to it)",
                        p.pair,
                        first.pid,
                        other.cpu_time_us as f64 / 1e6
                    )
                }
                _ => format!(
                    "pair {}: SCHED_RR takes turns among equal priorities in slices of {} ms (kernel.sched_rr_timeslice_ms): {:.1}% / {:.1}%, preempted {} and {}",
                    p.pair,
                    self.rt_limits
                        .and_then(|l| l.rr_timeslice_ms)
                        .unwrap_or(100),
                    100.0 * a.share,
                    100.0 * b.share,
                    words::times(a.nonvoluntary_cs),
                    words::times(b.nonvoluntary_cs)
                ),
            };
            lines.push(line);
            if p.cpu_busy < 0.9 {
                lines.push(format!(
                    "  note: the pair had only {:.0}% of CPU {} (other work ran there too); the shares are of what the pair got",
                    100.0 * p.cpu_busy,
                    a.cpu
                ));
            }
        }
        lines.extend(self.refused.iter().map(|r| format!("refused: {r}")));
        if params.policy.is_none() {
            lines.push(
                "real time: --policy fifo or --policy rr runs the real-time pairs (needs CAP_SYS_NICE)".into(),
            );
        }
        lines
    }

    fn verdict(&self, params: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = format!(
            "nice 0 and nice {} on one CPU split it as the kernel's weight table predicts",
            params.nice
        );
        let Some(p) = self.trials.first().filter(|p| p.is_nice_pair()) else {
            return Verdict::unchecked(claim, "stopped before the pair had shared the CPU");
        };
        let (a, b) = (&p.tasks[0], &p.tasks[1]);
        if a.nice == b.nice {
            return Verdict::unchecked(
                claim,
                format!(
                    "--nice 0: equal weights predict 50% each, and measured {:.1}%; only different nice values test the table",
                    100.0 * a.share
                ),
            );
        }
        let (measured, by) = match p.schedstat_share() {
            Some(s) => (s, "the scheduler's ns count, /proc/PID/schedstat"),
            None => (a.share, "utime + stime, /proc/PID/stat"),
        };
        let off = 100.0 * (measured - a.predicted);
        let off = if off.abs() < 0.05 { 0.0 } else { off }; // no "-0.0 points"
        let mut because = format!(
            "nice {} had {:.1}% of the pair's CPU time ({by}) where the weights {} against {} predict {:.1}%: {:+.1} points, {} the {TOLERANCE_POINTS}-point tolerance",
            a.nice,
            100.0 * measured,
            weight(a.nice),
            weight(b.nice),
            100.0 * a.predicted,
            off,
            if off.abs() <= TOLERANCE_POINTS {
                "within"
            } else {
                "beyond"
            }
        );
        let held = off.abs() <= TOLERANCE_POINTS;
        if !held {
            let mut reasons = Vec::new();
            if p.seconds < 1.0 {
                reasons.push(format!(
                    "a run of {} holds only a few of the scheduler's slices",
                    fmt_duration(Duration::from_secs_f64(p.seconds))
                ));
            }
            if p.cpu_busy < 0.9 {
                reasons.push(format!(
                    "other runnable tasks took {:.0}% of CPU {} and joined the split",
                    100.0 * (1.0 - p.cpu_busy),
                    a.cpu
                ));
            }
            if reasons.is_empty() {
                reasons.push(
                    "the machine did not give the pair its split (a hypervisor can steal a vCPU's time unevenly)"
                        .to_string(),
                );
            }
            because = format!("{because}: {}", words::list(reasons));
        }
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, params: &Params, _cx: &Context<'_>) -> String {
        let (w0, wn) = (weight(0), weight(params.nice));
        let (s0, sn) = cfs_shares(0, params.nice);
        let mut lesson = format!(
            "{} splits a CPU in proportion to weights that nice picks from a table: nice 0 → {w0} and nice {} → {wn}, so {:.1}% against {:.1}%",
            self.scheduler_words(),
            params.nice,
            100.0 * s0,
            100.0 * sn
        );
        if let Some(p) = self.trials.first().filter(|p| p.is_nice_pair()) {
            lesson.push_str(&format!(
                "; this run measured {:.1}% against {:.1}%",
                100.0 * p.tasks[0].share,
                100.0 * p.tasks[1].share
            ));
        }
        let lower = if params.nice > 0 {
            format!("nice {} gets less, it is never starved", params.nice)
        } else if params.nice < 0 {
            format!(
                "nice 0 gets less beside nice {}, it is never starved",
                params.nice
            )
        } else {
            "equal nice values share equally".to_string()
        };
        lesson.push_str(&format!("; {lower}"));
        if self.trials.len() > 1 {
            lesson.push_str(
                "; real-time policies do starve normal tasks, within RT throttling's limit",
            );
        }
        lesson
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "taskset -c 0 nice -n 0 yes >/dev/null & taskset -c 0 nice -n {} yes >/dev/null & top   (the %CPU column splits the same way; kill %1 %2 after)",
            p.nice
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        self.trials
            .iter()
            .flat_map(|p| {
                p.tasks.iter().map(move |t| Row {
                    pair: p.pair,
                    what: p.what,
                    task: t.clone(),
                })
            })
            .collect()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        let pairs = if p.policy.is_some() { 3 } else { 1 };
        Some(format!(
            "{} of {}; both spinners killed and reaped",
            self.trials.len(),
            words::count(pairs as u64, "pair")
        ))
    }
}

impl Results {
    /// Why the normal task of a real-time pair got less than throttling keeps for it, if it did.
    fn throttle_note(&self, p: &Pair) -> String {
        let kept = 1.0 - p.tasks[0].predicted;
        if p.tasks[1].share >= kept / 2.0 {
            return String::new();
        }
        match self.rt_limits {
            Some(l) if l.runtime_us >= 0 && p.seconds * 1e6 < l.runtime_us as f64 => format!(
                "; the pair ran {}, less than the real-time runtime of one period ({}), so the throttle never engaged and the normal task waited throughout",
                fmt_duration(Duration::from_secs_f64(p.seconds)),
                fmt_duration(Duration::from_micros(l.runtime_us as u64))
            ),
            _ => "; the normal task got less than throttling keeps for it".into(),
        }
    }

    /// `EEVDF (Linux 6.6 and later; CFS's weights kept)`, or `CFS`.
    fn scheduler_words(&self) -> String {
        match self.scheduler.as_str() {
            "EEVDF" => "EEVDF (Linux 6.6 and later, which kept CFS's weights)".into(),
            s => s.to_string(),
        }
    }
}

/// The run's picture: each task's measured share of the CPU against the share its weight
/// predicts (a tick), one bar per task of each pair. From the report.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<crate::kit::plot::Figure> {
    use crate::kit::plot;
    let r = plot::Report(report);
    let mut bars = Vec::new();
    for pair in r.list("/results/trials")? {
        let pair = plot::Report(pair);
        let number = pair.num("/pair")?;
        for task in pair.list("/tasks")? {
            let t = plot::Report(task);
            let (share, predicted) = (t.num("/share")? * 100.0, t.num("/predicted")? * 100.0);
            bars.push(plot::Bar {
                label: format!("pair {number}: {}", t.str("/label")?),
                value: share,
                samples: Vec::new(),
                expected: Some(predicted),
                note: format!("{share:.1}% (predicted {predicted:.1}%)"),
            });
        }
    }
    if bars.is_empty() {
        anyhow::bail!("no pair ran: nothing to draw");
    }
    Ok(plot::Figure {
        title: format!(
            "nice_share: the CPU shared by nice {} and nice 0, against the weights",
            r.num("/params/nice")?
        ),
        run: r.run_lines(),
        panels: vec![plot::Panel {
            title: "each task's share of the CPU; the tick is the share its weight predicts".into(),
            x: "share of the CPU time (%)".into(),
            y: "task".into(),
            chart: plot::Chart::Bars(bars),
        }],
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(nice: i32, cpu_time_us: u64, schedstat_ns: u64) -> Task {
        Task {
            pid: 100 + nice,
            label: Setting::normal(nice).label(),
            policy: Policy::Other,
            priority: 0,
            nice,
            cpu: 0,
            cpu_time_us,
            schedstat_ns,
            share: 0.0,
            predicted: 0.0,
            voluntary_cs: 0,
            nonvoluntary_cs: 10,
        }
    }

    fn params(nice: i32) -> Params {
        Params {
            nice,
            seconds: 5.0,
            policy: None,
            rt_priority: 10,
        }
    }

    fn results(nice: i32, first_us: u64, second_us: u64, seconds: f64) -> Results {
        let tasks = vec![
            task(0, first_us, first_us * 1000),
            task(nice, second_us, second_us * 1000),
        ];
        Results {
            trials: vec![Pair::new(
                1,
                "CFS shares by weight",
                Duration::from_secs_f64(seconds),
                tasks,
                None,
            )],
            refused: Vec::new(),
            rt_limits: None,
            weights: &scheduler::SCHED_PRIO_TO_WEIGHT,
            scheduler: "EEVDF".into(),
        }
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn the_split_holds_within_the_tolerance_and_not_beyond_it() {
        let p = params(5);
        // 75.0% / 25.0% of 5 s: the table says 75.3%.
        let (v, lesson, analysis) = judge(&results(5, 3_750_000, 1_250_000, 5.0), &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(v.claim.contains("nice 0 and nice 5"), "{}", v.claim);
        assert!(v.because.contains("75.0%"), "{}", v.because);
        assert!(
            v.because.contains("1024 against 335 predict 75.3%"),
            "{}",
            v.because
        );
        assert!(lesson.starts_with("EEVDF"), "{lesson}");
        assert!(
            lesson.contains("nice 0 → 1024 and nice 5 → 335"),
            "{lesson}"
        );
        assert!(lesson.contains("measured 75.0% against 25.0%"), "{lesson}");
        assert!(
            analysis[0].contains("1024 / (1024 + 335) = 75.3%"),
            "{analysis:?}"
        );

        // 60% / 40%: far from the table, on a run long enough and a CPU of its own.
        let (v, _, _) = judge(&results(5, 3_000_000, 2_000_000, 5.0), &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("beyond the 3-point tolerance"),
            "{}",
            v.because
        );
        assert!(v.because.contains("hypervisor"), "{}", v.because);

        // The same split on a short, crowded run says so.
        let (v, _, _) = judge(&results(5, 120_000, 80_000, 0.3), &p);
        assert_eq!(v.held, Some(false));
        assert!(
            v.because.contains("only a few of the scheduler's slices"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("other runnable tasks took"),
            "{}",
            v.because
        );
    }

    #[test]
    fn the_lesson_uses_the_runs_own_nice_values() {
        let p = params(-10);
        let r = results(-10, 500_000, 4_500_000, 5.0);
        let (v, lesson, _) = judge(&r, &p);
        assert!(
            lesson.contains("nice 0 → 1024 and nice -10 → 9548"),
            "{lesson}"
        );
        assert!(!lesson.contains("335"), "{lesson}");
        assert!(
            lesson.contains("nice 0 gets less beside nice -10"),
            "{lesson}"
        );
        // 1024 / (1024 + 9548) = 9.7%; measured 10.0%.
        assert_eq!(v.held, Some(true), "{}", v.line());
    }

    #[test]
    fn nothing_measured_or_equal_nice_cannot_be_checked() {
        let p = params(5);
        let mut r = results(5, 1, 1, 1.0);
        r.trials.clear();
        assert_eq!(judge(&r, &p).0.held, None);
        let p = params(0);
        let r = results(0, 500_000, 500_000, 1.0);
        assert_eq!(judge(&r, &p).0.held, None);
    }

    #[test]
    fn kernels_from_6_6_run_eevdf() {}
}
