//! context_switch's lab bench: the lecture's second terminal (each worker forked onto one CPU,
//! beside a busy competitor, its counters read from `/proc/PID/status` after a while), the
//! ping-pong's fork, placement and counters on one CPU and on two, and the verdict on the
//! lecture's claims: an I/O-bound task switches voluntarily, a CPU-bound one is preempted, and a
//! pipe round trip is two context switches. With `--threads`, the same ping-pong between two
//! threads of this process on one CPU, beside the two processes, and what the CPU's TLB tagging
//! (PCID) makes of the slide's "threads switch faster: their TLB is not flushed".
//!
//! The lecture's programs (cpu_bound.c, io_bound.c) and both sides of the ping-pong's loop are
//! the binary's (`src/bin/context_switch.rs`), handed over as [`Programs`].

use std::io::{PipeReader, PipeWriter, Read};
use std::thread;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::kit::stats::Spread;
use crate::kit::timing::{fmt_duration, fmt_ns, nanos, sig3};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::counters::ThreadUsage;
use crate::process::channel::{Next, Sender, channel};
use crate::process::scheduler::{child_on_cpu, pin_self, placement, restore_affinity};
use crate::process::{self, Child, Forked, SingleThreaded, limits, run_child};
use crate::{Error, Result};

/// The lecture's programs, as the binary writes them.
#[derive(Clone, Copy, Debug)]
pub struct Programs {
    /// cpu_bound.c: computes, never blocks.
    pub cpu_bound: fn(),
    /// io_bound.c: writes rounds into its stdout (a pipe) and sleeps `pause` between them.
    pub io_bound: fn(PipeWriter, Duration),
    /// A second CPU-bound task on the workers' CPU, so the scheduler has someone to preempt for.
    pub competitor: fn(),
    /// The ping-pong's child: `read(pipe1); write(pipe2)`, n times.
    pub echo: Echo,
    /// The ping-pong's parent: `write(pipe1); read(pipe2)`, n times (fewer after Ctrl-C); the
    /// round trips made.
    pub ping: Ping,
}

/// The ping-pong's echoing side: `read(pipe1); write(pipe2)`, n times.
pub type Echo = fn(u64, &mut PipeReader, &mut PipeWriter) -> std::io::Result<()>;
/// The ping-pong's sending side: `write(pipe1); read(pipe2)`, n times (fewer after Ctrl-C);
/// returns the round trips made.
pub type Ping = fn(u64, &mut PipeWriter, &mut PipeReader) -> std::io::Result<u64>;

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub seconds: f64,
    pub pingpong: u64,
    pub io_pause_ns: u64,
    pub alone: bool,
    /// The ping-pong between two threads of one process too.
    pub threads: bool,
    pub trials: u32,
    pub warmup: u32,
}

/// A worker's counters, as /proc/PID/status gave them at the end of its run.
#[derive(Clone, Debug, Serialize)]
pub struct Worker {
    pub name: &'static str,
    pub pid: i32,
    pub cpu: usize,
    pub seconds: f64,
    /// `voluntary_ctxt_switches`: it blocked.
    pub voluntary_cs: u64,
    /// `nonvoluntary_ctxt_switches`: it was preempted.
    pub nonvoluntary_cs: u64,
    pub beside_competitor: bool,
    /// The competitor's nonvoluntary switches over the same time.
    pub competitor_nonvoluntary_cs: Option<u64>,
    #[serde(skip)]
    pub status_lines: Vec<String>,
}

/// One ping-pong run.
#[derive(Clone, Debug, Serialize)]
pub struct RoundTrips {
    pub round_trips: u64,
    pub elapsed_ns: u64,
    pub ns_per_round_trip: f64,
    pub parent_voluntary_cs: u64,
    pub parent_nonvoluntary_cs: u64,
    pub child_voluntary_cs: u64,
    pub child_nonvoluntary_cs: u64,
    /// Both processes' switches during the round trips, per round trip: 2 when each side
    /// blocks once per round trip.
    pub switches_per_round_trip: f64,
}

/// One ping-pong trial.
#[derive(Clone, Debug, Serialize)]
pub struct PingPong {
    pub trial: u32,
    pub placement: &'static str,
    pub parent_cpu: usize,
    pub child_cpu: usize,
    #[serde(flatten)]
    pub result: RoundTrips,
}

/// The ping-pong's time per round trip over the trials of one placement.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub placement: &'static str,
    pub us_per_round_trip: Option<Spread>,
}

/// What this CPU does about the TLB at a switch between processes (`--threads`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tlb {
    /// `pcid` in /proc/cpuinfo's flags: TLB entries are tagged with their address space, and
    /// Linux keeps a process's entries across a switch instead of flushing them.
    pub pcid: bool,
    /// `invpcid`: the kernel can drop one address space's entries without touching the rest.
    pub invpcid: bool,
    /// /sys/devices/system/cpu/vulnerabilities/meltdown ("Mitigation: PTI": every system call
    /// switches page tables anyway).
    pub meltdown: Option<String>,
}

impl Tlb {
    /// This machine's, from /proc/cpuinfo and /sys.
    pub fn read() -> Tlb {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == "flags"))
            .map_or(Vec::new(), |(_, v)| v.split_whitespace().collect());
        Tlb {
            pcid: flags.contains(&"pcid"),
            invpcid: flags.contains(&"invpcid"),
            meltdown: std::fs::read_to_string("/sys/devices/system/cpu/vulnerabilities/meltdown")
                .ok()
                .map(|m| m.trim().to_string()),
        }
    }

    /// What the CPU does at a switch between processes, in words.
    fn describe(&self) -> String {
        let pti = match &self.meltdown {
            Some(m) if m.contains("PTI") => {
                "; and with PTI (the Meltdown mitigation) every system call switches page tables anyway"
            }
            _ => "",
        };
        if self.pcid {
            format!(
                "this CPU has PCID{}: TLB entries carry their address space's tag, so Linux keeps them across a switch between processes instead of flushing the TLB{pti}",
                if self.invpcid { " (and INVPCID)" } else { "" }
            )
        } else {
            format!(
                "this CPU has no PCID: a switch between processes flushes the TLB, and the new process starts with it empty{pti}"
            )
        }
    }
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub workers: Vec<Worker>,
    /// The ping-pong trials: one CPU first, then two (then two threads on one CPU).
    pub trials: Vec<PingPong>,
    pub summary: Vec<Summary>,
    /// With `--threads`: the CPU's TLB tagging.
    pub tlb: Option<Tlb>,
    /// With `--threads`: the threads' median round trip against the processes' on one CPU.
    pub threads_vs_processes: Option<ThreadsVsProcesses>,
}

/// The slide's comparison: the same ping-pong between two threads of one process and between
/// two processes, on one CPU, medians over the trials.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadsVsProcesses {
    pub thread_ns_per_round_trip: f64,
    pub process_ns_per_round_trip: f64,
    /// (processes − threads) / processes: how much less a threads' round trip took, in %
    /// (negative: more).
    pub saved_pct: f64,
    /// Trials of each: a threads' trial and a processes' trial ran back to back in each run.
    pub trials: usize,
    /// The runs where the threads' round trip was the cheaper of the pair.
    pub threads_won: usize,
    /// The processes' own spread over the trials (what separates two runs of the same thing).
    pub process_min_ns: f64,
    pub process_max_ns: f64,
}

impl ThreadsVsProcesses {
    /// The comparison of the runs' (threads, processes) round trips, ns, each pair measured
    /// back to back. None without a pair.
    pub fn of(pairs: &[(f64, f64)]) -> Option<ThreadsVsProcesses> {
        let threads = Spread::of(pairs.iter().map(|p| p.0))?;
        let processes = Spread::of(pairs.iter().map(|p| p.1))?;
        Some(ThreadsVsProcesses {
            thread_ns_per_round_trip: threads.median,
            process_ns_per_round_trip: processes.median,
            saved_pct: 100.0 * (processes.median - threads.median) / processes.median,
            trials: pairs.len(),
            threads_won: pairs.iter().filter(|p| p.0 < p.1).count(),
            process_min_ns: processes.min,
            process_max_ns: processes.max,
        })
    }

    /// True when the threads' round trip was clearly cheaper: by at least
    /// [`THREADS_MARGIN_PCT`] of the median, and in most of the runs.
    fn faster(&self) -> bool {
        self.saved_pct >= THREADS_MARGIN_PCT && 2 * self.threads_won > self.trials
    }

    /// Why the difference is not clear, from the run: the pairs, the spread.
    fn unclear(&self) -> String {
        let mut why = format!(
            "the threads were faster in {} of {}, and by the median {}",
            self.threads_won,
            words::count(self.trials as u64, "run"),
            if self.saved_pct >= 0.0 {
                format!("saved {:.1}%", self.saved_pct)
            } else {
                format!("cost {:.1}% more", -self.saved_pct)
            }
        );
        if self.trials > 1 {
            why.push_str(&format!(
                ", while the processes' own trials ranged {}–{}",
                fmt_ns(self.process_min_ns),
                fmt_ns(self.process_max_ns)
            ));
        }
        why
    }

    /// `8.10 µs against 8.50 µs (4.7% less)`.
    fn figures(&self) -> String {
        format!(
            "{} between two threads against {} between two processes ({:.1}% {}{})",
            fmt_ns(self.thread_ns_per_round_trip),
            fmt_ns(self.process_ns_per_round_trip),
            self.saved_pct.abs(),
            if self.saved_pct >= 0.0 {
                "less"
            } else {
                "more"
            },
            if self.trials > 1 {
                format!(
                    "; medians of {} each",
                    words::count(self.trials as u64, "trial")
                )
            } else {
                String::new()
            }
        )
    }
}

/// How much cheaper the threads' round trip must be to count as faster: less is within what
/// separates two runs of the same ping-pong on a shared machine.
const THREADS_MARGIN_PCT: f64 = 5.0;

/// A CSV row: a worker's reading or a ping-pong trial.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub part: &'static str,
    pub name: &'static str,
    pub trial: Option<u32>,
    pub cpus: String,
    pub worker_seconds: Option<f64>,
    pub round_trips: Option<u64>,
    pub elapsed_ns: Option<u64>,
    pub ns_per_round_trip: Option<f64>,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub switches_per_round_trip: Option<f64>,
}

/// The two placements of the ping-pong.
const PLACEMENTS: [&str; 2] = ["one CPU", "two CPUs"];
/// `--threads`: the ping-pong between two threads of this process, on one CPU.
const THREADS: &str = "one CPU, two threads";

/// What a forked worker tells the parent once it has (or has not) taken its CPU.
#[derive(Debug, Serialize, Deserialize)]
struct Placed {
    ok: bool,
}

/// What the ping-pong's child tells the parent: it is in place; then its own counters.
#[derive(Debug, Serialize, Deserialize)]
enum Pong {
    Ready,
    Switches {
        voluntary_cs: u64,
        nonvoluntary_cs: u64,
    },
}

/// Runs the demo: (a) the lecture's two programs, one after the other, each read after
/// `seconds`; (b) the ping-pong, on one CPU and on two, interleaved trial by trial.
pub fn run(s: &Session, p: &Params, programs: &Programs) -> Result<Results> {
    let (shared, other) = placement(s.cpu.as_ref())?;
    limits::check_can_create(3)?;
    let mut workers = Vec::new();
    if p.seconds > 0.0 {
        // We, the second terminal, stay off the workers' CPU when there is another.
        let restore = pin_self(other.unwrap_or(shared))?;
        for name in ["cpu_bound", "io_bound"] {
            match watch(s, p, programs, name, shared)? {
                Some(w) => workers.push(w),
                None => break,
            }
        }
        restore_affinity(&restore)?;
    }

    let placements: Vec<(&'static str, usize, usize)> =
        std::iter::once((PLACEMENTS[0], shared, shared))
            .chain(other.map(|o| (PLACEMENTS[1], shared, o)))
            .chain(p.threads.then_some((THREADS, shared, shared)))
            .collect();
    let mut trials = Vec::new();
    if p.pingpong > 0 {
        'runs: for run in 0..p.warmup + p.trials {
            for &(placement, a, b) in &placements {
                if interrupt::requested().is_some() {
                    break 'runs;
                }
                let rt = if placement == THREADS {
                    thread_pingpong(programs.echo, programs.ping, p.pingpong, a)?
                } else {
                    pingpong(programs, p.pingpong, a, b)?
                };
                let Some(rt) = rt else {
                    break 'runs;
                };
                if run < p.warmup {
                    continue;
                }
                s.out.lecture(format_args!(
                    "pingpong on {placement} ({}): {} round trips, {} per round trip, {:.2} context switches per round trip",
                    if a == b { format!("CPU {a}") } else { format!("CPUs {a} and {b}") },
                    rt.round_trips,
                    fmt_ns(rt.ns_per_round_trip),
                    rt.switches_per_round_trip
                ));
                trials.push(PingPong {
                    trial: run - p.warmup + 1,
                    placement,
                    parent_cpu: a,
                    child_cpu: b,
                    result: rt,
                });
            }
        }
    }
    let summary = placements
        .iter()
        .map(|&(placement, _, _)| Summary {
            placement,
            us_per_round_trip: Spread::of(
                trials
                    .iter()
                    .filter(|t| t.placement == placement)
                    .map(|t| t.result.ns_per_round_trip / 1e3),
            ),
        })
        .collect();
    let mut results = Results {
        workers,
        trials,
        summary,
        tlb: p.threads.then(Tlb::read),
        threads_vs_processes: None,
    };
    results.threads_vs_processes = results.compare_threads();
    Ok(results)
}

/// The ping-pong between this thread and a second one of this process, both on `cpu`: the
/// same loop through the same two pipes, but each switch stays in one address space. None
/// when Ctrl-C stopped it. (goroutines times an OS thread switch with it too.)
pub fn thread_pingpong(echo: Echo, ping: Ping, n: u64, cpu: usize) -> Result<Option<RoundTrips>> {
    let (mut to_echo_r, mut to_echo_w) = std::io::pipe().map_err(Error::io("pipe"))?;
    let (mut to_ping_r, mut to_ping_w) = std::io::pipe().map_err(Error::io("pipe"))?;
    limits::check_can_create(1)?;
    // A new thread inherits its creator's CPU mask: pinning ourselves first puts both on `cpu`.
    let restore = pin_self(cpu)?;
    let ran = thread::scope(|s| -> Result<Option<RoundTrips>> {
        let pong = thread::Builder::new()
            .name("pong".into())
            .spawn_scoped(s, move || -> Result<ThreadUsage> {
                let before = ThreadUsage::now()?;
                // Its read fails with EOF if the ping side stops early (Ctrl-C): then it ends.
                let echoed = echo(n, &mut to_echo_r, &mut to_ping_w);
                let usage = before.delta(&ThreadUsage::now()?);
                echoed.map_err(Error::io("read/write"))?;
                Ok(usage)
            })
            .map_err(|e| Error::spawn(1, 1, e))?;
        let before = ThreadUsage::now()?;
        let start = Instant::now();
        let done = ping(n, &mut to_echo_w, &mut to_ping_r);
        let elapsed = start.elapsed();
        let ours = before.delta(&ThreadUsage::now()?);
        drop(to_echo_w); // the echo thread's next read ends, if it was left waiting
        let theirs = pong
            .join()
            .map_err(|_| Error::WorkerPanicked { index: 1 })?;
        if done.map_err(Error::io("write/read"))? < n {
            return Ok(None);
        }
        let theirs = theirs?;
        Ok(Some(round_trips(n, elapsed, &ours, &theirs)))
    });
    restore_affinity(&restore)?;
    ran
}

/// A ping-pong's figures: `n` round trips in `elapsed`, with each side's switches.
fn round_trips(n: u64, elapsed: Duration, ping: &ThreadUsage, echo: &ThreadUsage) -> RoundTrips {
    let switches =
        ping.voluntary_cs + ping.nonvoluntary_cs + echo.voluntary_cs + echo.nonvoluntary_cs;
    RoundTrips {
        round_trips: n,
        elapsed_ns: nanos(elapsed),
        ns_per_round_trip: nanos(elapsed) as f64 / n as f64,
        parent_voluntary_cs: ping.voluntary_cs,
        parent_nonvoluntary_cs: ping.nonvoluntary_cs,
        child_voluntary_cs: echo.voluntary_cs,
        child_nonvoluntary_cs: echo.nonvoluntary_cs,
        switches_per_round_trip: switches as f64 / n as f64,
    }
}

/// Forks `body` as a child pinned to `cpu` that dies with us; it says on `placed` whether it
/// took its CPU.
fn spawn(cpu: usize, placed: &Sender<Placed>, body: impl FnOnce()) -> Result<Child> {
    match process::fork(&SingleThreaded::check()?)? {
        Forked::Child => run_child(|| {
            let ok = child_on_cpu(cpu).is_ok();
            if placed.send(&Placed { ok }).is_err() || !ok {
                return 1;
            }
            body();
            0
        }),
        Forked::Parent(child) => Ok(child),
    }
}

/// Runs the worker `name` for `seconds` on `cpu` (beside the competitor unless `alone`), then
/// reads its counters from /proc/PID/status as the lecture's second terminal does, and kills
/// it. None when Ctrl-C came first.
fn watch(
    s: &Session,
    p: &Params,
    programs: &Programs,
    name: &'static str,
    cpu: usize,
) -> Result<Option<Worker>> {
    let (mut placed, placed_tx) = channel::<Placed>()?;
    // io_bound's stdout: the lecture's terminal, which the demo drains like a slow one.
    let (mut drain, io_out) = std::io::pipe().map_err(Error::io("pipe"))?;
    let mut competitor = None;
    if !p.alone {
        competitor = Some(spawn(cpu, &placed_tx, programs.competitor)?);
    }
    let pause = Duration::from_nanos(p.io_pause_ns);
    let io_bound = programs.io_bound;
    let worker = match name {
        "cpu_bound" => spawn(cpu, &placed_tx, programs.cpu_bound)?,
        _ => spawn(cpu, &placed_tx, move || io_bound(io_out, pause))?,
    };
    drop(placed_tx);
    // Each child, named, for the error if one dies before it is read.
    let children: Vec<(&Child, String)> = std::iter::once((&worker, name.to_string()))
        .chain(
            competitor
                .iter()
                .map(|c| (c, format!("{name}'s competitor"))),
        )
        .collect();
    for _ in 0..children.len() {
        match placed.next(None)? {
            Next::Message(Placed { ok: true }) => {}
            Next::Stopped(_) => return Ok(None), // the guards kill and reap the children
            Next::Message(Placed { ok: false }) => {
                return Err(Error::Failed(format!(
                    "{name} or its competitor failed to take CPU {cpu}"
                )));
            }
            Next::End | Next::TimedOut => {
                return Err(died(&children, &format!("before it took CPU {cpu}"), None));
            }
        }
    }
    let started = Instant::now();
    nix::fcntl::fcntl(
        &drain,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| Error::sys("fcntl", e))?;
    let seconds = Duration::from_secs_f64(p.seconds);
    let mut sink = vec![0u8; 65536];
    while started.elapsed() < seconds {
        if interrupt::requested().is_some() {
            return Ok(None);
        }
        while drain.read(&mut sink).is_ok_and(|n| n > 0) {} // the terminal takes what is there
        for (child, who) in &children {
            if let Some(exit) = child.ended()? {
                return Err(Error::Failed(format!(
                    "{who} (PID {}) {} {} into its {} on CPU {cpu}: its counters would not show what the lecture shows",
                    child.pid(),
                    exit.verb(),
                    fmt_duration(started.elapsed()),
                    fmt_duration(seconds)
                )));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let seconds = started.elapsed();
    let mut reading = read_status(name, worker.pid(), cpu, seconds, !p.alone)?;
    s.out.lecture(format_args!(
        "$ grep ctxt /proc/{}/status    # {name}, after {} on CPU {cpu}{}",
        worker.pid(),
        fmt_duration(seconds),
        if p.alone {
            ""
        } else {
            " beside a busy competitor"
        }
    ));
    for line in &reading.status_lines {
        s.out.lecture(line);
    }
    if let Some(c) = &competitor {
        let c = read_status("competitor", c.pid(), cpu, seconds, true)?;
        reading.competitor_nonvoluntary_cs = Some(c.nonvoluntary_cs);
    }
    drop(children);
    drop(worker); // SIGKILL and reap, like the lecture's Ctrl-C; then the competitor
    drop(competitor);
    Ok(Some(reading))
}

/// A process's context-switch counters from /proc/PID/status, the lines as the lecture's
/// `grep ctxt` shows them.
fn read_status(
    name: &'static str,
    pid: Pid,
    cpu: usize,
    seconds: Duration,
    beside: bool,
) -> Result<Worker> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Failed(format!("could not read {path}: {e}")))?;
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
            .ok_or_else(|| Error::Failed(format!("no {key} in {path}")))
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

/// perf bench sched pipe: this process and a child pass one byte back and forth, `n` times,
/// through two pipes (the measurement; the child's reports come on the channel); `(ours,
/// theirs)` are the CPUs each is pinned to. None when Ctrl-C stopped it.
fn pingpong(programs: &Programs, n: u64, ours: usize, theirs: usize) -> Result<Option<RoundTrips>> {
    let (mut to_child_r, mut to_child_w) = std::io::pipe().map_err(Error::io("pipe"))?;
    let (mut to_parent_r, mut to_parent_w) = std::io::pipe().map_err(Error::io("pipe"))?;
    let (mut reports, tx) = channel::<Pong>()?;
    // After a --threads trial the echo thread has just been joined.
    let child = match process::fork(&SingleThreaded::check_after_join()?)? {
        Forked::Child => {
            drop((to_child_w, to_parent_r));
            run_child(|| {
                if child_on_cpu(theirs).is_err() || tx.send(&Pong::Ready).is_err() {
                    return 1;
                }
                let before = ThreadUsage::now().unwrap_or_default();
                if (programs.echo)(n, &mut to_child_r, &mut to_parent_w).is_err() {
                    return 1;
                }
                let d = before.delta(&ThreadUsage::now().unwrap_or_default());
                let counts = Pong::Switches {
                    voluntary_cs: d.voluntary_cs,
                    nonvoluntary_cs: d.nonvoluntary_cs,
                };
                i32::from(tx.send(&counts).is_err())
            })
        }
        Forked::Parent(child) => child,
    };
    drop((to_child_r, to_parent_w, tx));
    let restore = pin_self(ours)?;
    let named = [(&child, "the ping-pong child".to_string())];
    let on = if ours == theirs {
        format!("CPU {ours}")
    } else {
        format!("CPUs {ours} and {theirs}")
    };
    match reports.next(None)? {
        Next::Message(Pong::Ready) => {}
        Next::Stopped(_) => {
            restore_affinity(&restore)?;
            return Ok(None); // the guard kills the child
        }
        Next::End | Next::TimedOut => {
            return Err(died(&named, &format!("before it took CPU {theirs}"), None));
        }
        _ => {
            return Err(Error::Failed(format!(
                "the ping-pong child failed to take CPU {theirs}"
            )));
        }
    }
    let before = ThreadUsage::now()?;
    let start = Instant::now();
    let done = (programs.ping)(n, &mut to_child_w, &mut to_parent_r).map_err(|e| {
        // The pipe broke (EOF, EPIPE): the child is gone; say how it went.
        died(&named, &format!("during the ping-pong on {on}"), Some(e))
    })?;
    let elapsed = start.elapsed();
    let ours_usage = before.delta(&ThreadUsage::now()?);
    restore_affinity(&restore)?;
    if done < n {
        return Ok(None); // interrupted: the guard kills the child midway
    }
    let (child_voluntary_cs, child_nonvoluntary_cs) = match reports.next(None)? {
        Next::Message(Pong::Switches {
            voluntary_cs,
            nonvoluntary_cs,
        }) => (voluntary_cs, nonvoluntary_cs),
        Next::Stopped(_) => return Ok(None),
        _ => return Err(died(&named, "before it sent its counters", None)),
    };
    let pid = child.pid();
    let exit = child.wait()?;
    if !exit.success() {
        return Err(Error::Failed(format!(
            "the ping-pong child (PID {pid}) {} after the ping-pong on {on}",
            exit.verb()
        )));
    }
    let theirs = ThreadUsage {
        voluntary_cs: child_voluntary_cs,
        nonvoluntary_cs: child_nonvoluntary_cs,
        ..ThreadUsage::default()
    };
    Ok(Some(round_trips(n, elapsed, &ours_usage, &theirs)))
}

/// The error for a child that went silent `when` (its pipe closed, a report missing): which of
/// `children` ended and how (exit code or signal), waiting a moment for it to end; `broken` is
/// what the pipe said.
fn died(children: &[(&Child, String)], when: &str, broken: Option<std::io::Error>) -> Error {
    let wait = Duration::from_secs(1) / children.len().max(1) as u32;
    for (child, who) in children {
        if let Ok(Some(exit)) = child.ended_within(wait) {
            let (pid, how) = (child.pid(), exit.verb());
            return Error::Failed(format!("{who} (PID {pid}) {how} {when}"));
        }
    }
    let who: Vec<String> = children
        .iter()
        .map(|(c, who)| format!("{who} (PID {})", c.pid()))
        .collect();
    let broken = broken.map_or_else(String::new, |e| format!(" (write/read: {e})"));
    Error::Failed(format!(
        "{} stopped answering {when}{broken}, yet is still running",
        who.join(" or ")
    ))
}

/// The lecture's claims, as the verdict states them.
const WORKERS_VOLUNTARY: &str = "the I/O-bound worker switches voluntarily";
const WORKERS_PREEMPTED: &str = "the CPU-bound one is preempted";
const ROUND_TRIP: &str = "a pipe round trip costs two context switches";
const THREADS_FASTER: &str = "a switch between threads of one process is faster than between processes (their TLB is not flushed)";

/// `preempted 63 times`, `preempted once`, `never preempted`.
fn preempted(n: u64) -> String {
    if n == 0 {
        "never preempted".into()
    } else {
        format!("preempted {}", words::times(n))
    }
}

/// Switches per round trip that count as "two": one into each side.
const TWO_SWITCHES: std::ops::RangeInclusive<f64> = 1.8..=2.3;

impl Results {
    /// cpu_bound's and io_bound's readings, when both were taken.
    fn pair(&self) -> Option<(&Worker, &Worker)> {
        match self.workers.as_slice() {
            [cpu, io, ..] => Some((cpu, io)),
            _ => None,
        }
    }

    /// The median switches per round trip and the median time per round trip, of a placement.
    fn placement(&self, placement: &str) -> Option<(f64, f64)> {
        let mine: Vec<&PingPong> = self
            .trials
            .iter()
            .filter(|t| t.placement == placement)
            .collect();
        let switches = Spread::of(mine.iter().map(|t| t.result.switches_per_round_trip))?;
        let ns = Spread::of(mine.iter().map(|t| t.result.ns_per_round_trip))?;
        Some((switches.median, ns.median))
    }

    /// With --threads: the threads' round trips against the processes', on one CPU, paired
    /// run by run.
    fn compare_threads(&self) -> Option<ThreadsVsProcesses> {
        let of = |placement: &str, trial: u32| {
            self.trials
                .iter()
                .find(|t| t.placement == placement && t.trial == trial)
                .map(|t| t.result.ns_per_round_trip)
        };
        let pairs: Vec<(f64, f64)> = self
            .trials
            .iter()
            .filter(|t| t.placement == THREADS)
            .filter_map(|t| Some((t.result.ns_per_round_trip, of(PLACEMENTS[0], t.trial)?)))
            .collect();
        ThreadsVsProcesses::of(&pairs)
    }

    /// Whether this CPU tags its TLB (PCID), as the explanation for a small difference.
    fn pcid(&self) -> bool {
        self.tlb.as_ref().is_some_and(|t| t.pcid)
    }
}

/// Why a count of switches per round trip is not two.
fn why_not_two(per: f64) -> &'static str {
    if per < *TWO_SWITCHES.start() {
        "fewer than 2: the reply was sometimes there before the reader blocked (a busy-polling wakeup, or both CPUs awake)"
    } else {
        "more than 2: other tasks preempted the pair too"
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, _p: &Params) -> String {
        let mut parts = Vec::new();
        if let Some((cpu, io)) = self.pair() {
            parts.push(format!(
                "io_bound {} voluntary vs cpu_bound {}; cpu_bound {}",
                io.voluntary_cs,
                cpu.voluntary_cs,
                preempted(cpu.nonvoluntary_cs)
            ));
        }
        for s in &self.summary {
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

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some((cpu, io)) = self.pair() {
            lines.push(format!(
                "voluntary: io_bound {} against cpu_bound {}: the I/O-bound process blocks (a full pipe, a sleep) and gives the CPU away; the CPU-bound one never waits",
                io.voluntary_cs, cpu.voluntary_cs
            ));
            let beside = match cpu.competitor_nonvoluntary_cs {
                Some(c) => format!(
                    " by the busy competitor on its CPU (which was itself {}): two runnable tasks, one CPU, the scheduler alternates them",
                    preempted(c)
                ),
                None => " (--alone: only other work on the machine preempted it)".to_string(),
            };
            lines.push(format!(
                "nonvoluntary: cpu_bound was {} in {}{beside}",
                preempted(cpu.nonvoluntary_cs),
                fmt_duration(Duration::from_secs_f64(cpu.seconds))
            ));
        }
        for placement in PLACEMENTS.into_iter().chain([THREADS]) {
            let mine: Vec<&PingPong> = self
                .trials
                .iter()
                .filter(|t| t.placement == placement)
                .collect();
            let Some(last) = mine.last() else { continue };
            let per = last.result.switches_per_round_trip;
            let reading = if TWO_SWITCHES.contains(&per) {
                "as expected: one switch into each side per round trip (voluntary when a side blocks on its read, nonvoluntary when the woken side preempts the writer first)"
            } else {
                why_not_two(per)
            };
            lines.push(format!(
                "pingpong, {placement}: {per:.2} switches per round trip from the counters (parent {} + {}, child {} + {} voluntary + nonvoluntary): {reading}",
                last.result.parent_voluntary_cs,
                last.result.parent_nonvoluntary_cs,
                last.result.child_voluntary_cs,
                last.result.child_nonvoluntary_cs
            ));
            if mine.len() > 1
                && let Some(s) = self
                    .summary
                    .iter()
                    .find(|s| s.placement == placement)
                    .and_then(|s| s.us_per_round_trip)
            {
                lines.push(format!(
                    "  over {}: {}/{}/{} per round trip (min/median/max)",
                    words::count(mine.len() as u64, "trial"),
                    fmt_ns(s.min * 1e3),
                    fmt_ns(s.median * 1e3),
                    fmt_ns(s.max * 1e3)
                ));
            }
        }
        if let (Some((_, one)), Some((_, two))) =
            (self.placement(PLACEMENTS[0]), self.placement(PLACEMENTS[1]))
        {
            lines.push(if two > 1.5 * one {
                "placement: on one CPU a round trip is two direct switches; across two CPUs each byte must wake the other CPU first (an interrupt, and in a VM an exit to the hypervisor), which costs far more".into()
            } else {
                format!(
                    "placement: across two CPUs a round trip took {} against {} on one: the other CPU was awake when the byte came, so no wakeup was paid",
                    fmt_ns(two),
                    fmt_ns(one)
                )
            });
        } else if p.pingpong > 0 && !self.trials.is_empty() {
            // The summary lists every placement the run had CPUs for, measured or not.
            let two_cpus = self.summary.iter().any(|s| s.placement == PLACEMENTS[1]);
            lines.push(if two_cpus {
                "placement: the run was stopped before the two-CPU ping-pong ended".into()
            } else {
                "placement: only one CPU is usable, so the two-CPU ping-pong was skipped".into()
            });
        }
        if let Some(c) = &self.threads_vs_processes {
            lines.push(format!(
                "threads vs processes, one CPU: a round trip took {}",
                c.figures()
            ));
        }
        if let Some(tlb) = &self.tlb {
            lines.push(format!("  TLB: {}", tlb.describe()));
        }
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let mut claims = Vec::new();
        let mut figures = Vec::new();
        let mut failed = Vec::new();
        if let Some((cpu, io)) = self.pair() {
            claims.push(WORKERS_VOLUNTARY);
            let voluntary =
                io.voluntary_cs > io.nonvoluntary_cs && io.voluntary_cs > cpu.voluntary_cs;
            figures.push(format!(
                "io_bound {} + {} (voluntary + nonvoluntary) against cpu_bound's {} voluntary",
                io.voluntary_cs, io.nonvoluntary_cs, cpu.voluntary_cs
            ));
            if !voluntary {
                failed.push(if io.voluntary_cs <= cpu.voluntary_cs {
                    "io_bound blocked no more often than cpu_bound".to_string()
                } else {
                    "io_bound was preempted more often than it blocked".to_string()
                });
            }
            claims.push(WORKERS_PREEMPTED);
            figures.push(format!("cpu_bound {}", preempted(cpu.nonvoluntary_cs)));
            if cpu.nonvoluntary_cs <= cpu.voluntary_cs {
                failed.push(if cpu.beside_competitor {
                    "cpu_bound was hardly preempted although a competitor shared its CPU (was the competitor starved of its CPU?)".to_string()
                } else {
                    format!(
                        "cpu_bound was hardly preempted: --alone, and nothing else wanted CPU {}",
                        cpu.cpu
                    )
                });
            }
        }
        let measured: Vec<(&str, f64, f64)> = PLACEMENTS
            .into_iter()
            .chain([THREADS])
            .filter_map(|pl| self.placement(pl).map(|(per, ns)| (pl, per, ns)))
            .collect();
        if !measured.is_empty() {
            claims.push(ROUND_TRIP);
            for &(pl, per, ns) in &measured {
                figures.push(format!(
                    "{per:.2} switches per round trip on {pl}, where one took {}",
                    fmt_ns(ns)
                ));
                if !TWO_SWITCHES.contains(&per) {
                    failed.push(format!("on {pl}, {}", why_not_two(per)));
                }
            }
        }
        if let Some(c) = &self.threads_vs_processes {
            claims.push(THREADS_FASTER);
            figures.push(format!("a round trip took {}", c.figures()));
            if !c.faster() {
                failed.push(format!(
                    "no clear difference ({}; it takes {THREADS_MARGIN_PCT}% and most runs): {}",
                    c.unclear(),
                    if self.pcid() {
                        "this CPU has PCID, so a switch between processes does not flush the TLB either"
                    } else {
                        "without PCID a switch between processes flushes the TLB, but refilling it for a loop this small costs next to nothing"
                    }
                ));
            }
        }
        if claims.is_empty() {
            let what = if p.seconds > 0.0 {
                "before the first worker was read"
            } else {
                "before the first ping-pong ended"
            };
            let mut planned = Vec::new();
            if p.seconds > 0.0 {
                planned.extend([WORKERS_VOLUNTARY, WORKERS_PREEMPTED]);
            }
            if p.pingpong > 0 {
                planned.push(ROUND_TRIP);
            }
            if p.pingpong > 0 && p.threads {
                planned.push(THREADS_FASTER);
            }
            return Verdict::unchecked(words::list(planned), format!("stopped {what}"));
        }
        let claim = words::list(&claims);
        let mut because = figures.join("; ");
        if !failed.is_empty() {
            because = format!("{because}: {}", failed.join("; "));
        }
        Verdict::check(claim, failed.is_empty(), because)
    }

    fn lesson(&self, _p: &Params, _cx: &Context<'_>) -> String {
        let mut parts = Vec::new();
        if let Some((cpu, io)) = self.pair() {
            parts.push(format!(
                "a task that blocks gives the CPU away (io_bound: {} in {}), one that computes has it taken (cpu_bound: {})",
                words::count(io.voluntary_cs, "voluntary switch"),
                fmt_duration(Duration::from_secs_f64(io.seconds)),
                preempted(cpu.nonvoluntary_cs)
            ));
        }
        if let Some((per, one)) = self.placement(PLACEMENTS[0]) {
            let mut s = format!(
                "a switch costs about {} here (a {} round trip on one CPU is {per:.2} of them)",
                fmt_ns(one / per.max(1.0)),
                fmt_ns(one)
            );
            if let Some((_, two)) = self.placement(PLACEMENTS[1]) {
                let ratio = two / one;
                s.push_str(&format!(
                    ", and a round trip across two CPUs takes {} ({}× as long{})",
                    fmt_ns(two),
                    sig3(ratio),
                    if ratio > 1.5 {
                        ": each byte must wake the other CPU first"
                    } else {
                        ": both CPUs stayed awake, so no wakeup was paid"
                    }
                ));
            }
            parts.push(s);
        }
        if let Some(c) = &self.threads_vs_processes {
            parts.push(format!(
                "threads of one process share their page tables, so a switch between them changes no address space: here a round trip between threads took {} against {} between processes ({}); {}",
                fmt_ns(c.thread_ns_per_round_trip),
                fmt_ns(c.process_ns_per_round_trip),
                if c.saved_pct >= 0.0 {
                    format!("{:.1}% less", c.saved_pct)
                } else {
                    format!("{:.1}% more", -c.saved_pct)
                },
                match (self.pcid(), c.faster()) {
                    (true, true) => "with PCID a switch between processes keeps its TLB entries too, so what the threads saved is the rest of an address-space switch (a new page-table root, the kernel's mm bookkeeping, colder caches), not the slide's flush",
                    (true, false) => "with PCID a switch between processes keeps its TLB entries as well, so the slide's flush happens in neither; both pay the scheduler, the pipe and the wakeup",
                    (false, true) => "without PCID the switch between processes flushes the TLB, and the next process refills it",
                    (false, false) => "without PCID the switch between processes flushes the TLB, but a loop this small refills it at once",
                }
            ));
        }
        if parts.is_empty() {
            "a task that blocks gives the CPU away (voluntary switches), one that computes has it taken (nonvoluntary); this run stopped before either was measured".into()
        } else {
            parts.join("; ")
        }
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "taskset -c 0 perf bench sched pipe -l {}   (and without taskset for two CPUs; cat /proc/PID/status for the counters)",
            if p.pingpong > 0 { p.pingpong } else { 100_000 }
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        let workers = self.workers.iter().map(|w| Row {
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
        let trials = self.trials.iter().map(|t| Row {
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

    fn progress(&self, p: &Params) -> Option<String> {
        let mut done = Vec::new();
        if p.seconds > 0.0 {
            done.push(format!("{} of 2 workers", self.workers.len()));
        }
        if p.pingpong > 0 {
            done.push(format!(
                "{} of {}",
                self.trials.len(),
                words::count(
                    u64::from(p.trials) * self.summary.len().max(1) as u64,
                    "ping-pong trial"
                )
            ));
        }
        Some(format!(
            "{}; every child killed and reaped",
            words::list(done)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &'static str, voluntary_cs: u64, nonvoluntary_cs: u64, beside: bool) -> Worker {
        Worker {
            name,
            pid: 4242,
            cpu: 0,
            seconds: 1.0,
            voluntary_cs,
            nonvoluntary_cs,
            beside_competitor: beside,
            competitor_nonvoluntary_cs: beside.then_some(60),
            status_lines: Vec::new(),
        }
    }

    fn trial(placement: &'static str, per: f64, ns: f64) -> PingPong {
        let n = 1000;
        let half = (per * n as f64 / 2.0) as u64;
        PingPong {
            trial: 1,
            placement,
            parent_cpu: 0,
            child_cpu: u64::from(placement == PLACEMENTS[1]) as usize,
            result: RoundTrips {
                round_trips: n,
                elapsed_ns: (ns * n as f64) as u64,
                ns_per_round_trip: ns,
                parent_voluntary_cs: half,
                parent_nonvoluntary_cs: 0,
                child_voluntary_cs: half,
                child_nonvoluntary_cs: 0,
                switches_per_round_trip: per,
            },
        }
    }

    fn results(workers: Vec<Worker>, trials: Vec<PingPong>) -> Results {
        let summary = PLACEMENTS
            .iter()
            .map(|&placement| Summary {
                placement,
                us_per_round_trip: Spread::of(
                    trials
                        .iter()
                        .filter(|t| t.placement == placement)
                        .map(|t| t.result.ns_per_round_trip / 1e3),
                ),
            })
            .collect();
        let mut r = Results {
            workers,
            trials,
            summary,
            tlb: None,
            threads_vs_processes: None,
        };
        r.threads_vs_processes = r.compare_threads();
        r
    }

    fn params(alone: bool) -> Params {
        Params {
            seconds: 1.0,
            pingpong: 1000,
            io_pause_ns: 10_000_000,
            alone,
            threads: false,
            trials: 1,
            warmup: 0,
        }
    }

    fn judge(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn both_claims_hold_on_the_lectures_figures() {
        let r = results(
            vec![
                worker("cpu_bound", 1, 63, true),
                worker("io_bound", 270, 1, true),
            ],
            vec![
                trial("one CPU", 2.0, 9_000.0),
                trial("two CPUs", 2.0, 45_000.0),
            ],
        );
        let (v, lesson, analysis) = judge(&r, &params(false));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert_eq!(
            v.claim,
            "the I/O-bound worker switches voluntarily, the CPU-bound one is preempted and a pipe round trip costs two context switches"
        );
        assert!(
            v.because.contains("cpu_bound preempted 63 times"),
            "{}",
            v.because
        );
        assert!(
            v.because
                .contains("2.00 switches per round trip on two CPUs"),
            "{}",
            v.because
        );
        assert!(
            lesson.contains("io_bound: 270 voluntary switches"),
            "{lesson}"
        );
        assert!(lesson.contains("a switch costs about 4.50 µs"), "{lesson}");
        assert!(
            lesson.contains("5.00× as long: each byte must wake the other CPU first"),
            "{lesson}"
        );
        assert!(
            analysis[1].starts_with("nonvoluntary: cpu_bound was preempted 63 times"),
            "{analysis:?}"
        );
        assert!(
            analysis.iter().any(|l| l.contains("costs far more")),
            "{analysis:?}"
        );
    }

    #[test]
    fn an_unpreempted_cpu_bound_worker_or_an_odd_round_trip_fails_the_claim() {
        // --alone on an idle CPU: nothing preempts cpu_bound.
        let r = results(
            vec![
                worker("cpu_bound", 1, 0, false),
                worker("io_bound", 270, 1, false),
            ],
            vec![trial("one CPU", 2.0, 9_000.0)],
        );
        let (v, lesson, _) = judge(&r, &params(true));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("--alone, and nothing else wanted CPU 0"),
            "{}",
            v.because
        );
        assert!(lesson.contains("cpu_bound: never preempted"), "{lesson}");

        // Both CPUs awake: the reply is there before the reader blocks.
        let r = results(
            vec![
                worker("cpu_bound", 1, 63, true),
                worker("io_bound", 270, 1, true),
            ],
            vec![
                trial("one CPU", 2.0, 9_000.0),
                trial("two CPUs", 1.2, 8_000.0),
            ],
        );
        let (v, lesson, analysis) = judge(&r, &params(false));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("on two CPUs, fewer than 2"),
            "{}",
            v.because
        );
        assert!(lesson.contains("both CPUs stayed awake"), "{lesson}");
        assert!(
            analysis.iter().any(|l| l.contains("no wakeup was paid")),
            "{analysis:?}"
        );
    }

    /// The ping-pong alone, processes and threads on one CPU, on a CPU with or without PCID.
    fn threads_run(process_ns: f64, thread_ns: f64, pcid: bool) -> Results {
        let mut r = results(
            Vec::new(),
            vec![
                trial("one CPU", 2.0, process_ns),
                trial(THREADS, 2.0, thread_ns),
            ],
        );
        r.tlb = Some(Tlb {
            pcid,
            invpcid: pcid,
            meltdown: Some("Not affected".into()),
        });
        r
    }

    #[test]
    fn threads_hold_only_when_clearly_faster_and_pcid_explains_a_small_gap() {
        let p = Params {
            seconds: 0.0,
            threads: true,
            ..params(false)
        };
        // Measured on the 2-vCPU guest (PCID): within noise of each other.
        let close = threads_run(9_000.0, 8_800.0, true);
        let (v, lesson, lines) = judge(&close, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert_eq!(
            v.claim,
            "a pipe round trip costs two context switches and a switch between threads of one process is faster than between processes (their TLB is not flushed)"
        );
        assert!(v.because.contains("a round trip took 8.80 µs between two threads against 9.00 µs between two processes (2.2% less)"), "{}", v.line());
        assert!(v.because.ends_with("no clear difference (the threads were faster in 1 of 1 run, and by the median saved 2.2%; it takes 5% and most runs): this CPU has PCID, so a switch between processes does not flush the TLB either"), "{}", v.line());
        assert!(lesson.contains("here a round trip between threads took 8.80 µs against 9.00 µs between processes (2.2% less)"), "{lesson}");
        assert!(
            lesson.contains("with PCID a switch between processes keeps its TLB entries as well"),
            "{lesson}"
        );
        assert!(lines.iter().any(|l| l.starts_with("  TLB: this CPU has PCID (and INVPCID): TLB entries carry")), "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("pingpong, one CPU, two threads: 2.00 switches per round trip")),
            "{lines:#?}"
        );

        // Clearly faster, as the slide says: held, whatever the tagging.
        let faster = threads_run(9_000.0, 7_000.0, false);
        let (v, lesson, _) = judge(&faster, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(v.because.contains("(22.2% less)"), "{}", v.line());
        assert!(lesson.contains("without PCID the switch between processes flushes the TLB, and the next process refills it"), "{lesson}");

        // Clearly faster with PCID (as measured on the guest): not the flush, the rest.
        let tagged = threads_run(4_656.0, 3_904.0, true);
        let (v, lesson, _) = judge(&tagged, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            lesson.contains("what the threads saved is the rest of an address-space switch"),
            "{lesson}"
        );

        // Slower threads: did not hold, said as "more".
        let slower = threads_run(9_000.0, 9_900.0, false);
        let (v, lesson, _) = judge(&slower, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("(10.0% more)"), "{}", v.line());
        assert!(lesson.contains("(10.0% more)"), "{lesson}");
        assert!(
            v.because.contains("the threads were faster in 0 of 1 run"),
            "{}",
            v.line()
        );

        // Faster by the median, but not in most runs: no clear difference.
        let mut mixed = results(
            Vec::new(),
            [
                (1, 9_000.0, 6_000.0),
                (2, 9_000.0, 9_500.0),
                (3, 12_000.0, 12_500.0),
            ]
            .iter()
            .flat_map(|&(n, process, thread)| {
                [
                    PingPong {
                        trial: n,
                        ..trial("one CPU", 2.0, process)
                    },
                    PingPong {
                        trial: n,
                        ..trial(THREADS, 2.0, thread)
                    },
                ]
            })
            .collect(),
        );
        mixed.tlb = Some(Tlb::default());
        let c = mixed.threads_vs_processes.clone().unwrap();
        assert_eq!((c.trials, c.threads_won), (3, 1));
        let v = judge(&mixed, &p).0;
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("the threads were faster in 1 of 3 runs, and by the median cost 5.6% more, while the processes' own trials ranged 9.00 µs–12.0 µs"), "{}", v.line());
    }

    #[test]
    fn the_claim_covers_only_what_was_run_and_nothing_run_is_unchecked() {
        let r = results(Vec::new(), vec![trial("one CPU", 2.1, 9_000.0)]);
        let (v, _, _) = judge(&r, &params(false));
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert_eq!(v.claim, "a pipe round trip costs two context switches");
        let r = results(Vec::new(), Vec::new());
        let (v, lesson, _) = judge(&r, &params(false));
        assert_eq!(v.held, None);
        assert!(lesson.contains("stopped before"), "{lesson}");
        assert_eq!(
            r.progress(&params(false)).unwrap(),
            "0 of 2 workers and 0 of 2 ping-pong trials; every child killed and reaped"
        );
    }
}
