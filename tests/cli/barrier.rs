//! barrier: the lecture's lines, the ordering property with the barrier, honest counts without
//! it, CSV, usage errors.

use crate::common::*;

/// `Before barrier: thread name = thread-N` or `After ...`: (is_before, N).
fn parse(line: &str) -> (bool, usize) {
    let (before, name) = if let Some(n) = line.strip_prefix("Before barrier: thread name = ") {
        (true, n)
    } else if let Some(n) = line.strip_prefix("After barrier: thread name = ") {
        (false, n)
    } else {
        panic!("not a lecture line: {line:?}");
    };
    let n = name.strip_prefix("thread-").expect("named thread-N");
    (before, n.parse().expect("a number"))
}

#[test]
fn with_the_barrier_every_before_comes_first() {
    let out = stdout_of("barrier", &["--use-barrier"]);
    let lecture: Vec<(bool, usize)> = out.lines().take(6).map(parse).collect();
    assert!(
        lecture[..3].iter().all(|l| l.0),
        "three Befores first:\n{out}"
    );
    assert!(
        lecture[3..].iter().all(|l| !l.0),
        "then three Afters:\n{out}"
    );
    for half in [&lecture[..3], &lecture[3..]] {
        let mut names: Vec<usize> = half.iter().map(|l| l.1).collect();
        names.sort();
        assert_eq!(names, [0, 1, 2], "each thread once:\n{out}");
    }
    assert!(
        out.contains("order: every Before came before every After: held"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("lesson: ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("compare: ")), "{out}");
}

#[test]
fn two_hundred_rounds_with_the_barrier_report_no_violation() {
    let doc = json_of("barrier", &["--use-barrier", "--rounds", "200"]);
    let r = &doc["results"];
    assert_eq!(uint(&r["violated"], "violated"), 0, "{}", doc["headline"]);
    assert_eq!(uint(&r["held"], "held"), 200);
    assert_eq!(r["rounds"].as_array().map(Vec::len), Some(200));
    for round in r["rounds"].as_array().expect("rounds") {
        assert_eq!(round["held"], true);
        assert_eq!(round["threads"].as_array().map(Vec::len), Some(3));
        let leaders = round["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .filter(|t| t["leader"] == true)
            .count();
        assert_eq!(leaders, 1, "one thread arrives last: {round}");
    }

    // The same in text, read from the lines themselves: per round, Befores then Afters.
    let out = stdout_of(
        "barrier",
        &["--use-barrier", "--rounds", "200", "--threads", "4", "-q"],
    );
    let lines: Vec<(bool, usize)> = out.lines().map(parse).collect();
    assert_eq!(lines.len(), 200 * 8, "--quiet: only the lecture's lines");
    for round in lines.chunks(8) {
        assert!(
            round[..4].iter().all(|l| l.0) && round[4..].iter().all(|l| !l.0),
            "{round:?}"
        );
    }
}

#[test]
fn without_the_barrier_the_counts_add_up() {
    // How often the order holds by luck is the scheduler's business: only check the bookkeeping.
    let doc = json_of("barrier", &["--rounds", "50"]);
    let r = &doc["results"];
    let rounds = r["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 50);
    assert_eq!(
        uint(&r["held"], "held") + uint(&r["violated"], "violated"),
        50
    );
    let held = rounds.iter().filter(|x| x["held"] == true).count() as u64;
    assert_eq!(held, uint(&r["held"], "held"));
    for round in rounds {
        assert_eq!(round["held"] == true, round["early_afters"] == 0, "{round}");
        assert_eq!(
            round["order"].as_str().map(|o| o.split(' ').count()),
            Some(6)
        );
        assert!(round["leader"].is_null(), "no barrier, no leader: {round}");
    }
    assert_eq!(doc["params"]["use_barrier"], false);
}

#[test]
fn csv_has_a_row_per_round() {
    let csv = stdout_of(
        "barrier",
        &["--use-barrier", "--rounds", "3", "--format", "csv"],
    );
    // Tidy: a row per thread of each round (3 threads by default).
    let table = CsvTable::parse("barrier", &csv, 9, "demo,use_barrier,");
    for (i, row) in table.rows.iter().enumerate() {
        assert_eq!(row[table.col("round")], (i / 3 + 1).to_string());
        assert_eq!(row[table.col("held")], "true");
        assert_eq!(row[table.col("threads.thread")], (i % 3).to_string());
    }
}

#[test]
fn nothing_is_left_behind() {
    let (stdout, _) = run_alone(
        "barrier",
        &["--use-barrier", "--threads", "8", "--quiet"],
        "",
        0,
    );
    assert_eq!(stdout.lines().count(), 16, "{stdout}");
}

#[test]
fn bad_flags_are_usage_errors() {
    usage_error("barrier", &["--threads", "0"], &["--threads", "1 to 256"]);
    usage_error("barrier", &["--threads", "257"], &["--threads", "1 to 256"]);
    usage_error("barrier", &["--rounds", "0"], &["--rounds", "1 to 100000"]);
    usage_error(
        "barrier",
        &["--rounds", "many"],
        &["--rounds", "not a number"],
    );
    usage_error("barrier", &["--barrier"], &["--barrier"]);
}

#[test]
fn help_names_barrier_py() {
    check_help("barrier", "barrier.py");
}

#[test]
fn the_verdict_checks_the_order_of_every_round() {
    let doc = json_of("barrier", &["--use-barrier", "--rounds", "20"]);
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    // Without the barrier: held exactly when no round broke the order, and the count is named.
    let doc = json_of("barrier", &["--rounds", "50"]);
    let violated = uint(&doc["results"]["violated"], "violated");
    assert_eq!(doc["verdict"]["held"], violated == 0, "{doc:#}");
    if violated > 0 {
        let because = doc["verdict"]["because"].as_str().unwrap();
        assert!(
            because.starts_with(&format!("in {violated} of 50 rounds")),
            "{because}"
        );
    }
}
