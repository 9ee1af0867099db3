//! Nomad writes long flags with one dash (`nomad agent -dev`); clap wants two.

use std::ffi::OsString;

/// Flags of `alloc exec` that take a separate value (`-task web`).
const EXEC_VALUE_FLAGS: &[&str] = &[
    "-task",
    "--task",
    "-e",
    "-address",
    "--address",
    "-region",
    "--region",
    "-namespace",
    "--namespace",
    "-token",
    "--token",
];

/// Turn `-flag` and `-flag=value` into `--flag...`, leaving short flags
/// (`-h`), negative numbers, `-` and everything after `--` alone. For
/// `alloc exec` everything after the allocation ID is the remote command and is
/// left alone too (`alloc exec ID ls -la`).
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut passthrough = false;
    // In `alloc exec`: whether the next argument is a flag's value.
    let mut exec: Option<bool> = None;
    for arg in args {
        let s = arg.to_str();
        if let Some(value_next) = exec
            && !passthrough
        {
            match s {
                Some(f) if f.starts_with('-') && f.len() > 1 => {
                    exec = Some(!f.contains('=') && EXEC_VALUE_FLAGS.contains(&f));
                }
                _ if value_next => exec = Some(false),
                // The allocation ID: the command follows.
                _ => passthrough = true,
            }
        }
        let rewritten = match s {
            Some("--") if !passthrough => {
                passthrough = true;
                None
            }
            Some(s) if !passthrough && is_single_dash_long(s) => {
                Some(OsString::from(format!("-{s}")))
            }
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
        if exec.is_none()
            && out.len() >= 3
            && out[out.len() - 2] == "alloc"
            && out[out.len() - 1] == "exec"
        {
            exec = Some(false);
        }
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

    #[test]
    fn alloc_exec_leaves_the_remote_command_alone() {
        assert_eq!(
            n(&[
                "drover", "alloc", "exec", "-task", "web", "-i=false", "ab12", "ls", "-la", "--",
                "-x"
            ]),
            [
                "drover", "alloc", "exec", "--task", "web", "-i=false", "ab12", "ls", "-la", "--",
                "-x"
            ]
        );
        assert_eq!(
            n(&[
                "drover",
                "alloc",
                "exec",
                "-task=web",
                "ab12",
                "sh",
                "-c",
                "-dev"
            ]),
            [
                "drover",
                "alloc",
                "exec",
                "--task=web",
                "ab12",
                "sh",
                "-c",
                "-dev"
            ]
        );
    }

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
