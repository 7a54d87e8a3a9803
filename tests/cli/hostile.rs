//! A hostile user's runs over the whole catalogue: signals twice (as `timeout` sends them),
//! limits the machine refuses. No run may end in a Rust backtrace or a lost report.

use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::common::*;
use crate::usage::long_run;

/// `timeout` sends SIGTERM to the demo, then to its whole group: the second signal, arriving
/// while the first is being handled, must not cost the partial report (only a third ends at
/// once). Every demo with a long run: exit 143, the partial notice, the verdict line.
#[test]
fn every_demo_keeps_its_partial_report_through_a_second_signal() {
    for name in demos() {
        let Some(args) = long_run(name).unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        let mut cmd = StdCommand::new(exe(name));
        cmd.args(args).stdin(Stdio::null());
        let twice = |pid| {
            kill(Pid::from_raw(pid), Signal::SIGTERM).expect("kill");
            std::thread::sleep(Duration::from_millis(2));
            killpg(Pid::from_raw(pid), Signal::SIGTERM).expect("killpg");
        };
        let (code, stdout, stderr) = signal_midway_as(
            &mut cmd,
            Signal::SIGTERM,
            Duration::from_millis(300),
            |_| {},
            twice,
        );
        assert_eq!(code, Some(143), "{name} {args:?}: stderr:\n{stderr}");
        assert!(
            stderr.contains("results are partial"),
            "{name} {args:?}: stderr:\n{stderr}"
        );
        assert!(
            stdout.lines().any(|l| l.starts_with("verdict: ")),
            "{name} {args:?}: stdout:\n{stdout}"
        );
    }
}

/// Runs `cmd` (a demo's tour run under some limit) to its end: (exit code, stderr). A Rust
/// panic, an allocation abort (134) or a kill by signal fails the test.
fn ends_cleanly(name: &str, what: &str, cmd: &mut StdCommand) -> (Option<i32>, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).expect("read");
        s
    });
    let status = wait_within(&mut child, TIMEOUT);
    let stderr = reader.join().expect("reader");
    assert!(
        status.code().is_some_and(|c| c != 101 && c != 134),
        "{name} {what}: {status}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{name} {what}: {stderr}");
    assert!(
        !stderr.contains("memory allocation of"),
        "{name} {what}: {stderr}"
    );
    (status.code(), stderr)
}

/// Little address space (30 MB of RLIMIT_AS: a few thread stacks): every demo's tour run either
/// works or says what did not fit, never an abort.
#[test]
fn every_demo_refuses_what_the_address_space_cannot_hold_by_name() {
    for d in oslab::catalogue::DEMOS {
        let mut cmd = StdCommand::new("prlimit");
        cmd.arg("--as=30000000").arg(exe(d.name)).args(d.tour);
        let (code, stderr) = ends_cleanly(d.name, "under RLIMIT_AS 30 MB", &mut cmd);
        refused_by_name(d, code, &stderr);
    }
}

/// No second task allowed (RLIMIT_NPROC 1, as nobody, for whom it is enforced): a demo that
/// needs a thread or a process says which limit refused it, before or when it asks.
#[test]
fn every_demo_names_the_process_limit_that_refuses_it() {
    for d in oslab::catalogue::DEMOS {
        let Some(mut cmd) = as_nobody(d.name, &["prlimit", "--nproc=1"]) else {
            return;
        };
        cmd.args(d.tour);
        let (code, stderr) = ends_cleanly(d.name, "under RLIMIT_NPROC 1", &mut cmd);
        if refused_by_name(d, code, &stderr) {
            assert!(stderr.contains("RLIMIT_NPROC"), "{}: {stderr}", d.name);
        }
    }
}

/// A tour run that did not end as the tour expects must be an error of the demo's own (exit 1,
/// `<demo>: error: …`); true if it was one.
fn refused_by_name(d: &oslab::catalogue::Demo, code: Option<i32>, stderr: &str) -> bool {
    if code == Some(d.tour_exit) {
        return false;
    }
    assert_eq!(code, Some(1), "{}: {stderr}", d.name);
    let prefix = format!("{}: error: ", d.name);
    assert!(stderr.starts_with(&prefix), "{}: {stderr}", d.name);
    true
}
