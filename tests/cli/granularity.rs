//! coarse_granularity and fine_granularity: exact results and per-thread context switches.

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
