//! `sum_array`'s lab bench: the array (the lab's `rand_r` replaced by a seeded generator), each
//! worker's part, the trials with the sequential pass they are compared with, the workers'
//! reports, and the check of the lecture's claim against the measured speed-up.
//!
//! The binary holds the lab's programs: the sum itself, the `pthread_create`/`pthread_join`
//! loop (with a global lock for `--global-lock`) and the `fork`/`waitpid` loop whose children
//! write their partial sums into a shared mapping.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::{Scope, ScopedJoinHandle};

use serde::{Deserialize, Serialize};

use crate::kit::cli::TrialArgs;
use crate::kit::machine::current_cpu;
use crate::kit::report::Output;
use crate::kit::stats::Spread;
use crate::kit::timing::{self, Run, fmt_ns, monotonic_ns, nanos_since, sig3};
use crate::kit::{Context, Findings, Session, Verdict, interrupt, words};
use crate::proc::counters::Snapshot;
use crate::process::channel::{Next, Receiver};
use crate::process::limits::{allocate, check_can_create};
use crate::process::{self, Child};
use crate::sys::mman::{HugePages, Mapping, Sharing};
use crate::{Error, Result};

/// The lab's `#define ARR_LEN 100000000`.
pub const ARR_LEN: u64 = 100_000_000;
/// The lab's `#define MAX_ELEMENT 1000`: elements are `rand_r(&seed) % MAX_ELEMENT`.
pub const MAX_ELEMENT: u64 = 1000;
/// A speed-up below this is "no speed-up"; at or above it, the workers summed faster.
const FASTER: f64 = 1.1;

/// How the work is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Threads,
    Processes,
    GlobalLock,
}

impl Mode {
    /// The mode `--processes` and `--global-lock` ask for.
    pub fn of(processes: bool, global_lock: bool) -> Mode {
        if processes {
            Mode::Processes
        } else if global_lock {
            Mode::GlobalLock
        } else {
            Mode::Threads
        }
    }

    fn worker(self) -> &'static str {
        match self {
            Mode::Processes => "process",
            Mode::Threads | Mode::GlobalLock => "thread",
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub workers: u32,
    pub mode: Mode,
    pub len: u64,
    pub seed: u64,
    pub trials: u32,
    pub warmup: u32,
    /// `--small-pages`: the array on 4 KiB pages (MADV_NOHUGEPAGE) instead of 2 MiB ones.
    pub small_pages: bool,
}

/// `N` when none is given: one worker per CPU this process may run on (at least one), the
/// count at which the lab's threads should give their best speed-up.
pub fn one_per_cpu() -> u32 {
    crate::kit::machine::usable_cpus().len().clamp(1, 1024) as u32
}

impl Params {
    /// From `N`, the mode, `--len`, `--seed` and the trial flags.
    pub fn of(workers: u32, mode: Mode, len: u64, seed: u64, t: &TrialArgs) -> Params {
        Params {
            workers,
            mode,
            len,
            seed,
            trials: t.trials,
            warmup: t.warmup,
            small_pages: false,
        }
    }

    /// With `--small-pages`.
    pub fn small_pages(self, small_pages: bool) -> Params {
        Params {
            small_pages,
            ..self
        }
    }

    /// The page size the array asks for.
    fn pages(&self) -> HugePages {
        if self.small_pages {
            HugePages::Never
        } else {
            HugePages::Wanted
        }
    }

    /// `1 thread`, `4 processes`.
    fn workers_counted(&self) -> String {
        words::count(self.workers, self.mode.worker())
    }

    /// The speed-up the CPUs allow: one per worker, at most one per usable CPU.
    fn ideal(&self, usable: usize) -> usize {
        (self.workers as usize).min(usable).max(1)
    }
}

// ---------------------------------------------------------------------------------------------
// The array: rand_r(&seed) % MAX_ELEMENT, from a seeded generator.

/// The lab's `rand_r`, replaced by SplitMix64: small, fast and the same on every machine, so a
/// seed names one array.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// for (i = 0; i < ARR_LEN; i++) array[i] = rand_r(&seed) % MAX_ELEMENT;
/// The array is reserved first: a refusal names its size and the limit, where `collect` would
/// abort. None if Ctrl-C came first.
fn generate(len: u64, seed: u64, pages: HugePages) -> Result<Option<Vec<i32>>> {
    let mut array = allocate(len as usize, &format!("an array of {len} ints"))?;
    // On 2 MiB pages: a forked child reads them without a first-touch cost per 4 KiB page
    // (`--small-pages` asks for 4 KiB pages, to show that cost).
    crate::sys::mman::advise_pages(array.spare_capacity_mut(), pages);
    Ok(fill(&mut array, len as usize, seed).then_some(array))
}

/// How many elements a long pass (the fill, a sum) handles between two looks at Ctrl-C: about
/// 10 ms of filling, 1 ms of summing. A billion elements take 10 s to fill.
const CHUNK: usize = 1 << 20;

/// Fills `array` up to `len` elements; false if Ctrl-C or SIGTERM stopped it first.
fn fill(array: &mut Vec<i32>, len: usize, seed: u64) -> bool {
    let mut rng = SplitMix64(seed);
    while array.len() < len {
        if interrupt::requested().is_some() {
            return false;
        }
        let n = (len - array.len()).min(CHUNK);
        array.extend((0..n).map(|_| (rng.next() % MAX_ELEMENT) as i32));
    }
    true
}

/// One worker's part: `ARR_LEN / N` elements, the last worker also taking the remainder (the
/// lab drops it; here every mode sums the whole array).
fn part(len: usize, workers: usize, i: usize) -> Range<usize> {
    let chunk = len / workers;
    let end = if i + 1 == workers {
        len
    } else {
        (i + 1) * chunk
    };
    i * chunk..end
}

// ---------------------------------------------------------------------------------------------
// What the lab's program works with, and what its workers report.

/// One trial's work, as the lab's program sees it: the array, the number of workers, where the
/// lecture's lines go (nowhere in a warm-up), the shared mapping for the processes' partial
/// sums (`results`, mapped before the timer starts, as in the lab) and the clock. Every worker
/// thread and process may read it.
pub struct Work<'a> {
    pub array: &'a [i32],
    pub n: usize,
    pub mode: Mode,
    pub out: Output,
    /// The lab's `results[]`: one `long` per worker, MAP_SHARED, for `--processes`.
    pub results: &'a Mapping,
    /// CLOCK_MONOTONIC at the start of the timed window (shared by forked children).
    t0: AtomicU64,
    before: Option<Snapshot>,
}

impl Work<'_> {
    /// Worker `i`'s part of the array.
    pub fn part(&self, i: usize) -> Range<usize> {
        part(self.array.len(), self.n, i)
    }

    /// The lab's `start = get_current_millis()`: the timed window opens.
    pub fn start_clock(&mut self) -> Result<()> {
        self.before = Some(Snapshot::of_self()?);
        self.t0.store(monotonic_ns(), Relaxed);
        Ok(())
    }

    /// Nanoseconds since the window opened, in any of the processes.
    pub fn now(&self) -> u64 {
        monotonic_ns().saturating_sub(self.t0.load(Relaxed))
    }

    /// What worker `i` did: summed `partial` from `began` (see [`Work::now`]) until now.
    pub fn report(&self, i: usize, partial: i64, began_ns: u64) -> Worker {
        let part = self.part(i);
        Worker {
            worker: i,
            start: part.start,
            len: part.len(),
            partial,
            began_ns,
            ended_ns: self.now(),
            cpu: current_cpu(),
        }
    }

    /// The lab's `time = get_current_millis() - start`: the window closes on the workers'
    /// results.
    pub fn stop_clock(&self, workers: Vec<Worker>) -> Result<Window> {
        let elapsed_ns = self.now();
        let counters = match &self.before {
            Some(before) => before.delta(&Snapshot::of_self()?),
            None => Default::default(),
        };
        Ok(Window {
            time_ms: elapsed_ns / 1_000_000,
            elapsed_ns,
            voluntary_cs: counters.voluntary_cs,
            nonvoluntary_cs: counters.nonvoluntary_cs,
            workers,
        })
    }
}

/// What one worker did; times count from the start of the timed window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    pub worker: usize,
    pub start: usize,
    pub len: usize,
    pub partial: i64,
    /// When it started summing, and when it was done.
    pub began_ns: u64,
    pub ended_ns: u64,
    pub cpu: Option<usize>,
}

/// The timed window of one trial: the lab's figure and the workers' reports.
#[derive(Clone, Debug)]
pub struct Window {
    pub time_ms: u64,
    elapsed_ns: u64,
    voluntary_cs: u64,
    nonvoluntary_cs: u64,
    workers: Vec<Worker>,
}

/// Starts thread `index` (from 0) of `total`: `pthread_create`, through `std::thread` (scoped,
/// so it may borrow the array).
pub fn spawn<'scope, 'env, T: Send + 'scope>(
    s: &'scope Scope<'scope, 'env>,
    index: usize,
    total: usize,
    body: impl FnOnce() -> T + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .spawn_scoped(s, body)
        .map_err(|source| Error::spawn(index + 1, total, source))
}

/// `pthread_join` of every thread, in order: their reports.
pub fn join<T>(handles: Vec<ScopedJoinHandle<'_, T>>) -> Result<Vec<T>> {
    handles
        .into_iter()
        .enumerate()
        .map(|(index, h)| h.join().map_err(|_| Error::WorkerPanicked { index }))
        .collect()
}

/// The lab's `waitpid` loop, after the children were forked and the parent let go of its
/// sending end: reads every child's report, waits for each child, and takes its partial sum
/// from `results[i]`. `None` when Ctrl-C came first: the children are killed and reaped.
pub fn wait_for(
    w: &Work<'_>,
    children: Vec<Child>,
    mut reports: Receiver<Worker>,
) -> Result<Option<Vec<Worker>>> {
    // The reports first: a child blocked on a full pipe would never end.
    let mut workers: Vec<Option<Worker>> = vec![None; w.n];
    loop {
        match reports.next(None)? {
            Next::Message(report) => {
                let i = report.worker;
                if let Some(slot) = workers.get_mut(i) {
                    *slot = Some(report);
                }
            }
            Next::End => break,
            Next::Stopped(_) => return Ok(None),
            Next::TimedOut => continue,
        }
    }
    let results = w.results.words();
    for (i, child) in children.into_iter().enumerate() {
        let pid = child.pid();
        let process::Waited::Ended { exit, .. } = process::wait_or_stop(child)? else {
            return Ok(None); // the children not yet waited for are killed and reaped on drop
        };
        match (&mut workers[i], exit.success()) {
            (Some(worker), true) => worker.partial = results[i].load(Relaxed),
            _ => {
                return Err(Error::Channel(format!(
                    "worker process {i} (pid {pid}) {exit}: its partial sum is missing"
                )));
            }
        }
    }
    Ok(Some(workers.into_iter().flatten().collect()))
}

// ---------------------------------------------------------------------------------------------
// The trials.

/// One trial: one CSV row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trial {
    pub trial: u32,
    /// The lab's two lines: the sum and whole ms.
    pub sum: i64,
    pub time_ms: u64,
    /// The lab's window (create → join), in ns.
    pub elapsed_ns: u64,
    /// One pass over the whole array in the main thread, no worker created: the faster of the
    /// pass before the workers and the pass after them.
    pub sequential_ns: u64,
    /// sequential_ns / elapsed_ns.
    pub speedup: f64,
    /// elapsed_ns per element.
    pub ns_per_element: f64,
    pub voluntary_cs: u64,
    pub nonvoluntary_cs: u64,
    pub workers: Vec<Worker>,
}

/// Min/median/max over the trials.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub time_ms: Option<Spread>,
    pub speedup: Option<Spread>,
}

/// The results: every trial, the array's sum and the time it took to fill.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Results {
    pub trials: Vec<Trial>,
    /// The array's sum, from the sequential pass: every trial must find it.
    pub expected_sum: i64,
    /// The time to fill the array (not timed by the lab).
    pub generate_ns: u64,
    /// How the kernel backed the array, read once it was filled (None: not read).
    pub pages: Option<ArrayPages>,
    pub summary: Summary,
}

/// How the kernel backed the array: on 2 MiB transparent huge pages, or 4 KiB pages. Forking a
/// process copies one page-table entry per 4 KiB page (512× fewer on huge pages), and gives the
/// child those entries marked old (mm/memory.c, `pte_mkold` in copy_present_pte): its first read
/// of each 4 KiB page makes the CPU walk the table and set the accessed bit. No fault is taken,
/// so the fault counters are the same in both modes; the time is not.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ArrayPages {
    pub array_bytes: u64,
    /// `AnonHugePages` of the mappings the array lies in (`/proc/self/smaps`), at most the
    /// array's size.
    pub huge_bytes: u64,
}

impl ArrayPages {
    /// Reads `/proc/self/smaps` for the mappings `array` lies in; None if it cannot be read.
    fn of(array: &[i32]) -> Option<ArrayPages> {
        let start = array.as_ptr() as u64;
        let array_bytes = std::mem::size_of_val(array) as u64;
        let maps = procfs::process::Process::myself().ok()?.smaps().ok()?;
        let huge_bytes: u64 = maps
            .iter()
            .filter(|m| m.address.0 < start + array_bytes && m.address.1 > start)
            .filter_map(|m| m.extension.map.get("AnonHugePages"))
            .sum();
        Some(ArrayPages {
            array_bytes,
            huge_bytes: huge_bytes.min(array_bytes),
        })
    }

    /// The analysis line: how much of the array is on huge pages, and what that means for fork.
    fn line(&self, p: &Params) -> String {
        let mib = |b: u64| format!("{:.1}", b as f64 / (1 << 20) as f64);
        let (huge, all) = (mib(self.huge_bytes), mib(self.array_bytes));
        let asked = if p.small_pages {
            "--small-pages: MADV_NOHUGEPAGE"
        } else {
            "MADV_HUGEPAGE"
        };
        let meaning = match (self.mostly_small(), p.mode) {
            (true, Mode::Processes) => format!(
                "each fork copies {} page-table entries for it, and each child reads every 4 KiB page once through an entry marked old",
                self.small_pages()
            ),
            (false, Mode::Processes) => {
                "a fork copies one page-table entry per 2 MiB of it, not one per 4 KiB"
                    .to_string()
            }
            (_, _) => "threads share one page table: the page size matters only to processes (--processes)".to_string(),
        };
        format!(
            "pages: {huge} of the array's {all} MiB on 2 MiB huge pages ({asked}; AnonHugePages in /proc/self/smaps): {meaning}"
        )
    }

    /// True when less than half of the array is on huge pages.
    fn mostly_small(&self) -> bool {
        self.huge_bytes * 2 < self.array_bytes
    }

    /// 4 KiB pages the array spans: the page-table entries each fork copies for it.
    fn small_pages(&self) -> u64 {
        (self.array_bytes - self.huge_bytes).div_ceil(4096)
    }
}

impl Results {
    fn of(
        trials: Vec<Trial>,
        expected_sum: i64,
        generate_ns: u64,
        pages: Option<ArrayPages>,
    ) -> Results {
        let summary = Summary {
            time_ms: Spread::of(trials.iter().map(|t| t.time_ms as f64)),
            speedup: Spread::of(trials.iter().map(|t| t.speedup)),
        };
        Results {
            trials,
            expected_sum,
            generate_ns,
            pages,
            summary,
        }
    }
}

/// The lab's `sum_part` loop, for the sequential pass, a chunk at a time: None if Ctrl-C came
/// first.
fn sum(part: &[i32]) -> Option<i64> {
    let mut total = 0;
    for chunk in part.chunks(CHUNK) {
        if interrupt::requested().is_some() {
            return None;
        }
        total += chunk.iter().map(|&x| i64::from(x)).sum::<i64>();
    }
    Some(total)
}

/// Runs the demo: checks what it needs, fills the array (not timed), then the trials, each a
/// sequential pass and a call of `program` (the lab's program: it opens and closes the timed
/// window and prints the lab's lines). `None` from `program`: Ctrl-C stopped the trial.
pub fn run(
    s: &Session,
    p: &Params,
    program: impl Fn(&mut Work<'_>) -> Result<Option<Window>>,
) -> Result<Results> {
    if u64::from(p.workers) > p.len {
        return Err(Error::Limit(format!(
            "{} workers for {} elements: every worker needs at least one",
            p.workers, p.len
        )));
    }
    if p.mode == Mode::Processes {
        check_can_create(u64::from(p.workers))?;
    }
    let start = std::time::Instant::now();
    let array = generate(p.len, p.seed, p.pages())?;
    let generate_ns = nanos_since(start);
    let Some((array, expected_sum)) = array.and_then(|a| sum(&a).map(|sum| (a, sum))) else {
        return Ok(Results::of(Vec::new(), 0, generate_ns, None)); // Ctrl-C: no trial ran
    };
    let pages = ArrayPages::of(&array);
    let silent = Output::silent();
    let trials = timing::run_trials(
        p.warmup,
        p.trials,
        |r| {
            let out = if matches!(r, Run::Trial(_)) {
                s.out
            } else {
                silent
            };
            trial(p, &array, out, r.number(), &program)
        },
        |_| {},
        Option::is_some,
    )?;
    let done = trials.done.into_iter().flatten().collect();
    Ok(Results::of(done, expected_sum, generate_ns, pages))
}

fn trial(
    p: &Params,
    array: &[i32],
    out: Output,
    number: u32,
    program: &impl Fn(&mut Work<'_>) -> Result<Option<Window>>,
) -> Result<Option<Trial>> {
    // The lab's sum_array_sequential.c, for the speed-up: one pass, no worker.
    let start = std::time::Instant::now();
    let sequential = std::hint::black_box(sum(std::hint::black_box(array)));
    let sequential_ns = nanos_since(start);
    let Some(sequential) = sequential.filter(|_| interrupt::requested().is_none()) else {
        return Ok(None); // Ctrl-C: the workers are not started
    };
    // Before the timer starts, as in the lab: the mapping for the partial sums
    // (results = mmap(NULL, n * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
    // -1, 0)).
    let n = p.workers as usize;
    let results = Mapping::new(n * 8, Sharing::Shared, HugePages::Default)?;
    let mut work = Work {
        array,
        n,
        mode: p.mode,
        out,
        results: &results,
        t0: AtomicU64::new(monotonic_ns()),
        before: None,
    };
    let Some(window) = program(&mut work)? else {
        return Ok(None);
    };
    // The one pass again, after the workers: the speed-up is over the faster of the two, so a
    // pass that met a busy moment (an interrupt, another task) does not flatter the workers.
    let start = std::time::Instant::now();
    let again = std::hint::black_box(sum(std::hint::black_box(array)));
    let sequential_ns = match again.filter(|_| interrupt::requested().is_none()) {
        Some(_) => sequential_ns.min(nanos_since(start)),
        None => sequential_ns,
    };
    let total: i64 = window.workers.iter().map(|w| w.partial).sum();
    if total != sequential {
        return Err(Error::Channel(format!(
            "the workers' partial sums add up to {total}, not to the array's sum {sequential}"
        )));
    }
    Ok(Some(Trial {
        trial: number,
        sum: total,
        time_ms: window.time_ms,
        elapsed_ns: window.elapsed_ns,
        sequential_ns,
        speedup: sequential_ns as f64 / window.elapsed_ns.max(1) as f64,
        ns_per_element: window.elapsed_ns as f64 / array.len() as f64,
        voluntary_cs: window.voluntary_cs,
        nonvoluntary_cs: window.nonvoluntary_cs,
        workers: window.workers,
    }))
}

// ---------------------------------------------------------------------------------------------
// What the run found.

impl Trial {
    /// When the last worker began summing: what creating the workers cost.
    fn last_start_ns(&self) -> u64 {
        self.workers.iter().map(|w| w.began_ns).max().unwrap_or(0)
    }

    /// The longest single sum.
    fn longest_sum_ns(&self) -> u64 {
        self.workers
            .iter()
            .map(|w| w.ended_ns.saturating_sub(w.began_ns))
            .max()
            .unwrap_or(0)
    }

    /// True when each sum began only after the one before it ended: the workers took turns.
    fn took_turns(&self) -> bool {
        let mut spans: Vec<(u64, u64)> = self
            .workers
            .iter()
            .map(|w| (w.began_ns, w.ended_ns))
            .collect();
        spans.sort_unstable();
        spans.windows(2).all(|w| w[1].0 >= w[0].1)
    }

    /// The one CPU every worker ended on, if they all did.
    fn one_cpu(&self) -> Option<usize> {
        let first = self.workers.first()?.cpu?;
        (self.workers.len() > 1 && self.workers.iter().all(|w| w.cpu == Some(first)))
            .then_some(first)
    }

    /// `1.85× (71.3 ms against 132 ms for one pass)`.
    fn speedup_figures(&self) -> String {
        format!(
            "{}× ({} against {} for one pass)",
            sig3(self.speedup),
            fmt_ns(self.elapsed_ns as f64),
            fmt_ns(self.sequential_ns as f64)
        )
    }

    /// Why the workers did not sum faster than one pass, from the run's own figures: the
    /// likeliest reason first.
    fn why_slow(&self, p: &Params, pages: Option<ArrayPages>) -> Vec<String> {
        let n = p.workers as usize;
        let (worker, workers) = (p.mode.worker(), words::plural(p.mode.worker()));
        let share = self.sequential_ns as f64 / n.max(1) as f64;
        let mut reasons = Vec::new();
        if let Some(cpu) = self.one_cpu() {
            reasons.push(format!(
                "every {worker} ended on CPU {cpu}: the other CPUs were busy (a loaded machine) or the scheduler kept them together"
            ));
        }
        if let Some(pages) = pages.filter(|g| p.mode == Mode::Processes && g.mostly_small()) {
            reasons.push(format!(
                "the array is on 4 KiB pages ({} of them{}): every fork copies their page-table entries and each child's first read of a page makes the CPU set its accessed bit (no fault, so the fault counts do not show it)",
                pages.small_pages(),
                if p.small_pages { ", --small-pages" } else { ", the kernel gave no huge pages" }
            ));
        }
        let last = self.last_start_ns() as f64;
        if last > share / 2.0 {
            reasons.push(match p.mode {
                Mode::Processes => format!(
                    "the last process began summing {} into the window, against {} of work each: each fork copies the page tables of the whole array first",
                    fmt_ns(last),
                    fmt_ns(share)
                ),
                _ => format!(
                    "the last thread began summing {} into the window, against {} of work each: too few elements to pay for creating the threads (try a larger --len)",
                    fmt_ns(last),
                    fmt_ns(share)
                ),
            });
        }
        let longest = self.longest_sum_ns() as f64;
        if longest > 1.5 * share {
            reasons.push(format!(
                "a {worker}'s sum took up to {}, against {} for its share of the one pass: the {workers} summed slower than the pass did (a loaded machine, or memory bandwidth shared)",
                fmt_ns(longest),
                fmt_ns(share)
            ));
        }
        if reasons.is_empty() {
            reasons.push(format!(
                "the window ({}) was longer than the sums in it: a loaded machine",
                fmt_ns(self.elapsed_ns as f64)
            ));
        }
        reasons
    }
}

/// The lecture's claim for this mode, worker count and machine.
fn claim(p: &Params, ideal: usize) -> String {
    let workers = p.workers_counted();
    match p.mode {
        Mode::GlobalLock if p.workers > 1 => {
            format!("{workers} behind one global lock (a GIL) sum no faster than one pass")
        }
        _ if ideal < 2 => {
            let on = if p.workers > 1 { " on one CPU" } else { "" };
            let verb = if p.workers == 1 { "sums" } else { "sum" };
            format!("{workers}{on} {verb} no faster than one sequential pass")
        }
        Mode::Processes => format!(
            "{workers} on {ideal} CPUs sum faster than one pass, as threads do, though each fork costs time first"
        ),
        _ => format!(
            "{workers} on {ideal} CPUs sum faster than one pass, but less than {ideal}× faster"
        ),
    }
}

/// Whether the claim is that the workers sum faster (true) or no faster (false).
fn claims_faster(p: &Params, ideal: usize) -> bool {
    ideal >= 2 && !(p.mode == Mode::GlobalLock && p.workers > 1)
}

impl Findings for Results {
    type Params = Params;
    type Row = Trial;

    fn headline(&self, p: &Params) -> String {
        self.trials
            .last()
            .map_or("stopped before a trial ended".into(), |t| {
                format!(
                    "{}: {} ms, speed-up {}× over one sequential pass",
                    p.workers_counted(),
                    t.time_ms,
                    sig3(t.speedup)
                )
            })
    }

    fn analysis(&self, p: &Params, cx: &Context<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        let n = p.workers as usize;
        if self.trials.len() > 1 {
            let f = |s: &Option<Spread>| {
                s.map_or("-".into(), |s| {
                    format!("{} / {} / {}", sig3(s.min), sig3(s.median), sig3(s.max))
                })
            };
            lines.push(format!(
                "over {} trials, min / median / max: time {} ms, speed-up {}×",
                self.trials.len(),
                f(&self.summary.time_ms),
                f(&self.summary.speedup)
            ));
        }
        let Some(t) = self.trials.last() else {
            lines.push("no trial completed".into());
            return lines;
        };
        lines.push(format!(
            "array: {} random ints below {MAX_ELEMENT} (seed {}, filled in {}, not timed), {} per {} ({}{})",
            p.len,
            p.seed,
            fmt_ns(self.generate_ns as f64),
            p.len / n as u64,
            p.mode.worker(),
            match p.mode {
                Mode::Threads => "threads",
                Mode::Processes => "processes, partial sums in a MAP_SHARED mapping",
                Mode::GlobalLock => "threads behind one global lock",
            },
            if !p.len.is_multiple_of(n as u64) {
                "; the last also takes the remainder"
            } else {
                ""
            }
        ));
        if let Some(pages) = self.pages {
            lines.push(pages.line(p));
        }
        let usable = cx.machine.cpus_usable_count;
        let ideal = p.ideal(usable);
        lines.push(format!(
            "speed-up: {}× over one sequential pass ({}); ideal {ideal}× ({} on {} usable {}){}",
            sig3(t.speedup),
            fmt_ns(t.sequential_ns as f64),
            p.workers_counted(),
            usable,
            words::noun(usable as u64, "CPU"),
            match p.mode {
                Mode::GlobalLock if n > 1 => format!(
                    "; the lock lost {}× of it: one thread summed at a time",
                    sig3(ideal as f64 / t.speedup.max(0.001))
                ),
                _ => String::new(),
            }
        ));
        let per_worker: Vec<String> = t
            .workers
            .iter()
            .map(|w| {
                format!(
                    "{} {}–{}{}",
                    w.worker,
                    fmt_ns(w.began_ns as f64),
                    fmt_ns(w.ended_ns as f64),
                    w.cpu.map_or(String::new(), |c| format!(" CPU {c}"))
                )
            })
            .collect();
        lines.push(format!(
            "workers (start–end of each sum, from the start of the window): {}",
            per_worker.join(", ")
        ));
        match p.mode {
            Mode::Processes => lines.push(format!(
                "  the last process began summing {} into the window: every fork copies the parent's page tables, and they map the whole {} MiB array",
                fmt_ns(t.last_start_ns() as f64),
                (p.len * 4) >> 20
            )),
            Mode::GlobalLock if n > 1 => lines.push(if t.took_turns() {
                "  with the lock the sums ran one after another: each thread began when the previous one ended".into()
            } else {
                "  the sums overlapped: the lock did not make the threads take turns".into()
            }),
            _ => {}
        }
        lines.push(format!(
            "context switches in the window: {} voluntary, {} nonvoluntary",
            t.voluntary_cs, t.nonvoluntary_cs
        ));
        lines
    }

    fn verdict(&self, p: &Params, cx: &Context<'_>) -> Verdict {
        let ideal = p.ideal(cx.machine.cpus_usable_count);
        let claim = claim(p, ideal);
        let Some(t) = self.trials.last() else {
            return Verdict::unchecked(claim, "stopped before a trial ended");
        };
        let figures = format!("speed-up {}", t.speedup_figures());
        if claims_faster(p, ideal) {
            let faster = t.speedup >= FASTER;
            let within = t.speedup <= ideal as f64 * FASTER;
            let mut because = figures;
            if p.mode == Mode::Processes && faster {
                because.push_str(&format!(
                    "; the last process began summing {} into the window",
                    fmt_ns(t.last_start_ns() as f64)
                ));
            }
            if !faster {
                because.push_str(": ");
                because.push_str(&t.why_slow(p, self.pages).join("; "));
            } else if !within {
                because.push_str(&format!(
                    ": more than {ideal}×, so the one pass ran slow (a loaded machine, or a cold cache)"
                ));
            }
            return Verdict::check(claim, faster && within, because);
        }
        let held = t.speedup < FASTER;
        let mut because = figures;
        if p.mode == Mode::GlobalLock && p.workers > 1 {
            because.push_str(if t.took_turns() {
                "; the sums ran one after another"
            } else {
                "; the sums overlapped"
            });
        }
        if !held {
            because.push_str(&format!(
                ": the one pass ran slower than the {} did (a loaded machine, or a cold cache)",
                words::plural(p.mode.worker())
            ));
        }
        Verdict::check(claim, held, because)
    }

    fn lesson(&self, p: &Params, cx: &Context<'_>) -> String {
        let ideal = p.ideal(cx.machine.cpus_usable_count);
        let Some(t) = self.trials.last() else {
            return match p.mode {
                Mode::GlobalLock => "with one lock held while computing, as under CPython's GIL, only one thread runs at a time (the run stopped before a trial ended)".into(),
                _ => "N workers on N CPUs can sum up to N times faster (the run stopped before a trial ended)".into(),
            };
        };
        let held = self.verdict(p, cx).held == Some(true);
        let workers = p.workers_counted();
        let speedup = sig3(t.speedup);
        let last_start = fmt_ns(t.last_start_ns() as f64);
        match (p.mode, claims_faster(p, ideal), held) {
            (Mode::GlobalLock, false, true) => format!(
                "with one lock held while computing, as under CPython's GIL, one thread summed at a time: {workers} gave {speedup}×, no speed-up"
            ),
            (Mode::GlobalLock, false, false) => format!(
                "with one lock held while computing, as under CPython's GIL, only one thread can sum at a time, so the {speedup}× here says the one pass ran slow{}, not that the threads ran at once",
                if t.took_turns() {
                    " (the sums did take turns)"
                } else {
                    ""
                }
            ),
            (_, false, true) => format!(
                "one CPU, or one worker, cannot sum in parallel: {workers} gave {speedup}× here, one pass plus the cost of creating the {}",
                words::noun(p.workers, p.mode.worker())
            ),
            (_, false, false) => format!(
                "one CPU, or one worker, cannot sum in parallel, so the {speedup}× here says the one pass ran slow (a loaded machine, or a cold cache)"
            ),
            (Mode::Processes, true, true) => format!(
                "{workers} summed {speedup}× faster than one pass, as threads would, but started later: the last began at {last_start}, as each fork copies the page tables of the whole {} MiB array",
                (p.len * 4) >> 20
            ),
            (Mode::Processes, true, false) => format!(
                "processes divide the work as threads do, but here {workers} gave {speedup}×: the last began summing at {last_start} and a sum took up to {}, against {} for one pass, so starting them and their slower sums cost more than the parallelism gained",
                fmt_ns(t.longest_sum_ns() as f64),
                fmt_ns(t.sequential_ns as f64)
            ),
            (_, true, true) => format!(
                "{workers} on {ideal} CPUs summed {speedup}× faster than one pass{}: creating them costs time (the last began at {last_start}) and they share one memory bus",
                if t.speedup < ideal as f64 {
                    format!(", short of the ideal {ideal}×")
                } else {
                    String::new()
                }
            ),
            (_, true, false) => format!(
                "{workers} can sum up to {ideal}× faster on {ideal} idle CPUs, but gave {speedup}× here: {}",
                t.why_slow(p, self.pages)[0]
            ),
        }
    }

    fn compare(&self, _p: &Params) -> String {
        "perf stat -e task-clock,context-switches,cpu-migrations -- sum_array N   (\"CPUs utilized\" is the parallelism the run got); oslab compare sum_array".into()
    }

    fn rows(&self, _p: &Params) -> Vec<Trial> {
        self.trials.clone()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!(
            "{} of {}",
            self.trials.len(),
            words::count(p.trials, "trial")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn params(workers: u32, mode: Mode) -> Params {
        let t = TrialArgs {
            trials: 1,
            warmup: 0,
        };
        Params::of(workers, mode, 100_000_000, 1, &t)
    }

    /// A trial: a sequential pass of `sequential_ms`, a window of `elapsed_ms`, and each
    /// worker's (began, ended, cpu) in ms.
    fn trial(sequential_ms: u64, elapsed_ms: u64, workers: &[(u64, u64, usize)]) -> Trial {
        Trial {
            trial: 1,
            sum: 0,
            time_ms: elapsed_ms,
            elapsed_ns: elapsed_ms * MS,
            sequential_ns: sequential_ms * MS,
            speedup: sequential_ms as f64 / elapsed_ms as f64,
            ns_per_element: 1.0,
            voluntary_cs: 2,
            nonvoluntary_cs: 0,
            workers: workers
                .iter()
                .enumerate()
                .map(|(i, &(b, e, cpu))| Worker {
                    worker: i,
                    start: 0,
                    len: 1,
                    partial: 0,
                    began_ns: b * MS,
                    ended_ns: e * MS,
                    cpu: Some(cpu),
                })
                .collect(),
        }
    }

    fn judged(p: &Params, t: Trial, cpus: usize) -> (Verdict, String, Vec<String>) {
        judged_on(p, t, cpus, None)
    }

    fn judged_on(
        p: &Params,
        t: Trial,
        cpus: usize,
        pages: Option<ArrayPages>,
    ) -> (Verdict, String, Vec<String>) {
        let mut machine = crate::testing::machine().clone();
        machine.cpus_usable_count = cpus;
        let cx = crate::testing::context_on(&machine, None);
        crate::testing::judge_on(&Results::of(vec![t], 0, 1, pages), p, &cx)
    }

    #[test]
    fn processes_on_small_pages_name_the_page_size_as_a_reason() {
        let small = ArrayPages {
            array_bytes: 80_000_000,
            huge_bytes: 0,
        };
        let huge = ArrayPages {
            array_bytes: 80_000_000,
            huge_bytes: 77_594_624,
        };
        let p = params(2, Mode::Processes).small_pages(true);
        let slow = || trial(26, 61, &[(0, 55, 0), (13, 61, 1)]);
        let (v, _, analysis) = judged_on(&p, slow(), 2, Some(small));
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because
                .contains("the array is on 4 KiB pages (19532 of them, --small-pages)"),
            "{}",
            v.because
        );
        assert!(
            analysis.iter().any(|l| l.starts_with("pages: 0.0 of the array's 76.3 MiB on 2 MiB huge pages (--small-pages: MADV_NOHUGEPAGE;")
                && l.contains("each fork copies 19532 page-table entries")),
            "{analysis:?}"
        );
        let p = params(2, Mode::Processes);
        let (v, _, analysis) = judged_on(&p, slow(), 2, Some(huge));
        assert!(!v.because.contains("4 KiB pages"), "{}", v.because);
        assert!(
            analysis
                .iter()
                .any(|l| l.contains("a fork copies one page-table entry per 2 MiB")),
            "{analysis:?}"
        );
        let (v, _, _) = judged_on(&params(2, Mode::Threads), slow(), 2, Some(small));
        assert!(
            !v.because.contains("4 KiB pages"),
            "threads share one page table: {}",
            v.because
        );
    }

    #[test]
    fn two_threads_on_two_cpus_that_sum_faster_hold() {
        let p = params(2, Mode::Threads);
        let (v, lesson, _) = judged(&p, trial(132, 71, &[(0, 70, 0), (1, 71, 1)]), 2);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert_eq!(
            v.claim,
            "2 threads on 2 CPUs sum faster than one pass, but less than 2× faster"
        );
        assert!(
            v.because
                .starts_with("speed-up 1.86× (71.0 ms against 132 ms"),
            "{}",
            v.because
        );
        assert!(lesson.contains("summed 1.86× faster"), "{lesson}");
        assert!(lesson.contains("short of the ideal 2×"), "{lesson}");
    }

    #[test]
    fn two_threads_on_one_cpu_that_sum_slower_do_not_hold_and_say_why() {
        // The run: 0.455×, both threads on one CPU of a loaded machine.
        let p = params(2, Mode::Threads);
        let (v, lesson, _) = judged(&p, trial(62, 136, &[(0, 136, 1), (11, 136, 1)]), 2);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.because.contains("speed-up 0.456×"), "{}", v.because);
        assert!(
            v.because.contains("every thread ended on CPU 1"),
            "{}",
            v.because
        );
        assert!(
            lesson.contains("gave 0.456× here: every thread ended on CPU 1"),
            "{lesson}"
        );
        assert!(!lesson.contains("sum faster"), "{lesson}");
    }

    #[test]
    fn threads_that_start_late_on_a_small_array_name_the_creation_cost() {
        let p = params(2, Mode::Threads);
        let (v, _, _) = judged(&p, trial(2, 3, &[(1, 2, 0), (2, 3, 1)]), 2);
        assert_eq!(v.held, Some(false));
        assert!(v.because.contains("too few elements"), "{}", v.because);
    }

    #[test]
    fn a_global_lock_holds_without_speed_up_and_not_with_one() {
        let p = params(2, Mode::GlobalLock);
        let (v, lesson, lines) = judged(&p, trial(100, 101, &[(0, 50, 0), (50, 101, 1)]), 2);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(v.claim.contains("no faster than one pass"), "{}", v.claim);
        assert!(
            v.because.contains("the sums ran one after another"),
            "{}",
            v.because
        );
        assert!(lesson.contains("gave 0.990×, no speed-up"), "{lesson}");
        assert!(lines.iter().any(|l| l.contains("one after another")));
        // The README's run: 1.60×, the sums still one after another.
        let (v, lesson, _) = judged(&p, trial(23, 14, &[(0, 12, 1), (12, 14, 1)]), 2);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.contains("the one pass ran slower"),
            "{}",
            v.because
        );
        assert!(lesson.contains("the sums did take turns"), "{lesson}");
    }

    #[test]
    fn processes_that_sum_slower_than_one_pass_do_not_hold() {
        let p = params(2, Mode::Processes);
        let (v, lesson, _) = judged(&p, trial(9, 45, &[(13, 28, 1), (22, 35, 1)]), 2);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(v.claim.contains("as threads do"), "{}", v.claim);
        assert!(
            v.because.contains("the last process began summing 22.0 ms"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("each fork copies the page tables"),
            "{}",
            v.because
        );
        assert!(
            lesson.contains("cost more than the parallelism gained"),
            "{lesson}"
        );
        let (v, lesson, _) = judged(&p, trial(130, 75, &[(3, 70, 0), (5, 75, 1)]), 2);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(lesson.contains("started later"), "{lesson}");
    }

    #[test]
    fn one_worker_or_one_cpu_claims_no_speed_up() {
        let p = params(1, Mode::Threads);
        let (v, _, _) = judged(&p, trial(100, 102, &[(0, 102, 0)]), 2);
        assert_eq!(v.claim, "1 thread sums no faster than one sequential pass");
        assert_eq!(v.held, Some(true), "{}", v.line());
        let p = params(4, Mode::Threads);
        let (v, _, _) = judged(&p, trial(100, 60, &[(0, 60, 0); 4]), 1);
        assert_eq!(
            v.claim,
            "4 threads on one CPU sum no faster than one sequential pass"
        );
        assert_eq!(v.held, Some(false), "{}", v.line());
    }

    #[test]
    fn a_run_stopped_before_a_trial_cannot_be_checked() {
        let p = params(2, Mode::Threads);
        let r = Results::of(vec![], 0, 1, None);
        assert_eq!(r.verdict(&p, &crate::testing::context()).held, None);
        assert_eq!(r.progress(&p).unwrap(), "0 of 1 trial");
        assert_eq!(r.headline(&p), "stopped before a trial ended");
    }

    #[test]
    fn parts_cover_the_array_once() {
        let parts: Vec<_> = (0..3).map(|i| part(10, 3, i)).collect();
        assert_eq!(parts, [0..3, 3..6, 6..10]);
        let small = HugePages::Never;
        assert_eq!(
            generate(5, 7, small).unwrap(),
            generate(5, 7, small).unwrap()
        );
        let array = generate(3 * CHUNK as u64 + 5, 1, HugePages::Wanted)
            .unwrap()
            .unwrap();
        assert_eq!(array.len(), 3 * CHUNK + 5);
        assert!(array.iter().all(|&x| (0..1000).contains(&x)));
        let whole: i64 = array.iter().map(|&x| i64::from(x)).sum();
        assert_eq!(sum(&array), Some(whole));
    }
}
