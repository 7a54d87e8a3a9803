//! coop_sched's lab bench: the record of what the user threads printed and when the scheduler
//! switched, the timer and the counters around the run (stacks mapped and freed, the kernel's
//! switches of the one OS thread), and the verdict on the lecture's claim, checked against the
//! recorded order: threads interleave only when they yield (or when a timer makes them).
//!
//! The lecture's program (the thread function, the run queue, main creating the threads) is the
//! binary's (`src/bin/coop_sched.rs`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::kit::plot;
use crate::kit::report::Output;
use crate::kit::timing::{fmt_ns, nanos};
use crate::kit::{Context, Findings, Session, Verdict, words};
use crate::proc::counters::{Snapshot, ThreadUsage};
use crate::sys::ult::{self, TimeSlices};
use crate::{Error, Result};

/// When a thread gives the CPU back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only once, at the end (the lecture's default build).
    Sequential,
    /// After every step (--cooperate).
    Cooperate,
    /// When the timer says its slice is over (--preemptive).
    Preemptive,
}

impl Mode {
    /// The mode the flags ask for: `--preemptive`, `--cooperate`, or neither.
    pub fn of(cooperate: bool, preemptive: bool) -> Mode {
        match (cooperate, preemptive) {
            (_, true) => Mode::Preemptive,
            (true, _) => Mode::Cooperate,
            _ => Mode::Sequential,
        }
    }
}

/// What a thread printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Created,
    Step(u32),
    Finished,
}

impl Event {
    fn parts(self) -> (&'static str, Option<u32>) {
        match self {
            Event::Created => ("created", None),
            Event::Step(i) => ("step", Some(i)),
            Event::Finished => ("finished", None),
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub mode: Mode,
    pub threads: u32,
    pub steps: u32,
    /// With --preemptive: the time slice and each step's work.
    pub slice_ns: Option<u64>,
    pub busy_ns: Option<u64>,
    pub stack_bytes: usize,
}

impl Params {
    /// The parameters of a run in `mode`; `slice` and `busy` count only under --preemptive.
    pub fn new(mode: Mode, threads: u32, steps: u32, slice: Duration, busy: Duration) -> Params {
        let preemptive = mode == Mode::Preemptive;
        Params {
            mode,
            threads,
            steps,
            slice_ns: preemptive.then(|| nanos(slice)),
            busy_ns: preemptive.then(|| nanos(busy)),
            stack_bytes: ult::STACK_SIZE,
        }
    }

    /// Lines the lecture's program prints when it runs to the end.
    fn lines(&self) -> usize {
        self.threads as usize * (self.steps as usize + 2)
    }
}

/// One lecture line, in the order it was printed: one CSV row.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub seq: usize,
    /// When it was printed, from the start of the run (CLOCK_MONOTONIC), ns.
    pub t_ns: u64,
    pub thread: u32,
    pub event: &'static str,
    pub step: Option<u32>,
    pub line: String,
}

/// What the threads printed and when the scheduler switched. Shared by the user threads on
/// one OS thread (no borrow is held across a switch).
pub struct Log {
    out: Output,
    inner: RefCell<Record>,
    /// CLOCK_MONOTONIC when the run began.
    start_ns: u64,
}

#[derive(Default)]
struct Record {
    events: Vec<Line>,
    schedule: Vec<u32>,
    switch_ns: Vec<u64>,
    preemptions: u64,
}

impl Log {
    /// The thread's printf: the lecture line, printed as it happens, and recorded.
    pub fn say(&self, thread: u32, event: Event, line: String) {
        self.out.lecture(&line);
        let mut r = self.inner.borrow_mut();
        let (event, step) = event.parts();
        let seq = r.events.len() + 1;
        r.events.push(Line {
            seq,
            t_ns: crate::kit::timing::monotonic_ns().saturating_sub(self.start_ns),
            thread,
            event,
            step,
            line,
        });
    }

    /// The scheduler switched to thread `tid`. Resuming the thread that ran last (its slice
    /// ended with no other thread ready, or the others have finished) is no switch.
    pub fn switched_to(&self, tid: u32) {
        let mut r = self.inner.borrow_mut();
        if r.schedule.last() != Some(&tid) {
            r.schedule.push(tid);
            let t = crate::kit::timing::monotonic_ns().saturating_sub(self.start_ns);
            r.switch_ns.push(t);
        }
    }

    /// A thread yielded at a safepoint because its slice was over.
    pub fn preempted(&self) {
        self.inner.borrow_mut().preemptions += 1;
    }
}

/// The run's figures (one "trial", for `oslab compare`).
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// Times the scheduler switched to a user thread.
    pub switches: u64,
    /// Yields made at a safepoint because the timer ended the slice.
    pub preemptions: u64,
    /// SIGPROF signals received.
    pub timer_ticks: u64,
    pub elapsed_ns: u64,
    /// CPU time the process used meanwhile (what ITIMER_PROF counts).
    pub cpu_ns: u64,
    /// True when the threads' lines interleave.
    pub interleaved: bool,
    /// The kernel's count for the one OS thread: it switched none of the user threads.
    pub kernel_voluntary_cs: u64,
    pub kernel_nonvoluntary_cs: u64,
    pub stacks_mapped: usize,
    pub stacks_unmapped: usize,
    pub stacks_leaked: usize,
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// The lecture's lines, in order.
    pub lines: Vec<String>,
    /// The thread the scheduler switched to, at each switch.
    pub schedule: Vec<u32>,
    /// When each switch in `schedule` happened, from the start of the run (CLOCK_MONOTONIC), ns.
    pub switch_ns: Vec<u64>,
    pub trials: Vec<Trial>,
    pub events: Vec<Line>,
}

/// Runs the lecture's program, `body` (create the threads, run the scheduler until all have
/// finished), with the timer under --preemptive, and counts what it did.
pub fn run(s: &Session, p: &Params, body: impl FnOnce(&Rc<Log>) -> Result<()>) -> Result<Results> {
    let log = Rc::new(Log {
        out: s.out,
        inner: RefCell::new(Record::default()),
        start_ns: crate::kit::timing::monotonic_ns(),
    });
    let stacks_before = ult::stacks();
    let before = Snapshot::of_self()?;
    let kernel_before = ThreadUsage::now()?;
    let timer = match p.slice_ns {
        Some(ns) if p.mode == Mode::Preemptive => {
            Some(TimeSlices::start(Duration::from_nanos(ns))?)
        }
        _ => None,
    };
    let started = Instant::now();
    body(&log)?;
    let elapsed = started.elapsed();
    let ticks = timer.as_ref().map_or(0, TimeSlices::ticks);
    drop(timer);
    let kernel = kernel_before.delta(&ThreadUsage::now()?);
    let counters = before.delta(&Snapshot::of_self()?);
    let stacks_after = ult::stacks();
    let log = Rc::try_unwrap(log)
        .map_err(|_| Error::Failed("a user thread outlived the scheduler".into()))?
        .inner
        .into_inner();
    let trial = Trial {
        switches: log.schedule.len() as u64,
        preemptions: log.preemptions,
        timer_ticks: ticks,
        elapsed_ns: nanos(elapsed),
        cpu_ns: (counters.utime_us + counters.stime_us) * 1000,
        interleaved: interleaved(&log.events),
        kernel_voluntary_cs: kernel.voluntary_cs,
        kernel_nonvoluntary_cs: kernel.nonvoluntary_cs,
        stacks_mapped: stacks_after.mapped - stacks_before.mapped,
        stacks_unmapped: stacks_after.unmapped - stacks_before.unmapped,
        stacks_leaked: stacks_after.leaked - stacks_before.leaked,
    };
    Ok(Results {
        lines: log.events.iter().map(|e| e.line.clone()).collect(),
        schedule: log.schedule,
        switch_ns: log.switch_ns,
        trials: vec![trial],
        events: log.events,
    })
}

/// The first line printed by a thread that comes back after another thread ran: the first
/// sign that the threads interleave.
fn first_return(events: &[Line]) -> Option<&Line> {
    let mut seen_done: Vec<u32> = Vec::new();
    let mut current: Option<u32> = None;
    for e in events {
        if current != Some(e.thread) {
            if seen_done.contains(&e.thread) {
                return Some(e); // it comes back after another thread ran
            }
            if let Some(c) = current {
                seen_done.push(c);
            }
            current = Some(e.thread);
        }
    }
    None
}

/// True when some thread printed a line between another thread's first and last lines.
fn interleaved(events: &[Line]) -> bool {
    first_return(events).is_some()
}

/// The lecture's output line by line, as (thread, event): yielding only at the end, each
/// thread from created to finished, one after the other; with a yield after every step, each
/// thread created as the run queue first reaches it, the steps alternating, then the ends.
fn expected(mode: Mode, threads: u32, steps: u32) -> Vec<(u32, Event)> {
    let mut out = Vec::new();
    match mode {
        Mode::Sequential | Mode::Preemptive => {
            for t in 1..=threads {
                out.push((t, Event::Created));
                out.extend((0..steps).map(|i| (t, Event::Step(i))));
                out.push((t, Event::Finished));
            }
        }
        Mode::Cooperate => {
            for i in 0..steps {
                for t in 1..=threads {
                    if i == 0 {
                        out.push((t, Event::Created));
                    }
                    out.push((t, Event::Step(i)));
                }
            }
            out.extend((1..=threads).map(|t| (t, Event::Finished)));
        }
    }
    out
}

/// Where the recorded lines first differ from the expected: its index, what came, what was due.
type Difference<'a> = (usize, Option<&'a Line>, Option<(u32, Event)>);

/// Where the recorded lines first differ from `want`.
fn first_difference<'a>(got: &'a [Line], want: &[(u32, Event)]) -> Option<Difference<'a>> {
    let n = got.len().max(want.len());
    (0..n).find_map(|i| {
        let g = got.get(i);
        let w = want.get(i).copied();
        let same = match (g, w) {
            (Some(g), Some((t, e))) => g.thread == t && (g.event, g.step) == e.parts(),
            _ => false,
        };
        (!same).then_some((i, g, w))
    })
}

/// `Thread 2: step 0`, as the lecture prints it.
fn lecture_line(thread: u32, event: Event) -> String {
    match event {
        Event::Created => format!("Thread {thread} created!"),
        Event::Step(i) => format!("Thread {thread}: step {i}"),
        Event::Finished => format!("Thread {thread} finished!"),
    }
}

/// `1, 2, 1, 2, 1, 2, …`: the threads of the first step lines, in order.
fn step_order(events: &[Line]) -> String {
    let steps: Vec<String> = events
        .iter()
        .filter(|e| e.event == "step")
        .map(|e| e.thread.to_string())
        .collect();
    if steps.len() > 8 {
        format!("{}, …", steps[..8].join(", "))
    } else {
        steps.join(", ")
    }
}

impl Results {
    fn trial(&self) -> &Trial {
        &self.trials[0]
    }

    fn kernel_switches(&self) -> u64 {
        self.trial().kernel_voluntary_cs + self.trial().kernel_nonvoluntary_cs
    }
}

fn claim(mode: Mode) -> &'static str {
    match mode {
        Mode::Sequential => {
            "threads that yield only at their end run one after the other, each from created to finished"
        }
        Mode::Cooperate => "threads that yield after every step alternate, one step each in turn",
        Mode::Preemptive => "a timer interleaves threads that never yield",
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Line;

    fn headline(&self, p: &Params) -> String {
        let t = self.trial();
        let mode = match p.mode {
            Mode::Sequential => "yield at the end",
            Mode::Cooperate => "--cooperate",
            Mode::Preemptive => "--preemptive",
        };
        format!(
            "{mode}: {} × {} {} by {} on one OS thread ({}); {}/{} stacks freed",
            words::count(p.threads, "user thread"),
            words::count(p.steps, "step"),
            if t.interleaved {
                "interleaved"
            } else {
                "one after the other"
            },
            words::count(t.switches, "switch"),
            words::count(self.kernel_switches(), "kernel switch"),
            t.stacks_unmapped,
            t.stacks_mapped
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let t = self.trial();
        let ns = |v: Option<u64>| fmt_ns(v.unwrap_or(0) as f64);
        let how = match p.mode {
            Mode::Sequential => {
                "each thread yields once, at its end (the lecture's default build)".to_string()
            }
            Mode::Cooperate => "each thread yields after every step (--cooperate)".to_string(),
            Mode::Preemptive => format!(
                "no thread yields; a SIGPROF every {} of CPU time ends the running thread's slice, and each step computes for {}",
                ns(p.slice_ns),
                ns(p.busy_ns)
            ),
        };
        let order: Vec<String> = self.schedule.iter().map(u32::to_string).collect();
        let mut lines = vec![
            format!("mode: {how}"),
            format!(
                "schedule: the run queue switched to thread {} ({}, swapcontext in user space)",
                order.join(", "),
                words::count(t.switches, "switch")
            ),
            format!(
                "order: {}",
                if t.interleaved {
                    "the threads' lines interleave"
                } else {
                    "each thread ran from created to finished before the next one started"
                }
            ),
        ];
        if p.mode == Mode::Preemptive {
            lines.push(format!(
                "timer: {} over {} of CPU time ({} wall); {}, each taken at a safepoint (the handler only sets a flag)",
                words::count(t.timer_ticks, "SIGPROF tick"),
                fmt_ns(t.cpu_ns as f64),
                fmt_ns(t.elapsed_ns as f64),
                words::count(t.preemptions, "preemption")
            ));
        }
        lines.push(format!(
            "kernel: this one OS thread made {} and {} meanwhile: the kernel schedules the process, not the user threads",
            words::count(t.kernel_voluntary_cs, "voluntary context switch"),
            words::count(t.kernel_nonvoluntary_cs, "nonvoluntary context switch")
        ));
        lines.push(format!(
            "stacks: {} of {} {} ({} KiB each, mmap with a guard page) unmapped{}",
            t.stacks_unmapped,
            t.stacks_mapped,
            words::noun(t.stacks_mapped as u64, "user-thread stack"),
            p.stack_bytes / 1024,
            if t.stacks_leaked > 0 {
                format!(", {} leaked (stopped midway)", t.stacks_leaked)
            } else {
                String::new()
            }
        ));
        lines
    }

    fn verdict(&self, p: &Params, cx: &Context<'_>) -> Verdict {
        let claim = claim(p.mode);
        let t = self.trial();
        if cx.stopped.is_some() || self.events.len() < p.lines() {
            return Verdict::unchecked(
                claim,
                format!("stopped after {} of {} lines", self.events.len(), p.lines()),
            );
        }
        if p.threads < 2 {
            return Verdict::unchecked(
                claim,
                "one user thread: there is nothing to interleave it with",
            );
        }
        if p.mode == Mode::Preemptive {
            let Some(back) = first_return(&self.events) else {
                let why = if t.timer_ticks == 0 {
                    format!(
                        "the timer never fired: the whole run took {} of CPU time, less than one slice of {}",
                        fmt_ns(t.cpu_ns as f64),
                        fmt_ns(p.slice_ns.unwrap_or(0) as f64)
                    )
                } else {
                    format!(
                        "{} but {}: no slice ended while a thread had steps left",
                        words::count(t.timer_ticks, "SIGPROF tick"),
                        words::count(t.preemptions, "preemption")
                    )
                };
                return Verdict::did_not_hold(claim, format!("each thread ran to its end: {why}"));
            };
            return Verdict::held(
                claim,
                format!(
                    "{} after {}: thread {} came back at line {} (`{}`) after another thread had run",
                    words::count(t.preemptions, "preemption"),
                    words::count(t.timer_ticks, "SIGPROF tick"),
                    back.thread,
                    back.seq,
                    back.line
                ),
            );
        }
        let want = expected(p.mode, p.threads, p.steps);
        match first_difference(&self.events, &want) {
            None if p.mode == Mode::Sequential => Verdict::held(
                claim,
                format!(
                    "all {} lines came thread by thread, each thread's {} together, in the order {}",
                    self.events.len(),
                    p.steps + 2,
                    words::list(1..=p.threads)
                ),
            ),
            None => Verdict::held(
                claim,
                format!(
                    "the {} step lines took turns: thread {}",
                    p.threads * p.steps,
                    step_order(&self.events)
                ),
            ),
            Some((i, got, due)) => Verdict::did_not_hold(
                claim,
                format!(
                    "line {} was `{}` where `{}` was due",
                    i + 1,
                    got.map_or("nothing", |l| l.line.as_str()),
                    due.map_or_else(|| "nothing".to_string(), |(t, e)| lecture_line(t, e))
                ),
            ),
        }
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let t = self.trial();
        let kernel = words::count(self.kernel_switches(), "context switch");
        let switches = words::count(t.switches, "switch");
        if p.threads == 1 {
            return format!(
                "a scheduler switches between threads; with one user thread there is none to switch to: it printed its {} alone ({switches} in user space, {kernel} of the OS thread in the kernel)",
                words::count(self.events.len() as u64, "line")
            );
        }
        match (p.mode, t.interleaved) {
            (Mode::Sequential, false) => format!(
                "a cooperative thread keeps the CPU until it yields: yielding only at its end, each thread printed all its steps before the next one started; the run queue made {switches} in user space, and the kernel counted {kernel} of this one OS thread"
            ),
            (Mode::Cooperate, true) => format!(
                "a cooperative scheduler switches only at yields: a yield after every step made the run queue alternate the threads ({switches}, swapcontext in user space), and the kernel counted {kernel} of this one OS thread: it sees none of ours"
            ),
            (Mode::Preemptive, true) => format!(
                "a timer takes the CPU back without the thread's help: {} ended {} and the threads interleaved though none of them yields; the handler only sets a flag, and the thread switches at its next safepoint",
                words::count(t.timer_ticks, "SIGPROF tick"),
                words::count(t.preemptions, "slice")
            ),
            (Mode::Preemptive, false) => format!(
                "a timer can take the CPU back only when it fires while a thread still has work: here {} came and each thread ran to its end; more --steps or a longer --busy give the timer its chance",
                words::count(t.timer_ticks, "SIGPROF tick")
            ),
            (_, true) => "the threads' lines interleaved although they yield only at their end: something switched them without a yield".into(),
            (_, false) if self.events.is_empty() => "a cooperative scheduler switches only at yields; this run stopped before a thread printed".into(),
            (_, false) => format!(
                "a cooperative scheduler switches only at yields: one thread printed all its lines ({switches} in all), so there was nothing to alternate with"
            ),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "perf stat -e context-switches,task-clock coop_sched --preemptive   (a handful of kernel switches: the rest are ours)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Line> {
        self.events.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!("{} of {} lines", self.events.len(), p.lines()))
    }
}

/// The run's picture: who ran when, one lane per user thread, a box from each switch of the
/// run queue to the next (the last until the last line was printed): the schedule as a Gantt
/// chart. From the report.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<plot::Figure> {
    let r = plot::Report(report);
    let threads = r.num("/params/threads")? as usize;
    let mode = r.str("/params/mode")?;
    let schedule = r.nums("/results/schedule")?;
    let at = r.nums("/results/switch_ns")?;
    let last_line = r
        .list("/results/events")?
        .iter()
        .filter_map(|e| e.get("t_ns").and_then(serde_json::Value::as_f64))
        .fold(0.0, f64::max);
    if schedule.is_empty() || at.len() != schedule.len() {
        anyhow::bail!("the report has no switches with their times: nothing to draw");
    }
    let end = last_line.max(at[at.len() - 1]);
    // The last box at least 1% of the run wide, so it shows.
    let end = end.max(at[at.len() - 1] + end * 0.01);
    let (unit, div) = plot::time_unit(end);
    let mut lanes: Vec<plot::Lane> = (1..=threads)
        .map(|t| plot::Lane {
            label: format!("Thread {t}"),
            spans: Vec::new(),
        })
        .collect();
    for (k, (&thread, &from)) in schedule.iter().zip(&at).enumerate() {
        let to = at.get(k + 1).copied().unwrap_or(end);
        if let Some(lane) = lanes.get_mut((thread as usize).wrapping_sub(1)) {
            lane.spans.push(plot::Span {
                from: from / div,
                to: to / div,
                state: 0,
            });
        }
    }
    let interleaved = r.get("/results/trials/0/interleaved")?.as_bool() == Some(true);
    let how = match mode {
        "sequential" => "a thread yields only when it is done",
        "cooperate" => "each thread yields after every step",
        _ => "a timer takes the CPU from a thread when its slice is over",
    };
    Ok(plot::Figure {
        title: format!(
            "coop_sched, {mode}: {threads} user threads on one OS thread, {}",
            if interleaved {
                "interleaved"
            } else {
                "one after another"
            }
        ),
        run: r.run_lines(),
        panels: vec![plot::Panel {
            title: format!(
                "who ran when ({}): {how}",
                words::count(schedule.len() as u64, "switch")
            ),
            x: format!("time since the start ({unit})"),
            y: "user thread".into(),
            chart: plot::Chart::Gantt {
                lanes,
                states: vec!["running (the run queue switched to it)".into()],
                marks: Vec::new(),
            },
        }],
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(thread: u32) -> Line {
        Line {
            seq: 0,
            t_ns: 0,
            thread,
            event: "step",
            step: Some(0),
            line: String::new(),
        }
    }

    #[test]
    fn resuming_the_thread_that_ran_last_is_no_switch() {
        let log = Log {
            out: Output::silent(),
            inner: RefCell::new(Record::default()),
            start_ns: 0,
        };
        for tid in [1, 2, 2, 2, 1, 1] {
            log.switched_to(tid);
        }
        assert_eq!(log.inner.borrow().schedule, [1, 2, 1]);
    }

    fn record(order: &[(u32, Event)]) -> Vec<Line> {
        order
            .iter()
            .enumerate()
            .map(|(i, &(thread, event))| {
                let (e, step) = event.parts();
                Line {
                    seq: i + 1,
                    t_ns: i as u64 * 1000,
                    thread,
                    event: e,
                    step,
                    line: lecture_line(thread, event),
                }
            })
            .collect()
    }

    fn results(events: Vec<Line>, preemptions: u64, ticks: u64) -> Results {
        Results {
            lines: events.iter().map(|e| e.line.clone()).collect(),
            schedule: vec![1, 2, 1, 2],
            switch_ns: vec![0, 250_000, 500_000, 750_000],
            trials: vec![Trial {
                switches: 4,
                preemptions,
                timer_ticks: ticks,
                elapsed_ns: 1_000_000,
                cpu_ns: 1_000_000,
                interleaved: interleaved(&events),
                kernel_voluntary_cs: 0,
                kernel_nonvoluntary_cs: 1,
                stacks_mapped: 2,
                stacks_unmapped: 2,
                stacks_leaked: 0,
            }],
            events,
        }
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String) {
        let (verdict, lesson, _) = crate::testing::judge(r, p);
        (verdict, lesson)
    }

    fn params(mode: Mode) -> Params {
        Params::new(
            mode,
            2,
            3,
            Duration::from_millis(10),
            Duration::from_millis(25),
        )
    }

    #[test]
    fn interleaving_is_a_thread_coming_back() {
        let seq = |ts: &[u32]| ts.iter().map(|&t| line(t)).collect::<Vec<_>>();
        assert!(!interleaved(&seq(&[1, 1, 1, 2, 2, 2])));
        assert!(interleaved(&seq(&[1, 2, 1, 2])));
        assert!(interleaved(&seq(&[1, 1, 2, 2, 1])));
        assert!(!interleaved(&seq(&[])));
    }

    #[test]
    fn the_sequential_order_holds_and_a_stray_switch_breaks_it() {
        let p = params(Mode::Sequential);
        let good = expected(Mode::Sequential, 2, 3);
        let (v, lesson) = judge(&results(record(&good), 0, 0), &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .contains("each thread's 5 together, in the order 1 and 2"),
            "{}",
            v.because
        );
        assert!(lesson.contains("4 switches in user space"), "{lesson}");
        assert!(
            lesson.contains("1 context switch of this one OS thread"),
            "{lesson}"
        );

        let mut bad = good.clone();
        bad.swap(2, 5); // thread 2 is created in the middle of thread 1's steps
        let (v, _) = judge(&results(record(&bad), 0, 0), &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because
                .starts_with("line 3 was `Thread 2 created!` where `Thread 1: step 1` was due"),
            "{}",
            v.because
        );
    }

    #[test]
    fn cooperating_threads_alternate_or_the_verdict_says_where_they_did_not() {
        let p = params(Mode::Cooperate);
        let good = expected(Mode::Cooperate, 2, 3);
        assert_eq!(
            record(&good)
                .iter()
                .map(|l| l.line.as_str())
                .collect::<Vec<_>>()[..4],
            [
                "Thread 1 created!",
                "Thread 1: step 0",
                "Thread 2 created!",
                "Thread 2: step 0"
            ]
        );
        let (v, _) = judge(&results(record(&good), 0, 0), &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.ends_with("took turns: thread 1, 2, 1, 2, 1, 2"),
            "{}",
            v.because
        );
        // The same threads without yields: one after the other, not alternating.
        let (v, _) = judge(
            &results(record(&expected(Mode::Sequential, 2, 3)), 0, 0),
            &p,
        );
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    #[test]
    fn the_timer_interleaves_only_when_it_fires_during_the_steps() {
        let p = params(Mode::Preemptive);
        let mut order = expected(Mode::Sequential, 2, 3);
        order.swap(3, 6); // thread 2's first line comes before thread 1 has finished
        let (v, lesson) = judge(&results(record(&order), 3, 5), &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because.starts_with("3 preemptions after 5 SIGPROF ticks"),
            "{}",
            v.because
        );
        assert!(
            lesson.contains("5 SIGPROF ticks ended 3 slices"),
            "{lesson}"
        );

        let (v, lesson) = judge(
            &results(record(&expected(Mode::Sequential, 2, 3)), 0, 0),
            &p,
        );
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("the timer never fired"), "{}", v.because);
        assert!(lesson.contains("each thread ran to its end"), "{lesson}");
    }

    #[test]
    fn a_short_or_lonely_run_cannot_be_checked() {
        let p = params(Mode::Cooperate);
        let mut partial = expected(Mode::Cooperate, 2, 3);
        partial.truncate(4);
        assert_eq!(judge(&results(record(&partial), 0, 0), &p).0.held, None);
        let one = Params::new(Mode::Cooperate, 1, 3, Duration::ZERO, Duration::ZERO);
        let r = results(record(&expected(Mode::Cooperate, 1, 3)), 0, 0);
        assert_eq!(judge(&r, &one).0.held, None);
    }
}
