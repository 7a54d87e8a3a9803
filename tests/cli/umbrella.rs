//! The umbrella: `oslab list`, `oslab tour`, `oslab compare`.

use serde_json::Value;

use crate::common::{csv_cells, demo, demos, parse_json, stdout_of};
use crate::race::{race, race_family};

#[test]
fn list_names_every_demo_with_its_concept() {
    let text = stdout_of("oslab", &["list"]);
    assert!(text.contains("synchronisation"), "{text}");
    for name in demos() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("oslab list does not name {name}:\n{text}"));
        assert!(
            line.len() > name.len() + 10,
            "no concept beside {name}: {line}"
        );
    }
    let doc = parse_json("oslab", &stdout_of("oslab", &["list", "--format", "json"]));
    let names: Vec<&str> = doc["demos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for name in demos() {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let families: Vec<&str> = doc["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for family in [
        "race",
        "granularity",
        "mutex",
        "deadlock",
        "spawn",
        "sum_array",
        "sleep_jitter",
    ] {
        assert!(
            families.contains(&family),
            "{family} missing from {families:?}"
        );
    }
}

#[test]
fn tour_runs_every_demo_and_succeeds() {
    let doc = parse_json("oslab", &stdout_of("oslab", &["tour", "--format", "json"]));
    let rows = doc["tour"].as_array().unwrap();
    // Every demo in the catalogue (which a unit test keeps equal to src/bin), in its order.
    let names: Vec<&str> = rows.iter().map(|r| r["demo"].as_str().unwrap()).collect();
    let catalogue: Vec<&str> = oslab::catalogue::DEMOS.iter().map(|d| d.name).collect();
    assert_eq!(names, catalogue);
    for row in rows {
        let name = row["demo"].as_str().unwrap();
        assert_eq!(
            row["ok"],
            Value::Bool(true),
            "{name} failed in the tour: {row}"
        );
        // Each demo ends as the catalogue expects: deadlock in the deadlock it shows (exit 3).
        let want = oslab::catalogue::find(name).unwrap().tour_exit;
        assert_eq!(row["exit_code"], want, "{name}");
        let headline = row["headline"].as_str().unwrap();
        if race_family().contains(&name) {
            assert!(headline.starts_with("var = "), "{name}: {row}");
        } else {
            assert!(!headline.is_empty(), "{name}: {row}");
        }
        assert!(!row["lesson"].as_str().unwrap().is_empty(), "{name}");
    }
    let headline = |name: &str| {
        rows.iter()
            .find(|r| r["demo"] == name)
            .and_then(|r| r["headline"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(headline("deadlock").starts_with("deadlock detected"));
    assert!(headline("condition").starts_with("notify woke 1 of 1 waiter"));
    assert!(headline("barrier").starts_with("order held in 20 of 20 rounds"));
    assert_eq!(doc["failed"], 0);

    let text = stdout_of("oslab", &["tour"]);
    for name in catalogue {
        assert!(text.contains(name), "the tour table lacks {name}:\n{text}");
    }
    assert!(text.contains("0 failed"), "{text}");
}

#[test]
fn compare_race_gives_a_median_row_per_variant() {
    let doc = parse_json(
        "oslab",
        &stdout_of(
            "oslab",
            &[
                "compare", "race", "--trials", "2", "--format", "json", "--", "--steps", "20000",
            ],
        ),
    );
    assert_eq!(doc["family"], "race");
    let rows = doc["rows"].as_array().unwrap();
    let variants: Vec<&str> = rows
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(variants, race());
    let mut fastest = 0;
    for row in rows {
        let name = row["variant"].as_str().unwrap();
        let samples = row["samples"]["elapsed_ns"].as_array().unwrap();
        assert_eq!(samples.len(), 2, "{name}: one sample per trial");
        assert!(row["ratio"].as_f64().unwrap() >= 1.0, "{name}: {row}");
        if (row["ratio"].as_f64().unwrap() - 1.0).abs() < 1e-9 {
            fastest += 1;
        }
        if name != "race_condition" {
            assert_eq!(
                row["medians"]["lost"].as_f64(),
                Some(0.0),
                "{name} lost updates"
            );
        }
        for key in ["ns_per_op", "voluntary_cs", "nonvoluntary_cs"] {
            assert!(
                row["medians"][key].as_f64().is_some(),
                "{name}: no median {key}"
            );
        }
    }
    assert!(fastest >= 1, "no variant has ratio 1: {rows:?}");
}

#[test]
fn compare_deadlock_counts_the_deadlocks() {
    let doc = parse_json(
        "oslab",
        &stdout_of(
            "oslab",
            &["compare", "deadlock", "--trials", "2", "--format", "json"],
        ),
    );
    assert_eq!(doc["family"], "deadlock");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{doc:#}");
    for row in rows {
        let name = row["variant"].as_str().unwrap();
        let samples = row["samples"]["deadlocked"].as_array().unwrap();
        assert_eq!(samples.len(), 2, "{name}: one sample per trial");
        let count = row["counts"]["deadlocked"].as_f64().unwrap();
        let ones = samples.iter().filter(|v| v.as_f64() == Some(1.0)).count();
        assert_eq!(
            count, ones as f64,
            "{name}: the count is the runs that deadlocked"
        );
        assert!(row["ratio"].is_null(), "no ratio for a count: {row}");
        if name.contains("--fix") {
            assert_eq!(count, 0.0, "{name}: a cure never deadlocks");
        }
    }
    let text = stdout_of("oslab", &["compare", "deadlock", "--trials", "1"]);
    assert!(text.contains("deadlocked"), "{text}");
    assert!(text.contains("/1"), "counts shown as k/N:\n{text}");
}

#[test]
fn compare_csv_has_a_row_per_variant() {
    let text = stdout_of(
        "oslab",
        &[
            "compare",
            "granularity",
            "--trials",
            "1",
            "--format",
            "csv",
            "--",
            "--threads",
            "2",
            "--steps",
            "5000",
        ],
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header = csv_cells(lines[0]);
    assert_eq!(header[0], "family");
    assert!(
        header.contains(&"elapsed_ns_median".to_string()),
        "{header:?}"
    );
    assert_eq!(header.last().unwrap(), "ratio");
    for line in &lines[1..] {
        let cells = csv_cells(line);
        assert_eq!(cells.len(), header.len(), "{line}");
        assert_eq!(cells[0], "granularity");
    }
    assert_eq!(csv_cells(lines[1])[1], "coarse_granularity");
    assert_eq!(csv_cells(lines[2])[1], "fine_granularity");
}

#[test]
fn compare_rejects_unknown_families_and_bad_trials() {
    demo("oslab")
        .args(["compare", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("race"));
    demo("oslab")
        .args(["compare", "race", "--trials", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("from 1 to 1000"));
    demo("oslab").arg("frobnicate").assert().code(2);
}

#[test]
fn compare_reports_a_failing_variant() {
    demo("oslab")
        .args(["compare", "race", "--trials", "1", "--", "--threads", "0"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("race_condition failed (exit 2)"));
}

#[test]
fn man_pages_and_completions_cover_every_binary() {
    let dir = std::env::temp_dir().join(format!("oslab-man-{}", std::process::id()));
    let man = dir.join("man1");
    demo("oslab").arg("man").arg(&man).assert().success();
    let every = || std::iter::once("oslab").chain(oslab::catalogue::DEMOS.iter().map(|d| d.name));
    for name in every() {
        let page = std::fs::read_to_string(man.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("no man page for {name}: {e}"));
        assert!(page.contains(&format!(".TH {name} 1")), "{name}: {page}");
        assert!(
            page.contains("\\-\\-help"),
            "{name}'s page lists no options"
        );
    }
    let completions = dir.join("bash");
    demo("oslab")
        .args(["completions", "bash"])
        .arg(&completions)
        .assert()
        .success();
    for name in every() {
        let script = std::fs::read_to_string(completions.join(format!("{name}.bash")))
            .unwrap_or_else(|e| panic!("no bash completions for {name}: {e}"));
        assert!(script.contains(&format!("_{name}()")), "{name}: {script}");
    }
    demo("oslab")
        .args(["completions", "tcsh"])
        .arg(&completions)
        .assert()
        .code(2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_lists_every_binary_and_every_shared_flag() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for name in std::iter::once("oslab").chain(oslab::catalogue::DEMOS.iter().map(|d| d.name)) {
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with(&format!("| `{name}`"))
                    || l.starts_with(&format!("| `{name} "))),
            "README.md's catalogue has no row for {name}"
        );
    }
    for flag in ["--format", "--quiet", "--cpu", "--trials", "--warmup"] {
        assert!(
            readme.lines().any(|l| l.starts_with(&format!("| `{flag}"))),
            "README.md's shared flags do not list {flag}"
        );
    }
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130, 143 |"] {
        assert!(readme.contains(code), "README.md's exit codes lack {code}");
    }
}
