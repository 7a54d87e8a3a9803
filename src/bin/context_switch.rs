//! context_switch: a CPU-bound and an I/O-bound process, watched through /proc; then two
//! processes passing a byte back and forth through pipes, which is what a context switch costs.
//!
//! What the lecture wants you to see: the kernel counts two kinds of context switch for every
//! task. An I/O-bound task switches *voluntarily*: it blocks (a full pipe, a sleep) and gives
//! the CPU away thousands of times. A CPU-bound task never blocks, so it almost never switches
//! voluntarily; it is switched out *nonvoluntarily*, preempted when its slice is up and another
//! task wants the CPU. The ping-pong then times a switch: each round trip is two of them.

use std::fs;
use std::io::{PipeWriter, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use nix::unistd::Pid;
use oslab::kit::cli::{self, CommonArgs, TrialArgs, duration, ranged};
use oslab::kit::interrupt;
use oslab::kit::machine::Machine;
use oslab::kit::report::{Output, Report, SCHEMA_VERSION};
use oslab::kit::stats::Spread;
use oslab::kit::timing::{fmt_duration, fmt_ns, nanos};
use oslab::proc::counters::{Snapshot, ThreadUsage};
use oslab::process::SingleThreaded;
use oslab::process::scheduler::{child_on_cpu, pin_self, placement, restore_affinity};
use oslab::process::{self, Child, Forked, exit_child};
use serde::Serialize;

/// A CPU-bound and an I/O-bound process and their context switches from /proc/PID/status; then
/// the cost of a switch, from two processes ping-ponging a byte through two pipes.
///
/// The lecture's context-switch demo (cpu_bound.c and io_bound.c, read with
/// `cat /proc/PID/status` from a second terminal): the I/O-bound one switches voluntarily, the
/// CPU-bound one is preempted. A busy competitor shares their CPU so that preemption happens on
/// an idle machine too. The ping-pong is perf bench sched pipe's, pinned to one CPU and to two.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Example: context_switch --seconds 2 --pingpong 20000"
)]
struct Args {
    /// How long each worker runs before its counters are read, e.g. 3 or 500ms; 0 skips the
    /// workers [0-3600 s]
    #[arg(long, default_value = "3", value_name = "SECONDS",
          value_parser = duration(Duration::ZERO, Duration::from_secs(3600), Some(Duration::from_secs(1))))]
    seconds: Duration,

    /// Round trips of the pipe ping-pong, as perf bench sched pipe -l; 0 skips it [0-10000000]
    #[arg(long, default_value_t = 100_000, value_name = "N", allow_negative_numbers = true,
          value_parser = ranged::<u64>(0, 10_000_000))]
    pingpong: u64,

    /// io_bound's sleep between rounds of writes: the lecture's sleep(3), shortened so that a
    /// few seconds hold many rounds [0-10 s]
    #[arg(long, default_value = "10ms", value_name = "DURATION",
          value_parser = duration(Duration::ZERO, Duration::from_secs(10), Some(Duration::from_secs(1))))]
    io_pause: Duration,

    /// Run the workers without the busy competitor on their CPU (on an idle machine the
    /// CPU-bound one is then hardly ever preempted)
    #[arg(long)]
    alone: bool,

    #[command(flatten)]
    trials: TrialArgs,

    #[command(flatten)]
    common: CommonArgs,
}

// ---------------------------------------------------------------------------------------------
// The lecture's two programs, and the competitor.

/// cpu_bound.c: computes forever (10^14 iterations); it prints nothing and never blocks.
fn cpu_bound() {
    let mut val: usize = 0x1234_5678;
    for i in 0..10_000_000usize {
        val ^= i;
        for j in 0..10_000_000usize {
            val = std::hint::black_box(val ^ j);
        }
    }
}

/// io_bound.c: rounds of 100 × fwrite(buff, 1, BUFSIZ, stdout), then sleep. Its "stdout" is a
/// pipe that the parent drains like a slow terminal, so a full pipe blocks the writer. The
/// lecture's 100 rounds of sleep(3) last five minutes; these rounds go on until the parent has
/// read the counters and kills it.
fn io_bound(mut stdout: PipeWriter, pause: Duration) {
    let mut buff = [0u8; 8192]; // static char buff[BUFSIZ] = {'a'};
    buff[0] = b'a';
    loop {
        for _ in 0..100 {
            if stdout.write_all(&buff).is_err() {
                exit_child(1);
            }
        }
        std::thread::sleep(pause); // sleep(3)
    }
}

/// The competitor: a second CPU-bound process on the same CPU, so the scheduler has someone
/// to preempt the CPU-bound worker for.
fn busy() {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Forks `body` as a child pinned to `cpu` that dies with us; it writes one byte to `ready`
/// once it is in place.
fn spawn(cpu: usize, ready: &PipeWriter, body: impl FnOnce()) -> Result<Child> {
    match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => {
            let mut ready: &PipeWriter = ready;
            if child_on_cpu(cpu).is_err() || ready.write_all(b"!").is_err() {
                exit_child(1);
            }
            body();
            exit_child(0)
        }
        Forked::Parent(child) => Ok(child),
    }
}

/// Runs `worker` for `seconds` on `cpu` (beside the competitor unless `alone`), then reads its
/// counters from /proc/PID/status as the lecture's second terminal does, and kills it.
fn watch(args: &Args, name: &'static str, cpu: usize, out: &Output) -> Result<Option<Worker>> {
    let (mut ready_r, ready_w) = std::io::pipe()?;
    let (mut drain, io_out) = std::io::pipe()?;
    let mut children = Vec::new();
    if !args.alone {
        children.push(("competitor", spawn(cpu, &ready_w, busy)?));
    }
    let pause = args.io_pause;
    let worker = match name {
        "cpu_bound" => spawn(cpu, &ready_w, cpu_bound)?,
        _ => spawn(cpu, &ready_w, move || io_bound(io_out, pause))?,
    };
    drop(ready_w);
    let mut byte = [0u8; 1];
    for _ in 0..=children.len() {
        ready_r
            .read_exact(&mut byte)
            .context("a worker failed to start")?;
    }
    let started = Instant::now();
    nix::fcntl::fcntl(
        &drain,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )?;
    let mut sink = vec![0u8; 65536];
    while started.elapsed() < args.seconds {
        if interrupt::requested().is_some() {
            return Ok(None); // the guards kill and reap the children
        }
        while drain.read(&mut sink).is_ok_and(|n| n > 0) {} // the terminal takes what is there
        std::thread::sleep(Duration::from_millis(1));
    }
    let seconds = started.elapsed();
    let reading = Worker::read(name, worker.pid(), cpu, seconds, !args.alone)?;
    out.lecture(format_args!(
        "$ grep ctxt /proc/{}/status    # {name}, after {} on CPU {cpu}{}",
        worker.pid(),
        fmt_duration(seconds),
        if args.alone {
            ""
        } else {
            " beside a busy competitor"
        }
    ));
    for line in &reading.status_lines {
        out.lecture(line);
    }
    let mut reading = reading;
    if let Some((_, competitor)) = children.first() {
        let c = Worker::read("competitor", competitor.pid(), cpu, seconds, true)?;
        reading.competitor_nonvoluntary_cs = Some(c.nonvoluntary_cs);
    }
    drop(worker); // SIGKILL and reap, like the lecture's Ctrl-C; then the competitor
    drop(children);
    Ok(Some(reading))
}

/// perf bench sched pipe: this process and a child pass one byte back and forth, `n` times,
/// through two pipes; `(ours, theirs)` are the CPUs each is pinned to.
fn pingpong(n: u64, ours: usize, theirs: usize) -> Result<Option<RoundTrips>> {
    let (mut to_child_r, mut to_child_w) = std::io::pipe()?;
    let (mut to_parent_r, mut to_parent_w) = std::io::pipe()?;
    let mut byte = [0u8; 1];
    let child = match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => {
            drop((to_child_w, to_parent_r));
            if child_on_cpu(theirs).is_err() || to_parent_w.write_all(b"r").is_err() {
                exit_child(1);
            }
            let before = ThreadUsage::now().unwrap_or_default();
            for _ in 0..n {
                // read(pipe1); write(pipe2): block until the byte comes, send it back.
                if to_child_r.read_exact(&mut byte).is_err()
                    || to_parent_w.write_all(&byte).is_err()
                {
                    exit_child(1);
                }
            }
            let d = before.delta(&ThreadUsage::now().unwrap_or_default());
            let mut counts = [0u8; 16];
            counts[..8].copy_from_slice(&d.voluntary_cs.to_le_bytes());
            counts[8..].copy_from_slice(&d.nonvoluntary_cs.to_le_bytes());
            let _ = to_parent_w.write_all(&counts);
            exit_child(0)
        }
        Forked::Parent(child) => child,
    };
    drop((to_child_r, to_parent_w));
    let restore = pin_self(ours)?;
    to_parent_r
        .read_exact(&mut byte)
        .context("the ping-pong child failed to start")?;
    let before = ThreadUsage::now()?;
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        // write(pipe1); read(pipe2): send the byte, block until it comes back.
        to_child_w.write_all(&byte)?;
        to_parent_r.read_exact(&mut byte)?;
        done += 1;
        if done % 4096 == 0 && interrupt::requested().is_some() {
            break;
        }
    }
    let elapsed = start.elapsed();
    let ours_usage = before.delta(&ThreadUsage::now()?);
    restore_affinity(&restore)?;
    if done < n {
        return Ok(None); // interrupted: the guard kills the child midway
    }
    let mut counts = [0u8; 16];
    to_parent_r.read_exact(&mut counts)?;
    let word = |i: usize| u64::from_le_bytes(counts[i..i + 8].try_into().expect("8 bytes"));
    let exit = child.wait()?;
    if !exit.success() {
        bail!("the ping-pong child {exit}");
    }
    let switches = ours_usage.voluntary_cs + ours_usage.nonvoluntary_cs + word(0) + word(8);
    Ok(Some(RoundTrips {
        round_trips: n,
        elapsed_ns: nanos(elapsed),
        ns_per_round_trip: nanos(elapsed) as f64 / n as f64,
        parent_voluntary_cs: ours_usage.voluntary_cs,
        parent_nonvoluntary_cs: ours_usage.nonvoluntary_cs,
        child_voluntary_cs: word(0),
        child_nonvoluntary_cs: word(8),
        switches_per_round_trip: switches as f64 / n as f64,
    }))
}

fn run(args: Args) -> Result<ExitCode> {
    interrupt::install()?;
    let out = args.common.output();
    let system = Machine::collect();
    let (shared, other) = placement(args.common.cpu.as_ref())?;
    process::limits::check_can_create(3)?;
    let before = Snapshot::of_self()?;

    // (a) the lecture's two programs, one after the other, each read after --seconds. We, the
    // second terminal, stay off their CPU when there is another.
    let mut workers = Vec::new();
    if !args.seconds.is_zero() {
        let restore = pin_self(other.unwrap_or(shared))?;
        for name in ["cpu_bound", "io_bound"] {
            match watch(&args, name, shared, &out)? {
                Some(w) => workers.push(w),
                None => break,
            }
        }
        restore_affinity(&restore)?;
    }

    // (b) the ping-pong, on one CPU and on two, interleaved trial by trial.
    let mut trials = Vec::new();
    let placements: Vec<(&str, usize, usize)> = std::iter::once(("one CPU", shared, shared))
        .chain(other.map(|o| ("two CPUs", shared, o)))
        .collect();
    if args.pingpong > 0 {
        'runs: for run in 0..args.trials.warmup + args.trials.trials {
            for &(placement, a, b) in &placements {
                if interrupt::requested().is_some() {
                    break 'runs;
                }
                let Some(rt) = pingpong(args.pingpong, a, b)? else {
                    break 'runs;
                };
                if run < args.trials.warmup {
                    continue;
                }
                out.lecture(format_args!(
                    "pingpong on {placement} ({}): {} round trips, {} per round trip, {:.2} context switches per round trip",
                    if a == b { format!("CPU {a}") } else { format!("CPUs {a} and {b}") },
                    rt.round_trips,
                    fmt_ns(rt.ns_per_round_trip),
                    rt.switches_per_round_trip
                ));
                trials.push(PingPong {
                    trial: run - args.trials.warmup + 1,
                    placement,
                    parent_cpu: a,
                    child_cpu: b,
                    result: rt,
                });
            }
        }
    }
    let counters = before.delta(&Snapshot::of_self()?);
    let interrupted = interrupt::requested();
    if let Some(signal) = interrupted {
        eprintln!(
            "context_switch: stopped by {signal}; every child killed and reaped; results are partial"
        );
    }

    let summary = placements
        .iter()
        .map(|(p, _, _)| Summary {
            placement: p,
            us_per_round_trip: Spread::of(
                trials
                    .iter()
                    .filter(|t| t.placement == *p)
                    .map(|t| t.result.ns_per_round_trip / 1e3),
            ),
        })
        .collect();
    let results = Results {
        workers,
        trials,
        summary,
    };
    analyse(&out, &args, &results, &system);
    let report = Report {
        verdict: oslab::kit::Verdict::unchecked(
            "the lecture's claim",
            "this demo does not check it yet",
        ),
        demo: "context_switch",
        schema_version: SCHEMA_VERSION,
        params: Params {
            seconds: args.seconds.as_secs_f64(),
            pingpong: args.pingpong,
            io_pause_ns: nanos(args.io_pause),
            alone: args.alone,
            trials: args.trials.trials,
            warmup: args.trials.warmup,
            cpu: args.common.cpu.as_ref().map(ToString::to_string),
        },
        headline: headline(&results),
        lesson: LESSON.into(),
        partial: interrupted.is_some(),
        counters,
        system,
        results,
    };
    out.finish(&report, &csv_rows(&report.results))?;
    Ok(interrupt::exit_status(interrupted))
}

fn main() -> ExitCode {
    let (args, mut cmd) = cli::parse::<Args>("context_switch", |c| c);
    if args.seconds.is_zero() && args.pingpong == 0 {
        cli::usage_error(
            &mut cmd,
            "--seconds 0 and --pingpong 0 leave nothing to run",
        );
    }
    cli::finish(run(args))
}

const LESSON: &str = "a task that blocks gives the CPU away (voluntary switches); one that computes has it taken (nonvoluntary); a switch costs microseconds, and far more when the other task's CPU must be woken first";

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Serialize)]
struct Params {
    seconds: f64,
    pingpong: u64,
    io_pause_ns: u64,
    alone: bool,
    trials: u32,
    warmup: u32,
    cpu: Option<String>,
}

/// A worker's counters, as /proc/PID/status gave them at the end of its run.
#[derive(Serialize)]
struct Worker {
    name: &'static str,
    pid: i32,
    cpu: usize,
    seconds: f64,
    /// `voluntary_ctxt_switches`: it blocked.
    voluntary_cs: u64,
    /// `nonvoluntary_ctxt_switches`: it was preempted.
    nonvoluntary_cs: u64,
    beside_competitor: bool,
    /// The competitor's nonvoluntary switches over the same time.
    competitor_nonvoluntary_cs: Option<u64>,
    #[serde(skip)]
    status_lines: Vec<String>,
}

impl Worker {
    fn read(
        name: &'static str,
        pid: Pid,
        cpu: usize,
        seconds: Duration,
        beside: bool,
    ) -> Result<Worker> {
        let path = format!("/proc/{pid}/status");
        let text = fs::read_to_string(&path).with_context(|| format!("could not read {path}"))?;
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .map(str::to_string)
            .collect();
        let field = |key: &str| -> Result<u64> {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .with_context(|| format!("no {key} in {path}"))
        };
        Ok(Worker {
            name,
            pid: pid.as_raw(),
            cpu,
            seconds: seconds.as_secs_f64(),
            voluntary_cs: field("voluntary_ctxt_switches:")?,
            nonvoluntary_cs: field("nonvoluntary_ctxt_switches:")?,
            beside_competitor: beside,
            competitor_nonvoluntary_cs: None,
            status_lines: lines,
        })
    }
}

/// One ping-pong run.
#[derive(Serialize)]
struct RoundTrips {
    round_trips: u64,
    elapsed_ns: u64,
    ns_per_round_trip: f64,
    parent_voluntary_cs: u64,
    parent_nonvoluntary_cs: u64,
    child_voluntary_cs: u64,
    child_nonvoluntary_cs: u64,
    /// Both processes' switches during the round trips, per round trip: 2 when each side
    /// blocks once per round trip.
    switches_per_round_trip: f64,
}

/// One ping-pong trial: a CSV row.
#[derive(Serialize)]
struct PingPong {
    trial: u32,
    placement: &'static str,
    parent_cpu: usize,
    child_cpu: usize,
    #[serde(flatten)]
    result: RoundTrips,
}

#[derive(Serialize)]
struct Summary {
    placement: &'static str,
    us_per_round_trip: Option<Spread>,
}

#[derive(Serialize)]
struct Results {
    workers: Vec<Worker>,
    /// The ping-pong trials: one CPU first, then two.
    trials: Vec<PingPong>,
    summary: Vec<Summary>,
}

/// A CSV row: a worker's reading or a ping-pong trial.
#[derive(Serialize)]
struct Row {
    part: &'static str,
    name: &'static str,
    trial: Option<u32>,
    cpus: String,
    worker_seconds: Option<f64>,
    round_trips: Option<u64>,
    elapsed_ns: Option<u64>,
    ns_per_round_trip: Option<f64>,
    voluntary_cs: u64,
    nonvoluntary_cs: u64,
    switches_per_round_trip: Option<f64>,
}

fn csv_rows(r: &Results) -> Vec<Row> {
    let workers = r.workers.iter().map(|w| Row {
        part: "workers",
        name: w.name,
        trial: None,
        cpus: w.cpu.to_string(),
        worker_seconds: Some(w.seconds),
        round_trips: None,
        elapsed_ns: None,
        ns_per_round_trip: None,
        voluntary_cs: w.voluntary_cs,
        nonvoluntary_cs: w.nonvoluntary_cs,
        switches_per_round_trip: None,
    });
    let trials = r.trials.iter().map(|t| Row {
        part: "pingpong",
        name: t.placement,
        trial: Some(t.trial),
        cpus: format!("{};{}", t.parent_cpu, t.child_cpu),
        worker_seconds: None,
        round_trips: Some(t.result.round_trips),
        elapsed_ns: Some(t.result.elapsed_ns),
        ns_per_round_trip: Some(t.result.ns_per_round_trip),
        voluntary_cs: t.result.parent_voluntary_cs + t.result.child_voluntary_cs,
        nonvoluntary_cs: t.result.parent_nonvoluntary_cs + t.result.child_nonvoluntary_cs,
        switches_per_round_trip: Some(t.result.switches_per_round_trip),
    });
    workers.chain(trials).collect()
}

fn headline(r: &Results) -> String {
    let mut parts = Vec::new();
    if let [cpu, io, ..] = r.workers.as_slice() {
        parts.push(format!(
            "io_bound {} voluntary vs cpu_bound {}; cpu_bound preempted {} times",
            io.voluntary_cs, cpu.voluntary_cs, cpu.nonvoluntary_cs
        ));
    }
    for s in &r.summary {
        if let Some(us) = s.us_per_round_trip {
            parts.push(format!(
                "pipe round trip {} on {}",
                fmt_ns(us.median * 1e3),
                s.placement
            ));
        }
    }
    if parts.is_empty() {
        "nothing measured".into()
    } else {
        parts.join("; ")
    }
}

fn analyse(out: &Output, args: &Args, r: &Results, system: &Machine) {
    if let [cpu, io, ..] = r.workers.as_slice() {
        out.analysis(format_args!(
            "voluntary: io_bound {} against cpu_bound {}: the I/O-bound process blocks (a full pipe, a sleep) and gives the CPU away; the CPU-bound one never waits",
            io.voluntary_cs, cpu.voluntary_cs
        ));
        let beside = match cpu.competitor_nonvoluntary_cs {
            Some(c) => format!(
                " by the busy competitor on its CPU (which was itself preempted {c} times): two runnable tasks, one CPU, the scheduler alternates them"
            ),
            None => " (--alone: only other work on the machine preempted it)".to_string(),
        };
        out.analysis(format_args!(
            "nonvoluntary: cpu_bound was preempted {} times in {}{beside}",
            cpu.nonvoluntary_cs,
            fmt_duration(Duration::from_secs_f64(cpu.seconds))
        ));
    }
    for p in ["one CPU", "two CPUs"] {
        let mine: Vec<&PingPong> = r.trials.iter().filter(|t| t.placement == p).collect();
        let Some(last) = mine.last() else { continue };
        let per = last.result.switches_per_round_trip;
        let verdict = if (1.8..=2.3).contains(&per) {
            "as expected: one switch into each side per round trip (voluntary when a side blocks on its read, nonvoluntary when the woken side preempts the writer first)"
        } else if per < 1.8 {
            "fewer than 2: the reply was sometimes there before the reader blocked (a busy-polling wakeup, or both CPUs awake)"
        } else {
            "more than 2: other tasks preempted the pair too"
        };
        out.analysis(format_args!(
            "pingpong, {p}: {:.2} switches per round trip from the counters (parent {} + {}, child {} + {} voluntary + nonvoluntary): {verdict}",
            per,
            last.result.parent_voluntary_cs,
            last.result.parent_nonvoluntary_cs,
            last.result.child_voluntary_cs,
            last.result.child_nonvoluntary_cs
        ));
        if mine.len() > 1
            && let Some(s) = r
                .summary
                .iter()
                .find(|s| s.placement == p)
                .and_then(|s| s.us_per_round_trip)
        {
            out.analysis(format_args!(
                "  over {} trials: {}/{}/{} per round trip (min/median/max)",
                mine.len(),
                fmt_ns(s.min * 1e3),
                fmt_ns(s.median * 1e3),
                fmt_ns(s.max * 1e3)
            ));
        }
    }
    if r.trials.iter().any(|t| t.placement == "two CPUs") {
        out.analysis(
            "placement: on one CPU a round trip is two direct switches; across two CPUs each byte must wake the other CPU first (an interrupt, and in a VM an exit to the hypervisor), which costs far more",
        );
    } else if args.pingpong > 0 {
        out.analysis("placement: only one CPU is usable, so the two-CPU ping-pong was skipped");
    }
    out.analysis(format_args!("lesson: {LESSON}"));
    out.analysis(format_args!(
        "compare: taskset -c 0 perf bench sched pipe -l {}   (and without taskset for two CPUs; cat /proc/PID/status for the counters)",
        if args.pingpong > 0 { args.pingpong } else { 100_000 }
    ));
    if let Some(note) = system.hypervisor_note() {
        out.analysis(note);
    }
}
