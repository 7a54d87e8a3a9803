//! Children die with their demo: SIGKILL, which no handler sees, the parent of every demo that
//! forks while its children are alive, and within 2 s no process that was below it may still
//! run (the kernel's `PR_SET_PDEATHSIG` ends them). A process that has ended but is not reaped
//! yet (state Z: PID 1 of a container may reap late, or never) counts as ended. The exception,
//! `fork_celsius --no-wait`, whose orphans are the lesson, still must not outlive the demo.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{exe, wait_until};

/// How long the children have to die once their parent is gone.
const GRACE: Duration = Duration::from_secs(2);

/// A process, as `/proc/PID/stat` showed it: its PID and start time (field 22), so that a PID
/// reused by another process is not taken for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub pid: i32,
    start: String,
    pub comm: String,
}

/// `/proc/PID/stat`'s state (field 3), parent (field 4) and start time (field 22), and `comm`.
fn stat(pid: i32) -> Option<(char, i32, String, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    Some((state, ppid, fields.get(19)?.to_string(), comm))
}

/// Every process below `pid` (children, their children, ...), as one reading of `/proc` shows.
pub fn descendants(pid: i32) -> Vec<Seen> {
    let mut by_parent: HashMap<i32, Vec<(i32, String, String)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some((_, ppid, start, comm)) = stat(p) {
            by_parent.entry(ppid).or_default().push((p, start, comm));
        }
    }
    let mut seen = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (c, start, comm) in by_parent.remove(&p).unwrap_or_default() {
            todo.push(c);
            seen.push(Seen {
                pid: c,
                start,
                comm,
            });
        }
    }
    seen
}

/// True while the process still runs: the same process (same start time), not a zombie.
fn running(p: &Seen) -> bool {
    stat(p.pid).is_some_and(|(state, _, start, _)| start == p.start && !matches!(state, 'Z' | 'X'))
}

/// Waits up to [`GRACE`] for every one of `seen` to end; returns those still running (and
/// kills them, so a failing test leaves nothing behind).
pub fn survivors_after_grace(seen: &[Seen]) -> Vec<Seen> {
    let deadline = Instant::now() + GRACE;
    loop {
        let alive: Vec<Seen> = seen.iter().filter(|p| running(p)).cloned().collect();
        if alive.is_empty() || Instant::now() >= deadline {
            for p in &alive {
                let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
            }
            return alive;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `program args` in a process group of its own, stdin a pipe held open (a paused demo
/// waits on it), stdout and stderr discarded.
fn start(program: &str, args: &[&str]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn")
}

/// Runs `name args` until the processes below it satisfy `ready`, SIGKILLs it, and asserts that
/// every process that was below it ends within [`GRACE`].
fn dies_with_it(name: &str, args: &[&str], ready: impl Fn(&[Seen]) -> bool) {
    let mut demo = start(&exe(name), args);
    let pid = demo.id() as i32;
    // Held open until the end (`Child::wait` would close it): a paused child waits on it.
    let _stdin = demo.stdin.take();
    let mut below = Vec::new();
    wait_until(&format!("{name} {args:?} has its children"), || {
        below = descendants(pid);
        ready(&below) || demo.try_wait().expect("waitpid").is_some()
    });
    assert!(
        demo.try_wait().expect("waitpid").is_none(),
        "{name} {args:?} ended before it had its children"
    );
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill");
    demo.wait().expect("wait");
    let left = survivors_after_grace(&below);
    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL); // anything else in its group
    assert!(
        left.is_empty(),
        "{name} {args:?}: killed by SIGKILL, it left {left:?} running (of {below:?})"
    );
}

fn any(below: &[Seen]) -> bool {
    !below.is_empty()
}

#[test]
fn cow_overhead_paused_child_dies_with_its_parent() {
    dies_with_it("cow_overhead", &["--pages", "1024", "--pause"], any);
}

#[test]
fn create_process_sleeping_child_dies_with_its_parent() {
    dies_with_it("create_process", &["--sleep", "30000"], any);
}

#[test]
fn create_process_exec_child_dies_with_its_parent() {
    // PR_SET_PDEATHSIG survives execve: the child that became `sleep` dies too.
    dies_with_it(
        "create_process",
        &["exec", "--", "sleep", "30"],
        |b: &[Seen]| b.iter().any(|p| p.comm == "sleep"),
    );
}

#[test]
fn proc_watch_command_dies_with_proc_watch() {
    dies_with_it("proc_watch", &["--", "sleep", "30"], |b: &[Seen]| {
        b.iter().any(|p| p.comm == "sleep")
    });
}

#[test]
fn context_switch_workers_die_with_their_parent() {
    dies_with_it(
        "context_switch",
        &["--seconds", "20", "--pingpong", "0"],
        any,
    );
}

#[test]
fn nice_share_spinners_die_with_their_parent() {
    dies_with_it("nice_share", &["--seconds", "20"], |b: &[Seen]| {
        b.len() >= 2
    });
}

#[test]
fn signals_demo_children_die_with_their_parent() {
    dies_with_it("signals", &["demo", "--gap", "1000"], any);
}

#[test]
fn multiple_forks_whole_tree_dies_with_its_root() {
    // Three forks: 7 processes below the first, the third fork's children asleep.
    dies_with_it("multiple_forks", &["--sleep", "30000"], |b: &[Seen]| {
        b.len() >= 7
    });
}

#[test]
fn sum_array_worker_processes_die_with_their_parent() {
    // Workers live while they sum: catch one among many trials.
    dies_with_it(
        "sum_array",
        &["2", "--processes", "--len", "20000000", "--trials", "1000"],
        |b: &[Seen]| b.iter().any(running),
    );
}

#[test]
fn spawn_cost_children_die_with_their_parent() {
    dies_with_it(
        "spawn_cost",
        &["--count", "1000000", "--op", "fork-exec", "--rss", "64"],
        |b: &[Seen]| b.iter().any(running),
    );
}

#[test]
fn fork_celsius_orphans_do_not_outlive_the_demo() {
    // The lecture's parent (the demo's child) and its children, which are to become orphans:
    // killed while it still forks them.
    dies_with_it("fork_celsius", &["1000", "--no-wait"], |b: &[Seen]| {
        b.len() >= 20
    });
}

#[test]
fn the_running_demo_and_its_children_die_with_the_umbrella() {
    // A variant that would run for minutes, and forks while it does.
    dies_with_it(
        "oslab",
        &[
            "compare", "spawn", "--trials", "1", "--", "--count", "1000000",
        ],
        |b: &[Seen]| b.iter().any(|p| p.comm == "spawn_cost"),
    );
}
