//! What to run and how: the plugin command line and the launch options.

use std::path::PathBuf;
use std::time::Duration;

use drover_proto::handshake;

/// A plugin binary and its arguments (`plugin "NAME" { args = [...] }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCommand {
    pub path: PathBuf,
    pub args: Vec<String>,
}

impl PluginCommand {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            args: Vec::new(),
        }
    }

    /// How the plugin is named in messages until it told us its name.
    pub(crate) fn label(&self) -> String {
        crate::error::quote(&self.path.display().to_string())
    }
}

/// How to launch a plugin. Defaults:
///
/// * `start_timeout`: 10 s for the handshake line, connection, health and `PluginInfo`;
/// * `protocol_versions`: [`handshake::APP_PROTOCOL_VERSIONS`];
/// * `cookie`: `None`, the right magic cookie;
/// * `socket_root`: `None`, the system temp dir; each launch gets a fresh 0700
///   directory below it, removed when the plugin stops;
/// * `env`: nothing extra (the plugin inherits the host's environment).
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub start_timeout: Duration,
    pub protocol_versions: Vec<u32>,
    /// `None` sends the right cookie; `Some(v)` sends `v`; `Some("")` leaves
    /// the variable unset (for tests and the conformance suite).
    pub cookie: Option<String>,
    pub socket_root: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            start_timeout: Duration::from_secs(10),
            protocol_versions: handshake::APP_PROTOCOL_VERSIONS.to_vec(),
            cookie: None,
            socket_root: None,
            env: Vec::new(),
        }
    }
}
