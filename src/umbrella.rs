//! What the umbrella (`oslab tour`, `oslab compare`) does around each demo it runs: finds the
//! binary, runs it with `--format json` as a child that dies with the umbrella, reads its
//! report, and passes Ctrl-C or SIGTERM on to it.
//!
//! A stop request (SIGINT or SIGTERM, to the umbrella alone or to its whole process group) is
//! forwarded to the demo that is running; the demo prints its partial report and exits 130/143,
//! and the umbrella reaps it, prints the partial table and exits the same way. A demo that does
//! not end within [`GIVE_UP`] of the forwarded signal is killed. If the umbrella itself is killed
//! (SIGKILL, a third Ctrl-C), the demo is killed with it (`PR_SET_PDEATHSIG`).

use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use serde_json::Value;

use crate::catalogue::{Demo, Family, Metric, Stat};
use crate::kit::interrupt;
use crate::kit::stats::{Spread, median};
use crate::process::{self, Exit};
use crate::sys;

/// How long a demo has to end after the umbrella passed a stop signal on to it (the demos act
/// on Ctrl-C within about 100 ms); then it is killed.
pub const GIVE_UP: Duration = Duration::from_secs(10);

/// Where the demo binaries are: next to this one. Under `cargo run`, which builds only the
/// binary it runs, the others are built first (once).
pub fn demo_path(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find oslab's own path")?;
    let dir = exe.parent().context("oslab's path has no directory")?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    if let (Some(cargo), Some(manifest)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) {
        eprintln!("oslab: building the demo binaries first (cargo build --bins) ...");
        let mut build = Command::new(cargo);
        build.arg("build").arg("--bins").current_dir(&manifest);
        if dir.file_name().is_some_and(|d| d == "release") {
            build.arg("--release");
        }
        let status = build.status().context("could not run cargo build")?;
        if status.success() && path.exists() {
            return Ok(path);
        }
    }
    bail!(
        "cannot find the demo binary {name} next to oslab in {}: build them all with `cargo build --release`",
        dir.display()
    )
}

/// A command for one of the binaries, with no input, that dies with this process.
pub fn command(path: &Path) -> Command {
    let mut cmd = Command::new(path);
    cmd.stdin(Stdio::null());
    sys::process::die_with_this_process(&mut cmd);
    cmd
}

/// What one demo run returned.
#[derive(Debug)]
pub struct DemoRun {
    pub exit: Exit,
    /// Its report, if stdout (or the file it exported) was one JSON document.
    pub report: Option<Value>,
    /// What it printed, when it ran in text mode ([`run_text`]).
    pub transcript: Option<String>,
    pub stderr: String,
    pub wall_ns: u64,
    /// The stop signal the umbrella received while the demo ran, and passed on to it.
    pub forwarded: Option<Signal>,
}

impl DemoRun {
    /// The shell's `$?` for it: its exit code, or 128 + the signal that killed it.
    pub fn code(&self) -> i32 {
        match self.exit {
            Exit::Code { code } => code,
            Exit::Signal { signal, .. } => 128 + signal,
        }
    }

    /// True when it ended because of `signal`, the one the umbrella was stopped by: it died of
    /// it, or caught it and exited 128 + its number, as every demo does.
    pub fn interrupted_by(&self, signal: Signal) -> bool {
        match self.exit {
            Exit::Signal { signal: s, .. } => s == signal as i32,
            Exit::Code { code } => code == i32::from(interrupt::exit_code(signal)),
        }
    }

    /// True when it refused its flags (exit 2, a usage error that names the flag).
    pub fn usage_error(&self) -> bool {
        self.exit == Exit::Code { code: 2 }
    }

    /// `exit 2`, or `killed by signal 9 (SIGKILL)`.
    pub fn how(&self) -> String {
        match self.exit {
            Exit::Code { code } => format!("exit {code}"),
            signal => signal.to_string(),
        }
    }

    /// A field of its report, as text (empty if it has none).
    pub fn field(&self, key: &str) -> String {
        self.report
            .as_ref()
            .and_then(|r| r.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

/// Runs `name` with `--format json` and `args`, reads its report, and passes a stop signal on
/// to it (see the module's notes). Its stdout and stderr are read as it runs.
pub fn run_json(name: &str, args: &[&str]) -> Result<DemoRun> {
    let run = run_with(name, &["--format", "json"], args)?;
    let report = serde_json::from_slice(&run.stdout).ok();
    Ok(run.finish(report, None))
}

/// Runs `name` as a student would, in text mode, with `args` and `--export DIR/name.json`: its
/// report comes from the file, and what it printed (the lecture's lines, the analysis) is kept
/// as its transcript. One run gives both.
pub fn run_text(name: &str, args: &[&str], dir: &Path) -> Result<DemoRun> {
    let file = dir.join(format!("{name}.json"));
    let export = file.to_string_lossy().into_owned();
    let run = run_with(name, &["--export", &export], args)?;
    let report = std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let transcript = String::from_utf8_lossy(&run.stdout).into_owned();
    Ok(run.finish(report, Some(transcript)))
}

/// A finished child before its report is read.
struct RawRun {
    exit: Exit,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    wall_ns: u64,
    forwarded: Option<Signal>,
}

impl RawRun {
    fn finish(self, report: Option<Value>, transcript: Option<String>) -> DemoRun {
        DemoRun {
            exit: self.exit,
            report,
            transcript,
            stderr: String::from_utf8_lossy(&self.stderr).trim().to_string(),
            wall_ns: self.wall_ns,
            forwarded: self.forwarded,
        }
    }
}

/// Runs `name` with `first` then `args`, reading its output as it runs and passing a stop
/// signal on to it.
fn run_with(name: &str, first: &[&str], args: &[&str]) -> Result<RawRun> {
    let path = demo_path(name)?;
    let started = Instant::now();
    // `first` first: flags after a `--` in `args` belong to a command the demo runs.
    let mut child = command(&path)
        .args(first)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {}", path.display()))?;
    let guard = process::Child::adopt(Pid::from_raw(child.id() as i32));
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let (exit, forwarded) = wait_passing_stop(guard)?;
    let wall_ns = started.elapsed().as_nanos() as u64;
    Ok(RawRun {
        exit,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        wall_ns,
        forwarded,
    })
}

/// Reads a child's pipe to its end on a thread of its own, so that neither pipe fills up.
fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for the demo to end and reaps it. A stop request meanwhile is passed on to it once;
/// if it has not ended [`GIVE_UP`] later, it is killed. The guard kills and reaps it if this
/// returns early with an error.
fn wait_passing_stop(child: process::Child) -> Result<(Exit, Option<Signal>)> {
    let pid = child.pid();
    let pidfd = sys::process::pidfd_open(pid).ok(); // None before Linux 5.3
    let mut forwarded: Option<(Signal, Instant)> = None;
    let mut killed = false;
    loop {
        if forwarded.is_none()
            && let Some(signal) = interrupt::requested()
        {
            let _ = kill(pid, signal);
            forwarded = Some((signal, Instant::now()));
        }
        if let Some((_, when)) = forwarded
            && !killed
            && when.elapsed() >= GIVE_UP
        {
            let _ = kill(pid, Signal::SIGKILL);
            killed = true;
        }
        let ended = match &pidfd {
            // A signal interrupts the poll (EINTR) on the thread it lands on; the timeout bounds
            // the wait on the others.
            Some(fd) => match sys::process::poll_readable(fd.as_fd(), 100) {
                Ok(ended) => ended,
                Err(nix::errno::Errno::EINTR) => false,
                Err(e) => bail!("poll on the demo's pidfd failed: {e}"),
            },
            None if ended_yet(pid) => true,
            None => {
                let _ = interrupt::sleep(Duration::from_millis(10));
                false
            }
        };
        if ended {
            break;
        }
    }
    Ok((child.wait()?, forwarded.map(|(signal, _)| signal)))
}

/// True once `pid`, our child, has ended (it is left to be reaped: `WNOWAIT`).
fn ended_yet(pid: Pid) -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    !matches!(
        waitid(
            Id::Pid(pid),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT
        ),
        Ok(WaitStatus::StillAlive)
    )
}

/// One line of `oslab tour`: a demo, how its run ended, its key figure, verdict and lesson.
#[derive(Debug, Serialize)]
pub struct TourRow {
    pub demo: &'static str,
    pub chapter: &'static str,
    pub ok: bool,
    /// Its `$?`: the exit code, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// It ended because of the stop signal the umbrella received (and passed on): not a
    /// failure.
    pub interrupted: bool,
    pub wall_ms: f64,
    pub headline: String,
    /// The demo's verdict on the lecture's claim: `{claim, held, because}` (null if it failed).
    pub verdict: Value,
    pub lesson: String,
}

impl TourRow {
    /// The row of `demo`'s run; `stopped`: the stop signal the umbrella has received, if any.
    pub fn of(demo: &Demo, run: &DemoRun, stopped: Option<Signal>) -> TourRow {
        let interrupted = stopped.is_some_and(|signal| run.interrupted_by(signal));
        // Most demos succeed with 0; deadlock's tour flags end in the deadlock it exists to
        // show, exit 3.
        let ok = !interrupted && run.code() == demo.tour_exit && run.report.is_some();
        let headline = match (ok, stopped.filter(|_| interrupted)) {
            (true, _) => run.field("headline"),
            (false, Some(signal)) => match run.field("headline") {
                h if h.is_empty() => format!("interrupted by {signal}"),
                h => format!("interrupted by {signal}: {h}"),
            },
            (false, None) => format!("FAILED ({}): {}", run.how(), run.stderr),
        };
        TourRow {
            demo: demo.name,
            chapter: demo.chapter.title(),
            ok,
            exit_code: run.code(),
            interrupted,
            wall_ms: run.wall_ns as f64 / 1e6,
            headline,
            verdict: run
                .report
                .as_ref()
                .and_then(|r| r.get("verdict"))
                .cloned()
                .unwrap_or(Value::Null),
            lesson: run.field("lesson"),
        }
    }

    /// `held`, `did not hold`, `could not be checked`, `interrupted`, or `failed`.
    pub fn verdict_word(&self) -> &'static str {
        match (self.ok, self.verdict.get("held")) {
            _ if self.interrupted => "interrupted",
            (false, _) | (_, None) => "failed",
            (true, Some(Value::Bool(true))) => "held",
            (true, Some(Value::Bool(false))) => "did not hold",
            (true, Some(_)) => "could not be checked",
        }
    }
}

/// `stopped by SIGINT during nice_share, after 5 of 23 demos`: what a stopped tour or compare
/// says of itself (None when it was not stopped).
pub fn partial_note(
    stopped: Option<Signal>,
    during: Option<&str>,
    done: usize,
    of: usize,
    what: &str,
) -> Option<String> {
    let signal = stopped?;
    Some(format!(
        "stopped by {signal}{}, after {done} of {of} {what}",
        during.map_or(String::new(), |d| format!(" during {d}"))
    ))
}

/// One run of a family's variant in `oslab compare`: its value of each metric, or why there is
/// none.
#[derive(Debug)]
pub enum Trial {
    /// The value of each of the family's metrics, in order.
    Values(Vec<f64>),
    /// A stop signal came (and was passed on): the comparison ends here.
    Stopped,
    /// The variant refused its flags (exit 2): the demo's own error, which names the flag.
    Refused(String),
}

/// Runs `member` (a demo and its flags) once with the family's flags and the user's (`args`),
/// and reads the family's metrics from the first trial of its report. A variant that fails in
/// another way than a usage error is an error.
pub fn compare_trial(family: &Family, member: &str, args: &[&str]) -> Result<Trial> {
    let mut words = member.split_whitespace();
    let demo = words.next().context("empty family member")?;
    let member_args: Vec<&str> = words.chain(args.iter().copied()).collect();
    let run = run_json(demo, &member_args)?;
    match &run.report {
        Some(report) if family.exit_codes.contains(&run.code()) => {
            let trial = report
                .pointer("/results/trials/0")
                .with_context(|| format!("{member}'s report has no trial"))?;
            let values = family.metrics.iter().map(|metric| {
                metric_value(trial, metric)
                    .with_context(|| format!("{member}'s report has no number {}", metric.key))
            });
            Ok(Trial::Values(values.collect::<Result<_>>()?))
        }
        _ if interrupt::requested().is_some() => Ok(Trial::Stopped),
        _ if run.usage_error() => Ok(Trial::Refused(format!(
            "{member} refused the flags ({}): {}",
            run.how(),
            run.stderr
        ))),
        _ => bail!("{member} failed ({}): {}", run.how(), run.stderr),
    }
}

/// A metric's value in one trial: a number, or a boolean as 0/1. A dotted key
/// (`latency.p50_ns`) reaches into nested objects.
pub fn metric_value(trial: &Value, metric: &Metric) -> Option<f64> {
    let v = trial.pointer(&format!("/{}", metric.key.replace('.', "/")))?;
    v.as_f64()
        .or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))
}

/// A metric's summary over one variant's runs: the median (NaN for none), or how many runs had
/// it.
pub fn summarise(metric: &Metric, samples: &[f64]) -> f64 {
    match metric.stat {
        Stat::Median => median(samples.iter().copied()),
        Stat::Count => samples.iter().filter(|&&v| v != 0.0).count() as f64,
    }
}

/// The first metric's ratio to the fastest variant's in each round, min and max: the rounds are
/// interleaved (round r of every variant ran one after the other, under the same conditions), so
/// each round gives one ratio. None when no round has both values (or the fastest's is 0).
pub fn paired_ratio_range(values: &[f64], fastest: &[f64]) -> Option<(f64, f64)> {
    let ratios = values
        .iter()
        .zip(fastest)
        .filter(|(_, f)| **f > 0.0)
        .map(|(v, f)| v / f);
    Spread::of(ratios).map(|s| (s.min, s.max))
}

/// The pairs of variants whose order the runs leave open, each as (the one with the smaller
/// median, the other), in order of median: neighbours by median where either one's median lies
/// within the other's min–max range, so another set of runs could well put them the other way
/// round. Variants without a spread (no runs) are left out; with one run each, nothing is
/// claimed either way (the caller says there is no spread).
pub fn unsettled(spreads: &[Option<Spread>]) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, Spread)> = spreads
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    order.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    order
        .windows(2)
        .filter(|w| {
            let (a, b) = (w[0].1, w[1].1);
            let spread = a.min < a.max || b.min < b.max;
            spread && (b.min <= a.median || a.max >= b.median)
        })
        .map(|w| (w[0].0, w[1].0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_pair_the_rounds_and_overlaps_leave_the_order_open() {
        assert_eq!(
            paired_ratio_range(&[2.0, 3.0, 4.0], &[1.0, 2.0, 2.0]),
            Some((1.5, 2.0))
        );
        assert_eq!(paired_ratio_range(&[2.0], &[0.0]), None);
        assert_eq!(paired_ratio_range(&[], &[]), None);
        let s = |v: &[f64]| Spread::of(v.iter().copied());
        // 0 and 2 overlap (2's median 10.5 is inside 0's 9–12); 1 is far above both.
        let spreads = [
            s(&[9.0, 10.0, 12.0]),
            s(&[30.0, 31.0, 35.0]),
            s(&[10.0, 10.5, 11.0]),
        ];
        assert_eq!(unsettled(&spreads), vec![(0, 2)]);
        // Ranges that touch only at their ends, medians outside each other's: settled.
        let apart = [s(&[1.0, 2.0, 3.0]), s(&[3.0, 4.0, 5.0])];
        assert!(unsettled(&apart).is_empty());
        // One run each: no spread, no claim.
        assert!(unsettled(&[s(&[1.0]), s(&[1.0])]).is_empty());
        assert!(unsettled(&[None, s(&[1.0, 2.0])]).is_empty());
    }

    fn run(exit: Exit) -> DemoRun {
        DemoRun {
            exit,
            report: None,
            transcript: None,
            stderr: String::new(),
            wall_ns: 0,
            forwarded: None,
        }
    }

    #[test]
    fn a_demo_that_ended_of_the_umbrellas_signal_was_interrupted() {
        let caught = run(Exit::Code { code: 130 });
        assert!(caught.interrupted_by(Signal::SIGINT));
        assert!(!caught.interrupted_by(Signal::SIGTERM));
        let died = run(Exit::Signal {
            signal: 15,
            core_dumped: false,
        });
        assert!(died.interrupted_by(Signal::SIGTERM));
        assert_eq!(
            (died.code(), died.how().as_str()),
            (143, "killed by signal 15 (SIGTERM)")
        );
        let failed = run(Exit::Code { code: 2 });
        assert!(failed.usage_error() && !failed.interrupted_by(Signal::SIGINT));
        assert_eq!(failed.how(), "exit 2");
    }
}
