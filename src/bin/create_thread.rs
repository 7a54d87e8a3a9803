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

use anyhow::Result;
use clap::Parser;
use nix::unistd::{getpid, getppid, gettid};
use oslab::Error;
use oslab::demos::threads::create_thread::{self as lab, ChildWrote, ForkView, ThreadView};
use oslab::kit::cli::{CommonArgs, Unit, duration, whole};
use oslab::kit::report::Output;
use oslab::kit::{self, interrupt};
use oslab::process::{self, Forked, SingleThreaded};

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

    /// How long the thread sleeps before it returns (the lecture's sleep(5); 500, 2s; a bare
    /// number is ms) [0-1m]
    #[arg(long, default_value = "5000", value_name = "MS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(60), Unit::Ms))]
    sleep: Duration,

    #[command(flatten)]
    common: CommonArgs,
}

/// `int value;`: a global variable, one per address space. The thread writes it and main reads
/// it; a forked child writes its own copy.
static VALUE: AtomicI32 = AtomicI32::new(0);

/// The lecture's main(): its line, pthread_create, pthread_join. First, for the contrast, a
/// forked child writes `value`, while main is still the only thread (fork needs that).
fn create_thread(args: &Args, out: Output) -> Result<lab::Results> {
    let fork = fork_writes_value()?;
    // printf("[main] PID = %d; PPID = %d\n", getpid(), getppid());
    let (pid, ppid) = (getpid(), getppid());
    out.lecture(format_args!("[main] PID = {pid}; PPID = {ppid}"));
    // pthread_create(&tid, NULL, thread_func, "SO Rullz!");
    let (message, sleep) = (
        args.message.clone(),
        Duration::from_millis(whole(args.sleep, Unit::Ms)),
    );
    let thread = std::thread::Builder::new()
        .name("thread".into())
        .spawn(move || thread_func(&message, sleep, out))
        .map_err(|source| Error::spawn(1, 1, source))?;
    // pthread_join(tid, NULL);
    let seen = thread
        .join()
        .map_err(|_| Error::WorkerPanicked { index: 1 })?;
    Ok(lab::Results::new(seen, VALUE.load(SeqCst), &VALUE, fork))
}

/// thread_func: the lecture's two lines, a write to `value`, and `sleep(5)` (Ctrl-C ends it).
fn thread_func(message: &str, sleep: Duration, out: Output) -> ThreadView {
    // printf("[thread] PID = %d; PPID = %d\n", getpid(), getppid());
    let (pid, ppid) = (getpid(), getppid());
    out.lecture(format_args!("[thread] PID = {pid}; PPID = {ppid}"));
    // printf("[thread] Message from main thread: %s\n", (char *)arg);
    out.lecture(format_args!("[thread] Message from main thread: {message}"));
    let tid = gettid().as_raw();
    VALUE.store(tid, SeqCst); // value = gettid();
    let seen = ThreadView::now(tid);
    let _stopped = interrupt::sleep(sleep); // sleep(5);
    seen
}

/// The contrast: a forked child stores its PID in `value`, reads it back and tells the parent,
/// which then reads its own `value`: still 0.
fn fork_writes_value() -> Result<ForkView> {
    process::limits::check_can_create(1)?;
    let (reports, sender) = lab::child_channel()?;
    let child = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => process::run_child(|| {
            let pid = getpid().as_raw();
            VALUE.store(pid, SeqCst); // value = getpid();
            let read = VALUE.load(SeqCst);
            i32::from(sender.send(&ChildWrote { pid, read }).is_err())
        }),
        Forked::Parent(child) => child,
    };
    drop(sender);
    let wrote = lab::child_wrote(child, reports)?;
    Ok(ForkView::new(wrote, VALUE.load(SeqCst)))
}

fn main() -> ExitCode {
    let args: Args = kit::parse("create_thread");
    let params = lab::Params {
        message: args.message.clone(),
        sleep_ms: whole(args.sleep, Unit::Ms),
    };
    kit::run("create_thread", &args.common, params, |s| {
        create_thread(&args, s.out)
    })
}
