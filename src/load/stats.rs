//! Latencies as an HdrHistogram (nanoseconds, 3 significant digits) and the percentiles
//! a report gives.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency kept exactly; longer ones are recorded as this.
const HIGHEST_NS: u64 = 3_600 * 1_000_000_000;

#[derive(Clone, Debug)]
pub struct Latencies {
    hist: Histogram<u64>,
}

/// What a report says about latencies, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub min_us: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl Latencies {
    pub fn new() -> Latencies {
        // Bounds and precision are constants that hdrhistogram accepts.
        let hist = Histogram::new_with_bounds(1, HIGHEST_NS, 3).unwrap_or_else(|_| unreachable!("valid bounds"));
        Latencies { hist }
    }

    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).clamp(1, HIGHEST_NS);
        self.hist.saturating_record(ns);
    }

    /// Adds another worker's latencies.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// None when nothing was recorded.
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.hist.is_empty() {
            return None;
        }
        let us = |ns: u64| round1(ns as f64 / 1_000.0);
        let q = |quantile: f64| us(self.hist.value_at_quantile(quantile));
        Some(LatencySummary {
            count: self.hist.len(),
            min_us: us(self.hist.min()),
            mean_us: round1(self.hist.mean() / 1_000.0),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: us(self.hist.max()),
        })
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

/// One decimal: reports stay readable, and HdrHistogram's buckets are coarser anyway.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        let mut l = Latencies::new();
        assert_eq!(l.summary(), None);
        for i in 1..=1000 {
            l.record(us(i));
        }
        let s = l.summary().unwrap();
        assert_eq!(s.count, 1000);
        // Three significant digits: within 0.1 % of the exact order statistic.
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.1;
        assert!(near(s.min_us, 1.0), "{s:?}");
        assert!(near(s.p50_us, 500.0), "{s:?}");
        assert!(near(s.p90_us, 900.0), "{s:?}");
        assert!(near(s.p99_us, 990.0), "{s:?}");
        assert!(near(s.p999_us, 999.0), "{s:?}");
        assert!(near(s.max_us, 1000.0), "{s:?}");
        assert!(near(s.mean_us, 500.5), "{s:?}");
    }

    #[test]
    fn merging_adds_counts_and_extremes_are_clamped() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(Duration::ZERO);
        b.record(Duration::from_secs(10 * 3_600));
        b.record(us(7));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        let s = a.summary().unwrap();
        assert_eq!(s.min_us, 0.0);
        assert!(s.max_us >= 3_599_000_000.0, "{s:?}");
    }

    #[test]
    fn one_decimal() {
        assert_eq!(round1(12.345), 12.3);
        assert_eq!(round1(0.05), 0.1);
    }
}
