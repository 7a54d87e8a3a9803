//! spawn_cost: the "slower creation" row of the lecture's process-versus-thread table,
//! measured. Times one operation at a time, many times: fork + wait, posix_spawn + wait,
//! fork + exec + wait, and thread spawn + join; pinned to one CPU and unpinned.
//!
//! What the lecture wants you to see: a process costs far more to create than a thread. fork
//! copies the parent's bookkeeping (page tables, open files, signal handlers), exec then throws
//! the copy away to load a program, while a new thread shares all of it and only needs a stack.
//! Two more lessons come out of the measurement: fork grows with the parent's memory (its page
//! tables are copied: try `--rss 256`) while posix_spawn (glibc: clone with CLONE_VM |
//! CLONE_VFORK, then exec) stays flat; and where the child runs matters as much as what it
//! costs (pinned to one CPU, no idle CPU has to be woken).

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use nix::spawn::posix_spawn;
use oslab::demos::processes::spawn_cost::{self as lab, Op, Placement, Program, Sample};
use oslab::kit;
use oslab::kit::cli::{self, CommonArgs, TrialArgs, ranged};
use oslab::process::{self, Child, Forked, SingleThreaded};
use oslab::{Error, Result};

/// fork(), the child `_exit(0)`s at once, waitpid().
fn fork_wait(single: &SingleThreaded) -> Result<Sample> {
    let start = Instant::now();
    match process::fork_brief(single)? {
        Forked::Child => process::exit_brief(0), // _exit(0);
        Forked::Parent(child) => Sample::waited(start, child),
    }
}

/// posix_spawn(/bin/true), waitpid().
fn spawn_wait(program: &Program) -> Result<Sample> {
    let start = Instant::now();
    let (path, argv, envp) = (program.path.as_c_str(), &program.argv, &program.envp);
    let pid = posix_spawn(path, &program.actions, &program.attr, argv, envp)
        .map_err(|e| Error::sys("posix_spawn", e).with_limit())?;
    Sample::waited(start, Child::adopt(pid))
}

/// fork(), the child execv()s /bin/true, waitpid().
fn fork_exec_wait(single: &SingleThreaded, program: &Program) -> Result<Sample> {
    let start = Instant::now();
    match process::fork_brief(single)? {
        Forked::Child => {
            let _ = nix::unistd::execv(&program.path, &program.argv); // returns only on failure
            process::exit_brief(127)
        }
        Forked::Parent(child) => Sample::waited(start, child),
    }
}

/// pthread_create (std::thread::spawn) of a thread that returns at once, pthread_join.
fn thread_join() -> Result<Sample> {
    let start = Instant::now();
    let handle = std::thread::Builder::new()
        .spawn(|| {})
        .map_err(|source| Error::spawn(1, 1, source))?;
    Ok(Sample::joined(start, handle.join().is_ok()))
}

/// pthread_create + pthread_join, raw: the C program's calls, without std::thread's extras.
fn pthread_join() -> Result<Sample> {
    let start = Instant::now();
    oslab::sys::pthread::pthread_create_join()?;
    Ok(Sample::joined(start, true))
}

/// One timed run of `op`.
fn once(op: Op, ready: &lab::Ready<'_>) -> Result<Sample> {
    match op {
        Op::Fork => fork_wait(ready.single()?),
        Op::PosixSpawn => spawn_wait(ready.program),
        Op::ForkExec => fork_exec_wait(ready.single()?, ready.program),
        Op::Thread => thread_join(),
        Op::Pthread => pthread_join(),
    }
}

/// What creating a process costs next to creating a thread: fork, posix_spawn, fork + exec
/// and thread spawn, each timed with its wait or join, many times (percentiles).
///
/// The lecture's process-versus-thread table says processes are "slower to create"; this
/// measures by how much, as lmbench's lat_proc does: the child of fork exits at once
/// (_exit(0)), posix_spawn and exec run /bin/true, the thread returns at once. Each is timed
/// pinned to one CPU (as under taskset -c 0: the children inherit it) and unpinned.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: spawn_cost --count 500   (then: spawn_cost --op fork,posix-spawn --rss 256)"
)]
struct Args {
    /// Timed operations of each kind [1-1000000]
    #[arg(long, default_value_t = 1000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1_000_000))]
    count: u32,

    /// The operations to time, comma-separated [default: all of them]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "OP")]
    op: Vec<Op>,

    /// Where the operations run: pinned to one CPU (the first usable one), unpinned (any
    /// usable CPU), or both, one after the other
    #[arg(long, value_enum, default_value_t = Placement::Both)]
    placement: Placement,

    /// Touch this many MiB of private memory first, so fork has that much more to copy (its
    /// page tables) [0-65536]
    #[arg(long, default_value_t = 0, value_name = "MIB", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 65_536))]
    rss: u64,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let (args, _) = cli::parse::<Args>("spawn_cost", lab::command);
    let p = lab::Params::of(args.count, &args.op, args.placement, args.rss, &args.trials);
    kit::run("spawn_cost", &args.common, p.clone(), |s| {
        lab::measure(s, &p, once)
    })
}
