//! spawn_cost: the "slower creation" row of the lecture's process-versus-thread table,
//! measured. Times one operation at a time, many times: fork + wait, posix_spawn + wait,
//! fork + exec + wait, and thread spawn + join; pinned to one CPU and unpinned.
//!
//! What the lecture wants you to see: a process costs far more to create than a thread. fork
//! copies the parent's bookkeeping (page tables, open files, signal handlers), exec then throws
//! the copy away to load a program, while a new thread shares all of it and only needs a stack.
//! Two more lessons come out of the measurement: fork grows with the parent's memory (its page
//! tables are copied: try `--rss 256`) while posix_spawn (glibc: clone with CLONE_VM |
//! CLONE_VFORK, then exec) stays flat; and where the child runs matters as much as what it
//! costs (pinned to one CPU, no idle CPU has to be woken).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, posix_spawn};
use oslab::Error;
use oslab::kit::cli::{self, CommonArgs, CpuList, TrialArgs, ranged};
use oslab::kit::machine::{Machine, usable_cpus};
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::stats::{LatencySummary, Spread, latency_histogram};
use oslab::kit::timing::{fmt_ns, nanos_since, sig3};
use oslab::kit::{interrupt, report};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::limits::{check_can_create, check_memory};
use oslab::process::{self, Child, Forked};
use oslab::sys::mman::{HugePages, Mapping, Sharing};
use serde::Serialize;

/// The program that `posix_spawn` and `exec` start: it does nothing and exits 0.
const PROGRAM: &str = "/bin/true";

/// What creating a process costs next to creating a thread: fork, posix_spawn, fork + exec
/// and thread spawn, each timed with its wait or join, many times (percentiles).
///
/// The lecture's process-versus-thread table says processes are "slower to create"; this
/// measures by how much, as lmbench's lat_proc does: the child of fork exits at once
/// (_exit(0)), posix_spawn and exec run /bin/true, the thread returns at once. Each is timed
/// pinned to one CPU (as under taskset -c 0: the children inherit it) and unpinned.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: spawn_cost --count 500   (then: spawn_cost --op fork,posix-spawn --rss 256)"
)]
struct Args {
    /// Timed operations of each kind [1-1000000]
    #[arg(long, default_value_t = 1000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1_000_000))]
    count: u32,

    /// The operations to time, comma-separated [default: all of them]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "OP")]
    op: Vec<Op>,

    /// Where the operations run: pinned to one CPU (the first usable one), unpinned (any
    /// usable CPU), or both, one after the other
    #[arg(long, value_enum, default_value_t = Placement::Both)]
    placement: Placement,

    /// Touch this many MiB of private memory first, so fork has that much more to copy (its
    /// page tables) [0-65536]
    #[arg(long, default_value_t = 0, value_name = "MIB", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 65_536))]
    rss: u64,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// One kind of creation, each timed together with its wait or join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Op {
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
    const ALL: [Op; 5] = [
        Op::Fork,
        Op::PosixSpawn,
        Op::ForkExec,
        Op::Thread,
        Op::Pthread,
    ];

    fn label(self) -> &'static str {
        match self {
            Op::Fork => "fork + wait",
            Op::PosixSpawn => "posix_spawn + wait",
            Op::ForkExec => "fork + exec + wait",
            Op::Thread => "thread spawn + join",
            Op::Pthread => "pthread_create + join",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Fork => "fork",
            Op::PosixSpawn => "posix-spawn",
            Op::ForkExec => "fork-exec",
            Op::Thread => "thread",
            Op::Pthread => "pthread",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Placement {
    Pinned,
    Unpinned,
    Both,
}

// ---------------------------------------------------------------------------------------------
// The four operations, one timed run each.

/// What one run measured: its time, and the child's minor faults (the kernel's accounting).
struct Sample {
    ns: u64,
    minflt: u64,
    ok: bool,
}

/// fork(), the child `_exit(0)`s at once, waitpid().
fn fork_wait(single: &SingleThreaded) -> oslab::Result<Sample> {
    let start = Instant::now();
    match process::fork(single)? {
        Forked::Child => process::exit_child(0), // _exit(0);
        Forked::Parent(child) => waited(start, child),
    }
}

/// posix_spawn(/bin/true), waitpid().
fn spawn_wait(program: &Program) -> oslab::Result<Sample> {
    let start = Instant::now();
    let pid = posix_spawn(
        program.path.as_c_str(),
        &program.actions,
        &program.attr,
        &program.argv,
        &program.envp,
    )
    .map_err(|e| Error::sys("posix_spawn", e))?;
    waited(start, Child::adopt(pid))
}

/// fork(), the child execv()s /bin/true, waitpid().
fn fork_exec_wait(single: &SingleThreaded, program: &Program) -> oslab::Result<Sample> {
    let start = Instant::now();
    match process::fork(single)? {
        Forked::Child => {
            let _ = nix::unistd::execv(&program.path, &program.argv); // returns only on failure
            process::exit_child(127)
        }
        Forked::Parent(child) => waited(start, child),
    }
}

/// pthread_create (std::thread::spawn) of a thread that returns at once, pthread_join.
fn thread_join() -> oslab::Result<Sample> {
    let start = Instant::now();
    let handle = std::thread::Builder::new()
        .spawn(|| {})
        .map_err(|source| Error::Spawn {
            index: 0,
            total: 1,
            source,
        })?;
    let ok = handle.join().is_ok();
    Ok(Sample {
        ns: nanos_since(start),
        minflt: 0,
        ok,
    })
}

/// pthread_create + pthread_join, raw: the C program's calls, without std::thread's extras.
fn pthread_join() -> oslab::Result<Sample> {
    let start = Instant::now();
    oslab::sys::pthread::pthread_create_join()?;
    Ok(Sample {
        ns: nanos_since(start),
        minflt: 0,
        ok: true,
    })
}

fn waited(start: Instant, child: Child) -> oslab::Result<Sample> {
    let (exit, usage) = child.wait_usage()?;
    Ok(Sample {
        ns: nanos_since(start),
        minflt: usage.minflt,
        ok: exit.success(),
    })
}

/// /bin/true and its arguments, prepared once: nothing is allocated between fork and exec.
struct Program {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    actions: PosixSpawnFileActions,
    attr: PosixSpawnAttr,
}

impl Program {
    fn new() -> anyhow::Result<Program> {
        if !std::path::Path::new(PROGRAM).exists() {
            bail!("{PROGRAM} does not exist: posix_spawn and exec have nothing to run");
        }
        let envp = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        Ok(Program {
            path: CString::new(PROGRAM)?,
            argv: vec![CString::new("true")?],
            envp,
            actions: PosixSpawnFileActions::init().context("posix_spawn_file_actions_init")?,
            attr: PosixSpawnAttr::init().context("posix_spawnattr_init")?,
        })
    }
}

/// fork needs a single-threaded process. A thread that was just joined can still be counted
/// in /proc for a moment (join returns once it stopped running; the kernel then reaps it).
fn single_threaded() -> oslab::Result<SingleThreaded> {
    for _ in 0..1000 {
        match SingleThreaded::check() {
            Err(Error::NotSingleThreaded { .. }) => std::thread::sleep(Duration::from_millis(1)),
            other => return other,
        }
    }
    SingleThreaded::check()
}

// ---------------------------------------------------------------------------------------------
// A series: warm-up, then --count timed runs of one operation in one placement.

/// One operation in one placement: one CSV row, one `results.trials[]` entry.
#[derive(Clone, Debug, Serialize)]
struct Series {
    trial: u32,
    op: Op,
    label: &'static str,
    placement: &'static str,
    /// The CPUs the parent (and so every child) could run on.
    cpus: String,
    /// The percentiles of the timed runs (`count` is how many there were).
    latency: LatencySummary,
    /// The children's minor faults per run (wait4's rusage); 0 for threads.
    child_minflt_per_op: f64,
    /// False when Ctrl-C stopped the series early.
    complete: bool,
    /// Every timed run, in ns, in order.
    samples_ns: Vec<u64>,
}

fn series(
    op: Op,
    args: &Args,
    program: &Program,
    trial: u32,
    placement: &'static str,
    cpus: &str,
) -> anyhow::Result<Option<Series>> {
    // The proof that fork may run is made once, before the loop: the /proc read it takes is
    // not part of any timed run. No thread exists while it is held.
    let single = match op {
        Op::Fork | Op::ForkExec => Some(single_threaded()?),
        Op::PosixSpawn | Op::Thread | Op::Pthread => None,
    };
    let mut histogram = latency_histogram();
    let mut samples = Vec::with_capacity(args.count as usize);
    let mut minflt = 0;
    let total = args.trials.warmup + args.count;
    for i in 0..total {
        if interrupt::requested().is_some() {
            break;
        }
        let sample = match (op, &single) {
            (Op::Fork, Some(single)) => fork_wait(single)?,
            (Op::ForkExec, Some(single)) => fork_exec_wait(single, program)?,
            (Op::PosixSpawn, _) => spawn_wait(program)?,
            (Op::Thread, _) => thread_join()?,
            (Op::Pthread, _) => pthread_join()?,
            _ => unreachable!("fork ops hold the proof"),
        };
        if !sample.ok {
            if interrupt::requested().is_some() {
                break; // Ctrl-C reached the child too
            }
            bail!("{}: the child failed (run {})", op.label(), i + 1);
        }
        if i >= args.trials.warmup {
            histogram.record(sample.ns.max(1))?;
            samples.push(sample.ns);
            minflt += sample.minflt;
        }
    }
    if samples.is_empty() {
        return Ok(None);
    }
    Ok(Some(Series {
        trial,
        op,
        label: op.label(),
        placement,
        cpus: cpus.to_string(),
        latency: LatencySummary::from_histogram(&histogram),
        child_minflt_per_op: minflt as f64 / samples.len() as f64,
        complete: samples.len() == args.count as usize,
        samples_ns: samples,
    }))
}

// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct Params {
    count: u32,
    warmup: u32,
    trials: u32,
    ops: Vec<Op>,
    placements: Vec<&'static str>,
    rss_mib: u64,
    program: &'static str,
    cpu: Option<String>,
}

#[derive(Serialize)]
struct Results {
    trials: Vec<Series>,
    /// The parent's memory while it measured: resident set and page tables (what fork copies).
    rss_kib: Option<u64>,
    page_tables_kib: Option<u64>,
}

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("spawn_cost", |c| {
        c.args_override_self(true)
            .mut_arg("warmup", |a| {
                a.default_value("20")
                    .help("Untimed runs of each operation before the timed ones [0-1000]")
            })
            .mut_arg("trials", |a| {
                a.help("Series of --count runs of every operation and placement, one after the other [1-1000]")
            })
    });
    cli::finish(run(args))
}

fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    if args.op.is_empty() {
        args.op = Op::ALL.to_vec();
    }
    let mut ops: Vec<Op> = Vec::new();
    for op in &args.op {
        if !ops.contains(op) {
            ops.push(*op);
        }
    }
    check_can_create(1)?;
    let program = Program::new()?;

    // --rss: memory fork has to account for (its page tables are copied at every fork).
    let _memory = if args.rss > 0 {
        let bytes = args.rss << 20;
        check_memory(bytes, &format!("--rss {}", args.rss))?;
        let m = Mapping::new(bytes as usize, Sharing::Private, HugePages::Never)?;
        let page = procfs::page_size() as usize;
        for i in (0..m.len()).step_by(page) {
            m.bytes()[i].store(1, std::sync::atomic::Ordering::Relaxed);
        }
        Some(m)
    } else {
        None
    };
    let (rss_kib, page_tables_kib) = memory_now();

    let usable = usable_cpus();
    let everywhere = CpuList(usable.clone());
    let one = CpuList(vec![usable[0]]);
    let placements: Vec<(&'static str, &CpuList)> = match args.placement {
        Placement::Pinned => vec![("pinned", &one)],
        Placement::Unpinned => vec![("unpinned", &everywhere)],
        Placement::Both => vec![("pinned", &one), ("unpinned", &everywhere)],
    };

    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    let mut done: Vec<Series> = Vec::new();
    'all: for trial in 1..=args.trials.trials {
        for &(placement, cpus) in &placements {
            cpus.pin_current_thread()?; // the parent; children and threads inherit it
            for &op in &ops {
                let s = series(op, &args, &program, trial, placement, &cpus.to_string())?;
                done.extend(s);
                if interrupt::requested().is_some() {
                    break 'all;
                }
            }
        }
    }
    everywhere.pin_current_thread()?;
    let counters = before.delta(&Snapshot::of_self()?);
    let interrupted = interrupt::requested();
    if let Some(signal) = interrupted {
        eprintln!(
            "spawn_cost: stopped by {signal} after {} series; results are partial",
            done.len()
        );
    }

    show_table(&out, &done);
    analyse(&args, &out, &system, &done, rss_kib, page_tables_kib);
    let headline = headline(&done);
    // CSV: a row per series, without the raw samples (they are in the JSON).
    let rows: Vec<serde_json::Value> = done
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.remove("samples_ns");
            }
            v
        })
        .collect();
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "spawn_cost",
        schema_version: SCHEMA_VERSION,
        params: Params {
            count: args.count,
            warmup: args.trials.warmup,
            trials: args.trials.trials,
            ops,
            placements: placements.iter().map(|(p, _)| *p).collect(),
            rss_mib: args.rss,
            program: PROGRAM,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline,
        lesson: LESSON.into(),
        partial: interrupted.is_some(),
        counters,
        system,
        results: Results {
            trials: done,
            rss_kib,
            page_tables_kib,
        },
    };
    out.finish(&report, &rows)?;
    Ok(interrupt::exit_status(interrupted))
}

const LESSON: &str = "a new process copies its parent's bookkeeping (page tables, files) and exec then loads a program; a thread shares it all, so it is created several times faster, and fork slows as the parent grows while posix_spawn does not";

/// VmRSS and VmPTE of this process, in KiB.
fn memory_now() -> (Option<u64>, Option<u64>) {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .map_or((None, None), |s| (s.vmrss, s.vmpte))
}

/// The percentiles, one line per series: the demo's own output (also under --quiet).
fn show_table(out: &Output, done: &[Series]) {
    if !out.is_text() {
        return;
    }
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
    report::print_raw_table(&report::table(
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
    ));
}

/// The p50 of `op` in `placement`: the median over the trials' p50s.
fn p50(done: &[Series], op: Op, placement: &str) -> Option<f64> {
    let p50s = done
        .iter()
        .filter(|s| s.op == op && s.placement == placement)
        .map(|s| s.latency.p50_ns as f64);
    Spread::of(p50s).map(|s| s.median)
}

fn headline(done: &[Series]) -> String {
    let placement = done.first().map_or("pinned", |s| s.placement);
    let parts: Vec<String> = Op::ALL
        .iter()
        .filter_map(|&op| p50(done, op, placement).map(|v| format!("{} {}", op.name(), fmt_ns(v))))
        .collect();
    if parts.is_empty() {
        "nothing measured".into()
    } else {
        format!("p50 {placement}: {}", parts.join(", "))
    }
}

fn analyse(
    args: &Args,
    out: &Output,
    system: &Machine,
    done: &[Series],
    rss_kib: Option<u64>,
    page_tables_kib: Option<u64>,
) {
    out.analysis(format_args!(
        "each: {} timed runs after {} untimed; the time of one run includes its wait (or join); the child of fork calls _exit(0) at once, posix_spawn and exec run {PROGRAM}{}",
        args.count,
        args.trials.warmup,
        if args.trials.trials > 1 {
            format!(
                "; {} series of each, and the p50s below are their median",
                args.trials.trials
            )
        } else {
            String::new()
        }
    ));
    for placement in ["pinned", "unpinned"] {
        let Some(thread) = p50(done, Op::Thread, placement) else {
            continue;
        };
        let others: Vec<String> = [Op::Fork, Op::PosixSpawn, Op::ForkExec]
            .iter()
            .filter_map(|&op| {
                p50(done, op, placement).map(|v| format!("{} {}×", op.label(), sig3(v / thread)))
            })
            .collect();
        if !others.is_empty() {
            out.analysis(format_args!(
                "processes vs threads ({placement}, p50, against a thread's {}): {}",
                fmt_ns(thread),
                others.join(", ")
            ));
        }
    }
    for placement in ["pinned", "unpinned"] {
        if let (Some(std), Some(raw)) = (
            p50(done, Op::Thread, placement),
            p50(done, Op::Pthread, placement),
        ) {
            out.analysis(format_args!(
                "std::thread vs pthread_create ({placement}, p50): {}× ({} vs {}): std gives every thread a guarded signal stack (mmap, mprotect, sigaltstack, munmap) and reads its stack bounds",
                sig3(std / raw),
                fmt_ns(std),
                fmt_ns(raw)
            ));
        }
    }
    for op in Op::ALL {
        if let (Some(p), Some(u)) = (p50(done, op, "pinned"), p50(done, op, "unpinned")) {
            out.analysis(format_args!(
                "placement: {} unpinned/pinned p50 = {}× ({} vs {})",
                op.label(),
                sig3(u / p),
                fmt_ns(u),
                fmt_ns(p)
            ));
        }
    }
    if done.iter().any(|s| s.placement == "unpinned") && system.cpus_usable_count > 1 {
        out.analysis(
            "  unpinned, the child (or thread) may start on another CPU: that CPU has to be woken, and the parent's wakeup at the end crosses CPUs too",
        );
    }
    let faults: Vec<String> = Op::ALL
        .iter()
        .filter(|&&op| !matches!(op, Op::Thread | Op::Pthread))
        .filter_map(|&op| {
            done.iter()
                .find(|s| s.op == op)
                .map(|s| format!("{} {}", op.label(), sig3(s.child_minflt_per_op)))
        })
        .collect();
    if !faults.is_empty() {
        out.analysis(format_args!(
            "child minor faults per run (wait4's rusage): {} (a forked child faults on every page it writes, copy-on-write; an exec'd one on the program it loads)",
            faults.join(", ")
        ));
    }
    out.analysis(format_args!(
        "memory: RSS {}, page tables (VmPTE) {}{}: fork copies the page tables, so it slows as the parent grows; posix_spawn (clone with CLONE_VM | CLONE_VFORK) shares the parent's memory until exec and stays flat{}",
        rss_kib.map_or("?".into(), |k| format!("{} MiB", sig3(k as f64 / 1024.0))),
        page_tables_kib.map_or("?".into(), |k| format!("{k} KiB")),
        if args.rss > 0 {
            format!(" (with {} MiB touched by --rss)", args.rss)
        } else {
            String::new()
        },
        if args.rss == 0 {
            " (see --rss 256)"
        } else {
            ""
        }
    ));
    out.analysis(format_args!("lesson: {LESSON}"));
    out.analysis(
        "compare: taskset -c 0 lat_proc fork; lat_proc fork; lat_proc exec   (lmbench: fork+exit and fork+execve, median of 11); stress-ng --pthread 1 --metrics (ns to start a pthread)",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
