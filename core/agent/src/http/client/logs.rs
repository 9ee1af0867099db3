//! `GET /v1/client/fs/logs/:alloc` (reference §3.4, §7.2): a task's stdout or stderr,
//! its rotated files `alloc/logs/<task>.<type>.N` read in index order by
//! `drover_client`'s log reader.
//!
//! Parameters: `task` and `type` (`stdout`/`stderr`) required, `offset` (bytes) from
//! `origin` (`start`, default, or `end`), `follow`, `plain`. The default answer is a
//! stream of JSON `StreamFrame`s (`Data` base64, `File` relative to the allocation
//! directory, `Offset` just after the data), with a `{}` heartbeat every second while
//! following; `plain=true` answers the bytes themselves. A followed stream ends when
//! the caller goes away or the agent shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use axum::response::IntoResponse;
use base64::Engine;
use bytes::Bytes;
use drover_client::LogKind;
use drover_client::allocdir::{LOG_DIR_NAME, SHARED_ALLOC_NAME};
use drover_client::logmon::{LogChunk, Origin, ReadOptions, log_files, stream_logs};
use drover_types::api::client::StreamFrame;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::paths::{io_error, resolve};
use super::{alloc_root, client_of};
use crate::http::error::{ApiError, ApiResult};
use crate::http::respond::Ctx;

/// Interval of the `{}` frames while a framed, followed stream is idle.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// What one request asked for.
#[derive(Debug, Clone)]
struct LogRequest {
    task: String,
    kind: LogKind,
    plain: bool,
    opts: ReadOptions,
}

fn parse(ctx: &Ctx) -> ApiResult<LogRequest> {
    let task = match ctx.params.get("task") {
        None | Some("") => return Err(ApiError::bad_request("must provide task name")),
        Some(t) if t == "." || t == ".." || t.contains(['/', '\\', '\0']) => {
            return Err(ApiError::bad_request(format!("invalid task name {t:?}")));
        }
        Some(t) => t.to_string(),
    };
    let kind = match ctx.params.get("type") {
        None | Some("") => {
            return Err(ApiError::bad_request(
                "must provide log type (stdout or stderr)",
            ));
        }
        Some(t) => LogKind::parse(t).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid log type {t:?}: must be \"stdout\" or \"stderr\""
            ))
        })?,
    };
    let origin = match ctx.params.get("origin") {
        None | Some("") => Origin::Start,
        Some(o) => {
            Origin::parse(o).ok_or_else(|| ApiError::bad_request("origin must be start or end"))?
        }
    };
    let offset: i64 = ctx.params.int("offset")?.unwrap_or(0);
    let offset = u64::try_from(offset).map_err(|_| {
        ApiError::bad_request(format!("offset must be zero or positive, found {offset}"))
    })?;
    Ok(LogRequest {
        task,
        kind,
        plain: ctx.params.flag("plain", false)?,
        opts: ReadOptions {
            origin,
            offset,
            follow: ctx.params.flag("follow", false)?,
            ..ReadOptions::default()
        },
    })
}

/// `GET /v1/client/fs/logs/:alloc`.
pub async fn logs(ctx: Ctx, UrlPath(alloc): UrlPath<String>) -> ApiResult {
    let client = client_of(&ctx)?;
    let req = parse(&ctx)?;
    let root = alloc_root(client.as_ref(), &alloc)?;
    let logs_dir = resolve(&root, &format!("{SHARED_ALLOC_NAME}/{LOG_DIR_NAME}"))?;
    let files = log_files(&logs_dir, &req.task, req.kind).map_err(|e| io_error(e, "alloc/logs"))?;
    if files.is_empty() {
        return Err(ApiError::not_found(format!(
            "log entry for task {:?} and log type {:?} not found",
            req.task,
            req.kind.as_str()
        )));
    }
    // Ends the reader when the agent shuts down or the caller goes away.
    let stop = ctx.shutdown.child_token();
    let chunks = stream_logs(
        logs_dir,
        req.task.clone(),
        req.kind,
        req.opts.clone(),
        stop.clone(),
    );
    let (tx, mut rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(pump(chunks, req.plain, req.opts.follow, tx, stop));
    let body = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<Bytes, Infallible>))
    });
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(if req.plain {
            "text/plain; charset=utf-8"
        } else {
            "application/json"
        }),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// Forwards the reader's chunks as plain bytes or frames until it ends, the caller
/// goes away or `stop` fires.
async fn pump(
    chunks: impl futures::Stream<Item = std::io::Result<LogChunk>> + Send + 'static,
    plain: bool,
    follow: bool,
    tx: mpsc::Sender<Bytes>,
    stop: CancellationToken,
) {
    let mut chunks = std::pin::pin!(chunks);
    let heartbeat = !plain && follow;
    loop {
        let next = tokio::select! {
            n = tokio::time::timeout(HEARTBEAT, chunks.next()) => n,
            _ = tx.closed() => break,
            _ = stop.cancelled() => break,
        };
        let bytes = match next {
            Ok(None) => break,
            Ok(Some(Ok(chunk))) if plain => Bytes::from(chunk.data),
            Ok(Some(Ok(chunk))) => frame(&chunk),
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %e, "reading task logs failed; ending the stream");
                break;
            }
            Err(_) if heartbeat => Bytes::from_static(b"{}\n"),
            Err(_) => continue,
        };
        if tx.send(bytes).await.is_err() {
            break;
        }
    }
    stop.cancel();
}

/// One JSON frame with its newline.
fn frame(chunk: &LogChunk) -> Bytes {
    let end = chunk.offset + chunk.data.len() as u64;
    let f = StreamFrame {
        offset: i64::try_from(end).unwrap_or(i64::MAX),
        data: base64::engine::general_purpose::STANDARD.encode(&chunk.data),
        file: format!("{SHARED_ALLOC_NAME}/{LOG_DIR_NAME}/{}", chunk.file),
        file_event: String::new(),
    };
    let mut v = serde_json::to_vec(&f).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}
