//! reentrancy: the slide's table by value (wrong results of each add2, from threads and from the
//! handler), the lecture's lines and table, CSV, usage errors.

use crate::common::*;

/// (wrong with threads, tmp overwritten by another thread, wrong when re-entered, re-entered) of
/// variant `n` (1-4).
fn counts(doc: &serde_json::Value, n: usize) -> (u64, Option<u64>, u64, u64) {
    let m = &doc["results"]["variants"][n - 1];
    assert_eq!(uint(&m["number"], "number"), n as u64, "{m}");
    let (t, s) = (&m["threads"], &m["signal"]);
    (
        uint(&t["wrong"], "threads.wrong"),
        t["overwritten"].as_u64(),
        uint(&s["wrong"], "signal.wrong"),
        uint(&s["reentered"], "signal.reentered"),
    )
}

#[test]
fn the_slides_four_cells_by_value() {
    let doc = json_of(
        "reentrancy",
        &["--calls", "200000", "--reentries", "300", "--tick", "50"],
    );
    let ctx = format!("{doc:#}");
    // #1: tmp read back: wrong from threads (two CPUs, or preempted inside the window on one)
    // and from the handler, which lands in the window of nearly every call.
    let (tw, to, sw, re) = counts(&doc, 1);
    assert!(tw > 0 && to.unwrap() >= tw, "#1 threads: {ctx}");
    assert!(re >= 250 && sw > 0 && sw <= re, "#1 handler: {ctx}");
    // #2: tmp written only: never a wrong result, but other threads overwrote tmp (the race).
    let (tw, to, sw, re) = counts(&doc, 2);
    assert_eq!((tw, sw), (0, 0), "#2: {ctx}");
    assert!(to.unwrap() > 0 && re >= 250, "#2 raced on tmp: {ctx}");
    // #3: thread_local tmp: no thread sees another's tmp; the handler shares the thread's.
    let (tw, to, sw, re) = counts(&doc, 3);
    assert_eq!((tw, to), (0, Some(0)), "#3 threads: {ctx}");
    assert!(re >= 250 && sw > 0, "#3 handler: {ctx}");
    // #4: no tmp: nothing to get wrong.
    let (tw, to, sw, re) = counts(&doc, 4);
    assert_eq!((tw, to, sw), (0, None, 0), "#4: {ctx}");
    assert!(re >= 250, "{ctx}");
    assert_eq!(doc["verdict"]["held"], true, "{ctx}");
    let lesson = doc["lesson"].as_str().expect("lesson");
    assert!(lesson.contains("recursion is not reentrancy"), "{lesson}");
}

#[test]
fn prints_a_line_per_run_and_the_slides_table() {
    let out = stdout_of(
        "reentrancy",
        &["--calls", "20000", "--reentries", "100", "--tick", "50"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        matches(
            r"^add2 #1 \(tmp read back\): 2 threads × 20000 calls at once: \d+ wrong results? \(tmp overwritten by another thread in \d+ calls?\)$",
            lines[0]
        ),
        "{out}"
    );
    assert!(
        matches(
            r"^add2 #4 \(no tmp\): re-entered by SIGALRM in \d+ of 100 calls: 0 wrong results$",
            lines[7]
        ),
        "{out}"
    );
    assert!(matches(r"^ +reentrant +not reentrant$", lines[8]), "{out}");
    assert!(lines[9].starts_with("thread-safe "), "{out}");
    assert!(out.contains("not thread-safe "), "{out}");
    assert!(out.lines().any(|l| l.starts_with("verdict: ")), "{out}");
    // --quiet keeps the lecture's lines and the table.
    let quiet = stdout_of(
        "reentrancy",
        &["--calls", "2000", "--reentries", "20", "--quiet"],
    );
    assert!(quiet.lines().count() >= 12, "{quiet}");
    assert!(!quiet.contains("verdict:"), "{quiet}");
}

#[test]
fn csv_has_a_row_per_variant_and_run() {
    let csv = stdout_of(
        "reentrancy",
        &["--calls", "2000", "--reentries", "20", "--format", "csv"],
    );
    let t = CsvTable::parse("reentrancy", &csv, 8, "demo,threads,calls_per_thread,");
    let (run, wrong, variant) = (t.col("run"), t.col("wrong"), t.col("variant"));
    assert_eq!(t.rows[0][run], "threads");
    assert_eq!(t.rows[1][run], "signal");
    assert_eq!(t.rows[7][variant], "4");
    assert_eq!(t.rows[7][wrong], "0");
}

#[test]
fn bad_sizes_are_usage_errors() {
    usage_error("reentrancy", &["--tick", "5"], &["--tick", "5"]);
    usage_error("reentrancy", &["--threads", "0"], &["--threads", "0"]);
    usage_error("reentrancy", &["--calls", "x"], &["--calls"]);
}
