//! nice_share: two CPU-bound processes on one CPU, one at nice 0 and one at nice 5; how the
//! CPU is split, against what CFS's weight table predicts. With --policy, real-time ones too.
//!
//! What the lecture wants you to see: nice is not a priority in the sense of "runs first". CFS
//! gives every runnable task a share of the CPU in proportion to its weight, and nice picks the
//! weight from a table (each step about 1.25×): nice 0 is 1024, nice 5 is 335, so the pair
//! splits 1024 : 335 = 75.3% : 24.7%, and the nice 5 process still runs a quarter of the time.
//! Real-time policies are different in kind: SCHED_FIFO runs until it blocks, so a FIFO task
//! starves a normal one (but for RT throttling's 5%) and even an equal-priority FIFO task;
//! SCHED_RR takes turns among equals in time slices.

use std::io::{PipeReader, PipeWriter, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use nix::errno::Errno;
use nix::unistd::Pid;
use oslab::kit::cli::{self, CommonArgs, duration, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::{Machine, usable_cpus};
use oslab::kit::report::{Output, Report, SCHEMA_VERSION, table, warn};
use oslab::kit::timing::{fmt_duration, monotonic_ns, nanos};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::scheduler::{
    self, Policy, Privileged, Refusal, RtLimits, cfs_shares, child_on_cpu, pin_self, placement,
    restore_affinity, weight,
};
use oslab::process::{self, Child, Forked, exit_child};
use oslab::sys;
use serde::Serialize;

/// Two CPU-bound processes pinned to one CPU, at nice 0 and nice N: the CPU time each gets,
/// against the share CFS's weight table predicts (nice 0 vs 5: 75.3% / 24.7%).
///
/// The lecture's scheduling slides (nice, `renice`, `ps -o pid,ni,comm`, CFS's weights), made
/// measurable. --policy fifo or rr adds real-time pairs: FIFO against a normal task (RT
/// throttling), FIFO against FIFO at equal priority (starvation), RR against RR (time slices).
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: nice_share --nice 5 --seconds 2")]
struct Args {
    /// The second process's nice value; the first stays at 0 (below 0 needs CAP_SYS_NICE)
    /// [-20-19]
    #[arg(long, default_value_t = 5, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<i32>(-20, 19))]
    nice: i32,

    /// How long each pair shares the CPU, e.g. 5 or 2.5 or 500ms [100ms-3600 s]
    #[arg(long, default_value = "5", value_name = "SECONDS",
          value_parser = duration(Duration::from_millis(100), Duration::from_secs(3600), Some(Duration::from_secs(1))))]
    seconds: Duration,

    /// Also run real-time pairs under this policy (needs CAP_SYS_NICE): fifo (against a normal
    /// task, and against an equal FIFO task) or rr (against a normal task, and round robin)
    #[arg(long, value_enum, value_name = "POLICY")]
    policy: Option<RtPolicy>,

    /// The real-time priority of those pairs [1-99]
    #[arg(long, default_value_t = 10, value_name = "PRIO", allow_negative_numbers = true,
          value_parser = ranged::<i32>(1, 99))]
    rt_priority: i32,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum RtPolicy {
    Fifo,
    Rr,
}

/// How one process of a pair is scheduled.
#[derive(Clone, Copy, Debug, Serialize)]
struct Setting {
    policy: Policy,
    priority: i32,
    nice: i32,
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

// ---------------------------------------------------------------------------------------------
// The experiment: two spinners on one CPU until a common deadline.

/// One spinner, in the child: take its place (CPU, policy, nice), say whether the kernel
/// agreed, wait for the deadline to arrive through the pipe, then compute until it passes.
fn spinner(cpu: usize, setting: Setting, mut ctl: PipeReader, mut report: PipeWriter) -> ! {
    let errno = match child_on_cpu(cpu).map_err(|_| Errno::EINVAL).and_then(|()| {
        if setting.policy.is_realtime() {
            sys::sched::set_scheduler(setting.policy.raw(), setting.priority)
        } else {
            sys::sched::set_nice(setting.nice)
        }
    }) {
        Ok(()) => 0,
        Err(e) => e as i32,
    };
    let mut deadline = [0u8; 8];
    if report.write_all(&errno.to_le_bytes()).is_err()
        || errno != 0
        || ctl.read_exact(&mut deadline).is_err()
    {
        exit_child(1);
    }
    let deadline = u64::from_le_bytes(deadline);
    let mut x = 0u64;
    while monotonic_ns() < deadline {
        for i in 0..1000u64 {
            x = std::hint::black_box(x ^ i); // val ^= j, as cpu_bound.c
        }
    }
    // Done: say so, then stay (blocked, using no CPU) until the parent has read our counters.
    let _ = report.write_all(b"d");
    let _ = ctl.read(&mut [0u8; 1]);
    exit_child(0)
}

/// A spinner as the parent sees it.
struct Spinner {
    child: Child,
    ctl: PipeWriter,
    report: PipeReader,
}

/// What a pair came to.
enum Outcome {
    Measured(Vec<Task>),
    Refused(Privileged, Errno),
    Interrupted,
}

/// Runs two spinners with `settings` on `cpu` until the same deadline, `seconds` after both are
/// ready, and reads each one's CPU time from /proc/PID/stat.
fn share_cpu(cpu: usize, settings: [Setting; 2], seconds: Duration) -> Result<Outcome> {
    let mut spinners = Vec::new();
    for setting in settings {
        let (ctl_r, ctl_w) = std::io::pipe()?;
        let (report_r, report_w) = std::io::pipe()?;
        match process::fork(&SingleThreaded::check()?)? {
            Forked::Child => {
                drop((ctl_w, report_r)); // the parent's ends: ours must not keep them open
                spinner(cpu, setting, ctl_r, report_w)
            }
            Forked::Parent(child) => spinners.push(Spinner {
                child,
                ctl: ctl_w,
                report: report_r,
            }),
        }
    }
    // Did the kernel accept each one's policy and nice?
    for (s, setting) in spinners.iter_mut().zip(settings) {
        let mut errno = [0u8; 4];
        s.report
            .read_exact(&mut errno)
            .context("a spinner failed to start")?;
        let errno = i32::from_le_bytes(errno);
        if errno != 0 {
            let what = if setting.policy.is_realtime() {
                Privileged::Realtime(setting.policy, setting.priority)
            } else {
                Privileged::Nice(setting.nice)
            };
            return Ok(Outcome::Refused(what, Errno::from_raw(errno)));
        }
    }
    // The gate: one deadline for both, sent to the first, then to the second.
    let deadline = monotonic_ns() + nanos(seconds);
    for s in &mut spinners {
        s.ctl.write_all(&deadline.to_le_bytes())?;
    }
    while monotonic_ns() < deadline {
        if interrupt::requested().is_some() {
            return Ok(Outcome::Interrupted); // the guards kill and reap both
        }
        std::thread::sleep(Duration::from_millis(10).min(Duration::from_nanos(
            deadline.saturating_sub(monotonic_ns()),
        )));
    }
    for s in &mut spinners {
        s.report
            .read_exact(&mut [0u8; 1])
            .context("a spinner died")?;
    }
    let mut tasks = Vec::new();
    for (s, setting) in spinners.iter().zip(settings) {
        tasks.push(Task::read(s.child.pid(), setting, cpu)?);
    }
    // End of file on every control pipe, then reap. (The second spinner inherited a copy of the
    // first one's pipe at fork, so the first sees its end of file only once both are closed.)
    let (children, ctls): (Vec<Child>, Vec<PipeWriter>) =
        spinners.into_iter().map(|s| (s.child, s.ctl)).unzip();
    drop(ctls);
    for child in children {
        let exit = child.wait()?;
        if !exit.success() {
            bail!("a spinner {exit}");
        }
    }
    Ok(Outcome::Measured(tasks))
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    let out = args.common.output();
    let system = Machine::collect();
    let (cpu, _) = placement(args.common.cpu.as_ref())?;
    process::limits::check_can_create(2)?;
    // We only watch: off the spinners' CPU when there is another.
    let watch = usable_cpus().into_iter().find(|&c| c != cpu).unwrap_or(cpu);
    let previous = pin_self(watch)?;
    let rt = RtLimits::read();
    let before = Snapshot::of_self()?;

    let mut pairs: Vec<(&str, [Setting; 2])> = vec![(
        "CFS shares by weight",
        [Setting::normal(0), Setting::normal(args.nice)],
    )];
    if let Some(p) = args.policy {
        let policy = match p {
            RtPolicy::Fifo => Policy::Fifo,
            RtPolicy::Rr => Policy::Rr,
        };
        let rt_task = Setting::realtime(policy, args.rt_priority);
        pairs.push((
            "real time against a normal task: RT throttling",
            [rt_task, Setting::normal(0)],
        ));
        pairs.push(match p {
            RtPolicy::Fifo => ("equal FIFO priorities: no time slices", [rt_task, rt_task]),
            RtPolicy::Rr => ("equal RR priorities: round robin", [rt_task, rt_task]),
        });
    }

    let mut trials = Vec::new();
    let mut refused = Vec::new();
    for (i, (what, settings)) in pairs.into_iter().enumerate() {
        match share_cpu(cpu, settings, args.seconds)? {
            Outcome::Measured(tasks) => {
                let pair = Pair::new(i + 1, what, args.seconds, tasks, rt);
                print_pair(&out, &pair);
                trials.push(pair);
            }
            Outcome::Refused(what, errno) if i == 0 => {
                let r = scheduler::refusal(
                    what,
                    errno,
                    "nothing is measured. The split depends only on the difference of the nice values: --nice 5 (nice 0 against 5) splits as nice -5 against 0 would",
                );
                bail!("{r}");
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
    let counters = before.delta(&Snapshot::of_self()?);
    let interrupted = interrupt::requested();
    if let Some(signal) = interrupted {
        eprintln!(
            "nice_share: stopped by {signal}; both spinners killed and reaped; results are partial"
        );
    }

    let results = Results {
        trials,
        refused,
        rt_limits: rt,
        weights: &scheduler::SCHED_PRIO_TO_WEIGHT,
    };
    analyse(&out, &args, &results, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "nice_share",
        schema_version: SCHEMA_VERSION,
        params: Params {
            nice: args.nice,
            seconds: args.seconds.as_secs_f64(),
            policy: args.policy,
            rt_priority: args.rt_priority,
            cpu,
        },
        headline: headline(&results),
        lesson: LESSON.into(),
        partial: interrupted.is_some(),
        counters,
        system,
        results,
    };
    let rows: Vec<Row> = report
        .results
        .trials
        .iter()
        .flat_map(|p| {
            p.tasks.iter().map(move |t| Row {
                pair: p.pair,
                what: p.what,
                task: t,
            })
        })
        .collect();
    out.finish(&report, &rows)?;
    Ok(interrupt::exit_status(interrupted))
}

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("nice_share", |c| c);
    cli::finish(run(args))
}

const LESSON: &str = "CFS splits a CPU in proportion to weights that nice picks from a table (nice 0 vs 5: 1024 vs 335, 75.3% vs 24.7%); nice lowers a share, it never starves; real-time policies do starve, within RT throttling's limit";

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Serialize)]
struct Params {
    nice: i32,
    seconds: f64,
    policy: Option<RtPolicy>,
    rt_priority: i32,
    /// The CPU both spinners were pinned to.
    cpu: usize,
}

/// One spinner's share.
#[derive(Serialize)]
struct Task {
    pid: i32,
    label: String,
    policy: Policy,
    priority: i32,
    nice: i32,
    cpu: usize,
    /// utime + stime from /proc/PID/stat (clock ticks, as µs).
    cpu_time_us: u64,
    /// The scheduler's own count, /proc/PID/schedstat field 1 (ns).
    schedstat_ns: u64,
    /// Its part of the pair's CPU time (from /proc/PID/stat).
    share: f64,
    /// What CFS's weights (or the real-time rules) predict.
    predicted: f64,
    voluntary_cs: u64,
    nonvoluntary_cs: u64,
}

impl Task {
    fn read(pid: Pid, setting: Setting, cpu: usize) -> Result<Task> {
        let p = procfs::process::Process::new(pid.as_raw())?;
        let stat = p.stat()?;
        let tick_us = 1_000_000 / procfs::ticks_per_second().max(1);
        let status = p.status()?;
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
}

/// One pair: one "trial".
#[derive(Serialize)]
struct Pair {
    pair: usize,
    what: &'static str,
    seconds: f64,
    /// The first task's share of the pair's CPU time, and what was predicted for it.
    first_share: f64,
    predicted_first_share: f64,
    /// first_share − predicted, in percentage points.
    deviation_points: f64,
    /// The pair's CPU time over the wall time: near 1.0 when the CPU was theirs.
    cpu_busy: f64,
    tasks: Vec<Task>,
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
}

/// The prediction: CFS weights for two normal tasks; the throttle's share for a real-time task
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

#[derive(Serialize)]
struct Results {
    /// Each pair, in order: the nice pair first.
    trials: Vec<Pair>,
    refused: Vec<Refusal>,
    rt_limits: Option<RtLimits>,
    /// The kernel's sched_prio_to_weight, nice -20 to 19.
    weights: &'static [u32],
}

/// A CSV row: one task of one pair.
#[derive(Serialize)]
struct Row<'a> {
    pair: usize,
    what: &'static str,
    task: &'a Task,
}

fn print_pair(out: &Output, p: &Pair) {
    out.lecture(format_args!(
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
    let text = table(
        &[
            "PID",
            "NI",
            "CLS",
            "RTPRIO",
            "PSR",
            "TIME",
            "SHARE",
            "PREDICTED",
        ],
        &rows,
        true,
    );
    for line in text.lines() {
        out.lecture(format_args!("  {line}"));
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

fn headline(r: &Results) -> String {
    let Some(p) = r.trials.first() else {
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

fn analyse(out: &Output, args: &Args, r: &Results, system: &Machine) {
    for p in &r.trials {
        let (a, b) = (&p.tasks[0], &p.tasks[1]);
        let line = match (a.policy, b.policy) {
            (Policy::Other, Policy::Other) => format!(
                "pair {}: CFS gives each runnable task weight / total weight; sched_prio_to_weight has nice {} → {} and nice {} → {}, so {} / ({} + {}) = {:.1}%; measured {:.1}% ({:+.1} points; the scheduler's own ns count, /proc/PID/schedstat, gives {:.1}%)",
                p.pair,
                a.nice,
                weight(a.nice),
                b.nice,
                weight(b.nice),
                weight(a.nice),
                weight(a.nice),
                weight(b.nice),
                100.0 * a.predicted,
                100.0 * a.share,
                p.deviation_points,
                100.0 * a.schedstat_ns as f64 / (a.schedstat_ns + b.schedstat_ns).max(1) as f64
            ),
            (_, Policy::Other) => format!(
                "pair {}: the real-time task always runs first, but RT throttling (kernel.sched_rt_runtime_us {} of sched_rt_period_us {}) keeps {:.0}% of each period for normal tasks: measured {:.1}% / {:.1}%",
                p.pair,
                r.rt_limits.map_or(-1, |l| l.runtime_us),
                r.rt_limits.map_or(-1, |l| l.period_us),
                100.0 * (1.0 - a.predicted),
                100.0 * a.share,
                100.0 * b.share
            ),
            (Policy::Fifo, _) => format!(
                "pair {}: SCHED_FIFO has no time slice: the first to run kept the CPU until the deadline and the other, at the same priority, got {:.2} s (throttling's spare time goes to normal tasks, not to it)",
                p.pair,
                b.cpu_time_us as f64 / 1e6
            ),
            _ => format!(
                "pair {}: SCHED_RR takes turns among equal priorities in slices of {} ms (kernel.sched_rr_timeslice_ms): {:.1}% / {:.1}%, preempted {} and {} times",
                p.pair,
                r.rt_limits.and_then(|l| l.rr_timeslice_ms).unwrap_or(100),
                100.0 * a.share,
                100.0 * b.share,
                a.nonvoluntary_cs,
                b.nonvoluntary_cs
            ),
        };
        out.analysis(line);
        if p.cpu_busy < 0.9 {
            out.analysis(format_args!(
                "  note: the pair had only {:.0}% of CPU {} (other work ran there too); the shares are of what the pair got",
                100.0 * p.cpu_busy,
                a.cpu
            ));
        }
    }
    for refusal in &r.refused {
        out.analysis(format_args!("refused: {refusal}"));
    }
    if args.policy.is_none() {
        out.analysis(
            "real time: --policy fifo or --policy rr runs the real-time pairs (needs CAP_SYS_NICE)",
        );
    }
    out.analysis(format_args!("lesson: {LESSON}"));
    out.analysis(format_args!(
        "compare: taskset -c 0 nice -n 0 yes >/dev/null & taskset -c 0 nice -n {} yes >/dev/null & top   (the %CPU column splits the same way; kill %1 %2 after)",
        args.nice
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
