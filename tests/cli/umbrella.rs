//! The umbrella: `oslab list`, `oslab tour`, `oslab compare`.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::{
    Running, Scratch, csv_cells, demo, demos, documented_line, parse_json, stdout_of, uint,
    usage_error, wait_until,
};
use crate::orphans::{descendants, survivors_after_grace};
use crate::race::{loses_updates, race, race_family};

/// `oslab list` says "run one with no flags for the lecture's version" and marks the ones that
/// take long or wait for input: every other one, run with no flags and stdin closed, ends by
/// itself with its verdict.
#[test]
fn every_demo_list_does_not_mark_ends_by_itself_with_no_flags() {
    for d in oslab::catalogue::DEMOS
        .iter()
        .filter(|d| d.no_flags().is_none())
    {
        let run = Running::start(d.name, &[], Stdio::null());
        let (status, stdout, stderr) = run.finish(Duration::from_secs(30));
        assert_eq!(
            status.code(),
            Some(0),
            "{} with no flags: {status}\n{stdout}\n{stderr}",
            d.name
        );
        assert!(stdout.contains("\nverdict: "), "{}:\n{stdout}", d.name);
    }
}

/// Issue 11 item 9: with no arguments, each runs the lecture's version.
#[test]
fn no_argument_behaviours_are_the_lectures() {
    // signals: the demo (both programs in one run).
    let doc = crate::common::json_of("signals", &[]);
    assert_eq!(doc["params"]["mode"], "demo", "{doc:#}");
    // sum_array: one worker per usable CPU.
    let doc = crate::common::json_of("sum_array", &["--len", "100000"]);
    let cpus = crate::common::usable_cpus().len() as u64;
    assert_eq!(doc["params"]["workers"], cpus.clamp(1, 1024), "{doc:#}");
    // proc_watch: the forest, as the slide's ps -e --forest.
    let out = stdout_of("proc_watch", &[]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["PID", "PPID", "RSS", "VSZ", "ELAPSED", "STAT", "COMMAND"]
    );
}

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
    let marked = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some("sleep_jitter"))
        .unwrap();
    assert!(
        marked.ends_with("[about 4 min: 50,000 sleeps of 5 ms]"),
        "{marked}"
    );
    let doc = parse_json("oslab", &stdout_of("oslab", &["list", "--format", "json"]));
    check_stamps(&doc, "list");
    let condition = doc["demos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "condition");
    assert_eq!(
        condition.unwrap()["no_flags"],
        "waits for you to type notify"
    );
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
    // One tour gives the JSON on stdout and the same document, a Markdown report and the HTML
    // page as files.
    let dir = Scratch::new();
    let [json, md, html] = dir.paths(["t.json", "t.md", "t.html"]);
    let stdout = stdout_of(
        "oslab",
        &[
            "tour", "--format", "json", "--export", &json, "--export", &md, "--html", &html,
        ],
    );
    let doc = parse_json("oslab", &stdout);
    assert_eq!(
        parse_json("oslab", &std::fs::read_to_string(&json).unwrap()),
        doc,
        "the exported document is the printed one"
    );
    check_stamps(&doc, "tour");
    check_tour_pages(
        &doc,
        &std::fs::read_to_string(&md).unwrap(),
        &std::fs::read_to_string(&html).unwrap(),
    );
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
    check_stamps(&doc, "compare");
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
        if !loses_updates(name) {
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
    // The spread beside each median and each ratio: the samples' own min and max, and each
    // round's ratio to the fastest (none for the fastest itself).
    let fastest_row = rows
        .iter()
        .find(|r| (r["ratio"].as_f64().unwrap() - 1.0).abs() < 1e-9)
        .unwrap();
    let fastest_at = |m: usize| fastest_row["samples"]["elapsed_ns"][m].as_f64().unwrap();
    for row in rows {
        let samples: Vec<f64> = row["samples"]["elapsed_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let range = &row["ranges"]["elapsed_ns"];
        assert_eq!(
            range["min"].as_f64(),
            samples.iter().copied().reduce(f64::min),
            "{row}"
        );
        assert_eq!(
            range["max"].as_f64(),
            samples.iter().copied().reduce(f64::max),
            "{row}"
        );
        let name = row["variant"].as_str().unwrap();
        if let Some(r) = row["ratio_range"].as_object() {
            let ratios: Vec<f64> = (0..2).map(|m| samples[m] / fastest_at(m)).collect();
            let (lo, hi) = (r["min"].as_f64().unwrap(), r["max"].as_f64().unwrap());
            assert!(
                (lo - ratios[0].min(ratios[1])).abs() < 1e-9,
                "{name}: {r:?} vs {ratios:?}"
            );
            assert!(
                (hi - ratios[0].max(ratios[1])).abs() < 1e-9,
                "{name}: {r:?} vs {ratios:?}"
            );
        }
    }
    assert!(doc["unsettled"].is_array(), "{doc:#}");
}

#[test]
fn compare_prints_the_spread_beside_medians_and_ratios() {
    let text = stdout_of(
        "oslab",
        &[
            "compare",
            "granularity",
            "--trials",
            "3",
            "--",
            "--threads",
            "2",
            "--steps",
            "5000",
        ],
    );
    // A median with its min–max (unless all three runs gave the same figure), a ratio with
    // its range beside every variant but the fastest.
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{text}"))
            .to_string()
    };
    let spread = r"\d+(\.\d+)? [nµm]?s \(\d+(\.\d+)?–\d+(\.\d+)?\)";
    for name in ["coarse_granularity", "fine_granularity"] {
        assert!(
            crate::common::matches(spread, &row(name)),
            "{name}: time (min–max):\n{text}"
        );
    }
    let ratio = r"\d\.\d\d \(\d+\.\d\d–\d+\.\d\d\)$";
    let ranged = ["coarse_granularity", "fine_granularity"]
        .iter()
        .filter(|n| crate::common::matches(ratio, &row(n)))
        .count();
    assert_eq!(ranged, 1, "one ratio range (the slower's):\n{text}");
    assert!(
        text.contains("In parentheses: the min–max over the runs"),
        "{text}"
    );
    for line in text.lines().filter(|l| l.starts_with("not settled: ")) {
        assert!(line.contains(" overlap in time ("), "{line}");
    }
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
    let tail: Vec<&str> = header
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(tail, ["ratio", "ratio_min", "ratio_max"], "{header:?}");
    for m in ["median", "min", "max"] {
        assert!(header.contains(&format!("elapsed_ns_{m}")), "{header:?}");
    }
    for line in &lines[1..] {
        let cells = csv_cells(line);
        assert_eq!(cells.len(), header.len(), "{line}");
        assert_eq!(cells[0], "granularity");
    }
    assert_eq!(csv_cells(lines[1])[1], "coarse_granularity");
    assert_eq!(csv_cells(lines[2])[1], "fine_granularity");
    // docs/output.md: race's columns, with the handovers before the ratio.
    let documented = documented_line("family,variant,trials,elapsed_ns_median,").replace(
        ",ratio,",
        ",handovers_median,handovers_min,handovers_max,ratio,",
    );
    assert_eq!(lines[0], documented);
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
fn compare_surfaces_a_variants_usage_error_as_its_own() {
    // The demo's error names the flag; the umbrella exits 2 as the demo did, not 1.
    usage_error(
        "oslab",
        &["compare", "race", "--trials", "1", "--", "--threads", "0"],
        &["race_condition refused the flags (exit 2)", "--threads"],
    );
    usage_error(
        "oslab",
        &["compare", "race", "--trials", "1", "--", "--bogus"],
        &["race_condition refused the flags", "'--bogus'"],
    );
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C and SIGTERM: passed on to the running demo, reaped, a partial table, exit 130/143

/// Starts `oslab args` in a process group of its own, waits until the demo `during` runs under
/// it with at least `below` processes of its own, sends `signal` to the umbrella's PID (or, with
/// `group`, to its whole group, as a terminal's Ctrl-C does), and waits for the end. Checks
/// that nothing is left in the group and that every process that was below the umbrella has
/// ended; returns (exit code, stdout, stderr).
fn stop_umbrella(
    args: &[&str],
    during: &str,
    below: usize,
    signal: Signal,
    group: bool,
) -> (Option<i32>, String, String) {
    let run = Running::start("oslab", args, Stdio::null());
    let mut seen = Vec::new();
    wait_until(&format!("oslab runs {during}"), || {
        seen = descendants(run.pid);
        seen.iter().filter(|p| p.comm == during).count() > below
    });
    let target = if group { -run.pid } else { run.pid };
    kill(Pid::from_raw(target), signal).expect("kill");
    let (status, stdout, stderr) = run.finish(Duration::from_secs(30));
    let left = survivors_after_grace(&seen);
    assert!(left.is_empty(), "left running: {left:?} of {seen:?}");
    (status.code(), stdout, stderr)
}

/// The text table of a stopped tour: marked partial, the demo that was running listed as
/// interrupted (not failed), and the note on stderr.
fn assert_partial_tour(stdout: &str, stderr: &str, signal: &str, during: &str) {
    assert!(
        stdout.starts_with(&format!(
            "oslab tour (partial: stopped by {signal} during {during}, after "
        )),
        "{stdout}\n{stderr}"
    );
    let row = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(during))
        .unwrap_or_else(|| panic!("no row for {during}:\n{stdout}"));
    assert_eq!(row.split_whitespace().nth(1), Some("interrupted"), "{row}");
    assert!(row.contains(&format!("interrupted by {signal}")), "{row}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.contains("\npartial: stopped by"), "{stdout}");
    assert!(
        stderr.contains(&format!("oslab: stopped by {signal} during {during}")),
        "{stderr}"
    );
}

#[test]
fn tour_stops_on_sigint_to_its_pid_and_prints_the_partial_table() {
    let (code, stdout, stderr) =
        stop_umbrella(&["tour"], "context_switch", 1, Signal::SIGINT, false);
    assert_eq!(code, Some(130), "{stdout}\n{stderr}");
    assert_partial_tour(&stdout, &stderr, "SIGINT", "context_switch");
}

#[test]
fn tour_stops_on_ctrl_c_to_its_group_and_does_not_blame_the_demo() {
    // nice_share and its two spinners get the SIGINT from the terminal too.
    let (code, stdout, stderr) = stop_umbrella(&["tour"], "nice_share", 2, Signal::SIGINT, true);
    assert_eq!(code, Some(130), "{stdout}\n{stderr}");
    assert_partial_tour(&stdout, &stderr, "SIGINT", "nice_share");
}

#[test]
fn tour_stops_on_sigterm_reaps_nice_share_and_its_spinners() {
    let (code, stdout, stderr) = stop_umbrella(&["tour"], "nice_share", 2, Signal::SIGTERM, false);
    assert_eq!(code, Some(143), "{stdout}\n{stderr}");
    assert_partial_tour(&stdout, &stderr, "SIGTERM", "nice_share");
}

#[test]
fn tour_stopped_by_sigterm_to_its_group_says_partial_in_its_json() {
    let (code, stdout, stderr) = stop_umbrella(
        &["tour", "--format", "json"],
        "context_switch",
        1,
        Signal::SIGTERM,
        true,
    );
    assert_eq!(code, Some(143), "{stdout}\n{stderr}");
    let doc = parse_json("oslab", &stdout);
    assert_eq!(doc["partial"], true, "{doc:#}");
    assert_eq!(doc["stopped_by"], "SIGTERM");
    assert_eq!(doc["failed"], 0, "{doc:#}");
    let rows = doc["tour"].as_array().unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last["demo"], "context_switch", "{doc:#}");
    assert_eq!(
        (&last["interrupted"], &last["exit_code"]),
        (&Value::Bool(true), &143.into())
    );
    assert!(
        rows.len() < oslab::catalogue::DEMOS.len(),
        "the tour went on"
    );
}

#[test]
fn compare_stops_on_sigint_and_prints_the_rounds_it_ran() {
    let (code, stdout, stderr) = stop_umbrella(
        &[
            "compare", "race", "--trials", "1000", "--", "--steps", "200000",
        ],
        "race_condition_", // comm holds 15 bytes: the atomic, spinlock and mutex variants
        0,
        Signal::SIGINT,
        false,
    );
    assert_eq!(code, Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("oslab compare race: ")
            // During a variant's run, or between two (the run it waited for had just ended).
            && (stdout.contains("(partial: stopped by SIGINT during race_condition")
                || stdout.contains("(partial: stopped by SIGINT, after ")),
        "{stdout}"
    );
    for variant in race() {
        assert!(
            stdout.lines().any(|l| l.starts_with(variant)),
            "no row for {variant}:\n{stdout}"
        );
    }
    assert!(stderr.contains("results are partial"), "{stderr}");
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
    for flag in [
        "--format", "--quiet", "--cpu", "--trials", "--warmup", "--plot",
    ] {
        assert!(
            readme.lines().any(|l| l.starts_with(&format!("| `{flag}"))),
            "README.md's shared flags do not list {flag}"
        );
    }
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130, 143 |"] {
        assert!(readme.contains(code), "README.md's exit codes lack {code}");
    }
}

/// What every umbrella document records first: the schema, oslab's version and commit, when it
/// ran and the command line.
fn check_stamps(doc: &Value, subcommand: &str) {
    assert!(uint(&doc["schema_version"], "schema_version") >= 1, "{doc}");
    let version = doc["oslab"].as_str().unwrap();
    assert!(version.starts_with(env!("CARGO_PKG_VERSION")), "{version}");
    assert!(doc["run_at"].as_str().unwrap().ends_with('Z'), "{doc}");
    let argv = doc["argv"].as_array().unwrap();
    assert!(argv[0].as_str().unwrap().ends_with("oslab"), "{argv:?}");
    assert_eq!(argv[1], subcommand, "{argv:?}");
}

/// The tour's Markdown report and HTML page agree with its JSON: a row and a section per demo
/// with the same verdict, what each demo printed, and a picture for each demo that draws one.
fn check_tour_pages(doc: &Value, md: &str, page: &str) {
    let rows = doc["tour"].as_array().unwrap();
    assert!(md.starts_with("# oslab tour\n"), "{md}");
    assert!(page.starts_with("<!DOCTYPE html>"));
    crate::export::no_network(page);
    let word = |row: &Value| match row["verdict"]["held"] {
        Value::Bool(true) => "held",
        Value::Bool(false) => "did not hold",
        _ => "could not be checked",
    };
    for row in rows {
        let name = row["demo"].as_str().unwrap();
        assert!(
            md.contains(&format!("| `{name}` | {} |", word(row))),
            "the Markdown row of {name} lacks its verdict {}",
            word(row)
        );
        let at = page
            .find(&format!("<section class=\"demo\" id=\"{name}\">"))
            .unwrap_or_else(|| panic!("no section for {name}"));
        let section = &page[at..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(
            section.contains(&format!(" {}", word(row))),
            "{name}'s section lacks its verdict {}",
            word(row)
        );
        assert!(
            section.contains("What it printed:"),
            "{name}: no transcript"
        );
        assert!(
            !section.contains("report: /"),
            "{name}: the temporary report's name shows"
        );
        let draws = oslab::pictures::drawer(name).is_some();
        assert_eq!(
            section.contains("<svg"),
            draws,
            "{name}: a picture inline exactly when it draws one"
        );
    }
    // The race demo's transcript starts with the lecture's line.
    let at = page.find("id=\"race_condition\"").unwrap();
    assert!(
        crate::common::matches(r"<pre>var = \d+; time = ", &page[at..]),
        "race_condition's transcript"
    );
}
