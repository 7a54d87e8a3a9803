//! cow_overhead: the lecture's copy_on_write_overhead.c. A parent touches every page of a
//! 131072-page mapping and forks; the child times reading one byte of every page, then writing
//! one.
//!
//! What the lecture wants you to see: after fork, parent and child share every page until one
//! of them writes. The child's reads cost nothing extra (no fault: fork copied the page-table
//! entries); its first write to each page faults, exactly once per page (`/proc/PID/stat` field
//! 10 grows by the page count), and the kernel copies the page. That write costs tens to hundreds
//! of times a write to memory that is already private, which the child measures too.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};
use oslab::kit::cli::{self, CommonArgs, TrialArgs, ranged};
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::stats::Spread;
use oslab::kit::timing::{self, Run, fmt_ns, lecture_ms, nanos_since, sig3};
use oslab::kit::{interrupt, pause, report};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::limits::check_memory;
use oslab::process::{self, Forked};
use oslab::sys::mman::{HugePages, Mapping, Sharing};
use procfs::FromRead;
use serde::{Deserialize, Serialize};

/// The lecture's `#define NPAGES (128 * 1024)`.
const NPAGES: u64 = 128 * 1024;
/// The most pages `--pages` takes (1 TiB of 4 KiB pages); MemAvailable decides below that.
const MAX_PAGES: u64 = 1 << 28;

/// Copy-on-write after fork: reading the shared pages is free, the first write to each one
/// faults and copies it.
///
/// The lecture's copy_on_write_overhead.c: the parent touches 131072 pages (512 MiB), forks,
/// and the child times a read of one byte per page (`Time for reading %d pages: %lu ms`), then a
/// write (`Time for writing to %d pages: %lu ms`). The analysis counts each phase's minor faults
/// (/proc/self/stat field 10 and getrusage) and compares a copy-on-write fault with a write to a
/// page that is already private. Huge pages are off for the mapping (MADV_NOHUGEPAGE), so the
/// count is the lecture's: one fault per 4 KiB page.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: cow_overhead --pages 16384   (then: cow_overhead --pages 16384 --shared; cow_overhead --pause)"
)]
struct Args {
    /// Pages in the mapping, one byte read and written per page [1-268435456]; a private
    /// mapping needs twice its size free (the parent's pages and the child's copies)
    #[arg(long, default_value_t = NPAGES, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(1, MAX_PAGES))]
    pages: u64,

    /// MAP_SHARED instead of MAP_PRIVATE: parent and child share the pages, nothing is copied
    #[arg(long)]
    shared: bool,

    /// MADV_HUGEPAGE instead of MADV_NOHUGEPAGE: 2 MiB pages where the kernel can give them
    #[arg(long)]
    thp: bool,

    /// Stop at the lecture's four points (child started, read, wrote; parent ending), each with
    /// the PID and the command that reads its minor faults (field 10 of /proc/PID/stat)
    #[arg(long)]
    pause: bool,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// The lecture's program, once: map, touch, fork; the child reads, writes, writes again.
fn trial(args: &Args, page: usize, out: Output, number: u32) -> anyhow::Result<Trial> {
    let pages = args.pages as usize;
    let pause = args.pause && number > 0; // warm-up runs never stop
    let sharing = if args.shared {
        Sharing::Shared
    } else {
        Sharing::Private
    };
    let huge = if args.thp {
        HugePages::Wanted
    } else {
        HugePages::Never
    };

    // mem = malloc(NPAGES * page_size);
    let mapping = Mapping::new(pages * page, sharing, huge)?;
    let mem = mapping.bytes();
    // for (i = 0; i < NPAGES; i++) mem[i * page_size] = 'a';   /* demand every page now */
    let touch = Phase::measure(&mut Faults::open()?, args.pages, || {
        for i in 0..pages {
            mem[i * page].store(b'a', Relaxed);
        }
    })?;

    let (from_child, to_parent) = nix::unistd::pipe().context("pipe failed")?;
    let single = SingleThreaded::check()?;
    let fork_start = Instant::now();
    // pid = fork();
    let child = match process::fork(&single)? {
        Forked::Child => {
            drop(from_child);
            process::run_child(|| {
                let report = child_reads_and_writes(mem, page, args.pages, pause, out);
                let ok = report.error.is_none();
                let json = serde_json::to_vec(&report).unwrap_or_default();
                let sent = std::fs::File::from(to_parent).write_all(&json).is_ok();
                if ok && sent { 0 } else { 1 }
            })
        }
        Forked::Parent(child) => child,
    };
    let fork_ns = nanos_since(fork_start);
    let child_pid = child.pid().as_raw();
    drop(to_parent); // so that reading reaches the end when the child exits

    // waitpid(pid, NULL, 0);   (unless Ctrl-C comes first: then the child is killed and reaped)
    let mut trial = Trial {
        trial: number,
        read_ms: 0,
        write_ms: 0,
        touch,
        fork_ns,
        child_pid,
        read: Phase::default(),
        write: Phase::default(),
        rewrite: Phase::default(),
        ns_per_fault: None,
        write_vs_rewrite: 0.0,
        complete: false,
    };
    let process::Waited::Ended { exit, .. } = process::wait_or_stop(child)? else {
        return Ok(trial); // Ctrl-C: the child has been killed and reaped
    };
    let mut sent = Vec::new();
    std::fs::File::from(from_child).read_to_end(&mut sent)?;
    let report: ChildReport = serde_json::from_slice(&sent).unwrap_or_default();
    if let Some(error) = report.error {
        bail!("the child failed: {error}");
    }
    if !exit.success() || sent.is_empty() {
        bail!("the child {exit} before it reported its figures");
    }
    pause::point(
        pause,
        "Parent process ending",
        &fault_command(std::process::id()),
    );
    trial.read = report.read;
    trial.write = report.write;
    trial.rewrite = report.rewrite;
    trial.read_ms = lecture_ms(std::time::Duration::from_nanos(report.read.elapsed_ns));
    trial.write_ms = lecture_ms(std::time::Duration::from_nanos(report.write.elapsed_ns));
    trial.ns_per_fault = (report.write.minflt > 0)
        .then(|| report.write.elapsed_ns as f64 / report.write.minflt as f64);
    trial.write_vs_rewrite = report.write.ns_per_page / report.rewrite.ns_per_page.max(0.001);
    trial.complete = true;
    Ok(trial)
}

/// The child's part, as in the lecture: read every page, then write every page. It prints the
/// lecture's lines itself, pausing where the lecture pauses; then it writes every page once
/// more, now private, for comparison.
fn child_reads_and_writes(
    mem: &[AtomicU8],
    page: usize,
    npages: u64,
    pause: bool,
    out: Output,
) -> ChildReport {
    let mut report = ChildReport::default();
    let pages = npages as usize;
    let here = fault_command(std::process::id());
    let mut run = || -> anyhow::Result<()> {
        let mut faults = Faults::open()?;
        pause::point(pause, "Child process started", &here);

        // for (i = 0; i < NPAGES; i++) c = mem[i * page_size];
        let mut c = 0u8;
        report.read = Phase::measure(&mut faults, npages, || {
            for i in 0..pages {
                c = c.wrapping_add(mem[i * page].load(Relaxed));
            }
        })?;
        let c = std::hint::black_box(c);
        out.lecture(format_args!(
            "Time for reading {} pages: {} ms",
            npages,
            ms(report.read.elapsed_ns)
        ));
        pause::point(pause, "Child process read pages", &here);

        let write_every_page = |value: u8| {
            for i in 0..pages {
                mem[i * page].store(value, Relaxed);
            }
        };
        // for (i = 0; i < NPAGES; i++) mem[i * page_size] = c + 1;   /* copy-on-write */
        report.write = Phase::measure(&mut faults, npages, || write_every_page(c.wrapping_add(1)))?;
        out.lecture(format_args!(
            "Time for writing to {} pages: {} ms",
            npages,
            ms(report.write.elapsed_ns)
        ));
        pause::point(pause, "Child process wrote pages", &here);

        // Not in the lecture: the same writes again, to pages that are now the child's own.
        report.rewrite =
            Phase::measure(&mut faults, npages, || write_every_page(c.wrapping_add(2)))?;
        Ok(())
    };
    if let Err(e) = run() {
        report.error = Some(format!("{e:#}"));
    }
    report
}

/// One timed pass over the pages, with its minor faults counted twice: `/proc/self/stat`
/// field 10, as the lecture reads it, and `getrusage(RUSAGE_SELF)`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Phase {
    pages: u64,
    elapsed_ns: u64,
    ns_per_page: f64,
    /// Minor faults, from /proc/self/stat field 10.
    minflt: u64,
    /// Minor faults, from getrusage's ru_minflt.
    minflt_rusage: u64,
    majflt: u64,
}

/// The minor-fault counters, read both ways, back to back: `/proc/self/stat` (kept open, read
/// with one `pread` into a buffer on the stack, parsed by the procfs crate) and getrusage.
/// Nothing between the two reads allocates a new heap page or deepens the stack, so a stray
/// fault of the counting code itself (in the child, every first write to a heap or stack page
/// is a copy-on-write fault too) cannot land in one count and not the other.
struct Faults {
    stat: std::fs::File,
}

/// One reading: (minor, major) faults from /proc, minor faults from getrusage.
#[derive(Clone, Copy)]
struct Reading {
    minflt: u64,
    majflt: u64,
    rusage: u64,
}

impl Faults {
    fn open() -> anyhow::Result<Faults> {
        let stat = std::fs::File::open("/proc/self/stat").context("cannot open /proc/self/stat")?;
        let mut faults = Faults { stat };
        // Warm up: the parser's allocations come from the heap from now on, and the clock's
        // data page (the vDSO's, which a forked child maps on first use) is mapped.
        for _ in 0..2 {
            faults.read()?;
            std::hint::black_box(Instant::now());
        }
        Ok(faults)
    }

    fn read(&mut self) -> anyhow::Result<Reading> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 2048];
        let n = self
            .stat
            .read_at(&mut buf, 0)
            .context("cannot read /proc/self/stat")?;
        let stat =
            procfs::process::Stat::from_read(&buf[..n]).context("cannot parse /proc/self/stat")?;
        let rusage = getrusage(UsageWho::RUSAGE_SELF)?.minor_page_faults().max(0) as u64;
        Ok(Reading {
            minflt: stat.minflt,
            majflt: stat.majflt,
            rusage,
        })
    }
}

impl Phase {
    /// Times `pass` over `pages` pages and counts its faults.
    fn measure(faults: &mut Faults, pages: u64, pass: impl FnOnce()) -> anyhow::Result<Phase> {
        let before = faults.read()?;
        let start = Instant::now();
        pass();
        let elapsed_ns = nanos_since(start);
        let after = faults.read()?;
        Ok(Phase {
            pages,
            elapsed_ns,
            ns_per_page: elapsed_ns as f64 / pages as f64,
            minflt: after.minflt.saturating_sub(before.minflt),
            minflt_rusage: after.rusage.saturating_sub(before.rusage),
            majflt: after.majflt.saturating_sub(before.majflt),
        })
    }
}

/// What the child sends its parent through a pipe, so that one process writes the report.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ChildReport {
    read: Phase,
    write: Phase,
    rewrite: Phase,
    error: Option<String>,
}

/// One run of the lecture's program: one CSV row.
#[derive(Clone, Debug, Serialize)]
struct Trial {
    trial: u32,
    /// The lecture's two figures, whole ms.
    read_ms: u64,
    write_ms: u64,
    /// The parent's first touch of every page (zero-fill faults), before fork.
    touch: Phase,
    /// fork() itself, in the parent: it copies the page tables.
    fork_ns: u64,
    child_pid: i32,
    /// The child's passes: read one byte per page, write one (copy-on-write), write again.
    read: Phase,
    write: Phase,
    rewrite: Phase,
    /// The write phase's time per fault (when it faulted).
    ns_per_fault: Option<f64>,
    /// A first write after fork over a write to a page that is already private.
    write_vs_rewrite: f64,
    /// False when Ctrl-C stopped the run before the child reported.
    complete: bool,
}

#[derive(Serialize)]
struct Params {
    pages: u64,
    page_size: u64,
    bytes: u64,
    sharing: &'static str,
    huge_pages: &'static str,
    pause: bool,
    trials: u32,
    warmup: u32,
    cpu: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    read_ms: Option<Spread>,
    write_ms: Option<Spread>,
    write_ns_per_page: Option<Spread>,
    rewrite_ns_per_page: Option<Spread>,
}

#[derive(Serialize)]
struct Results {
    trials: Vec<Trial>,
    summary: Summary,
}

impl Results {
    /// The last trial the child finished.
    fn last_complete(&self) -> Option<&Trial> {
        self.trials.iter().rev().find(|t| t.complete)
    }
}

/// The command that reads a process's minor faults, as the lecture's slide does.
fn fault_command(pid: u32) -> String {
    format!("cut -d' ' -f10 /proc/{pid}/stat   (field 10: minor faults)")
}

fn ms(ns: u64) -> u64 {
    lecture_ms(std::time::Duration::from_nanos(ns))
}

fn main() -> ExitCode {
    let (args, _cmd) = cli::parse::<Args>("cow_overhead", |c| c);
    cli::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let system = Machine::collect();
    let page = system.page_size as usize;
    let bytes = args
        .pages
        .checked_mul(page as u64)
        .context("--pages × page size overflows")?;
    // A private mapping ends up twice: the parent's pages and the child's copies.
    let copies = if args.shared { 1 } else { 2 };
    check_memory(
        bytes.saturating_mul(copies),
        &format!(
            "{} pages of {page} B{}",
            args.pages,
            if args.shared {
                ""
            } else {
                ", and the child's copies of them,"
            }
        ),
    )?;

    // A warm-up's child prints nothing.
    let silent = Output {
        format: report::Format::Json,
        quiet: true,
    };
    let before = Snapshot::of_self()?;
    let trials = timing::run_trials(
        args.trials.warmup,
        args.trials.trials,
        |r| match r {
            Run::Warmup(_) => trial(&args, page, silent, 0),
            Run::Trial(n) => trial(&args, page, out, n),
        },
        |_| {},
        |_| true,
    )?;
    let counters = before.delta(&Snapshot::of_self()?);
    if let Some(signal) = trials.interrupted {
        eprintln!(
            "cow_overhead: stopped by {signal} after {} of {} trials; results are partial",
            trials.done.iter().filter(|t| t.complete).count(),
            args.trials.trials
        );
    }
    let done = trials.done;
    let complete = || done.iter().filter(|t| t.complete);
    let summary = Summary {
        read_ms: Spread::of(complete().map(|t| t.read_ms as f64)),
        write_ms: Spread::of(complete().map(|t| t.write_ms as f64)),
        write_ns_per_page: Spread::of(complete().map(|t| t.write.ns_per_page)),
        rewrite_ns_per_page: Spread::of(complete().map(|t| t.rewrite.ns_per_page)),
    };
    let results = Results {
        trials: done,
        summary,
    };
    analyse(&args, &out, &system, &results);
    let last = results.last_complete();

    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "cow_overhead",
        schema_version: SCHEMA_VERSION,
        params: Params {
            pages: args.pages,
            page_size: page as u64,
            bytes,
            sharing: if args.shared { "shared" } else { "private" },
            huge_pages: if args.thp {
                "madv_hugepage"
            } else {
                "madv_nohugepage"
            },
            pause: args.pause,
            trials: args.trials.trials,
            warmup: args.trials.warmup,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: match last {
            Some(t) => format!(
                "write after fork: {} faults for {} pages, {} per page vs {} already private ({}×)",
                t.write.minflt,
                args.pages,
                fmt_ns(t.write.ns_per_page),
                fmt_ns(t.rewrite.ns_per_page),
                sig3(t.write_vs_rewrite)
            ),
            None => "stopped before the child reported".into(),
        },
        lesson: lesson(&args).into(),
        partial: trials.interrupted.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &report.results.trials)?;
    Ok(interrupt::exit_status(trials.interrupted))
}

fn lesson(args: &Args) -> &'static str {
    if args.shared {
        "a MAP_SHARED mapping is one set of pages for parent and child: writes after fork copy nothing and fault nowhere"
    } else {
        "fork shares every page until someone writes: the first write to each page faults once and copies it, costing tens to hundreds of plain writes"
    }
}

/// The analysis after the lecture's lines: each phase's faults and cost, and what they mean.
fn analyse(args: &Args, out: &Output, system: &Machine, results: &Results) {
    let (summary, last) = (&results.summary, results.last_complete());
    let n = results.trials.iter().filter(|t| t.complete).count();
    if n > 1 {
        let spread = |s: &Option<Spread>, unit: &str| {
            s.map_or("-".into(), |s| {
                let f = |x: f64| {
                    if x.fract() == 0.0 {
                        format!("{x:.0}")
                    } else {
                        sig3(x)
                    }
                };
                format!(
                    "min {} / median {} / max {} {unit}",
                    f(s.min),
                    f(s.median),
                    f(s.max)
                )
            })
        };
        out.analysis(format_args!(
            "over {n} trials: reading {}; writing {}",
            spread(&summary.read_ms, "ms"),
            spread(&summary.write_ms, "ms")
        ));
    }
    let page = system.page_size;
    out.analysis(format_args!(
        "mapping: {} pages × {page} B = {}, {}, {} (system THP mode: {})",
        args.pages,
        mib(args.pages * page),
        if args.shared {
            "MAP_SHARED"
        } else {
            "MAP_PRIVATE"
        },
        if args.thp {
            "MADV_HUGEPAGE"
        } else {
            "MADV_NOHUGEPAGE"
        },
        system.thp
    ));
    let Some(t) = last else {
        out.analysis("the run stopped before the child reported its figures");
        return;
    };
    let row = |what: &str, p: &Phase| {
        vec![
            what.to_string(),
            fmt_ns(p.elapsed_ns as f64),
            fmt_ns(p.ns_per_page),
            p.minflt.to_string(),
            p.minflt_rusage.to_string(),
        ]
    };
    let rows = vec![
        row("parent: first touch (zero-fill)", &t.touch),
        vec![
            "parent: fork()".into(),
            fmt_ns(t.fork_ns as f64),
            String::new(),
            String::new(),
            String::new(),
        ],
        row("child: read", &t.read),
        row("child: write (the lecture's)", &t.write),
        row("child: write again", &t.rewrite),
    ];
    if out.is_text() && !out.quiet {
        report::print_raw_table(&report::table(
            &["phase", "time", "per page", "minflt /proc", "getrusage"],
            &rows,
            true,
        ));
    }
    let agree = if t.write.minflt == t.write.minflt_rusage && t.read.minflt == t.read.minflt_rusage
    {
        "/proc/self/stat field 10 and getrusage agree".to_string()
    } else {
        format!(
            "/proc/self/stat field 10 and getrusage differ by {} (a fault between the two reads)",
            t.write.minflt.abs_diff(t.write.minflt_rusage)
                + t.read.minflt.abs_diff(t.read.minflt_rusage)
        )
    };
    if args.shared {
        out.analysis(format_args!(
            "shared: the child's writes faulted {} times for {} pages: parent and child use the same pages, nothing is copied ({agree})",
            t.write.minflt, args.pages
        ));
        out.analysis(format_args!(
            "  its reads faulted {} times: fork does not copy a shared mapping's page tables, so the child maps the pages on first touch (several per fault: fault-around); no copy either",
            t.read.minflt
        ));
    } else {
        out.analysis(format_args!(
            "copy-on-write: the child's first write faulted {} times for {} pages ({agree}); {} per fault, {}× a write to a page that is already private ({} per page)",
            t.write.minflt,
            args.pages,
            t.ns_per_fault.map_or("-".into(), fmt_ns),
            sig3(t.write_vs_rewrite),
            fmt_ns(t.rewrite.ns_per_page)
        ));
        out.analysis(format_args!(
            "  reads faulted {} times: fork copied the page-table entries (in {}), so the child reads the parent's pages in place until it writes",
            t.read.minflt,
            fmt_ns(t.fork_ns as f64)
        ));
    }
    if args.thp {
        out.analysis(format_args!(
            "  huge pages: the parent's first touch faulted {} times for {} pages ({} 4 KiB pages per fault){}",
            t.touch.minflt,
            args.pages,
            sig3(args.pages as f64 / t.touch.minflt.max(1) as f64),
            if system.thp == "never" {
                "; the system's THP mode is never, so MADV_HUGEPAGE changes nothing"
            } else {
                ""
            }
        ));
    }
    out.analysis(format_args!("lesson: {}", lesson(args)));
    out.analysis(
        "compare: perf stat -e minor-faults -- cow_overhead   (and stress-ng --mmapcow 1 --metrics: nanosecs per page modification, stress-ng ≥ 0.17)",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", sig3(bytes as f64 / (1 << 20) as f64))
}
