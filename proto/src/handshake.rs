//! The plugin handshake: what the host puts in the plugin's environment and
//! the line the plugin prints on stdout once it serves.
//!
//! ```text
//! 1|<app-version>|unix|<socket-path>|grpc
//! ```

use std::fmt;
use std::str::FromStr;

/// Environment variable carrying the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "DROVER_PLUGIN_MAGIC_COOKIE";
/// The cookie's value. Not a secret: it only tells a plugin it was started by
/// a Drover host and not by hand.
pub const MAGIC_COOKIE_VALUE: &str =
    "7a1d3c0f5b2e4d9a8c6b1f0e3d2c5b4a9e8f7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
/// Comma-separated application protocol versions the host speaks, e.g. `1`.
pub const PROTOCOL_VERSIONS_KEY: &str = "DROVER_PLUGIN_PROTOCOL_VERSIONS";
/// Private (0700) directory the plugin creates its unix socket in.
pub const SOCKET_DIR_KEY: &str = "DROVER_PLUGIN_SOCKET_DIR";
/// Core protocol version: the shape of the handshake line itself.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// Application protocol versions this build of the protocol crate defines.
pub const APP_PROTOCOL_VERSIONS: &[u32] = &[1];
/// Service name the plugin reports SERVING under in `grpc.health.v1.Health`.
pub const HEALTH_SERVICE: &str = "plugin";
/// What a plugin started by hand prints (then it exits 1).
pub const NOT_A_PROGRAM: &str = "This binary is a Drover plugin. It is started by the Drover agent, \
not by hand: put it next to the `drover` executable or in the agent's plugin_dir, \
or check it with `drover plugin info PATH`.";

/// The one line a plugin prints on stdout when it is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeLine {
    pub core_version: u32,
    pub app_version: u32,
    pub network: String,
    pub address: String,
    pub protocol: String,
}

impl HandshakeLine {
    /// The line for a gRPC plugin listening on a unix socket.
    pub fn unix(app_version: u32, socket: impl Into<String>) -> Self {
        Self {
            core_version: CORE_PROTOCOL_VERSION,
            app_version,
            network: "unix".into(),
            address: socket.into(),
            protocol: "grpc".into(),
        }
    }
}

impl fmt::Display for HandshakeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}|{}|{}|{}|{}",
            self.core_version, self.app_version, self.network, self.address, self.protocol
        )
    }
}

/// Why a handshake line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("expected 5 '|'-separated fields `CORE|APP|NETWORK|ADDRESS|PROTOCOL`, found {0}")]
    FieldCount(usize),
    #[error("field {field} must be a number, found {value:?}")]
    NotANumber { field: &'static str, value: String },
    #[error(
        "core protocol version {0} is not supported (this host speaks {CORE_PROTOCOL_VERSION})"
    )]
    CoreVersion(u32),
    #[error("network {0:?} is not supported (only \"unix\")")]
    Network(String),
    #[error("protocol {0:?} is not supported (only \"grpc\")")]
    Protocol(String),
    #[error("socket address is empty")]
    EmptyAddress,
}

impl FromStr for HandshakeLine {
    type Err = HandshakeError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let line = line.trim_end_matches(['\r', '\n']);
        let fields: Vec<&str> = line.split('|').collect();
        // Allow a trailing empty field (`...|grpc|`), as go-plugin prints one.
        let fields = match fields.as_slice() {
            [head @ .., ""] if head.len() == 5 => head,
            all => all,
        };
        if fields.len() != 5 {
            return Err(HandshakeError::FieldCount(fields.len()));
        }
        let num = |field: &'static str, value: &str| {
            value
                .parse::<u32>()
                .map_err(|_| HandshakeError::NotANumber {
                    field,
                    value: value.to_string(),
                })
        };
        let core_version = num("CORE", fields[0])?;
        if core_version != CORE_PROTOCOL_VERSION {
            return Err(HandshakeError::CoreVersion(core_version));
        }
        let app_version = num("APP", fields[1])?;
        if fields[2] != "unix" {
            return Err(HandshakeError::Network(fields[2].to_string()));
        }
        if fields[3].is_empty() {
            return Err(HandshakeError::EmptyAddress);
        }
        if fields[4] != "grpc" {
            return Err(HandshakeError::Protocol(fields[4].to_string()));
        }
        Ok(Self {
            core_version,
            app_version,
            network: fields[2].to_string(),
            address: fields[3].to_string(),
            protocol: fields[4].to_string(),
        })
    }
}

/// Parse `DROVER_PLUGIN_PROTOCOL_VERSIONS` ("1,2"), ignoring blanks.
pub fn parse_versions(list: &str) -> Result<Vec<u32>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("{s:?} is not a protocol version"))
        })
        .collect()
}

/// The highest version both sides speak.
pub fn negotiate(host: &[u32], plugin: &[u32]) -> Option<u32> {
    host.iter().filter(|v| plugin.contains(v)).max().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let line = HandshakeLine::unix(1, "/tmp/x/plugin.sock");
        assert_eq!(line.to_string(), "1|1|unix|/tmp/x/plugin.sock|grpc");
        assert_eq!(line.to_string().parse::<HandshakeLine>(), Ok(line));
    }

    #[test]
    fn trailing_separator_is_accepted() {
        let l: HandshakeLine = "1|1|unix|/s|grpc|\n".parse().expect("parses");
        assert_eq!(l.address, "/s");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            "hello".parse::<HandshakeLine>(),
            Err(HandshakeError::FieldCount(1))
        );
        assert_eq!(
            "2|1|unix|/s|grpc".parse::<HandshakeLine>(),
            Err(HandshakeError::CoreVersion(2))
        );
        assert_eq!(
            "1|1|tcp|127.0.0.1:1|grpc".parse::<HandshakeLine>(),
            Err(HandshakeError::Network("tcp".into()))
        );
        assert_eq!(
            "1|x|unix|/s|grpc".parse::<HandshakeLine>(),
            Err(HandshakeError::NotANumber {
                field: "APP",
                value: "x".into()
            })
        );
        assert_eq!(
            "1|1|unix|/s|netrpc".parse::<HandshakeLine>(),
            Err(HandshakeError::Protocol("netrpc".into()))
        );
    }

    #[test]
    fn negotiation_picks_highest_common() {
        assert_eq!(negotiate(&[1, 2, 3], &[2, 3, 4]), Some(3));
        assert_eq!(negotiate(&[1], &[2]), None);
        assert_eq!(parse_versions(" 1, 2,"), Ok(vec![1, 2]));
        assert!(parse_versions("1,a").is_err());
    }
}
