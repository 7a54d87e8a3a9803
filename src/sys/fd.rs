//! Descriptors known only by number: one a program found open when it started (inherited
//! across `execve`, named on its command line), read and written without claiming to own it.

use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::{Error, Result};

/// Writes one byte to descriptor `fd`.
pub fn write_byte(fd: RawFd, byte: u8) -> Result<()> {
    let buf = [byte];
    loop {
        // SAFETY: write reads one byte from `buf`, a live local; any descriptor number is
        // memory-safe (a bad one gives EBADF), and the descriptor is not closed here.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), 1) };
        match n {
            1 => return Ok(()),
            -1 if Errno::last() == Errno::EINTR => continue,
            -1 => return Err(Error::sys("write", Errno::last())),
            _ => {
                return Err(Error::Failed(format!(
                    "write to descriptor {fd} wrote nothing"
                )));
            }
        }
    }
}

/// Reads one byte from descriptor `fd`, waiting for it; None at end of file.
pub fn read_byte(fd: RawFd) -> Result<Option<u8>> {
    let mut buf = [0u8];
    loop {
        // SAFETY: read writes at most one byte into `buf`, a live local of that size; any
        // descriptor number is memory-safe (a bad one gives EBADF).
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 1) };
        match n {
            1 => return Ok(Some(buf[0])),
            0 => return Ok(None),
            -1 if Errno::last() == Errno::EINTR => continue,
            _ => return Err(Error::sys("read", Errno::last())),
        }
    }
}
