//! The client's own endpoints, `/v1/client/...` (reference §3.3, §3.4): an
//! allocation's files and logs, resource usage, restart and signal.
//!
//! Why a trait: the handlers need little from the client (where an allocation's
//! directory is, its usage, restart and signal), and reading files and logs is done
//! here, over that directory, with `drover_client`'s log reader. [`ClientApi`] is that
//! small surface; the agent passes its client as `HttpOptions::client`. An agent
//! without a client (a server-only agent) answers every client route with a 400.
//!
//! * [`fs`]: `/v1/client/fs/{ls,stat,cat,readat}/:alloc`, over [`paths`], which keeps
//!   every request inside the allocation directory.
//! * [`logs`]: `/v1/client/fs/logs/:alloc`, framed JSON or plain, with follow.
//! * [`allocation`]: `/v1/client/allocation/:id/{stats,restart,signal}` and
//!   `/v1/client/stats`.
//! * [`exec`]: `/v1/client/allocation/:id/exec`, a command in a task over a WebSocket.

pub mod allocation;
pub mod exec;
pub mod fs;
pub mod logs;
pub mod paths;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use axum::http::StatusCode;
use drover_types::api::client::{AllocResourceUsage, HostStats};

use super::error::{ApiError, ApiResult};
use super::respond::Ctx;

/// Why the client could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientApiError {
    /// No such allocation (or task) on this client: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be done as asked: 400.
    #[error("{0}")]
    BadRequest(String),
    /// The client's configuration forbids it (`disable_remote_exec`): 403.
    #[error("{0}")]
    Forbidden(String),
    /// The client cannot do it now (starting, shutting down): 503.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: 500.
    #[error("{0}")]
    Internal(String),
}

impl From<ClientApiError> for ApiError {
    fn from(e: ClientApiError) -> Self {
        let status = match &e {
            ClientApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ClientApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ClientApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ClientApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ClientApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// What the `/v1/client` handlers need from the agent's client.
#[async_trait]
pub trait ClientApi: Send + Sync + 'static {
    /// The root of allocation `alloc_id`'s directory on this node (Nomad's layout,
    /// `drover_client::AllocDir::path`). `NotFound` when this client has no such
    /// allocation (its ID is the full ID; the HTTP layer does not resolve prefixes).
    fn alloc_dir(&self, alloc_id: &str) -> Result<PathBuf, ClientApiError>;

    /// The allocation's latest resource usage.
    async fn alloc_stats(&self, alloc_id: &str) -> Result<AllocResourceUsage, ClientApiError>;

    /// The host's latest resource usage.
    async fn host_stats(&self) -> Result<HostStats, ClientApiError>;

    /// Restarts one task (`task`), every running task (`None`), or every task
    /// including prestart and poststart ones (`all_tasks`); the HTTP layer rejects a
    /// task together with `all_tasks`.
    async fn restart(
        &self,
        alloc_id: &str,
        task: Option<String>,
        all_tasks: bool,
    ) -> Result<(), ClientApiError>;

    /// Sends `signal` (a name such as `SIGHUP`, never empty) to one task or to all.
    async fn signal(
        &self,
        alloc_id: &str,
        task: Option<String>,
        signal: String,
    ) -> Result<(), ClientApiError>;

    /// Starts `query.command` in the running task `query.task`: the driver's answers
    /// to `input`. Dropping the answers ends the session (the driver kills the
    /// command).
    async fn exec(
        &self,
        alloc_id: &str,
        query: exec::ExecQuery,
        input: exec::ExecInput,
    ) -> Result<exec::ExecOutput, ClientApiError>;

    /// The HTTP API address of a server agent this client talks to, once one said:
    /// a client-only agent forwards the `/v1` requests it cannot answer there.
    fn server_http_addr(&self) -> Option<String> {
        None
    }
}

/// The answer of every client route on an agent without a client.
pub const NO_CLIENT: &str = "no client on this agent: the /v1/client endpoints need an agent with client { enabled = true }";

/// The agent's client, or the 400 of a server-only agent.
pub(crate) fn client_of(ctx: &Ctx) -> ApiResult<Arc<dyn ClientApi>> {
    ctx.state
        .client
        .clone()
        .ok_or_else(|| ApiError::bad_request(NO_CLIENT))
}

/// A 400 unless `alloc_id` is one non-empty path segment.
pub(crate) fn check_alloc_id(alloc_id: &str) -> ApiResult<()> {
    if alloc_id.is_empty() {
        return Err(ApiError::bad_request("missing allocation ID"));
    }
    if alloc_id == "." || alloc_id == ".." || alloc_id.contains(['/', '\\', '\0']) {
        return Err(ApiError::bad_request(format!(
            "invalid allocation ID {alloc_id:?}"
        )));
    }
    Ok(())
}

/// The allocation's directory, after [`check_alloc_id`].
pub(crate) fn alloc_root(client: &dyn ClientApi, alloc_id: &str) -> ApiResult<PathBuf> {
    check_alloc_id(alloc_id)?;
    Ok(client.alloc_dir(alloc_id)?)
}
