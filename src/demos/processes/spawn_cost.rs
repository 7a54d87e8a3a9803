//! `spawn_cost`'s lab bench: the operations' names, /bin/true prepared for posix_spawn and exec,
//! the series (warm-up, then `--count` timed runs of one operation in one placement), the
//! percentiles, and the check of the lecture's claim that a process costs far more to create
//! than a thread.
//!
//! The binary holds the lecture's calls, one timed run each (fork + wait, posix_spawn + wait,
//! fork + exec + wait, thread spawn + join, pthread_create + join).

use std::ffi::CString;
use std::time::Instant;

use clap::ValueEnum;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions};
use serde::Serialize;
use serde_json::Value;

use crate::kit::cli::{CpuList, TrialArgs};
use crate::kit::machine::usable_cpus;
use crate::kit::plot;
use crate::kit::report;
use crate::kit::stats::{LatencySummary, Spread};
use crate::kit::timing::{fmt_ns, nanos_since, sig3};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::process::limits::{allocate, check_can_create, check_memory};
use crate::process::{Child, SingleThreaded};
use crate::sys::mman::{HugePages, Mapping, Sharing};
use crate::{Error, Result};

/// The program that `posix_spawn` and `exec` start: it does nothing and exits 0.
pub const PROGRAM: &str = "/bin/true";

/// How many times a thread's cost a process's must be for "far more" (the lecture's "slower
/// creation"): at least twice.
const FAR_MORE: f64 = 2.0;

/// One kind of creation, each timed together with its wait or join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// fork(); the child calls _exit(0); the parent waits for it
    Fork,
    /// posix_spawn(/bin/true), then wait
    PosixSpawn,
    /// fork(); the child execs /bin/true; the parent waits for it
    ForkExec,
    /// a thread that returns at once (std::thread::spawn), then join
    Thread,
    /// the same with pthread_create and pthread_join called directly, as the C program does
    Pthread,
}

impl Op {
    /// Every operation, in the order the table shows them.
    pub const ALL: [Op; 5] = [
        Op::Fork,
        Op::PosixSpawn,
        Op::ForkExec,
        Op::Thread,
        Op::Pthread,
    ];

    /// What it times, as the table says it.
    pub fn label(self) -> &'static str {
        match self {
            Op::Fork => "fork + wait",
            Op::PosixSpawn => "posix_spawn + wait",
            Op::ForkExec => "fork + exec + wait",
            Op::Thread => "thread spawn + join",
            Op::Pthread => "pthread_create + join",
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Op::Fork => "fork",
            Op::PosixSpawn => "posix-spawn",
            Op::ForkExec => "fork-exec",
            Op::Thread => "thread",
            Op::Pthread => "pthread",
        }
    }

    /// True for the two thread creations, false for the three process creations.
    pub fn is_thread(self) -> bool {
        matches!(self, Op::Thread | Op::Pthread)
    }

    /// True for the operations that fork, which need a single-threaded process.
    fn forks(self) -> bool {
        matches!(self, Op::Fork | Op::ForkExec)
    }
}

/// Where the operations run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Placement {
    Pinned,
    Unpinned,
    Both,
}

/// The binary's command line, adjusted: `--warmup` defaults to 20 here, and `--trials` counts
/// series. A flag given twice takes its last value.
pub fn command(c: clap::Command) -> clap::Command {
    c.args_override_self(true)
        .mut_arg("warmup", |a| {
            a.default_value("20")
                .help("Untimed runs of each operation before the timed ones [0-1000]")
        })
        .mut_arg("trials", |a| {
            a.help("Series of --count runs of every operation and placement, one after the other [1-1000]")
        })
}

/// What one run measured: its time, and the child's minor faults (the kernel's accounting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub ns: u64,
    pub minflt: u64,
    pub ok: bool,
}

impl Sample {
    /// A child started at `start`: waits for it (wait4, which gives its faults too).
    pub fn waited(start: Instant, child: Child) -> Result<Sample> {
        let (exit, usage) = child.wait_usage()?;
        Ok(Sample {
            ns: nanos_since(start),
            minflt: usage.minflt,
            ok: exit.success(),
        })
    }

    /// A thread started at `start` and joined just now.
    pub fn joined(start: Instant, ok: bool) -> Sample {
        Sample {
            ns: nanos_since(start),
            minflt: 0,
            ok,
        }
    }
}

/// /bin/true and its arguments, prepared once: nothing is allocated between fork and exec.
pub struct Program {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub actions: PosixSpawnFileActions,
    pub attr: PosixSpawnAttr,
}

impl Program {
    fn new() -> Result<Program> {
        if !std::path::Path::new(PROGRAM).exists() {
            return Err(Error::Failed(format!(
                "{PROGRAM} does not exist: posix_spawn and exec have nothing to run"
            )));
        }
        let envp = crate::process::environ();
        let c = |s: &str| CString::new(s).expect("no NUL in a constant");
        Ok(Program {
            path: c(PROGRAM),
            argv: vec![c("true")],
            envp,
            actions: PosixSpawnFileActions::init()
                .map_err(|e| Error::sys("posix_spawn_file_actions_init", e))?,
            attr: PosixSpawnAttr::init().map_err(|e| Error::sys("posix_spawnattr_init", e))?,
        })
    }
}

/// What a timed run may use: /bin/true, prepared, and for the operations that fork the proof
/// that the process is single-threaded (made once per series, outside the timed runs).
pub struct Ready<'a> {
    pub program: &'a Program,
    single: Option<SingleThreaded>,
}

impl Ready<'_> {
    /// The proof that fork may run.
    pub fn single(&self) -> Result<&SingleThreaded> {
        self.single
            .as_ref()
            .ok_or_else(|| Error::Failed("fork without the proof that it may run".into()))
    }
}

/// fork needs a single-threaded process. A thread that was just joined can still be counted
/// in /proc for a moment (join returns once it stopped running; the kernel then reaps it).
/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub count: u32,
    pub warmup: u32,
    pub trials: u32,
    /// The operations, each once, in the order given (all of them by default).
    pub ops: Vec<Op>,
    /// `pinned`, `unpinned`, or both.
    pub placements: Vec<&'static str>,
    pub rss_mib: u64,
    pub program: &'static str,
}

impl Params {
    /// From `--count`, `--op`, `--placement`, `--rss` and the trial flags.
    pub fn of(count: u32, op: &[Op], placement: Placement, rss: u64, t: &TrialArgs) -> Params {
        let mut ops: Vec<Op> = Vec::new();
        for &o in if op.is_empty() { &Op::ALL[..] } else { op } {
            if !ops.contains(&o) {
                ops.push(o);
            }
        }
        Params {
            count,
            warmup: t.warmup,
            trials: t.trials,
            ops,
            placements: match placement {
                Placement::Pinned => vec!["pinned"],
                Placement::Unpinned => vec!["unpinned"],
                Placement::Both => vec!["pinned", "unpinned"],
            },
            rss_mib: rss,
            program: PROGRAM,
        }
    }
}

/// One operation in one placement: one CSV row, one `results.trials[]` entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub trial: u32,
    pub op: Op,
    pub label: &'static str,
    pub placement: &'static str,
    /// The CPUs the parent (and so every child) could run on.
    pub cpus: String,
    /// The percentiles of the timed runs (`count` is how many there were).
    pub latency: LatencySummary,
    /// The children's minor faults per run (wait4's rusage); 0 for threads.
    pub child_minflt_per_op: f64,
    /// False when Ctrl-C stopped the series early.
    pub complete: bool,
    /// Every timed run, in ns, in order.
    pub samples_ns: Vec<u64>,
}

/// The results: every series, and the parent's memory while it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub trials: Vec<Series>,
    /// The parent's memory while it measured: resident set and page tables (what fork copies).
    pub rss_kib: Option<u64>,
    pub page_tables_kib: Option<u64>,
    /// The parent as its first timed fork found it (none when no operation forks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_fork: Option<Footprint>,
}

/// What a fork has to copy, read from /proc/self just before the timed forks: the mappings
/// (each one a VMA the kernel duplicates), the resident pages (an anonymous one is a page-table
/// entry to copy and a page made copy-on-write), and the page tables. scripts/c/spawn_cost.c
/// prints the same for the C twin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Footprint {
    pub mappings: u64,
    pub rss_kib: u64,
    pub anon_kib: u64,
    pub page_tables_kib: u64,
}

impl Footprint {
    /// This process now.
    pub fn now() -> Option<Footprint> {
        let me = procfs::process::Process::myself().ok()?;
        let status = me.status().ok()?;
        Some(Footprint {
            mappings: me.maps().ok()?.len() as u64,
            rss_kib: status.vmrss?,
            anon_kib: status.rssanon?,
            page_tables_kib: status.vmpte?,
        })
    }

    /// `35 mappings, RSS 4.1 MiB (anonymous 304 KiB), page tables 52 KiB`.
    pub fn describe(&self) -> String {
        format!(
            "{}, RSS {} (anonymous {} KiB), page tables {} KiB",
            words::count(self.mappings, "mapping"),
            if self.rss_kib >= 1024 {
                format!("{} MiB", sig3(self.rss_kib as f64 / 1024.0))
            } else {
                format!("{} KiB", self.rss_kib)
            },
            self.anon_kib,
            self.page_tables_kib
        )
    }
}

/// Makes the parent lean before it forks in a timed loop: stdout flushed once (the timed fork
/// does not flush: [`crate::process::fork_brief`]) and the heap's free memory given back, so
/// the fork copies only what the program holds. Returns the footprint the forks will copy.
fn lean_for_fork() -> Option<Footprint> {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::sys::mman::trim_heap();
    let footprint = Footprint::now();
    crate::sys::mman::trim_heap(); // what reading /proc allocated and freed
    footprint
}

/// Runs every series: `--rss` memory first, then for each trial, placement and operation a
/// warm-up and `--count` timed runs of `once` (the lecture's call), then prints the table of
/// percentiles (the demo's own output, in text mode even with `--quiet`).
pub fn measure(
    s: &Session,
    p: &Params,
    once: impl Fn(Op, &Ready<'_>) -> Result<Sample>,
) -> Result<Results> {
    check_can_create(1)?;
    let program = Program::new()?;
    // --rss: memory fork has to account for (its page tables are copied at every fork).
    let _memory = if p.rss_mib > 0 {
        let bytes = p.rss_mib << 20;
        check_memory(bytes, &format!("--rss {}", p.rss_mib))?;
        let m = Mapping::new(bytes as usize, Sharing::Private, HugePages::Never)?;
        let page = procfs::page_size() as usize;
        // A page at a time (a fault each: about 1 s per GiB), looking at Ctrl-C every 16 MiB.
        for (i, at) in (0..m.len()).step_by(page).enumerate() {
            if i % 4096 == 0 && interrupt::requested().is_some() {
                break; // no series runs: each looks at Ctrl-C first
            }
            m.bytes()[at].store(1, std::sync::atomic::Ordering::Relaxed);
        }
        Some(m)
    } else {
        None
    };
    let (rss_kib, page_tables_kib) = memory_now();
    // Room for every series' samples, reserved now (after --rss, which the check then counts):
    // a refusal comes before the first run, not after some were measured.
    let series = p.trials as usize * p.placements.len() * p.ops.len();
    let what = format!("{series} series of {} samples", p.count);
    check_memory(
        (series as u64 * u64::from(p.count)).saturating_mul(8),
        &what,
    )?;
    let mut buffers = (0..series)
        .map(|_| allocate::<u64>(p.count as usize, &what))
        .collect::<Result<Vec<_>>>()?;

    let usable = usable_cpus();
    let everywhere = CpuList(usable.clone());
    let one = CpuList(vec![usable[0]]);
    let mut done: Vec<Series> = Vec::new();
    let mut at_fork = None;
    'all: for trial in 1..=p.trials {
        for &placement in &p.placements {
            let cpus = if placement == "pinned" {
                &one
            } else {
                &everywhere
            };
            cpus.pin_current_thread()?; // the parent; children and threads inherit it
            for &op in &p.ops {
                let ready = Ready {
                    program: &program,
                    // The proof that fork may run is made once, before the loop: the /proc
                    // read it takes is not part of any timed run.
                    single: if op.forks() {
                        Some(SingleThreaded::check_after_join()?)
                    } else {
                        None
                    },
                };
                let samples = buffers.pop().unwrap_or_default();
                if op.forks() {
                    let footprint = lean_for_fork();
                    at_fork = at_fork.or(footprint);
                }
                let mut series = Series::new(trial, op, placement, cpus, samples);
                series.run(p, |op| once(op, &ready))?;
                done.extend(series.finished());
                if interrupt::requested().is_some() {
                    break 'all;
                }
            }
        }
    }
    everywhere.pin_current_thread()?;
    if s.out.is_text() {
        report::print_raw_table(&table(&done));
    }
    Ok(Results {
        trials: done,
        rss_kib,
        page_tables_kib,
        at_fork,
    })
}

impl Series {
    /// A series yet to run; `samples_ns` is its (empty) buffer, with room for `--count`.
    fn new(
        trial: u32,
        op: Op,
        placement: &'static str,
        cpus: &CpuList,
        samples_ns: Vec<u64>,
    ) -> Series {
        Series {
            trial,
            op,
            label: op.label(),
            placement,
            cpus: cpus.to_string(),
            latency: LatencySummary::of(&[]),
            child_minflt_per_op: 0.0,
            complete: false,
            samples_ns,
        }
    }

    /// The warm-up, then `--count` timed runs, until Ctrl-C.
    fn run(&mut self, p: &Params, once: impl Fn(Op) -> Result<Sample>) -> Result<()> {
        let mut minflt = 0;
        for i in 0..p.warmup + p.count {
            if interrupt::requested().is_some() {
                break;
            }
            let sample = once(self.op)?;
            if !sample.ok {
                if interrupt::requested().is_some() {
                    break; // Ctrl-C reached the child too
                }
                return Err(Error::Failed(format!(
                    "{}: the child failed (run {})",
                    self.label,
                    i + 1
                )));
            }
            if i >= p.warmup {
                self.samples_ns.push(sample.ns);
                minflt += sample.minflt;
            }
        }
        let n = self.samples_ns.len();
        self.latency = LatencySummary::of(&self.samples_ns);
        self.child_minflt_per_op = minflt as f64 / n.max(1) as f64;
        self.complete = n == p.count as usize;
        Ok(())
    }

    /// The series, if it timed at least one run.
    fn finished(self) -> Option<Series> {
        (!self.samples_ns.is_empty()).then_some(self)
    }
}

/// VmRSS and VmPTE of this process, in KiB (from its [`Footprint`]).
fn memory_now() -> (Option<u64>, Option<u64>) {
    Footprint::now().map_or((None, None), |f| (Some(f.rss_kib), Some(f.page_tables_kib)))
}

/// The percentiles, one line per series.
fn table(done: &[Series]) -> String {
    let several = done.iter().any(|s| s.trial > 1); // then each row says its trial: #2 fork
    let rows: Vec<Vec<String>> = done
        .iter()
        .map(|s| {
            let l = &s.latency;
            let mut row = vec![
                if several {
                    format!("#{} {}", s.trial, s.label)
                } else {
                    s.label.to_string()
                },
                format!("{} (CPU {})", s.placement, s.cpus),
                l.count.to_string(),
            ];
            row.extend(
                [l.min_ns, l.p50_ns, l.p90_ns, l.p99_ns, l.p999_ns, l.max_ns]
                    .iter()
                    .map(|&ns| fmt_ns(ns as f64)),
            );
            row.push(fmt_ns(l.mean_ns));
            row
        })
        .collect();
    report::table(
        &[
            "operation",
            "placement",
            "runs",
            "min",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "mean",
        ],
        &rows,
        true,
    )
}

impl Results {
    /// The p50 of `op` in `placement`: the median over the trials' p50s.
    fn p50(&self, op: Op, placement: &str) -> Option<f64> {
        let p50s = self
            .trials
            .iter()
            .filter(|s| s.op == op && s.placement == placement)
            .map(|s| s.latency.p50_ns as f64);
        Spread::of(p50s).map(|s| s.median)
    }

    /// The placements measured, in order.
    fn placements(&self) -> Vec<&'static str> {
        let mut seen: Vec<&'static str> = Vec::new();
        for s in &self.trials {
            if !seen.contains(&s.placement) {
                seen.push(s.placement);
            }
        }
        seen
    }

    /// Per placement: the cheapest process creation measured and the dearest thread creation
    /// (p50s), the fairest test of "a process costs far more than a thread".
    fn comparisons(&self) -> Vec<Comparison> {
        let pick = |placement: &str, threads: bool, cheapest: bool| {
            Op::ALL
                .iter()
                .filter(|op| op.is_thread() == threads)
                .filter_map(|&op| self.p50(op, placement).map(|v| (op, v)))
                .reduce(|a, b| if (b.1 < a.1) == cheapest { b } else { a })
        };
        self.placements()
            .into_iter()
            .filter_map(|placement| {
                let (process, process_ns) = pick(placement, false, true)?;
                let (thread, thread_ns) = pick(placement, true, false)?;
                Some(Comparison {
                    placement,
                    process,
                    process_ns,
                    thread,
                    thread_ns,
                })
            })
            .collect()
    }

    /// The operations that ran, as words: `fork + wait (272 µs p50, pinned)`.
    fn ran(&self) -> String {
        let placement = self.placements().first().copied().unwrap_or("pinned");
        words::list(Op::ALL.iter().filter_map(|&op| {
            self.p50(op, placement)
                .map(|v| format!("{} ({} p50, {placement})", op.label(), fmt_ns(v)))
        }))
    }
}

/// A process creation against a thread creation, in one placement.
struct Comparison {
    placement: &'static str,
    process: Op,
    process_ns: f64,
    thread: Op,
    thread_ns: f64,
}

impl Comparison {
    fn ratio(&self) -> f64 {
        self.process_ns / self.thread_ns.max(1.0)
    }

    fn line(&self) -> String {
        format!(
            "{}: {} {} = {}× {} {}",
            self.placement,
            self.process.label(),
            fmt_ns(self.process_ns),
            sig3(self.ratio()),
            self.thread.label(),
            fmt_ns(self.thread_ns)
        )
    }
}

const CLAIM: &str = "creating a process costs far more than creating a thread";

impl Findings for Results {
    type Params = Params;
    type Row = Value;

    fn headline(&self, _p: &Params) -> String {
        let placement = self.trials.first().map_or("pinned", |s| s.placement);
        let parts: Vec<String> = Op::ALL
            .iter()
            .filter_map(|&op| {
                self.p50(op, placement)
                    .map(|v| format!("{} {}", op.name(), fmt_ns(v)))
            })
            .collect();
        if parts.is_empty() {
            "nothing measured".into()
        } else {
            format!("p50 {placement}: {}", parts.join(", "))
        }
    }

    fn analysis(&self, p: &Params, cx: &Context<'_>) -> Vec<String> {
        // Ctrl-C stops the last series short: say how many of its runs were timed.
        let each = match self.trials.iter().find(|s| !s.complete) {
            Some(cut) => format!(
                "{} asked for ({} of them timed before the stop, in {} {})",
                words::count(p.count, "timed run"),
                cut.samples_ns.len(),
                cut.label,
                cut.placement
            ),
            None => words::count(p.count, "timed run"),
        };
        let mut lines = vec![format!(
            "each: {each} after {} untimed; the time of one run includes its wait (or join); the child of fork calls _exit(0) at once, posix_spawn and exec run {PROGRAM}{}",
            p.warmup,
            if p.trials > 1 {
                format!(
                    "; {} series of each, and the p50s below are their median",
                    p.trials
                )
            } else {
                String::new()
            }
        )];
        for placement in ["pinned", "unpinned"] {
            let Some(thread) = self.p50(Op::Thread, placement) else {
                continue;
            };
            let others: Vec<String> = [Op::Fork, Op::PosixSpawn, Op::ForkExec]
                .iter()
                .filter_map(|&op| {
                    self.p50(op, placement)
                        .map(|v| format!("{} {}×", op.label(), sig3(v / thread)))
                })
                .collect();
            if !others.is_empty() {
                lines.push(format!(
                    "processes vs threads ({placement}, p50, against a thread's {}): {}",
                    fmt_ns(thread),
                    others.join(", ")
                ));
            }
        }
        for placement in ["pinned", "unpinned"] {
            if let (Some(std), Some(raw)) = (
                self.p50(Op::Thread, placement),
                self.p50(Op::Pthread, placement),
            ) {
                lines.push(format!(
                    "std::thread vs pthread_create ({placement}, p50): {}× ({} vs {}): std gives every thread a guarded signal stack (mmap, mprotect, sigaltstack, munmap) and reads its stack bounds",
                    sig3(std / raw),
                    fmt_ns(std),
                    fmt_ns(raw)
                ));
            }
        }
        for op in Op::ALL {
            if let (Some(pinned), Some(unpinned)) =
                (self.p50(op, "pinned"), self.p50(op, "unpinned"))
            {
                lines.push(format!(
                    "placement: {} unpinned/pinned p50 = {}× ({} vs {})",
                    op.label(),
                    sig3(unpinned / pinned),
                    fmt_ns(unpinned),
                    fmt_ns(pinned)
                ));
            }
        }
        if self.trials.iter().any(|s| s.placement == "unpinned") && cx.machine.cpus_usable_count > 1
        {
            lines.push(
                "  unpinned, the child (or thread) may start on another CPU: that CPU has to be woken, and the parent's wakeup at the end crosses CPUs too".into(),
            );
        }
        let faults: Vec<String> = Op::ALL
            .iter()
            .filter(|op| !op.is_thread())
            .filter_map(|&op| {
                self.trials
                    .iter()
                    .find(|s| s.op == op)
                    .map(|s| format!("{} {}", op.label(), sig3(s.child_minflt_per_op)))
            })
            .collect();
        if !faults.is_empty() {
            lines.push(format!(
                "child minor faults per run (wait4's rusage): {} (a forked child faults on every page it writes, copy-on-write; an exec'd one on the program it loads)",
                faults.join(", ")
            ));
        }
        if let Some(f) = &self.at_fork {
            lines.push(format!(
                "the parent at its first timed fork: {} (what each fork duplicates: every mapping, and the page-table entry of every resident page, anonymous pages made copy-on-write)",
                f.describe()
            ));
        }
        lines.push(format!(
            "memory: RSS {}, page tables (VmPTE) {}{}: fork copies the page tables, so it slows as the parent grows; posix_spawn (clone with CLONE_VM | CLONE_VFORK) shares the parent's memory until exec and stays flat{}",
            self.rss_kib
                .map_or("?".into(), |k| format!("{} MiB", sig3(k as f64 / 1024.0))),
            self.page_tables_kib
                .map_or("?".into(), |k| format!("{k} KiB")),
            if p.rss_mib > 0 {
                format!(" (with {} MiB touched by --rss)", p.rss_mib)
            } else {
                String::new()
            },
            if p.rss_mib == 0 {
                " (see --rss 256)"
            } else {
                ""
            }
        ));
        lines
    }

    fn verdict(&self, _p: &Params, _cx: &Context<'_>) -> Verdict {
        if self.trials.is_empty() {
            return Verdict::unchecked(CLAIM, "stopped before a series completed");
        }
        let processes = self.trials.iter().any(|s| !s.op.is_thread());
        let threads = self.trials.iter().any(|s| s.op.is_thread());
        if !(processes && threads) {
            return Verdict::unchecked(
                CLAIM,
                format!(
                    "only {} ran: {}",
                    self.ran(),
                    if processes {
                        "what creating a process costs, but with no thread creation timed beside it there is nothing to compare it with (add --op thread)"
                    } else {
                        "what creating a thread costs, but with no process creation timed beside it there is nothing to compare it with (add --op fork)"
                    }
                ),
            );
        }
        let comparisons = self.comparisons();
        let held = comparisons.iter().all(|c| c.ratio() >= FAR_MORE);
        let mut because = format!(
            "the cheapest process creation against the dearest thread creation, p50: {}",
            comparisons
                .iter()
                .map(Comparison::line)
                .collect::<Vec<_>>()
                .join("; ")
        );
        if !held {
            because.push_str(&format!(
                ": less than the {}× that \"far more\" asks for{}",
                sig3(FAR_MORE),
                if comparisons
                    .iter()
                    .any(|c| c.placement == "unpinned" && c.ratio() < FAR_MORE)
                {
                    " (unpinned, a thread may wait for an idle CPU to wake)"
                } else {
                    ""
                }
            ));
        }
        Verdict::check(CLAIM, held, because)
    }

    fn lesson(&self, p: &Params, cx: &Context<'_>) -> String {
        let forked = self.trials.iter().any(|s| s.op.forks());
        let tables = if forked {
            format!(
                "; fork copies the parent's page tables ({} here), so it slows as the parent grows{}, while posix_spawn shares the parent's memory until exec",
                self.page_tables_kib
                    .map_or("?".into(), |k| format!("{k} KiB")),
                if p.rss_mib == 0 {
                    " (try --rss 256)"
                } else {
                    ""
                }
            )
        } else {
            String::new()
        };
        let verdict = self.verdict(p, cx);
        // The comparison that decided: the first placement's when the claim held, the
        // weakest one when it did not.
        let decided = if verdict.held == Some(true) {
            self.comparisons().into_iter().next()
        } else {
            self.comparisons()
                .into_iter()
                .min_by(|a, b| a.ratio().total_cmp(&b.ratio()))
        };
        match (verdict.held, decided) {
            (Some(true), Some(c)) => format!(
                "a new process copies its parent's bookkeeping (page tables, open files, signal handlers) and exec then loads a program, while a thread shares it all: here even the cheapest process creation ({}, {}) cost {}× a thread's ({}, {}, p50 {}){tables}",
                c.process.label(),
                fmt_ns(c.process_ns),
                sig3(c.ratio()),
                c.thread.label(),
                fmt_ns(c.thread_ns),
                c.placement
            ),
            (Some(false), Some(c)) => format!(
                "a new process copies its parent's bookkeeping and a thread shares it, yet here the cheapest process creation ({}, {}) cost only {}× a thread's ({}, {}, p50 {}): a thread's creation ran slow or a process's ran fast in this run{tables}",
                c.process.label(),
                fmt_ns(c.process_ns),
                sig3(c.ratio()),
                c.thread.label(),
                fmt_ns(c.thread_ns),
                c.placement
            ),
            _ if self.trials.is_empty() => {
                "a new process copies its parent's bookkeeping and a thread shares it (the run stopped before anything was timed)".into()
            }
            _ => format!(
                "{} measured alone: the time to create and reap it; time a {} beside it (--op fork,thread) to see what the lecture compares{tables}",
                self.ran(),
                if self.trials.iter().any(|s| s.op.is_thread()) {
                    "process"
                } else {
                    "thread"
                }
            ),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "taskset -c 0 lat_proc fork; lat_proc fork; lat_proc exec   (lmbench: fork+exit and fork+execve, median of 11); stress-ng --pthread 1 --metrics (ns to start a pthread)".into()
    }

    /// A row per series, without the raw samples (they are in the JSON).
    fn rows(&self, _p: &Params) -> Vec<Value> {
        self.trials
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                if let Some(m) = v.as_object_mut() {
                    m.remove("samples_ns");
                }
                v
            })
            .collect()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        // "series" is its own plural.
        let total = p.trials as usize * p.placements.len() * p.ops.len();
        Some(format!("{} of {total} series", self.trials.len()))
    }
}

/// The run's picture: for each placement, the latency distribution of each operation as a CDF
/// (log scale, every trial's runs together), p50 and p99 marked. Drawn from the report.
pub fn figure(report: &Value) -> anyhow::Result<plot::Figure> {
    let r = plot::Report(report);
    let series = r.list("/results/trials")?;
    let mut placements: Vec<&str> = Vec::new();
    for s in series {
        let placement = plot::Report(s).str("/placement")?;
        if !placements.contains(&placement) {
            placements.push(placement);
        }
    }
    let mut panels = Vec::new();
    for placement in placements {
        let mut dists: Vec<plot::Dist> = Vec::new();
        for s in series {
            let s = plot::Report(s);
            if s.str("/placement")? != placement {
                continue;
            }
            let label = s.str("/label")?;
            let us: Vec<f64> = s.nums("/samples_ns")?.iter().map(|ns| ns / 1e3).collect();
            match dists.iter_mut().find(|d| d.name == label) {
                Some(d) => d.values.extend(us),
                None => dists.push(plot::Dist {
                    name: label.to_string(),
                    values: us,
                }),
            }
        }
        dists.retain(|d| !d.values.is_empty());
        if dists.is_empty() {
            continue;
        }
        let cpus = series
            .iter()
            .find(|s| s.get("placement").and_then(Value::as_str) == Some(placement))
            .and_then(|s| s.get("cpus"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        panels.push(plot::Panel {
            title: format!("{placement} (CPUs {cpus}): p50 and p99 marked"),
            x: "time to create and reap one (µs)".into(),
            y: "runs at or below (%)".into(),
            chart: plot::Chart::Cdf {
                series: dists,
                marks: vec![50.0, 99.0],
                log: true,
            },
        });
    }
    if panels.is_empty() {
        anyhow::bail!("the run stopped before its first timed run: nothing to draw");
    }
    Ok(plot::Figure {
        title: format!(
            "spawn_cost: creating a process or a thread, {} runs of each",
            r.num("/params/count")?
        ),
        run: r.run_lines(),
        panels,
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(op: Op, placement: &'static str, p50_us: u64) -> Series {
        Series {
            trial: 1,
            op,
            label: op.label(),
            placement,
            cpus: "0".into(),
            latency: LatencySummary::of(&[p50_us * 1000; 10]),
            child_minflt_per_op: 0.0,
            complete: true,
            samples_ns: vec![p50_us * 1000; 10],
        }
    }

    fn results(trials: Vec<Series>) -> Results {
        Results {
            trials,
            rss_kib: Some(3500),
            page_tables_kib: Some(44),
            at_fork: None,
        }
    }

    fn judged(r: &Results, ops: &[Op]) -> (Verdict, String) {
        let p = Params::of(
            10,
            ops,
            Placement::Both,
            0,
            &TrialArgs {
                trials: 1,
                warmup: 0,
            },
        );
        let (verdict, lesson, _) = crate::testing::judge(r, &p);
        (verdict, lesson)
    }

    #[test]
    fn a_process_far_dearer_than_a_thread_holds() {
        let r = results(vec![
            series(Op::Fork, "pinned", 272),
            series(Op::ForkExec, "pinned", 2470),
            series(Op::Thread, "pinned", 56),
            series(Op::Pthread, "pinned", 33),
        ]);
        let (v, lesson) = judged(&r, &[]);
        assert_eq!(v.held, Some(true), "{}", v.line());
        // The cheapest process (fork) against the dearest thread (std's).
        assert!(
            v.because.contains("pinned: fork + wait 272 µs = 4.8")
                && v.because.contains("× thread spawn + join 56.0 µs"),
            "{}",
            v.because
        );
        assert!(
            lesson.contains("× a thread's (thread spawn + join"),
            "{lesson}"
        );
    }

    #[test]
    fn a_process_hardly_dearer_than_a_thread_in_one_placement_does_not_hold() {
        let r = results(vec![
            series(Op::Fork, "pinned", 272),
            series(Op::Thread, "pinned", 56),
            series(Op::Fork, "unpinned", 300),
            series(Op::Thread, "unpinned", 200),
        ]);
        let (v, lesson) = judged(&r, &[Op::Fork, Op::Thread]);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("unpinned: fork + wait 300 µs = 1.50×"),
            "{}",
            v.because
        );
        assert!(v.because.contains("less than the 2.00×"), "{}", v.because);
        assert!(lesson.contains("cost only 1.50× a thread's"), "{lesson}");
    }

    #[test]
    fn one_operation_alone_cannot_check_the_claim() {
        let r = results(vec![series(Op::Fork, "pinned", 272)]);
        let (v, lesson) = judged(&r, &[Op::Fork]);
        assert_eq!(v.held, None, "{}", v.line());
        assert!(
            v.because.starts_with(
                "only fork + wait (272 µs p50, pinned) ran: what creating a process costs"
            ),
            "{}",
            v.because
        );
        assert!(lesson.contains("--op fork,thread"), "{lesson}");
        let r = results(vec![series(Op::Pthread, "pinned", 33)]);
        let (v, _) = judged(&r, &[Op::Pthread]);
        assert_eq!(v.held, None);
        assert!(
            v.because.contains("no process creation timed"),
            "{}",
            v.because
        );
        let (v, _) = judged(&results(vec![]), &[]);
        assert_eq!(v.because, "stopped before a series completed");
    }

    #[test]
    fn params_keep_each_operation_once_in_order() {
        let t = TrialArgs {
            trials: 2,
            warmup: 0,
        };
        let p = Params::of(
            5,
            &[Op::Thread, Op::Fork, Op::Thread],
            Placement::Pinned,
            0,
            &t,
        );
        assert_eq!(p.ops, [Op::Thread, Op::Fork]);
        assert_eq!(p.placements, ["pinned"]);
        assert_eq!(Params::of(5, &[], Placement::Both, 0, &t).ops, Op::ALL);
        let r = results(vec![series(Op::Thread, "pinned", 10)]);
        assert_eq!(r.progress(&p).unwrap(), "1 of 4 series");
        assert_eq!(r.headline(&p), "p50 pinned: thread 10.0 µs");
        let rows = r.rows(&p);
        assert!(rows[0].get("samples_ns").is_none() && rows[0].get("latency").is_some());
    }
}
