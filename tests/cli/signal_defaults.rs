//! `signals defaults`: each signal's default action by waitpid's status, by value; the handler
//! catches all but KILL; the children reaped; no core file left behind; the printer's `kill -1`.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::*;

/// True when a core can land in the child's directory: core_pattern is a relative name and the
/// hard RLIMIT_CORE is not 0.
fn cores_land_in_the_childs_directory() -> bool {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).expect("limit");
    let relative = !pattern.starts_with('|') && !pattern.starts_with('/');
    if !relative || hard == 0 {
        eprintln!("skipped the core file checks: core_pattern {pattern:?}, hard limit {hard}");
    }
    relative && hard != 0
}

/// A fresh, empty directory to run the demo in.
fn empty_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oslab-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn run_in(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = demo("signals")
        .current_dir(dir)
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    parse_json("signals", &String::from_utf8(out.stdout).expect("UTF-8"))
}

#[test]
fn each_signal_does_its_default_action_and_a_handler_catches_all_but_kill() {
    let dir = empty_dir("defaults");
    let doc = run_in(&dir, &["defaults"]);
    let cores = cores_land_in_the_childs_directory();
    let signals = doc["results"]["signals"].as_array().expect("signals");
    let numbers: Vec<u64> = signals
        .iter()
        .map(|s| uint(&s["number"], "number"))
        .collect();
    assert_eq!(numbers, [1, 2, 3, 6, 9, 14, 15]);
    for s in signals {
        let n = int(&s["number"], "number");
        let core = n == 3 || n == 6;
        // WIFSIGNALED, WTERMSIG == N; WCOREDUMP for QUIT and ABRT only.
        assert_eq!(s["default"]["how"], "terminated", "{s}");
        assert_eq!(int(&s["default"]["signal"], "signal"), n, "{s}");
        if cores || !core {
            assert_eq!(s["default"]["core_dumped"], core, "{s}");
        }
        if core && cores {
            assert_eq!(s["core"]["where"], "written", "{s}");
            assert!(uint(&s["core"]["bytes"], "bytes") > 0, "{s}");
        }
        if n == 9 {
            assert_eq!(s["sigaction_error"], "EINVAL", "{s}");
            assert_eq!(s["with_handler"]["how"], "terminated", "{s}");
            assert_eq!(int(&s["with_handler"]["signal"], "signal"), 9, "{s}");
        } else {
            // The handler ran: the child exited by itself with the signal's number.
            assert_eq!(s["sigaction_error"], serde_json::Value::Null, "{s}");
            assert_eq!(s["with_handler"]["how"], "exited", "{s}");
            assert_eq!(int(&s["with_handler"]["code"], "code"), n, "{s}");
        }
        // Reaped: the PID no longer exists (not even as a zombie).
        let pid = Pid::from_raw(int(&s["pid"], "pid") as i32);
        assert_eq!(kill(pid, None), Err(nix::errno::Errno::ESRCH), "{s}");
    }
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    // No core file in the directory it ran in, nor its scratch directory left.
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").flatten().collect();
    assert!(left.is_empty(), "left in the cwd: {left:?}");
    let scratch = doc["results"]["dir"].as_str().expect("dir");
    assert!(!std::path::Path::new(scratch).exists(), "{scratch} left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_no_core_limit_quit_and_abort_terminate_without_a_core() {
    let dir = empty_dir("nocore");
    let doc = run_in(&dir, &["defaults", "--core-limit", "0"]);
    for s in doc["results"]["signals"].as_array().expect("signals") {
        if !doc["results"]["core_pattern"]
            .as_str()
            .unwrap_or("")
            .starts_with('|')
        {
            assert_eq!(s["default"]["core_dumped"], false, "{s}");
        }
    }
    assert_eq!(doc["verdict"]["held"], true, "{doc:#}");
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_table_has_the_seeds_rows_and_the_kill_to_type() {
    let dir = empty_dir("table");
    let out = demo("signals")
        .current_dir(&dir)
        .arg("defaults")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        matches(
            r"^ +signal +default action \(waitpid\) +caught by a handler\? +try it$",
            lines[0]
        ),
        "{text}"
    );
    assert!(
        matches(
            r"^1 +HUP \(hang up\) +terminated +yes +kill -1 \d+$",
            lines[1]
        ),
        "{text}"
    );
    assert!(
        matches(r"^3 +QUIT \(quit\) +(core dumped|terminated)", lines[3]),
        "{text}"
    );
    assert!(
        matches(
            r"^9 +KILL \(non-catchable, non-ignorable kill\) +terminated +no: sigaction EINVAL; terminated +kill -9 \d+$",
            lines[5]
        ),
        "{text}"
    );
    assert!(
        matches(
            r"^15 +TERM \(software termination signal\) +terminated +yes +kill -15 \d+$",
            lines[7]
        ),
        "{text}"
    );
    assert!(text.contains("\nverdict: held"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
    leaves_nothing_behind("signals", &["defaults", "--core-limit", "0"]);
}

#[test]
fn csv_has_a_row_per_signal() {
    let csv = stdout_of(
        "signals",
        &["defaults", "--core-limit", "0", "--format", "csv"],
    );
    let t = CsvTable::parse("signals", &csv, 7, "demo,mode,core_limit_kib,");
    let (name, caught) = (t.col("name"), t.col("caught"));
    let yes: Vec<&str> = t
        .rows
        .iter()
        .filter(|r| r[caught] == "true")
        .map(|r| r[name].as_str())
        .collect();
    assert_eq!(yes, ["HUP", "INT", "QUIT", "ABRT", "ALRM", "TERM"]);
    usage_error(
        "signals",
        &["defaults", "--core-limit", "-1"],
        &["--core-limit"],
    );
}

#[test]
fn the_printer_says_kill_dash_1_and_prints_g_for_it() {
    let printer = Running::start("signals", &["print"], Stdio::null());
    let pid = printer.pid;
    wait_until("the printer handles SIGHUP", || {
        catches(pid, Signal::SIGHUP)
    });
    kill(Pid::from_raw(pid), Signal::SIGHUP).expect("kill -1");
    std::thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("kill");
    let (status, out, err) = printer.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
    assert!(err.contains(&format!("kill -1 {pid}")), "{err}");
    assert!(
        out.starts_with("g\n"),
        "the letter of SIGHUP, then the analysis: {out}"
    );
}
