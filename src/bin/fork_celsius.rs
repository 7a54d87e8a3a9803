//! fork_celsius: a parent forks N children; each converts one temperature, prints it and exits.
//!
//! What the lecture wants you to see: `fork()` returns twice, and from then on parent and child
//! run on their own. The children print in whatever order the scheduler runs them, and the
//! parent's `Spawned` line lands anywhere among theirs: run it twice and compare. The lecture's
//! parent does not wait for its children, so they can outlive it; the kernel then gives them a
//! new parent (`--no-wait` shows which).
//!
//! The lecture's program (`thread_celsius.c`, CPython Internals, "Parallelism and
//! Concurrency"), in outline:
//!
//! ```c
//! for (int i = 1; i <= number; i++) {
//!     double f_value = 100 + i * 10;
//!     if (fork() == 0) {                               /* the child */
//!         printf("%f F is %f C (pid %d)\n", f_value, celsius(f_value), getpid());
//!         exit(0);
//!     }
//! }                                                    /* the parent: on at once, no wait */
//! printf("Spawned %d processes from %d\n", number, getpid());
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Parser, ValueEnum};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid};
use serde::Serialize;

use oslab::Error;
use oslab::forks::{self, Gate, Next, Receiver, Sender};
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION, warn};
use oslab::kit::timing::fmt_ns;
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::{self, Child, Exit, Forked};

/// The most children one run may fork.
const MAX_CHILDREN: u32 = 4096;

/// How long `--adopter system` watches for the orphans' adopter to reap them.
const GRACE: Duration = Duration::from_secs(5);

/// Fork one child per temperature; each prints its conversion and exits.
///
/// The CPython Internals fork example (thread_celsius.c): for i = 1..N the parent forks a child
/// that prints `%f F is %f C (pid %d)` for f = 100 + 10·i, then prints `Spawned N processes from
/// PID`. The lines interleave as the scheduler runs the processes. Ours waits for every child;
/// --no-wait keeps the lecture's parent, which leaves orphans behind, and shows who adopts them.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: fork_celsius 8 --no-wait")]
struct Args {
    /// Children to fork, one temperature each [1-4096]
    #[arg(default_value_t = 4, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, MAX_CHILDREN))]
    number: u32,

    /// Do as the lecture's parent: end without waiting for the children (they become orphans,
    /// and another process adopts them)
    #[arg(long)]
    no_wait: bool,

    /// With --no-wait, who adopts the orphans: `demo` (this program makes itself a child
    /// subreaper, then adopts and reaps them) or `system` (the nearest subreaper above this
    /// program, or PID 1, as on a plain system; the demo waits up to 5 s to see them reaped)
    #[arg(long, value_enum, default_value_t = Adopter::Demo, requires = "no_wait")]
    adopter: Adopter,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Adopter {
    Demo,
    System,
}

// static const double five_ninths = 5.0/9.0;
const FIVE_NINTHS: f64 = 5.0 / 9.0;

// double celsius(double f) { return (f - 32) * five_ninths; }
fn celsius(f: f64) -> f64 {
    (f - 32.0) * FIVE_NINTHS
}

/// The lecture's loop, run by the lecture's parent: one fork per temperature. Each child runs
/// [`child`] and never comes back. Returns the children, and the fork that failed, if one did
/// (the loop stops there).
fn fork_children(
    n: u32,
    single: &SingleThreaded,
    out: Output,
    sender: &Sender,
    mut gate: Option<&mut Gate>,
    t0: u64,
) -> (Vec<Child>, Option<(u32, Error)>) {
    let mut kids = Vec::new();
    for i in 1..=n {
        let f_value = f64::from(100 + i * 10);
        let forked = forks::monotonic_ns() - t0;
        match process::fork(single) {
            Ok(Forked::Child) => {
                forks::forget_inherited(&mut kids); // my siblings, not my children
                let gate = gate.as_deref_mut();
                process::run_child(|| child(i, f_value, out, sender, gate, [t0, forked]))
            }
            Ok(Forked::Parent(kid)) => kids.push(kid),
            Err(e) => return (kids, Some((i, e))),
        }
    }
    (kids, None)
}

/// One child: the lecture's line, a record of it for the demo, and `exit(0)`. `[t0, forked]`:
/// the start of the run, and when the parent called fork() for this child (a value in our copy
/// of the parent's memory).
fn child(
    i: u32,
    f_value: f64,
    out: Output,
    sender: &Sender,
    gate: Option<&mut Gate>,
    [t0, forked]: [u64; 2],
) -> i32 {
    let started = forks::monotonic_ns() - t0;
    let pid = getpid();
    let c_value = celsius(f_value);
    // printf("%f F is %f C (pid %d)\n", f_value, c_value, getpid());
    out.lecture(format_args!("{f_value:.6} F is {c_value:.6} C (pid {pid})"));
    let line = forks::monotonic_ns() - t0;
    let record = format!("child {i} {pid} {forked} {started} {line}");
    if sender.send(&record).is_err() {
        return 1;
    }
    // --no-wait: stay alive until the demo has seen who adopted us.
    if let Some(gate) = gate {
        match gate.wait() {
            Ok(None) => {}
            Ok(Some(_stopped)) => return 130,
            Err(_) => return 1,
        }
    }
    0 // exit(0);
}

/// `--no-wait`: the lecture's parent. It forks the children, says so, and ends without waiting
/// for them, after one record for the demo: `parent FORKED LINE_NS FAILED_AT ERRNO`.
fn lecture_parent(
    n: u32,
    single: &SingleThreaded,
    out: Output,
    sender: &Sender,
    gate: &mut Gate,
    t0: u64,
) -> i32 {
    let (kids, failure) = fork_children(n, single, out, sender, Some(gate), t0);
    if failure.is_none() {
        out.lecture(format_args!("Spawned {n} processes from {}", getpid()));
    }
    let line = forks::monotonic_ns() - t0;
    let (failed_at, errno) = match &failure {
        Some((i, Error::Sys { source, .. })) => (*i, *source as i32),
        Some((i, _)) => (*i, 0),
        None => (0, 0),
    };
    let forked = kids.len();
    let _ = sender.send(&format!("parent {forked} {line} {failed_at} {errno}"));
    for kid in kids {
        kid.release(); // return 0; and no wait(): the children become orphans
    }
    i32::from(failure.is_some())
}

/// One child, as the demo saw it: one CSV row.
#[derive(Clone, Debug, Default, Serialize)]
struct ChildRow {
    /// i in the lecture's loop: the order of creation.
    index: u32,
    fahrenheit: f64,
    celsius: f64,
    pid: i32,
    /// Its place among the children when its line was written (1: first).
    line_order: u32,
    /// When its parent called fork() for it, in ns after the first fork.
    forked_ns: u64,
    /// When it began running its own code.
    started_ns: u64,
    /// When its line's write(2) returned (in json/csv mode: when the line was made).
    line_ns: u64,
    /// --no-wait: its parent after the lecture's parent ended.
    adopted_by: Option<i32>,
    /// Who reaped it, when the demo saw it (None: not seen).
    reaped_by: Option<i32>,
    exit_code: Option<i32>,
    exit_signal: Option<i32>,
    /// Minor faults and CPU time, from wait4's rusage (None when another process reaped it).
    minflt: Option<u64>,
    cpu_us: Option<u64>,
}

impl ChildRow {
    /// Parses a child's record, `child I PID FORKED STARTED LINE`.
    fn parse(record: &str) -> Option<ChildRow> {
        let f: Vec<&str> = record.split_whitespace().collect();
        if f.len() != 6 || f[0] != "child" {
            return None;
        }
        let index: u32 = f[1].parse().ok()?;
        let fahrenheit = f64::from(100 + index * 10);
        Some(ChildRow {
            index,
            fahrenheit,
            celsius: celsius(fahrenheit),
            pid: f[2].parse().ok()?,
            forked_ns: f[3].parse().ok()?,
            started_ns: f[4].parse().ok()?,
            line_ns: f[5].parse().ok()?,
            ..ChildRow::default()
        })
    }

    fn set_exit(&mut self, exit: Exit, reaped_by: Pid) {
        self.reaped_by = Some(reaped_by.as_raw());
        match exit {
            Exit::Code { code } => self.exit_code = Some(code),
            Exit::Signal { signal, .. } => self.exit_signal = Some(signal),
        }
    }
}

#[derive(Debug, Serialize)]
struct Orphans {
    /// The process the orphans were given to, and what it is.
    adopter_pid: Option<i32>,
    adopter: String,
    /// Orphans seen re-parented to it.
    adopted: u32,
    /// Orphans reaped (by this demo, or seen gone within the grace time).
    reaped: u32,
    /// Orphans still zombies when the demo ended: an adopter that does not reap.
    zombies: u32,
}

#[derive(Debug, Serialize)]
struct Results {
    /// This demo's process.
    demo_pid: i32,
    /// The process that forked the children: the lecture's parent (the demo itself, unless
    /// --no-wait, where it is a process of its own, so that it can end without waiting).
    parent_pid: i32,
    /// Children forked.
    spawned: u32,
    children: Vec<ChildRow>,
    /// True when the lines came in the order the children were created.
    in_creation_order: bool,
    /// Children whose line came at another place than their creation.
    out_of_place: u32,
    /// How many children's lines came before the parent's `Spawned` line.
    before_parent_line: Option<u32>,
    orphans: Option<Orphans>,
}

#[derive(Debug, Serialize)]
struct Params {
    number: u32,
    no_wait: bool,
    adopter: Option<Adopter>,
    cpu: Option<String>,
}

fn main() -> ExitCode {
    let (args, _cmd) = oslab::kit::cli::parse::<Args>("fork_celsius", |c| c);
    oslab::kit::cli::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let n = args.number;
    // Before the first fork: N children, and with --no-wait the parent between us and them.
    process::limits::check_can_create(u64::from(n) + u64::from(args.no_wait))?;
    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    let single = SingleThreaded::check()?;
    let (reports, sender) = forks::pipe()?;
    let t0 = forks::monotonic_ns();
    let (results, stopped) = if args.no_wait {
        orphaned(n, args.adopter, &single, out, sender, reports, t0)?
    } else {
        waiting(n, &single, out, sender, reports, t0)?
    };
    let counters = before.delta(&Snapshot::of_self()?);

    if let Some(signal) = stopped {
        eprintln!(
            "fork_celsius: stopped by {signal}; the children were killed and reaped; results are partial"
        );
    }
    let lesson = if args.no_wait {
        "a parent that ends without waiting leaves orphans: the kernel hands them to a child subreaper or to init, which must reap them"
    } else {
        "after fork() the parent and each child run on their own: the scheduler decides who prints first, so the order changes from run to run"
    };
    analyse(&out, &results, lesson, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "fork_celsius",
        schema_version: SCHEMA_VERSION,
        params: Params {
            number: n,
            no_wait: args.no_wait,
            adopter: args.no_wait.then_some(args.adopter),
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: headline(&results),
        lesson: lesson.into(),
        partial: stopped.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &report.results.children)?;
    Ok(interrupt::exit_status(stopped))
}

/// Our default: the demo is the lecture's parent, and reaps every child after its line.
fn waiting(
    n: u32,
    single: &SingleThreaded,
    out: Output,
    sender: Sender,
    mut reports: Receiver,
    t0: u64,
) -> anyhow::Result<(Results, Option<Signal>)> {
    let me = getpid();
    let (kids, failure) = fork_children(n, single, out, &sender, None, t0);
    if failure.is_none() {
        // printf("Spawned %d processes from %d\n", number, getpid());
        out.lecture(format_args!("Spawned {n} processes from {me}"));
    }
    let parent_line = forks::monotonic_ns() - t0;
    drop(sender); // now the pipe ends when the last child has sent its record and exited
    let (mut rows, mut stopped) = (Vec::new(), None);
    while rows.len() < kids.len() {
        match reports.next(None)? {
            Next::Record(r) => rows.extend(ChildRow::parse(&r)),
            Next::End | Next::TimedOut => break,
            Next::Stopped(signal) => {
                stopped = Some(signal);
                break;
            }
        }
    }
    // wait() for each child, in creation order: what the lecture's parent leaves out.
    rows.sort_by_key(|r| r.index);
    if stopped.is_none() {
        stopped = reap(kids, &mut rows)?;
    }
    if let Some((i, e)) = failure {
        return Err(anyhow::Error::new(e).context(format!(
            "could not fork child {i} of {n}; {} already forked: reaped",
            children(i - 1)
        )));
    }
    Ok((summarise(me, me, rows, Some(parent_line), None), stopped))
}

/// `--no-wait`: the lecture's parent, a process of its own, forks the children and ends without
/// waiting. The demo reaps it, reads who adopted the orphans from /proc, lets them end, and
/// makes sure they are gone.
fn orphaned(
    n: u32,
    adopter: Adopter,
    single: &SingleThreaded,
    out: Output,
    sender: Sender,
    mut reports: Receiver,
    t0: u64,
) -> anyhow::Result<(Results, Option<Signal>)> {
    let me = getpid();
    if adopter == Adopter::Demo {
        nix::sys::prctl::set_child_subreaper(true)
            .map_err(|e| Error::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    }
    // The orphans wait at this gate after their line, so that they are still there to be seen.
    let mut gate = Gate::new()?;
    let lecture_parent_pid = match process::fork(single)? {
        Forked::Child => {
            gate.leave_to_parent();
            process::run_child(|| lecture_parent(n, single, out, &sender, &mut gate, t0))
        }
        Forked::Parent(p) => {
            drop(sender);
            let pid = p.pid();
            if let process::Waited::Stopped(signal) = process::wait_or_stop(p)? {
                return Ok((stop_orphans(me, pid, Vec::new()), Some(signal)));
            }
            pid
        }
    };

    // Its record says how many children it forked; each child sends its own.
    let mut records: Vec<String> = Vec::new();
    let summary = loop {
        let summary = records.iter().find_map(|r| parse_parent(r));
        let heard = records.iter().filter(|r| r.starts_with("child ")).count();
        if let Some(s) = summary
            && heard >= s.0 as usize
        {
            break s;
        }
        match reports.next(Some(Duration::from_secs(30)))? {
            Next::Record(r) => records.push(r),
            Next::End | Next::TimedOut => {
                stop_orphans(me, lecture_parent_pid, Vec::new());
                return Err(anyhow!(
                    "the lecture's parent or its children did not report within 30 s"
                ));
            }
            Next::Stopped(signal) => {
                let rows = records.iter().filter_map(|r| ChildRow::parse(r)).collect();
                return Ok((stop_orphans(me, lecture_parent_pid, rows), Some(signal)));
            }
        }
    };
    let (forked, parent_line, failed_at, errno) = summary;
    let mut rows: Vec<ChildRow> = records.iter().filter_map(|r| ChildRow::parse(r)).collect();
    rows.sort_by_key(|r| r.index);

    // The lecture's parent is gone: who is the orphans' parent now?
    for row in &mut rows {
        row.adopted_by = oslab::proc::tree::proc_info(Pid::from_raw(row.pid)).map(|p| p.ppid);
    }
    let adopter_pid = rows.iter().find_map(|r| r.adopted_by);
    let adopted = rows.iter().filter(|r| r.adopted_by == adopter_pid).count() as u32;
    // Our own adoptees get a guard now, as any child of ours: reaped on every path.
    let guards: Vec<Child> = rows
        .iter()
        .filter(|r| r.adopted_by == Some(me.as_raw()))
        .map(|r| Child::adopt(Pid::from_raw(r.pid)))
        .collect();
    gate.open(); // the orphans exit(0) now

    let stopped = reap(guards, &mut rows)?;
    // Another adopter: give it a moment to reap them, and see.
    let zombies = if adopter == Adopter::System {
        watch_reaping(&mut rows, adopter_pid)
    } else {
        0
    };
    let orphans = Orphans {
        adopter_pid,
        adopter: adopter_pid.map_or_else(
            || "unknown (the orphans were gone)".into(),
            oslab::proc::tree::describe_adopter,
        ),
        adopted,
        reaped: rows.iter().filter(|r| r.reaped_by.is_some()).count() as u32,
        zombies,
    };
    if zombies > 0 {
        warn(format!(
            "{zombies} orphans are still zombies: their adopter {} has not reaped them within 5 s; they stay until it does (ps -o pid,ppid,stat,comm --ppid {})",
            orphans.adopter,
            adopter_pid.unwrap_or(1)
        ));
    }
    if failed_at > 0 {
        return Err(anyhow!(
            "the lecture's parent could not fork child {failed_at} of {n}: fork failed: {}; {} it forked: reaped by their adopter",
            nix::errno::Errno::from_raw(errno),
            children(forked)
        ));
    }
    let results = summarise(me, lecture_parent_pid, rows, parent_line, Some(orphans));
    Ok((results, stopped))
}

/// Waits for each child and notes how it ended in its row. A stop request kills and reaps the
/// children not reaped yet, and is returned.
fn reap(kids: Vec<Child>, rows: &mut [ChildRow]) -> anyhow::Result<Option<Signal>> {
    let me = getpid();
    for kid in kids {
        let pid = kid.pid().as_raw();
        match process::wait_or_stop(kid)? {
            process::Waited::Ended { exit, usage } => {
                if let Some(row) = rows.iter_mut().find(|r| r.pid == pid) {
                    row.set_exit(exit, me);
                    row.minflt = Some(usage.minflt);
                    row.cpu_us = Some(usage.utime_us + usage.stime_us);
                }
            }
            // The guards of the rest are dropped on return: killed and reaped.
            process::Waited::Stopped(signal) => return Ok(Some(signal)),
        }
    }
    Ok(None)
}

/// The lecture's parent's record: (forked, line ns, failed at, errno).
fn parse_parent(record: &str) -> Option<(u32, Option<u64>, u32, i32)> {
    let f: Vec<&str> = record.split_whitespace().collect();
    if f.len() != 5 || f[0] != "parent" {
        return None;
    }
    let failed_at: u32 = f[3].parse().ok()?;
    let line = (failed_at == 0).then(|| f[2].parse().ok()).flatten();
    Some((f[1].parse().ok()?, line, failed_at, f[4].parse().ok()?))
}

/// For up to [`GRACE`], looks whether the orphans' adopter reaps them; marks the reaped ones
/// and returns how many are still zombies.
fn watch_reaping(rows: &mut [ChildRow], adopter: Option<i32>) -> u32 {
    let deadline = std::time::Instant::now() + GRACE;
    loop {
        let mut zombies = 0;
        for row in rows.iter_mut().filter(|r| r.reaped_by.is_none()) {
            match oslab::proc::tree::proc_info(Pid::from_raw(row.pid)) {
                // Gone, or the PID already reused by another process: reaped.
                None => row.reaped_by = adopter,
                Some(p) if Some(p.ppid) != row.adopted_by => row.reaped_by = adopter,
                Some(p) if p.state == 'Z' => zombies += 1,
                Some(_) => {}
            }
        }
        let pending = rows.iter().filter(|r| r.reaped_by.is_none()).count() as u32;
        if pending == 0 || std::time::Instant::now() >= deadline || interrupt::requested().is_some()
        {
            return zombies;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C or SIGTERM during --no-wait: kill every orphan and whatever else is below us, reap
/// what is ours to reap, and return what was seen.
fn stop_orphans(me: Pid, parent: Pid, rows: Vec<ChildRow>) -> Results {
    for row in &rows {
        let _ = kill(Pid::from_raw(row.pid), Signal::SIGKILL);
    }
    oslab::proc::tree::kill_descendants(me);
    while let Ok(Some(_)) = process::wait_any() {}
    summarise(me, parent, rows, None, None)
}

/// The results, from the children's rows: their order and who printed when.
fn summarise(
    me: Pid,
    parent: Pid,
    mut rows: Vec<ChildRow>,
    parent_line: Option<u64>,
    orphans: Option<Orphans>,
) -> Results {
    let mut by_line: Vec<usize> = (0..rows.len()).collect();
    by_line.sort_by_key(|&i| rows[i].line_ns);
    for (place, &i) in by_line.iter().enumerate() {
        rows[i].line_order = place as u32 + 1;
    }
    let out_of_place = rows.iter().filter(|r| r.line_order != r.index).count() as u32;
    Results {
        demo_pid: me.as_raw(),
        parent_pid: parent.as_raw(),
        spawned: rows.len() as u32,
        in_creation_order: out_of_place == 0,
        out_of_place,
        before_parent_line: parent_line
            .map(|t| rows.iter().filter(|r| r.line_ns < t).count() as u32),
        children: rows,
        orphans,
    }
}

/// "1 child", "2 children".
fn children(n: u32) -> String {
    format!("{n} {}", if n == 1 { "child" } else { "children" })
}

/// Up to 24 numbers, space-separated, then an ellipsis.
fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.len() > 24 {
        format!("{} … ({} in all)", items[..24].join(" "), items.len())
    } else {
        items.join(" ")
    }
}

fn exits(rows: &[ChildRow]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for r in rows.iter().filter(|r| r.reaped_by.is_some()) {
        let how = match (r.exit_code, r.exit_signal) {
            (Some(code), _) => format!("exited with code {code}"),
            (_, Some(signal)) => Exit::Signal {
                signal,
                core_dumped: false,
            }
            .to_string(),
            _ => "reaped by another process (status unknown to us)".into(),
        };
        *counts.entry(how).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(how, n)| format!("{n} {how}")).collect();
    parts.join(", ")
}

fn analyse(out: &Output, r: &Results, lesson: &str, system: &Machine) {
    let rows = &r.children;
    if rows.is_empty() {
        return;
    }
    let mut by_line: Vec<&ChildRow> = rows.iter().collect();
    by_line.sort_by_key(|c| c.line_order);
    out.analysis(format_args!(
        "created: {} children, i = 1 to {} in the lecture's loop (PIDs {})",
        rows.len(),
        rows.len(),
        list(rows.iter().map(|c| c.pid))
    ));
    let printed = if out.is_text() {
        "printed"
    } else {
        "made (not printed in this format)"
    };
    let mut order = format!(
        "lines: {printed} in this order: {} ({}",
        list(by_line.iter().map(|c| c.index)),
        if r.in_creation_order {
            "creation order, this time".to_string()
        } else {
            format!("{} of {} out of creation order", r.out_of_place, rows.len())
        }
    );
    match r.before_parent_line {
        Some(0) => order.push_str("; the parent's line came before all of them"),
        Some(k) if k == r.spawned => order.push_str("; the parent's line came after all of them"),
        Some(k) => order.push_str(&format!("; the parent's line came after {k} of them")),
        None => {}
    }
    order.push_str("), by when each child's write to stdout returned");
    out.analysis(order);
    let delays: Vec<u64> = rows
        .iter()
        .map(|c| c.started_ns.saturating_sub(c.forked_ns))
        .collect();
    if let (Some(lo), Some(hi)) = (delays.iter().min(), delays.iter().max()) {
        out.analysis(format_args!(
            "running: each child ran its first line of code {} to {} after its parent called fork()",
            fmt_ns(*lo as f64),
            fmt_ns(*hi as f64)
        ));
    }
    if let Some(o) = &r.orphans {
        out.analysis(format_args!(
            "orphans: the lecture's parent (PID {}) ended without waiting; {} of its {} children were then re-parented to {}",
            r.parent_pid,
            o.adopted,
            rows.len(),
            o.adopter
        ));
        let reaper = o
            .adopter_pid
            .map_or("their adopter".to_string(), |p| format!("PID {p}"));
        out.analysis(format_args!(
            "reaped: {} of {} orphans by {reaper}{}{}",
            o.reaped,
            rows.len(),
            if o.reaped > 0
                && rows
                    .iter()
                    .any(|c| c.exit_code.is_some() || c.exit_signal.is_some())
            {
                format!(" ({})", exits(rows))
            } else {
                String::new()
            },
            if o.zombies > 0 {
                format!(
                    "; {} still zombies after 5 s: their adopter had not reaped them",
                    o.zombies
                )
            } else {
                String::new()
            }
        ));
    } else {
        out.analysis(format_args!(
            "reaped: {} (wait4 by PID {}, in creation order; the lecture's parent never waits)",
            exits(rows),
            r.demo_pid
        ));
    }
    out.analysis(format_args!("lesson: {lesson}"));
    out.analysis(format_args!(
        "compare: strace -f -e trace=clone,exit_group,wait4 fork_celsius {}   (a clone per child; then who waits for whom)",
        rows.len()
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}

fn headline(r: &Results) -> String {
    let first = r
        .children
        .first()
        .map_or(String::new(), |c| format!("{:.6}", c.celsius));
    let last = r
        .children
        .last()
        .map_or(String::new(), |c| format!("{:.6}", c.celsius));
    let mut by_line: Vec<&ChildRow> = r.children.iter().collect();
    by_line.sort_by_key(|c| c.line_order);
    let order = if r.in_creation_order {
        "in creation order".to_string()
    } else if r.spawned <= 8 {
        format!("in the order {}", list(by_line.iter().map(|c| c.index)))
    } else {
        format!("{} of {} out of place", r.out_of_place, r.spawned)
    };
    let fate = match &r.orphans {
        Some(o) => format!(
            "{} orphans adopted by {}, {} reaped",
            o.adopted,
            o.adopter_pid.map_or("?".into(), |p| format!("PID {p}")),
            o.reaped
        ),
        None => exits(&r.children),
    };
    format!(
        "{} children ({first} … {last} C); lines {order}; {fate}",
        r.spawned
    )
}
