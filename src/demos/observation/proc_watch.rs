//! `proc_watch`'s lab bench: the lines it prints as it reads (text), the totals, the `--forest`
//! table, and the analysis and verdict of both modes. In JSON and CSV mode the kit prints the
//! report at the end, as for every demo: every sample, the totals, the verdict.
//!
//! The lecture's part, reading `/proc/PID/stat` and `status` every interval and subtracting, is
//! in `src/bin/proc_watch.rs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::Serialize;

use crate::kit::plot;
use crate::kit::report::Output;
use crate::kit::timing::fmt_duration;
use crate::kit::{Context, Findings, Verdict, words};
use crate::proc::counters::{Delta, Snapshot};
use crate::proc::tree::PsStat;
use crate::process::{Child, Exit};
use crate::{Error, Result};

/// The standard tool for the same measurement.
const COMPARE: &str = "pidstat -r -w -u -p PID 1 (sysstat): the same faults, context switches and CPU, per second; or watch -n1 grep ctxt /proc/PID/status";

// ---------------------------------------------------------------------------------------------
// Watching one process

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub pid: Option<i32>,
    pub command: Vec<String>,
    pub interval_ns: u64,
    pub count: Option<u64>,
}

impl Params {
    pub fn new(
        pid: Option<i32>,
        command: &[String],
        interval: Duration,
        count: Option<u64>,
    ) -> Params {
        Params {
            pid,
            command: command.to_vec(),
            interval_ns: crate::kit::timing::nanos(interval),
            count,
        }
    }
}

/// One line: what changed since the previous one (a sample), or over the whole watch (the
/// summary).
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub kind: &'static str,
    /// Seconds since the watch began.
    pub t_s: f64,
    #[serde(flatten)]
    pub delta: Delta,
    /// Current values, not deltas.
    pub threads_now: u64,
    pub rss_kib_now: u64,
    /// With a COMMAND: the minor faults of the command and every process it created (alive,
    /// exited or reaped) since the watch began, as `perf stat -- COMMAND` counts its children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_minflt_since_start: Option<u64>,
}

/// A pause point a watched command reached or left (`kit::pause`'s log), on the watch's clock.
#[derive(Clone, Debug, Serialize)]
pub struct Pause {
    /// Seconds since the watch began.
    pub t_s: f64,
    pub pid: i32,
    /// `pause` or `resume`.
    pub event: String,
    pub what: String,
}

/// The minor faults of `pid` and of every process under it: its own (`/proc/PID/stat` field
/// 10), its reaped children's (field 11, `cminflt`, which the kernel adds to at each wait), and
/// each living or zombie child's, recursively (`/proc/PID/task/TID/children`). Gone: 0.
pub fn tree_minflt(pid: Pid) -> u64 {
    let Ok(process) = procfs::process::Process::new(pid.as_raw()) else {
        return 0;
    };
    let own = process.stat().map_or(0, |s| s.minflt + s.cminflt);
    let children: u64 = process
        .tasks()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{}/children", task.tid)).ok()
        })
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|c| c.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .map(|child| tree_minflt(Pid::from_raw(child)))
        .sum();
    own + children
}

/// How the watch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The process exited (its last line, if any, read from the zombie).
    Exited,
    /// `--count` lines were printed.
    Counted,
    /// Ctrl-C or SIGTERM.
    Stopped(Signal),
}

/// The text table's columns.
const HEADER: [&str; 10] = [
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

/// Starts `command` as our child; its stdout goes to our stderr unless we print text, so that
/// JSON and CSV on our stdout stay clean. The guard kills and reaps it on every path, and it
/// dies with us if we are killed (call this on the main thread: see `die_with_parent`).
///
/// Its pause points (`--pause`) are logged to `pause_log` (`kit::pause::LOG_ENV`), so that the
/// watch can mark them; on a terminal it shares our stdin, so ENTER here goes on past them (a
/// stdin that is not a terminal is not passed on: the command's pauses then go on at once).
pub fn start(
    command: &[String],
    out: Output,
    pause_log: &std::path::Path,
) -> std::io::Result<Child> {
    use std::io::IsTerminal as _;
    let mut cmd = std::process::Command::new(program(&command[0]));
    cmd.args(&command[1..])
        .env(crate::kit::pause::LOG_ENV, pause_log);
    if !std::io::stdin().is_terminal() {
        cmd.stdin(std::process::Stdio::null());
    }
    crate::sys::process::die_with_this_process(&mut cmd); // killed with us, even by SIGKILL
    if !out.is_text() {
        cmd.stdout(std::io::stderr());
    }
    let child = cmd.spawn()?;
    Ok(Child::adopt(Pid::from_raw(child.id() as i32)))
}

/// The program to start: one of oslab's demos named bare (`cow_overhead`) is the binary beside
/// this one, so that `proc_watch -- cow_overhead --pause` works from `target/release` without
/// it on PATH; any other name is looked up as the shell would.
fn program(name: &str) -> std::ffi::OsString {
    let beside = || {
        let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
        Some(dir.join(name)).filter(|p| p.is_file())
    };
    match crate::catalogue::find(name).filter(|_| !name.contains('/')) {
        Some(_) => beside().map_or_else(|| name.into(), |p| p.into_os_string()),
        None => name.into(),
    }
}

/// False once the process is gone or a zombie (exited, not yet reaped).
pub fn alive(pid: Pid) -> bool {
    procfs::process::Process::new(pid.as_raw())
        .and_then(|p| p.stat())
        .is_ok_and(|s| !matches!(s.state, 'Z' | 'X' | 'x'))
}

fn comm(pid: Pid) -> Result<String> {
    procfs::process::Process::new(pid.as_raw())
        .and_then(|p| p.stat())
        .map(|s| s.comm)
        .map_err(|_| Error::Failed(format!("no process {pid}: /proc/{pid} does not exist")))
}

/// The process `id` belongs to (`Tgid:` in `/proc/ID/status`): `id` itself, or the process of
/// which it is a thread. `/proc/TID` exists for every thread (unlisted), so a thread ID looks
/// like a PID until one asks.
pub fn process_of(id: Pid) -> Pid {
    procfs::process::Process::new(id.as_raw())
        .and_then(|p| p.status())
        .map_or(id, |s| Pid::from_raw(s.tgid))
}

/// The watch as it goes: the first reading, every line so far, and where they are printed.
pub struct Watcher {
    out: Output,
    pid: Pid,
    /// The thread ID given, when it was one: its process is watched.
    thread: Option<i32>,
    comm: String,
    began: Instant,
    /// `began` on CLOCK_MONOTONIC, for the pause log's times.
    began_ns: u64,
    first: Snapshot,
    last: Snapshot,
    samples: Vec<Line>,
    from_zombie: bool,
    /// With a COMMAND: its pause log, and how far it has been read.
    pause_log: Option<(std::path::PathBuf, u64)>,
    pauses: Vec<Pause>,
    /// With a COMMAND: its tree's minor faults at the start.
    tree_first: Option<u64>,
}

impl Watcher {
    /// Takes the first reading of `pid` and prints the title and the table's header (text).
    /// With `--count`, the room for every line is reserved first (a refusal names the limit).
    /// Given a thread's ID, it watches that thread's process, and says so: the counters of
    /// `/proc/TID/stat` are the whole process's anyway.
    ///
    /// `pause_log`: a command's pause log (see [`start`]); its tree's faults are counted too.
    pub fn new(
        out: Output,
        id: Pid,
        interval: Duration,
        count: Option<u64>,
        pause_log: Option<std::path::PathBuf>,
    ) -> Result<Watcher> {
        let samples = match count {
            Some(n) => crate::process::limits::allocate(n as usize, &format!("--count {n}"))?,
            None => Vec::new(),
        };
        let pid = process_of(id);
        let comm = comm(pid)?;
        let thread = (pid != id).then_some(id.as_raw());
        if let Some(tid) = thread {
            crate::kit::report::warn(format!(
                "{tid} is not a process but a thread of process {pid} ({comm}): watching process {pid}, whose counters cover all its threads (one thread's own are in /proc/{pid}/task/{tid}/stat)"
            ));
        }
        let first = Snapshot::of(pid)?;
        out.analysis(format_args!(
            "proc_watch: PID {pid} ({comm}){} every {}; each line is what changed since the line before",
            thread.map_or(String::new(), |t| format!(", the process of thread {t},")),
            fmt_duration(interval)
        ));
        out.lecture(text_row(&HEADER.map(String::from)));
        let tree_first = pause_log.as_ref().map(|_| tree_minflt(pid));
        Ok(Watcher {
            out,
            pid,
            thread,
            comm,
            began: Instant::now(),
            began_ns: crate::kit::timing::monotonic_ns(),
            first,
            last: first,
            samples,
            from_zombie: false,
            pause_log: pause_log.map(|path| (path, 0)),
            pauses: Vec::new(),
            tree_first,
        })
    }

    /// The process watched (the one given, or the process of the thread given).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The first reading.
    pub fn first(&self) -> Snapshot {
        self.first
    }

    /// Lines printed so far.
    pub fn lines(&self) -> u64 {
        self.samples.len() as u64
    }

    /// Prints one line: `delta`, what changed up to the reading `now`. `alive` is false for a
    /// reading of the exited process (a zombie).
    pub fn line(&mut self, delta: Delta, now: &Snapshot, alive: bool) -> Result<()> {
        self.read_pauses();
        let line = Line {
            kind: "sample",
            t_s: self.began.elapsed().as_secs_f64(),
            delta,
            threads_now: now.threads,
            rss_kib_now: now.rss_kib,
            tree_minflt_since_start: self
                .tree_first
                .map(|first| tree_minflt(self.pid).saturating_sub(first)),
        };
        self.out.lecture(text_line(&line));
        self.samples.push(line);
        self.last = *now;
        self.from_zombie = !alive;
        Ok(())
    }

    /// Reads the pause points logged since the last line, and prints each (text) as a line of
    /// its own in the table: `0.42s  ── PID 1234 paused: Child process started`.
    fn read_pauses(&mut self) {
        let Some((path, at)) = &mut self.pause_log else {
            return;
        };
        let (events, next) = crate::kit::pause::read_log(path, *at);
        *at = next;
        for e in events {
            let pause = Pause {
                t_s: e.monotonic_ns.saturating_sub(self.began_ns) as f64 / 1e9,
                pid: e.pid,
                event: e.event,
                what: e.what,
            };
            self.out.lecture(format_args!(
                "{:>7.2}s  ── PID {} {}: {}",
                pause.t_s,
                pause.pid,
                if pause.event == "pause" {
                    "paused"
                } else {
                    "went on"
                },
                pause.what
            ));
            self.pauses.push(pause);
        }
    }

    /// Ends the watch: prints the totals (text) and returns what was seen.
    pub fn finish(mut self, end: End, exit: Option<Exit>) -> Watch {
        self.read_pauses();
        let total = Line {
            kind: "summary",
            t_s: self.began.elapsed().as_secs_f64(),
            delta: self.first.delta(&self.last),
            threads_now: self.last.threads,
            rss_kib_now: self.last.rss_kib,
            tree_minflt_since_start: self.samples.last().and_then(|l| l.tree_minflt_since_start),
        };
        let watch = Watch {
            pid: self.pid.as_raw(),
            thread: self.thread,
            comm: self.comm,
            ended: match end {
                End::Exited => "exited".into(),
                End::Counted => "counted".into(),
                End::Stopped(signal) => format!("stopped by {signal}"),
            },
            end,
            exit,
            last_from_zombie: self.from_zombie,
            samples: self.samples,
            pauses: self.pauses,
            total,
        };
        self.out.lecture(watch.totals());
        watch
    }
}

/// One line of the table.
fn text_line(line: &Line) -> String {
    text_row(&[
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
    ])
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

/// What a watch saw: every line and the totals.
#[derive(Clone, Debug, Serialize)]
pub struct Watch {
    pub pid: i32,
    /// The thread ID given instead of a PID, if one was: `pid` is its process.
    pub thread: Option<i32>,
    pub comm: String,
    /// `exited`, `counted` or `stopped by SIGINT`.
    pub ended: String,
    #[serde(skip)]
    pub end: End,
    /// How a command proc_watch started ended.
    pub exit: Option<Exit>,
    /// The last line was read from the exited process, a zombie.
    pub last_from_zombie: bool,
    pub samples: Vec<Line>,
    /// A COMMAND's pause points, reached and left, in order.
    pub pauses: Vec<Pause>,
    pub total: Line,
}

/// A counter that only grows, by name, and how to read it from a delta.
type Counter = (&'static str, fn(&Delta) -> u64);

/// The counters the kernel only adds to: their deltas must add up to the totals.
const GROWING: [Counter; 6] = [
    ("minor faults", |d| d.minflt),
    ("major faults", |d| d.majflt),
    ("voluntary context switches", |d| d.voluntary_cs),
    ("nonvoluntary context switches", |d| d.nonvoluntary_cs),
    ("user CPU µs", |d| d.utime_us),
    ("system CPU µs", |d| d.stime_us),
];

impl Watch {
    /// The text line after the table: how it ended, and the totals.
    fn totals(&self) -> String {
        let why = match (self.end, self.exit) {
            (End::Exited, Some(status)) => format!("process {} ({}) {status}", self.pid, self.comm),
            (End::Exited, None) => format!("process {} ({}) has exited", self.pid, self.comm),
            (End::Counted, _) => words::count(self.samples.len() as u64, "line"),
            (End::Stopped(signal), _) => format!("stopped by {signal}"),
        };
        let d = &self.total.delta;
        format!(
            "{why}; totals over {:.1} s: {}, {} major, {} voluntary and {} nonvoluntary {}, {} ms user and {} ms system CPU",
            self.total.t_s,
            words::count(d.minflt, "minor fault"),
            d.majflt,
            d.voluntary_cs,
            d.nonvoluntary_cs,
            words::noun(d.voluntary_cs + d.nonvoluntary_cs, "context switch"),
            d.utime_us / 1000,
            d.stime_us / 1000
        )
    }

    /// The first counter whose lines do not add up to its total: (name, sum of the lines, total).
    fn mismatch(&self) -> Option<(&'static str, u64, u64)> {
        GROWING.iter().find_map(|&(name, read)| {
            let sum: u64 = self.samples.iter().map(|l| read(&l.delta)).sum();
            let total = read(&self.total.delta);
            (sum != total).then_some((name, sum, total))
        })
    }

    /// The line with the most minor faults.
    fn busiest(&self) -> Option<&Line> {
        self.samples
            .iter()
            .filter(|l| l.delta.minflt > 0)
            .max_by_key(|l| l.delta.minflt)
    }

    fn judge(&self) -> Verdict {
        let claim = "the counters only grow, so the lines' deltas add up to the totals";
        if self.samples.is_empty() {
            return Verdict::unchecked(
                claim,
                format!(
                    "no line was read: the process {} before the first interval ended",
                    match self.end {
                        End::Stopped(_) => "was still running when the watch was stopped",
                        _ => "was gone",
                    }
                ),
            );
        }
        let d = &self.total.delta;
        if GROWING.iter().all(|(_, read)| read(d) == 0) {
            return Verdict::unchecked(
                claim,
                format!(
                    "no counter moved in {}: the process slept through the watch",
                    words::count(self.samples.len() as u64, "line")
                ),
            );
        }
        match self.mismatch() {
            None => Verdict::held(
                claim,
                format!(
                    "the {} add up to {}, {}, {} voluntary and {} nonvoluntary {} and {} ms of CPU",
                    words::count(self.samples.len() as u64, "line"),
                    words::count(d.minflt, "minor fault"),
                    words::count(d.majflt, "major fault"),
                    d.voluntary_cs,
                    d.nonvoluntary_cs,
                    words::noun(d.voluntary_cs + d.nonvoluntary_cs, "context switch"),
                    (d.utime_us + d.stime_us) / 1000
                ),
            ),
            Some((name, sum, total)) => Verdict::did_not_hold(
                claim,
                format!(
                    "the lines' {name} add up to {sum}, but the total is {total}: {}",
                    if name.contains("context switch") {
                        "the switches are summed over the live threads, so a thread that exited between two readings took its own with it"
                    } else {
                        "a counter went backwards between two readings"
                    }
                ),
            ),
        }
    }

    fn teach(&self) -> String {
        let d = &self.total.delta;
        let what = format!(
            "PID {} ({}) made {}, {} voluntary and {} nonvoluntary {} and used {} ms of CPU in {:.1} s",
            self.pid,
            self.comm,
            words::count(d.minflt, "minor fault"),
            d.voluntary_cs,
            d.nonvoluntary_cs,
            words::noun(d.voluntary_cs + d.nonvoluntary_cs, "context switch"),
            (d.utime_us + d.stime_us) / 1000,
            self.total.t_s
        );
        let when = match self.busiest() {
            Some(l) if l.delta.minflt * 2 > d.minflt => format!(
                ", {} of the faults in the line at {:.2}s",
                l.delta.minflt, l.t_s
            ),
            _ => String::new(),
        };
        let missing = match self.mismatch() {
            Some((name, _, _)) if name.contains("context switch") => {
                " (the totals miss the switches of threads that ended: /proc/PID/status counts one thread, so they are summed over the live ones)"
            }
            _ => "",
        };
        format!(
            "{what}{when}{missing}: the kernel counts every fault, switch and tick for each process, and /proc/PID/stat and status are the scoreboard anyone may read at any time"
        )
    }
}

impl Findings for Watch {
    type Params = Params;
    type Row = Line;

    fn headline(&self, _p: &Params) -> String {
        let d = &self.total.delta;
        format!(
            "PID {} ({}) over {:.2} s: {}, {} voluntary / {} nonvoluntary {}, {} ms CPU",
            self.pid,
            self.comm,
            self.total.t_s,
            words::count(d.minflt, "minor fault"),
            d.voluntary_cs,
            d.nonvoluntary_cs,
            words::noun(d.voluntary_cs + d.nonvoluntary_cs, "switch"),
            (d.utime_us + d.stime_us) / 1000
        )
    }

    fn analysis(&self, _p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        if self.end == End::Exited && self.last_from_zombie {
            lines.push("note: the last line was read from the exited process, a zombie until its parent reaps it: its memory is gone (RSS 0), its counters are final".into());
        }
        if let Some(l) = self.busiest() {
            lines.push(format!(
                "the busiest line: {} at {:.2}s, of {} in all",
                words::count(l.delta.minflt, "minor fault"),
                l.t_s,
                self.total.delta.minflt
            ));
        }
        let own = self.total.delta.minflt;
        if let Some(tree) = self.total.tree_minflt_since_start.filter(|&t| t > own) {
            lines.push(format!(
                "with its children: {} in all, {} of them in its children (a forked child's copy-on-write faults are the child's; perf stat -- COMMAND counts them the same way)",
                words::count(tree, "minor fault"),
                tree - own
            ));
        }
        lines
    }

    fn verdict(&self, _p: &Params, _cx: &Context<'_>) -> Verdict {
        self.judge()
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        self.teach()
    }

    fn compare(&self, _p: &Params) -> String {
        COMPARE.into()
    }

    fn rows(&self, _p: &Params) -> Vec<Line> {
        self.samples.clone()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        Some(words::count(self.samples.len() as u64, "line"))
    }
}

/// The watch's picture: the minor faults so far against time (the process's own and, with a
/// COMMAND, its tree's), with the command's pause points marked, and the resident memory.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<plot::Figure> {
    use crate::kit::plot::{Chart, Mark, Panel, Point, Series};
    let r = plot::Report(report);
    let samples = r.list("/results/samples")?;
    if samples.is_empty() {
        anyhow::bail!("no line was read: nothing to draw");
    }
    let (pid, comm) = (r.num("/results/pid")?, r.str("/results/comm")?);
    // The watch began with nothing counted.
    let mut own = vec![Point::at(0.0, 0.0)];
    let mut tree = Vec::new();
    let mut rss = Vec::new();
    let mut faults = 0.0;
    for sample in samples {
        let s = plot::Report(sample);
        let t = s.num("/t_s")?;
        faults += s.num("/minflt")?;
        own.push(Point::at(t, faults));
        if let Ok(total) = s.num("/tree_minflt_since_start") {
            if tree.is_empty() {
                tree.push(Point::at(0.0, 0.0));
            }
            tree.push(Point::at(t, total));
        }
        rss.push(Point::at(t, s.num("/rss_kib_now")? / 1024.0));
    }
    let marks: Vec<Mark> = r
        .list("/results/pauses")
        .map(|p| p.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|p| p["event"] == "pause")
        .map(|p| Mark {
            at: p["t_s"].as_f64().unwrap_or(0.0),
            label: match p["pid"].as_f64() {
                Some(other) if other != pid => {
                    format!("PID {other} paused: {}", p["what"].as_str().unwrap_or(""))
                }
                _ => format!("paused: {}", p["what"].as_str().unwrap_or("")),
            },
        })
        .collect();
    let mut series = vec![Series {
        name: format!("PID {pid} ({comm})"),
        points: own,
    }];
    if !tree.is_empty() {
        series.push(Series {
            name: "with every process it created".into(),
            points: tree,
        });
    }
    let title = format!(
        "proc_watch: PID {pid} ({comm}), {} over {:.2} s{}",
        words::count(samples.len() as u64, "line"),
        r.num("/results/total/t_s").unwrap_or(0.0),
        if marks.is_empty() {
            String::new()
        } else {
            format!(
                ", {} marked",
                words::count(marks.len() as u64, "pause point")
            )
        }
    );
    let mut panels = vec![Panel {
        title: "minor page faults so far".into(),
        x: "time since the watch began (s)".into(),
        y: "minor faults".into(),
        chart: Chart::Lines {
            series,
            marks: marks.clone(),
        },
    }];
    // Memory over time needs two readings (a single one, of an exited process, is 0).
    if rss.len() >= 2 {
        panels.push(Panel {
            title: format!("resident memory of PID {pid}"),
            x: "time since the watch began (s)".into(),
            y: "RSS (MiB)".into(),
            chart: Chart::Lines {
                series: vec![Series {
                    name: format!("PID {pid} ({comm})"),
                    points: rss,
                }],
                marks,
            },
        });
    }
    Ok(plot::Figure {
        title,
        run: r.run_lines(),
        panels,
        columns: 1,
    })
}

// ---------------------------------------------------------------------------------------------
// --forest

/// `--forest` takes no parameters of its own.
#[derive(Clone, Debug, Serialize)]
pub struct ForestParams {
    pub forest: bool,
}

/// One process in the forest, ps's columns.
#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub pid: i32,
    pub ppid: i32,
    pub rss_kib: u64,
    pub vsz_kib: u64,
    pub etime: String,
    /// ps's STAT: the state letter, then `<` `N` `L` `s` `l` `+` (see [`PsStat`]).
    pub stat: String,
    pub comm: String,
    /// Depth in the tree (0 for a root).
    pub depth: usize,
}

/// Every process in `/proc`, by PID, ps's columns from each `/proc/PID/stat`.
pub fn every_process() -> Result<Vec<Row>> {
    let uptime_s: f64 = std::fs::read_to_string("/proc/uptime")
        .map_err(|e| Error::Failed(format!("cannot read /proc/uptime: {e}")))?
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Failed("/proc/uptime is not a number".into()))?;
    let ticks = procfs::ticks_per_second() as f64;
    let page_kib = procfs::page_size() / 1024;
    let mut rows: Vec<Row> = procfs::process::all_processes()
        .map_err(|e| Error::proc("/proc", e))?
        .flatten()
        // A process can exit between the listing and the read: skip it.
        .filter_map(|p| {
            let s = p.stat().ok()?;
            let locked = p.status().ok().and_then(|st| st.vmlck);
            Some((PsStat::of(&s, locked).text(), s))
        })
        .map(|(stat, s)| Row {
            pid: s.pid,
            ppid: s.ppid,
            rss_kib: s.rss * page_kib,
            vsz_kib: s.vsize / 1024,
            etime: etime(uptime_s - s.starttime as f64 / ticks),
            stat,
            comm: s.comm,
            depth: 0,
        })
        .collect();
    if rows.is_empty() {
        return Err(Error::Failed("no process found in /proc".into()));
    }
    rows.sort_by_key(|r| r.pid);
    Ok(rows)
}

/// Parents before children, children by PID, as `ps --forest` orders them; each row's depth
/// set. A process whose parent is not listed (PID 1, kthreadd, or a parent outside our PID
/// namespace) is a root.
pub fn tree_order(rows: &[Row]) -> Vec<Row> {
    let pids: HashSet<i32> = rows.iter().map(|r| r.pid).collect();
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

/// The forest, as printed: every process, parents before children.
#[derive(Clone, Debug, Serialize)]
pub struct Forest {
    pub rows: Vec<Row>,
}

impl Forest {
    /// Prints the forest as ps prints it (text; JSON and CSV are the kit's report).
    pub fn print(out: Output, rows: Vec<Row>) -> Result<Forest> {
        {
            {
                out.lecture(format_args!(
                    "{:>7} {:>7} {:>8} {:>9} {:>11} STAT COMMAND",
                    "PID", "PPID", "RSS", "VSZ", "ELAPSED"
                ));
                for r in &rows {
                    out.lecture(format_args!(
                        "{:>7} {:>7} {:>8} {:>9} {:>11} {:<4} {}{}",
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
        }
        Ok(Forest { rows })
    }

    fn roots(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.depth == 0)
    }

    /// Roots whose parent is a real PID that was not in the list: it ended while /proc was read.
    fn orphans(&self) -> Vec<&Row> {
        self.roots().filter(|r| r.ppid != 0).collect()
    }
}

impl Findings for Forest {
    type Params = ForestParams;
    type Row = Row;

    fn headline(&self, _p: &ForestParams) -> String {
        format!(
            "{} in {}, {} deep",
            words::count(self.rows.len() as u64, "process"),
            words::count(self.roots().count() as u64, "tree"),
            words::count(
                self.rows
                    .iter()
                    .map(|r| r.depth as u64 + 1)
                    .max()
                    .unwrap_or(0),
                "level"
            )
        )
    }

    fn analysis(&self, _p: &ForestParams, _cx: &Context<'_>) -> Vec<String> {
        let roots: Vec<String> = self
            .roots()
            .map(|r| format!("{} ({})", r.pid, r.comm))
            .collect();
        vec![format!("roots: {}", words::list(roots))]
    }

    fn verdict(&self, _p: &ForestParams, _cx: &Context<'_>) -> Verdict {
        let claim = "every process but the first ones (parent PID 0) has its parent in the list";
        let orphans = self.orphans();
        let roots = self.roots().count() as u64;
        if orphans.is_empty() {
            Verdict::held(
                claim,
                format!(
                    "{} hang from {} whose parent PID is 0",
                    words::count(self.rows.len() as u64 - roots, "process"),
                    words::count(roots, "root")
                ),
            )
        } else {
            Verdict::did_not_hold(
                claim,
                format!(
                    "{} had a parent PID that was not listed ({}): the parent ended while /proc was being read",
                    words::count(orphans.len() as u64, "process"),
                    words::list(orphans.iter().map(|r| format!("{} → {}", r.pid, r.ppid)))
                ),
            )
        }
    }

    fn lesson(&self, _p: &ForestParams, _cx: &Context<'_>) -> String {
        let parents: HashSet<i32> = self.rows.iter().map(|r| r.ppid).collect();
        let with_children = self
            .rows
            .iter()
            .filter(|r| parents.contains(&r.pid))
            .count();
        format!(
            "every process but the {} was created by the process above it (fork or clone): {} of the {} have children of their own, and a parent that ends hands its children to a subreaper or to PID 1",
            words::count(self.roots().count() as u64, "root"),
            with_children,
            words::count(self.rows.len() as u64, "process")
        )
    }

    fn compare(&self, _p: &ForestParams) -> String {
        "ps -e --forest -o pid,ppid,rss,vsz,etime,stat,comm; pstree -p".into()
    }

    fn rows(&self, _p: &ForestParams) -> Vec<Row> {
        self.rows.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(minflt: u64, voluntary_cs: u64) -> Delta {
        Delta {
            minflt,
            voluntary_cs,
            ..Delta::default()
        }
    }

    fn line(kind: &'static str, t_s: f64, delta: Delta) -> Line {
        Line {
            kind,
            t_s,
            delta,
            threads_now: 1,
            rss_kib_now: 0,
            tree_minflt_since_start: None,
        }
    }

    /// A watch of PID 42 whose lines saw these (minor faults, voluntary switches), and whose
    /// first and last readings differ by `total`.
    fn watch(lines: &[(u64, u64)], total: (u64, u64), end: End) -> Watch {
        Watch {
            pid: 42,
            thread: None,
            comm: "dd".into(),
            ended: String::new(),
            end,
            exit: None,
            last_from_zombie: end == End::Exited,
            samples: lines
                .iter()
                .enumerate()
                .map(|(i, &(f, v))| line("sample", i as f64 + 1.0, delta(f, v)))
                .collect(),
            pauses: Vec::new(),
            total: line("summary", lines.len() as f64, delta(total.0, total.1)),
        }
    }

    fn cx_verdict(w: &Watch) -> Verdict {
        let p = Params::new(Some(42), &[], Duration::from_secs(1), None);
        w.verdict(&p, &crate::testing::context())
    }

    #[test]
    fn lines_that_add_up_to_the_totals_hold() {
        let w = watch(&[(0, 1), (4096, 2), (1, 0)], (4097, 3), End::Exited);
        let v = cx_verdict(&w);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because
                .contains("the 3 lines add up to 4097 minor faults"),
            "{v:?}"
        );
        assert!(
            w.teach()
                .contains("4096 of the faults in the line at 2.00s"),
            "{}",
            w.teach()
        );
    }

    #[test]
    fn switches_lost_with_an_exited_thread_do_not_hold() {
        // The lines saw 5 voluntary switches, but the last reading has 2 more than the first:
        // a thread with 3 of them ended in between.
        let w = watch(&[(10, 3), (0, 2)], (10, 2), End::Counted);
        let v = cx_verdict(&w);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("add up to 5, but the total is 2"),
            "{v:?}"
        );
        assert!(v.because.contains("thread that exited"), "{v:?}");
        assert!(w.teach().contains("threads that ended"), "{}", w.teach());
    }

    #[test]
    fn a_watch_with_no_line_or_nothing_moving_cannot_be_checked() {
        let v = cx_verdict(&watch(&[], (0, 0), End::Exited));
        assert_eq!(v.held, None);
        assert!(v.because.contains("no line was read"), "{v:?}");
        let v = cx_verdict(&watch(&[(0, 0), (0, 0)], (0, 0), End::Counted));
        assert_eq!(v.held, None);
        assert!(v.because.contains("no counter moved in 2 lines"), "{v:?}");
    }

    #[test]
    fn totals_count_in_words() {
        let w = watch(&[(1, 1)], (1, 1), End::Counted);
        assert_eq!(
            w.totals(),
            "1 line; totals over 1.0 s: 1 minor fault, 0 major, 1 voluntary and 0 nonvoluntary context switch, 0 ms user and 0 ms system CPU"
        );
        let p = Params::new(Some(42), &[], Duration::from_secs(1), None);
        assert_eq!(
            w.headline(&p),
            "PID 42 (dd) over 1.00 s: 1 minor fault, 1 voluntary / 0 nonvoluntary switch, 0 ms CPU"
        );
        assert!(w.verdict(&p, &crate::testing::context()).held == Some(true));
    }

    fn row(pid: i32, ppid: i32) -> Row {
        Row {
            pid,
            ppid,
            rss_kib: 0,
            vsz_kib: 0,
            etime: String::new(),
            stat: "S".into(),
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
    fn a_forest_holds_until_a_parent_is_missing() {
        let p = ForestParams { forest: true };
        let mut rows = vec![row(1, 0), row(5, 1), row(7, 5)];
        let forest = Forest {
            rows: tree_order(&rows),
        };
        let v = forest.verdict(&p, &crate::testing::context());
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.contains("2 processes hang from 1 root"), "{v:?}");
        assert_eq!(forest.headline(&p), "3 processes in 1 tree, 3 levels deep");
        rows.push(row(30, 29)); // its parent ended while /proc was read
        let forest = Forest {
            rows: tree_order(&rows),
        };
        let v = forest.verdict(&p, &crate::testing::context());
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.contains("30 → 29"), "{v:?}");
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
