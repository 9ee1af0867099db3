//! What `/proc` says about processes: start times (to tell a live process
//! from a reused pid) and CPU/memory usage of a task's whole session.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::ResourceUsage;

/// The fields of `/proc/<pid>/stat` the executor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcStat {
    pub state: char,
    pub session: u32,
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    /// Field 22: clock ticks after boot.
    pub start_time: u64,
    pub rss_pages: u64,
}

impl ProcStat {
    pub fn read(pid: u32) -> Option<ProcStat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(&text)
    }

    /// Parse a stat line. The command name (field 2) is in parentheses and
    /// may itself contain spaces and parentheses, so fields are counted from
    /// the last `)`.
    pub fn parse(text: &str) -> Option<ProcStat> {
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is field 3 of the man page.
        let field = |n: usize| fields.get(n - 3).copied();
        let num = |n: usize| field(n).and_then(|f| f.parse::<u64>().ok());
        Some(ProcStat {
            state: field(3)?.chars().next()?,
            session: u32::try_from(num(6)?).ok()?,
            utime_ticks: num(14)?,
            stime_ticks: num(15)?,
            start_time: num(22)?,
            rss_pages: num(24)?,
        })
    }

    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Start time of `pid` if it exists and is not a zombie.
pub(super) fn live_start_time(pid: u32) -> Option<u64> {
    ProcStat::read(pid)
        .filter(|s| !s.is_dead())
        .map(|s| s.start_time)
}

/// Every live process of session `sid`, by pid.
fn session_members(sid: u32) -> BTreeMap<u32, ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, ProcStat::read(pid)?)))
        .filter(|(_, s)| s.session == sid && !s.is_dead())
        .collect()
}

fn sysconf(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(name) };
    u64::try_from(v).ok().filter(|&v| v > 0).unwrap_or(fallback)
}

/// Turns successive samples into CPU percentages.
#[derive(Debug, Default)]
pub(super) struct CpuSampler {
    previous: Option<(Instant, BTreeMap<u32, u64>)>,
}

impl CpuSampler {
    /// Usage of every process in session `sid`; percentages are relative to
    /// the previous call (0 on the first).
    pub fn sample(&mut self, sid: u32) -> ResourceUsage {
        let members = session_members(sid);
        let now = Instant::now();
        let tick = sysconf(libc::_SC_CLK_TCK, 100) as f64;
        let page = sysconf(libc::_SC_PAGESIZE, 4096);
        let previous = self.previous.take();
        let elapsed_ticks = previous
            .as_ref()
            .map(|(at, _)| now.duration_since(*at).as_secs_f64() * tick)
            .filter(|&t| t > 0.0);
        let percent = |pid: u32, total: u64| -> f64 {
            let (Some(elapsed), Some((_, before))) = (elapsed_ticks, previous.as_ref()) else {
                return 0.0;
            };
            let before = before.get(&pid).copied().unwrap_or(0);
            total.saturating_sub(before) as f64 / elapsed * 100.0
        };

        let mut usage = ResourceUsage::default();
        let mut totals = BTreeMap::new();
        for (pid, s) in &members {
            let total = s.utime_ticks + s.stime_ticks;
            totals.insert(*pid, total);
            let one = ResourceUsage {
                cpu_user_secs: s.utime_ticks as f64 / tick,
                cpu_system_secs: s.stime_ticks as f64 / tick,
                cpu_percent: percent(*pid, total),
                rss_bytes: s.rss_pages.saturating_mul(page),
                by_pid: BTreeMap::new(),
            };
            usage.cpu_user_secs += one.cpu_user_secs;
            usage.cpu_system_secs += one.cpu_system_secs;
            usage.cpu_percent += one.cpu_percent;
            usage.rss_bytes = usage.rss_bytes.saturating_add(one.rss_bytes);
            usage.by_pid.insert(*pid, one);
        }
        self.previous = Some((now, totals));
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_parens_in_the_name() {
        let line = "4242 (we(i)rd name) S 1 4242 4242 0 -1 4194560 300 0 0 0 \
                    17 5 0 0 20 0 1 0 987654 10000000 321 18446744073709551615";
        let s = ProcStat::parse(line).expect("parses");
        assert_eq!(s.state, 'S');
        assert_eq!(s.session, 4242);
        assert_eq!((s.utime_ticks, s.stime_ticks), (17, 5));
        assert_eq!(s.start_time, 987654);
        assert_eq!(s.rss_pages, 321);
    }

    #[test]
    fn rejects_truncated_lines() {
        assert_eq!(ProcStat::parse("1 (init) S 0 1"), None);
        assert_eq!(ProcStat::parse("garbage"), None);
    }

    #[test]
    fn own_process_is_live_and_sampled() {
        let me = std::process::id();
        assert!(live_start_time(me).is_some());
        let sid = ProcStat::read(me).expect("own stat").session;
        let usage = CpuSampler::default().sample(sid);
        assert!(usage.by_pid.contains_key(&me));
        assert!(usage.rss_bytes > 0);
    }
}
