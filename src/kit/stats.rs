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
    /// Reads the percentiles off a histogram of nanosecond samples.
    pub fn from_histogram(h: &Histogram<u64>) -> LatencySummary {
        LatencySummary {
            count: h.len(),
            min_ns: h.min(),
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            mean_ns: h.mean(),
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
        let mut h = latency_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::from_histogram(&h);
        assert_eq!(s.count, 1000);
        assert_eq!(s.min_ns, 1000);
        // Three significant figures: within 0.1% of the exact value.
        assert!((s.p50_ns as f64 - 500_000.0).abs() <= 500.0, "{s:?}");
        assert!((s.p99_ns as f64 - 990_000.0).abs() <= 990.0, "{s:?}");
        assert!((s.max_ns as f64 - 1_000_000.0).abs() <= 1000.0, "{s:?}");
    }
}
