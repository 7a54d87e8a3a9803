//! `--export FILE`: the run's report kept in a file while the text still prints, as hyperfine's
//! `--export-json/-csv/-markdown` do. One run, so the file and the screen hold the same
//! measurement.
//!
//! The format comes from `--export-format`, else from the file's extension (`.json`, `.csv`,
//! `.md`/`.markdown`, `.html`/`.htm`). `--export` repeats: `--export r.json --export r.csv`.
//! A demo writes JSON, CSV or Markdown; `oslab tour` and `oslab compare` write HTML too (a page
//! with the pictures inline: [`crate::kit::html`]). Every file is checked for writing before the
//! run starts, so a typo costs nothing; a file that cannot be written at the end is an error
//! (exit 1) naming it, and the text has been printed by then.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

/// What an exported file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The JSON document `--format json` prints.
    Json,
    /// The CSV `--format csv` prints.
    Csv,
    /// A Markdown report: what was run, the verdict, the figures, the lesson.
    Md,
    /// A self-contained HTML page (oslab tour and oslab compare).
    Html,
}

impl ExportFormat {
    /// The name, as `--export-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Md => "md",
            ExportFormat::Html => "html",
        }
    }

    /// The format a file name's extension names, if it names one.
    pub fn of_extension(path: &Path) -> Option<ExportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(ExportFormat::Json),
            "csv" => Some(ExportFormat::Csv),
            "md" | "markdown" => Some(ExportFormat::Md),
            "html" | "htm" => Some(ExportFormat::Html),
            _ => None,
        }
    }
}

/// `--export FILE` (repeatable) and `--export-format`, as every demo and `oslab tour` and
/// `compare` take them.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ExportArgs {
    /// Also write the run's report into FILE, while the text prints as usual: JSON, CSV or
    /// Markdown, by the name's extension (.json, .csv, .md) or --export-format; repeat it for
    /// several files. One run, so the file and the screen hold the same measurement
    #[arg(long, value_name = "FILE", value_parser = export_path, global = true)]
    pub export: Vec<PathBuf>,

    /// The format of every --export file, whatever its name
    #[arg(long, value_enum, value_name = "FORMAT", global = true)]
    pub export_format: Option<ExportFormat>,
}

impl ExportArgs {
    /// The files to write, `html` (`--html FILE`) last; each checked for writing now, before the
    /// run. `Err(message)`: a usage error (exit 2).
    pub fn resolve(
        &self,
        html: Option<&Path>,
        allowed: &[ExportFormat],
    ) -> Result<Vec<Export>, String> {
        let mut exports = resolve(&self.export, self.export_format, allowed)?;
        exports.extend(html.map(|path| Export {
            path: path.to_path_buf(),
            format: ExportFormat::Html,
        }));
        for e in &exports {
            let flag = if e.format == ExportFormat::Html && Some(e.path.as_path()) == html {
                "--html"
            } else {
                "--export"
            };
            check_writable(flag, "the report", &e.path).map_err(|e| format!("{e:#}"))?;
        }
        Ok(exports)
    }
}

/// One file to write at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub path: PathBuf,
    pub format: ExportFormat,
}

/// A value parser for `--export`: a file name (not empty, not a directory).
pub fn export_path(s: &str) -> Result<PathBuf, String> {
    file_name(s, "run.json")
}

/// A file name given on the command line, not empty and not a directory; the error gives
/// `example` as one that would do.
pub fn file_name(s: &str, example: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if s.is_empty() {
        Err(format!("expected a file name, such as {example}"))
    } else if path.is_dir() {
        Err(format!(
            "{s} is a directory: expected a file name, such as {s}/{example}"
        ))
    } else {
        Ok(path)
    }
}

/// The files to write: each path with the format `--export-format` gives, or else its
/// extension's. `allowed` are the formats this command writes. The error is a usage error's
/// message (exit 2), naming the file.
pub fn resolve(
    paths: &[PathBuf],
    format: Option<ExportFormat>,
    allowed: &[ExportFormat],
) -> Result<Vec<Export>, String> {
    let names = || {
        allowed
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    paths
        .iter()
        .map(|path| {
            let format = format
                .or_else(|| ExportFormat::of_extension(path))
                .ok_or_else(|| {
                    format!(
                        "--export {}: cannot tell the format from the name; end it in .{} or add --export-format",
                        path.display(),
                        allowed
                            .iter()
                            .map(|f| f.name())
                            .collect::<Vec<_>>()
                            .join(", .")
                    )
                })?;
            if !allowed.contains(&format) {
                return Err(format!(
                    "--export {}: this command does not write {}; it writes {}{}",
                    path.display(),
                    format.name(),
                    names(),
                    if format == ExportFormat::Html {
                        " (an HTML page comes from oslab tour --html or oslab compare --html)"
                    } else {
                        ""
                    }
                ));
            }
            Ok(Export {
                path: path.clone(),
                format,
            })
        })
        .collect()
}

/// Checks that `path` can be written (`what`: "the picture"), before the run: it is opened for appending (created if
/// missing, then removed again), so nothing that was there is lost.
pub fn check_writable(flag: &str, what: &str, path: &Path) -> anyhow::Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("{flag}: cannot write {what} to {}", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Writes `text` to the export's file, naming it in the error.
pub fn write(export: &Export, text: &str) -> anyhow::Result<()> {
    std::fs::write(&export.path, text).with_context(|| {
        format!(
            "--export: cannot write the {} report to {}",
            export.format.name(),
            export.path.display()
        )
    })
}

/// Markdown text for a cell of a table: `|` escaped, lines joined.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table.
pub fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The line under a report's title: what was run, when, by which oslab, on what machine.
pub fn md_provenance(doc: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("unknown").to_string();
    let argv: Vec<String> = doc["argv"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    let system = &doc["system"];
    let mut line = format!(
        "`{}` · {} · oslab {}",
        crate::kit::report::shown_command(&argv),
        s(&doc["run_at"]),
        s(&doc["oslab"])
    );
    if system.is_object() {
        let _ = write!(
            line,
            " · Linux {} ({}), {}, {} CPUs usable{}",
            s(&system["kernel"]),
            s(&system["scheduler"]),
            s(&system["cpu_model"]),
            system["cpus_usable_count"],
            if system["hypervisor"] == Value::Bool(true) {
                ", a virtual machine"
            } else {
                ""
            }
        );
    }
    line
}

/// A demo's report as Markdown: the title and provenance, the verdict, the key figure, the
/// analysis as printed, the lesson, the tool to compare with, the parameters and the counters.
pub fn demo_markdown(report: &Value, analysis: &[String], compare: &str) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut md = format!("# {}\n\n{}\n\n", s(&report["demo"]), md_provenance(report));
    if report["partial"] == Value::Bool(true) {
        md.push_str("**Partial:** the run was stopped before it finished.\n\n");
    }
    let verdict = &report["verdict"];
    let word = match verdict["held"] {
        Value::Bool(true) => "held",
        Value::Bool(false) => "did not hold",
        _ => "could not be checked",
    };
    let _ = writeln!(
        md,
        "**Verdict:** {word} — {}: {}\n",
        s(&verdict["claim"]),
        s(&verdict["because"])
    );
    let _ = writeln!(md, "**Key figure:** {}\n", s(&report["headline"]));
    if !analysis.is_empty() {
        md.push_str("## Analysis\n\n```text\n");
        for line in analysis {
            md.push_str(line);
            md.push('\n');
        }
        md.push_str("```\n\n");
    }
    let _ = writeln!(md, "**Lesson:** {}\n", s(&report["lesson"]));
    let _ = writeln!(md, "**Compare with:** `{compare}`\n");
    if let Value::Object(params) = &report["params"] {
        md.push_str("## Parameters\n\n");
        let rows: Vec<Vec<String>> = params
            .iter()
            .map(|(k, v)| vec![format!("`{k}`"), scalar(v)])
            .collect();
        md.push_str(&md_table(&["parameter", "value"], &rows));
        md.push('\n');
    }
    if let Value::Object(counters) = &report["counters"] {
        md.push_str("## Counters (the whole run, from /proc and getrusage)\n\n");
        let rows: Vec<Vec<String>> = counters
            .iter()
            .filter(|(_, v)| !v.is_object() && !v.is_array())
            .map(|(k, v)| vec![format!("`{k}`"), scalar(v)])
            .collect();
        md.push_str(&md_table(&["counter", "value"], &rows));
        md.push('\n');
    }
    md.push_str(
        "The raw samples are in the JSON report (`--export run.json`), one row per trial in the CSV.\n",
    );
    md
}

/// A JSON value as a table cell: strings bare, null as `—`, lists joined.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEMO: &[ExportFormat] = &[ExportFormat::Json, ExportFormat::Csv, ExportFormat::Md];

    #[test]
    fn the_extension_names_the_format_unless_the_flag_does() {
        let paths = [
            PathBuf::from("a.json"),
            PathBuf::from("b.CSV"),
            PathBuf::from("c.markdown"),
        ];
        let got = resolve(&paths, None, DEMO).unwrap();
        let formats: Vec<_> = got.iter().map(|e| e.format).collect();
        assert_eq!(
            formats,
            [ExportFormat::Json, ExportFormat::Csv, ExportFormat::Md]
        );
        let got = resolve(&[PathBuf::from("run.txt")], Some(ExportFormat::Csv), DEMO).unwrap();
        assert_eq!(got[0].format, ExportFormat::Csv);
    }

    #[test]
    fn an_unknown_extension_or_a_format_the_command_lacks_is_refused_by_name() {
        let e = resolve(&[PathBuf::from("run.txt")], None, DEMO).unwrap_err();
        assert!(
            e.contains("run.txt") && e.contains(".json, .csv, .md"),
            "{e}"
        );
        let e = resolve(&[PathBuf::from("t.html")], None, DEMO).unwrap_err();
        assert!(
            e.contains("does not write html") && e.contains("oslab tour --html"),
            "{e}"
        );
    }

    #[test]
    fn markdown_carries_the_verdict_the_figures_and_what_was_run() {
        let report = json!({
            "demo": "race_condition", "oslab": "0.1.0 (abc)", "run_at": "2026-12-06T07:00:00Z",
            "argv": ["race_condition", "--steps", "1000"],
            "params": {"threads": 2, "cpu": null},
            "headline": "lost 10 of 2000", "lesson": "a | b",
            "verdict": {"claim": "updates are lost", "held": true, "because": "10 of 2000"},
            "counters": {"minor_faults": 8, "threads": [1]},
            "system": {"kernel": "6.18", "scheduler": "EEVDF", "cpu_model": "Xeon",
                       "cpus_usable_count": 2, "hypervisor": true},
            "partial": false
        });
        let md = demo_markdown(&report, &["lost updates: 10".into()], "perf c2c");
        assert!(md.starts_with("# race_condition\n"), "{md}");
        assert!(md.contains("`race_condition --steps 1000` · 2026-12-06T07:00:00Z"));
        assert!(md.contains("Linux 6.18 (EEVDF), Xeon, 2 CPUs usable, a virtual machine"));
        assert!(md.contains("**Verdict:** held — updates are lost: 10 of 2000"));
        assert!(md.contains("```text\nlost updates: 10\n```"));
        assert!(md.contains("| `threads` | 2 |") && md.contains("| `cpu` | — |"));
        assert!(md.contains("| `minor_faults` | 8 |") && !md.contains("`threads` | 1"));
        assert!(md.contains("**Lesson:** a | b"));
        assert_eq!(md_cell("a | b"), "a \\| b");
    }
}
