//! `gil`'s lab bench: the four ways CPython runs N tasks at once (the seed's table: threading,
//! multiprocessing, asyncio, subinterpreters), each timed on a CPU-bound and an I/O-bound
//! workload against one thread doing the N tasks in turn; the table with the speed-ups; and,
//! with `--python`, the same two workloads in real CPython.
//!
//! The model's GIL is [`crate::sync::gil`]: held while computing, let go around each wait, and
//! given up every switch interval when another thread asks. Threading shares one GIL; each
//! forked process has its own (a process is its own interpreter); asyncio is one thread whose
//! event loop runs a task until it awaits; subinterpreters (PEP 684, CPython 3.12) are threads
//! with a GIL each.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde::{Deserialize, Serialize};

use crate::kit::report::{Output, table};
use crate::kit::timing::fmt_ns;
use crate::kit::{Context, Findings, Verdict, interrupt, words};
use crate::proc::counters::timeval_us;
use crate::process::{self, Forked, SingleThreaded};
use crate::sync::gil::{Gil, Held};

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub tasks: usize,
    /// CPU time of one CPU-bound task, ms.
    pub work_ms: u64,
    /// Waits of one I/O-bound task, and each wait's length, ms.
    pub waits: u32,
    pub io_ms: u64,
    pub switch_interval_us: u64,
    pub python: bool,
}

/// The lecture's two workloads, as the binary writes them.
#[derive(Clone, Copy)]
pub struct Lecture {
    /// `count(k)`: k bytecodes with the GIL held, checking the eval breaker after each.
    pub cpu_bound: fn(&mut Held<'_>, u64),
    /// `for _ in range(waits): time.sleep(io)`: each wait without the GIL.
    pub io_bound: fn(&mut Held<'_>, u32, Duration),
}

/// The seed's table: approach, module, concurrent, parallel.
pub const TABLE: [(Approach, &str, &str, &str, &str); 4] = [
    (Approach::Threading, "Threading", "threading", "Yes", "No"),
    (
        Approach::Multiprocessing,
        "Multiprocessing",
        "multiprocessing",
        "Yes",
        "Yes",
    ),
    (Approach::Asyncio, "Async", "asyncio", "Yes", "No"),
    (
        Approach::Subinterpreters,
        "Subinterpreters",
        "subinterpreters",
        "Yes",
        "Yes",
    ),
];

/// How N tasks run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Approach {
    /// N threads, one GIL.
    Threading,
    /// N forked processes, a GIL each.
    Multiprocessing,
    /// One thread, an event loop.
    Asyncio,
    /// N threads, a GIL each.
    Subinterpreters,
}

/// A workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Cpu,
    Io,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Cpu => "CPU-bound",
            Workload::Io => "I/O-bound",
        }
    }
}

/// One approach's times, and its speed-ups over one thread doing the tasks in turn.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Row {
    pub approach: Option<Approach>,
    /// Wall time of the CPU-bound and the I/O-bound run, ns.
    pub cpu_ns: u64,
    pub io_ns: u64,
    pub cpu_speedup: f64,
    pub io_speedup: f64,
    /// CPU time the CPU-bound run used (its threads, or its children), over its wall time: how
    /// many CPUs were busy on average.
    pub cpu_busy: f64,
}

/// The same workloads in CPython (`python3 -c`), as its script reports them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PythonRun {
    pub version: String,
    pub switch_interval_ms: f64,
    /// Seconds, by approach (`serial`, `threading`, `multiprocessing`, `asyncio`).
    pub cpu: std::collections::BTreeMap<String, f64>,
    pub io: std::collections::BTreeMap<String, f64>,
}

impl PythonRun {
    /// The speed-up of `approach` on `workload` over CPython's serial run, if it ran.
    pub fn speedup(&self, workload: Workload, approach: Approach) -> Option<f64> {
        let times = match workload {
            Workload::Cpu => &self.cpu,
            Workload::Io => &self.io,
        };
        let key = serde_json::to_value(approach).ok()?;
        Some(times.get("serial")? / times.get(key.as_str()?)?)
    }
}

/// The run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Results {
    /// The CPUs the tasks could use.
    pub cpus: usize,
    /// Bytecodes in one CPU-bound task (`--work` ms of them, calibrated).
    pub units: u64,
    /// One thread doing the N tasks in turn, each workload, ns: CPU-bound, its wall time less
    /// the time it waited in the run queue for other programs (schedstat's run_delay);
    /// I/O-bound, its wall time.
    pub serial_cpu_ns: u64,
    pub serial_io_ns: u64,
    /// What that waiting was, ns.
    pub serial_cpu_delay_ns: u64,
    pub rows: Vec<Row>,
    /// The threading CPU-bound run: times the GIL was taken, and dropped on request.
    pub gil_switches: u64,
    pub gil_forced: u64,
    pub python: Option<PythonRun>,
    /// Why there are no CPython figures, when asked for.
    pub python_note: Option<String>,
}

/// Runs every approach on both workloads, printing a line per run; then CPython if asked.
pub fn run(lecture: Lecture, p: &Params, out: Output) -> anyhow::Result<Results> {
    let cpus = crate::kit::machine::usable_cpus().len();
    let units = calibrate(lecture, p.work_ms);
    let interval = Duration::from_micros(p.switch_interval_us);
    let io = Duration::from_millis(p.io_ms);
    let job = |w: Workload| {
        move |held: &mut Held<'_>| match w {
            Workload::Cpu => (lecture.cpu_bound)(held, units),
            Workload::Io => (lecture.io_bound)(held, p.waits, io),
        }
    };
    let mut r = Results {
        cpus,
        units,
        ..Results::default()
    };
    let mut rows: Vec<Row> = TABLE
        .iter()
        .map(|t| Row {
            approach: Some(t.0),
            ..Row::default()
        })
        .collect();
    for w in [Workload::Cpu, Workload::Io] {
        if interrupt::requested().is_some() {
            break;
        }
        let delay = run_delay();
        let wall = timed(|| {
            let gil = Gil::new(interval);
            let mut held = gil.take();
            for _ in 0..p.tasks {
                job(w)(&mut held);
            }
        });
        // CPU-bound, the one thread's time without its waits for other programs is the CPU
        // time the tasks need; I/O-bound, its waits for the CPU after each sleep are part of
        // the cost, as they are for the other approaches: its wall time.
        let delay = match w {
            Workload::Cpu => run_delay().saturating_sub(delay).min(wall),
            Workload::Io => 0,
        };
        let serial = wall - delay;
        let waited = if delay > 0 {
            format!(
                " ({} of it waiting for other programs' turn on the CPU)",
                fmt_ns(delay as f64)
            )
        } else {
            String::new()
        };
        out.lecture(format_args!(
            "{}: one thread, {} in turn: {}{waited}",
            w.name(),
            words::count(p.tasks as u64, "task"),
            fmt_ns(wall as f64)
        ));
        match w {
            Workload::Cpu => (r.serial_cpu_ns, r.serial_cpu_delay_ns) = (serial, delay),
            Workload::Io => r.serial_io_ns = serial,
        }
        for row in rows.iter_mut() {
            if interrupt::requested().is_some() {
                break;
            }
            let approach = row.approach.expect("every row has its approach");
            let used = cpu_used(approach);
            let ns = match approach {
                Approach::Threading => {
                    let gil = Gil::new(interval);
                    let ns = timed_result(|| threads(p.tasks, |_| Some(&gil), &job(w)))?;
                    if w == Workload::Cpu {
                        (r.gil_switches, r.gil_forced) = (gil.switches(), gil.forced());
                    }
                    ns
                }
                Approach::Subinterpreters => timed_result(|| threads(p.tasks, |_| None, &job(w)))?,
                Approach::Multiprocessing => processes(p.tasks, interval, &job(w))?,
                Approach::Asyncio => timed(|| event_loop(lecture, p, w, units, interval)),
            };
            let speedup = serial as f64 / ns.max(1) as f64;
            match w {
                Workload::Cpu => {
                    (row.cpu_ns, row.cpu_speedup) = (ns, speedup);
                    row.cpu_busy =
                        cpu_used(approach).saturating_sub(used) as f64 / ns.max(1) as f64;
                }
                Workload::Io => (row.io_ns, row.io_speedup) = (ns, speedup),
            }
            out.lecture(format_args!(
                "{}: {}: {} ({speedup:.2}×)",
                w.name(),
                module(approach),
                fmt_ns(ns as f64)
            ));
        }
    }
    r.rows = rows;
    if p.python && interrupt::requested().is_none() {
        match python(p) {
            Ok(py) => r.python = Some(py),
            Err(e) => r.python_note = Some(format!("{e:#}")),
        }
    } else if !p.python {
        r.python_note = Some("not asked for (--python)".into());
    }
    Ok(r)
}

fn module(a: Approach) -> &'static str {
    TABLE.iter().find(|t| t.0 == a).map_or("?", |t| t.2)
}

/// The calling thread's time waiting in its run queue so far (schedstat's run_delay), ns.
fn run_delay() -> u64 {
    let tid = nix::unistd::gettid().as_raw();
    procfs::process::Process::myself()
        .and_then(|p| p.task_from_tid(tid))
        .and_then(|t| t.schedstat())
        .map_or(0, |s| s.run_delay)
}

/// CPU time used so far by what runs `approach`: this process's threads, or its reaped
/// children (getrusage), ns.
fn cpu_used(approach: Approach) -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let who = match approach {
        Approach::Multiprocessing => UsageWho::RUSAGE_CHILDREN,
        _ => UsageWho::RUSAGE_SELF,
    };
    getrusage(who).map_or(0, |u| {
        1000 * (timeval_us(u.user_time()) + timeval_us(u.system_time()))
    })
}

fn timed(f: impl FnOnce()) -> u64 {
    let start = Instant::now();
    f();
    start.elapsed().as_nanos() as u64
}

/// [`timed`], for work that can fail (a thread the kernel refused).
fn timed_result(f: impl FnOnce() -> crate::Result<()>) -> crate::Result<u64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_nanos() as u64)
}

/// Bytecodes per task: as many as take `work_ms` of one thread's CPU here.
fn calibrate(lecture: Lecture, work_ms: u64) -> u64 {
    let gil = Gil::new(crate::sync::gil::SWITCH_INTERVAL);
    let mut held = gil.take();
    let mut k = 10_000u64;
    loop {
        let before = crate::kit::timing::thread_cpu_ns().unwrap_or(0);
        let wall = timed(|| (lecture.cpu_bound)(&mut held, k));
        let ns = crate::kit::timing::thread_cpu_ns().map_or(wall, |t| t.saturating_sub(before));
        if ns >= 20_000_000 || k >= 1 << 40 {
            return (k as f64 * work_ms as f64 * 1e6 / ns.max(1) as f64).max(1.0) as u64;
        }
        k *= 2;
    }
}

/// N threads, each under the GIL `gil_of` gives it (one shared) or a GIL of its own (`None`).
/// A thread the kernel refuses is an error naming the limit; those already started finish
/// their task first.
fn threads<'g>(
    n: usize,
    gil_of: impl Fn(usize) -> Option<&'g Gil>,
    job: &(dyn Fn(&mut Held<'_>) + Sync),
) -> crate::Result<()> {
    std::thread::scope(|s| {
        for i in 0..n {
            let shared = gil_of(i);
            let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
                let own;
                let gil = match shared {
                    Some(g) => g,
                    None => {
                        own = Gil::new(crate::sync::gil::SWITCH_INTERVAL);
                        &own
                    }
                };
                job(&mut gil.take());
            });
            spawned.map_err(|e| crate::Error::spawn(i + 1, n, e))?;
        }
        Ok(())
    })
}

/// N forked children, each its own interpreter with its own GIL; the time until all are reaped.
fn processes(
    n: usize,
    interval: Duration,
    job: &(dyn Fn(&mut Held<'_>) + Sync),
) -> anyhow::Result<u64> {
    process::limits::check_can_create(n as u64)?;
    let single = SingleThreaded::check_after_join()?;
    // One process per usable CPU, as a pool of interpreters would run: left to the scheduler,
    // workers of a few milliseconds were often all started on the CPU that forked them, and
    // ran one after another before the load balancer moved one (0.98 CPUs busy in 2 of 6
    // small runs).
    let cpus = crate::kit::machine::usable_cpus();
    let start = Instant::now();
    let mut children = Vec::with_capacity(n);
    for i in 0..n {
        match process::fork(&single)? {
            Forked::Child => process::run_child(|| {
                if let Some(&cpu) = cpus.get(i % cpus.len().max(1)) {
                    let _ = crate::kit::cli::CpuList(vec![cpu]).pin_current_thread();
                }
                let gil = Gil::new(interval);
                job(&mut gil.take());
                0
            }),
            Forked::Parent(child) => children.push(child),
        }
    }
    for child in children {
        let exit = child.wait()?;
        if !exit.success() && interrupt::requested().is_none() {
            return Err(anyhow!("a worker process {}", exit.verb()));
        }
    }
    Ok(start.elapsed().as_nanos() as u64)
}

/// asyncio: one thread, N tasks. A task runs until it awaits: a CPU-bound one never does, so
/// the tasks run one after another; an I/O-bound one runs a bytecode, then awaits its sleep,
/// and the loop runs whichever task is ready, or sleeps (without the GIL) until one is.
fn event_loop(lecture: Lecture, p: &Params, w: Workload, units: u64, interval: Duration) {
    let gil = Gil::new(interval);
    let mut held = gil.take();
    if w == Workload::Cpu {
        for _ in 0..p.tasks {
            (lecture.cpu_bound)(&mut held, units); // await cpu_bound(): no await inside
        }
        return;
    }
    let io = Duration::from_millis(p.io_ms);
    // Each task: its waits left, and when its current await ends.
    let start = Instant::now();
    let mut tasks: Vec<(u32, Instant)> = vec![(p.waits, start); p.tasks];
    loop {
        let now = Instant::now();
        for task in tasks.iter_mut().filter(|t| t.0 > 0 && t.1 <= now) {
            (lecture.cpu_bound)(&mut held, 1); // the task's bytecode before its await
            task.0 -= 1;
            task.1 = Instant::now() + io; // await asyncio.sleep(io)
        }
        let now = Instant::now();
        if interrupt::requested().is_some() {
            return;
        }
        if tasks.iter().any(|t| t.0 > 0 && t.1 <= now) {
            continue; // a task is ready: run it
        }
        // Nothing ready: the selector sleeps, without the GIL, until the next await ends (a
        // task's last one included); nothing pending means every task is done.
        match tasks.iter().map(|t| t.1).filter(|at| *at > now).min() {
            Some(at) => held.release_while(|| std::thread::sleep(at - now)),
            None => return,
        }
    }
}

/// The CPython side: the same two workloads, sized the same way (a task of `--work` ms of
/// bytecode; `--waits` sleeps of `--io` ms), serial, threading, multiprocessing and asyncio.
pub const PYTHON: &str = r#"
import sys, time, json, threading, asyncio, multiprocessing as mp
n, work_ms, waits, io = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) / 1000
def count(k):
    while k > 0:
        k -= 1
def calibrate():
    k = 10000
    while True:
        t = time.perf_counter(); count(k); dt = time.perf_counter() - t
        if dt > 0.02: return max(1, int(k / dt * work_ms / 1000))
        k *= 2
K = calibrate()
def cpu_bound(): count(K)
def io_bound():
    for _ in range(waits): time.sleep(io)
async def a_cpu(): count(K)
async def a_io():
    for _ in range(waits): await asyncio.sleep(io)
def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t
def serial(f):
    return timed(lambda: [f() for _ in range(n)])
def threads(f):
    def run():
        ts = [threading.Thread(target=f) for _ in range(n)]
        for t in ts: t.start()
        for t in ts: t.join()
    return timed(run)
def processes(f):
    ctx = mp.get_context("fork")
    def run():
        ps = [ctx.Process(target=f) for _ in range(n)]
        for p in ps: p.start()
        for p in ps: p.join()
    return timed(run)
def tasks(f):
    async def main(): await asyncio.gather(*(f() for _ in range(n)))
    return timed(lambda: asyncio.run(main()))
out = {"version": sys.version.split()[0], "switch_interval_ms": sys.getswitchinterval() * 1000}
for name, f, af in (("cpu", cpu_bound, a_cpu), ("io", io_bound, a_io)):
    out[name] = {"serial": serial(f), "multiprocessing": processes(f), "threading": threads(f), "asyncio": tasks(af)}
print(json.dumps(out))
"#;

/// Runs [`PYTHON`] with `python3 -c`; an error says why there are no CPython figures.
fn python(p: &Params) -> anyhow::Result<PythonRun> {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(PYTHON)
        .args([
            p.tasks.to_string(),
            p.work_ms.to_string(),
            p.waits.to_string(),
            p.io_ms.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::sys::process::die_with_this_process(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(anyhow!(
                "python3 is not on this machine (PATH): no CPython figures"
            ));
        }
        Err(e) => return Err(e).context("starting python3"),
    };
    // Poll, so that Ctrl-C ends the run at once (the child is killed and reaped).
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for python3")? {
            break status;
        }
        if interrupt::requested().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(anyhow!("stopped before python3 finished"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = child
        .wait_with_output()
        .context("reading python3's output")?;
    if !status.success() {
        return Err(anyhow!(
            "python3 {status}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout).context("python3's report")
}

impl Results {
    fn row(&self, a: Approach) -> Option<&Row> {
        self.rows.iter().find(|r| r.approach == Some(a))
    }

    /// Ran both workloads for every approach (a run cut short did not).
    fn complete(&self) -> bool {
        self.rows.len() == TABLE.len() && self.rows.iter().all(|r| r.cpu_ns > 0 && r.io_ns > 0)
    }

    /// The speed-up that shows the N tasks overlapping their waits: half of the ideal gain.
    fn concurrent_bar(&self, p: &Params) -> f64 {
        1.0 + 0.5 * (p.tasks as f64 - 1.0)
    }

    /// The speed-up that shows CPU work running in parallel: half of the gain the CPUs allow.
    /// `None` with one task or one CPU, where nothing can.
    fn parallel_bar(&self, p: &Params) -> Option<f64> {
        let lanes = p.tasks.min(self.cpus);
        (lanes > 1).then_some(1.0 + 0.5 * (lanes as f64 - 1.0))
    }

    /// `yes`/`no` as measured: concurrent (the I/O waits overlapped), parallel (the CPU work).
    fn measured(&self, p: &Params, row: &Row) -> (&'static str, &'static str) {
        let yes = |b: bool| if b { "yes" } else { "no" };
        (
            yes(row.io_speedup >= self.concurrent_bar(p)),
            self.parallel_bar(p)
                .map_or("n/a", |bar| yes(row.cpu_speedup >= bar)),
        )
    }

    /// The claim's parts: (held, what was seen).
    fn checks(&self, p: &Params) -> Vec<(bool, String)> {
        let mut checks = Vec::new();
        let (Some(t), Some(m)) = (
            self.row(Approach::Threading),
            self.row(Approach::Multiprocessing),
        ) else {
            return checks;
        };
        checks.push((
            t.cpu_speedup < 1.3,
            format!(
                "{} threads under one GIL ran the CPU-bound tasks {:.2}× as fast as one thread",
                p.tasks, t.cpu_speedup
            ),
        ));
        let bar = self.concurrent_bar(p);
        checks.push((
            t.io_speedup >= bar,
            format!(
                "the I/O-bound ones {:.2}× (the waits overlap: at least {bar:.1}× expected)",
                t.io_speedup
            ),
        ));
        match self.parallel_bar(p) {
            Some(bar) => checks.push((
                m.cpu_speedup >= bar,
                format!(
                    "{} processes, a GIL each, ran the CPU-bound tasks {:.2}× as fast (at least {bar:.1}× expected on {}; {:.2} CPUs busy on average){}",
                    p.tasks,
                    m.cpu_speedup,
                    words::count(self.cpus as u64, "CPU"),
                    m.cpu_busy,
                    self.crowded()
                ),
            )),
            None => checks.push((
                false,
                format!(
                    "with {} and {} nothing can run in parallel (processes gave {:.2}×)",
                    words::count(p.tasks as u64, "task"),
                    words::count(self.cpus as u64, "CPU"),
                    m.cpu_speedup
                ),
            )),
        }
        checks
    }

    /// `: other programs had the CPUs ...` when the lone thread waited for its turn more than a
    /// tenth of its run, or nothing.
    fn crowded(&self) -> String {
        let wall = self.serial_cpu_ns + self.serial_cpu_delay_ns;
        if self.serial_cpu_delay_ns * 10 > wall {
            format!(
                ": other programs had the CPUs (the one thread alone waited {} of its {} in the run queue)",
                fmt_ns(self.serial_cpu_delay_ns as f64),
                fmt_ns(wall as f64)
            )
        } else {
            String::new()
        }
    }

    fn python_cell(&self, a: Approach) -> String {
        let Some(py) = &self.python else {
            return String::new();
        };
        match (py.speedup(Workload::Cpu, a), py.speedup(Workload::Io, a)) {
            (Some(c), Some(i)) => format!("{c:.2}× / {i:.2}×"),
            _ => "(not in this CPython)".into(),
        }
    }
}

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, p: &Params) -> String {
        match self.row(Approach::Threading) {
            Some(t) => format!(
                "{} threads under a GIL: CPU-bound {:.2}×, I/O-bound {:.2}×",
                p.tasks, t.cpu_speedup, t.io_speedup
            ),
            None => "no run completed".into(),
        }
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let mut lines = vec![format!(
            "the workloads: {} tasks; CPU-bound, {} ms of bytecode each ({}), the GIL held throughout and given up every {} µs switch interval when another thread asks; I/O-bound, {} waits of {} ms each, the GIL let go around each wait; the speed-up is one thread doing the tasks in turn over the approach's time (the one thread's CPU-bound time less its wait in the run queue, {}, so that other programs' load does not flatter the others; its I/O-bound wall time, {})",
            p.tasks,
            p.work_ms,
            words::count(self.units, "bytecode"),
            p.switch_interval_us,
            p.waits,
            p.io_ms,
            fmt_ns(self.serial_cpu_ns as f64),
            fmt_ns(self.serial_io_ns as f64)
        )];
        let mut header = vec![
            "Approach",
            "Module",
            "Concurrent (seed / run)",
            "Parallel (seed / run)",
            "CPU-bound",
            "I/O-bound",
        ];
        if self.python.is_some() {
            header.push("CPython CPU / I/O");
        }
        let rows: Vec<Vec<String>> = TABLE
            .iter()
            .filter_map(|t| {
                let row = self.row(t.0)?;
                let (c, par) = self.measured(p, row);
                let mut cells = vec![
                    t.1.to_string(),
                    t.2.to_string(),
                    format!("{} / {c}", t.3),
                    format!("{} / {par}", t.4),
                    format!("{:.2}×", row.cpu_speedup),
                    format!("{:.2}×", row.io_speedup),
                ];
                if self.python.is_some() {
                    cells.push(self.python_cell(t.0));
                }
                Some(cells)
            })
            .collect();
        lines.push("the seed's table, with this run's speed-ups (concurrent: the I/O waits overlapped; parallel: the CPU work ran on several CPUs at once):".into());
        lines.extend(
            table(&header, &rows, false)
                .lines()
                .map(|l| format!("  {l}")),
        );
        lines.push("  (the seed lists Threading twice; subinterpreters, a GIL per interpreter, came with CPython 3.12: modelled here as threads with a GIL each)".into());
        if self.gil_switches > 0 {
            let t = self.row(Approach::Threading).map_or(0, |r| r.cpu_ns);
            lines.push(format!(
                "the GIL in the CPU-bound threading run: taken {}, {} of them because a waiter asked after a {} µs interval: one holder every {} on average",
                words::times(self.gil_switches),
                self.gil_forced,
                p.switch_interval_us,
                fmt_ns(t as f64 / self.gil_switches as f64)
            ));
        }
        match (&self.python, &self.python_note) {
            (Some(py), _) => lines.push(format!(
                "CPython {} (python3 -c, the same workloads, switch interval {} ms): its threads gave CPU-bound {} and I/O-bound {}, its processes {} and {}",
                py.version,
                py.switch_interval_ms,
                fmt_x(py.speedup(Workload::Cpu, Approach::Threading)),
                fmt_x(py.speedup(Workload::Io, Approach::Threading)),
                fmt_x(py.speedup(Workload::Cpu, Approach::Multiprocessing)),
                fmt_x(py.speedup(Workload::Io, Approach::Multiprocessing)),
            )),
            (None, Some(note)) => lines.push(format!("CPython: {note}")),
            (None, None) => {}
        }
        lines
    }

    fn verdict(&self, p: &Params, cx: &Context<'_>) -> Verdict {
        let claim = "under one GIL, threads give no speed-up on CPU-bound work but nearly N× on I/O-bound work; processes, a GIL each, speed up CPU-bound work too";
        if let Some(signal) = cx.stopped {
            return Verdict::unchecked(
                claim,
                format!("{signal} stopped the run: its times are partial"),
            );
        }
        if !self.complete() {
            return Verdict::check(
                claim,
                false,
                "the run stopped before every approach had run both workloads",
            );
        }
        let checks = self.checks(p);
        let held = checks.iter().all(|c| c.0);
        let threads_held = checks.iter().take(2).all(|c| c.0);
        if !held && threads_held && !self.crowded().is_empty() {
            let seen: Vec<&str> = checks.iter().map(|c| c.1.as_str()).collect();
            return Verdict::unchecked(
                claim,
                format!(
                    "{}; so the processes' part could not be tested on this run",
                    seen.join("; ")
                ),
            );
        }
        let because: Vec<&str> = checks
            .iter()
            .filter(|c| !held || c.0)
            .filter(|c| held || !c.0)
            .map(|c| c.1.as_str())
            .collect();
        Verdict::check(claim, held, because.join("; "))
    }

    fn lesson(&self, p: &Params, cx: &Context<'_>) -> String {
        let (Some(t), Some(m), Some(a), None) = (
            self.row(Approach::Threading),
            self.row(Approach::Multiprocessing),
            self.row(Approach::Asyncio),
            cx.stopped,
        ) else {
            return "one GIL lets one thread run bytecode at a time: threads help a program that waits, not one that computes; processes, each with its own interpreter, do both (this run stopped early)".into();
        };
        let checks = self.checks(p);
        if !self.complete() || !checks.iter().take(2).all(|c| c.0) {
            return "one GIL lets one thread run bytecode at a time: threads help a program that waits, not one that computes; processes, each with its own interpreter, do both (this run did not show all of it: see the verdict)".into();
        }
        let processes = if checks.iter().all(|c| c.0) {
            format!(
                "{} processes, each its own interpreter, computed {:.2}× as fast, at the price of a fork each",
                p.tasks, m.cpu_speedup
            )
        } else {
            format!(
                "processes, each its own interpreter, can compute in parallel, but here they computed only {:.2}× as fast ({:.2} CPUs busy){}",
                m.cpu_speedup,
                m.cpu_busy,
                if self.crowded().is_empty() {
                    ""
                } else {
                    ": other programs had the CPUs"
                }
            )
        };
        format!(
            "one GIL lets one thread run bytecode at a time: {} threads computed no faster than one ({:.2}×, {:.2} CPUs busy), yet waited {:.2}× faster, since a thread lets the GIL go while it waits; {processes}; asyncio overlaps the waits on one thread ({:.2}×) and, like threading, never computes in parallel ({:.2}×)",
            p.tasks, t.cpu_speedup, t.cpu_busy, t.io_speedup, a.io_speedup, a.cpu_speedup
        )
    }

    fn compare(&self, _p: &Params) -> String {
        "gil --python (the same workloads in CPython, beside the model); sum_array 2 --global-lock (one lock held through a whole sum); py-spy dump --pid PID (which Python thread holds the GIL)".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        self.rows.clone()
    }

    fn progress(&self, _p: &Params) -> Option<String> {
        let done = self
            .rows
            .iter()
            .map(|r| usize::from(r.cpu_ns > 0) + usize::from(r.io_ns > 0))
            .sum::<usize>();
        Some(format!("{done} of {} runs", 2 * TABLE.len()))
    }
}

fn fmt_x(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{x:.2}×"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            tasks: 2,
            work_ms: 100,
            waits: 20,
            io_ms: 5,
            switch_interval_us: 5000,
            python: false,
        }
    }

    fn row(a: Approach, cpu: f64, io: f64) -> Row {
        Row {
            approach: Some(a),
            cpu_ns: (200e6 / cpu) as u64,
            io_ns: (200e6 / io) as u64,
            cpu_speedup: cpu,
            io_speedup: io,
            cpu_busy: cpu.min(2.0),
        }
    }

    fn run() -> Results {
        Results {
            cpus: 2,
            units: 40_000_000,
            serial_cpu_ns: 200_000_000,
            serial_io_ns: 200_000_000,
            serial_cpu_delay_ns: 1_000_000,
            rows: vec![
                row(Approach::Threading, 0.99, 1.96),
                row(Approach::Multiprocessing, 1.92, 1.95),
                row(Approach::Asyncio, 1.0, 1.97),
                row(Approach::Subinterpreters, 1.95, 1.96),
            ],
            gil_switches: 41,
            gil_forced: 39,
            python: None,
            python_note: Some("not asked for (--python)".into()),
        }
    }

    #[test]
    fn threads_that_only_wait_faster_and_processes_that_compute_faster_hold() {
        let (v, lesson, lines) = crate::testing::judge(&run(), &params());
        assert_eq!(v.held, Some(true), "{v:?}");
        assert_eq!(
            v.because,
            "2 threads under one GIL ran the CPU-bound tasks 0.99× as fast as one thread; the I/O-bound ones 1.96× (the waits overlap: at least 1.5× expected); 2 processes, a GIL each, ran the CPU-bound tasks 1.92× as fast (at least 1.5× expected on 2 CPUs; 1.92 CPUs busy on average)"
        );
        assert!(
            lesson.contains("2 threads computed no faster than one (0.99×"),
            "{lesson}"
        );
        let threading = lines.iter().find(|l| l.contains("  Threading ")).unwrap();
        assert!(
            threading.contains("Yes / yes") && threading.contains("No / no"),
            "{threading}"
        );
        let mp = lines
            .iter()
            .find(|l| l.contains("  Multiprocessing "))
            .unwrap();
        assert!(mp.contains("Yes / yes  "), "{mp}");
    }

    #[test]
    fn threads_that_compute_faster_or_do_not_overlap_waits_do_not_hold() {
        let mut r = run();
        r.rows[0] = row(Approach::Threading, 1.8, 1.96);
        let v = crate::testing::judge(&r, &params()).0;
        assert_eq!(v.held, Some(false), "{v:?}");
        assert_eq!(
            v.because,
            "2 threads under one GIL ran the CPU-bound tasks 1.80× as fast as one thread"
        );
        let mut r = run();
        r.rows[0] = row(Approach::Threading, 1.0, 1.1);
        let (v, lesson, _) = crate::testing::judge(&r, &params());
        assert_eq!(v.held, Some(false), "{v:?}");
        assert!(
            v.because.starts_with("the I/O-bound ones 1.10×"),
            "{}",
            v.because
        );
        assert!(lesson.contains("did not show"), "{lesson}");
    }

    #[test]
    fn processes_crowded_out_by_other_programs_cannot_be_checked() {
        let mut r = run();
        r.rows[1] = row(Approach::Multiprocessing, 0.9, 1.95);
        let v = crate::testing::judge(&r, &params()).0;
        assert_eq!(v.held, Some(false), "a quiet machine: {v:?}");
        r.serial_cpu_delay_ns = 100_000_000;
        let (v, lesson, _) = crate::testing::judge(&r, &params());
        assert_eq!(v.held, None, "{v:?}");
        assert!(v.because.contains("other programs had the CPUs (the one thread alone waited 100 ms of its 300 ms in the run queue)"), "{}", v.because);
        assert!(lesson.contains("other programs had the CPUs"), "{lesson}");
    }

    #[test]
    fn cpython_figures_sit_beside_the_models() {
        let mut r = run();
        r.python = Some(PythonRun {
            version: "3.11.7".into(),
            switch_interval_ms: 5.0,
            cpu: [
                ("serial", 0.4),
                ("threading", 0.41),
                ("multiprocessing", 0.21),
                ("asyncio", 0.4),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            io: [
                ("serial", 0.2),
                ("threading", 0.1),
                ("multiprocessing", 0.11),
                ("asyncio", 0.1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        });
        let lines = crate::testing::judge(&r, &params()).2;
        let threading = lines.iter().find(|l| l.contains("  Threading ")).unwrap();
        assert!(threading.ends_with("0.98× / 2.00×"), "{threading}");
        let sub = lines
            .iter()
            .find(|l| l.contains("  Subinterpreters "))
            .unwrap();
        assert!(sub.ends_with("(not in this CPython)"), "{sub}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("CPython 3.11.7 (python3 -c")),
            "{lines:?}"
        );
    }
}
