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

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nix::spawn::posix_spawnp;
use nix::unistd::{getpid, getppid};
use oslab::Error;
use oslab::demos::processes::create_process::{self as lab, CHILD_CODE, Lab, Mode, Started};
use oslab::kit::cli::{self, CommonArgs, ranged};
use oslab::kit::{self, interrupt};
use oslab::process::{self, Child, Forked};

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

    /// How long the forked child sleeps before it returns 42, in ms (mode fork only; default
    /// 5000, the lecture's sleep(5)) [0-60000]
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 60_000))]
    sleep: Option<u64>,

    /// The program exec and spawn run, after `--` (default: ls -la, as the lecture)
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    #[command(flatten)]
    common: CommonArgs,
}

/// fork.c and fork_exec.c: `pid = fork();` the child prints who it is, then returns 42 after a
/// sleep, or (exec) becomes COMMAND.
fn fork_c(args: &Args, lab: Lab) -> Result<Started> {
    let (out, argv) = (lab.out, lab::c_strings(&lab.command)?);
    let message = lab::message_pipe(&args.message)?;
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
        Forked::Parent(child) => Ok(lab.started(child, message)),
    }
}

/// The forked child of fork_exec.c: `execlp("ls", "-la", NULL)`. Returns only if exec failed.
fn exec(argv: &[std::ffi::CString], lab: &Lab) -> i32 {
    let command = lab.command.join(" ");
    // printf("[child] Executing `ls -la`...\n");
    lab.out
        .lecture(format_args!("[child] Executing `{command}`..."));
    lab.keep_stdout_one_document();
    let Err(errno) = nix::unistd::execvp(&argv[0], argv);
    lab.exec_failed(errno)
}

/// posix_spawn.c: `posix_spawn(&pid, "/bin/ls", NULL, NULL, argv, environ)`. No code of ours
/// runs in the child: what it starts with is declared as file actions.
fn posix_spawn_c(args: &Args, lab: Lab) -> Result<Started> {
    let argv = lab::c_strings(&lab.command)?;
    let message = lab::message_pipe(&args.message)?;
    let (actions, attr) = lab.spawn_attributes(message.as_ref())?;
    let pid = posix_spawnp(&argv[0], &actions, &attr, &argv, &oslab::process::environ())
        .map_err(|e| Error::sys("posix_spawnp", e).with_limit())
        .with_context(|| format!("could not spawn {:?}", lab.command.join(" ")))?;
    Ok(lab.started(Child::adopt(pid), message))
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
    let (args, mut command) = cli::parse::<Args>("create_process", |c| c);
    lab::check_command(&mut command, args.mode, &args.command, args.sleep);
    let p = lab::Params::new(args.mode, &args.command, &args.message, args.sleep);
    let create: fn(&Args, Lab) -> Result<Started> = match args.mode {
        Mode::Spawn => posix_spawn_c,
        Mode::Fork | Mode::Exec => fork_c,
    };
    kit::run("create_process", &args.common, p.clone(), |s| {
        parent(create(&args, lab::lab(s, &p)?)?)
    })
}
