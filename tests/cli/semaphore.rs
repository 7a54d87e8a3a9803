//! semaphore: the slide's lines (the counter after every acquire and release, who is inside,
//! who waits), never more than K inside, by value, with the library's semaphore and a sem_t.

use serde_json::Value;

use crate::common::*;

const NAME: &str = "semaphore";

/// The workers inside after each acquire line, from the text: `inside: 0, 2, 4`.
fn inside_lists(out: &str) -> Vec<Vec<u64>> {
    out.lines()
        .filter_map(|l| l.split_once("; inside: ").map(|(_, list)| list))
        .map(|list| {
            list.split(", ")
                .map(|w| w.parse().expect("a worker"))
                .collect()
        })
        .collect()
}

/// The lecture's lines of a text run: every one of the three forms, and nothing else first.
fn lecture_lines(out: &str, posix: bool) -> Vec<&str> {
    let (acquire, release, value) = if posix {
        (r"sem_wait\(\)", r"sem_post\(\)", "sem_getvalue = ")
    } else {
        (r"acquire\(\)", r"release\(\)", "counter = ")
    };
    let forms = [
        format!(
            r"^Worker \d+: {acquire} ~ counter--: {value}\d+( after waiting [\d.]+ [nµm]?s)?; inside: \d+(, \d+)*$"
        ),
        format!(r"^Worker \d+: {acquire}: counter == 0, blocks; waiting: \d+(, \d+)*$"),
        format!(
            r"^Worker \d+: {release} ~ counter\+\+: {value}\d+(, signals waiting threads)?; waiting: (none|\d+(, \d+)*)$"
        ),
    ];
    let lines: Vec<&str> = out
        .lines()
        .take_while(|l| l.starts_with("Worker "))
        .collect();
    for l in &lines {
        assert!(
            forms.iter().any(|f| matches(f, l)),
            "not a lecture line: {l:?}\n{out}"
        );
    }
    lines
}

/// Every event of a JSON report: at most `permits` inside, and with the library's semaphore
/// the counter is exactly the permits not held.
fn check_events(doc: &Value, workers: u64, permits: u64, rounds: u64, exact: bool) {
    let r = &doc["results"];
    assert_eq!(
        uint(&r["acquires"], "acquires"),
        workers * rounds,
        "{doc:#}"
    );
    assert!(uint(&r["max_inside"], "max_inside") <= permits, "{doc:#}");
    let events = r["events"].as_array().expect("events");
    let mut blocks = 0;
    for e in events {
        let inside = e["inside"].as_array().expect("inside").len() as u64;
        assert!(inside <= permits, "more than {permits} inside: {e}");
        let counter = uint(&e["counter"], "counter");
        match e["op"].as_str() {
            Some("block") => blocks += 1,
            Some("acquire" | "release") if exact => {
                assert_eq!(counter + inside, permits, "counter + inside: {e}")
            }
            Some("acquire" | "release") => assert!(counter <= permits, "{e}"),
            other => panic!("op {other:?}: {e}"),
        }
    }
    assert_eq!(uint(&r["blocked"], "blocked"), blocks, "{doc:#}");
    let releases = events.iter().filter(|e| e["op"] == "release").count() as u64;
    assert_eq!(releases, workers * rounds, "a release per acquire: {doc:#}");
    let per_worker = r["workers"].as_array().expect("workers");
    assert_eq!(per_worker.len() as u64, workers);
    for w in per_worker {
        assert_eq!(uint(&w["acquires"], "acquires"), rounds, "{w}");
        assert!(uint(&w["longest_wait_ns"], "longest") <= uint(&w["waited_ns"], "waited"));
    }
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
}

#[test]
fn five_workers_three_permits_never_more_than_three_inside() {
    for posix in [false, true] {
        let mut args = vec!["--hold", "20ms"];
        if posix {
            args.push("--posix");
        }
        let out = stdout_of(NAME, &args);
        let lines = lecture_lines(&out, posix);
        assert_eq!(
            lines.iter().filter(|l| l.contains("~ counter--")).count(),
            5,
            "{out}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.contains("~ counter++")).count(),
            5,
            "{out}"
        );
        let lists = inside_lists(&out);
        assert_eq!(lists.len(), 5, "{out}");
        assert!(lists.iter().all(|l| !l.is_empty() && l.len() <= 3), "{out}");
        if !posix {
            // The counter printed is the permits not held: 3 - inside, exactly.
            for l in lines.iter().filter(|l| l.contains("~ counter--")) {
                let counter: usize = l["Worker 0: acquire() ~ counter--: counter = ".len()..]
                    .split([';', ' '])
                    .next()
                    .and_then(|c| c.parse().ok())
                    .expect("a counter");
                let inside = inside_lists(l)[0].len();
                assert_eq!(counter + inside, 3, "{l}\n{out}");
            }
        }
        for prefix in [
            "inside at once: at most ",
            "waiting: ",
            "verdict: held",
            "lesson: ",
        ] {
            assert!(
                out.lines().any(|l| l.starts_with(prefix)),
                "no {prefix:?}:\n{out}"
            );
        }
    }
}

#[test]
fn many_rounds_keep_at_most_k_inside_in_both_modes() {
    for posix in [false, true] {
        let mut args = vec![
            "--workers",
            "8",
            "--permits",
            "2",
            "--rounds",
            "4",
            "--hold",
            "1ms",
        ];
        if posix {
            args.push("--posix");
        }
        let doc = json_of(NAME, &args);
        assert_eq!(doc["params"]["posix"], posix);
        assert_eq!(uint(&doc["params"]["permits"], "permits"), 2);
        check_events(&doc, 8, 2, 4, !posix);
    }
}

#[test]
fn one_permit_is_a_lock() {
    let doc = json_of(NAME, &["--permits", "1", "--workers", "3", "--hold", "2ms"]);
    check_events(&doc, 3, 1, 1, true);
    assert_eq!(uint(&doc["results"]["max_inside"], "max_inside"), 1);
    assert!(uint(&doc["results"]["blocked"], "blocked") <= 2);
}

#[test]
fn csv_has_a_row_per_line() {
    let csv = stdout_of(NAME, &["--hold", "2ms", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    let header = csv_cells(lines[0]);
    for col in [
        "demo",
        "permits",
        "worker",
        "op",
        "counter",
        "inside",
        "waiting",
        "waited_ns",
    ] {
        assert!(header.iter().any(|h| h == col), "no {col} in {header:?}");
    }
    // 5 acquires, 5 releases, and a block line per worker that had to wait; tidy, each line is
    // a row per worker inside at that moment (one row if none).
    let col = |h: &str| header.iter().position(|c| c == h).unwrap();
    let mut printed = std::collections::BTreeSet::new();
    for row in &lines[1..] {
        let cells = csv_cells(row);
        assert_eq!(cells.len(), header.len(), "{row}");
        printed.insert((
            cells[col("t_ns")].clone(),
            cells[col("worker")].clone(),
            cells[col("op")].clone(),
        ));
    }
    assert!((10..=15).contains(&printed.len()), "{csv}");
}

#[test]
fn bad_counts_are_usage_errors() {
    usage_error(NAME, &["--permits", "0"], &["--permits", "1 to 64"]);
    usage_error(NAME, &["--workers", "65"], &["--workers", "1 to 64"]);
    usage_error(NAME, &["--hold", "11s"], &["--hold"]);
}
