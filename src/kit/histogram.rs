//! Histograms drawn in the terminal: a row per bucket, a bar of `#` scaled to the largest
//! count, the count at the end; and buckets of a "nice" width (1, 2 or 5 × 10^k) for a range of
//! nanosecond samples.

use serde::Serialize;

use crate::kit::timing::fmt_ns;

/// One bucket: `from_ns <= x < to_ns` (`to_ns` None: everything from `from_ns` up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub from_ns: u64,
    pub to_ns: Option<u64>,
    pub count: u64,
}

/// Rows `label |#####   count`, the bars scaled so the largest count fills `width` characters
/// (a nonzero count always shows at least one `#`). Labels are right-aligned to the widest.
pub fn draw(rows: &[(String, u64)], width: usize) -> Vec<String> {
    let max = rows.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(label, count)| {
            let mut n = (*count as f64 / max as f64 * width as f64).round() as usize;
            if *count > 0 {
                n = n.max(1);
            }
            format!(
                "{label:>label_width$} |{:<width$} {count}",
                "#".repeat(n.min(width))
            )
        })
        .collect()
}

/// The smallest 1, 2 or 5 × 10^k not below `x` (and at least 1).
pub fn nice_step(x: f64) -> u64 {
    if !x.is_finite() || x <= 1.0 {
        return 1;
    }
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let s = step.saturating_mul(m);
            if s as f64 >= x {
                return s;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// About `rows` buckets of a nice width covering `lo..hi` (rounded out to the width), then one
/// open bucket for everything at or above the last edge. `values` need not be sorted.
pub fn buckets(values: &[u64], lo: u64, hi: u64, rows: usize) -> Vec<Bucket> {
    let rows = rows.max(1) as u64;
    let width = nice_step(hi.saturating_sub(lo) as f64 / rows as f64);
    let start = lo / width * width;
    let n = (hi.saturating_sub(start))
        .div_ceil(width)
        .clamp(1, rows + 1);
    let end = start + n * width;
    let mut out: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            from_ns: start + i * width,
            to_ns: Some(start + (i + 1) * width),
            count: 0,
        })
        .collect();
    let mut above = 0;
    for &v in values {
        if v >= end {
            above += 1;
        } else if v >= start {
            out[((v - start) / width) as usize].count += 1;
        } else {
            out[0].count += 1; // below the first edge: only when lo was above the minimum
        }
    }
    out.push(Bucket {
        from_ns: end,
        to_ns: None,
        count: above,
    });
    out
}

/// The row labels for nanosecond buckets: `50.0 µs – 60.0 µs`, `≥ 300 µs`.
pub fn label(b: &Bucket) -> String {
    match b.to_ns {
        Some(to) => format!("{} – {}", fmt_ns(b.from_ns as f64), fmt_ns(to as f64)),
        None => format!("≥ {}", fmt_ns(b.from_ns as f64)),
    }
}

/// Power-of-two buckets, as bcc's histograms (`runqlat`, `funclatency`) and cyclictest users
/// read them: in `unit_ns` (see [`log2_unit`]), `0 -> 1`, `2 -> 3`, `4 -> 7`, … (the first
/// bucket holds 0 and 1, each later one [2^k, 2^(k+1))), from the smallest sample's bucket to
/// the largest's. No open last bucket: the tail has rows of its own, each twice as wide.
pub fn log2_buckets(values: &[u64], unit_ns: u64) -> Vec<Bucket> {
    let slot = |v: u64| {
        let u = v / unit_ns.max(1);
        if u < 2 { 0 } else { 63 - u.leading_zeros() }
    };
    let (Some(lo), Some(hi)) = (
        values.iter().map(|&v| slot(v)).min(),
        values.iter().map(|&v| slot(v)).max(),
    ) else {
        return Vec::new();
    };
    let mut out: Vec<Bucket> = (lo..=hi)
        .map(|k| Bucket {
            from_ns: if k == 0 { 0 } else { (1u64 << k) * unit_ns },
            to_ns: Some((1u64 << (k + 1)) * unit_ns),
            count: 0,
        })
        .collect();
    for &v in values {
        out[(slot(v) - lo) as usize].count += 1;
    }
    out
}

/// The unit of [`log2_buckets`] for samples up to `max_ns`: ns below 10 µs (sub-microsecond
/// figures would all fall in one bucket), µs above, as bcc's `-u`.
pub fn log2_unit(max_ns: u64) -> u64 {
    if max_ns < 10_000 { 1 } else { 1_000 }
}

/// A log2 bucket's row label, as bcc prints it: `64 -> 127 µs` (both ends included).
pub fn log2_label(b: &Bucket, unit_ns: u64) -> String {
    let unit = if unit_ns == 1 { "ns" } else { "µs" };
    let to = b.to_ns.map_or(u64::MAX, |t| t / unit_ns - 1);
    format!("{} -> {to} {unit}", b.from_ns / unit_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_buckets_double_as_bccs_do() {
        let us = 1_000;
        let v = [0, 1_500, 3_999, 4_000, 70_000, 127_999];
        let b = log2_buckets(&v, us);
        let labels: Vec<String> = b.iter().map(|b| log2_label(b, us)).collect();
        assert_eq!(
            labels,
            [
                "0 -> 1 µs",
                "2 -> 3 µs",
                "4 -> 7 µs",
                "8 -> 15 µs",
                "16 -> 31 µs",
                "32 -> 63 µs",
                "64 -> 127 µs"
            ]
        );
        let counts: Vec<u64> = b.iter().map(|b| b.count).collect();
        assert_eq!(counts, [2, 1, 1, 0, 0, 0, 2]);
        assert_eq!(b[6].from_ns, 64_000);
        assert_eq!(b[6].to_ns, Some(128_000));
        // From the smallest sample's bucket, not from 0.
        let b = log2_buckets(&[5_000, 9_000], us);
        assert_eq!(log2_label(&b[0], us), "4 -> 7 µs");
        assert_eq!(b.len(), 2);
        assert!(log2_buckets(&[], us).is_empty());
        assert_eq!(log2_unit(9_999), 1);
        assert_eq!(log2_unit(10_000), 1_000);
    }

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(0.3), 1);
        assert_eq!(nice_step(3.0), 5);
        assert_eq!(nice_step(7.0), 10);
        assert_eq!(nice_step(11.0), 20);
        assert_eq!(nice_step(20.0), 20);
        assert_eq!(nice_step(4100.0), 5000);
    }

    #[test]
    fn buckets_cover_the_range_and_count_the_rest() {
        let v = [0, 5, 9, 10, 19, 25, 1000];
        let b = buckets(&v, 0, 30, 3);
        assert_eq!(b.len(), 4);
        assert_eq!(
            b[0],
            Bucket {
                from_ns: 0,
                to_ns: Some(10),
                count: 3
            }
        );
        assert_eq!(b[1].count, 2);
        assert_eq!(b[2].count, 1);
        assert_eq!(
            b[3],
            Bucket {
                from_ns: 30,
                to_ns: None,
                count: 1
            }
        );
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), v.len() as u64);
        assert_eq!(label(&b[3]), "≥ 30.0 ns");
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let rows = draw(
            &[
                ("a".into(), 10),
                ("bb".into(), 5),
                ("c".into(), 0),
                ("d".into(), 1),
            ],
            10,
        );
        assert_eq!(rows[0], " a |########## 10");
        assert_eq!(rows[1], "bb |#####      5");
        assert_eq!(rows[2], " c |           0");
        assert_eq!(rows[3], " d |#          1");
    }
}
