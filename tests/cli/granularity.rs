//! coarse_granularity and fine_granularity: exact results, per-thread context switches and
//! handovers, the slide's default sizes and --as-coded.

use crate::common::*;
use crate::race::*;

#[test]
fn coarse_text_is_exact() {
    check_safe_text("coarse_granularity", &[], 4, 5_000);
}

#[test]
fn fine_text_is_exact() {
    check_safe_text("fine_granularity", &[], 4, 5_000);
}

#[test]
fn text_explains_switches_per_thread() {
    for name in granularity() {
        let out = stdout_of(name, &["--threads", "4", "--steps", "5000"]);
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("  per thread: "))
            .unwrap_or_else(|| panic!("{name}: no per-thread switch line in\n{out}"));
        // "0: v/n, 1: v/n, 2: v/n, 3: v/n"
        let pattern = r"^0: \d+/\d+, 1: \d+/\d+, 2: \d+/\d+, 3: \d+/\d+$";
        assert!(matches(pattern, line), "{name}: {line:?}");
        assert!(out.contains("voluntary = "), "{name}:\n{out}");
    }
}

#[test]
fn json_counts_switches_per_thread() {
    for name in granularity() {
        let doc = json_of(name, &["--threads", "4", "--steps", "5000"]);
        check_report(name, &doc, 4, 5_000, 1, true);
        let trial = &doc["results"]["trials"][0];
        assert_eq!(trial["var"], 20_000, "{name}: {doc:#}");
        for w in trial["threads"].as_array().expect("threads") {
            assert!(w["voluntary_cs"].is_u64(), "{name}: {w}");
            assert!(w["nonvoluntary_cs"].is_u64(), "{name}: {w}");
        }
        // The process-wide count includes every worker's.
        let sum: u64 = trial["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .map(|w| uint(&w["voluntary_cs"], "voluntary_cs"))
            .sum();
        assert!(
            uint(&trial["voluntary_cs"], "voluntary_cs") >= sum,
            "{name}: {doc:#}"
        );
    }
}

#[test]
fn both_default_to_the_slides_run_and_as_coded_runs_the_codes_constants() {
    for name in granularity() {
        // The slide's `var = 2000000`: 2 threads × 1000000, the race family's sizes.
        let help = stdout_of(name, &["--help"]);
        let default_after = |flag: &str| {
            let at = help
                .find(flag)
                .unwrap_or_else(|| panic!("{name}: no {flag}"));
            let rest = &help[at..];
            let d = rest.find("[default: ").expect("a default") + "[default: ".len();
            rest[d..rest[d..].find(']').unwrap() + d].to_string()
        };
        assert_eq!(default_after("--threads <N>"), "2", "{name}:\n{help}");
        assert_eq!(default_after("--steps <N>"), "1000000", "{name}:\n{help}");
        assert!(help.contains("--as-coded"), "{name}:\n{help}");
        usage_error(
            name,
            &["--as-coded", "--threads", "2"],
            &["--as-coded", "--threads"],
        );
        usage_error(
            name,
            &["--as-coded", "--steps", "5"],
            &["--as-coded", "--steps"],
        );
    }
    // granularity.c's NUM_THREADS 10 × NUM_STEPS 2000000 (coarse: the fast one of the two).
    let doc = json_of("coarse_granularity", &["--as-coded"]);
    assert_eq!(doc["params"]["threads"], 10, "{doc:#}");
    assert_eq!(doc["params"]["steps"], 2_000_000, "{doc:#}");
    assert_eq!(doc["results"]["trials"][0]["var"], 20_000_000, "{doc:#}");
    // The race programs' code is the slide's run: --as-coded changes nothing.
    let doc = json_of("race_condition_atomic", &["--as-coded"]);
    assert_eq!(doc["params"]["threads"], 2, "{doc:#}");
    assert_eq!(doc["params"]["steps"], 1_000_000, "{doc:#}");
}

#[test]
fn both_count_the_locks_handovers_per_thread() {
    for name in granularity() {
        let doc = json_of(name, &["--threads", "3", "--steps", "20000"]);
        let trial = &doc["results"]["trials"][0];
        let per_thread: Vec<u64> = trial["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .map(|w| uint(&w["handovers"], "threads[].handovers"))
            .collect();
        assert_eq!(
            uint(&trial["handovers"], "handovers"),
            per_thread.iter().sum::<u64>(),
            "{name}: {doc:#}"
        );
        if name == "coarse_granularity" {
            // Each thread takes the lock once: every one after the first is a handover.
            assert_eq!(per_thread.iter().sum::<u64>(), 2, "{name}: {doc:#}");
            assert!(per_thread.iter().all(|&h| h <= 1), "{name}: {doc:#}");
        }
        let because = doc["verdict"]["because"].as_str().expect("because");
        assert!(
            because.contains("the lock changed owner "),
            "{name}: {because}"
        );

        let text = stdout_of(name, &["--threads", "3", "--steps", "20000"]);
        let line = text
            .lines()
            .find(|l| l.starts_with("handovers: the lock changed owner "))
            .unwrap_or_else(|| panic!("{name}: no handovers line in\n{text}"));
        let pattern = r"; per thread: 0: \d+, 1: \d+, 2: \d+\), against \d+ context switch(es)? of the threads: ";
        assert!(matches(pattern, line), "{name}: {line}");
    }
    // The race programs do not count them.
    let doc = json_of(
        "race_condition_mutex",
        &["--threads", "2", "--steps", "1000"],
    );
    assert!(
        doc["results"]["trials"][0]["handovers"].is_null(),
        "{doc:#}"
    );
}

#[test]
fn pinned_to_one_cpu_each_handover_of_fine_comes_with_a_switch() {
    // On one CPU a thread takes the lock after another only once the scheduler has switched the
    // other out (or it has finished): the handovers cannot outnumber the threads' switches by
    // more than the threads that ended.
    let doc = json_of("fine_granularity", &["--cpu", "0", "--steps", "200000"]);
    let trial = &doc["results"]["trials"][0];
    let switches: u64 = trial["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|w| uint(&w["voluntary_cs"], "v") + uint(&w["nonvoluntary_cs"], "n"))
        .sum();
    assert!(
        uint(&trial["handovers"], "handovers") <= switches + 2,
        "{doc:#}"
    );
    let because = doc["verdict"]["because"].as_str().expect("because");
    assert!(because.contains("every thread ran on one CPU"), "{because}");
    assert!(
        doc["lesson"].as_str().unwrap().contains("on one CPU"),
        "{doc:#}"
    );
}
