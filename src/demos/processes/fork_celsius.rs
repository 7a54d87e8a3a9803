//! `fork_celsius`'s lab bench: what the demo does around the lecture's loop.
//!
//! By default the demo is the lecture's parent: it runs the loop, then (unlike the lecture)
//! reaps every child. With `--no-wait` the lecture's parent is a process of its own, forked by
//! the demo, so that it can end without waiting as the lecture's does; the demo then reads from
//! `/proc` who adopted the orphans, lets them end, and makes sure they are gone. Either way each
//! child reports its line on the one [`channel`], and the analysis, the verdict and the lesson
//! are computed here from those reports.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::ValueEnum;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::kit::report::{Output, warn};
use crate::kit::timing::{fmt_ns, monotonic_ns};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::tree;
use crate::process::channel::{Next, Receiver, Sender, channel};
use crate::process::gate::ForkGate;
use crate::process::{self, Child, Exit, Forked, SingleThreaded, Waited};

/// The most children one run may fork.
pub const MAX_CHILDREN: u32 = 4096;

/// How long `--adopter system` watches for the orphans' adopter to reap them.
const GRACE: Duration = Duration::from_secs(5);

/// How long the demo waits for the lecture's parent and its children to report (`--no-wait`).
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// Who adopts the orphans of `--no-wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Adopter {
    Demo,
    System,
}

/// The run's parameters, as reported.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Params {
    pub number: u32,
    pub no_wait: bool,
    /// Who adopts the orphans (`--no-wait` only).
    pub adopter: Option<Adopter>,
}

impl Params {
    /// `number` children; `adopter` is `Some` with `--no-wait`.
    pub fn new(number: u32, adopter: Option<Adopter>) -> Params {
        Params {
            number,
            no_wait: adopter.is_some(),
            adopter,
        }
    }
}

/// What a child tells the demo after its line: one message on the channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildReport {
    /// i in the lecture's loop.
    pub index: u32,
    pub fahrenheit: f64,
    /// What the child computed, `celsius(f_value)`.
    pub celsius: f64,
    pub pid: i32,
    /// When its parent called fork() for it, in ns after the run began (on the clock every
    /// process shares).
    pub forked_ns: u64,
    /// When it began running its own code.
    pub started_ns: u64,
    /// When its line's write(2) returned (in json/csv mode: when the line was made).
    pub line_ns: u64,
}

/// `--no-wait`: what the lecture's parent tells the demo before it ends.
#[derive(Debug, Serialize, Deserialize)]
struct ParentReport {
    /// Children it forked.
    forked: u32,
    /// When its `Spawned` line was written (None if a fork failed and it printed none).
    line_ns: Option<u64>,
    /// The child whose fork failed (0: none), and the errno.
    failed_at: u32,
    errno: i32,
}

/// The messages on the channel.
#[derive(Debug, Serialize, Deserialize)]
enum Message {
    Child(ChildReport),
    Parent(ParentReport),
}

/// A fork of the lecture's loop that failed: which child, and why.
#[derive(Debug)]
pub struct ForkFailed {
    pub child: u32,
    pub error: Error,
}

/// What the lecture's parent and its children have from the demo: where the lines go, the
/// proof that fork is safe here, the children forked so far, and the channel to report on.
pub struct Lecture {
    pub out: Output,
    pub single: SingleThreaded,
    /// The children forked so far: the demo reaps them (with `--no-wait`, their adopter does).
    pub kids: Vec<Child>,
    sender: Sender<Message>,
    /// `--no-wait`: the gate the orphans wait at after their line, until the demo has seen them.
    gate: Option<ForkGate>,
    t0: u64,
}

impl Lecture {
    /// ns since the run began, on the clock every process shares.
    pub fn now(&self) -> u64 {
        monotonic_ns().saturating_sub(self.t0)
    }

    /// In a child, after its line: reports it, and with `--no-wait` stays alive until the demo
    /// has seen who adopted it. Returns the exit code: 0 as in the lecture, 1 if the report
    /// could not be sent, 130 if the demo was stopped meanwhile.
    pub fn exit(&mut self, report: ChildReport) -> i32 {
        if self.sender.send(&Message::Child(report)).is_err() {
            return 1;
        }
        match self.gate.as_mut().map(ForkGate::wait) {
            None | Some(Ok(None)) => 0,
            Some(Ok(Some(_stopped))) => 130,
            Some(Err(_)) => 1,
        }
    }
}

/// One child, as the demo saw it: one CSV row.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ChildRow {
    /// i in the lecture's loop: the order of creation.
    pub index: u32,
    pub fahrenheit: f64,
    pub celsius: f64,
    pub pid: i32,
    /// Its place among the children when its line was written (1: first).
    pub line_order: u32,
    /// When its parent called fork() for it, in ns after the first fork.
    pub forked_ns: u64,
    /// When it began running its own code.
    pub started_ns: u64,
    /// When its line's write(2) returned (in json/csv mode: when the line was made).
    pub line_ns: u64,
    /// --no-wait: its parent after the lecture's parent ended.
    pub adopted_by: Option<i32>,
    /// Who reaped it, when the demo saw it (None: not seen).
    pub reaped_by: Option<i32>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// Minor faults and CPU time, from wait4's rusage (None when another process reaped it).
    pub minflt: Option<u64>,
    pub cpu_us: Option<u64>,
}

impl ChildRow {
    fn from_report(r: ChildReport) -> ChildRow {
        ChildRow {
            index: r.index,
            fahrenheit: r.fahrenheit,
            celsius: r.celsius,
            pid: r.pid,
            forked_ns: r.forked_ns,
            started_ns: r.started_ns,
            line_ns: r.line_ns,
            ..ChildRow::default()
        }
    }

    fn set_exit(&mut self, exit: Exit, reaped_by: Pid) {
        self.reaped_by = Some(reaped_by.as_raw());
        match exit {
            Exit::Code { code } => self.exit_code = Some(code),
            Exit::Signal { signal, .. } => self.exit_signal = Some(signal),
        }
    }
}

/// What became of the orphans (`--no-wait`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Orphans {
    /// The process the orphans were given to, and what it is.
    pub adopter_pid: Option<i32>,
    pub adopter: String,
    /// Orphans seen re-parented to it.
    pub adopted: u32,
    /// Orphans reaped (by this demo, or seen gone within the grace time).
    pub reaped: u32,
    /// Orphans still zombies when the demo ended: an adopter that does not reap.
    pub zombies: u32,
    /// How long the demo watched for the adopter to reap them (`--adopter system`: up to 5 s,
    /// less if Ctrl-C or SIGTERM came first).
    pub watched_ms: u64,
}

/// The run's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    /// This demo's process.
    pub demo_pid: i32,
    /// The process that forked the children: the lecture's parent (the demo itself, unless
    /// --no-wait, where it is a process of its own, so that it can end without waiting).
    pub parent_pid: i32,
    /// Children forked.
    pub spawned: u32,
    pub children: Vec<ChildRow>,
    /// True when the lines came in the order the children were created.
    pub in_creation_order: bool,
    /// Children whose line came at another place than their creation.
    pub out_of_place: u32,
    /// How many children's lines came before the parent's `Spawned` line.
    pub before_parent_line: Option<u32>,
    pub orphans: Option<Orphans>,
    /// Children the demo killed when it was stopped but could not reap, as another process
    /// had adopted them: still there (zombies, most likely) when it looked last.
    pub left_unreaped: u32,
}

/// Runs the lecture's program (`lecture`: the loop and the `Spawned` line, in the parent) and
/// what the demo does around it: reaps the children, or with `--no-wait` runs it in a parent of
/// its own that ends without waiting, and watches the orphans' adoption.
pub fn run(
    s: &Session,
    p: Params,
    lecture: impl FnOnce(&mut Lecture) -> Result<(), ForkFailed>,
) -> anyhow::Result<Results> {
    // Before the first fork: N children, and with --no-wait the parent between us and them.
    process::limits::check_can_create(u64::from(p.number) + u64::from(p.no_wait))?;
    let single = SingleThreaded::check()?;
    let (reports, sender) = channel::<Message>()?;
    let lab = Lecture {
        out: s.out,
        single,
        kids: Vec::new(),
        sender,
        gate: None,
        t0: monotonic_ns(),
    };
    match p.adopter {
        None => waiting(p.number, lab, reports, lecture),
        Some(adopter) => orphaned(p.number, adopter, lab, reports, lecture),
    }
}

/// Our default: the demo is the lecture's parent, and reaps every child after its line.
fn waiting(
    n: u32,
    mut lab: Lecture,
    mut reports: Receiver<Message>,
    lecture: impl FnOnce(&mut Lecture) -> Result<(), ForkFailed>,
) -> anyhow::Result<Results> {
    let me = getpid();
    let failure = lecture(&mut lab).err();
    let parent_line = lab.now();
    let Lecture { kids, sender, .. } = lab;
    drop(sender); // now the channel ends when the last child has reported and exited
    let mut rows = Vec::new();
    let mut stopped = false;
    while rows.len() < kids.len() {
        match reports.next(None)? {
            Next::Message(Message::Child(r)) => rows.push(ChildRow::from_report(r)),
            Next::Message(Message::Parent(_)) => {}
            Next::End | Next::TimedOut => break,
            Next::Stopped(_) => {
                stopped = true;
                break;
            }
        }
    }
    // wait() for each child, in creation order: what the lecture's parent leaves out.
    rows.sort_by_key(|r| r.index);
    if !stopped {
        reap(kids, &mut rows)?;
    }
    if let Some(ForkFailed { child, error }) = failure {
        return Err(anyhow::Error::new(error).context(format!(
            "could not fork child {child} of {n}; {} already forked: reaped",
            words::count(child - 1, "child")
        )));
    }
    Ok(summarise(me, me, rows, Some(parent_line), None))
}

/// `--no-wait`: the lecture's parent, a process of its own, runs the loop and ends without
/// waiting. The demo reaps it, reads who adopted the orphans from /proc, lets them end, and
/// makes sure they are gone.
fn orphaned(
    n: u32,
    adopter: Adopter,
    mut lab: Lecture,
    mut reports: Receiver<Message>,
    lecture: impl FnOnce(&mut Lecture) -> Result<(), ForkFailed>,
) -> anyhow::Result<Results> {
    let me = getpid();
    if adopter == Adopter::Demo {
        nix::sys::prctl::set_child_subreaper(true)
            .map_err(|e| Error::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    }
    // The orphans wait at this gate after their line, so that they are still there to be seen.
    let mut gate = ForkGate::new()?;
    let parent = match process::fork(&lab.single)? {
        Forked::Child => {
            gate.leave_to_parent();
            lab.gate = Some(gate);
            process::run_child(|| lecture_parent(&mut lab, lecture))
        }
        Forked::Parent(parent) => parent,
    };
    drop(lab); // our sending end: the channel ends when the whole tree is done
    let parent_pid = parent.pid();
    if let Waited::Stopped(_) = process::wait_or_stop(parent)? {
        return Ok(stop_orphans(me, parent_pid, Vec::new()));
    }

    // Its report says how many children it forked; each child sends its own.
    let mut rows: Vec<ChildRow> = Vec::new();
    let mut summary: Option<ParentReport> = None;
    while summary
        .as_ref()
        .is_none_or(|s| rows.len() < s.forked as usize)
    {
        match reports.next(Some(REPORT_TIMEOUT))? {
            Next::Message(Message::Child(r)) => rows.push(ChildRow::from_report(r)),
            Next::Message(Message::Parent(s)) => summary = Some(s),
            Next::End | Next::TimedOut => {
                stop_orphans(me, parent_pid, rows);
                return Err(anyhow!(
                    "the lecture's parent or its children did not report within {} s",
                    REPORT_TIMEOUT.as_secs()
                ));
            }
            Next::Stopped(_) => return Ok(stop_orphans(me, parent_pid, rows)),
        }
    }
    let summary = summary.expect("the loop ends only with the parent's report");
    rows.sort_by_key(|r| r.index);

    // The lecture's parent is gone: who is the orphans' parent now?
    for row in &mut rows {
        row.adopted_by = tree::proc_info(Pid::from_raw(row.pid)).map(|p| p.ppid);
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

    reap(guards, &mut rows)?;
    // Another adopter: give it a moment to reap them, and see.
    let (zombies, watched) = if adopter == Adopter::System {
        watch_reaping(&mut rows, adopter_pid)
    } else {
        (0, Duration::ZERO)
    };
    let orphans = Orphans {
        adopter_pid,
        adopter: adopter_pid.map_or_else(
            || "unknown (the orphans were gone)".into(),
            tree::describe_adopter,
        ),
        adopted,
        reaped: rows.iter().filter(|r| r.reaped_by.is_some()).count() as u32,
        zombies,
        watched_ms: watched.as_millis() as u64,
    };
    if zombies > 0 {
        warn(format!(
            "{} {} still {}: their adopter {} had not reaped them {}; they stay until it does (ps -o pid,ppid,stat,comm --ppid {})",
            words::count(zombies, "orphan"),
            words::noun(zombies, "is"),
            if zombies == 1 { "a zombie" } else { "zombies" },
            orphans.adopter,
            orphans.watched(),
            adopter_pid.unwrap_or(1)
        ));
    }
    if summary.failed_at > 0 {
        return Err(anyhow!(
            "the lecture's parent could not fork child {} of {n}: fork failed: {}; {} it forked: reaped by their adopter",
            summary.failed_at,
            nix::errno::Errno::from_raw(summary.errno),
            words::count(summary.forked, "child")
        ));
    }
    Ok(summarise(
        me,
        parent_pid,
        rows,
        summary.line_ns,
        Some(orphans),
    ))
}

/// `--no-wait`: the lecture's parent. It runs the lecture's loop, tells the demo what it did,
/// and ends without waiting for its children: `return 0;` and no wait().
fn lecture_parent(
    lab: &mut Lecture,
    lecture: impl FnOnce(&mut Lecture) -> Result<(), ForkFailed>,
) -> i32 {
    // The lesson is the orphan: these children must not die with this parent, as every other
    // child of a demo does. (Should the demo itself be killed, they still end: they wait at the
    // gate, whose opening end only the demo holds.)
    process::let_children_outlive_me();
    let failure = lecture(lab).err();
    let (failed_at, errno) = match &failure {
        Some(ForkFailed {
            child,
            error: Error::Sys { source, .. } | Error::Refused { errno: source, .. },
        }) => (*child, *source as i32),
        Some(f) => (f.child, 0),
        None => (0, 0),
    };
    let report = ParentReport {
        forked: lab.kids.len() as u32,
        line_ns: failure.is_none().then(|| lab.now()),
        failed_at,
        errno,
    };
    let _ = lab.sender.send(&Message::Parent(report));
    for kid in lab.kids.drain(..) {
        kid.release(); // no wait(): the children become orphans
    }
    i32::from(failure.is_some())
}

/// Waits for each child and notes how it ended in its row. A stop request ends the waits; the
/// guards of the children not reaped yet are dropped on return: killed and reaped.
fn reap(kids: Vec<Child>, rows: &mut [ChildRow]) -> anyhow::Result<()> {
    let me = getpid();
    for kid in kids {
        let pid = kid.pid().as_raw();
        match process::wait_or_stop(kid)? {
            Waited::Ended { exit, usage } => {
                if let Some(row) = rows.iter_mut().find(|r| r.pid == pid) {
                    row.set_exit(exit, me);
                    row.minflt = Some(usage.minflt);
                    row.cpu_us = Some(usage.utime_us + usage.stime_us);
                }
            }
            Waited::Stopped(_) => return Ok(()),
        }
    }
    Ok(())
}

/// For up to [`GRACE`], or until Ctrl-C or SIGTERM, looks whether the orphans' adopter reaps
/// them; marks the reaped ones and returns how many are still zombies, and how long it looked.
fn watch_reaping(rows: &mut [ChildRow], adopter: Option<i32>) -> (u32, Duration) {
    let began = Instant::now();
    let deadline = began + GRACE;
    loop {
        let mut zombies = 0;
        for row in rows.iter_mut().filter(|r| r.reaped_by.is_none()) {
            match tree::proc_info(Pid::from_raw(row.pid)) {
                // Gone, or the PID already reused by another process: reaped.
                None => row.reaped_by = adopter,
                Some(p) if Some(p.ppid) != row.adopted_by => row.reaped_by = adopter,
                Some(p) if p.state == 'Z' => zombies += 1,
                Some(_) => {}
            }
        }
        let pending = rows.iter().filter(|r| r.reaped_by.is_none()).count();
        if pending == 0 || Instant::now() >= deadline {
            return (zombies, began.elapsed());
        }
        if interrupt::sleep(Duration::from_millis(10)).is_some() {
            return (zombies, began.elapsed());
        }
    }
}

/// Ctrl-C or SIGTERM during --no-wait: kill every orphan and whatever else is below us, reap
/// what is ours to reap, and return what was seen.
fn stop_orphans(me: Pid, parent: Pid, rows: Vec<ChildRow>) -> Results {
    for row in &rows {
        let _ = kill(Pid::from_raw(row.pid), Signal::SIGKILL);
    }
    tree::kill_descendants(me);
    while let Ok(Some(_)) = process::wait_any() {}
    // Those another process adopted (`--adopter system`) are its to reap: say so, if any are
    // still there.
    let left_unreaped = rows
        .iter()
        .filter(|r| tree::proc_info(Pid::from_raw(r.pid)).is_some_and(|p| p.ppid != me.as_raw()))
        .count() as u32;
    Results {
        left_unreaped,
        ..summarise(me, parent, rows, None, None)
    }
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
        left_unreaped: 0,
    }
}

/// Up to 24 numbers, space-separated, then an ellipsis.
fn numbers<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.len() > 24 {
        format!("{} … ({} in all)", items[..24].join(" "), items.len())
    } else {
        items.join(" ")
    }
}

impl Orphans {
    /// `within 5 s`, or `within the 0.4 s it watched before it was stopped`.
    fn watched(&self) -> String {
        let grace = GRACE.as_millis() as u64;
        if self.watched_ms >= grace {
            format!("within {} s", GRACE.as_secs())
        } else {
            format!(
                "in the {:.1} s the demo watched before it was stopped",
                self.watched_ms as f64 / 1000.0
            )
        }
    }
}

impl Results {
    /// The children's indices in the order their lines came.
    fn line_order(&self) -> Vec<u32> {
        let mut by_line: Vec<&ChildRow> = self.children.iter().collect();
        by_line.sort_by_key(|c| c.line_order);
        by_line.iter().map(|c| c.index).collect()
    }

    /// `in creation order, this time` or `in the order 2 1 3 4 (2 of 4 out of creation order)`.
    fn order(&self) -> String {
        if self.in_creation_order {
            "in creation order, this time".into()
        } else {
            format!(
                "in the order {} ({} of {} out of creation order)",
                numbers(self.line_order().into_iter()),
                self.out_of_place,
                self.spawned
            )
        }
    }

    /// How the reaped children ended, counted: `4 exited with code 0`.
    fn exits(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in self.children.iter().filter(|r| r.reaped_by.is_some()) {
            let how = match (r.exit_code, r.exit_signal) {
                (Some(code), _) => Exit::Code { code }.to_string(),
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

    /// Why fewer children reported than were asked for.
    fn missing(&self, n: u32) -> String {
        let quiet: Vec<String> = self
            .children
            .iter()
            .filter(|c| c.exit_code != Some(0))
            .filter_map(|c| match (c.exit_code, c.exit_signal) {
                (Some(code), _) => Some(format!("child {} exited with code {code}", c.index)),
                (_, Some(signal)) => Some(format!(
                    "child {} was {}",
                    c.index,
                    Exit::Signal {
                        signal,
                        core_dumped: false
                    }
                )),
                _ => None,
            })
            .collect();
        let missing = n.saturating_sub(self.spawned);
        let mut because = format!("{} never reported a line", words::count(missing, "child"));
        if !quiet.is_empty() {
            because.push_str(&format!("; {}", words::list(quiet)));
        }
        because
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = ChildRow;

    fn headline(&self, _p: &Params) -> String {
        let degrees =
            |c: Option<&ChildRow>| c.map_or(String::new(), |c| format!("{:.6}", c.celsius));
        let order = if self.in_creation_order {
            "in creation order".to_string()
        } else if self.spawned <= 8 {
            format!("in the order {}", numbers(self.line_order().into_iter()))
        } else {
            format!("{} of {} out of place", self.out_of_place, self.spawned)
        };
        let fate = match &self.orphans {
            Some(o) => format!(
                "{} adopted by {}, {} reaped",
                words::count(o.adopted, "orphan"),
                o.adopter_pid.map_or("?".into(), |p| format!("PID {p}")),
                o.reaped
            ),
            None => self.exits(),
        };
        format!(
            "{} ({} … {} C); lines {order}; {fate}",
            words::count(self.spawned, "child"),
            degrees(self.children.first()),
            degrees(self.children.last())
        )
    }

    fn analysis(&self, _p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let rows = &self.children;
        let mut lines = Vec::new();
        if rows.is_empty() {
            return lines;
        }
        lines.push(format!(
            "created: {}, i = 1 to {} in the lecture's loop (PIDs {})",
            words::count(rows.len() as u64, "child"),
            rows.len(),
            numbers(rows.iter().map(|c| c.pid))
        ));
        let mut order = format!(
            "lines: printed in this order: {} ({}",
            numbers(self.line_order().into_iter()),
            if self.in_creation_order {
                "creation order, this time".to_string()
            } else {
                format!(
                    "{} of {} out of creation order",
                    self.out_of_place,
                    rows.len()
                )
            }
        );
        match self.before_parent_line {
            Some(0) => order.push_str("; the parent's line came before all of them"),
            Some(k) if k == self.spawned => {
                order.push_str("; the parent's line came after all of them")
            }
            Some(k) => order.push_str(&format!("; the parent's line came after {k} of them")),
            None => {}
        }
        order.push_str("), by when each child's write to stdout returned");
        lines.push(order);
        let delays = rows
            .iter()
            .map(|c| c.started_ns.saturating_sub(c.forked_ns));
        if let (Some(lo), Some(hi)) = (delays.clone().min(), delays.max()) {
            lines.push(format!(
                "running: each child ran its first line of code {} to {} after its parent called fork()",
                fmt_ns(lo as f64),
                fmt_ns(hi as f64)
            ));
        }
        match &self.orphans {
            Some(o) => {
                lines.push(format!(
                    "orphans: the lecture's parent (PID {}) ended without waiting; {} of its {} were then re-parented to {}",
                    self.parent_pid,
                    o.adopted,
                    words::count(rows.len() as u64, "child"),
                    o.adopter
                ));
                let reaper = o
                    .adopter_pid
                    .map_or("their adopter".to_string(), |p| format!("PID {p}"));
                let statuses = rows
                    .iter()
                    .any(|c| c.exit_code.is_some() || c.exit_signal.is_some());
                lines.push(format!(
                    "reaped: {} of {} by {reaper}{}{}",
                    o.reaped,
                    words::count(rows.len() as u64, "orphan"),
                    if o.reaped > 0 && statuses {
                        format!(" ({})", self.exits())
                    } else {
                        String::new()
                    },
                    if o.zombies > 0 {
                        format!(
                            "; {} still {}: their adopter had not reaped them {}",
                            o.zombies,
                            if o.zombies == 1 {
                                "a zombie"
                            } else {
                                "zombies"
                            },
                            o.watched()
                        )
                    } else {
                        String::new()
                    }
                ));
            }
            None => lines.push(format!(
                "reaped: {} (wait4 by PID {}, in creation order; the lecture's parent never waits)",
                self.exits(),
                self.demo_pid
            )),
        }
        lines
    }

    fn verdict(&self, p: &Params, cx: &Context<'_>) -> Verdict {
        let n = p.number;
        let heard = self.spawned;
        if !p.no_wait {
            let claim = "fork() returns twice, so every child runs on its own and prints its line, in the order the scheduler runs them";
            if heard < n && cx.stopped.is_some() {
                return Verdict::unchecked(
                    claim,
                    format!(
                        "stopped after {heard} of {} had printed their line",
                        words::count(n, "child")
                    ),
                );
            }
            return Verdict::check(
                claim,
                heard == n,
                if heard == n {
                    format!(
                        "{heard} of {} printed their line, {}",
                        words::count(n, "child"),
                        self.order()
                    )
                } else {
                    format!(
                        "only {heard} of {} printed their line: {}",
                        words::count(n, "child"),
                        self.missing(n)
                    )
                },
            );
        }
        let claim =
            "a parent that ends without waiting leaves orphans, which another process adopts";
        let Some(o) = &self.orphans else {
            return Verdict::unchecked(
                claim,
                format!(
                    "stopped before the orphans' new parent was read ({heard} of {} had printed)",
                    words::count(n, "child")
                ),
            );
        };
        let adopted_elsewhere = o.adopter_pid.is_some_and(|a| a != self.parent_pid);
        let held = heard == n && o.adopted == n && adopted_elsewhere;
        let because = if held {
            format!(
                "{} of {} of the lecture's parent (PID {}) {} re-parented to {}",
                o.adopted,
                words::count(n, "orphan"),
                self.parent_pid,
                words::noun(o.adopted, "was"),
                o.adopter
            )
        } else if heard < n {
            format!(
                "only {heard} of {} reported: {}",
                words::count(n, "child"),
                self.missing(n)
            )
        } else {
            let gone = self
                .children
                .iter()
                .filter(|c| c.adopted_by.is_none())
                .count();
            format!(
                "{} of {} {} seen re-parented to {}{}",
                o.adopted,
                words::count(n, "orphan"),
                words::noun(o.adopted, "was"),
                o.adopter,
                if gone > 0 {
                    format!(
                        "; {} had already gone from /proc when the demo looked",
                        words::count(gone as u64, "child")
                    )
                } else {
                    "; the others had another new parent".to_string()
                }
            )
        };
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        match (&self.orphans, self.children.is_empty()) {
            (Some(o), false) => format!(
                "a parent that ends without waiting leaves orphans: the lecture's parent (PID {}) ended, so the kernel handed {} of its {} to {}, which reaped {} of them; without a subreaper that work falls to init, PID 1",
                self.parent_pid,
                o.adopted,
                words::count(self.spawned, "child"),
                o.adopter,
                o.reaped
            ),
            (None, false) if !p.no_wait => format!(
                "after fork() the parent and each child run on their own: this run's {} came {}{}; the scheduler decides, so another run may differ",
                words::count(self.spawned, "line"),
                self.order(),
                match self.before_parent_line {
                    Some(k) => format!(", and the parent's line after {k} of them"),
                    None => String::new(),
                }
            ),
            _ if p.no_wait => {
                "a parent that ends without waiting leaves orphans: the kernel hands them to a child subreaper or to init, which must reap them".into()
            }
            _ => {
                "after fork() the parent and each child run on their own: the scheduler decides who prints first".into()
            }
        }
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "strace -f -e trace=clone,exit_group,wait4 fork_celsius {}   (a clone per child; then who waits for whom)",
            p.number
        )
    }

    fn rows(&self, _p: &Params) -> Vec<ChildRow> {
        self.children.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        // What became of the children, as seen: killed and reaped by the demo, or (orphans that
        // another process adopted) left for it to reap.
        let fate = match &self.orphans {
            Some(o) if o.reaped < self.spawned => format!(
                "the orphans had ended, and their adopter had reaped {} of {}{}",
                o.reaped,
                self.spawned,
                if o.zombies > 0 {
                    format!(
                        " ({} still {})",
                        o.zombies,
                        if o.zombies == 1 {
                            "a zombie"
                        } else {
                            "zombies"
                        }
                    )
                } else {
                    String::new()
                }
            ),
            Some(_) => "the orphans had ended and been reaped".into(),
            None if self.left_unreaped > 0 => format!(
                "every child was killed; {} adopted by another process {} left for it to reap",
                self.left_unreaped,
                words::noun(self.left_unreaped, "was")
            ),
            None => "every child was killed and reaped".into(),
        };
        Some(format!(
            "{} of {} had printed their line; {fate}",
            self.spawned,
            words::count(p.number, "child")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: u32, pid: i32, line_ns: u64) -> ChildRow {
        let fahrenheit = f64::from(100 + index * 10);
        ChildRow {
            index,
            fahrenheit,
            celsius: (fahrenheit - 32.0) * 5.0 / 9.0,
            pid,
            forked_ns: u64::from(index) * 1000,
            started_ns: u64::from(index) * 1000 + 500,
            line_ns,
            exit_code: Some(0),
            reaped_by: Some(100),
            ..ChildRow::default()
        }
    }

    /// Four children whose lines came in the order 2 1 3 4, the parent's after two of them.
    fn four() -> Results {
        let rows = vec![
            row(1, 101, 2_000),
            row(2, 102, 1_500),
            row(3, 103, 9_000),
            row(4, 104, 9_500),
        ];
        summarise(
            Pid::from_raw(100),
            Pid::from_raw(100),
            rows,
            Some(5_000),
            None,
        )
    }

    fn cx(stopped: Option<Signal>) -> Context<'static> {
        crate::testing::context_on(crate::testing::machine(), stopped)
    }

    fn check(r: &Results, p: Params, stopped: Option<Signal>) -> Verdict {
        r.verdict(&p, &cx(stopped))
    }

    #[test]
    fn the_lines_order_is_measured_and_named() {
        let r = four();
        assert_eq!(r.line_order(), vec![2, 1, 3, 4]);
        assert_eq!((r.out_of_place, r.before_parent_line), (2, Some(2)));
        assert!(!r.in_creation_order);
        let lines = r.analysis(&Params::new(4, None), &cx(None));
        assert_eq!(
            lines[1],
            "lines: printed in this order: 2 1 3 4 (2 of 4 out of creation order; the parent's line came after 2 of them), by when each child's write to stdout returned"
        );
        assert_eq!(
            lines[3],
            "reaped: 4 exited with code 0 (wait4 by PID 100, in creation order; the lecture's parent never waits)"
        );
        assert!(
            r.headline(&Params::new(4, None))
                .starts_with("4 children (43.333333 … 60.000000 C); lines in the order 2 1 3 4")
        );
    }

    #[test]
    fn every_child_printing_holds_and_a_missing_one_does_not() {
        let p = Params::new(4, None);
        let v = check(&four(), p, None);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "4 of 4 children printed their line, in the order 2 1 3 4 (2 of 4 out of creation order)"
        );

        let mut r = four();
        r.children.remove(2);
        let r = summarise(
            Pid::from_raw(100),
            Pid::from_raw(100),
            r.children,
            None,
            None,
        );
        let v = check(&r, p, None);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.starts_with(
                "only 3 of 4 children printed their line: 1 child never reported a line"
            ),
            "{}",
            v.because
        );
        // Stopped before every child had printed: the run cannot tell.
        assert_eq!(check(&r, p, Some(Signal::SIGINT)).held, None);
    }

    #[test]
    fn creation_order_is_said_when_it_happens() {
        let rows = vec![row(1, 101, 1), row(2, 102, 2)];
        let r = summarise(Pid::from_raw(100), Pid::from_raw(100), rows, Some(3), None);
        let v = check(&r, Params::new(2, None), None);
        assert_eq!(
            v.because,
            "2 of 2 children printed their line, in creation order, this time"
        );
        assert!(
            r.lesson(&Params::new(2, None), &cx(None))
                .contains("this run's 2 lines came in creation order, this time, and the parent's line after 2 of them")
        );
    }

    fn orphaned(adopted_by: [Option<i32>; 3]) -> Results {
        let rows: Vec<ChildRow> = adopted_by
            .iter()
            .enumerate()
            .map(|(i, a)| ChildRow {
                adopted_by: *a,
                ..row(i as u32 + 1, 201 + i as i32, i as u64)
            })
            .collect();
        let adopter_pid = rows.iter().find_map(|r| r.adopted_by);
        let adopted = rows.iter().filter(|r| r.adopted_by == adopter_pid).count() as u32;
        let orphans = Orphans {
            adopter_pid,
            adopter: "PID 100 (fork_celsius: this demo, which made itself a child subreaper)"
                .into(),
            adopted,
            reaped: 3,
            zombies: 0,
            watched_ms: 0,
        };
        summarise(
            Pid::from_raw(100),
            Pid::from_raw(200),
            rows,
            Some(10),
            Some(orphans),
        )
    }

    #[test]
    fn orphans_adopted_hold_and_orphans_unseen_do_not() {
        let p = Params::new(3, Some(Adopter::Demo));
        let r = orphaned([Some(100); 3]);
        let v = check(&r, p, None);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "3 of 3 orphans of the lecture's parent (PID 200) were re-parented to PID 100 (fork_celsius: this demo, which made itself a child subreaper)"
        );
        let lines = r.analysis(&p, &cx(None));
        assert!(
            lines.contains(&"reaped: 3 of 3 orphans by PID 100 (3 exited with code 0)".to_string()),
            "{lines:?}"
        );
        assert!(
            r.lesson(&p, &cx(None))
                .contains("handed 3 of its 3 children to PID 100")
        );

        let r = orphaned([Some(100), None, Some(100)]);
        let v = check(&r, p, None);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .ends_with("1 child had already gone from /proc when the demo looked"),
            "{}",
            v.because
        );

        // Stopped before the adoption was read.
        let mut r = orphaned([Some(100); 3]);
        r.orphans = None;
        assert_eq!(check(&r, p, Some(Signal::SIGTERM)).held, None);
    }

    #[test]
    fn the_partial_notice_counts_the_children() {
        let r = four();
        assert_eq!(
            r.progress(&Params::new(5, None)).unwrap(),
            "4 of 5 children had printed their line; every child was killed and reaped"
        );
    }

    #[test]
    fn the_partial_notice_says_what_became_of_orphans_left_to_another_adopter() {
        // Stopped while watching PID 1, which had reaped none of the three yet.
        let mut r = orphaned([Some(1); 3]);
        let o = r.orphans.as_mut().unwrap();
        (o.reaped, o.zombies, o.watched_ms) = (0, 3, 400);
        let p = Params::new(3, Some(Adopter::System));
        assert_eq!(
            r.progress(&p).unwrap(),
            "3 of 3 children had printed their line; the orphans had ended, and their adopter had reaped 0 of 3 (3 still zombies)"
        );
        let lines = r.analysis(&p, &cx(Some(Signal::SIGINT)));
        assert!(
            lines.iter().any(|l| l.ends_with(
                "3 still zombies: their adopter had not reaped them in the 0.4 s the demo watched before it was stopped"
            )),
            "{lines:?}"
        );
        // Stopped before the adoption was read: killed, one left to its adopter.
        let mut r = orphaned([Some(1); 3]);
        (r.orphans, r.left_unreaped) = (None, 1);
        assert_eq!(
            r.progress(&p).unwrap(),
            "3 of 3 children had printed their line; every child was killed; 1 adopted by another process was left for it to reap"
        );
    }
}
