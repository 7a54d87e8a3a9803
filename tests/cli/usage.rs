//! What every binary does at its edges: usage errors, --help and --version, a valid JSON
//! document with its verdict, a closed stdout, Ctrl-C and SIGTERM, and no child process left
//! behind. The first tests run over every demo in the catalogue; the rest over the race family,
//! whose flags they share.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::*;
use crate::race::*;

/// Flags that keep each demo busy for many seconds, so a signal lands mid-run. Every demo in
/// the catalogue needs an entry: a new demo without one fails `every_demo_stops_on_ctrl_c`.
/// `Ok(None)`: the demo has no long run, and the reason why.
pub fn long_run(name: &str) -> Result<Option<&'static [&'static str]>, String> {
    Ok(Some(match name {
        "create_process" | "multiple_forks" | "create_thread" => &["--sleep", "30000"],
        // Its children print and exit in milliseconds; nothing in it waits.
        "fork_celsius" => return Ok(None),
        // They read /proc around one fork (and one exec); nothing in them waits long.
        "address_space" | "process_attrs" => return Ok(None),
        "spawn_cost" => &["--count", "1000000"],
        "sum_array" => &["2", "--len", "10000000", "--trials", "1000"],
        "cow_overhead" => &["--pages", "4096", "--trials", "1000"],
        "race_condition"
        | "race_condition_atomic"
        | "race_condition_atomic_assembly"
        | "race_condition_spinlock"
        | "race_condition_toctou"
        | "race_condition_mutex"
        | "coarse_granularity"
        | "fine_granularity" => &["--threads", "2", "--steps", "1000000", "--trials", "1000"],
        "deadlock" => &["--timeout", "0", "--sleep", "10"],
        "condition" => &["--notify-after", "60000"],
        "barrier" => &["--use-barrier", "--rounds", "100000"],
        "semaphore" => &["--rounds", "1000", "--hold", "1s"],
        "sleep_jitter" => &["--count", "100000", "--interval", "1ms"],
        "context_switch" | "nice_share" | "time_slice" => &["--seconds", "60"],
        "coop_sched" => &["--preemptive", "--steps", "1000", "--busy", "1s"],
        "goroutines" => &["--tasks", "1000000", "--block-ms", "10000"],
        "signals" => &["demo", "--gap", "1000"],
        "proc_watch" => &["--interval", "50ms", "--", "sleep", "60"],
        "lost_wakeup" => &["--bound", "60000"],
        // A simulation of milliseconds; Ctrl-C during --predict's wait is in sim.rs.
        "sched_sim" => return Ok(None),
        "reentrancy" => &["--calls", "100000000"],
        "thread_states" => &["--samples", "1000", "--interval", "1000"],
        "gil" => &[
            "--tasks", "2", "--work", "10000", "--waits", "10000", "--io", "100",
        ],
        other => return Err(format!("{other}: add flags for a long run to long_run()")),
    }))
}

#[test]
fn every_demo_refuses_bad_flags_with_exit_2() {
    for name in demos() {
        usage_error(name, &["--no-such-flag"], &["--no-such-flag"]);
        usage_error(
            name,
            &["--format", "xml"],
            &["--format", "text", "json", "csv"],
        );
        usage_error(name, &["--cpu", "9999"], &["--cpu", "9999"]);
    }
}

#[test]
fn every_demo_names_its_lecture_program_and_gives_an_example() {
    for demo in oslab::catalogue::DEMOS {
        check_help(demo.name, demo.lecture);
    }
}

/// The tour's flags, as JSON: one document with the run contract's fields, the verdict among
/// them, and the exit status the catalogue expects.
#[test]
fn every_demo_reports_one_json_document_with_its_verdict() {
    for d in oslab::catalogue::DEMOS {
        let doc = tour_json(d, &["--format", "json"]);
        let ctx = format!("{}: {doc:#}", d.name);
        assert_eq!(doc["demo"], d.name, "{ctx}");
        assert!(uint(&doc["schema_version"], "schema_version") >= 1, "{ctx}");
        assert!(doc["params"].get("cpu").is_some(), "params.cpu: {ctx}");
        // What was run: oslab's version and commit, when, the command line, the kernel's build.
        assert!(
            matches(
                r"^\d+\.\d+\.\d+ \(([0-9a-f]{12}(-dirty)?|unknown)\)$",
                doc["oslab"].as_str().unwrap()
            ),
            "oslab: {ctx}"
        );
        assert!(
            matches(
                r"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                doc["run_at"].as_str().unwrap()
            ),
            "run_at: {ctx}"
        );
        let argv = doc["argv"].as_array().unwrap();
        assert!(argv[0].as_str().unwrap().ends_with(d.name), "argv: {ctx}");
        assert!(
            argv.windows(2)
                .any(|w| w[0] == "--format" && w[1] == "json"),
            "argv: {ctx}"
        );
        assert!(
            doc["system"]["kernel_version"]
                .as_str()
                .is_some_and(|v| v.starts_with('#')),
            "{ctx}"
        );
        let verdict = &doc["verdict"];
        for key in ["claim", "because"] {
            assert!(
                verdict[key].as_str().is_some_and(|s| s.len() > 3),
                "verdict.{key}: {ctx}"
            );
        }
        assert!(
            matches!(verdict["held"], Value::Bool(_) | Value::Null),
            "verdict.held: {ctx}"
        );
        for key in ["headline", "lesson"] {
            assert!(
                doc[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key}: {ctx}"
            );
        }
        assert_eq!(doc["partial"], false, "{ctx}");
        assert!(doc["system"]["kernel"].is_string(), "{ctx}");
        assert!(doc["counters"]["minflt"].is_u64(), "{ctx}");
    }
}

/// The tour's flags, as text: the verdict, the lesson and the field's tool close the output,
/// in that order; `--quiet` drops them.
#[test]
fn every_demo_closes_its_text_with_verdict_lesson_and_compare() {
    for d in oslab::catalogue::DEMOS {
        let out = demo(d.name)
            .args(d.tour)
            .assert()
            .code(d.tour_exit)
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        let at = |prefix: &str| {
            text.lines()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{}: no {prefix:?} line:\n{text}", d.name))
        };
        let (verdict, lesson, compare) = (at("verdict: "), at("lesson: "), at("compare: "));
        assert!(verdict < lesson && lesson < compare, "{}:\n{text}", d.name);
        let line = text.lines().nth(verdict).unwrap_or_default();
        assert!(
            [
                "verdict: held — ",
                "verdict: did not hold — ",
                "verdict: could not be checked — "
            ]
            .iter()
            .any(|p| line.starts_with(p)),
            "{}: {line}",
            d.name
        );
        // Before the tour's flags: proc_watch's end with the command it runs, after `--`.
        let quiet = demo(d.name)
            .arg("--quiet")
            .args(d.tour)
            .assert()
            .code(d.tour_exit)
            .get_output()
            .clone();
        let quiet = String::from_utf8_lossy(&quiet.stdout);
        assert!(
            !quiet
                .lines()
                .any(|l| l.starts_with("verdict: ") || l.starts_with("lesson: ")),
            "{} --quiet:\n{quiet}",
            d.name
        );
    }
}

#[test]
fn every_demo_stops_on_ctrl_c_with_exit_130_and_leaves_nothing() {
    for name in demos() {
        let Some(args) = long_run(name).unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        let mut cmd = StdCommand::new(exe(name));
        cmd.args(args).stdin(Stdio::null());
        let (code, _, stderr) =
            signal_midway(&mut cmd, Signal::SIGINT, Duration::from_millis(300), |_| {});
        assert_eq!(code, Some(130), "{name} {args:?}: stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn out_of_range_numbers_are_usage_errors() {
    for name in race_family() {
        usage_error(name, &["--threads", "0"], &["--threads", "1 to 1024"]);
        usage_error(name, &["--threads", "100000"], &["--threads", "1 to 1024"]);
        usage_error(name, &["--steps", "-1"], &["--steps", "1 to 1000000000"]);
        usage_error(name, &["--trials", "0"], &["--trials", "1 to 1000"]);
    }
    let name = "race_condition";
    usage_error(name, &["--warmup", "1001"], &["--warmup", "0 to 1000"]);
    usage_error(name, &["--trials", "-3"], &["--trials", "1 to 1000"]);
}

#[test]
fn non_numbers_and_bad_choices_are_usage_errors() {
    for name in race_family() {
        usage_error(name, &["--steps", "abc"], &["--steps", "1 to 1000000000"]);
        usage_error(name, &["--threads", "2.5"], &["--threads", "1 to 1024"]);
        usage_error(
            name,
            &["--format", "xml"],
            &["--format", "text", "json", "csv"],
        );
    }
    usage_error(
        "race_condition_mutex",
        &["--lock", "futex"],
        &["--lock", "std"],
    );
}

#[test]
fn unknown_flags_are_usage_errors() {
    for name in race_family() {
        usage_error(name, &["--no-such-flag"], &["--no-such-flag"]);
        usage_error(name, &["extra"], &["extra"]);
    }
}

#[test]
fn unusable_cpus_are_usage_errors() {
    for name in race_family() {
        usage_error(name, &["--cpu", "9999"], &["--cpu", "9999"]);
        usage_error(name, &["--cpu", "1-0"], &["--cpu"]);
    }
    // A CPU that exists in a CpuSet but is outside our affinity mask.
    let usable = usable_cpus();
    let outside = (0..1024)
        .find(|c| !usable.contains(c))
        .expect("a CPU we may not use");
    usage_error(
        "race_condition",
        &["--cpu", &outside.to_string()],
        &["--cpu", "not usable"],
    );
}

#[test]
fn threads_times_steps_must_fit_in_an_int() {
    for name in race_family() {
        usage_error(
            name,
            &["--threads", "1024", "--steps", "1000000000"],
            &["--threads", "--steps", "32-bit int"],
        );
    }
    // One past i32::MAX: 3 × 715827883 = 2147483649.
    usage_error(
        "race_condition",
        &["--threads", "3", "--steps", "715827883"],
        &["2147483647", "32-bit int"],
    );
}

#[test]
fn help_names_the_lecture_program_and_an_example() {
    let programs = [
        ("race_condition", "race_condition.c"),
        ("race_condition_atomic", "race_condition_atomic_gcc.c"),
        (
            "race_condition_atomic_assembly",
            "race_condition_atomic_assembly.c",
        ),
        ("race_condition_spinlock", "race_condition_spinlock.c"),
        ("race_condition_toctou", "Synchronization Mistake – TOCTOU"),
        ("race_condition_mutex", "race_condition_mutex.c"),
        ("coarse_granularity", "granularity.c"),
        ("fine_granularity", "granularity.c"),
    ];
    for (name, program) in programs {
        demo(name)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains(program))
            .stdout(predicate::str::contains(format!("Example: {name} ")))
            .stdout(predicate::str::contains("[1-1024]"))
            .stdout(predicate::str::contains("[1-1000000000]"))
            .stderr(predicate::str::is_empty());
    }
}

/// The example each --help of the race family gives must itself run.
#[test]
fn help_examples_run() {
    for name in race_family() {
        let help = stdout_of(name, &["--help"]);
        let example = help
            .lines()
            .find_map(|l| l.strip_prefix("Example: "))
            .unwrap_or_else(|| panic!("{name}: no example"));
        let command = example.split("   ").next().expect("a command");
        let mut words = command.split_whitespace();
        assert_eq!(words.next(), Some(name), "{name}: {example}");
        let args: Vec<&str> = words.chain(["--quiet"]).collect();
        let out = stdout_of(name, &args);
        assert!(!lecture_lines(&out).is_empty(), "{name} {args:?}:\n{out}");
    }
}

/// `--version` and the usage line of the threads × steps error name the binary, not the crate.
#[test]
fn messages_name_the_binary() {
    for name in race_family() {
        demo(name)
            .arg("--version")
            .assert()
            .success()
            .stdout(predicate::str::starts_with(format!("{name} ")));
        demo(name)
            .args(["--threads", "1024", "--steps", "1000000000"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "Usage: {name} [OPTIONS]\n"
            )));
    }
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let mut child = StdCommand::new(exe("race_condition_mutex"))
        .args(["--trials", "20", "--steps", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("read a line");
    drop(reader); // like `| head -1`: the remaining trials write into a closed pipe
    assert!(is_lecture_line(first.trim_end()), "{first:?}");
    let status = wait_within(&mut child, TIMEOUT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(0), "{status}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Starts a long fine_granularity run in its own process group, waits until it has installed
/// its handler and has been working a little, sends `signal`, and returns (status, stdout,
/// stderr).
fn interrupt_long_run(signal: Signal, extra: &[&str]) -> (Option<i32>, String, String) {
    let args = [&["--threads", "4", "--steps", "20000000"], extra].concat();
    let run = Running::start("fine_granularity", &args, Stdio::null());
    wait_until("the demo catches the signal", || catches(run.pid, signal));
    assert!(
        children_of(std::process::id() as i32).contains(&run.pid),
        "children_of(test) should list the running demo {}",
        run.pid
    );
    run.interrupt(signal, Duration::from_millis(300));
    // The workers check for the signal every few thousand steps: the exit comes promptly; the
    // limit only stops a hang.
    let (status, stdout, stderr) = run.finish(Duration::from_secs(20));
    (status.code(), stdout, stderr)
}

#[test]
fn ctrl_c_stops_with_partial_results_and_exit_130() {
    let (code, stdout, stderr) = interrupt_long_run(Signal::SIGINT, &[]);
    assert_eq!(code, Some(130), "stderr:\n{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(stderr.contains("partial"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Whatever was measured is printed, and what was done under the lock is still exact.
    for line in lecture_lines(&stdout) {
        assert!(var_of(line) <= 80_000_000, "{stdout}");
    }
}

#[test]
fn ctrl_c_in_json_mode_marks_the_report_partial() {
    let (code, stdout, stderr) = interrupt_long_run(Signal::SIGINT, &["--format", "json"]);
    assert_eq!(code, Some(130), "stderr:\n{stderr}");
    let doc = parse_json("fine_granularity", &stdout);
    assert_eq!(doc["partial"], true, "{doc:#}");
    assert_eq!(doc["demo"], "fine_granularity");
    for t in doc["results"]["trials"].as_array().expect("trials") {
        // Stopped between chunks, under the lock: var is exactly the steps the threads did.
        assert_eq!(t["var"], t["expected"], "{doc:#}");
        let done: u64 = t["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .map(|w| uint(&w["steps"], "steps"))
            .sum();
        assert_eq!(uint(&t["expected"], "expected"), done, "{doc:#}");
    }
}

#[test]
fn sigterm_stops_with_exit_143() {
    let (code, _, stderr) = interrupt_long_run(Signal::SIGTERM, &["--quiet"]);
    assert_eq!(code, Some(143), "stderr:\n{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
}

#[test]
fn no_child_process_is_left_behind() {
    for name in race_family() {
        leaves_nothing_behind(name, &["--threads", "2", "--steps", "20000", "--quiet"]);
    }
}

/// `> /dev/full`: a write error other than a closed pipe is exit 1 naming it, in every format,
/// never a silent exit 0.
#[test]
fn every_demo_reports_a_full_disk_instead_of_losing_its_output() {
    for d in oslab::catalogue::DEMOS {
        for format in ["text", "json"] {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            let out = StdCommand::new(exe(d.name))
                .args(["--format", format])
                .args(d.tour)
                .stdin(Stdio::null())
                .stdout(full)
                .output()
                .expect("run");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{} --format {format}: {stderr}",
                d.name
            );
            assert!(
                stderr.contains(&format!(
                    "{}: error: writing the report: No space left on device",
                    d.name
                )),
                "{} --format {format}: {stderr}",
                d.name
            );
        }
    }
}

/// `timeout` signals a demo and then its whole group: the second signal must not cost the
/// partial report (it used to end the process at once).
#[test]
fn a_second_signal_keeps_the_partial_report() {
    let args = ["--threads", "2", "--steps", "1000000", "--trials", "1000"];
    let run = Running::start("race_condition_mutex", &args, Stdio::null());
    wait_until("the demo catches SIGTERM", || {
        catches(run.pid, Signal::SIGTERM)
    });
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..2 {
        // As `timeout` does: once to the demo, once to its group (the demo again).
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(run.pid), Signal::SIGTERM).expect("kill");
        std::thread::sleep(Duration::from_millis(2));
    }
    let (status, stdout, stderr) = run.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("results are partial"), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("verdict: ")),
        "{stdout}"
    );
}

/// A demo's command lines, from its `--help`: for the demo and each of its subcommands (`signals
/// demo`, `print`, `send`), the words before the flags, the long flags that take a value and
/// the first positional argument's name (`N`, `PID`).
struct Line {
    words: Vec<String>,
    flags: Vec<String>,
    /// For each flag: its value is free text (`--message TEXT`), which may start with `-`.
    free_text: Vec<bool>,
    positional: Option<String>,
}

fn command_lines(name: &str, words: &[String]) -> Vec<Line> {
    let help = stdout_of(
        name,
        &[
            &words.iter().map(String::as_str).collect::<Vec<_>>()[..],
            &["--help"],
        ]
        .concat(),
    );
    let (mut section, mut line) = (
        "",
        Line {
            words: words.to_vec(),
            flags: Vec::new(),
            free_text: Vec::new(),
            positional: None,
        },
    );
    let mut subcommands = Vec::new();
    for text in help.lines() {
        if text.trim().is_empty() {
            continue;
        }
        if !text.starts_with(' ') {
            section = text;
            continue;
        }
        let indent = text.len() - text.trim_start().len();
        let item = text.trim_start();
        match section {
            "Commands:" => {
                let sub = item.split_whitespace().next().unwrap_or("help");
                if sub != "help" {
                    subcommands.push(sub.to_string());
                }
            }
            "Arguments:" if indent == 2 && line.positional.is_none() => {
                let bare = item.trim_start_matches(['[', '<', '-', ' ']);
                let end = bare.find([']', '>']).unwrap_or(bare.len());
                line.positional = Some(bare[..end].to_string());
            }
            "Options:" if indent <= 6 => {
                // `-t, --threads <N>`: the long name.
                let long = match item.as_bytes() {
                    [b'-', _, b',', b' ', ..] => &item[4..],
                    _ => item,
                };
                if let Some((flag, _)) = long.split_once(" <") {
                    line.flags.push(flag.to_string());
                    line.free_text.push(true);
                }
            }
            // A range (`[1-1024]`, `[0-3600 s]`) or a list of choices: not free text.
            "Options:"
                if item.contains("[possible values")
                    || item.starts_with("Possible values")
                    || item.contains("usable CPUs")
                    || item.contains("e.g. 0, 0-1")
                    || item.rfind('[').is_some_and(|i| {
                        item[i + 1..].starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    }) =>
            {
                if let Some(last) = line.free_text.last_mut() {
                    *last = false;
                }
            }
            _ => {}
        }
    }
    let mut lines = vec![line];
    for sub in subcommands {
        let words: Vec<String> = words.iter().cloned().chain([sub]).collect();
        lines.extend(command_lines(name, &words));
    }
    lines
}

/// `name words args`: exit 2, stderr names `needle` and is not clap's "unexpected argument".
fn refused_naming(name: &str, words: &[String], args: &[&std::ffi::OsStr], needle: &str) {
    let out = demo(name)
        .args(words)
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(needle) && !stderr.contains("unexpected argument"),
        "{name} {words:?} {args:?}: stderr should name {needle}:\n{stderr}"
    );
}

/// `--cpu -1`, `--seconds -1`, `--gap -1`: a negative value is the flag's value, refused by its
/// range (or its parser) by name, never "unexpected argument '-1'". Every flag that takes a
/// value, and the first positional argument, of every demo and subcommand.
#[test]
fn every_demo_names_the_flag_a_negative_value_was_given_to() {
    let negative = std::ffi::OsStr::new("-99999999999");
    let mut checked = 0;
    for name in demos() {
        for line in command_lines(name, &[]) {
            let numeric: Vec<&String> = line
                .flags
                .iter()
                .zip(&line.free_text)
                .filter(|(_, free)| !**free)
                .map(|(flag, _)| flag)
                .collect();
            // --cpu and --format at least, in every command line: the parse of --help holds.
            for shared in ["--cpu", "--format"] {
                assert!(
                    numeric.iter().any(|f| *f == shared),
                    "{name} {:?}: {numeric:?} of {:?}",
                    line.words,
                    line.flags
                );
            }
            checked += numeric.len();
            for flag in numeric {
                refused_naming(
                    name,
                    &line.words,
                    &[std::ffi::OsStr::new(flag), negative],
                    flag,
                );
            }
            if let Some(positional) = &line.positional {
                refused_naming(name, &line.words, &[negative], positional);
            }
        }
    }
    assert!(
        checked > 80,
        "only {checked} flags found in the --help texts"
    );
}

/// A value that is not UTF-8 (`--cpu $'\xff'`) is refused naming the flag, or the positional
/// argument, it was given to.
#[test]
fn every_demo_names_the_flag_a_non_utf8_value_was_given_to() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    for name in demos() {
        for line in command_lines(name, &[]) {
            for flag in &line.flags {
                refused_naming(name, &line.words, &[std::ffi::OsStr::new(flag), bad], flag);
                let joined = [flag.as_bytes(), b"=\xff"].concat();
                refused_naming(
                    name,
                    &line.words,
                    &[std::ffi::OsStr::from_bytes(&joined)],
                    flag,
                );
            }
            if let Some(positional) = &line.positional {
                refused_naming(name, &line.words, &[bad], positional);
            }
        }
    }
}

/// One rule for a flag given twice, in every binary: the last one wins (`--quiet -q` is quiet,
/// `--format text --format json` is JSON).
#[test]
fn every_demo_takes_a_flag_given_twice() {
    for d in oslab::catalogue::DEMOS {
        let doc = tour_json(
            d,
            &["--quiet", "-q", "--format", "text", "--format", "json"],
        );
        assert_eq!(doc["demo"], d.name);
    }
}

/// The JSON document of `d`'s tour run with `flags` (which must ask for JSON), exiting as the
/// tour expects.
fn tour_json(d: &oslab::catalogue::Demo, flags: &[&str]) -> Value {
    let out = demo(d.name)
        .args(flags)
        .args(d.tour)
        .assert()
        .code(d.tour_exit)
        .get_output()
        .clone();
    parse_json(d.name, &String::from_utf8_lossy(&out.stdout))
}
