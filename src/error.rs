//! The library's error type. Binaries wrap it in `anyhow` and print the cause chain.

use std::io;

/// Everything the library can fail with, each naming what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a `/proc` file failed.
    #[error("could not read {what}")]
    Proc {
        what: String,
        #[source]
        source: procfs::ProcError,
    },
    /// A system call failed; `call` names it as the man page does.
    #[error("{call} failed")]
    Sys {
        call: &'static str,
        #[source]
        source: nix::errno::Errno,
    },
    /// `pthread_create` (through `std::thread`) refused a thread; `limit` names the limit
    /// that did (see [`Error::spawn`]).
    #[error(
        "could not start thread {index} of {total} (the kernel refused pthread_create, {limit})"
    )]
    Spawn {
        index: usize,
        total: usize,
        limit: String,
        #[source]
        source: io::Error,
    },
    /// `fork` or `posix_spawn` could not create a process (EAGAIN, ENOMEM); `limit` names the
    /// limit that refused it: `fork failed: EAGAIN — at the limit of the pids cgroup /x
    /// (pids.max 10, 10 in use)`.
    #[error("{call} failed: {errno:?} — {limit}")]
    Refused {
        call: &'static str,
        errno: nix::errno::Errno,
        limit: String,
    },
    /// `fork` was asked for while other threads exist.
    #[error(
        "cannot fork: the process has {threads} threads, and a child forked from a multi-threaded process can deadlock on a lock another thread held"
    )]
    NotSingleThreaded { threads: i64 },
    /// The machine cannot give what a demo asks for (processes, memory).
    #[error("{0}")]
    Limit(String),
    /// The run could not go on, for a reason of its own (a child that died before it
    /// reported, a process that does not exist, a `/proc` file that says something unexpected).
    #[error("{0}")]
    Failed(String),
    /// A message between processes could not be sent or read.
    #[error("the channel from a child: {0}")]
    Channel(String),
    /// A worker thread panicked; the demo's result would be meaningless.
    #[error("worker thread {index} panicked")]
    WorkerPanicked { index: usize },
    /// Writing the report failed.
    #[error("could not write the report")]
    Io(#[from] io::Error),
    /// Serialising the report failed.
    #[error("could not serialise the report")]
    Json(#[from] serde_json::Error),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a failed system call.
    pub fn sys(call: &'static str, source: nix::errno::Errno) -> Self {
        Error::Sys { call, source }
    }

    /// Wraps a failed system call that std reports as an `io::Error` (a pipe, a read, a
    /// write), naming the call: `.map_err(Error::io("pipe"))`. (`?` on an `io::Error` alone
    /// means the report could not be written.)
    pub fn io(call: &'static str) -> impl Fn(io::Error) -> Error {
        move |e| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            Error::sys(call, nix::errno::Errno::from_raw(errno))
        }
    }

    /// Thread `index` of `total` could not be started: names the limit that refused it (from
    /// [`crate::process::limits::refused_by`]; read now, while the threads already started
    /// still count).
    pub fn spawn(index: usize, total: usize, source: io::Error) -> Self {
        let errno = nix::errno::Errno::from_raw(source.raw_os_error().unwrap_or(libc::EAGAIN));
        let wanted = total.saturating_sub(index).saturating_add(1) as u64;
        Error::Spawn {
            index,
            total,
            limit: crate::process::limits::refused_by(errno, wanted),
            source,
        }
    }

    /// A failed `fork` or `posix_spawn` (`Error::Sys`) that ran into a limit (EAGAIN, ENOMEM)
    /// becomes [`Error::Refused`], naming the limit; any other error is left as it is.
    pub fn with_limit(self) -> Self {
        match self {
            Error::Sys { call, source }
                if matches!(
                    source,
                    nix::errno::Errno::EAGAIN | nix::errno::Errno::ENOMEM
                ) =>
            {
                Error::Refused {
                    call,
                    errno: source,
                    limit: crate::process::limits::refused_by(source, 1),
                }
            }
            other => other,
        }
    }

    /// Wraps a failed `/proc` read.
    pub fn proc(what: impl Into<String>, source: procfs::ProcError) -> Self {
        Error::Proc {
            what: what.into(),
            source,
        }
    }
}
