//! Nomad writes long flags with one dash (`nomad agent -dev`); clap wants two.

use std::ffi::OsString;

/// Turn `-flag` and `-flag=value` into `--flag...`, leaving short flags
/// (`-h`), negative numbers, `-` and everything after `--` alone.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for arg in args {
        let rewritten = match arg.to_str() {
            Some("--") => {
                passthrough = true;
                None
            }
            Some(s) if !passthrough && is_single_dash_long(s) => {
                Some(OsString::from(format!("-{s}")))
            }
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

fn is_single_dash_long(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    let name = rest.split('=').next().unwrap_or("");
    !rest.starts_with('-') && name.len() >= 2 && name.starts_with(|c: char| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(OsString::from))
            .into_iter()
            .map(|s| s.into_string().unwrap_or_default())
            .collect()
    }

    #[test]
    fn single_dash_long_flags_get_two_dashes() {
        assert_eq!(
            n(&["drover", "agent", "-dev"]),
            ["drover", "agent", "--dev"]
        );
        assert_eq!(
            n(&["x", "-config=a.hcl", "--config", "b"]),
            ["x", "--config=a.hcl", "--config", "b"]
        );
        assert_eq!(
            n(&["x", "-h", "-1", "-", "--", "-dev"]),
            ["x", "-h", "-1", "-", "--", "-dev"]
        );
    }
}
