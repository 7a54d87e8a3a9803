//! context_switch --threads: the pipe ping-pong between two threads of one process beside two
//! processes, on one CPU, and what the CPU's TLB tagging (PCID) says about the difference. No
//! timing is asserted: only the lines, the pairing and the fields, by value.

use crate::common::*;

const THREADS: &str = "one CPU, two threads";

/// True if /proc/cpuinfo lists `flag` among the CPU's flags.
fn cpu_flag(flag: &str) -> bool {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == flag))
}

#[test]
fn threads_ping_pong_beside_processes_with_the_tlb_named() {
    let args = [
        "--seconds",
        "0",
        "--pingpong",
        "2000",
        "--threads",
        "--trials",
        "2",
    ];
    let doc = json_of(
        "context_switch",
        &[&args[..], &["--format", "json"]].concat(),
    );
    assert_eq!(doc["params"]["threads"], true, "{doc:#}");
    let r = &doc["results"];
    let trials = r["trials"].as_array().expect("trials");
    let mine: Vec<_> = trials
        .iter()
        .filter(|t| t["placement"] == THREADS)
        .collect();
    assert_eq!(mine.len(), 2, "a threads' trial per run: {doc:#}");
    for t in &mine {
        assert_eq!(uint(&t["round_trips"], "round_trips"), 2000);
        assert_eq!(t["parent_cpu"], t["child_cpu"], "one CPU: {t}");
        // Each side blocks on its read once per round trip, give or take a preemption.
        let per = t["switches_per_round_trip"].as_f64().expect("switches");
        assert!(per > 0.0, "{t}");
    }
    let processes = trials
        .iter()
        .filter(|t| t["placement"] == "one CPU")
        .count();
    assert_eq!(processes, 2, "{doc:#}");

    let c = &r["threads_vs_processes"];
    assert_eq!(uint(&c["trials"], "trials"), 2, "{c}");
    assert!(uint(&c["threads_won"], "threads_won") <= 2, "{c}");
    let thread = c["thread_ns_per_round_trip"].as_f64().expect("thread ns");
    let process = c["process_ns_per_round_trip"].as_f64().expect("process ns");
    let saved = c["saved_pct"].as_f64().expect("saved_pct");
    assert!(thread > 0.0 && process > 0.0, "{c}");
    assert!(
        (saved - 100.0 * (process - thread) / process).abs() < 1e-6,
        "{c}"
    );
    let (lo, hi) = (
        c["process_min_ns"].as_f64().unwrap(),
        c["process_max_ns"].as_f64().unwrap(),
    );
    assert!(lo <= process && process <= hi, "{c}");

    assert_eq!(r["tlb"]["pcid"], cpu_flag("pcid"), "{doc:#}");
    assert_eq!(r["tlb"]["invpcid"], cpu_flag("invpcid"), "{doc:#}");
    let claim = doc["verdict"]["claim"].as_str().expect("claim");
    assert!(
        claim.ends_with("a switch between threads of one process is faster than between processes (their TLB is not flushed)"),
        "{claim}"
    );
    assert!(doc["verdict"]["held"].is_boolean(), "{doc:#}");

    let out = stdout_of("context_switch", &args);
    let lecture = r"^pingpong on one CPU, two threads \(CPU \d+\): 2000 round trips, [\d.]+ [nµm]?s per round trip, [\d.]+ context switches per round trip$";
    assert_eq!(
        out.lines().filter(|l| matches(lecture, l)).count(),
        2,
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("threads vs processes, one CPU: a round trip took ")),
        "{out}"
    );
    let tlb = if cpu_flag("pcid") {
        "  TLB: this CPU has PCID"
    } else {
        "  TLB: this CPU has no PCID"
    };
    assert!(
        out.lines().any(|l| l.starts_with(tlb)),
        "no {tlb:?} in\n{out}"
    );
    let lesson = out
        .lines()
        .find(|l| l.starts_with("lesson: "))
        .expect("lesson");
    assert!(lesson.contains("between threads took"), "{lesson}");
}

#[test]
fn without_threads_nothing_changes() {
    let doc = json_of("context_switch", &["--seconds", "0", "--pingpong", "500"]);
    let r = &doc["results"];
    assert!(
        r["tlb"].is_null() && r["threads_vs_processes"].is_null(),
        "{doc:#}"
    );
    let trials = r["trials"].as_array().expect("trials");
    assert!(trials.iter().all(|t| t["placement"] != THREADS), "{doc:#}");
    assert!(
        !doc["verdict"]["claim"]
            .as_str()
            .unwrap()
            .contains("threads")
    );
}

#[test]
fn csv_rows_name_the_threads_placement() {
    let csv = stdout_of(
        "context_switch",
        &[
            "--seconds",
            "0",
            "--pingpong",
            "500",
            "--threads",
            "--format",
            "csv",
        ],
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(
        rows.iter()
            .any(|r| r.contains(",pingpong,one CPU, two threads,")
                || r.contains(",pingpong,\"one CPU, two threads\",")),
        "{csv}"
    );
}
