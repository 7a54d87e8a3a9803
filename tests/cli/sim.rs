//! sched_sim: the slides' Round-Robin example, the other algorithms, --predict from a pipe,
//! --compare.

use serde_json::Value;

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{Running, json_of, run_alone, stdout_of, uint, usage_error};

fn finishes(doc: &Value) -> Vec<(String, u64)> {
    doc["results"]["schedule"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_string(),
                uint(&j["finish"], "finish"),
            )
        })
        .collect()
}

#[test]
fn with_no_flags_it_prints_the_slides_round_robin_schedule() {
    let out = stdout_of("sched_sim", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Round-Robin, time slice 2: P1 4, P2 3, P3 5 (all arrive at 0)"
    );
    // The hand-computed schedule: P1 0-2, P2 2-4, P3 4-6, P1 6-8, P2 8-9, P3 9-12.
    let cpu: Vec<&str> = lines[2..15]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        cpu,
        [
            "P1", "P1", "P2", "P2", "P3", "P3", "P1", "P1", "P2", "P3", "P3", "P3", "-"
        ],
        "{out}"
    );
    assert!(lines[10].contains("P1 finishes; P2 runs"), "{}", lines[10]);
    assert!(
        lines[14].ends_with("P3 finishes: all done"),
        "{}",
        lines[14]
    );
    assert!(out.contains("\nP1    ████········████"), "{out}");
    assert!(out.contains("5 context switches"), "{out}");
    assert!(out.contains("verdict: held"), "{out}");

    let doc = json_of("sched_sim", &[]);
    let want: Vec<(String, u64)> = vec![("P1".into(), 8), ("P2".into(), 9), ("P3".into(), 12)];
    assert_eq!(finishes(&doc), want);
    let s = &doc["results"]["schedule"];
    assert_eq!(s["switches"], 5);
    assert_eq!(s["ticks"].as_array().unwrap().len(), 13);
    assert_eq!(doc["params"]["policy"], "rr");
}

#[test]
fn every_algorithm_runs_the_same_jobs_to_the_end() {
    for policy in ["fifo", "sjf", "rr", "priority", "mlfq", "fair"] {
        let doc = json_of(
            "sched_sim",
            &["--policy", policy, "--jobs", "A:5,B:2:1:3,C:4:2:1:5"],
        );
        let done: u64 = finishes(&doc).iter().map(|(_, f)| *f).max().unwrap();
        // Eleven ticks of work, all of it done by tick 11 (the CPU is never idle here).
        assert_eq!(done, 11, "{policy}: {doc:#}");
        assert_eq!(doc["verdict"]["held"], true, "{policy}: {doc:#}");
    }
    // FIFO: A first to its end, then B, then C.
    let doc = json_of(
        "sched_sim",
        &["--policy", "fifo", "--jobs", "A:5,B:2:1,C:4:2"],
    );
    let want: Vec<(String, u64)> = vec![("A".into(), 5), ("B".into(), 7), ("C".into(), 11)];
    assert_eq!(finishes(&doc), want);
}

#[test]
fn predict_reads_the_answer_from_a_pipe_and_marks_it() {
    let (out, err) = run_alone("sched_sim", &["--predict"], "P1=8 P2=9 P3=11\n", 0);
    assert!(err.contains("When does each job finish?"), "{err}");
    assert!(
        out.contains("your answer: 2 of 3 right: P1 8 right; P2 9 right; P3 12, not 11"),
        "{out}"
    );
    let (out, _) = run_alone("sched_sim", &["--predict", "--answer", "8 9 12"], "", 0);
    assert!(out.contains("your answer: 3 of 3 right"), "{out}");
    let (_, err) = run_alone("sched_sim", &["--predict"], "", 1);
    assert!(err.contains("no answer on stdin"), "{err}");
}

#[test]
fn ctrl_c_while_predict_waits_for_the_answer_exits_130() {
    let run = Running::start("sched_sim", &["--predict"], Stdio::piped());
    run.interrupt(Signal::SIGINT, Duration::from_millis(200));
    let (status, stdout, stderr) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    // The schedule is still shown, unmarked, and said to be partial.
    assert!(stdout.contains("P3 finishes: all done"), "{stdout}");
    assert!(!stdout.contains("your answer"), "{stdout}");
    assert!(
        stdout.contains("partial") || stderr.contains("partial"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn compare_runs_every_algorithm_and_sweeps_the_slice() {
    let doc = json_of("sched_sim", &["--compare"]);
    let r = &doc["results"];
    assert_eq!(r["compare"].as_array().unwrap().len(), 6);
    let sweep = r["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 5, "slices 1 to the longest job, 5");
    assert_eq!(sweep[0]["switches"], 10);
    assert_eq!(sweep[4]["switches"], 2);
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
}

#[test]
fn bad_jobs_and_flags_are_usage_errors() {
    usage_error("sched_sim", &["--jobs", "P1:0"], &["run time"]);
    usage_error(
        "sched_sim",
        &["--jobs", "P1:4,P1:2"],
        &["two jobs are called P1"],
    );
    usage_error("sched_sim", &["--quantum", "0"], &["--quantum"]);
    usage_error("sched_sim", &["--seed", "1", "--jobs", "1,2"], &["--seed"]);
    usage_error("sched_sim", &["--count", "3"], &["--seed"]);
    usage_error("sched_sim", &["--answer", "8"], &["--predict"]);
}

// ---------------------------------------------------------------------------------------------
// --real: the same jobs on the kernel.

/// The jobs' first runs, finishes and lengths from a --real report, in the list's order.
fn real_jobs(doc: &Value) -> Vec<(String, u64, u64, u64)> {
    doc["results"]["real"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_string(),
                uint(&j["first_ns"], "first_ns"),
                uint(&j["finish_ns"], "finish_ns"),
                uint(&j["length_ns"], "length_ns"),
            )
        })
        .collect()
}

/// What every --real run must show, however the machine schedules: each job ran its length
/// (less the margin) and the prediction is the simulator's; under a real-time policy (`queued`)
/// the jobs arriving together also started in the list's order (under SCHED_OTHER, on a busy
/// CPU, EEVDF may pick any of them first).
fn check_real_run(doc: &Value, queued: bool) {
    let r = &doc["results"]["real"];
    let margin = uint(&r["margin_ns"], "margin_ns");
    let jobs = real_jobs(doc);
    assert_eq!(jobs.len(), 3, "{r:#}");
    for (name, first, finish, length) in &jobs {
        assert!(finish - first >= length - margin, "{name}: {r:#}");
    }
    if queued {
        assert!(jobs[0].1 <= jobs[1].1 && jobs[1].1 <= jobs[2].1, "{r:#}");
    }
    let predicted: Vec<&str> = r["predicted_turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(predicted, ["P1", "P2", "P3", "P1", "P2", "P3"]);
    let measured = r["measured_turns"].as_array().unwrap();
    if queued {
        assert_eq!(
            &measured[..3],
            ["P1", "P2", "P3"],
            "each job's first turn in the order it was queued: {r:#}"
        );
    }
    assert!(
        doc["verdict"]["claim"]
            .as_str()
            .unwrap()
            .contains("the kernel")
    );
}

#[test]
fn real_runs_the_slides_jobs_on_the_kernel_under_sched_rr() {
    let args = [
        "--real", "--tick", "5ms", "--margin", "1ms", "--format", "json",
    ];
    let mut cmd = std::process::Command::new(crate::common::exe("sched_sim"));
    cmd.args(args);
    let (code, stdout, stderr) = crate::sched::output_of(&mut cmd);
    if code == Some(1) {
        // No CAP_SYS_NICE: the refusal says what to do instead, and nothing is measured.
        assert!(stderr.contains("--policy fair --real"), "{stderr}");
        return;
    }
    assert_eq!(code, Some(0), "{stderr}");
    let doc = crate::common::parse_json("sched_sim", &stdout);
    check_real_run(&doc, true);
    let r = &doc["results"]["real"];
    for j in r["jobs"].as_array().unwrap() {
        assert_eq!(j["in_force"], "SCHED_RR 10", "{r:#}");
    }
    match r["source"].as_str().unwrap() {
        // The kernel's record names our jobs' threads after the jobs.
        "sched_switch" => assert!(
            r["slots"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["who"] == "P2"),
            "{r:#}"
        ),
        "own_clock" => assert!(r["source_note"].is_string(), "{r:#}"),
        other => panic!("source {other}"),
    }
}

#[test]
fn real_with_own_clock_and_the_fair_policy_needs_no_privilege() {
    let doc = json_of(
        "sched_sim",
        &["--policy", "fair", "--real", "--tick", "1ms", "--own-clock"],
    );
    check_real_run(&doc, false);
    let r = &doc["results"]["real"];
    assert_eq!(r["source"], "own_clock");
    assert_eq!(r["source_note"], "--own-clock");
    for j in r["jobs"].as_array().unwrap() {
        assert_eq!(j["in_force"], "SCHED_OTHER nice 0", "{r:#}");
        assert!(uint(&j["cpu_ns"], "cpu_ns") > 0);
    }
    let text = stdout_of(
        "sched_sim",
        &["--policy", "fair", "--real", "--tick", "1ms", "--own-clock"],
    );
    assert!(text.contains("predicted (the simulator):"), "{text}");
    assert!(
        text.contains(
            "measured (the jobs' own clock readings, not the kernel's record: --own-clock):"
        ),
        "{text}"
    );
    assert!(crate::common::matches(r"(?m)^P1 +[█▒·]+$", &text), "{text}");
    assert!(text.contains("verdict: "), "{text}");
}

#[test]
fn real_refuses_what_the_kernel_has_no_class_for_and_conflicting_flags() {
    usage_error(
        "sched_sim",
        &["--real", "--policy", "sjf"],
        &["Linux has no SJF"],
    );
    usage_error(
        "sched_sim",
        &["--real", "--policy", "mlfq"],
        &["Linux has no"],
    );
    usage_error("sched_sim", &["--real", "--predict"], &["--predict"]);
    usage_error("sched_sim", &["--tick", "5ms"], &["--real"]);
    usage_error(
        "sched_sim",
        &["--real", "--tick", "5s"],
        &["from 100µs to 1s"],
    );
    // 10,000 ticks of 10 ms: more than a minute of work is refused before anything runs.
    let (stdout, stderr) = run_alone(
        "sched_sim",
        &[
            "--real", "--policy", "fair", "--jobs", "A:10000", "--tick", "10ms",
        ],
        "",
        1,
    );
    assert!(stderr.contains("at most 60.0 s"), "{stderr}");
    assert!(
        stdout.is_empty(),
        "nothing printed before the refusal: {stdout}"
    );
}

#[test]
fn real_stops_on_ctrl_c_and_leaves_no_trace_instance() {
    let run = Running::start(
        "sched_sim",
        &["--real", "--policy", "fair", "--tick", "100ms"],
        Stdio::null(),
    );
    let pid = run.pid;
    run.interrupt(Signal::SIGINT, Duration::from_millis(300));
    let (status, _, stderr) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    let instance = format!("/sys/kernel/tracing/instances/oslab-{pid}");
    assert!(
        !std::path::Path::new(&instance).exists(),
        "{instance} left behind"
    );
}
