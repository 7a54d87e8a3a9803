//! sleep_jitter's lab bench: what cyclictest does before it starts (lock memory, set the slack,
//! go real-time, hold the CPUs out of deep idle), each refusal said out loud; the samples the
//! lecture's loop records; the lecture's millisecond histogram; the overshoot's percentiles and
//! histogram; and the verdict on the lecture's claim that every sleep ends late.
//!
//! The loop itself, `for i in range(50000): start = millis(); time.sleep(.005); ...`, is the
//! binary's (`src/bin/sleep_jitter.rs`).

use serde::Serialize;

use crate::Result;
use crate::kit::histogram::{self, Bucket};
use crate::kit::machine::{current_cpu, fmt_cpu_list};
use crate::kit::plot::{self, Figure};
use crate::kit::report::warn;
use crate::kit::stats::{LatencySummary, latency_histogram};
use crate::kit::timing::{fmt_ns, monotonic_ns};
use crate::kit::{Context, Findings, Session, Verdict, progress, words};
use crate::process::limits::allocate;
use crate::process::scheduler::{self, InForce, Policy, Refusal};

/// How each sleep is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `clock_nanosleep(CLOCK_MONOTONIC, 0, interval)`: a sleep for a duration, what the
    /// lecture's time.sleep (and std::thread::sleep) calls.
    Relative,
    /// `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next)`, `next += interval`.
    Absolute,
    /// Spin on the clock until `next`: no sleep at all, the floor of what a wakeup costs.
    Busy,
}

impl Mode {
    /// The flag's value: `relative`, `absolute`, `busy`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Relative => "relative",
            Mode::Absolute => "absolute",
            Mode::Busy => "busy",
        }
    }
}

/// The run's parameters, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub count: u64,
    pub interval_ns: u64,
    pub mode: Mode,
    pub fifo: Option<i32>,
    pub mlock: bool,
    pub dma_latency_us: Option<i32>,
    pub timerslack_ns: Option<u64>,
    pub hist_max_ns: u64,
    /// `--log2`: the overshoot's histogram in power-of-two buckets (reported in the results'
    /// `histogram_scale`, not here, so the CSV's columns stay the same).
    #[serde(skip)]
    pub log2: bool,
}

/// What each sleep gave, recorded by the lecture's loop through [`Samples::record`].
pub struct Samples {
    /// Actual minus requested, ns (0 for a wakeup at or before its deadline).
    overshoot_ns: Vec<u64>,
    /// The lecture's figure: the sleep in whole milliseconds, as millis() - millis() gives it
    /// (`millis = lambda: int(round(time.time() * 1000))`: each reading rounded to the nearest ms).
    lecture_ms: Vec<u64>,
    /// The CPU that woke up.
    cpu: Vec<Option<usize>>,
    /// The overshoot's histogram, filled once the sleeps are done.
    hdr: hdrhistogram::Histogram<u64>,
    bar: indicatif::ProgressBar,
}

/// What one sample costs, in bytes: its three figures, and the copies the report makes of them
/// (the wakeup CPUs sorted, a CSV row).
const SAMPLE_BYTES: u64 = 8 + 8 + 16 + 8 + 40;

impl Samples {
    /// Room for `count` samples and the histogram, all reserved now (before `mlockall`, which
    /// would lock every later allocation against RLIMIT_MEMLOCK): a refusal names the size and
    /// the limit, and no sleep records into memory it does not have.
    fn new(count: u64, quiet: bool) -> Result<Samples> {
        let n = count as usize;
        let what = format!("{count} samples");
        crate::process::limits::check_memory(count.saturating_mul(SAMPLE_BYTES), &what)?;
        Ok(Samples {
            overshoot_ns: allocate(n, &what)?,
            lecture_ms: allocate(n, &what)?,
            cpu: allocate(n, &what)?,
            hdr: latency_histogram(),
            bar: progress::bar(count, "sleeps", quiet),
        })
    }

    /// One sleep: it began at `start`, was due at `deadline` and woke at `woke` (all
    /// [`monotonic_ns`]). Records the overshoot, the lecture's whole milliseconds
    /// (`millis()` after − `millis()` before) and the CPU that woke up.
    #[inline]
    pub fn record(&mut self, start: u64, deadline: u64, woke: u64) {
        self.overshoot_ns.push(woke.saturating_sub(deadline));
        self.lecture_ms.push(millis(woke) - millis(start));
        self.cpu.push(current_cpu());
        let n = self.overshoot_ns.len() as u64;
        if n % 64 == 1 {
            self.bar.set_position(n - 1);
        }
    }
}

/// The seed's `millis()`, `int(round(time.time() * 1000))`: a clock reading in ns, rounded to
/// the nearest millisecond. The monotonic clock stands in for time.time(), which a clock step
/// could move; the rounding is the seed's.
fn millis(ns: u64) -> u64 {
    (ns + 500_000) / 1_000_000
}

/// The run's figures: one "trial", for `oslab compare sleep_jitter`.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    pub mode: Mode,
    /// Sleeps timed (fewer than asked if Ctrl-C stopped the run).
    pub sleeps: u64,
    pub requested_ns: u64,
    pub min_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub mean_ns: f64,
    /// Overshoots at or above `overflow_threshold_ns` (cyclictest's "Histogram Overflows").
    pub overflows: u64,
    pub overflow_threshold_ns: u64,
    /// Wakeups on a different CPU from the one before.
    pub migrations: u64,
    pub elapsed_ns: u64,
}

/// One bin of the lecture's histogram, as `plt.hist(times, [4, 5, 6, 7, 8, 9, 10])` makes it:
/// sleeps of `from_ms` up to `to_ms` whole milliseconds, `to_ms` itself only in the last bin
/// (`closed`), as numpy's last bin includes its right edge.
#[derive(Clone, Debug, Serialize)]
pub struct LectureBin {
    pub from_ms: u64,
    pub to_ms: u64,
    pub closed: bool,
    pub count: u64,
}

impl LectureBin {
    /// `[4, 5)`, or `[9, 10]` for the last bin.
    fn label(&self) -> String {
        let end = if self.closed { ']' } else { ')' };
        format!("[{}, {}{end}", self.from_ms, self.to_ms)
    }
}

/// What the run found.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub trials: Vec<Trial>,
    /// The seed's six bins, edges interval − 1 to interval + 5 ms ([4, 5, 6, 7, 8, 9, 10] for
    /// the lecture's 5 ms).
    pub lecture_histogram: Vec<LectureBin>,
    /// Sleeps outside the lecture's bins: shorter, longer.
    pub lecture_below: u64,
    pub lecture_above: u64,
    /// The overshoot's histogram, as drawn.
    pub histogram: Vec<Bucket>,
    /// `linear` (about 12 rows of a round width, then one open row) or `log2` (`--log2`).
    pub histogram_scale: &'static str,
    /// The policy, priority, slack, locked memory and CPU in force, read back after asking.
    pub in_force: InForce,
    /// The CPUs the wakeups happened on.
    pub cpus: String,
    pub refused: Vec<Refusal>,
    /// The raw samples, in order.
    pub overshoot_ns: Vec<u64>,
    pub lecture_ms: Vec<u64>,
    pub wake_cpu: Vec<Option<usize>>,
}

/// One CSV row: one sleep.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub sample: usize,
    pub overshoot_ns: u64,
    pub lecture_ms: u64,
    pub wake_cpu: Option<usize>,
}

/// Runs the demo: cyclictest's set-up, then `sleeps` (the lecture's loop, which records each
/// sleep into the samples), then the lecture's histogram.
pub fn run(s: &Session, p: &Params, sleeps: impl FnOnce(&mut Samples)) -> Result<Results> {
    let mut samples = Samples::new(p.count, s.out.quiet)?;
    let (refused, _idle_latency) = prepare(p)?;
    let in_force = InForce::read();
    let started = monotonic_ns();
    sleeps(&mut samples);
    let elapsed_ns = monotonic_ns() - started;
    if p.mlock {
        // The sleeps are measured: what follows (the analysis, the report) need not be locked,
        // and under MCL_FUTURE each allocation would count against RLIMIT_MEMLOCK.
        scheduler::unlock_memory();
    }
    samples.bar.finish_and_clear();
    let results = summarise(p, samples, in_force, refused, elapsed_ns)?;
    print_lecture(s, p, &results);
    Ok(results)
}

/// What the lecture's loop may map while memory is locked (the samples are reserved before):
/// the progress bar's lines, the odd small allocation.
const LOOP_GROWTH: u64 = 256 << 10;

/// What cyclictest does before it starts: lock memory, hold the idle latency, set the slack, go
/// real-time. Each refusal is said out loud; the demo goes on with what it has, and reports
/// what that is. The idle-latency hold lasts as long as the value returned.
fn prepare(p: &Params) -> Result<(Vec<Refusal>, Option<scheduler::IdleLatency>)> {
    let mut refused: Vec<Refusal> = Vec::new();
    if p.mlock
        && let Err(r) = scheduler::request_mlockall(
            LOOP_GROWTH,
            "memory stays unlocked: a page fault can add to a wakeup (rarely, after the first few)",
        )
    {
        refused.push(r);
    }
    let idle_latency = match p.dma_latency_us {
        Some(us) => scheduler::request_idle_latency(
            us,
            "idle CPUs may halt, and a wakeup then first waits for its CPU to wake (in a VM, an exit to the hypervisor)",
        )
        .map_err(|r| refused.push(r))
        .ok(),
        None => None,
    };
    if let Some(ns) = p.timerslack_ns {
        scheduler::set_timer_slack(ns)?;
    }
    if let Some(prio) = p.fifo {
        if p.mode == Mode::Busy {
            warn(
                "--mode busy under SCHED_FIFO holds its CPU for the whole run (RT throttling leaves others 5%)",
            );
        }
        if let Err(r) = scheduler::request_policy(
            Policy::Fifo,
            prio,
            "the sleeps run under SCHED_OTHER, as read back below: normal tasks may run first and the timer slack applies",
        ) {
            refused.push(r);
        }
    }
    for r in &refused {
        warn(r);
    }
    Ok((refused, idle_latency))
}

fn summarise(
    p: &Params,
    s: Samples,
    in_force: InForce,
    refused: Vec<Refusal>,
    elapsed_ns: u64,
) -> Result<Results> {
    let summary = LatencySummary::recorded(s.hdr, &s.overshoot_ns);
    let threshold = p.hist_max_ns;
    let n = s.overshoot_ns.len() as u64;
    let trial = Trial {
        mode: p.mode,
        sleeps: n,
        requested_ns: p.interval_ns,
        min_ns: summary.min_ns,
        p50_ns: summary.p50_ns,
        p90_ns: summary.p90_ns,
        p99_ns: summary.p99_ns,
        p999_ns: summary.p999_ns,
        max_ns: summary.max_ns,
        mean_ns: summary.mean_ns,
        overflows: s.overshoot_ns.iter().filter(|&&v| v >= threshold).count() as u64,
        overflow_threshold_ns: threshold,
        migrations: s.cpu.windows(2).filter(|w| w[0] != w[1]).count() as u64,
        elapsed_ns,
    };
    let (lecture_histogram, lecture_below, lecture_above) = lecture_bins(p, &s.lecture_ms);

    // The overshoot's histogram: about 12 rows of a round width from the minimum to the p99
    // (or to twice the p90 when the p99 is far out in the tail), then one row for the rest.
    // With --log2, power-of-two rows from the minimum's to the maximum's, as bcc's tools.
    let hi = trial.p99_ns.min(2 * trial.p90_ns).max(trial.min_ns + 1);
    let histogram = if p.log2 {
        histogram::log2_buckets(&s.overshoot_ns, histogram::log2_unit(trial.max_ns))
    } else {
        histogram::buckets(&s.overshoot_ns, trial.min_ns, hi, 12)
    };
    let mut cpus: Vec<usize> = s.cpu.iter().flatten().copied().collect();
    cpus.sort_unstable();
    cpus.dedup();
    Ok(Results {
        trials: vec![trial],
        lecture_histogram,
        lecture_below,
        lecture_above,
        histogram,
        histogram_scale: if p.log2 { "log2" } else { "linear" },
        in_force,
        cpus: fmt_cpu_list(&cpus),
        refused,
        overshoot_ns: s.overshoot_ns,
        lecture_ms: s.lecture_ms,
        wake_cpu: s.cpu,
    })
}

/// The lecture's bins: the seed's edges, `[4, 5, 6, 7, 8, 9, 10]` for a 5 ms sleep (from one
/// below the interval to five above), six bins of which the last is closed; and the sleeps
/// shorter and longer than those, which `plt.hist` leaves out.
fn lecture_bins(p: &Params, lecture_ms: &[u64]) -> (Vec<LectureBin>, u64, u64) {
    let first = (p.interval_ns / 1_000_000).saturating_sub(1);
    let last = first + 6;
    let mut bins: Vec<LectureBin> = (first..last)
        .map(|ms| LectureBin {
            from_ms: ms,
            to_ms: ms + 1,
            closed: ms + 1 == last,
            count: 0,
        })
        .collect();
    let (mut below, mut above) = (0, 0);
    for &ms in lecture_ms {
        if ms < first {
            below += 1;
        } else if ms > last {
            above += 1;
        } else {
            bins[(ms.min(last - 1) - first) as usize].count += 1;
        }
    }
    (bins, below, above)
}

/// The lecture's output: the millisecond histogram, as the seed's `plt.hist` makes it.
fn print_lecture(s: &Session, p: &Params, r: &Results) {
    s.out.lecture(format_args!(
        "sleep({}) × {}, each timed in whole milliseconds (millis() after - millis() before), plt.hist's bins:",
        fmt_ns(p.interval_ns as f64),
        r.trials[0].sleeps
    ));
    let rows: Vec<(String, u64)> = r
        .lecture_histogram
        .iter()
        .map(|b| (format!("{} ms", b.label()), b.count))
        .collect();
    for line in histogram::draw(&rows, 50) {
        s.out.lecture(line);
    }
    if r.lecture_below + r.lecture_above > 0 {
        s.out.lecture(format_args!(
            "({} shorter, {} longer: outside the bins, which plt.hist leaves out)",
            r.lecture_below, r.lecture_above
        ));
    }
}

impl Results {
    fn trial(&self) -> &Trial {
        &self.trials[0]
    }

    /// Wakeups at or before their deadline (overshoot 0).
    fn on_time(&self) -> usize {
        self.overshoot_ns.iter().filter(|&&v| v == 0).count()
    }

    /// `p50 73.5 µs, p99 184 µs, max 1.34 ms`.
    fn figures(&self) -> String {
        let t = self.trial();
        format!(
            "p50 {}, p99 {}, max {}",
            fmt_ns(t.p50_ns as f64),
            fmt_ns(t.p99_ns as f64),
            fmt_ns(t.max_ns as f64)
        )
    }
}

const CLAIM: &str = "every sleep ends late";

impl Findings for Results {
    type Params = Params;
    type Row = Row;

    fn headline(&self, p: &Params) -> String {
        let t = self.trial();
        format!(
            "{} sleep({}) × {}: overshoot p50 {}, p99 {}, max {} ({})",
            p.mode.name(),
            fmt_ns(p.interval_ns as f64),
            t.sleeps,
            fmt_ns(t.p50_ns as f64),
            fmt_ns(t.p99_ns as f64),
            fmt_ns(t.max_ns as f64),
            self.in_force.policy
        )
    }

    fn analysis(&self, p: &Params, _cx: &Context<'_>) -> Vec<String> {
        let t = self.trial();
        if t.sleeps == 0 {
            return Vec::new();
        }
        let mut lines = vec![
            format!(
                "overshoot (actual − requested), {} at µs resolution: min {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}, mean {}",
                words::count(t.sleeps, "sleep"),
                fmt_ns(t.min_ns as f64),
                fmt_ns(t.p50_ns as f64),
                fmt_ns(t.p90_ns as f64),
                fmt_ns(t.p99_ns as f64),
                fmt_ns(t.p999_ns as f64),
                fmt_ns(t.max_ns as f64),
                fmt_ns(t.mean_ns)
            ),
            format!(
                "overflows: {} of {} at or above {} (what cyclictest -h {} counts as Histogram Overflows)",
                t.overflows,
                t.sleeps,
                fmt_ns(p.hist_max_ns as f64),
                p.hist_max_ns / 1000
            ),
        ];
        let unit = histogram::log2_unit(t.max_ns);
        let rows: Vec<(String, u64)> = self
            .histogram
            .iter()
            .map(|b| match p.log2 {
                true => (histogram::log2_label(b, unit), b.count),
                false => (histogram::label(b), b.count),
            })
            .collect();
        lines.extend(
            histogram::draw(&rows, 40)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        let how = match p.mode {
            Mode::Relative => {
                "relative: nanosleep(interval), timed from just before the call (the lecture's time.sleep); every overshoot delays all later sleeps: the schedule drifts"
            }
            Mode::Absolute => {
                "absolute: clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to deadlines next += interval, as cyclictest; the schedule never drifts"
            }
            Mode::Busy => {
                "busy: spinning on the clock until each deadline, no sleep: what is left is the cost of reading the clock and of being preempted"
            }
        };
        lines.push(format!("mode: {how}"));
        lines.push(format!(
            "in force: {}; wakeups on CPU {} ({})",
            self.in_force.describe(),
            self.cpus,
            words::count(t.migrations, "migration")
        ));
        lines.extend(self.refused.iter().map(|r| format!("refused: {r}")));
        lines
    }

    fn verdict(&self, p: &Params, _cx: &Context<'_>) -> Verdict {
        let t = self.trial();
        if t.sleeps == 0 {
            return Verdict::unchecked(CLAIM, "stopped before the first sleep ended");
        }
        let on_time = self.on_time() as u64;
        if on_time == 0 {
            let all = if t.sleeps == 1 {
                "the one sleep overshot its deadline".to_string()
            } else {
                format!("all {} sleeps overshot their deadline", t.sleeps)
            };
            return Verdict::held(
                CLAIM,
                format!("{all}: min {}, {}", fmt_ns(t.min_ns as f64), self.figures()),
            );
        }
        let why = match p.mode {
            Mode::Busy => {
                "--mode busy does not sleep: it spins and reads the clock the instant the deadline passes"
            }
            _ => "they woke at or before their deadline, as the clock read it",
        };
        Verdict::did_not_hold(
            CLAIM,
            format!(
                "{} of {} ended 0 ns late ({why}); the rest: {}",
                on_time,
                words::count(t.sleeps, "sleep"),
                self.figures()
            ),
        )
    }

    fn lesson(&self, p: &Params, _cx: &Context<'_>) -> String {
        let t = self.trial();
        if t.sleeps == 0 {
            return "a sleep lasts at least what was asked; this run stopped before one ended"
                .into();
        }
        let late = format!(
            "{} at the median, {} at p99 and {} at worst",
            fmt_ns(t.p50_ns as f64),
            fmt_ns(t.p99_ns as f64),
            fmt_ns(t.max_ns as f64)
        );
        if p.mode == Mode::Busy {
            let what = if t.p50_ns < 1_000 {
                "reading the clock and the odd preemption: the floor under what any sleep costs here"
            } else {
                "being preempted: a task that never blocks uses up its share of the CPU and is switched out whenever others want it"
            };
            return format!(
                "spinning instead of sleeping, the loop saw its deadlines pass by {late}: no timer, no slack and no wakeup, so what is left is {what}"
            );
        }
        let causes = if self.in_force.is_realtime() {
            "under SCHED_FIFO no timer slack applies and no normal task runs first, so what is left is the wakeup itself (and, in a VM, the hypervisor)".to_string()
        } else {
            let slack = self.in_force.timer_slack_ns.map_or_else(
                || "the timer slack".to_string(),
                |ns| format!("the timer slack ({} here)", fmt_ns(ns as f64)),
            );
            format!(
                "{slack}, the wakeup and whatever else was running add it; absolute deadlines, SCHED_FIFO, mlockall and CPUs kept from deep idle (cyclictest's method) remove what can be removed"
            )
        };
        format!("a sleep lasts at least what was asked: here it overshot by {late}; {causes}")
    }

    fn compare(&self, p: &Params) -> String {
        format!(
            "cyclictest -m -p 80 -i {} -h {} -q -l {}   (= sleep_jitter --mode absolute --fifo 80 --mlock --dma-latency 0; add --laptop to leave /dev/cpu_dma_latency alone; it prints min/avg/max, no percentiles)",
            (p.interval_ns / 1000).max(1),
            (p.hist_max_ns / 1000).max(1),
            p.count
        )
    }

    fn rows(&self, _p: &Params) -> Vec<Row> {
        (0..self.overshoot_ns.len())
            .map(|i| Row {
                sample: i + 1,
                overshoot_ns: self.overshoot_ns[i],
                lecture_ms: self.lecture_ms[i],
                wake_cpu: self.wake_cpu[i],
            })
            .collect()
    }

    fn progress(&self, p: &Params) -> Option<String> {
        Some(format!("{} of {} sleeps", self.trial().sleeps, p.count))
    }
}

/// The run's picture: the lecture's histogram with the seed's bins, as `plt.hist` draws it;
/// the overshoot at µs resolution as a histogram (up to p99) and as a CDF with p50, p90, p99
/// and p99.9 marked. Drawn from the report (`--plot`, `oslab plot`).
pub fn figure(report: &serde_json::Value) -> anyhow::Result<Figure> {
    let r = plot::Report(report);
    let sleeps = r.num("/results/trials/0/sleeps")?;
    let interval = r.num("/params/interval_ns")?;
    let mode = r.str("/params/mode")?;
    let bins: Vec<plot::Bin> = r
        .list("/results/lecture_histogram")?
        .iter()
        .map(|b| {
            let b = plot::Report(b);
            Ok(plot::Bin {
                from: b.num("/from_ms")?,
                to: b.num("/to_ms")?,
                count: b.num("/count")?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let edges: Vec<String> = bins
        .iter()
        .map(|b| b.from.to_string())
        .chain(bins.last().map(|b| b.to.to_string()))
        .collect();
    let outside = r.num("/results/lecture_below")? + r.num("/results/lecture_above")?;
    let mut lecture = format!("the lecture's plt.hist(times, [{}])", edges.join(", "));
    if outside > 0.0 {
        lecture.push_str(&format!(": {outside} outside the bins, left out"));
    }
    let mut us: Vec<f64> = r
        .nums("/results/overshoot_ns")?
        .iter()
        .map(|ns| ns / 1e3)
        .collect();
    us.sort_by(f64::total_cmp);
    if us.is_empty() {
        anyhow::bail!("the run stopped before its first sleep ended: nothing to draw");
    }
    let p99 = plot::percentile(&us, 99.0);
    let shown: Vec<f64> = us.iter().copied().filter(|&v| v <= p99).collect();
    let beyond = us.len() - shown.len();
    let max = us[us.len() - 1];
    let min = us[0];
    let mut histogram_title = "the overshoot at µs resolution".to_string();
    if beyond > 0 {
        histogram_title = format!(
            "overshoot in µs, to p99 ({beyond} beyond, max {})",
            fmt_ns(max * 1e3)
        );
    }
    Ok(Figure {
        title: format!(
            "sleep_jitter: {} × sleep({}), {mode}: every sleep ends late",
            sleeps,
            fmt_ns(interval)
        ),
        run: r.run_lines(),
        panels: vec![
            plot::Panel {
                title: lecture,
                x: "sleep, in whole ms (millis() after − before)".into(),
                y: "sleeps (count)".into(),
                chart: plot::Chart::Histogram(bins),
            },
            plot::Panel {
                title: histogram_title,
                x: "overshoot past the deadline (µs)".into(),
                y: "sleeps (count)".into(),
                chart: plot::Chart::Histogram(plot::bins(&shown, 40)),
            },
            plot::Panel {
                title: "the overshoot's CDF, percentiles marked".into(),
                x: "overshoot past the deadline (µs)".into(),
                y: "sleeps at or below (%)".into(),
                chart: plot::Chart::Cdf {
                    series: vec![plot::Dist {
                        name: "overshoot".into(),
                        values: us,
                    }],
                    marks: vec![50.0, 90.0, 99.0, 99.9],
                    log: min > 0.0 && max / min > 20.0,
                },
            },
        ],
        columns: 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(mode: Mode) -> Params {
        Params {
            count: 4,
            interval_ns: 5_000_000,
            mode,
            fifo: None,
            mlock: false,
            dma_latency_us: None,
            timerslack_ns: None,
            hist_max_ns: 100_000,
            log2: false,
        }
    }

    fn in_force(policy: &str) -> InForce {
        InForce {
            policy: policy.into(),
            priority: 0,
            nice: 0,
            timer_slack_ns: Some(50_000),
            cpu: Some(0),
            locked_kib: None,
            idle_latency_us: None,
        }
    }

    /// A run whose sleeps overshot by `overshoot_ns`, all begun and ended as 5 ms sleeps would.
    fn results(mode: Mode, overshoot_ns: &[u64], policy: &str) -> Results {
        let p = params(mode);
        let mut s = Samples::new(p.count, true).unwrap();
        let mut start = 1_000_000_000;
        for &o in overshoot_ns {
            let deadline = start + p.interval_ns;
            s.record(start, deadline, deadline + o);
            start = deadline + o;
        }
        summarise(&p, s, in_force(policy), Vec::new(), 20_000_000).unwrap()
    }

    fn check(r: &Results, p: &Params) -> (Verdict, String, Vec<String>) {
        crate::testing::judge(r, p)
    }

    #[test]
    fn every_sleep_late_holds_and_one_on_time_does_not() {
        let p = params(Mode::Relative);
        let r = results(
            Mode::Relative,
            &[60_000, 70_000, 80_000, 1_200_000],
            "SCHED_OTHER",
        );
        let (v, lesson, analysis) = check(&r, &p);
        assert_eq!(v.held, Some(true), "{}", v.line());
        assert!(
            v.because
                .starts_with("all 4 sleeps overshot their deadline: min 60."),
            "{}",
            v.because
        );
        assert!(v.because.contains("max 1.20 ms"), "{}", v.because);
        assert!(
            lesson.contains("the timer slack (50.0 µs here)"),
            "{lesson}"
        );
        assert!(lesson.contains("1.20 ms at worst"), "{lesson}");
        assert!(
            analysis[0].contains("4 sleeps at µs resolution"),
            "{analysis:?}"
        );
        assert!(
            analysis.iter().any(|l| l.contains("(0 migrations)")),
            "{analysis:?}"
        );

        let r = results(Mode::Relative, &[60_000, 0, 80_000, 90_000], "SCHED_OTHER");
        let (v, _, _) = check(&r, &p);
        assert_eq!(v.held, Some(false), "{}", v.line());
        assert!(
            v.because.starts_with("1 of 4 sleeps ended 0 ns late"),
            "{}",
            v.because
        );
    }

    #[test]
    fn busy_waiting_is_said_to_be_no_sleep_and_realtime_has_no_slack() {
        let p = params(Mode::Busy);
        let r = results(Mode::Busy, &[0, 0, 40, 50], "SCHED_OTHER");
        let (v, lesson, _) = check(&r, &p);
        assert_eq!(v.held, Some(false));
        assert!(
            v.because.contains("--mode busy does not sleep"),
            "{}",
            v.because
        );
        assert!(
            lesson.starts_with("spinning instead of sleeping"),
            "{lesson}"
        );

        let p = params(Mode::Absolute);
        let r = results(Mode::Absolute, &[40_000, 45_000], "SCHED_FIFO");
        let (v, lesson, _) = check(&r, &p);
        assert_eq!(v.held, Some(true));
        assert!(lesson.contains("no timer slack applies"), "{lesson}");
    }

    #[test]
    fn a_run_stopped_before_any_sleep_cannot_be_checked() {
        let p = params(Mode::Relative);
        let r = results(Mode::Relative, &[], "SCHED_OTHER");
        let (v, _, analysis) = check(&r, &p);
        assert_eq!(v.held, None);
        assert!(analysis.is_empty());
        assert_eq!(r.progress(&p).unwrap(), "0 of 4 sleeps");
    }

    #[test]
    fn the_lecture_bins_are_plt_hist_s_six_with_the_last_closed() {
        let p = params(Mode::Relative);
        let (bins, below, above) = lecture_bins(&p, &[3, 4, 5, 5, 6, 9, 10, 11]);
        let labels: Vec<String> = bins.iter().map(LectureBin::label).collect();
        assert_eq!(
            labels,
            ["[4, 5)", "[5, 6)", "[6, 7)", "[7, 8)", "[8, 9)", "[9, 10]"]
        );
        assert_eq!(
            bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            [1, 2, 1, 0, 0, 2],
            "9 and 10 ms both fall in the closed last bin"
        );
        assert_eq!((below, above), (1, 1));
    }

    #[test]
    fn millis_rounds_each_reading_to_the_nearest_millisecond() {
        assert_eq!(millis(4_499_999), 4);
        assert_eq!(millis(4_500_000), 5);
        // A 5.2 ms sleep that starts at 0.4 ms reads 6 - 0 = 6 (the floor would give 5 - 0).
        assert_eq!(millis(5_600_000) - millis(400_000), 6);
    }
}
