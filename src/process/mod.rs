//! Processes: fork with a guard that always reaps, exit statuses, and the limits to check
//! before creating processes or mapping memory.
//!
//! Every child a demo creates is a [`Child`]. Waiting for it consumes the guard; dropping it
//! unwaited (an early return, an error, Ctrl-C, a panic) kills it with SIGKILL and reaps it, so
//! no demo leaves a zombie or an orphan behind unless the lesson is the orphan.

pub mod channel;
pub mod gate;
pub mod limits;
pub mod scheduler;

use std::fmt;
use std::io::Write;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::Serialize;

use crate::sys;
use crate::sys::process::ForkResult;
pub use crate::sys::process::SingleThreaded;
use crate::{Error, Result};

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Exit {
    /// It called exit (or returned from main) with this code (`WIFEXITED`, `WEXITSTATUS`).
    Code { code: i32 },
    /// A signal killed it (`WIFSIGNALED`, `WTERMSIG`), perhaps dumping core.
    Signal { signal: i32, core_dumped: bool },
}

impl Exit {
    /// Decodes a raw status word from `wait`.
    pub fn from_raw(status: libc::c_int) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal {
                signal: libc::WTERMSIG(status),
                core_dumped: libc::WCOREDUMP(status),
            }
        } else {
            Exit::Code {
                code: libc::WEXITSTATUS(status),
            }
        }
    }

    /// The exit code, if it exited normally.
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code { code } => Some(code),
            Exit::Signal { .. } => None,
        }
    }

    /// True for exit code 0.
    pub fn success(self) -> bool {
        self.code() == Some(0)
    }

    /// As the end of a sentence about the child: `exited with code 1`, `was killed by signal 9
    /// (SIGKILL)`.
    pub fn verb(self) -> String {
        match self {
            Exit::Code { .. } => self.to_string(),
            Exit::Signal { .. } => format!("was {self}"),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code { code } => write!(f, "exited with code {code}"),
            Exit::Signal {
                signal,
                core_dumped,
            } => {
                let name = Signal::try_from(signal).map_or("an unknown signal", |s| s.as_str());
                write!(f, "killed by signal {signal} ({name})")?;
                if core_dumped {
                    write!(f, ", core dumped")?;
                }
                Ok(())
            }
        }
    }
}

/// The kernel's accounting of a child that has ended (`wait4`'s rusage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChildUsage {
    pub minflt: u64,
    pub majflt: u64,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub utime_us: u64,
    pub stime_us: u64,
}

impl ChildUsage {
    fn from_rusage(r: &libc::rusage) -> ChildUsage {
        let us = |t: libc::timeval| (t.tv_sec.max(0) as u64) * 1_000_000 + t.tv_usec.max(0) as u64;
        ChildUsage {
            minflt: r.ru_minflt.max(0) as u64,
            majflt: r.ru_majflt.max(0) as u64,
            voluntary_cs: r.ru_nvcsw.max(0) as u64,
            nonvoluntary_cs: r.ru_nivcsw.max(0) as u64,
            utime_us: us(r.ru_utime),
            stime_us: us(r.ru_stime),
        }
    }
}

/// A child process that will be reaped: by [`Child::wait`], or else killed and reaped on drop.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    reaped: bool,
}

impl Child {
    /// Takes charge of an existing child (from `posix_spawn`, say).
    pub fn adopt(pid: Pid) -> Child {
        Child { pid, reaped: false }
    }

    /// Its PID.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Waits for it to end.
    pub fn wait(mut self) -> Result<Exit> {
        let (status, _) = sys::process::wait4(self.pid)?;
        self.reaped = true;
        Ok(Exit::from_raw(status))
    }

    /// Waits for it to end and returns the kernel's accounting of its resource use too.
    pub fn wait_usage(mut self) -> Result<(Exit, ChildUsage)> {
        let (status, usage) = sys::process::wait4(self.pid)?;
        self.reaped = true;
        Ok((Exit::from_raw(status), ChildUsage::from_rusage(&usage)))
    }

    /// How it ended, if it has, without reaping it (`waitid(WNOHANG | WNOWAIT)`): the guard
    /// still reaps it. For naming a child that died when its parent expected a word from it.
    pub fn ended(&self) -> Result<Option<Exit>> {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        loop {
            return match waitid(Id::Pid(self.pid), flags) {
                Ok(WaitStatus::Exited(_, code)) => Ok(Some(Exit::Code { code })),
                Ok(WaitStatus::Signaled(_, signal, core_dumped)) => Ok(Some(Exit::Signal {
                    signal: signal as i32,
                    core_dumped,
                })),
                Ok(_) => Ok(None),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => Err(Error::sys("waitid", e)),
            };
        }
    }

    /// How it ended, waiting up to `limit` for it to end (a child whose pipe just closed is
    /// about to); None if it is still running then. It is not reaped.
    pub fn ended_within(&self, limit: std::time::Duration) -> Result<Option<Exit>> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(exit) = self.ended()? {
                return Ok(Some(exit));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Lets it go unreaped: the lesson is the orphan (`fork_celsius --no-wait`). Its parent's
    /// exit will hand it to the nearest subreaper or to init, which reaps it.
    pub fn release(mut self) -> Pid {
        self.reaped = true;
        self.pid
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            while let Err(nix::errno::Errno::EINTR) = waitpid(self.pid, None) {}
        }
    }
}

/// The two sides of [`fork`].
#[derive(Debug)]
pub enum Forked {
    /// We are the new process. End it with [`exit_child`].
    Child,
    /// We are the parent; the child is guarded.
    Parent(Child),
}

/// `fork()`, with the child guarded. Flushes stdout first, so that text the parent has
/// buffered is not printed a second time by the child. The child dies with its parent
/// (`PR_SET_PDEATHSIG`, see [`sys::process::die_with_parent`]) unless the parent has called
/// [`let_children_outlive_me`].
pub fn fork(single: &SingleThreaded) -> Result<Forked> {
    let _ = std::io::stdout().flush();
    let parent = nix::unistd::getpid();
    let forked = sys::process::fork(single).map_err(Error::with_limit)?; // names the limit
    Ok(match forked {
        ForkResult::Child => {
            if OUTLIVE.load(std::sync::atomic::Ordering::Relaxed) {
                OUTLIVE.store(false, std::sync::atomic::Ordering::Relaxed); // not for ours
            } else {
                sys::process::die_with_parent(parent);
            }
            Forked::Child
        }
        ForkResult::Parent(pid) => Forked::Parent(Child::adopt(pid)),
    })
}

/// [`fork`] for a child that ends at once of itself (spawn_cost's timed `_exit(0)` and `exec
/// /bin/true`), as bare as the lecture's fork, since whatever it does more is timed as part of
/// fork + wait: no `PR_SET_PDEATHSIG` (a `prctl` and an extra page fault in every child), no
/// `getpid`, and no flush of stdout. The caller flushes stdout before its timed loop and prints
/// nothing during it: a flush locks stdout, which writes to a page the previous fork left
/// copy-on-write, a fault in the parent and a page copied in every child that flushes too. End
/// the child with [`exit_brief`].
pub fn fork_brief(single: &SingleThreaded) -> Result<Forked> {
    let forked = sys::process::fork(single).map_err(Error::with_limit)?; // names the limit
    Ok(match forked {
        ForkResult::Child => Forked::Child,
        ForkResult::Parent(pid) => Forked::Parent(Child::adopt(pid)),
    })
}

/// Ends a child of [`fork_brief`]: `_exit(code)` at once, nothing flushed (it printed nothing,
/// and its copy of the parent's buffer was empty).
pub fn exit_brief(code: i32) -> ! {
    sys::process::exit_now(code)
}

/// Set by [`let_children_outlive_me`]; a child starts with it cleared.
static OUTLIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on the children this process forks do not die with it: the lesson is the orphan
/// (`fork_celsius --no-wait`'s lecture parent). Their own children die with them again.
pub fn let_children_outlive_me() {
    OUTLIVE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Ends a forked child with `code`: flushes stdout, then `_exit`, skipping the exit handlers that
/// belong to the parent.
pub fn exit_child(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    sys::process::exit_now(code)
}

/// Runs the body of a forked child and ends the child with the code it returns. The child
/// never returns into the parent's code, whatever happens: a panic ends it with 101, as a
/// panicking Rust program does.
pub fn run_child(body: impl FnOnce() -> i32) -> ! {
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
    exit_child(code)
}

/// In a child just forked: forgets the guards of its parent's children, which it inherited as
/// a copy of the parent's memory. They are its siblings, not its children: dropping the guards
/// would kill them.
pub fn forget_inherited(guards: &mut Vec<Child>) {
    std::mem::forget(std::mem::take(guards));
}

/// This process's environment as `KEY=value` strings: C's `environ`, for `posix_spawn` and
/// `execve`.
pub fn environ() -> Vec<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            std::ffi::CString::new(kv).ok()
        })
        .collect()
}

/// Waits for any child to end, whichever it is: `waitpid(-1)`. Returns its PID and how it
/// ended, or `None` when no child is left.
pub fn wait_any() -> Result<Option<(Pid, Exit)>> {
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) => return Ok(Some((pid, Exit::Code { code }))),
            Ok(WaitStatus::Signaled(pid, signal, core_dumped)) => {
                return Ok(Some((
                    pid,
                    Exit::Signal {
                        signal: signal as i32,
                        core_dumped,
                    },
                )));
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ECHILD) => return Ok(None),
            Err(e) => return Err(Error::sys("waitpid", e)),
        }
    }
}

/// How [`wait_or_stop`] ended.
#[derive(Debug)]
pub enum Waited {
    /// The child ended and was reaped.
    Ended { exit: Exit, usage: ChildUsage },
    /// Ctrl-C or SIGTERM came first: the child was killed and reaped.
    Stopped(Signal),
}

/// Waits for `child` to end and reaps it (`wait4`), unless Ctrl-C or SIGTERM comes first: then
/// the child is killed and reaped (its guard is dropped here) and the caller reports what it
/// measured so far. `wait4` alone would not do: our handlers restart it, so a parent would sleep
/// through Ctrl-C until the child ended by itself (never, if the child waits for ENTER). So the
/// parent polls a pidfd, which becomes readable when the child ends and which a signal
/// interrupts. Before Linux 5.3 (no pidfd) it waits plainly.
pub fn wait_or_stop(child: Child) -> Result<Waited> {
    let pidfd = match sys::process::pidfd_open(child.pid()) {
        Ok(fd) => Some(fd),
        Err(Error::Sys {
            source: nix::errno::Errno::ENOSYS,
            ..
        }) => None,
        Err(e) => return Err(e),
    };
    if let Some(fd) = &pidfd {
        use std::os::fd::AsFd;
        loop {
            if let Some(signal) = crate::kit::interrupt::requested() {
                drop(child); // kills and reaps it
                return Ok(Waited::Stopped(signal));
            }
            // The timeout bounds the one race left: a signal that lands between the check
            // above and the poll below.
            match sys::process::poll_readable(fd.as_fd(), 100) {
                Ok(true) => break,
                Ok(false) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("poll", e)),
            }
        }
    }
    let (exit, usage) = child.wait_usage()?;
    Ok(Waited::Ended { exit, usage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_decode_like_the_wait_macros() {
        // Exit code 42: the status word holds it in bits 8-15.
        assert_eq!(Exit::from_raw(42 << 8), Exit::Code { code: 42 });
        assert_eq!(Exit::from_raw(42 << 8).to_string(), "exited with code 42");
        // Killed by SIGKILL (9), no core.
        let killed = Exit::from_raw(9);
        assert_eq!(
            killed,
            Exit::Signal {
                signal: 9,
                core_dumped: false
            }
        );
        assert_eq!(killed.to_string(), "killed by signal 9 (SIGKILL)");
        assert!(!killed.success());
        assert!(Exit::Code { code: 0 }.success());
    }

    #[test]
    fn an_uninterrupted_wait_returns_the_exit_status() {
        // posix_spawn, not fork: the test harness runs tests on several threads.
        let spawn = |program: &str| {
            let path = std::ffi::CString::new(program).unwrap();
            let pid = nix::spawn::posix_spawn(
                path.as_c_str(),
                &nix::spawn::PosixSpawnFileActions::init().unwrap(),
                &nix::spawn::PosixSpawnAttr::init().unwrap(),
                std::slice::from_ref(&path),
                &[] as &[std::ffi::CString],
            )
            .unwrap();
            Child::adopt(pid)
        };
        let exit = |program| match wait_or_stop(spawn(program)).unwrap() {
            Waited::Ended { exit, .. } => exit,
            Waited::Stopped(signal) => panic!("no signal was sent, yet {signal}"),
        };
        assert!(exit("/bin/true").success());
        assert_eq!(exit("/bin/false"), Exit::Code { code: 1 });
    }

    #[test]
    fn mappings_are_zeroed_and_shared_ones_cross_fork_boundaries_in_threads() {
        use crate::sys::mman::{HugePages, Mapping, Sharing};
        use std::sync::atomic::Ordering::Relaxed;
        let m = Mapping::new(3 * 4096, Sharing::Shared, HugePages::Never).unwrap();
        assert_eq!(m.bytes().len(), 3 * 4096);
        assert_eq!(m.words().len(), 3 * 4096 / 8);
        assert!(m.bytes().iter().all(|b| b.load(Relaxed) == 0));
        std::thread::scope(|s| {
            s.spawn(|| m.words()[1].store(7, Relaxed));
        });
        assert_eq!(m.words()[1].load(Relaxed), 7);
        assert!(Mapping::new(0, Sharing::Private, HugePages::Default).is_err());
    }
}
