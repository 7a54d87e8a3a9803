//! process_attrs: what a process owns, read from /proc for a parent, its forked child and the
//! program the child execs; and a process whose main returns while a thread still runs.
//!
//! What the lecture wants you to see: the slides' process attributes (PID, PPID, ...) and the
//! fields of `task_struct` (state, prio, on_cpu, mm, exit_code, pid, parent, children, files).
//! fork copies almost all of them (a new PID, the parent's PID as PPID); exec keeps the process
//! and most of what it owns, but resets what belonged to the old program: handled signals go
//! back to their default (ignored ones stay ignored) and close-on-exec descriptors are closed.
//! And from the process-versus-thread table, "ending means ending all threads": when main
//! returns, exit_group ends a thread that was still running.
//!
//! The program, in C:
//!
//! ```c
//! void on_usr1(int sig) { }
//! void *spin(void *arg) { for (;;) ; }
//! int main(void) {
//!     umask(027);
//!     signal(SIGUSR1, on_usr1);                      /* handled: exec resets it */
//!     signal(SIGUSR2, SIG_IGN);                      /* ignored: exec keeps it */
//!     int kept = open("/dev/null", O_RDONLY);        /* survives exec */
//!     int gone = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* closed by exec */
//!     if (fork() == 0) { execl("/proc/self/exe", "process_attrs", NULL); }
//!     wait(NULL);                        /* meanwhile: cat /proc/PID/status, ls /proc/PID/fd */
//!     if (fork() == 0) { pthread_create(&t, NULL, spin, NULL); return 0; }
//!     wait(NULL);                        /* the spinning thread ended with its process */
//! }
//! ```

use std::process::ExitCode;

use clap::Parser;
use nix::sys::signal::Signal::{SIGUSR1, SIGUSR2};
use oslab::demos::processes::process_attrs::{self as lab, Handshake};
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::{self, report::Output};
use oslab::process::{self, Forked, SingleThreaded};
use oslab::sys::signal;

/// What a process owns, in a parent, its forked child and an exec'd program: inherited, new
/// or reset.
///
/// The slides' Process Attributes (PID, PPID, running time, threads; task_struct's state, prio,
/// on_cpu, mm, exit_code, pid, parent, children, files) and POSIX's list (process group,
/// session, terminal, CWD, root, user and group IDs, umask, descriptors, signal dispositions,
/// nice, CPU affinity, limits), read from /proc for the three, side by side. Then a process
/// whose main returns while its second thread spins: both end.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: process_attrs   (then: cat /proc/self/status; ls -l /proc/self/fd)"
)]
struct Args {
    /// Run as the program the child execs: report ready on this descriptor, wait on the next
    #[arg(long, hide = true, num_args = 2, value_names = ["READY", "GO"],
          value_parser = ranged::<i32>(0, 1 << 20))]
    exec_probe: Option<Vec<i32>>,

    #[command(flatten)]
    common: CommonArgs,
}

/// `void on_usr1(int sig) { }`: a handler; its address means nothing after exec.
extern "C" fn on_usr1(_: libc::c_int) {}

/// What the lecture's main sets up before it forks: umask, a handled and an ignored signal, a
/// descriptor kept across exec and one closed by it.
fn set_up() -> anyhow::Result<lab::Owned> {
    let old_umask = lab::set_umask(0o027); // umask(027);
    signal::catch(SIGUSR1, on_usr1)?; // signal(SIGUSR1, on_usr1);
    signal::ignore(SIGUSR2)?; // signal(SIGUSR2, SIG_IGN);
    let kept = lab::open_dev_null(false)?; // open("/dev/null", O_RDONLY);
    let gone = lab::open_dev_null(true)?; // open("/dev/null", O_RDONLY | O_CLOEXEC);
    Ok(lab::Owned::new(old_umask, kept, gone))
}

/// fork, then exec in the child; the parent reads /proc at each step.
fn fork_and_exec(out: Output, owned: &lab::Owned) -> anyhow::Result<lab::Table> {
    process::limits::check_can_create(2)?; // the child, and the one that spins a thread
    let mut hand = Handshake::new()?;
    match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => process::run_child(|| {
            hand.child_ready_then_wait(); // (the parent reads /proc/PID now)
            // execl("/proc/self/exe", "process_attrs", NULL);
            lab::exec_failed(lab::exec_self(&hand))
        }),
        Forked::Parent(child) => {
            let pid = child.pid();
            out.lecture(format_args!(
                "[parent] PID = {}; forked child PID = {pid}",
                owned.pid
            ));
            hand.wait_ready(&child)?;
            let mut table = lab::Table::read(owned, pid)?;
            hand.go()?; // the child execs now
            hand.wait_ready(&child)?;
            table.read_execd(pid)?;
            out.lecture(format_args!(
                "[child] PID = {pid} after exec: {}",
                table.execd_command()
            ));
            hand.go()?; // the exec'd program returns 7 now
            table.finish(child)?; // wait(&status);
            let exit = table.exit.map_or("-".into(), |e| e.to_string());
            out.lecture(format_args!("[parent] child {pid} {exit}"));
            Ok(table)
        }
    }
}

/// The exec'd program: says it is running, waits until the parent has read it, exits.
fn exec_probe(fds: &[i32]) -> ExitCode {
    lab::exec_probe(fds[0], fds[1]) // return 7;
}

/// `if (fork() == 0) { pthread_create(&t, NULL, spin, NULL); return 0; }`
fn thread_outlives_main(out: Output) -> anyhow::Result<lab::Ending> {
    let watch = lab::ThreadWatch::new()?;
    match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => process::run_child(|| {
            // pthread_create(&t, NULL, spin, NULL);
            let spin = std::thread::Builder::new()
                .name("spin".into())
                .spawn(lab::spin);
            watch.started(spin.is_ok()); // the parent reads /proc/PID/task now
            0 // return 0;   (exit_group: every thread of the process ends)
        }),
        Forked::Parent(child) => watch.observe(child, out),
    }
}

fn main() -> ExitCode {
    let args: Args = kit::parse("process_attrs");
    if let Some(fds) = &args.exec_probe {
        return exec_probe(fds);
    }
    kit::run("process_attrs", &args.common, lab::Params::new(), |s| {
        let owned = set_up()?;
        lab::Results::of(fork_and_exec(s.out, &owned), || thread_outlives_main(s.out))
    })
}
