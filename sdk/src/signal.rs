//! Signal names as job files write them (`kill_signal = "SIGINT"`).

use crate::PluginError;

const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGSYS", libc::SIGSYS),
];

/// Parse `SIGTERM`, `TERM`, `sigterm` or `15` into a signal number.
pub fn parse(name: &str) -> Result<i32, PluginError> {
    let trimmed = name.trim();
    if let Ok(n) = trimmed.parse::<i32>() {
        if SIGNALS.iter().any(|&(_, v)| v == n) {
            return Ok(n);
        }
        return Err(PluginError::invalid(format!(
            "signal {n} is not a known signal number"
        )));
    }
    let upper = trimmed.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS
        .iter()
        .find(|&&(n, _)| n == full)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            PluginError::invalid(format!(
                "unknown signal {name:?} (expected a name like \"SIGTERM\")"
            ))
        })
}

/// The name of a signal number, e.g. `SIGTERM` for 15.
pub fn name(signal: i32) -> Option<&'static str> {
    SIGNALS.iter().find(|&&(_, v)| v == signal).map(|&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse("SIGTERM"), Ok(libc::SIGTERM));
        assert_eq!(parse("int"), Ok(libc::SIGINT));
        assert_eq!(parse("9"), Ok(libc::SIGKILL));
        assert!(parse("SIGNOPE").is_err());
        assert!(parse("999").is_err());
        assert_eq!(name(libc::SIGUSR1), Some("SIGUSR1"));
    }
}
