//! Lines from standard input that Ctrl-C can interrupt.
//!
//! A plain blocking read of stdin does not return when Ctrl-C arrives: the handler only sets a
//! flag, and the read is restarted (SA_RESTART). So the demos that read stdin wait with
//! `poll(2)` in short slices, look at the flag between them, and read only what is there.
//! End of input (a closed pipe, `/dev/null`, Ctrl-D) is reported, never waited on.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;

use crate::kit::interrupt;
use crate::{Error, Result};

/// What reading the next line gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A line, without its line ending.
    Line(String),
    /// End of input: nothing more will come.
    End,
    /// Ctrl-C or SIGTERM arrived while waiting.
    Stopped(Signal),
}

/// Reads stdin line by line (see the module's documentation).
#[derive(Debug)]
pub struct StdinLines {
    pending: Vec<u8>,
    ended: bool,
    /// The longest a single poll waits before looking at the flag again.
    slice: std::time::Duration,
}

impl Default for StdinLines {
    fn default() -> Self {
        StdinLines {
            pending: Vec::new(),
            ended: false,
            slice: interrupt::POLL,
        }
    }
}

impl StdinLines {
    /// Lines from this process's stdin.
    pub fn new() -> StdinLines {
        StdinLines::default()
    }

    /// The same, polling in slices of `slice`: a signal to this thread still ends the wait at
    /// once (poll returns EINTR); a longer slice means fewer wakeups while a demo sits waiting
    /// and someone watches its context switches.
    pub fn with_slice(slice: std::time::Duration) -> StdinLines {
        StdinLines {
            slice,
            ..StdinLines::default()
        }
    }

    /// The next line, the end of input, or the signal that interrupted the wait.
    pub fn next_line(&mut self) -> Result<Input> {
        loop {
            if let Some(line) = self.take_line() {
                return Ok(Input::Line(line));
            }
            if self.ended {
                return Ok(Input::End);
            }
            if let Some(signal) = interrupt::requested() {
                return Ok(Input::Stopped(signal));
            }
            self.fill()?;
        }
    }

    /// A complete line from what was read, or the unterminated rest once input has ended.
    fn take_line(&mut self) -> Option<String> {
        let end = match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if self.ended && !self.pending.is_empty() => self.pending.len(),
            None => return None,
        };
        let raw: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&raw);
        Some(text.trim_end_matches(['\n', '\r']).to_string())
    }

    /// Waits up to one poll slice for input and reads what is there.
    fn fill(&mut self) -> Result<()> {
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let slice = PollTimeout::try_from(self.slice).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, slice) {
            Ok(0) | Err(Errno::EINTR) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(Error::sys("poll", e)),
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if revents.contains(PollFlags::POLLNVAL) {
            // stdin is not open at all: there is nothing to read, ever.
            self.ended = true;
            return Ok(());
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => self.ended = true,
            Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(Error::sys("read", e)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_the_unterminated_rest_comes_at_the_end() {
        let mut r = StdinLines {
            pending: b"x\r\nnotify\nlast".to_vec(),
            ..StdinLines::default()
        };
        assert_eq!(r.take_line().as_deref(), Some("x"));
        assert_eq!(r.take_line().as_deref(), Some("notify"));
        assert_eq!(r.take_line(), None, "no newline yet: wait for more");
        r.ended = true;
        assert_eq!(r.next_line().unwrap(), Input::Line("last".into()));
        assert_eq!(r.next_line().unwrap(), Input::End);
    }
}
