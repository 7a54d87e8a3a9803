//! proc_watch: the lecture's second terminal, built in.
//!
//! What the lecture wants you to see: the kernel keeps score for every process. The slides ask
//! you to `cat /proc/PID/stat | cut -d ' ' -f 10` before and after a demo step and subtract;
//! this does the reading and the subtraction every interval: page faults, voluntary and
//! nonvoluntary context switches, threads, resident memory, CPU time. `--forest` is
//! `ps -e --forest -o pid,ppid,rss,vsz,etime,stat,comm`: who is whose child.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use nix::unistd::Pid;
use oslab::kit::cli::{self, CommonArgs, ranged};
use oslab::kit::report::{Format, print_line, to_csv};
use oslab::kit::{interrupt, timing};
use oslab::proc::counters::{Delta, Snapshot};
use serde::Serialize;

/// Watch one process's kernel counters change, one line per interval; or list every process as
/// a tree.
///
/// The lecture reads /proc/PID/stat (field 10: minor faults) and /proc/PID/status
/// (voluntary_ctxt_switches) by hand from a second terminal while a demo pauses. proc_watch prints
/// those counters as deltas every interval until the process exits or Ctrl-C.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Examples:\n  cow_overhead --pause &   # then, in another terminal:\n  proc_watch $(pgrep -n cow_overhead) --interval 200ms\n  proc_watch --forest"
)]
struct Args {
    /// The process to watch
    #[arg(required_unless_present_any = ["forest", "command"], conflicts_with = "command",
          value_parser = ranged::<i32>(1, i32::MAX))]
    pid: Option<i32>,

    /// Or: start this command and watch it (after `--`), e.g. -- cow_overhead --pages 16384
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    /// Time between lines, e.g. 1s, 200ms [10ms-1h]
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    interval: Duration,

    /// Stop after N lines (default: until the process exits or Ctrl-C) [1-1000000]
    #[arg(long, value_name = "N", value_parser = ranged::<u64>(1, 1_000_000))]
    count: Option<u64>,

    /// Instead of watching, list every process as a tree: pid ppid rss vsz etime stat comm
    #[arg(long, conflicts_with_all = ["pid", "count", "command"])]
    forest: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// `200ms`, `1s`, `1.5s`, `500us`: a duration between 10 ms and an hour.
fn parse_interval(s: &str) -> std::result::Result<Duration, String> {
    cli::duration(Duration::from_millis(10), Duration::from_secs(3600), None)(s)
}

/// One line: what changed since the previous one.
#[derive(Serialize)]
struct Line {
    kind: &'static str,
    pid: i32,
    /// Seconds since the watch began.
    t_s: f64,
    #[serde(flatten)]
    delta: Delta,
    /// Current values, not deltas.
    threads_now: u64,
    rss_kib_now: u64,
}

fn main() -> ExitCode {
    let (args, _) = cli::parse::<Args>("proc_watch", |c| c);
    cli::finish(run(args))
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    if args.forest {
        return forest(args.common.format);
    }
    let format = args.common.format;
    // With a command, we are its parent: the guard kills and reaps it on every path.
    let started = if args.command.is_empty() {
        None
    } else {
        Some(start(&args.command, format)?)
    };
    let pid = match &started {
        Some(child) => child.pid(),
        None => Pid::from_raw(args.pid.context("no PID given")?),
    };
    let name = comm(pid)?;
    let first = Snapshot::of(pid).with_context(|| format!("cannot read /proc/{pid}"))?;

    let header = [
        "t",
        "minflt",
        "majflt",
        "vol_cs",
        "nonvol_cs",
        "threads",
        "rss_kib",
        "Δrss_kib",
        "utime_ms",
        "stime_ms",
    ];
    match format {
        Format::Text => {
            if !args.common.quiet {
                print_line(format_args!(
                    "proc_watch: PID {pid} ({name}) every {}; each line is what changed since the line before",
                    timing::fmt_duration(args.interval)
                ));
            }
            print_line(text_row(&header.map(String::from)));
        }
        Format::Csv => print_line(csv_header()?),
        Format::Json => {}
    }

    let start = Instant::now();
    let mut previous = first;
    let mut lines = 0u64;
    let end = loop {
        if let Some(signal) = sleep_or_interrupt(args.interval) {
            break End::Interrupted(signal);
        }
        // A process that has exited is a zombie until its parent reaps it: /proc still has its
        // final counters, so take them, and stop.
        let alive = alive(pid);
        let Ok(now) = Snapshot::of(pid) else {
            break End::Exited;
        };
        emit(format, &line("sample", pid, start, &previous, &now))?;
        previous = now;
        if !alive {
            break End::Exited;
        }
        lines += 1;
        if args.count.is_some_and(|c| lines >= c) {
            break End::Counted;
        }
    };

    let status = match started {
        Some(child) if matches!(end, End::Exited) => Some(child.wait()?),
        _ => None, // a started command still running is killed and reaped by the guard
    };
    let total = line("summary", pid, start, &first, &previous);
    match format {
        Format::Text => {
            let why = match (&end, status) {
                (End::Exited, Some(status)) => format!("process {pid} ({name}) {status}"),
                (End::Exited, None) => format!("process {pid} ({name}) has exited"),
                (End::Counted, _) => format!("{lines} lines"),
                (End::Interrupted(signal), _) => format!("stopped by {signal}"),
            };
            print_line(format_args!(
                "{why}; totals over {:.1} s: {} minor faults, {} major, {} voluntary and {} nonvoluntary context switches, {} ms user and {} ms system CPU",
                total.t_s,
                total.delta.minflt,
                total.delta.majflt,
                total.delta.voluntary_cs,
                total.delta.nonvoluntary_cs,
                total.delta.utime_us / 1000,
                total.delta.stime_us / 1000
            ));
            if matches!(end, End::Exited) && !args.common.quiet {
                print_line(
                    "note: the last line was read from the exited process, a zombie until its parent reaps it: its memory is gone (RSS 0), its counters are final",
                );
            }
        }
        Format::Json => {
            // The last JSON line is the summary, with the headline and lesson `oslab tour` shows.
            let mut summary = serde_json::to_value(&total)?;
            summary["demo"] = "proc_watch".into();
            summary["headline"] = format!(
                "PID {pid} ({name}) over {:.2} s: {} minor faults, {} voluntary / {} nonvoluntary switches, {} ms CPU",
                total.t_s,
                total.delta.minflt,
                total.delta.voluntary_cs,
                total.delta.nonvoluntary_cs,
                (total.delta.utime_us + total.delta.stime_us) / 1000
            )
            .into();
            summary["lesson"] = LESSON.into();
            summary["exit"] = serde_json::to_value(status)?;
            print_line(serde_json::to_string(&summary)?);
        }
        Format::Csv => {}
    }
    Ok(match end {
        End::Interrupted(signal) => ExitCode::from(interrupt::exit_code(signal)),
        _ => ExitCode::SUCCESS,
    })
}

const LESSON: &str = "the kernel counts every fault, switch and tick for each process: /proc/PID/stat and status are the scoreboard";

/// Starts `command` as our child; its stdout goes to our stderr unless we print text, so that
/// JSON and CSV on our stdout stay clean.
fn start(command: &[String], format: Format) -> Result<oslab::process::Child> {
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]).stdin(std::process::Stdio::null());
    if format != Format::Text {
        cmd.stdout(std::io::stderr());
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", command[0]))?;
    Ok(oslab::process::Child::adopt(Pid::from_raw(
        child.id() as i32
    )))
}

/// False once the process is gone or a zombie (exited, not yet reaped).
fn alive(pid: Pid) -> bool {
    procfs::process::Process::new(pid.as_raw())
        .and_then(|p| p.stat())
        .is_ok_and(|s| !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// How the watch ended.
enum End {
    Exited,
    Counted,
    Interrupted(nix::sys::signal::Signal),
}

fn line(kind: &'static str, pid: Pid, start: Instant, from: &Snapshot, to: &Snapshot) -> Line {
    Line {
        kind,
        pid: pid.as_raw(),
        t_s: start.elapsed().as_secs_f64(),
        delta: from.delta(to),
        threads_now: to.threads,
        rss_kib_now: to.rss_kib,
    }
}

fn emit(format: Format, line: &Line) -> Result<()> {
    match format {
        Format::Text => print_line(text_row(&[
            format!("{:.2}s", line.t_s),
            line.delta.minflt.to_string(),
            line.delta.majflt.to_string(),
            line.delta.voluntary_cs.to_string(),
            line.delta.nonvoluntary_cs.to_string(),
            line.threads_now.to_string(),
            line.rss_kib_now.to_string(),
            format!("{:+}", line.delta.rss_kib),
            (line.delta.utime_us / 1000).to_string(),
            (line.delta.stime_us / 1000).to_string(),
        ])),
        // JSON Lines: one object per line, so a script can read it as it comes.
        Format::Json => print_line(serde_json::to_string(line)?),
        Format::Csv => print_line(
            to_csv(
                "proc_watch",
                &serde_json::json!({}),
                std::slice::from_ref(line),
            )?
            .lines()
            .nth(1)
            .unwrap_or(""),
        ),
    }
    Ok(())
}

fn csv_header() -> Result<String> {
    let sample = Line {
        kind: "sample",
        pid: 0,
        t_s: 0.0,
        delta: Delta::default(),
        threads_now: 0,
        rss_kib_now: 0,
    };
    let csv = to_csv("proc_watch", &serde_json::json!({}), &[sample])?;
    Ok(csv.lines().next().unwrap_or("").to_string())
}

/// Fixed-width columns, like vmstat's.
fn text_row(cells: &[String]) -> String {
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                format!("{c:>8}")
            } else {
                format!("{c:>10}")
            }
        })
        .collect::<Vec<_>>()
        .join("")
}

/// Sleeps for `interval`, waking early if Ctrl-C or SIGTERM arrives.
fn sleep_or_interrupt(interval: Duration) -> Option<nix::sys::signal::Signal> {
    let until = Instant::now() + interval;
    loop {
        if let Some(signal) = interrupt::requested() {
            return Some(signal);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        thread::sleep(left.min(Duration::from_millis(20)));
    }
}

fn comm(pid: Pid) -> Result<String> {
    match procfs::process::Process::new(pid.as_raw()).and_then(|p| p.stat()) {
        Ok(stat) => Ok(stat.comm),
        Err(_) => bail!("no process {pid}: /proc/{pid} does not exist"),
    }
}

// ---------------------------------------------------------------------------------------------
// --forest

/// One process in the forest, ps's columns.
#[derive(Serialize, Clone)]
struct Row {
    pid: i32,
    ppid: i32,
    rss_kib: u64,
    vsz_kib: u64,
    etime: String,
    stat: char,
    comm: String,
    /// Depth in the tree (0 for a root).
    depth: usize,
}

fn forest(format: Format) -> Result<ExitCode> {
    let uptime_s: f64 = std::fs::read_to_string("/proc/uptime")
        .context("cannot read /proc/uptime")?
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .context("/proc/uptime is not a number")?;
    let ticks = procfs::ticks_per_second() as f64;
    let page_kib = procfs::page_size() / 1024;
    let mut rows: Vec<Row> = procfs::process::all_processes()
        .context("cannot list /proc")?
        .flatten()
        // A process can exit between the listing and the read: skip it.
        .filter_map(|p| p.stat().ok())
        .map(|s| Row {
            pid: s.pid,
            ppid: s.ppid,
            rss_kib: s.rss * page_kib,
            vsz_kib: s.vsize / 1024,
            etime: etime(uptime_s - s.starttime as f64 / ticks),
            stat: s.state,
            comm: s.comm,
            depth: 0,
        })
        .collect();
    if rows.is_empty() {
        bail!("no process found in /proc");
    }
    rows.sort_by_key(|r| r.pid);
    let ordered = tree_order(&rows);
    match format {
        Format::Text => {
            print_line(format!(
                "{:>7} {:>7} {:>8} {:>9} {:>11} S COMMAND",
                "PID", "PPID", "RSS", "VSZ", "ELAPSED"
            ));
            for r in &ordered {
                print_line(format!(
                    "{:>7} {:>7} {:>8} {:>9} {:>11} {} {}{}",
                    r.pid,
                    r.ppid,
                    r.rss_kib,
                    r.vsz_kib,
                    r.etime,
                    r.stat,
                    indent(r.depth),
                    r.comm
                ));
            }
        }
        Format::Json => print_line(serde_json::to_string_pretty(&ordered)?),
        Format::Csv => {
            print_line(to_csv("proc_watch", &serde_json::json!({}), &ordered)?.trim_end())
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parents before children, children by PID, as `ps --forest` orders them; each row's depth
/// set. A process whose parent is not listed (PID 1, kthreadd, or a parent outside our PID
/// namespace) is a root.
fn tree_order(rows: &[Row]) -> Vec<Row> {
    let pids: std::collections::HashSet<i32> = rows.iter().map(|r| r.pid).collect();
    let mut ordered = Vec::with_capacity(rows.len());
    let mut stack: Vec<(Row, usize)> = rows
        .iter()
        .filter(|r| r.ppid == r.pid || !pids.contains(&r.ppid))
        .rev()
        .map(|r| (r.clone(), 0))
        .collect();
    while let Some((row, depth)) = stack.pop() {
        let children = rows
            .iter()
            .filter(|c| c.ppid == row.pid && c.pid != row.pid)
            .rev();
        stack.extend(children.map(|c| (c.clone(), depth + 1)));
        ordered.push(Row { depth, ..row });
    }
    ordered
}

/// ps's tree drawing: ` \_ ` under the parent, indented by depth.
fn indent(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!("{}\\_ ", " ".repeat(4 * (depth - 1) + 1))
    }
}

/// ps's ELAPSED: `[[dd-]hh:]mm:ss`.
fn etime(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h) {
        (0, 0) => format!("{m:02}:{s:02}"),
        (0, _) => format!("{h:02}:{m:02}:{s:02}"),
        _ => format!("{d}-{h:02}:{m:02}:{s:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: i32, ppid: i32) -> Row {
        Row {
            pid,
            ppid,
            rss_kib: 0,
            vsz_kib: 0,
            etime: String::new(),
            stat: 'S',
            comm: format!("p{pid}"),
            depth: 0,
        }
    }

    #[test]
    fn the_forest_puts_children_under_parents_in_pid_order() {
        let rows = vec![
            row(1, 0),
            row(2, 0),
            row(5, 1),
            row(7, 5),
            row(9, 1),
            row(12, 2),
        ];
        let order: Vec<(i32, usize)> = tree_order(&rows).iter().map(|r| (r.pid, r.depth)).collect();
        assert_eq!(order, vec![(1, 0), (5, 1), (7, 2), (9, 1), (2, 0), (12, 1)]);
    }

    #[test]
    fn elapsed_time_reads_like_ps() {
        assert_eq!(etime(5.0), "00:05");
        assert_eq!(etime(3725.0), "01:02:05");
        assert_eq!(etime(90_061.0), "1-01:01:01");
        assert_eq!(indent(0), "");
        assert_eq!(indent(1), " \\_ ");
        assert_eq!(indent(2), "     \\_ ");
    }
}
