//! What the kernel says one of our threads is doing: its state letter from
//! `/proc/self/task/<tid>/stat` (field 3: `R` running, `S` sleeping, `D` in uninterruptible
//! sleep, ...) and, where readable, `/proc/self/task/<tid>/wchan`: the kernel function it sleeps
//! in (`futex_wait_queue` for a thread blocked on a lock or a condition variable).
//!
//! This is what `ps -L -o tid,stat,wchan:32,comm -p PID` shows from a second terminal.

use std::fs;

use nix::unistd::Pid;
use serde::Serialize;

use crate::{Error, Result};

/// One thread, as the kernel sees it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskState {
    /// The thread's id (`gettid()`), the TID column of `ps -L`.
    pub tid: i32,
    /// Its name (`comm`), as `pthread_setname_np` (Rust's thread name) set it.
    pub comm: String,
    /// The state letter: R, S, D, T, t, Z, X, I.
    pub state: char,
    /// The state in words.
    pub state_name: &'static str,
    /// The kernel function it sleeps in, when the kernel shows it (empty or `0` while running;
    /// `None` when the file cannot be read).
    pub wchan: Option<String>,
}

impl TaskState {
    /// Reads the thread `tid` of this process.
    pub fn of_thread(tid: Pid) -> Result<TaskState> {
        let me = procfs::process::Process::myself().map_err(|e| Error::proc("/proc/self", e))?;
        let where_ = format!("/proc/self/task/{tid}");
        let task = me
            .task_from_tid(tid.as_raw())
            .map_err(|e| Error::proc(&where_, e))?;
        let stat = task
            .stat()
            .map_err(|e| Error::proc(format!("{where_}/stat"), e))?;
        let wchan = fs::read_to_string(format!("{where_}/wchan"))
            .ok()
            .map(|w| w.trim().to_string());
        Ok(TaskState {
            tid: tid.as_raw(),
            comm: stat.comm,
            state: stat.state,
            state_name: state_name(stat.state),
            wchan,
        })
    }

    /// `S (sleeping), in futex_wait_queue`: the state and, when it sleeps, where.
    pub fn describe(&self) -> String {
        match self.wchan.as_deref() {
            Some(w) if !w.is_empty() && w != "0" => {
                format!("{} ({}), in {w}", self.state, self.state_name)
            }
            _ => format!("{} ({})", self.state, self.state_name),
        }
    }
}

/// The thread ids of this process, from `/proc/self/task`, in order.
pub fn threads_of_self() -> Vec<i32> {
    let mut tids: Vec<i32> = fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    tids.sort_unstable();
    tids
}

/// The CPU time of thread `tid` of this process so far, in ns, up to this instant: its
/// per-thread CPU clock (what glibc's `pthread_getcpuclockid` returns, `MAKE_THREAD_CPUCLOCK`:
/// `(~tid << 3) | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED`). Unlike `schedstat`, which the kernel
/// brings up to date only at a tick or a switch, this read adds the time the thread has been on
/// its CPU since (`task_sched_runtime`), so two reads a moment apart tell whether it is on a
/// CPU now. `None` when `tid` is not a thread of this process.
pub fn thread_cpu_ns(tid: i32) -> Option<u64> {
    let clock = nix::time::ClockId::from_raw(((!tid) << 3) | 0b110);
    let t = nix::time::clock_gettime(clock).ok()?;
    Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
}

/// The meaning of a state letter, as `man 5 proc` gives it.
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "uninterruptible sleep",
        'T' => "stopped",
        't' => "tracing stop",
        'Z' => "zombie",
        'X' => "dead",
        'I' => "idle",
        'P' => "parked",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_thread_blocked_on_a_channel_is_sleeping() {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let t = std::thread::Builder::new()
            .name("blocked".into())
            .spawn(move || {
                tid_tx.send(nix::unistd::gettid()).unwrap();
                go_rx.recv().unwrap();
            })
            .unwrap();
        let tid = tid_rx.recv().unwrap();
        // It blocks on the channel (a futex) a moment after sending its tid.
        let mut seen = TaskState::of_thread(tid).unwrap();
        for _ in 0..500 {
            if seen.state == 'S' {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
            seen = TaskState::of_thread(tid).unwrap();
        }
        go_tx.send(()).unwrap();
        t.join().unwrap();
        assert_eq!(seen.comm, "blocked");
        assert_eq!(seen.state, 'S', "{seen:?}");
        assert!(seen.describe().starts_with("S (sleeping)"), "{seen:?}");
    }

    #[test]
    fn a_threads_cpu_clock_moves_while_it_runs_and_not_while_it_sleeps() {
        let me = nix::unistd::gettid().as_raw();
        let a = thread_cpu_ns(me).unwrap();
        let mut x = 0u64;
        while thread_cpu_ns(me).unwrap() < a + 1_000_000 {
            x = std::hint::black_box(x + 1);
        }
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
            go_rx.recv().unwrap();
        });
        let tid = tid_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let before = thread_cpu_ns(tid).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            thread_cpu_ns(tid),
            Some(before),
            "a blocked thread's clock stands still"
        );
        go_tx.send(()).unwrap();
        t.join().unwrap();
        let not_ours = nix::unistd::getppid().as_raw();
        assert_eq!(thread_cpu_ns(not_ours), None, "another process's thread");
    }

    #[test]
    fn the_running_thread_reads_itself_and_a_missing_one_is_an_error() {
        let me = TaskState::of_thread(nix::unistd::gettid()).unwrap();
        assert_eq!(me.state, 'R');
        assert_eq!(me.describe(), "R (running)");
        assert!(TaskState::of_thread(Pid::from_raw(i32::MAX)).is_err());
    }
}
