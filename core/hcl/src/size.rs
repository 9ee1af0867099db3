//! Byte sizes the way Nomad reads them (go-humanize `ParseBytes`): `"10MB"` = 10×1000²,
//! `"1GiB"` = 1024³, `"1.5 GB"`, `"512"` (bytes), case-insensitive; `k`/`m`/`g` alone are
//! decimal, `ki`/`mi`/`gi` binary.

/// Why a size string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error(
        "invalid size {0:?}: expected a number with an optional unit, e.g. \"10MB\" or \"1GiB\""
    )]
    Syntax(String),
    #[error(
        "invalid size {0:?}: unknown unit {1:?} (valid: B, KB, KiB, MB, MiB, GB, GiB, TB, TiB, PB, PiB, EB, EiB)"
    )]
    Unit(String, String),
    #[error("invalid size {0:?}: too large")]
    Overflow(String),
}

/// Parse a size into bytes.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_len);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return Err(SizeError::Syntax(s.to_string()));
    }
    let unit_lc = unit.trim().to_ascii_lowercase();
    let mult: u64 = match unit_lc.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1_000_000_000_000_000,
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1_000_000_000_000_000_000,
        "ei" | "eib" => 1 << 60,
        _ => return Err(SizeError::Unit(s.to_string(), unit.trim().to_string())),
    };
    let value: f64 = num.parse().map_err(|_| SizeError::Syntax(s.to_string()))?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(SizeError::Overflow(s.to_string()));
    }
    // Whole-number inputs are computed exactly; fractions round down like go-humanize.
    match num.parse::<u64>() {
        Ok(n) => n
            .checked_mul(mult)
            .ok_or_else(|| SizeError::Overflow(s.to_string())),
        Err(_) => Ok(bytes as u64),
    }
}
