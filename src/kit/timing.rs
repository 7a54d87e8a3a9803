//! Monotonic timing, the lecture's millisecond figure, readable durations, and trials.
//!
//! Everything is timed with [`Instant`] (CLOCK_MONOTONIC), never the wall clock: the lecture's
//! `gettimeofday` jumps when NTP adjusts the clock. The lecture's integer milliseconds are kept
//! for its own line; analysis lines use three significant figures in the unit that fits.

use std::time::{Duration, Instant};

use crate::kit::interrupt;

/// The lecture's `time = %lu ms`: whole milliseconds, truncated as `tv_usec / 1000` truncates.
pub fn lecture_ms(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// A duration in nanoseconds, saturating.
pub fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Since `start`, in nanoseconds.
pub fn nanos_since(start: Instant) -> u64 {
    nanos(start.elapsed())
}

/// `x` with three significant figures: 1.23, 12.3, 123, 1234.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs();
    let decimals = if magnitude == 0.0 || magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        // 0.0123 -> 4 decimals: keep three significant digits below 1.
        (2 - magnitude.log10().floor() as i32).clamp(0, 9) as usize
    };
    format!("{x:.decimals$}")
}

/// A nanosecond figure in the unit that fits, three significant figures: `4.21 ns`, `12.3 µs`,
/// `231 ms`, `1.50 s`.
pub fn fmt_ns(ns: f64) -> String {
    let magnitude = ns.abs();
    if magnitude < 1e3 {
        format!("{} ns", sig3(ns))
    } else if magnitude < 1e6 {
        format!("{} µs", sig3(ns / 1e3))
    } else if magnitude < 1e9 {
        format!("{} ms", sig3(ns / 1e6))
    } else {
        format!("{} s", sig3(ns / 1e9))
    }
}

/// A duration in the unit that fits (see [`fmt_ns`]).
pub fn fmt_duration(elapsed: Duration) -> String {
    fmt_ns(elapsed.as_nanos() as f64)
}

/// CLOCK_MONOTONIC now, in ns since boot: a number that means the same in every process (an
/// `Instant` does not cross a fork or a pipe), for deadlines shared between processes and for
/// `clock_nanosleep(TIMER_ABSTIME)`.
pub fn monotonic_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC is always there");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// The calling thread's own CPU time so far (CLOCK_THREAD_CPUTIME_ID), in ns: what a thread
/// that sleeps does not spend.
pub fn thread_cpu_ns() -> Option<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
}

/// What one call of the trial function is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// A warm-up run: its result is thrown away.
    Warmup(u32),
    /// Timed trial number `n`, from 1.
    Trial(u32),
}

impl Run {
    /// The trial's number, or 0 for a warm-up run.
    pub fn number(self) -> u32 {
        match self {
            Run::Warmup(_) => 0,
            Run::Trial(n) => n,
        }
    }
}

/// The trials that completed, and the signal that cut the series short, if any.
#[derive(Debug)]
pub struct Trials<T> {
    pub done: Vec<T>,
    pub interrupted: Option<nix::sys::signal::Signal>,
}

/// Runs `warmup` untimed runs and then `trials` timed ones, calling `on_trial` with each timed
/// result as it completes (to print its lecture line). Stops early, keeping what completed, when
/// Ctrl-C or SIGTERM arrives; a run interrupted midway is kept only if `keep_partial` says so.
pub fn run_trials<T, E>(
    warmup: u32,
    trials: u32,
    mut run: impl FnMut(Run) -> Result<T, E>,
    mut on_trial: impl FnMut(&T),
    keep_partial: impl Fn(&T) -> bool,
) -> Result<Trials<T>, E> {
    let mut done = Vec::with_capacity(trials as usize);
    for w in 1..=warmup {
        run(Run::Warmup(w))?;
        if let Some(signal) = interrupt::requested() {
            return Ok(Trials {
                done,
                interrupted: Some(signal),
            });
        }
    }
    for t in 1..=trials {
        let result = run(Run::Trial(t))?;
        if let Some(signal) = interrupt::requested() {
            if keep_partial(&result) {
                on_trial(&result);
                done.push(result);
            }
            return Ok(Trials {
                done,
                interrupted: Some(signal),
            });
        }
        on_trial(&result);
        done.push(result);
    }
    Ok(Trials {
        done,
        interrupted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_figures() {
        assert_eq!(sig3(4.2149), "4.21");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(123.45), "123");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(0.0), "0");
    }

    #[test]
    fn units_follow_magnitude() {
        assert_eq!(fmt_ns(4.21), "4.21 ns");
        assert_eq!(fmt_ns(12_345.0), "12.3 µs");
        assert_eq!(fmt_ns(231_000_000.0), "231 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.50 s");
    }

    #[test]
    fn lecture_milliseconds_truncate() {
        assert_eq!(lecture_ms(Duration::from_micros(14_999)), 14);
    }

    #[test]
    fn trials_run_warmups_first_and_report_only_timed_runs() {
        let mut seen = Vec::new();
        let mut printed = 0;
        let out = run_trials::<_, ()>(
            2,
            3,
            |r| {
                seen.push(r);
                Ok(r)
            },
            |_| printed += 1,
            |_| true,
        )
        .unwrap();
        assert_eq!(
            seen,
            vec![
                Run::Warmup(1),
                Run::Warmup(2),
                Run::Trial(1),
                Run::Trial(2),
                Run::Trial(3)
            ]
        );
        assert_eq!(out.done.len(), 3);
        assert_eq!(printed, 3);
        assert!(out.interrupted.is_none());
    }

    #[test]
    fn trials_stop_at_the_first_error() {
        let out = run_trials(
            0,
            5,
            |r| {
                if r == Run::Trial(2) {
                    Err("boom")
                } else {
                    Ok(r)
                }
            },
            |_| {},
            |_| true,
        );
        assert_eq!(out.unwrap_err(), "boom");
    }
}
