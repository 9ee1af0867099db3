//! Errors of the plugin manager.
//!
//! Every message starts with `plugin "<name>"` (or the binary's path while the
//! name is not known yet), so an operator can tell which plugin to look at
//! without any other context.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use drover_proto::error::PluginError;
use drover_proto::handshake::HandshakeError;

/// One field error returned by `SetConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFieldError {
    /// Path inside the `config` block, e.g. `volumes.enabled`; empty for the block.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigFieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "config: {}", self.message)
        } else {
            write!(f, "config.{}: {}", self.field, self.message)
        }
    }
}

/// Last stderr lines of a plugin, shown after an early exit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StderrTail(pub Vec<String>);

impl fmt::Display for StderrTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "; it wrote nothing on stderr");
        }
        write!(f, "; last stderr lines:")?;
        for line in &self.0 {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// What went wrong with a plugin. `plugin` is the quoted name or path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("plugin {plugin}: cannot start {}: {source}", path.display())]
    Spawn {
        plugin: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plugin {plugin}: cannot prepare its socket directory: {reason}")]
    SocketDir { plugin: String, reason: String },
    #[error("plugin {plugin}: exited before the handshake ({status}){stderr}")]
    ExitedEarly {
        plugin: String,
        status: String,
        stderr: StderrTail,
    },
    #[error("plugin {plugin}: no handshake line on stdout within {timeout:?}{stderr}")]
    HandshakeTimeout {
        plugin: String,
        timeout: Duration,
        stderr: StderrTail,
    },
    #[error("plugin {plugin}: bad handshake line {line:?}: {reason}")]
    BadHandshake {
        plugin: String,
        /// The line as printed, cut to 200 characters.
        line: String,
        reason: String,
    },
    #[error("plugin {plugin}: speaks protocol version {plugin_version}, this host speaks {host:?}")]
    VersionMismatch {
        plugin: String,
        plugin_version: u32,
        host: Vec<u32>,
    },
    #[error("plugin {plugin}: cannot connect to {}: {reason}", socket.display())]
    Connect {
        plugin: String,
        socket: PathBuf,
        reason: String,
    },
    #[error("plugin {plugin}: health check failed: {reason}")]
    Unhealthy { plugin: String, reason: String },
    #[error("plugin {plugin}: {call} failed: {error}")]
    Rpc {
        plugin: String,
        call: &'static str,
        error: PluginError,
    },
    #[error("plugin {plugin}: {}", join(errors))]
    Config {
        plugin: String,
        errors: Vec<ConfigFieldError>,
    },
    #[error("plugin {plugin}: cannot reattach to pid {pid}: {reason}")]
    Reattach {
        plugin: String,
        pid: u32,
        reason: String,
    },
    #[error("plugin {plugin}: {reason}")]
    Process { plugin: String, reason: String },
    #[error("plugin {plugin}: not back at generation {generation} within {timeout:?}")]
    GenerationTimeout {
        plugin: String,
        generation: u64,
        timeout: Duration,
    },
    #[error("plugin {plugin}: supervisor stopped")]
    Stopped { plugin: String },
}

fn join(errors: &[ConfigFieldError]) -> String {
    if errors.is_empty() {
        return "config rejected".into();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The plugin rejected its configuration.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config { .. })
    }

    /// The plugin did not complete the handshake in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::HandshakeTimeout { .. })
    }

    /// The error a plugin call failed with, mapped through the one status
    /// mapping in `drover_proto::error`.
    pub fn rpc(plugin: &str, call: &'static str, status: &tonic::Status) -> Self {
        Self::Rpc {
            plugin: plugin.to_string(),
            call,
            error: PluginError::from_status(status),
        }
    }

    /// The `PluginError` of a failed RPC, if that is what this is.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            Self::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn bad_handshake(plugin: &str, line: &str, reason: &HandshakeError) -> Self {
        Self::BadHandshake {
            plugin: plugin.to_string(),
            line: truncate(line, 200),
            reason: reason.to_string(),
        }
    }
}

/// Cut `s` to at most `max` characters, marking the cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// How a plugin is named in messages: `"name"` quoted.
pub(crate) fn quote(name: &str) -> String {
    format!("{name:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_plugin_and_field() {
        let e = Error::Config {
            plugin: quote("raw_exec"),
            errors: vec![
                ConfigFieldError {
                    field: "enabled".into(),
                    message: "invalid type: string \"yes\", expected a boolean".into(),
                },
                ConfigFieldError {
                    field: String::new(),
                    message: "must be an object".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "plugin \"raw_exec\": config.enabled: invalid type: string \"yes\", \
             expected a boolean; config: must be an object"
        );
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("ééé", 2), "éé…");
    }

    #[test]
    fn stderr_tail_renders_lines() {
        let e = Error::ExitedEarly {
            plugin: quote("x"),
            status: "exit status: 2".into(),
            stderr: StderrTail(vec!["ERROR boom".into()]),
        };
        assert_eq!(
            e.to_string(),
            "plugin \"x\": exited before the handshake (exit status: 2); last stderr lines:\n  ERROR boom"
        );
    }
}
