//! Ctrl-C and SIGTERM: stop cleanly, report what was measured so far, exit 130 or 143.
//!
//! A demo calls [`install`] at start (the kit's run contract does) and checks [`requested`]
//! between units of work (a trial, a chunk of increments). The first signal sets the flag; a
//! second one changes nothing (`timeout` signals a process and then its group: the report must
//! survive that); the third ends the process at once, with 128 + the signal, as a user who
//! presses Ctrl-C three times expects.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::Result;

/// The first signal that asked us to stop (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// How many have arrived.
static COUNT: AtomicU32 = AtomicU32::new(0);

/// How many stop signals end the process at once instead of asking it to stop.
const AT_ONCE: u32 = 3;

extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomics and _exit here: async-signal-safe, whatever the handler interrupted.
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
    if COUNT.fetch_add(1, Ordering::Relaxed) + 1 >= AT_ONCE {
        crate::sys::process::exit_now(128 + signal);
    }
}

/// Catches SIGINT and SIGTERM from here on.
pub fn install() -> Result<()> {
    crate::sys::signal::catch(Signal::SIGINT, on_signal)?;
    crate::sys::signal::catch(Signal::SIGTERM, on_signal)
}

/// The signal that asked us to stop, if one did.
#[inline]
pub fn requested() -> Option<Signal> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// How often a waiting demo looks at the flag when nothing wakes it sooner: the longest Ctrl-C
/// can take to act. Waits sleep in calls that a signal interrupts (EINTR), so on the thread that
/// receives the signal it acts at once; the slice only bounds the other threads. Long enough not
/// to add visible voluntary context switches to the counters the demos show (10 per second).
pub const POLL: Duration = Duration::from_millis(100);

/// Sleeps for `length`, waking at once if Ctrl-C or SIGTERM arrives: returns the signal then.
/// (`std::thread::sleep` resumes after a signal; `clock_nanosleep` returns EINTR, whatever
/// SA_RESTART says.)
pub fn sleep(length: Duration) -> Option<Signal> {
    use nix::sys::time::TimeSpec;
    use nix::time::{ClockId, ClockNanosleepFlags, clock_nanosleep};
    let deadline = Instant::now() + length;
    loop {
        if let Some(signal) = requested() {
            return Some(signal);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let slice = TimeSpec::from_duration(left.min(POLL));
        // EINTR (a signal) and a completed sleep both lead back to the checks above.
        let _ = clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::empty(),
            &slice,
        );
    }
}

/// How a demo ends: 0, or the shell's code for the signal that stopped it.
pub fn exit_status(stopped: Option<Signal>) -> std::process::ExitCode {
    match stopped {
        Some(signal) => std::process::ExitCode::from(exit_code(signal)),
        None => std::process::ExitCode::SUCCESS,
    }
}

/// The shell's exit code for a run stopped by `signal`: 128 + its number (130, 143).
pub fn exit_code(signal: Signal) -> u8 {
    128u8.saturating_add(signal as i32 as u8)
}
