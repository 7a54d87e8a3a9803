//! Ctrl-C and SIGTERM: stop cleanly, report what was measured so far, exit 130 or 143.
//!
//! A demo calls [`install`] at start and checks [`requested`] between units of work (a trial, a
//! chunk of increments). The first signal only sets a flag; a second one ends the process.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::Result;

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::Relaxed);
}

/// Catches SIGINT and SIGTERM from here on.
pub fn install() -> Result<()> {
    crate::sys::signal::catch_once(Signal::SIGINT, on_signal)?;
    crate::sys::signal::catch_once(Signal::SIGTERM, on_signal)
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
