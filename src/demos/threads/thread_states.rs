//! `thread_states`'s lab bench: the four threads pinned to one CPU, the sampler that watches
//! them from another, how a state is decided, the timeline, the shares and the verdict.
//!
//! How a state is decided. The kernel's `/proc/self/task/TID/stat` says `R` both for the thread
//! on the CPU and for one waiting in the CPU's run queue, and `schedstat`'s run time moves only
//! at a tick or a switch. So every sample reads each thread's state letter, then its CPU clock
//! twice, a window (1 ms) apart: the per-thread CPU clock (`proc::tasks::thread_cpu_ns`), which
//! the kernel brings up to the instant for a thread on a CPU. A thread the window saw on the CPU
//! for at least half of it is RUNNING; an `R` thread that did not run is READY; any other letter
//! (`S`, `D`) is BLOCKED. `schedstat` (run time, time waiting in the run queue) gives the share
//! of time of each phase as the scheduler counted it, beside the samples' shares.
//!
//! The sampler runs on another CPU than the threads when there is one, so that it takes none of
//! their CPU's time; with one CPU it shares it, and sleeps through each window.

use std::io::{PipeWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::kit::cli::CpuList;
use crate::kit::report::table;
use crate::kit::{Context, Findings, Verdict, interrupt, words};
use crate::proc::tasks::{TaskState, thread_cpu_ns};
use crate::process::scheduler::placement;
use crate::{Error, Result};

/// The four threads, in the order they are spawned: two compute, one waits for the lock main
/// holds, one reads a pipe main has not written yet.
pub const THREADS: [&str; 4] = ["compute-1", "compute-2", "lock", "pipe"];
/// The share of a window a thread must have run to count as RUNNING in it.
pub const RUNNING_SHARE: f64 = 0.5;
/// How long the sampler waits for the lock and pipe threads to block before it starts.
const BLOCK_WAIT: Duration = Duration::from_secs(2);

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    /// Samples before the wake, and as many after it.
    pub samples: u32,
    pub interval_ms: u64,
    pub window_us: u64,
}

/// A thread's state in one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Running,
    Ready,
    Blocked,
}

impl State {
    /// Its character in the timeline.
    pub fn mark(self) -> char {
        match self {
            State::Running => 'R',
            State::Ready => '-',
            State::Blocked => '.',
        }
    }

    /// The state of a thread whose stat said `letter` and that ran `ran_ns` of a `window_ns`.
    pub fn decide(letter: char, ran_ns: u64, window_ns: u64) -> State {
        if window_ns > 0 && ran_ns as f64 >= RUNNING_SHARE * window_ns as f64 {
            State::Running
        } else if letter == 'R' {
            State::Ready
        } else {
            State::Blocked
        }
    }
}

/// Before main wakes the lock and pipe threads, or after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Before,
    After,
}

/// One sample: each thread's state letter, its CPU time in the window, its state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub phase: Phase,
    /// Since the first sample, ms.
    pub t_ms: f64,
    /// The window, ns.
    pub window_ns: u64,
    /// The `stat` letters, in [`THREADS`] order.
    pub letters: String,
    pub ran_ns: Vec<u64>,
    pub states: Vec<State>,
}

impl Sample {
    /// The threads RUNNING in it: all on the one CPU.
    pub fn running(&self) -> usize {
        self.states.iter().filter(|s| **s == State::Running).count()
    }
}

/// One phase of one thread: samples per state, and `schedstat`'s count of the phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Share {
    pub running: u32,
    pub ready: u32,
    pub blocked: u32,
    /// schedstat: time on the CPU, time waiting in its run queue, the phase's length, ns.
    pub run_ns: u64,
    pub wait_ns: u64,
    pub wall_ns: u64,
}

impl Share {
    fn count(&mut self, state: State) {
        match state {
            State::Running => self.running += 1,
            State::Ready => self.ready += 1,
            State::Blocked => self.blocked += 1,
        }
    }

    fn samples(&self) -> u32 {
        self.running + self.ready + self.blocked
    }

    /// `52% / 48% / 0%`: the samples' shares.
    fn by_samples(&self) -> String {
        let n = self.samples().max(1) as f64;
        let pct = |k: u32| format!("{:.0}%", 100.0 * k as f64 / n);
        format!(
            "{} / {} / {}",
            pct(self.running),
            pct(self.ready),
            pct(self.blocked)
        )
    }

    /// `ran 50%, waited 49%, other 1%`: schedstat's shares of the phase.
    fn by_schedstat(&self) -> String {
        let wall = self.wall_ns.max(1) as f64;
        let (run, wait) = (self.run_ns as f64 / wall, self.wait_ns as f64 / wall);
        format!(
            "{:.0}% / {:.0}% / {:.0}%",
            100.0 * run,
            100.0 * wait,
            100.0 * (1.0 - run - wait).max(0.0)
        )
    }
}

/// One thread: who it is, where it slept, its two phases.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thread {
    pub name: String,
    pub tid: i32,
    /// Its `wchan` at the first sample, while blocked: the kernel function it sleeps in.
    pub wchan: Option<String>,
    pub before: Share,
    pub after: Share,
}

/// The run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    /// The CPU the four threads are pinned to, and the sampler's (the same one when the demo may
    /// use only one CPU).
    pub cpu: usize,
    pub sampler_cpu: usize,
    pub threads: Vec<Thread>,
    pub samples: Vec<Sample>,
    /// The most threads RUNNING in one sample.
    pub max_running: usize,
}

/// The threads' CPU, the sampler's, and the threads as they start.
pub struct Bench {
    params: Params,
    cpu: usize,
    sampler_cpu: Option<usize>,
    tids: Vec<i32>,
    samples: Vec<Sample>,
    threads: Vec<Thread>,
    began: Option<Instant>,
    phase_start: Option<(Instant, Vec<(u64, u64)>)>,
}

impl Bench {
    /// Places the demo: the threads on the first CPU of `--cpu` (or of the usable ones), the
    /// sampler (this thread) on another one if there is one.
    pub fn new(params: Params, cpu: Option<&CpuList>) -> Result<Bench> {
        let (cpu, sampler_cpu) = placement(cpu)?;
        if let Some(other) = sampler_cpu {
            CpuList(vec![other]).pin_current_thread()?;
        }
        Ok(Bench {
            params,
            cpu,
            sampler_cpu,
            tids: Vec::new(),
            samples: Vec::new(),
            threads: Vec::new(),
            began: None,
            phase_start: None,
        })
    }

    /// Spawns the next of [`THREADS`] in `scope`, pinned to the threads' CPU, running `body`
    /// with its TID once it is there.
    pub fn spawn<'scope, 'env>(
        &mut self,
        scope: &'scope Scope<'scope, 'env>,
        body: impl FnOnce(i32) + Send + 'scope,
    ) -> Result<ScopedJoinHandle<'scope, ()>> {
        let index = self.tids.len();
        let name = THREADS[index];
        let cpu = self.cpu;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(scope, move || {
                let pinned = CpuList(vec![cpu]).pin_current_thread();
                let tid = nix::unistd::gettid().as_raw();
                let ok = pinned.is_ok();
                let _ = tx.send(pinned.map(|()| tid));
                if ok {
                    body(tid);
                }
            })
            .map_err(|source| Error::spawn(index + 1, THREADS.len(), source))?;
        let tid = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| Error::Failed(format!("thread {name} did not start")))??;
        self.tids.push(tid);
        self.threads.push(Thread {
            name: name.into(),
            tid,
            wchan: None,
            before: Share::default(),
            after: Share::default(),
        });
        Ok(handle)
    }

    /// Samples one phase: `--samples` samples, `--interval` apart. Before the first phase it
    /// waits (up to 2 s) for the lock and pipe threads to block, and notes where they sleep.
    pub fn sample(&mut self, phase: Phase) -> Result<()> {
        if phase == Phase::Before {
            self.wait_for_blocked();
        }
        self.phase_start = Some((Instant::now(), self.schedstats()));
        let began = *self.began.get_or_insert_with(Instant::now);
        let interval = Duration::from_millis(self.params.interval_ms);
        for i in 0..self.params.samples {
            if interrupt::requested().is_some() {
                break;
            }
            let tick = Instant::now();
            let sample = self.one(phase, tick.duration_since(began))?;
            for (thread, state) in self.threads.iter_mut().zip(&sample.states) {
                match phase {
                    Phase::Before => thread.before.count(*state),
                    Phase::After => thread.after.count(*state),
                }
            }
            self.samples.push(sample);
            if i + 1 < self.params.samples {
                let _ = interrupt::sleep(interval.saturating_sub(tick.elapsed()));
            }
        }
        self.close_phase(phase);
        Ok(())
    }

    fn wait_for_blocked(&mut self) {
        let deadline = Instant::now() + BLOCK_WAIT;
        loop {
            let states: Vec<Option<TaskState>> = self.tids[2..]
                .iter()
                .map(|t| TaskState::of_thread(nix::unistd::Pid::from_raw(*t)).ok())
                .collect();
            let blocked = states
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.state != 'R'));
            if blocked || Instant::now() > deadline || interrupt::requested().is_some() {
                for (thread, state) in self.threads[2..].iter_mut().zip(states) {
                    thread.wchan = state
                        .and_then(|s| s.wchan)
                        .filter(|w| !w.is_empty() && w != "0");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// One sample: the state letters, then the CPU clocks twice, a window apart.
    fn one(&self, phase: Phase, t: Duration) -> Result<Sample> {
        let letters: String = self.tids.iter().map(|t| letter(*t)).collect();
        let start = Instant::now();
        let first: Vec<Option<u64>> = self.tids.iter().map(|t| thread_cpu_ns(*t)).collect();
        std::thread::sleep(Duration::from_micros(self.params.window_us));
        let second: Vec<Option<u64>> = self.tids.iter().map(|t| thread_cpu_ns(*t)).collect();
        let window_ns = start.elapsed().as_nanos() as u64;
        let ran_ns: Vec<u64> = first
            .iter()
            .zip(&second)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => b.saturating_sub(*a),
                _ => 0,
            })
            .collect();
        let states = letters
            .chars()
            .zip(&ran_ns)
            .map(|(l, r)| State::decide(l, *r, window_ns))
            .collect();
        Ok(Sample {
            phase,
            t_ms: t.as_secs_f64() * 1e3,
            window_ns,
            letters,
            ran_ns,
            states,
        })
    }

    /// Each thread's schedstat now: (run time, run-queue wait), ns.
    fn schedstats(&self) -> Vec<(u64, u64)> {
        let me = procfs::process::Process::myself().ok();
        self.tids
            .iter()
            .map(|t| {
                me.as_ref()
                    .and_then(|p| p.task_from_tid(*t).ok())
                    .and_then(|task| task.schedstat().ok())
                    .map_or((0, 0), |s| (s.sum_exec_runtime, s.run_delay))
            })
            .collect()
    }

    fn close_phase(&mut self, phase: Phase) {
        let Some((start, before)) = self.phase_start.take() else {
            return;
        };
        let wall_ns = start.elapsed().as_nanos() as u64;
        let now = self.schedstats();
        for (thread, (now, then)) in self.threads.iter_mut().zip(now.iter().zip(before)) {
            let share = match phase {
                Phase::Before => &mut thread.before,
                Phase::After => &mut thread.after,
            };
            share.run_ns = now.0.saturating_sub(then.0);
            share.wait_ns = now.1.saturating_sub(then.1);
            share.wall_ns = wall_ns;
        }
    }

    /// What was seen.
    pub fn finish(self) -> Results {
        let max_running = self.samples.iter().map(Sample::running).max().unwrap_or(0);
        Results {
            cpu: self.cpu,
            sampler_cpu: self.sampler_cpu.unwrap_or(self.cpu),
            threads: self.threads,
            samples: self.samples,
            max_running,
        }
    }
}

/// The state letter of thread `tid`, `?` when it cannot be read.
fn letter(tid: i32) -> char {
    procfs::process::Process::myself()
        .and_then(|p| p.task_from_tid(tid))
        .and_then(|t| t.stat())
        .map_or('?', |s| s.state)
}

/// What main holds that keeps two threads blocked, and the flag that ends the computing: on
/// every path out (the wake, an error, Ctrl-C) everything is let go, so the scope's join ends.
pub struct Wake<'a, G> {
    held: Option<G>,
    pipe: Option<PipeWriter>,
    stop: &'a AtomicBool,
}

impl<'a, G> Wake<'a, G> {
    /// Main holds the lock (`held`, its guard) and the pipe's write end.
    pub fn new(held: G, pipe: PipeWriter, stop: &'a AtomicBool) -> Wake<'a, G> {
        Wake {
            held: Some(held),
            pipe: Some(pipe),
            stop,
        }
    }

    /// `pthread_mutex_unlock(&lock); write(pipe[1], "x", 1);`
    pub fn now(&mut self) -> Result<()> {
        drop(self.held.take());
        if let Some(mut pipe) = self.pipe.take() {
            pipe.write_all(b"x")
                .map_err(Error::io("write to the pipe"))?;
        }
        Ok(())
    }
}

impl<G> Drop for Wake<'_, G> {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        drop(self.held.take());
        drop(self.pipe.take()); // end of file also wakes the reader
    }
}

impl Results {
    fn phase_samples(&self, phase: Phase) -> usize {
        self.samples.iter().filter(|s| s.phase == phase).count()
    }

    /// Samples in which a thread wanted the CPU but none of ours was on it (another process
    /// had it, or the sampler itself with one CPU).
    fn foreign(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| s.running() == 0 && s.states.contains(&State::Ready))
            .count()
    }

    /// The lock and pipe threads: BLOCKED in every sample before the wake, then RUNNING and
    /// READY after it. (held, what was seen)
    fn woken(&self) -> (bool, String) {
        let (before, after) = (
            self.phase_samples(Phase::Before) as u32,
            self.phase_samples(Phase::After),
        );
        if after == 0 {
            return (
                false,
                "the run stopped before main woke the lock and pipe threads".into(),
            );
        }
        let mut held = true;
        let mut seen = Vec::new();
        for t in self.threads.iter().skip(2) {
            let ok = before > 0
                && t.before.blocked == before
                && t.after.running > 0
                && t.after.ready > 0;
            held &= ok;
            seen.push(format!(
                "{} BLOCKED in {} of {} samples before the wake, then RUNNING in {} and READY in {} of {}",
                t.name,
                t.before.blocked,
                before,
                t.after.running,
                t.after.ready,
                after
            ));
        }
        (held, seen.join("; "))
    }

    /// One character per sample, `|` at the wake.
    fn strip(&self, mark: impl Fn(&Sample) -> char) -> String {
        let mut s = String::new();
        for (k, sample) in self.samples.iter().enumerate() {
            if k > 0 && sample.phase != self.samples[k - 1].phase {
                s.push('|');
            }
            s.push(mark(sample));
        }
        s
    }

    fn shares(&self, phase: Phase) -> Vec<(String, &Share)> {
        self.threads
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    match phase {
                        Phase::Before => &t.before,
                        Phase::After => &t.after,
                    },
                )
            })
            .collect()
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Sample;

    fn headline(&self, _p: &Params) -> String {
        format!(
            "4 threads on CPU {}: at most {} RUNNING in each of {}; lock and pipe BLOCKED until woken",
            self.cpu,
            self.max_running,
            words::count(self.samples.len() as u64, "sample")
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = vec![if self.sampler_cpu != self.cpu {
            format!(
                "placement: the four threads pinned to CPU {}; the sampler on CPU {}, so it takes none of CPU {}'s time",
                self.cpu, self.sampler_cpu, self.cpu
            )
        } else {
            format!(
                "placement: the four threads and the sampler all on CPU {} (only one CPU): the sampler takes the CPU while it reads, and sleeps through each window so the threads have it",
                self.cpu
            )
        }];
        lines.push(format!(
            "how a state is decided: every {} ms the sampler reads each thread's state letter (/proc/self/task/TID/stat: R is running or runnable alike, S sleeping) and its CPU clock twice, {} µs apart (the per-thread CPU clock, which the kernel brings up to the instant for a thread on a CPU, where schedstat waits for a tick): R and on the CPU for at least half the window = RUNNING, R and not = READY (in the run queue), S or D = BLOCKED",
            p.interval_ms, p.window_us
        ));
        lines.push("timeline, one character per sample (R RUNNING, - READY, . BLOCKED; | main releases the lock and writes the pipe):".into());
        for (i, t) in self.threads.iter().enumerate() {
            lines.push(format!(
                "  {:<10} {}",
                t.name,
                self.strip(|s| s.states[i].mark())
            ));
        }
        let count = |s: &Sample| char::from_digit(s.running().min(9) as u32, 10).unwrap_or('?');
        lines.push(format!("  {:<10} {}", "RUNNING", self.strip(count)));
        let blocked: Vec<String> = self
            .threads
            .iter()
            .skip(2)
            .map(|t| match &t.wchan {
                Some(w) => format!("{} (TID {}) in {w}", t.name, t.tid),
                None => format!("{} (TID {}) where wchan does not say", t.name, t.tid),
            })
            .collect();
        lines.push(format!("blocked: {} (wchan)", words::list(blocked)));
        for phase in [Phase::Before, Phase::After] {
            if self.phase_samples(phase) == 0 {
                continue;
            }
            let rows: Vec<Vec<String>> = self
                .shares(phase)
                .into_iter()
                .map(|(name, s)| vec![name, s.by_samples(), s.by_schedstat()])
                .collect();
            lines.push(format!(
                "share of time {} the wake (samples: RUNNING / READY / BLOCKED; schedstat: ran / waited in the run queue / neither):",
                if phase == Phase::Before { "before" } else { "after" }
            ));
            let text = table(
                &["  thread", "samples", "schedstat"],
                &rows
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r[0] = format!("  {}", r[0]);
                        r
                    })
                    .collect::<Vec<_>>(),
                true,
            );
            lines.extend(text.lines().map(String::from));
        }
        let foreign = self.foreign();
        lines.push(format!(
            "RUNNING per sample on CPU {}: at most {}; {} caught a thread READY and none of ours on the CPU ({})",
            self.cpu,
            self.max_running,
            words::count(foreign as u64, "sample"),
            if self.sampler_cpu == self.cpu {
                "the sampler, or another process, had it"
            } else {
                "another process had it"
            }
        ));
        lines
    }

    fn verdict(&self, _p: &Params, _cx: &Context<'_>) -> Verdict {
        let claim = "at most one thread per CPU is RUNNING, the others that want it wait READY, and a thread blocked on a lock or a pipe is neither until it is woken";
        let running = self.samples.iter().filter(|s| s.running() == 1).count();
        let (woken, seen) = self.woken();
        let many = self.samples.iter().filter(|s| s.running() > 1).count();
        if many > 0 {
            return Verdict::check(
                claim,
                false,
                format!(
                    "{} of {} saw {} threads RUNNING on CPU {} at once",
                    many,
                    words::count(self.samples.len() as u64, "sample"),
                    self.max_running,
                    self.cpu
                ),
            );
        }
        if running == 0 {
            return Verdict::check(
                claim,
                false,
                format!(
                    "no sample caught a thread of ours on CPU {}: another process had it",
                    self.cpu
                ),
            );
        }
        Verdict::check(
            claim,
            woken,
            format!(
                "never more than one of the four RUNNING on CPU {} ({} of {} had exactly one); {seen}",
                self.cpu,
                running,
                words::count(self.samples.len() as u64, "sample")
            ),
        )
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        if self.max_running > 1 || !self.woken().0 {
            return "a core runs one thread at a time: the others that want it wait READY in its run queue, and a thread blocked on a lock or a pipe leaves the queue until it is woken (this run did not show all of it: see the verdict)".into();
        }
        let c = &self.threads[0].before;
        let after: Vec<String> = self
            .threads
            .iter()
            .map(|t| {
                let n = t.after.samples().max(1) as f64;
                format!("{:.0}%", 100.0 * t.after.running as f64 / n)
            })
            .collect();
        format!(
            "a core runs one thread at a time: before the wake the two computing threads took turns on CPU {} (compute-1 RUNNING in {} and READY in {} of its samples, schedstat: {} ran, {} waited), while the lock and pipe threads sat BLOCKED, off the run queue, taking no CPU; the unlock and the write made them READY, and then four threads shared the CPU, RUNNING in {} of the samples each, READY the rest",
            self.cpu,
            c.running,
            c.ready,
            crate::kit::timing::fmt_ns(c.run_ns as f64),
            crate::kit::timing::fmt_ns(c.wait_ns as f64),
            words::list(after)
        )
    }

    fn compare(&self, _p: &Params) -> String {
        "ps -L -o tid,stat,psr,wchan:20,comm -p PID (R for running and ready alike); perf sched timehist -p PID (every switch, with its wait time)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Sample> {
        self.samples.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!(
            "{} of {}",
            self.samples.len(),
            words::count(2 * u64::from(p.samples), "sample")
        ))
    }
}

/// The run's picture: each thread's state at each sample (RUNNING, READY, BLOCKED) as a
/// timeline, one lane per thread, the moment main wakes the lock and pipe threads marked. From
/// the report.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<crate::kit::plot::Figure> {
    use crate::kit::plot;
    let r = plot::Report(report);
    let names: Vec<String> = r
        .list("/results/threads")?
        .iter()
        .map(|t| plot::Report(t).str("/name").map(str::to_string))
        .collect::<anyhow::Result<_>>()?;
    let samples = r.list("/results/samples")?;
    if samples.is_empty() {
        anyhow::bail!("no sample was taken: nothing to draw");
    }
    let interval = r.num("/params/interval_ms")?;
    let mut lanes: Vec<plot::Lane> = names
        .iter()
        .map(|n| plot::Lane {
            label: n.clone(),
            spans: Vec::new(),
        })
        .collect();
    let mut marks = Vec::new();
    for (k, sample) in samples.iter().enumerate() {
        let s = plot::Report(sample);
        let from = s.num("/t_ms")?;
        let to = samples
            .get(k + 1)
            .and_then(|n| n.get("t_ms"))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(from + interval);
        if marks.is_empty() && s.str("/phase")? == "after" {
            marks.push(plot::Mark {
                at: from,
                label: "main wakes the lock and pipe threads".into(),
            });
        }
        for (lane, state) in lanes.iter_mut().zip(s.list("/states")?) {
            let state = match state.as_str() {
                Some("RUNNING") => 0,
                Some("READY") => 1,
                _ => 2,
            };
            lane.spans.push(plot::Span { from, to, state });
        }
    }
    Ok(plot::Figure {
        title: format!(
            "thread_states: {} threads on CPU {}, sampled every {interval} ms",
            names.len(),
            r.num("/results/cpu")?
        ),
        run: r.run_lines(),
        panels: vec![plot::Panel {
            title: "each thread's state at each sample (/proc/PID/task/TID/stat and its CPU time)"
                .into(),
            x: "time since the first sample (ms)".into(),
            y: "thread".into(),
            chart: plot::Chart::Gantt {
                lanes,
                states: vec![
                    "RUNNING".into(),
                    "READY (runnable, waiting)".into(),
                    "BLOCKED".into(),
                ],
                marks,
            },
        }],
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            samples: 4,
            interval_ms: 10,
            window_us: 1000,
        }
    }

    /// A run from four strips of marks (R RUNNING, - READY, . BLOCKED), `|` at the wake.
    fn run(strips: [&str; 4]) -> Results {
        let mut threads: Vec<Thread> = THREADS
            .iter()
            .enumerate()
            .map(|(i, n)| Thread {
                name: (*n).into(),
                tid: 100 + i as i32,
                wchan: None,
                before: Share::default(),
                after: Share::default(),
            })
            .collect();
        let cells: Vec<Vec<char>> = strips.iter().map(|s| s.chars().collect()).collect();
        let mut samples = Vec::new();
        let mut phase = Phase::Before;
        for k in 0..cells[0].len() {
            if cells[0][k] == '|' {
                phase = Phase::After;
                continue;
            }
            let states: Vec<State> = cells
                .iter()
                .map(|c| match c[k] {
                    'R' => State::Running,
                    '-' => State::Ready,
                    _ => State::Blocked,
                })
                .collect();
            for (t, s) in threads.iter_mut().zip(&states) {
                match phase {
                    Phase::Before => t.before.count(*s),
                    Phase::After => t.after.count(*s),
                }
            }
            samples.push(Sample {
                phase,
                t_ms: k as f64 * 10.0,
                window_ns: 1_000_000,
                letters: states
                    .iter()
                    .map(|s| if *s == State::Blocked { 'S' } else { 'R' })
                    .collect(),
                ran_ns: states
                    .iter()
                    .map(|s| if *s == State::Running { 1_000_000 } else { 0 })
                    .collect(),
                states,
            });
        }
        let max_running = samples.iter().map(Sample::running).max().unwrap_or(0);
        Results {
            cpu: 0,
            sampler_cpu: 1,
            threads,
            samples,
            max_running,
        }
    }

    fn good() -> Results {
        run(["R-R-|R---", "-R-R|-R--", "....|--R-", "....|---R"])
    }

    #[test]
    fn a_state_is_decided_by_the_window_and_the_letter() {
        assert_eq!(State::decide('R', 600, 1000), State::Running);
        assert_eq!(State::decide('S', 600, 1000), State::Running);
        assert_eq!(State::decide('R', 100, 1000), State::Ready);
        assert_eq!(State::decide('S', 0, 1000), State::Blocked);
        assert_eq!(State::decide('D', 0, 0), State::Blocked);
    }

    #[test]
    fn one_running_and_the_blocked_woken_holds() {
        let (v, lesson, lines) = crate::testing::judge(&good(), &params());
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because.starts_with("never more than one of the four RUNNING on CPU 0 (8 of 8 samples had exactly one); lock BLOCKED in 4 of 4 samples before the wake, then RUNNING in 1 and READY in 3 of 4"),
            "{}",
            v.because
        );
        assert!(lesson.contains("RUNNING in 2 and READY in 2"), "{lesson}");
        assert!(
            lines.iter().any(|l| l == "  lock       ....|--R-"),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l == "  RUNNING    1111|1111"),
            "{lines:?}"
        );
    }

    #[test]
    fn two_running_at_once_or_none_or_no_wake_does_not_hold() {
        let two = run(["R-R-|R---", "RR-R|-R--", "....|--R-", "....|---R"]);
        let (v, lesson, _) = crate::testing::judge(&two, &params());
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            v.because,
            "1 of 8 samples saw 2 threads RUNNING on CPU 0 at once"
        );
        assert!(lesson.contains("did not show"), "{lesson}");

        let none = run(["----|----", "----|----", "....|----", "....|----"]);
        let v = crate::testing::judge(&none, &params()).0;
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(v.because.starts_with("no sample caught"), "{}", v.because);

        let still_blocked = run(["R-R-|R-R-", "-R-R|-R-R", "....|....", "....|----"]);
        let v = crate::testing::judge(&still_blocked, &params()).0;
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.contains("then RUNNING in 0 and READY in 0 of 4"),
            "{}",
            v.because
        );

        let mut stopped = good();
        stopped.samples.retain(|s| s.phase == Phase::Before);
        let v = crate::testing::judge(&stopped, &params()).0;
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because
                .ends_with("the run stopped before main woke the lock and pipe threads"),
            "{}",
            v.because
        );
    }
}
