//! `process_attrs`'s lab bench: a process's attributes read from `/proc/PID` (stat, status,
//! fd, fdinfo, limits, cwd, root, task/children), the parent-child handshake around fork and
//! exec, the thread that is still running when its process exits, and the analysis.
//!
//! The binary holds the lecture's program: what main sets up (umask, a handled and an ignored
//! signal, a kept and a close-on-exec descriptor), fork, exec, and the child whose main returns
//! while a thread spins.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::{Pid, getpid};
use procfs::process::{LimitValue, Process};
use serde::Serialize;

use crate::kit::report::Output;
use crate::kit::{Context, Findings, Verdict, interrupt, words};
use crate::process::{Child, Exit};
use crate::sys::fd::{read_byte, write_byte};
use crate::{Error, Result};

/// The exec'd program's exit code: a value the zombie's `exit_code` shows.
pub const EXEC_EXIT: u8 = 7;
/// The umask main sets.
const UMASK: u32 = 0o027;
/// How long the parent waits for a child's word.
const PATIENCE: Duration = Duration::from_secs(10);

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub umask: String,
    pub handled: &'static str,
    pub ignored: &'static str,
}

impl Params {
    pub fn new() -> Params {
        Params {
            umask: format!("{UMASK:04o}"),
            handled: "SIGUSR1",
            ignored: "SIGUSR2",
        }
    }
}

impl Default for Params {
    fn default() -> Params {
        Params::new()
    }
}

/// `umask(mask)`; returns the old mask.
pub fn set_umask(mask: u32) -> u32 {
    nix::sys::stat::umask(Mode::from_bits_truncate(mask)).bits()
}

/// `open("/dev/null", O_RDONLY)`, with O_CLOEXEC or without.
pub fn open_dev_null(cloexec: bool) -> Result<File> {
    let file = File::open("/dev/null").map_err(Error::io("open"))?; // std sets O_CLOEXEC
    if !cloexec {
        fcntl(file.as_fd(), FcntlArg::F_SETFD(FdFlag::empty()))
            .map_err(|e| Error::sys("fcntl", e))?;
    }
    Ok(file)
}

/// What main set up, kept open for the run.
pub struct Owned {
    pub pid: i32,
    pub old_umask: u32,
    kept: File,
    gone: File,
}

impl Owned {
    pub fn new(old_umask: u32, kept: File, gone: File) -> Owned {
        Owned {
            pid: getpid().as_raw(),
            old_umask,
            kept,
            gone,
        }
    }

    fn kept_fd(&self) -> RawFd {
        self.kept.as_raw_fd()
    }

    fn gone_fd(&self) -> RawFd {
        self.gone.as_raw_fd()
    }
}

// ---------------------------------------------------------------------------------------------
// The handshake around fork and exec.

/// Two pipes between the parent and the child: the child says "ready" (forked, then exec'd),
/// the parent says "go" once it has read /proc. The child's ends are not close-on-exec, so the
/// exec'd program finds them open; the parent's are.
pub struct Handshake {
    ready_r: File,
    ready_w: Option<File>,
    go_r: Option<File>,
    go_w: File,
}

fn pipe(child_reads: bool) -> Result<(File, File)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe2", e))?;
    let child_end = if child_reads { r.as_fd() } else { w.as_fd() };
    fcntl(child_end, FcntlArg::F_SETFD(FdFlag::empty())).map_err(|e| Error::sys("fcntl", e))?;
    Ok((File::from(r), File::from(w)))
}

impl Handshake {
    pub fn new() -> Result<Handshake> {
        let (ready_r, ready_w) = pipe(false)?;
        let (go_r, go_w) = pipe(true)?;
        Ok(Handshake {
            ready_r,
            ready_w: Some(ready_w),
            go_r: Some(go_r),
            go_w,
        })
    }

    /// In the forked child: says it is ready and waits for the parent's go.
    pub fn child_ready_then_wait(&self) {
        if let (Some(w), Some(r)) = (&self.ready_w, &self.go_r) {
            let _ = (&*w).write_all(b"f");
            let _ = (&*r).read(&mut [0u8]);
        }
    }

    /// The child's ends, as numbers for the exec'd program's command line.
    fn child_fds(&self) -> (RawFd, RawFd) {
        let fd = |f: &Option<File>| f.as_ref().map_or(-1, |f| f.as_raw_fd());
        (fd(&self.ready_w), fd(&self.go_r))
    }

    /// In the parent: closes its copies of the child's ends (so a child that dies reads as end
    /// of file), then waits for the child's word; Ctrl-C and a child that died end the wait.
    pub fn wait_ready(&mut self, child: &Child) -> anyhow::Result<()> {
        self.ready_w = None;
        self.go_r = None;
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(signal) = interrupt::requested() {
                anyhow::bail!(
                    "stopped by {signal} while waiting for child {}",
                    child.pid()
                );
            }
            match crate::sys::process::poll_readable(self.ready_r.as_fd(), 20) {
                Ok(true) => break,
                Ok(false) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Error::sys("poll", e).into()),
            }
            if std::time::Instant::now() > deadline {
                anyhow::bail!("child {} did not say it was ready", child.pid());
            }
        }
        let mut byte = [0u8];
        match (&self.ready_r).read(&mut byte) {
            Ok(1) => Ok(()),
            _ => match child.ended()? {
                Some(exit) => {
                    anyhow::bail!("child {} {} before it was ready", child.pid(), exit.verb())
                }
                None => anyhow::bail!("child {} closed its pipe", child.pid()),
            },
        }
    }

    /// In the parent: lets the child go on.
    pub fn go(&self) -> Result<()> {
        (&self.go_w).write_all(b"g").map_err(Error::io("write"))
    }
}

/// In the forked child: `execl("/proc/self/exe", "process_attrs", "--exec-probe", READY, GO)`.
/// Returns only on failure, with the errno.
pub fn exec_self(hand: &Handshake) -> nix::errno::Errno {
    let (ready, go) = hand.child_fds();
    let argv = [
        c"process_attrs".to_owned(),
        c"--exec-probe".to_owned(),
        std::ffi::CString::new(ready.to_string()).unwrap_or_default(),
        std::ffi::CString::new(go.to_string()).unwrap_or_default(),
    ];
    match nix::unistd::execv(c"/proc/self/exe", &argv) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

/// The forked child's end when exec failed: says so, and the exit code.
pub fn exec_failed(errno: nix::errno::Errno) -> i32 {
    eprintln!("process_attrs: error: execv /proc/self/exe failed: {errno}");
    127
}

/// The exec'd program: says it is running (on the descriptor it inherited), waits until the
/// parent has read its /proc and says go, and exits with [`EXEC_EXIT`].
pub fn exec_probe(ready: RawFd, go: RawFd) -> ExitCode {
    let run = || -> Result<()> {
        write_byte(ready, b'e')?;
        read_byte(go)?;
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::from(EXEC_EXIT),
        Err(e) => {
            eprintln!("process_attrs: error: the exec'd program: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a process's attributes.

/// One open descriptor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fd {
    pub fd: i32,
    pub target: String,
    pub cloexec: bool,
}

/// What a process owns, from /proc/PID.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Attrs {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty: String,
    pub cwd: String,
    pub root: String,
    pub uid: String,
    pub gid: String,
    pub umask: String,
    pub fds: Vec<Fd>,
    /// SIGUSR1's disposition: `handled`, `ignored` or `default`.
    pub sigusr1: String,
    /// SIGUSR2's disposition.
    pub sigusr2: String,
    /// Every signal with a handler (SigCgt).
    pub handled: Vec<String>,
    pub ignored: Vec<String>,
    pub blocked: Vec<String>,
    pub nice: i64,
    pub affinity: String,
    pub nofile: String,
    pub core: String,
    pub stack: String,
    pub cmdline: String,
    pub threads: u64,
    // task_struct
    pub state: String,
    pub prio: i64,
    pub on_cpu: String,
    /// The address space: its size and where its code starts.
    pub mm: String,
    pub exit_code: i32,
    pub children: Vec<i32>,
}

fn signal_names(mask: u64) -> Vec<String> {
    (1..=64)
        .filter(|n| mask & (1u64 << (n - 1)) != 0)
        .map(|n| Signal::try_from(n).map_or(format!("SIG{n}"), |s| s.as_str().to_string()))
        .collect()
}

fn disposition(signal: Signal, handled: u64, ignored: u64) -> String {
    let bit = 1u64 << (signal as i32 - 1);
    if handled & bit != 0 {
        "handled"
    } else if ignored & bit != 0 {
        "ignored"
    } else {
        "default"
    }
    .into()
}

fn limit(l: &procfs::process::Limit) -> String {
    let v = |v: &LimitValue| match v {
        LimitValue::Unlimited => "unlimited".to_string(),
        LimitValue::Value(n) => n.to_string(),
    };
    format!("{} / {}", v(&l.soft_limit), v(&l.hard_limit))
}

/// The controlling terminal from stat's tty_nr: `pts/3`, `tty1`, or `none`.
fn tty_name(major: i32, minor: i32) -> String {
    match major {
        0 => "none".into(),
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 => format!("tty{minor}"),
        _ => format!("{major}:{minor}"),
    }
}

impl Attrs {
    /// Reads process `pid` from /proc.
    pub fn read(pid: i32) -> Result<Attrs> {
        let at = |what: &str| format!("/proc/{pid}/{what}");
        let p = Process::new(pid).map_err(|e| Error::proc(at(""), e))?;
        let stat = p.stat().map_err(|e| Error::proc(at("stat"), e))?;
        let status = p.status().map_err(|e| Error::proc(at("status"), e))?;
        let limits = p.limits().map_err(|e| Error::proc(at("limits"), e))?;
        let path = |r: procfs::ProcResult<std::path::PathBuf>| {
            r.map_or("?".into(), |p| p.to_string_lossy().into_owned())
        };
        let mut fds: Vec<Fd> = p
            .fd()
            .map_err(|e| Error::proc(at("fd"), e))?
            .filter_map(|f| f.ok())
            .map(|f| {
                let target = std::fs::read_link(at(&format!("fd/{}", f.fd)))
                    .map_or("?".into(), |t| t.to_string_lossy().into_owned());
                Fd {
                    fd: f.fd,
                    cloexec: fd_cloexec(pid, f.fd),
                    target,
                }
            })
            .filter(|f| !f.target.starts_with("/proc/"))
            .collect();
        fds.sort_by_key(|f| f.fd);
        let children = std::fs::read_to_string(at(&format!("task/{pid}/children")))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .collect();
        let (major, minor) = stat.tty_nr();
        let cpu = stat.processor.unwrap_or(-1);
        let affinity = status.cpus_allowed_list.as_ref().map_or("?".into(), |l| {
            l.iter()
                .map(|(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        });
        Ok(Attrs {
            pid,
            ppid: stat.ppid,
            pgrp: stat.pgrp,
            session: stat.session,
            tty: tty_name(major, minor),
            cwd: path(p.cwd()),
            root: path(p.root()),
            uid: format!("{} / {}", status.ruid, status.euid),
            gid: format!("{} / {}", status.rgid, status.egid),
            umask: status.umask.map_or("?".into(), |m| format!("{m:04o}")),
            fds,
            sigusr1: disposition(Signal::SIGUSR1, status.sigcgt, status.sigign),
            sigusr2: disposition(Signal::SIGUSR2, status.sigcgt, status.sigign),
            handled: signal_names(status.sigcgt),
            ignored: signal_names(status.sigign),
            blocked: signal_names(status.sigblk),
            nice: stat.nice,
            affinity,
            nofile: limit(&limits.max_open_files),
            core: limit(&limits.max_core_file_size),
            stack: limit(&limits.max_stack_size),
            cmdline: p.cmdline().map_or("?".into(), |c| c.join(" ")),
            threads: status.threads,
            state: format!(
                "{} ({})",
                stat.state,
                crate::proc::tasks::state_name(stat.state)
            ),
            prio: stat.priority,
            on_cpu: if stat.state == 'R' {
                format!("yes, CPU {cpu}")
            } else {
                format!("no (last on CPU {cpu})")
            },
            mm: format!(
                "{}, code at {:#x}",
                crate::process::limits::fmt_bytes(stat.vsize),
                stat.startcode
            ),

            exit_code: stat.exit_code.unwrap_or(0),
            children,
        })
    }

    fn fd(&self, fd: RawFd) -> String {
        self.fds
            .iter()
            .find(|f| f.fd == fd)
            .map_or("closed".into(), |f| f.target.clone())
    }
}

/// A descriptor's target, short enough for a table cell: `…/stdout` for a long path.
fn short(target: &str) -> String {
    if target.chars().count() <= 24 {
        return target.to_string();
    }
    match target.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => format!("…/{name}"),
        _ => target.chars().take(23).chain(['…']).collect(),
    }
}

/// True if `/proc/PID/fdinfo/FD` shows O_CLOEXEC in its flags.
fn fd_cloexec(pid: i32, fd: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
        .ok()
        .and_then(|t| {
            let flags = t.lines().find_map(|l| l.strip_prefix("flags:"))?;
            u32::from_str_radix(flags.trim(), 8).ok()
        })
        .is_some_and(|f| f & libc::O_CLOEXEC as u32 != 0)
}

// ---------------------------------------------------------------------------------------------
// The table.

/// Which column a reading fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Forked,
    Execd,
}

/// One attribute in the three processes, marked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub attribute: String,
    pub parent: String,
    pub child: String,
    pub execd: String,
    /// `inherited` or `new`.
    pub fork: String,
    /// `kept`, `reset`, `closed`, `replaced` or `changed`.
    pub exec: String,
}

/// The three processes' attributes and how the child ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Table {
    pub parent: Attrs,
    pub child: Attrs,
    pub execd: Attrs,
    pub kept_fd: i32,
    pub cloexec_fd: i32,
    /// The exec'd program, a zombie before the parent's wait: its state and exit_code.
    pub zombie_state: String,
    pub zombie_exit_code: i32,
    pub exit: Option<Exit>,
}

impl Table {
    /// Reads the parent and its forked child.
    pub fn read(owned: &Owned, child: Pid) -> Result<Table> {
        Ok(Table {
            parent: Attrs::read(owned.pid)?,
            child: Attrs::read(child.as_raw())?,
            kept_fd: owned.kept_fd(),
            cloexec_fd: owned.gone_fd(),
            ..Table::default()
        })
    }

    /// Reads the child again, now the exec'd program.
    pub fn read_execd(&mut self, child: Pid) -> Result<()> {
        self.execd = Attrs::read(child.as_raw())?;
        Ok(())
    }

    /// Waits for the exec'd program to end: reads its zombie's state and exit_code, then reaps
    /// it.
    pub fn finish(&mut self, child: Child) -> anyhow::Result<()> {
        if child.ended_within(PATIENCE)?.is_some()
            && let Ok(stat) = Process::new(child.pid().as_raw()).and_then(|p| p.stat())
        {
            self.zombie_state = format!(
                "{} ({})",
                stat.state,
                crate::proc::tasks::state_name(stat.state)
            );
            self.zombie_exit_code = stat.exit_code.unwrap_or(0);
        }
        self.exit = Some(child.wait()?);
        Ok(())
    }

    /// The exec'd program's command line.
    pub fn execd_command(&self) -> &str {
        &self.execd.cmdline
    }

    /// The rows, in the slides' order.
    pub fn rows(&self) -> Vec<Row> {
        let (p, c, e) = (&self.parent, &self.child, &self.execd);
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(" ")
            }
        };
        let ids = |v: &[i32]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                words::list(v.iter())
            }
        };
        let row = |name: &str, f: &dyn Fn(&Attrs) -> String, changed: &str| {
            let (a, b, x) = (f(p), f(c), f(e));
            Row {
                attribute: name.into(),
                fork: if a == b { "inherited" } else { "new" }.into(),
                exec: if b == x { "kept" } else { changed }.into(),
                parent: a,
                child: b,
                execd: x,
            }
        };
        let (kept, gone) = (self.kept_fd, self.cloexec_fd);
        vec![
            row("PID (pid)", &|a| a.pid.to_string(), "changed"),
            row("PPID (parent)", &|a| a.ppid.to_string(), "changed"),
            row("process group", &|a| a.pgrp.to_string(), "changed"),
            row("session", &|a| a.session.to_string(), "changed"),
            row("controlling terminal", &|a| a.tty.clone(), "changed"),
            row("CWD", &|a| a.cwd.clone(), "changed"),
            row("root directory", &|a| a.root.clone(), "changed"),
            row("real / effective UID", &|a| a.uid.clone(), "changed"),
            row("real / effective GID", &|a| a.gid.clone(), "changed"),
            row("umask", &|a| a.umask.clone(), "changed"),
            row("fd 0 (stdin)", &|a| short(&a.fd(0)), "changed"),
            row("fd 1 (stdout)", &|a| short(&a.fd(1)), "changed"),
            row("fd 2 (stderr)", &|a| short(&a.fd(2)), "changed"),
            row(
                &format!("fd {kept} (no O_CLOEXEC)"),
                &|a| a.fd(kept),
                "closed",
            ),
            row(&format!("fd {gone} (O_CLOEXEC)"), &|a| a.fd(gone), "closed"),
            row(
                "open descriptors (files)",
                &|a| a.fds.len().to_string(),
                "changed",
            ),
            row("SIGUSR1 (main: a handler)", &|a| a.sigusr1.clone(), "reset"),
            row("SIGUSR2 (main: SIG_IGN)", &|a| a.sigusr2.clone(), "reset"),
            row("handled signals (SigCgt)", &|a| list(&a.handled), "reset"),
            row("ignored signals (SigIgn)", &|a| list(&a.ignored), "changed"),
            row("blocked signals (SigBlk)", &|a| list(&a.blocked), "changed"),
            row("nice", &|a| a.nice.to_string(), "changed"),
            row("CPU affinity", &|a| a.affinity.clone(), "changed"),
            row(
                "RLIMIT_NOFILE soft / hard",
                &|a| a.nofile.clone(),
                "changed",
            ),
            row("RLIMIT_CORE soft / hard", &|a| a.core.clone(), "changed"),
            row("RLIMIT_STACK soft / hard", &|a| a.stack.clone(), "changed"),
            row("command line", &|a| a.cmdline.clone(), "replaced"),
            row("threads", &|a| a.threads.to_string(), "changed"),
            row("state (__state)", &|a| a.state.clone(), "changed"),
            row("prio", &|a| a.prio.to_string(), "changed"),
            row("on_cpu", &|a| a.on_cpu.clone(), "changed"),
            row("mm (VmSize, code at)", &|a| a.mm.clone(), "replaced"),
            row("exit_code", &|a| a.exit_code.to_string(), "changed"),
            row("children", &|a| ids(&a.children), "changed"),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// The thread that outlives main, for an instant.

/// Set by the spinning thread: its TID; and how far it has counted.
static SPIN_TID: AtomicI32 = AtomicI32::new(0);
static SPUN: AtomicU64 = AtomicU64::new(0);

/// `void *spin(void *arg) { for (;;) ; }`: counts forever (until its process ends).
pub fn spin() {
    SPIN_TID.store(nix::unistd::gettid().as_raw(), Relaxed);
    loop {
        SPUN.fetch_add(1, Relaxed);
    }
}

/// The child that starts a thread and returns from main, and the parent watching it.
pub struct ThreadWatch {
    hand: Handshake,
}

/// A thread of the watched child, as /proc showed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub tid: i32,
    pub comm: String,
    pub state: String,
}

/// What the parent saw of a process whose main returned while its thread spun.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ending {
    pub pid: i32,
    pub thread_tid: i32,
    /// /proc/PID/task before main returned.
    pub tasks_before: Vec<Task>,
    /// /proc/PID/task after the process ended, before the wait (the zombie's).
    pub tasks_after: Vec<i32>,
    /// /proc/TID existed after the process ended.
    pub thread_left: bool,
    /// /proc/PID existed after the wait.
    pub process_left: bool,
    pub exit: Option<Exit>,
}

fn tasks_of(pid: i32) -> Vec<Task> {
    let Ok(p) = Process::new(pid) else {
        return Vec::new();
    };
    let Ok(tasks) = p.tasks() else {
        return Vec::new();
    };
    let mut v: Vec<Task> = tasks
        .filter_map(|t| t.ok()?.stat().ok())
        .map(|s| Task {
            tid: s.pid,
            comm: s.comm.clone(),
            state: format!("{} ({})", s.state, crate::proc::tasks::state_name(s.state)),
        })
        .collect();
    v.sort_by_key(|t| t.tid);
    v
}

impl ThreadWatch {
    pub fn new() -> Result<ThreadWatch> {
        Ok(ThreadWatch {
            hand: Handshake::new()?,
        })
    }

    /// In the child, after pthread_create: waits for the thread to run, then tells the parent
    /// and waits for its go.
    pub fn started(&self, spawned: bool) {
        if spawned {
            while SPIN_TID.load(Relaxed) == 0 {
                std::hint::spin_loop();
            }
            while SPUN.load(Relaxed) == 0 {
                std::hint::spin_loop();
            }
        }
        self.hand.child_ready_then_wait();
    }

    /// In the parent: reads the child's tasks, lets its main return, and reads /proc again
    /// once it has ended (before and after the wait).
    pub fn observe(mut self, child: Child, out: Output) -> anyhow::Result<Ending> {
        let pid = child.pid().as_raw();
        self.hand.wait_ready(&child)?;
        let tasks_before = tasks_of(pid);
        let thread_tid = tasks_before
            .iter()
            .find(|t| t.tid != pid)
            .map_or(0, |t| t.tid);
        out.lecture(format_args!(
            "[child] PID = {pid}: {}",
            words::list(
                tasks_before
                    .iter()
                    .map(|t| format!("TID {} {} {}", t.tid, t.comm, t.state))
            )
        ));
        self.hand.go()?; // main returns now
        let mut ending = Ending {
            pid,
            thread_tid,
            tasks_before,
            ..Ending::default()
        };
        if child.ended_within(PATIENCE)?.is_some() {
            ending.tasks_after = tasks_of(pid).iter().map(|t| t.tid).collect();
            ending.thread_left =
                thread_tid != 0 && std::path::Path::new(&format!("/proc/{thread_tid}")).exists();
        }
        let exit = child.wait()?;
        ending.process_left = std::path::Path::new(&format!("/proc/{pid}")).exists();
        ending.exit = Some(exit);
        out.lecture(format_args!(
            "[parent] child {pid} {}; its thread {thread_tid}: {}",
            exit,
            if ending.thread_left {
                "still there"
            } else {
                "gone with it"
            }
        ));
        Ok(ending)
    }
}

impl Ending {
    /// The thread ran before main returned, and nothing of it was left once the process ended.
    fn thread_ended_with_process(&self) -> bool {
        self.thread_tid != 0
            && self.tasks_before.len() >= 2
            && !self.thread_left
            && !self.tasks_after.contains(&self.thread_tid)
            && !self.process_left
            && self.exit.is_some_and(|e| e.success())
    }

    fn thread_state(&self) -> String {
        self.tasks_before
            .iter()
            .find(|t| t.tid == self.thread_tid)
            .map_or("-".into(), |t| t.state.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The results.

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Results {
    pub table: Table,
    pub rows: Vec<Row>,
    pub ending: Ending,
    /// Where Ctrl-C cut the run short.
    pub stopped: Option<String>,
}

impl Results {
    /// The run's findings: the table, then (unless Ctrl-C came first) the thread's ending. An
    /// error after Ctrl-C (a wait cut short) leaves partial results, not an error.
    pub fn of(
        table: anyhow::Result<Table>,
        ending: impl FnOnce() -> anyhow::Result<Ending>,
    ) -> anyhow::Result<Results> {
        let stopped = |e: anyhow::Error| match interrupt::requested() {
            Some(_) => Ok(e.to_string()),
            None => Err(e),
        };
        let table = match table {
            Ok(t) => t,
            Err(e) => {
                return Ok(Results {
                    stopped: Some(stopped(e)?),
                    ..Results::default()
                });
            }
        };
        let mut r = Results {
            rows: table.rows(),
            table,
            ..Results::default()
        };
        if interrupt::requested().is_some() {
            r.stopped = Some("stopped before the thread's part".into());
            return Ok(r);
        }
        match ending() {
            Ok(e) => r.ending = e,
            Err(e) => r.stopped = Some(stopped(e)?),
        }
        Ok(r)
    }

    /// Each part of the claim: (held, what was seen).
    fn checks(&self) -> Vec<(bool, String)> {
        let t = &self.table;
        let (p, c, e) = (&t.parent, &t.child, &t.execd);
        let gone = t.cloexec_fd;
        let kept = t.kept_fd;
        vec![
            (
                c.pid != p.pid && c.ppid == p.pid && e.pid == c.pid,
                format!(
                    "the child got PID {} (the parent's is {}, its PPID), and kept it across exec ({})",
                    c.pid, p.pid, e.pid
                ),
            ),
            (
                p.cwd == c.cwd && c.cwd == e.cwd && p.umask == c.umask && c.umask == e.umask,
                format!("CWD {} and umask {} in all three", c.cwd, c.umask),
            ),
            (
                p.sigusr1 == "handled" && c.sigusr1 == "handled" && e.sigusr1 == "default",
                format!(
                    "SIGUSR1 {} / {} / {} (exec reset the handler)",
                    p.sigusr1, c.sigusr1, e.sigusr1
                ),
            ),
            (
                [&p.sigusr2, &c.sigusr2, &e.sigusr2]
                    .iter()
                    .all(|d| *d == "ignored"),
                format!(
                    "SIGUSR2 {} / {} / {} (ignored stays ignored)",
                    p.sigusr2, c.sigusr2, e.sigusr2
                ),
            ),
            (
                p.fd(gone) != "closed"
                    && c.fd(gone) != "closed"
                    && e.fd(gone) == "closed"
                    && e.fd(kept) != "closed",
                format!(
                    "fd {gone} (O_CLOEXEC) {} after exec, fd {kept} {}",
                    if e.fd(gone) == "closed" {
                        "closed"
                    } else {
                        "still open"
                    },
                    if e.fd(kept) == "closed" {
                        "closed too"
                    } else {
                        "kept"
                    }
                ),
            ),
            (
                self.ending.thread_ended_with_process(),
                format!(
                    "the child's thread {} ({} before main returned) {}",
                    self.ending.thread_tid,
                    self.ending.thread_state(),
                    if self.ending.thread_ended_with_process() {
                        "ended with its process"
                    } else {
                        "did not end with its process"
                    }
                ),
            ),
        ]
    }
}

const CLAIM: &str = "fork gives the child a new PID and a copy of the rest; exec keeps the process but resets handled signals to default, keeps ignored ones and closes O_CLOEXEC descriptors; ending a process ends all its threads";

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, _p: &Params) -> String {
        let inherited = self.rows.iter().filter(|r| r.fork == "inherited").count();
        let kept = self.rows.iter().filter(|r| r.exec == "kept").count();
        format!(
            "of {} attributes, fork passed on {inherited} and exec kept {kept}",
            self.rows.len()
        )
    }

    fn analysis(&self, _p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let t = &self.table;
        if self.rows.is_empty() {
            return Vec::new();
        }
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.attribute.clone(),
                    r.parent.clone(),
                    r.child.clone(),
                    r.execd.clone(),
                    r.fork.clone(),
                    r.exec.clone(),
                ]
            })
            .collect();
        let mut lines = vec![format!(
            "what each process owns, from /proc/{}, /proc/{} after fork and /proc/{} after exec:",
            t.parent.pid, t.child.pid, t.execd.pid
        )];
        let table = crate::kit::report::table(
            &["attribute", "parent", "child", "after exec", "fork", "exec"],
            &rows,
            false,
        );
        lines.extend(table.lines().map(|l| format!("  {l}")));
        if !t.zombie_state.is_empty() {
            lines.push(format!(
                "exit: the exec'd program returned {EXEC_EXIT}; before the parent's wait /proc/{}/stat showed state {} and exit_code {} ({EXEC_EXIT} << 8, the status wait() decodes)",
                t.execd.pid, t.zombie_state, t.zombie_exit_code
            ));
        }
        let e = &self.ending;
        if e.pid == 0 {
            return lines;
        }
        lines.push(format!(
            "threads: child {} had {} ({}); after main returned: /proc/{}/task held {}, /proc/{} {}, and after the wait /proc/{} {}",
            e.pid,
            words::count(e.tasks_before.len() as u64, "task"),
            words::list(e.tasks_before.iter().map(|t| format!("{} {}", t.tid, t.state))),
            e.pid,
            if e.tasks_after.is_empty() { "nothing".to_string() } else { words::list(e.tasks_after.iter()) },
            e.thread_tid,
            if e.thread_left { "still existed" } else { "was gone" },
            e.pid,
            if e.process_left { "still existed" } else { "was gone" },
        ));
        lines
    }

    fn verdict(&self, _p: &Params, _cx: &Context<'_>) -> Verdict {
        if let Some(why) = &self.stopped {
            return Verdict::unchecked(CLAIM, format!("the run was cut short: {why}"));
        }
        let checks = self.checks();
        let held = checks.iter().all(|(h, _)| *h);
        let because = if held {
            checks
                .iter()
                .map(|(_, s)| s.clone())
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            let failed: Vec<String> = checks
                .iter()
                .filter(|(h, _)| !h)
                .map(|(_, s)| s.clone())
                .collect();
            format!("not as claimed: {}", failed.join("; "))
        };
        Verdict::check(CLAIM, held, because)
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        if self.stopped.is_some() {
            return "fork copies what a process owns, exec replaces its program, and a process's exit ends its threads (the run stopped before it showed all of it)".into();
        }
        let inherited = self.rows.iter().filter(|r| r.fork == "inherited").count();
        let new: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.fork == "new")
            .map(|r| r.attribute.as_str())
            .collect();
        let reset: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.exec != "kept")
            .map(|r| r.attribute.as_str())
            .collect();
        format!(
            "a process is its task_struct and what it points to: fork copied {inherited} of the {} attributes read here and gave the child its own {}; exec replaced the program, not the process, and changed only {}; a thread is part of its process, so when main returned (exit_group) the spinning thread ended too",
            self.rows.len(),
            words::list(new),
            words::list(reset)
        )
    }

    fn compare(&self, _p: &Params) -> String {
        "cat /proc/$$/status; ls -l /proc/$$/fd; ps -o pid,ppid,pgid,sid,tty,ni,pri,psr,stat,comm -p $$".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        self.rows.clone()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some(if self.rows.is_empty() {
            "nothing read".into()
        } else if self.stopped.is_some() {
            "the table of attributes".into()
        } else {
            "the table and the thread".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pid: i32, ppid: i32, usr1: &str, fds: &[i32]) -> Attrs {
        Attrs {
            pid,
            ppid,
            cwd: "/work".into(),
            umask: "0027".into(),
            sigusr1: usr1.into(),
            sigusr2: "ignored".into(),
            fds: fds
                .iter()
                .map(|&fd| Fd {
                    fd,
                    target: "/dev/null".into(),
                    cloexec: fd == 4,
                })
                .collect(),
            ..Attrs::default()
        }
    }

    fn results() -> Results {
        let table = Table {
            parent: attrs(100, 1, "handled", &[0, 1, 2, 3, 4]),
            child: attrs(101, 100, "handled", &[0, 1, 2, 3, 4]),
            execd: attrs(101, 100, "default", &[0, 1, 2, 3]),
            kept_fd: 3,
            cloexec_fd: 4,
            zombie_state: "Z (zombie)".into(),
            zombie_exit_code: 1792,
            exit: Some(Exit::Code { code: 7 }),
        };
        let ending = Ending {
            pid: 200,
            thread_tid: 201,
            tasks_before: vec![
                Task {
                    tid: 200,
                    comm: "process_attrs".into(),
                    state: "S (sleeping)".into(),
                },
                Task {
                    tid: 201,
                    comm: "spin".into(),
                    state: "R (running)".into(),
                },
            ],
            tasks_after: vec![200],
            thread_left: false,
            process_left: false,
            exit: Some(Exit::Code { code: 0 }),
        };
        Results::of(Ok(table), || Ok(ending)).unwrap()
    }

    #[test]
    fn fork_and_exec_as_the_lecture_says_hold() {
        let r = results();
        let (v, lesson, lines) = crate::testing::judge(&r, &Params::new());
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(v.because.contains("the child got PID 101"), "{}", v.because);
        assert!(
            v.because.contains("fd 4 (O_CLOEXEC) closed after exec"),
            "{}",
            v.because
        );
        assert!(lesson.contains("PID (pid)"), "{lesson}");
        assert!(
            lines.iter().any(|l| l.contains("exit_code 1792")),
            "{lines:?}"
        );
        let pid = r.rows.iter().find(|r| r.attribute == "PID (pid)").unwrap();
        assert_eq!((pid.fork.as_str(), pid.exec.as_str()), ("new", "kept"));
        let usr1 = r
            .rows
            .iter()
            .find(|r| r.attribute.starts_with("SIGUSR1"))
            .unwrap();
        assert_eq!(usr1.exec, "reset");
        let gone = r
            .rows
            .iter()
            .find(|r| r.attribute == "fd 4 (O_CLOEXEC)")
            .unwrap();
        assert_eq!(
            (gone.fork.as_str(), gone.exec.as_str()),
            ("inherited", "closed")
        );
    }

    #[test]
    fn a_handler_kept_by_exec_or_a_thread_left_behind_does_not_hold() {
        let mut r = results();
        r.table.execd.sigusr1 = "handled".into();
        let (v, _, _) = crate::testing::judge(&r, &Params::new());
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("SIGUSR1 handled / handled / handled"),
            "{}",
            v.because
        );
        let mut r = results();
        r.ending.thread_left = true;
        let (v, _, _) = crate::testing::judge(&r, &Params::new());
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("did not end with its process"),
            "{}",
            v.because
        );
        let mut r = results();
        r.table.execd.fds.push(Fd {
            fd: 4,
            target: "/dev/null".into(),
            cloexec: true,
        });
        let (v, _, _) = crate::testing::judge(&r, &Params::new());
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("still open"), "{}", v.because);
    }

    #[test]
    fn a_run_cut_short_is_not_judged() {
        let mut r = results();
        r.stopped = Some("stopped by SIGINT while waiting for child 101".into());
        let (v, _, _) = crate::testing::judge(&r, &Params::new());
        assert_eq!(v.held, None, "{}", v.line());
        assert!(v.because.contains("cut short"), "{}", v.because);
        assert_eq!(
            r.progress(&Params::new()).unwrap(),
            "the table of attributes"
        );
    }

    #[test]
    fn terminals_and_signal_masks_read_as_people_write_them() {
        assert_eq!(tty_name(0, 0), "none");
        assert_eq!(tty_name(136, 3), "pts/3");
        assert_eq!(tty_name(4, 1), "tty1");
        assert_eq!(signal_names(1 << 9 | 1 << 11), ["SIGUSR1", "SIGUSR2"]);
        assert_eq!(disposition(Signal::SIGUSR1, 1 << 9, 0), "handled");
        assert_eq!(disposition(Signal::SIGUSR2, 0, 1 << 11), "ignored");
    }

    #[test]
    fn this_process_reads_back_what_it_set() {
        let a = Attrs::read(std::process::id() as i32).unwrap();
        assert_eq!(a.pid, std::process::id() as i32);
        assert!(!a.fd(0).is_empty() && a.cwd.starts_with('/'), "{a:?}");
    }
}
