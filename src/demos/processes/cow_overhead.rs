//! `cow_overhead`'s lab bench: the fault counters read back, the child's report, the trials,
//! and the analysis of what copy-on-write cost.
//!
//! The binary holds the lecture's program (map, touch, fork; the child reads, then writes);
//! this module counts each phase's minor faults (`/proc/self/stat` field 10 and getrusage),
//! carries the child's figures to its parent over the one [`channel`], and checks the
//! lecture's claim: the child's reads fault nowhere and its first write to each page faults
//! once (`--shared`: never; `--thp`: the faults come a huge page at a time).

use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use procfs::FromRead;
use serde::{Deserialize, Serialize};

use crate::kit::cli::{Chain, TrialArgs};
use crate::kit::plot;
use crate::kit::report::{self, Output};
use crate::kit::stats::{Spread, median};
use crate::kit::timing::{self, Run, fmt_ns, lecture_ms, nanos_since, sig3};
use crate::kit::{Context, Findings, Session, Verdict, pause, words};
use crate::process::channel::{Next, Receiver, Sender};
use crate::process::limits::check_memory;
use crate::process::{self, Child};
use crate::sys::mman::{HugePages, Sharing};
use crate::{Error, Result};

/// The lecture's `#define NPAGES (128 * 1024)`.
pub const NPAGES: u64 = 128 * 1024;
/// The most pages `--pages` takes (1 TiB of 4 KiB pages); MemAvailable decides below that.
pub const MAX_PAGES: u64 = 1 << 28;
/// A transparent huge page: 2 MiB on x86-64 and arm64 (4 KiB base pages).
const HUGE_PAGE: u64 = 2 << 20;

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub pages: u64,
    pub page_size: u64,
    pub bytes: u64,
    /// `private` (MAP_PRIVATE, copy-on-write) or `shared` (MAP_SHARED).
    pub sharing: &'static str,
    /// `madv_nohugepage` (the lecture's 4 KiB pages) or `madv_hugepage` (`--thp`).
    pub huge_pages: &'static str,
    pub pause: bool,
    pub trials: u32,
    pub warmup: u32,
}

impl Params {
    /// The parameters of `--pages`, `--shared`, `--thp`, `--pause` and the trial flags.
    pub fn of(pages: u64, shared: bool, thp: bool, pause: bool, trials: &TrialArgs) -> Params {
        let page_size = procfs::page_size();
        Params {
            pages,
            page_size,
            bytes: pages.saturating_mul(page_size),
            sharing: if shared { "shared" } else { "private" },
            huge_pages: if thp {
                "madv_hugepage"
            } else {
                "madv_nohugepage"
            },
            pause,
            trials: trials.trials,
            warmup: trials.warmup,
        }
    }

    fn shared(&self) -> bool {
        self.sharing == "shared"
    }

    fn thp(&self) -> bool {
        self.huge_pages == "madv_hugepage"
    }

    /// How the mapping is shared across fork.
    pub fn sharing(&self) -> Sharing {
        if self.shared() {
            Sharing::Shared
        } else {
            Sharing::Private
        }
    }

    /// What the mapping asks of huge pages: none (the lecture's count) unless `--thp`.
    pub fn huge(&self) -> HugePages {
        if self.thp() {
            HugePages::Wanted
        } else {
            HugePages::Never
        }
    }

    /// The claim this run checks.
    fn claim(&self) -> Claim {
        if self.shared() {
            Claim::Shared
        } else if self.thp() {
            Claim::Huge
        } else {
            Claim::Private
        }
    }

    /// Base pages in one huge page (512 with 4 KiB pages).
    fn per_huge_page(&self) -> u64 {
        (HUGE_PAGE / self.page_size.max(1)).max(1)
    }
}

/// What the lecture claims for each kind of mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    /// MAP_PRIVATE, 4 KiB pages: reads are free, the first write to each page faults once.
    Private,
    /// MAP_SHARED: nothing is ever copied.
    Shared,
    /// MADV_HUGEPAGE: the faults come a huge page at a time.
    Huge,
}

impl Claim {
    fn text(self) -> &'static str {
        match self {
            Claim::Private => {
                "after fork the child's reads of the parent's pages fault nowhere, and its first write to each page faults once (and copies it)"
            }
            Claim::Shared => {
                "a MAP_SHARED mapping is never copied, so the child's writes fault nowhere"
            }
            Claim::Huge => {
                "with huge pages the count changes: the parent's first touch faults once per 2 MiB, not once per 4 KiB page"
            }
        }
    }
}

/// The faults a phase may show beyond the lecture's count and still count as "none" or "one per
/// page": the counting code's own first writes to its stack and heap, which are copy-on-write
/// faults in the child too.
fn slack(pages: u64) -> u64 {
    (pages / 100).max(16)
}

/// `faulted 3 times`, `faulted once`, `never faulted`.
fn faulted(n: u64) -> String {
    match n {
        0 => "never faulted".into(),
        n => format!("faulted {}", words::times(n)),
    }
}

// ---------------------------------------------------------------------------------------------
// Counting faults.

/// One timed pass over the pages, with its minor faults counted twice: `/proc/self/stat`
/// field 10, as the lecture reads it, and `getrusage(RUSAGE_SELF)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub pages: u64,
    pub elapsed_ns: u64,
    pub ns_per_page: f64,
    /// Minor faults, from /proc/self/stat field 10.
    pub minflt: u64,
    /// Minor faults, from getrusage's ru_minflt.
    pub minflt_rusage: u64,
    pub majflt: u64,
}

impl Phase {
    /// The lecture's figure: whole milliseconds.
    pub fn ms(&self) -> u64 {
        lecture_ms(Duration::from_nanos(self.elapsed_ns))
    }
}

/// The minor-fault counters, read both ways, back to back: `/proc/self/stat` (kept open, read
/// with one `pread` into a buffer on the stack, parsed by the procfs crate) and getrusage.
/// Nothing between the two reads allocates a new heap page or deepens the stack, so a stray
/// fault of the counting code itself (in the child, every first write to a heap or stack page
/// is a copy-on-write fault too) cannot land in one count and not the other.
pub struct Faults {
    stat: std::fs::File,
    /// The pages each pass goes over.
    pages: u64,
}

/// One reading: (minor, major) faults from /proc, minor faults from getrusage.
#[derive(Clone, Copy)]
struct Reading {
    minflt: u64,
    majflt: u64,
    rusage: u64,
}

impl Faults {
    /// Opens `/proc/self/stat` (of the process that calls it: open it again after fork), to
    /// count the faults of passes over `pages` pages.
    pub fn open(pages: u64) -> Result<Faults> {
        let stat = std::fs::File::open("/proc/self/stat")
            .map_err(|e| Error::proc("/proc/self/stat", e.into()))?;
        let mut faults = Faults { stat, pages };
        // Warm up: the parser's allocations come from the heap from now on, and the clock's
        // data page (the vDSO's, which a forked child maps on first use) is mapped.
        for _ in 0..2 {
            faults.read()?;
            std::hint::black_box(Instant::now());
        }
        Ok(faults)
    }

    /// Times `pass` over the pages and counts its faults.
    pub fn measure(&mut self, pass: impl FnOnce()) -> Result<Phase> {
        let before = self.read()?;
        let start = Instant::now();
        pass();
        let elapsed_ns = nanos_since(start);
        let after = self.read()?;
        Ok(Phase {
            pages: self.pages,
            elapsed_ns,
            ns_per_page: elapsed_ns as f64 / self.pages.max(1) as f64,
            minflt: after.minflt.saturating_sub(before.minflt),
            minflt_rusage: after.rusage.saturating_sub(before.rusage),
            majflt: after.majflt.saturating_sub(before.majflt),
        })
    }

    fn read(&mut self) -> Result<Reading> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 2048];
        let n = self
            .stat
            .read_at(&mut buf, 0)
            .map_err(|e| Error::proc("/proc/self/stat", e.into()))?;
        let stat = procfs::process::Stat::from_read(&buf[..n])
            .map_err(|e| Error::proc("/proc/self/stat", e))?;
        let rusage = getrusage(UsageWho::RUSAGE_SELF)
            .map_err(|e| Error::sys("getrusage", e))?
            .minor_page_faults()
            .max(0) as u64;
        Ok(Reading {
            minflt: stat.minflt,
            majflt: stat.majflt,
            rusage,
        })
    }
}

/// Where a warm-up run's lines go: nowhere (its lecture lines are not printed).
/// The command that reads a process's minor faults, as the lecture's slide does.
fn fault_command(pid: u32) -> String {
    format!("cut -d' ' -f10 /proc/{pid}/stat   (field 10: minor faults)")
}

/// One of the lecture's pause points, in this process: its PID and the command that reads its
/// minor faults.
pub fn pause(enabled: bool, what: &str) {
    pause::point(enabled, what, &fault_command(std::process::id()));
}

// ---------------------------------------------------------------------------------------------
// The child's report and the trial it completes.

/// What the child sends its parent, so that one process writes the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildReport {
    pub read: Phase,
    pub write: Phase,
    pub rewrite: Phase,
    pub error: Option<String>,
}

impl ChildReport {
    /// The child's three passes: read, write (copy-on-write), write again.
    pub fn of(read: Phase, write: Phase, rewrite: Phase) -> ChildReport {
        ChildReport {
            read,
            write,
            rewrite,
            error: None,
        }
    }
}

/// In the child: sends what it measured (or why it could not) and gives its exit code.
pub fn send(sender: &Sender<ChildReport>, measured: Result<ChildReport>) -> i32 {
    let report = measured.unwrap_or_else(|e| {
        let mut error = Chain(e).to_string();
        // One message must fit in PIPE_BUF: cut a long error at a character boundary.
        let cut = (0..=error.len().min(1000))
            .rev()
            .find(|&i| error.is_char_boundary(i))
            .unwrap_or(0);
        error.truncate(cut);
        ChildReport {
            error: Some(error),
            ..ChildReport::default()
        }
    });
    let failed = report.error.is_some();
    match sender.send(&report) {
        Ok(()) if !failed => 0,
        _ => 1,
    }
}

/// In the parent of trial `number`, which measured the first `touch` and the `fork`: waits
/// for the child (unless Ctrl-C comes first: then it is killed and reaped, and the trial is
/// incomplete), reads its report, stops at the last pause point if it `pauses`.
pub fn reap(
    child: Child,
    mut reports: Receiver<ChildReport>,
    number: u32,
    touch: Phase,
    fork_ns: u64,
    pauses: bool,
) -> Result<Trial> {
    let mut trial = Trial::started(number, touch, fork_ns, child.pid().as_raw());
    let process::Waited::Ended { exit, .. } = process::wait_or_stop(child)? else {
        return Ok(trial);
    };
    let report = match reports.next(None)? {
        Next::Message(report) => report,
        Next::Stopped(_) => return Ok(trial),
        Next::End | Next::TimedOut => {
            return Err(Error::Channel(format!(
                "the child {exit} before it reported its figures"
            )));
        }
    };
    if let Some(error) = report.error {
        return Err(Error::Channel(format!("the child failed: {error}")));
    }
    pause(pauses, "Parent process ending");
    trial.complete_with(&report);
    Ok(trial)
}

/// One run of the lecture's program: one CSV row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trial {
    pub trial: u32,
    /// The lecture's two figures, whole ms.
    pub read_ms: u64,
    pub write_ms: u64,
    /// The parent's first touch of every page (zero-fill faults), before fork.
    pub touch: Phase,
    /// fork() itself, in the parent: it copies the page tables.
    pub fork_ns: u64,
    pub child_pid: i32,
    /// The child's passes: read one byte per page, write one (copy-on-write), write again.
    pub read: Phase,
    pub write: Phase,
    pub rewrite: Phase,
    /// The write phase's time per fault (when it faulted).
    pub ns_per_fault: Option<f64>,
    /// A first write after fork over a write to a page that is already private.
    pub write_vs_rewrite: f64,
    /// False when Ctrl-C stopped the run before the child reported.
    pub complete: bool,
}

impl Trial {
    /// Trial `number`, as the parent knows it before the child reports.
    fn started(number: u32, touch: Phase, fork_ns: u64, child_pid: i32) -> Trial {
        Trial {
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
        }
    }

    fn complete_with(&mut self, r: &ChildReport) {
        self.read = r.read;
        self.write = r.write;
        self.rewrite = r.rewrite;
        self.read_ms = r.read.ms();
        self.write_ms = r.write.ms();
        self.ns_per_fault =
            (r.write.minflt > 0).then(|| r.write.elapsed_ns as f64 / r.write.minflt as f64);
        self.write_vs_rewrite = r.write.ns_per_page / r.rewrite.ns_per_page.max(0.001);
        self.complete = true;
    }
}

/// Min/median/max over the completed trials.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub read_ms: Option<Spread>,
    pub write_ms: Option<Spread>,
    pub write_ns_per_page: Option<Spread>,
    pub rewrite_ns_per_page: Option<Spread>,
}

/// The results: every trial, and their summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub trials: Vec<Trial>,
    pub summary: Summary,
}

impl Results {
    fn of(trials: Vec<Trial>) -> Results {
        let complete = || trials.iter().filter(|t| t.complete);
        let summary = Summary {
            read_ms: Spread::of(complete().map(|t| t.read_ms as f64)),
            write_ms: Spread::of(complete().map(|t| t.write_ms as f64)),
            write_ns_per_page: Spread::of(complete().map(|t| t.write.ns_per_page)),
            rewrite_ns_per_page: Spread::of(complete().map(|t| t.rewrite.ns_per_page)),
        };
        Results { trials, summary }
    }

    /// The last trial the child finished.
    fn last_complete(&self) -> Option<&Trial> {
        self.trials.iter().rev().find(|t| t.complete)
    }
}

/// The trials: checks that the memory is there, then runs the warm-ups (silent: their child
/// prints nothing) and the timed trials. `trial` is the lecture's program, given where its
/// lines go and which run it is.
pub fn trials(
    s: &Session,
    p: &Params,
    mut trial: impl FnMut(Output, Run) -> Result<Trial>,
) -> Result<Results> {
    // A private mapping ends up twice: the parent's pages and the child's copies.
    let copies = if p.shared() { 1 } else { 2 };
    check_memory(
        p.bytes.saturating_mul(copies),
        &format!(
            "{} pages of {} B{}",
            p.pages,
            p.page_size,
            if p.shared() {
                ""
            } else {
                ", and the child's copies of them,"
            }
        ),
    )?;
    let silent = Output::silent();
    let done = timing::run_trials(
        p.warmup,
        p.trials,
        |r| match r {
            Run::Warmup(_) => trial(silent, r),
            Run::Trial(_) => trial(s.out, r),
        },
        |_| {},
        |_| true,
    )?;
    Ok(Results::of(done.done))
}

// ---------------------------------------------------------------------------------------------
// What the run found.

impl Findings for Results {
    type Params = Params;
    type Row = Trial;

    fn headline(&self, p: &Params) -> String {
        match self.last_complete() {
            Some(t) => format!(
                "write after fork: {} for {}, {} per page vs {} already private ({}×)",
                words::count(t.write.minflt, "fault"),
                words::count(p.pages, "page"),
                fmt_ns(t.write.ns_per_page),
                fmt_ns(t.rewrite.ns_per_page),
                sig3(t.write_vs_rewrite)
            ),
            None => "stopped before the child reported".into(),
        }
    }

    fn analysis(&self, p: &Params, cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let n = self.trials.iter().filter(|t| t.complete).count();
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
            lines.push(format!(
                "over {n} trials: reading {}; writing {}",
                spread(&self.summary.read_ms, "ms"),
                spread(&self.summary.write_ms, "ms")
            ));
        }
        let thp = &cx.machine.thp;
        lines.push(format!(
            "mapping: {} pages × {} B = {}, {}, {} (system THP mode: {thp})",
            p.pages,
            p.page_size,
            mib(p.bytes),
            if p.shared() {
                "MAP_SHARED"
            } else {
                "MAP_PRIVATE"
            },
            if p.thp() {
                "MADV_HUGEPAGE"
            } else {
                "MADV_NOHUGEPAGE"
            },
        ));
        let Some(t) = self.last_complete() else {
            lines.push("the run stopped before the child reported its figures".into());
            return lines;
        };
        lines.extend(phase_table(t).lines().map(String::from));
        let agree = if t.write.minflt == t.write.minflt_rusage
            && t.read.minflt == t.read.minflt_rusage
        {
            "/proc/self/stat field 10 and getrusage agree".to_string()
        } else {
            format!(
                "/proc/self/stat field 10 and getrusage differ by {} (a fault between the two reads)",
                t.write.minflt.abs_diff(t.write.minflt_rusage)
                    + t.read.minflt.abs_diff(t.read.minflt_rusage)
            )
        };
        if p.shared() {
            lines.push(format!(
                "shared: the child's writes {} for {}: parent and child use the same pages, nothing is copied ({agree})",
                faulted(t.write.minflt),
                words::count(p.pages, "page")
            ));
            lines.push(format!(
                "  its reads {}: fork does not copy a shared mapping's page tables, so the child maps the pages on first touch (several per fault: fault-around); no copy either",
                faulted(t.read.minflt)
            ));
        } else {
            lines.push(format!(
                "copy-on-write: the child's first write {} for {} ({agree}); {} per fault, {}× a write to a page that is already private ({} per page)",
                faulted(t.write.minflt),
                words::count(p.pages, "page"),
                t.ns_per_fault.map_or("-".into(), fmt_ns),
                sig3(t.write_vs_rewrite),
                fmt_ns(t.rewrite.ns_per_page)
            ));
            lines.push(format!(
                "  reads {}: fork copied the page-table entries (in {}), so the child reads the parent's pages in place until it writes",
                faulted(t.read.minflt),
                fmt_ns(t.fork_ns as f64)
            ));
        }
        if p.thp() {
            lines.push(format!(
                "  huge pages: the parent's first touch {} for {} ({} 4 KiB pages per fault){}",
                faulted(t.touch.minflt),
                words::count(p.pages, "page"),
                sig3(p.pages as f64 / t.touch.minflt.max(1) as f64),
                if thp == "never" {
                    "; the system's THP mode is never, so MADV_HUGEPAGE changes nothing"
                } else {
                    ""
                }
            ));
        }
        lines
    }

    fn verdict(&self, p: &Params, cx: &Context<'_>) -> Verdict {
        let claim = p.claim();
        let Some(t) = self.last_complete() else {
            return Verdict::unchecked(claim.text(), "stopped before the child reported");
        };
        let (pages, slack) = (p.pages, slack(p.pages));
        let (read, write) = (t.read.minflt, t.write.minflt);
        let figures = format!(
            "the child's reads {} and its writes {} for {}",
            faulted(read),
            faulted(write),
            words::count(pages, "page")
        );
        match claim {
            Claim::Private => {
                let reads_free = read <= slack;
                let once_per_page = write.abs_diff(pages) <= slack;
                let mut because =
                    format!("{figures} ({} per page)", sig3(write as f64 / pages as f64));
                if !(reads_free && once_per_page) {
                    because.push_str(": ");
                    because.push_str(&private_reason(t, p, &cx.machine.thp));
                }
                Verdict::check(claim.text(), reads_free && once_per_page, because)
            }
            Claim::Shared => {
                let held = write <= slack;
                let mut because = figures;
                if held {
                    because.push_str(
                        " (the reads map the shared pages on first touch; none is copied)",
                    );
                } else {
                    because.push_str(&format!(
                        ": the writes mapped {} the reads had not (a shared page is mapped, never copied, on a write fault)",
                        words::count(write, "page")
                    ));
                }
                Verdict::check(claim.text(), held, because)
            }
            Claim::Huge => {
                let touch = t.touch.minflt;
                let held = touch.saturating_add(slack) < pages;
                let mut because = format!(
                    "the parent's first touch {} for {} ({} pages per fault, {} in a huge page); {}",
                    faulted(touch),
                    words::count(pages, "page"),
                    sig3(pages as f64 / touch.max(1) as f64),
                    p.per_huge_page(),
                    copy_of_huge(t, p)
                );
                if !held {
                    because.push_str(": ");
                    because.push_str(&no_huge_reason(p, &cx.machine.thp));
                }
                Verdict::check(claim.text(), held, because)
            }
        }
    }

    fn lesson(&self, p: &Params, cx: &Context<'_>) -> String {
        let claim = p.claim();
        let Some(t) = self.last_complete() else {
            return match claim {
                Claim::Private | Claim::Huge => {
                    "fork shares every page until someone writes: the first write to each page faults and copies it (the run stopped before the child measured it)".into()
                }
                Claim::Shared => {
                    "a MAP_SHARED mapping is one set of pages for parent and child (the run stopped before the child measured it)".into()
                }
            };
        };
        let verdict = self.verdict(p, cx);
        let pages = words::count(p.pages, "page");
        let per_fault = t.ns_per_fault.map_or("-".into(), fmt_ns);
        match (claim, verdict.held == Some(true)) {
            (Claim::Private, true) => format!(
                "fork shares every page until someone writes: the child's reads {} and its first write to each of the {pages} faulted once and copied the page, {per_fault} per fault, {}× a write to a page that is already private",
                faulted(t.read.minflt),
                sig3(t.write_vs_rewrite)
            ),
            (Claim::Private, false) => format!(
                "fork shares every page until someone writes, and the first write to a page copies it; here the child's reads {} and its writes {} for {pages}, not once per page, because {}",
                faulted(t.read.minflt),
                faulted(t.write.minflt),
                private_reason(t, p, &cx.machine.thp)
            ),
            (Claim::Shared, held) => format!(
                "a MAP_SHARED mapping is one set of pages for parent and child: the child's writes to {pages} {} and copied {}: {} per page, against {} for the same writes again",
                faulted(t.write.minflt),
                if held {
                    "nothing"
                } else {
                    "nothing (they mapped pages its reads had not)"
                },
                fmt_ns(t.write.ns_per_page),
                fmt_ns(t.rewrite.ns_per_page)
            ),
            (Claim::Huge, true) => format!(
                "huge pages cut the faults: the parent's first touch {} for {pages} ({} pages per fault); {}",
                faulted(t.touch.minflt),
                sig3(p.pages as f64 / t.touch.minflt.max(1) as f64),
                copy_of_huge(t, p)
            ),
            (Claim::Huge, false) => format!(
                "with no huge page given ({}), the faults stay one per 4 KiB page: the parent's first touch {} for {pages}",
                no_huge_reason(p, &cx.machine.thp),
                faulted(t.touch.minflt)
            ),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "perf stat -e minor-faults -- cow_overhead   (and stress-ng --mmapcow 1 --metrics: nanosecs per page modification, stress-ng ≥ 0.17)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Trial> {
        self.trials.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        let done = self.trials.iter().filter(|t| t.complete).count();
        Some(format!("{done} of {}", words::count(p.trials, "trial")))
    }
}

/// Why a private mapping's counts were not the lecture's, from the figures themselves.
fn private_reason(t: &Trial, p: &Params, thp: &str) -> String {
    let (pages, slack) = (p.pages, slack(p.pages));
    let mut reasons = Vec::new();
    if t.read.minflt > slack {
        reasons.push(format!(
            "the reads faulted ({}): fork did not copy these pages' page-table entries, so the child mapped them on first touch",
            t.read.minflt
        ));
    }
    if t.write.minflt + slack < pages {
        reasons.push(format!(
            "fewer write faults than pages: the kernel copied more than one page per fault (huge pages; system THP mode: {thp})"
        ));
    } else if t.write.minflt > pages + slack {
        reasons.push(if t.write.majflt > 0 {
            format!(
                "{} came from disk: pages were swapped out under memory pressure",
                words::count(t.write.majflt, "major fault")
            )
        } else {
            "more faults than pages: pages reclaimed under memory pressure faulted again".into()
        });
    }
    if reasons.is_empty() {
        reasons.push("the counts are the lecture's".into());
    }
    reasons.join("; ")
}

/// What the child's first write did to huge pages, as measured.
fn copy_of_huge(t: &Trial, p: &Params) -> String {
    if t.write.minflt * 2 < p.pages {
        format!(
            "the child's first write {} too: each fault copied a whole huge page",
            faulted(t.write.minflt)
        )
    } else {
        format!(
            "the child's first write {}, once per 4 KiB page: a write to a shared huge page splits it and copies 4 KiB",
            faulted(t.write.minflt)
        )
    }
}

/// Why `--thp` got no huge page.
fn no_huge_reason(p: &Params, thp: &str) -> String {
    if thp == "never" {
        "the system's THP mode is never, so MADV_HUGEPAGE changes nothing".into()
    } else if p.pages < p.per_huge_page() {
        format!(
            "the mapping's {} are fewer than one huge page holds ({})",
            words::count(p.pages, "page"),
            p.per_huge_page()
        )
    } else {
        format!(
            "the kernel gave no huge page (system THP mode: {thp}; no free 2 MiB block, or defrag is off)"
        )
    }
}

/// The phases side by side: time, per page, faults both ways.
fn phase_table(t: &Trial) -> String {
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
    report::table(
        &["phase", "time", "per page", "minflt /proc", "getrusage"],
        &rows,
        true,
    )
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", sig3(bytes as f64 / (1 << 20) as f64))
}

/// The run's picture: the time per page of each pass (the parent's first touch, the child's
/// read, its first write, its second write) and the minor faults per page, every trial a dot:
/// a copy-on-write fault against a write to a page that is already private. From the report.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<plot::Figure> {
    let r = plot::Report(report);
    let trials: Vec<&serde_json::Value> = r
        .list("/results/trials")?
        .iter()
        .filter(|t| t.get("complete").and_then(serde_json::Value::as_bool) == Some(true))
        .collect();
    if trials.is_empty() {
        anyhow::bail!("no trial completed: nothing to draw");
    }
    let phases = [
        ("touch", "parent: first touch (zero-fill)"),
        ("read", "child: read"),
        ("write", "child: first write (copy-on-write)"),
        ("rewrite", "child: write again (private)"),
    ];
    let per = |phase: &str, field: &str| -> anyhow::Result<Vec<f64>> {
        trials
            .iter()
            .map(|t| {
                let t = plot::Report(t);
                let pages = t.num(&format!("/{phase}/pages"))?.max(1.0);
                let v = t.num(&format!("/{phase}/{field}"))?;
                Ok(if field == "minflt" { v / pages } else { v })
            })
            .collect()
    };
    let mut time = Vec::new();
    let mut faults = Vec::new();
    for (phase, label) in phases {
        let ns = per(phase, "ns_per_page")?;
        let m = median(ns.iter().copied());
        time.push(plot::Bar {
            label: label.into(),
            value: m / 1e3,
            samples: ns.iter().map(|v| v / 1e3).collect(),
            expected: None,
            note: fmt_ns(m),
        });
        let f = per(phase, "minflt")?;
        let m = median(f.iter().copied());
        faults.push(plot::Bar {
            label: label.into(),
            value: m,
            samples: f,
            expected: None,
            note: format!("{m:.2}"),
        });
    }
    let (write, rewrite) = (time[2].value * 1e3, time[3].value * 1e3);
    Ok(plot::Figure {
        title: format!(
            "cow_overhead: a first write after fork {} a page, a private write {}",
            fmt_ns(write),
            fmt_ns(rewrite)
        ),
        run: r.run_lines(),
        panels: vec![
            plot::Panel {
                title: format!(
                    "time per page: median of {}, every trial a dot",
                    words::count(trials.len() as u64, "trial")
                ),
                x: "time per page (µs)".into(),
                y: "pass".into(),
                chart: plot::Chart::Bars(time),
            },
            plot::Panel {
                title: "minor faults per page (/proc/PID/stat field 10)".into(),
                x: "minor faults per page (count)".into(),
                y: "pass".into(),
                chart: plot::Chart::Bars(faults),
            },
        ],
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pages: u64, shared: bool, thp: bool) -> Params {
        let trials = TrialArgs {
            trials: 1,
            warmup: 0,
        };
        let mut p = Params::of(pages, shared, thp, false, &trials);
        p.page_size = 4096;
        p.bytes = pages * 4096;
        p
    }

    fn phase(pages: u64, minflt: u64, ns: u64) -> Phase {
        Phase {
            pages,
            elapsed_ns: ns,
            ns_per_page: ns as f64 / pages as f64,
            minflt,
            minflt_rusage: minflt,
            majflt: 0,
        }
    }

    /// A finished trial over `pages` pages with these touch, read and write fault counts.
    fn trial(pages: u64, touch: u64, read: u64, write: u64) -> Trial {
        let mut t = Trial::started(1, phase(pages, touch, pages * 2000), 300_000, 42);
        t.complete_with(&ChildReport {
            read: phase(pages, read, pages * 20),
            write: phase(pages, write, pages * 2800),
            rewrite: phase(pages, 0, pages * 20),
            error: None,
        });
        t
    }

    fn judged(p: &Params, t: Trial, thp: &str) -> (Verdict, String, Vec<String>) {
        let mut machine = crate::testing::machine().clone();
        machine.thp = thp.into();
        let cx = crate::testing::context_on(&machine, None);
        crate::testing::judge_on(&Results::of(vec![t]), p, &cx)
    }

    #[test]
    fn one_write_fault_per_page_and_free_reads_hold() {
        let p = params(16384, false, false);
        let (v, lesson, lines) = judged(&p, trial(16384, 16384, 0, 16390), "madvise");
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("reads never faulted and its writes faulted 16390 times"),
            "{}",
            v.because
        );
        assert!(lesson.contains("reads never faulted"), "{lesson}");
        assert!(lesson.contains("16384 pages"), "{lesson}");
        assert!(lines.iter().any(|l| l.starts_with("copy-on-write: ")));
        assert!(lines.iter().any(|l| l.starts_with("phase ")));
    }

    #[test]
    fn too_few_write_faults_or_faulting_reads_do_not_hold() {
        let p = params(16384, false, false);
        // Huge pages despite MADV_NOHUGEPAGE: one fault per 512 pages.
        let (v, lesson, _) = judged(&p, trial(16384, 32, 0, 32), "always");
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("fewer write faults than pages"),
            "{}",
            v.because
        );
        assert!(lesson.contains("not once per page"), "{lesson}");
        let (v, _, _) = judged(&p, trial(16384, 16384, 5000, 16384), "madvise");
        assert_eq!(v.held, Some(false));
        assert!(
            v.because.contains("the reads faulted (5000)"),
            "{}",
            v.because
        );
    }

    #[test]
    fn a_shared_mapping_holds_only_without_write_faults() {
        let p = params(16384, true, false);
        let (v, lesson, lines) = judged(&p, trial(16384, 16384, 1025, 0), "madvise");
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            lesson.contains("never faulted and copied nothing"),
            "{lesson}"
        );
        assert!(lines.iter().any(|l| l.starts_with("shared: ")));
        let (v, _, _) = judged(&p, trial(16384, 16384, 0, 16384), "madvise");
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    #[test]
    fn huge_pages_change_the_count_unless_the_system_gives_none() {
        let p = params(16384, false, true);
        let (v, lesson, lines) = judged(&p, trial(16384, 32, 0, 16384), "madvise");
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(v.because.contains("512 pages per fault"), "{}", v.because);
        assert!(v.because.contains("once per 4 KiB page"), "{}", v.because);
        assert!(lesson.starts_with("huge pages cut the faults"), "{lesson}");
        assert!(lines.iter().any(|l| l.starts_with("  huge pages: ")));
        let (v, lesson, _) = judged(&p, trial(16384, 16384, 0, 16384), "never");
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("THP mode is never"), "{}", v.because);
        assert!(lesson.contains("stay one per 4 KiB page"), "{lesson}");
        let small = params(64, false, true);
        let (v, _, _) = judged(&small, trial(64, 64, 0, 64), "madvise");
        assert_eq!(v.held, Some(false));
        assert!(
            v.because.contains("fewer than one huge page"),
            "{}",
            v.because
        );
    }

    #[test]
    fn a_run_stopped_before_the_child_reported_cannot_be_checked() {
        let p = params(1024, false, false);
        let r = Results::of(vec![Trial::started(1, phase(1024, 1024, 1), 1, 7)]);
        assert_eq!(r.verdict(&p, &crate::testing::context()).held, None);
        assert_eq!(r.headline(&p), "stopped before the child reported");
        assert_eq!(r.progress(&p).unwrap(), "0 of 1 trial");
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(faulted(0), "never faulted");
        assert_eq!(faulted(1), "faulted once");
        assert_eq!(faulted(16384), "faulted 16384 times");
    }

    #[test]
    fn a_report_fits_in_one_atomic_pipe_write() {
        let big = Phase {
            pages: u64::MAX,
            elapsed_ns: u64::MAX,
            ns_per_page: f64::MAX,
            minflt: u64::MAX,
            minflt_rusage: u64::MAX,
            majflt: u64::MAX,
        };
        let report = ChildReport {
            read: big,
            write: big,
            rewrite: big,
            error: Some("x".repeat(1000)),
        };
        assert!(serde_json::to_string(&report).unwrap().len() < libc::PIPE_BUF);
    }
}
