//! Durations written the way job files write them: `"150ms"`, `"5s"`, `"1m30s"`.
//!
//! Nomad's mock driver takes Go duration strings; [`GoDuration`] parses the same
//! syntax (a sequence of `<number><unit>` with units `ns`, `us`/`µs`, `ms`, `s`,
//! `m`, `h`; fractions like `"1.5s"` are allowed) and serializes back to a string
//! that parses to the same value, so a task config survives the round trip
//! through `driver_state`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use drover_plugin_sdk::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A [`Duration`] that (de)serializes as a Go-style duration string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub Duration);

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parse `"1m30s"` into a duration. The error quotes the input and says what
/// is wrong with it; callers add the field name.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("invalid duration {text:?}: {why}");
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty (expected e.g. \"150ms\", \"5s\" or \"1m30s\")"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.starts_with('-') {
        return Err(bad("must not be negative"));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(num_len);
        if number.is_empty() {
            return Err(bad("expected a number before each unit"));
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(bad(&format!(
                "missing unit after {number:?} (expected ns, us, ms, s, m or h)"
            )));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(bad(&format!(
                "unknown unit {unit:?} (expected ns, us, ms, s, m or h)"
            )));
        };
        let nanos = scaled(number, scale).ok_or_else(|| bad(&format!("bad number {number:?}")))?;
        total = total.checked_add(nanos).ok_or_else(|| bad("too large"))?;
        rest = tail;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad("too large"))?;
    // The remainder is below 1e9, so it fits a u32.
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// `number` (digits with an optional fraction) times `scale` nanoseconds.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits_ok = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    if !digits_ok(whole) || !digits_ok(frac) {
        return None;
    }
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole_value.checked_mul(scale)?;
    // Fractions finer than a nanosecond are dropped, as Go does.
    let mut place = scale;
    for digit in frac.chars() {
        place /= 10;
        if place == 0 {
            break;
        }
        value += u128::from(digit.to_digit(10)?) * place;
    }
    Some(value)
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        for &(name, scale) in UNITS.iter().rev().filter(|(n, _)| *n != "µs") {
            if nanos >= scale {
                write!(f, "{}{name}", nanos / scale)?;
                nanos %= scale;
            }
        }
        Ok(())
    }
}

impl From<GoDuration> for Duration {
    fn from(d: GoDuration) -> Self {
        d.0
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        parse(&text)
            .map(GoDuration)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration such as \"150ms\", \"5s\" or \"1m30s\" (units ns, us, ms, s, m, h).",
            "examples": ["150ms", "5s", "1m30s"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("150ms"), Ok(ms(150)));
        assert_eq!(parse("5s"), Ok(ms(5_000)));
        assert_eq!(parse("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse(".5ms"), Ok(Duration::from_micros(500)));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("10µs"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse(" 2s "), Ok(ms(2_000)));
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        let err = |s: &str| parse(s).expect_err(s);
        assert_eq!(
            err("5x"),
            "invalid duration \"5x\": unknown unit \"x\" (expected ns, us, ms, s, m or h)"
        );
        assert!(
            err("5").contains("missing unit after \"5\""),
            "{}",
            err("5")
        );
        assert!(err("").contains("empty"));
        assert!(err("-1s").contains("negative"));
        assert!(err("s").contains("expected a number"));
        assert!(err("1.2.3s").contains("bad number"));
        assert!(err("99999999999999999999h").contains("too large"));
    }

    #[test]
    fn display_round_trips() {
        for text in ["0s", "150ms", "1m30s", "1h2m3s4ms5us6ns", "1500ms"] {
            let d = GoDuration(parse(text).expect(text));
            assert_eq!(parse(&d.to_string()), Ok(d.0), "{text} -> {d}");
        }
        assert_eq!(GoDuration(ms(90_000)).to_string(), "1m30s");
        assert_eq!(GoDuration(ms(1_500)).to_string(), "1s500ms");
    }

    #[test]
    fn serde_uses_strings() {
        let d: GoDuration = serde_json::from_str("\"250ms\"").expect("decodes");
        assert_eq!(d.0, ms(250));
        assert_eq!(serde_json::to_string(&d).expect("encodes"), "\"250ms\"");
        let e = serde_json::from_str::<GoDuration>("\"soon\"").expect_err("rejects");
        assert!(e.to_string().contains("invalid duration \"soon\""), "{e}");
        assert!(serde_json::from_str::<GoDuration>("5").is_err());
    }
}
