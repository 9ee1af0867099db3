//! The allocation endpoints the `alloc` commands call: lookups and stop on the
//! servers (`/v1/allocation*`), restart, signal and logs on the allocation's client
//! (`/v1/client/*`, reference §3.3, §3.4), and `/v1/agent/self` for `node status -self`.

use drover_types::api::AllocStopResponse;
use drover_types::api::client::{AllocRestartRequest, AllocSignalRequest};
use drover_types::{AllocListStub, Allocation};
use hyper::Method;
use hyper::body::Incoming;
use serde_json::Value;

use super::{ApiError, Client, escape};

/// Which log and from where (`/v1/client/fs/logs` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsQuery {
    /// Task name.
    pub task: String,
    /// `stdout` or `stderr`.
    pub kind: &'static str,
    /// Keep the stream open for new bytes.
    pub follow: bool,
    /// `start` or `end`.
    pub origin: &'static str,
    /// Bytes from the origin.
    pub offset: u64,
}

impl Client {
    /// `GET /v1/allocations?prefix=`.
    pub async fn allocations(&self, prefix: &str) -> Result<Vec<AllocListStub>, ApiError> {
        self.get("/v1/allocations", &[("prefix", prefix)]).await
    }

    /// `GET /v1/allocation/:id`.
    pub async fn allocation(&self, id: &str) -> Result<Allocation, ApiError> {
        self.get(&format!("/v1/allocation/{}", escape(id)), &[])
            .await
    }

    /// `POST /v1/allocation/:id/stop`.
    pub async fn alloc_stop(&self, id: &str) -> Result<AllocStopResponse, ApiError> {
        let path = format!("/v1/allocation/{}/stop", escape(id));
        self.write::<Value, _>(Method::POST, &path, &[], None).await
    }

    /// `POST /v1/client/allocation/:id/restart`.
    pub async fn alloc_restart(&self, id: &str, req: &AllocRestartRequest) -> Result<(), ApiError> {
        let path = format!("/v1/client/allocation/{}/restart", escape(id));
        self.write::<_, Value>(Method::POST, &path, &[], Some(req))
            .await
            .map(drop)
    }

    /// `POST /v1/client/allocation/:id/signal`.
    pub async fn alloc_signal(&self, id: &str, req: &AllocSignalRequest) -> Result<(), ApiError> {
        let path = format!("/v1/client/allocation/{}/signal", escape(id));
        self.write::<_, Value>(Method::POST, &path, &[], Some(req))
            .await
            .map(drop)
    }

    /// `GET /v1/agent/self`, as JSON (its `stats` sections vary by role).
    pub async fn agent_self(&self) -> Result<Value, ApiError> {
        self.get("/v1/agent/self", &[]).await
    }

    /// `GET /v1/client/fs/logs/:id?plain=true…`: the raw bytes as a stream.
    pub async fn logs(&self, id: &str, q: &LogsQuery) -> Result<Incoming, ApiError> {
        let offset = q.offset.to_string();
        let mut query = vec![
            ("task", q.task.as_str()),
            ("type", q.kind),
            ("plain", "true"),
            ("origin", q.origin),
            ("offset", offset.as_str()),
        ];
        if q.follow {
            query.push(("follow", "true"));
        }
        let path = format!("/v1/client/fs/logs/{}", escape(id));
        self.stream(Method::GET, &path, &query).await
    }
}
