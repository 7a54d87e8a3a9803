//! Summaries: min/median/max over trials, and latency percentiles from an HDR histogram.

use hdrhistogram::Histogram;
use serde::Serialize;

/// The spread of one figure over several trials.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none (or a NaN).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() || v.iter().any(|x| x.is_nan()) {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Spread {
            min: v[0],
            median: median_sorted(&v),
            max: v[v.len() - 1],
        })
    }
}

/// The median of sorted values: the middle one, or the mean of the two middle ones.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of `values` (NaN when empty).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    Spread::of(values).map_or(f64::NAN, |s| s.median)
}

/// A histogram for latencies in nanoseconds, 1 ns to one hour, three significant figures:
/// the same resolution cyclictest's µs histogram has at its low end, and far beyond it.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("constant bounds are valid")
}

/// Latency percentiles in nanoseconds, as cyclictest's histogram would give them if it printed
/// percentiles (it does not).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min_ns: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub mean_ns: f64,
}

impl LatencySummary {
    /// The summary of nanosecond `samples`: the percentiles read off an HDR histogram (three
    /// significant figures), the count, min, max and mean exact from the samples themselves
    /// (the histogram would round min and max to a bucket edge). All zero when there are none.
    pub fn of(samples: &[u64]) -> LatencySummary {
        LatencySummary::recorded(latency_histogram(), samples)
    }

    /// As [`LatencySummary::of`], recording into `h`, a histogram made beforehand (sleep_jitter
    /// makes it before `mlockall`, so no allocation comes after).
    pub fn recorded(mut h: Histogram<u64>, samples: &[u64]) -> LatencySummary {
        let (Some(&min), Some(&max)) = (samples.iter().min(), samples.iter().max()) else {
            return LatencySummary {
                count: 0,
                min_ns: 0,
                p50_ns: 0,
                p90_ns: 0,
                p99_ns: 0,
                p999_ns: 0,
                max_ns: 0,
                mean_ns: 0.0,
            };
        };
        for &v in samples {
            h.saturating_record(v.max(1));
        }
        let sum: u128 = samples.iter().map(|&v| u128::from(v)).sum();
        // A bucket's edge may lie beyond the extremes; a percentile never does.
        let at = |q: f64| h.value_at_quantile(q).clamp(min, max);
        LatencySummary {
            count: samples.len() as u64,
            min_ns: min,
            p50_ns: at(0.50),
            p90_ns: at(0.90),
            p99_ns: at(0.99),
            p999_ns: at(0.999),
            max_ns: max,
            mean_ns: sum as f64 / samples.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_and_even_counts() {
        let s = Spread::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(Spread::of([]).is_none());
        assert!(median([]).is_nan());
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let samples: Vec<u64> = (1..=1000u64).map(|v| v * 1000).collect();
        let s = LatencySummary::of(&samples);
        assert_eq!(s.count, 1000);
        assert_eq!(s.min_ns, 1000);
        // Three significant figures: within 0.1% of the exact value.
        assert!((s.p50_ns as f64 - 500_000.0).abs() <= 500.0, "{s:?}");
        assert!((s.p99_ns as f64 - 990_000.0).abs() <= 990.0, "{s:?}");
        assert_eq!(s.max_ns, 1_000_000);
        assert_eq!(s.mean_ns, 500_500.0);
    }

    #[test]
    fn min_and_max_are_the_samples_own() {
        // The figure: a histogram of three significant figures reports 4,415,487 ns
        // for a largest sample of 4,412,576.
        let mut h = latency_histogram();
        h.record(4_412_576).unwrap();
        assert_ne!(h.max(), 4_412_576, "the histogram rounds it");
        let s = LatencySummary::of(&[12_345, 4_412_576, 1_001, 70_003]);
        assert_eq!((s.count, s.min_ns, s.max_ns), (4, 1_001, 4_412_576));
        assert_eq!(
            s.mean_ns,
            (12_345 + 4_412_576 + 1_001 + 70_003) as f64 / 4.0
        );
        assert!(s.p999_ns <= s.max_ns && s.p50_ns >= s.min_ns, "{s:?}");
        let none = LatencySummary::of(&[]);
        assert_eq!((none.count, none.min_ns, none.max_ns), (0, 0, 0));
        let zero = LatencySummary::of(&[0]);
        assert_eq!((zero.min_ns, zero.p50_ns, zero.max_ns), (0, 0, 0));
    }
}
