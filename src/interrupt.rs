//! Ctrl-C and SIGTERM: stop cleanly, report what was measured so far, exit 130 or 143.
//!
//! A demo calls [`install`] at start and checks [`requested`] between units of work (a trial, a
//! chunk of increments). The first signal only sets a flag; a second one ends the process.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::Signal;

use crate::Result;

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::Relaxed);
}

/// Catches SIGINT and SIGTERM from here on.
pub fn install() -> Result<()> {
    crate::sys::catch_once(Signal::SIGINT, on_signal)?;
    crate::sys::catch_once(Signal::SIGTERM, on_signal)
}

/// The signal that asked us to stop, if one did.
#[inline]
pub fn requested() -> Option<Signal> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// The shell's exit code for a run stopped by `signal`: 128 + its number (130, 143).
pub fn exit_code(signal: Signal) -> u8 {
    128u8.saturating_add(signal as i32 as u8)
}

/// How a run ends: exit 0, or 128 + the number of the signal that cut it short.
pub fn exit_status(interrupted: Option<Signal>) -> std::process::ExitCode {
    interrupted.map_or(std::process::ExitCode::SUCCESS, |signal| {
        std::process::ExitCode::from(exit_code(signal))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(Signal::SIGINT), 130);
        assert_eq!(exit_code(Signal::SIGTERM), 143);
    }
}
