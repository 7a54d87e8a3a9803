//! The start gate: threads wait at it until all of them exist, so they really run at the same
//! time (the lecture's threads start one by one as they are created; the first may finish before
//! the last begins). If creating a thread fails, the gate is aborted instead and the threads
//! already waiting return at once, so they can be joined: nothing is left blocked.
//!
//! Waiters spin briefly, then yield the CPU so the creating thread can go on.

use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;

/// A gate that opens once, for every waiter at once (or is abandoned).
#[derive(Debug, Default)]
pub struct StartGate(AtomicU8);

impl StartGate {
    const WAIT: u8 = 0;
    const OPEN: u8 = 1;
    const ABORT: u8 = 2;

    /// A closed gate.
    pub const fn new() -> StartGate {
        StartGate(AtomicU8::new(Self::WAIT))
    }

    /// Waits for the gate; true when it opened, false if the run was abandoned.
    pub fn wait(&self) -> bool {
        let mut spins = 0u32;
        loop {
            match self.0.load(Ordering::Acquire) {
                Self::OPEN => return true,
                Self::ABORT => return false,
                _ if spins < 2000 => {
                    spins += 1;
                    std::hint::spin_loop();
                }
                _ => thread::yield_now(),
            }
        }
    }

    /// Lets every waiter through.
    pub fn open(&self) {
        self.0.store(Self::OPEN, Ordering::Release);
    }

    /// Abandons the run: every waiter returns false.
    pub fn abort(&self) {
        self.0.store(Self::ABORT, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_pass_when_open_and_return_false_when_aborted() {
        for (open, want) in [(true, true), (false, false)] {
            let gate = StartGate::new();
            let passed = thread::scope(|s| {
                let h = s.spawn(|| gate.wait());
                if open {
                    gate.open();
                } else {
                    gate.abort();
                }
                h.join().unwrap()
            });
            assert_eq!(passed, want);
        }
    }
}
