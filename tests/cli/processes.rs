//! The process and thread demos: fork_celsius, create_process, create_thread, multiple_forks.
//! Lecture lines by pattern, the exact conversions, exit codes, JSON and CSV, usage errors, a
//! child killed by a signal, Ctrl-C and SIGTERM, a fork that fails, and nothing left behind.
//!
//! Every demo runs in its own process group: whatever it creates stays in that group, even
//! when re-parented, so an empty group after the demo ends means nothing was left behind (the
//! tests run in parallel threads of one process, so "children of the test" would mix runs).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::thread;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::*;

/// One demo run, in its own process group.
struct Run {
    pid: i32,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Starts `name args` in its own process group, stdin empty, stdout and stderr read in full.
fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    start_program(&exe(name), args, env)
}

/// Starts any program as [`start`] starts a demo (a wrapper such as `setpriv` in front of one).
fn start_program(program: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    spawn_grouped(StdCommand::new(program).args(args), env)
}

/// Spawns `cmd` in its own process group, stdin empty, stdout and stderr piped.
fn spawn_grouped(cmd: &mut StdCommand, env: &[(&str, &str)]) -> std::process::Child {
    cmd.envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn")
}

/// Waits for a started demo (with the suite's timeout), checks it left nothing behind, and
/// returns its output.
fn finish(name: &str, mut child: std::process::Child) -> Run {
    let pid = child.id() as i32;
    let read = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).expect("read");
            s
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_within(&mut child, TIMEOUT);
    assert_nothing_left(name, pid);
    Run {
        pid,
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

fn run(name: &str, args: &[&str]) -> Run {
    finish(name, start(name, args, &[]))
}

/// Runs a demo that must succeed; returns (its PID, stdout).
fn ok(name: &str, args: &[&str]) -> (i32, String) {
    let r = run(name, args);
    assert_eq!(r.code, Some(0), "{name} {args:?}: stderr:\n{}", r.stderr);
    (r.pid, r.stdout)
}

/// Runs a demo with `--format json` that must succeed; returns (its PID, the document).
fn json(name: &str, args: &[&str]) -> (i32, Value) {
    let (pid, stdout) = ok(name, &[&["--format", "json"], args].concat());
    (pid, parse_json(name, &stdout))
}

fn assert_nothing_left(name: &str, pid: i32) {
    assert_eq!(
        group_members(pid),
        Vec::<i32>::new(),
        "{name}: processes left in its group"
    );
    assert_eq!(children_of(pid), Vec::<i32>::new(), "{name}: children left");
}

/// The report's common shape: demo, schema, params, results, counters, system, headline,
/// lesson, partial.
fn check_shape(name: &str, doc: &Value) {
    assert_eq!(doc["demo"], name, "{doc:#}");
    assert!(uint(&doc["schema_version"], "schema_version") >= 1);
    for key in ["params", "results", "counters", "system"] {
        assert!(doc[key].is_object(), "{name}: no object {key} in {doc:#}");
    }
    for key in ["headline", "lesson"] {
        assert!(
            doc[key].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: no {key} in {doc:#}"
        );
    }
    assert_eq!(doc["partial"], false, "{doc:#}");
}

fn check_lesson_and_compare(name: &str, stdout: &str) {
    for prefix in ["lesson: ", "compare: "] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(prefix) && l.len() > prefix.len() + 10),
            "{name}: no '{prefix}' line in\n{stdout}"
        );
    }
}

fn usage_error(name: &str, args: &[&str], needles: &[&str]) {
    let r = run(name, args);
    assert_eq!(r.code, Some(2), "{name} {args:?}: {}", r.stderr);
    for needle in needles {
        assert!(
            r.stderr.contains(needle),
            "{name} {args:?}: stderr should mention {needle:?}:\n{}",
            r.stderr
        );
    }
    assert!(r.stdout.is_empty(), "{name} {args:?}: stdout not empty");
}

/// The number after `key` in `line` (up to the next ';', ' ' or ')').
fn number_after(line: &str, key: &str) -> Option<i32> {
    let rest = &line[line.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

// ---------------------------------------------------------------------------------------------
// fork_celsius

/// A `%f F is %f C (pid %d)` line: (fahrenheit, celsius as printed, pid).
fn celsius_line(line: &str) -> Option<(String, String, i32)> {
    let (f, rest) = line.split_once(" F is ")?;
    let (c, rest) = rest.split_once(" C (pid ")?;
    let pid = rest.strip_suffix(')')?.parse().ok()?;
    let six = |s: &str| matches(r"^\d+\.\d{6}$", s);
    (six(f) && six(c)).then(|| (f.to_string(), c.to_string(), pid))
}

const CELSIUS_4: [(&str, &str); 4] = [
    ("110.000000", "43.333333"),
    ("120.000000", "48.888889"),
    ("130.000000", "54.444444"),
    ("140.000000", "60.000000"),
];

/// Checks fork_celsius 4's lecture lines: the four exact conversions, each from its own child,
/// and `Spawned 4 processes from PARENT`. Returns (the children's PIDs, PARENT).
fn check_celsius_4(stdout: &str) -> (Vec<i32>, i32) {
    let lines: Vec<(String, String, i32)> = stdout.lines().filter_map(celsius_line).collect();
    let mut pairs: Vec<(&str, &str)> = lines
        .iter()
        .map(|(f, c, _)| (f.as_str(), c.as_str()))
        .collect();
    pairs.sort();
    assert_eq!(pairs, CELSIUS_4, "{stdout}");
    let spawned: Vec<i32> = stdout
        .lines()
        .filter(|l| matches(r"^Spawned 4 processes from \d+$", l))
        .filter_map(|l| number_after(l, "from "))
        .collect();
    assert_eq!(spawned.len(), 1, "one Spawned line:\n{stdout}");
    let pids: BTreeSet<i32> = lines.iter().map(|l| l.2).collect();
    assert_eq!(pids.len(), 4, "four different children:\n{stdout}");
    assert!(!pids.contains(&spawned[0]), "{stdout}");
    // The lecture's lines come first, the analysis after them.
    let lecture = stdout
        .lines()
        .take_while(|l| celsius_line(l).is_some() || l.starts_with("Spawned "))
        .count();
    assert_eq!(lecture, 5, "five lecture lines first:\n{stdout}");
    (pids.into_iter().collect(), spawned[0])
}

#[test]
fn fork_celsius_4_prints_the_exact_conversions_and_reaps_every_child() {
    let (pid, stdout) = ok("fork_celsius", &["4"]);
    let (_, parent) = check_celsius_4(&stdout);
    assert_eq!(parent, pid, "the demo is the lecture's parent:\n{stdout}");
    assert!(
        stdout.contains(&format!("reaped: 4 exited with code 0 (wait4 by PID {pid}")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("lines: ")), "{stdout}");
    check_lesson_and_compare("fork_celsius", &stdout);

    // The default is the lecture's 4; --quiet keeps only the lecture's lines.
    let (_, stdout) = ok("fork_celsius", &["--quiet"]);
    check_celsius_4(&stdout);
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
}

#[test]
fn fork_celsius_no_wait_shows_who_adopts_the_orphans() {
    let (pid, stdout) = ok("fork_celsius", &["4", "--no-wait"]);
    let (_, parent) = check_celsius_4(&stdout);
    assert_ne!(parent, pid, "the lecture's parent is a process of its own");
    let want = format!("4 of its 4 children were then re-parented to PID {pid} (fork_celsius");
    assert!(stdout.contains(&want), "{want:?} in\n{stdout}");
    assert!(
        stdout.contains(&format!(
            "reaped: 4 of 4 orphans by PID {pid} (4 exited with code 0)"
        )),
        "{stdout}"
    );

    let (pid, doc) = json("fork_celsius", &["3", "--no-wait"]);
    check_shape("fork_celsius", &doc);
    let r = &doc["results"];
    assert_eq!(doc["params"]["adopter"], "demo");
    assert_eq!(int(&r["demo_pid"], "demo_pid"), i64::from(pid));
    assert_ne!(r["parent_pid"], r["demo_pid"]);
    let orphans = &r["orphans"];
    assert_eq!(int(&orphans["adopter_pid"], "adopter_pid"), i64::from(pid));
    assert_eq!(orphans["adopted"], 3, "{doc:#}");
    assert_eq!(orphans["reaped"], 3, "{doc:#}");
    assert_eq!(orphans["zombies"], 0, "{doc:#}");
    for c in r["children"].as_array().expect("children") {
        assert_eq!(int(&c["adopted_by"], "adopted_by"), i64::from(pid), "{c}");
        assert_eq!(int(&c["reaped_by"], "reaped_by"), i64::from(pid), "{c}");
        assert_eq!(c["exit_code"], 0, "{c}");
    }
}

/// `--adopter system`: the orphans go to PID 1. Run in a PID namespace of its own, whose PID 1
/// is a shell that reaps them, so that nothing is handed to the machine's own init.
#[test]
fn fork_celsius_no_wait_can_leave_the_orphans_to_init() {
    if !nix::unistd::geteuid().is_root() || !std::path::Path::new("/usr/bin/unshare").exists() {
        eprintln!("skipped: needs root and unshare for a PID namespace");
        return;
    }
    let script = r#""$0" 3 --no-wait --adopter system --format json; true"#;
    let args = [
        "--pid",
        "--fork",
        "--mount-proc",
        "sh",
        "-c",
        script,
        &exe("fork_celsius"),
    ];
    let r = finish("fork_celsius", start_program("unshare", &args, &[]));
    if r.code != Some(0) || r.stdout.is_empty() {
        eprintln!(
            "skipped: unshare could not make a PID namespace: {}",
            r.stderr
        );
        return;
    }
    let doc = parse_json("fork_celsius", &r.stdout);
    let orphans = &doc["results"]["orphans"];
    assert_eq!(orphans["adopter_pid"], 1, "{doc:#}");
    assert!(
        orphans["adopter"]
            .as_str()
            .is_some_and(|a| a.contains("init, PID 1")),
        "{doc:#}"
    );
    assert_eq!(orphans["adopted"], 3, "{doc:#}");
    assert_eq!(orphans["reaped"], 3, "{doc:#}");
    assert_eq!(orphans["zombies"], 0, "{doc:#}");
    for c in doc["results"]["children"].as_array().expect("children") {
        assert_eq!(c["adopted_by"], 1, "{c}");
        assert_eq!(c["exit_code"], Value::Null, "init reaped it, not us: {c}");
    }
}

/// `--adopter system`, stopped while it watches the orphans' adopter: the partial note says what
/// it saw (the orphans ended; how many their adopter had reaped), not that the demo killed and
/// reaped every child, which it did not: they were another process's to reap.
#[test]
fn fork_celsius_stopped_while_the_system_adopter_reaps_says_what_it_saw() {
    // An init that reaps at once leaves nothing to watch: the demo may end first; try again.
    for _ in 0..5 {
        let Some((code, stderr)) = stop_while_watching_the_adopter() else {
            continue;
        };
        assert_eq!(code, Some(130), "{stderr}");
        assert!(
            stderr.contains(
                "stopped by SIGINT after 3 of 3 children had printed their line; the orphans had ended"
            ),
            "{stderr}"
        );
        assert!(!stderr.contains("killed"), "nothing was killed: {stderr}");
        return;
    }
    eprintln!("skipped: the orphans' adopter reaped them before the demo could be stopped");
}

/// Runs `fork_celsius 3 --no-wait --adopter system` and sends SIGINT once all three orphans
/// have ended (the gate has opened: the demo is watching their adopter). Returns the exit code
/// and stderr, or None if the demo ended by itself first.
fn stop_while_watching_the_adopter() -> Option<(Option<i32>, String)> {
    let mut child = start(
        "fork_celsius",
        &["3", "--no-wait", "--adopter", "system"],
        &[],
    );
    let pid = child.id() as i32;
    let out = LineCollector::start(child.stdout.take().expect("stdout"));
    let err = LineCollector::start(child.stderr.take().expect("stderr"));
    // Each child's line names its PID.
    let orphans = || -> Vec<i32> {
        out.lines()
            .iter()
            .filter_map(|l| l.split("(pid ").nth(1)?.trim_end_matches(')').parse().ok())
            .collect()
    };
    let zombie = |p: &i32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|f| f.trim_start().starts_with('Z'))
        })
    };
    let mut ended_first = false;
    wait_until("the three orphans have ended", || {
        ended_first = child.try_wait().expect("waitpid").is_some();
        let o = orphans();
        ended_first || (o.len() == 3 && o.iter().all(zombie))
    });
    if !ended_first {
        kill(Pid::from_raw(pid), Signal::SIGINT).expect("kill");
    }
    let status = wait_within(&mut child, std::time::Duration::from_secs(20));
    let stderr = err.finish().join("\n");
    out.finish();
    (!ended_first && status.code() != Some(0)).then_some((status.code(), stderr))
}

#[test]
fn fork_celsius_json_and_csv_carry_every_child() {
    let (pid, doc) = json("fork_celsius", &["6"]);
    check_shape("fork_celsius", &doc);
    assert_eq!(doc["params"]["number"], 6);
    let children = doc["results"]["children"].as_array().expect("children");
    assert_eq!(children.len(), 6, "{doc:#}");
    let mut orders = BTreeSet::new();
    for (i, c) in children.iter().enumerate() {
        let index = uint(&c["index"], "index");
        assert_eq!(index, i as u64 + 1);
        let f = 100.0 + 10.0 * index as f64;
        assert_eq!(c["fahrenheit"].as_f64(), Some(f));
        let celsius = c["celsius"].as_f64().expect("celsius");
        assert!((celsius - (f - 32.0) * 5.0 / 9.0).abs() < 1e-9, "{c}");
        assert_eq!(c["exit_code"], 0, "{c}");
        assert_eq!(int(&c["reaped_by"], "reaped_by"), i64::from(pid));
        orders.insert(uint(&c["line_order"], "line_order"));
        assert!(uint(&c["line_ns"], "line_ns") >= uint(&c["started_ns"], "started_ns"));
    }
    assert_eq!(orders, (1..=6).collect(), "line_order is a permutation");

    let (_, csv) = ok("fork_celsius", &["3", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "a header and a row per child:\n{csv}");
    let header = csv_cells(lines[0]);
    for column in [
        "demo",
        "number",
        "index",
        "fahrenheit",
        "celsius",
        "pid",
        "line_order",
        "exit_code",
    ] {
        assert!(
            header.iter().any(|h| h == column),
            "no {column} in {header:?}"
        );
    }
    for row in &lines[1..] {
        let cells = csv_cells(row);
        assert_eq!(cells.len(), header.len(), "{row}");
        assert_eq!(cells[0], "fork_celsius");
    }
}

#[test]
fn fork_celsius_rejects_bad_counts() {
    for bad in ["-1", "0", "1000000", "abc"] {
        usage_error("fork_celsius", &[bad], &["1 to 4096"]);
    }
    usage_error("fork_celsius", &["--adopter", "system"], &["--no-wait"]);
    usage_error(
        "fork_celsius",
        &["--no-wait", "--adopter", "init"],
        &["--adopter"],
    );
}

/// Beyond RLIMIT_NPROC: a clear error (exit 1) naming the limit, before any fork. Needs root to
/// run the demo as another user, for whom the limit is enforced.
#[test]
fn fork_celsius_checks_the_process_limit_first() {
    let Some(mut cmd) = as_nobody("fork_celsius", &["prlimit", "--nproc=3"]) else {
        return;
    };
    cmd.arg("50");
    let Run {
        code,
        stdout,
        stderr,
        ..
    } = finish("fork_celsius", spawn_grouped(&mut cmd, &[]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.starts_with("fork_celsius: error: 50 new processes do not fit"),
        "{stderr}"
    );
    assert!(stderr.contains("RLIMIT_NPROC"), "{stderr}");
    assert!(
        stdout.is_empty(),
        "nothing forked, nothing printed: {stdout}"
    );
}

/// A preloaded `fork` that fails with EAGAIN on its Nth call (FAIL_FORK_AT=N) in each process,
/// built once with the system's C compiler; None without one.
fn failing_fork() -> Option<&'static PathBuf> {
    static SHIM: OnceLock<Option<PathBuf>> = OnceLock::new();
    SHIM.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let source = dir.join("failing_fork.c");
        let library = dir.join("failing_fork.so");
        std::fs::write(
            &source,
            r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
static int calls;
pid_t fork(void) {
    static pid_t (*real)(void);
    const char *at = getenv("FAIL_FORK_AT");
    if (at && ++calls == atoi(at)) { errno = EAGAIN; return -1; }
    if (!real) real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
    return real();
}
"#,
        )
        .ok()?;
        let built = StdCommand::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&library)
            .arg(&source)
            .arg("-ldl")
            .status()
            .ok()?;
        built.success().then_some(library)
    })
    .as_ref()
}

#[test]
fn a_fork_failing_midway_stops_reaps_and_reports_errno() {
    let Some(shim) = failing_fork() else {
        eprintln!("skipped: no C compiler to build the failing fork");
        return;
    };
    let shim = shim.to_str().expect("UTF-8 path");
    let env = [("LD_PRELOAD", shim), ("FAIL_FORK_AT", "3")];

    let r = finish("fork_celsius", start("fork_celsius", &["5"], &env));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("could not fork child 3 of 5; 2 children already forked: reaped"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("EAGAIN"), "{}", r.stderr);
    let lines: Vec<_> = r.stdout.lines().filter_map(celsius_line).collect();
    assert_eq!(
        lines.len(),
        2,
        "the two children forked printed:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Spawned"), "{}", r.stdout);

    let r = finish(
        "fork_celsius",
        start("fork_celsius", &["5", "--no-wait"], &env),
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("EAGAIN"), "{}", r.stderr);

    let env = [("LD_PRELOAD", shim), ("FAIL_FORK_AT", "2")];
    let r = finish(
        "multiple_forks",
        start("multiple_forks", &["--sleep", "0"], &env),
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("could not fork at the second fork"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("EAGAIN"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// create_process

#[test]
fn create_process_with_no_mode_prints_create_process_py_lines() {
    let (pid, stdout) = ok("create_process", &["--sleep", "10"]);
    let lecture: Vec<&str> = stdout.lines().take(5).collect();
    let patterns = [
        r"^\[parent\] PID = \d+$",
        r"^\[parent\] Before starting, child PID = None$",
        r"^\[parent\] After starting, child PID = \d+$",
        r"^\[child\] PID = \d+; PPID = \d+$",
        r"^\[child\] Message from parent: OS Rullz!$",
    ];
    for (line, pattern) in lecture.iter().zip(patterns) {
        assert!(
            matches(pattern, line),
            "{line:?} is not {pattern}:\n{stdout}"
        );
    }
    assert_eq!(number_after(lecture[0], "[parent] PID = "), Some(pid));
    let child = number_after(lecture[2], "child PID = ").expect("child PID");
    assert_eq!(lecture[3], format!("[child] PID = {child}; PPID = {pid}"));
    assert!(stdout.contains("verdict: held"), "{stdout}");
    check_lesson_and_compare("create_process", &stdout);

    let (_, doc) = json("create_process", &["--sleep", "0"]);
    assert_eq!(doc["params"]["mode"], "python", "{doc:#}");
    assert_eq!(doc["params"]["message"], "OS Rullz!", "{doc:#}");
    assert_eq!(doc["results"]["exit_code"], 0, "{doc:#}");
    assert_eq!(doc["results"]["child_ppid"], doc["results"]["parent_pid"]);
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    let (_, stdout) = ok("create_process", &["--sleep", "0", "--message", "hi"]);
    assert!(
        stdout.contains("[child] Message from parent: hi\n"),
        "{stdout}"
    );
}

#[test]
fn create_process_fork_prints_the_lecture_lines_and_exit_code_42() {
    let (pid, stdout) = ok(
        "create_process",
        &["fork", "--sleep", "10", "--message", "OS Rullz!"],
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in\n{stdout}"))
    };
    let parent = line("[parent] PID = ");
    assert!(matches(
        r"^\[parent\] PID = \d+; child PID = \d+; Waiting\.\.\.$",
        parent
    ));
    assert_eq!(number_after(parent, "[parent] PID = "), Some(pid));
    let child_pid = number_after(parent, "child PID = ").expect("child PID");
    assert_eq!(
        line("[child] PID = "),
        format!("[child] PID = {child_pid}; PPID = {pid}")
    );
    assert_eq!(
        line("[child] Message"),
        "[child] Message from parent: OS Rullz!"
    );
    assert_eq!(line("[parent] Child"), "[parent] Child exited with code 42");
    assert!(stdout.contains("status word 0x2a00"), "{stdout}");
    check_lesson_and_compare("create_process", &stdout);

    let (_, doc) = json("create_process", &["fork", "--sleep", "0"]);
    check_shape("create_process", &doc);
    let r = &doc["results"];
    assert_eq!(r["exit_code"], 42, "{doc:#}");
    assert_eq!(r["exit_signal"], Value::Null);
    assert_eq!(r["status_word"], 42 << 8);
    assert!(r["usage"]["minflt"].as_u64().is_some(), "{doc:#}");
    assert_eq!(doc["params"]["mode"], "fork");

    let (_, csv) = ok(
        "create_process",
        &["fork", "--sleep", "0", "--format", "csv"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let header = csv_cells(lines[0]);
    let row = csv_cells(lines[1]);
    let col = |h: &str| header.iter().position(|c| c == h).expect(h);
    assert_eq!(row[col("exit_code")], "42", "{csv}");
    assert_eq!(row[col("mode")], "fork", "{csv}");
}

#[test]
fn create_process_exec_runs_the_command_in_the_child() {
    let (pid, stdout) = ok("create_process", &["exec"]);
    assert!(stdout.contains("[child] Executing `ls -la`..."), "{stdout}");
    assert!(
        stdout.contains("[parent] Child exited with code 0"),
        "{stdout}"
    );
    let child_pid = stdout
        .lines()
        .find_map(|l| number_after(l, "; child PID = "))
        .expect("the parent line");
    assert!(
        stdout.contains(&format!("[child] PID = {child_pid}; PPID = {pid}")),
        "{stdout}"
    );

    let (_, stdout) = ok("create_process", &["exec", "--", "sh", "-c", "exit 3"]);
    assert!(
        stdout.contains("[parent] Child exited with code 3"),
        "{stdout}"
    );
    assert!(stdout.contains("status word 0x0300"), "{stdout}");
}

#[test]
fn create_process_reports_a_child_killed_by_a_signal() {
    let kill_self = ["exec", "--", "sh", "-c", "kill -9 $$"];
    let (_, stdout) = ok("create_process", &kill_self);
    assert!(
        stdout.contains("[parent] Child killed by signal 9 (SIGKILL)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("WIFSIGNALED, WTERMSIG = 9 (SIGKILL)"),
        "{stdout}"
    );

    let (_, doc) = json("create_process", &kill_self);
    assert_eq!(doc["results"]["exit_signal"], 9, "{doc:#}");
    assert_eq!(doc["results"]["exit_code"], Value::Null, "{doc:#}");
    assert_eq!(doc["results"]["status_word"], 9, "{doc:#}");
}

#[test]
fn a_command_that_cannot_run_is_a_clear_error() {
    for mode in ["exec", "spawn"] {
        let r = run("create_process", &[mode, "--", "/no/such"]);
        assert_eq!(r.code, Some(1), "{mode}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("create_process: error: "),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("/no/such"), "{}", r.stderr);
        assert!(r.stderr.contains("ENOENT"), "{}", r.stderr);
        assert!(!r.stdout.contains("Child exited"), "{}", r.stdout);
    }
    let r = run("create_process", &["exec", "--", "/no/such"]);
    assert!(r.stderr.contains("execvp failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("exited with 127 and was reaped"),
        "{}",
        r.stderr
    );
}

#[test]
fn create_process_spawn_uses_posix_spawn_and_feeds_the_message_to_stdin() {
    let (pid, stdout) = ok(
        "create_process",
        &["spawn", "--message", "hello", "--", "cat"],
    );
    assert!(stdout.contains("hello"), "{stdout}");
    assert!(
        stdout.contains(&format!("[parent] PID = {pid}; child PID = ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("[parent] Child exited with code 0"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("[child]"),
        "no code of ours runs in the child:\n{stdout}"
    );

    // JSON mode: the command's output goes to stderr, stdout stays one document.
    let r = run(
        "create_process",
        &[
            "spawn",
            "--message",
            "hello",
            "--format",
            "json",
            "--",
            "cat",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let doc = parse_json("create_process", &r.stdout);
    assert_eq!(doc["params"]["mode"], "spawn");
    assert_eq!(doc["results"]["exit_code"], 0);
    assert!(r.stderr.contains("hello"), "{}", r.stderr);

    let (_, doc) = json("create_process", &["exec"]);
    assert_eq!(doc["params"]["command"], serde_json::json!(["ls", "-la"]));
}

#[test]
fn create_process_usage_errors() {
    usage_error(
        "create_process",
        &["--sleep", "-1"],
        &["--sleep", "from 0 to 1m"],
    );
    usage_error(
        "create_process",
        &["--sleep", "60001"],
        &["--sleep", "from 0 to 1m"],
    );
    usage_error(
        "create_process",
        &["clone"],
        &["python", "fork", "exec", "spawn"],
    );
    usage_error("create_process", &["fork", "--", "ls"], &["exec and spawn"]);
    usage_error("create_process", &["--", "ls"], &["python runs this"]);
    // --sleep is the forked child's sleep: in exec and spawn nothing of ours sleeps.
    for mode in ["exec", "spawn"] {
        usage_error(
            "create_process",
            &[mode, "--sleep", "10"],
            &["--sleep is for modes python and fork only", mode],
        );
    }
    usage_error("create_process", &["--no-such-flag"], &["--no-such-flag"]);
}

/// Starts a demo that runs long, waits until it catches `signal` and `ready(pid)` holds (its
/// children or threads exist), signals it (or its whole group, as Ctrl-C in a terminal does),
/// and returns the run.
fn signal_long_run(
    name: &str,
    args: &[&str],
    signal: Signal,
    group: bool,
    ready: impl Fn(i32) -> bool,
) -> Run {
    let child = start(name, args, &[]);
    let pid = child.id() as i32;
    wait_until("the demo catches the signal", || catches(pid, signal));
    wait_until("the demo is under way", || ready(pid));
    let target = if group { -pid } else { pid };
    kill(Pid::from_raw(target), signal).expect("kill");
    finish(name, child)
}

/// More than `n` processes in the group of `pid`.
fn more_than(n: usize) -> impl Fn(i32) -> bool {
    move |pid| group_members(pid).len() > n
}

#[test]
fn sigterm_and_ctrl_c_kill_and_reap_the_children() {
    let r = signal_long_run(
        "create_process",
        &["--sleep", "30000"],
        Signal::SIGTERM,
        false,
        more_than(1),
    );
    assert_eq!(r.code, Some(143), "{}", r.stderr);
    assert!(r.stderr.contains("stopped by SIGTERM"), "{}", r.stderr);

    let r = signal_long_run(
        "create_process",
        &["exec", "--format", "json", "--", "sleep", "30"],
        Signal::SIGINT,
        true,
        more_than(1),
    );
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert_eq!(parse_json("create_process", &r.stdout)["partial"], true);

    let r = signal_long_run(
        "multiple_forks",
        &["--sleep", "30000"],
        Signal::SIGINT,
        true,
        more_than(7),
    );
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(
        r.stderr.contains("every process was killed and reaped"),
        "{}",
        r.stderr
    );

    let r = signal_long_run(
        "multiple_forks",
        &["--sleep", "30000", "--format", "json"],
        Signal::SIGTERM,
        false,
        more_than(7),
    );
    assert_eq!(r.code, Some(143), "{}", r.stderr);
    assert_eq!(parse_json("multiple_forks", &r.stdout)["partial"], true);

    let r = signal_long_run(
        "create_thread",
        &["--sleep", "30000"],
        Signal::SIGINT,
        true,
        |pid| std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count()) > 1,
    );
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(
        r.stdout.contains("[thread] Message from main thread"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// create_thread

#[test]
fn create_thread_shares_the_pid_and_the_memory() {
    let me = std::process::id() as i32;
    let (pid, stdout) = ok("create_thread", &["--sleep", "10"]);
    let lines: Vec<&str> = stdout.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            format!("[main] PID = {pid}; PPID = {me}"),
            format!("[thread] PID = {pid}; PPID = {me}"),
            "[thread] Message from main thread: SO Rullz!".to_string(),
        ],
        "{stdout}"
    );
    assert!(stdout.contains("one address space"), "{stdout}");
    assert!(stdout.contains("but its parent still read 0"), "{stdout}");
    check_lesson_and_compare("create_thread", &stdout);

    let (pid, doc) = json("create_thread", &["--sleep", "0", "--message", "OS Rullz!"]);
    check_shape("create_thread", &doc);
    assert_eq!(doc["params"]["message"], "OS Rullz!");
    let r = &doc["results"];
    let t = &r["thread"];
    assert_eq!(int(&r["pid"], "pid"), i64::from(pid));
    assert_eq!(t["pid"], r["pid"], "the thread is in the same process");
    assert_eq!(t["ppid"], r["ppid"]);
    assert_ne!(t["tid"], r["main_tid"], "but it is another task");
    assert_eq!(r["main_tid"], r["pid"], "main's TID is the PID");
    assert_eq!(r["main_read"], t["wrote"], "main sees the thread's write");
    let tasks = t["tasks"].as_array().expect("tasks");
    assert!(
        tasks.contains(&t["tid"]) && tasks.contains(&r["main_tid"]),
        "{doc:#}"
    );
    let f = &r["fork"];
    assert_eq!(
        f["child_read"], f["child_pid"],
        "the child sees its own write"
    );
    assert_eq!(f["parent_read"], 0, "the parent does not: {doc:#}");

    // Tidy: the list of the process's tasks the thread saw is a row per task (main, thread).
    let (_, csv) = ok("create_thread", &["--sleep", "0", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    usage_error(
        "create_thread",
        &["--sleep", "100000"],
        &["--sleep", "from 0 to 1m"],
    );
}

// ---------------------------------------------------------------------------------------------
// multiple_forks

/// The lecture lines of multiple_forks: every process's `After ... fork` lines, and the
/// `[child]`/`[parent]` lines after the third fork. Checks the counts and that the PIDs and
/// PPIDs form one tree rooted at `top`; returns each process's parent.
fn check_eight(stdout: &str, top: i32) -> BTreeMap<i32, i32> {
    // The two numbers of a line: `... = A; ... = B...`.
    let ids = |prefix: &str| -> Vec<(i32, i32)> {
        stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                assert!(matches(r"PID = \d+; (PPID|child PID) = \d+", l), "{l}");
                let n: Vec<i32> = l
                    .split("= ")
                    .skip(1)
                    .filter_map(|part| number_after(part, ""))
                    .collect();
                (n[0], n[1])
            })
            .collect()
    };
    let first = ids("After first fork: ");
    let second = ids("After second fork: ");
    let children = ids("[child] ");
    let parents = ids("[parent] ");
    assert_eq!(
        (first.len(), second.len(), children.len(), parents.len()),
        (2, 4, 4, 4),
        "{stdout}"
    );
    let mut parent_of: BTreeMap<i32, i32> = BTreeMap::new();
    for &(pid, ppid) in first.iter().chain(&second).chain(&children) {
        if pid != top {
            assert_eq!(*parent_of.entry(pid).or_insert(ppid), ppid, "{stdout}");
        }
    }
    // [parent] PID = p; child PID = c  <=>  [child] PID = c; PPID = p
    for &(pid, child) in &parents {
        assert!(
            children.contains(&(child, pid)),
            "{pid} → {child}:\n{stdout}"
        );
    }
    assert_eq!(
        parent_of.len(),
        7,
        "seven processes below the top:\n{stdout}"
    );
    for (&pid, &ppid) in &parent_of {
        let mut up = ppid;
        for _ in 0..3 {
            if up == top {
                break;
            }
            up = parent_of
                .get(&up)
                .copied()
                .unwrap_or_else(|| panic!("{pid}: orphan line"));
        }
        assert_eq!(up, top, "{pid} does not descend from {top}:\n{stdout}");
    }
    parent_of
}

#[test]
fn multiple_forks_makes_eight_processes_in_a_tree() {
    let (top, stdout) = ok("multiple_forks", &["--sleep", "10"]);
    check_eight(&stdout, top);
    assert!(
        stdout.contains("processes: 8 after 3 forks: 1 → 2 → 4 → 8"),
        "{stdout}"
    );
    let tree: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("tree, read from /proc"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(
        tree.len(),
        4,
        "the lecture's tree has four lines:\n{stdout}"
    );
    assert!(
        tree[0].starts_with(&format!("  multiple_forks({top})─┬─")),
        "{stdout}"
    );
    assert_eq!(
        tree.concat().matches("multiple_forks(").count(),
        8,
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "reaped: 7 processes, each by the process that forked it (wait4); 7 exited with code 0"
        ),
        "{stdout}"
    );
    check_lesson_and_compare("multiple_forks", &stdout);
}

#[test]
fn multiple_forks_json_csv_and_pause() {
    let (top, doc) = json("multiple_forks", &["--sleep", "0"]);
    check_shape("multiple_forks", &doc);
    let r = &doc["results"];
    assert_eq!(int(&r["top_pid"], "top_pid"), i64::from(top));
    assert_eq!(r["processes"], 8);
    assert_eq!(r["per_fork"], serde_json::json!([2, 4, 8]));
    assert_eq!(r["reaped_by_own_parent"], true, "{doc:#}");
    let procs = r["tree_processes"].as_array().expect("tree_processes");
    assert_eq!(procs.len(), 8);
    let born: Vec<u64> = procs
        .iter()
        .map(|p| uint(&p["born_at_fork"], "born"))
        .collect();
    for (fork, count) in [(0, 1), (1, 1), (2, 2), (3, 4)] {
        assert_eq!(
            born.iter().filter(|&&b| b == fork).count(),
            count,
            "{doc:#}"
        );
    }
    for p in procs.iter().filter(|p| p["pid"] != r["top_pid"]) {
        assert_eq!(p["reaped_by"], p["ppid"], "{p}");
        assert_eq!(p["exit_code"], 0, "{p}");
    }
    assert_eq!(r["tree"].as_str().expect("tree").lines().count(), 4);

    // Tidy: a row per child of each process (3 + 2 + 1 + 1), and one for each of the four
    // childless processes.
    let (_, csv) = ok("multiple_forks", &["--sleep", "0", "--format", "csv"]);
    assert_eq!(
        csv.lines().count(),
        12,
        "a header and a row per child of each process:\n{csv}"
    );

    // --pause: the top process alone stops three times (an empty stdin counts as ENTER).
    let r = run("multiple_forks", &["--sleep", "0", "--pause", "--quiet"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check_eight(&r.stdout, r.pid);
    assert_eq!(
        r.stderr.matches("-- Press ENTER to continue ...").count(),
        3,
        "{}",
        r.stderr
    );
    for what in [
        " * first fork(): 2 processes",
        " * second fork(): 4",
        " * third fork(): 8",
    ] {
        assert!(r.stderr.contains(what), "{what:?} in\n{}", r.stderr);
    }
    assert!(
        r.stderr.contains(&format!("pstree -p {}", r.pid)),
        "{}",
        r.stderr
    );
    usage_error(
        "multiple_forks",
        &["--sleep", "x"],
        &["--sleep", "from 0 to 1m"],
    );
}

// ---------------------------------------------------------------------------------------------
// all four

#[test]
fn help_names_the_lecture_program_and_its_example_runs() {
    for (name, program) in [
        ("fork_celsius", "thread_celsius.c"),
        ("create_process", "fork.c"),
        ("create_thread", "create_thread.c"),
        ("multiple_forks", "multiple_forks.c"),
    ] {
        let help = stdout_of(name, &["--help"]);
        assert!(help.contains(program), "{name}: {help}");
        let example = help
            .lines()
            .find_map(|l| l.strip_prefix("Example: "))
            .unwrap_or_else(|| panic!("{name}: no example in {help}"));
        let words: Vec<String> = example
            .split_whitespace()
            .map(|w| w.trim_matches('\'').to_string())
            .collect();
        assert_eq!(words[0], name);
        // Quoted words ('OS Rullz!') are passed as one argument.
        let joined = example.split_once(' ').map_or("", |x| x.1);
        let mut args: Vec<String> = Vec::new();
        for (i, part) in joined.split('\'').enumerate() {
            if i % 2 == 1 {
                args.push(part.to_string());
            } else {
                args.extend(part.split_whitespace().map(str::to_string));
            }
        }
        args.push("--quiet".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_, out) = ok(name, &args);
        assert!(!out.is_empty(), "{name} {args:?}");
        demo(name)
            .arg("--version")
            .assert()
            .success()
            .stdout(predicates::str::starts_with(format!("{name} ")));
    }
}

#[test]
fn the_docs_document_the_csv_columns_exactly() {
    let output = project_file("docs/output.md");
    for (name, args) in [
        ("create_process", &["--sleep", "0"][..]),
        ("fork_celsius", &["2"][..]),
        ("multiple_forks", &["--sleep", "0"][..]),
        ("create_thread", &["--sleep", "0"][..]),
    ] {
        let documented = output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("docs/output.md shows {name}'s CSV header"))
            .trim();
        let (_, csv) = ok(name, &[args, &["--format", "csv"]].concat());
        assert_eq!(csv.lines().next(), Some(documented), "{name}'s CSV header");
    }
}
