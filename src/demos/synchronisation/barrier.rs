//! barrier's lab bench: the log that records the printed lines in print order, the rounds (each
//! a fresh barrier and fresh threads, started together and joined), the ordering check, the
//! report, the analysis and the verdict. The lecture's thread function is `src/bin/barrier.rs`.

use std::fmt::Display;
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::Result;
use crate::kit::report::Output;
use crate::kit::stats::median;
use crate::kit::timing::{fmt_ns, nanos};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::sync::gate::run_together;

/// The examples after `barrier --help`.
pub const EXAMPLES: &str = "Example: barrier --use-barrier --rounds 200 --quiet\n         barrier --rounds 200 --format csv";

/// A line a thread printed: thread `n`'s Before or After line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Before(usize),
    After(usize),
}

/// The printed lines, in print order: a thread logs its line and prints it under one lock, so
/// the log's order is the order on the screen.
pub struct Log {
    lines: Mutex<Vec<Line>>,
    out: Output,
}

impl Log {
    /// Prints `text` (a lecture line) and records it as `line`.
    pub fn print(&self, line: Line, text: impl Display) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.push(line);
        self.out.lecture(text);
    }
}

/// What one thread measured.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadRun {
    pub thread: usize,
    /// Time between reaching the barrier and passing it, ns (0 without one).
    pub waited_ns: u64,
    /// The last to arrive: it found the others waiting and released them (std's `is_leader`).
    pub leader: bool,
    #[serde(skip)]
    pub arrived: Instant,
    #[serde(skip)]
    pub passed: Instant,
}

impl ThreadRun {
    /// Thread `thread` reached the barrier at `arrived` and went on at `passed`; `leader` when
    /// it was the last to arrive. Without a barrier it waited nothing.
    pub fn new(
        thread: usize,
        barrier: bool,
        leader: bool,
        arrived: Instant,
        passed: Instant,
    ) -> ThreadRun {
        ThreadRun {
            thread,
            waited_ns: if barrier { nanos(passed - arrived) } else { 0 },
            leader,
            arrived,
            passed,
        }
    }
}

/// One round: a CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    pub round: u32,
    /// Every Before line came before every After line.
    pub held: bool,
    /// After lines printed before the last Before line (0 when the order held).
    pub early_afters: usize,
    /// The lines in print order: B0 = thread-0's Before, A2 = thread-2's After.
    pub order: String,
    /// The thread that arrived last and released the others (with the barrier).
    pub leader: Option<usize>,
    /// From the last arrival to the last thread passing: the barrier's release, ns.
    pub release_ns: Option<u64>,
    pub threads: Vec<ThreadRun>,
}

impl Round {
    /// Round `round` from its printed lines, in print order, and its threads' runs.
    pub fn new(round: u32, lines: &[Line], threads: Vec<ThreadRun>) -> Round {
        let last_before = lines.iter().rposition(|l| matches!(l, Line::Before(_)));
        let early_afters = last_before.map_or(0, |last| {
            lines[..last]
                .iter()
                .filter(|l| matches!(l, Line::After(_)))
                .count()
        });
        let order = lines
            .iter()
            .map(|l| match l {
                Line::Before(t) => format!("B{t}"),
                Line::After(t) => format!("A{t}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let leader = threads.iter().find(|t| t.leader).map(|t| t.thread);
        let release_ns = leader.and_then(|_| {
            let last_arrival = threads.iter().map(|t| t.arrived).max()?;
            let last_pass = threads.iter().map(|t| t.passed).max()?;
            Some(nanos(last_pass.saturating_duration_since(last_arrival)))
        });
        Round {
            round,
            held: early_afters == 0,
            early_afters,
            order,
            leader,
            release_ns,
            threads,
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub use_barrier: bool,
    pub threads: u32,
    pub rounds: u32,
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub rounds: Vec<Round>,
    /// Rounds where every Before came before every After, and where it did not.
    pub held: usize,
    pub violated: usize,
    /// Median over rounds of the barrier's release, ns.
    pub release_median_ns: Option<f64>,
}

impl Results {
    /// The results of these rounds.
    pub fn of(rounds: Vec<Round>) -> Results {
        let held = rounds.iter().filter(|r| r.held).count();
        let releases: Vec<f64> = rounds
            .iter()
            .filter_map(|r| r.release_ns.map(|ns| ns as f64))
            .collect();
        Results {
            held,
            violated: rounds.len() - held,
            release_median_ns: (!releases.is_empty()).then(|| median(releases)),
            rounds,
        }
    }

    fn first_violation(&self) -> Option<&Round> {
        self.rounds.iter().find(|r| !r.held)
    }
}

/// Runs the lecture's program `p.rounds` times (until Ctrl-C): each time a fresh barrier
/// (`barrier = Barrier(NUM_THREADS)`, if `--use-barrier`) and `p.threads` fresh threads named
/// `thread-0`, ... on `thread_function(i, barrier, log)`, started together and joined.
pub fn rounds(
    s: &Session,
    p: &Params,
    thread_function: impl Fn(usize, Option<&Barrier>, &Log) -> ThreadRun + Sync,
) -> Result<Results> {
    let mut rounds = Vec::with_capacity(p.rounds as usize);
    for k in 1..=p.rounds {
        if interrupt::requested().is_some() {
            break;
        }
        rounds.push(round(k, s.out, p, &thread_function)?);
    }
    Ok(Results::of(rounds))
}

/// One run of the lecture's program: create the threads, let them run, join them.
fn round(
    number: u32,
    out: Output,
    p: &Params,
    thread_function: &(impl Fn(usize, Option<&Barrier>, &Log) -> ThreadRun + Sync),
) -> Result<Round> {
    let n = p.threads as usize;
    let barrier = Barrier::new(n); // barrier = Barrier(NUM_THREADS)
    let barrier = p.use_barrier.then_some(&barrier);
    let log = Log {
        lines: Mutex::new(Vec::with_capacity(2 * n)),
        out,
    };
    // The threads wait at a gate until all exist: if creating one fails, the others are let go
    // instead of waiting at the barrier forever for a thread that will never come.
    let (_, runs) = run_together(
        n,
        |i| format!("thread-{i}"),
        |i, gate| gate.wait().then(|| thread_function(i, barrier, &log)),
    )?;
    let runs: Vec<ThreadRun> = runs.into_iter().flatten().collect();
    let lines = log.lines.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Round::new(number, &lines, runs))
}

fn secs(ns: u64) -> String {
    fmt_ns(ns as f64)
}

impl Findings for Results {
    type Params = Params;
    type Row = Round;

    fn headline(&self, p: &Params) -> String {
        format!(
            "order held in {} of {} ({})",
            self.held,
            words::count(self.rounds.len() as u64, "round"),
            if p.use_barrier {
                "with the barrier"
            } else {
                "no barrier"
            }
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(last) = self.rounds.last() else {
            return lines;
        };
        let n = p.threads as u64;
        if self.rounds.len() == 1 {
            if last.held {
                lines.push(format!(
                    "order: every Before came before every After: held{}",
                    if p.use_barrier {
                        " (the barrier makes it so)"
                    } else {
                        " this time, by luck: nothing made it so"
                    }
                ));
            } else {
                lines.push(format!(
                    "order: violated: {} {} printed before the last Before line ({})",
                    words::count(last.early_afters as u64, "After line"),
                    words::noun(last.early_afters as u64, "was"),
                    last.order
                ));
            }
        } else {
            lines.push(format!(
                "rounds: {}: every Before came before every After in {} (held) and not in {} (violated)",
                self.rounds.len(),
                self.held,
                self.violated
            ));
        }
        if p.use_barrier && n > 1 {
            let first_waited = last.threads.iter().map(|t| t.waited_ns).max().unwrap_or(0);
            lines.push(format!(
                "at the barrier (last round): thread-{} arrived last and released the others; the first to arrive waited {}",
                last.leader.map_or("?".into(), |l| l.to_string()),
                secs(first_waited)
            ));
            if let Some(release) = self.release_median_ns {
                lines.push(format!(
                    "release: from the last arrival to the last thread passing, {} (median of {}): the leader wakes {} at once",
                    fmt_ns(release),
                    words::count(self.rounds.len() as u64, "round"),
                    words::count(n - 1, "sleeping thread")
                ));
            }
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = if p.use_barrier {
            "no thread passes the barrier until all have reached it (every Before comes before every After)"
        } else {
            "every Before comes before every After (without --use-barrier nothing makes it so)"
        };
        let k = self.rounds.len() as u64;
        if k == 0 {
            return Verdict::unchecked(claim, "stopped before a round completed");
        }
        let rounds = if k == 1 {
            "the round".to_string()
        } else {
            format!("all {k} rounds")
        };
        match self.first_violation() {
            None => Verdict::held(
                claim,
                format!(
                    "in {rounds} every Before line came before every After line{}",
                    if p.use_barrier {
                        ""
                    } else {
                        ": by luck, nothing made it so"
                    }
                ),
            ),
            Some(r) => {
                let which = if k == 1 {
                    format!(
                        "in the round {} {} printed before the last Before line ({})",
                        words::count(r.early_afters as u64, "After line"),
                        words::noun(r.early_afters as u64, "was"),
                        r.order
                    )
                } else {
                    format!(
                        "in {} of {} an After line came before the last Before line (round {}: {}, {} too early)",
                        self.violated,
                        words::count(k, "round"),
                        r.round,
                        r.order,
                        words::count(r.early_afters as u64, "After line")
                    )
                };
                Verdict::did_not_hold(
                    claim,
                    format!(
                        "{which}{}",
                        if p.use_barrier {
                            ""
                        } else {
                            ": there was no barrier to hold the threads back (--use-barrier)"
                        }
                    ),
                )
            }
        }
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let k = words::count(self.rounds.len() as u64, "round");
        match (self.rounds.last(), p.use_barrier, self.violated) {
            (None, true, _) => "no thread passes a barrier until all have reached it: everything before it happens before anything after it".into(),
            (None, false, _) => "threads run in no particular order: without a barrier one thread's After can come before another's Before".into(),
            (Some(last), true, 0) => {
                let waited = last.threads.iter().map(|t| t.waited_ns).max().unwrap_or(0);
                format!(
                    "no thread passes a barrier until all have reached it: in {k} every Before came first; in the last, thread-{} arrived last and released the others, the first of which had waited {}",
                    last.leader.map_or("?".into(), |l| l.to_string()),
                    secs(waited)
                )
            }
            (Some(_), true, v) => format!(
                "a barrier should hold every thread until all have arrived, yet {v} of {k} broke the order: the barrier did not do its job"
            ),
            (Some(_), false, 0) => format!(
                "nothing ordered the threads: every Before came first in {k}, by luck; without a barrier one thread's After can come before another's Before (--rounds 200 counts how often), and --use-barrier makes the order certain"
            ),
            (Some(_), false, v) => format!(
                "threads run in no particular order: without a barrier an After came before another thread's Before in {v} of {k}; --use-barrier holds every thread until all have arrived"
            ),
        }
    }

    fn compare(&self, p: &Params) -> String {
        let w = p.threads.saturating_sub(1).max(1);
        format!(
            "perf bench futex wake -t {w} -w {w}   (a barrier's release: the last thread to arrive wakes every sleeping one with one FUTEX_WAKE, as std's Barrier does through notify_all)"
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Round> {
        self.rounds.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!(
            "{} of {}",
            self.rounds.len(),
            words::count(p.rounds, "round")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A round of three threads printed in `order` ("B0 B1 A0 ..."), with the barrier's figures
    /// when `barrier`.
    fn round(number: u32, order: &str, barrier: bool) -> Round {
        let lines: Vec<Line> = order
            .split(' ')
            .map(|w| {
                let t = w[1..].parse().unwrap();
                if w.starts_with('B') {
                    Line::Before(t)
                } else {
                    Line::After(t)
                }
            })
            .collect();
        let t0 = Instant::now();
        let threads = (0..3)
            .map(|i| {
                let arrived = t0 + Duration::from_micros(100 * i as u64);
                let passed = t0 + Duration::from_micros(250);
                ThreadRun::new(i, barrier, barrier && i == 2, arrived, passed)
            })
            .collect();
        Round::new(number, &lines, threads)
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    fn params(use_barrier: bool, rounds: u32) -> Params {
        Params {
            use_barrier,
            threads: 3,
            rounds,
        }
    }

    #[test]
    fn rounds_count_the_afters_printed_too_early() {
        let r = round(1, "B2 A2 B1 A1 B0 A0", false);
        assert_eq!((r.held, r.early_afters), (false, 2));
        let r = round(1, "B0 B2 B1 A1 A0 A2", true);
        assert_eq!((r.held, r.early_afters), (true, 0));
        assert_eq!(r.leader, Some(2));
        assert_eq!(r.release_ns, Some(50_000));
        assert_eq!(r.threads[0].waited_ns, 250_000);
    }

    #[test]
    fn with_the_barrier_the_order_holds_until_a_round_breaks_it() {
        let p = params(true, 20);
        let good = Results::of(
            (1..=20)
                .map(|k| round(k, "B0 B2 B1 A1 A0 A2", true))
                .collect(),
        );
        let (v, lesson, lines) = judge(&good, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "in all 20 rounds every Before line came before every After line"
        );
        assert!(
            lesson.contains("in 20 rounds every Before came first"),
            "{lesson}"
        );
        assert!(lesson.contains("thread-2 arrived last"), "{lesson}");
        assert_eq!(
            lines[0],
            "rounds: 20: every Before came before every After in 20 (held) and not in 0 (violated)"
        );
        assert!(lines[2].contains("(median of 20 rounds): the leader wakes 2 sleeping threads"));
        assert_eq!(
            good.headline(&p),
            "order held in 20 of 20 rounds (with the barrier)"
        );

        let mut rounds = good.rounds.clone();
        rounds[4] = round(5, "B0 A0 B1 B2 A1 A2", true);
        let bad = Results::of(rounds);
        let (v, ..) = judge(&bad, &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .starts_with("in 1 of 20 rounds an After line came before")
        );
        assert!(
            v.because
                .contains("(round 5: B0 A0 B1 B2 A1 A2, 1 After line too early)")
        );
    }

    #[test]
    fn without_the_barrier_the_verdict_counts_the_broken_rounds() {
        let p = params(false, 1);
        let one = Results::of(vec![round(1, "B2 A2 B1 A1 B0 A0", false)]);
        let (v, lesson, lines) = judge(&one, &p);
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            v.because,
            "in the round 2 After lines were printed before the last Before line (B2 A2 B1 A1 B0 A0): there was no barrier to hold the threads back (--use-barrier)"
        );
        assert!(lesson.contains("in 1 of 1 round"), "{lesson}");
        assert_eq!(
            lines,
            [
                "order: violated: 2 After lines were printed before the last Before line (B2 A2 B1 A1 B0 A0)"
            ]
        );
        let lucky = Results::of(vec![round(1, "B0 B1 B2 A0 A1 A2", false)]);
        let (v, lesson, lines) = judge(&lucky, &p);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.ends_with("by luck, nothing made it so"));
        assert!(
            lesson.starts_with("nothing ordered the threads"),
            "{lesson}"
        );
        assert!(lines[0].ends_with("held this time, by luck: nothing made it so"));

        let none = Results::of(Vec::new());
        let (v, ..) = judge(&none, &params(true, 5));
        assert_eq!(v.held, None);
        assert_eq!(
            none.progress(&params(true, 5)).as_deref(),
            Some("0 of 5 rounds")
        );
    }
}
