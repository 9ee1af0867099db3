//! Percentiles and the RESULT line.

use std::time::Duration;

/// Sorted latency samples.
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut v: Vec<Duration>) -> Self {
        v.sort_unstable();
        Self(v)
    }

    /// The `q` quantile (0.0..=1.0), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

/// `RESULT <name> <metric>=<v><unit> baseline=<v><unit> ratio=<r>` with
/// durations in `unit` ("us" or "ms").
pub fn result_line(
    name: &str,
    metric: &str,
    value: Duration,
    baseline: Duration,
    unit: &str,
) -> String {
    let scale = |d: Duration| match unit {
        "ms" => d.as_secs_f64() * 1e3,
        _ => d.as_secs_f64() * 1e6,
    };
    let ratio = if baseline.is_zero() {
        f64::INFINITY
    } else {
        value.as_secs_f64() / baseline.as_secs_f64()
    };
    format!(
        "RESULT {name} {metric}={:.1}{unit} baseline={:.1}{unit} ratio={ratio:.2}",
        scale(value),
        scale(baseline)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s = Samples::new((1..=100).rev().map(Duration::from_micros).collect());
        assert_eq!(s.p50(), Duration::from_micros(50));
        assert_eq!(s.p99(), Duration::from_micros(99));
        assert_eq!(Samples::new(vec![]).p50(), Duration::ZERO);
    }

    #[test]
    fn result_line_format() {
        let line = result_line(
            "x",
            "p50",
            Duration::from_micros(150),
            Duration::from_micros(50),
            "us",
        );
        assert_eq!(line, "RESULT x p50=150.0us baseline=50.0us ratio=3.00");
    }
}
