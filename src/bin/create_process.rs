//! create_process: a parent creates one child, waits for it, and reads its exit code.
//!
//! What the lecture wants you to see: `fork()` returns twice, the child's PID in the parent and
//! 0 in the child; the child's PPID is the parent's PID; and the parent's `wait` collects the
//! number the child returned (42). `exec` then replaces the child's program while keeping its
//! PID, and `posix_spawn` does fork + exec in one call.
//!
//! The lecture's `fork.c` (mode `fork`), in outline; `fork_exec.c` (mode `exec`) runs
//! `execlp("ls", ...)` in the child instead of sleeping, and `posix_spawn.c` (mode `spawn`)
//! calls `posix_spawn(&pid, "/bin/ls", ...)` instead of fork:
//!
//! ```c
//! pid = fork();
//! if (pid == 0) {
//!     printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
//!     sleep(5);
//!     return 42;
//! }
//! printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
//! waitpid(pid, &exit_code, 0);
//! if (WIFEXITED(exit_code))
//!     printf("[parent] Child exited with code %d\n", WEXITSTATUS(exit_code));
//! ```

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Parser, ValueEnum};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, posix_spawnp};
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid};
use serde::Serialize;

use oslab::Error;
use oslab::forks::{self, Next, Receiver, Sender};
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::timing::fmt_ns;
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::{self, Child, ChildUsage, Exit, Forked};

/// Create a child process, wait for it, and read how it ended.
///
/// The lecture's fork.c (MODE fork: the child is a copy of this program; it prints its PID and
/// PPID, sleeps and returns 42), fork_exec.c (exec: the copy then runs COMMAND with execvp) and
/// posix_spawn.c (spawn: posix_spawn creates the child and loads COMMAND in one call). --message
/// is create_process.py's argument to the child, sent through a pipe.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: create_process --sleep 500 --message 'OS Rullz!'\n         create_process exec -- ls -l /proc/self/"
)]
struct Args {
    /// fork: fork.c; exec: fork_exec.c (fork, then execvp COMMAND); spawn: posix_spawn.c
    /// (posix_spawnp COMMAND)
    #[arg(value_enum, default_value_t = Mode::Fork)]
    mode: Mode,

    /// Text the parent sends the child through a pipe; the child prints `[child] Message from
    /// parent: TEXT`. With spawn, where no code of ours runs in the child, it is COMMAND's stdin
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,

    /// How long the forked child sleeps before it returns 42, in ms (mode fork; the lecture's
    /// sleep(5)) [0-60000]
    #[arg(long, default_value_t = 5000, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 60_000))]
    sleep: u64,

    /// The program exec and spawn run, after `--` (default: ls -la, as the lecture)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Fork,
    Exec,
    Spawn,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Fork => "fork",
            Mode::Exec => "exec",
            Mode::Spawn => "spawn",
        }
    }
}

/// The child's exit code in fork.c.
const CHILD_CODE: i32 = 42;
/// The exit code of a forked child whose exec failed, as a shell uses for "not found".
const EXEC_FAILED: i32 = 127;

#[derive(Debug, Serialize)]
struct Params {
    mode: Mode,
    command: Vec<String>,
    message: Option<String>,
    sleep_ms: u64,
    cpu: Option<String>,
}

/// The child, as the parent saw it: one CSV row.
#[derive(Debug, Serialize)]
struct Results {
    parent_pid: i32,
    child_pid: i32,
    /// How the child ended (None if Ctrl-C stopped the demo first).
    exit_code: Option<i32>,
    exit_signal: Option<i32>,
    /// The raw status word wait4 returned, which fork_exec.c prints as is.
    status_word: Option<i32>,
    /// From fork()/posix_spawn() returning in the parent to the child's end being seen.
    lifetime_ns: u64,
    /// The kernel's accounting of the child (wait4's rusage).
    usage: Option<ChildUsage>,
}

fn main() -> ExitCode {
    let (args, mut cmd) = oslab::kit::cli::parse::<Args>("create_process", |c| c);
    if args.mode == Mode::Fork && !args.command.is_empty() {
        oslab::kit::cli::usage_error(
            &mut cmd,
            "a COMMAND after -- is for the exec and spawn modes; fork runs this program's own code",
        );
    }
    oslab::kit::cli::finish(run(args))
}

fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    if args.command.is_empty() && args.mode != Mode::Fork {
        args.command = vec!["ls".into(), "-la".into()];
    }
    process::limits::check_can_create(1)?;
    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    let (child, started, exec_report) = match args.mode {
        Mode::Fork | Mode::Exec => fork_child(&args, out)?,
        Mode::Spawn => spawn_child(&args, out)?,
    };
    let child_pid = child.pid();

    let waited = process::wait_or_stop(child)?;
    let lifetime_ns = started.elapsed().as_nanos() as u64;
    // The exec report: the pipe's write end closed at exec (success) or the child sent errno.
    if let Some(mut report) = exec_report
        && let Next::Record(errno) = report.next(None)?
    {
        let errno = nix::errno::Errno::from_raw(errno.trim().parse().unwrap_or(0));
        return Err(anyhow!(Error::sys("execvp", errno))).with_context(|| {
            format!(
                "the child (PID {child_pid}) could not run {:?}; it exited with {EXEC_FAILED} and was reaped",
                args.command.join(" ")
            )
        });
    }
    let (exit, usage, stopped) = match waited {
        process::Waited::Ended { exit, usage } => (Some(exit), Some(usage), None),
        process::Waited::Stopped(signal) => (None, None, Some(signal)),
    };
    // A Ctrl-C that also reached the child may have ended it first: still a stop.
    let stopped = stopped.or(interrupt::requested());
    match exit {
        // if (WIFEXITED(exit_code)) printf("[parent] Child exited with code %d\n", WEXITSTATUS(exit_code));
        Some(Exit::Code { code }) => {
            out.lecture(format_args!("[parent] Child exited with code {code}"))
        }
        Some(killed) => out.lecture(format_args!("[parent] Child {killed}")),
        None => eprintln!(
            "create_process: stopped by {}; the child was killed and reaped; results are partial",
            stopped.map_or("a signal", |s| s.as_str())
        ),
    }
    if let (Some(_), Some(signal)) = (exit, stopped) {
        eprintln!("create_process: stopped by {signal}; results are partial");
    }
    let counters = before.delta(&Snapshot::of_self()?);
    let results = Results {
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
    };
    let lesson = match args.mode {
        Mode::Fork => {
            "fork() returns twice: the child's PID in the parent, 0 in the child; the parent's wait collects the code the child returned"
        }
        Mode::Exec => {
            "exec replaces the program a process runs, not the process: same PID, same parent; fork + exec is how a shell runs a command"
        }
        Mode::Spawn => {
            "posix_spawn creates the child and loads the program in one call, without copying the parent first (glibc uses clone with CLONE_VM|CLONE_VFORK)"
        }
    };
    analyse(&out, &args, &results, exit, lesson, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "create_process",
        schema_version: SCHEMA_VERSION,
        params: Params {
            mode: args.mode,
            command: args.command.clone(),
            message: args.message.clone(),
            sleep_ms: args.sleep,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: format!(
            "{} mode: child {} {}",
            args.mode.name(),
            results.child_pid,
            exit.map_or("stopped".to_string(), |e| e.to_string())
        ),
        lesson: lesson.into(),
        partial: stopped.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, std::slice::from_ref(&report.results))?;
    Ok(interrupt::exit_status(stopped))
}

/// fork.c and fork_exec.c: fork, and in the child either sleep and return 42, or exec COMMAND.
/// Returns the child, when fork returned, and (exec) the pipe on which the child reports a
/// failed exec.
fn fork_child(
    args: &Args,
    out: Output,
) -> anyhow::Result<(Child, std::time::Instant, Option<Receiver>)> {
    let message = args.message.as_ref().map(|_| forks::pipe()).transpose()?;
    // Close-on-exec: a successful exec closes the child's write end, a failed one sends errno.
    let exec_report = (args.mode == Mode::Exec).then(forks::pipe).transpose()?;
    let argv = c_strings(&args.command)?;
    let single = SingleThreaded::check()?;
    // pid = fork();
    let child = match process::fork(&single)? {
        Forked::Child => process::run_child(|| {
            let (message, exec_report) =
                (message.map(|(rx, _tx)| rx), exec_report.map(|(_rx, tx)| tx));
            // printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
            out.lecture(format_args!(
                "[child] PID = {}; PPID = {}",
                getpid(),
                getppid()
            ));
            if let Some(rx) = message {
                let text = rx.read_to_end().unwrap_or_default();
                out.lecture(format_args!("[child] Message from parent: {text}"));
            }
            match exec_report {
                Some(report) => exec(&argv, &args.command, out, &report),
                None => {
                    // sleep(5); return 42;
                    match forks::sleep_unless_stopped(Duration::from_millis(args.sleep)) {
                        Some(_) => 130,
                        None => CHILD_CODE,
                    }
                }
            }
        }),
        Forked::Parent(child) => child,
    };
    let started = std::time::Instant::now();
    // printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
    out.lecture(format_args!(
        "[parent] PID = {}; child PID = {}; Waiting...",
        getpid(),
        child.pid()
    ));
    if let (Some((_rx, tx)), Some(text)) = (message, &args.message) {
        tx.write_all_and_close(text.as_bytes())?;
    }
    Ok((child, started, exec_report.map(|(rx, _tx)| rx)))
}

/// The forked child of fork_exec.c: `execlp("ls", ...)`. Returns only if exec failed, after
/// sending errno to the parent.
fn exec(argv: &[CString], command: &[String], out: Output, report: &Sender) -> i32 {
    out.lecture(format_args!("[child] Executing `{}`...", command.join(" ")));
    if !out.is_text() {
        // Keep stdout one JSON/CSV document: the command writes to our stderr instead.
        let _ = nix::unistd::dup2_stdout(std::io::stderr());
    }
    let Err(errno) = nix::unistd::execvp(&argv[0], argv);
    let _ = report.send(&(errno as i32).to_string());
    EXEC_FAILED
}

/// posix_spawn.c: `posix_spawn(&pid, "/bin/ls", NULL, NULL, argv, environ)`. The child runs no
/// code of ours, so what it should start with is declared as file actions.
fn spawn_child(
    args: &Args,
    out: Output,
) -> anyhow::Result<(Child, std::time::Instant, Option<Receiver>)> {
    let argv = c_strings(&args.command)?;
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let message = args.message.as_ref().map(|_| forks::pipe()).transpose()?;
    let mut actions = PosixSpawnFileActions::init()
        .map_err(|e| Error::sys("posix_spawn_file_actions_init", e))?;
    if let Some((rx, _)) = &message {
        // The message is the command's stdin: dup2(pipe, 0) in the child.
        actions
            .add_dup2(rx.as_fd().as_raw_fd(), 0)
            .map_err(|e| Error::sys("posix_spawn_file_actions_adddup2", e))?;
    }
    if !out.is_text() {
        // Keep stdout one JSON/CSV document: the command writes to our stderr instead.
        actions
            .add_dup2(2, 1)
            .map_err(|e| Error::sys("posix_spawn_file_actions_adddup2", e))?;
    }
    let attr = PosixSpawnAttr::init().map_err(|e| Error::sys("posix_spawnattr_init", e))?;
    let pid = posix_spawnp(&argv[0], &actions, &attr, &argv, &env)
        .map_err(|e| Error::sys("posix_spawnp", e))
        .with_context(|| format!("could not spawn {:?}", args.command.join(" ")))?;
    let child = Child::adopt(pid);
    let started = std::time::Instant::now();
    out.lecture(format_args!(
        "[parent] PID = {}; child PID = {}; Waiting...",
        getpid(),
        pid
    ));
    if let (Some((rx, tx)), Some(text)) = (message, &args.message) {
        drop(rx);
        // A command that does not read its stdin closes the pipe: EPIPE is not our error.
        match tx.write_all_and_close(text.as_bytes()) {
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    Ok((child, started, None))
}

fn c_strings(words: &[String]) -> anyhow::Result<Vec<CString>> {
    words
        .iter()
        .map(|w| CString::new(w.as_bytes()).with_context(|| format!("{w:?} contains a NUL byte")))
        .collect()
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

fn analyse(
    out: &Output,
    args: &Args,
    r: &Results,
    exit: Option<Exit>,
    lesson: &str,
    system: &Machine,
) {
    let Some(exit) = exit else { return };
    let decoded = match exit {
        Exit::Code { code } => format!("WIFEXITED, WEXITSTATUS = {code}"),
        Exit::Signal { signal, .. } => format!(
            "WIFSIGNALED, WTERMSIG = {signal} ({})",
            Signal::try_from(signal).map_or("?", |s| s.as_str())
        ),
    };
    out.analysis(format_args!(
        "status: wait4 returned the status word {:#06x}: {decoded}{}",
        status_word(exit),
        if args.mode == Mode::Exec {
            " (fork_exec.c prints the whole word; this line decodes it)"
        } else {
            ""
        }
    ));
    let how = match args.mode {
        Mode::Fork => "a copy of this program: it ran our code from the fork() call on".to_string(),
        Mode::Exec => format!(
            "a copy of this program until execvp replaced it with {:?}: same PID, same parent",
            args.command.join(" ")
        ),
        Mode::Spawn => format!(
            "made by posix_spawnp and started as {:?}; no code of ours ran in it",
            args.command.join(" ")
        ),
    };
    out.analysis(format_args!(
        "child: PID {}, parent PID {}; {how}",
        r.child_pid, r.parent_pid
    ));
    if let Some(u) = &r.usage {
        out.analysis(format_args!(
            "its resources (wait4's rusage): {} user + {} system CPU, {} minor faults, {} voluntary context switches; alive {} as the parent saw it",
            fmt_ns(u.utime_us as f64 * 1e3),
            fmt_ns(u.stime_us as f64 * 1e3),
            u.minflt,
            u.voluntary_cs,
            fmt_ns(r.lifetime_ns as f64)
        ));
    }
    out.analysis(format_args!("lesson: {lesson}"));
    let mode = match args.mode {
        Mode::Fork => "fork --sleep 100",
        other => other.name(),
    };
    out.analysis(format_args!(
        "compare: strace -f -e trace=clone,clone3,execve,wait4 create_process {mode}   (what each mode asks the kernel for)"
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
