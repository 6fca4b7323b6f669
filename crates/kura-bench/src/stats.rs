//! Percentiles of latencies and medians of rounds. Pure functions, unit-tested.

/// The nearest-rank percentile `p` (0–100) of an ascending slice: the smallest value such that at
/// least `p` % of the values are less than or equal to it. `None` for an empty slice.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let n = sorted.len();
    // rank is 1-based; p = 0 gives the minimum.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped to 1..=n below")]
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

/// The median of some values (the mean of the middle two for an even count); `None` when empty
/// or when a value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v.get(mid).copied() } else { Some((v[mid - 1] + v[mid]) / 2.0) }
}

/// Latency summary of one run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    /// Summarises latencies in microseconds (sorts them in place).
    pub fn from_micros(latencies: &mut [u64]) -> Self {
        latencies.sort_unstable();
        let ms = |us: Option<u64>| us.map_or(0.0, |v| v as f64 / 1000.0);
        let mean_ms = if latencies.is_empty() {
            0.0
        } else {
            latencies.iter().map(|&v| v as f64).sum::<f64>() / latencies.len() as f64 / 1000.0
        };
        Self {
            p50_ms: ms(percentile(latencies, 50.0)),
            p99_ms: ms(percentile(latencies, 99.0)),
            max_ms: ms(latencies.last().copied()),
            mean_ms,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // Ten values: p99 is the largest, p50 the fifth.
        let v: Vec<u64> = (10..20).collect();
        assert_eq!(percentile(&v, 99.0), Some(19));
        assert_eq!(percentile(&v, 50.0), Some(14));
        assert_eq!(percentile(&v, 150.0), Some(19));
    }

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn latency_summary_in_ms() {
        let mut v: Vec<u64> = (1..=1000).rev().map(|x| x * 1000).collect();
        let l = Latency::from_micros(&mut v);
        assert_eq!(l.p50_ms, 500.0);
        assert_eq!(l.p99_ms, 990.0);
        assert_eq!(l.max_ms, 1000.0);
        assert!((l.mean_ms - 500.5).abs() < 1e-9);
        assert_eq!(Latency::from_micros(&mut []), Latency::default());
    }
}
