//! Date and time functions: `formatdate(spec, timestamp)` with Terraform's format
//! verbs (`YYYY`, `MM`, `DD`, `hh`, `mm`, `ss`, `ZZZ`, quoted `'literal'` …) and
//! `timeadd(timestamp, duration)`. Timestamps are RFC 3339; the offset a timestamp
//! carries is kept in the result.

use hcl::Value;
use hcl::eval::{Context, ParamType as P};

use super::{def, s};

/// A parsed RFC 3339 timestamp: seconds since the Unix epoch (UTC), nanoseconds and the
/// offset from UTC in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stamp {
    pub secs: i64,
    pub nanos: u32,
    pub offset: i32,
}

/// Local calendar fields of a stamp.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Stamp {
    /// Parse `2006-01-02T15:04:05Z`, `…05.123+01:00` (RFC 3339).
    pub(crate) fn parse(text: &str) -> Result<Stamp, String> {
        let bad = || {
            format!(
                "\"{text}\" is not an RFC 3339 timestamp (like \"2006-01-02T15:04:05Z\" or \"2006-01-02T15:04:05+01:00\")"
            )
        };
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &text[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut rest = &text[19..];
        let mut nanos = 0u32;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            nanos =
                frac[..digits].parse::<u32>().map_err(|_| bad())? * 10u32.pow(9 - digits as u32);
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" => 0,
            _ if rest.len() == 6
                && (rest.starts_with('+') || rest.starts_with('-'))
                && &rest[3..4] == ":" =>
            {
                let h: i32 = rest[1..3].parse().map_err(|_| bad())?;
                let m: i32 = rest[4..6].parse().map_err(|_| bad())?;
                if h > 23 || m > 59 {
                    return Err(bad());
                }
                let o = h * 3600 + m * 60;
                if rest.starts_with('-') { -o } else { o }
            }
            _ => return Err(bad()),
        };
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(format!("\"{text}\" is not a valid date and time"));
        }
        let local = days_from_civil(i64::from(year), month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        Ok(Stamp {
            secs: local - i64::from(offset),
            nanos,
            offset,
        })
    }

    fn civil(&self) -> Civil {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            weekday: (days + 4).rem_euclid(7) as usize,
        }
    }

    /// `+01:00`, `-0800` …
    fn offset_text(&self, colon: bool) -> String {
        let sign = if self.offset < 0 { '-' } else { '+' };
        let o = self.offset.unsigned_abs();
        let (h, m) = (o / 3600, o / 60 % 60);
        if colon {
            format!("{sign}{h:02}:{m:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    }

    /// RFC 3339 in the stamp's own offset, whole seconds (`Z` for UTC).
    pub(crate) fn rfc3339(&self) -> String {
        let c = self.civil();
        let zone = if self.offset == 0 {
            "Z".to_string()
        } else {
            self.offset_text(true)
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// Split a format spec into verbs (runs of one letter), quoted literals and other text.
fn tokens(spec: &str) -> Result<Vec<(bool, String)>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' inside (or alone) is one quote.
            let mut lit = String::new();
            i += 1;
            if i < chars.len() && chars[i] == '\'' {
                out.push((false, "'".to_string()));
                i += 1;
                continue;
            }
            loop {
                match chars.get(i) {
                    None => return Err("unterminated quoted literal: a ' is missing".to_string()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        lit.push(x);
                        i += 1;
                    }
                }
            }
            out.push((false, lit));
        } else if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j] == c {
                j += 1;
            }
            out.push((true, chars[i..j].iter().collect()));
            i = j;
        } else if c.is_alphabetic() {
            return Err(format!(
                "letters must be quoted to appear as text, found '{c}'"
            ));
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_alphabetic() && chars[j] != '\'' {
                j += 1;
            }
            out.push((false, chars[i..j].iter().collect()));
            i = j;
        }
    }
    Ok(out)
}

/// `formatdate(spec, timestamp)`.
pub(crate) fn format_date(spec: &str, t: &Stamp) -> Result<String, String> {
    let c = t.civil();
    let mut out = String::new();
    for (verb, tok) in tokens(spec).map_err(|e| format!("argument 1 (spec): {e}"))? {
        if !verb {
            out.push_str(&tok);
            continue;
        }
        let invalid = |want: &str| {
            Err(format!(
                "argument 1 (spec): invalid verb \"{tok}\": {want}; quote letters meant as text, like 'T'"
            ))
        };
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        let text = match (tok.as_bytes()[0], tok.len()) {
            (b'Y', 4) => format!("{:04}", c.year),
            (b'Y', 2) => format!("{:02}", c.year.rem_euclid(100)),
            (b'Y', _) => return invalid("the year is YYYY or YY"),
            (b'M', 4) => MONTHS[c.month as usize - 1].to_string(),
            (b'M', 3) => MONTHS[c.month as usize - 1][..3].to_string(),
            (b'M', 2) => format!("{:02}", c.month),
            (b'M', 1) => c.month.to_string(),
            (b'M', _) => return invalid("the month is MMMM, MMM, MM or M"),
            (b'D', 2) => format!("{:02}", c.day),
            (b'D', 1) => c.day.to_string(),
            (b'D', _) => return invalid("the day of the month is DD or D"),
            (b'E', 4) => DAYS[c.weekday].to_string(),
            (b'E', 3) => DAYS[c.weekday][..3].to_string(),
            (b'E', _) => return invalid("the day of the week is EEEE or EEE"),
            (b'h', 2) => format!("{:02}", c.hour),
            (b'h', 1) => c.hour.to_string(),
            (b'h', _) => return invalid("the 24-hour hour is hh or h"),
            (b'H', 2) => format!("{hour12:02}"),
            (b'H', 1) => hour12.to_string(),
            (b'H', _) => return invalid("the 12-hour hour is HH or H"),
            (b'A', 2) => (if c.hour < 12 { "AM" } else { "PM" }).to_string(),
            (b'a', 2) => (if c.hour < 12 { "am" } else { "pm" }).to_string(),
            (b'A' | b'a', _) => return invalid("the AM/PM marker is AA or aa"),
            (b'm', 2) => format!("{:02}", c.minute),
            (b'm', 1) => c.minute.to_string(),
            (b'm', _) => return invalid("the minute is mm or m"),
            (b's', 2) => format!("{:02}", c.second),
            (b's', 1) => c.second.to_string(),
            (b's', _) => return invalid("the second is ss or s"),
            (b'Z', 5) => t.offset_text(true),
            (b'Z', 4) => t.offset_text(false),
            (b'Z', 3) if t.offset == 0 => "UTC".to_string(),
            (b'Z', 3) => t.offset_text(false),
            (b'Z', 1) if t.offset == 0 => "Z".to_string(),
            (b'Z', 1) => t.offset_text(true),
            (b'Z', _) => return invalid("the time zone is ZZZZZ, ZZZZ, ZZZ or Z"),
            _ => return invalid("not a date format verb"),
        };
        out.push_str(&text);
    }
    Ok(out)
}

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "formatdate", &[P::String, P::String], None, |a| {
        let t = Stamp::parse(&s(&a[1])).map_err(|e| format!("argument 2 (timestamp): {e}"))?;
        format_date(&s(&a[0]), &t).map(Value::from)
    });
    def(ctx, "timeadd", &[P::String, P::String], None, |a| {
        let t = Stamp::parse(&s(&a[0])).map_err(|e| format!("argument 1 (timestamp): {e}"))?;
        let d = drover_types::Duration::parse_go(&s(&a[1]))
            .map_err(|e| format!("argument 2 (duration): {e}"))?;
        let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + i128::from(d.0);
        let secs = i64::try_from(total.div_euclid(1_000_000_000))
            .map_err(|_| "the result is out of range".to_string())?;
        let out = Stamp {
            secs,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: t.offset,
        };
        Ok(Value::from(out.rfc3339()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
