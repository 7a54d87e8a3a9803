//! One grammar for every duration flag: a number with any unit (ns, us/µs, ms, s, m, h;
//! fractions) or a bare number in the unit the flag's value name says; the range in its help
//! and in its error are the same words.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::*;

/// Every duration flag: (binary, the arguments before it, the flag, its range as the help
/// prints it, the unit of a bare number).
const FLAGS: &[(&str, &[&str], &str, &str, &str)] = &[
    ("context_switch", &[], "--seconds", "0-1h", "s"),
    ("context_switch", &[], "--io-pause", "0-10s", "s"),
    ("thread_states", &[], "--interval", "2ms-1s", "ms"),
    ("goroutines", &[], "--block-ms", "1ms-10s", "ms"),
    ("condition", &[], "--notify-after", "0-10m", "ms"),
    ("condition", &[], "--bound", "1ms-1m", "ms"),
    ("lost_wakeup", &[], "--bound", "1ms-1m", "ms"),
    ("signals", &["demo"], "--gap", "1ms-1s", "ms"),
    ("signals", &["send", "1", "go"], "--gap", "0-10s", "ms"),
    ("time_slice", &[], "--seconds", "100ms-1m", "s"),
    ("time_slice", &[], "--gap", "1µs-1ms", "µs"),
    ("create_thread", &[], "--sleep", "0-1m", "ms"),
    ("create_process", &[], "--sleep", "0-1m", "ms"),
    ("multiple_forks", &[], "--sleep", "0-1m", "ms"),
    ("semaphore", &[], "--hold", "0-10s", "ms"),
    ("proc_watch", &["1"], "--interval", "10ms-1h", "s"),
    ("sleep_jitter", &[], "--interval", "1µs-10s", "µs"),
    ("sleep_jitter", &[], "--dma-latency", "0-1s", "µs"),
    ("sleep_jitter", &[], "--timerslack", "1ns-1s", "ns"),
    ("sleep_jitter", &[], "--hist-max", "1µs-10s", "µs"),
    ("reentrancy", &[], "--tick", "20µs-100ms", "µs"),
    ("coop_sched", &["--preemptive"], "--slice", "1ms-1s", "ms"),
    ("coop_sched", &["--preemptive"], "--busy", "1ms-10s", "ms"),
    ("nice_share", &[], "--seconds", "100ms-1h", "s"),
    ("gil", &[], "--work", "1ms-10s", "ms"),
    ("gil", &[], "--io", "1ms-10s", "ms"),
    ("gil", &[], "--switch-interval", "100µs-1s", "µs"),
    ("deadlock", &[], "--sleep", "0-1m", "ms"),
    ("deadlock", &[], "--timeout", "0-1h", "s"),
];

#[test]
fn every_duration_flag_prints_its_range_in_the_words_it_takes() {
    for &(name, before, flag, range, unit) in FLAGS {
        let mut help_args = before.to_vec();
        help_args.retain(|a| a.starts_with("demo") || a.starts_with("send"));
        help_args.push("--help");
        let help = stdout_of(name, &help_args);
        let (lo, hi) = range.split_once('-').unwrap();
        let line = help
            .split(&format!("{flag} <"))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} --help has no {flag}:\n{help}"));
        let text = &line[..line.find("\n\n").unwrap_or(line.len())];
        assert!(
            text.contains(&format!("[{range}]")),
            "{name} {flag}'s help shows [{range}]:\n{text}"
        );
        // Out of range, in each direction: a usage error naming the same range.
        let mut args = before.to_vec();
        args.extend([flag, "2h"]);
        usage_error(
            name,
            &args,
            &[
                flag,
                "out of range",
                &format!("from {lo} to {hi}"),
                &format!("a bare number of {unit}"),
            ],
        );
        let mut args = before.to_vec();
        args.extend([flag, "5 parsecs"]);
        usage_error(
            name,
            &args,
            &[flag, "not a duration", &format!("from {lo} to {hi}")],
        );
    }
}

#[test]
fn proc_watch_takes_an_hour_and_bare_seconds_as_watch_n() {
    // --interval 1h: accepted (its help says [10ms-1h]); the first line is an hour away, so
    // Ctrl-C ends it, with the interval reported.
    let run = Running::start(
        "proc_watch",
        &["1", "--interval", "1h", "--format", "json"],
        Stdio::null(),
    );
    run.interrupt(Signal::SIGINT, Duration::from_millis(100));
    let (status, stdout, stderr) = run.finish(TIMEOUT);
    assert_eq!(status.code(), Some(130), "{stderr}");
    let doc = parse_json("proc_watch", &stdout);
    assert_eq!(
        doc["params"]["interval_ns"], 3_600_000_000_000u64,
        "{doc:#}"
    );
    // --interval 0.5, as watch -n 0.5: half a second.
    for spelling in ["0.5", "500ms", "0.5s"] {
        let doc = json_of("proc_watch", &["1", "--interval", spelling, "--count", "1"]);
        assert_eq!(
            doc["params"]["interval_ns"], 500_000_000u64,
            "{spelling}: {doc:#}"
        );
    }
}

#[test]
fn bare_numbers_are_in_the_flags_unit_and_units_are_any() {
    // sleep_jitter: bare µs, as cyclictest -i and -h; --timerslack bare ns.
    for (interval, hist_max, slack) in [("200", "100", "50000"), ("0.2ms", "0.1ms", "50us")] {
        let doc = json_of(
            "sleep_jitter",
            &[
                "--count",
                "3",
                "--interval",
                interval,
                "--hist-max",
                hist_max,
                "--timerslack",
                slack,
            ],
        );
        let p = &doc["params"];
        assert_eq!(p["interval_ns"], 200_000, "{p}");
        assert_eq!(p["hist_max_ns"], 100_000, "{p}");
        assert_eq!(p["timerslack_ns"], 50_000, "{p}");
    }
    // create_thread: bare ms; seconds and fractions too.
    for spelling in ["20", "20ms", "0.02s", "20000us"] {
        let doc = json_of("create_thread", &["--sleep", spelling]);
        assert_eq!(doc["params"]["sleep_ms"], 20, "{spelling}: {doc:#}");
    }
}
