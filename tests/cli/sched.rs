//! Time and scheduling: sleep_jitter, context_switch, nice_share, coop_sched. Orders, counts and
//! invariants are asserted; timings and shares are not (they belong to scripts/bench.sh).

use std::process::{Command as StdCommand, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::Signal;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::usage_error;
use crate::common::*;

/// The lecture's output, NUM_THREADS × NUM_STEPS, yielding only at the end: one after the other.
fn one_after_the_other(threads: u32, steps: u32) -> String {
    let mut out = String::new();
    for t in 1..=threads {
        out += &format!("Thread {t} created!\n");
        for i in 0..steps {
            out += &format!("Thread {t}: step {i}\n");
        }
        out += &format!("Thread {t} finished!\n");
    }
    out
}

/// The lecture's output with a yield after every step: each thread is created as the run queue
/// first reaches it, then the steps alternate, then they finish in order.
fn interleaved(threads: u32, steps: u32) -> String {
    let mut out = String::new();
    for i in 0..steps {
        for t in 1..=threads {
            if i == 0 {
                out += &format!("Thread {t} created!\n");
            }
            out += &format!("Thread {t}: step {i}\n");
        }
    }
    for t in 1..=threads {
        out += &format!("Thread {t} finished!\n");
    }
    out
}

#[test]
fn coop_sched_without_yields_runs_the_threads_one_after_the_other() {
    // The slide's `./do.sh run_nocoop`, line for line.
    let out = stdout_of("coop_sched", &["--quiet"]);
    assert_eq!(
        out,
        "Thread 1 created!\nThread 1: step 0\nThread 1: step 1\nThread 1: step 2\n\
         Thread 1 finished!\nThread 2 created!\nThread 2: step 0\nThread 2: step 1\n\
         Thread 2: step 2\nThread 2 finished!\n"
    );
    assert_eq!(out, one_after_the_other(2, 3));
    let out = stdout_of("coop_sched", &["--threads", "3", "--steps", "2", "--quiet"]);
    assert_eq!(out, one_after_the_other(3, 2));
}

#[test]
fn coop_sched_cooperating_interleaves_exactly_as_the_lecture() {
    // The slide's `./do.sh run_coop`, line for line.
    let out = stdout_of("coop_sched", &["--cooperate", "--quiet"]);
    assert_eq!(
        out,
        "Thread 1 created!\nThread 1: step 0\nThread 2 created!\nThread 2: step 0\n\
         Thread 1: step 1\nThread 2: step 1\nThread 1: step 2\nThread 2: step 2\n\
         Thread 1 finished!\nThread 2 finished!\n"
    );
    assert_eq!(out, interleaved(2, 3));
    let out = stdout_of(
        "coop_sched",
        &["--cooperate", "--threads", "3", "--steps", "3", "-q"],
    );
    assert_eq!(out, interleaved(3, 3));
}

#[test]
fn coop_sched_prints_the_lecture_first_then_the_analysis() {
    for (flags, lecture) in [
        (&[][..], one_after_the_other(2, 3)),
        (&["--cooperate"][..], interleaved(2, 3)),
    ] {
        let out = stdout_of("coop_sched", flags);
        assert!(out.starts_with(&lecture), "{flags:?}:\n{out}");
        let analysis = &out[lecture.len()..];
        assert!(!analysis.contains("Thread "), "{out}");
        for prefix in ["schedule: ", "stacks: 2 of 2 ", "lesson: ", "compare: "] {
            assert!(
                analysis.lines().any(|l| l.starts_with(prefix)),
                "no {prefix:?} in\n{out}"
            );
        }
    }
}

#[test]
fn coop_sched_preemptive_interleaves_without_yielding_and_frees_every_stack() {
    let doc = json_of(
        "coop_sched",
        // 300 ms of CPU each: on a loaded machine ITIMER_PROF ticked only 2 times in 210 ms of
        // CPU (it is checked at scheduler ticks that find the process running), so 4 steps of
        // 25 ms could end before the first tick.
        &[
            "--preemptive",
            "--threads",
            "2",
            "--steps",
            "6",
            "--busy",
            "50ms",
        ],
    );
    let t = &doc["results"]["trials"][0];
    assert_eq!(t["interleaved"], true, "{doc:#}");
    assert!(uint(&t["timer_ticks"], "timer_ticks") >= 1, "{t}");
    assert!(uint(&t["preemptions"], "preemptions") >= 1, "{t}");
    // Every line is there, and each thread's own lines keep their order.
    let lines: Vec<&str> = doc["results"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    let mut want: Vec<String> = one_after_the_other(2, 6)
        .lines()
        .map(String::from)
        .collect();
    want.sort_unstable();
    assert_eq!(sorted, want);
    for tid in 1..=2 {
        let own: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("Thread {tid}")))
            .collect();
        let expected: Vec<String> = one_after_the_other(2, 6)
            .lines()
            .filter(|l| l.starts_with(&format!("Thread {tid}")))
            .map(String::from)
            .collect();
        assert_eq!(own, expected, "thread {tid}'s own order");
    }
    assert_eq!(t["stacks_mapped"], 2);
    assert_eq!(t["stacks_unmapped"], 2);
    assert_eq!(t["stacks_leaked"], 0);
    assert_eq!(doc["params"]["mode"], "preemptive");
    assert_eq!(doc["partial"], false);
}

#[test]
fn coop_sched_reports_every_switch_and_frees_every_stack() {
    for (flags, switches, interleaves) in [
        (&["--threads", "5", "--steps", "3"][..], 10, false),
        (
            &["--threads", "5", "--steps", "3", "--cooperate"][..],
            20,
            true,
        ),
    ] {
        let doc = json_of("coop_sched", flags);
        let t = &doc["results"]["trials"][0];
        // Yield at the end: each thread is switched to twice (run, then its final return);
        // cooperating: once per step, plus once to return.
        assert_eq!(uint(&t["switches"], "switches"), switches, "{flags:?}: {t}");
        assert_eq!(t["interleaved"], interleaves, "{flags:?}");
        assert_eq!(t["stacks_mapped"], 5);
        assert_eq!(t["stacks_unmapped"], 5);
        assert_eq!(t["stacks_leaked"], 0);
        assert_eq!(
            doc["results"]["schedule"].as_array().unwrap().len() as u64,
            switches
        );
        assert_eq!(doc["results"]["lines"].as_array().unwrap().len(), 5 * 5);
    }
    let csv = stdout_of("coop_sched", &["--cooperate", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 10, "{csv}");
    let header = csv_cells(lines[0]);
    let col = |h: &str| header.iter().position(|c| c == h).unwrap();
    assert_eq!(csv_cells(lines[3])[col("line")], "Thread 2 created!");
    assert_eq!(csv_cells(lines[10])[col("event")], "finished");
    // Each line carries when it was printed, in print order.
    let t: Vec<u64> = lines[1..]
        .iter()
        .map(|l| csv_cells(l)[col("t_ns")].parse().unwrap())
        .collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{csv}");
}

#[test]
fn sleep_jitter_prints_the_lecture_histogram_then_percentiles() {
    let out = stdout_of("sleep_jitter", &["--count", "40", "--interval", "1ms"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "sleep(1.00 ms) × 40, each timed in whole milliseconds (millis() after - millis() before), plt.hist's bins:"
    );
    // plt.hist(times, [0, 1, 2, 3, 4, 5, 6]) here ([4, ..., 10] for 5 ms): six bins, the last
    // closed.
    let mut total = 0;
    for (i, line) in lines[1..7].iter().enumerate() {
        let end = if i == 5 { ']' } else { ')' };
        let label = format!("[{i}, {}{end} ms |", i + 1);
        assert!(line.trim_start().starts_with(&label), "{line}\n{out}");
        total += line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
    }
    assert!(
        lines[7].starts_with("overshoot") || lines[7].starts_with('('),
        "{out}"
    );
    let outside = lines
        .iter()
        .find(|l| l.starts_with('(') && l.contains("outside the bins"));
    if let Some(l) = outside {
        let n: Vec<u64> = l
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        total += n.iter().sum::<u64>();
    }
    assert_eq!(total, 40, "{out}");
    for needle in [
        "overshoot (actual − requested), 40 sleeps at µs resolution: min ",
        "p99.9 ",
        "overflows: ",
        "in force: SCHED_OTHER",
        "lesson: ",
        "compare: cyclictest -m -p 80 -i 1000 -h 100 -q",
    ] {
        assert!(out.contains(needle), "no {needle:?} in\n{out}");
    }
    // --quiet: only the lecture's histogram.
    let quiet = stdout_of(
        "sleep_jitter",
        &["--count", "5", "--interval", "100us", "-q"],
    );
    let lines: Vec<&str> = quiet.lines().collect();
    assert!(lines[0].starts_with("sleep(100 µs) × 5,"), "{quiet}");
    assert!(lines[1..7].iter().all(|l| l.contains(" ms |")), "{quiet}");
    // On a loaded machine a sleep may last past the last bin: then one more line says so.
    assert!(
        lines[7..].iter().all(|l| l.contains("outside the bins")) && lines.len() <= 8,
        "{quiet}"
    );
}

#[test]
fn sleep_jitter_json_has_consistent_percentiles_and_the_raw_samples() {
    for mode in ["relative", "absolute", "busy"] {
        let doc = json_of(
            "sleep_jitter",
            &["--count", "60", "--interval", "500us", "--mode", mode],
        );
        let r = &doc["results"];
        let t = &r["trials"][0];
        assert_eq!(t["mode"], mode);
        assert_eq!(uint(&t["sleeps"], "sleeps"), 60);
        assert_eq!(uint(&t["requested_ns"], "requested_ns"), 500_000);
        let keys = ["min_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"];
        let v: Vec<u64> = keys.iter().map(|k| uint(&t[*k], k)).collect();
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{mode}: {t}");
        let samples: Vec<u64> = r["overshoot_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| uint(x, "overshoot_ns"))
            .collect();
        assert_eq!(samples.len(), 60);
        let over = samples.iter().filter(|&&s| s >= 100_000).count() as u64;
        assert_eq!(uint(&t["overflows"], "overflows"), over, "{mode}");
        let binned: u64 = r["lecture_histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| uint(&b["count"], "count"))
            .sum::<u64>()
            + uint(&r["lecture_below"], "below")
            + uint(&r["lecture_above"], "above");
        assert_eq!(binned, 60);
        let drawn: u64 = r["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| uint(&b["count"], "count"))
            .sum();
        assert_eq!(drawn, 60, "{mode}: the drawn histogram holds every sample");
        assert_eq!(r["in_force"]["policy"], "SCHED_OTHER");
        assert_eq!(r["refused"].as_array().unwrap().len(), 0);
        assert_eq!(doc["partial"], false);
        assert!(doc["headline"].as_str().unwrap().starts_with(mode));
    }
    let csv = stdout_of(
        "sleep_jitter",
        &["--count", "7", "--interval", "200us", "--format", "csv"],
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "{csv}");
    assert!(
        lines[0].ends_with(",sample,overshoot_ns,lecture_ms,wake_cpu"),
        "{}",
        lines[0]
    );
}

#[test]
fn sleep_jitter_reports_the_realtime_policy_and_locked_memory_it_got() {
    let doc = json_of(
        "sleep_jitter",
        &[
            "--count",
            "20",
            "--interval",
            "1ms",
            "--mode",
            "absolute",
            "--fifo",
            "80",
            "--mlock",
            "--dma-latency",
            "0",
            "--timerslack",
            "1000",
        ],
    );
    let r = &doc["results"];
    if nix::unistd::geteuid().is_root() {
        assert_eq!(r["in_force"]["policy"], "SCHED_FIFO", "{r:#}");
        assert_eq!(r["in_force"]["priority"], 80);
        assert!(uint(&r["in_force"]["locked_kib"], "locked_kib") > 0);
        assert_eq!(r["in_force"]["idle_latency_us"], 0);
        assert_eq!(r["refused"].as_array().unwrap().len(), 0);
    } else {
        // Without the privilege the refusal is reported, never silent.
        assert!(!r["refused"].as_array().unwrap().is_empty(), "{r:#}");
    }
    let doc = json_of(
        "sleep_jitter",
        &["--count", "5", "--interval", "1ms", "--timerslack", "1000"],
    );
    assert_eq!(doc["results"]["in_force"]["timer_slack_ns"], 1000);
}

/// `setpriv` with CAP_SYS_NICE and CAP_IPC_LOCK dropped from the bounding set: as root, the
/// binary then runs without them. None when this cannot be arranged here.
pub(crate) fn without_privileges(name: &str) -> Option<StdCommand> {
    if !setpriv_can(&["--bounding-set=-sys_nice,-ipc_lock"], "drop CAP_SYS_NICE") {
        return None;
    }
    let mut cmd = StdCommand::new("setpriv");
    cmd.args(["--bounding-set=-sys_nice,-ipc_lock", &exe(name)]);
    Some(cmd)
}

/// Runs `cmd` with the suite's timeout: (exit code, stdout, stderr).
pub(crate) fn output_of(cmd: &mut StdCommand) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
    let status = wait_within(&mut child, TIMEOUT);
    (status.code(), reader.join().unwrap(), stderr)
}

#[test]
fn a_refused_fifo_is_said_out_loud_and_the_run_goes_on() {
    let Some(mut cmd) = without_privileges("sleep_jitter") else {
        return;
    };
    cmd.args([
        "--count",
        "10",
        "--interval",
        "1ms",
        "--fifo",
        "80",
        "--format",
        "json",
    ]);
    let (code, stdout, stderr) = output_of(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("SCHED_FIFO priority 80 was refused (EPERM"),
        "{stderr}"
    );
    assert!(stderr.contains("CAP_SYS_NICE"), "{stderr}");
    assert!(
        stderr.contains("Instead, the sleeps run under SCHED_OTHER"),
        "{stderr}"
    );
    let doc = parse_json("sleep_jitter", &stdout);
    let r = &doc["results"];
    assert_eq!(r["in_force"]["policy"], "SCHED_OTHER");
    assert_eq!(r["refused"][0]["capability"], "CAP_SYS_NICE");
    assert_eq!(r["refused"][0]["errno"], "EPERM");
    assert_eq!(uint(&r["trials"][0]["sleeps"], "sleeps"), 10);
}

#[test]
fn a_refused_idle_latency_is_said_out_loud_too() {
    // /dev/cpu_dma_latency is root's (0600): run as nobody to be refused.
    let Some(mut cmd) = as_nobody("sleep_jitter", &[]) else {
        return;
    };
    cmd.args([
        "--count",
        "3",
        "--interval",
        "1ms",
        "--dma-latency",
        "0",
        "--format",
        "json",
    ]);
    let (code, stdout, stderr) = output_of(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("/dev/cpu_dma_latency) was refused (EACCES"),
        "{stderr}"
    );
    let doc = parse_json("sleep_jitter", &stdout);
    assert_eq!(
        doc["results"]["refused"][0]["capability"],
        "CAP_DAC_OVERRIDE"
    );
    assert_eq!(doc["results"]["in_force"]["idle_latency_us"], Value::Null);
}

#[test]
fn nice_share_without_cap_sys_nice_skips_the_realtime_pairs_and_refuses_negative_nice() {
    let Some(mut cmd) = without_privileges("nice_share") else {
        return;
    };
    cmd.args(["--seconds", "0.2", "--policy", "rr", "--format", "json"]);
    let (code, stdout, stderr) = output_of(&mut cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("SCHED_RR priority 10 was refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the real-time pairs are skipped"),
        "{stderr}"
    );
    let doc = parse_json("nice_share", &stdout);
    assert_eq!(doc["results"]["trials"].as_array().unwrap().len(), 1);
    assert_eq!(doc["results"]["refused"][0]["capability"], "CAP_SYS_NICE");

    let mut cmd = without_privileges("nice_share").unwrap();
    cmd.args(["--seconds", "0.2", "--nice", "-3"]);
    let (code, stdout, stderr) = output_of(&mut cmd);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("nice -3 was refused"), "{stderr}");
    assert!(stderr.contains("CAP_SYS_NICE"), "{stderr}");
}

#[test]
fn context_switch_io_bound_switches_voluntarily_and_cpu_bound_is_preempted() {
    let doc = json_of("context_switch", &["--seconds", "1", "--pingpong", "2000"]);
    let workers = doc["results"]["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2, "{doc:#}");
    let (cpu, io) = (&workers[0], &workers[1]);
    assert_eq!(cpu["name"], "cpu_bound");
    assert_eq!(io["name"], "io_bound");
    let cpu_vol = uint(&cpu["voluntary_cs"], "voluntary_cs");
    let io_vol = uint(&io["voluntary_cs"], "voluntary_cs");
    // Counts, not times: the I/O-bound process blocks at least once per round (tens of rounds
    // in a second even on a loaded machine); the CPU-bound one only to move to its CPU.
    assert!(
        io_vol >= 20 && io_vol > 5 * cpu_vol.max(1),
        "io {io_vol} vs cpu {cpu_vol}\n{doc:#}"
    );
    // A busy competitor shares its CPU: preemption is certain, on an idle machine too.
    assert!(
        uint(&cpu["nonvoluntary_cs"], "nonvoluntary_cs") > 0,
        "{doc:#}"
    );
    assert_eq!(cpu["beside_competitor"], true);

    let trials = doc["results"]["trials"].as_array().unwrap();
    let one = trials.iter().find(|t| t["placement"] == "one CPU").unwrap();
    assert_eq!(uint(&one["round_trips"], "round_trips"), 2000);
    assert_eq!(one["parent_cpu"], one["child_cpu"]);
    // Two switches per round trip on one CPU; a little over when other work preempts the pair.
    let per = one["switches_per_round_trip"].as_f64().unwrap();
    assert!(
        (1.5..=2.5).contains(&per),
        "{per} switches per round trip\n{one}"
    );
    if usable_cpus().len() > 1 {
        let two = trials
            .iter()
            .find(|t| t["placement"] == "two CPUs")
            .unwrap();
        assert_ne!(two["parent_cpu"], two["child_cpu"]);
        let per = two["switches_per_round_trip"].as_f64().unwrap();
        assert!((0.5..=3.0).contains(&per), "{per}\n{two}");
    }
    assert_eq!(doc["partial"], false);
}

#[test]
fn context_switch_prints_the_status_lines_the_lecture_reads() {
    let out = stdout_of(
        "context_switch",
        &["--seconds", "0.3", "--pingpong", "500", "--alone"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        matches(
            r"^\$ grep ctxt /proc/\d+/status +# cpu_bound, after ",
            lines[0]
        ),
        "{out}"
    );
    assert!(
        matches(r"^voluntary_ctxt_switches:\t\d+$", lines[1]),
        "{out}"
    );
    assert!(
        matches(r"^nonvoluntary_ctxt_switches:\t\d+$", lines[2]),
        "{out}"
    );
    assert!(lines[3].contains("# io_bound"), "{out}");
    assert!(lines[6].starts_with("pingpong on one CPU (CPU "), "{out}");
    for prefix in [
        "voluntary: ",
        "nonvoluntary: ",
        "pingpong, one CPU: ",
        "lesson: ",
        "compare: taskset -c 0 perf bench sched pipe -l 500",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(prefix)),
            "no {prefix:?} in\n{out}"
        );
    }
    let only = usable_cpus()[0].to_string();
    let csv = stdout_of(
        "context_switch",
        &[
            "--seconds",
            "0",
            "--pingpong",
            "300",
            "--trials",
            "2",
            "--cpu",
            &only,
            "--format",
            "csv",
        ],
    );
    let rows: Vec<&str> = csv.lines().collect();
    // --cpu with one CPU: no two-CPU rows; two trials.
    assert_eq!(rows.len(), 1 + 2, "{csv}");
    assert!(rows[1].starts_with("context_switch,"), "{csv}");
}

#[test]
fn nice_share_reports_each_task_and_the_weight_prediction() {
    let doc = json_of("nice_share", &["--seconds", "0.3"]);
    let r = &doc["results"];
    let weights = r["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 40);
    assert_eq!(weights[20], 1024);
    assert_eq!(weights[25], 335);
    let pair = &r["trials"][0];
    let tasks = pair["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["nice"], 0);
    assert_eq!(tasks[1]["nice"], 5);
    assert_eq!(tasks[0]["cpu"], tasks[1]["cpu"]);
    let predicted = pair["predicted_first_share"].as_f64().unwrap();
    assert!((predicted - 1024.0 / 1359.0).abs() < 1e-9, "{pair}");
    let shares: f64 = tasks.iter().map(|t| t["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9 || shares == 0.0, "{pair}");
    assert!(
        doc["headline"]
            .as_str()
            .unwrap()
            .contains("CFS weights predict 75.3 / 24.7")
    );

    let out = stdout_of("nice_share", &["--seconds", "0.2", "--nice", "10"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("pair 1: nice 0 against nice 10, both pinned to CPU "),
        "{out}"
    );
    assert!(
        matches(
            r"^  PID +NI +CLS +RTPRIO +PSR +TIME +SHARE +PREDICTED$",
            lines[1]
        ),
        "{out}"
    );
    assert!(
        matches(
            r"^  \d+ +0 +TS +0 +\d+ +\d+\.\d\d s +\d+\.\d% +90\.3%$",
            lines[2]
        ),
        "{out}"
    );
    assert!(
        matches(
            r"^  \d+ +10 +TS +0 +\d+ +\d+\.\d\d s +\d+\.\d% +9\.7%$",
            lines[3]
        ),
        "{out}"
    );
}

#[test]
fn nice_share_runs_the_realtime_pairs_when_permitted() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs CAP_SYS_NICE");
        return;
    }
    let doc = json_of("nice_share", &["--seconds", "0.2", "--policy", "fifo"]);
    let pairs = doc["results"]["trials"].as_array().unwrap();
    assert_eq!(pairs.len(), 3, "{doc:#}");
    assert_eq!(pairs[1]["tasks"][0]["policy"], "fifo");
    assert_eq!(pairs[1]["tasks"][1]["policy"], "other");
    assert_eq!(pairs[2]["tasks"][1]["policy"], "fifo");
    assert_eq!(pairs[2]["predicted_first_share"].as_f64(), Some(1.0));
}

#[test]
fn bad_input_is_a_usage_error() {
    let sj = "sleep_jitter";
    usage_error(sj, &["--interval", "0"], &["--interval", "from 1µs to 10s"]);
    usage_error(sj, &["--interval", "0ms"], &["--interval", "out of range"]);
    usage_error(
        sj,
        &["--interval", "5 parsecs"],
        &["--interval", "not a duration"],
    );
    usage_error(sj, &["--count", "0"], &["--count", "1 to 10000000"]);
    usage_error(sj, &["--fifo", "200"], &["--fifo", "1 to 99"]);
    usage_error(sj, &["--fifo", "0"], &["--fifo", "1 to 99"]);
    usage_error(
        sj,
        &["--timerslack", "0"],
        &["--timerslack", "from 1ns to 1s"],
    );
    usage_error(sj, &["--mode", "sideways"], &["--mode", "absolute"]);
    usage_error("nice_share", &["--nice", "40"], &["--nice", "-20 to 19"]);
    usage_error("nice_share", &["--nice", "-21"], &["--nice", "-20 to 19"]);
    usage_error(
        "nice_share",
        &["--seconds", "0"],
        &["--seconds", "out of range"],
    );
    usage_error("nice_share", &["--policy", "idle"], &["--policy", "fifo"]);
    usage_error(
        "nice_share",
        &["--rt-priority", "100"],
        &["--rt-priority", "1 to 99"],
    );
    usage_error(
        "context_switch",
        &["--seconds", "0", "--pingpong", "0"],
        &["nothing to run"],
    );
    usage_error(
        "context_switch",
        &["--pingpong", "-1"],
        &["--pingpong", "0 to 10000000"],
    );
    usage_error(
        "context_switch",
        &["--seconds", "4000"],
        &["--seconds", "out of range"],
    );
    usage_error("coop_sched", &["--threads", "0"], &["--threads", "1 to 64"]);
    usage_error(
        "coop_sched",
        &["--steps", "1001"],
        &["--steps", "1 to 1000"],
    );
    usage_error(
        "coop_sched",
        &["--cooperate", "--preemptive"],
        &["--preemptive"],
    );
    usage_error(
        "coop_sched",
        &["--slice", "0ms"],
        &["--slice", "out of range"],
    );
    for name in chapter(oslab::catalogue::Chapter::Scheduling) {
        usage_error(name, &["--no-such-flag"], &["--no-such-flag"]);
        usage_error(name, &["--format", "xml"], &["--format"]);
        demo(name)
            .arg("--version")
            .assert()
            .success()
            .stdout(predicate::str::starts_with(format!("{name} ")));
    }
}

#[test]
fn help_names_the_lecture_program_and_an_example() {
    for (name, program) in [
        ("sleep_jitter", "time.sleep(.005)"),
        ("context_switch", "cpu_bound.c and io_bound.c"),
        ("nice_share", "renice"),
        ("coop_sched", "app-schedule-threads/main.c"),
    ] {
        demo(name)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains(program))
            .stdout(predicate::str::contains(format!("Example: {name} ")));
    }
    // The cheap one's example runs as given.
    let help = stdout_of("coop_sched", &["--help"]);
    let example = help
        .lines()
        .find_map(|l| l.strip_prefix("Example: "))
        .unwrap();
    let args: Vec<&str> = example.split_whitespace().skip(1).collect();
    assert!(stdout_of("coop_sched", &args).starts_with("Thread 1 created!\n"));
}

/// Interrupts `name args` with Ctrl-C (SIGINT) once it has run a little.
fn interrupted(name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = StdCommand::new(exe(name));
    cmd.args(args);
    signal_midway(&mut cmd, Signal::SIGINT, Duration::from_millis(400), |_| {})
}

#[test]
fn ctrl_c_prints_what_was_collected_and_leaves_no_child() {
    let (code, stdout, stderr) = interrupted(
        "sleep_jitter",
        &[
            "--count",
            "1000000",
            "--interval",
            "1ms",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    let doc = parse_json("sleep_jitter", &stdout);
    assert_eq!(doc["partial"], true);
    let n = uint(&doc["results"]["trials"][0]["sleeps"], "sleeps");
    assert!(n > 0 && n < 1_000_000, "{n}");
    assert_eq!(
        doc["results"]["overshoot_ns"].as_array().unwrap().len() as u64,
        n
    );

    for (name, args) in [
        ("context_switch", &["--seconds", "30"][..]),
        (
            "context_switch",
            &["--seconds", "0", "--pingpong", "10000000"][..],
        ),
        ("nice_share", &["--seconds", "30"][..]),
    ] {
        let (code, _, stderr) = interrupted(name, args);
        assert_eq!(code, Some(130), "{name} {args:?}: {stderr}");
        assert!(stderr.contains("killed and reaped"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    let (code, stdout, stderr) = interrupted(
        "coop_sched",
        &["--preemptive", "--steps", "1000", "--format", "json"],
    );
    assert_eq!(code, Some(130), "{stderr}");
    let doc = parse_json("coop_sched", &stdout);
    assert_eq!(doc["partial"], true);
    let t = &doc["results"]["trials"][0];
    assert_eq!(
        t["stacks_unmapped"], t["stacks_mapped"],
        "stopped threads still end: {t}"
    );
}

#[test]
fn compare_sleep_jitter_runs_the_modes_side_by_side() {
    let doc = parse_json(
        "oslab",
        &stdout_of(
            "oslab",
            &[
                "compare",
                "sleep_jitter",
                "--trials",
                "1",
                "--format",
                "json",
                "--",
                "--count",
                "30",
            ],
        ),
    );
    let rows = doc["rows"].as_array().unwrap();
    let variants: Vec<&str> = rows
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(
        variants,
        [
            "sleep_jitter --mode relative",
            "sleep_jitter --mode absolute",
            "sleep_jitter --mode busy"
        ]
    );
    for row in rows {
        for key in ["p50_ns", "p99_ns", "max_ns", "overflows"] {
            assert!(row["medians"][key].as_f64().is_some(), "{row}");
        }
    }
}

#[test]
fn every_child_is_reaped_on_a_normal_run() {
    leaves_nothing_behind(
        "context_switch",
        &["--seconds", "0.2", "--pingpong", "200", "-q"],
    );
    leaves_nothing_behind("nice_share", &["--seconds", "0.2", "-q"]);
}

#[test]
fn sleep_jitter_min_and_max_are_the_samples_own_and_log2_doubles() {
    let doc = json_of(
        "sleep_jitter",
        &["--count", "60", "--interval", "100us", "--log2"],
    );
    let r = &doc["results"];
    let raw: Vec<u64> = r["overshoot_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| uint(v, "overshoot_ns"))
        .collect();
    let t = &r["trials"][0];
    // Exact, not a histogram bucket's edge.
    assert_eq!(
        uint(&t["min_ns"], "min_ns"),
        *raw.iter().min().unwrap(),
        "{t}"
    );
    assert_eq!(
        uint(&t["max_ns"], "max_ns"),
        *raw.iter().max().unwrap(),
        "{t}"
    );
    let mean = raw.iter().sum::<u64>() as f64 / raw.len() as f64;
    assert!((t["mean_ns"].as_f64().unwrap() - mean).abs() < 1e-6, "{t}");
    // --log2: rows [2^k, 2^(k+1)) in one unit, each twice as wide as the one before, counting
    // every sleep, the largest sample in the last row.
    assert_eq!(r["histogram_scale"], "log2");
    let rows = r["histogram"].as_array().unwrap();
    let edges: Vec<(u64, u64)> = rows
        .iter()
        .map(|b| (uint(&b["from_ns"], "from"), uint(&b["to_ns"], "to")))
        .collect();
    for w in edges.windows(2) {
        assert_eq!(w[0].1, w[1].0, "{edges:?}");
        assert_eq!(w[1].1, 2 * w[1].0, "{edges:?}");
    }
    let counted: u64 = rows.iter().map(|b| uint(&b["count"], "count")).sum();
    assert_eq!(counted, raw.len() as u64);
    let last = edges.last().unwrap();
    let max = *raw.iter().max().unwrap();
    assert!(last.0 <= max && max < last.1, "{edges:?} {max}");
    // The text draws them as bcc does.
    let text = stdout_of(
        "sleep_jitter",
        &["--count", "30", "--interval", "100us", "--log2"],
    );
    assert!(
        text.lines()
            .any(|l| matches(r"^\s+\d+ -> \d+ (µs|ns) \|#* +\d+$", l)),
        "{text}"
    );
    // Without it: the linear rows and their open last one.
    let doc = json_of("sleep_jitter", &["--count", "30", "--interval", "100us"]);
    assert_eq!(doc["results"]["histogram_scale"], "linear");
}
