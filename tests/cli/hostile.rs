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
