//! What the fork demos share: pipes that carry one-line records from every process to the top
//! one, a gate the top process opens for all its descendants at once, a wait for a child that
//! Ctrl-C can cut short, and the process tree read from `/proc` and drawn like `pstree -p`.
//!
//! Records are lines of text, each sent in one `write(2)` shorter than `PIPE_BUF`, so that lines
//! from many processes writing into one pipe at the same time never mix (POSIX makes such
//! writes atomic).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;

use crate::kit::interrupt;
use crate::process::Child;
use crate::{Error, Result};

/// How often a blocked wait looks at the stop flag: a signal that lands just before `poll`
/// starts is seen within this long.
const SLICE: Duration = Duration::from_millis(100);

/// A pipe, both ends close-on-exec: the receiving end and the sending end. Forked children
/// inherit both; each record a sender sends is one line.
pub fn pipe() -> Result<(Receiver, Sender)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe2", e))?;
    Ok((
        Receiver {
            file: File::from(r),
            pending: Vec::new(),
        },
        Sender {
            file: File::from(w),
        },
    ))
}

/// The sending end of a [`pipe`].
#[derive(Debug)]
pub struct Sender {
    file: File,
}

impl Sender {
    /// Sends `record` and a newline in one `write(2)`: records from several processes never
    /// interleave. A record must not contain a newline.
    pub fn send(&self, record: &str) -> Result<()> {
        debug_assert!(!record.contains('\n'), "a record is one line");
        let line = format!("{record}\n");
        assert!(
            line.len() <= libc::PIPE_BUF,
            "a record must fit in PIPE_BUF"
        );
        let written = (&self.file).write(line.as_bytes())?;
        if written != line.len() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "a short write into a pipe",
            )));
        }
        Ok(())
    }

    /// Writes raw bytes (a message for a child to read to its end), then closes this end.
    pub fn write_all_and_close(mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes)?;
        Ok(())
    }

    /// The descriptor, for `dup2` into a child's standard streams.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// The receiving end of a [`pipe`].
#[derive(Debug)]
pub struct Receiver {
    file: File,
    pending: Vec<u8>,
}

/// What waiting for the next record gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A record (without its newline).
    Record(String),
    /// Every sending end is closed: no more records will come.
    End,
    /// Nothing came within the time allowed.
    TimedOut,
    /// Ctrl-C or SIGTERM asked the demo to stop.
    Stopped(Signal),
}

impl Receiver {
    /// The next record, waiting at most `timeout` (`None`: as long as it takes). A stop request
    /// (see [`interrupt`]) ends the wait.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Next> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Ok(Next::Record(
                    String::from_utf8_lossy(&line[..end]).into_owned(),
                ));
            }
            match wait_readable(self.file.as_fd(), deadline)? {
                Ready::Yes => {}
                Ready::TimedOut => return Ok(Next::TimedOut),
                Ready::Stopped(signal) => return Ok(Next::Stopped(signal)),
            }
            let mut buf = [0u8; 4096];
            let n = loop {
                match (&self.file).read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                return Ok(Next::End);
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Everything until every sending end is closed, as text (a message a parent sent).
    pub fn read_to_end(mut self) -> Result<String> {
        let mut text = String::from_utf8_lossy(&self.pending).into_owned();
        let mut rest = Vec::new();
        self.file.read_to_end(&mut rest)?;
        text.push_str(&String::from_utf8_lossy(&rest));
        Ok(text)
    }

    /// The descriptor, for `dup2` into a child's standard input.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

enum Ready {
    Yes,
    TimedOut,
    Stopped(Signal),
}

/// Waits until `fd` is readable (data, end of file, or for a pidfd: the process ended), the
/// deadline passes, or a stop is requested.
fn wait_readable(fd: BorrowedFd<'_>, deadline: Option<Instant>) -> Result<Ready> {
    loop {
        if let Some(signal) = interrupt::requested() {
            return Ok(Ready::Stopped(signal));
        }
        let slice = match deadline {
            None => SLICE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Ready::TimedOut);
                }
                left.min(SLICE)
            }
        };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => return Ok(Ready::Yes),
            Err(e) => return Err(Error::sys("poll", e)),
        }
    }
}

/// A gate that every descendant of the top process waits at until the top process opens it:
/// a pipe whose write end only the top process keeps. Opening the gate is closing that end, so
/// every waiter sees end-of-file at once, and so does one that arrives later.
#[derive(Debug)]
pub struct Gate {
    waiting_end: Receiver,
    opening_end: Option<Sender>,
}

impl Gate {
    /// A closed gate, opened by this process.
    pub fn new() -> Result<Gate> {
        let (waiting_end, opening_end) = pipe()?;
        Ok(Gate {
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
                Next::Record(_) | Next::TimedOut => continue,
            }
        }
    }
}

/// In a child just forked: forgets the guards of its parent's children, which it inherited as
/// a copy of the parent's memory. They are its siblings, not its children: dropping the guards
/// would kill them.
pub fn forget_inherited(guards: &mut Vec<Child>) {
    std::mem::forget(std::mem::take(guards));
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine, so times taken
/// in different processes compare.
pub fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Sleeps for `duration` in short slices, unless a stop is requested: then returns it early.
pub fn sleep_unless_stopped(duration: Duration) -> Option<Signal> {
    let deadline = Instant::now() + duration;
    loop {
        if let Some(signal) = interrupt::requested() {
            return Some(signal);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_cross_a_pipe_whole_and_end_when_the_senders_close() {
        let (mut rx, tx) = pipe().unwrap();
        let tx2 = Sender {
            file: tx.file.try_clone().unwrap(),
        };
        tx.send("1 one").unwrap();
        tx2.send("2 two").unwrap();
        assert_eq!(rx.next(None).unwrap(), Next::Record("1 one".into()));
        assert_eq!(
            rx.next(Some(Duration::from_millis(1))).unwrap(),
            Next::Record("2 two".into())
        );
        assert_eq!(
            rx.next(Some(Duration::from_millis(1))).unwrap(),
            Next::TimedOut
        );
        drop(tx);
        drop(tx2);
        assert_eq!(rx.next(None).unwrap(), Next::End);
    }

    #[test]
    fn an_opened_gate_lets_waiters_through() {
        let mut gate = Gate::new().unwrap();
        gate.open();
        assert_eq!(gate.wait().unwrap(), None);
    }
}
