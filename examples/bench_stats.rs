//! bench_stats: the statistics of scripts/bench.sh and scripts/bench_sched.sh. For one row of
//! the bench it reads the runs of both sides, and prints the Rust/C ratio of the medians with
//! its 95% confidence interval, the verdict against the target, whether the row wants more runs,
//! and, when where the threads ran decides the time, the same figures for each placement.
//!
//! Not a demo: a developer tool the bench scripts build (`cargo build --release --example
//! bench_stats`) and call after every batch of runs.
//!
//! The interval. The runs are interleaved (Rust, C, Rust, C, ...), so run i of each side saw the
//! same machine at about the same moment: they are a pair. The bootstrap resamples the pairs
//! (n pairs drawn with replacement, 10,000 times), computes the ratio of the medians of each
//! resample, and takes the 2.5th and 97.5th percentiles of those ratios (the percentile
//! bootstrap). Within one placement the pairs are broken (run i of Rust may have had its threads
//! on two CPUs and run i of C on one), so each side is resampled on its own there. The random
//! numbers come from a fixed seed: the same runs give the same interval every time.
//!
//! The verdict (DESIGN.md §4): a row *meets* the target when the interval's upper end is at
//! most the target (1.10), *misses* it when the lower end is above it, and is *not settled*
//! when the interval straddles it, or when there are fewer than [`MIN_RUNS`] runs a side.
//!
//! The floor. Beside each row, the same bootstrap of the C twin against itself (its runs drawn
//! twice, each draw on its own) says how narrow an interval this many runs of this program can
//! give at all: a row whose C side alone spans more than ±10% cannot be settled by any Rust
//! program with these runs, and `pairs_to_settle` estimates how many would do (the interval
//! narrowing as 1/√n).
//!
//! Usage:
//!   bench_stats row --dir DIR --runs N --rust-key /POINTER --c-key NAME [--placement]
//!       reads DIR/rust.1..N (the demo's --format json; the value at the JSON pointer) and
//!       DIR/c.1..N (the C twin's `NAME = value` line); with --placement, where each run's
//!       threads ran (Rust: results.trials[0].threads[].cpu_start/cpu_end; C: the
//!       `cpu_start = ...` and `cpu_end = ...` lines of scripts/c/lecture.h).
//!   bench_stats values --rust 1,2,3 --c 4,5,6
//!       the same for values given on the command line (paired in order).
//! Both print one JSON object (see [`Row`]); `--budget N` says when to stop asking for runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;

/// The target of every ratio (DESIGN.md §4).
const TARGET: f64 = 1.10;
/// Resamples per interval.
const RESAMPLES: usize = 10_000;
/// The fixed seed: the same runs give the same interval.
const SEED: u64 = 0x0051_AB16;
/// Fewer runs than this on a side give no verdict: the interval of 3 runs says little.
const MIN_RUNS: usize = 5;
/// A placement's median this far from another's (either side) means placement decides the time.
const PLACEMENT_MATTERS: f64 = 0.10;

/// The median: the middle value, or the mean of the two middle ones (as Python's
/// statistics.median, which the bench's tables used before).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The `q` quantile of sorted values, as the inverse of their distribution function: the
/// smallest value with at least a share `q` of the values at or below it.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let k = (q * sorted.len() as f64).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}

/// A ratio of medians and its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
struct Interval {
    ratio: f64,
    lo: f64,
    hi: f64,
}

/// How the resamples are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pairing {
    /// Run i of Rust goes with run i of C: whole pairs are drawn (both sides the same length).
    Paired,
    /// Each side drawn on its own.
    Unpaired,
}

/// The percentile-bootstrap 95% interval of median(rust) / median(c).
fn bootstrap(rust: &[f64], c: &[f64], pairing: Pairing, resamples: usize, seed: u64) -> Interval {
    assert!(!rust.is_empty() && !c.is_empty(), "no runs to resample");
    if pairing == Pairing::Paired {
        assert_eq!(rust.len(), c.len(), "paired runs come in pairs");
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut r, mut cc) = (vec![0.0; rust.len()], vec![0.0; c.len()]);
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        match pairing {
            Pairing::Paired => {
                for k in 0..rust.len() {
                    let i = rng.usize(..rust.len());
                    (r[k], cc[k]) = (rust[i], c[i]);
                }
            }
            Pairing::Unpaired => {
                r.iter_mut()
                    .for_each(|x| *x = rust[rng.usize(..rust.len())]);
                cc.iter_mut().for_each(|x| *x = c[rng.usize(..c.len())]);
            }
        }
        ratios.push(median(&r) / median(&cc));
    }
    ratios.sort_by(f64::total_cmp);
    Interval {
        ratio: median(rust) / median(c),
        lo: quantile(&ratios, 0.025),
        hi: quantile(&ratios, 0.975),
    }
}

/// A row's verdict against the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    /// The interval's upper end is at most the target.
    Meets,
    /// The interval's lower end is above the target.
    Misses,
    /// The interval straddles the target, or too few runs to tell.
    NotSettled,
}

impl Verdict {
    fn of(ci: &Interval, runs: usize, target: f64) -> Verdict {
        if runs < MIN_RUNS {
            Verdict::NotSettled
        } else if ci.hi <= target {
            Verdict::Meets
        } else if ci.lo > target {
            Verdict::Misses
        } else {
            Verdict::NotSettled
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Meets => "meets",
            Verdict::Misses => "misses",
            Verdict::NotSettled => "not settled",
        })
    }
}

/// One side's runs, summed up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
struct Side {
    runs: usize,
    median: f64,
    min: f64,
    max: f64,
}

impl Side {
    fn of(values: &[f64]) -> Side {
        let fold = |f: fn(f64, f64) -> f64, start| values.iter().copied().fold(start, f);
        Side {
            runs: values.len(),
            median: median(values),
            min: fold(f64::min, f64::INFINITY),
            max: fold(f64::max, f64::NEG_INFINITY),
        }
    }
}

/// The runs of one placement within a row.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Placed {
    placement: String,
    rust: Option<Side>,
    c: Option<Side>,
    /// Both sides' runs in this placement, resampled each on its own (at least 3 a side).
    interval: Option<Interval>,
    verdict: Option<Verdict>,
}

/// The whole answer for one row.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Row {
    runs: usize,
    rust: Side,
    c: Side,
    #[serde(flatten)]
    interval: Interval,
    verdict: Verdict,
    /// `meets`, `misses` or `not settled`, as the table prints it.
    says: String,
    /// The row wants more runs: not settled, and the budget is not spent.
    more: bool,
    /// The placements seen, most runs first (empty when unknown).
    placements: Vec<Placed>,
    /// True when placement decides the time: the table shows a line per placement.
    split: bool,
    /// The C twin against itself with as many runs: the interval of median(C) / median(C)
    /// when both are drawn from the same runs, each on its own. Its width is what the
    /// program's own run-to-run spread allows at this many runs, whoever wrote it: when it
    /// reaches past the target, no ratio with this program could be settled with these runs.
    floor: Interval,
    /// For a row not settled: about how many pairs would settle it, if the ratio stayed where
    /// it is and the interval narrowed as 1/√n (none when the ratio sits on the target).
    pairs_to_settle: Option<usize>,
}

/// The row's figures: the paired interval over every run, and the placements' own.
fn analyse(
    rust: &[f64],
    c: &[f64],
    places: Option<(&[String], &[String])>,
    budget: usize,
    target: f64,
) -> Row {
    let interval = bootstrap(rust, c, Pairing::Paired, RESAMPLES, SEED);
    let runs = rust.len();
    let verdict = Verdict::of(&interval, runs, target);
    let (placements, split) = places.map_or((Vec::new(), false), |(rp, cp)| {
        by_placement(rust, rp, c, cp, target)
    });
    let floor = bootstrap(c, c, Pairing::Unpaired, RESAMPLES, SEED);
    let pairs_to_settle =
        (verdict == Verdict::NotSettled).then(|| pairs_to_settle(&interval, runs, target));
    Row {
        runs,
        rust: Side::of(rust),
        c: Side::of(c),
        interval,
        verdict,
        says: verdict.to_string(),
        more: verdict == Verdict::NotSettled && runs < budget,
        placements,
        split,
        floor,
        pairs_to_settle: pairs_to_settle.flatten(),
    }
}

/// About how many pairs would settle a row: the interval's half on the target's side, as wide
/// as it is with `runs` pairs, narrows as 1/√n until it ends at the target. An estimate for
/// the reader (the bench stops at its budget), none when the ratio sits on the target.
fn pairs_to_settle(ci: &Interval, runs: usize, target: f64) -> Option<usize> {
    let (half, room) = if ci.ratio <= target {
        (ci.hi - ci.ratio, target - ci.ratio)
    } else {
        (ci.ratio - ci.lo, ci.ratio - target)
    };
    (room > 1e-9 && half.is_finite())
        // Rounded to a millionth first, so that 4.0000001 pairs' worth of decimals is 4.
        .then(|| {
            let n = runs.max(MIN_RUNS) as f64 * (half / room).powi(2);
            ((n * 1e6).round() / 1e6).ceil() as usize
        })
        .map(|n| n.max(runs.max(MIN_RUNS)))
}

/// The runs grouped by placement, and whether placement decides the time: on one side at
/// least, two placements with 3 runs or more each whose medians differ by more than
/// [`PLACEMENT_MATTERS`].
fn by_placement(
    rust: &[f64],
    rp: &[String],
    c: &[f64],
    cp: &[String],
    target: f64,
) -> (Vec<Placed>, bool) {
    let mut names: Vec<&String> = rp.iter().chain(cp).collect();
    names.sort();
    names.dedup();
    let pick = |values: &[f64], places: &[String], name: &str| -> Vec<f64> {
        (values.iter().zip(places))
            .filter(|(_, p)| *p == name)
            .map(|(v, _)| *v)
            .collect()
    };
    let mut placed: Vec<(Placed, usize)> = names
        .into_iter()
        .map(|name| {
            let (r, cc) = (pick(rust, rp, name), pick(c, cp, name));
            let interval = (r.len() >= 3 && cc.len() >= 3)
                .then(|| bootstrap(&r, &cc, Pairing::Unpaired, RESAMPLES, SEED));
            let verdict = interval.map(|i| Verdict::of(&i, r.len().min(cc.len()), target));
            let side = |v: &[f64]| (!v.is_empty()).then(|| Side::of(v));
            let total = r.len() + cc.len();
            let p = Placed {
                placement: name.clone(),
                rust: side(&r),
                c: side(&cc),
                interval,
                verdict,
            };
            (p, total)
        })
        .collect();
    placed.sort_by_key(|p| std::cmp::Reverse(p.1));
    let placed: Vec<Placed> = placed.into_iter().map(|(p, _)| p).collect();
    let differs = |side: fn(&Placed) -> Option<Side>| {
        let medians: Vec<f64> = (placed.iter())
            .filter_map(side)
            .filter(|s| s.runs >= 3)
            .map(|s| s.median)
            .collect();
        let (lo, hi) = medians
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &m| {
                (lo.min(m), hi.max(m))
            });
        medians.len() >= 2 && hi > lo * (1.0 + PLACEMENT_MATTERS)
    };
    let split = differs(|p| p.rust) || differs(|p| p.c);
    (placed, split)
}

/// Where a run's threads ran, in a few words: `1 CPU` (all of them, start to end), `2 CPUs`
/// (each stayed where it started), `2 CPUs → 1` (they started apart and ended on one CPU: a
/// thread moved to another's, and from then on they took turns), `2 CPUs, moved` (a thread
/// moved, still apart at the end), `unknown`.
fn placement(threads: &[(Option<u64>, Option<u64>)]) -> String {
    let (mut starts, mut ends): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    for &(start, end) in threads {
        let (Some(s), Some(e)) = (start, end) else {
            return "unknown".into();
        };
        starts.push(s);
        ends.push(e);
    }
    let moved = starts != ends;
    let count = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let (apart, at_end) = (count(&starts), count(&ends));
    match (count(&[starts, ends].concat()), moved) {
        (0, _) => "unknown".into(),
        (1, _) => "1 CPU".into(),
        (n, false) => format!("{n} CPUs"),
        _ if at_end < apart => format!("{apart} CPUs → {at_end}"),
        (n, true) => format!("{n} CPUs, moved"),
    }
}

/// The `q` quantile of a run's samples as spawn_cost.c takes it: the ceil(q·n)-th smallest.
fn sample_quantile(samples: &[Value], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = samples.iter().filter_map(Value::as_f64).collect();
    if v.is_empty() || v.len() != samples.len() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(quantile(&v, q))
}

/// A Rust run: the value at `pointer` (with `q`, the `q` quantile of the samples listed
/// there) and, with `placed`, where its threads ran.
fn rust_run(
    path: &Path,
    pointer: &str,
    q: Option<f64>,
    placed: bool,
) -> Result<(f64, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let at = doc.pointer(pointer);
    let value = match q {
        None => at.and_then(Value::as_f64),
        Some(q) => at
            .and_then(Value::as_array)
            .and_then(|s| sample_quantile(s, q)),
    }
    .ok_or_else(|| format!("{}: no number at {pointer}", path.display()))?;
    let place = if placed {
        let threads = (doc
            .pointer("/results/trials/0/threads")
            .and_then(Value::as_array))
        .ok_or_else(|| format!("{}: no results.trials[0].threads", path.display()))?;
        let cpu = |t: &Value, k: &str| t.get(k).and_then(Value::as_u64);
        let cpus: Vec<_> = (threads.iter())
            .map(|t| (cpu(t, "cpu_start"), cpu(t, "cpu_end")))
            .collect();
        placement(&cpus)
    } else {
        String::new()
    };
    Ok((value, place))
}

/// The value of a C twin's `key = value` line.
fn c_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix('='))
        .map(str::trim)
}

/// A C run: its `key = value` and, with `placed`, where its threads ran (lecture.h's
/// `cpu_start = 0 1` and `cpu_end = 0 1` lines, one CPU per thread).
fn c_run(path: &Path, key: &str, placed: bool) -> Result<(f64, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value = (c_value(&text, key).and_then(|v| v.parse::<f64>().ok()))
        .ok_or_else(|| format!("{}: no `{key} = N` line", path.display()))?;
    let place = if placed {
        let cpus = |k: &str| -> Vec<Option<u64>> {
            c_value(&text, k)
                .map(|v| v.split_whitespace().map(|c| c.parse().ok()).collect())
                .unwrap_or_default()
        };
        let (starts, ends) = (cpus("cpu_start"), cpus("cpu_end"));
        placement(&starts.into_iter().zip(ends).collect::<Vec<_>>())
    } else {
        String::new()
    };
    Ok((value, place))
}

#[derive(Parser, Debug)]
#[command(
    name = "bench_stats",
    about = "The bench's ratio of medians, its 95% bootstrap interval and verdict"
)]
struct Cli {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// One row from its run files: DIR/rust.1..N and DIR/c.1..N
    Row {
        #[arg(long)]
        dir: PathBuf,
        /// Runs a side to read
        #[arg(long)]
        runs: usize,
        /// JSON pointer of the Rust figure, e.g. /results/trials/0/elapsed_ns
        #[arg(long)]
        rust_key: String,
        /// With this, --rust-key names a list of samples and the row compares their QUANTILE
        /// (0-1, as spawn_cost.c's p10_ns and p90_ns)
        #[arg(long, value_name = "QUANTILE")]
        rust_quantile: Option<f64>,
        /// The C twin's `KEY = value` line
        #[arg(long)]
        c_key: String,
        /// Read where each run's threads ran, and split the row by placement when it matters
        #[arg(long)]
        placement: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Values given on the command line, paired in order
    Values {
        #[arg(long, value_delimiter = ',', required = true)]
        rust: Vec<f64>,
        #[arg(long, value_delimiter = ',', required = true)]
        c: Vec<f64>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Debug)]
struct Common {
    /// The most runs a side the row may take (`more` is false from then on)
    #[arg(long, default_value_t = 0)]
    budget: usize,
    /// The ratio the row should stay under
    #[arg(long, default_value_t = TARGET)]
    target: f64,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(row) => {
            println!("{}", serde_json::to_string(&row).expect("a row serialises"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_stats: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A usage error: clap's message and exit code 2.
fn usage(message: &str) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

fn run(cli: Cli) -> Result<Row, String> {
    match cli.what {
        What::Row {
            dir,
            runs,
            rust_key,
            rust_quantile,
            c_key,
            placement,
            common,
        } => {
            if runs == 0 {
                usage("--runs must be at least 1");
            }
            if rust_quantile.is_some_and(|q| !(0.0..=1.0).contains(&q)) {
                usage("--rust-quantile is a share, 0 to 1");
            }
            let read = |side: &str, i: usize| {
                let path = dir.join(format!("{side}.{i}"));
                if side == "rust" {
                    rust_run(&path, &rust_key, rust_quantile, placement)
                } else {
                    c_run(&path, &c_key, placement)
                }
            };
            let (mut r, mut rp, mut c, mut cp) = (vec![], vec![], vec![], vec![]);
            for i in 1..=runs {
                let (v, p) = read("rust", i)?;
                r.push(v);
                rp.push(p);
                let (v, p) = read("c", i)?;
                c.push(v);
                cp.push(p);
            }
            let places = placement.then_some((&rp[..], &cp[..]));
            Ok(analyse(&r, &c, places, common.budget, common.target))
        }
        What::Values { rust, c, common } => {
            if rust.len() != c.len() {
                usage(&format!(
                    "--rust has {} values and --c {}: they are paired",
                    rust.len(),
                    c.len()
                ));
            }
            Ok(analyse(&rust, &c, None, common.budget, common.target))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact bootstrap quantiles, computed independently: every one of the 5^5 = 3125 equally
    /// likely paired resamples enumerated in Python, the ratio of medians of each, and the
    /// inverse distribution function at 2.5% and 97.5%:
    ///
    /// ```python
    /// import itertools, math, statistics as st
    /// q = lambda rs, p: rs[max(1, math.ceil(p * len(rs))) - 1]
    /// r = [102, 113, 112, 99, 106]; c = [109, 104, 102, 105, 104]
    /// rs = sorted(st.median([r[i] for i in ix]) / st.median([c[i] for i in ix])
    ///             for ix in itertools.product(range(5), repeat=5))
    /// q(rs, 0.025), q(rs, 0.975)   # (0.93578 = 102/109, 1.09804 = 112/102)
    /// ```
    ///
    /// The distribution function jumps well across both levels there (from 0 to 5.8% at
    /// 102/109, from 94.2% to 100% at 112/102), so 10,000 random resamples land on the same
    /// values whatever the seed.
    #[test]
    fn the_paired_interval_is_the_exact_bootstraps() {
        let r = [102.0, 113.0, 112.0, 99.0, 106.0];
        let c = [109.0, 104.0, 102.0, 105.0, 104.0];
        for seed in [SEED, 1, 2] {
            let ci = bootstrap(&r, &c, Pairing::Paired, RESAMPLES, seed);
            assert_eq!(ci.ratio, 106.0 / 104.0);
            assert_eq!(
                (ci.lo, ci.hi),
                (102.0 / 109.0, 112.0 / 102.0),
                "seed {seed}"
            );
        }
    }

    /// The unpaired interval, against the exact one (all 4^4 × 4^4 resamples enumerated):
    ///
    /// ```python
    /// r = [105, 110, 113, 110]; c = [103, 102, 95, 102]
    /// rs = sorted(st.median([r[i] for i in a]) / st.median([c[j] for j in b])
    ///             for a in itertools.product(range(4), repeat=4)
    ///             for b in itertools.product(range(4), repeat=4))
    /// q(rs, 0.025), q(rs, 0.975)   # (1.02941 = 105/102, 1.15789 = 110/95)
    /// ```
    ///
    /// (the distribution function goes from 1.2% to 3.7% at 105/102, from 96.3% to 98.8% at
    /// 110/95: about 8 standard errors of 10,000 resamples from either level).
    #[test]
    fn the_unpaired_interval_is_the_exact_bootstraps() {
        let (r, c) = ([105.0, 110.0, 113.0, 110.0], [103.0, 102.0, 95.0, 102.0]);
        for seed in [SEED, 1, 2] {
            let ci = bootstrap(&r, &c, Pairing::Unpaired, RESAMPLES, seed);
            assert_eq!(ci.ratio, 110.0 / 102.0);
            assert_eq!((ci.lo, ci.hi), (105.0 / 102.0, 110.0 / 95.0), "seed {seed}");
        }
    }

    #[test]
    fn the_same_runs_give_the_same_interval() {
        let r: Vec<f64> = (0..9).map(|i| 10.0 + (i * 7 % 5) as f64).collect();
        let c: Vec<f64> = (0..9).map(|i| 10.0 + (i * 3 % 4) as f64).collect();
        let a = bootstrap(&r, &c, Pairing::Paired, RESAMPLES, SEED);
        assert_eq!(a, bootstrap(&r, &c, Pairing::Paired, RESAMPLES, SEED));
        assert!(a.lo <= a.ratio && a.ratio <= a.hi, "{a:?}");
    }

    #[test]
    fn identical_sides_give_a_point_interval_that_meets() {
        let r = [5.0, 6.0, 7.0, 8.0, 9.0];
        let row = analyse(&r, &r, None, 21, TARGET);
        assert_eq!((row.interval.lo, row.interval.hi), (1.0, 1.0));
        assert_eq!(row.verdict, Verdict::Meets);
        assert_eq!(row.says, "meets");
        assert!(!row.more);
    }

    #[test]
    fn the_verdict_reads_the_interval_against_the_target() {
        let ci = |lo, hi| Interval { ratio: 1.1, lo, hi };
        assert_eq!(Verdict::of(&ci(0.95, 1.10), 7, 1.10), Verdict::Meets);
        assert_eq!(Verdict::of(&ci(1.11, 1.40), 7, 1.10), Verdict::Misses);
        // Straddling the target: not settled, whatever the point estimate says.
        assert_eq!(Verdict::of(&ci(1.05, 1.12), 7, 1.10), Verdict::NotSettled);
        assert_eq!(Verdict::of(&ci(1.10, 1.30), 7, 1.10), Verdict::NotSettled);
        // Too few runs: no verdict, however narrow the interval.
        assert_eq!(Verdict::of(&ci(1.0, 1.0), 3, 1.10), Verdict::NotSettled);
        assert_eq!(Verdict::NotSettled.to_string(), "not settled");
    }

    #[test]
    fn a_straddling_row_asks_for_more_runs_until_the_budget() {
        // Rust 1.10 × C with the noise of a busy machine: the interval straddles 1.10.
        let c = [10.0, 12.0, 9.0, 11.0, 10.5, 13.0, 9.5];
        let r: Vec<f64> = c
            .iter()
            .zip([1.3, 0.9, 1.2, 1.0, 1.1, 0.95, 1.25])
            .map(|(c, k)| c * k)
            .collect();
        let row = analyse(&r, &c, None, 21, TARGET);
        assert!(
            row.interval.lo <= TARGET && row.interval.hi > TARGET,
            "{row:?}"
        );
        assert_eq!(row.verdict, Verdict::NotSettled);
        assert!(row.more);
        assert!(
            !analyse(&r, &c, None, 7, TARGET).more,
            "the budget is spent"
        );
    }

    #[test]
    fn the_floor_is_c_against_itself() {
        // A tight C side has a tight floor around 1; a wide one reaches past the target.
        let tight = [10.0, 10.1, 9.9, 10.0, 10.05, 9.95, 10.0];
        let wide = [7.0, 15.0, 8.0, 16.0, 7.5, 14.0, 12.0];
        let row = analyse(&tight, &tight, None, 21, TARGET);
        assert_eq!(row.floor.ratio, 1.0);
        assert!(
            row.floor.lo >= 0.98 && row.floor.hi <= 1.02,
            "{:?}",
            row.floor
        );
        let row = analyse(&wide, &wide, None, 21, TARGET);
        assert!(
            row.floor.lo < 0.9 && row.floor.hi > TARGET,
            "{:?}",
            row.floor
        );
        // Identical sides meet the target whatever the floor: the pairs agree exactly.
        assert_eq!(row.verdict, Verdict::Meets);
        assert_eq!(row.pairs_to_settle, None);
    }

    #[test]
    fn pairs_to_settle_scales_the_interval_as_one_over_root_n() {
        let ci = |ratio, lo, hi| Interval { ratio, lo, hi };
        // 1.05 [0.89–1.15] at 21 pairs: the upper half (0.10) must shrink to 0.05: 4 × 21.
        assert_eq!(pairs_to_settle(&ci(1.05, 0.89, 1.15), 21, 1.10), Some(84));
        // Above the target, the lower half must clear it: 1.20 [1.05–1.30], 0.15 → 0.10.
        assert_eq!(pairs_to_settle(&ci(1.20, 1.05, 1.30), 8, 1.10), Some(18));
        // On the target: no number of pairs decides it.
        assert_eq!(pairs_to_settle(&ci(1.10, 1.0, 1.2), 21, 1.10), None);
        // Never fewer than the runs already made.
        assert_eq!(pairs_to_settle(&ci(1.0, 0.99, 1.11), 21, 1.10), Some(26));
        let row = analyse(&[1.0, 1.3, 0.9, 1.25, 1.05], &[1.0; 5], None, 21, TARGET);
        assert_eq!(row.verdict, Verdict::NotSettled);
        assert!(row.pairs_to_settle.is_some_and(|n| n > 5), "{row:?}");
    }

    #[test]
    fn a_clear_miss_stops_asking() {
        let c = [10.0, 10.2, 9.9, 10.1, 10.0];
        let r: Vec<f64> = c.iter().map(|x| x * 1.4).collect();
        let row = analyse(&r, &c, None, 21, TARGET);
        assert_eq!(row.verdict, Verdict::Misses);
        assert!((row.interval.ratio - 1.4).abs() < 1e-9);
        assert!(!row.more);
    }

    #[test]
    fn placement_names_the_cpus_and_a_move() {
        // (thread 0's CPUs at start and end, thread 1's): the placement.
        for ((a, b, c, d), want) in [
            ((0, 0, 1, 1), "2 CPUs"),
            ((1, 1, 1, 1), "1 CPU"),
            ((0, 1, 1, 1), "2 CPUs → 1"),
            ((0, 1, 1, 0), "2 CPUs, moved"),
        ] {
            let threads = [(Some(a), Some(b)), (Some(c), Some(d))];
            assert_eq!(placement(&threads), want, "{threads:?}");
        }
        assert_eq!(placement(&[(Some(0), None)]), "unknown");
        assert_eq!(placement(&[]), "unknown");
    }

    #[test]
    fn a_row_splits_when_placement_decides_the_time() {
        // Rust: 2 CPUs ~7.6 ms, 1 CPU ~11 ms (the issue's bimodal atomic); C always 2 CPUs.
        let two = "2 CPUs".to_string();
        let one = "1 CPU".to_string();
        let r = [7.6, 11.0, 7.7, 11.2, 7.5, 10.9, 7.6, 7.7, 7.5];
        let rp = [&two, &one, &two, &one, &two, &one, &two, &two, &two].map(String::clone);
        let c = [7.6, 7.7, 7.5, 7.8, 7.6, 7.7, 7.6, 7.5, 7.7];
        let cp = [&two; 9].map(String::clone);
        let row = analyse(&r, &c, Some((&rp, &cp)), 21, TARGET);
        assert!(row.split, "{row:?}");
        let on_two = &row.placements[0];
        assert_eq!(on_two.placement, "2 CPUs");
        assert_eq!((on_two.rust.unwrap().runs, on_two.c.unwrap().runs), (6, 9));
        assert_eq!(on_two.verdict, Some(Verdict::Meets), "{on_two:?}");
        let on_one = &row.placements[1];
        assert_eq!(on_one.placement, "1 CPU");
        assert_eq!((on_one.rust.map(|s| s.runs), on_one.c), (Some(3), None));
        assert_eq!(on_one.interval, None, "no C run on one CPU to compare with");

        // One placement throughout, or placements that time alike: no split.
        let row = analyse(&c, &c, Some((&cp, &cp)), 21, TARGET);
        assert!(!row.split);
        let even = [7.6, 7.7, 7.5, 7.6, 7.7, 7.6, 7.5, 7.6, 7.7];
        assert!(!analyse(&even, &c, Some((&rp, &cp)), 21, TARGET).split);
    }

    #[test]
    fn the_c_twins_lines_give_value_and_placement() {
        let dir = std::env::temp_dir().join(format!("bench_stats_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join("c.1");
        std::fs::write(
            &c,
            "var = 2000000; time = 7 ms\nelapsed_ns = 7600000\ncpu_start = 0 1\ncpu_end = 0 1\n",
        )
        .unwrap();
        assert_eq!(
            c_run(&c, "elapsed_ns", true).unwrap(),
            (7.6e6, "2 CPUs".into())
        );
        let r = dir.join("rust.1");
        let json = r#"{"results":{"trials":[{"elapsed_ns":8000000,
            "threads":[{"cpu_start":1,"cpu_end":1},{"cpu_start":1,"cpu_end":1}]}]}}"#;
        std::fs::write(&r, json).unwrap();
        assert_eq!(
            rust_run(&r, "/results/trials/0/elapsed_ns", None, true).unwrap(),
            (8e6, "1 CPU".into())
        );
        assert!(
            c_run(&c, "p50_ns", false)
                .unwrap_err()
                .contains("no `p50_ns = N` line")
        );
        assert!(
            rust_run(&r, "/results/x", None, false)
                .unwrap_err()
                .contains("no number at /results/x")
        );
        // A quantile of the samples, as spawn_cost.c takes it: the ceil(q·n)-th smallest.
        let samples: Vec<String> = (1..=20).rev().map(|i| (i * 1000).to_string()).collect();
        let doc = format!(
            r#"{{"results":{{"trials":[{{"samples_ns":[{}]}}]}}}}"#,
            samples.join(",")
        );
        std::fs::write(&r, doc).unwrap();
        let q = |q| {
            rust_run(&r, "/results/trials/0/samples_ns", Some(q), false)
                .unwrap()
                .0
        };
        assert_eq!((q(0.1), q(0.5), q(0.9)), (2000.0, 10000.0, 18000.0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
