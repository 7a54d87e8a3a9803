//! The five race-condition binaries: lecture lines, invariants, JSON and CSV.

use crate::common::*;

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
    for name in all_binaries() {
        let args = ["--threads", "2", "--steps", "20000", "--trials", "2"];
        let stdout = stdout_of(name, &[&args[..], &["--format", "json"]].concat());
        assert!(
            !stdout.lines().any(is_lecture_line),
            "{name}: a lecture line in JSON mode:\n{stdout}"
        );
        let doc = parse_json(name, &stdout);
        check_report(name, &doc, 2, 20_000, 2, name != "race_condition");
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_trial() {
    for name in all_binaries() {
        let args = ["--threads", "2", "--steps", "20000", "--trials", "3"];
        let stdout = stdout_of(name, &[&args[..], &["--format", "csv"]].concat());
        check_csv(name, &stdout, 2, 20_000, 3, name != "race_condition");
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
fn readme_documents_the_csv_columns_exactly() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let documented = readme
        .lines()
        .find(|l| l.starts_with("demo,variant,"))
        .expect("README.md shows the race CSV header");
    for name in ["race_condition", "fine_granularity"] {
        let csv = stdout_of(
            name,
            &["--steps", "1000", "--threads", "2", "--format", "csv"],
        );
        assert_eq!(csv.lines().next(), Some(documented), "{name}'s CSV header");
    }
}
