//! race_condition_toctou: the slide's check-then-set flag lets two threads into the critical
//! section at once; the occupancy counts by value, in JSON and text.

use serde_json::Value;

use crate::common::*;
use crate::race::{check_report, lecture_lines, var_of};

const NAME: &str = "race_condition_toctou";

/// The occupancy figures of every trial: (overlaps, max_inside, lost, updates), checked for
/// what holds in any run: nobody is counted inside more often than there were entries, and
/// never more threads inside than there are.
fn occupancy(doc: &Value, threads: u64) -> Vec<(u64, u64, i64, u64)> {
    let trials = doc["results"]["trials"].as_array().expect("trials");
    trials
        .iter()
        .map(|t| {
            let overlaps = uint(&t["overlaps"], "overlaps");
            let most = uint(&t["max_inside"], "max_inside");
            let updates: u64 = t["threads"]
                .as_array()
                .expect("threads")
                .iter()
                .map(|w| uint(&w["steps"], "steps"))
                .sum();
            assert!(overlaps <= updates, "{t}");
            assert!((1..=threads).contains(&most), "{t}");
            assert_eq!(overlaps > 0, most > 1, "an overlap means two inside: {t}");
            (overlaps, most, int(&t["lost"], "lost"), updates)
        })
        .collect()
}

#[test]
fn two_threads_on_two_cpus_get_in_at_once_and_lose_updates() {
    let cpus = usable_cpus().len();
    if cpus < 2 {
        eprintln!("skipped: only {cpus} CPU usable; the threads take turns at the flag");
        return;
    }
    // As race_condition's test: whether the threads overlap is the scheduler's business on a
    // busy machine, so a correct demo shows it in some trial of some run.
    const RUNS: usize = 10;
    for _ in 0..RUNS {
        let doc = json_of(NAME, &["--steps", "1000000", "--trials", "3"]);
        check_report(NAME, &doc, 2, 1_000_000, 3, false);
        let found = occupancy(&doc, 2)
            .iter()
            .any(|&(overlaps, most, lost, _)| overlaps > 0 && most == 2 && lost > 0);
        if found {
            assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
            let because = doc["verdict"]["because"].as_str().expect("because");
            assert!(because.contains("at most 2 inside at once"), "{because}");
            return;
        }
    }
    panic!("{RUNS} runs of 3 trials of 2 × 1000000 on {cpus} CPUs never had two threads inside");
}

#[test]
fn one_thread_is_always_alone_inside() {
    let doc = json_of(
        NAME,
        &["--threads", "1", "--steps", "200000", "--trials", "2"],
    );
    check_report(NAME, &doc, 1, 200_000, 2, true);
    for (overlaps, most, lost, updates) in occupancy(&doc, 1) {
        assert_eq!(
            (overlaps, most, lost, updates),
            (0, 1, 0, 200_000),
            "{doc:#}"
        );
    }
    assert_eq!(doc["verdict"]["held"], false, "{doc:#}");
    let because = doc["verdict"]["because"].as_str().expect("because");
    assert!(
        because.contains("one thread has nobody to race with"),
        "{because}"
    );
}

#[test]
fn text_shows_the_lecture_line_and_the_threads_inside() {
    let out = stdout_of(NAME, &["--threads", "3", "--steps", "50000", "--spread"]);
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 1, "{out}");
    assert!((1..=150_000).contains(&var_of(lecture[0])), "{out}");
    assert!(
        out.lines().any(|l| matches(
            r"^inside the critical section: at most [123] threads? at once; \d+ of 150000 entries found another thread already inside",
            l
        )),
        "{out}"
    );
    assert!(
        out.contains("protection: a flag checked, then set"),
        "{out}"
    );
    let lesson = out
        .lines()
        .find(|l| l.starts_with("lesson: "))
        .expect("a lesson");
    assert!(lesson.contains("race_condition_spinlock"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("verdict: ")), "{out}");
}

#[test]
fn the_other_race_programs_report_no_occupancy() {
    let doc = json_of("race_condition", &["--steps", "1000"]);
    let t = &doc["results"]["trials"][0];
    assert!(t["overlaps"].is_null() && t["max_inside"].is_null(), "{t}");
}
