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
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "a header and a row per sample:\n{csv}");
    let header = csv_cells(lines[0]);
    assert!(header.contains(&"states".to_string()), "{csv}");
    assert!(header.contains(&"phase".to_string()), "{csv}");
}
