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
