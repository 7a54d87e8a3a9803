//! oslab: the umbrella. `list` the demos, `tour` them all with small parameters, `compare` the
//! variants of one family side by side, `plot` a saved report as an SVG.
//!
//! The umbrella runs the demo binaries themselves (each a fresh process, as a student would run
//! it) with `--format json` and reads their reports; it measures nothing of its own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use oslab::catalogue::{self, Chapter, DEMOS, FAMILIES, Family, Stat};
use oslab::kit::cli::{self, ranged};
use oslab::kit::export::{self, Export, ExportArgs, ExportFormat};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{self, Format, print_line, table};
use oslab::kit::stats::Spread;
use oslab::kit::timing::{fmt_ns, sig3};
use oslab::lab_report::{self, CompareView, TourEntry};
use oslab::pictures;
use oslab::umbrella::{
    TourRow, Trial, compare_trial, demo_path, paired_ratio_range, partial_note, run_text,
    summarise, unsettled,
};
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
    after_help = "Examples:\n  oslab tour\n  oslab list\n  oslab compare race --trials 5\n  oslab compare granularity --trials 3 -- --threads 4 --steps 200000\n  oslab compare deadlock --trials 50\n  oslab compare race --plot race.svg\n  oslab plot report.json -o report.svg"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Every demo, by chapter, with its concept in one line
    List {
        /// Output: text (by chapter), json (one document: the demos and the families) or csv (a
        /// row per demo)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run every demo in turn with small parameters and print one summary table
    Tour {
        /// Output: text (the table of demos), json (one document) or csv (a row per demo)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,

        /// Also write the tour as one self-contained HTML page into FILE: the machine, then per
        /// demo what it printed, its verdict, its lesson and its picture (same as --export
        /// FILE.html)
        #[arg(long, value_name = "FILE.html", value_parser = export::export_path)]
        html: Option<PathBuf>,

        #[command(flatten)]
        export: ExportArgs,
    },
    /// Write the man pages (section 1) into DIR: every binary's, and one per subcommand
    /// (oslab-compare, signals-send)
    Man {
        /// Where to write the pages, e.g. ~/.local/share/man/man1
        dir: PathBuf,
    },
    /// Write every binary's completion script for SHELL into DIR
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
        /// Where to write the scripts, e.g. ~/.local/share/bash-completion/completions
        dir: PathBuf,
    },
    /// Draw a saved report as an SVG picture: a demo's JSON (--format json), oslab compare's
    /// JSON, or scripts/sweep.sh's CSV
    Plot {
        /// The report, or - for standard input
        report: PathBuf,
        /// Where to write the picture, or - for standard output [default: the report's name
        /// with .svg; standard output for standard input]
        #[arg(long, short, value_name = "FILE.svg", value_parser = cli::plot_path)]
        output: Option<PathBuf>,
    },
    /// Run the variants of one family interleaved and print their medians side by side
    Compare {
        /// The family: race (the five fixes for a lost update), granularity (coarse vs fine),
        /// mutex (the spinlock and three mutexes), deadlock (how often, and the cures), spawn
        /// (process vs thread creation), sum_array (1, 2, 4 workers: threads, processes, lock)
        /// or sleep_jitter (a sleep's overshoot: relative, absolute deadlines, busy-waiting)
        #[arg(value_parser = family_names())]
        family: String,

        /// Runs of each variant, interleaved (each a fresh process) [1-1000]
        #[arg(long, default_value_t = 5, allow_negative_numbers = true,
              value_parser = ranged::<u32>(1, 1000))]
        trials: u32,

        /// Output: text (the table and its notes), json (one document with every run's value)
        /// or csv (a row per variant)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,

        /// Also draw the comparison into FILE, an SVG: each variant's time (every run a dot)
        /// and lost updates
        #[arg(long, value_name = "FILE.svg", value_parser = cli::plot_path)]
        plot: Option<PathBuf>,

        /// Also write the comparison as one self-contained HTML page into FILE: the machine,
        /// the table and the picture (same as --export FILE.html)
        #[arg(long, value_name = "FILE.html", value_parser = export::export_path)]
        html: Option<PathBuf>,

        #[command(flatten)]
        export: ExportArgs,

        /// Flags passed to every variant, after `--` (e.g. -- --threads 4 --steps 100000)
        #[arg(last = true, value_name = "DEMO FLAGS")]
        flags: Vec<String>,
    },
}

/// What `oslab tour` and `compare` export: JSON, CSV, Markdown and an HTML page.
const UMBRELLA_EXPORTS: &[ExportFormat] = &[
    ExportFormat::Json,
    ExportFormat::Csv,
    ExportFormat::Md,
    ExportFormat::Html,
];

/// A usage error found after parsing (exit 2).
fn usage_error(why: &str) -> Result<ExitCode> {
    eprintln!("oslab: error: {why}");
    Ok(ExitCode::from(2))
}

/// Writes each export: `render` gives a format's text.
fn write_exports(
    exports: &[Export],
    text_mode: bool,
    render: impl Fn(ExportFormat) -> Result<String>,
) -> Result<()> {
    for e in exports {
        export::write(e, &render(e.format)?)?;
        if text_mode {
            print_line(format_args!(
                "report: {} ({})",
                e.path.display(),
                e.format.name()
            ));
        }
    }
    Ok(())
}

fn family_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(FAMILIES.iter().map(|f| f.name))
}

fn main() -> ExitCode {
    let (cli, _) = cli::parse::<Cli>("oslab", |c| c);
    cli::finish(match cli.command {
        Cmd::List { format } => list(format),
        Cmd::Tour {
            format,
            html,
            export,
        } => match export.resolve(html.as_deref(), UMBRELLA_EXPORTS) {
            Ok(exports) => tour(format, &exports),
            Err(why) => usage_error(&why),
        },
        Cmd::Man { dir } => man_pages(&dir),
        Cmd::Completions { shell, dir } => completions(shell, &dir),
        Cmd::Plot { report, output } => plot(&report, output.as_deref()),
        Cmd::Compare {
            family,
            trials,
            format,
            plot,
            html,
            export,
            flags,
        } => match export.resolve(html.as_deref(), UMBRELLA_EXPORTS) {
            Ok(exports) => catalogue::family(&family)
                .context("unknown family")
                .and_then(|family| {
                    compare(family, trials, format, plot.as_deref(), &exports, &flags)
                }),
            Err(why) => usage_error(&why),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// list

fn list(format: Format) -> Result<ExitCode> {
    match format {
        Format::Json => {
            let demos: Vec<_> = DEMOS
                .iter()
                .map(|d| {
                    let mut v = serde_json::to_value(d).expect("a demo serialises");
                    v["no_flags"] = json!(d.no_flags());
                    v
                })
                .collect();
            print_line(serde_json::to_string_pretty(&report::stamped(
                &report::utc_now(),
                json!({
                    "demos": demos,
                    "families": FAMILIES,
                }),
            ))?)
        }
        Format::Csv => {
            print_line("chapter,demo,concept,no_flags");
            for d in DEMOS {
                print_line(format_args!(
                    "{},{},\"{}\",\"{}\"",
                    d.chapter.title(),
                    d.name,
                    d.concept,
                    d.no_flags().unwrap_or("")
                ));
            }
        }
        Format::Text => {
            print_line(format_args!(
                "oslab: {} demos. Run one with no flags for the lecture's version ([marked]: how long it takes, or what it waits for); --help says more.",
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
                    .map(|d| {
                        let concept = match d.no_flags() {
                            Some(mark) => format!("{}  [{mark}]", d.concept),
                            None => d.concept.to_string(),
                        };
                        vec![format!("  {}", d.name), concept]
                    })
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
// man pages and completions

/// Asks every binary (oslab included) to write its man pages into DIR, with the hidden first
/// argument `--oslab-man DIR`: its own page and one per subcommand (`signals-send.1`).
fn man_pages(dir: &Path) -> Result<ExitCode> {
    let request = [std::ffi::OsStr::new(cli::MAN_FLAG), dir.as_os_str()];
    // Each binary prints the paths it wrote, one a line.
    generate_all(dir, &request, |_, stdout| Ok(stdout.lines().count()))
}

/// Asks every binary (oslab included) for its completion script for `shell`, with the hidden
/// first arguments `--oslab-completions SHELL`, and writes each into DIR.
fn completions(shell: clap_complete::Shell, dir: &Path) -> Result<ExitCode> {
    let shell_name = shell.to_string();
    let request = [
        std::ffi::OsStr::new(cli::COMPLETIONS_FLAG),
        std::ffi::OsStr::new(&shell_name),
    ];
    generate_all(dir, &request, |name, stdout| {
        let target = dir.join(clap_complete::Generator::file_name(&shell, name));
        std::fs::write(&target, stdout)
            .with_context(|| format!("cannot write {}", target.display()))?;
        Ok(1)
    })
}

/// Runs every binary (oslab included) with `request` and hands its name and stdout to `save`,
/// which returns how many files it stands for.
fn generate_all(
    dir: &Path,
    request: &[&std::ffi::OsStr],
    save: impl Fn(&str, &str) -> Result<usize>,
) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = std::iter::once("oslab").chain(DEMOS.iter().map(|d| d.name));
    let mut written = 0;
    for name in names {
        let path = if name == "oslab" {
            std::env::current_exe().context("cannot find oslab's own path")?
        } else {
            demo_path(name)?
        };
        let output = oslab::umbrella::command(&path)
            .args(request)
            .output()
            .with_context(|| format!("could not run {}", path.display()))?;
        if !output.status.success() {
            bail!(
                "{name} could not generate it: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        written += save(name, &String::from_utf8_lossy(&output.stdout))?;
    }
    eprintln!("oslab: wrote {written} files into {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// tour

fn tour(format: Format, exports: &[Export]) -> Result<ExitCode> {
    interrupt::install()?; // Ctrl-C, SIGTERM: passed on to the running demo, then the partial table
    // Find (under `cargo run`: build) every binary first, so the clock times only the demos.
    for demo in DEMOS {
        demo_path(demo.name)?;
    }
    // Each demo runs in text mode and exports its report here: one run gives the transcript
    // (for the HTML page) and the figures.
    let reports = tempfile::Builder::new()
        .prefix("oslab-tour-")
        .tempdir()
        .context("cannot make a directory for the demos' reports")?;
    let started = Instant::now();
    let run_at = report::utc_now();
    let bar = oslab::kit::progress::bar(DEMOS.len() as u64, "tour", false);
    let mut rows = Vec::new();
    let mut runs = Vec::new();
    for demo in DEMOS
        .iter()
        .take_while(|_| interrupt::requested().is_none())
    {
        bar.set_message(demo.name);
        let run = run_text(demo.name, demo.tour, reports.path())?;
        rows.push(TourRow::of(demo, &run, interrupt::requested()));
        runs.push(run);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    let stopped = interrupt::requested();
    let partial = partial_note(
        stopped,
        rows.last().filter(|r| r.interrupted).map(|r| r.demo),
        rows.iter().filter(|r| !r.interrupted).count(),
        DEMOS.len(),
        "demos",
    );
    let failed = rows.iter().filter(|r| !r.ok && !r.interrupted).count();
    let held = rows.iter().filter(|r| r.verdict_word() == "held").count();
    let system = Machine::collect();
    let document = report::stamped(
        &run_at,
        json!({
            "tour": rows,
            "partial": stopped.is_some(),
            "stopped_by": stopped.map(|s| s.as_str()),
            "failed": failed,
            "claims_held": held,
            "wall_s": wall_s,
            "system": system,
        }),
    );
    let csv = || report::to_csv("tour", &json!({}), &rows);
    match format {
        Format::Json => print_line(serde_json::to_string_pretty(&document)?),
        Format::Csv => print_line(csv()?.trim_end()),
        Format::Text => {
            print_line(format_args!(
                "oslab tour{}: {} demos on {} ({} CPUs usable, kernel {}), small sizes; each line is that demo's own report",
                partial
                    .as_ref()
                    .map_or(String::new(), |n| format!(" (partial: {n})")),
                rows.len(),
                system.cpu_model,
                system.cpus_usable_count,
                system.kernel
            ));
            print_line("");
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.demo.to_string(),
                        r.verdict_word().to_string(),
                        r.headline.clone(),
                    ]
                })
                .collect();
            report::print_raw_table(&table(&["demo", "verdict", "key figure"], &cells, false));
            print_line("\nlessons");
            for r in &rows {
                print_line(format_args!("  {:<31} {}", r.demo, r.lesson));
            }
            let ran = rows.iter().filter(|r| !r.interrupted).count();
            print_line(format_args!(
                "\n{}, {failed} failed; the lecture's claim held in {held} of {ran}; {wall_s:.1} s. Run any of them alone for the lecture's sizes; `oslab compare race` for the variants side by side.",
                partial
                    .as_ref()
                    .map_or(format!("{ran} demos"), |n| format!("partial: {n}")),
            ));
            if let Some(note) = system.hypervisor_note() {
                print_line(note);
            }
        }
    }
    let entries: Vec<TourEntry> = DEMOS
        .iter()
        .zip(&rows)
        .zip(&runs)
        .map(|((demo, row), run)| TourEntry {
            demo,
            row,
            report: run.report.as_ref(),
            transcript: run.transcript.as_deref(),
        })
        .collect();
    write_exports(exports, format == Format::Text, |f| {
        Ok(match f {
            ExportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&document)?),
            ExportFormat::Csv => csv()?,
            ExportFormat::Md => lab_report::tour_markdown(&document, &entries),
            ExportFormat::Html => lab_report::tour_html(&document, &entries),
        })
    })?;
    if let Some(note) = partial {
        eprintln!("oslab: {note}; results are partial");
        return Ok(interrupt::exit_status(stopped));
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
    /// The median of each median metric, keyed by metric.
    medians: serde_json::Map<String, Value>,
    /// For each count metric, how many runs had it (of `trials`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    counts: serde_json::Map<String, Value>,
    /// The min and max of each median metric over the runs (`{"min", "max"}`), keyed by metric.
    ranges: serde_json::Map<String, Value>,
    /// The first metric's median over the smallest one's (when the first metric is a median).
    ratio: Option<f64>,
    /// The first metric's ratio to the fastest variant's in each round (the rounds are
    /// interleaved), min and max; none for the fastest itself.
    ratio_range: Option<Range>,
    /// Every run's value of each metric, in run order.
    samples: serde_json::Map<String, Value>,
}

/// A min–max range.
#[derive(Clone, Copy, Serialize)]
struct Range {
    min: f64,
    max: f64,
}

fn compare(
    family: &Family,
    trials: u32,
    format: Format,
    plot: Option<&Path>,
    exports: &[Export],
    flags: &[String],
) -> Result<ExitCode> {
    if let Some(path) = plot {
        if !pictures::draws_family(family) {
            let families: Vec<&str> = FAMILIES
                .iter()
                .filter(|f| pictures::draws_family(f))
                .map(|f| f.name)
                .collect();
            eprintln!(
                "oslab: error: --plot: oslab compare {} has no picture to draw (it counts runs); the families that draw one: {}",
                family.name,
                families.join(", ")
            );
            return Ok(ExitCode::from(2));
        }
        oslab::kit::plot::check_writable(path)?;
    }
    interrupt::install()?; // Ctrl-C, SIGTERM: passed on to the running variant, then the partial table
    let run_at = report::utc_now();
    let mut args: Vec<&str> = family.args.to_vec();
    args.extend(flags.iter().map(String::as_str));
    args.push("--quiet");
    let mut samples: Vec<Vec<Vec<f64>>> =
        vec![vec![Vec::new(); family.metrics.len()]; family.members.len()];
    let bar = oslab::kit::progress::bar(
        u64::from(trials) * family.members.len() as u64,
        &format!("compare {}", family.name),
        false,
    );
    // Interleaved: round 1 runs every variant once, then round 2, ..., so a change in the
    // machine's state (frequency, another load) hits every variant alike.
    let (mut done, mut during) = (0, None);
    'rounds: for _ in 0..trials {
        for (m, member) in family.members.iter().enumerate() {
            if interrupt::requested().is_some() {
                break 'rounds;
            }
            match compare_trial(family, member, &args)? {
                Trial::Values(values) => {
                    values
                        .into_iter()
                        .zip(&mut samples[m])
                        .for_each(|(v, s)| s.push(v));
                    done += 1;
                }
                Trial::Stopped => {
                    during = Some(*member);
                    break 'rounds;
                }
                Trial::Refused(why) => {
                    bar.finish_and_clear();
                    eprintln!("oslab: error: {why}");
                    return Ok(ExitCode::from(2));
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let stopped = interrupt::requested();
    let all = trials as usize * family.members.len();
    let partial = partial_note(stopped, during, done, all, "runs");
    // Runs of each variant: `trials`, or fewer when stopped.
    let runs = |m: usize| samples[m][0].len();

    let summaries: Vec<Vec<f64>> = samples
        .iter()
        .map(|per_metric| {
            family
                .metrics
                .iter()
                .zip(per_metric)
                .map(|(metric, s)| summarise(metric, s))
                .collect()
        })
        .collect();
    let with_ratio = family.metrics[0].stat == Stat::Median;
    let fastest = summaries
        .iter()
        .map(|m| m[0])
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let fastest_at = summaries.iter().position(|m| m[0] == fastest);
    // Each median metric's spread over each variant's runs: [variant][metric].
    let spreads: Vec<Vec<Option<Spread>>> = samples
        .iter()
        .map(|per_metric| {
            family
                .metrics
                .iter()
                .zip(per_metric)
                .map(|(metric, s)| {
                    (metric.stat == Stat::Median)
                        .then(|| Spread::of(s.iter().copied()))
                        .flatten()
                })
                .collect()
        })
        .collect();
    let ratio_range = |m: usize| -> Option<Range> {
        let f = fastest_at.filter(|&f| f != m && with_ratio)?;
        paired_ratio_range(&samples[m][0], &samples[f][0]).map(|(min, max)| Range { min, max })
    };
    // Neighbours by the first metric whose ranges leave their order open.
    let open: Vec<(usize, usize)> = if with_ratio {
        unsettled(&spreads.iter().map(|s| s[0]).collect::<Vec<_>>())
    } else {
        Vec::new()
    };
    let one_run = (0..family.members.len()).all(|m| runs(m) <= 1);
    let of_stat = |m: usize, stat: Stat| -> serde_json::Map<String, Value> {
        family
            .metrics
            .iter()
            .zip(&summaries[m])
            .filter(|(metric, _)| metric.stat == stat)
            .map(|(metric, v)| (metric.key.to_string(), json!(v)))
            .collect()
    };
    let rows: Vec<CompareRow> = family
        .members
        .iter()
        .enumerate()
        .map(|(m, member)| CompareRow {
            variant: member,
            medians: of_stat(m, Stat::Median),
            counts: of_stat(m, Stat::Count),
            ranges: family
                .metrics
                .iter()
                .zip(&spreads[m])
                .filter_map(|(metric, s)| {
                    s.map(|s| (metric.key.to_string(), json!({"min": s.min, "max": s.max})))
                })
                .collect(),
            ratio: with_ratio.then(|| summaries[m][0] / fastest),
            ratio_range: ratio_range(m),
            samples: family
                .metrics
                .iter()
                .zip(&samples[m])
                .map(|(metric, s)| (metric.key.to_string(), json!(s)))
                .collect(),
        })
        .collect();

    let document = report::stamped(
        &run_at,
        json!({
            "family": family.name,
            "about": family.about,
            "trials": trials,
            "partial": stopped.is_some(),
            "stopped_by": stopped.map(|s| s.as_str()),
            "flags": args,
            "rows": rows,
            "unsettled": open
                .iter()
                .map(|&(a, b)| json!({"faster": family.members[a], "slower": family.members[b]}))
                .collect::<Vec<_>>(),
            "system": Machine::collect(),
        }),
    );
    let csv = || {
        let mut header = vec!["family".to_string(), "variant".into(), "trials".into()];
        for m in family.metrics {
            match m.stat {
                Stat::Median => {
                    header.extend(["median", "min", "max"].map(|s| format!("{}_{s}", m.key)))
                }
                Stat::Count => header.push(format!("{}_count", m.key)),
            }
        }
        if with_ratio {
            header.extend(["ratio", "ratio_min", "ratio_max"].map(String::from));
        }
        let mut text = header.join(",");
        text.push('\n');
        for (m, row) in rows.iter().enumerate() {
            let mut cells = vec![
                family.name.to_string(),
                row.variant.into(),
                runs(m).to_string(),
            ];
            for ((v, spread), metric) in summaries[m].iter().zip(&spreads[m]).zip(family.metrics) {
                cells.push(report::csv_number(*v));
                if metric.stat == Stat::Median {
                    let (lo, hi) = spread.map_or((String::new(), String::new()), |s| {
                        (report::csv_number(s.min), report::csv_number(s.max))
                    });
                    cells.extend([lo, hi]);
                }
            }
            if let Some(ratio) = row.ratio {
                cells.push(format!("{ratio:.3}"));
                // The fastest's ratio is 1 in every round.
                let r = row.ratio_range.unwrap_or(Range {
                    min: ratio,
                    max: ratio,
                });
                cells.extend([format!("{:.3}", r.min), format!("{:.3}", r.max)]);
            }
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        text
    };
    let view = || {
        let counted = family.metrics.iter().any(|m| m.stat == Stat::Count);
        let title = format!(
            "oslab compare {}: {} ({}, interleaved; {})",
            family.name,
            family.about,
            partial
                .as_ref()
                .map_or(format!("{trials} runs of each"), |n| format!(
                    "partial: {n}"
                )),
            if counted {
                "counts of runs, and medians"
            } else {
                "medians"
            }
        );
        // Every run's flags but the --quiet added last: the family's own, then the user's.
        let shown = &args[..args.len() - 1];
        let mut header: Vec<String> = vec!["variant".into()];
        header.extend(family.metrics.iter().map(|m| m.label.to_string()));
        if with_ratio {
            header.push(format!("{} ratio", family.metrics[0].label));
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .enumerate()
            .map(|(m, row)| {
                let mut c = vec![row.variant.to_string()];
                let metrics = family.metrics.iter().zip(&summaries[m]).zip(&spreads[m]);
                c.extend(metrics.map(|((metric, v), spread)| {
                    match (metric.stat, spread) {
                        (Stat::Count, _) => format!("{v:.0}/{}", runs(m)),
                        _ if v.is_nan() => "—".into(), // stopped before this variant ran
                        (Stat::Median, Some(s)) if s.min < s.max => {
                            with_range(*v, s.min, s.max, metric.nanos)
                        }
                        (Stat::Median, _) if metric.nanos => fmt_ns(*v),
                        (Stat::Median, _) => sig3_int(*v),
                    }
                }));
                if let Some(ratio) = row.ratio {
                    c.push(match row.ratio_range {
                        _ if ratio.is_nan() => "—".into(),
                        Some(r) if r.min < r.max => {
                            format!("{ratio:.2} ({:.2}–{:.2})", r.min, r.max)
                        }
                        _ => format!("{ratio:.2}"),
                    });
                }
                c
            })
            .collect();
        let mut notes = Vec::new();
        if with_ratio {
            notes.push(format!(
                "\nratio: each variant's median {} over the fastest's. Every run is a fresh process; its JSON has the raw samples (--format json).",
                family.metrics[0].label
            ));
        }
        notes.push(if one_run {
            "One run of each: no spread, so no order is settled by it (--trials 5 prints each median's min–max).".to_string()
        } else {
            "In parentheses: the min–max over the runs; beside a ratio, of each round's ratio (the rounds are interleaved, so each round's variants met the same machine).".to_string()
        });
        for &(a, b) in &open {
            let (sa, sb) = (
                spreads[a][0].expect("ranked"),
                spreads[b][0].expect("ranked"),
            );
            let metric = &family.metrics[0];
            notes.push(format!(
                "not settled: {} and {} overlap in {} ({} and {}): another set of runs may order them the other way; more --trials may settle it",
                family.members[a],
                family.members[b],
                metric.label,
                with_range(sa.median, sa.min, sa.max, metric.nanos),
                with_range(sb.median, sb.min, sb.max, metric.nanos),
            ));
        }
        if !with_ratio {
            notes.push(
                "\nk/N: the runs (of N) that had it. Every run is a fresh process; its JSON has the raw samples (--format json).".to_string(),
            );
        }
        CompareView {
            title,
            flags: (!shown.is_empty()).then(|| shown.join(" ")),
            header,
            cells,
            notes,
        }
    };
    match format {
        Format::Json => print_line(serde_json::to_string_pretty(&document)?),
        Format::Csv => print_line(csv().trim_end()),
        Format::Text => report::print_raw_table(&view().text()),
    }
    let figure = if plot.is_some()
        || (exports.iter().any(|e| e.format == ExportFormat::Html)
            && pictures::draws_family(family))
    {
        Some(pictures::of_report(&document).context("drawing the picture")?)
    } else {
        None
    };
    if let (Some(path), Some(figure)) = (plot, &figure) {
        figure.write(path)?;
        if format == Format::Text {
            print_line(format_args!(
                "picture: {} ({})",
                path.display(),
                figure.title
            ));
        }
    }
    write_exports(exports, format == Format::Text, |f| {
        Ok(match f {
            ExportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&document)?),
            ExportFormat::Csv => csv(),
            ExportFormat::Md => view().markdown(&document),
            ExportFormat::Html => {
                let svg = figure.as_ref().map(|f| f.to_svg()).transpose()?;
                let picture = svg
                    .as_deref()
                    .zip(figure.as_ref().map(|f| f.title.as_str()));
                view().html(&document, picture)
            }
        })
    })?;
    if let Some(note) = partial {
        eprintln!("oslab: {note}; results are partial");
    }
    Ok(interrupt::exit_status(stopped))
}

/// A median with its min–max in parentheses, the range in the median's unit: `3.54 ms
/// (3.50–3.62)`, `1148 (1002–1291)`.
fn with_range(median: f64, min: f64, max: f64, nanos: bool) -> String {
    if !nanos {
        return format!("{} ({}–{})", sig3_int(median), sig3_int(min), sig3_int(max));
    }
    let (div, unit) = match median.abs() {
        m if m < 1e3 => (1.0, "ns"),
        m if m < 1e6 => (1e3, "µs"),
        m if m < 1e9 => (1e6, "ms"),
        _ => (1e9, "s"),
    };
    format!(
        "{} {unit} ({}–{})",
        sig3(median / div),
        sig3(min / div),
        sig3(max / div)
    )
}

// ---------------------------------------------------------------------------------------------
// plot

/// Draws a saved report (`-`: standard input) into `output` (`-`: standard output; by default
/// the report's name with `.svg`, or standard output for standard input).
fn plot(report: &Path, output: Option<&Path>) -> Result<ExitCode> {
    let stdin = report == Path::new("-");
    let text = if stdin {
        std::io::read_to_string(std::io::stdin())
            .context("cannot read the report from standard input")?
    } else {
        std::fs::read_to_string(report)
            .with_context(|| format!("cannot read the report {}", report.display()))?
    };
    let figure = pictures::of_text(&text).with_context(|| {
        if stdin {
            "standard input".to_string()
        } else {
            report.display().to_string()
        }
    })?;
    let output = match output {
        Some(path) => path.to_path_buf(),
        None if stdin => PathBuf::from("-"),
        None => report.with_extension("svg"),
    };
    if output == Path::new("-") {
        print_line(figure.to_svg()?.trim_end());
    } else {
        figure.write(&output)?;
        print_line(format_args!(
            "picture: {} ({})",
            output.display(),
            figure.title
        ));
    }
    if let Some(error) = report::write_error() {
        bail!("writing the picture to standard output: {error}");
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
