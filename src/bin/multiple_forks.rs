//! multiple_forks: three fork() calls in a row, and every process that reaches one runs it.
//!
//! What the lecture wants you to see: after the first fork two processes run the rest of the
//! program, after the second four, after the third eight: 2³ processes in a tree, not four in a
//! chain. The PID and PPID in each line say who is whose child; `pstree -p` draws the tree.
//!
//! The lecture's `multiple_forks.c`, in outline (`wait_for_input` is its pause point):
//!
//! ```c
//! fork();
//! printf("After first fork: PID = %d; PPID = %d\n", getpid(), getppid());
//! wait_for_input("first fork()");
//! fork();
//! printf("After second fork: PID = %d; PPID = %d\n", getpid(), getppid());
//! wait_for_input("second fork()");
//! pid = fork();
//! wait_for_input("third fork()");
//! if (pid == 0) {
//!     sleep(1);
//!     printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
//! } else {
//!     printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
//!     waitpid(pid, NULL, 0);
//! }
//! ```
//!
//! In the lecture every one of the eight processes stops at every pause point and they all read
//! the one terminal. Here only the top process pauses (`--pause`); the others wait at a gate, a
//! pipe whose write end only the top process holds, until it goes on. The same gate, always
//! used, lets the top process read the whole tree from /proc while all eight exist. And every
//! process waits for all of its children, not only the third fork's, so none is left behind.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nix::unistd::{getpid, getppid};
use oslab::demos::processes::multiple_forks::{self as lab, FORKS, ORDINAL, Step, Tree};
use oslab::kit;
use oslab::kit::cli::{CommonArgs, Unit, duration, whole};
use oslab::process::{self, Forked};

/// Three forks in a row make eight processes: a tree, drawn like pstree -p.
///
/// The lecture's multiple_forks.c: `fork(); fork(); pid = fork();` with a line after the first
/// two (`After first fork: PID = %d; PPID = %d`), then each third-fork child sleeps and prints
/// `[child] ...` while its parent prints `[parent] ... Waiting...` and waits. Every process here
/// waits for all its children; --pause stops at the lecture's three pause points in the top
/// process only, while the other processes wait for it.
#[derive(Parser, Debug)]
#[command(version, after_help = "Example: multiple_forks --sleep 100")]
struct Args {
    /// How long each third-fork child sleeps before its line (the lecture's sleep(1); 100,
    /// 0.5s; a bare number is ms) [0-1m]
    #[arg(long, default_value = "1000", value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(60), Unit::Ms))]
    sleep: Duration,

    /// Stop at the lecture's pause points (after each fork) with the PID and a pstree command
    /// to paste in another terminal; only the top process asks, the others wait for it
    #[arg(long)]
    pause: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// The lecture's program, run by all eight processes. Only the top one returns, once every
/// other has reported to it and ended; each of the others ends in `tree.wait_children()`, after
/// reaping its own children.
fn multiple_forks(sleep: Duration, tree: &mut Tree) -> Step {
    let mut pid = 0;
    for fork in 1..=FORKS {
        // fork();  fork();  pid = fork();
        pid = match process::fork(tree.single()) {
            Ok(Forked::Child) => tree.in_child(fork), // 0 in the child
            Ok(Forked::Parent(child)) => tree.keep(child), // the child's PID in the parent
            Err(e) => tree.failed(e), // -errno: the top process reports it at the pause point
        };
        if fork < FORKS {
            // printf("After first fork: PID = %d; PPID = %d\n", getpid(), getppid());
            let (me, parent) = (getpid(), getppid());
            let nth = ORDINAL[fork - 1];
            tree.out.lecture(format_args!(
                "After {nth} fork: PID = {me}; PPID = {parent}"
            ));
        }
        // wait_for_input("first fork()"): every process waits here until the top one goes on
        tree.wait_for_input(fork, pid)?;
    }
    if pid == 0 {
        tree.sleep(sleep); // sleep(1);
        // printf("[child] PID = %d; PPID = %d\n", getpid(), getppid());
        let (me, parent) = (getpid(), getppid());
        tree.out
            .lecture(format_args!("[child] PID = {me}; PPID = {parent}"));
    } else {
        // printf("[parent] PID = %d; child PID = %d; Waiting...\n", getpid(), pid);
        let me = getpid();
        tree.out.lecture(format_args!(
            "[parent] PID = {me}; child PID = {pid}; Waiting..."
        ));
    }
    // waitpid(pid, NULL, 0); and then every other child too, so that none is left behind
    tree.wait_children()
}

fn main() -> ExitCode {
    let args: Args = kit::parse("multiple_forks");
    let params = lab::Params {
        sleep_ms: whole(args.sleep, Unit::Ms),
        pause: args.pause,
    };
    kit::run("multiple_forks", &args.common, params, |s| {
        lab::run(s, params, |tree| {
            multiple_forks(Duration::from_millis(whole(args.sleep, Unit::Ms)), tree)
        })
    })
}
