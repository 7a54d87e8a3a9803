//! oslab: the umbrella. `list` the demos, `tour` them all with small parameters, `compare` the
//! variants of one family side by side.
//!
//! The umbrella runs the demo binaries themselves (each a fresh process, as a student would run
//! it) with `--format json` and reads their reports; it measures nothing of its own.

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use oslab::catalogue::{self, Chapter, DEMOS, FAMILIES, Family};
use oslab::cli::{self, ranged};
use oslab::report::{self, Format, print_line, table};
use oslab::stats::median;
use oslab::system::SystemInfo;
use oslab::timing::{fmt_ns, sig3};
use serde::Serialize;
use serde_json::{Value, json};

/// oslab: the classic operating-systems lecture demos, reproduced and measured on real Linux.
///
/// Each demo is its own binary (race_condition, fine_granularity, ...): it prints what the
/// lecture printed, then what the kernel's counters say about it. This command lists them,
/// tours them all, and compares the variants of a family.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Examples:\n  oslab tour\n  oslab list\n  oslab compare race --trials 5\n  oslab compare granularity --trials 3 -- --threads 4 --steps 200000"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Every demo, by chapter, with its concept in one line
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run every demo in turn with small parameters and print one summary table
    Tour {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the variants of one family interleaved and print their medians side by side
    Compare {
        /// The family: race (the five fixes for a lost update), granularity (coarse vs fine),
        /// mutex (the spinlock and three mutexes), spawn (process vs thread creation) or
        /// sum_array (1, 2, 4 workers: threads, processes, global lock)
        #[arg(value_parser = family_names())]
        family: String,

        /// Runs of each variant, interleaved (each a fresh process) [1-1000]
        #[arg(long, default_value_t = 5, allow_negative_numbers = true,
              value_parser = ranged::<u32>(1, 1000))]
        trials: u32,

        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,

        /// Flags passed to every variant, after `--` (e.g. -- --threads 4 --steps 100000)
        #[arg(last = true, value_name = "DEMO FLAGS")]
        flags: Vec<String>,
    },
}

fn family_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(FAMILIES.iter().map(|f| f.name))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::finish(match cli.command {
        Cmd::List { format } => list(format),
        Cmd::Tour { format } => tour(format),
        Cmd::Compare {
            family,
            trials,
            format,
            flags,
        } => catalogue::family(&family)
            .context("unknown family")
            .and_then(|family| compare(family, trials, format, &flags)),
    })
}

// ---------------------------------------------------------------------------------------------
// list

fn list(format: Format) -> Result<ExitCode> {
    match format {
        Format::Json => print_line(serde_json::to_string_pretty(&json!({
            "demos": DEMOS,
            "families": FAMILIES,
        }))?),
        Format::Csv => {
            print_line("chapter,demo,concept");
            for d in DEMOS {
                print_line(format_args!(
                    "{},{},\"{}\"",
                    d.chapter.title(),
                    d.name,
                    d.concept
                ));
            }
        }
        Format::Text => {
            print_line(format_args!(
                "oslab: {} demos. Run one with no flags for the lecture's version; --help says more.",
                DEMOS.len()
            ));
            let mut chapters: Vec<Chapter> = DEMOS.iter().map(|d| d.chapter).collect();
            chapters.sort();
            chapters.dedup();
            for chapter in chapters {
                print_line(format_args!("\n{}", chapter.title()));
                let rows: Vec<Vec<String>> = DEMOS
                    .iter()
                    .filter(|d| d.chapter == chapter)
                    .map(|d| vec![format!("  {}", d.name), d.concept.to_string()])
                    .collect();
                report::print_raw_table(&table(&["", ""], &rows, false));
            }
            print_line("\nfamilies (oslab compare FAMILY)");
            for f in FAMILIES {
                print_line(format_args!("  {:<12}  {}", f.name, f.about));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// running the demo binaries

/// Where the demo binaries are: next to this one. Under `cargo run`, which builds only the
/// binary it runs, the others are built first (once).
fn demo_path(name: &str) -> Result<PathBuf> {
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

/// What one demo run returned.
struct RunOutcome {
    code: i32,
    report: Option<Value>,
    stderr: String,
    wall_ns: u64,
}

/// Runs `name` with `args` plus `--format json`, and reads its report.
fn run_json(name: &str, args: &[&str]) -> Result<RunOutcome> {
    let path = demo_path(name)?;
    let started = Instant::now();
    let output = Command::new(&path)
        .args(args)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {}", path.display()))?;
    let wall_ns = started.elapsed().as_nanos() as u64;
    Ok(RunOutcome {
        code: output.status.code().unwrap_or(-1),
        report: serde_json::from_slice(&output.stdout).ok(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        wall_ns,
    })
}

// ---------------------------------------------------------------------------------------------
// tour

#[derive(Serialize)]
struct TourRow {
    demo: &'static str,
    chapter: &'static str,
    ok: bool,
    exit_code: i32,
    wall_ms: f64,
    headline: String,
    lesson: String,
}

fn tour(format: Format) -> Result<ExitCode> {
    let started = Instant::now();
    let bar = oslab::progress::bar(DEMOS.len() as u64, "tour", false);
    let mut rows = Vec::new();
    for demo in DEMOS {
        bar.set_message(demo.name);
        let run = run_json(demo.name, demo.tour)?;
        let field = |k: &str| {
            run.report
                .as_ref()
                .and_then(|r| r.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let ok = run.code == 0 && run.report.is_some();
        rows.push(TourRow {
            demo: demo.name,
            chapter: demo.chapter.title(),
            ok,
            exit_code: run.code,
            wall_ms: run.wall_ns as f64 / 1e6,
            headline: if ok {
                field("headline")
            } else {
                format!("FAILED (exit {}): {}", run.code, run.stderr)
            },
            lesson: field("lesson"),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = rows.iter().filter(|r| !r.ok).count();
    match format {
        Format::Json => print_line(serde_json::to_string_pretty(&json!({
            "tour": rows,
            "failed": failed,
            "wall_s": started.elapsed().as_secs_f64(),
            "system": SystemInfo::collect(),
        }))?),
        Format::Csv => print_line(report::to_csv("tour", &json!({}), &rows)?.trim_end()),
        Format::Text => {
            let system = SystemInfo::collect();
            print_line(format_args!(
                "oslab tour: {} demos on {} ({} CPUs usable, kernel {}), small sizes; each line is that demo's own report",
                rows.len(),
                system.cpu_model,
                system.cpus_usable_count,
                system.kernel
            ));
            print_line("");
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| vec![r.demo.to_string(), r.headline.clone()])
                .collect();
            report::print_raw_table(&table(&["demo", "key figure"], &cells, false));
            print_line("\nlessons");
            for r in &rows {
                print_line(format_args!("  {:<31} {}", r.demo, r.lesson));
            }
            print_line(format_args!(
                "\n{} demos, {} failed, {:.1} s. Run any of them alone for the lecture's sizes; `oslab compare race` for the variants side by side.",
                rows.len(),
                failed,
                started.elapsed().as_secs_f64()
            ));
            if let Some(note) = system.hypervisor_note() {
                print_line(note);
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

// ---------------------------------------------------------------------------------------------
// compare

#[derive(Serialize)]
struct CompareRow {
    variant: &'static str,
    /// The median of each metric, keyed by metric.
    medians: serde_json::Map<String, Value>,
    /// The first metric's median over the smallest one's.
    ratio: f64,
    /// Every run's value of each metric, in run order.
    samples: serde_json::Map<String, Value>,
}

fn compare(family: &Family, trials: u32, format: Format, flags: &[String]) -> Result<ExitCode> {
    let mut args: Vec<&str> = family.args.to_vec();
    args.extend(flags.iter().map(String::as_str));
    args.push("--quiet");
    let mut samples: Vec<Vec<Vec<f64>>> =
        vec![vec![Vec::new(); family.metrics.len()]; family.members.len()];
    let bar = oslab::progress::bar(
        u64::from(trials) * family.members.len() as u64,
        &format!("compare {}", family.name),
        false,
    );
    // Interleaved: round 1 runs every variant once, then round 2, ..., so a change in the
    // machine's state (frequency, another load) hits every variant alike.
    for _ in 0..trials {
        for (m, member) in family.members.iter().enumerate() {
            let mut words = member.split_whitespace();
            let demo = words.next().context("empty family member")?;
            let member_args: Vec<&str> = words.chain(args.iter().copied()).collect();
            let run = run_json(demo, &member_args)?;
            let Some(report) = run.report.filter(|_| run.code == 0) else {
                bail!("{member} failed (exit {}): {}", run.code, run.stderr);
            };
            let trial = report
                .pointer("/results/trials/0")
                .with_context(|| format!("{member}'s report has no trial"))?;
            for (k, metric) in family.metrics.iter().enumerate() {
                let v = trial
                    .pointer(&format!("/{}", metric.key.replace('.', "/")))
                    .and_then(Value::as_f64)
                    .with_context(|| format!("{member}'s report has no number {}", metric.key))?;
                samples[m][k].push(v);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let medians: Vec<Vec<f64>> = samples
        .iter()
        .map(|per_metric| {
            per_metric
                .iter()
                .map(|s| median(s.iter().copied()))
                .collect()
        })
        .collect();
    let fastest = medians
        .iter()
        .map(|m| m[0])
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let rows: Vec<CompareRow> = family
        .members
        .iter()
        .enumerate()
        .map(|(m, member)| CompareRow {
            variant: member,
            medians: family
                .metrics
                .iter()
                .zip(&medians[m])
                .map(|(metric, v)| (metric.key.to_string(), json!(v)))
                .collect(),
            ratio: medians[m][0] / fastest,
            samples: family
                .metrics
                .iter()
                .zip(&samples[m])
                .map(|(metric, s)| (metric.key.to_string(), json!(s)))
                .collect(),
        })
        .collect();

    match format {
        Format::Json => print_line(serde_json::to_string_pretty(&json!({
            "family": family.name,
            "about": family.about,
            "trials": trials,
            "flags": args,
            "rows": rows,
            "system": SystemInfo::collect(),
        }))?),
        Format::Csv => {
            let mut header = vec!["family".to_string(), "variant".into(), "trials".into()];
            header.extend(family.metrics.iter().map(|m| format!("{}_median", m.key)));
            header.push("ratio".into());
            print_line(header.join(","));
            for (m, row) in rows.iter().enumerate() {
                let mut cells = vec![
                    family.name.to_string(),
                    row.variant.into(),
                    trials.to_string(),
                ];
                cells.extend(medians[m].iter().map(|v| v.to_string()));
                cells.push(format!("{:.3}", row.ratio));
                print_line(cells.join(","));
            }
        }
        Format::Text => {
            print_line(format_args!(
                "oslab compare {}: {} ({} runs of each, interleaved; medians)",
                family.name, family.about, trials
            ));
            if !flags.is_empty() {
                print_line(format_args!("flags: {}", flags.join(" ")));
            }
            let mut header: Vec<&str> = vec!["variant"];
            header.extend(family.metrics.iter().map(|m| m.label));
            let ratio_label = format!("{} ratio", family.metrics[0].label);
            header.push(&ratio_label);
            let cells: Vec<Vec<String>> = rows
                .iter()
                .enumerate()
                .map(|(m, row)| {
                    let mut c = vec![row.variant.to_string()];
                    c.extend(family.metrics.iter().zip(&medians[m]).map(|(metric, v)| {
                        if metric.nanos {
                            fmt_ns(*v)
                        } else {
                            sig3_int(*v)
                        }
                    }));
                    c.push(format!("{:.2}", row.ratio));
                    c
                })
                .collect();
            print_line("");
            report::print_raw_table(&table(&header, &cells, true));
            print_line(format_args!(
                "\nratio: each variant's median {} over the fastest's. Every run is a fresh process; its JSON has the raw samples (--format json).",
                family.metrics[0].label
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Counts print whole; fractional medians (an even number of runs) keep three figures.
fn sig3_int(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        sig3(v)
    }
}
