//! The [`Fetcher`] trait an artifact fetcher plugin implements.
//!
//! A fetcher downloads a task's `artifact {}` into its directory before the
//! task starts. It names the URL schemes it handles; the host sends it every
//! artifact whose URL has one of them. Serve it with [`crate::serve_fetcher`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::driver::{AgentInfo, PluginMeta};
use crate::proto::v1;

pub use v1::FetchMode;

/// One artifact to download, as the host sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The interpolated URL with the artifact's `options {}` in its query
    /// string (`checksum`, `archive`, `filename`, …).
    pub source: String,
    /// Absolute path: a directory, or the file itself in [`FetchMode::File`].
    pub destination: PathBuf,
    pub mode: FetchMode,
    /// HTTP headers (`headers {}`).
    pub headers: BTreeMap<String, String>,
    /// Skip TLS certificate checks.
    pub insecure: bool,
    /// Absolute path nothing may be written outside of (the allocation directory).
    pub root: PathBuf,
}

/// What a fetch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Paths written, relative to [`FetchRequest::root`].
    pub written: Vec<String>,
    /// Bytes downloaded.
    pub bytes: u64,
}

/// An artifact fetcher. Implement it and call [`crate::serve_fetcher`] from `main`.
///
/// Errors: [`crate::PluginError::invalid`] when retrying cannot help (bad URL,
/// bad option, checksum mismatch, destination outside the root); any other
/// kind tells the host the fetch is worth retrying.
#[tonic::async_trait]
pub trait Fetcher: Send + Sync + 'static {
    /// The plugin's `config { ... }` block (see [`crate::Driver::Config`]).
    type Config: DeserializeOwned + JsonSchema + Default + Send + 'static;

    fn meta(&self) -> PluginMeta;

    /// Called with the decoded plugin config before any fetch.
    async fn set_config(&self, config: Self::Config, agent: AgentInfo) -> Result<()>;

    /// The URL schemes handled, lower case (`["http"]`).
    fn schemes(&self) -> Vec<String>;

    /// Download one artifact. It must appear at its final path only once it
    /// is complete and verified.
    async fn fetch(&self, request: FetchRequest) -> Result<Fetched>;
}
