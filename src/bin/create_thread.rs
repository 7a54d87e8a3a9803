//! create_thread: main starts a thread, the thread prints who it is, main joins it.
//!
//! What the lecture wants you to see: the thread prints the same PID and PPID as main. A thread
//! is not a new process but a second task inside the same one: it has its own thread ID (TID),
//! and it shares everything else, memory first. A forked child, by contrast, gets a copy.
//!
//! The lecture's `create_thread.c`, in outline:
//!
//! ```c
//! void *thread_func(void *arg) {
//!     printf("[thread] PID = %d; PPID = %d\n", getpid(), getppid());
//!     printf("[thread] Message from main thread: %s\n", (char *)arg);
//!     sleep(5);
//!     return NULL;
//! }
//! int main(void) {
//!     printf("[main] PID = %d; PPID = %d\n", getpid(), getppid());
//!     pthread_create(&tid, NULL, thread_func, "SO Rullz!");
//!     pthread_join(tid, NULL);
//! }
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::time::Duration;

use clap::Parser;
use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid, gettid};
use serde::Serialize;

use oslab::Error;
use oslab::forks;
use oslab::kit::cli::{CommonArgs, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::proc::counters::Snapshot;
use oslab::process::SingleThreaded;
use oslab::process::{self, Forked};

/// Start a thread: same PID, its own TID, the same memory.
///
/// The lecture's create_thread.c: main prints `[main] PID = %d; PPID = %d`, starts a thread
/// (pthread_create) that prints `[thread] PID = %d; PPID = %d` and the message main gave it,
/// sleeps, and is joined. The PIDs match: a thread is a task in the same process. The analysis
/// adds the TIDs, and a value the thread writes that main reads, beside a forked child's write
/// that the parent never sees.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: create_thread --sleep 500 --message 'OS Rullz!'"
)]
struct Args {
    /// The argument main passes to the thread, which prints it
    #[arg(long, default_value = "SO Rullz!", value_name = "TEXT")]
    message: String,

    /// How long the thread sleeps before it returns, in ms (the lecture's sleep(5)) [0-60000]
    #[arg(long, default_value_t = 5000, value_name = "MS", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 60_000))]
    sleep: u64,

    #[command(flatten)]
    common: CommonArgs,
}

/// `int value;`: a global variable, one per address space. The thread writes it and main reads
/// it; a forked child writes its own copy.
static VALUE: AtomicI32 = AtomicI32::new(0);

/// What the thread saw of itself.
#[derive(Clone, Debug, Default, Serialize)]
struct ThreadView {
    pid: i32,
    ppid: i32,
    tid: i32,
    /// `/proc/self/task` while the thread ran: the process's tasks, main's and the thread's.
    tasks: Vec<i32>,
    /// What it stored in `value` (its TID).
    wrote: i32,
}

/// What a forked child did with the same variable.
#[derive(Clone, Debug, Default, Serialize)]
struct ForkView {
    child_pid: i32,
    /// What the child stored in `value` (its PID), and read back.
    child_wrote: i32,
    child_read: i32,
    /// What the parent read afterwards: its own copy, untouched.
    parent_read: i32,
}

/// The run: one CSV row.
#[derive(Debug, Serialize)]
struct Results {
    pid: i32,
    ppid: i32,
    main_tid: i32,
    thread: ThreadView,
    /// What main read from `value` after joining the thread.
    main_read: i32,
    /// The address of `value`, the same in parent, child and thread.
    value_address: String,
    fork: ForkView,
}

#[derive(Debug, Serialize)]
struct Params {
    message: String,
    sleep_ms: u64,
    cpu: Option<String>,
}

fn main() -> ExitCode {
    let (args, _cmd) = oslab::kit::cli::parse::<Args>("create_thread", |c| c);
    oslab::kit::cli::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    interrupt::install()?;
    args.common.apply_cpu()?;
    let out = args.common.output();
    let system = Machine::collect();
    let before = Snapshot::of_self()?;
    // The contrast first, while main is still the only thread (fork needs that).
    let fork = fork_writes_value()?;

    // printf("[main] PID = %d; PPID = %d\n", getpid(), getppid());
    out.lecture(format_args!(
        "[main] PID = {}; PPID = {}",
        getpid(),
        getppid()
    ));
    // pthread_create(&tid, NULL, thread_func, "SO Rullz!");
    let message = args.message.clone();
    let sleep = Duration::from_millis(args.sleep);
    let thread = std::thread::Builder::new()
        .name("thread".into())
        .spawn(move || thread_func(&message, sleep, out))
        .map_err(|source| Error::Spawn {
            index: 1,
            total: 1,
            source,
        })?;
    // pthread_join(tid, NULL);
    let (seen, stopped) = thread
        .join()
        .map_err(|_| Error::WorkerPanicked { index: 1 })?;
    let main_read = VALUE.load(SeqCst);
    let counters = before.delta(&Snapshot::of_self()?);

    if let Some(signal) = stopped {
        eprintln!(
            "create_thread: stopped by {signal} during the thread's sleep; results are partial"
        );
    }
    let results = Results {
        pid: getpid().as_raw(),
        ppid: getppid().as_raw(),
        main_tid: gettid().as_raw(),
        thread: seen,
        main_read,
        value_address: format!("{:p}", &VALUE),
        fork,
    };
    let lesson = "a thread is a second task in the same process: the same PID, its own TID, the same memory; a forked child gets a copy of the memory instead";
    analyse(&out, &results, lesson, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "create_thread",
        schema_version: SCHEMA_VERSION,
        params: Params {
            message: args.message.clone(),
            sleep_ms: args.sleep,
            cpu: args.common.cpu.as_ref().map(|c| c.to_string()),
        },
        headline: format!(
            "thread TID {} in PID {}: main read its write ({}); a forked child's write stayed in the child (parent read {})",
            results.thread.tid, results.pid, results.main_read, results.fork.parent_read
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

/// The thread: the lecture's two lines, a write to `value`, and `sleep(5)`.
fn thread_func(message: &str, sleep: Duration, out: Output) -> (ThreadView, Option<Signal>) {
    // printf("[thread] PID = %d; PPID = %d\n", getpid(), getppid());
    out.lecture(format_args!(
        "[thread] PID = {}; PPID = {}",
        getpid(),
        getppid()
    ));
    // printf("[thread] Message from main thread: %s\n", (char *)arg);
    out.lecture(format_args!("[thread] Message from main thread: {message}"));
    let tid = gettid().as_raw();
    VALUE.store(tid, SeqCst);
    let view = ThreadView {
        pid: getpid().as_raw(),
        ppid: getppid().as_raw(),
        tid,
        tasks: tasks(),
        wrote: tid,
    };
    // sleep(5);
    let stopped = forks::sleep_unless_stopped(sleep);
    (view, stopped)
}

/// The tasks (threads) of this process, from `/proc/self/task`.
fn tasks() -> Vec<i32> {
    let mut tids: Vec<i32> = std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    tids.sort_unstable();
    tids
}

/// A forked child stores its PID in `value`, reads it back and tells the parent through a pipe;
/// the parent then reads its own `value`: still 0.
fn fork_writes_value() -> anyhow::Result<ForkView> {
    process::limits::check_can_create(1)?;
    let (reports, sender) = forks::pipe()?;
    let single = SingleThreaded::check()?;
    let child = match process::fork(&single)? {
        Forked::Child => process::run_child(|| {
            let pid = getpid().as_raw();
            VALUE.store(pid, SeqCst);
            let read = VALUE.load(SeqCst);
            i32::from(sender.send(&format!("{pid} {read}")).is_err())
        }),
        Forked::Parent(child) => child,
    };
    drop(sender);
    let child_pid = child.pid().as_raw();
    // The child is done in microseconds: plain blocking reads, whatever signal comes meanwhile.
    let record = reports.read_to_end()?;
    child.wait()?;
    let child_read = record
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the forked child did not report what it wrote"))?;
    Ok(ForkView {
        child_pid,
        child_wrote: child_pid,
        child_read,
        parent_read: VALUE.load(SeqCst),
    })
}

fn analyse(out: &Output, r: &Results, lesson: &str, system: &Machine) {
    let t = &r.thread;
    out.analysis(format_args!(
        "ids: main is TID {} and the thread TID {}, both in process PID {} (getpid() names the process, gettid() the thread); /proc/{}/task listed {} while the thread ran",
        r.main_tid,
        t.tid,
        r.pid,
        r.pid,
        t.tasks
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    out.analysis(format_args!(
        "shared memory: the thread stored {} (its TID) in value at {}; main then read {}: one address space",
        t.wrote, r.value_address, r.main_read
    ));
    let f = &r.fork;
    out.analysis(format_args!(
        "copy-on-write: a forked child (PID {}) stored {} in value at the same address and read back {}, but its parent still read {}: the child wrote to its own copy of the page",
        f.child_pid, f.child_wrote, f.child_read, f.parent_read
    ));
    out.analysis(format_args!("lesson: {lesson}"));
    out.analysis(
        "compare: strace -f -e trace=clone,clone3 create_thread --sleep 0   (CLONE_VM|CLONE_THREAD for the thread); ps -L -o pid,lwp,comm -p PID while it sleeps",
    );
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
