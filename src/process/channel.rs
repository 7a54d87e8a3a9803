//! The one channel from a forked child to its parent: typed messages over a pipe.
//!
//! A message is any serde type, sent as one line of JSON in one `write(2)` no longer than
//! `PIPE_BUF`, so that messages from many processes writing into one pipe at the same time never
//! mix (POSIX makes such writes atomic). The parent reads them with [`Receiver::next`], which
//! also notices Ctrl-C, a deadline, and the end of the channel (every sending end closed: every
//! child has ended or let go of it).
//!
//! ```text
//! let (mut reports, sender) = channel::<Report>()?;   // before the fork: both sides inherit it
//! // child:  sender.send(&Report { .. })?;  exit
//! // parent: drop(sender); while let Next::Message(r) = reports.next(None)? { .. }
//! ```

use std::fs::File;
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kit::interrupt;
use crate::{Error, Result};

/// A channel for messages of type `T`: the receiving end (the parent's) and the sending end
/// (which children inherit across `fork`). Both ends are close-on-exec.
pub fn channel<T>() -> Result<(Receiver<T>, Sender<T>)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe2", e))?;
    Ok((
        Receiver {
            file: File::from(r),
            pending: Vec::new(),
            _type: PhantomData,
        },
        Sender {
            file: File::from(w),
            _type: PhantomData,
        },
    ))
}

/// The sending end of a [`channel`].
#[derive(Debug)]
pub struct Sender<T> {
    file: File,
    _type: PhantomData<fn(T)>,
}

impl<T: Serialize> Sender<T> {
    /// Sends one message, in one `write(2)`: messages from several processes never interleave.
    /// A message must fit in `PIPE_BUF` (4096 bytes on Linux) as JSON.
    pub fn send(&self, message: &T) -> Result<()> {
        let mut line = serde_json::to_string(message)?;
        line.push('\n');
        if line.len() > libc::PIPE_BUF {
            return Err(Error::Channel(format!(
                "a message of {} bytes does not fit in one atomic pipe write (PIPE_BUF, {} bytes)",
                line.len(),
                libc::PIPE_BUF
            )));
        }
        let written = loop {
            match (&self.file).write(line.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if written != line.len() {
            return Err(Error::Channel("a short write into the channel".into()));
        }
        Ok(())
    }
}

/// The receiving end of a [`channel`].
#[derive(Debug)]
pub struct Receiver<T> {
    file: File,
    pending: Vec<u8>,
    _type: PhantomData<fn() -> T>,
}

/// What waiting for the next message gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T> {
    /// A message.
    Message(T),
    /// Every sending end is closed: no more messages will come.
    End,
    /// Nothing came within the time allowed.
    TimedOut,
    /// Ctrl-C or SIGTERM asked the demo to stop.
    Stopped(Signal),
}

impl<T: DeserializeOwned> Receiver<T> {
    /// The next message, waiting at most `timeout` (`None`: as long as it takes). A stop request
    /// (see [`interrupt`]) ends the wait at once.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Next<T>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return serde_json::from_slice(&line[..end])
                    .map(Next::Message)
                    .map_err(|e| {
                        Error::Channel(format!(
                            "a message that does not parse ({e}): {}",
                            String::from_utf8_lossy(&line[..end])
                        ))
                    });
            }
            match wait_readable(&self.file, deadline)? {
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
}

enum Ready {
    Yes,
    TimedOut,
    Stopped(Signal),
}

/// Waits until `file` is readable (data or end of file), the deadline passes, or a stop is
/// requested. The poll is cut into slices of [`interrupt::POLL`]: a signal that lands just
/// before `poll` starts is seen within one slice.
fn wait_readable(file: &File, deadline: Option<Instant>) -> Result<Ready> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loop {
        if let Some(signal) = interrupt::requested() {
            return Ok(Ready::Stopped(signal));
        }
        let slice = match deadline {
            None => interrupt::POLL,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Ready::TimedOut);
                }
                left.min(interrupt::POLL)
            }
        };
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => return Ok(Ready::Yes),
            Err(e) => return Err(Error::sys("poll", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Report {
        child: u32,
        pid: i32,
    }

    #[test]
    fn messages_cross_whole_and_end_when_the_senders_close() {
        let (mut rx, tx) = channel::<Report>().unwrap();
        let tx2 = Sender::<Report> {
            file: tx.file.try_clone().unwrap(),
            _type: PhantomData,
        };
        tx.send(&Report { child: 1, pid: 10 }).unwrap();
        tx2.send(&Report { child: 2, pid: 20 }).unwrap();
        assert_eq!(
            rx.next(None).unwrap(),
            Next::Message(Report { child: 1, pid: 10 })
        );
        let short = Some(Duration::from_millis(1));
        assert_eq!(
            rx.next(short).unwrap(),
            Next::Message(Report { child: 2, pid: 20 })
        );
        assert_eq!(rx.next(short).unwrap(), Next::TimedOut);
        drop(tx);
        drop(tx2);
        assert_eq!(rx.next(None).unwrap(), Next::End);
    }

    #[test]
    fn a_message_too_long_for_one_atomic_write_is_refused() {
        let (_rx, tx) = channel::<String>().unwrap();
        let err = tx.send(&"x".repeat(5000)).unwrap_err().to_string();
        assert!(err.contains("PIPE_BUF"), "{err}");
    }

    #[test]
    fn a_message_that_does_not_parse_is_an_error_naming_it() {
        let (mut rx, tx) = channel::<Report>().unwrap();
        (&tx.file).write_all(b"not json\n").unwrap();
        let err = rx.next(None).unwrap_err().to_string();
        assert!(err.contains("not json"), "{err}");
    }
}
