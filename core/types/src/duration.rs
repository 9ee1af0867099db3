//! `Duration`: Nomad's `time.Duration`, an `i64` of nanoseconds on the wire.
//!
//! The API form is always an integer. Deserialization also accepts a Go duration
//! string (`"30s"`, `"1h30m"`), as jobspec2's `decodeDuration` does, so the jobspec
//! crate can hand strings through; serialization always writes integer nanoseconds.
//! `Display` renders Go's `time.Duration.String()` form (`30m0s`, `1.5s`, `0s`).

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A signed span of nanoseconds, as Go's `time.Duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Why a Go duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct ParseDurationError {
    /// The rejected text.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Duration {
    /// Zero nanoseconds.
    pub const ZERO: Duration = Duration(0);

    /// `n` nanoseconds.
    pub const fn from_nanos(n: i64) -> Self {
        Duration(n)
    }
    /// `n` milliseconds.
    pub const fn from_millis(n: i64) -> Self {
        Duration(n * MS)
    }
    /// `n` seconds.
    pub const fn from_secs(n: i64) -> Self {
        Duration(n * SEC)
    }
    /// `n` minutes.
    pub const fn from_mins(n: i64) -> Self {
        Duration(n * MIN)
    }
    /// `n` hours.
    pub const fn from_hours(n: i64) -> Self {
        Duration(n * HOUR)
    }
    /// The number of nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// As a `std::time::Duration`, or `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Parses a Go duration string: an optional sign, then one or more decimal numbers
    /// with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), e.g. `"1h30m"`, `"1.5s"`.
    /// A bare `"0"` is zero, as in Go.
    pub fn parse_go(input: &str) -> Result<Duration, ParseDurationError> {
        let err = |reason| ParseDurationError {
            input: input.to_owned(),
            reason,
        };
        let mut s = input;
        let neg = match s.as_bytes().first() {
            Some(b'-') => {
                s = &s[1..];
                true
            }
            Some(b'+') => {
                s = &s[1..];
                false
            }
            _ => false,
        };
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        if s.is_empty() {
            return Err(err("empty"));
        }
        let mut total: i128 = 0;
        while !s.is_empty() {
            let num_end = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| err("missing unit (use ns, us, ms, s, m or h)"))?;
            let (num, rest) = s.split_at(num_end);
            if num.is_empty() || num == "." {
                return Err(err("expected a number"));
            }
            let unit_end = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let (unit, rest) = rest.split_at(unit_end);
            let scale: i64 = match unit {
                "ns" => NS,
                "us" | "µs" | "μs" => US,
                "ms" => MS,
                "s" => SEC,
                "m" => MIN,
                "h" => HOUR,
                _ => return Err(err("unknown unit (use ns, us, ms, s, m or h)")),
            };
            let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
            if frac_part.contains('.') {
                return Err(err("expected a number"));
            }
            let int: i128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| err("number too large"))?
            };
            total += int * i128::from(scale);
            let mut frac_scale = i128::from(scale);
            for d in frac_part.bytes() {
                frac_scale /= 10;
                total += i128::from(d - b'0') * frac_scale;
            }
            if total > i128::from(i64::MAX) {
                return Err(err("out of range"));
            }
            s = rest;
        }
        let total = if neg { -total } else { total };
        i64::try_from(total)
            .map(Duration)
            .map_err(|_| err("out of range"))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl std::str::FromStr for Duration {
    type Err = ParseDurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse_go(s)
    }
}

/// Go's `time.Duration.String()`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v == 0 {
            return f.write_str("0s");
        }
        let sign = if v < 0 { "-" } else { "" };
        let u = v.unsigned_abs();
        // Below one second Go picks the largest fitting sub-second unit.
        if u < SEC as u64 {
            let (unit, scale) = if u < US as u64 {
                ("ns", 1)
            } else if u < MS as u64 {
                ("µs", US as u64)
            } else {
                ("ms", MS as u64)
            };
            return write!(f, "{sign}{}{unit}", frac(u, scale));
        }
        let h = u / HOUR as u64;
        let m = (u % HOUR as u64) / MIN as u64;
        let s = u % MIN as u64;
        f.write_str(sign)?;
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if h > 0 || m > 0 {
            write!(f, "{m}m")?;
        }
        write!(f, "{}s", frac(s, SEC as u64))
    }
}

/// `n / scale` with the fraction's trailing zeros removed (`1500, 1000` → `1.5`).
fn frac(n: u64, scale: u64) -> String {
    let int = n / scale;
    let rem = n % scale;
    if rem == 0 {
        return int.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration in integer nanoseconds or a Go duration string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Ok(Duration(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                i64::try_from(v)
                    .map(Duration)
                    .map_err(|_| E::custom("duration out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                if v.fract() == 0.0 && v.abs() < 9.2e18 {
                    Ok(Duration(v as i64))
                } else {
                    Err(E::custom("duration must be whole nanoseconds"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse_go(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_strings() {
        for (s, want) in [
            ("0", 0),
            ("5s", 5 * SEC),
            ("30m", 30 * MIN),
            ("1h30m", HOUR + 30 * MIN),
            ("1.5s", 1500 * MS),
            ("300ms", 300 * MS),
            ("10us", 10 * US),
            ("10µs", 10 * US),
            ("7ns", 7),
            ("-2m", -2 * MIN),
            ("24h", 24 * HOUR),
        ] {
            assert_eq!(Duration::parse_go(s), Ok(Duration(want)), "{s}");
        }
    }

    #[test]
    fn rejects_bad_strings() {
        for s in ["", "5", "5x", "s", "1.2.3s", "-", "99999999999h"] {
            assert!(Duration::parse_go(s).is_err(), "{s}");
        }
        let e = Duration::parse_go("10 minutes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid duration \"10 minutes\": unknown unit (use ns, us, ms, s, m or h)"
        );
    }

    #[test]
    fn displays_like_go() {
        for (ns, want) in [
            (0, "0s"),
            (5 * SEC, "5s"),
            (30 * MIN, "30m0s"),
            (24 * HOUR, "24h0m0s"),
            (1500 * MS, "1.5s"),
            (300 * MS, "300ms"),
            (-15 * SEC, "-15s"),
            (HOUR + 90 * SEC, "1h1m30s"),
        ] {
            assert_eq!(Duration(ns).to_string(), want);
        }
    }

    #[test]
    fn serde_is_integer_nanos_and_accepts_strings() {
        assert_eq!(
            serde_json::to_string(&Duration::from_secs(5)).unwrap(),
            "5000000000"
        );
        let d: Duration = serde_json::from_str("15000000000").unwrap();
        assert_eq!(d, Duration::from_secs(15));
        let d: Duration = serde_json::from_str("\"15s\"").unwrap();
        assert_eq!(d, Duration::from_secs(15));
        assert!(serde_json::from_str::<Duration>("\"soon\"").is_err());
        assert!(serde_json::from_str::<Duration>("1.5").is_err());
    }
}
