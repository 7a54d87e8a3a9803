//! The run contract: every demo runs the same way.
//!
//! A demo's `main` hands [`run`] its name, its shared flags, its parameters and its body (the
//! lecture's program, which prints the lecture's lines as it goes). The body returns the run's
//! findings: a type that implements [`Findings`], which knows its headline, its analysis lines,
//! its verdict on the lecture's claim and its lesson. The kit does everything else, once:
//!
//! 1. starts the session: Ctrl-C and SIGTERM are caught, `--cpu` is applied, the machine is
//!    described and the process's counters are read;
//! 2. runs the body; an error is printed as `<demo>: error: <cause chain>` (exit 1);
//! 3. takes the counters' delta, and if a signal cut the run short says so on stderr
//!    (`<demo>: stopped by SIGINT after …; results are partial`);
//! 4. in text mode prints the analysis, then `verdict:`, `lesson:`, `compare:` and the
//!    hypervisor note (none of it with `--quiet`); in JSON or CSV mode prints the document;
//! 5. with `--plot FILE`, draws the run's figure from the report (`crate::pictures`) into FILE;
//!    with `--export FILE`, writes the report into FILE too, as JSON, CSV or Markdown
//!    ([`super::export`]), both checked for writing before the run starts;
//! 6. returns the exit status: 0, 3 where the demo's bad thing happened, 130/143 after a signal.
//!
//! Because only the kit prints the closing lines, every demo's output has the same shape, and
//! a result type's analysis and verdict are plain functions of fixed values, unit-tested.

use std::fmt::Display;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use nix::sys::signal::Signal;
use serde::Serialize;
use serde_json::Value;

use super::cli::{self, CommonArgs, CpuList};
use super::export::{self, ExportFormat};
use super::interrupt;
use super::machine::Machine;
use super::report::{self, Output, Report, SCHEMA_VERSION};
use crate::proc::counters::{Delta, Snapshot};

/// Parses a demo's command line into `A`, naming the binary `name` in `--version`, usage lines
/// and errors. A usage error exits 2, as clap does.
pub fn parse<A: Parser>(name: &'static str) -> A {
    cli::parse::<A>(name, |c| c).0
}

/// The lecture's claim, checked against this run: it held, it did not (and the run says why),
/// or the run could not tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// What the lecture says will happen, in a few words ("updates are lost").
    pub claim: String,
    /// `Some(true)`: held; `Some(false)`: did not hold; `None`: could not be checked.
    pub held: Option<bool>,
    /// The figure that decided it, and the reason when it did not hold.
    pub because: String,
}

impl Verdict {
    /// The claim held, as `because` shows.
    pub fn held(claim: impl Display, because: impl Display) -> Verdict {
        Verdict::of(claim, Some(true), because)
    }

    /// The claim did not hold; `because` gives the figure and the reason.
    pub fn did_not_hold(claim: impl Display, because: impl Display) -> Verdict {
        Verdict::of(claim, Some(false), because)
    }

    /// This run cannot say (it was stopped before the figure was measured, say).
    pub fn unchecked(claim: impl Display, because: impl Display) -> Verdict {
        Verdict::of(claim, None, because)
    }

    /// Held when `held` is true, did not hold otherwise.
    pub fn check(claim: impl Display, held: bool, because: impl Display) -> Verdict {
        Verdict::of(claim, Some(held), because)
    }

    fn of(claim: impl Display, held: Option<bool>, because: impl Display) -> Verdict {
        Verdict {
            claim: claim.to_string(),
            held,
            because: because.to_string(),
        }
    }

    /// `held`, `did not hold` or `could not be checked`.
    pub fn word(&self) -> &'static str {
        match self.held {
            Some(true) => "held",
            Some(false) => "did not hold",
            None => "could not be checked",
        }
    }

    /// The text line after `verdict: `: `held — updates are lost: 984947 of 2000000`.
    pub fn line(&self) -> String {
        format!("{} — {}: {}", self.word(), self.claim, self.because)
    }
}

/// What a demo's run found: the result type its body returns. It is serialised as the report's
/// `results`; the methods give everything the kit prints after the lecture's lines.
pub trait Findings: Serialize {
    /// The run's parameters, as reported (`params`); the kit adds `cpu` (`--cpu`).
    type Params: Serialize;
    /// One CSV row (a trial, a sample, a thread).
    type Row: Serialize;

    /// The key figure in one line (what `oslab tour` shows).
    fn headline(&self, params: &Self::Params) -> String;

    /// The analysis lines, printed after the lecture's lines (text mode, unless `--quiet`).
    fn analysis(&self, params: &Self::Params, cx: &Context<'_>) -> Vec<String>;

    /// The lecture's claim, checked against this run.
    fn verdict(&self, params: &Self::Params, cx: &Context<'_>) -> Verdict;

    /// What the measurement means, with the run's own numbers where a number is in it.
    fn lesson(&self, params: &Self::Params, cx: &Context<'_>) -> String;

    /// The field's standard tool for the same measurement, as a command to try.
    fn compare(&self, params: &Self::Params) -> String;

    /// The CSV rows.
    fn rows(&self, params: &Self::Params) -> Vec<Self::Row>;

    /// How far the run got, for the notice when a signal cut it short (`2 of 5 trials`):
    /// printed as `stopped by SIGINT after 2 of 5 trials`.
    fn progress(&self, _params: &Self::Params) -> Option<String> {
        None
    }

    /// The exit status of a run that ended by itself: 0, or 3 where the demo's "bad thing"
    /// happened and a script needs to know (a deadlock detected).
    fn status(&self) -> u8 {
        0
    }
}

/// What the body of a demo has while it runs.
#[derive(Debug)]
pub struct Session {
    /// Where the lecture's lines go (`out.lecture(…)`).
    pub out: Output,
    /// The machine, as it was when the run started.
    pub machine: Machine,
    /// `--cpu`, already applied to the calling thread (threads it creates inherit it).
    pub cpu: Option<CpuList>,
    /// When the run started, UTC.
    pub run_at: String,
}

impl Session {
    /// The signal that asked the demo to stop, if one did.
    pub fn stopped(&self) -> Option<Signal> {
        interrupt::requested()
    }
}

/// What the analysis of a finished run can look at besides its findings.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The machine the run was measured on.
    pub machine: &'a Machine,
    /// The process's counters over the whole run (every trial), from `/proc` and getrusage.
    pub counters: &'a Delta,
    /// The signal that cut the run short, if one did.
    pub stopped: Option<Signal>,
    /// `--cpu`, if given.
    pub cpu: Option<&'a CpuList>,
}

/// What a demo's `--export` writes (an HTML page comes from `oslab tour --html`).
const DEMO_EXPORTS: &[ExportFormat] = &[ExportFormat::Json, ExportFormat::Csv, ExportFormat::Md];

/// Runs a demo: starts the session, runs `body`, then prints (or exports) what it found, and
/// returns the exit status. See the module's documentation for the steps.
pub fn run<F, E>(
    name: &'static str,
    common: &CommonArgs,
    params: F::Params,
    body: impl FnOnce(&Session) -> Result<F, E>,
) -> ExitCode
where
    F: Findings,
    E: Into<anyhow::Error>,
{
    match run_inner(name, common, params, body) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{name}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner<F, E>(
    name: &'static str,
    common: &CommonArgs,
    params: F::Params,
    body: impl FnOnce(&Session) -> Result<F, E>,
) -> anyhow::Result<ExitCode>
where
    F: Findings,
    E: Into<anyhow::Error>,
{
    let draw = match &common.plot {
        Some(path) => match crate::pictures::drawer(name) {
            Some(draw) => {
                crate::kit::plot::check_writable(path)?;
                Some((draw, path))
            }
            None => {
                eprintln!(
                    "{name}: error: --plot: {name} has no picture to draw; the demos that draw one: {}",
                    crate::pictures::demos().join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let exports = match common.export.resolve(None, DEMO_EXPORTS) {
        Ok(exports) => exports,
        Err(why) => {
            eprintln!("{name}: error: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let session = start(common)?;
    let before = Snapshot::of_self()?;
    let findings = body(&session).map_err(Into::into)?;
    let counters = before.delta(&Snapshot::of_self()?);
    let stopped = interrupt::requested();
    let cx = Context {
        machine: &session.machine,
        counters: &counters,
        stopped,
        cpu: session.cpu.as_ref(),
    };
    if let Some(signal) = stopped {
        let after = findings
            .progress(&params)
            .map_or(String::new(), |p| format!(" after {p}"));
        eprintln!("{name}: stopped by {signal}{after}; results are partial");
    }
    let out = session.out;
    let verdict = findings.verdict(&params, &cx);
    let lesson = findings.lesson(&params, &cx);
    // The analysis is worked out in every mode: a Markdown export carries it too.
    let analysis = findings.analysis(&params, &cx);
    let compare = findings.compare(&params);
    if out.is_text() && !out.quiet {
        for line in &analysis {
            out.analysis(line);
        }
        out.analysis(format_args!("verdict: {}", verdict.line()));
        out.analysis(format_args!("lesson: {lesson}"));
        out.analysis(format_args!("compare: {compare}"));
        if let Some(note) = session.machine.hypervisor_note() {
            out.analysis(note);
        }
    }
    let report = Report {
        demo: name,
        schema_version: SCHEMA_VERSION,
        oslab: crate::VERSION,
        run_at: session.run_at.clone(),
        argv: report::argv(),
        params: with_cpu(&params, session.cpu.as_ref())?,
        headline: findings.headline(&params),
        verdict,
        lesson,
        partial: stopped.is_some(),
        counters,
        system: session.machine.clone(),
        results: &findings,
    };
    let rows = findings.rows(&params);
    out.finish(&report, &rows)?;
    if let Some(error) = report::write_error() {
        anyhow::bail!("writing the report: {error}");
    }
    for e in &exports {
        let text = match e.format {
            ExportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
            ExportFormat::Csv => report::to_csv(report.demo, &report.params, &rows)?,
            ExportFormat::Md | ExportFormat::Html => {
                export::demo_markdown(&serde_json::to_value(&report)?, &analysis, &compare)
            }
        };
        export::write(e, &text)?;
        out.analysis(format_args!(
            "report: {} ({})",
            e.path.display(),
            e.format.name()
        ));
    }
    if let Some((draw, path)) = draw {
        let figure = draw(&serde_json::to_value(&report)?).context("drawing the picture")?;
        figure.write(path)?;
        out.analysis(format_args!(
            "picture: {} ({})",
            path.display(),
            figure.title
        ));
    }
    Ok(match stopped {
        Some(signal) => ExitCode::from(interrupt::exit_code(signal)),
        None => ExitCode::from(findings.status()),
    })
}

/// What every demo does first: catch Ctrl-C and SIGTERM, apply `--cpu`, describe the machine.
fn start(common: &CommonArgs) -> crate::Result<Session> {
    interrupt::install()?;
    common.apply_cpu()?;
    Ok(Session {
        out: common.output(),
        machine: Machine::collect(),
        cpu: common.cpu.clone(),
        run_at: super::report::utc_now(),
    })
}

/// The parameters as reported: the demo's own, then `cpu` (`--cpu`, or null), which every demo
/// takes.
fn with_cpu(params: &impl Serialize, cpu: Option<&CpuList>) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(params)?;
    if let Value::Object(map) = &mut value {
        map.entry("cpu")
            .or_insert_with(|| cpu.map_or(Value::Null, |c| Value::String(c.to_string())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_lines_say_the_outcome_the_claim_and_the_figure() {
        let v = Verdict::check("updates are lost", true, "984947 of 2000000 (49.2%)");
        assert_eq!(
            v.line(),
            "held — updates are lost: 984947 of 2000000 (49.2%)"
        );
        let v = Verdict::check("updates are lost", false, "none of 2000000: one CPU");
        assert_eq!(v.word(), "did not hold");
        assert_eq!(
            Verdict::unchecked("x", "stopped").word(),
            "could not be checked"
        );
        let json = serde_json::to_value(Verdict::held("c", "b")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"claim": "c", "held": true, "because": "b"})
        );
    }

    #[test]
    fn params_gain_the_cpu_list_last() {
        #[derive(Serialize)]
        struct P {
            threads: u32,
        }
        let v = with_cpu(&P { threads: 2 }, Some(&CpuList(vec![0, 1]))).unwrap();
        assert_eq!(v.to_string(), r#"{"threads":2,"cpu":"0-1"}"#);
        let v = with_cpu(&P { threads: 2 }, None).unwrap();
        assert_eq!(v.to_string(), r#"{"threads":2,"cpu":null}"#);
    }
}
