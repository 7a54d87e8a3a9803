//! thread_states and gil: the invariants by value from JSON (at most one RUNNING per CPU; the
//! lock and pipe threads BLOCKED, then not; the GIL model's speed-ups), the lecture's lines, CSV.

use serde_json::Value;

use crate::common::*;

fn states(sample: &Value) -> Vec<String> {
    sample["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| s.as_str().expect("a state").to_string())
        .collect()
}

#[test]
fn thread_states_never_shows_two_running_on_one_cpu_and_the_blocked_wake() {
    let doc = json_of(
        "thread_states",
        &["--samples", "20", "--interval", "5", "--format", "json"],
    );
    let r = &doc["results"];
    let names: Vec<&str> = r["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["compute-1", "compute-2", "lock", "pipe"], "{doc:#}");
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 40, "{doc:#}");
    for s in samples {
        let st = states(s);
        assert_eq!(st.len(), 4, "{s}");
        let running = st.iter().filter(|x| *x == "RUNNING").count();
        assert!(running <= 1, "two RUNNING on one CPU: {s}");
        for x in &st {
            assert!(["RUNNING", "READY", "BLOCKED"].contains(&x.as_str()), "{s}");
        }
    }
    assert!(uint(&r["max_running"], "max_running") <= 1, "{doc:#}");
    let (before, after): (Vec<&Value>, Vec<&Value>) =
        samples.iter().partition(|s| s["phase"] == "before");
    assert_eq!((before.len(), after.len()), (20, 20), "{doc:#}");
    for i in [2, 3] {
        assert!(
            before.iter().all(|s| states(s)[i] == "BLOCKED"),
            "{} BLOCKED before the wake: {doc:#}",
            names[i]
        );
        assert!(
            after.iter().any(|s| states(s)[i] != "BLOCKED"),
            "{} not BLOCKED after the wake: {doc:#}",
            names[i]
        );
    }
    assert!(doc["verdict"]["because"].as_str().unwrap().len() > 10);
}

#[test]
fn thread_states_prints_the_threads_the_timeline_and_csv_rows() {
    let out = stdout_of("thread_states", &["--samples", "10", "--interval", "5"]);
    for pattern in [
        r"^\[compute\] TID \d+: computing$",
        r"^\[lock\] TID \d+: pthread_mutex_lock\(&lock\)\.\.\.$",
        r"^\[pipe\] TID \d+: read\(fds\[0\], &c, 1\)\.\.\.$",
        r#"^\[main\] pthread_mutex_unlock\(&lock\); write\(fds\[1\], "x", 1\)$"#,
        r"^  lock       \.{10}\|[R.-]{10}$",
        r"^  RUNNING    [01]{10}\|[01]{10}$",
        r"^how a state is decided: ",
        r"^verdict: ",
    ] {
        assert!(
            out.lines().any(|l| matches(pattern, l)),
            "{pattern}:\n{out}"
        );
    }
    let csv = stdout_of(
        "thread_states",
        &["--samples", "3", "--interval", "5", "--format", "csv"],
    );
    // Tidy: a row per thread (its state, the CPU time it ran) of each of the 2 × 3 samples.
    let lines: Vec<&str> = csv.lines().collect();
    let header = csv_cells(lines[0]);
    let samples: std::collections::BTreeSet<(String, String)> = lines[1..]
        .iter()
        .map(|l| csv_cells(l))
        .map(|c| (c[5].clone(), c[6].clone()))
        .collect();
    assert_eq!(samples.len(), 6, "a row per thread of each sample:\n{csv}");
    assert_eq!(
        (lines.len() - 1) % 6,
        0,
        "as many threads in each sample:\n{csv}"
    );
    assert!(header.contains(&"states".to_string()), "{csv}");
    assert!(header.contains(&"phase".to_string()), "{csv}");
}

/// Small, and waits long beside a wake-up's latency on a busy machine.
const SMALL: [&str; 8] = ["--tasks", "2", "--work", "20", "--waits", "5", "--io", "10"];

fn gil_json(extra: &[&str]) -> Value {
    let mut args = SMALL.to_vec();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--format", "json"]);
    json_of("gil", &args)
}

fn row<'a>(doc: &'a Value, approach: &str) -> &'a Value {
    doc["results"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["approach"] == approach)
        .unwrap_or_else(|| panic!("no {approach} row: {doc:#}"))
}

fn speedup(v: &Value) -> f64 {
    v.as_f64().expect("a speed-up")
}

#[test]
fn under_one_gil_two_threads_do_not_compute_faster_but_wait_faster() {
    let doc = gil_json(&[]);
    let t = row(&doc, "threading");
    assert!(speedup(&t["cpu_speedup"]) < 1.3, "CPU-bound: {doc:#}");
    assert!(speedup(&t["io_speedup"]) > 1.5, "I/O-bound: {doc:#}");
    assert!(
        t["cpu_busy"].as_f64().unwrap() < 1.2,
        "one thread at a time computes: {doc:#}"
    );
    let a = row(&doc, "asyncio");
    assert!(
        speedup(&a["cpu_speedup"]) < 1.3,
        "asyncio CPU-bound: {doc:#}"
    );
    assert!(
        speedup(&a["io_speedup"]) > 1.5,
        "asyncio I/O-bound: {doc:#}"
    );
    // Processes and subinterpreters ran both workloads (their speed-ups depend on the load).
    for approach in ["multiprocessing", "subinterpreters"] {
        let r = row(&doc, approach);
        assert!(
            uint(&r["cpu_ns"], "cpu_ns") > 0 && uint(&r["io_ns"], "io_ns") > 0,
            "{approach}: {doc:#}"
        );
    }
    assert!(
        uint(&doc["results"]["gil_switches"], "gil_switches") >= 2,
        "{doc:#}"
    );
    assert!(doc["results"]["python"].is_null(), "{doc:#}");
}

#[test]
fn gil_prints_the_seeds_table_and_csv_rows() {
    let out = stdout_of("gil", &SMALL);
    for pattern in [
        r"^CPU-bound: one thread, 2 tasks in turn: ",
        r"^CPU-bound: threading: .* \(\d+\.\d\d×\)$",
        r"^I/O-bound: multiprocessing: .* \(\d+\.\d\d×\)$",
        r"^  Approach +Module +Concurrent \(seed / run\) +Parallel \(seed / run\) +CPU-bound +I/O-bound$",
        r"^  Threading +threading +Yes / yes +No / no ",
        r"^  Async +asyncio +Yes / yes +No / no ",
        r"^verdict: ",
    ] {
        assert!(
            out.lines().any(|l| matches(pattern, l)),
            "{pattern}:\n{out}"
        );
    }
    let mut args = SMALL.to_vec();
    args.extend_from_slice(&["--format", "csv"]);
    let csv = stdout_of("gil", &args);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "a header and a row per approach:\n{csv}");
    assert!(
        csv_cells(lines[0]).contains(&"io_speedup".to_string()),
        "{csv}"
    );
}

#[test]
fn gil_python_runs_the_same_workloads_in_cpython() {
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: no python3 on this machine");
        return;
    }
    let doc = gil_json(&["--python"]);
    let py = &doc["results"]["python"];
    assert!(py["version"].as_str().unwrap().starts_with('3'), "{doc:#}");
    for workload in ["cpu", "io"] {
        for approach in ["serial", "threading", "multiprocessing", "asyncio"] {
            assert!(
                py[workload][approach].as_f64().unwrap() > 0.0,
                "{workload} {approach}: {doc:#}"
            );
        }
    }
    // CPython's own threads overlap their sleeps: time.sleep lets the GIL go.
    let io = &py["io"];
    assert!(
        io["serial"].as_f64().unwrap() / io["threading"].as_f64().unwrap() > 1.5,
        "{doc:#}"
    );
}

#[test]
fn gil_python_without_python3_says_so() {
    let mut args = SMALL.to_vec();
    args.extend_from_slice(&["--python", "--format", "json"]);
    let out = demo("gil")
        .args(&args)
        .env("PATH", "/nonexistent")
        .output()
        .expect("gil runs");
    assert!(out.status.success(), "{out:?}");
    let doc = parse_json("gil", &String::from_utf8_lossy(&out.stdout));
    assert!(doc["results"]["python"].is_null(), "{doc:#}");
    let note = doc["results"]["python_note"].as_str().unwrap();
    assert!(note.contains("python3 is not on this machine"), "{note}");
}
