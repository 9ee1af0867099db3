//! The Nomad-compatible `/v1` HTTP API (reference §3), served by axum on port 4646.
//!
//! Why this shape: handlers only translate between HTTP and a [`Backend`], the
//! server's RPC surface (`Job.Register`, `Node.UpdateDrain`, …) plus consistent state
//! snapshots; Raft and the schedulers stay behind it. The agent serves it over
//! [`crate::ServerBackend`] (a running `drover_server::Server`), and the tests drive
//! that same pairing over real sockets. Bodies are `drover_types::api`'s.
//!
//! * One file per resource: [`jobs`] (`/v1/jobs*`, `/v1/validate/job`), [`job`]
//!   (`/v1/job/:id` and its sub-resources), [`allocs`], [`evals`], [`nodes`],
//!   [`agent`] (agent, status, regions, operator), [`events`], [`metrics`].
//! * [`client`]: the client's own routes (`/v1/client/*`: files, logs, stats,
//!   restart, signal) over a [`ClientApi`] given in [`HttpOptions::client`].
//! * Cross-cutting: [`query`] (parameters, blocking options), [`blocking`] (blocking
//!   queries), [`page`] (the list options `filter`, `per_page`, `next_token`,
//!   `reverse`; filters are [`bexpr`] expressions), [`respond`] (bodies in and out,
//!   headers), [`error`] (the one mapping of errors to status codes and texts).
//!
//! ```no_run
//! # async fn run(server: drover_server::Server) -> std::io::Result<()> {
//! use drover_agent::ServerBackend;
//! use drover_agent::http::{router, serve};
//! use std::sync::Arc;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4646").await?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let backend = ServerBackend::new(server, Default::default());
//! serve(listener, router(Arc::new(backend)), shutdown).await
//! # }
//! ```

pub mod agent;
pub mod allocs;
pub mod backend;
pub mod bexpr;
pub mod blocking;
pub mod client;
pub mod error;
pub mod evals;
pub mod events;
pub mod job;
mod job_actions;
mod job_reads;
pub mod jobs;
pub mod metrics;
pub mod nodes;
pub mod page;
pub mod query;
pub mod respond;

pub use backend::{Backend, BackendError, BackendResult, QueryMeta};
pub use client::{ClientApi, ClientApiError};
pub use error::{ApiError, ApiResult};

use axum::Router;
use axum::extract::Extension;
use axum::response::Redirect;
use axum::routing::{MethodRouter, any, get, post};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Default request body limit: 16 MiB (413 beyond).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;
/// Default interval of the event stream's `{}` heartbeat lines.
pub const DEFAULT_EVENT_HEARTBEAT: Duration = Duration::from_secs(10);

/// Tunables of the API.
#[derive(Clone)]
pub struct HttpOptions {
    /// Request bodies larger than this are answered 413.
    pub max_body_bytes: usize,
    /// Event stream heartbeat interval.
    pub event_heartbeat: Duration,
    /// The agent's client, behind `/v1/client/*`; `None` on a server-only agent
    /// (those routes answer 400).
    pub client: Option<Arc<dyn ClientApi>>,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("event_heartbeat", &self.event_heartbeat)
            .field("client", &self.client.is_some())
            .finish()
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            event_heartbeat: DEFAULT_EVENT_HEARTBEAT,
            client: None,
        }
    }
}

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The server behind the API.
    pub backend: Arc<dyn Backend>,
    /// Tunables.
    pub opts: Arc<HttpOptions>,
    /// The agent's client, when it runs one.
    pub client: Option<Arc<dyn ClientApi>>,
}

/// The shutdown signal, attached to requests by [`serve`].
#[derive(Clone)]
pub(crate) struct Shutdown(pub(crate) CancellationToken);

/// The `/v1` router with default options.
pub fn router(backend: Arc<dyn Backend>) -> Router {
    router_with(backend, HttpOptions::default())
}

async fn invalid_method() -> ApiError {
    ApiError::invalid_method()
}

async fn not_found() -> ApiError {
    ApiError::not_found("404 page not found")
}

/// Any method not routed is Nomad's 405 `Invalid method`.
fn m(r: MethodRouter<AppState>) -> MethodRouter<AppState> {
    r.fallback(invalid_method)
}

/// The `/v1` router.
pub fn router_with(backend: Arc<dyn Backend>, opts: HttpOptions) -> Router {
    let state = AppState {
        backend,
        client: opts.client.clone(),
        opts: Arc::new(opts),
    };
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui/") }))
        .route(
            "/v1/jobs",
            m(get(jobs::list).post(jobs::register).put(jobs::register)),
        )
        .route("/v1/jobs/parse", m(post(jobs::parse).put(jobs::parse)))
        .route(
            "/v1/validate/job",
            m(post(jobs::validate).put(jobs::validate)),
        )
        .route("/v1/job/{*rest}", any(job::dispatch))
        .route("/v1/allocations", m(get(allocs::list)))
        .route("/v1/allocation/{*rest}", any(allocs::dispatch))
        .route("/v1/evaluations", m(get(evals::list)))
        .route("/v1/evaluation/{*rest}", any(evals::dispatch))
        .route("/v1/nodes", m(get(nodes::list)))
        .route("/v1/node/{*rest}", any(nodes::dispatch))
        .route("/v1/agent/self", m(get(agent::agent_self)))
        .route("/v1/agent/members", m(get(agent::members)))
        .route("/v1/agent/health", m(get(agent::health)))
        .route("/v1/status/leader", m(get(agent::leader)))
        .route("/v1/status/peers", m(get(agent::peers)))
        .route("/v1/regions", m(get(agent::regions)))
        .route(
            "/v1/operator/raft/configuration",
            m(get(agent::raft_configuration)),
        )
        .route("/v1/event/stream", m(get(events::stream)))
        .route("/v1/metrics", m(get(metrics::metrics)))
        .route("/v1/client/fs/logs/{alloc}", m(get(client::logs::logs)))
        .route("/v1/client/fs/ls/{alloc}", m(get(client::fs::ls)))
        .route("/v1/client/fs/stat/{alloc}", m(get(client::fs::stat)))
        .route("/v1/client/fs/cat/{alloc}", m(get(client::fs::cat)))
        .route("/v1/client/fs/readat/{alloc}", m(get(client::fs::readat)))
        .route("/v1/client/stats", m(get(client::allocation::host_stats)))
        .route(
            "/v1/client/allocation/{id}/stats",
            m(get(client::allocation::stats)),
        )
        .route(
            "/v1/client/allocation/{id}/restart",
            m(post(client::allocation::restart).put(client::allocation::restart)),
        )
        .route(
            "/v1/client/allocation/{id}/exec",
            m(get(client::exec::exec)),
        )
        .route(
            "/v1/client/allocation/{id}/signal",
            m(post(client::allocation::signal).put(client::allocation::signal)),
        )
        .fallback(not_found)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled: blocking queries
/// answer early and event streams end, then in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router.layer(Extension(Shutdown(shutdown.clone())));
    // Answers are small: without TCP_NODELAY a response written in two parts can wait
    // 40 ms for the client's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
