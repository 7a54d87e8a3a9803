//! A gate that a tree of forked processes waits at until the top process opens it: a
//! [`channel`](super::channel) on which nobody sends, whose sending end only the top process
//! keeps. Opening the gate is closing that end, so every waiter sees the end of the channel at
//! once, and so does one that arrives later. (Threads wait at [`crate::sync::gate::StartGate`].)

use nix::sys::signal::Signal;

use super::channel::{Next, Receiver, Sender, channel};
use crate::Result;

/// A gate for processes that opens once, for every waiter at once.
#[derive(Debug)]
pub struct ForkGate {
    waiting_end: Receiver<()>,
    opening_end: Option<Sender<()>>,
}

impl ForkGate {
    /// A closed gate, opened by this process.
    pub fn new() -> Result<ForkGate> {
        let (waiting_end, opening_end) = channel()?;
        Ok(ForkGate {
            waiting_end,
            opening_end: Some(opening_end),
        })
    }

    /// In a child just forked: lets go of the opening end inherited from the parent, so that
    /// only the top process can open the gate. Call it before anything else in the child.
    pub fn leave_to_parent(&mut self) {
        self.opening_end = None;
    }

    /// Opens the gate, for good.
    pub fn open(&mut self) {
        self.opening_end = None;
    }

    /// Waits until the gate opens. `Some(signal)` if a stop was requested first.
    pub fn wait(&mut self) -> Result<Option<Signal>> {
        loop {
            match self.waiting_end.next(None)? {
                Next::End => return Ok(None),
                Next::Stopped(signal) => return Ok(Some(signal)),
                Next::Message(()) | Next::TimedOut => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opened_gate_lets_waiters_through() {
        let mut gate = ForkGate::new().unwrap();
        gate.open();
        assert_eq!(gate.wait().unwrap(), None);
    }
}
