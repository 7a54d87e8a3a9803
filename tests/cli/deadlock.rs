//! deadlock: the lecture's lines, the watchdog's report and exit 3, the hang of --timeout 0,
//! Ctrl-C, the two fixes, JSON and CSV, usage errors.

use std::process::Stdio;
use std::thread;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

const WAITING_1: &str = "Thread 1: locked resource 1. Waiting for resource 2...";
const WAITING_2: &str = "Thread 2: locked resource 2. Waiting for resource 1...";

/// The lines each thread prints once it has both resources (the lecture's order of release).
const UNLOCKED: [&str; 4] = [
    "Thread 1: unlocked resource 1.",
    "Thread 1: unlocked resource 2.",
    "Thread 2: unlocked resource 2.",
    "Thread 2: unlocked resource 1.",
];

/// The report of a detected deadlock names both threads, both resources and the cycle.
fn check_deadlock_report(stdout: &str) {
    for line in [WAITING_1, WAITING_2] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
    for want in [
        "Thread 1 (tid ",
        "): holds resource 1, waits for resource 2 (held by Thread 2); state ",
        "): holds resource 2, waits for resource 1 (held by Thread 1); state ",
        "cycle: Thread 1 waits for resource 2, held by Thread 2, which waits for resource 1, held by Thread 1",
    ] {
        assert!(stdout.contains(want), "no {want:?} in\n{stdout}");
    }
    assert!(
        !stdout.contains("unlocked resource"),
        "a deadlocked thread went on:\n{stdout}"
    );
}

#[test]
fn defaults_detect_the_deadlock_within_the_timeout_plus_one_second() {
    // The lecture's run: sleep 2 s, watchdog at 5 s. Exit 3 must come before 6 s.
    let run = Running::start("deadlock", &[], Stdio::null());
    let (status, stdout, _) = run.finish(Duration::from_secs(6));
    assert_eq!(status.code(), Some(3), "{status}\n{stdout}");
    check_deadlock_report(&stdout);
    assert!(stdout.contains("deadlock: after 5.0"), "{stdout}");
    for prefix in ["lesson: ", "compare: "] {
        assert!(stdout.lines().any(|l| l.starts_with(prefix)), "{stdout}");
    }
}

#[test]
fn timeout_zero_hangs_like_the_lecture() {
    let mut run = Running::start(
        "deadlock",
        &["--timeout", "0", "--sleep", "50"],
        Stdio::null(),
    );
    run.out.wait_for(&[WAITING_1, WAITING_2]);
    thread::sleep(Duration::from_secs(1));
    let still_running = run.child.try_wait().expect("waitpid").is_none();
    run.child.kill().expect("kill");
    let (_, stdout, _) = run.finish(TIMEOUT);
    assert!(still_running, "--timeout 0 should hang:\n{stdout}");
    // Only the two waiting lines, thread 1's first as on the slide: nothing after them, ever.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, [WAITING_1, WAITING_2], "{stdout}");
}

#[test]
fn thread_1_prints_first_in_every_run_as_deadlock_py_starts_it_first() {
    // t1.start(); t2.start(): thread 1 has locked resource 1 and printed before thread 2 runs
    // (the old start gate let them race: Thread 2 came first in about 7 of 12 runs).
    for run in 1..=8 {
        let (stdout, _) = run_alone("deadlock", &["--timeout", "0.1", "--sleep", "20"], "", 3);
        let first: Vec<&str> = stdout.lines().take(2).collect();
        assert_eq!(first, [WAITING_1, WAITING_2], "run {run}:\n{stdout}");
    }
    // The cures start the same way.
    for fix in ["ordered", "trylock"] {
        let (stdout, _) = run_alone("deadlock", &["--fix", fix, "--sleep", "20"], "", 0);
        assert_eq!(
            stdout.lines().next(),
            Some(WAITING_1),
            "--fix {fix}:\n{stdout}"
        );
    }
}

#[test]
fn ctrl_c_ends_the_hang_with_exit_130_and_the_graph() {
    let run = Running::start(
        "deadlock",
        &["--timeout", "0", "--sleep", "50"],
        Stdio::null(),
    );
    run.out.wait_for(&[WAITING_1, WAITING_2]);
    // Both threads are past their sleep and blocked: the cycle is there.
    run.interrupt(Signal::SIGINT, Duration::from_millis(200));
    let (status, stdout, stderr) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(stderr.contains("partial"), "{stderr}");
    assert!(stdout.contains("the threads were deadlocked"), "{stdout}");
    check_deadlock_report(&stdout);
}

#[test]
fn both_fixes_complete_with_every_unlocked_line() {
    for fix in ["ordered", "trylock"] {
        let (stdout, _) = run_alone("deadlock", &["--fix", fix, "--sleep", "100"], "", 0);
        for line in UNLOCKED {
            let line = if fix == "ordered" && line.starts_with("Thread 2") {
                // One order for both: thread 2 locks, and unlocks, resource 1 first too.
                line.replace("resource 2", "resource X")
                    .replace("resource 1", "resource 2")
                    .replace("resource X", "resource 1")
            } else {
                line.to_string()
            };
            assert!(
                stdout.lines().any(|l| l == line),
                "--fix {fix}: no {line:?} in\n{stdout}"
            );
        }
        assert!(stdout.contains("no deadlock: both threads"), "{stdout}");
        if fix == "trylock" {
            assert!(stdout.contains("fix trylock: retried"), "{stdout}");
        }

        let doc = json_of("deadlock", &["--fix", fix, "--sleep", "20"]);
        let trial = &doc["results"]["trials"][0];
        assert_eq!(trial["outcome"], "completed", "{doc:#}");
        assert_eq!(trial["deadlocked"], false);
        assert_eq!(doc["params"]["fix"], fix);
        let threads = trial["threads"].as_array().expect("threads");
        assert_eq!(threads.len(), 2);
        let retries: u64 = threads.iter().map(|t| uint(&t["retries"], "retries")).sum();
        assert_eq!(uint(&trial["retries"], "trial retries"), retries);
        for t in threads {
            assert_eq!(t["locked_both"], true, "{doc:#}");
        }
        assert!(trial["cycle"].as_array().expect("cycle").is_empty());
    }
}

#[test]
fn json_report_names_the_cycle_and_the_kernel_state() {
    let (stdout, _) = run_alone(
        "deadlock",
        &["--timeout", "0.3", "--sleep", "50", "--format", "json"],
        "",
        3,
    );
    let doc = parse_json("deadlock", &stdout);
    assert_eq!(doc["demo"], "deadlock");
    assert_eq!(doc["partial"], false);
    assert!(
        doc["headline"]
            .as_str()
            .unwrap()
            .starts_with("deadlock detected")
    );
    let trial = &doc["results"]["trials"][0];
    assert_eq!(trial["outcome"], "deadlock", "{doc:#}");
    assert_eq!(trial["deadlocked"], true);
    assert!(
        uint(&trial["detected_ns"], "detected_ns") >= uint(&trial["cycle_formed_ns"], "formed")
    );
    let cycle: Vec<(u64, u64, u64)> = trial["cycle"]
        .as_array()
        .expect("cycle")
        .iter()
        .map(|c| {
            (
                uint(&c["thread"], "thread"),
                uint(&c["waits_for"], "waits_for"),
                uint(&c["held_by"], "held_by"),
            )
        })
        .collect();
    assert_eq!(cycle, [(1, 2, 2), (2, 1, 1)], "{doc:#}");
    for (i, t) in trial["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .enumerate()
    {
        let (mine, other) = (i as u64 + 1, 2 - i as u64);
        assert_eq!(t["holds"], Value::from(vec![mine]), "{doc:#}");
        assert_eq!(uint(&t["waits_for"], "waits_for"), other);
        assert!(uint(&t["tid"], "tid") > 0);
        // Read from /proc/self/task/<tid>/stat: asleep on the lock (or just waking for the
        // next slice of its timed wait).
        let state = t["state"].as_str().expect("state");
        assert!(["S", "R"].contains(&state), "{doc:#}");
        assert!(t["state_name"].is_string());
    }

    let (csv, _) = run_alone(
        "deadlock",
        &["--timeout", "0.2", "--sleep", "20", "--format", "csv"],
        "",
        3,
    );
    let table = CsvTable::parse("deadlock", &csv, 2, "demo,sleep_ms,");
    for (i, row) in table.rows.iter().enumerate() {
        assert_eq!(row[table.col("outcome")], "deadlock");
        assert_eq!(row[table.col("thread")], (i + 1).to_string());
        assert_eq!(row[table.col("holds")], (i + 1).to_string());
    }
}

#[test]
fn without_the_sleep_either_outcome_is_honest() {
    // Whether it deadlocks is up to the scheduler: both endings must be complete and coherent.
    let out = demo("deadlock")
        .args(["--sleep", "0", "--timeout", "0.3", "--format", "json"])
        .output()
        .expect("run");
    let doc = parse_json("deadlock", &String::from_utf8_lossy(&out.stdout));
    let trial = &doc["results"]["trials"][0];
    match out.status.code() {
        Some(0) => {
            assert_eq!(trial["outcome"], "completed", "{doc:#}");
            assert_eq!(trial["deadlocked"], false);
        }
        Some(3) => {
            assert_eq!(trial["outcome"], "deadlock", "{doc:#}");
            assert_eq!(trial["cycle"].as_array().map(Vec::len), Some(2));
        }
        other => panic!("exit {other:?}: {doc:#}"),
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    usage_error("deadlock", &["--sleep", "-1"], &["--sleep", "from 0 to 1m"]);
    usage_error(
        "deadlock",
        &["--sleep", "60001"],
        &["--sleep", "from 0 to 1m"],
    );
    usage_error(
        "deadlock",
        &["--timeout", "3601"],
        &["--timeout", "from 0 to 1h"],
    );
    usage_error(
        "deadlock",
        &["--timeout", "soon"],
        &["--timeout", "not a duration"],
    );
    usage_error(
        "deadlock",
        &["--fix", "prayer"],
        &["--fix", "ordered", "trylock"],
    );
    usage_error("deadlock", &["--threads", "2"], &["--threads"]);
}

#[test]
fn help_names_deadlock_py() {
    check_help("deadlock", "deadlock.py");
}

#[test]
fn the_verdict_follows_the_outcome() {
    let (stdout, _) = run_alone(
        "deadlock",
        &["--timeout", "0.3", "--sleep", "50", "--format", "json"],
        "",
        3,
    );
    let doc = parse_json("deadlock", &stdout);
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    for fix in ["ordered", "trylock"] {
        let doc = json_of("deadlock", &["--fix", fix, "--sleep", "20"]);
        assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    }
}
