//! `sched_sim`'s lab bench: the simulator the lecture's scheduling algorithms run in, tick by
//! tick, and what it prints and checks.
//!
//! A [`Scheduler`] decides; [`simulate`] keeps the clock: jobs arrive, the scheduler picks one,
//! it runs a tick at a time until it finishes or its slice ends, and every tick is recorded
//! with the ready queue as the scheduler holds it. The binary holds the slide's two algorithms
//! (Round-Robin and CFS); FIFO, SJF, priority Round-Robin and the dynamic-priority (MLFQ-style)
//! scheduler are here. Per job: response (first run − arrival), turnaround (finish − arrival)
//! and wait (turnaround − run time), as OSTEP's `scheduler.py -c` prints them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use anyhow::Context as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::kit::input::{Input, StdinLines};
use crate::kit::report::table;
use crate::kit::timing::fmt_ns;
use crate::kit::{Context, Findings, Session, Verdict, words};
use crate::process::scheduler::weight;

use super::sched_real::RealRun;

/// The slide's example: P1 runs 4, P2 3, P3 5, all ready at 0.
pub const SLIDE_JOBS: &str = "P1:4,P2:3,P3:5";
/// The slide's time slice.
pub const SLIDE_SLICE: u32 = 2;
/// The most ticks a simulation may take (jobs × length are bounded by the flags).
const MAX_TICKS: u32 = 1_000_000;

/// One job of the list: `NAME:RUN[:ARRIVAL[:PRIORITY[:NICE]]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    pub name: String,
    /// Ticks of CPU it needs.
    pub run: u32,
    /// The tick it becomes ready.
    pub arrival: u32,
    /// For priority Round-Robin: higher runs first.
    pub priority: i32,
    /// For the fair scheduler: its weight, as CFS's table gives it (nice 0: 1024).
    pub nice: i32,
}

/// The `--help` examples.
pub const EXAMPLES: &str = "Example: sched_sim                       (the slide's Round-Robin)
         sched_sim --policy fair --jobs A:6:0:0:0,B:6:0:0:5
         sched_sim --seed 3 --count 4 --predict
         sched_sim --compare";

/// `--jobs`, as clap holds it: the whole list is one value.
#[derive(Clone, Debug)]
pub struct JobList(pub Vec<Job>);

/// clap's value parser for `--jobs`.
pub fn job_list(text: &str) -> Result<JobList, String> {
    parse_jobs(text).map(JobList)
}

/// `--jobs P1:4,P2:3,P3:5`, each `NAME:RUN[:ARRIVAL[:PRIORITY[:NICE]]]`, or bare run times
/// (`4,3,5`, named P1, P2, ...): clap's value parser.
pub fn parse_jobs(text: &str) -> Result<Vec<Job>, String> {
    let mut jobs = Vec::new();
    for (i, item) in text.split(',').map(str::trim).enumerate() {
        let fields: Vec<&str> = item.split(':').collect();
        let named = fields[0].parse::<u32>().is_err();
        let name = if named {
            fields[0].to_string()
        } else {
            format!("P{}", i + 1)
        };
        let numbers = if named { &fields[1..] } else { &fields[..] };
        let number =
            |k: usize, what: &str, lo: i64, hi: i64, default: i64| -> Result<i64, String> {
                match numbers.get(k) {
                    None => Ok(default),
                    Some(s) => match s.parse::<i64>() {
                        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
                        _ => Err(format!(
                            "{item:?}: the {what} must be a number from {lo} to {hi}"
                        )),
                    },
                }
            };
        if name.is_empty() || name.chars().count() > 8 || numbers.len() > 4 {
            return Err(format!(
                "{item:?}: a job is NAME:RUN[:ARRIVAL[:PRIORITY[:NICE]]], a name of 1 to 8 characters"
            ));
        }
        if numbers.is_empty() {
            return Err(format!("{item:?}: no run time (NAME:RUN, e.g. P1:4)"));
        }
        jobs.push(Job {
            name,
            run: number(0, "run time", 1, 10_000, 1)? as u32,
            arrival: number(1, "arrival", 0, 100_000, 0)? as u32,
            priority: number(2, "priority", -100, 100, 0)? as i32,
            nice: number(3, "nice value", -20, 19, 0)? as i32,
        });
    }
    if jobs.len() > 26 {
        return Err(format!("{} jobs: at most 26", jobs.len()));
    }
    let mut names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two jobs are called {}", w[0]));
    }
    Ok(jobs)
}

/// `--seed S --count K`: K jobs with run times from 1 to 10, all ready at 0, as OSTEP's
/// `scheduler.py -s S -j K` makes them (its generator is Python's; ours is SplitMix64).
pub fn random_jobs(seed: u64, count: u32) -> Vec<Job> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|i| Job {
            name: format!("P{}", i + 1),
            run: (next() % 10 + 1) as u32,
            arrival: 0,
            priority: 0,
            nice: 0,
        })
        .collect()
}

/// The algorithms of the lecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// First come, first served: each job runs to its end.
    Fifo,
    /// Shortest job first: the shortest ready job runs to its end.
    Sjf,
    /// Round-Robin: a queue; each job runs one time slice, then goes to the back.
    Rr,
    /// Priority Round-Robin: one queue per priority, the highest non-empty one runs.
    Priority,
    /// Dynamic priority (MLFQ): running a whole slice lowers a job, waiting raises it, and a
    /// periodic boost lifts all.
    Mlfq,
    /// The fair scheduler (the slide's CFS): the least vruntime runs, from an ordered tree.
    Fair,
}

impl Policy {
    pub const ALL: [Policy; 6] = [
        Policy::Fifo,
        Policy::Sjf,
        Policy::Rr,
        Policy::Priority,
        Policy::Mlfq,
        Policy::Fair,
    ];

    /// Its name, as the slides write it.
    pub fn title(self) -> &'static str {
        match self {
            Policy::Fifo => "FIFO",
            Policy::Sjf => "SJF",
            Policy::Rr => "Round-Robin",
            Policy::Priority => "Priority Round-Robin",
            Policy::Mlfq => "Dynamic priority (MLFQ)",
            Policy::Fair => "Fair (CFS)",
        }
    }

    /// True for the algorithms that preempt at the end of a time slice.
    pub fn sliced(self) -> bool {
        !matches!(self, Policy::Fifo | Policy::Sjf)
    }
}

/// What a scheduler sees of the simulation when it decides.
#[derive(Debug)]
pub struct Sim {
    pub jobs: Vec<Job>,
    /// The current tick.
    pub now: u32,
    /// Ticks each job has run so far.
    pub ran: Vec<u32>,
    /// `--quantum`.
    pub quantum: u32,
}

impl Sim {
    /// A job's name.
    pub fn name(&self, job: usize) -> &str {
        &self.jobs[job].name
    }
}

/// A scheduling algorithm: where ready jobs wait, which runs next and for how long.
pub trait Scheduler {
    /// `job` is ready: it has just arrived, or its time slice has ended.
    fn ready(&mut self, job: usize, sim: &Sim);
    /// The job to run next, taken out of the ready jobs; None when none is ready.
    fn pick(&mut self, sim: &Sim) -> Option<usize>;
    /// How long `job` may run before it is preempted; None: until it finishes.
    fn slice(&self, job: usize, sim: &Sim) -> Option<u32>;
    /// The ready jobs as the scheduler holds them, front first (what the schedule prints).
    fn queue(&self, sim: &Sim) -> String;
    /// `job` has just run one tick.
    fn ran(&mut self, _job: usize, _sim: &Sim) {}
    /// A tick has passed: what changed for the waiting jobs (aging, a boost), as notes.
    fn tick(&mut self, _sim: &Sim) -> Vec<String> {
        Vec::new()
    }
    /// A fair scheduler's vruntime for `job`, in 1/1024 ticks; None for the others.
    fn vruntime(&self, _job: usize) -> Option<u64> {
        None
    }
}

/// The ready jobs of a queue, by name.
pub fn names<'a>(sim: &Sim, jobs: impl IntoIterator<Item = &'a usize>) -> String {
    let names: Vec<&str> = jobs.into_iter().map(|&j| sim.name(j)).collect();
    names.join(" ")
}

/// CFS's vruntime for one tick of a job at `nice`, in 1/1024 ticks: a tick at nice 0 adds
/// 1024; a heavier (lower nice) job's vruntime grows slower (`delta × 1024 / weight`).
pub fn vruntime_per_tick(nice: i32) -> u64 {
    1024 * 1024 / u64::from(weight(nice))
}

/// FIFO: a queue, each job to its end.
#[derive(Default)]
struct Fifo(VecDeque<usize>);

impl Scheduler for Fifo {
    fn ready(&mut self, job: usize, _: &Sim) {
        self.0.push_back(job);
    }
    fn pick(&mut self, _: &Sim) -> Option<usize> {
        self.0.pop_front()
    }
    fn slice(&self, _: usize, _: &Sim) -> Option<u32> {
        None
    }
    fn queue(&self, sim: &Sim) -> String {
        names(sim, &self.0)
    }
}

/// SJF: the shortest ready job next (ties: the earlier arrival, then the list's order), to its
/// end.
#[derive(Default)]
struct Sjf(Vec<usize>);

impl Sjf {
    fn sorted(&self, sim: &Sim) -> Vec<usize> {
        let mut v = self.0.clone();
        v.sort_by_key(|&j| (sim.jobs[j].run, sim.jobs[j].arrival, j));
        v
    }
}

impl Scheduler for Sjf {
    fn ready(&mut self, job: usize, _: &Sim) {
        self.0.push(job);
    }
    fn pick(&mut self, sim: &Sim) -> Option<usize> {
        let first = *self.sorted(sim).first()?;
        self.0.retain(|&j| j != first);
        Some(first)
    }
    fn slice(&self, _: usize, _: &Sim) -> Option<u32> {
        None
    }
    fn queue(&self, sim: &Sim) -> String {
        names(sim, &self.sorted(sim))
    }
}

/// Priority Round-Robin: a queue per priority; the highest non-empty one gives the next job,
/// for one slice.
struct PriorityRr {
    queues: BTreeMap<i32, VecDeque<usize>>,
    slice: u32,
}

impl Scheduler for PriorityRr {
    fn ready(&mut self, job: usize, sim: &Sim) {
        let p = sim.jobs[job].priority;
        self.queues.entry(p).or_default().push_back(job);
    }
    fn pick(&mut self, _: &Sim) -> Option<usize> {
        let (_, queue) = self.queues.iter_mut().rev().find(|(_, q)| !q.is_empty())?;
        queue.pop_front()
    }
    fn slice(&self, _: usize, _: &Sim) -> Option<u32> {
        Some(self.slice)
    }
    fn queue(&self, sim: &Sim) -> String {
        let levels: Vec<String> = (self.queues.iter().rev())
            .filter(|(_, q)| !q.is_empty())
            .map(|(p, q)| format!("[{p}] {}", names(sim, q)))
            .collect();
        levels.join(" ")
    }
}

/// The dynamic-priority scheduler (MLFQ): three levels, level L's slice is quantum × 2^L. A job
/// starts at the top; one that uses its whole slice drops a level (running lowers it); one that
/// waits `age` ticks in a lower level rises one (waiting raises it); every `boost` ticks every
/// job goes back to the top.
struct Mlfq {
    levels: [VecDeque<usize>; 3],
    level: Vec<usize>,
    waited: Vec<u32>,
    /// Boosted while it ran: its slice's end does not lower it.
    boosted: Vec<bool>,
    quantum: u32,
    age: u32,
    boost: u32,
}

impl Mlfq {
    fn new(jobs: usize, quantum: u32, age: u32, boost: u32) -> Mlfq {
        Mlfq {
            levels: Default::default(),
            level: vec![0; jobs],
            waited: vec![0; jobs],
            boosted: vec![false; jobs],
            quantum,
            age,
            boost,
        }
    }
}

impl Scheduler for Mlfq {
    fn ready(&mut self, job: usize, sim: &Sim) {
        if sim.ran[job] > 0 && !self.boosted[job] {
            // Back from a whole slice: running lowered it.
            self.level[job] = (self.level[job] + 1).min(2);
        }
        self.boosted[job] = false;
        self.waited[job] = 0;
        self.levels[self.level[job]].push_back(job);
    }
    fn pick(&mut self, _: &Sim) -> Option<usize> {
        self.levels.iter_mut().find_map(VecDeque::pop_front)
    }
    fn slice(&self, job: usize, _: &Sim) -> Option<u32> {
        Some(self.quantum << self.level[job])
    }
    fn queue(&self, sim: &Sim) -> String {
        let levels: Vec<String> = (self.levels.iter().enumerate())
            .filter(|(_, q)| !q.is_empty())
            .map(|(l, q)| format!("[L{l}] {}", names(sim, q)))
            .collect();
        levels.join(" ")
    }
    fn tick(&mut self, sim: &Sim) -> Vec<String> {
        let mut notes = Vec::new();
        if self.boost > 0 && sim.now.is_multiple_of(self.boost) {
            let raised: Vec<usize> = (0..self.level.len())
                .filter(|&j| self.level[j] > 0 && sim.ran[j] < sim.jobs[j].run)
                .collect();
            let lower: Vec<usize> = self.levels[1..]
                .iter_mut()
                .flat_map(|q| q.drain(..))
                .collect();
            self.levels[0].extend(lower);
            // The running job is raised too: it returns to the top when its slice ends.
            for j in 0..self.level.len() {
                (self.level[j], self.waited[j], self.boosted[j]) = (0, 0, true);
            }
            if !raised.is_empty() {
                notes.push(format!("boost: {} back to L0", names(sim, &raised)));
            }
            return notes;
        }
        for l in 1..3 {
            let mut stay = VecDeque::new();
            while let Some(j) = self.levels[l].pop_front() {
                self.waited[j] += 1;
                if self.waited[j] >= self.age {
                    self.waited[j] = 0;
                    self.level[j] = l - 1;
                    notes.push(format!(
                        "{} waited {} ticks: up to L{}",
                        sim.name(j),
                        self.age,
                        l - 1
                    ));
                    self.levels[l - 1].push_back(j);
                } else {
                    stay.push_back(j);
                }
            }
            self.levels[l] = stay;
        }
        notes
    }
}

/// FIFO, SJF, priority Round-Robin and MLFQ; Round-Robin and the fair scheduler are the
/// binary's (the slide's own algorithms): None for those.
pub fn scheduler(policy: Policy, p: &Params) -> Option<Box<dyn Scheduler>> {
    Some(match policy {
        Policy::Fifo => Box::new(Fifo::default()),
        Policy::Sjf => Box::new(Sjf::default()),
        Policy::Priority => Box::new(PriorityRr {
            queues: BTreeMap::new(),
            slice: p.quantum,
        }),
        Policy::Mlfq => Box::new(Mlfq::new(p.jobs.len(), p.quantum, p.age, p.boost)),
        Policy::Rr | Policy::Fair => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The clock.

/// One tick of the schedule: who ran from `t` to `t + 1`, who waited, and what happened at `t`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tick {
    pub t: u32,
    /// The running job's name; None: the CPU was idle (or, in the last record, all is done).
    pub running: Option<String>,
    /// The ready jobs, as the scheduler holds them.
    pub queue: String,
    /// What happened at `t`: arrivals, ends of slices, finishes, the pick.
    pub note: String,
}

/// A job's figures, as OSTEP's `scheduler.py -c` prints them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobStats {
    pub job: String,
    pub arrival: u32,
    pub run: u32,
    pub priority: i32,
    pub nice: i32,
    pub first_run: u32,
    pub finish: u32,
    /// first_run − arrival.
    pub response: u32,
    /// finish − arrival.
    pub turnaround: u32,
    /// turnaround − run: time spent ready but not running.
    pub wait: u32,
    /// The longest stretch it spent ready without running.
    pub longest_wait: u32,
}

/// A whole schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    pub policy: Policy,
    /// The time slice (for FIFO and SJF: none).
    pub quantum: Option<u32>,
    pub ticks: Vec<Tick>,
    pub jobs: Vec<JobStats>,
    /// Times the CPU went from one job to another.
    pub switches: u32,
    /// Picks that passed over a ready job of higher priority (priority RR never does).
    pub inversions: u32,
    /// The largest difference of vruntime (in ticks at nice 0) between two jobs that had
    /// arrived and not finished, at any tick (fair).
    pub vruntime_spread: f64,
    pub avg_response: f64,
    pub avg_turnaround: f64,
    pub avg_wait: f64,
}

/// Runs `jobs` under `sched` with time slice `quantum`, a tick at a time, to the end.
pub fn simulate(policy: Policy, jobs: &[Job], quantum: u32, sched: &mut dyn Scheduler) -> Schedule {
    let n = jobs.len();
    let mut sim = Sim {
        jobs: jobs.to_vec(),
        now: 0,
        ran: vec![0; n],
        quantum,
    };
    let mut arrivals: Vec<usize> = (0..n).collect();
    arrivals.sort_by_key(|&j| (jobs[j].arrival, j));
    let mut arrivals = arrivals.into_iter().peekable();
    let (mut first_run, mut finish) = (vec![None; n], vec![None; n]);
    let (mut waiting_since, mut longest_wait) = (vec![None; n], vec![0; n]);
    let (mut spread, mut inversions, mut switches) = (0u64, 0, 0);
    let (mut ticks, mut notes) = (Vec::new(), Vec::<String>::new());
    // The running job, the ticks it has run in this turn, and the slice it was given.
    let mut running: Option<(usize, u32, Option<u32>)> = None;
    let mut last: Option<usize> = None;
    let admit = |sched: &mut dyn Scheduler,
                 sim: &Sim,
                 arrivals: &mut std::iter::Peekable<std::vec::IntoIter<usize>>,
                 notes: &mut Vec<String>,
                 waiting_since: &mut Vec<Option<u32>>| {
        let mut came = Vec::new();
        while let Some(&j) = arrivals.peek().filter(|&&j| sim.jobs[j].arrival <= sim.now) {
            arrivals.next();
            sched.ready(j, sim);
            waiting_since[j] = Some(sim.now);
            came.push(sim.name(j).to_string());
        }
        match came.len() {
            0 => {}
            1 => notes.push(format!("{} arrives", came[0])),
            _ => notes.push(format!("{} arrive", came.join(" "))),
        }
    };
    while sim.now < MAX_TICKS {
        admit(sched, &sim, &mut arrivals, &mut notes, &mut waiting_since);
        if running.is_none()
            && let Some(j) = sched.pick(&sim)
        {
            if last.is_some_and(|l| l != j) {
                switches += 1;
            }
            first_run[j].get_or_insert(sim.now);
            // A pick passing over a ready job of higher priority: priority RR must never.
            let higher = (0..n).any(|k| {
                k != j && waiting_since[k].is_some() && jobs[k].priority > jobs[j].priority
            });
            inversions += u32::from(higher);
            if let Some(since) = waiting_since[j].take() {
                longest_wait[j] = longest_wait[j].max(sim.now - since);
            }
            let slice = sched.slice(j, &sim);
            notes.push(match slice {
                Some(q) if last == Some(j) => format!("{} runs again (slice {q})", sim.name(j)),
                Some(q) => format!("{} runs (slice {q})", sim.name(j)),
                None => format!("{} runs", sim.name(j)),
            });
            running = Some((j, 0, slice));
        }
        let done = finish.iter().all(Option::is_some);
        ticks.push(Tick {
            t: sim.now,
            running: running.map(|(j, _, _)| sim.name(j).to_string()),
            queue: sched.queue(&sim),
            note: if done && notes.is_empty() {
                "all done".into()
            } else if done {
                format!("{}: all done", notes.join("; "))
            } else {
                notes.join("; ")
            },
        });
        notes.clear();
        if done {
            break;
        }
        if let Some((j, used, _)) = running.as_mut() {
            let j = *j;
            sim.ran[j] += 1;
            *used += 1;
            sched.ran(j, &sim);
            last = Some(j);
        }
        sim.now += 1;
        notes.extend(sched.tick(&sim));
        if let Some((j, used, slice)) = running {
            if sim.ran[j] == jobs[j].run {
                finish[j] = Some(sim.now);
                notes.push(format!("{} finishes", sim.name(j)));
                running = None;
            } else if slice.is_some_and(|q| used >= q) {
                // Jobs arriving at this instant queue up before it, as in OSTEP's scheduler.py.
                admit(sched, &sim, &mut arrivals, &mut notes, &mut waiting_since);
                sched.ready(j, &sim);
                waiting_since[j] = Some(sim.now);
                notes.push(format!("{}'s slice ends: it goes back", sim.name(j)));
                running = None;
            }
        }
        let alive: Vec<u64> = (0..n)
            .filter(|&k| jobs[k].arrival <= sim.now && finish[k].is_none())
            .filter_map(|k| sched.vruntime(k))
            .collect();
        if let (Some(lo), Some(hi)) = (alive.iter().min(), alive.iter().max()) {
            spread = spread.max(hi - lo);
        }
    }
    let stats: Vec<JobStats> = (0..n)
        .map(|j| {
            let (first, end) = (first_run[j].unwrap_or(0), finish[j].unwrap_or(sim.now));
            let turnaround = end - jobs[j].arrival;
            JobStats {
                job: jobs[j].name.clone(),
                arrival: jobs[j].arrival,
                run: jobs[j].run,
                priority: jobs[j].priority,
                nice: jobs[j].nice,
                first_run: first,
                finish: end,
                response: first - jobs[j].arrival,
                turnaround,
                wait: turnaround - jobs[j].run,
                longest_wait: longest_wait[j],
            }
        })
        .collect();
    let avg = |f: fn(&JobStats) -> u32| stats.iter().map(|s| f(s) as f64).sum::<f64>() / n as f64;
    Schedule {
        policy,
        quantum: policy.sliced().then_some(quantum),
        ticks,
        avg_response: avg(|s| s.response),
        avg_turnaround: avg(|s| s.turnaround),
        avg_wait: avg(|s| s.wait),
        jobs: stats,
        switches,
        inversions,
        vruntime_spread: spread as f64 / 1024.0,
    }
}

impl Schedule {
    /// `P1 8, P2 9, P3 12`: when each job finished.
    pub fn finishes(&self) -> String {
        let f: Vec<String> = self
            .jobs
            .iter()
            .map(|s| format!("{} {}", s.job, s.finish))
            .collect();
        f.join(", ")
    }

    /// The live schedule, a line per tick: the lecture's output.
    pub fn live(&self) -> Vec<String> {
        let rows: Vec<Vec<String>> = (self.ticks.iter())
            .map(|t| {
                vec![
                    t.t.to_string(),
                    t.running.clone().unwrap_or_else(|| "-".into()),
                    t.queue.clone(),
                    t.note.clone(),
                ]
            })
            .collect();
        table(
            &["time", "CPU", "ready (front first)", "what happened"],
            &rows,
            false,
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The Gantt chart: a row per job, a column per tick (two when the schedule is short).
    pub fn gantt(&self) -> Vec<String> {
        self.gantt_to(0, 4).0
    }

    /// The Gantt chart with its axis running to `at_least` ticks or the schedule's end, its name
    /// column at least `min_name` wide, and the characters per tick and the name column's width
    /// it used.
    pub fn gantt_to(&self, at_least: u32, min_name: usize) -> (Vec<String>, usize, usize) {
        let last = self.ticks.last().map_or(0, |t| t.t) as usize;
        let end = last.max(at_least as usize);
        let w = if end <= 40 { 2 } else { 1 };
        let name_w = self
            .jobs
            .iter()
            .map(|s| s.job.len())
            .max()
            .unwrap_or(2)
            .max(min_name);
        let mut axis = format!("{:name_w$}  ", "");
        let step = if w == 2 { 2 } else { 10 };
        for t in (0..=end).step_by(step) {
            let cell = t.to_string();
            let _ = write!(axis, "{cell:<width$}", width = step * w);
        }
        let mut lines = vec![axis.trim_end().to_string()];
        for s in &self.jobs {
            let mut row = format!("{:name_w$}  ", s.job);
            for t in &self.ticks[..last] {
                let on = t.running.as_deref() == Some(s.job.as_str());
                row.push_str(&(if on { "█" } else { "·" }).repeat(w));
            }
            lines.push(row);
        }
        (lines, w, name_w)
    }
}

// ---------------------------------------------------------------------------------------------
// The run: one algorithm, --predict, or --compare.

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub policy: Policy,
    pub quantum: u32,
    pub jobs: Vec<Job>,
    /// MLFQ: ticks a job waits in a lower level before it rises one; the periodic boost.
    pub age: u32,
    pub boost: u32,
    pub predict: bool,
    pub answer: Option<String>,
    pub compare: bool,
    /// `--real`: run the jobs on the kernel too; a tick in real time (`--tick`, or the kernel's
    /// slice / quantum), the real-time priority, and `--own-clock` (no kernel trace).
    pub real: bool,
    pub tick_ns: Option<u64>,
    /// `--margin`: how much less than its length a job works on the kernel.
    pub margin_ns: Option<u64>,
    pub rt_priority: i32,
    pub own_clock: bool,
}

/// The flags beside the algorithm, its slice and its jobs.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Random jobs instead of --jobs (run times 1-10, all at 0), from this seed
    /// [0-18446744073709551615]
    #[arg(long, value_name = "S", conflicts_with = "jobs",
          value_parser = crate::kit::cli::ranged::<u64>(0, u64::MAX))]
    pub seed: Option<u64>,

    /// How many random jobs, with --seed [1-26]
    #[arg(long, default_value_t = 3, value_name = "K", requires = "seed",
          value_parser = crate::kit::cli::ranged::<u32>(1, 26))]
    pub count: u32,

    /// Print the jobs and ask when each finishes; the answer (a line of stdin, or --answer) is
    /// marked, then the schedule shown
    #[arg(long)]
    pub predict: bool,

    /// The answer to --predict, e.g. "P1=8 P2=9 P3=12" (or "8 9 12")
    #[arg(long, value_name = "TEXT", requires = "predict")]
    pub answer: Option<String>,

    /// Also run every algorithm on the same jobs, and Round-Robin with every slice from 1 to
    /// the longest job
    #[arg(long)]
    pub compare: bool,

    /// mlfq: ticks a job waits in a lower queue before it rises one [1-10000]
    #[arg(long, default_value_t = 6, value_name = "TICKS",
          value_parser = crate::kit::cli::ranged::<u32>(1, 10_000))]
    pub age: u32,

    /// mlfq: every this many ticks all jobs go back to the top queue; 0: never [0-10000]
    #[arg(long, default_value_t = 20, value_name = "TICKS",
          value_parser = crate::kit::cli::ranged::<u32>(0, 10_000))]
    pub boost: u32,

    /// Also run the jobs on the real kernel (one thread per job, pinned to one CPU, under
    /// SCHED_FIFO, SCHED_RR or SCHED_OTHER with nice) and show its schedule, from its
    /// sched_switch trace, beside the prediction (fifo, rr, priority and fair; the real-time
    /// ones need root or CAP_SYS_NICE)
    #[arg(long, conflicts_with_all = ["predict", "compare"])]
    pub real: bool,

    /// --real: a tick in real time, e.g. 10ms or 10 [100us-1s] (default: the kernel's slice divided
    /// by --quantum, so the simulated slice is the kernel's)
    #[arg(long, value_name = "MS", requires = "real",
          value_parser = crate::kit::cli::duration(std::time::Duration::from_micros(100), std::time::Duration::from_secs(1), crate::kit::cli::Unit::Ms))]
    pub tick: Option<std::time::Duration>,

    /// --real: each job works this much less than its length [0-1s] (default: one timer tick
    /// for rr and priority, whose slices the kernel counts in timer ticks; 0 otherwise)
    #[arg(long, value_name = "MS", requires = "real",
          value_parser = crate::kit::cli::duration(std::time::Duration::ZERO, std::time::Duration::from_secs(1), crate::kit::cli::Unit::Ms))]
    pub margin: Option<std::time::Duration>,

    /// --real: the jobs' real-time priority (priority: the lowest job priority's) [1-98]
    #[arg(long, default_value_t = 10, value_name = "PRIO", requires = "real",
          value_parser = crate::kit::cli::ranged::<i32>(1, 98))]
    pub rt_priority: i32,

    /// --real: take who ran when from the jobs' own clock readings, not the kernel's trace
    #[arg(long, requires = "real")]
    pub own_clock: bool,
}

impl Params {
    /// The run `--policy`, `--quantum`, `--jobs` and the other flags ask for.
    pub fn of(policy: Policy, quantum: u32, jobs: JobList, o: &Options) -> Params {
        Params {
            policy,
            quantum,
            jobs: o.seed.map_or(jobs.0, |seed| random_jobs(seed, o.count)),
            age: o.age,
            boost: o.boost,
            predict: o.predict,
            answer: o.answer.clone(),
            compare: o.compare,
            real: o.real,
            tick_ns: o.tick.map(crate::kit::timing::nanos),
            margin_ns: o.margin.map(crate::kit::timing::nanos),
            rt_priority: o.rt_priority,
            own_clock: o.own_clock,
        }
    }
}

/// How the binary makes a scheduler for a policy (its own Round-Robin and CFS, the lab's for
/// the others).
pub type Make = fn(Policy, &Params) -> Box<dyn Scheduler>;

/// The student's prediction, marked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marked {
    pub answer: String,
    /// Per job: (name, predicted finish, actual finish).
    pub finishes: Vec<(String, Option<u32>, u32)>,
    pub right: usize,
}

/// One row of `--compare`: an algorithm, or Round-Robin at one slice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareRow {
    pub policy: Policy,
    pub quantum: Option<u32>,
    pub avg_turnaround: f64,
    pub avg_response: f64,
    pub avg_wait: f64,
    pub switches: u32,
}

impl From<&Schedule> for CompareRow {
    fn from(s: &Schedule) -> CompareRow {
        CompareRow {
            policy: s.policy,
            quantum: s.quantum,
            avg_turnaround: s.avg_turnaround,
            avg_response: s.avg_response,
            avg_wait: s.avg_wait,
            switches: s.switches,
        }
    }
}

/// What a run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub schedule: Schedule,
    /// FIFO on the same jobs, the baseline the claims compare with.
    pub fifo: CompareRow,
    pub marked: Option<Marked>,
    /// `--compare`: every algorithm, then Round-Robin with slices 1 to the longest job.
    pub compare: Vec<CompareRow>,
    pub sweep: Vec<CompareRow>,
    /// `--real`: the kernel's schedule for the same jobs.
    pub real: Option<RealRun>,
}

/// Runs the simulation `p` asks for, printing the lecture's lines: the jobs (and, with
/// `--predict`, the question, then the answer read), the live schedule and the Gantt chart.
pub fn run(s: &Session, p: &Params, make: Make) -> anyhow::Result<Results> {
    let out = s.out;
    let marked_answer = if p.predict { ask(p)? } else { None };
    let plan = if p.real {
        Some(super::sched_real::plan(s, p)?)
    } else {
        None
    };
    let schedule = simulate(p.policy, &p.jobs, p.quantum, make(p.policy, p).as_mut());
    out.lecture(format_args!(
        "{}{}: {}",
        p.policy.title(),
        schedule
            .quantum
            .map_or(String::new(), |q| format!(", time slice {q}")),
        describe(&p.jobs)
    ));
    let real = if let Some(plan) = plan {
        let real = super::sched_real::run(s, p, plan, &schedule)?;
        for line in real_lines(&schedule, &real) {
            out.lecture(line);
        }
        Some(real)
    } else {
        for line in schedule
            .live()
            .into_iter()
            .chain(std::iter::once(String::new()))
        {
            out.lecture(line);
        }
        for line in schedule.gantt() {
            out.lecture(line);
        }
        None
    };
    let fifo = CompareRow::from(&simulate(
        Policy::Fifo,
        &p.jobs,
        p.quantum,
        make(Policy::Fifo, p).as_mut(),
    ));
    let (compare, sweep) = if p.compare {
        let all = Policy::ALL
            .iter()
            .map(|&policy| {
                CompareRow::from(&simulate(
                    policy,
                    &p.jobs,
                    p.quantum,
                    make(policy, p).as_mut(),
                ))
            })
            .collect();
        let longest = p.jobs.iter().map(|j| j.run).max().unwrap_or(1);
        let sweep = (1..=longest.min(20))
            .map(|q| {
                let qp = Params {
                    quantum: q,
                    ..p.clone()
                };
                CompareRow::from(&simulate(
                    Policy::Rr,
                    &p.jobs,
                    q,
                    make(Policy::Rr, &qp).as_mut(),
                ))
            })
            .collect();
        (all, sweep)
    } else {
        (Vec::new(), Vec::new())
    };
    let marked = marked_answer.map(|answer| mark(&answer, &schedule));
    Ok(Results {
        schedule,
        fifo,
        marked,
        compare,
        sweep,
        real,
    })
}

/// `--real`'s lecture lines: the prediction and the kernel's schedule, one Gantt chart above the
/// other on one axis.
fn real_lines(schedule: &Schedule, real: &RealRun) -> Vec<String> {
    let mut lines = vec![format!(
        "on the kernel: {} on CPU {}; a tick is {} ({}); the first job released {}",
        real.kernel_policy,
        real.cpu,
        fmt_ns(real.tick_ns as f64),
        real.tick_from,
        real.released
    )];
    if real.margin_ns > 0 {
        lines.push(format!(
            "each job works its length less {}: {}",
            fmt_ns(real.margin_ns as f64),
            real.margin_why
        ));
    }
    let measured_ticks = (real.end_ns as f64 / real.tick_ns as f64).ceil() as u32;
    let (gantt, w, name_w) = schedule.gantt_to(measured_ticks, "other".len());
    lines.push("predicted (the simulator):".into());
    lines.extend(gantt);
    lines.push(format!("measured ({}):", real.source_words()));
    let end = schedule.ticks.last().map_or(0, |t| t.t).max(measured_ticks);
    lines.extend(real.gantt(end, w, name_w));
    lines
}

/// `P1 4, P2 3, P3 5 (all arrive at 0)`, with arrivals, priorities and nice values shown when
/// any is set.
pub fn describe(jobs: &[Job]) -> String {
    let all_zero = jobs.iter().all(|j| j.arrival == 0);
    let items: Vec<String> = jobs
        .iter()
        .map(|j| {
            let mut s = format!("{} {}", j.name, j.run);
            if !all_zero {
                let _ = write!(s, " at {}", j.arrival);
            }
            if j.priority != 0 {
                let _ = write!(s, " priority {}", j.priority);
            }
            if j.nice != 0 {
                let _ = write!(s, " nice {}", j.nice);
            }
            s
        })
        .collect();
    format!(
        "{}{}",
        items.join(", "),
        if all_zero { " (all arrive at 0)" } else { "" }
    )
}

/// `--predict`: the jobs and the question; the answer from `--answer` or a line of stdin.
/// None when Ctrl-C or SIGTERM came first: the schedule is still shown, unmarked.
fn ask(p: &Params) -> anyhow::Result<Option<String>> {
    let policy = p.policy.title();
    let slice = if p.policy.sliced() {
        format!(" with a time slice of {}", p.quantum)
    } else {
        String::new()
    };
    eprintln!(
        "{policy}{slice}: {}.\nWhen does each job finish? Answer as {} and press Enter:",
        describe(&p.jobs),
        (p.jobs.iter())
            .map(|j| format!("{}=N", j.name))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(answer) = &p.answer {
        eprintln!("> {answer}");
        return Ok(Some(answer.clone()));
    }
    match StdinLines::new().next_line()? {
        Input::Line(line) => Ok(Some(line)),
        Input::End => anyhow::bail!("no answer on stdin (or give one with --answer)"),
        Input::Stopped(_) => Ok(None),
    }
}

/// Marks an answer `P1=8 P2=9 P3=12` (or `8 9 12`, in the jobs' order) against the schedule.
pub fn mark(answer: &str, schedule: &Schedule) -> Marked {
    let words: Vec<&str> = answer
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let finishes: Vec<(String, Option<u32>, u32)> = (schedule.jobs.iter().enumerate())
        .map(|(i, s)| {
            let named = words.iter().find_map(|w| {
                let (name, value) = w.split_once(['=', ':'])?;
                (name.eq_ignore_ascii_case(&s.job)).then(|| value.parse().ok())?
            });
            let positional = words.get(i).and_then(|w| w.parse().ok());
            (s.job.clone(), named.or(positional), s.finish)
        })
        .collect();
    let right = finishes.iter().filter(|(_, p, a)| *p == Some(*a)).count();
    Marked {
        answer: answer.to_string(),
        finishes,
        right,
    }
}

// ---------------------------------------------------------------------------------------------
// The analysis and the verdict.

fn f2(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Results {
    /// The claim the slides make about this algorithm, whether this schedule bears it out, and
    /// the figures that decided it.
    fn judge(&self, p: &Params) -> (String, bool, String) {
        let s = &self.schedule;
        let jobs = s.jobs.len() as u32;
        match p.policy {
            Policy::Fifo => {
                let mut by_arrival: Vec<&JobStats> = s.jobs.iter().collect();
                by_arrival.sort_by_key(|j| (j.arrival, j.first_run));
                let in_order = by_arrival.windows(2).all(|w| w[0].finish <= w[1].first_run);
                (
                    "FIFO runs the jobs in the order they arrive, each to its end".into(),
                    in_order,
                    format!(
                        "finish order {} with {}{}",
                        s.finishes(),
                        words::count(s.switches, "switch"),
                        if in_order {
                            ""
                        } else {
                            ": a later arrival ran before an earlier one ended"
                        }
                    ),
                )
            }
            Policy::Sjf => {
                let together = s.jobs.iter().all(|j| j.arrival == s.jobs[0].arrival);
                let (t, fifo) = (s.avg_turnaround, self.fifo.avg_turnaround);
                let why = if t < fifo - 1e-9 {
                    ""
                } else if t > fifo + 1e-9 {
                    ": worse, because a shorter job picked early delayed the jobs behind it"
                } else if together {
                    ": the same, since the jobs were already shortest first"
                } else {
                    ": the same, since a long job that arrived first kept the CPU (SJF does not preempt)"
                };
                (
                    "running the shortest job first gives an average turnaround no worse than FIFO's (the least possible when the jobs arrive together)".into(),
                    t <= fifo + 1e-9,
                    format!("average turnaround {} against FIFO's {}{why}", f2(t), f2(fifo)),
                )
            }
            Policy::Rr => {
                // No job waits for its first run longer than the slices of the jobs ahead of it.
                let bound = (jobs - 1) * p.quantum;
                let worst = s.jobs.iter().map(|j| j.response).max().unwrap_or(0);
                let better = s.avg_response <= self.fifo.avg_response;
                (
                    format!(
                        "Round-Robin gives every job its first turn within one round (at most {} other jobs × slice {} = {bound} ticks) and a better response than FIFO, at the price of switches",
                        jobs - 1,
                        p.quantum
                    ),
                    worst <= bound && better,
                    format!(
                        "longest response {worst} (bound {bound}); average response {} against FIFO's {}; {} against FIFO's {}",
                        f2(s.avg_response),
                        f2(self.fifo.avg_response),
                        words::count(s.switches, "switch"),
                        self.fifo.switches
                    ),
                )
            }
            Policy::Priority => (
                "at every switch priority Round-Robin runs a job from the highest non-empty priority queue".into(),
                s.inversions == 0,
                if s.inversions == 0 {
                    format!(
                        "no pick passed over a ready job of higher priority; finish {}",
                        s.finishes()
                    )
                } else {
                    format!(
                        "{} passed over a ready job of higher priority",
                        words::count(s.inversions, "pick")
                    )
                },
            ),
            Policy::Mlfq => {
                let worst = s.jobs.iter().map(|j| j.longest_wait).max().unwrap_or(0);
                // To reach the top a job waits at most two agings (or one boost), then one round
                // of the others' longest slices (quantum × 4 at the bottom level).
                let round = (p.quantum << 2) * jobs;
                let climb = if p.boost > 0 {
                    p.boost.min(2 * p.age)
                } else {
                    2 * p.age
                };
                let bound = climb + round;
                (
                    "dynamic priority lowers a job that runs and raises one that waits, so no job starves".into(),
                    worst <= bound,
                    format!(
                        "the longest any job waited without running was {worst} ticks (aging after {}, boost every {}{})",
                        p.age,
                        p.boost,
                        if worst <= bound { String::new() } else { format!("; more than {bound}") }
                    ),
                )
            }
            Policy::Fair => {
                let light = s
                    .jobs
                    .iter()
                    .map(|j| vruntime_per_tick(j.nice))
                    .max()
                    .unwrap_or(1024) as f64
                    / 1024.0;
                let bound = p.quantum as f64 * light;
                (
                    "the fair scheduler runs the job that has run least (its vruntime), so every job gets about the same CPU time".into(),
                    s.vruntime_spread <= bound + 1e-9,
                    format!(
                        "the vruntimes of the jobs present never differed by more than {} ticks (one slice of the lightest job: {})",
                        f2(s.vruntime_spread),
                        f2(bound)
                    ),
                )
            }
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = JobStats;

    fn headline(&self, p: &Params) -> String {
        if let Some(real) = &self.real {
            return real.headline(p);
        }
        let s = &self.schedule;
        format!(
            "{}{}: finish {}; avg turnaround {}, {}",
            p.policy.title(),
            s.quantum.map_or(String::new(), |q| format!(" slice {q}")),
            s.finishes(),
            f2(s.avg_turnaround),
            words::count(s.switches, "switch")
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        if let Some(real) = &self.real {
            return real.analysis();
        }
        let s = &self.schedule;
        let mut lines = Vec::new();
        if let Some(m) = &self.marked {
            let each: Vec<String> = (m.finishes.iter())
                .map(|(job, predicted, actual)| match predicted {
                    Some(x) if x == actual => format!("{job} {actual} right"),
                    Some(x) => format!("{job} {actual}, not {x}"),
                    None => format!("{job} {actual} (no answer)"),
                })
                .collect();
            lines.push(format!(
                "your answer: {} of {} right: {}",
                m.right,
                m.finishes.len(),
                each.join("; ")
            ));
        }
        let mut rows: Vec<Vec<String>> = (s.jobs.iter())
            .map(|j| {
                vec![
                    j.job.clone(),
                    j.arrival.to_string(),
                    j.run.to_string(),
                    j.first_run.to_string(),
                    j.finish.to_string(),
                    j.response.to_string(),
                    j.turnaround.to_string(),
                    j.wait.to_string(),
                ]
            })
            .collect();
        rows.push(vec![
            "average".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            f2(s.avg_response),
            f2(s.avg_turnaround),
            f2(s.avg_wait),
        ]);
        let header = [
            "job",
            "arrival",
            "run",
            "first run",
            "finish",
            "response",
            "turnaround",
            "wait",
        ];
        lines.extend(table(&header, &rows, true).lines().map(str::to_string));
        lines.push(format!(
            "{}; FIFO on the same jobs: average response {}, turnaround {}, {}",
            words::count(s.switches, "context switch"),
            f2(self.fifo.avg_response),
            f2(self.fifo.avg_turnaround),
            words::count(self.fifo.switches, "switch")
        ));
        if !self.compare.is_empty() {
            lines.push(String::new());
            let row = |r: &CompareRow| {
                vec![
                    format!(
                        "{}{}",
                        r.policy.title(),
                        r.quantum.map_or(String::new(), |q| format!(", slice {q}"))
                    ),
                    f2(r.avg_turnaround),
                    f2(r.avg_response),
                    f2(r.avg_wait),
                    r.switches.to_string(),
                ]
            };
            let header = [
                "algorithm",
                "avg turnaround",
                "avg response",
                "avg wait",
                "switches",
            ];
            let rows: Vec<Vec<String>> = self.compare.iter().map(row).collect();
            lines.extend(table(&header, &rows, true).lines().map(str::to_string));
            lines.push(String::new());
            lines.push("Round-Robin's time slice, swept:".into());
            let rows: Vec<Vec<String>> = self.sweep.iter().map(row).collect();
            lines.extend(table(&header, &rows, true).lines().map(str::to_string));
        }
        let _ = p;
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        if let Some(real) = &self.real {
            return real.verdict(p);
        }
        let (claim, held, because) = self.judge(p);
        if p.compare && !self.sweep.is_empty() {
            let (first, last) = (&self.sweep[0], &self.sweep[self.sweep.len() - 1]);
            let tradeoff =
                first.switches >= last.switches && first.avg_response <= last.avg_response;
            return Verdict::check(
                format!(
                    "{claim}; and a small slice means fairness (response), a large one throughput (fewer switches)"
                ),
                held && tradeoff,
                format!(
                    "{because}; slice {}: response {}, {}; slice {}: response {}, {}",
                    first.quantum.unwrap_or(1),
                    f2(first.avg_response),
                    words::count(first.switches, "switch"),
                    last.quantum.unwrap_or(1),
                    f2(last.avg_response),
                    words::count(last.switches, "switch")
                ),
            );
        }
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        if let Some(real) = &self.real {
            return real.lesson(p);
        }
        let s = &self.schedule;
        let (t, r, sw) = (f2(s.avg_turnaround), f2(s.avg_response), s.switches);
        let (ft, fr) = (f2(self.fifo.avg_turnaround), f2(self.fifo.avg_response));
        match p.policy {
            Policy::Fifo => format!(
                "FIFO switches only when a job ends ({sw} switches): the least overhead, but a job behind a long one waits for all of it (average response {r})"
            ),
            Policy::Sjf => format!(
                "SJF puts short jobs first: average turnaround {t} against FIFO's {ft}; it needs to know each job's length, and a stream of short jobs starves a long one"
            ),
            Policy::Rr => format!(
                "a time slice of {} gave an average response of {r} (FIFO: {fr}) for {sw} switches and an average turnaround of {t} (FIFO: {ft}): a large slice means throughput (fewer switches), a small one fairness (less time READY); --compare sweeps it",
                p.quantum
            ),
            Policy::Priority => format!(
                "the highest priority queue always runs first: finish {}; a lower priority job runs only when every higher queue is empty, so it can starve",
                s.finishes()
            ),
            Policy::Mlfq => format!(
                "without knowing the jobs' lengths, dynamic priority favours the short ones (average response {r}, turnaround {t}; FIFO {fr}, {ft}): a job that uses its whole slice drops, a waiting one rises, and the boost every {} ticks keeps the long ones from starving",
                p.boost
            ),
            Policy::Fair => format!(
                "the fair scheduler kept the jobs' vruntimes within {} ticks of each other, picking the leftmost of an ordered tree each time (O(log n)); Linux replaced CFS with EEVDF in 6.6: it keeps the weights and vruntime, but runs the eligible task (lag ≥ 0) with the earliest virtual deadline (vruntime + slice / weight), so a short slice means an early deadline",
                f2(s.vruntime_spread)
            ),
        }
    }

    fn compare(&self, p: &Params) -> String {
        if let Some(real) = &self.real {
            return format!(
                "perf sched record -C {} -- sched_sim --real ...; perf sched map   (the same sched_switch events, drawn by perf)",
                real.cpu
            );
        }
        let policy = match p.policy {
            Policy::Fifo => "FIFO",
            Policy::Sjf => "SJF",
            _ => "RR",
        };
        let lengths: Vec<String> = p.jobs.iter().map(|j| j.run.to_string()).collect();
        format!(
            "python3 scheduler.py -p {policy} -q {} -l {} -c   (OSTEP's simulator, ostep-homework/cpu-sched)",
            p.quantum,
            lengths.join(",")
        )
    }

    fn rows(&self, _p: &Params) -> Vec<JobStats> {
        self.schedule.jobs.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// The picture.

/// The run's picture, from its report: the simulator's schedule as a Gantt chart, a lane per
/// job; with `--real`, the kernel's record under it on the same time axis (ms), the other
/// tasks in a lane of their own.
pub fn figure(report: &serde_json::Value) -> anyhow::Result<crate::kit::plot::Figure> {
    use crate::kit::plot::{self, Chart, Lane, Panel, Span};
    let r = plot::Report(report);
    let jobs: Vec<String> = (r.list("/results/schedule/jobs")?.iter())
        .filter_map(|j| j.get("job")?.as_str().map(str::to_string))
        .collect();
    let ticks = r.list("/results/schedule/ticks")?;
    let real = report.pointer("/results/real").filter(|v| !v.is_null());
    // The unit of the time axis: ticks, or ms on the kernel.
    let tick_ns = match real {
        Some(real) => real
            .get("tick_ns")
            .and_then(serde_json::Value::as_f64)
            .context("the report's real run has no tick_ns")?,
        None => 0.0,
    };
    let (scale, x) = if real.is_some() {
        (
            tick_ns / 1e6,
            "time since the first release (ms)".to_string(),
        )
    } else {
        (1.0, "time (ticks)".to_string())
    };
    let mut predicted: Vec<Lane> = (jobs.iter())
        .map(|j| Lane {
            label: j.clone(),
            spans: Vec::new(),
        })
        .collect();
    for t in ticks {
        let (Some(at), Some(who)) = (
            t.get("t").and_then(serde_json::Value::as_f64),
            t.get("running").and_then(serde_json::Value::as_str),
        ) else {
            continue;
        };
        if let Some(lane) = predicted.iter_mut().find(|l| l.label == who) {
            match lane.spans.last_mut() {
                Some(s) if (s.to - at * scale).abs() < 1e-9 => s.to = (at + 1.0) * scale,
                _ => lane.spans.push(Span {
                    from: at * scale,
                    to: (at + 1.0) * scale,
                    state: 0,
                }),
            }
        }
    }
    let policy = r.str("/params/policy")?;
    let quantum = r.num("/params/quantum")?;
    let mut panels = vec![Panel {
        title: format!("predicted: the simulator's {policy}, slice {quantum} ticks"),
        x: x.clone(),
        y: "job".into(),
        chart: Chart::Gantt {
            lanes: predicted,
            states: vec!["running".into()],
            marks: Vec::new(),
        },
    }];
    if let Some(real) = real {
        let mut lanes: Vec<Lane> = (jobs.iter())
            .map(|j| Lane {
                label: j.clone(),
                spans: Vec::new(),
            })
            .collect();
        lanes.push(Lane {
            label: "other".into(),
            spans: Vec::new(),
        });
        let slots = real
            .get("slots")
            .and_then(serde_json::Value::as_array)
            .context("the report's real run has no slots")?;
        for s in slots {
            let (Some(who), Some(from), Some(to)) = (
                s.get("who").and_then(serde_json::Value::as_str),
                s.get("start_ns").and_then(serde_json::Value::as_f64),
                s.get("end_ns").and_then(serde_json::Value::as_f64),
            ) else {
                continue;
            };
            let exiting = s.get("exiting").and_then(serde_json::Value::as_bool) == Some(true);
            if who == "idle" || exiting {
                continue;
            }
            let (lane, state) = match s.get("job").and_then(serde_json::Value::as_u64) {
                Some(j) => (j as usize, 0),
                None => (jobs.len(), 1),
            };
            if let Some(lane) = lanes.get_mut(lane) {
                lane.spans.push(Span {
                    from: from / 1e6,
                    to: to / 1e6,
                    state,
                });
            }
        }
        if lanes.last().is_some_and(|l| l.spans.is_empty()) {
            lanes.pop();
        }
        let source = match real.get("source").and_then(serde_json::Value::as_str) {
            Some("sched_switch") => "the kernel's sched:sched_switch record",
            _ => "the jobs' own clock readings",
        };
        let policy = real
            .get("kernel_policy")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?");
        panels.push(Panel {
            title: format!("measured: {policy}, from {source}"),
            x,
            y: "task".into(),
            chart: Chart::Gantt {
                lanes,
                states: vec!["a job running".into(), "another task".into()],
                marks: Vec::new(),
            },
        });
    }
    Ok(plot::Figure {
        title: match real {
            Some(_) => format!(
                "sched_sim --real: the simulator's schedule and the kernel's, a tick = {}",
                crate::kit::timing::fmt_ns(tick_ns)
            ),
            None => format!("sched_sim: {policy}, {} jobs", jobs.len()),
        },
        run: r.run_lines(),
        panels,
        columns: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-Robin as the binary writes it, for the tests.
    struct Rr(VecDeque<usize>, u32);

    impl Scheduler for Rr {
        fn ready(&mut self, job: usize, _: &Sim) {
            self.0.push_back(job);
        }
        fn pick(&mut self, _: &Sim) -> Option<usize> {
            self.0.pop_front()
        }
        fn slice(&self, _: usize, _: &Sim) -> Option<u32> {
            Some(self.1)
        }
        fn queue(&self, sim: &Sim) -> String {
            names(sim, &self.0)
        }
    }

    fn params(policy: Policy, jobs: &str, quantum: u32) -> Params {
        let options = Options {
            seed: None,
            count: 3,
            predict: false,
            answer: None,
            compare: false,
            age: 6,
            boost: 20,
            real: false,
            tick: None,
            margin: None,
            rt_priority: 10,
            own_clock: false,
        };
        Params::of(policy, quantum, job_list(jobs).unwrap(), &options)
    }

    fn run_with(policy: Policy, jobs: &str, quantum: u32) -> Schedule {
        let p = params(policy, jobs, quantum);
        let mut sched: Box<dyn Scheduler> = match policy {
            Policy::Rr => Box::new(Rr(VecDeque::new(), quantum)),
            other => scheduler(other, &p).unwrap(),
        };
        simulate(policy, &p.jobs, quantum, sched.as_mut())
    }

    fn finishes(s: &Schedule) -> Vec<u32> {
        s.jobs.iter().map(|j| j.finish).collect()
    }

    #[test]
    fn the_slides_round_robin_finishes_p1_at_8_p2_at_9_p3_at_12() {
        // By hand: P1 0-2, P2 2-4, P3 4-6, P1 6-8 (done), P2 8-9 (done), P3 9-12 (done).
        let s = run_with(Policy::Rr, SLIDE_JOBS, 2);
        assert_eq!(finishes(&s), [8, 9, 12]);
        let order: Vec<&str> = s
            .ticks
            .iter()
            .filter_map(|t| t.running.as_deref())
            .collect();
        assert_eq!(
            order,
            [
                "P1", "P1", "P2", "P2", "P3", "P3", "P1", "P1", "P2", "P3", "P3", "P3"
            ]
        );
        assert_eq!(s.switches, 5);
        assert_eq!(
            s.jobs.iter().map(|j| j.response).collect::<Vec<_>>(),
            [0, 2, 4]
        );
        assert_eq!(s.jobs.iter().map(|j| j.wait).collect::<Vec<_>>(), [4, 6, 7]);
        assert_eq!(s.ticks[2].queue, "P3 P1");
        assert_eq!(
            s.ticks[2].note,
            "P1's slice ends: it goes back; P2 runs (slice 2)"
        );
        assert_eq!(s.ticks.last().unwrap().note, "P3 finishes: all done");
    }

    #[test]
    fn fifo_and_sjf_match_ostep_s_published_answers() {
        // OSTEP ch. 7, scheduler.py -p FIFO -l 100,200,300 -c: response 0 100 300,
        // turnaround 100 300 600, wait 0 100 300; averages 133.33 333.33 133.33.
        let s = run_with(Policy::Fifo, "100,200,300", 1);
        assert_eq!(finishes(&s), [100, 300, 600]);
        assert_eq!(f2(s.avg_turnaround), "333.33");
        assert_eq!(f2(s.avg_response), "133.33");
        // -p SJF -l 300,200,100: the 100 first (finish 100), then 200 (300), then 300 (600).
        let s = run_with(Policy::Sjf, "300,200,100", 1);
        assert_eq!(finishes(&s), [600, 300, 100]);
        assert_eq!(f2(s.avg_turnaround), "333.33");
        let fifo = run_with(Policy::Fifo, "300,200,100", 1);
        assert_eq!(f2(fifo.avg_turnaround), "466.67");
    }

    #[test]
    fn round_robin_with_slice_1_matches_ostep_s_example() {
        // OSTEP ch. 7: three jobs of 5 at 0, RR slice 1: response 0 1 2 (average 1),
        // finish 13 14 15.
        let s = run_with(Policy::Rr, "5,5,5", 1);
        assert_eq!(finishes(&s), [13, 14, 15]);
        assert_eq!(f2(s.avg_response), "1");
    }

    #[test]
    fn priority_round_robin_runs_the_highest_queue_first() {
        let s = run_with(Policy::Priority, "A:2:0:1,B:3:0:5,C:2:0:5", 1);
        // B and C (priority 5) take turns to the end, then A.
        assert_eq!(finishes(&s), [7, 5, 4]);
        assert_eq!(s.inversions, 0);
    }

    #[test]
    fn mlfq_lowers_a_long_job_and_lets_short_ones_through() {
        // A long job running since 0, two short ones arriving at 5: they get the top level.
        let s = run_with(Policy::Mlfq, "L:20,S1:2:5,S2:2:5", 2);
        let by = |n: &str| s.jobs.iter().find(|j| j.job == n).unwrap().clone();
        assert!(
            by("S1").finish <= 10 && by("S2").finish <= 12,
            "{:?}",
            s.jobs
        );
        assert_eq!(by("L").finish, 24);
        assert!(
            s.ticks
                .iter()
                .any(|t| t.queue.contains("[L1] L") || t.queue.contains("[L2] L"))
        );
    }

    #[test]
    fn the_fair_scheduler_weighs_by_nice() {
        // Two jobs of 10, nice 0 and nice 5 (weights 1024 and 335): the nice-0 one runs about
        // three ticks for each of the other's, so it finishes first.
        let p = params(Policy::Fair, "A:10:0:0:0,B:10:0:0:5", 1);
        let mut fair = Cfs::default();
        let s = simulate(Policy::Fair, &p.jobs, 1, &mut fair);
        assert!(s.jobs[0].finish < s.jobs[1].finish, "{:?}", s.jobs);
        let first_12: Vec<&str> = s.ticks[..12]
            .iter()
            .filter_map(|t| t.running.as_deref())
            .collect();
        let a = first_12.iter().filter(|&&n| n == "A").count();
        assert!((8..=10).contains(&a), "{first_12:?}");
    }

    /// The slide's CFS, as the binary writes it, for the test above.
    #[derive(Default)]
    struct Cfs {
        tree: BTreeMap<(u64, u64), usize>,
        vruntime: Vec<u64>,
        seq: u64,
    }

    impl Scheduler for Cfs {
        fn ready(&mut self, job: usize, sim: &Sim) {
            self.vruntime.resize(sim.jobs.len(), 0);
            self.seq += 1;
            self.tree.insert((self.vruntime[job], self.seq), job);
        }
        fn pick(&mut self, _: &Sim) -> Option<usize> {
            self.tree.pop_first().map(|(_, j)| j)
        }
        fn slice(&self, _: usize, sim: &Sim) -> Option<u32> {
            Some(sim.quantum)
        }
        fn queue(&self, sim: &Sim) -> String {
            names(sim, self.tree.values())
        }
        fn ran(&mut self, job: usize, sim: &Sim) {
            self.vruntime[job] += vruntime_per_tick(sim.jobs[job].nice);
        }
        fn vruntime(&self, job: usize) -> Option<u64> {
            self.vruntime.get(job).copied()
        }
    }

    #[test]
    fn jobs_parse_with_names_arrivals_priorities_and_nice() {
        let jobs = parse_jobs("P1:4,P2:3:1:2:-5, 7").unwrap();
        assert_eq!(jobs[1].arrival, 1);
        assert_eq!(jobs[1].priority, 2);
        assert_eq!(jobs[1].nice, -5);
        assert_eq!(jobs[2].name, "P3");
        assert_eq!(jobs[2].run, 7);
        assert!(parse_jobs("P1:0").unwrap_err().contains("run time"));
        assert!(
            parse_jobs("P1:4,P1:2")
                .unwrap_err()
                .contains("two jobs are called P1")
        );
        assert!(parse_jobs("P1:4:0:0:20").unwrap_err().contains("nice"));
        assert!(parse_jobs("P1").unwrap_err().contains("no run time"));
        assert_eq!(random_jobs(7, 5), random_jobs(7, 5));
        assert!(random_jobs(7, 50).iter().all(|j| (1..=10).contains(&j.run)));
    }

    #[test]
    fn answers_are_marked_by_name_or_position() {
        let s = run_with(Policy::Rr, SLIDE_JOBS, 2);
        assert_eq!(mark("P1=8 P2=9 P3=12", &s).right, 3);
        assert_eq!(mark("8, 9, 11", &s).right, 2);
        let m = mark("p3=12 p1=6", &s);
        assert_eq!(m.right, 1);
        assert_eq!(m.finishes[1].1, None);
    }

    #[test]
    fn verdicts_turn_with_the_schedule() {
        // The verdict on `jobs` under `policy`, after `tweak` has changed the schedule or FIFO's
        // row (to show a verdict turning).
        let judge_tweaked =
            |policy, jobs: &str, q, tweak: &dyn Fn(&mut Schedule, &mut CompareRow)| {
                let p = params(policy, jobs, q);
                let mut schedule = run_with(policy, jobs, q);
                let mut fifo = CompareRow::from(&run_with(Policy::Fifo, jobs, q));
                tweak(&mut schedule, &mut fifo);
                let r = Results {
                    schedule,
                    fifo,
                    marked: None,
                    compare: vec![],
                    sweep: vec![],
                    real: None,
                };
                crate::testing::judge(&r, &p).0
            };
        let judge = |policy, jobs: &str, q| judge_tweaked(policy, jobs, q, &|_, _| {});
        assert_eq!(judge(Policy::Rr, SLIDE_JOBS, 2).held, Some(true));
        assert_eq!(judge(Policy::Sjf, "300,200,100", 1).held, Some(true));
        let v = judge(Policy::Sjf, "1,2,3", 1);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(
            v.because.ends_with("already shortest first"),
            "{}",
            v.because
        );
        let v = judge(Policy::Sjf, "L:10,S:1:1", 1);
        assert_eq!(v.held, Some(true), "{v:?}");
        assert!(v.because.contains("SJF does not preempt"), "{}", v.because);
        // FIFO made to look better than SJF: the verdict turns.
        let v = judge_tweaked(Policy::Sjf, SLIDE_JOBS, 2, &|s, f| {
            f.avg_turnaround = s.avg_turnaround - 1.0;
        });
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.ends_with("delayed the jobs behind it"),
            "{}",
            v.because
        );
        assert_eq!(
            judge(Policy::Priority, "A:2:0:1,B:3:0:5", 1).held,
            Some(true)
        );
        // B (priority 5) arrives while A holds its 4-tick slice: it waits for the slice's
        // end, but the pick at 4 takes it.
        assert_eq!(
            judge(Policy::Priority, "A:8:0:1,B:3:1:5", 4).held,
            Some(true)
        );
        let v = judge_tweaked(Policy::Priority, "A:8:0:1,B:3:1:5", 4, &|s, _| {
            s.inversions = 1
        });
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            v.because,
            "1 pick passed over a ready job of higher priority"
        );
    }
}
