//! A small async client for Nomad's `/v1` HTTP API, as the `drover` commands use it.
//!
//! Why our own: the commands need a handful of endpoints, Nomad's exact error texts
//! ("Unexpected response code: 404 (job not found)") and a clear message when no agent
//! listens; a plain HTTP/1.1 exchange on hyper gives all three without a large client
//! stack. The client speaks Nomad's documented API (reference §3), so it works against
//! a Drover agent and a Nomad agent alike.
//!
//! * [`ApiArgs`] are the global flags (`-address`, `-region`, `-namespace`, `-token`)
//!   and [`ApiArgs::config`] resolves them against the environment.
//! * [`Client`] sends requests ([`transport`]) and decodes Nomad's JSON
//!   ([`endpoints`]) into `drover_types` and `drover_types::api` shapes, the same
//!   ones the agent serves.

mod allocs;
mod endpoints;
mod transport;

pub use allocs::LogsQuery;
pub use transport::{Client, WebSocket};

/// Where the agent listens when nothing else is configured.
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:4646";

/// The flags every command that talks to an agent accepts (Nomad's "General Options").
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApiArgs {
    /// Address of the agent; overrides DROVER_ADDR and NOMAD_ADDR
    /// (default http://127.0.0.1:4646).
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    /// Region of the servers to forward to; overrides NOMAD_REGION.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Target namespace; overrides NOMAD_NAMESPACE.
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// ACL token sent as X-Nomad-Token; overrides NOMAD_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// The resolved connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `http://host:port`.
    pub address: String,
    /// `region` query parameter, if any.
    pub region: Option<String>,
    /// `namespace` query parameter, if any.
    pub namespace: Option<String>,
    /// `X-Nomad-Token` header, if any.
    pub token: Option<String>,
}

impl ApiArgs {
    /// Flags win over the environment: `-address` > `DROVER_ADDR` > `NOMAD_ADDR` >
    /// the default; `-region` > `NOMAD_REGION`; `-namespace` > `NOMAD_NAMESPACE`;
    /// `-token` > `NOMAD_TOKEN`. Empty values count as unset.
    pub fn config(&self) -> Config {
        self.config_from(|k| std::env::var(k).ok())
    }

    /// [`ApiArgs::config`] with the environment given as a lookup function.
    pub fn config_from(&self, env: impl Fn(&str) -> Option<String>) -> Config {
        let pick = |flag: &Option<String>, vars: &[&str]| {
            flag.clone()
                .into_iter()
                .chain(vars.iter().filter_map(|v| env(v)))
                .find(|s| !s.trim().is_empty())
        };
        Config {
            address: pick(&self.address, &["DROVER_ADDR", "NOMAD_ADDR"])
                .unwrap_or_else(|| DEFAULT_ADDRESS.to_string()),
            region: pick(&self.region, &["NOMAD_REGION"]),
            namespace: pick(&self.namespace, &["NOMAD_NAMESPACE"]),
            token: pick(&self.token, &["NOMAD_TOKEN"]),
        }
    }

    /// A client for these settings.
    pub fn client(&self) -> Result<Client, ApiError> {
        Client::new(self.config())
    }
}

/// Why a request failed. `Display` gives Nomad's wording where Nomad has one, so
/// commands can prefix it the way Nomad does ("Error querying job: …").
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing answered at the address.
    #[error(
        "cannot reach a Drover agent at {address}: {reason}. Is one running? Start one with \
         `drover agent -dev`, or point -address, DROVER_ADDR or NOMAD_ADDR at a running agent"
    )]
    Connect {
        /// The configured address.
        address: String,
        /// What the OS said, e.g. "Connection refused (os error 111)".
        reason: String,
    },
    /// The address is not something we can dial.
    #[error("invalid address {address:?}: {reason}")]
    Address {
        /// The configured address.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The agent answered with a non-2xx status; `body` is its text/plain message.
    #[error("Unexpected response code: {code} ({body})")]
    Status {
        /// HTTP status code.
        code: u16,
        /// Response body, trimmed.
        body: String,
    },
    /// The HTTP exchange broke off.
    #[error("{method} {path}: {reason}")]
    Http {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The agent answered 2xx with JSON we could not read.
    #[error("{path}: unexpected response: {reason}")]
    Decode {
        /// Request path.
        path: String,
        /// The serde error, with the JSON path of the offending field.
        reason: String,
    },
}

impl ApiError {
    /// A 404 from the agent.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { code: 404, .. })
    }
}

/// Percent-encode one path segment or query value (everything but RFC 3986's
/// unreserved characters), as Go's `url.PathEscape`/`QueryEscape` do for IDs.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn address_precedence_flag_drover_nomad_default() {
        let none = ApiArgs::default();
        assert_eq!(none.config_from(env(&[])).address, DEFAULT_ADDRESS);
        let both = [("DROVER_ADDR", "http://d:1"), ("NOMAD_ADDR", "http://n:2")];
        assert_eq!(none.config_from(env(&both)).address, "http://d:1");
        assert_eq!(
            none.config_from(env(&[("NOMAD_ADDR", "http://n:2"), ("DROVER_ADDR", "")]))
                .address,
            "http://n:2"
        );
        let flag = ApiArgs {
            address: Some("http://f:3".into()),
            ..ApiArgs::default()
        };
        assert_eq!(flag.config_from(env(&both)).address, "http://f:3");
    }

    #[test]
    fn region_namespace_token_from_env_unless_flagged() {
        let vars = [
            ("NOMAD_REGION", "eu"),
            ("NOMAD_NAMESPACE", "prod"),
            ("NOMAD_TOKEN", "s3cret"),
        ];
        let c = ApiArgs::default().config_from(env(&vars));
        assert_eq!(c.region.as_deref(), Some("eu"));
        assert_eq!(c.namespace.as_deref(), Some("prod"));
        assert_eq!(c.token.as_deref(), Some("s3cret"));
        let flags = ApiArgs {
            namespace: Some("dev".into()),
            token: Some("t".into()),
            ..ApiArgs::default()
        };
        let c = flags.config_from(env(&vars));
        assert_eq!(c.namespace.as_deref(), Some("dev"));
        assert_eq!(c.token.as_deref(), Some("t"));
    }

    #[test]
    fn escapes_ids() {
        assert_eq!(escape("web-1.a_b~"), "web-1.a_b~");
        assert_eq!(escape("batch/periodic-17"), "batch%2Fperiodic-17");
        assert_eq!(escape("a b&c"), "a%20b%26c");
    }

    #[test]
    fn status_error_reads_like_nomad() {
        let e = ApiError::Status {
            code: 404,
            body: "job not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "Unexpected response code: 404 (job not found)"
        );
        assert!(e.is_not_found());
    }
}
