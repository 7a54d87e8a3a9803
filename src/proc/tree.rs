//! The process tree as the kernel keeps it: one process's `/proc/PID/stat` (pid, ppid, comm,
//! state), every descendant of a process, the tree drawn as `pstree -p` draws it, and who adopts
//! an orphan.

use std::collections::BTreeMap;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

/// One process as `/proc/PID/stat` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    /// The command name (`comm`, at most 15 characters).
    pub comm: String,
    /// The state letter: R running, S sleeping, Z zombie (ended, not yet reaped), ...
    pub state: char,
}

/// The process `pid`, or `None` if it does not exist (any more).
pub fn proc_info(pid: Pid) -> Option<ProcInfo> {
    let stat = procfs::process::Process::new(pid.as_raw())
        .ok()?
        .stat()
        .ok()?;
    Some(ProcInfo {
        pid: stat.pid,
        ppid: stat.ppid,
        comm: stat.comm,
        state: stat.state,
    })
}

/// What ps's STAT column is made of (procps' `pr_stat`), read from `/proc/PID/stat` and the
/// `VmLck` line of `/proc/PID/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PsStat {
    /// The state letter: R, S, D, Z, T, t, I, ...
    pub state: char,
    /// The nice value: `<` below 0 (high priority), `N` above (low priority).
    pub nice: i64,
    /// Pages locked in memory (`VmLck` above 0 kB): `L`.
    pub locked: bool,
    /// The process leads its session (session ID = PID): `s`.
    pub session_leader: bool,
    /// Threads (`l` when more than one).
    pub threads: i64,
    /// Its process group is the foreground group of its terminal (`pgrp` = `tpgid`): `+`.
    pub foreground: bool,
}

impl PsStat {
    /// From a process's `stat` and its `VmLck` in kB (None when status could not be read or,
    /// as for kernel threads, has no such line).
    pub fn of(stat: &procfs::process::Stat, vm_locked_kib: Option<u64>) -> PsStat {
        PsStat {
            state: stat.state,
            nice: stat.nice,
            locked: vm_locked_kib.is_some_and(|k| k > 0),
            session_leader: stat.session == stat.pid,
            threads: stat.num_threads,
            foreground: stat.pgrp == stat.tpgid,
        }
    }

    /// The process `pid`'s, or `None` if it does not exist (any more).
    pub fn of_pid(pid: i32) -> Option<PsStat> {
        let p = procfs::process::Process::new(pid).ok()?;
        let stat = p.stat().ok()?;
        Some(PsStat::of(&stat, p.status().ok().and_then(|s| s.vmlck)))
    }

    /// The column as `ps -o stat` prints it: `Ss`, `Sl+`, `R+`, `I<`, `SNs`.
    pub fn text(&self) -> String {
        let mut text = String::from(self.state);
        let flags = [
            (self.nice < 0, '<'),
            (self.nice > 0, 'N'),
            (self.locked, 'L'),
            (self.session_leader, 's'),
            (self.threads > 1, 'l'),
            (self.foreground, '+'),
        ];
        text.extend(flags.iter().filter(|(on, _)| *on).map(|&(_, c)| c));
        text
    }
}

/// Every process below `root`: its children, their children, and so on, read from the PPID
/// field of every `/proc/PID/stat`.
pub fn descendants(root: Pid) -> Vec<ProcInfo> {
    let all: Vec<ProcInfo> = procfs::process::all_processes()
        .map(|procs| {
            procs
                .flatten()
                .filter_map(|p| proc_info(Pid::from_raw(p.pid)))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut frontier = vec![root.as_raw()];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            frontier.push(p.pid);
            found.push(p.clone());
        }
    }
    found.sort_by_key(|p| p.pid);
    found
}

/// Sends SIGKILL to every descendant of `root`: the last resort when a tree of processes must
/// end now. The caller then reaps its own children (and, as a subreaper, the orphans).
pub fn kill_descendants(root: Pid) {
    for p in descendants(root) {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
    }
}

/// Draws a tree as `pstree -p` does: `name(pid)`, children sorted by PID, joined by `───`,
/// `─┬─`, `├─` and `└─`. `root` is the top process, `others` any processes below it (a process
/// whose parent is not in the tree is left out).
pub fn pstree(root: &ProcInfo, others: &[ProcInfo]) -> String {
    let mut children: BTreeMap<i32, Vec<&ProcInfo>> = BTreeMap::new();
    for p in others {
        children.entry(p.ppid).or_default().push(p);
    }
    for list in children.values_mut() {
        list.sort_by_key(|p| p.pid);
    }
    let mut text = draw(root, &children).join("\n");
    text.push('\n');
    text
}

fn draw(node: &ProcInfo, children: &BTreeMap<i32, Vec<&ProcInfo>>) -> Vec<String> {
    let label = format!("{}({})", node.comm, node.pid);
    let kids = children.get(&node.pid).map_or(&[][..], Vec::as_slice);
    let pad = " ".repeat(label.chars().count());
    let mut lines = Vec::new();
    for (i, kid) in kids.iter().enumerate() {
        let sub = draw(kid, children);
        let (first, rest) = match (i, kids.len()) {
            (0, 1) => (format!("{label}───"), format!("{pad}   ")),
            (0, _) => (format!("{label}─┬─"), format!("{pad} │ ")),
            (i, n) if i + 1 == n => (format!("{pad} └─"), format!("{pad}   ")),
            _ => (format!("{pad} ├─"), format!("{pad} │ ")),
        };
        lines.push(format!("{first}{}", sub[0]));
        lines.extend(sub[1..].iter().map(|l| format!("{rest}{l}")));
    }
    if lines.is_empty() {
        lines.push(label);
    }
    lines
}

/// Who a process's new parent is, after its own parent ended without waiting for it. The
/// kernel hands an orphan to the nearest ancestor that is a child subreaper
/// (`prctl(PR_SET_CHILD_SUBREAPER)`), or else to PID 1 of its PID namespace.
pub fn describe_adopter(ppid: i32) -> String {
    let me = std::process::id() as i32;
    let comm = proc_info(Pid::from_raw(ppid)).map_or_else(|| "?".to_string(), |p| p.comm);
    let role = if ppid == me {
        "this demo, which made itself a child subreaper".to_string()
    } else if ppid == 1 {
        "init, PID 1 of this PID namespace".to_string()
    } else {
        "an ancestor that is a child subreaper".to_string()
    };
    format!("PID {ppid} ({comm}: {role})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            comm: "multiple_forks".into(),
            state: 'S',
        }
    }

    fn plain(state: char) -> PsStat {
        PsStat {
            state,
            nice: 0,
            locked: false,
            session_leader: false,
            threads: 1,
            foreground: false,
        }
    }

    #[test]
    fn ps_stat_is_the_state_then_the_flags_in_procps_order() {
        // The slide's column: S, Ss, Sl, Sl+, Ssl+, R+.
        assert_eq!(plain('S').text(), "S");
        let leader = PsStat {
            session_leader: true,
            ..plain('S')
        };
        assert_eq!(leader.text(), "Ss");
        let node = PsStat {
            threads: 11,
            foreground: true,
            ..plain('S')
        };
        assert_eq!(node.text(), "Sl+");
        assert_eq!(
            PsStat {
                threads: 2,
                ..leader.clone()
            }
            .text(),
            "Ssl"
        );
        let all = PsStat {
            threads: 2,
            foreground: true,
            ..leader
        };
        assert_eq!(all.text(), "Ssl+");
        let ps = PsStat {
            foreground: true,
            ..plain('R')
        };
        assert_eq!(ps.text(), "R+");
        // A kworker at nice -20 (`I<`), a niced session leader, a locked multithreaded one.
        assert_eq!(
            PsStat {
                nice: -20,
                ..plain('I')
            }
            .text(),
            "I<"
        );
        let niced = PsStat {
            nice: 5,
            session_leader: true,
            ..plain('S')
        };
        assert_eq!(niced.text(), "SNs");
        let locked = PsStat {
            locked: true,
            threads: 3,
            nice: -1,
            ..plain('D')
        };
        assert_eq!(locked.text(), "D<Ll");
    }

    #[test]
    fn ps_stat_of_this_process_is_multithreaded_once_it_has_threads() {
        let me = std::process::id() as i32;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv());
        let stat = PsStat::of_pid(me).expect("this process");
        drop(tx);
        t.join().unwrap().ok();
        assert!(stat.threads > 1, "{stat:?}");
        assert!(stat.text().contains('l'), "{}", stat.text());
        assert!(PsStat::of_pid(i32::MAX).is_none());
    }

    #[test]
    fn pstree_draws_the_lectures_tree() {
        // The tree of the lecture's README, children given out of order.
        let root = p(8667, 1000);
        let others = [
            p(8761, 8667),
            p(8668, 8667),
            p(8759, 8667),
            p(8763, 8668),
            p(8760, 8668),
            p(8762, 8759),
            p(8764, 8760),
        ];
        let expected = "\
multiple_forks(8667)─┬─multiple_forks(8668)─┬─multiple_forks(8760)───multiple_forks(8764)
                     │                      └─multiple_forks(8763)
                     ├─multiple_forks(8759)───multiple_forks(8762)
                     └─multiple_forks(8761)
";
        assert_eq!(pstree(&root, &others), expected);
        assert_eq!(pstree(&root, &[]), "multiple_forks(8667)\n");
    }

    #[test]
    fn descendants_of_this_process_include_a_child_it_started() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = Pid::from_raw(std::process::id() as i32);
        let found = descendants(me);
        let pid = child.id() as i32;
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.iter().any(|p| p.pid == pid && p.ppid == me.as_raw()));
        assert!(proc_info(me).is_some_and(|p| p.pid == me.as_raw()));
    }
}
