//! proc_watch: the lecture's second terminal, built in.
//!
//! What the lecture wants you to see: the kernel keeps score for every process. The slides ask
//! you to `cat /proc/PID/stat | cut -d ' ' -f 10` before and after a demo step and subtract;
//! this does the reading and the subtraction every interval: page faults, voluntary and
//! nonvoluntary context switches, threads, resident memory, CPU time. `--forest` is
//! `ps -e --forest -o pid,ppid,rss,vsz,etime,stat,comm`: who is whose child.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use nix::unistd::Pid;
use oslab::demos::observation::proc_watch::{self as lab, End};
use oslab::kit::cli::{CommonArgs, Unit, duration, ranged};
use oslab::kit::{self, interrupt, report::Output};
use oslab::proc::counters::Snapshot;

/// Watch one process's kernel counters change, one line per interval; or list every process as
/// a tree.
///
/// The lecture reads /proc/PID/stat (field 10: minor faults) and /proc/PID/status
/// (voluntary_ctxt_switches) by hand from a second terminal while a demo pauses. proc_watch prints
/// those counters as deltas every interval until the process exits or Ctrl-C.
#[derive(Parser, Debug)]
#[command(group = clap::ArgGroup::new("watched").args(["pid", "command"]))]
// The forest is a table: only a watch draws a picture.
#[command(mut_arg("plot", |a| a.requires("watched")))]
#[command(
    version,
    after_help = "Example: proc_watch --interval 200ms -- cow_overhead --pages 16384\n\nThe lecture's two terminals:\n  cow_overhead --pause &   # then, in another terminal:\n  proc_watch $(pgrep -n cow_overhead) --interval 200ms\n  proc_watch --forest"
)]
struct Args {
    /// The process to watch (with no PID and no COMMAND: the forest, as the slide's ps)
    #[arg(conflicts_with = "command", value_parser = ranged::<i32>(1, i32::MAX))]
    pid: Option<i32>,

    /// Or: start this command and watch it (after `--`), e.g. -- cow_overhead --pages 16384
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    /// Time between lines, e.g. 1s, 200ms, 1h, or bare seconds as watch -n (0.5) [10ms-1h]
    #[arg(long, default_value = "1s", value_name = "SECONDS", requires = "watched",
          value_parser = duration(Duration::from_millis(10), Duration::from_secs(3600), Unit::S))]
    interval: Duration,

    /// Stop after N lines (default: until the process exits or Ctrl-C) [1-1000000]
    #[arg(long, value_name = "N", value_parser = ranged::<u64>(1, 1_000_000), requires = "watched")]
    count: Option<u64>,

    /// Instead of watching, list every process as a tree: pid ppid rss vsz etime stat comm
    #[arg(long, conflicts_with_all = ["pid", "count", "command", "interval"])]
    forest: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// The lecture's second terminal: read `/proc/PID/stat` and `/proc/PID/status` every interval,
/// subtract the reading before, print one line; until the process exits, `--count` lines or
/// Ctrl-C.
fn watch(out: Output, args: &Args) -> anyhow::Result<lab::Watch> {
    // With a command, we are its parent: the guard kills and reaps it on every path.
    // A command's pause points are logged here, to be marked on the timeline.
    let pause_log = match args.command.is_empty() {
        true => None,
        false => Some(tempfile::NamedTempFile::new().context("cannot make the pause log")?),
    };
    let started = match (args.command.as_slice(), &pause_log) {
        ([], _) | (_, None) => None,
        (command, Some(log)) => {
            let spawned = lab::start(command, out, log.path())
                .map_err(|e| oslab::Error::io("fork")(e).with_limit());
            Some(spawned.with_context(|| format!("cannot start {}", command[0]))?)
        }
    };
    let pid = match &started {
        Some(child) => child.pid(),
        None => Pid::from_raw(args.pid.context("no PID given")?),
    };
    let log = pause_log.as_ref().map(|l| l.path().to_path_buf());
    let mut watcher = lab::Watcher::new(out, pid, args.interval, args.count, log)?;
    let pid = watcher.pid(); // given a thread's ID: its process
    let mut before = watcher.first(); // cat /proc/PID/stat (before)
    let end = loop {
        if let Some(signal) = interrupt::sleep(args.interval) {
            break End::Stopped(signal);
        }
        // A process that has exited is a zombie until its parent reaps it: /proc still has its
        // final counters, so take them, and stop.
        let alive = lab::alive(pid);
        let Ok(after) = Snapshot::of(pid) else {
            break End::Exited; // gone, reaped: nothing left to read
        };
        watcher.line(before.delta(&after), &after, alive)?; // after − before
        before = after;
        if !alive {
            break End::Exited;
        }
        if args.count.is_some_and(|c| watcher.lines() >= c) {
            break End::Counted;
        }
    };
    let exit = match started {
        Some(child) if end == End::Exited => Some(child.wait()?),
        _ => None, // a started command still running is killed and reaped by the guard
    };
    Ok(watcher.finish(end, exit))
}

/// `--forest`: every `/proc/PID/stat`, parents before children, as `ps -e --forest` prints them.
fn forest(out: Output) -> oslab::Result<lab::Forest> {
    lab::Forest::print(out, lab::tree_order(&lab::every_process()?))
}

fn main() -> ExitCode {
    let args: Args = kit::parse("proc_watch");
    if args.forest || (args.pid.is_none() && args.command.is_empty()) {
        let p = lab::ForestParams { forest: true };
        return kit::run("proc_watch", &args.common, p, |s| forest(s.out));
    }
    let p = lab::Params::new(args.pid, &args.command, args.interval, args.count);
    kit::run("proc_watch", &args.common, p, |s| watch(s.out, &args))
}
