//! Nomad's time rendering (`command/helpers.go`): `formatTime` is ISO 8601 in the
//! local zone (`2024-05-01T12:00:00+02:00`, `Z` in UTC) and blank for the epoch;
//! `prettyTimeDiff` is the two coarsest units of an age (`1h5m ago`, `3d2h ago`).

use chrono::{DateTime, FixedOffset, Offset, SecondsFormat, TimeZone};

const NANOS: i64 = 1_000_000_000;

/// "Now" and the zone to print in, passed to renderers instead of read from the OS.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Unix nanoseconds.
    pub now: i64,
    /// Offset timestamps are shown in.
    pub offset: FixedOffset,
}

impl Clock {
    /// The system clock and local zone.
    pub fn system() -> Clock {
        let now = chrono::Local::now();
        Clock {
            now: now.timestamp_nanos_opt().unwrap_or(0),
            offset: now.offset().fix(),
        }
    }

    /// A fixed instant in UTC, for tests.
    #[cfg(test)]
    pub fn fixed_utc(now: i64) -> Clock {
        Clock {
            now,
            offset: chrono::Utc.fix(),
        }
    }

    /// `formatTime` of unix nanoseconds: blank before 1970-01-01T00:00:01.
    pub fn format_nanos(&self, nanos: i64) -> String {
        if nanos.div_euclid(NANOS) < 1 {
            return String::new();
        }
        let t = self.offset.timestamp_nanos(nanos);
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// `formatTime` of an RFC 3339 string (Go's `time.Time` in JSON); blank for Go's
    /// zero time or text that is not a time.
    pub fn format_rfc3339(&self, s: &str) -> String {
        match parse_rfc3339(s) {
            Some(n) => self.format_nanos(n),
            None => String::new(),
        }
    }

    /// `prettyTimeDiff(then, now)`: `"5m3s ago"`, `"2h from now"`, blank for zero.
    pub fn ago(&self, nanos: i64) -> String {
        pretty_time_diff(nanos, self.now)
    }
}

/// Unix nanoseconds of an RFC 3339 time; `None` for Go's zero time and bad text.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    let n = t.timestamp_nanos_opt()?;
    (t.timestamp() > 0).then_some(n)
}

/// Round unix nanoseconds to the nearest second (halves up), as Go's `Round`.
fn round_secs(nanos: i64) -> i64 {
    (nanos + NANOS / 2).div_euclid(NANOS)
}

/// Nomad's `prettyTimeDiff`.
pub fn pretty_time_diff(first: i64, second: i64) -> String {
    if first == 0 {
        return String::new();
    }
    let (a, b) = (round_secs(first), round_secs(second));
    let (mut u, suffix) = if b >= a {
        ((b - a) as u64, "ago")
    } else {
        ((a - b) as u64, "from now")
    };
    // Periods from finest to coarsest: s, m, h, d (30 per month), mo (12 per year), y.
    let mut parts: Vec<String> = Vec::new();
    let secs = u % 60;
    if secs > 0 {
        parts.push(format!("{secs}s"));
    }
    u /= 60;
    for (modulus, unit) in [(60, "m"), (24, "h"), (30, "d"), (12, "mo")] {
        if u == 0 {
            break;
        }
        let v = u % modulus;
        if v > 0 {
            parts.push(format!("{v}{unit}"));
        }
        u /= modulus;
    }
    if u > 0 {
        parts.push(format!("{u}y"));
    }
    if parts.is_empty() {
        return format!("0s {suffix}");
    }
    let keep = parts.len().saturating_sub(2);
    let text: String = parts[keep..].iter().rev().cloned().collect();
    format!("{text} {suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000 * NANOS;

    #[test]
    fn formats_iso8601_and_blank_epoch() {
        let c = Clock::fixed_utc(T0);
        assert_eq!(c.format_nanos(T0), "2023-11-14T22:13:20Z");
        assert_eq!(c.format_nanos(0), "");
        let plus2 = Clock {
            now: T0,
            offset: FixedOffset::east_opt(7200).expect("offset"),
        };
        assert_eq!(plus2.format_nanos(T0), "2023-11-15T00:13:20+02:00");
        assert_eq!(c.format_rfc3339("0001-01-01T00:00:00Z"), "");
        assert_eq!(
            c.format_rfc3339("2023-11-14T22:13:20.5Z"),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn pretty_diffs_keep_two_coarsest_units() {
        let s = NANOS;
        assert_eq!(pretty_time_diff(T0, T0), "0s ago");
        assert_eq!(pretty_time_diff(T0, T0 + 42 * s), "42s ago");
        assert_eq!(
            pretty_time_diff(T0, T0 + (3600 + 5 * 60 + 7) * s),
            "1h5m ago"
        );
        assert_eq!(
            pretty_time_diff(T0, T0 + (3 * 86400 + 2 * 3600 + 9) * s),
            "3d2h ago"
        );
        assert_eq!(pretty_time_diff(T0, T0 + 3600 * s), "1h ago");
        assert_eq!(pretty_time_diff(T0 + 90 * s, T0), "1m30s from now");
        assert_eq!(pretty_time_diff(T0, T0 + 400 * 86400 * s), "1y1mo ago");
        assert_eq!(pretty_time_diff(0, T0), "");
    }
}
