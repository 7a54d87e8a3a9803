//! time_slice's lab bench: N threads pinned to one CPU, each given its policy (and the second
//! its nice value) before a common start; the turn log each one fills (the lecture's loop is the
//! binary's, handed over as [`Program`]); the kernel's own figures for a slice (EEVDF's base
//! slice in debugfs, CONFIG_HZ, `sched_rr_get_interval`, `kernel.sched_rr_timeslice_ms`); and the
//! verdict on the slide's "processes are switched every ~20 ms".
//!
//! The turn log and how a turn is told from an interrupt are in [`super::turns`].

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use serde::Serialize;

use crate::kit::cli::CpuList;
use crate::kit::histogram::{self, Bucket};
use crate::kit::machine::{Machine, policy_name, usable_cpus};
use crate::kit::stats::LatencySummary;
use crate::kit::timing::{fmt_ns, monotonic_ns, nanos, thread_cpu_ns};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::switches::{self, SwitchTrace};
use crate::process::limits;
use crate::process::scheduler::{
    FirstRefusal, Policy, RtLimits, pin_self, placement, request_nice, request_policy,
    restore_affinity,
};
use crate::{Error, Result, sys};

pub use super::turns::{Turn, Turns};

/// The slide's figure: "Processes are switched quickly 20ms".
pub const SLIDE_NS: u64 = 20_000_000;

/// How far from the slide's 20 ms the median turn may be for "~20 ms" to hold: a factor of 2
/// either way (10 to 40 ms). A "~" allows some slack, but a kernel whose turns are five times
/// shorter (or longer) does not switch "every ~20 ms".
pub const FACTOR: f64 = 2.0;

/// The log's bound: at most this many turns per second per thread (a turn of 100 µs on
/// average); a thread whose log fills stops there and says so.
pub const MAX_TURNS_PER_SECOND: f64 = 10_000.0;

/// The policy of `--policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlicePolicy {
    /// SCHED_OTHER: the fair scheduler (EEVDF since Linux 6.6).
    Other,
    /// SCHED_RR: real time, round robin in fixed slices (needs CAP_SYS_NICE).
    Rr,
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub threads: usize,
    pub seconds: f64,
    /// A gap longer than this between two clock readings is time off the CPU.
    pub gap_ns: u64,
    /// The second thread's nice value (the others stay at 0).
    pub nice: i32,
    pub policy: SlicePolicy,
    pub rt_priority: i32,
    /// `--log2`: the turn lengths' histogram in power-of-two buckets (reported in the results'
    /// `histogram_scale`, so the CSV's columns stay the same).
    #[serde(skip)]
    pub log2: bool,
}

/// The lecture's loop, as the binary writes it: reads the clock until the deadline, telling
/// [`Turns::off_cpu`] about every gap.
pub type Program = fn(&mut Turns<'_>);

/// What the kernel says a slice is.
#[derive(Clone, Debug, Serialize)]
pub struct KernelSlice {
    /// EEVDF or CFS.
    pub scheduler: String,
    /// `/sys/kernel/debug/sched/base_slice_ns`, where readable.
    pub base_slice_ns: Option<u64>,
    /// Why it was not, if it was not.
    pub base_slice_note: Option<String>,
    /// CONFIG_HZ: timer ticks per second.
    pub hz: Option<u64>,
    /// Where CONFIG_HZ was read.
    pub hz_from: Option<String>,
    /// debugfs was mounted on /sys/kernel/debug by this run, to read the base slice.
    pub mounted_debugfs: bool,
    /// `kernel.sched_rr_timeslice_ms`.
    pub rr_timeslice_ms: Option<i64>,
}

const BASE_SLICE: &str = "/sys/kernel/debug/sched/base_slice_ns";

impl KernelSlice {
    /// Reads what can be read.
    pub fn read(machine: &Machine) -> KernelSlice {
        let mounted_debugfs = mount_debugfs();
        let (base_slice_ns, base_slice_note) = match fs::read_to_string(BASE_SLICE) {
            Ok(t) => (t.trim().parse().ok(), None),
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    && nix::unistd::geteuid().is_root() =>
            {
                (
                    None,
                    Some(
                        "not readable: debugfs refuses even root here (the kernel's lockdown)"
                            .into(),
                    ),
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                (None, Some("not readable without root (debugfs)".into()))
            }
            Err(_) if !std::path::Path::new("/sys/kernel/debug/sched").exists() => (
                None,
                Some("not readable without debugfs (not mounted)".into()),
            ),
            Err(e) => (None, Some(format!("not readable ({e})"))),
        };
        let (hz, hz_from) =
            config_hz(&machine.kernel).map_or((None, None), |(h, f)| (Some(h), Some(f)));
        KernelSlice {
            scheduler: machine.scheduler.clone(),
            base_slice_ns,
            base_slice_note,
            hz,
            hz_from,
            mounted_debugfs,
            rr_timeslice_ms: RtLimits::read().and_then(|l| l.rr_timeslice_ms),
        }
    }

    /// `EEVDF's base slice 3 ms; HZ=250, a tick every 4 ms`.
    fn words(&self) -> String {
        let base = match (self.base_slice_ns, &self.base_slice_note) {
            (Some(ns), _) => fmt_ns(ns as f64),
            (None, Some(note)) => note.clone(),
            (None, None) => "unknown".into(),
        };
        let hz = match self.hz {
            Some(hz) => format!("HZ={hz}, a tick every {}", fmt_ns(1e9 / hz as f64)),
            None => "CONFIG_HZ not readable".into(),
        };
        let mounted = if self.mounted_debugfs {
            " (debugfs mounted on /sys/kernel/debug for it)"
        } else {
            ""
        };
        format!("{}'s base slice {base}{mounted}; {hz}", self.scheduler)
    }
}

/// As root, mounts debugfs on /sys/kernel/debug when nothing is mounted there (as perf does),
/// so EEVDF's base slice can be read; otherwise leaves it. True when it mounted it.
fn mount_debugfs() -> bool {
    let target = std::path::Path::new("/sys/kernel/debug");
    let empty = fs::read_dir(target).is_ok_and(|mut d| d.next().is_none());
    empty
        && nix::unistd::geteuid().is_root()
        && nix::mount::mount(
            Some("debugfs"),
            target,
            Some("debugfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .is_ok()
}

/// CONFIG_HZ from /boot/config-RELEASE, or /proc/config.gz (through `zcat`).
fn config_hz(release: &str) -> Option<(u64, String)> {
    let boot = format!("/boot/config-{release}");
    let (text, from) = match fs::read_to_string(&boot) {
        Ok(t) => (t, boot),
        Err(_) => {
            let out = std::process::Command::new("zcat")
                .arg("/proc/config.gz")
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                "/proc/config.gz".into(),
            )
        }
    };
    let hz = text.lines().find_map(|l| l.strip_prefix("CONFIG_HZ="))?;
    Some((hz.trim().parse().ok()?, from))
}

/// One thread's turns.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadTurns {
    /// 1, 2, ...
    pub thread: usize,
    pub tid: i32,
    /// Read back from the kernel after asking.
    pub policy: String,
    pub priority: i32,
    pub nice: i32,
    pub cpu: usize,
    /// Turns that ended in a switch to another of our threads.
    pub turns: u64,
    /// Their lengths (ns), as percentiles.
    pub summary: Option<LatencySummary>,
    /// Every turn's length added up, the last one (cut by the deadline) included.
    pub ran_ns: u64,
    /// From the first reading to the last.
    pub wall_ns: u64,
    /// CLOCK_THREAD_CPUTIME_ID over the same time.
    pub cpu_ns: u64,
    /// Gaps with no other thread of ours in them (interrupts, kernel threads).
    pub interruptions: u64,
    pub interrupted_ns: u64,
    /// Turns per second of the thread's run.
    pub switches_per_second: f64,
    /// `sched_rr_get_interval` for this thread, as it started.
    pub rr_interval_ns: Option<u64>,
    /// The log filled and the thread stopped early.
    pub full: bool,
    /// Every completed turn's length (ns), in order: the raw samples the figure draws.
    #[serde(rename = "lengths_ns")]
    pub lengths: Vec<u64>,
    /// Its first and last clock readings (CLOCK_MONOTONIC).
    #[serde(skip)]
    pub first_abs_ns: u64,
    #[serde(skip)]
    pub end_abs_ns: u64,
}

impl ThreadTurns {
    fn label(&self) -> String {
        match self.policy.as_str() {
            "SCHED_RR" | "SCHED_FIFO" => format!("{} {}", self.policy, self.priority),
            p => format!("{p}, nice {}", self.nice),
        }
    }

    fn median_ns(&self) -> Option<u64> {
        self.summary.map(|s| s.p50_ns)
    }
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub cpu: usize,
    pub threads: Vec<ThreadTurns>,
    /// Every thread's completed turns together.
    pub all: Option<LatencySummary>,
    pub histogram: Vec<Bucket>,
    /// `linear` (about 10 rows of a round width up to the p99, then one open row) or `log2`.
    pub histogram_scale: &'static str,
    pub kernel: KernelSlice,
    /// The cross-check: the same turns from the kernel's sched_switch record, or why not.
    pub trace: Traced,
}

/// The turns as the kernel's `sched:sched_switch` record has them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Traced {
    /// Turns ended by a switch to another of the threads, and their lengths (ns, the time the
    /// thread held the CPU; other tasks in between left out).
    pub turns: u64,
    pub summary: Option<LatencySummary>,
    /// Events the trace buffer lost.
    pub lost: u64,
    /// Why there is no record, when there is none.
    pub unavailable: Option<String>,
}

/// A CSV row: one thread.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub thread: usize,
    pub tid: i32,
    /// The policy, priority and nice value read back from the kernel (the params' are asked).
    pub in_force_policy: String,
    pub in_force_priority: i32,
    pub in_force_nice: i32,
    pub turns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub max_ns: u64,
    pub ran_ns: u64,
    pub cpu_ns: u64,
    pub interruptions: u64,
    pub switches_per_second: f64,
}

/// What the threads share: who ran last, the deadline, the start.
struct Shared {
    who: AtomicUsize,
    deadline_ns: AtomicU64,
    arrived: AtomicUsize,
    abort: AtomicBool,
    refused: FirstRefusal,
}

impl Shared {
    /// Arrives and waits (sleeping: the threads share one CPU) for the others; false if the run
    /// was abandoned.
    fn arrive(&self, n: usize) -> bool {
        self.arrived.fetch_add(1, Relaxed);
        while self.arrived.load(Relaxed) < n {
            if self.abort.load(Relaxed) || interrupt::requested().is_some() {
                return false;
            }
            thread::sleep(Duration::from_micros(200));
        }
        !self.abort.load(Relaxed)
    }
}

/// Runs the demo: the threads on one CPU until the deadline, then their turns printed.
pub fn run(s: &Session, p: &Params, take_turns: Program) -> Result<Results> {
    let (cpu, _) = placement(s.cpu.as_ref())?;
    limits::check_can_create(p.threads as u64)?;
    let capacity = (p.seconds * MAX_TURNS_PER_SECOND).ceil() as usize + 16;
    let mut logs = Vec::with_capacity(p.threads);
    for _ in 0..p.threads {
        logs.push(limits::allocate::<Turn>(capacity, "a thread's turn log")?);
    }
    // We only wait: off the threads' CPU when there is another.
    let watch = usable_cpus().into_iter().find(|&c| c != cpu).unwrap_or(cpu);
    let previous = pin_self(watch)?;
    let kernel = KernelSlice::read(&s.machine);
    let trace = SwitchTrace::start(cpu);
    let shared = Shared {
        who: AtomicUsize::new(usize::MAX),
        deadline_ns: AtomicU64::new(0),
        arrived: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
        refused: FirstRefusal::default(),
    };
    let joined: Result<Vec<Option<ThreadTurns>>> = thread::scope(|sc| {
        let mut handles = Vec::with_capacity(p.threads);
        for (i, log) in logs.into_iter().enumerate() {
            let shared = &shared;
            let spawned = thread::Builder::new()
                .name(format!("turns-{}", i + 1))
                .spawn_scoped(sc, move || one_thread(i, p, cpu, shared, log, take_turns));
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    shared.abort.store(true, Relaxed);
                    return Err(Error::spawn(i + 1, p.threads, e));
                }
            }
        }
        (handles.into_iter().enumerate())
            .map(|(index, h)| h.join().map_err(|_| Error::WorkerPanicked { index })?)
            .collect()
    });
    restore_affinity(&previous)?;
    let joined = joined?;
    shared.refused.check()?;
    let threads: Vec<ThreadTurns> = joined.into_iter().flatten().collect();
    let traced = traced(trace, &threads);
    let mut results = Results::new(cpu, threads, kernel);
    results.trace = traced;
    if p.log2 {
        results = results.in_log2();
    }
    results.print(s);
    Ok(results)
}

/// The threads' turns in the kernel's record, over the time they all ran.
fn traced(trace: std::result::Result<SwitchTrace, String>, threads: &[ThreadTurns]) -> Traced {
    let unavailable = |why: String| Traced {
        unavailable: Some(why),
        ..Traced::default()
    };
    let recorded = match trace.and_then(SwitchTrace::stop) {
        Ok(r) => r,
        Err(why) => return unavailable(why),
    };
    let (Some(from), Some(to)) = (
        threads.iter().map(|t| t.first_abs_ns).min(),
        threads.iter().map(|t| t.end_abs_ns).max(),
    ) else {
        return unavailable("no thread ran".into());
    };
    let tids: Vec<i32> = threads.iter().map(|t| t.tid).collect();
    let lengths: Vec<u64> = switches::turns(&recorded.on_cpu(from, to), &tids)
        .iter()
        .filter(|t| t.ended_by_switch)
        .map(|t| t.ran_ns)
        .collect();
    Traced {
        turns: lengths.len() as u64,
        summary: summarise(&lengths),
        lost: recorded.lost,
        unavailable: None,
    }
}

/// One thread: its CPU and policy, the common start, the lecture's loop, its CPU time.
fn one_thread(
    i: usize,
    p: &Params,
    cpu: usize,
    shared: &Shared,
    log: Vec<Turn>,
    take_turns: Program,
) -> Result<Option<ThreadTurns>> {
    const INSTEAD: &str = "nothing is measured: run as root for SCHED_RR, or without --policy for SCHED_OTHER's turns";
    let pinned = CpuList(vec![cpu]).pin_current_thread();
    let asked = match p.policy {
        SlicePolicy::Rr => request_policy(Policy::Rr, p.rt_priority, INSTEAD),
        SlicePolicy::Other if i == 1 && p.nice != 0 => request_nice(
            p.nice,
            "nothing is measured; the turns depend only on the difference of the nice values: --nice 5 shows what nice -5 would against nice 0",
        ),
        SlicePolicy::Other => Ok(()),
    };
    if let Err(r) = asked {
        shared.refused.keep(r);
        shared.abort.store(true, Relaxed);
    }
    if pinned.is_err() {
        shared.abort.store(true, Relaxed);
    }
    if !shared.arrive(p.threads) {
        return pinned.map(|()| None);
    }
    let policy = sys::sched::policy().unwrap_or(-1);
    let rr_interval_ns = sys::sched::rr_interval().ok();
    let cpu_before = thread_cpu_ns().unwrap_or(0);
    let now = monotonic_ns();
    let length = nanos(Duration::from_secs_f64(p.seconds));
    let deadline_ns = match shared
        .deadline_ns
        .compare_exchange(0, now + length, Relaxed, Relaxed)
    {
        Ok(_) => now + length,
        Err(set) => set,
    };
    let mut turns = Turns::new(&shared.who, i, p.gap_ns, deadline_ns, log);
    take_turns(&mut turns);
    let cpu_ns = thread_cpu_ns().unwrap_or(0).saturating_sub(cpu_before);
    let wall_ns = turns.wall_ns();
    let lengths: Vec<u64> = turns.completed().iter().map(|t| t.ran_ns).collect();
    let (interruptions, interrupted_ns) = turns.interruptions();
    Ok(Some(ThreadTurns {
        thread: i + 1,
        tid: nix::unistd::gettid().as_raw(),
        policy: policy_name(policy).to_string(),
        priority: sys::sched::priority().unwrap_or(0),
        nice: sys::sched::nice().unwrap_or(0),
        cpu,
        turns: lengths.len() as u64,
        summary: summarise(&lengths),
        ran_ns: turns.all().map(|t| t.ran_ns).sum(),
        wall_ns,
        cpu_ns,
        interruptions,
        interrupted_ns,
        switches_per_second: per_second(lengths.len() as u64, wall_ns),
        rr_interval_ns,
        full: turns.full(),
        lengths,
        first_abs_ns: turns.first_ns(),
        end_abs_ns: turns.end_ns(),
    }))
}

fn per_second(n: u64, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        n as f64 * 1e9 / ns as f64
    }
}

/// Percentiles of turn lengths (ns), or None when there are none.
fn summarise(lengths: &[u64]) -> Option<LatencySummary> {
    if lengths.is_empty() {
        return None;
    }
    Some(LatencySummary::of(lengths))
}

impl Results {
    /// The pooled figures from the threads' logs.
    pub fn new(cpu: usize, threads: Vec<ThreadTurns>, kernel: KernelSlice) -> Results {
        let all_lengths: Vec<u64> = threads
            .iter()
            .flat_map(|t| t.lengths.iter().copied())
            .collect();
        let all = summarise(&all_lengths);
        let histogram = match all {
            Some(s) => histogram::buckets(&all_lengths, s.min_ns, s.p99_ns.max(s.min_ns + 1), 10),
            None => Vec::new(),
        };
        Results {
            cpu,
            threads,
            all,
            histogram,
            histogram_scale: "linear",
            kernel,
            trace: Traced::default(),
        }
    }

    /// The same results with the histogram in power-of-two buckets, as bcc's tools draw them.
    pub fn in_log2(mut self) -> Results {
        let lengths: Vec<u64> = self
            .threads
            .iter()
            .flat_map(|t| t.lengths.iter().copied())
            .collect();
        let unit = histogram::log2_unit(self.all.map_or(0, |a| a.max_ns));
        self.histogram = histogram::log2_buckets(&lengths, unit);
        self.histogram_scale = "log2";
        self
    }

    fn print(&self, s: &Session) {
        for t in &self.threads {
            let median = t.median_ns().map_or("no turn ended".into(), |m| {
                format!("median {}", fmt_ns(m as f64))
            });
            s.out.lecture(format_args!(
                "thread {} (tid {}, {}) on CPU {}: {}, {median}, switched out {:.0} times a second",
                t.thread,
                t.tid,
                t.label(),
                t.cpu,
                words::count(t.turns, "turn"),
                t.switches_per_second
            ));
        }
        if self.histogram.is_empty() {
            return;
        }
        let n = self.all.map_or(0, |a| a.count);
        s.out.lecture(format_args!(
            "turn lengths ({} ended by a switch, all threads):",
            words::count(n, "turn")
        ));
        let unit = histogram::log2_unit(self.all.map_or(0, |a| a.max_ns));
        let rows: Vec<(String, u64)> = self
            .histogram
            .iter()
            .map(|b| match self.histogram_scale {
                "log2" => (histogram::log2_label(b, unit), b.count),
                _ => (histogram::label(b), b.count),
            })
            .collect();
        for line in histogram::draw(&rows, 40) {
            s.out.lecture(format_args!("  {line}"));
        }
    }

    /// The figure the verdict judges: the median of every completed turn.
    pub fn median_ns(&self) -> Option<u64> {
        self.all.map(|a| a.p50_ns)
    }

    fn total_switches_per_second(&self) -> f64 {
        let wall = self.threads.iter().map(|t| t.wall_ns).max().unwrap_or(0);
        per_second(self.threads.iter().map(|t| t.turns).sum(), wall)
    }

    fn is_rr(&self) -> bool {
        self.threads.iter().any(|t| t.policy == "SCHED_RR")
    }

    fn rr_interval_ns(&self) -> Option<u64> {
        self.threads
            .iter()
            .find_map(|t| t.rr_interval_ns.filter(|&n| n > 0))
    }

    /// The cross-check line: the kernel's record of the same turns, or why there is none.
    fn trace_words(&self) -> String {
        let t = &self.trace;
        match (&t.unavailable, t.summary) {
            (Some(why), _) => format!(
                "the kernel's sched_switch record: not read ({why}); the turns above are the threads' own account"
            ),
            (None, None) => {
                "the kernel's sched_switch record: no turn of these threads ended in it".into()
            }
            (None, Some(k)) => {
                let own = self.all.map_or(0, |a| a.p50_ns);
                format!(
                    "the kernel's sched_switch record of the same CPU: {}, median {} (p90 {}), against the threads' own median {}{}",
                    words::count(t.turns, "turn"),
                    fmt_ns(k.p50_ns as f64),
                    fmt_ns(k.p90_ns as f64),
                    fmt_ns(own as f64),
                    if t.lost > 0 {
                        format!("; the buffer lost {}", words::count(t.lost, "event"))
                    } else {
                        String::new()
                    }
                )
            }
        }
    }

    /// What the kernel says a slice is, for the policy the run used.
    fn kernel_words(&self) -> String {
        if self.is_rr() {
            let asked = self
                .rr_interval_ns()
                .map_or("unknown".into(), |n| fmt_ns(n as f64));
            let sysctl = self
                .kernel
                .rr_timeslice_ms
                .map_or("unknown".into(), |ms| format!("{ms} ms"));
            format!(
                "SCHED_RR's quantum: sched_rr_get_interval {asked}, kernel.sched_rr_timeslice_ms {sysctl}"
            )
        } else {
            self.kernel.words()
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, _p: &Params) -> String {
        match self.median_ns() {
            Some(m) => format!(
                "median turn {} on one CPU ({:.0} switches/s); the slide says ~20 ms",
                fmt_ns(m as f64),
                self.total_switches_per_second()
            ),
            None => "no turn ended in a switch".into(),
        }
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(a) = self.all {
            lines.push(format!(
                "a turn (ended by a switch to another of the threads): min {}, p50 {}, p90 {}, p99 {}, max {} over {}; each thread's last turn, cut by the deadline, is not counted",
                fmt_ns(a.min_ns as f64),
                fmt_ns(a.p50_ns as f64),
                fmt_ns(a.p90_ns as f64),
                fmt_ns(a.p99_ns as f64),
                fmt_ns(a.max_ns as f64),
                words::count(a.count, "turn")
            ));
        }
        let from = match &self.kernel.hz_from {
            Some(f) if !self.is_rr() => format!(" (CONFIG_HZ from {f})"),
            _ => String::new(),
        };
        lines.push(format!("the kernel: {}{from}", self.kernel_words()));
        lines.push(self.trace_words());
        let wall: u64 = self.threads.iter().map(|t| t.wall_ns).max().unwrap_or(0);
        for t in &self.threads {
            lines.push(format!(
                "thread {} ({}): ran {} of {} ({:.1}%; its CPU clock says {}), {} per second, {} ({}) with no other thread in between",
                t.thread,
                t.label(),
                fmt_ns(t.ran_ns as f64),
                fmt_ns(wall as f64),
                if wall == 0 { 0.0 } else { 100.0 * t.ran_ns as f64 / wall as f64 },
                fmt_ns(t.cpu_ns as f64),
                words::count(t.switches_per_second.round() as u64, "turn"),
                words::count(t.interruptions, "interruption"),
                fmt_ns(t.interrupted_ns as f64)
            ));
            if t.full {
                lines.push(format!(
                    "  note: thread {}'s log filled ({}) and it stopped early",
                    t.thread,
                    words::count(t.turns, "turn")
                ));
            }
        }
        if p.policy == SlicePolicy::Other && p.nice == 0 {
            lines.push("nice: --nice 5 runs the second thread at nice 5; --policy rr runs SCHED_RR (needs CAP_SYS_NICE)".into());
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = format!(
            "processes are switched every ~20 ms: the median turn of {} CPU-bound threads on one CPU is within a factor of {FACTOR} of 20 ms ({} to {})",
            p.threads,
            fmt_ns(SLIDE_NS as f64 / FACTOR),
            fmt_ns(SLIDE_NS as f64 * FACTOR)
        );
        let Some(a) = self.all.filter(|a| a.count >= 3) else {
            let n = self.all.map_or(0, |a| a.count);
            return Verdict::unchecked(
                claim,
                format!(
                    "only {} ended in a switch in {:.1} s: too few for a median; run longer (--seconds)",
                    words::count(n, "turn"),
                    self.threads.iter().map(|t| t.wall_ns).max().unwrap_or(0) as f64 / 1e9
                ),
            );
        };
        let median = a.p50_ns as f64;
        let held = median >= SLIDE_NS as f64 / FACTOR && median <= SLIDE_NS as f64 * FACTOR;
        let figure = format!(
            "the median turn lasted {} over {} ({:.0} switches/s)",
            fmt_ns(median),
            words::count(a.count, "turn"),
            self.total_switches_per_second()
        );
        let check = match self.trace.summary {
            Some(k) => format!(
                "; the kernel's sched_switch record: median {} over {}",
                fmt_ns(k.p50_ns as f64),
                words::count(k.count, "turn")
            ),
            None => String::new(),
        };
        if held {
            Verdict::check(
                claim,
                true,
                format!("{figure}{check}; {}", self.kernel_words()),
            )
        } else {
            Verdict::check(
                claim,
                false,
                format!(
                    "{figure}{check}: this kernel switched every {} ({})",
                    fmt_ns(median),
                    self.kernel_words()
                ),
            )
        }
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let Some(median) = self.median_ns() else {
            return "a turn is the time a thread runs before the kernel switches to another; this run saw none end".into();
        };
        let m = fmt_ns(median as f64);
        if self.is_rr() {
            return format!(
                "SCHED_RR hands each thread a fixed quantum and puts it at the back of its priority's queue when it runs out: sched_rr_get_interval says {}, and turns here lasted {m} (median); the slide's round robin, with the kernel's quantum instead of 20 ms",
                self.rr_interval_ns()
                    .map_or("unknown".into(), |n| fmt_ns(n as f64))
            );
        }
        let tick = self.kernel.hz.map_or(String::new(), |hz| {
            format!(
                ", and a running task is checked at the timer tick (HZ={hz}: every {})",
                fmt_ns(1e9 / hz as f64)
            )
        });
        let mut lesson = format!(
            "{} gives no fixed 20 ms: each task runs for its slice (the base slice{}){tick}; here a turn lasted {m} (median), so the threads were switched {:.0} times a second",
            self.kernel.scheduler,
            self.kernel
                .base_slice_ns
                .map_or(String::new(), |n| format!(", {}", fmt_ns(n as f64))),
            self.total_switches_per_second()
        );
        if p.nice != 0 && self.threads.len() >= 2 {
            let (a, b) = (&self.threads[0], &self.threads[1]);
            lesson.push_str(&format!(
                "; nice {} against nice {}: median turns {} and {}, {:.0} and {:.0} turns a second, {:.1}% and {:.1}% of the CPU; nice sets a weight, not a slice: EEVDF gives both the same slice in time, but the lighter task's virtual time runs faster, so its deadline lies farther off and the heavier one stays eligible for more slices in a row (longer turns) or is picked more often (more turns)",
                a.nice,
                b.nice,
                a.median_ns().map_or("none".into(), |n| fmt_ns(n as f64)),
                b.median_ns().map_or("none".into(), |n| fmt_ns(n as f64)),
                a.switches_per_second,
                b.switches_per_second,
                100.0 * a.ran_ns as f64 / a.wall_ns.max(1) as f64,
                100.0 * b.ran_ns as f64 / b.wall_ns.max(1) as f64
            ));
        }
        lesson
    }

    fn compare(&self, _p: &Params) -> String {
        "taskset -c 0 yes >/dev/null & taskset -c 0 yes >/dev/null & sudo perf sched record -C 0 -- sleep 2; kill %1 %2; sudo perf sched timehist -C 0   (the run time column: each turn)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        self.threads
            .iter()
            .map(|t| Row {
                thread: t.thread,
                tid: t.tid,
                in_force_policy: t.policy.clone(),
                in_force_priority: t.priority,
                in_force_nice: t.nice,
                turns: t.turns,
                p50_ns: t.summary.map_or(0, |s| s.p50_ns),
                p90_ns: t.summary.map_or(0, |s| s.p90_ns),
                max_ns: t.summary.map_or(0, |s| s.max_ns),
                ran_ns: t.ran_ns,
                cpu_ns: t.cpu_ns,
                interruptions: t.interruptions,
                switches_per_second: t.switches_per_second,
            })
            .collect()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        let wall = self.threads.iter().map(|t| t.wall_ns).max().unwrap_or(0);
        Some(format!(
            "{:.2} of {} s; every thread stopped and joined",
            wall as f64 / 1e9,
            p.seconds
        ))
    }
}

/// The run's picture: each thread's share of the CPU against an equal share (a tick), and the
/// distribution of its run lengths (the time it ran between two interruptions) as a CDF. From
/// the report.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<crate::kit::plot::Figure> {
    use crate::kit::plot;
    let r = plot::Report(report);
    let threads = r.list("/results/threads")?;
    let total: f64 = threads
        .iter()
        .filter_map(|t| t.get("ran_ns").and_then(serde_json::Value::as_f64))
        .sum();
    if threads.is_empty() || total <= 0.0 {
        anyhow::bail!("no thread ran: nothing to draw");
    }
    let equal = 100.0 / threads.len() as f64;
    let mut bars = Vec::new();
    let mut dists = Vec::new();
    for t in threads {
        let t = plot::Report(t);
        let label = format!(
            "thread {}: {}, nice {}",
            t.num("/thread")?,
            t.str("/policy")?,
            t.num("/nice")?
        );
        let share = t.num("/ran_ns")? / total * 100.0;
        bars.push(plot::Bar {
            label: label.clone(),
            value: share,
            samples: Vec::new(),
            expected: Some(equal),
            note: format!("{share:.1}% in {} turns", t.num("/turns")?),
        });
        dists.push(plot::Dist {
            name: label,
            values: t.nums("/lengths_ns")?.iter().map(|ns| ns / 1e6).collect(),
        });
    }
    dists.retain(|d| !d.values.is_empty());
    let mut panels = vec![plot::Panel {
        title: "each thread's share of the time the threads ran; the tick is an equal share".into(),
        x: "share of the run time (%)".into(),
        y: "thread".into(),
        chart: plot::Chart::Bars(bars),
    }];
    if !dists.is_empty() {
        panels.push(plot::Panel {
            title: "run lengths: how long a thread ran before it was switched out".into(),
            x: "run length (ms)".into(),
            y: "turns at or below (%)".into(),
            chart: plot::Chart::Cdf {
                series: dists,
                marks: vec![50.0, 99.0],
                log: true,
            },
        });
    }
    Ok(plot::Figure {
        title: format!(
            "time_slice: {} threads on CPU {}, each turn timed",
            threads.len(),
            r.num("/results/cpu")?
        ),
        run: r.run_lines(),
        panels,
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> KernelSlice {
        KernelSlice {
            scheduler: "EEVDF".into(),
            base_slice_ns: None,
            base_slice_note: Some("not readable without debugfs".into()),
            mounted_debugfs: false,
            hz: Some(250),
            hz_from: Some("/proc/config.gz".into()),
            rr_timeslice_ms: Some(100),
        }
    }

    fn thread(n: usize, nice: i32, policy: &str, lengths: Vec<u64>) -> ThreadTurns {
        let ran: u64 = lengths.iter().sum();
        ThreadTurns {
            thread: n,
            tid: 100 + n as i32,
            policy: policy.into(),
            priority: if policy == "SCHED_RR" { 10 } else { 0 },
            nice,
            cpu: 0,
            turns: lengths.len() as u64,
            summary: summarise(&lengths),
            ran_ns: ran,
            wall_ns: 2 * ran,
            cpu_ns: ran,
            interruptions: 0,
            interrupted_ns: 0,
            switches_per_second: per_second(lengths.len() as u64, 2 * ran),
            rr_interval_ns: (policy == "SCHED_RR").then_some(100_000_000),
            full: false,
            lengths,
            first_abs_ns: 0,
            end_abs_ns: 2 * ran,
        }
    }

    #[test]
    fn the_kernel_s_record_is_the_cross_check_or_its_absence_is_said() {
        let p = params(0, SlicePolicy::Other);
        let mut r = results(4_000_000, 200, "SCHED_OTHER");
        r.trace = Traced {
            turns: 399,
            summary: summarise(&vec![4_010_000; 399]),
            lost: 0,
            unavailable: None,
        };
        let (v, _, analysis) = judge(&r, &p);
        assert!(
            v.because
                .contains("the kernel's sched_switch record: median 4.01 ms over 399 turns"),
            "{}",
            v.because
        );
        assert!(
            analysis.iter().any(|l| l.starts_with(
                "the kernel's sched_switch record of the same CPU: 399 turns, median 4.01 ms"
            )),
            "{analysis:?}"
        );
        r.trace = Traced {
            unavailable: Some("making a tracefs instance needs root".into()),
            ..Traced::default()
        };
        let (v, _, analysis) = judge(&r, &p);
        assert!(!v.because.contains("sched_switch"), "{}", v.because);
        assert!(
            analysis.iter().any(|l| l.contains(
                "not read (making a tracefs instance needs root); the turns above are the threads' own account"
            )),
            "{analysis:?}"
        );
    }

    fn params(nice: i32, policy: SlicePolicy) -> Params {
        Params {
            threads: 2,
            seconds: 2.0,
            gap_ns: 5_000,
            nice,
            policy,
            rt_priority: 10,
            log2: false,
        }
    }

    fn results(turn_ns: u64, count: usize, policy: &str) -> Results {
        Results::new(
            0,
            vec![
                thread(1, 0, policy, vec![turn_ns; count]),
                thread(2, 0, policy, vec![turn_ns; count]),
            ],
            kernel(),
        )
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn twenty_ms_turns_hold_and_four_ms_turns_do_not() {
        let p = params(0, SlicePolicy::Other);
        let (v, lesson, analysis) = judge(&results(20_000_000, 50, "SCHED_OTHER"), &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("median turn lasted 20.0 ms over 100 turns"),
            "{}",
            v.because
        );
        assert!(lesson.contains("20.0 ms (median)"), "{lesson}");
        assert!(
            analysis
                .iter()
                .any(|l| l.contains("HZ=250, a tick every 4.00 ms")),
            "{analysis:?}"
        );

        let (v, lesson, _) = judge(&results(4_000_000, 200, "SCHED_OTHER"), &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("this kernel switched every 4.00 ms"),
            "{}",
            v.because
        );
        assert!(
            v.because
                .contains("EEVDF's base slice not readable without debugfs"),
            "{}",
            v.because
        );
        assert!(lesson.contains("every 4.00 ms"), "{lesson}");
        assert!(lesson.contains("250 times a second"), "{lesson}");

        // The window's edges: 10 ms holds, 45 ms does not.
        assert_eq!(
            judge(&results(10_000_000, 20, "SCHED_OTHER"), &p).0.held,
            Some(true)
        );
        assert_eq!(
            judge(&results(45_000_000, 20, "SCHED_OTHER"), &p).0.held,
            Some(false)
        );
    }

    #[test]
    fn round_robin_names_its_quantum() {
        let p = params(0, SlicePolicy::Rr);
        let (v, lesson, _) = judge(&results(100_000_000, 5, "SCHED_RR"), &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("sched_rr_get_interval 100 ms"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("kernel.sched_rr_timeslice_ms 100 ms"),
            "{}",
            v.because
        );
        assert!(lesson.starts_with("SCHED_RR"), "{lesson}");
    }

    #[test]
    fn nice_compares_the_two_threads_with_the_runs_numbers() {
        let p = params(5, SlicePolicy::Other);
        let r = Results::new(
            0,
            vec![
                thread(1, 0, "SCHED_OTHER", vec![4_000_000; 300]),
                thread(2, 5, "SCHED_OTHER", vec![3_000_000; 100]),
            ],
            kernel(),
        );
        let (_, lesson, _) = judge(&r, &p);
        assert!(
            lesson.contains("nice 0 against nice 5: median turns 4.00 ms and 3.00 ms"),
            "{lesson}"
        );
    }

    #[test]
    fn too_few_turns_cannot_be_judged() {
        let p = params(0, SlicePolicy::Other);
        let (v, _, _) = judge(&results(20_000_000, 1, "SCHED_OTHER"), &p);
        assert_eq!(v.held, None, "{}", v.line());
        assert!(v.because.contains("only 2 turns"), "{}", v.because);
        let r = Results::new(0, Vec::new(), kernel());
        assert_eq!(judge(&r, &p).0.held, None);
    }
}
