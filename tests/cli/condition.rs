//! condition: the lecture's lines with stdin piped, end of input, --notify-after, notify versus
//! notify_all, the lost wake-up, the semaphore, Ctrl-C, usage errors.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

const WAITING: &str = "Waiting thread: waiting for main thread...";
const PROMPT: &str = r#"Main thread: type "notify" to notify waiting thread"#;
const NOTIFIED: &str = "Waiting thread: notified by main thread";

/// The position of `line` in `stdout`'s lines.
fn position(stdout: &str, line: &str) -> usize {
    stdout
        .lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no {line:?} in\n{stdout}"))
}

#[test]
fn echo_notify_wakes_the_waiter_with_the_lectures_lines() {
    let (stdout, _) = run_alone("condition", &[], "notify\n", 0);
    // The waiter waits before main prompts; it is notified after.
    assert!(
        position(&stdout, WAITING) < position(&stdout, PROMPT),
        "{stdout}"
    );
    assert!(
        position(&stdout, PROMPT) < position(&stdout, NOTIFIED),
        "{stdout}"
    );
    assert!(stdout.contains("woke: 1 of 1 waiter"), "{stdout}");
    for prefix in ["lesson: ", "compare: "] {
        assert!(stdout.lines().any(|l| l.starts_with(prefix)), "{stdout}");
    }

    // Anything but "notify" is ignored, as in the lecture; --quiet keeps only its lines.
    let (stdout, _) = run_alone("condition", &["--quiet"], "x\nnotify\n", 0);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [WAITING, PROMPT, NOTIFIED]
    );
}

#[test]
fn end_of_input_without_notify_is_an_error_not_a_hang() {
    let (stdout, stderr) = run_alone("condition", &[], "x\ny\n", 1);
    assert!(
        stderr.contains("condition: error: end of input"),
        "{stderr}"
    );
    assert!(stderr.contains("2 other lines ignored"), "{stderr}");
    assert!(!stdout.contains(NOTIFIED), "{stdout}");
    let (_, stderr) = run_alone("condition", &[], "", 1);
    assert!(stderr.contains("never notified"), "{stderr}");
}

#[test]
fn notify_after_needs_no_input() {
    let (stdout, _) = run_alone("condition", &["--notify-after", "50"], "", 0);
    assert!(stdout.lines().any(|l| l == NOTIFIED), "{stdout}");
    assert!(!stdout.contains(PROMPT), "{stdout}");
}

/// `condition args --format json`, with no input.
fn report(args: &[&str]) -> Value {
    let args = [args, &["--format", "json"]].concat();
    let (stdout, _) = run_alone("condition", &args, "", 0);
    parse_json("condition", &stdout)
}

fn woken(doc: &Value) -> Vec<String> {
    doc["results"]["waiters"]
        .as_array()
        .expect("waiters")
        .iter()
        .map(|w| w["woken"].as_str().expect("woken").to_string())
        .collect()
}

#[test]
fn notify_wakes_one_and_notify_all_wakes_all() {
    let doc = report(&["--waiters", "3", "--notify-after", "20"]);
    let r = &doc["results"];
    assert_eq!(r["wake"], "notify");
    assert_eq!(
        (r["woke"].as_u64(), r["released"].as_u64()),
        (Some(1), Some(2)),
        "{doc:#}"
    );
    assert_eq!(woken(&doc).iter().filter(|w| *w == "released").count(), 2);

    let doc = report(&["--waiters", "3", "--all", "--notify-after", "20"]);
    let r = &doc["results"];
    assert_eq!(r["wake"], "notify_all");
    assert_eq!(
        (r["woke"].as_u64(), r["released"].as_u64()),
        (Some(3), Some(0)),
        "{doc:#}"
    );
    for w in r["waiters"].as_array().expect("waiters") {
        assert!(
            uint(&w["wake_latency_ns"], "wake_latency_ns") > 0,
            "{doc:#}"
        );
    }

    // In text: who woke, and that the others were released so the process could exit.
    let (stdout, _) = run_alone(
        "condition",
        &["--waiters", "3", "--notify-after", "20"],
        "",
        0,
    );
    assert!(
        stdout.contains("woke: 1 of 3 waiters: notify wakes one"),
        "{stdout}"
    );
    assert!(stdout.contains("released: 2 waiters"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.ends_with(": notified by main thread"))
            .count(),
        1,
        "{stdout}"
    );
}

#[test]
fn the_semaphore_lets_one_waiter_through_per_post() {
    let doc = report(&["--semaphore", "--waiters", "3", "--notify-after", "20"]);
    assert_eq!(doc["results"]["primitive"], "semaphore");
    assert_eq!(doc["results"]["woke"], 1, "{doc:#}");
    assert_eq!(doc["results"]["released"], 2, "{doc:#}");
    let doc = report(&[
        "--semaphore",
        "--waiters",
        "3",
        "--all",
        "--notify-after",
        "20",
    ]);
    assert_eq!(doc["results"]["wake"], "post 3");
    assert_eq!(doc["results"]["woke"], 3, "{doc:#}");
}

#[test]
fn a_notify_before_the_wait_is_lost_without_a_predicate() {
    let doc = report(&["--lost-wakeup", "--bound", "100"]);
    let waiters = doc["results"]["waiters"].as_array().expect("waiters");
    assert_eq!(waiters.len(), 2, "{doc:#}");
    assert_eq!(waiters[0]["predicate"], false);
    assert_eq!(waiters[0]["woken"], "timed_out", "{doc:#}");
    assert_eq!(waiters[1]["predicate"], true);
    assert_eq!(waiters[1]["woken"], "notified", "{doc:#}");
    assert_eq!(doc["results"]["trigger"], "before_wait");

    let (stdout, _) = run_alone("condition", &["--lost-wakeup", "--bound", "100"], "", 0);
    assert!(
        stdout.contains("was lost; without the time limit it would wait forever"),
        "{stdout}"
    );
    assert!(stdout.contains("did not wait at all"), "{stdout}");

    // A semaphore keeps the early post.
    let doc = report(&["--lost-wakeup", "--semaphore"]);
    assert_eq!(woken(&doc), ["notified"], "{doc:#}");
}

#[test]
fn csv_has_a_row_per_waiter() {
    let (csv, _) = run_alone(
        "condition",
        &[
            "--waiters",
            "4",
            "--all",
            "--notify-after",
            "10",
            "--format",
            "csv",
        ],
        "",
        0,
    );
    let table = CsvTable::parse("condition", &csv, 4, "demo,waiters,");
    for (i, row) in table.rows.iter().enumerate() {
        assert_eq!(row[table.col("waiter")], (i + 1).to_string());
        assert_eq!(row[table.col("woken")], "notified");
    }
}

#[test]
fn ctrl_c_while_reading_stdin_exits_130() {
    // stdin open and silent: main waits for a line.
    let run = Running::start("condition", &[], Stdio::piped());
    run.out.wait_for(&[WAITING, PROMPT]);
    run.interrupt(Signal::SIGINT, Duration::ZERO);
    let (status, stdout, stderr) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(stdout.contains("stopped before main notified"), "{stdout}");
}

#[test]
fn bad_flags_are_usage_errors() {
    usage_error("condition", &["--waiters", "0"], &["--waiters", "1 to 64"]);
    usage_error("condition", &["--waiters", "65"], &["--waiters", "1 to 64"]);
    usage_error(
        "condition",
        &["--notify-after", "-1"],
        &["--notify-after", "from 0 to 10m"],
    );
    usage_error(
        "condition",
        &["--notify-after", "soon"],
        &["--notify-after", "not a duration"],
    );
    usage_error(
        "condition",
        &["--lost-wakeup", "--bound", "0"],
        &["--bound", "from 1ms to 1m"],
    );
    usage_error(
        "condition",
        &["--lost-wakeup", "--waiters", "2"],
        &["--waiters"],
    );
}

#[test]
fn help_names_condition_py() {
    check_help("condition", "condition.py");
}

#[test]
fn lost_wakeup_is_its_own_binary_and_condition_lost_wakeup_runs_it() {
    // The same run both ways: the waiter without a predicate misses the early notify.
    for (name, args) in [
        ("lost_wakeup", &["--bound", "100"][..]),
        ("condition", &["--lost-wakeup", "--bound", "100"][..]),
    ] {
        let (stdout, _) = run_alone(name, args, "", 0);
        assert!(
            stdout.contains("was lost; without the time limit it would wait forever"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.lines().any(|l| l.starts_with("verdict: held — ")),
            "{name}: {stdout}"
        );
        let json = [args, &["--format", "json"]].concat();
        let (stdout, _) = run_alone(name, &json, "", 0);
        let doc = parse_json(name, &stdout);
        assert_eq!(doc["demo"], "lost_wakeup", "{doc:#}");
        assert_eq!(doc["params"]["lost_wakeup"], true);
        assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
        assert_eq!(woken(&doc), ["timed_out", "notified"], "{doc:#}");
    }
    let (stdout, _) = run_alone("lost_wakeup", &["--semaphore", "--format", "json"], "", 0);
    let doc = parse_json("lost_wakeup", &stdout);
    assert_eq!(woken(&doc), ["notified"], "{doc:#}");
    assert_eq!(doc["params"]["waiters"], 1, "{doc:#}");
    usage_error(
        "lost_wakeup",
        &["--bound", "0"],
        &["--bound", "from 1ms to 1m"],
    );
    usage_error("lost_wakeup", &["--waiters", "2"], &["--waiters"]);
}

#[test]
fn every_run_states_its_verdict() {
    let doc = report(&["--notify-after", "50"]);
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    let doc = report(&["--waiters", "3", "--notify-after", "20"]);
    assert_eq!(
        doc["verdict"]["claim"], "notify wakes exactly one of the waiters",
        "{doc:#}"
    );
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
}

/// A waiter after the first cannot start (RLIMIT_NPROC as nobody): exit 1 naming it, the ones
/// already started released and joined. It used to hang for ever, deaf to SIGINT and SIGTERM:
/// the first waiter reached `wait()` after main had released everyone.
#[test]
fn a_waiter_that_cannot_start_is_an_error_not_a_hang() {
    for mode in [&[][..], &["--semaphore"][..], &["--all"][..]] {
        for _ in 0..3 {
            let Some(mut cmd) = as_nobody("condition", &["prlimit", "--nproc=3"]) else {
                return;
            };
            let mut child = cmd
                .args(["--waiters", "4", "--notify-after", "10"])
                .args(mode)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            let status = wait_within(&mut child, Duration::from_secs(10));
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            assert_eq!(status.code(), Some(1), "{mode:?}: {stderr}");
            assert!(
                matches(
                    r"^condition: error: could not start thread [234] of 4",
                    &stderr
                ),
                "{mode:?}: {stderr}"
            );
        }
    }
}
