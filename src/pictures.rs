//! Which report draws which picture: each demo's figure (drawn by its lab bench from the run's
//! JSON report), `oslab compare`'s (time per variant with its spread, lost updates) and a
//! thread-count sweep's (`scripts/sweep.sh`'s CSV, as a line plot).
//!
//! `--plot FILE` (the kit, after a run) and `oslab plot REPORT` (a saved report) both come here
//! with the same JSON, so a saved report draws the same picture as the run did.

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::catalogue::{self, Stat};
use crate::demos;
use crate::kit::plot::{Bar, Chart, Figure, Panel, Point, Report, Series, machine_line, time_unit};
use crate::kit::stats::median;
use crate::kit::timing::fmt_ns;

/// Draws a demo's figure from its report.
pub type Draw = fn(&Value) -> Result<Figure>;

/// Every demo that draws a picture, and how.
pub const FIGURES: &[(&str, Draw)] = &[
    ("sleep_jitter", demos::scheduling::sleep_jitter::figure),
    ("spawn_cost", demos::processes::spawn_cost::figure),
    ("cow_overhead", demos::processes::cow_overhead::figure),
    ("coop_sched", demos::scheduling::coop_sched::figure),
    ("nice_share", demos::scheduling::nice_share::figure),
    ("time_slice", demos::scheduling::time_slice::figure),
    ("sched_sim", demos::scheduling::sched_sim::figure),
    ("thread_states", demos::threads::thread_states::figure),
    ("proc_watch", demos::observation::proc_watch::figure),
];

/// How `demo` draws its picture; None for a demo with nothing to draw.
pub fn drawer(demo: &str) -> Option<Draw> {
    FIGURES
        .iter()
        .find(|(name, _)| *name == demo)
        .map(|(_, d)| *d)
}

/// The demos that draw a picture.
pub fn demos() -> Vec<&'static str> {
    FIGURES.iter().map(|(name, _)| *name).collect()
}

/// The picture of a saved report: a demo's JSON (`demo`), `oslab compare`'s (`family`), or
/// the text of a sweep's CSV.
pub fn of_text(text: &str) -> Result<Figure> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let report: Value = serde_json::from_str(text).context("the report is not valid JSON")?;
        of_report(&report)
    } else if trimmed.starts_with("demo,") {
        sweep(text)
    } else {
        bail!(
            "not a report: expected a demo's or oslab compare's JSON (--format json) or scripts/sweep.sh's CSV"
        )
    }
}

/// The picture of a JSON report: a demo's or `oslab compare`'s.
pub fn of_report(report: &Value) -> Result<Figure> {
    if report.get("family").is_some() {
        return compare(report);
    }
    let r = Report(report);
    let demo = r
        .demo()
        .context("not a demo's report (no \"demo\") nor oslab compare's (no \"family\")")?;
    match drawer(demo) {
        Some(draw) => draw(report),
        None if catalogue::find(demo).is_some() => bail!(
            "{demo} has no picture to draw; the demos that draw one: {}",
            demos().join(", ")
        ),
        None => bail!("no demo called {demo}"),
    }
}

/// True if `oslab compare`'s picture of `family` has something to draw: its first metric (or
/// `lost`) is a median.
pub fn draws_family(family: &catalogue::Family) -> bool {
    family
        .metrics
        .iter()
        .enumerate()
        .any(|(i, m)| (i == 0 || m.key == "lost") && m.stat == Stat::Median)
}

/// `oslab compare`'s picture: for each of the family's first metric (time) and `lost` (when the
/// family has it), a bar per variant at its median, every run as a dot.
fn compare(report: &Value) -> Result<Figure> {
    let r = Report(report);
    let name = r.str("/family")?;
    let family = catalogue::family(name).with_context(|| format!("no family called {name}"))?;
    let rows = r.list("/rows")?;
    let trials = r.num("/trials")?;
    let flags: Vec<&str> = r
        .list("/flags")?
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| *f != "--quiet")
        .collect();
    let mut panels = Vec::new();
    let keys = [family.metrics[0].key, "lost"];
    for metric in family
        .metrics
        .iter()
        .filter(|m| keys.contains(&m.key) && m.stat == Stat::Median)
    {
        let key = metric.key;
        let samples =
            |row: &Value| -> Result<Vec<f64>> { Report(row).nums(&format!("/samples/{key}")) };
        // Times in the unit the largest median reads best in.
        let all: Vec<Vec<f64>> = rows.iter().map(samples).collect::<Result<_>>()?;
        let top = all
            .iter()
            .map(|s| median(s.iter().copied()))
            .fold(0.0, f64::max);
        let (unit, div) = if metric.nanos {
            time_unit(top)
        } else {
            ("", 1.0)
        };
        let bars = rows
            .iter()
            .zip(&all)
            .map(|(row, s)| {
                let m = median(s.iter().copied());
                let note = if s.is_empty() {
                    "not run".to_string()
                } else if metric.nanos {
                    format!("{} (median of {})", fmt_ns(m), s.len())
                } else {
                    let with = s.iter().filter(|v| **v > 0.0).count();
                    format!("{m:.0}; {with} of {} runs lost some", s.len())
                };
                Ok(Bar {
                    label: Report(row).str("/variant")?.to_string(),
                    value: m / div,
                    samples: s.iter().map(|v| v / div).collect(),
                    expected: None,
                    note,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (title, x) = if metric.nanos {
            (
                format!(
                    "{} per run: median, every run a dot, min to max",
                    metric.label
                ),
                format!("{} ({unit})", metric.label),
            )
        } else {
            (
                "updates lost per run: median, every run a dot, min to max".to_string(),
                "updates lost (count)".to_string(),
            )
        };
        panels.push(Panel {
            title,
            x,
            y: "variant".into(),
            chart: Chart::Bars(bars),
        });
    }
    if panels.is_empty() {
        bail!("family {name} has no median metric to draw");
    }
    let partial = report.get("partial").and_then(Value::as_bool) == Some(true);
    Ok(Figure {
        title: format!("oslab compare {name}: {trials} runs of each, interleaved"),
        run: vec![
            format!(
                "oslab compare {name} --trials {trials}{}{}",
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" -- {}", flags.join(" "))
                },
                if partial {
                    " · stopped early: partial"
                } else {
                    ""
                }
            ),
            machine_line(report.get("system")),
        ],
        panels,
        columns: 1,
    })
}

/// A thread-count sweep (`scripts/sweep.sh DEMO 1 2 4 8 > sweep.csv`): the time and the lost
/// updates against the thread count, a line per demo (and `--lock`), each point the median of
/// its trials with a whisker from the smallest to the largest.
fn sweep(text: &str) -> Result<Figure> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = cells(lines.next().context("the CSV is empty")?);
    let column = |name: &str| header.iter().position(|h| h == name);
    let threads = column("threads").context(
        "the CSV has no threads column: scripts/sweep.sh's CSV of a demo with --threads is drawn",
    )?;
    let demo = column("demo").context("the CSV has no demo column")?;
    let lock = column("lock");
    let metrics: Vec<(usize, &str, &str, bool)> = [
        ("elapsed_ns", "time per run", "time (ms)", true),
        (
            "lost",
            "updates lost per run",
            "updates lost (count)",
            false,
        ),
    ]
    .into_iter()
    .filter_map(|(key, title, axis, ns)| column(key).map(|c| (c, title, axis, ns)))
    .collect();
    if metrics.is_empty() {
        bail!("the CSV has neither an elapsed_ns nor a lost column to draw");
    }
    // For each series (demo, and lock), in order: each thread count with its rows' values of
    // each metric.
    type Points = Vec<(f64, Vec<Vec<f64>>)>;
    let mut groups: Vec<(String, Points)> = Vec::new();
    let mut rows = 0;
    for (i, line) in lines.enumerate() {
        let row = cells(line);
        if row.len() != header.len() {
            bail!(
                "line {} of the CSV has {} cells, the header {}",
                i + 2,
                row.len(),
                header.len()
            );
        }
        let mut name = row[demo].clone();
        if let Some(lock) = lock.map(|c| &row[c]).filter(|l| !l.is_empty()) {
            name = format!("{name} --lock {lock}");
        }
        let n: f64 = row[threads]
            .parse()
            .with_context(|| format!("line {}: threads is {:?}", i + 2, row[threads]))?;
        let values: Vec<f64> = metrics
            .iter()
            .map(|(c, ..)| row[*c].parse().unwrap_or(f64::NAN))
            .collect();
        let g = match groups.iter().position(|(g, _)| *g == name) {
            Some(g) => g,
            None => {
                groups.push((name, Vec::new()));
                groups.len() - 1
            }
        };
        let points = &mut groups[g].1;
        match points.iter_mut().find(|(t, _)| *t == n) {
            Some((_, v)) => v.iter_mut().zip(values).for_each(|(v, x)| v.push(x)),
            None => points.push((n, values.into_iter().map(|x| vec![x]).collect())),
        }
        rows += 1;
    }
    if rows == 0 {
        bail!("the CSV has a header and no rows");
    }
    let panels = metrics
        .iter()
        .enumerate()
        .map(|(m, (_, title, axis, ns))| {
            let div = if *ns { 1e6 } else { 1.0 };
            let series = groups
                .iter()
                .map(|(name, points)| {
                    let mut points: Vec<Point> = points
                        .iter()
                        .map(|(x, v)| {
                            let s: Vec<f64> = v[m]
                                .iter()
                                .filter(|v| v.is_finite())
                                .map(|v| v / div)
                                .collect();
                            let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
                            let hi = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            Point {
                                x: *x,
                                y: median(s.iter().copied()),
                                low: (s.len() > 1).then_some(lo),
                                high: (s.len() > 1).then_some(hi),
                            }
                        })
                        .collect();
                    points.sort_by(|a, b| a.x.total_cmp(&b.x));
                    Series {
                        name: name.clone(),
                        points,
                    }
                })
                .collect();
            Panel {
                title: format!("{title}: median of the trials, min to max"),
                x: "threads (count)".into(),
                y: axis.to_string(),
                chart: Chart::Lines {
                    series,
                    marks: Vec::new(),
                },
            }
        })
        .collect();
    let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    Ok(Figure {
        title: format!("thread-count sweep: {}", names.join(", ")),
        run: vec![
            format!("scripts/sweep.sh's CSV: {rows} runs"),
            "the machine is not recorded in a CSV (the JSON reports have it)".into(),
        ],
        panels,
        columns: 1,
    })
}

/// One CSV line's cells, honouring `"…"` quoting (`""` inside quotes is `"`).
fn cells(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let cell = out.last_mut().expect("at least one cell");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => cell.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_honour_quotes() {
        assert_eq!(
            cells(r#"a,"b,c","say ""hi""",d"#),
            ["a", "b,c", "say \"hi\"", "d"]
        );
    }

    #[test]
    fn a_sweep_draws_a_line_per_demo_with_the_thread_counts() {
        let csv = "demo,variant,lock,threads,trial,lost,elapsed_ns\n\
                   race_condition,x,,1,1,0,1000000\n\
                   race_condition,x,,2,1,10,3000000\n\
                   race_condition,x,,2,2,30,5000000\n\
                   race_condition_mutex,y,pthread,2,1,0,9000000\n";
        let f = of_text(csv).unwrap();
        assert_eq!(f.panels.len(), 2);
        let Chart::Lines { series, .. } = &f.panels[0].chart else {
            panic!("a line plot")
        };
        assert_eq!(series.len(), 2);
        assert_eq!(series[1].name, "race_condition_mutex --lock pthread");
        let p = series[0].points[1];
        assert_eq!((p.x, p.y, p.low, p.high), (2.0, 4.0, Some(3.0), Some(5.0)));
        let svg = f.to_svg().unwrap();
        assert!(svg.contains("threads (count)") && svg.contains("time (ms)"));
        assert!(of_text("threads\n1\n").is_err());
        assert!(
            of_text("demo,x\nrace_condition,1\n")
                .unwrap_err()
                .to_string()
                .contains("threads")
        );
    }

    #[test]
    fn a_report_of_another_kind_is_refused_by_name() {
        let e = of_text("hello").unwrap_err().to_string();
        assert!(e.starts_with("not a report"), "{e}");
        let e = of_text(r#"{"demo": "nope"}"#).unwrap_err().to_string();
        assert_eq!(e, "no demo called nope");
        let e = of_text(r#"{"x": 1}"#).unwrap_err().to_string();
        assert!(e.starts_with("not a demo's report"), "{e}");
    }
}
