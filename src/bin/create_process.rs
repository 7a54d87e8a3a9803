//! create_process: a parent creates one child, waits for it, and reads how it ended.
//!
//! What the lecture wants you to see: the child is a new process, with a PID of its own (none
//! before `start()` or `fork()`), whose PPID is the parent's PID; the parent's `join` or `wait`
//! collects how it ended (42 in fork.c). `exec` keeps the PID and replaces the program;
//! `posix_spawn` does fork + exec in one call.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use nix::spawn::posix_spawnp;
use nix::unistd::{getpid, getppid};
use oslab::Error;
use oslab::demos::processes::create_process::{self as lab, CHILD_CODE, Lab, Mode, Started};
use oslab::kit::cli::{self, CommonArgs, Unit, duration};
use oslab::kit::{self, interrupt};
use oslab::process::{self, Child, Forked};

/// Create a child process, wait for it, and read how it ended.
///
/// The lecture's create_process.py (MODE python, the default: multiprocessing.Process gives the
/// child "OS Rullz!" and joins it), fork.c (fork: the child prints its PID and PPID, sleeps and
/// returns 42), fork_exec.c (exec: the forked child runs COMMAND with execvp) and posix_spawn.c
/// (spawn: posix_spawnp creates the child and loads COMMAND in one call).
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// python: create_process.py; fork: fork.c; exec: fork_exec.c; spawn: posix_spawn.c
    #[arg(value_enum, default_value_t = Mode::Python)]
    mode: Mode,

    /// Text the parent sends the child through a pipe (python: "OS Rullz!"); the child prints
    /// `[child] Message from parent: TEXT`. With spawn it is COMMAND's stdin
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,

    /// How long the child sleeps before it returns (python and fork; default 5000, the lecture's
    /// sleep(5); 500, 2s; a bare number is ms) [0-1m]
    #[arg(long, value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(60), Unit::Ms))]
    sleep: Option<Duration>,

    /// The program exec and spawn run, after `--` (default: ls -la, as the lecture)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    #[command(flatten)]
    common: CommonArgs,
}

/// create_process.py. `def proc(msg):` is the child's half, after `p.start()`.
fn create_process_py(args: &Args, lab: Lab) -> Result<lab::Results> {
    let (out, message) = (lab.out, lab.message_pipe()?);
    out.lecture(format_args!("[parent] PID = {}", getpid())); // print(f"[parent] PID = {getpid()}")
    // p = Process(target=proc, args=("OS Rullz!",)); print(f"... child PID = {p.pid}")
    out.lecture("[parent] Before starting, child PID = None");
    match process::fork(&lab.single)? {
        // p.start(): the child gets its args through a pipe, as multiprocessing sends them
        Forked::Child => process::run_child(|| {
            let msg = lab::read_message(message).unwrap_or_default();
            let (pid, ppid) = (getpid(), getppid());
            out.lecture(format_args!("[child] PID = {pid}; PPID = {ppid}"));
            lab.child_says(pid, ppid);
            out.lecture(format_args!("[child] Message from parent: {msg}"));
            interrupt::sleep(lab::sleep(args.sleep)).map_or(0, |_| 130) // sleep(5); return: 0
        }),
        Forked::Parent(child) => {
            let pid = child.pid(); // print(f"[parent] After starting, child PID = {p.pid}")
            out.lecture(format_args!("[parent] After starting, child PID = {pid}"));
            lab.started(child, message).wait() // p.join(), once the args are sent
        }
    }
}

/// fork.c and fork_exec.c: `pid = fork();` the child prints who it is, then returns 42 after a
/// sleep, or (exec) becomes COMMAND.
fn fork_c(args: &Args, lab: Lab) -> Result<lab::Results> {
    let (out, argv) = (lab.out, lab::c_strings(&lab.command)?);
    let message = lab.message_pipe()?;
    // pid = fork();
    match process::fork(&lab.single)? {
        Forked::Child => process::run_child(|| {
            let (pid, ppid) = (getpid(), getppid());
            // printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
            out.lecture(format_args!("[child] PID = {pid}; PPID = {ppid}"));
            lab.child_says(pid, ppid);
            if let Some(text) = lab::read_message(message) {
                out.lecture(format_args!("[child] Message from parent: {text}"));
            }
            match args.mode {
                Mode::Exec => exec(&argv, &lab),
                _ if interrupt::sleep(lab::sleep(args.sleep)).is_some() => 130,
                _ => CHILD_CODE, // sleep(5); return 42;
            }
        }),
        Forked::Parent(child) => parent(lab.started(child, message)),
    }
}

/// The forked child of fork_exec.c: `execlp("ls", "-la", NULL)`. Returns only if exec failed.
fn exec(argv: &[std::ffi::CString], lab: &Lab) -> i32 {
    let command = lab.command.join(" "); // printf("[child] Executing `ls -la`...\n");
    (lab.out).lecture(format_args!("[child] Executing `{command}`..."));
    lab.keep_stdout_one_document();
    let Err(errno) = nix::unistd::execvp(&argv[0], argv);
    lab.exec_failed(errno)
}

/// posix_spawn.c: `posix_spawn(&pid, "/bin/ls", NULL, NULL, argv, environ)`. No code of ours
/// runs in the child: what it starts with is declared as file actions.
fn posix_spawn_c(lab: Lab) -> Result<lab::Results> {
    let (argv, message) = (lab::c_strings(&lab.command)?, lab.message_pipe()?);
    let (actions, attr) = lab.spawn_attributes(message.as_ref())?;
    let pid = posix_spawnp(&argv[0], &actions, &attr, &argv, &oslab::process::environ())
        .map_err(|e| Error::sys("posix_spawnp", e).with_limit())
        .with_context(|| format!("could not spawn {:?}", lab.command.join(" ")))?;
    parent(lab.started(Child::adopt(pid), message))
}

/// The parent, once fork() or posix_spawn() has returned: its line, `waitpid(pid, &exit_code,
/// 0);` and its last line. Ctrl-C or SIGTERM cut the wait short: the child is killed and reaped.
fn parent(started: Started) -> Result<lab::Results> {
    let (out, me, pid) = (started.out, getpid(), started.pid());
    // printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
    out.lecture(format_args!(
        "[parent] PID = {me}; child PID = {pid}; Waiting..."
    ));
    let results = started.wait()?; // --message through the pipe; waitpid(pid, &exit_code, 0);
    // if (WIFEXITED(exit_code)) printf("[parent] Child exited with code %d\n", WEXITSTATUS(exit_code));
    if let Some(exit) = results.exit() {
        out.lecture(format_args!("[parent] Child {exit}")); // exited with code 42, or the signal
    }
    Ok(results)
}

fn main() -> ExitCode {
    let (args, mut cli) = cli::parse::<Args>("create_process", |c| c);
    lab::check_command(&mut cli, args.mode, &args.command, args.sleep);
    let p = lab::Params::new(args.mode, &args.command, &args.message, args.sleep);
    kit::run("create_process", &args.common, p.clone(), |s| {
        match args.mode {
            Mode::Python => create_process_py(&args, lab::lab(s, &p)?),
            Mode::Fork | Mode::Exec => fork_c(&args, lab::lab(s, &p)?),
            Mode::Spawn => posix_spawn_c(lab::lab(s, &p)?),
        }
    })
}
