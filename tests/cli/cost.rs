//! The cost of processes: spawn_cost, sum_array and cow_overhead. Lecture lines by pattern,
//! fault counts and sums by value (counts, never timing), JSON and CSV shapes, usage errors, and
//! Ctrl-C that leaves no process behind.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::usage_error;
use crate::common::*;

/// Runs `name args` in CSV mode: checks a header with every column in `columns`, then `rows`
/// rows of as many cells, each starting with the demo's name; returns the header and rows.
fn csv_table(name: &str, args: &[&str], rows: usize, columns: &[&str]) -> Vec<Vec<String>> {
    let out = stdout_of(name, &[args, &["--format", "csv"]].concat());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        rows + 1,
        "{name}: header + {rows} rows:\n{out}"
    );
    let table: Vec<Vec<String>> = lines.iter().map(|l| csv_cells(l)).collect();
    for col in columns {
        assert!(
            table[0].iter().any(|h| h == col),
            "{name}: no {col} in {:?}",
            table[0]
        );
    }
    for row in &table[1..] {
        assert_eq!(row.len(), table[0].len(), "{name}: {row:?}");
        assert_eq!(row[0], name);
    }
    table
}

fn trial0(doc: &Value) -> &Value {
    &doc["results"]["trials"][0]
}

/// The common parts of every report: demo, schema, system, headline, lesson, not partial.
fn check_envelope(name: &str, doc: &Value) {
    assert_eq!(doc["demo"], name, "{doc:#}");
    assert!(uint(&doc["schema_version"], "schema_version") >= 1);
    assert!(doc["params"].is_object(), "{doc:#}");
    assert!(doc["results"]["trials"].is_array(), "{doc:#}");
    assert!(doc["counters"]["minflt"].is_u64(), "{doc:#}");
    assert!(doc["system"]["thp"].is_string(), "{doc:#}");
    assert!(doc["headline"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(doc["lesson"].as_str().is_some_and(|l| l.len() > 10));
    assert_eq!(doc["partial"], false, "{doc:#}");
}

// ---------------------------------------------------------------------------------------------
// cow_overhead

const READ_LINE: &str = r"^Time for reading 16384 pages: \d+ ms$";
const WRITE_LINE: &str = r"^Time for writing to 16384 pages: \d+ ms$";

#[test]
fn cow_prints_the_lecture_lines_then_the_analysis() {
    let out = stdout_of("cow_overhead", &["--pages", "16384"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(matches(READ_LINE, lines[0]), "{out}");
    assert!(matches(WRITE_LINE, lines[1]), "{out}");
    for prefix in ["mapping: ", "copy-on-write: ", "lesson: ", "compare: "] {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix)),
            "no {prefix}:\n{out}"
        );
    }
    let quiet = stdout_of(
        "cow_overhead",
        &["--pages", "1024", "--quiet", "--trials", "2"],
    );
    let lines: Vec<&str> = quiet.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "--quiet: the lecture's lines only:\n{quiet}"
    );
    assert!(
        lines[0].starts_with("Time for reading 1024 pages: "),
        "{quiet}"
    );
    assert!(
        lines[3].starts_with("Time for writing to 1024 pages: "),
        "{quiet}"
    );
}

#[test]
fn cow_write_faults_once_per_page_and_reads_do_not() {
    let doc = json_of("cow_overhead", &["--pages", "16384"]);
    check_envelope("cow_overhead", &doc);
    let t = trial0(&doc);
    for source in ["minflt", "minflt_rusage"] {
        let write = uint(&t["write"][source], "write faults");
        assert!(
            (16_384..17_000).contains(&write),
            "write.{source} = {write}: {t:#}"
        );
        let read = uint(&t["read"][source], "read faults");
        assert!(
            read < 64,
            "read.{source} = {read}: almost none expected: {t:#}"
        );
        let again = uint(&t["rewrite"][source], "rewrite faults");
        assert!(again < 64, "rewrite.{source} = {again}: {t:#}");
        let touch = uint(&t["touch"][source], "touch faults");
        assert!(touch >= 16_384, "touch.{source} = {touch}: {t:#}");
    }
    assert_eq!(t["complete"], true);
    assert_eq!(doc["params"]["pages"], 16384);
    assert_eq!(doc["params"]["sharing"], "private");
    assert_eq!(doc["params"]["huge_pages"], "madv_nohugepage");
    assert!(t["ns_per_fault"].is_number(), "{t:#}");
    assert!(uint(&t["child_pid"], "child_pid") > 0);
}

#[test]
fn cow_shared_mapping_is_never_copied() {
    let doc = json_of("cow_overhead", &["--pages", "16384", "--shared"]);
    check_envelope("cow_overhead", &doc);
    assert_eq!(doc["params"]["sharing"], "shared");
    let t = trial0(&doc);
    for source in ["minflt", "minflt_rusage"] {
        let write = uint(&t["write"][source], "write faults");
        assert!(write < 64, "--shared write.{source} = {write}: {t:#}");
    }
}

#[test]
fn cow_csv_has_a_row_per_trial() {
    let table = csv_table(
        "cow_overhead",
        &["--pages", "256", "--trials", "2"],
        2,
        &[
            "demo",
            "pages",
            "trial",
            "read_ms",
            "write_ms",
            "write.minflt",
        ],
    );
    let trial = table[0].iter().position(|h| h == "trial").unwrap();
    assert_eq!(
        (table[1][trial].as_str(), table[2][trial].as_str()),
        ("1", "2")
    );
}

#[test]
fn cow_pauses_at_the_lecture_four_points() {
    let out = demo("cow_overhead")
        .args(["--pages", "64", "--pause"])
        .write_stdin("\n\n\n\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for point in [
        "Child process started",
        "Child process read pages",
        "Child process wrote pages",
        "Parent process ending",
    ] {
        assert!(
            stderr.contains(&format!(" * {point}\n")),
            "{point}:\n{stderr}"
        );
    }
    assert_eq!(stderr.matches(" -- Press ENTER to continue ...").count(), 4);
    assert_eq!(
        stderr.matches("cut -d' ' -f10 /proc/").count(),
        4,
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("Time for reading 64 pages: "),
        "{stdout}"
    );
}

#[test]
fn cow_bad_page_counts_are_refused() {
    usage_error(
        "cow_overhead",
        &["--pages", "0"],
        &["--pages", "1 to 268435456"],
    );
    usage_error("cow_overhead", &["--pages", "many"], &["--pages"]);
    usage_error("cow_overhead", &["--pages", "268435457"], &["--pages"]);
    // 1 TiB of pages: in range, beyond this machine's memory: a runtime error, exit 1.
    demo("cow_overhead")
        .args(["--pages", "268435456"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("cow_overhead: error: "))
        .stderr(predicate::str::contains("MemAvailable"));
}

// ---------------------------------------------------------------------------------------------
// spawn_cost

#[test]
fn spawn_cost_times_every_operation_pinned_and_unpinned() {
    let out = stdout_of("spawn_cost", &["--count", "20", "--warmup", "2"]);
    for op in [
        "fork + wait",
        "posix_spawn + wait",
        "fork + exec + wait",
        "thread spawn + join",
        "pthread_create + join",
    ] {
        for placement in ["pinned (CPU ", "unpinned (CPU "] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(op) && l.contains(placement)),
                "no {op} {placement} row:\n{out}"
            );
        }
    }
    for prefix in [
        "processes vs threads ",
        "placement: ",
        "lesson: ",
        "compare: ",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(prefix)),
            "no {prefix}:\n{out}"
        );
    }
    assert!(out.contains("lat_proc fork"), "{out}");

    let doc = json_of("spawn_cost", &["--count", "20", "--warmup", "0"]);
    check_envelope("spawn_cost", &doc);
    let series = doc["results"]["trials"].as_array().unwrap();
    assert_eq!(series.len(), 10, "5 operations × 2 placements");
    for s in series {
        assert_eq!(uint(&s["latency"]["count"], "count"), 20, "{s}");
        assert_eq!(s["samples_ns"].as_array().unwrap().len(), 20, "{s}");
        let (min, p50, max) = (
            uint(&s["latency"]["min_ns"], "min"),
            uint(&s["latency"]["p50_ns"], "p50"),
            uint(&s["latency"]["max_ns"], "max"),
        );
        assert!(min <= p50 && p50 <= max, "{s}");
        assert_eq!(s["complete"], true);
    }
    let pinned = &series[0];
    assert_eq!(pinned["placement"], "pinned");
    assert!(
        !pinned["cpus"].as_str().unwrap().contains([',', '-']),
        "{pinned}"
    );
}

#[test]
fn spawn_cost_selects_operations_and_writes_csv() {
    let doc = json_of(
        "spawn_cost",
        &[
            "--count",
            "5",
            "--op",
            "fork,thread",
            "--placement",
            "pinned",
            "--rss",
            "4",
        ],
    );
    let series = doc["results"]["trials"].as_array().unwrap();
    let ops: Vec<&str> = series.iter().map(|s| s["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["fork", "thread"]);
    assert_eq!(doc["params"]["rss_mib"], 4);
    assert!(uint(&doc["results"]["rss_kib"], "rss_kib") >= 4 * 1024);
    // What a forked child that exits at once costs the kernel: a few faults, never thousands.
    assert!(series[0]["child_minflt_per_op"].as_f64().unwrap() < 1000.0);

    let table = csv_table(
        "spawn_cost",
        &["--count", "5", "--op", "posix-spawn"],
        2, // pinned and unpinned
        &[
            "demo",
            "op",
            "placement",
            "latency.p50_ns",
            "child_minflt_per_op",
        ],
    );
    assert!(
        !table[0].iter().any(|h| h.contains("samples")),
        "{:?}",
        table[0]
    );
}

#[test]
fn spawn_cost_usage_errors() {
    usage_error(
        "spawn_cost",
        &["--count", "0"],
        &["--count", "1 to 1000000"],
    );
    usage_error("spawn_cost", &["--op", "vfork"], &["--op", "fork"]);
    usage_error("spawn_cost", &["--rss", "70000"], &["--rss", "0 to 65536"]);
    usage_error("spawn_cost", &["--placement", "left"], &["--placement"]);
}

// ---------------------------------------------------------------------------------------------
// sum_array

#[test]
fn sum_array_prints_the_lab_lines() {
    let out = stdout_of("sum_array", &["2", "--len", "100000", "--seed", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(matches(r"^Array sum is \d+$", lines[0]), "{out}");
    assert!(matches(r"^Time spent: \d+ ms$", lines[1]), "{out}");
    for prefix in ["array: ", "speed-up: ", "workers ", "lesson: ", "compare: "] {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix)),
            "no {prefix}:\n{out}"
        );
    }
    let quiet = stdout_of(
        "sum_array",
        &["2", "--len", "1000", "--trials", "3", "--quiet"],
    );
    assert_eq!(quiet.lines().count(), 6, "{quiet}");
}

#[test]
fn sum_array_sums_the_same_in_every_mode() {
    let size = ["--len", "1000003", "--seed", "7"];
    let mut sums = Vec::new();
    for mode in [
        &["1"][..],
        &["3"],
        &["4", "--processes"],
        &["1", "--processes"],
        &["3", "--global-lock"],
    ] {
        let doc = json_of("sum_array", &[mode, &size].concat());
        check_envelope("sum_array", &doc);
        let t = trial0(&doc);
        let sum = int(&t["sum"], "sum");
        assert_eq!(
            sum,
            int(&doc["results"]["expected_sum"], "expected_sum"),
            "{mode:?}"
        );
        let workers = t["workers"].as_array().unwrap();
        let n: usize = mode[0].parse().unwrap();
        assert_eq!(workers.len(), n, "{mode:?}");
        let partials: i64 = workers.iter().map(|w| int(&w["partial"], "partial")).sum();
        assert_eq!(partials, sum, "{mode:?}");
        let len: u64 = workers.iter().map(|w| uint(&w["len"], "len")).sum();
        assert_eq!(len, 1_000_003, "every element is summed once: {mode:?}");
        sums.push(sum);
    }
    assert!(sums.windows(2).all(|w| w[0] == w[1]), "{sums:?}");
    // Elements are below 1000: the sum is below 1000 × len.
    assert!((0..1_000_003_000).contains(&sums[0]), "{sums:?}");
    let other = json_of("sum_array", &["1", "--len", "1000003", "--seed", "8"]);
    assert_ne!(
        int(&trial0(&other)["sum"], "sum"),
        sums[0],
        "another seed, another array"
    );
}

#[test]
fn sum_array_csv_has_a_row_per_worker_of_each_trial() {
    let table = csv_table(
        "sum_array",
        &["2", "--processes", "--len", "10000", "--trials", "2"],
        4,
        &[
            "demo",
            "workers",
            "mode",
            "trial",
            "sum",
            "time_ms",
            "speedup",
            "workers.partial",
        ],
    );
    let col = |h: &str| table[0].iter().position(|c| c == h).unwrap();
    let (trial, worker, len) = (col("trial"), col("workers.worker"), col("workers.len"));
    for (i, row) in table[1..].iter().enumerate() {
        assert_eq!(row[trial], (i / 2 + 1).to_string(), "{row:?}");
        assert_eq!(row[worker], (i % 2).to_string(), "{row:?}");
        assert_eq!(row[len], "5000", "each worker sums its half: {row:?}");
    }
}

#[test]
fn sum_array_usage_errors() {
    usage_error("sum_array", &["0"], &["1 to 1024"]);
    usage_error(
        "sum_array",
        &["2", "--processes", "--global-lock"],
        &["--global-lock"],
    );
    usage_error("sum_array", &["2", "--len", "0"], &["--len"]);
    demo("sum_array")
        .args(["8", "--len", "4"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("at least one"));
}

// ---------------------------------------------------------------------------------------------
// All three: --help, no process left behind, Ctrl-C

#[test]
fn help_names_the_lecture_program_and_an_example() {
    for (name, program) in [
        ("spawn_cost", "lat_proc"),
        ("sum_array", "sum_array_threads.c"),
        ("cow_overhead", "copy_on_write_overhead.c"),
    ] {
        demo(name)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains(program))
            .stdout(predicate::str::contains(format!("Example: {name} ")));
    }
}

#[test]
fn no_process_is_left_behind() {
    for (name, args) in [
        ("spawn_cost", &["--count", "5", "--warmup", "0"][..]),
        ("sum_array", &["3", "--processes", "--len", "1000"]),
        ("cow_overhead", &["--pages", "64"]),
    ] {
        // Its own process group, so that an orphaned child would still be found.
        let mut child = start(name, &[args, &["--quiet"]].concat());
        let status = wait_within(&mut child, TIMEOUT);
        assert!(status.success(), "{name}: {status}");
        let pid = child.id() as i32;
        assert!(
            group_members(pid).is_empty(),
            "{name}: processes left in its group"
        );
    }
}

/// Starts `name args` in its own process group with piped stdio.
fn start(name: &str, args: &[&str]) -> Child {
    StdCommand::new(exe(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn")
}

/// Sends SIGINT to the demo, waits for it, checks exit 130, the partial note, and that no
/// process is left in its group; returns stderr.
fn interrupt(name: &str, mut child: Child) -> String {
    let pid = child.id() as i32;
    kill(Pid::from_raw(pid), Signal::SIGINT).expect("kill");
    let status = wait_within(&mut child, Duration::from_secs(20));
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).expect("stderr");
    assert_eq!(status.code(), Some(130), "{name}: {status}\n{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{name}:\n{stderr}");
    assert!(stderr.contains("partial"), "{name}:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{name}:\n{stderr}");
    assert_eq!(
        group_members(pid),
        Vec::<i32>::new(),
        "{name}: processes left"
    );
    stderr
}

#[test]
fn ctrl_c_during_spawn_cost_reaps_every_child() {
    let child = start(
        "spawn_cost",
        &["--op", "fork,fork-exec", "--count", "1000000"],
    );
    let pid = child.id() as i32;
    wait_until("spawn_cost catches SIGINT", || catches(pid, Signal::SIGINT));
    thread::sleep(Duration::from_millis(300));
    interrupt("spawn_cost", child);
}

#[test]
fn ctrl_c_during_sum_array_reaps_every_child() {
    let mut child = start(
        "sum_array",
        &["2", "--processes", "--len", "20000000", "--trials", "1000"],
    );
    // Once the first trial's lines are out, the trials (and their forks) are under way.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    assert!(line.starts_with("Array sum is "), "{line:?}");
    interrupt("sum_array", child);
}

#[test]
fn ctrl_c_while_the_cow_child_pauses_kills_and_reaps_it() {
    let mut child = start("cow_overhead", &["--pages", "1024", "--pause"]);
    // Keep stdin open and silent: the child waits at its first pause point.
    let stdin = child.stdin.take().expect("stdin");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("Press ENTER") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("read") > 0, "{seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains(" * Child process started"), "{seen}");
    let pid = child.id() as i32;
    assert_eq!(group_members(pid).len(), 2, "parent and paused child");
    child.stderr = Some(stderr.into_inner());
    let rest = interrupt("cow_overhead", child);
    assert!(!rest.contains("Parent process ending"), "{rest}");
    drop(stdin);
}

#[test]
fn compare_spawn_and_sum_array_read_every_member() {
    for (family, flags, members, metric) in [
        (
            "spawn",
            &["--count", "5", "--warmup", "0"][..],
            8,
            "latency.p50_ns",
        ),
        ("sum_array", &["--len", "100000"], 9, "speedup"),
    ] {
        let args = [
            &["compare", family, "--trials", "1", "--format", "json", "--"][..],
            flags,
        ]
        .concat();
        let doc = parse_json("oslab", &stdout_of("oslab", &args));
        assert_eq!(doc["family"], family);
        let rows = doc["rows"].as_array().unwrap();
        assert_eq!(rows.len(), members, "{doc:#}");
        for row in rows {
            let v = row["medians"][metric].as_f64();
            assert!(v.is_some_and(|v| v > 0.0), "{family}: {row}");
            assert!(row["ratio"].as_f64().unwrap() >= 1.0, "{row}");
        }
    }
}

#[test]
fn the_docs_document_the_csv_columns_exactly() {
    // The prefixes tell the headers apart (sleep_jitter's starts demo,count,interval_ns;
    // semaphore's demo,workers,permits).
    for (name, args, start) in [
        ("cow_overhead", &["--pages", "64"][..], "demo,pages,"),
        (
            "spawn_cost",
            &["--count", "2", "--op", "fork"],
            "demo,count,warmup,",
        ),
        ("sum_array", &["2", "--len", "100"], "demo,workers,mode,"),
    ] {
        let documented = documented_line(start);
        let csv = stdout_of(name, &[args, &["--format", "csv"]].concat());
        assert_eq!(
            csv.lines().next(),
            Some(documented.as_str()),
            "{name}'s CSV header"
        );
    }
}
