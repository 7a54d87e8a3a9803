//! sched_sim: the lecture's scheduling algorithms, simulated one tick at a time.
//!
//! What the lecture wants you to see: the slide's Round-Robin example — P1 runs 4, P2 3, P3 5,
//! time slice 2 — as a live schedule: who runs, who waits in the queue, when each finishes
//! (P1 at 8, P2 at 9, P3 at 12). Then the trade-off: a small slice answers every job sooner
//! (fairness), a large one switches less (throughput). The slide's two algorithms are written
//! here as the slide states them: Round-Robin (a queue) and CFS (an ordered tree of vruntimes);
//! FIFO, SJF, priority Round-Robin and dynamic priority sit beside them in the lab bench.
//! With --real the same jobs run on the kernel, a thread each on one CPU, and the kernel's own
//! record of who ran when is drawn under the prediction.

use std::collections::{BTreeMap, VecDeque};
use std::process::ExitCode;

use clap::Parser;
use oslab::demos::scheduling::sched_real as real;
use oslab::demos::scheduling::sched_sim::{self as lab, JobList, Policy, Scheduler, Sim, names};
use oslab::kit::cli::{self, CommonArgs, ranged, usage_error};
use oslab::kit::{self};

/// The lecture's scheduling algorithms, simulated tick by tick: the live schedule, a Gantt
/// chart, each job's response, turnaround and wait.
///
/// The slides' Round-Robin example (P1 4, P2 3, P3 5, time slice 2) by default; --policy fifo,
/// sjf, rr, priority, mlfq or fair (CFS); --jobs or --seed/--count for other jobs; --predict to
/// answer first, as OSTEP's homework does; --compare for every algorithm and a slice sweep.
#[derive(Parser, Debug)]
#[command(version, after_help = lab::EXAMPLES)]
struct Args {
    /// The algorithm
    #[arg(long, value_enum, default_value_t = Policy::Rr)]
    policy: Policy,

    /// The time slice, in ticks [1-1000]
    #[arg(long, default_value_t = lab::SLIDE_SLICE, value_name = "TICKS", allow_negative_numbers = true,
          value_parser = ranged::<u32>(1, 1000))]
    quantum: u32,

    /// The jobs: NAME:RUN[:ARRIVAL[:PRIORITY[:NICE]]], comma-separated (default: the slide's)
    #[arg(long, default_value = lab::SLIDE_JOBS, value_parser = lab::job_list, conflicts_with = "seed")]
    jobs: JobList,

    /// --seed, --count, --predict, --answer, --compare; MLFQ's --age and --boost
    #[command(flatten)]
    more: lab::Options,

    #[command(flatten)]
    common: CommonArgs,
}

/// Round-Robin, as the slide gives it.
struct RoundRobin {
    queue: VecDeque<usize>,
    slice: u32,
}

impl Scheduler for RoundRobin {
    // 1. Add each new thread to a queue.   4. If the thread is not finished, add it back.
    fn ready(&mut self, job: usize, _: &Sim) {
        self.queue.push_back(job);
    }
    // 2. Remove one thread from the queue and run it.
    fn pick(&mut self, _: &Sim) -> Option<usize> {
        self.queue.pop_front()
    }
    // 3. The thread runs until finished or until its time slice ends.
    fn slice(&self, _: usize, _: &Sim) -> Option<u32> {
        Some(self.slice)
    }
    fn queue(&self, sim: &Sim) -> String {
        names(sim, &self.queue)
    }
}

/// CFS, as the slide gives it: READY threads in a red-black tree sorted by vruntime (here
/// std's BTreeMap, an ordered tree too); the leftmost runs; at a switch the running thread's
/// vruntime has grown and it goes back in. A new thread starts at the tree's least vruntime.
#[derive(Default)]
struct Cfs {
    tree: BTreeMap<(u64, u64), usize>, // (vruntime, arrival order) -> job
    vruntime: Vec<u64>,
    min_vruntime: u64,
    order: u64,
}

impl Scheduler for Cfs {
    fn ready(&mut self, job: usize, sim: &Sim) {
        self.vruntime.resize(sim.jobs.len(), 0);
        if sim.ran[job] == 0 {
            self.vruntime[job] = self.vruntime[job].max(self.min_vruntime);
        }
        self.order += 1;
        self.tree.insert((self.vruntime[job], self.order), job); // add it to the RB tree
    }
    fn pick(&mut self, _: &Sim) -> Option<usize> {
        let ((vruntime, _), job) = self.tree.pop_first()?; // the leftmost thread
        self.min_vruntime = self.min_vruntime.max(vruntime);
        Some(job)
    }
    fn slice(&self, _: usize, sim: &Sim) -> Option<u32> {
        Some(sim.quantum) // "use time slices, like Round-Robin"
    }
    fn ran(&mut self, job: usize, sim: &Sim) {
        self.vruntime[job] += lab::vruntime_per_tick(sim.jobs[job].nice); // weighted by nice
    }
    fn vruntime(&self, job: usize) -> Option<u64> {
        self.vruntime.get(job).copied()
    }
    fn queue(&self, sim: &Sim) -> String {
        let ready = self
            .tree
            .iter()
            .map(|((v, _), &j)| format!("{}({})", sim.name(j), v / 1024));
        ready.collect::<Vec<_>>().join(" ")
    }
}

/// The scheduler for a policy: the slide's two here, the others from the lab bench.
fn make(policy: Policy, p: &lab::Params) -> Box<dyn Scheduler> {
    match policy {
        Policy::Rr => Box::new(RoundRobin {
            queue: VecDeque::new(),
            slice: p.quantum,
        }),
        Policy::Fair => Box::new(Cfs::default()),
        other => lab::scheduler(other, p).expect("the lab bench has the others"),
    }
}

fn main() -> ExitCode {
    let (args, mut command) = cli::parse::<Args>("sched_sim", |c| c);
    if args.more.real
        && let Err(why) = real::kernel_policy(args.policy)
    {
        usage_error(&mut command, why);
    }
    let p = lab::Params::of(args.policy, args.quantum, args.jobs, &args.more);
    kit::run("sched_sim", &args.common, p.clone(), |s| {
        lab::run(s, &p, make)
    })
}
