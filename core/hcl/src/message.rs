//! Rewrite serde's messages in the user's vocabulary: "expected a number, found a string"
//! rather than "invalid type: string \"x\", expected u64"; unknown keys with a "did you
//! mean" hint.

pub(crate) struct Humanized {
    pub message: String,
    /// Set for `unknown field` errors: the key.
    pub unknown_key: Option<String>,
    /// Set for `missing field` errors: the key.
    pub missing_key: Option<String>,
}

pub(crate) fn humanize(raw: &str) -> Humanized {
    let plain = |message: String| Humanized {
        message,
        unknown_key: None,
        missing_key: None,
    };
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let (key, rest) = take_ticked(rest);
        let expected = ticked_all(rest);
        return Humanized {
            message: unknown_key_message(
                &key,
                &expected.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            unknown_key: Some(key),
            missing_key: None,
        };
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let (key, _) = take_ticked(rest);
        return Humanized {
            message: format!("missing required key \"{key}\""),
            unknown_key: None,
            missing_key: Some(key),
        };
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return plain(format!(
            "expected {}, found {}",
            expected_name(expected),
            found_name(found)
        ));
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let found = found
            .split_once(' ')
            .map_or(found, |(_, v)| v)
            .trim_matches('`');
        return plain(format!("expected {}, found {found}", range_name(expected)));
    }
    plain(raw.to_string())
}

/// `unknown key "x"` plus the closest known key, or the list when it is short.
pub fn unknown_key_message(key: &str, expected: &[&str]) -> String {
    let mut msg = format!("unknown key \"{key}\"");
    let best = expected
        .iter()
        .map(|e| (edit_distance(key, e), *e))
        .filter(|(d, e)| *d <= 2.max(key.len() / 3) && *d < e.len().max(key.len()))
        .min();
    if let Some((_, e)) = best {
        msg.push_str(&format!("; did you mean \"{e}\"?"));
    } else if expected.is_empty() {
        msg.push_str("; no keys are allowed here");
    } else if expected.len() <= 8 {
        msg.push_str(&format!("; expected one of: {}", expected.join(", ")));
    }
    msg
}

fn take_ticked(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('`')
        && let Some(end) = rest.find('`')
    {
        return (rest[..end].to_string(), &rest[end + 1..]);
    }
    (s.to_string(), "")
}

fn ticked_all(mut s: &str) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(i) = s.find('`') {
        let (k, rest) = take_ticked(&s[i..]);
        if rest.len() == s[i..].len() {
            break;
        }
        out.push(k);
        s = rest;
    }
    out
}

fn found_name(found: &str) -> String {
    let kind = found.split([' ', '`']).next().unwrap_or(found);
    match kind {
        "string" | "char" => "a string".into(),
        "integer" | "floating" => "a number".into(),
        "boolean" => "a boolean".into(),
        "map" => "a block or object".into(),
        "sequence" => "a list".into(),
        "unit" | "null" | "Option" => "null".into(),
        _ => found.to_string(),
    }
}

fn expected_name(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" | "f32" | "f64" => "a number".into(),
        "a string" | "a borrowed string" | "a char" => "a string".into(),
        "a boolean" => "a boolean".into(),
        "a sequence" => "a list".into(),
        "a map" => "a map".into(),
        e if e.starts_with("struct ") => "a block".into(),
        e => e.to_string(),
    }
}

fn range_name(expected: &str) -> String {
    let bits = |t: &str| t[1..].parse::<u32>().ok();
    match expected {
        e if e.starts_with('u') && bits(e).is_some() => {
            let max = match bits(e) {
                Some(b) if b < 64 => (1u128 << b) - 1,
                _ => u64::MAX as u128,
            };
            format!("a whole number from 0 to {max}")
        }
        "usize" => "a non-negative whole number".into(),
        e if e.starts_with('i') && bits(e).is_some() => "a whole number in range".into(),
        e => e.to_string(),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}
