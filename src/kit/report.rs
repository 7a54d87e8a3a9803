//! The report every demo produces, printed as text, JSON or CSV.
//!
//! Text mode prints the lecture's own lines first and the analysis after them, as the demo goes.
//! JSON mode prints one document at the end: `demo`, `schema_version`, `params`, `results` (raw
//! samples included), `counters`, `system`, plus the one-line `headline` and `lesson` that
//! `oslab tour` shows. CSV mode prints a header and one row per trial or sample, each row
//! carrying the demo's name and parameters so rows from several runs can be concatenated.
//!
//! A closed stdout (`demo | head`) is not an error: output stops quietly, the demo finishes.

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Result;
use crate::kit::machine::Machine;
use crate::kit::run::Verdict;
use crate::proc::counters::Delta;

/// Bumped whenever a field changes meaning or disappears (adding a field does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// How a demo prints its results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The lecture's lines, then the analysis.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// A header, then one row per trial or sample.
    Csv,
}

/// One demo run, ready to print as JSON or CSV.
#[derive(Debug, Serialize)]
pub struct Report<P, R> {
    /// The binary's name.
    pub demo: &'static str,
    pub schema_version: u32,
    /// What was run: oslab's version and commit, when (UTC), and the command line.
    pub oslab: &'static str,
    pub run_at: String,
    pub argv: Vec<String>,
    /// The parameters the run used, defaults filled in.
    pub params: P,
    /// The measurements, raw samples included.
    pub results: R,
    /// The kernel's counters for the whole run (all trials), from `/proc` and getrusage.
    pub counters: Delta,
    pub system: Machine,
    /// The key figure in one line (what `oslab tour` shows).
    pub headline: String,
    /// The lecture's claim, checked against this run (`claim`, `held`, `because`).
    pub verdict: Verdict,
    /// What the run shows, in one sentence.
    pub lesson: String,
    /// True when Ctrl-C or SIGTERM cut the run short.
    pub partial: bool,
}

/// The time now in UTC, RFC 3339 to the second: `2026-12-06T05:20:00Z`.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The process's command line, as given.
pub fn argv() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// A command line for people to read (the Markdown and HTML reports): the program by its file
/// name, not by the path it was started with (`target/release/race_condition` reads
/// `race_condition`), then its arguments as given, quoted for the shell where they need it.
/// The JSON keeps `argv` exactly as given.
pub fn shown_command(argv: &[String]) -> String {
    let mut words = argv.iter().map(String::as_str);
    let program = words
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("oslab");
    std::iter::once(program)
        .chain(words)
        .map(|w| {
            // Python's shlex.quote's safe set (`if=/dev/zero` stays as typed); quote the rest.
            let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
            if !w.is_empty() && w.chars().all(safe) {
                w.to_string()
            } else {
                shlex::try_quote(w).map_or_else(|_| w.into(), |q| q.into_owned())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An umbrella document (`oslab list`, `tour`, `compare`) with what every report records first:
/// `schema_version`, `oslab` (version and commit), `run_at` (UTC, when the run started) and
/// `argv`, then `body`'s own fields.
pub fn stamped(run_at: &str, body: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), SCHEMA_VERSION.into());
    doc.insert("oslab".into(), crate::VERSION.into());
    doc.insert("run_at".into(), run_at.into());
    doc.insert("argv".into(), argv().into());
    if let serde_json::Value::Object(fields) = body {
        doc.extend(fields);
    }
    serde_json::Value::Object(doc)
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first error writing stdout other than a closed pipe (`> /dev/full`: ENOSPC), kept for the
/// end of the run: the kit then exits 1 naming it, instead of losing the output silently.
static WRITE_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Prints one line on stdout. If the reader has gone away (EPIPE), output stops quietly; any
/// other write error stops output too and is kept for [`write_error`].
pub fn print_line(line: impl Display) {
    print_raw(&format!("{line}\n"));
}

/// Prints a block of lines (a table) on stdout, as [`print_line`] does.
pub fn print_raw_table(text: &str) {
    print_raw(text);
}

fn print_raw(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            let text = e.raw_os_error().map_or_else(
                || e.to_string(),
                |n| nix::errno::Errno::from_raw(n).desc().to_string(),
            );
            let _ = WRITE_ERROR.set(text);
        }
    }
}

/// The first error that writing stdout met, other than a closed pipe (which is not an error:
/// `demo | head`), in the words of strerror (`No space left on device`).
pub fn write_error() -> Option<String> {
    WRITE_ERROR.get().cloned()
}

/// The running binary's name, for messages.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "oslab".into())
}

/// A warning on stderr: `<binary>: warning: <text>`.
pub fn warn(text: impl Display) {
    eprintln!("{}: warning: {text}", program_name());
}

/// Where a demo's lines go, according to `--format` and `--quiet`.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
}

impl Output {
    /// An output that prints nothing: for warm-up runs of a program that prints the lecture's
    /// lines as it goes.
    pub fn silent() -> Output {
        Output {
            format: Format::Json,
            quiet: true,
        }
    }

    /// True in text mode.
    pub fn is_text(&self) -> bool {
        self.format == Format::Text
    }

    /// A lecture line: printed in text mode, `--quiet` included.
    pub fn lecture(&self, line: impl Display) {
        if self.is_text() {
            print_line(line);
        }
    }

    /// An analysis line: printed in text mode unless `--quiet`.
    pub fn analysis(&self, line: impl Display) {
        if self.is_text() && !self.quiet {
            print_line(line);
        }
    }

    /// Prints the report in JSON or CSV mode (`rows` are the CSV rows); nothing in text mode.
    pub fn finish<P: Serialize, R: Serialize, Row: Serialize>(
        &self,
        report: &Report<P, R>,
        rows: &[Row],
    ) -> Result<()> {
        match self.format {
            Format::Text => {}
            Format::Json => print_raw(&format!("{}\n", serde_json::to_string_pretty(report)?)),
            Format::Csv => print_raw(&to_csv(report.demo, &report.params, rows)?),
        }
        Ok(())
    }
}

/// CSV text: a header and one line per row, tidy (one observation a row, one value a cell).
/// Columns are `demo`, the parameters, then the row's fields; nested objects become
/// `outer.inner` columns. A list inside a row becomes rows of its own: a row whose `threads` lists
/// two threads is two lines, each with the row's other cells and one thread's `threads.cpu`,
/// `threads.steps`, … (two lists in one row are taken side by side: line i has item i of each).
/// A parameter that is a list is one setting, so it stays one cell, its items joined by `;`.
/// The header is every column of every line, so a row whose list is empty still has a cell under
/// each (empty). Floats print with the digits they have (see [`csv_number`]).
pub fn to_csv<P: Serialize, Row: Serialize>(
    demo: &str,
    params: &P,
    rows: &[Row],
) -> Result<String> {
    let mut prefix = vec![("demo".to_string(), demo.to_string())];
    flatten_joined("", &serde_json::to_value(params)?, &mut prefix);
    let mut header: Vec<String> = prefix.iter().map(|(k, _)| k.clone()).collect();
    let mut lines: Vec<Map<String, Value>> = Vec::new();
    for row in rows {
        for line in tidy_rows("", &serde_json::to_value(row)?) {
            for (k, _) in &line {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
            lines.push(
                line.into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            );
        }
    }
    let mut text = header
        .iter()
        .map(|h| csv_cell(h))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    let fixed: Map<String, Value> = prefix
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    for line in lines {
        let cells = header.iter().map(|h| {
            let v = line.get(h).or_else(|| fixed.get(h));
            csv_cell(v.and_then(Value::as_str).unwrap_or(""))
        });
        text.push_str(&cells.collect::<Vec<_>>().join(","));
        text.push('\n');
    }
    Ok(text)
}

/// A number for a CSV cell, with the digits it has: a whole number without a point (`3540000`),
/// anything else in the shortest form that reads back as the same double once the last digit's
/// noise of floating-point arithmetic is gone (15 significant digits: `1214348.8`, not
/// `1214348.7999999998`). Not a number (a variant that never ran): an empty cell.
pub fn csv_number(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        return format!("{}", v as i64);
    }
    let rounded: f64 = format!("{v:.14e}").parse().unwrap_or(v);
    format!("{rounded}")
}

/// A plain-text table: columns padded to their widest cell, the first left-aligned, the others
/// right-aligned when `figures` (numbers line up) and left-aligned otherwise (prose).
pub fn table(header: &[&str], rows: &[Vec<String>], figures: bool) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths.get(i).copied().unwrap_or(0);
            if i == 0 {
                text.push_str(&format!("{cell:<pad$}"));
            } else if !figures {
                text.push_str(&format!("  {cell:<pad$}"));
            } else {
                text.push_str(&format!("  {cell:>pad$}"));
            }
        }
        text.trim_end().to_string()
    };
    let mut out = String::new();
    if header.iter().any(|h| !h.is_empty()) {
        out.push_str(&line(&mut header.iter().copied()));
        out.push('\n');
    }
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// The key `k` under `prefix`: `outer.inner`.
fn key(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// One setting's cells (the parameters): nested objects as `outer.inner`, a list as one cell,
/// its items joined by `;`.
fn flatten_joined(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_joined(&key(prefix, k), v, out);
            }
        }
        Value::Array(items) => {
            let cells: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_string(), cells.join(";")));
        }
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

/// A value as tidy lines of `(column, cell)`: a scalar is one line of one cell; an object joins
/// its fields' lines (a field of one line adds its cells to every line; lists are taken side by
/// side, line i holding item i of each); a list is its items' lines one after the other (none
/// for an empty list).
fn tidy_rows(prefix: &str, value: &Value) -> Vec<Vec<(String, String)>> {
    match value {
        Value::Object(map) => {
            // Each field's lines, in field order: one line (a scalar, an object without lists)
            // goes on every line; more (or none: an empty list) go side by side.
            let parts: Vec<Vec<Vec<(String, String)>>> = map
                .iter()
                .map(|(k, v)| tidy_rows(&key(prefix, k), v))
                .collect();
            let n = parts.iter().map(Vec::len).max().unwrap_or(0).max(1);
            (0..n)
                .map(|i| {
                    let mut line = Vec::new();
                    for part in &parts {
                        let item = if part.len() == 1 {
                            part.first()
                        } else {
                            part.get(i)
                        };
                        line.extend(item.into_iter().flatten().cloned());
                    }
                    line
                })
                .collect()
        }
        Value::Array(items) => items.iter().flat_map(|v| tidy_rows(prefix, v)).collect(),
        other => vec![vec![(prefix.to_string(), scalar(other))]],
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(String::new, csv_number),
        other => other.to_string(),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shown_command_names_the_program_by_its_file_name_and_quotes_what_needs_it() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shown_command(&argv(&[
                "/work/target/release/race_condition",
                "--steps",
                "1000"
            ])),
            "race_condition --steps 1000"
        );
        assert_eq!(
            shown_command(&argv(&["oslab", "compare", "race", "--", "--lock", "a b"])),
            "oslab compare race -- --lock 'a b'"
        );
        assert_eq!(shown_command(&[]), "oslab");
    }

    use super::*;

    #[derive(Serialize)]
    struct Params {
        threads: u32,
        variant: &'static str,
    }

    #[derive(Serialize)]
    struct Worker {
        cpu: u32,
        share: f64,
    }

    #[derive(Serialize)]
    struct Row {
        trial: u32,
        var: i32,
        note: &'static str,
        workers: Vec<Worker>,
        tags: Vec<u32>,
    }

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["demo", "n"],
            &[
                vec!["a".into(), "1".into()],
                vec!["longer".into(), "100".into()],
            ],
            true,
        );
        assert_eq!(t, "demo      n\na         1\nlonger  100\n");
    }

    #[test]
    fn csv_has_a_header_and_a_row_per_trial() {
        let rows = vec![
            Row {
                trial: 1,
                var: 10,
                note: "a,b",
                workers: vec![Worker { cpu: 0, share: 0.5 }, Worker { cpu: 1, share: 0.5 }],
                tags: vec![1, 2],
            },
            Row {
                trial: 2,
                var: 11,
                note: "say \"hi\"",
                workers: vec![Worker { cpu: 1, share: 1.0 }],
                tags: vec![],
            },
        ];
        let params = Params {
            threads: 2,
            variant: "x",
        };
        let csv = to_csv("demo1", &params, &rows).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "demo,threads,variant,trial,var,note,workers.cpu,workers.share,tags"
        );
        // A list becomes lines: trial 1's two workers (and two tags) are two lines.
        assert_eq!(lines[1], "demo1,2,x,1,10,\"a,b\",0,0.5,1");
        assert_eq!(lines[2], "demo1,2,x,1,10,\"a,b\",1,0.5,2");
        assert_eq!(lines[3], "demo1,2,x,2,11,\"say \"\"hi\"\"\",1,1,");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn csv_header_matches_every_line_even_when_the_first_list_is_empty() {
        let rows = vec![
            Row {
                trial: 1,
                var: 0,
                note: "",
                workers: vec![],
                tags: vec![],
            },
            Row {
                trial: 2,
                var: 1,
                note: "",
                workers: vec![Worker {
                    cpu: 3,
                    share: 0.25,
                }],
                tags: vec![7],
            },
        ];
        let params = Params {
            threads: 0,
            variant: "y",
        };
        let csv = to_csv("demo2", &params, &rows).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "demo,threads,variant,trial,var,note,workers.cpu,workers.share,tags",
                "demo2,0,y,1,0,,,,",
                "demo2,0,y,2,1,,3,0.25,7"
            ]
        );
        // No rows at all: the header alone.
        let none: Vec<Row> = Vec::new();
        assert_eq!(
            to_csv("demo3", &params, &none).unwrap(),
            "demo,threads,variant\n"
        );
    }

    #[test]
    fn floats_print_with_the_digits_they_have() {
        assert_eq!(csv_number(1214348.7999999998), "1214348.8");
        assert_eq!(csv_number(0.1 + 0.2), "0.3");
        assert_eq!(csv_number(2.0 / 3.0), "0.666666666666667");
        assert_eq!(csv_number(3_540_000.0), "3540000");
        assert_eq!(csv_number(-0.5), "-0.5");
        assert_eq!(csv_number(34.7375), "34.7375");
        assert_eq!(csv_number(f64::NAN), "");
        assert_eq!(csv_number(1e-7), "0.0000001");
    }
}
