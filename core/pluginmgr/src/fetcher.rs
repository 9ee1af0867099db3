//! [`ManagedFetcher`]: the `Fetcher` service of a [`ManagedPlugin`],
//! following relaunches.
//!
//! Fetchers hold no state, so a call that fails because the process died
//! under it waits for the relaunched process and is sent once more: a fetch
//! is idempotent (a download appears at its path only when complete).

use std::future::Future;

use drover_proto::v1;
use drover_proto::v1::fetcher_client::FetcherClient;
use tonic::transport::Channel;

use crate::driver::died;
use crate::error::Error;
use crate::supervisor::ManagedPlugin;

/// Typed `Fetcher` client bound to a [`ManagedPlugin`]. Clones share state.
#[derive(Debug, Clone)]
pub struct ManagedFetcher {
    plugin: ManagedPlugin,
}

impl ManagedFetcher {
    pub(crate) fn new(plugin: ManagedPlugin) -> Self {
        Self { plugin }
    }

    /// The plugin's name.
    pub fn name(&self) -> String {
        self.plugin.name()
    }

    /// The URL schemes the fetcher handles, lower-cased.
    pub async fn schemes(&self) -> Result<Vec<String>, Error> {
        let r = self
            .call("Schemes", |mut c| async move {
                c.schemes(v1::SchemesRequest {}).await
            })
            .await?;
        Ok(r.schemes.iter().map(|s| s.to_ascii_lowercase()).collect())
    }

    /// Download one artifact.
    pub async fn fetch(&self, request: v1::FetchRequest) -> Result<v1::FetchResponse, Error> {
        self.call("Fetch", |mut c| {
            let request = request.clone();
            async move { c.fetch(request).await }
        })
        .await
    }

    async fn call<T, F, Fut>(&self, name: &'static str, f: F) -> Result<T, Error>
    where
        F: Fn(FetcherClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let shared = &self.plugin.shared;
        let (generation, process) = shared.ready().await?;
        match f(process.fetcher_client()).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(status) if died(&status, &process) => {
                tracing::debug!(plugin = %shared.label, call = name, error = %status, "fetcher call failed in transport; retrying on the next process");
                shared
                    .wait_for_generation(generation + 1, shared.opts.relaunch_wait())
                    .await?;
            }
            Err(status) => return Err(Error::rpc(&shared.label, name, &status)),
        }
        let (_, process) = shared.ready().await?;
        f(process.fetcher_client())
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::rpc(&shared.label, name, &status))
    }
}
