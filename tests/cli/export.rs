//! `--export FILE`: text and data from one run (issue 15 item 1), on a demo and on
//! `oslab compare`; `--html` pages (the tour's is checked in `umbrella.rs`).

use std::fs;

use crate::common::*;

/// The number after `prefix` in the first line of `text` that has it (`var = 123;`).
fn figure_after(text: &str, prefix: &str) -> i64 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"));
    text[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in:\n{text}"))
}

#[test]
fn a_demos_export_and_its_text_come_from_one_run() {
    let dir = Scratch::new();
    let [json, csv, md] = dir.paths(["r.json", "r.csv", "r.md"]);
    let text = stdout_of(
        "race_condition",
        &[
            "--steps", "300000", "--export", &json, "--export", &csv, "--export", &md,
        ],
    );
    // The text printed as usual, the lecture's line first, and names the files it wrote.
    assert!(matches(r"^var = \d+; time = ", &text), "{text}");
    for (file, format) in [(&json, "json"), (&csv, "csv"), (&md, "md")] {
        assert!(
            text.contains(&format!("report: {file} ({format})")),
            "{text}"
        );
    }
    let var = figure_after(&text, "var = ");
    // JSON: the same run's var, lost updates and verdict.
    let doc = parse_json("race_condition", &fs::read_to_string(&json).unwrap());
    let trial = &doc["results"]["trials"][0];
    assert_eq!(trial["var"].as_i64(), Some(var), "{doc}");
    let lost = 600_000 - var;
    assert_eq!(trial["lost"].as_i64(), Some(lost));
    let verdict_line = text
        .lines()
        .find(|l| l.starts_with("verdict: "))
        .expect("a verdict line");
    let word = verdict_line["verdict: ".len()..]
        .split(" — ")
        .next()
        .unwrap();
    let want_held = word == "held";
    assert_eq!(doc["verdict"]["held"].as_bool(), Some(want_held), "{doc}");
    assert!(
        doc["argv"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--export")
    );
    // CSV: the header, then the row of this run with the same var.
    let csv = fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    let header = csv_cells(lines.next().unwrap());
    let row = csv_cells(lines.next().expect("a row"));
    let col = header
        .iter()
        .position(|h| h == "var")
        .expect("a var column");
    assert_eq!(row[col], var.to_string(), "{csv}");
    // Markdown: the verdict as the text gave it, the analysis as printed.
    let md = fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("# race_condition\n"), "{md}");
    assert!(
        md.contains(&format!(
            "**Verdict:** {}",
            &verdict_line["verdict: ".len()..]
        )),
        "{md}"
    );
    let lost_line = text
        .lines()
        .find(|l| l.starts_with("lost updates: "))
        .expect("a lost-updates line");
    assert!(md.contains(lost_line), "{md}");
    assert!(md.contains("| `steps` | 300000 |"), "{md}");
}

#[test]
fn export_works_beside_json_output_and_with_a_named_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.data");
    let file = file.to_string_lossy();
    let stdout = stdout_of(
        "fork_celsius",
        &[
            "--format",
            "json",
            "--export",
            &file,
            "--export-format",
            "json",
        ],
    );
    // Two copies of one document: the same run (same run_at, same results).
    let printed = parse_json("fork_celsius", &stdout);
    let exported = parse_json("fork_celsius", &fs::read_to_string(&*file).unwrap());
    assert_eq!(printed, exported);
}

#[test]
fn bad_export_names_are_usage_errors_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("run.txt");
    usage_error(
        "race_condition",
        &["--export", &txt.to_string_lossy()],
        &[
            "--export",
            "run.txt",
            "cannot tell the format",
            "--export-format",
        ],
    );
    let html = dir.path().join("run.html");
    usage_error(
        "race_condition",
        &["--export", &html.to_string_lossy()],
        &["does not write html", "oslab tour --html"],
    );
    usage_error(
        "race_condition",
        &["--export", "/nonexistent-dir/run.json"],
        &["--export: cannot write the report to /nonexistent-dir/run.json"],
    );
    usage_error(
        "race_condition",
        &["--export", &dir.path().to_string_lossy()],
        &["is a directory"],
    );
    usage_error(
        "race_condition",
        &["--export", "r.json", "--export-format", "yaml"],
        &["yaml"],
    );
    // Nothing was left behind by the refusals.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn compare_exports_its_table_and_draws_its_page() {
    let dir = Scratch::new();
    let [csv, md, html] = dir.paths(["c.csv", "c.md", "c.html"]);
    let text = stdout_of(
        "oslab",
        &[
            "compare", "race", "--trials", "2", "--export", &csv, "--export", &md, "--html", &html,
            "--", "--steps", "20000",
        ],
    );
    let variants = family("race");
    // CSV: a row per variant, as --format csv prints it.
    let csv = fs::read_to_string(&csv).unwrap();
    assert!(
        csv.starts_with("family,variant,trials,elapsed_ns_median,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + variants.len(), "{csv}");
    // The text's ratio column and the CSV's agree, variant by variant.
    let header = csv_cells(csv.lines().next().unwrap());
    let ratio_col = header.iter().position(|h| h == "ratio").unwrap();
    for line in csv.lines().skip(1) {
        let cells = csv_cells(line);
        let ratio: f64 = cells[ratio_col].parse().unwrap();
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(cells[1].as_str()))
            .unwrap_or_else(|| panic!("no text row for {}:\n{text}", cells[1]));
        // The last column: `8.81 (7.21–11.30)`, or `1.00` for the fastest.
        let shown: f64 = row
            .split("  ")
            .filter(|c| !c.trim().is_empty())
            .last()
            .and_then(|c| c.split_whitespace().next())
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("no ratio in {row:?}"));
        // The text rounds to 2 places, the CSV to 3.
        assert!(
            (shown - ratio).abs() <= 0.0051,
            "text row {row:?} shows {shown}, the CSV {ratio}"
        );
    }
    // Markdown: the same table.
    let md = fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("# oslab compare race:"), "{md}");
    for v in &variants {
        assert!(md.contains(&format!("| {v}")), "{md}");
    }
    // HTML: one self-contained page with the table and the picture inline.
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<title>oslab compare race</title>"));
    assert_eq!(page.matches("<svg").count(), 1, "one picture inline");
    for v in &variants {
        assert!(
            page.contains(&format!("<code>{v}")),
            "{v} missing from the page"
        );
    }
    no_network(&page);
    assert!(text.contains(&format!("report: {html} (html)")), "{text}");
}

/// A page that needs nothing from the network: no script, and no `src` or `href` that leaves
/// the file (an SVG's `xmlns` names a namespace, not a place to fetch).
pub fn no_network(page: &str) {
    assert!(!page.contains("<script"), "the page has a script");
    for attr in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "url(http",
        "@import",
    ] {
        assert!(!page.contains(attr), "the page fetches something: {attr}");
    }
}

#[test]
fn every_demo_exports_the_document_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    for d in oslab::catalogue::DEMOS {
        let file = dir.path().join(format!("{}.json", d.name));
        let file = file.to_string_lossy();
        // --format first: a demo's tour flags may end in `-- COMMAND`.
        let out = demo(d.name)
            .args(["--format", "json", "--export", &file])
            .args(d.tour)
            .assert()
            .code(d.tour_exit)
            .get_output()
            .clone();
        let printed = parse_json(d.name, &String::from_utf8_lossy(&out.stdout));
        let exported = parse_json(d.name, &fs::read_to_string(&*file).unwrap());
        assert_eq!(printed, exported, "{}: the file holds another run", d.name);
    }
}
