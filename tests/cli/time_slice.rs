//! time_slice: threads on one CPU log their turns. Counts, invariants by value, the policy read
//! back and the JSON fields are asserted; turn lengths against 20 ms or the RR quantum are timing
//! claims and are not.

use serde_json::Value;

use crate::common::*;
use crate::sched::{output_of, without_privileges};

/// Each thread of a document: the invariants every run keeps.
fn check_threads(doc: &Value, threads: usize) -> Vec<Value> {
    let r = &doc["results"];
    let ts = r["threads"].as_array().expect("threads").clone();
    assert_eq!(ts.len(), threads, "{r}");
    let cpu = uint(&r["cpu"], "cpu");
    for (i, t) in ts.iter().enumerate() {
        assert_eq!(uint(&t["thread"], "thread"), i as u64 + 1);
        assert_eq!(uint(&t["cpu"], "cpu"), cpu, "every thread on the one CPU");
        let turns = uint(&t["turns"], "turns");
        assert!(
            turns >= 1,
            "thread {} was switched out at least once: {t}",
            i + 1
        );
        let s = &t["summary"];
        assert!(uint(&s["min_ns"], "min_ns") > 0, "turns are positive: {t}");
        assert_eq!(uint(&s["count"], "count"), turns);
        let ran = uint(&t["ran_ns"], "ran_ns");
        let cpu_ns = uint(&t["cpu_ns"], "cpu_ns");
        let wall = uint(&t["wall_ns"], "wall_ns");
        assert!(ran > 0 && ran <= wall, "{t}");
        // The turns are time on the CPU: they add up to no more than the thread's CPU clock,
        // give or take interrupts shorter than the gap.
        assert!(
            ran as f64 <= cpu_ns as f64 * 1.05 + 20e6,
            "thread {}: turns add up to {ran} ns, its CPU clock says {cpu_ns} ns",
            i + 1
        );
        assert_eq!(t["full"], false);
    }
    let all = uint(&r["all"]["count"], "all.count");
    let counted: u64 = ts.iter().map(|t| uint(&t["turns"], "turns")).sum();
    assert_eq!(all, counted);
    let drawn: u64 = r["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| uint(&b["count"], "count"))
        .sum();
    assert_eq!(drawn, all, "the histogram holds every turn");
    ts
}

#[test]
fn time_slice_logs_each_threads_turns_on_one_cpu() {
    let doc = json_of("time_slice", &["--seconds", "0.3"]);
    let ts = check_threads(&doc, 2);
    // Without --nice every thread keeps the nice value it inherited (the suite may run niced).
    let inherited = int(&doc["system"]["nice"], "system.nice");
    for t in &ts {
        assert_eq!(t["policy"], "SCHED_OTHER");
        assert_eq!(int(&t["nice"], "nice"), inherited);
    }
    let k = &doc["results"]["kernel"];
    assert!(k["scheduler"].is_string(), "{k}");
    assert!(
        k["base_slice_ns"].is_u64() || k["base_slice_note"].is_string(),
        "{k}"
    );
    // The cross-check: the kernel's sched_switch record of the same turns, or why there is none.
    let t = &doc["results"]["trace"];
    if t["unavailable"].is_null() {
        let ours: u64 = ts.iter().map(|t| uint(&t["turns"], "turns")).sum();
        let kernels = uint(&t["turns"], "trace.turns");
        // Each switch between the two threads is one turn ended in both accounts; a gap the
        // threads took for an interrupt may be a switch in the record, or the other way round.
        assert!(
            kernels > 0 && kernels.abs_diff(ours) <= ours / 5 + 2,
            "{t} against {ours}"
        );
    } else {
        assert!(t["unavailable"].as_str().unwrap().len() > 10, "{t}");
    }
    assert_eq!(doc["params"]["gap_ns"], 5000);
    assert_eq!(doc["partial"], false);
    let v = &doc["verdict"];
    assert!(v["claim"].as_str().unwrap().contains("~20 ms"), "{v}");
    assert!(v["held"].is_boolean() || v["held"].is_null(), "{v}");
    assert!(doc["headline"].as_str().unwrap().contains("20 ms"));
}

#[test]
fn time_slice_prints_a_line_per_thread_then_the_histogram() {
    let out = stdout_of("time_slice", &["--seconds", "0.3", "--nice", "5"]);
    assert!(
        matches(
            r"(?m)^thread 1 \(tid \d+, SCHED_OTHER, nice -?\d+\) on CPU \d+: \d+ turns?, median \S+ \S+, switched out \d+ times a second$",
            &out
        ),
        "{out}"
    );
    assert!(
        matches(
            r"(?m)^thread 2 \(tid \d+, SCHED_OTHER, nice 5\) on CPU \d+: ",
            &out
        ),
        "{out}"
    );
    assert!(
        matches(
            r"(?m)^turn lengths \(\d+ turns ended by a switch, all threads\):$",
            &out
        ),
        "{out}"
    );
    assert!(matches(r"(?m)^  .* \|#+ *\d+$", &out), "{out}");
    assert!(matches(r"(?m)^the kernel: .*base slice", &out), "{out}");
    assert!(
        matches(
            r"(?m)^lesson: .*nice -?\d+ against nice 5: median turns",
            &out
        ),
        "{out}"
    );
}

#[test]
fn time_slice_with_more_threads_and_csv() {
    let doc = json_of("time_slice", &["--seconds", "0.3", "--threads", "3"]);
    check_threads(&doc, 3);
    let csv = stdout_of("time_slice", &["--seconds", "0.2", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0]
            .contains(",thread,tid,in_force_policy,in_force_priority,in_force_nice,turns,p50_ns"),
        "{}",
        lines[0]
    );
}

#[test]
fn time_slice_under_round_robin_reads_the_policy_back() {
    if !nix::unistd::geteuid().is_root() {
        return; // the refusal below covers the unprivileged case
    }
    let doc = json_of("time_slice", &["--seconds", "0.5", "--policy", "rr"]);
    let r = &doc["results"];
    for t in r["threads"].as_array().unwrap() {
        assert_eq!(t["policy"], "SCHED_RR", "{t}");
        assert_eq!(uint(&t["priority"], "priority"), 10);
        assert!(uint(&t["rr_interval_ns"], "rr_interval_ns") > 0, "{t}");
    }
    assert!(r["kernel"]["rr_timeslice_ms"].is_i64());
}

#[test]
fn time_slice_without_cap_sys_nice_names_the_refusal() {
    let Some(mut cmd) = without_privileges("time_slice") else {
        return;
    };
    cmd.args(["--seconds", "0.2", "--policy", "rr"]);
    let (code, stdout, stderr) = output_of(&mut cmd);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("SCHED_RR priority 10 was refused"),
        "{stderr}"
    );
    assert!(stderr.contains("CAP_SYS_NICE"), "{stderr}");
}

#[test]
fn time_slice_refuses_flags_out_of_range() {
    usage_error("time_slice", &["--threads", "1"], &["--threads", "2 to 16"]);
    usage_error("time_slice", &["--seconds", "0.05"], &["--seconds"]);
    usage_error("time_slice", &["--gap", "2ms"], &["--gap"]);
    usage_error("time_slice", &["--nice", "20"], &["--nice"]);
}

#[test]
fn time_slice_log2_draws_power_of_two_rows() {
    let doc = json_of("time_slice", &["--seconds", "0.3", "--log2"]);
    let r = &doc["results"];
    assert_eq!(r["histogram_scale"], "log2", "{r}");
    let rows = r["histogram"].as_array().unwrap();
    let counted: u64 = rows.iter().map(|b| uint(&b["count"], "count")).sum();
    assert_eq!(Some(counted), r["all"]["count"].as_u64().or(Some(0)), "{r}");
    for b in rows {
        let (from, to) = (uint(&b["from_ns"], "from"), uint(&b["to_ns"], "to"));
        assert!(from == 0 || to == 2 * from, "{b}");
    }
    let text = stdout_of("time_slice", &["--seconds", "0.3", "--log2"]);
    if text.contains("turn lengths") {
        assert!(
            matches(r"(?m)^  +\d+ -> \d+ (µs|ns) \|#* +\d+$", &text),
            "{text}"
        );
    }
}
