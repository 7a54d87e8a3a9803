//! Pictures: `--plot FILE.svg` on the demos, `oslab compare … --plot`, `oslab plot REPORT`. Each
//! SVG must parse as XML and carry its title and its axes' labels (with their units) as text a
//! person reads; a saved report draws the same picture as the run; a bad path is a clear error.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// A fresh directory for one test's files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("oslab-plot-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The SVG at `path`, parsed: its `<title>` and every `<text>` in it.
fn svg_texts(path: &str) -> (String, Vec<String>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{path} is not well-formed XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{path}: the root is <svg>");
    let title = root
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("{path} has no <title>"))
        .to_string();
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    (title, texts)
}

/// Asserts some `<text>` of the picture matches each pattern (a regular expression).
fn has_texts(path: &str, texts: &[String], patterns: &[&str]) {
    for pattern in patterns {
        assert!(
            texts.iter().any(|t| matches(pattern, t)),
            "{path}: no text matches {pattern:?} in {texts:?}"
        );
    }
}

#[test]
fn sleep_jitter_draws_the_lectures_histogram_and_the_overshoot() {
    let dir = Scratch::new("jitter");
    let svg = dir.path("j.svg");
    let stdout = stdout_of(
        "sleep_jitter",
        &["--count", "40", "--interval", "1ms", "--plot", &svg],
    );
    assert!(
        stdout.contains(&format!(
            "picture: {svg} (sleep_jitter: 40 × sleep(1.00 ms)"
        )),
        "{stdout}"
    );
    let (title, texts) = svg_texts(&svg);
    assert!(
        title.starts_with("sleep_jitter: 40 × sleep(1.00 ms), relative"),
        "{title}"
    );
    has_texts(
        &svg,
        &texts,
        &[
            r"^sleep_jitter · count 40 · interval 1\.00 ms · mode relative",
            r"^on .* \(\d+ of \d+ CPUs usable\), Linux ",
            // The seed's bins, interval − 1 to interval + 5 ms.
            r"plt\.hist\(times, \[0, 1, 2, 3, 4, 5, 6\]\)",
            r"^sleep, in whole ms \(millis\(\) after − before\)$",
            r"^sleeps \(count\)$",
            r"^overshoot past the deadline \(µs\)$",
            r"^sleeps at or below \(%\)$",
            r"^p50 [\d.]+ µs$",
            r"^p99 [\d.]+ µs$",
        ],
    );
}

#[test]
fn a_saved_report_draws_the_same_picture_as_the_run() {
    let dir = Scratch::new("saved");
    let (run_svg, saved_svg, json) = (
        dir.path("run.svg"),
        dir.path("saved.svg"),
        dir.path("r.json"),
    );
    let report = stdout_of(
        "sleep_jitter",
        &[
            "--count",
            "20",
            "--interval",
            "1ms",
            "--format",
            "json",
            "--plot",
            &run_svg,
        ],
    );
    // JSON mode: stdout is the report alone.
    let value = parse_json("sleep_jitter", &report);
    assert_eq!(value["demo"], "sleep_jitter");
    fs::write(&json, &report).unwrap();
    let stdout = stdout_of("oslab", &["plot", &json, "-o", &saved_svg]);
    assert!(
        stdout.starts_with(&format!("picture: {saved_svg} (sleep_jitter: ")),
        "{stdout}"
    );
    assert_eq!(
        fs::read_to_string(&run_svg).unwrap(),
        fs::read_to_string(&saved_svg).unwrap(),
        "oslab plot of the saved report draws what --plot drew"
    );
    // Without -o: beside the report, named after it; from stdin: on stdout.
    stdout_of("oslab", &["plot", &json]);
    assert!(Path::new(&dir.path("r.svg")).exists());
    let svg = demo("oslab")
        .args(["plot", "-"])
        .write_stdin(report)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
}

#[test]
fn compare_race_draws_each_variants_time_and_lost_updates() {
    let dir = Scratch::new("race");
    let svg = dir.path("r.svg");
    let stdout = stdout_of(
        "oslab",
        &[
            "compare", "race", "--trials", "2", "--plot", &svg, "--", "--steps", "2000",
        ],
    );
    assert!(
        stdout.contains(&format!(
            "picture: {svg} (oslab compare race: 2 runs of each"
        )),
        "{stdout}"
    );
    let (title, texts) = svg_texts(&svg);
    assert_eq!(title, "oslab compare race: 2 runs of each, interleaved");
    let mut patterns = vec![
        r"^oslab compare race --trials 2 -- --steps 2000$",
        r"^time \((ns|µs|ms|s)\)$",
        r"^updates lost \(count\)$",
        r"^variant$",
        r"^time per run: median",
    ];
    let variants: Vec<String> = family("race").iter().map(|v| format!("^{v}$")).collect();
    patterns.extend(variants.iter().map(String::as_str));
    has_texts(&svg, &texts, &patterns);

    // The sweep's CSV (scripts/sweep.sh: one header, then each thread count's rows) as lines.
    let one = stdout_of(
        "race_condition",
        &["--threads", "1", "--steps", "1000", "--format", "csv"],
    );
    let two = stdout_of(
        "race_condition",
        &["--threads", "2", "--steps", "1000", "--format", "csv"],
    );
    let csv = dir.path("sweep.csv");
    fs::write(
        &csv,
        format!(
            "{one}{}",
            two.lines().skip(1).collect::<Vec<_>>().join("\n")
        ),
    )
    .unwrap();
    let sweep_svg = dir.path("sweep.svg");
    stdout_of("oslab", &["plot", &csv, "-o", &sweep_svg]);
    let (title, texts) = svg_texts(&sweep_svg);
    assert_eq!(title, "thread-count sweep: race_condition");
    has_texts(
        &sweep_svg,
        &texts,
        &[
            r"^threads \(count\)$",
            r"^time \(ms\)$",
            r"^updates lost \(count\)$",
        ],
    );
}

#[test]
fn bad_paths_and_reports_are_clear_errors() {
    let dir = Scratch::new("bad");
    // A picture that cannot be written is refused before the run, naming the path.
    let missing = dir.path("no/such/dir/j.svg");
    let out = demo("sleep_jitter")
        .args(["--count", "100000", "--plot", &missing])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "sleep_jitter: error: --plot: cannot write the picture to {missing}: "
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "refused before the run");
    usage_error(
        "sleep_jitter",
        &["--plot", &dir.path("")],
        &["is a directory"],
    );
    usage_error("sleep_jitter", &["--plot", ""], &["expected a file name"]);
    // A demo with nothing to draw says so, and which demos draw one.
    usage_error(
        "barrier",
        &["--plot", &dir.path("b.svg")],
        &["barrier has no picture to draw", "sleep_jitter"],
    );
    usage_error(
        "oslab",
        &["compare", "deadlock", "--plot", &dir.path("d.svg")],
        &["oslab compare deadlock has no picture to draw", "race"],
    );
    // oslab plot: a missing report, one that is not a report, one of a demo with no picture.
    let cases: [(&str, &str, &str); 3] = [
        ("absent.json", "", "cannot read the report"),
        ("junk.json", "hello", "not a report"),
        (
            "barrier.json",
            r#"{"demo": "barrier"}"#,
            "barrier has no picture to draw",
        ),
    ];
    for (name, content, needle) in cases {
        let path = dir.path(name);
        if !content.is_empty() {
            fs::write(&path, content).unwrap();
        }
        let out = demo("oslab")
            .args(["plot", &path])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("oslab: error: ") && stderr.contains(needle),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(&path), "{name}: names the report: {stderr}");
    }
    // An unwritable output for oslab plot names it too.
    let json = dir.path("r.json");
    let report = stdout_of(
        "sleep_jitter",
        &["--count", "5", "--interval", "1ms", "--format", "json"],
    );
    fs::write(&json, report).unwrap();
    let out = demo("oslab")
        .args(["plot", &json, "-o", &missing])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "oslab: error: cannot write the picture to {missing}: "
        )),
        "{stderr}"
    );
}

#[test]
fn coop_sched_draws_its_schedule_as_a_gantt_chart() {
    let dir = Scratch::new("coop");
    let svg = dir.path("c.svg");
    let report = stdout_of(
        "coop_sched",
        &["--cooperate", "--format", "json", "--plot", &svg],
    );
    let report = parse_json("coop_sched", &report);
    // The report has each switch's time, one per switch in the schedule.
    let schedule = report["results"]["schedule"].as_array().expect("schedule");
    let at = report["results"]["switch_ns"]
        .as_array()
        .expect("switch_ns");
    assert_eq!(schedule.len(), at.len());
    assert!(
        at.windows(2)
            .all(|w| uint(&w[0], "switch_ns") <= uint(&w[1], "switch_ns"))
    );
    let (title, texts) = svg_texts(&svg);
    assert_eq!(
        title,
        "coop_sched, cooperate: 2 user threads on one OS thread, interleaved"
    );
    let switches = format!(
        r"^who ran when \({} switches\): each thread yields after every step$",
        schedule.len()
    );
    has_texts(
        &svg,
        &texts,
        &[
            &switches,
            r"^time since the start \((ns|µs|ms|s)\)$",
            r"^user thread$",
            r"^Thread 1$",
            r"^Thread 2$",
            r"^running \(the run queue switched to it\)$",
        ],
    );
}

#[test]
fn sched_sim_real_draws_the_prediction_above_the_kernels_schedule() {
    let dir = Scratch::new("sched");
    let svg = dir.path("s.svg");
    // The fair policy and the jobs' own clocks: no privilege needed.
    stdout_of(
        "sched_sim",
        &[
            "--real",
            "--policy",
            "fair",
            "--tick",
            "1ms",
            "--own-clock",
            "--quiet",
            "--plot",
            &svg,
        ],
    );
    let (title, texts) = svg_texts(&svg);
    assert_eq!(
        title,
        "sched_sim --real: the simulator's schedule and the kernel's, a tick = 1.00 ms"
    );
    has_texts(
        &svg,
        &texts,
        &[
            r"^predicted: the simulator's fair, slice 2 ticks$",
            r"^measured: SCHED_OTHER \(EEVDF\), the jobs' nice values, from the jobs' own clock readings$",
            r"^time since the first release \(ms\)$",
            r"^P1$",
            r"^P3$",
        ],
    );
    // Without --real: the simulation alone, in ticks.
    let plain = dir.path("p.svg");
    stdout_of("sched_sim", &["--quiet", "--plot", &plain]);
    let (title, texts) = svg_texts(&plain);
    assert_eq!(title, "sched_sim: rr, 3 jobs");
    has_texts(&plain, &texts, &[r"^time \(ticks\)$", r"^P2$"]);
}

#[test]
fn proc_watch_draws_the_faults_over_time_with_the_pause_points_marked() {
    let dir = Scratch::new("watch");
    let (svg, json) = (dir.path("w.svg"), dir.path("w.json"));
    let pages = "4096";
    // The command's pauses go on at once (its stdin is not a terminal), and are logged.
    let text = stdout_of(
        "proc_watch",
        &[
            "--interval",
            "10ms",
            "--plot",
            &svg,
            "--export",
            &json,
            "--",
            &exe("cow_overhead"),
            "--pause",
            "--pages",
            pages,
        ],
    );
    for what in [
        "Child process started",
        "Child process read pages",
        "Child process wrote pages",
    ] {
        assert!(
            matches(&format!(r"\d+\.\d\ds  ── PID \d+ paused: {what}"), &text),
            "no pause line for {what}:\n{text}"
        );
    }
    let doc = parse_json("proc_watch", &fs::read_to_string(&json).unwrap());
    let r = &doc["results"];
    let pauses = r["pauses"].as_array().unwrap();
    // Each point reached, then left, in order; the child's in a process other than the watched.
    let paused: Vec<&Value> = pauses.iter().filter(|p| p["event"] == "pause").collect();
    assert!(paused.len() >= 3, "{pauses:?}");
    assert!(paused.iter().any(|p| p["pid"] != r["pid"]), "{pauses:?}");
    let times: Vec<f64> = pauses.iter().map(|p| p["t_s"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // The tree's faults: the parent's touch and the child's copy-on-write, at least a page each.
    let tree = uint(&r["total"]["tree_minflt_since_start"], "tree faults");
    assert!(
        tree >= 2 * pages.parse::<u64>().unwrap(),
        "tree faults {tree}"
    );
    let (title, texts) = svg_texts(&svg);
    assert!(
        matches(
            r"^proc_watch: PID \d+ \(cow_overhead\), .* pause points marked$",
            &title
        ),
        "{title}"
    );
    has_texts(
        &svg,
        &texts,
        &[
            "^minor page faults so far$",
            r"^time since the watch began \(s\)$",
            r"^RSS \(MiB\)$",
            r"paused: Child process wrote pages$",
            "^with every process it created$",
        ],
    );
}
