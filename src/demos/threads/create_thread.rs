//! `create_thread`'s lab bench: what the thread saw of itself, what a forked child did with the
//! same variable, and what that shows.
//!
//! The thread reads its TID (gettid) and the process's tasks from `/proc/self/task`; a forked
//! child, run first for contrast while main is still the only thread, reports what it wrote
//! and read back on the one [`channel`].

use std::time::Duration;

use anyhow::anyhow;
use nix::unistd::{getpid, getppid, gettid};
use serde::{Deserialize, Serialize};

use crate::kit::{Context, Findings, Verdict};
use crate::process::Child;
use crate::process::channel::{Next, Receiver, Sender, channel};

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub message: String,
    pub sleep_ms: u64,
}

/// What the thread saw of itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ThreadView {
    pub pid: i32,
    pub ppid: i32,
    pub tid: i32,
    /// `/proc/self/task` while the thread ran: the process's tasks, main's and the thread's.
    pub tasks: Vec<i32>,
    /// What it stored in `value` (its TID).
    pub wrote: i32,
}

impl ThreadView {
    /// In the thread, after it stored `wrote`: who it is, and the process's tasks.
    pub fn now(wrote: i32) -> ThreadView {
        ThreadView {
            pid: getpid().as_raw(),
            ppid: getppid().as_raw(),
            tid: gettid().as_raw(),
            tasks: crate::proc::tasks::threads_of_self(),
            wrote,
        }
    }
}

/// What the forked child tells its parent: the value it stored (its PID) and read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildWrote {
    pub pid: i32,
    pub read: i32,
}

/// The channel the forked child reports on.
pub fn child_channel() -> crate::Result<(Receiver<ChildWrote>, Sender<ChildWrote>)> {
    channel()
}

/// In the parent: the forked child's report (it is done in microseconds), and the child
/// reaped.
pub fn child_wrote(child: Child, mut reports: Receiver<ChildWrote>) -> anyhow::Result<ChildWrote> {
    let report = match reports.next(Some(Duration::from_secs(10)))? {
        Next::Message(m) => m,
        Next::Stopped(signal) => {
            return Err(anyhow!(
                "stopped by {signal} before the forked child reported"
            ));
        }
        Next::End | Next::TimedOut => {
            return Err(anyhow!("the forked child did not report what it wrote"));
        }
    };
    child.wait()?;
    Ok(report)
}

/// What a forked child did with the same variable.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForkView {
    pub child_pid: i32,
    /// What the child stored in `value` (its PID), and read back.
    pub child_wrote: i32,
    pub child_read: i32,
    /// What the parent read afterwards: its own copy, untouched.
    pub parent_read: i32,
}

impl ForkView {
    /// The child's report, and what the parent read from its own `value` after it.
    pub fn new(child: ChildWrote, parent_read: i32) -> ForkView {
        ForkView {
            child_pid: child.pid,
            child_wrote: child.pid,
            child_read: child.read,
            parent_read,
        }
    }
}

/// The run: one CSV row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub pid: i32,
    pub ppid: i32,
    pub main_tid: i32,
    pub thread: ThreadView,
    /// What main read from `value` after joining the thread.
    pub main_read: i32,
    /// The address of `value`, the same in parent, child and thread.
    pub value_address: String,
    pub fork: ForkView,
}

impl Results {
    /// In main, after the join: main's view beside the thread's and the forked child's.
    pub fn new<T>(thread: ThreadView, main_read: i32, value: &T, fork: ForkView) -> Results {
        Results {
            pid: getpid().as_raw(),
            ppid: getppid().as_raw(),
            main_tid: gettid().as_raw(),
            thread,
            main_read,
            value_address: format!("{value:p}"),
            fork,
        }
    }

    /// Each part of the claim, checked: (held, what was seen).
    fn checks(&self) -> [(bool, String); 3] {
        let t = &self.thread;
        let f = &self.fork;
        [
            (
                t.pid == self.pid && t.tid != self.main_tid,
                if t.pid == self.pid {
                    format!(
                        "the thread's getpid() was {}, main's, and its gettid() {} (main's {})",
                        t.pid, t.tid, self.main_tid
                    )
                } else {
                    format!(
                        "the thread's getpid() was {}, not main's {}",
                        t.pid, self.pid
                    )
                },
            ),
            (
                self.main_read == t.wrote,
                if self.main_read == t.wrote {
                    format!("main read {}, the thread's write", self.main_read)
                } else {
                    format!(
                        "main read {}, not the {} the thread wrote",
                        self.main_read, t.wrote
                    )
                },
            ),
            (
                f.child_read == f.child_wrote && f.parent_read != f.child_wrote,
                if f.parent_read != f.child_wrote {
                    format!(
                        "the forked child's write of {} stayed in its copy (the parent read {})",
                        f.child_wrote, f.parent_read
                    )
                } else {
                    format!(
                        "the parent read {}, the forked child's write",
                        f.parent_read
                    )
                },
            ),
        ]
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Results;

    fn headline(&self, _p: &Params) -> String {
        format!(
            "thread TID {} in PID {}: main read its write ({}); a forked child's write stayed in the child (parent read {})",
            self.thread.tid, self.pid, self.main_read, self.fork.parent_read
        )
    }

    fn analysis(&self, _p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let t = &self.thread;
        let f = &self.fork;
        vec![
            format!(
                "ids: main is TID {} and the thread TID {}, both in process PID {} (getpid() names the process, gettid() the thread); /proc/{}/task listed {} while the thread ran",
                self.main_tid,
                t.tid,
                self.pid,
                self.pid,
                t.tasks
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            format!(
                "shared memory: the thread stored {} (its TID) in value at {}; main then read {}: one address space",
                t.wrote, self.value_address, self.main_read
            ),
            format!(
                "copy-on-write: a forked child (PID {}) stored {} in value at the same address and read back {}, but its parent still read {}: the child wrote to its own copy of the page",
                f.child_pid, f.child_wrote, f.child_read, f.parent_read
            ),
        ]
    }

    fn verdict(&self, _p: &Params, _cx: &Context<'_>) -> Verdict {
        let checks = self.checks();
        let failed: Vec<&String> = checks.iter().filter(|c| !c.0).map(|c| &c.1).collect();
        let because = if failed.is_empty() {
            checks
                .iter()
                .map(|c| c.1.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            failed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        Verdict::check(
            "a thread shares its process's PID and memory but has its own TID, so main sees its write, and not a forked child's",
            failed.is_empty(),
            because,
        )
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        let (t, f) = (&self.thread, &self.fork);
        if self.checks().iter().all(|c| c.0) {
            format!(
                "a thread is a second task in the same process: TID {} ran in PID {} beside main (TID {}), and main read the {} it stored, in the one address space; the forked child (PID {}) wrote to its own copy, so the parent still read {}",
                t.tid, self.pid, self.main_tid, t.wrote, f.child_pid, f.parent_read
            )
        } else {
            "a thread is a second task in the same process: the same PID, its own TID, the same memory; a forked child gets a copy of the memory instead (this run did not show it: see the verdict)".into()
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "strace -f -e trace=clone,clone3 create_thread --sleep 0   (CLONE_VM|CLONE_THREAD for the thread); ps -L -o pid,lwp,comm -p PID while it sleeps".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Results> {
        vec![self.clone()]
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some("the thread's lines, during its sleep".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Results {
        Results {
            pid: 7005,
            ppid: 6975,
            main_tid: 7005,
            thread: ThreadView {
                pid: 7005,
                ppid: 6975,
                tid: 7007,
                tasks: vec![7005, 7007],
                wrote: 7007,
            },
            main_read: 7007,
            value_address: "0x55af668db514".into(),
            fork: ForkView {
                child_pid: 7006,
                child_wrote: 7006,
                child_read: 7006,
                parent_read: 0,
            },
        }
    }

    /// A context for the analysis of fixed results: this machine, no counters.
    fn params() -> Params {
        Params {
            message: "SO Rullz!".into(),
            sleep_ms: 0,
        }
    }

    fn verdict(r: &Results) -> Verdict {
        r.verdict(&params(), &crate::testing::context())
    }

    #[test]
    fn a_thread_in_the_same_process_holds() {
        let v = verdict(&run());
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "the thread's getpid() was 7005, main's, and its gettid() 7007 (main's 7005); main read 7007, the thread's write; the forked child's write of 7006 stayed in its copy (the parent read 0)"
        );
    }

    #[test]
    fn a_write_main_does_not_see_or_a_shared_child_write_does_not_hold() {
        let mut r = run();
        r.main_read = 0;
        let v = verdict(&r);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(v.because, "main read 0, not the 7007 the thread wrote");

        let mut r = run();
        r.fork.parent_read = 7006;
        let v = verdict(&r);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(v.because, "the parent read 7006, the forked child's write");
        assert!(
            r.lesson(&params(), &crate::testing::context())
                .contains("did not show it")
        );
    }
}
