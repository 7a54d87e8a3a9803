//! signals: the printer and the sender.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::*;

#[test]
fn the_demo_loses_standard_signals_and_queues_real_time_ones() {
    let doc = json_of("signals", &["demo"]);
    let runs = doc["results"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for run in runs {
        assert_eq!(run["sent"], "geronimo\\n");
        assert_eq!(run["sent_count"], 9);
    }
    // Back to back to a busy printer: the repeated SIGABRT coalesces with the pending one.
    let busy = &runs[0];
    assert_eq!(busy["arrived_count"], 8, "{busy}");
    assert_eq!(busy["lost"], 1);
    let arrived = busy["arrived"].as_str().unwrap().replace("\\n", "\n");
    let mut letters: Vec<char> = arrived.chars().collect();
    letters.sort_unstable();
    assert_eq!(letters, ['\n', 'e', 'g', 'i', 'm', 'n', 'o', 'r']);
    // With a gap every letter arrives.
    assert_eq!(runs[1]["arrived_count"], 9, "{}", runs[1]);
    // Real-time, one signal per letter: all nine queue, delivered lowest signal number first.
    assert_eq!(runs[2]["arrived"], "geroonim\\n", "{}", runs[2]);
    assert_eq!(runs[2]["lost"], 0);
    // One real-time signal carrying each letter: all nine, exactly in order.
    assert_eq!(runs[3]["arrived"], "geronimo\\n", "{}", runs[3]);
    assert_eq!(runs[3]["in_order"], true);
    // SIGKILL and SIGSTOP cannot be caught; a SIGKILLed child is reported as such.
    for u in doc["results"]["uncatchable"].as_array().unwrap() {
        assert!(u["sigaction"].as_str().unwrap().contains("EINVAL"), "{u}");
    }
    assert_eq!(
        doc["results"]["killed_child"],
        "killed by signal 9 (SIGKILL)"
    );
    assert_eq!(doc["partial"], false);
}

#[test]
fn the_demo_text_shows_sent_and_arrived_side_by_side() {
    let text = stdout_of("signals", &["demo", "--gap", "5"]);
    assert!(text.contains("  sent:    g e r o n i m o \\n"), "{text}");
    assert!(text.contains("  arrived: g e r o o n i m \\n"), "{text}");
    assert!(
        text.contains("sigaction(SIGKILL) is refused with EINVAL: it cannot be caught"),
        "{text}"
    );
    assert!(
        text.contains("lesson:") && text.contains("compare:"),
        "{text}"
    );
    let csv = stdout_of("signals", &["demo", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
}

#[test]
fn a_printer_in_one_process_spells_what_the_sender_sends() {
    let mut printer = StdCommand::new(exe("signals"))
        .arg("print")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let pid = printer.id() as i32;
    wait_until("the printer handles SIGUSR2", || {
        catches(pid, Signal::SIGUSR2)
    });
    demo("signals")
        .args(["send", &pid.to_string(), "geronimo", "--gap", "20"])
        .assert()
        .success();
    std::thread::sleep(Duration::from_millis(100));
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("kill");
    let status = wait_within(&mut printer, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
    let mut out = String::new();
    printer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    // The printer's letters (the lecture's output), then the analysis and the closing lines.
    let (letters, analysis) = out.split_once("arrived:").expect("an analysis line");
    assert_eq!(letters, "geronimo\n");
    assert!(analysis.contains("\nverdict:"), "{out}");
    let mut err = String::new();
    printer
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains(&format!("PID {pid}")), "{err}");
    assert!(group_members(pid).is_empty());
}

#[test]
fn words_outside_the_alphabet_and_bad_pids_are_refused() {
    demo("signals")
        .args(["send", "1", "hello"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot spell 'h'"));
    demo("signals")
        .args(["send", "0", "geronimo"])
        .assert()
        .code(2);
    demo("signals")
        .args(["demo", "--gap", "0"])
        .assert()
        .code(2);
    demo("signals").arg("frobnicate").assert().code(2);
    demo("signals")
        .args(["send", "999999999", "go"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot signal PID 999999999"));
}
