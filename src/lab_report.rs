//! The umbrella's reports as pages a class keeps: `oslab tour` and `oslab compare` as Markdown
//! (`--export t.md`) and as one self-contained HTML page (`--html t.html`): the machine and the
//! run at the top, then per demo what it printed, its verdict, its lesson and its picture inline.
//!
//! Everything here is a function of what the runs reported (the umbrella's JSON document, each
//! demo's own report and transcript); nothing is measured again.

use std::fmt::Write as _;

use maud::{Markup, html};
use serde_json::Value;

use crate::catalogue::Demo;
use crate::kit::export::{md_provenance, md_table};
use crate::kit::html;
use crate::pictures;
use crate::umbrella::TourRow;

/// One demo of a tour, with what its run left.
pub struct TourEntry<'a> {
    pub demo: &'a Demo,
    pub row: &'a TourRow,
    /// Its JSON report (exported by the run), if it wrote one.
    pub report: Option<&'a Value>,
    /// What it printed in text mode.
    pub transcript: Option<&'a str>,
}

/// The lines of a transcript the page shows as printed: all but the verdict and the lesson (shown
/// apart, highlighted) and the `report:` line naming the file the tour read.
fn printed(transcript: &str) -> String {
    transcript
        .lines()
        .filter(|l| {
            !(l.starts_with("verdict: ") || l.starts_with("lesson: ") || l.starts_with("report: "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The tour's summary in one sentence.
fn tour_summary(doc: &Value, rows: usize) -> String {
    let wall = doc["wall_s"].as_f64().unwrap_or(0.0);
    let mut text = format!(
        "{rows} demos, each a fresh process run once with small sizes; {} failed; the lecture's claim held in {} of them; {wall:.1} s.",
        doc["failed"], doc["claims_held"]
    );
    if doc["partial"] == Value::Bool(true) {
        let _ = write!(
            text,
            " Partial: stopped by {}.",
            doc["stopped_by"].as_str().unwrap_or("a signal")
        );
    }
    text
}

/// `oslab tour --export t.md`: what was run, the table of verdicts and key figures, the lessons.
pub fn tour_markdown(doc: &Value, entries: &[TourEntry<'_>]) -> String {
    let mut md = format!(
        "# oslab tour\n\n{}\n\n{}\n\n",
        md_provenance(doc),
        tour_summary(doc, entries.len())
    );
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.row.chapter.to_string(),
                format!("`{}`", e.row.demo),
                e.row.verdict_word().to_string(),
                e.row.headline.clone(),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &["chapter", "demo", "verdict", "key figure"],
        &rows,
    ));
    md.push_str("\n## Verdicts and lessons\n\n");
    for e in entries {
        let v = &e.row.verdict;
        let _ = writeln!(
            md,
            "- **{}** ({}): {}{}\n  {}",
            e.row.demo,
            e.row.verdict_word(),
            v["claim"].as_str().unwrap_or(""),
            v["because"]
                .as_str()
                .map_or(String::new(), |b| format!(": {b}")),
            e.row.lesson
        );
    }
    md
}

/// `oslab tour --html t.html`: one page, the machine at the top, a table of verdicts, then a
/// section per demo by chapter.
pub fn tour_html(doc: &Value, entries: &[TourEntry<'_>]) -> String {
    let system = &doc["system"];
    let title = format!(
        "oslab tour — {} demos on {}",
        entries.len(),
        system["cpu_model"].as_str().unwrap_or("this machine")
    );
    // The chapters in the order they first come (the catalogue returns to one now and then).
    let mut chapters: Vec<&str> = Vec::new();
    for e in entries {
        if !chapters.contains(&e.row.chapter) {
            chapters.push(e.row.chapter);
        }
    }
    let body = html! {
        p { (tour_summary(doc, entries.len())) }
        table {
            thead { tr { th { "chapter" } th { "demo" } th { "verdict" } th { "key figure" } } }
            tbody {
                @for e in entries {
                    @let (_, symbol, word) = html::verdict_parts(&e.row.verdict, e.row.ok);
                    tr {
                        td { (e.row.chapter) }
                        td { a href={ "#" (e.row.demo) } { code { (e.row.demo) } } }
                        td { (symbol) " " (if e.row.interrupted { "interrupted" } else { word }) }
                        td { (e.row.headline) }
                    }
                }
            }
        }
        @for chapter in &chapters {
            h2 { (chapter) }
            @for e in entries.iter().filter(|e| e.row.chapter == *chapter) {
                (tour_section(e))
            }
        }
    };
    let provenance = "Each demo ran as a student runs it, in text mode; its report was exported from the same run. What it printed, the verdict on the lecture's claim computed from the run, the lesson, and the picture drawn from its report.";
    html::page(&title, provenance, &html::meta_rows(doc, system), body)
}

/// One demo's section of the tour page.
fn tour_section(e: &TourEntry<'_>) -> Markup {
    let argv = e
        .report
        .and_then(|r| r["argv"].as_array())
        .map(|a| {
            let words: Vec<String> = a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            crate::kit::report::shown_command(&words)
        })
        .unwrap_or_else(|| format!("{} {}", e.demo.name, e.demo.tour.join(" ")));
    // The `--export FILE` the tour added names a temporary file: not part of the command.
    let argv = match argv.split_once(" --export ") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map_or("", |(_, r)| r);
            format!("{head} {rest}").trim_end().to_string()
        }
        None => argv,
    };
    let picture = e.report.filter(|_| e.row.ok).and_then(|report| {
        pictures::drawer(e.demo.name)
            .map(|draw| draw(report).and_then(|f| Ok((f.to_svg()?, f.title.clone()))))
    });
    html! {
        section.demo id=(e.demo.name) {
            h3 { code { (e.demo.name) } " — " (e.demo.concept) }
            p.small {
                "the lecture's " code { (e.demo.lecture) } " · ran " code { (argv) }
                " · exit " (e.row.exit_code) " · " (format!("{:.0}", e.row.wall_ms)) " ms"
            }
            (html::verdict(&e.row.verdict, e.row.ok))
            @if let Some(text) = e.transcript.filter(|t| !t.trim().is_empty()) {
                p.small { "What it printed:" }
                pre { (printed(text)) }
            }
            @if !e.row.ok {
                p { "How it ended: " (e.row.headline) }
            }
            @match picture {
                Some(Ok((svg, title))) => (html::figure(&svg, &title)),
                Some(Err(why)) => p.small { "The picture could not be drawn: " (format!("{why:#}")) },
                None => {},
            }
            @if !e.row.lesson.is_empty() {
                p.lesson { strong { "Lesson: " } (e.row.lesson) }
            }
        }
    }
}

/// `oslab compare`'s table and notes, in the words the terminal prints, ready for text,
/// Markdown or HTML.
pub struct CompareView {
    /// `oslab compare race: … (5 runs of each, interleaved; medians)`.
    pub title: String,
    /// The flags every run got, if any.
    pub flags: Option<String>,
    pub header: Vec<String>,
    pub cells: Vec<Vec<String>>,
    /// The lines after the table: what the ratio is, the ranges, `not settled:` lines.
    pub notes: Vec<String>,
}

impl CompareView {
    /// As the terminal shows it.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        if let Some(flags) = &self.flags {
            let _ = writeln!(out, "flags: {flags}");
        }
        out.push('\n');
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        out.push_str(&crate::kit::report::table(&header, &self.cells, true));
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        out
    }

    /// A Markdown report: what was run, the table, the notes.
    pub fn markdown(&self, doc: &Value) -> String {
        let mut md = format!("# {}\n\n{}\n\n", self.title, md_provenance(doc));
        if let Some(flags) = &self.flags {
            let _ = writeln!(md, "Flags every run got: `{flags}`\n");
        }
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        md.push_str(&md_table(&header, &self.cells));
        for note in self.notes.iter().filter(|n| !n.trim().is_empty()) {
            let _ = write!(md, "\n{}\n", note.trim());
        }
        md
    }

    /// One self-contained page: the machine and the run, the table, the notes, the picture.
    pub fn html(&self, doc: &Value, figure: Option<(&str, &str)>) -> String {
        let body = html! {
            @if let Some(flags) = &self.flags {
                p { "Flags every run got: " code { (flags) } }
            }
            table {
                thead { tr { @for h in &self.header { th { (h) } } } }
                tbody {
                    @for row in &self.cells {
                        tr {
                            @for (i, cell) in row.iter().enumerate() {
                                @if i == 0 { td { code { (cell) } } } @else { td.num { (cell) } }
                            }
                        }
                    }
                }
            }
            @for note in self.notes.iter().filter(|n| !n.trim().is_empty()) {
                p { (note.trim()) }
            }
            @if let Some((svg, title)) = figure {
                (html::figure(svg, title))
            }
        };
        let title = format!("oslab compare {}", doc["family"].as_str().unwrap_or(""));
        html::page(
            &title,
            &self.title,
            &html::meta_rows(doc, &doc["system"]),
            body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view() -> CompareView {
        CompareView {
            title: "oslab compare race: the fixes (3 runs of each, interleaved; medians)".into(),
            flags: Some("--steps 1000".into()),
            header: vec!["variant".into(), "time".into()],
            cells: vec![
                vec!["race_condition".into(), "1.00 ms (0.90–1.10)".into()],
                vec!["race_condition_mutex".into(), "<5 ms>".into()],
            ],
            notes: vec!["".into(), "not settled: a and b".into()],
        }
    }

    #[test]
    fn the_compare_table_reads_the_same_in_text_markdown_and_html() {
        let v = view();
        let text = v.text();
        assert!(text.starts_with("oslab compare race: the fixes"));
        assert!(text.contains("flags: --steps 1000\n\nvariant"), "{text}");
        assert!(text.ends_with("\nnot settled: a and b\n"), "{text}");
        let doc = json!({"family": "race", "argv": ["oslab", "compare", "race"], "run_at": "T",
                         "oslab": "0.1", "system": {"kernel": "6.18"}});
        let md = v.markdown(&doc);
        assert!(
            md.contains("| variant | time |\n|---|---|\n| race_condition | 1.00 ms (0.90–1.10) |"),
            "{md}"
        );
        assert!(md.contains("\nnot settled: a and b\n"));
        let page = v.html(&doc, Some(("<svg><text>t</text></svg>", "the picture")));
        assert!(
            page.contains("<td class=\"num\">&lt;5 ms&gt;</td>"),
            "{page}"
        );
        assert!(page.contains("<svg><text>t</text></svg>") && page.contains("the picture"));
        assert!(page.contains("<title>oslab compare race</title>"));
    }

    #[test]
    fn a_transcript_loses_only_what_the_page_shows_apart() {
        let t = "var = 5\nverdict: held — x\nlesson: y\ncompare: perf\nreport: /tmp/x.json (json)";
        assert_eq!(printed(t), "var = 5\ncompare: perf");
    }
}
