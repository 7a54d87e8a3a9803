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
    /// `pthread_create` (through `std::thread`) refused a thread.
    #[error("could not start thread {index} of {total} (the kernel refused pthread_create)")]
    Spawn {
        index: usize,
        total: usize,
        #[source]
        source: io::Error,
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

    /// Wraps a failed `/proc` read.
    pub fn proc(what: impl Into<String>, source: procfs::ProcError) -> Self {
        Error::Proc {
            what: what.into(),
            source,
        }
    }
}
