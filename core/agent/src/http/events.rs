//! `GET /v1/event/stream` (reference §3.8): NDJSON, one `{"Index":N,"Events":[…]}`
//! line per applied entry that has matching events, `{}` heartbeat lines when idle.
//!
//! `topic=Topic:key` (repeatable; bare `Topic` = `Topic:*`, `*` = every topic; none =
//! everything), `index=N` replays the buffered batches from index N on (0 = only new
//! events), `namespace` filters namespaced events (`*` = all). The stream is fed by
//! [`Backend::events_since`] and woken by [`Backend::wait_for`], so it cannot miss an
//! entry applied between the two calls. It ends when the client goes away or the
//! server shuts down.
//!
//! [`Backend::events_since`]: super::Backend::events_since
//! [`Backend::wait_for`]: super::Backend::wait_for

use super::error::{ApiError, ApiResult};
use super::respond::Ctx;
use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use axum::response::IntoResponse;
use bytes::Bytes;
use drover_state::{Event, EventBatch, Topic};
use std::convert::Infallible;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Which events a stream wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// `(None = any topic, key)`; empty = everything.
    topics: Vec<(Option<Topic>, String)>,
    /// `None` = every namespace.
    namespace: Option<String>,
}

impl EventFilter {
    /// Parses `topic` values and the namespace; unknown topics are a 400.
    pub fn parse<'a>(
        topics: impl Iterator<Item = &'a str>,
        namespace: &str,
    ) -> ApiResult<EventFilter> {
        let mut out = Vec::new();
        for t in topics {
            let (name, key) = t.split_once(':').unwrap_or((t, "*"));
            let key = if key.is_empty() { "*" } else { key };
            let topic = match name {
                "*" => None,
                n => Some(Topic::parse(n).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid topic {n:?}: expected one of Job, Allocation, Evaluation, \
                         Node, Deployment or *"
                    ))
                })?),
            };
            out.push((topic, key.to_string()));
        }
        Ok(EventFilter {
            topics: out,
            namespace: (namespace != "*").then(|| namespace.to_string()),
        })
    }

    /// Whether `e` passes.
    pub fn matches(&self, e: &Event) -> bool {
        if let Some(ns) = &self.namespace
            && !e.namespace.is_empty()
            && &e.namespace != ns
        {
            return false;
        }
        self.topics.is_empty()
            || self.topics.iter().any(|(t, key)| match t {
                Some(t) => e.matches(*t, key),
                None => key == "*" || e.key == *key || e.filter_keys.iter().any(|k| k == key),
            })
    }

    /// The batch's line (with its newline), `None` when no event passes.
    pub fn line(&self, batch: &EventBatch) -> Option<Bytes> {
        let events: Vec<Event> = batch
            .events
            .iter()
            .filter(|e| self.matches(e))
            .cloned()
            .collect();
        if events.is_empty() {
            return None;
        }
        let filtered = EventBatch {
            index: batch.index,
            events,
        };
        let mut v = serde_json::to_vec(&filtered).ok()?;
        v.push(b'\n');
        Some(Bytes::from(v))
    }
}

/// `GET /v1/event/stream`.
pub async fn stream(ctx: Ctx) -> ApiResult {
    let filter = EventFilter::parse(ctx.params.all("topic"), &ctx.params.namespace())?;
    let from: u64 = ctx.params.int("index")?.unwrap_or(0);
    let (tx, mut rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(pump(ctx, filter, from, tx));
    let body = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<Bytes, Infallible>))
    });
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// Feeds the channel until the client leaves or the server shuts down.
async fn pump(ctx: Ctx, filter: EventFilter, from: u64, tx: mpsc::Sender<Bytes>) {
    let backend = ctx.backend().clone();
    let heartbeat = ctx.state.opts.event_heartbeat;
    // Replay from `from` inclusive; 0 = only what is applied from now on.
    let mut cursor = if from == 0 {
        backend.view().applied_index()
    } else {
        from - 1
    };
    let mut last_sent = Instant::now();
    loop {
        let view = backend.view();
        for batch in backend.events_since(cursor) {
            cursor = cursor.max(batch.index);
            if let Some(line) = filter.line(&batch) {
                if tx.send(line).await.is_err() {
                    return;
                }
                last_sent = Instant::now();
            }
        }
        let next_beat = last_sent + heartbeat;
        let min = view.latest_index();
        tokio::select! {
            _ = backend.wait_for(&[], min, next_beat) => {}
            _ = tx.closed() => return,
            _ = ctx.shutdown.cancelled() => return,
        }
        if Instant::now() >= next_beat {
            if tx.send(Bytes::from_static(b"{}\n")).await.is_err() {
                return;
            }
            last_sent = Instant::now();
        }
    }
}
