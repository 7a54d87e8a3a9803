//! Signals: handlers (the one-shot Ctrl-C catcher, the recorder), masks, sigsuspend, kill and sigqueue.

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::{Error, Result};

/// Installs `handler` for `signal` (SA_RESTART: interrupted system calls resume, except those
/// that never restart, such as `poll` and `clock_nanosleep`).
pub fn catch(signal: Signal, handler: extern "C" fn(libc::c_int)) -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: sigaction is unsafe because the handler runs asynchronously, interrupting any
    // code. The handlers this crate installs (see `kit::interrupt`) only touch static atomics
    // and may call `_exit`, both async-signal-safe, and never touch locks, the allocator or
    // stdio.
    unsafe { sigaction(signal, &action) }.map_err(|e| Error::sys("sigaction", e))?;
    Ok(())
}

/// How many signals the recorder keeps; later ones are counted but not kept.
pub const SIGNAL_LOG_LEN: usize = 256;

static SIGNAL_LOG: [std::sync::atomic::AtomicI32; SIGNAL_LOG_LEN] =
    [const { std::sync::atomic::AtomicI32::new(0) }; SIGNAL_LOG_LEN];
static SIGNAL_VALUES: [std::sync::atomic::AtomicI32; SIGNAL_LOG_LEN] =
    [const { std::sync::atomic::AtomicI32::new(0) }; SIGNAL_LOG_LEN];
static SIGNAL_COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn record_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering::Relaxed;
    let value = if info.is_null() {
        0
    } else {
        // SAFETY: for an SA_SIGINFO handler the kernel passes a valid siginfo_t; si_value is
        // what sigqueue sent (and an arbitrary, harmless int for a plain kill).
        unsafe { (*info).si_value().sival_ptr as usize as i32 }
    };
    // Only lock-free atomics here: async-signal-safe, whatever the handler interrupted.
    let i = SIGNAL_COUNT.fetch_add(1, Relaxed);
    if i < SIGNAL_LOG_LEN {
        SIGNAL_VALUES[i].store(value, Relaxed);
        SIGNAL_LOG[i].store(signal, Relaxed);
    }
}

/// A set of signals by number, real-time ones included (nix's `SigSet` cannot name those).
fn sigset(signals: &[i32]) -> Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live local for both calls.
    unsafe { libc::sigemptyset(&mut set) };
    for &signal in signals {
        // SAFETY: as above; an invalid number is reported through the return value.
        if unsafe { libc::sigaddset(&mut set, signal) } != 0 {
            return Err(Error::sys("sigaddset", Errno::last()));
        }
    }
    Ok(set)
}

/// Installs, for each signal number in `signals`, a handler that records in arrival order the
/// signal and the value it carried (sigqueue). While it runs the handler blocks every signal
/// (`sa_mask` full, as the lecture's printer). Read the record with [`recorded_signals`].
pub fn record_signals(signals: &[i32]) -> Result<()> {
    for &signal in signals {
        catch_raw(signal, true)?;
    }
    Ok(())
}

fn catch_raw(signal: i32, restart: bool) -> Result<()> {
    // SAFETY: sigaction is plain data; every field the kernel reads is set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = record_signal as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | if restart { libc::SA_RESTART } else { 0 };
    // SAFETY: `sa_mask` is a field of the live local `action`.
    unsafe { libc::sigfillset(&mut action.sa_mask) };
    // SAFETY: the handler only performs lock-free atomic operations on statics and reads the
    // siginfo the kernel hands it, which is async-signal-safe; both pointers are to live locals
    // (or null for the old action).
    if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
        return Err(Error::sys("sigaction", Errno::last()));
    }
    Ok(())
}

/// Blocks (`true`) or unblocks the signals for the calling thread (`pthread_sigmask`). Signals
/// that arrive while blocked stay pending; unblocking delivers them before this returns.
pub fn block_signals(signals: &[i32], block: bool) -> Result<()> {
    let set = sigset(signals)?;
    let how = if block {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: `set` is a live, initialised sigset; the old mask is not wanted (null).
    let rc = unsafe { libc::pthread_sigmask(how, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(Error::sys("pthread_sigmask", Errno::from_raw(rc)));
    }
    Ok(())
}

/// `sigsuspend` with an empty mask: sleeps, every signal unblocked, until a handler has run;
/// then the mask is restored. The classic race-free wait: block the signals you handle, check
/// your state, then suspend.
pub fn suspend_until_signal() {
    // SAFETY: sigset_t is plain data, and sigemptyset initialises it before sigsuspend reads it;
    // both calls get a pointer to this live local. sigsuspend always returns -1/EINTR.
    unsafe {
        let mut open: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut open);
        libc::sigsuspend(&open);
    }
}

/// The signals recorded so far, as (signal number, value), and how many arrived in all (more
/// than the list holds if the log overflowed). Clears the record.
pub fn recorded_signals() -> (Vec<(i32, i32)>, usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let total = SIGNAL_COUNT.swap(0, Relaxed);
    let kept = (0..total.min(SIGNAL_LOG_LEN))
        .map(|i| (SIGNAL_LOG[i].load(Relaxed), SIGNAL_VALUES[i].load(Relaxed)))
        .collect();
    (kept, total)
}

/// How many signals the recorder has seen since it was last read.
pub fn recorded_count() -> usize {
    SIGNAL_COUNT.load(std::sync::atomic::Ordering::Relaxed)
}

/// What `sigaction` says when asked to catch `signal` (EINVAL for SIGKILL and SIGSTOP).
pub fn try_catch(signal: i32) -> Result<()> {
    catch_raw(signal, false)
}

/// `kill(pid, signal)` for any signal number, real-time ones included.
pub fn send_signal(pid: nix::unistd::Pid, signal: i32) -> Result<()> {
    // SAFETY: kill takes integers and touches no memory of ours.
    if unsafe { libc::kill(pid.as_raw(), signal) } != 0 {
        return Err(Error::sys("kill", Errno::last()));
    }
    Ok(())
}

/// `sigqueue(pid, signal, value)`: sends a signal that carries an integer. Real-time signals
/// sent this way queue, one instance per send, in order.
pub fn sigqueue(pid: nix::unistd::Pid, signal: i32, value: i32) -> Result<()> {
    let sival = libc::sigval {
        sival_ptr: value as usize as *mut libc::c_void,
    };
    // SAFETY: sigqueue takes its arguments by value and touches no memory of ours.
    let rc = unsafe { libc::sigqueue(pid.as_raw(), signal, sival) };
    if rc != 0 {
        return Err(Error::sys("sigqueue", Errno::last()));
    }
    Ok(())
}

/// `SIGRTMIN + n`: the kernel's real-time signals, numbered at run time (glibc keeps the first
/// few for itself).
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// `SIGRTMAX`.
pub fn sigrtmax() -> i32 {
    libc::SIGRTMAX()
}

/// A timer that sends `signal` to one thread every `period`, its handler installed: built by
/// [`tick`]. Dropping it deletes the timer, then sets the signal to SIG_IGN, which also
/// discards an instance still pending (so a last tick cannot arrive to a default action that
/// ends the process).
pub struct Ticker {
    timer: Option<nix::sys::timer::Timer>,
    signal: Signal,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.timer.take()); // timer_delete
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_IGN runs no code of ours, so no handler can run at a bad moment.
        let _ = unsafe { sigaction(self.signal, &ignore) };
    }
}

/// Installs `handler` for `signal` (SA_RESTART, the signal itself blocked while the handler
/// runs, so it never nests) and arms a POSIX timer (`timer_create(CLOCK_MONOTONIC)` with
/// SIGEV_THREAD_ID) that sends `signal` to the calling thread every `period`. The handler must
/// be async-signal-safe: it interrupts the calling thread at any instruction.
pub fn tick(
    signal: Signal,
    period: std::time::Duration,
    handler: extern "C" fn(libc::c_int),
) -> Result<Ticker> {
    use nix::sys::signal::{SigEvent, SigevNotify};
    use nix::sys::timer::{Expiration, Timer, TimerSetTimeFlags};
    use nix::time::ClockId;
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler runs asynchronously on the calling thread, between any two of its
    // instructions. The one handler this is used with (reentrancy's) touches only lock-free
    // atomics, static or const-initialised thread-local ones (a plain TLS access in the
    // executable, which allocates nothing), makes no system call (errno is left alone), and takes
    // no lock, allocates nothing and prints nothing: all async-signal-safe.
    unsafe { sigaction(signal, &action) }.map_err(|e| Error::sys("sigaction", e))?;
    let mut ticker = Ticker {
        timer: None,
        signal,
    };
    let event = SigEvent::new(SigevNotify::SigevThreadId {
        signal,
        thread_id: nix::unistd::gettid().as_raw(),
        si_value: 0,
    });
    let mut timer =
        Timer::new(ClockId::CLOCK_MONOTONIC, event).map_err(|e| Error::sys("timer_create", e))?;
    let every = nix::sys::time::TimeSpec::from_duration(period);
    timer
        .set(Expiration::Interval(every), TimerSetTimeFlags::empty())
        .map_err(|e| Error::sys("timer_settime", e))?;
    ticker.timer = Some(timer);
    Ok(ticker)
}

/// Sets each signal in `signals` back to its default action (SIG_DFL) and unblocks it: what a
/// child needs before showing a default action, whatever its parent caught, ignored (a shell's
/// background job ignores SIGINT and SIGQUIT) or blocked.
pub fn restore_defaults(signals: &[i32]) -> Result<()> {
    for &signal in signals {
        // SAFETY: sigaction is plain data; every field the kernel reads is set below.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = libc::SIG_DFL;
        // SAFETY: `sa_mask` is a field of the live local `action`.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: SIG_DFL runs no code of ours; both pointers are to a live local or null.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(Error::sys("sigaction", Errno::last()));
        }
    }
    block_signals(signals, false)
}

/// `signal(signal, SIG_IGN)`: the signal is discarded on arrival. Unlike a handler, the
/// disposition survives `execve` (a handler's address means nothing in the new program, so exec
/// resets handled signals to SIG_DFL and keeps ignored ones).
pub fn ignore(signal: Signal) -> Result<()> {
    let action = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_IGN runs no code of ours, so no handler can interrupt anything.
    unsafe { sigaction(signal, &action) }.map_err(|e| Error::sys("sigaction", e))?;
    Ok(())
}
