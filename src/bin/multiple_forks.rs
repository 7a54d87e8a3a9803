//! multiple_forks: three fork() calls in a row, and every process that reaches one runs it.
//!
//! What the lecture wants you to see: after the first fork two processes run the rest of the
//! program, after the second four, after the third eight: 2³ processes in a tree, not four in a
//! chain. The PID and PPID in each line say who is whose child; `pstree -p` draws the tree.
//!
//! The lecture's `multiple_forks.c`, in outline (`wait_for_input` is its pause point):
//!
//! ```c
//! fork();
//! printf("After first fork: PID = %d; PPID = %d\n", getpid(), getppid());
//! wait_for_input("first fork()");
//! fork();
//! printf("After second fork: PID = %d; PPID = %d\n", getpid(), getppid());
//! wait_for_input("second fork()");
//! pid = fork();
//! wait_for_input("third fork()");
//! if (pid == 0) {
//!     sleep(1);
//!     printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
//! } else {
//!     printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
//!     waitpid(pid, NULL, 0);
//! }
//! ```
//!
//! In the lecture every one of the eight processes stops at every pause point and they all read
//! the one terminal. Here only the top process pauses (`--pause`); the others wait at a gate, a
//! pipe whose write end only the top process holds, until it goes on. The same gate, always
//! used, lets the top process read the whole tree from /proc while all eight exist. And every
//! process waits for all of its children, not only the third fork's, so none is left behind.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Parser;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid, getppid};
use serde::Serialize;

use oslab::Error;
use oslab::forks::{self, Gate, Next, Receiver};
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::{interrupt, pause};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::{self, Child, Exit, Forked, exit_child};

/// Three forks in a row make eight processes: a tree, drawn like pstree -p.
///
/// The lecture's multiple_forks.c: `fork(); fork(); pid = fork();` with a line after the first
/// two (`After first fork: PID = %d; PPID = %d`), then each third-fork child sleeps and prints
/// `[child] ...` while its parent prints `[parent] ... Waiting...` and waits. Every process here
/// waits for all its children; --pause stops at the lecture's three pause points in the top
/// process only, while the other processes wait for it.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: multiple_forks --sleep 100")]
struct Args {
    /// How long each third-fork child sleeps before its line, in ms (the lecture's sleep(1))
    /// [0-60000]
    #[arg(long, default_value_t = 1000, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 60_000))]
    sleep: u64,

    /// Stop at the lecture's pause points (after each fork) with the PID and a pstree command
    /// to paste in another terminal; only the top process asks, the others wait for it
    #[arg(long)]
    pause: bool,

    #[command(flatten)]
    common: CommonArgs,
}

const FORKS: usize = 3;
const ORDINAL: [&str; FORKS] = ["first", "second", "third"];

/// How long the top process waits for the others to reach a pause point before it gives up.
const STAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// One process of the tree: one CSV row.
#[derive(Clone, Debug, Default, Serialize)]
struct ProcRow {
    pid: i32,
    ppid: i32,
    /// The fork that created it: 1, 2 or 3 (0: the top process, which the shell started).
    born_at_fork: usize,
    /// What the third fork returned in it: its child's PID, or 0 in the child.
    third_fork: i32,
    /// Its children, in the order it forked them.
    children: Vec<i32>,
    /// How it ended, as its parent's wait4 saw it (None for the top process).
    exit_code: Option<i32>,
    exit_signal: Option<i32>,
    /// The process that reaped it.
    reaped_by: Option<i32>,
}

#[derive(Debug, Serialize)]
struct Results {
    /// The process the shell started: the root of the tree.
    top_pid: i32,
    /// Processes there were after the three forks (2³ = 8 when every fork succeeds).
    processes: usize,
    /// After fork 1, 2 and 3.
    per_fork: Vec<usize>,
    /// The tree as `pstree -p` draws it, read from /proc while every process waited at the
    /// third pause point.
    tree: String,
    /// True when every process was reaped by the process that forked it.
    reaped_by_own_parent: bool,
    tree_processes: Vec<ProcRow>,
}

#[derive(Debug, Serialize)]
struct Params {
    sleep_ms: u64,
    pause: bool,
    cpu: Option<String>,
}

/// What one process knows about itself.
struct Me {
    top: Pid,
    born: usize,
    /// Its children: each one reaped before it ends, by wait or by its guard.
    kids: Vec<Child>,
}

impl Me {
    /// Ends a process below the top one: its children first (killed and reaped, if they are
    /// still there), then itself.
    fn end(self, code: i32) -> ! {
        drop(self.kids);
        exit_child(code)
    }
}

fn main() -> ExitCode {
    let (args, _cmd) = oslab::kit::cli::parse::<Args>("multiple_forks", |c| c);
    oslab::kit::cli::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    process::limits::check_can_create(7)?;
    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    let single = SingleThreaded::check()?;
    // Whatever goes wrong below, a process whose parent died comes to us, and we reap it.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| Error::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    // Only the top process returns from here; the seven others end inside.
    let (results, stopped) = three_forks(&args, out, &single)?;
    let counters = before.delta(&Snapshot::of_self()?);

    if let Some(signal) = stopped {
        eprintln!(
            "multiple_forks: stopped by {signal}; every process was killed and reaped; results are partial"
        );
    }
    let lesson = "every process that reaches fork() runs it: three forks in a row make 2³ = 8 processes, a tree in which the first children have children of their own";
    analyse(&out, &results, lesson, &system, stopped.is_some());
    let counts: Vec<String> = results.per_fork.iter().map(|n| n.to_string()).collect();
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "multiple_forks",
        schema_version: SCHEMA_VERSION,
        params: Params {
            sleep_ms: args.sleep,
            pause: args.pause,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: format!(
            "{} processes from {FORKS} forks (1 → {}); {}",
            results.processes,
            counts.join(" → "),
            if results.reaped_by_own_parent {
                "each reaped by its own parent"
            } else {
                "not all reaped by their own parent"
            }
        ),
        lesson: lesson.into(),
        partial: stopped.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &report.results.tree_processes)?;
    Ok(interrupt::exit_status(stopped))
}

/// The lecture's program, run by all eight processes. The top one returns what it saw; the
/// others end inside, each after reaping its own children.
fn three_forks(
    args: &Args,
    out: Output,
    single: &SingleThreaded,
) -> anyhow::Result<(Results, Option<Signal>)> {
    let (mut reports, sender) = forks::pipe()?;
    let mut gates = [Gate::new()?, Gate::new()?, Gate::new()?];
    let mut me = Me {
        top: getpid(),
        born: 0,
        kids: Vec::new(),
    };
    let mut tally = Tally::new(me.top);
    let mut tree = String::new();
    let mut third = 0;

    for stage in 1..=FORKS {
        let parent = getpid();
        // fork();
        let returned = match process::fork(single) {
            Ok(Forked::Child) => {
                forks::forget_inherited(&mut me.kids); // my siblings, not my children
                gates.iter_mut().for_each(Gate::leave_to_parent);
                me.born = stage;
                tie_to_parent(parent);
                0
            }
            Ok(Forked::Parent(kid)) => {
                let pid = kid.pid().as_raw();
                me.kids.push(kid);
                pid
            }
            Err(Error::Sys { source, .. }) => -(source as i32),
            Err(_) => -libc::EAGAIN,
        };
        third = returned;
        if stage < FORKS {
            out.lecture(format_args!(
                "After {} fork: PID = {}; PPID = {}",
                ORDINAL[stage - 1],
                getpid(),
                getppid()
            ));
        }
        // wait_for_input("... fork()"): everyone waits here until the top process goes on.
        if getpid() != me.top {
            let record = format!(
                "S {stage} {} {} {} {returned}",
                getpid(),
                getppid(),
                me.born
            );
            if sender.send(&record).is_err() {
                me.end(1);
            }
            match gates[stage - 1].wait() {
                Ok(None) if returned >= 0 => continue,
                Ok(None) => me.end(1), // our fork failed: the top process ends the demo
                Ok(Some(_stopped)) => me.end(130),
                Err(_) => me.end(1),
            }
        }
        match tally.collect(stage, returned, &mut reports) {
            Ok(Collected::All) => {}
            Ok(Collected::Stopped(signal)) => {
                abort(me);
                return Ok((tally.results(tree), Some(signal)));
            }
            Ok(Collected::Failed(pid, errno)) => {
                abort(me);
                return Err(anyhow!(
                    "process {pid} could not fork at the {} fork: fork failed: {}; every process was killed and reaped",
                    ORDINAL[stage - 1],
                    nix::errno::Errno::from_raw(errno)
                ));
            }
            Err(e) => {
                abort(me);
                return Err(e);
            }
        }
        let now = tally.counts[stage - 1];
        if stage == FORKS {
            // Everyone exists and waits at the gate: read the tree from /proc.
            let top = oslab::proc::tree::proc_info(me.top);
            tree = top.map_or_else(String::new, |t| {
                oslab::proc::tree::pstree(&t, &oslab::proc::tree::descendants(me.top))
            });
        }
        pause::point(
            args.pause,
            &format!(
                "{} fork(): {now} processes now; the others wait until you press ENTER here",
                ORDINAL[stage - 1]
            ),
            &format!("pstree -p {}", me.top),
        );
        gates[stage - 1].open();
    }

    // if (pid == 0) { sleep(1); printf("[child] ..."); }
    // else { printf("[parent] ... Waiting..."); waitpid(pid, NULL, 0); }
    if third == 0 {
        if forks::sleep_unless_stopped(Duration::from_millis(args.sleep)).is_some() {
            me.end(130);
        }
        out.lecture(format_args!(
            "[child] PID = {}; PPID = {}",
            getpid(),
            getppid()
        ));
    } else {
        out.lecture(format_args!(
            "[parent] PID = {}; child PID = {third}; Waiting...",
            getpid()
        ));
    }
    // waitpid(pid, NULL, 0), and then every other child too. The third fork's child is the
    // last one forked; wait for it first, as the lecture does.
    let mut kids = std::mem::take(&mut me.kids);
    kids.reverse();
    let mut kids = kids.into_iter();
    while let Some(kid) = kids.next() {
        let pid = kid.pid().as_raw();
        let top = getpid() == me.top;
        match process::wait_or_stop(kid) {
            Ok(process::Waited::Ended { exit, .. }) => {
                let (code, signal) = match exit {
                    Exit::Code { code } => (code, -1),
                    Exit::Signal { signal, .. } => (-1, signal),
                };
                let record = format!("X {} {pid} {code} {signal}", getpid());
                if top {
                    tally.record(&record);
                } else if sender.send(&record).is_err() {
                    me.kids = kids.collect();
                    me.end(1);
                }
            }
            Ok(process::Waited::Stopped(signal)) if top => {
                me.kids = kids.collect();
                abort(me);
                return Ok((tally.results(tree), Some(signal)));
            }
            Err(e) if top => {
                me.kids = kids.collect();
                abort(me);
                return Err(e.into());
            }
            Ok(process::Waited::Stopped(_)) | Err(_) => {
                me.kids = kids.collect();
                me.end(130);
            }
        }
    }
    if getpid() != me.top {
        me.end(0); // return 0;
    }

    // The top process: every other one has ended, so the pipe ends after their last records.
    drop(sender);
    loop {
        match reports.next(Some(STAGE_TIMEOUT))? {
            Next::Record(r) => tally.record(&r),
            Next::End | Next::TimedOut => break,
            Next::Stopped(signal) => return Ok((tally.results(tree), Some(signal))),
        }
    }
    Ok((tally.results(tree), None))
}

/// In a child just forked: if our parent dies from now on, the kernel kills us too
/// (PR_SET_PDEATHSIG), so a tree whose top is killed does not live on; and if it already died
/// before we asked, end now.
fn tie_to_parent(parent: Pid) {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if getppid() != parent {
        exit_child(1);
    }
}

/// The top process's last resort: kill everything below it and reap it all. Orphans whose
/// parent was killed come to us, a child subreaper.
fn abort(me: Me) {
    oslab::proc::tree::kill_descendants(me.top);
    drop(me.kids);
    while let Ok(Some(_)) = process::wait_any() {}
}

/// What came out of waiting for every process to reach a pause point.
enum Collected {
    All,
    Stopped(Signal),
    /// A process's fork failed: its PID and errno.
    Failed(i32, i32),
}

/// The top process's view of the tree, from the records every other process sends.
struct Tally {
    top: Pid,
    procs: BTreeMap<i32, ProcRow>,
    /// Processes there were after each fork.
    counts: Vec<usize>,
}

impl Tally {
    fn new(top: Pid) -> Tally {
        let mut procs = BTreeMap::new();
        procs.insert(
            top.as_raw(),
            ProcRow {
                pid: top.as_raw(),
                ppid: getppid().as_raw(),
                ..ProcRow::default()
            },
        );
        Tally {
            top,
            procs,
            counts: Vec::new(),
        }
    }

    /// Waits until every process has reported from pause point `stage`: each process that
    /// existed before the fork (with what its fork returned) and each child that fork made.
    /// `mine` is what the fork returned in the top process.
    fn collect(
        &mut self,
        stage: usize,
        mine: i32,
        reports: &mut Receiver,
    ) -> anyhow::Result<Collected> {
        let before = self.counts.last().copied().unwrap_or(1);
        self.note_fork(self.top.as_raw(), stage, mine);
        let (mut parents, mut children, mut made) = (1, 0, usize::from(mine > 0));
        let mut failed = (mine < 0).then_some((self.top.as_raw(), -mine));
        while parents < before || children < made {
            let record = match reports.next(Some(STAGE_TIMEOUT))? {
                Next::Record(r) => r,
                Next::Stopped(signal) => return Ok(Collected::Stopped(signal)),
                Next::End | Next::TimedOut => {
                    return Err(anyhow!(
                        "only {} of {} processes reached the {} fork's pause point within {} s",
                        parents + children,
                        before + made,
                        ORDINAL[stage - 1],
                        STAGE_TIMEOUT.as_secs()
                    ));
                }
            };
            let f: Vec<i32> = record
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            match (record.starts_with("S "), f.as_slice()) {
                (true, &[s, pid, ppid, born, returned]) if s as usize == stage => {
                    let row = self.procs.entry(pid).or_insert_with(|| ProcRow {
                        pid,
                        ppid,
                        born_at_fork: born as usize,
                        ..ProcRow::default()
                    });
                    row.ppid = ppid;
                    if returned == 0 {
                        children += 1;
                    } else {
                        parents += 1;
                        made += usize::from(returned > 0);
                        if returned < 0 {
                            failed.get_or_insert((pid, -returned));
                        }
                    }
                    self.note_fork(pid, stage, returned);
                }
                _ => self.record(&record),
            }
        }
        self.counts.push(before + made);
        Ok(match failed {
            Some((pid, errno)) => Collected::Failed(pid, errno),
            None => Collected::All,
        })
    }

    fn note_fork(&mut self, pid: i32, stage: usize, returned: i32) {
        if let Some(row) = self.procs.get_mut(&pid) {
            if returned > 0 {
                row.children.push(returned);
            }
            if stage == FORKS {
                row.third_fork = returned.max(0);
            }
        }
    }

    /// A record of a reaped child: `X PARENT CHILD CODE SIGNAL`.
    fn record(&mut self, record: &str) {
        let f: Vec<i32> = record
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        if let (true, &[parent, child, code, signal]) = (record.starts_with("X "), f.as_slice())
            && let Some(row) = self.procs.get_mut(&child)
        {
            row.reaped_by = Some(parent);
            row.exit_code = (code >= 0).then_some(code);
            row.exit_signal = (signal >= 0).then_some(signal);
        }
    }

    fn results(self, tree: String) -> Results {
        let rows: Vec<ProcRow> = self.procs.into_values().collect();
        Results {
            top_pid: self.top.as_raw(),
            processes: rows.len(),
            per_fork: self.counts,
            tree,
            reaped_by_own_parent: rows
                .iter()
                .filter(|r| r.pid != self.top.as_raw())
                .all(|r| r.reaped_by == Some(r.ppid)),
            tree_processes: rows,
        }
    }
}

fn analyse(out: &Output, r: &Results, lesson: &str, system: &Machine, partial: bool) {
    let counts: Vec<String> = r.per_fork.iter().map(|n| n.to_string()).collect();
    out.analysis(format_args!(
        "processes: {} after {} forks: 1 → {} (every process that reached a fork() ran it: each fork doubles them)",
        r.processes,
        r.per_fork.len(),
        counts.join(" → ")
    ));
    if !r.tree.is_empty() {
        out.analysis(format_args!(
            "tree, read from /proc while all {} waited at the third fork (like pstree -p {}):",
            r.processes, r.top_pid
        ));
        for line in r.tree.lines() {
            out.analysis(format_args!("  {line}"));
        }
    }
    let reaped: Vec<&ProcRow> = r
        .tree_processes
        .iter()
        .filter(|p| p.reaped_by.is_some())
        .collect();
    let mut exits: BTreeMap<String, usize> = BTreeMap::new();
    for p in &reaped {
        let how = match (p.exit_code, p.exit_signal) {
            (Some(code), _) => Exit::Code { code },
            (_, Some(signal)) => Exit::Signal {
                signal,
                core_dumped: false,
            },
            _ => continue,
        };
        *exits.entry(how.to_string()).or_default() += 1;
    }
    let exits: Vec<String> = exits.iter().map(|(how, n)| format!("{n} {how}")).collect();
    if partial {
        out.analysis(format_args!(
            "reaped: {} by their own parents before the stop; the demo killed and reaped the rest",
            reaped.len()
        ));
    } else {
        out.analysis(format_args!(
            "reaped: {} processes, {} (wait4); {}",
            reaped.len(),
            if r.reaped_by_own_parent {
                "each by the process that forked it"
            } else {
                "NOT all by the process that forked them"
            },
            exits.join(", ")
        ));
    }
    out.analysis(format_args!("lesson: {lesson}"));
    out.analysis(
        "compare: multiple_forks --pause, then pstree -p PID in another terminal; strace -f -e trace=clone,wait4 multiple_forks --sleep 0",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
