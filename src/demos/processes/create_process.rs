//! `create_process`'s lab bench: what the parent does around the lecture's fork, exec and
//! posix_spawn.
//!
//! A forked child tells its parent who it is (its PID and PPID, as it printed them) and, if its
//! exec failed, the errno, on the one [`channel`]; the channel is close-on-exec, so a successful
//! exec closes it. A spawned child runs no code of ours: its PPID is read from
//! `/proc/PID/stat` before it is reaped. The parent's wait can be cut short by Ctrl-C, which
//! kills and reaps the child. The analysis decodes the status word and the child's rusage.

use std::ffi::CString;
use std::io::{PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::ValueEnum;
use nix::errno::Errno;
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions};
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::kit::report::Output;
use crate::kit::timing::fmt_ns;
use crate::kit::{Context, Findings, Session, Verdict, words};
use crate::proc::tree;
use crate::process::channel::{Next, Receiver, Sender, channel};
use crate::process::{self, Child, ChildUsage, Exit, SingleThreaded, Waited};

/// The `--help` examples.
pub const EXAMPLES: &str = "Example: create_process --sleep 500
         create_process fork --message 'OS Rullz!'
         create_process exec -- ls -l /proc/self/";

/// The child's exit code in fork.c.
pub const CHILD_CODE: i32 = 42;
/// The exit code of a forked child whose exec failed, as a shell uses for "not found".
pub const EXEC_FAILED: i32 = 127;

/// Which of the lecture's programs runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// create_process.py: `multiprocessing.Process(target=proc, args=("OS Rullz!",))`.
    Python,
    Fork,
    Exec,
    Spawn,
}

impl Mode {
    /// `fork`, `exec` or `spawn`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Python => "python",
            Mode::Fork => "fork",
            Mode::Exec => "exec",
            Mode::Spawn => "spawn",
        }
    }
}

impl Mode {
    /// True for exec and spawn, whose child runs COMMAND; python and fork run our own code.
    pub fn runs_command(self) -> bool {
        matches!(self, Mode::Exec | Mode::Spawn)
    }
}

/// The program exec and spawn run: COMMAND, or the lecture's `ls -la`; none for fork.
fn command(mode: Mode, command: &[String]) -> Vec<String> {
    if command.is_empty() && mode.runs_command() {
        vec!["ls".into(), "-la".into()]
    } else {
        command.to_vec()
    }
}

/// A usage error (exit 2) for a COMMAND given to fork, which runs this program's own code.
pub fn check_command(
    cli: &mut clap::Command,
    mode: Mode,
    command: &[String],
    sleep: Option<Duration>,
) {
    if !mode.runs_command() && !command.is_empty() {
        crate::kit::cli::usage_error(
            cli,
            format!(
                "a COMMAND after -- is for the exec and spawn modes; {} runs this program's own code",
                mode.name()
            ),
        );
    }
    if mode.runs_command() && sleep.is_some() {
        crate::kit::cli::usage_error(
            cli,
            format!(
                "--sleep is for modes python and fork only: in {} mode the child runs COMMAND, which does not sleep",
                mode.name()
            ),
        );
    }
}

/// The forked child's sleep before it returns, in whole ms: `--sleep`, or the lecture's
/// `sleep(5)`.
pub fn sleep_ms(sleep: Option<Duration>) -> u64 {
    sleep.map_or(SLEEP_MS, |d| {
        crate::kit::cli::whole(d, crate::kit::cli::Unit::Ms)
    })
}

/// The forked child's sleep, as a duration (whole ms, as reported).
pub fn sleep(sleep: Option<Duration>) -> Duration {
    Duration::from_millis(sleep_ms(sleep))
}

/// The lecture's `sleep(5)`, in ms.
pub const SLEEP_MS: u64 = 5000;

/// The message create_process.py gives its child: `args=("OS Rullz!",)`.
pub const PY_MESSAGE: &str = "OS Rullz!";

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub mode: Mode,
    pub command: Vec<String>,
    pub message: Option<String>,
    pub sleep_ms: u64,
}

impl Params {
    /// The parameters, COMMAND defaulting to the lecture's `ls -la` in exec and spawn mode, the
    /// message to create_process.py's "OS Rullz!" in python mode.
    pub fn new(
        mode: Mode,
        cmd: &[String],
        message: &Option<String>,
        sleep: Option<Duration>,
    ) -> Params {
        let message = match (mode, message) {
            (Mode::Python, None) => Some(PY_MESSAGE.to_string()),
            (_, m) => m.clone(),
        };
        Params {
            mode,
            command: command(mode, cmd),
            message,
            sleep_ms: sleep_ms(sleep),
        }
    }
}

/// What a forked child tells its parent.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildReport {
    /// Who it is, as its `[child]` line says: getpid() and getppid().
    Ids { pid: i32, ppid: i32 },
    /// Its execvp failed with this errno.
    ExecFailed { errno: i32 },
}

/// What the parent has before it creates the child.
pub struct Lab {
    pub out: Output,
    pub single: SingleThreaded,
    /// The program exec and spawn run.
    pub command: Vec<String>,
    mode: Mode,
    /// `--message`.
    text: Option<String>,
    reports: Receiver<ChildReport>,
    sender: Sender<ChildReport>,
}

/// Sets up the run: the child may be forked (this process has one thread) and can report.
pub fn lab(s: &Session, p: &Params) -> anyhow::Result<Lab> {
    process::limits::check_can_create(1)?;
    let (reports, sender) = channel()?;
    Ok(Lab {
        out: s.out,
        single: SingleThreaded::check()?,
        command: p.command.clone(),
        mode: p.mode,
        text: p.message.clone(),
        reports,
        sender,
    })
}

impl Lab {
    /// In the forked child: tells the parent the PID and PPID its line printed.
    pub fn child_says(&self, pid: Pid, ppid: Pid) {
        let _ = self.sender.send(&ChildReport::Ids {
            pid: pid.as_raw(),
            ppid: ppid.as_raw(),
        });
    }

    /// In the forked child, just before exec: in JSON or CSV mode the command writes to our
    /// stderr, so that stdout stays one document.
    pub fn keep_stdout_one_document(&self) {
        if !self.out.is_text() {
            let _ = nix::unistd::dup2_stdout(std::io::stderr());
        }
    }

    /// In the forked child whose execvp failed: tells the parent why, and gives the code to
    /// exit with (127).
    pub fn exec_failed(&self, errno: Errno) -> i32 {
        let _ = self.sender.send(&ChildReport::ExecFailed {
            errno: errno as i32,
        });
        EXEC_FAILED
    }

    /// What the spawned child starts with: posix_spawn's file actions (the pipe of `--message`
    /// as its standard input; in JSON or CSV mode our stderr as its stdout, so that stdout stays
    /// one document) and attributes (none).
    pub fn spawn_attributes(
        &self,
        message: Option<&MessagePipe>,
    ) -> anyhow::Result<(PosixSpawnFileActions, PosixSpawnAttr)> {
        let dup2 = |e| Error::sys("posix_spawn_file_actions_adddup2", e);
        let mut actions = PosixSpawnFileActions::init()
            .map_err(|e| Error::sys("posix_spawn_file_actions_init", e))?;
        if let Some((reader, _)) = message {
            actions.add_dup2(reader.as_raw_fd(), 0).map_err(dup2)?;
        }
        if !self.out.is_text() {
            actions.add_dup2(2, 1).map_err(dup2)?;
        }
        let attr = PosixSpawnAttr::init().map_err(|e| Error::sys("posix_spawnattr_init", e))?;
        Ok((actions, attr))
    }

    /// The pipe the message goes through, when there is one (python mode always has one).
    pub fn message_pipe(&self) -> anyhow::Result<Option<MessagePipe>> {
        message_pipe(&self.text)
    }

    /// In the parent, once fork or posix_spawn has returned: the child, to be waited for, and
    /// the message for it (our copy of the pipe's reading end is closed: the child has its own).
    pub fn started(self, child: Child, message: Option<MessagePipe>) -> Started {
        Started {
            out: self.out,
            at: Instant::now(),
            child,
            mode: self.mode,
            command: self.command,
            reports: self.reports,
            message: message.map(|(_reader, writer)| writer),
            text: self.text,
        }
    }
}

/// `argv` for exec or posix_spawn.
pub fn c_strings(words: &[String]) -> anyhow::Result<Vec<CString>> {
    words
        .iter()
        .map(|w| CString::new(w.as_bytes()).with_context(|| format!("{w:?} contains a NUL byte")))
        .collect()
}

/// The pipe `--message` goes through, as create_process.py passes `args` to its child: the
/// reading end (the child's) and the writing end (the parent's).
pub type MessagePipe = (PipeReader, PipeWriter);

/// The pipe for `--message`, if there is one.
pub fn message_pipe(message: &Option<String>) -> anyhow::Result<Option<MessagePipe>> {
    Ok(match message {
        Some(_) => Some(std::io::pipe().context("could not make the message's pipe")?),
        None => None,
    })
}

/// In the forked child: the message, read to the end of the pipe (None without `--message`).
/// Our copy of the writing end is closed first, or the end would never come.
pub fn read_message(message: Option<MessagePipe>) -> Option<String> {
    let (mut reader, writer) = message?;
    drop(writer);
    let mut text = String::new();
    let _ = reader.read_to_string(&mut text);
    Some(text)
}

/// A child the parent has created.
pub struct Started {
    pub out: Output,
    at: Instant,
    child: Child,
    mode: Mode,
    command: Vec<String>,
    reports: Receiver<ChildReport>,
    /// `--message`, to be written and closed.
    message: Option<PipeWriter>,
    text: Option<String>,
}

impl Started {
    /// Its PID, what fork() or posix_spawn() gave the parent.
    pub fn pid(&self) -> Pid {
        self.child.pid()
    }

    /// Sends `--message` through the pipe, then `waitpid(pid, &exit_code, 0)`, unless Ctrl-C or
    /// SIGTERM comes first (then the child is killed and reaped); and what the child reported.
    /// A failed exec is an error.
    pub fn wait(mut self) -> anyhow::Result<Results> {
        let child_pid = self.child.pid();
        if let (Some(mut pipe), Some(text)) = (self.message.take(), &self.text) {
            // A child that does not read it (a command that ignores its stdin) closes the pipe:
            // EPIPE is not our error.
            match pipe.write_all(text.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("could not send the message to the child")?,
            }
        }
        // A spawned child runs none of our code: its PPID as the kernel keeps it, read while
        // it runs or, ended, waits as a zombie for us to reap it.
        let mut child_ppid = match self.mode {
            Mode::Spawn => tree::proc_info(child_pid).map(|p| p.ppid),
            _ => None,
        };
        let waited = process::wait_or_stop(self.child)?;
        let lifetime_ns = self.at.elapsed().as_nanos() as u64;
        while let Next::Message(report) = self.reports.next(Some(Duration::from_secs(1)))? {
            match report {
                ChildReport::Ids { ppid, .. } => child_ppid = Some(ppid),
                ChildReport::ExecFailed { errno } => {
                    return Err(anyhow!(Error::sys("execvp", Errno::from_raw(errno))))
                        .with_context(|| {
                            format!(
                                "the child (PID {child_pid}) could not run {:?}; it exited with {EXEC_FAILED} and was reaped",
                                self.command.join(" ")
                            )
                        });
                }
            }
        }
        let (exit, usage) = match waited {
            Waited::Ended { exit, usage } => (Some(exit), Some(usage)),
            Waited::Stopped(_) => (None, None),
        };
        Ok(Results {
            child: Row {
                parent_pid: getpid().as_raw(),
                child_pid: child_pid.as_raw(),
                exit_code: exit.and_then(Exit::code),
                exit_signal: match exit {
                    Some(Exit::Signal { signal, .. }) => Some(signal),
                    _ => None,
                },
                status_word: exit.map(status_word),
                lifetime_ns,
                usage,
            },
            child_ppid,
        })
    }
}

/// How a child ended, after "it": `exited with code 0`, `was killed by signal 9 (SIGKILL)`.
fn ended(exit: Exit) -> String {
    match exit {
        Exit::Code { .. } => exit.to_string(),
        Exit::Signal { .. } => format!("was {exit}"),
    }
}

/// The status word wait4 returned: the exit code in bits 8-15, or the signal in bits 0-6 (and
/// 0x80 for a core dump).
fn status_word(exit: Exit) -> i32 {
    match exit {
        Exit::Code { code } => (code & 0xff) << 8,
        Exit::Signal {
            signal,
            core_dumped,
        } => signal | if core_dumped { 0x80 } else { 0 },
    }
}

/// The child, as the parent saw it: the CSV row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub parent_pid: i32,
    pub child_pid: i32,
    /// How the child ended (None if Ctrl-C stopped the demo first).
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// The raw status word wait4 returned, which fork_exec.c prints as is.
    pub status_word: Option<i32>,
    /// From fork()/posix_spawn() returning in the parent to the child's end being seen.
    pub lifetime_ns: u64,
    /// The kernel's accounting of the child (wait4's rusage).
    pub usage: Option<ChildUsage>,
}

/// The run's results: the row's fields, and the child's PPID.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    #[serde(flatten)]
    pub child: Row,
    /// The child's parent: as the child printed it (getppid) in fork and exec mode, from
    /// /proc/PID/stat in spawn mode (None: not known).
    pub child_ppid: Option<i32>,
}

impl Results {
    /// How the child ended, if the parent saw it end.
    pub fn exit(&self) -> Option<Exit> {
        match (self.child.exit_code, self.child.exit_signal) {
            (Some(code), _) => Some(Exit::Code { code }),
            (_, Some(signal)) => Some(Exit::Signal {
                signal,
                core_dumped: self.child.status_word.is_some_and(|w| w & 0x80 != 0),
            }),
            _ => None,
        }
    }

    /// `the child's PPID was 7001, the parent's PID` or why not.
    fn parentage(&self) -> (bool, String) {
        let parent = self.child.parent_pid;
        match self.child_ppid {
            Some(ppid) if ppid == parent => (
                true,
                format!("the child's PPID was {ppid}, the parent's PID"),
            ),
            Some(ppid) => (
                false,
                format!("the child's PPID was {ppid}, not the parent's PID {parent}"),
            ),
            None => (false, "the child's PPID was never seen".to_string()),
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, p: &Params) -> String {
        format!(
            "{} mode: child {} {}",
            p.mode.name(),
            self.child.child_pid,
            self.exit().map_or("stopped".to_string(), |e| e.to_string())
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let Some(exit) = self.exit() else {
            return Vec::new();
        };
        let decoded = match exit {
            Exit::Code { code } => format!("WIFEXITED, WEXITSTATUS = {code}"),
            Exit::Signal { signal, .. } => format!(
                "WIFSIGNALED, WTERMSIG = {signal} ({})",
                Signal::try_from(signal).map_or("?", |s| s.as_str())
            ),
        };
        let mut lines = vec![format!(
            "status: wait4 returned the status word {:#06x}: {decoded}{}",
            status_word(exit),
            if p.mode == Mode::Exec {
                " (fork_exec.c prints the whole word; this line decodes it)"
            } else {
                ""
            }
        )];
        let how = match p.mode {
            Mode::Python => "a copy of this program, as Process.start() makes one with fork: it ran proc(msg), the message coming through a pipe as start() sends a child its args".to_string(),
            Mode::Fork => {
                "a copy of this program: it ran our code from the fork() call on".to_string()
            }
            Mode::Exec => format!(
                "a copy of this program until execvp replaced it with {:?}: same PID, same parent",
                p.command.join(" ")
            ),
            Mode::Spawn => format!(
                "made by posix_spawnp and started as {:?}; no code of ours ran in it",
                p.command.join(" ")
            ),
        };
        lines.push(format!(
            "child: PID {}, parent PID {}; {how}",
            self.child.child_pid, self.child.parent_pid
        ));
        if let Some(u) = &self.child.usage {
            lines.push(format!(
                "its resources (wait4's rusage): {} user + {} system CPU, {}, {}; alive {} as the parent saw it",
                fmt_ns(u.utime_us as f64 * 1e3),
                fmt_ns(u.stime_us as f64 * 1e3),
                words::count(u.minflt, "minor fault"),
                words::count(u.voluntary_cs, "voluntary context switch"),
                fmt_ns(self.child.lifetime_ns as f64)
            ));
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = match p.mode {
            Mode::Python => {
                "Process.start() creates a new process: its PID exists only after start(), its PPID is the parent's PID, and join() waits for it to end"
            }
            Mode::Fork => {
                "fork() makes a child whose PPID is the parent's PID, and the parent's wait reads the code it returned (42)"
            }
            Mode::Exec => {
                "exec replaces the child's program, not the child, so its parent still reads how it ended"
            }
            Mode::Spawn => {
                "posix_spawn makes a child whose PPID is the parent's PID, and the parent's wait reads how it ended"
            }
        };
        let Some(exit) = self.exit() else {
            return Verdict::unchecked(
                claim,
                "stopped before the child ended: it was killed and reaped",
            );
        };
        let (parentage, mut because) = self.parentage();
        let ended = match (p.mode, exit) {
            (Mode::Python, Exit::Code { code: 0 }) => {
                because.push_str(&format!(
                    "; PID {} came back from start(), and join() returned when it exited with code 0",
                    self.child.child_pid
                ));
                true
            }
            (Mode::Python, other) => {
                because.push_str(&format!(
                    "; but the child {}, not with code 0 as proc() returning gives",
                    ended(other)
                ));
                false
            }
            (Mode::Fork, Exit::Code { code: CHILD_CODE }) => {
                because.push_str(&format!("; the parent's wait4 read exit code {CHILD_CODE}"));
                true
            }
            (Mode::Fork, Exit::Code { code: 130 }) => {
                because.push_str(
                    "; but the child exited with 130, not 42: Ctrl-C or SIGTERM cut its sleep short",
                );
                false
            }
            (Mode::Fork, other) => {
                because.push_str(&format!(
                    "; but the child {}, not with code 42",
                    ended(other)
                ));
                false
            }
            (Mode::Exec, exit) => {
                because = format!("before execvp {because}");
                because.push_str(&format!(
                    "; after it ran {:?}, the parent's wait4 reaped the same PID {}: it {}",
                    p.command.join(" "),
                    self.child.child_pid,
                    ended(exit)
                ));
                true
            }
            (Mode::Spawn, exit) => {
                because.push_str(&format!(
                    "; the parent's wait4 read that it {}",
                    ended(exit)
                ));
                true
            }
        };
        Verdict::check(claim, parentage && ended, because)
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let (child, parent) = (self.child.child_pid, self.child.parent_pid);
        let ended = self
            .exit()
            .map_or("was killed when the demo was stopped".to_string(), ended);
        match p.mode {
            Mode::Python => format!(
                "a process is a running program with a PID of its own: before start() there was only a Process object (pid None), after it PID {child}, a child of PID {parent} that ran proc() on its own copy of the program; multiprocessing makes it with fork() (from Python 3.14, it forks it from a fork server) and join() waits for it as waitpid() does (here it {ended})"
            ),
            Mode::Fork => format!(
                "fork() returns twice: the child's PID ({child}) in the parent, 0 in the child, which runs the same program from that call on; the parent's wait collects how the child ended (here it {ended})"
            ),
            Mode::Exec => format!(
                "exec replaces the program a process runs, not the process: PID {child} began as a copy of this program and became {:?}, with the same parent ({parent}), which saw it end ({ended}); fork + exec is how a shell runs a command",
                p.command.join(" ")
            ),
            Mode::Spawn => format!(
                "posix_spawn created PID {child} and loaded {:?} in one call, without copying the parent first (glibc uses clone with CLONE_VM|CLONE_VFORK); the parent still waits for it as for a forked child (here it {ended})",
                p.command.join(" ")
            ),
        }
    }

    fn compare(&self, p: &Params) -> String {
        let mode = match p.mode {
            Mode::Python | Mode::Fork => format!("{} --sleep 100", p.mode.name()),
            other => other.name().to_string(),
        };
        format!(
            "strace -f -e trace=clone,clone3,execve,wait4 create_process {mode}   (what each mode asks the kernel for)"
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        vec![self.child.clone()]
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some(match self.exit() {
            Some(exit) => format!("the child {exit}"),
            None => format!(
                "{} of the child's life; it was killed and reaped",
                fmt_ns(self.child.lifetime_ns as f64)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(exit_code: Option<i32>, exit_signal: Option<i32>, ppid: Option<i32>) -> Results {
        let status_word = match (exit_code, exit_signal) {
            (Some(c), _) => Some(c << 8),
            (_, Some(s)) => Some(s),
            _ => None,
        };
        Results {
            child: Row {
                parent_pid: 7001,
                child_pid: 7002,
                exit_code,
                exit_signal,
                status_word,
                lifetime_ns: 5_000_000,
                usage: Some(ChildUsage {
                    minflt: 33,
                    voluntary_cs: 1,
                    ..ChildUsage::default()
                }),
            },
            child_ppid: ppid,
        }
    }

    fn params(mode: Mode) -> Params {
        Params {
            mode,
            command: command(mode, &[]),
            message: None,
            sleep_ms: 5000,
        }
    }

    fn cx(stopped: Option<Signal>) -> Context<'static> {
        crate::testing::context_on(crate::testing::machine(), stopped)
    }

    fn verdict(r: &Results, mode: Mode) -> Verdict {
        r.verdict(&params(mode), &cx(None))
    }

    #[test]
    fn fork_holds_with_42_from_a_child_of_ours_and_not_otherwise() {
        let v = verdict(&results(Some(42), None, Some(7001)), Mode::Fork);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "the child's PPID was 7001, the parent's PID; the parent's wait4 read exit code 42"
        );
        let v = verdict(&results(Some(130), None, Some(7001)), Mode::Fork);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("cut its sleep short"), "{}", v.because);
        let v = verdict(&results(Some(42), None, Some(1)), Mode::Fork);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .starts_with("the child's PPID was 1, not the parent's PID 7001")
        );
        let v = verdict(&results(None, None, Some(7001)), Mode::Fork);
        assert_eq!(v.held, None, "{v:?}");
    }

    #[test]
    fn python_holds_when_join_reads_0_from_a_child_of_ours() {
        let v = verdict(&results(Some(0), None, Some(7001)), Mode::Python);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because.ends_with(
                "PID 7002 came back from start(), and join() returned when it exited with code 0"
            ),
            "{}",
            v.because
        );
        let v = verdict(&results(Some(130), None, Some(7001)), Mode::Python);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("exited with code 130, not with code 0"),
            "{}",
            v.because
        );
        let v = verdict(&results(Some(0), None, Some(1)), Mode::Python);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(params(Mode::Python).message, None);
        let p = Params::new(Mode::Python, &[], &None, None);
        assert_eq!(p.message.as_deref(), Some("OS Rullz!"));
        assert!(p.command.is_empty());
    }

    #[test]
    fn exec_and_spawn_hold_whatever_the_command_returned() {
        let v = verdict(&results(None, Some(9), Some(7001)), Mode::Exec);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "before execvp the child's PPID was 7001, the parent's PID; after it ran \"ls -la\", the parent's wait4 reaped the same PID 7002: it was killed by signal 9 (SIGKILL)"
        );
        let v = verdict(&results(Some(0), None, Some(1)), Mode::Exec);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .starts_with("before execvp the child's PPID was 1, not the parent's PID 7001")
        );
        let v = verdict(&results(Some(0), None, Some(7001)), Mode::Spawn);
        assert_eq!(v.held, Some(true), "{v:?}");
        let v = verdict(&results(Some(0), None, None), Mode::Spawn);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.starts_with("the child's PPID was never seen"));
    }

    #[test]
    fn the_analysis_decodes_the_status_and_counts_in_words() {
        let lines = results(Some(42), None, Some(7001)).analysis(&params(Mode::Fork), &cx(None));
        assert_eq!(
            lines[0],
            "status: wait4 returned the status word 0x2a00: WIFEXITED, WEXITSTATUS = 42"
        );
        assert!(
            lines[2].contains("33 minor faults, 1 voluntary context switch; alive 5.00 ms"),
            "{}",
            lines[2]
        );
    }
}
