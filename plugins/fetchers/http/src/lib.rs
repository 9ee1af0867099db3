//! `drover-fetcher-http`: downloads `http://` artifacts.
//!
//! What it does, in go-getter v1's terms (Nomad's artifact semantics):
//!
//! * `GET` with the artifact's `headers`, following up to 10 redirects;
//! * `checksum=<type>:<hex>` (md5, sha1, sha256, sha512) verified before the
//!   file is put in place: the body goes to a temporary file next to the
//!   target and is renamed only once complete and verified;
//! * mode `file`: the download is the destination path itself; mode `any`:
//!   it is written into the destination directory under the URL's last path
//!   segment (or `filename=`).
//!
//! What it does not do: `https://` (no TLS stack in this build; such URLs
//! are refused with a clear error and the scheme is not advertised), and
//! unpacking archives (`.tar.gz`, `.tgz`, `.zip`, …): they are kept as files
//! and a warning is logged; mode `dir`, which needs unpacking, is refused. A
//! plain `.tar` is never unpacked, as in go-getter v1.

mod download;
pub mod source;

use std::sync::RwLock;
use std::time::Duration;

use drover_plugin_sdk::schemars::JsonSchema;
use drover_plugin_sdk::{
    AgentInfo, FetchMode, FetchRequest, Fetched, Fetcher, PluginError, PluginMeta, Result,
};
use serde::Deserialize;

use source::Source;

/// `plugin "http" { config { ... } }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct Config {
    /// Seconds to wait for the server to accept the connection, answer, or
    /// send more of the body before the download fails (retryably).
    pub read_timeout_seconds: u64,
    /// Largest download accepted, in bytes (Nomad's `http_max_size`, 100 GB).
    pub max_size_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            read_timeout_seconds: 60,
            max_size_bytes: 100_000_000_000,
        }
    }
}

impl Config {
    fn read_timeout(&self) -> Duration {
        Duration::from_secs(self.read_timeout_seconds.max(1))
    }
}

/// The fetcher.
#[derive(Debug, Default)]
pub struct HttpFetcher {
    config: RwLock<Config>,
}

impl HttpFetcher {
    /// A fetcher with `config` already applied (for tests and embedding).
    pub fn with_config(config: Config) -> Self {
        Self {
            config: RwLock::new(config),
        }
    }

    fn config(&self) -> Config {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }
}

#[drover_plugin_sdk::tonic::async_trait]
impl Fetcher for HttpFetcher {
    type Config = Config;

    fn meta(&self) -> PluginMeta {
        PluginMeta {
            name: "http",
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    async fn set_config(&self, config: Config, _agent: AgentInfo) -> Result<()> {
        if let Ok(mut slot) = self.config.write() {
            *slot = config;
        }
        Ok(())
    }

    fn schemes(&self) -> Vec<String> {
        vec!["http".into()]
    }

    async fn fetch(&self, request: FetchRequest) -> Result<Fetched> {
        let source = Source::parse(&request.source)?;
        match source.scheme.as_str() {
            "http" => {}
            "https" => {
                return Err(PluginError::invalid(format!(
                    "{}: https is not supported: drover-fetcher-http is built without TLS; serve the artifact over http or install a fetcher that handles https",
                    source.url
                )));
            }
            other => {
                return Err(PluginError::invalid(format!(
                    "{}: scheme {other:?} is not handled by drover-fetcher-http (only http)",
                    source.url
                )));
            }
        }
        let target = match request.mode {
            FetchMode::File => request.destination.clone(),
            FetchMode::Any => {
                if let Some(kind) = &source.archive {
                    tracing::warn!(url = %source.url, archive = %kind, "archives are not unpacked by this fetcher; keeping the download as a file (add options {{ archive = \"false\" }} to silence this)");
                }
                request.destination.join(source.file_name()?)
            }
            FetchMode::Dir => {
                return Err(PluginError::invalid(format!(
                    "{}: mode \"dir\" needs the download unpacked, and drover-fetcher-http does not unpack archives; use mode \"file\" or \"any\"",
                    source.url
                )));
            }
        };
        if !target.starts_with(&request.root) || target == request.root {
            return Err(PluginError::invalid(format!(
                "{}: target {} is outside the allocation directory {}",
                source.url,
                target.display(),
                request.root.display()
            )));
        }
        let bytes = download::to_file(&source, &request.headers, &target, &self.config()).await?;
        let written = target
            .strip_prefix(&request.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| target.display().to_string());
        tracing::info!(url = %source.url, path = %target.display(), bytes, "artifact downloaded");
        Ok(Fetched {
            written: vec![written],
            bytes,
        })
    }
}
