//! `multiple_forks`'s lab bench: what every process of the tree does around the lecture's
//! program, and what the top process makes of it.
//!
//! In the lecture every one of the eight processes stops at every pause point and they all read
//! the one terminal. Here only the top process pauses (`--pause`); the others wait at a
//! [`ForkGate`] until it goes on. The same gates, always used, let the top process read the
//! whole tree from /proc while all eight exist. Every process reports to the top one on the one
//! [`channel`] (what each fork returned in it, whom it reaped), and every process waits for all
//! of its children, not only the third fork's, so none is left behind.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::anyhow;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid, getppid};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::kit::report::Output;
use crate::kit::{Context, Findings, Session, Verdict, interrupt, pause, words};
use crate::proc::tree;
use crate::process::channel::{Next, Receiver, Sender, channel};
use crate::process::gate::ForkGate;
use crate::process::{self, Child, Exit, SingleThreaded, Waited};

/// The lecture's three forks.
pub const FORKS: usize = 3;
/// The lecture's words for them.
pub const ORDINAL: [&str; FORKS] = ["first", "second", "third"];

/// How long the top process waits for the others to reach a pause point before it gives up.
const STAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The run's parameters, as reported.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Params {
    /// How long each third-fork child sleeps before its line.
    pub sleep_ms: u64,
    pub pause: bool,
}

/// What the processes below the top one tell it.
#[derive(Debug, Serialize, Deserialize)]
enum Message {
    /// A process reached the pause point after fork `stage`; `returned` is what that fork
    /// returned in it (a child's PID, 0 in the child, -errno if it failed).
    Reached {
        stage: usize,
        pid: i32,
        ppid: i32,
        born: usize,
        returned: i32,
    },
    /// A process reaped one of its children.
    Reaped {
        parent: i32,
        child: i32,
        exit_code: Option<i32>,
        exit_signal: Option<i32>,
    },
}

/// Why the top process stops going through the lecture's program: Ctrl-C or SIGTERM, or a
/// failure. Either way the lab bench kills and reaps the whole tree.
#[derive(Debug)]
pub enum Halt {
    Stopped,
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Halt {
    fn from(e: anyhow::Error) -> Halt {
        Halt::Failed(e)
    }
}

impl From<Error> for Halt {
    fn from(e: Error) -> Halt {
        Halt::Failed(e.into())
    }
}

/// One step of the lecture's program in the top process: on, or halted.
pub type Step = Result<(), Halt>;

/// One process of the tree: one CSV row.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProcRow {
    pub pid: i32,
    pub ppid: i32,
    /// The fork that created it: 1, 2 or 3 (0: the top process, which the shell started).
    pub born_at_fork: usize,
    /// What the third fork returned in it: its child's PID, or 0 in the child.
    pub third_fork: i32,
    /// Its children, in the order it forked them.
    pub children: Vec<i32>,
    /// How it ended, as its parent's wait4 saw it (None for the top process).
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// The process that reaped it.
    pub reaped_by: Option<i32>,
}

/// The run's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    /// The process the shell started: the root of the tree.
    pub top_pid: i32,
    /// Processes there were after the three forks (2³ = 8 when every fork succeeds).
    pub processes: usize,
    /// After fork 1, 2 and 3.
    pub per_fork: Vec<usize>,
    /// The tree as `pstree -p` draws it, read from /proc while every process waited at the
    /// third pause point.
    pub tree: String,
    /// The processes in that tree, the top one included (None: not read).
    pub tree_count: Option<usize>,
    /// True when every process was reaped by the process that forked it.
    pub reaped_by_own_parent: bool,
    pub tree_processes: Vec<ProcRow>,
}

/// What one process of the tree has: where the lines go, the proof that fork is safe, its
/// children, the channel to the top process and the gates of the pause points; and, in the top
/// process, what the others reported.
pub struct Tree {
    pub out: Output,
    single: SingleThreaded,
    pause: bool,
    top: Pid,
    /// This process.
    pid: Pid,
    /// The fork that made this process (0: the top one).
    born: usize,
    /// Its children: each one reaped before it ends, by wait or by its guard.
    kids: Vec<Child>,
    sender: Option<Sender<Message>>,
    reports: Receiver<Message>,
    gates: [ForkGate; FORKS],
    tally: Tally,
    tree: String,
    tree_count: Option<usize>,
}

/// Runs the lecture's program (`lecture`) in the top process and every process it forks. Only
/// the top process returns from it, with what the tree reported; if it halts, the whole tree is
/// killed and reaped.
pub fn run(
    s: &Session,
    p: Params,
    lecture: impl FnOnce(&mut Tree) -> Step,
) -> anyhow::Result<Results> {
    process::limits::check_can_create(7)?;
    let single = SingleThreaded::check()?;
    // Whatever goes wrong below, a process whose parent died comes to us, and we reap it.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| Error::sys("prctl(PR_SET_CHILD_SUBREAPER)", e))?;
    let (reports, sender) = channel::<Message>()?;
    let top = getpid();
    let mut tree = Tree {
        out: s.out,
        single,
        pause: p.pause,
        top,
        pid: top,
        born: 0,
        kids: Vec::new(),
        sender: Some(sender),
        reports,
        gates: [ForkGate::new()?, ForkGate::new()?, ForkGate::new()?],
        tally: Tally::new(top),
        tree: String::new(),
        tree_count: None,
    };
    match lecture(&mut tree) {
        Ok(()) => Ok(tree.results()),
        Err(Halt::Stopped) => {
            tree.abort();
            Ok(tree.results())
        }
        Err(Halt::Failed(e)) => {
            tree.abort();
            Err(e)
        }
    }
}

impl Tree {
    /// The proof that this process has one thread, for `process::fork`.
    pub fn single(&self) -> &SingleThreaded {
        &self.single
    }

    fn is_top(&self) -> bool {
        self.pid == self.top
    }

    /// In a child just forked by fork number `fork`: forgets its parent's children (its
    /// siblings), lets go of the gates' opening ends, and dies with its parent from now on
    /// (PR_SET_PDEATHSIG), so that a tree whose top is killed does not live on. Returns 0, what
    /// fork() returned.
    pub fn in_child(&mut self, fork: usize) -> i32 {
        process::forget_inherited(&mut self.kids);
        self.gates.iter_mut().for_each(ForkGate::leave_to_parent);
        let parent = self.pid;
        self.pid = getpid();
        self.born = fork;
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
        if getppid() != parent {
            process::exit_child(1); // the parent died before we asked
        }
        0
    }

    /// In the parent: keeps the child, to be reaped. Returns its PID, what fork() returned.
    pub fn keep(&mut self, child: Child) -> i32 {
        let pid = child.pid().as_raw();
        self.kids.push(child);
        pid
    }

    /// A fork that failed: -errno, which the next pause point reports to the top process.
    pub fn failed(&mut self, error: Error) -> i32 {
        match error {
            Error::Sys { source, .. } | Error::Refused { errno: source, .. } => -(source as i32),
            _ => -libc::EAGAIN,
        }
    }

    /// The lecture's `wait_for_input("first fork()")`, after fork number `stage`, which
    /// returned `returned` here. A process below the top one reports and waits at the gate
    /// until the top one opens it; the top one waits until every process has reported, reads
    /// the tree from /proc after the third fork, pauses (`--pause`) and opens the gate.
    pub fn wait_for_input(&mut self, stage: usize, returned: i32) -> Step {
        if !self.is_top() {
            let reached = Message::Reached {
                stage,
                pid: self.pid.as_raw(),
                ppid: getppid().as_raw(),
                born: self.born,
                returned,
            };
            if self.send(&reached).is_err() {
                self.end(1);
            }
            match self.gates[stage - 1].wait() {
                Ok(None) if returned >= 0 => return Ok(()),
                Ok(None) => self.end(1), // our fork failed: the top process ends the demo
                Ok(Some(_stopped)) => self.end(130),
                Err(_) => self.end(1),
            }
        }
        match self.tally.collect(stage, returned, &mut self.reports)? {
            Collected::All => {}
            Collected::Stopped => return Err(Halt::Stopped),
            Collected::Failed(pid, errno) => {
                return Err(Halt::Failed(anyhow!(
                    "process {pid} could not fork at the {} fork: fork failed: {}; every process was killed and reaped",
                    ORDINAL[stage - 1],
                    nix::errno::Errno::from_raw(errno)
                )));
            }
        }
        let now = self.tally.counts[stage - 1];
        if stage == FORKS {
            // Everyone exists and waits at the gate: read the tree from /proc.
            if let Some(top) = tree::proc_info(self.top) {
                let below = tree::descendants(self.top);
                self.tree = tree::pstree(&top, &below);
                self.tree_count = Some(1 + below.len());
            }
        }
        pause::point(
            self.pause,
            &format!(
                "{} fork(): {} now; the others wait until you press ENTER here",
                ORDINAL[stage - 1],
                words::count(now as u64, "process")
            ),
            &format!("pstree -p {}", self.top),
        );
        self.gates[stage - 1].open();
        Ok(())
    }

    /// The lecture's `sleep(1)`, in a third-fork child; Ctrl-C ends the process.
    pub fn sleep(&mut self, length: Duration) {
        if interrupt::sleep(length).is_some() {
            self.end(130);
        }
    }

    /// `waitpid(pid, NULL, 0)` for the third fork's child (the last forked, so the first
    /// waited for), then for every other child, each reported to the top process. A process
    /// below the top one then ends (`return 0;`); the top one collects the last reports.
    pub fn wait_children(&mut self) -> Step {
        let mut kids = std::mem::take(&mut self.kids);
        kids.reverse();
        let mut kids = kids.into_iter();
        let me = self.pid.as_raw();
        while let Some(kid) = kids.next() {
            let child = kid.pid().as_raw();
            match process::wait_or_stop(kid) {
                Ok(Waited::Ended { exit, .. }) => {
                    let (exit_code, exit_signal) = split(exit);
                    if self.is_top() {
                        self.tally.reaped(me, child, exit_code, exit_signal);
                        continue;
                    }
                    let reaped = Message::Reaped {
                        parent: me,
                        child,
                        exit_code,
                        exit_signal,
                    };
                    if self.send(&reaped).is_err() {
                        self.kids = kids.collect();
                        self.end(1);
                    }
                }
                other => {
                    // The guards of the children not waited for yet: killed and reaped.
                    self.kids = kids.collect();
                    match other {
                        Ok(_) if self.is_top() => return Err(Halt::Stopped),
                        Err(e) if self.is_top() => return Err(e.into()),
                        Ok(_) => self.end(130),
                        Err(_) => self.end(1),
                    }
                }
            }
        }
        if !self.is_top() {
            self.end(0); // return 0;
        }
        // Every other process has ended, so the channel ends after their last reports.
        self.sender = None;
        loop {
            match self.reports.next(Some(STAGE_TIMEOUT))? {
                Next::Message(m) => self.tally.take(m),
                Next::End | Next::TimedOut => return Ok(()),
                Next::Stopped(_) => return Err(Halt::Stopped),
            }
        }
    }

    fn send(&self, message: &Message) -> crate::Result<()> {
        match &self.sender {
            Some(sender) => sender.send(message),
            None => Ok(()),
        }
    }

    /// Ends a process below the top one: its children first (killed and reaped, if they are
    /// still there), then itself.
    fn end(&mut self, code: i32) -> ! {
        drop(std::mem::take(&mut self.kids));
        process::exit_child(code)
    }

    /// The top process's last resort: kill everything below it and reap it all. Orphans whose
    /// parent was killed come to us, a child subreaper.
    fn abort(&mut self) {
        tree::kill_descendants(self.top);
        drop(std::mem::take(&mut self.kids));
        while let Ok(Some(_)) = process::wait_any() {}
    }

    fn results(&mut self) -> Results {
        let rows: Vec<ProcRow> = std::mem::take(&mut self.tally.procs)
            .into_values()
            .collect();
        let top = self.top.as_raw();
        Results {
            top_pid: top,
            processes: rows.len(),
            per_fork: self.tally.counts.clone(),
            tree: std::mem::take(&mut self.tree),
            tree_count: self.tree_count,
            reaped_by_own_parent: rows
                .iter()
                .filter(|r| r.pid != top)
                .all(|r| r.reaped_by == Some(r.ppid)),
            tree_processes: rows,
        }
    }
}

fn split(exit: Exit) -> (Option<i32>, Option<i32>) {
    match exit {
        Exit::Code { code } => (Some(code), None),
        Exit::Signal { signal, .. } => (None, Some(signal)),
    }
}

/// What came out of waiting for every process to reach a pause point.
enum Collected {
    All,
    Stopped,
    /// A process's fork failed: its PID and errno.
    Failed(i32, i32),
}

/// The top process's view of the tree, from the reports every other process sends.
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
        reports: &mut Receiver<Message>,
    ) -> anyhow::Result<Collected> {
        let before = self.counts.last().copied().unwrap_or(1);
        self.note_fork(self.top.as_raw(), stage, mine);
        let (mut parents, mut children, mut made) = (1, 0, usize::from(mine > 0));
        let mut failed = (mine < 0).then_some((self.top.as_raw(), -mine));
        while parents < before || children < made {
            let message = match reports.next(Some(STAGE_TIMEOUT))? {
                Next::Message(m) => m,
                Next::Stopped(_) => return Ok(Collected::Stopped),
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
            match message {
                Message::Reached {
                    stage: s,
                    pid,
                    ppid,
                    born,
                    returned,
                } if s == stage => {
                    let row = self.procs.entry(pid).or_insert_with(|| ProcRow {
                        pid,
                        ppid,
                        born_at_fork: born,
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
                other => self.take(other),
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

    /// A report that came outside its pause point: a reaped child.
    fn take(&mut self, message: Message) {
        if let Message::Reaped {
            parent,
            child,
            exit_code,
            exit_signal,
        } = message
        {
            self.reaped(parent, child, exit_code, exit_signal);
        }
    }

    fn reaped(
        &mut self,
        parent: i32,
        child: i32,
        exit_code: Option<i32>,
        exit_signal: Option<i32>,
    ) {
        if let Some(row) = self.procs.get_mut(&child) {
            row.reaped_by = Some(parent);
            row.exit_code = exit_code;
            row.exit_signal = exit_signal;
        }
    }
}

impl Results {
    /// `1 → 2 → 4 → 8`.
    fn counts(&self) -> String {
        let counts: Vec<String> = self.per_fork.iter().map(|n| n.to_string()).collect();
        format!("1 → {}", counts.join(" → "))
    }

    /// The lecture's expectation: 2^forks.
    fn expected(&self) -> usize {
        1 << self.per_fork.len()
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = ProcRow;

    fn headline(&self, _p: &Params) -> String {
        format!(
            "{} from {} ({}); {}",
            words::count(self.processes as u64, "process"),
            words::count(self.per_fork.len() as u64, "fork"),
            self.counts(),
            if self.reaped_by_own_parent {
                "each reaped by its own parent"
            } else {
                "not all reaped by their own parent"
            }
        )
    }

    fn analysis(&self, _p: &Params, cx: &Context<'_>) -> Vec<String> {
        let mut lines = vec![format!(
            "processes: {} after {}: {} (every process that reached a fork() ran it: each fork doubles them)",
            self.processes,
            words::count(self.per_fork.len() as u64, "fork"),
            self.counts()
        )];
        if !self.tree.is_empty() {
            lines.push(format!(
                "tree, read from /proc while all {} waited at the third fork (like pstree -p {}):",
                self.tree_count.unwrap_or(self.processes),
                self.top_pid
            ));
            lines.extend(self.tree.lines().map(|l| format!("  {l}")));
        }
        let reaped: Vec<&ProcRow> = self
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
        if cx.stopped.is_some() {
            lines.push(format!(
                "reaped: {} by their own parents before the stop; the demo killed and reaped the rest",
                reaped.len()
            ));
        } else {
            lines.push(format!(
                "reaped: {}, {} (wait4); {}",
                words::count(reaped.len() as u64, "process"),
                if self.reaped_by_own_parent {
                    "each by the process that forked it"
                } else {
                    "NOT all by the process that forked them"
                },
                exits.join(", ")
            ));
        }
        lines
    }

    fn verdict(&self, _p: &Params, cx: &Context<'_>) -> Verdict {
        let claim = "three forks in a row make eight processes, because every process that reaches a fork() runs it";
        let Some(in_tree) = self.tree_count else {
            return Verdict::unchecked(
                claim,
                match cx.stopped {
                    Some(signal) => format!(
                        "stopped by {signal} before the third fork's tree was read ({} so far)",
                        self.counts()
                    ),
                    None => "the tree could not be read from /proc".to_string(),
                },
            );
        };
        let expected = self.expected();
        let held = self.per_fork.len() == FORKS && self.processes == 8 && in_tree == 8;
        let because = if held {
            format!(
                "{} ({}), and the tree read from /proc at the third fork held all {in_tree}",
                words::count(self.processes as u64, "process"),
                self.counts()
            )
        } else if in_tree != self.processes {
            format!(
                "the processes reported {} ({}) but the tree read from /proc held {in_tree}",
                self.processes,
                self.counts()
            )
        } else {
            format!(
                "{} ({}), not {expected}",
                words::count(self.processes as u64, "process"),
                self.counts()
            )
        };
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        let top = self.top_pid;
        let first = self
            .tree_processes
            .iter()
            .find(|p| p.born_at_fork == 1 && p.ppid == top);
        match first {
            Some(first) if self.per_fork.len() == FORKS => format!(
                "every process that reaches fork() runs it: three forks in a row made {} processes here ({}), a tree in which the first child (PID {}) forked {} of its own; a chain would have made four",
                self.processes,
                self.counts(),
                first.pid,
                words::count(first.children.len() as u64, "child")
            ),
            _ => "every process that reaches fork() runs it: three forks in a row make 2³ = 8 processes, a tree in which the first children have children of their own".into(),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "multiple_forks --pause, then pstree -p PID in another terminal; strace -f -e trace=clone,wait4 multiple_forks --sleep 0".into()
    }

    fn rows(&self, _p: &Params) -> Vec<ProcRow> {
        self.tree_processes.clone()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        let reached = match self.per_fork.len() {
            0 => "the start".to_string(),
            k => format!(
                "the {} fork ({})",
                ORDINAL[k - 1],
                words::count(self.per_fork[k - 1] as u64, "process")
            ),
        };
        Some(format!("{reached}; every process was killed and reaped"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, born: usize, children: &[i32]) -> ProcRow {
        ProcRow {
            pid,
            ppid,
            born_at_fork: born,
            children: children.to_vec(),
            exit_code: (born > 0).then_some(0),
            reaped_by: (born > 0).then_some(ppid),
            ..ProcRow::default()
        }
    }

    /// The lecture README's tree: 8667 forks 8668, 8759, 8761; 8668 forks 8760, 8763; ...
    fn eight() -> Results {
        let rows = vec![
            p(8667, 1000, 0, &[8668, 8759, 8761]),
            p(8668, 8667, 1, &[8760, 8763]),
            p(8759, 8667, 2, &[8762]),
            p(8760, 8668, 2, &[8764]),
            p(8761, 8667, 3, &[]),
            p(8762, 8759, 3, &[]),
            p(8763, 8668, 3, &[]),
            p(8764, 8760, 3, &[]),
        ];
        Results {
            top_pid: 8667,
            processes: 8,
            per_fork: vec![2, 4, 8],
            tree: "multiple_forks(8667)─┬─…\n".into(),
            tree_count: Some(8),
            reaped_by_own_parent: true,
            tree_processes: rows,
        }
    }

    fn cx(stopped: Option<Signal>) -> Context<'static> {
        crate::testing::context_on(crate::testing::machine(), stopped)
    }

    const P: Params = Params {
        sleep_ms: 0,
        pause: false,
    };

    #[test]
    fn eight_processes_in_the_tree_hold() {
        let r = eight();
        let v = r.verdict(&P, &cx(None));
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "8 processes (1 → 2 → 4 → 8), and the tree read from /proc at the third fork held all 8"
        );
        let lines = r.analysis(&P, &cx(None));
        assert_eq!(
            lines[0],
            "processes: 8 after 3 forks: 1 → 2 → 4 → 8 (every process that reached a fork() ran it: each fork doubles them)"
        );
        assert_eq!(
            lines.last().unwrap(),
            "reaped: 7 processes, each by the process that forked it (wait4); 7 exited with code 0"
        );
        assert!(
            r.lesson(&P, &cx(None))
                .contains("the first child (PID 8668) forked 2 children of its own")
        );
        assert_eq!(
            r.headline(&P),
            "8 processes from 3 forks (1 → 2 → 4 → 8); each reaped by its own parent"
        );
    }

    #[test]
    fn a_tree_that_does_not_count_eight_does_not_hold() {
        let mut r = eight();
        r.tree_count = Some(7);
        let v = r.verdict(&P, &cx(None));
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            v.because,
            "the processes reported 8 (1 → 2 → 4 → 8) but the tree read from /proc held 7"
        );

        let mut r = eight();
        r.tree_count = None;
        r.per_fork = vec![2, 4];
        let v = r.verdict(&P, &cx(Some(Signal::SIGINT)));
        assert_eq!(v.held, None, "{v:?}");
        assert_eq!(
            r.progress(&P).unwrap(),
            "the second fork (4 processes); every process was killed and reaped"
        );
    }
}
