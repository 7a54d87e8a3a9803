//! Faults a hostile user brings (issue 10): Ctrl-C in a long sleep, fill or touch; a child
//! killed under a demo; a PID that cannot take a signal; an inherited nice value; flags that
//! mean nothing in the mode asked for; a series stopped short.

use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::*;

/// How long a demo may take to exit after Ctrl-C: generous for a loaded machine, far below the
/// 2 to 10 s these runs took when the signal waited for the sleep, fill or touch to end.
const PROMPTLY: Duration = Duration::from_secs(1);

/// Starts `name args`, sends SIGINT 300 ms after its handler is in place, and expects exit 130
/// within [`PROMPTLY`] with its partial note. None when the machine refuses the run's memory
/// (exit 1 naming the limit: a small CI machine), which the caller skips.
fn stopped_promptly(name: &str, args: &[&str]) -> Option<(String, String)> {
    let run = Running::start(name, args, Stdio::null());
    run.interrupt(Signal::SIGINT, Duration::from_millis(300));
    let (status, stdout, stderr) = run.finish(PROMPTLY);
    if status.code() == Some(1) && stderr.contains("memory") {
        eprintln!("skipped {name} {args:?}: {stderr}");
        return None;
    }
    assert_eq!(status.code(), Some(130), "{name} {args:?}: {stderr}");
    assert!(
        stderr.contains("stopped by SIGINT") && stderr.contains("results are partial"),
        "{name} {args:?}: {stderr}"
    );
    Some((stdout, stderr))
}

#[test]
fn ctrl_c_wakes_a_long_sleep_and_the_interrupted_sleep_is_no_sample() {
    for args in [
        &["--interval", "10s"][..],
        &["--interval", "3s", "--count", "2"],
        &["--mode", "absolute", "--interval", "3s"],
        &["--mode", "busy", "--interval", "3s"],
    ] {
        let json = [args, &["--format", "json"]].concat();
        let (stdout, stderr) =
            stopped_promptly("sleep_jitter", &json).expect("no memory to refuse");
        // 300 ms into a sleep of 3 or 10 s: none ended, so a sample would be the interrupted one.
        let doc = parse_json("sleep_jitter", &stdout);
        let results = &doc["results"];
        assert_eq!(results["trials"][0]["sleeps"], 0, "{args:?}: {results:#}");
        assert_eq!(results["overshoot_ns"], Value::Array(vec![]), "{args:?}");
        assert!(stderr.contains("after 0 of"), "{args:?}: {stderr}");
        assert_eq!(doc["partial"], true);
    }
}

#[test]
fn ctrl_c_stops_a_long_fill_touch_or_gap_at_once() {
    // sum_array fills 4 GB (10 s) before its first trial; spawn_cost touches 1.5 GiB first;
    // signals waits 1 s between letters.
    for (name, args) in [
        ("sum_array", &["2", "--len", "1000000000"][..]),
        ("spawn_cost", &["--rss", "1500"]),
        ("signals", &["demo", "--gap", "1000"]),
    ] {
        if let Some((stdout, _)) = stopped_promptly(name, args) {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with("verdict: could not be checked")),
                "{name}: {stdout}"
            );
        }
    }
}

/// Waits until `pid` has `n` children and they have had `settle` to get going; returns them.
fn children_after(pid: i32, n: usize, settle: Duration) -> Vec<i32> {
    wait_until("the demo's children are running", || {
        children_of(pid).len() >= n
    });
    thread::sleep(settle);
    children_of(pid)
}

/// SIGKILLs `victim` under a running demo and expects exit 1 within a few seconds, naming it
/// (its PID and the signal) in the error; returns stderr.
fn killed_child_is_named(run: Running, victim: i32) -> String {
    kill(Pid::from_raw(victim), Signal::SIGKILL).expect("kill the child");
    let (status, _, stderr) = run.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("(PID {victim}) was killed by signal 9 (SIGKILL)")),
        "the error names the child that died: {stderr}"
    );
    stderr
}

#[test]
fn a_killed_ping_pong_child_or_competitor_is_named() {
    let args = ["--seconds", "0", "--pingpong", "10000000"];
    let run = Running::start("context_switch", &args, Stdio::null());
    let child = children_after(run.pid, 1, Duration::from_millis(300))[0];
    let stderr = killed_child_is_named(run, child);
    assert!(stderr.contains("the ping-pong child"), "{stderr}");

    // The workers' phase: cpu_bound and its competitor share a CPU; either may die.
    let args = ["--seconds", "10", "--pingpong", "0"];
    let run = Running::start("context_switch", &args, Stdio::null());
    let children = children_after(run.pid, 2, Duration::from_millis(300));
    let stderr = killed_child_is_named(run, *children.last().expect("a child"));
    assert!(stderr.contains("cpu_bound"), "{stderr}");
}

#[test]
fn a_killed_spinner_is_named_instead_of_a_hang() {
    for which in [0, 1] {
        let run = Running::start("nice_share", &["--seconds", "10"], Stdio::null());
        let mut spinners = children_after(run.pid, 2, Duration::from_millis(500));
        spinners.sort_unstable();
        let stderr = killed_child_is_named(run, spinners[which]);
        assert!(stderr.contains("spinner"), "{stderr}");
    }
}

#[test]
fn context_switch_shares_the_first_cpu_listed() {
    let usable = usable_cpus();
    let (Some(&low), Some(&high)) = (usable.first(), usable.last()) else {
        return;
    };
    if low == high {
        eprintln!("skipped: one usable CPU");
        return;
    }
    let list = format!("{high},{low}");
    let doc = json_of(
        "context_switch",
        &["--seconds", "0", "--pingpong", "2000", "--cpu", &list],
    );
    let trials = doc["results"]["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 2, "{doc:#}");
    for t in trials {
        assert_eq!(uint(&t["parent_cpu"], "parent_cpu"), high as u64, "{t:#}");
    }
    assert_eq!(uint(&trials[0]["child_cpu"], "child_cpu"), high as u64);
    assert_eq!(uint(&trials[1]["child_cpu"], "child_cpu"), low as u64);
}

#[test]
fn an_interrupted_context_switch_does_not_claim_one_cpu() {
    if usable_cpus().len() < 2 {
        eprintln!("skipped: one usable CPU");
        return;
    }
    // One CPU, then two, a thousand times: stop as soon as the first one-CPU run is printed,
    // during the first two-CPU run.
    let args = ["--seconds", "0", "--pingpong", "100000", "--trials", "1000"];
    let run = Running::start("context_switch", &args, Stdio::null());
    wait_until("the one-CPU ping-pong is printed", || {
        run.out
            .lines()
            .iter()
            .any(|l| l.starts_with("pingpong on one CPU"))
    });
    kill(Pid::from_raw(run.pid), Signal::SIGINT).expect("kill");
    let (status, stdout, stderr) = run.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        !stdout.contains("pingpong on two CPUs"),
        "the two-CPU run was stopped: {stdout}"
    );
    assert!(!stdout.contains("only one CPU is usable"), "{stdout}");
    assert!(
        stdout.contains("stopped before the two-CPU ping-pong ended"),
        "{stdout}"
    );
}

/// `signals send PID gem` to a PID that takes no letter: exit 0, a warning on stderr that
/// contains `what`, and the lesson says so too.
fn send_warns(pid: i32, what: &str) {
    let out = demo("signals")
        .args(["send", &pid.to_string(), "gem"])
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stderr.contains(&format!("signals: warning: PID {pid} ")) && stderr.contains(what),
        "{stderr}"
    );
    assert!(stderr.contains("nothing arrives"), "{stderr}");
    let lesson = stdout
        .lines()
        .find(|l| l.starts_with("lesson: "))
        .unwrap_or("");
    assert!(lesson.contains(what), "{stdout}");
}

#[test]
fn signals_send_warns_that_a_zombie_gets_nothing() {
    let mut child = StdCommand::new("true").spawn().expect("spawn true");
    let pid = child.id() as i32;
    wait_until("the child is a zombie", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')))
    });
    send_warns(pid, "is a zombie: it has already exited");
    child.wait().expect("reap");
}

#[test]
fn signals_send_warns_that_a_kernel_thread_gets_nothing() {
    // PF_KTHREAD in the flags of /proc/PID/stat (field 9): kthreadd and its children.
    let kernel = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                let rest = s.rsplit(") ").next().unwrap_or("");
                let flags = rest
                    .split_whitespace()
                    .nth(6)
                    .and_then(|f| f.parse::<u64>().ok());
                flags.is_some_and(|f| f & 0x0020_0000 != 0)
            })
        });
    let Some(pid) = kernel else {
        eprintln!("skipped: no kernel thread visible (a PID namespace)");
        return;
    };
    send_warns(pid, "is a kernel thread");
}

#[test]
fn signals_send_warns_that_an_init_drops_what_it_does_not_catch() {
    // `sleep` as PID 1 of a new PID namespace: an init without handlers, never the real one.
    let mut unshare = match StdCommand::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "sleep", "30"])
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("skipped: no unshare ({e})");
            return;
        }
    };
    let me = unshare.id() as i32;
    let mut init = None;
    wait_until("the namespace's init runs, or unshare fails", || {
        init = children_of(me).first().copied();
        init.is_some() || unshare.try_wait().ok().flatten().is_some()
    });
    let Some(init) = init else {
        eprintln!("skipped: unshare --pid needs privileges here");
        return;
    };
    wait_until("the child has become sleep", || {
        std::fs::read_to_string(format!("/proc/{init}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    send_warns(init, "is init (PID 1 of its PID namespace)");
    // The kernel dropped SIGHUP and the rest: the sleep is still there.
    assert!(
        std::fs::read_to_string(format!("/proc/{init}/stat")).is_ok_and(|s| !s
            .rsplit(") ")
            .next()
            .unwrap_or("Z")
            .starts_with('Z')),
        "the init should have survived the letters"
    );
    let _ = kill(Pid::from_raw(init), Signal::SIGKILL);
    let _ = unshare.wait();
}

#[test]
fn an_inherited_nice_is_named_instead_of_a_nice_below_0() {
    // Root keeps CAP_SYS_NICE unless setpriv drops it; RLIMIT_NICE 0 allows no lowering.
    let mut cmd = StdCommand::new("nice");
    cmd.args(["-n", "10", "prlimit", "--nice=0"]);
    if nix::unistd::geteuid().is_root() {
        let setpriv = StdCommand::new("setpriv")
            .args(["--bounding-set=-sys_nice", "true"])
            .status();
        if !setpriv.is_ok_and(|s| s.success()) {
            eprintln!("skipped: no setpriv to drop CAP_SYS_NICE");
            return;
        }
        cmd.args(["setpriv", "--bounding-set=-sys_nice"]);
    }
    let out = cmd
        .args([&exe("nice_share"), "--seconds", "0.2"])
        .stdin(Stdio::null())
        .output()
        .expect("run nice_share under nice -n 10");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Either spinner may report first: nice 0 and nice 5 are both below 10.
    assert!(
        stderr.contains("nice 0 was refused") || stderr.contains("nice 5 was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("runs at nice 10, inherited"),
        "the cause is the inherited nice: {stderr}"
    );
    assert!(!stderr.contains("a nice value below 0"), "{stderr}");
}

#[test]
fn flags_that_do_nothing_in_the_mode_asked_for_are_refused() {
    for flag in ["--slice", "--busy"] {
        usage_error("coop_sched", &[flag, "5ms"], &[flag, "--preemptive"]);
        usage_error(
            "coop_sched",
            &["--cooperate", flag, "5ms"],
            &[flag, "--cooperate"],
        );
    }
    let args = ["--preemptive", "--slice", "5ms", "--busy", "6ms", "-q"];
    stdout_of("coop_sched", &args);
    usage_error(
        "proc_watch",
        &["--forest", "--interval", "10ms"],
        &["--forest", "--interval"],
    );
}

#[test]
fn a_series_stopped_short_says_how_many_runs_it_timed() {
    let args = [
        "--count",
        "1000000",
        "--op",
        "thread",
        "--placement",
        "pinned",
    ];
    let run = Running::start("spawn_cost", &args, Stdio::null());
    run.interrupt(Signal::SIGINT, Duration::from_millis(300));
    let (status, stdout, stderr) = run.finish(Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "{stderr}");
    let each = stdout
        .lines()
        .find(|l| l.starts_with("each: "))
        .unwrap_or_else(|| panic!("no each: line:\n{stdout}"));
    let timed: u64 = each
        .split_once(" asked for (")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("each: says how many ran: {each}"));
    assert!(timed > 0 && timed < 1_000_000, "{each}");
    // The table's runs column agrees.
    let row = stdout
        .lines()
        .find(|l| l.starts_with("thread spawn + join"))
        .unwrap_or_else(|| panic!("no table row:\n{stdout}"));
    assert!(
        row.split_whitespace().any(|w| w == timed.to_string()),
        "{row} / {each}"
    );
}
