//! The race family (six race-condition binaries and the granularity pair): lecture lines,
//! invariants, JSON and CSV; and the checks every member of the family passes, which
//! `granularity.rs` and `usage.rs` use too.

use serde_json::Value;

use crate::common::*;

/// The six race-condition binaries (`oslab compare race`).
pub fn race() -> Vec<&'static str> {
    family("race")
}

/// The race binaries that lose updates by design: no protection, or the TOCTOU flag.
pub fn loses_updates(name: &str) -> bool {
    matches!(name, "race_condition" | "race_condition_toctou")
}

/// The two granularity binaries (both safe).
pub fn granularity() -> Vec<&'static str> {
    family("granularity")
}

/// All seven binaries of the race and granularity families (they share their flags).
pub fn race_family() -> Vec<&'static str> {
    [race(), granularity()].concat()
}

/// The lecture's line, `var = %d; time = %lu ms`.
pub const LECTURE_LINE: &str = r"^var = -?\d+; time = \d+ ms$";

/// True if `line` is the lecture's line.
pub fn is_lecture_line(line: &str) -> bool {
    matches(LECTURE_LINE, line)
}

/// The value of var in a lecture line.
pub fn var_of(line: &str) -> i64 {
    assert!(is_lecture_line(line), "not a lecture line: {line:?}");
    line["var = ".len()..line.find(';').expect("a ';'")]
        .parse()
        .expect("var is a number")
}

/// The lecture lines of a text-mode stdout, checking they come first (before any analysis).
pub fn lecture_lines(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    let n = lines.iter().take_while(|l| is_lecture_line(l)).count();
    assert!(
        lines[n..].iter().all(|l| !is_lecture_line(l)),
        "a lecture line after the analysis:\n{stdout}"
    );
    lines[..n].to_vec()
}

#[test]
fn lecture_line_pattern_is_strict() {
    assert!(is_lecture_line("var = -12; time = 3 ms"));
    assert_eq!(var_of("var = 2000000; time = 14 ms"), 2_000_000);
    assert!(!is_lecture_line("var = 1; time = 3 ms extra"));
    assert!(!is_lecture_line("expected: var = 1"));
}

/// The text-mode checks every safe binary must pass with `threads` × `steps`: the lecture line
/// first and exact, the analysis after it, several trials, `--decrement` and `--quiet`.
pub fn check_safe_text(name: &str, extra: &[&str], threads: u32, steps: u32) {
    let (t, s) = (threads.to_string(), steps.to_string());
    let size = [extra, &["--threads", &t, "--steps", &s]].concat();
    let expected = i64::from(threads) * i64::from(steps);
    let with = |more: &[&'static str]| [size.as_slice(), more].concat();

    let out = stdout_of(name, &size);
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 1, "{name}: one lecture line first:\n{out}");
    assert_eq!(var_of(lecture[0]), expected, "{name}:\n{out}");
    check_analysis(name, &out);
    let want = format!("expected: var = {expected} ({threads} threads × {steps} increments)");
    assert!(out.contains(&want), "{name}: no {want:?} in\n{out}");

    let out = stdout_of(name, &with(&["--trials", "3", "--warmup", "1"]));
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 3, "{name}: one line per trial:\n{out}");
    for line in lecture {
        assert_eq!(var_of(line), expected, "{name}, every trial:\n{out}");
    }
    assert!(out.contains("over 3 trials"), "{name}: no summary:\n{out}");
    check_analysis(name, &out);

    let decrement = [extra, &["--threads", "2", "--steps", &s, "--decrement"]].concat();
    let out = stdout_of(name, &decrement);
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 1, "{name} --decrement:\n{out}");
    assert_eq!(var_of(lecture[0]), 0, "{name} --decrement:\n{out}");

    let out = stdout_of(name, &with(&["--trials", "2", "--quiet"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "{name} --quiet: only the lecture lines:\n{out}"
    );
    assert!(
        lines.iter().all(|l| var_of(l) == expected),
        "{name}:\n{out}"
    );
}

/// The analysis after the lecture lines ends with the lesson and the standard tool.
pub fn check_analysis(name: &str, stdout: &str) {
    for prefix in ["lesson: ", "compare: ", "placement: ", "context switches: "] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(prefix) && l.len() > prefix.len()),
            "{name}: no '{prefix}' line in\n{stdout}"
        );
    }
}

/// Checks a JSON report's shape and its invariants by value. `safe`: no update may be lost.
pub fn check_report(name: &str, doc: &Value, threads: u64, steps: u64, trials: u64, safe: bool) {
    let ctx = |what: &str| format!("{name}: {what} in\n{doc:#}");
    assert_eq!(doc["demo"], name, "{}", ctx("demo"));
    assert!(uint(&doc["schema_version"], "schema_version") >= 1);
    let params = &doc["params"];
    assert_eq!(uint(&params["threads"], "params.threads"), threads);
    assert_eq!(uint(&params["steps"], "params.steps"), steps);
    assert_eq!(uint(&params["trials"], "params.trials"), trials);
    assert_eq!(params["decrement"], false, "{}", ctx("params.decrement"));
    assert!(params["variant"].as_str().is_some_and(|v| !v.is_empty()));

    let expected = (threads * steps) as i64;
    let runs = doc["results"]["trials"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", ctx("results.trials is not an array")));
    assert_eq!(runs.len() as u64, trials, "{}", ctx("one entry per trial"));
    for (i, t) in runs.iter().enumerate() {
        assert_eq!(
            uint(&t["trial"], "trial"),
            i as u64 + 1,
            "{}",
            ctx("numbering")
        );
        let var = int(&t["var"], "var");
        assert_eq!(
            int(&t["expected"], "expected"),
            expected,
            "{}",
            ctx("expected")
        );
        assert_eq!(int(&t["lost"], "lost"), expected - var, "{}", ctx("lost"));
        assert!(var <= expected, "{}", ctx("var above expected"));
        if safe {
            assert_eq!(var, expected, "{}", ctx("a safe variant lost updates"));
        }
        for key in [
            "time_ms",
            "elapsed_ns",
            "work_ns",
            "voluntary_cs",
            "nonvoluntary_cs",
        ] {
            uint(&t[key], key);
        }
        assert_eq!(t["complete"], true, "{}", ctx("complete"));
        let workers = t["threads"].as_array().expect("trial.threads is an array");
        assert_eq!(
            workers.len() as u64,
            threads,
            "{}",
            ctx("one entry per thread")
        );
        let mut total = 0;
        for (j, w) in workers.iter().enumerate() {
            assert_eq!(uint(&w["thread"], "thread"), j as u64);
            assert_eq!(int(&w["delta"], "delta"), 1);
            let done = uint(&w["steps"], "threads[].steps");
            assert_eq!(done, steps, "{}", ctx("every thread completes its steps"));
            total += done;
            let share = w["share"].as_f64().expect("share is a number");
            assert!(
                (0.0..=1.0).contains(&share),
                "{}",
                ctx("share out of [0, 1]")
            );
            uint(&w["voluntary_cs"], "threads[].voluntary_cs");
            uint(&w["nonvoluntary_cs"], "threads[].nonvoluntary_cs");
            uint(&w["finish_ns"], "threads[].finish_ns");
        }
        assert_eq!(
            total,
            threads * steps,
            "{}",
            ctx("steps sum to threads × steps")
        );
    }

    let summary = &doc["results"]["summary"];
    let losing = runs.iter().filter(|t| t["lost"].as_i64() > Some(0)).count();
    assert_eq!(
        uint(&summary["trials_losing_updates"], "trials_losing_updates"),
        losing as u64,
        "{}",
        ctx("summary.trials_losing_updates")
    );
    let lost: Vec<f64> = runs.iter().filter_map(|t| t["lost"].as_f64()).collect();
    let (min, max) = lost
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!(
        summary["lost"]["min"].as_f64(),
        Some(min),
        "{}",
        ctx("lost.min")
    );
    assert_eq!(
        summary["lost"]["max"].as_f64(),
        Some(max),
        "{}",
        ctx("lost.max")
    );
    assert!(
        summary["time_ms"]["median"].is_number(),
        "{}",
        ctx("summary.time_ms")
    );

    for key in [
        "minflt",
        "majflt",
        "voluntary_cs",
        "nonvoluntary_cs",
        "utime_us",
        "stime_us",
    ] {
        uint(&doc["counters"][key], &format!("counters.{key}"));
    }
    let system = &doc["system"];
    assert!(system["kernel"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(
        uint(&system["cpus_usable_count"], "cpus_usable_count") as usize,
        usable_cpus().len(),
        "{}",
        ctx("cpus_usable_count is the inherited affinity mask")
    );
    assert!(uint(&system["page_size"], "page_size") >= 4096);
    assert!(system["thp"].is_string(), "{}", ctx("system.thp"));
    assert!(
        system["hypervisor"].is_boolean(),
        "{}",
        ctx("system.hypervisor")
    );

    let last = runs.last().expect("at least one trial");
    let headline = doc["headline"].as_str().expect("headline is a string");
    let want = format!("var = {} of {}", last["var"], last["expected"]);
    assert!(
        headline.contains(&want),
        "{}",
        ctx("headline names the last trial")
    );
    assert!(doc["lesson"].as_str().is_some_and(|l| l.len() > 10));
    assert_eq!(doc["partial"], false, "{}", ctx("partial"));
}

/// Checks CSV output: a header, then one row per thread of each trial (tidy: the trial's cells
/// repeated, one thread's `threads.*` cells) with as many cells as the header.
pub fn check_csv(name: &str, stdout: &str, threads: u32, steps: u32, trials: usize, safe: bool) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        trials * threads as usize + 1,
        "{name}: header + a row per thread of each trial:\n{stdout}"
    );
    let header = lines[0];
    assert!(header.starts_with("demo,"), "{name}: {header}");
    assert!(
        header.contains(",trial,var,expected,lost,"),
        "{name}: {header}"
    );
    let header = csv_cells(header);
    let col = |h: &str| {
        header
            .iter()
            .position(|c| c == h)
            .unwrap_or_else(|| panic!("{name}: no column {h} in {header:?}"))
    };
    let (trial, var, expected) = (col("trial"), col("var"), col("expected"));
    let (cpu, thread) = (col("threads.cpu_start"), col("threads.thread"));
    let per_thread_steps = col("threads.steps");
    let total = i64::from(threads) * i64::from(steps);
    for (i, row) in lines[1..].iter().enumerate() {
        let cells = csv_cells(row);
        assert_eq!(cells.len(), header.len(), "{name}: row {row:?} vs header");
        assert_eq!(cells[0], name);
        let (t, k) = (i / threads as usize, i % threads as usize);
        assert_eq!(cells[trial], (t + 1).to_string(), "{name}: {row}");
        assert_eq!(cells[thread], k.to_string(), "{name}: {row}");
        assert_eq!(cells[expected], total.to_string(), "{name}: {row}");
        let v: i64 = cells[var].parse().expect("var is a number");
        if safe {
            assert_eq!(v, total, "{name}: {row}");
        } else {
            assert!(v <= total, "{name}: {row}");
        }
        assert_eq!(cells[per_thread_steps], steps.to_string(), "{name}: {row}");
        assert!(
            cells[cpu].parse::<usize>().is_ok(),
            "{name}: one CPU: {row}"
        );
    }
}

#[test]
fn atomic_text_is_exact() {
    check_safe_text("race_condition_atomic", &[], 3, 20_000);
}

#[test]
fn atomic_assembly_text_is_exact() {
    check_safe_text("race_condition_atomic_assembly", &[], 3, 20_000);
}

#[test]
fn spinlock_text_is_exact() {
    check_safe_text("race_condition_spinlock", &[], 3, 20_000);
}

#[test]
fn mutex_text_is_exact() {
    check_safe_text("race_condition_mutex", &[], 3, 20_000);
}

#[test]
fn mutex_parking_lot_text_is_exact() {
    check_safe_text(
        "race_condition_mutex",
        &["--lock", "parking-lot"],
        3,
        20_000,
    );
}

/// The mutex programs' lock lies as the C twins' statics do (scripts/c/lecture.h): in place at
/// the start of a cache line, var right after it on the same line; glibc's pthread_mutex_t is
/// the 40-byte mutex itself, not a pointer to a boxed one.
#[test]
fn the_lock_lies_beside_var_as_the_c_statics_do() {
    for (name, lock, bytes) in [
        ("race_condition_mutex", "pthread", 40),
        ("fine_granularity", "pthread", 40),
        ("coarse_granularity", "pthread", 40),
        ("race_condition_mutex", "std", 8),
    ] {
        let doc = json_of(name, &["--lock", lock, "--steps", "1000"]);
        {
            let layout = &doc["results"]["layout"];
            assert_eq!(
                uint(&layout["lock_bytes"], "lock_bytes"),
                bytes,
                "{name} --lock {lock}: {layout}"
            );
            assert_eq!(
                int(&layout["var_minus_lock"], "var_minus_lock"),
                bytes as i64,
                "{layout}"
            );
            assert_eq!(layout["same_line"], true, "{layout}");
            assert_eq!(
                uint(&layout["lock_line_offset"], "lock_line_offset"),
                0,
                "{layout}"
            );
        }
        let out = stdout_of(name, &["--lock", lock, "--steps", "1000"]);
        let want = format!(
            "bytes, in place) lies at the start of a cache line, var {bytes} bytes after it, on the same line"
        );
        assert!(
            out.contains(&want),
            "{name} --lock {lock}: no {want:?} in\n{out}"
        );
    }
    // No lock, no layout.
    let doc = json_of("race_condition_atomic", &["--steps", "1000"]);
    assert!(doc["results"].get("layout").is_none());
}

#[test]
fn racy_text_has_lecture_line_and_analysis() {
    let name = "race_condition";
    let size = ["--threads", "3", "--steps", "20000"];
    let out = stdout_of(name, &size);
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 1, "{out}");
    // Every store writes some thread's loaded value + 1, so var stays within 1..=expected.
    assert!((1..=60_000).contains(&var_of(lecture[0])), "{out}");
    assert!(out.contains("expected: var = 60000"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("lost updates: ")),
        "{out}"
    );
    check_analysis(name, &out);

    let out = stdout_of(name, &[&size[..], &["--trials", "3", "--quiet"]].concat());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "--quiet --trials 3: three lecture lines only:\n{out}"
    );
    assert!(
        lines.iter().all(|l| (1..=60_000).contains(&var_of(l))),
        "{out}"
    );

    // One thread adds, one subtracts: var stays within ±steps whatever is lost.
    let out = stdout_of(name, &["--threads", "2", "--steps", "20000", "--decrement"]);
    let lecture = lecture_lines(&out);
    assert_eq!(lecture.len(), 1, "{out}");
    assert!((-20_000..=20_000).contains(&var_of(lecture[0])), "{out}");
    assert!(
        out.contains("updates (every second thread decrements)"),
        "{out}"
    );
}

#[test]
fn racy_variant_loses_updates_with_many_steps() {
    let cpus = usable_cpus().len();
    if cpus < 2 {
        eprintln!(
            "skipped: only {cpus} CPU usable; the threads cannot interleave, nothing is lost"
        );
        return;
    }
    // Whether the threads overlap depends on the scheduler: on a busy machine (other tests, or
    // other jobs, hogging both CPUs) many trials run the two threads in turn and lose nothing.
    // A correct demo loses updates in some trial of some run; a protected one never does.
    const RUNS: usize = 10;
    let name = "race_condition";
    for _ in 0..RUNS {
        let doc = json_of(name, &["--steps", "2000000", "--trials", "5"]);
        check_report(name, &doc, 2, 2_000_000, 5, false);
        let trials = doc["results"]["trials"].as_array().expect("trials");
        let lost = trials.iter().any(|t| {
            int(&t["lost"], "lost") > 0 && int(&t["var"], "var") < int(&t["expected"], "expected")
        });
        if lost {
            assert!(
                uint(
                    &doc["results"]["summary"]["trials_losing_updates"],
                    "losing"
                ) >= 1
            );
            return;
        }
    }
    panic!(
        "{RUNS} runs of 5 trials of 2 × 2000000 unprotected increments on {cpus} CPUs lost nothing"
    );
}

#[test]
fn racy_variant_pinned_to_one_cpu_runs_and_warns() {
    let cpu = usable_cpus()[0].to_string();
    let name = "race_condition";
    let out = demo(name)
        .args(["--steps", "200000", "--cpu", &cpu, "--format", "json"])
        .assert()
        .success()
        .stderr(predicates::str::contains("only one CPU is usable"))
        .get_output()
        .clone();
    let doc = parse_json(name, &String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["params"]["cpu"], cpu.as_str());
    assert_eq!(doc["system"]["cpus_usable_count"], 1);
    let t = &doc["results"]["trials"][0];
    assert!(
        int(&t["var"], "var") <= int(&t["expected"], "expected"),
        "{doc:#}"
    );
    for w in t["threads"].as_array().expect("threads") {
        for key in ["cpu_start", "cpu_end"] {
            assert_eq!(
                w[key].to_string(),
                cpu,
                "every thread ran on --cpu:\n{doc:#}"
            );
        }
    }
}

#[test]
fn json_is_one_document_with_the_documented_shape() {
    for name in race_family() {
        let args = ["--threads", "2", "--steps", "20000", "--trials", "2"];
        let stdout = stdout_of(name, &[&args[..], &["--format", "json"]].concat());
        assert!(
            !stdout.lines().any(is_lecture_line),
            "{name}: a lecture line in JSON mode:\n{stdout}"
        );
        let doc = parse_json(name, &stdout);
        check_report(name, &doc, 2, 20_000, 2, !loses_updates(name));
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_trial() {
    for name in race_family() {
        let args = ["--threads", "2", "--steps", "20000", "--trials", "3"];
        let stdout = stdout_of(name, &[&args[..], &["--format", "csv"]].concat());
        check_csv(name, &stdout, 2, 20_000, 3, !loses_updates(name));
    }
}

#[test]
fn spread_puts_each_thread_on_its_own_usable_cpu() {
    let usable = usable_cpus();
    let doc = json_of(
        "race_condition_mutex",
        &[
            "--threads",
            "3",
            "--steps",
            "20000",
            "--spread",
            "--trials",
            "2",
        ],
    );
    assert_eq!(doc["params"]["spread"], true);
    for trial in doc["results"]["trials"].as_array().unwrap() {
        for (i, t) in trial["threads"].as_array().unwrap().iter().enumerate() {
            let home = usable[i % usable.len()] as u64;
            assert_eq!(uint(&t["cpu_start"], "cpu_start"), home, "thread {i}: {t}");
            assert_eq!(uint(&t["cpu_end"], "cpu_end"), home, "thread {i}: {t}");
        }
    }
    let on_one = uint(
        &doc["results"]["summary"]["trials_on_one_cpu"],
        "trials_on_one_cpu",
    );
    assert_eq!(on_one, if usable.len() > 1 { 0 } else { 2 });
}

#[test]
fn the_docs_document_the_csv_columns_exactly() {
    let documented = documented_line("demo,variant,");
    for name in ["race_condition", "fine_granularity"] {
        let csv = stdout_of(
            name,
            &["--steps", "1000", "--threads", "2", "--format", "csv"],
        );
        assert_eq!(
            csv.lines().next(),
            Some(documented.as_str()),
            "{name}'s CSV header"
        );
    }
}
