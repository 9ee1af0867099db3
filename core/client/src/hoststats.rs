//! Host CPU usage for `/v1/client/stats`: per-CPU user, system and idle percentages
//! over the time since the previous sample (Nomad's `HostStats.CPU`), from the kernel's
//! `/proc/stat` counters.
//!
//! A sample is kept between calls, so each answer covers the interval since the last
//! one; the first answer covers the time since boot (there is nothing earlier to compare
//! with). The parsing and the arithmetic are pure and tested on fixed text.

use std::sync::Mutex;

/// One CPU's cumulative counters, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    user: u64,
    system: u64,
    idle: u64,
    total: u64,
}

/// One CPU's usage over an interval, in percent.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuPercent {
    /// `cpu0`, `cpu1`, ….
    pub name: String,
    /// User mode (including nice).
    pub user: f64,
    /// Kernel mode (including interrupts).
    pub system: f64,
    /// Idle (including I/O wait).
    pub idle: f64,
}

/// The per-CPU lines (`cpuN …`) of `/proc/stat`; the aggregate `cpu` line is skipped.
pub fn parse_proc_stat(text: &str) -> Vec<(String, CpuTimes)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let name = fields.next()?;
            let n = name.strip_prefix("cpu")?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // user nice system idle iowait irq softirq steal (guest time is already
            // inside user and nice).
            let v: Vec<u64> = fields.take(8).map_while(|f| f.parse().ok()).collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0);
            let t = CpuTimes {
                user: at(0) + at(1),
                system: at(2) + at(5) + at(6),
                idle: at(3) + at(4),
                total: v.iter().sum(),
            };
            (v.len() >= 4).then(|| (name.to_owned(), t))
        })
        .collect()
}

/// Usage between two samples, per CPU present in both (a CPU brought online in between
/// is measured from zero).
pub fn percentages(before: &[(String, CpuTimes)], now: &[(String, CpuTimes)]) -> Vec<CpuPercent> {
    now.iter()
        .map(|(name, t)| {
            let b = before
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            let d = |now: u64, then: u64| now.saturating_sub(then) as f64;
            let total = d(t.total, b.total);
            let pct = |x: f64| if total > 0.0 { 100.0 * x / total } else { 0.0 };
            CpuPercent {
                name: name.clone(),
                user: pct(d(t.user, b.user)),
                system: pct(d(t.system, b.system)),
                idle: if total > 0.0 {
                    pct(d(t.idle, b.idle))
                } else {
                    100.0
                },
            }
        })
        .collect()
}

/// Keeps the previous sample so each reading covers the interval since the last.
#[derive(Default)]
pub struct CpuSampler {
    last: Mutex<Vec<(String, CpuTimes)>>,
}

impl CpuSampler {
    /// A sampler with no previous sample.
    pub const fn new() -> Self {
        CpuSampler {
            last: Mutex::new(Vec::new()),
        }
    }

    /// Usage per CPU since the previous call; empty when `/proc/stat` is unreadable.
    pub fn sample(&self) -> Vec<CpuPercent> {
        let Ok(text) = std::fs::read_to_string("/proc/stat") else {
            return Vec::new();
        };
        let now = parse_proc_stat(&text);
        let Ok(mut last) = self.last.lock() else {
            return percentages(&[], &now);
        };
        let out = percentages(&last, &now);
        *last = now;
        out
    }
}

/// MHz consumed on the host: each CPU's busy share of its `mhz_per_core`.
pub fn ticks_consumed(cpus: &[CpuPercent], mhz_per_core: f64) -> f64 {
    cpus.iter()
        .map(|c| (c.user + c.system) / 100.0 * mhz_per_core)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "cpu  300 0 100 600 0 0 0 0 0 0\n\
        cpu0 100 0 50 350 0 0 0 0 0 0\n\
        cpu1 200 0 50 250 0 0 0 0 0 0\n\
        intr 1 2 3\n";
    const AFTER: &str = "cpu  0 0 0 0 0 0 0 0 0 0\n\
        cpu0 160 20 70 400 10 5 5 0 0 0\n\
        cpu1 200 0 50 350 0 0 0 0 0 0\n";

    #[test]
    fn parses_per_cpu_lines_and_skips_the_aggregate() {
        let s = parse_proc_stat(BEFORE);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "cpu0");
        assert_eq!(s[0].1.total, 500);
        assert_eq!(s[1].1.idle, 250);
    }

    #[test]
    fn percentages_cover_the_interval_between_samples() {
        let p = percentages(&parse_proc_stat(BEFORE), &parse_proc_stat(AFTER));
        // cpu0: +170 ticks: user 60+20, system 20+5+5, idle 50+10.
        assert_eq!(p[0].name, "cpu0");
        assert!((p[0].user - 100.0 * 80.0 / 170.0).abs() < 1e-9, "{p:?}");
        assert!((p[0].system - 100.0 * 30.0 / 170.0).abs() < 1e-9, "{p:?}");
        assert!((p[0].idle - 100.0 * 60.0 / 170.0).abs() < 1e-9, "{p:?}");
        // cpu1 was idle throughout.
        assert_eq!((p[1].user, p[1].system, p[1].idle), (0.0, 0.0, 100.0));
        let mhz = ticks_consumed(&p, 3000.0);
        assert!((mhz - 3000.0 * (80.0 + 30.0) / 170.0).abs() < 1e-6, "{mhz}");
    }

    #[test]
    fn garbage_and_an_unchanged_counter_give_no_nonsense() {
        assert!(parse_proc_stat("cpuX 1 2 3 4\ncpu0 a b c\n\n").is_empty());
        let s = parse_proc_stat(BEFORE);
        let p = percentages(&s, &s);
        assert!(p.iter().all(|c| c.idle == 100.0 && c.user == 0.0));
    }

    #[test]
    fn the_sampler_reads_this_host() {
        let s = CpuSampler::new();
        let first = s.sample();
        assert!(!first.is_empty(), "no CPU lines in /proc/stat");
        for c in &first {
            let sum = c.user + c.system + c.idle;
            assert!(sum <= 100.0 + 1e-6, "{c:?}");
        }
    }
}
