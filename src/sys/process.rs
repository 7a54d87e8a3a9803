//! Processes: fork (with the proof it needs), `_exit`, `wait4`, and a pidfd to poll for a child's end.

use nix::errno::Errno;

use crate::{Error, Result};

/// Proof that this process had exactly one thread when the proof was made, which `fork` needs:
/// a child forked from a multi-threaded process gets a copy of every lock another thread held
/// (stdout's, the allocator's) and would deadlock on the first one it touches. The proof cannot
/// leave the thread that made it (`!Send`); a demo makes it just before it forks, after joining
/// any threads of its own.
#[derive(Debug)]
pub struct SingleThreaded {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Checks `/proc/self/stat`'s thread count.
    pub fn check() -> Result<SingleThreaded> {
        let threads = procfs::process::Process::myself()
            .and_then(|me| me.stat())
            .map_err(|e| Error::proc("/proc/self/stat", e))?
            .num_threads;
        if threads != 1 {
            return Err(Error::NotSingleThreaded { threads });
        }
        Ok(SingleThreaded {
            _not_send: std::marker::PhantomData,
        })
    }

    /// [`check`](Self::check), right after joining threads: a thread that has just been joined
    /// can still be counted in `/proc` for a moment (its exit is not quite done), so this looks
    /// again, for up to a second, before it says the process is not single-threaded.
    pub fn check_after_join() -> Result<SingleThreaded> {
        for _ in 0..1000 {
            match SingleThreaded::check() {
                Err(Error::NotSingleThreaded { .. }) => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                other => return other,
            }
        }
        SingleThreaded::check()
    }
}

/// Which side of a `fork` we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkResult {
    /// The new process.
    Child,
    /// The original process; the child's PID.
    Parent(nix::unistd::Pid),
}

/// `fork()`: a copy of this process. Use `process::fork`, which wraps the child in a guard that
/// reaps it on every path.
pub fn fork(_single: &SingleThreaded) -> Result<ForkResult> {
    // SAFETY: nix marks fork unsafe because in a multi-threaded process the child may only call
    // async-signal-safe functions. `SingleThreaded` proves this thread is the only one (checked
    // when the proof was made, and the proof cannot leave this thread), so the child is an
    // ordinary single-threaded copy that may do anything.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => Ok(ForkResult::Child),
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(ForkResult::Parent(child)),
        Err(e) => Err(Error::sys("fork", e)),
    }
}

/// `_exit(code)`: ends a forked child at once, without running the parent's exit handlers or
/// flushing buffers a second time (the parent flushes its own).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer, touches no memory of ours and does not return.
    unsafe { libc::_exit(code) }
}

/// `wait4(pid)`: waits for a child and returns its status word and the kernel's accounting of
/// its resource use (faults, context switches, CPU time), which `waitpid` does not give.
pub fn wait4(pid: nix::unistd::Pid) -> Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, so all-zero is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers point to live locals of the right types for the whole call.
        let rc = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut usage) };
        if rc >= 0 {
            return Ok((status, usage));
        }
        let errno = Errno::last();
        if errno != Errno::EINTR {
            return Err(Error::sys("wait4", errno));
        }
    }
}

/// `pidfd_open(pid, 0)`: a descriptor for the process that becomes readable when it ends, so a
/// demo can `poll` for its child's end and still notice Ctrl-C (a blocking `wait4` is restarted
/// after the signal). Always close-on-exec. Linux 5.3 and later; ENOSYS before.
pub fn pidfd_open(pid: nix::unistd::Pid) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and a flags word by value and touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Error::sys("pidfd_open", Errno::last()));
    }
    // SAFETY: the kernel has just returned this descriptor to us; nothing else owns it, so the
    // OwnedFd is its only owner and closes it once.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as std::os::fd::RawFd) })
}

/// `poll` on one descriptor for readability, at most `timeout_ms`: true if readable, false on
/// timeout, `Err(EINTR)` when a signal handler ran (poll is never restarted).
pub fn poll_readable(
    fd: std::os::fd::BorrowedFd<'_>,
    timeout_ms: i32,
) -> std::result::Result<bool, Errno> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is a live local pollfd and we pass a count of 1; the borrowed descriptor
    // stays open for the whole call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(rc > 0)
}

/// In a child just created (between `fork` and `exec`, or in a forked child that runs on):
/// asks the kernel to SIGKILL it when its parent dies (`prctl(PR_SET_PDEATHSIG, SIGKILL)`), so a
/// demo killed by SIGKILL takes its children with it instead of leaving them to init. `parent`
/// is the parent's PID read before the fork: if the parent died before this call, the signal
/// would never come (the child has been re-parented already, and `getppid()` names its new
/// parent), so the child ends at once with 137, as the signal would have ended it.
///
/// Async-signal-safe (two system calls and `_exit`, no allocation, no lock), so it may run in a
/// `pre_exec` hook. The kernel sends the signal when the *thread* that created the child ends:
/// create children from a thread that lives as long as the process (the main thread).
pub fn die_with_parent(parent: nix::unistd::Pid) {
    // PR_SET_PDEATHSIG fails only for an invalid signal; SIGKILL is valid.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid() != parent {
        exit_now(128 + libc::SIGKILL);
    }
}

/// Makes the process `cmd` spawns die with this one: [`die_with_parent`] runs in the child
/// between fork and exec (`pre_exec`; the setting survives `execve`, except for a set-user-ID
/// program). std then creates the child with fork + exec rather than `posix_spawn`, which cannot
/// set it.
pub fn die_with_this_process(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: the hook runs in the child between fork and exec, where a multi-threaded parent's
    // child may only make async-signal-safe calls: `die_with_parent` makes two system calls
    // (prctl, getppid) and perhaps `_exit`; it allocates nothing and takes no lock. The closure
    // captures only a `Pid` (a copied integer).
    unsafe {
        cmd.pre_exec(move || {
            die_with_parent(parent);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{WaitStatus, waitpid};

    /// Forks a child that runs `body` (async-signal-safe calls only: the test harness has other
    /// threads) and `_exit(0)`s after it; returns how it ended.
    fn in_child(body: fn()) -> WaitStatus {
        // SAFETY: the child makes only async-signal-safe calls (prctl, getppid, _exit), so the
        // locks other test threads held at the fork do not matter.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                body();
                exit_now(0)
            }
            nix::unistd::ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
        }
    }

    #[test]
    fn a_child_whose_parent_is_alive_gets_the_death_signal() {
        let status = in_child(|| {
            die_with_parent(nix::unistd::getppid());
            let set = nix::sys::prctl::get_pdeathsig();
            if set != Ok(Some(nix::sys::signal::Signal::SIGKILL)) {
                exit_now(1);
            }
        });
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    }

    #[test]
    fn a_child_whose_parent_has_gone_ends_at_once() {
        // As if the parent had died before the call: getppid() is another process now.
        let status = in_child(|| die_with_parent(nix::unistd::Pid::from_raw(i32::MAX)));
        assert!(matches!(status, WaitStatus::Exited(_, 137)), "{status:?}");
    }
}
