//! Blocking queries (`nomad/rpc.go` `blockingRPC`): with `?index=N`, run the read,
//! and while its index is not above N, wait for one of the tables it reads to move
//! (or the timeout: `wait`, default and max 300 s, plus jitter) and run it again.
//!
//! The read sees one consistent [`StateView`] per run; the answer carries the index the
//! read reports (`X-Nomad-Index`) even when it is an error (e.g. 404 after waiting).

use super::error::{ApiError, ApiResult};
use super::page::{HEADER_NEXT_TOKEN, ListOptions, PageKey};
use super::respond::{Ctx, json_response};
use axum::http::StatusCode;
use axum::http::header::{HeaderMap, HeaderValue};
use drover_state::{StateView, Table};
use serde::Serialize;
use tokio::time::Instant;

/// The highest index among `tables`.
pub fn tables_index(view: &StateView, tables: &[Table]) -> u64 {
    tables.iter().map(|t| view.index(*t)).max().unwrap_or(0)
}

/// Runs `read` as a blocking query over `tables`. `read` returns its result and the
/// index that describes it (usually [`tables_index`], a single object's `ModifyIndex`).
pub async fn blocking_read<T, F>(ctx: &Ctx, tables: &[Table], read: F) -> ApiResult
where
    T: Serialize,
    F: Fn(&StateView) -> (ApiResult<T>, u64),
{
    blocking_with_headers(ctx, tables, |v| {
        let (result, index) = read(v);
        (result.map(|body| (body, HeaderMap::new())), index)
    })
    .await
}

/// [`blocking_read`] whose read also adds headers to a successful answer.
async fn blocking_with_headers<T, F>(ctx: &Ctx, tables: &[Table], read: F) -> ApiResult
where
    T: Serialize,
    F: Fn(&StateView) -> (ApiResult<(T, HeaderMap)>, u64),
{
    let opts = ctx.params.blocking()?;
    let backend = ctx.backend();
    let deadline = Instant::now() + opts.timeout();
    let mut view = backend.view();
    loop {
        let (result, index) = read(&view);
        let done = opts.index == 0
            || index > opts.index
            || Instant::now() >= deadline
            || ctx.shutdown.is_cancelled();
        if done {
            let mut headers = ctx.meta_headers(index);
            return match result {
                Ok((body, extra)) => {
                    headers.extend(extra);
                    json_response(ctx.params.pretty(), StatusCode::OK, &body, headers)
                }
                Err(e) => Err(e.with_headers(headers)),
            };
        }
        let min = tables_index(&view, tables).max(opts.index);
        view = tokio::select! {
            v = backend.wait_for(tables, min, deadline) => v,
            _ = ctx.shutdown.cancelled() => backend.view(),
        };
    }
}

/// A blocking list over `tables` whose index is the tables' index.
pub async fn blocking_list<T, F>(ctx: &Ctx, tables: &[Table], list: F) -> ApiResult
where
    T: Serialize,
    F: Fn(&StateView) -> ApiResult<T>,
{
    blocking_read(ctx, tables, |v| (list(v), tables_index(v, tables))).await
}

/// A blocking list over `tables` with the list options (`filter`, `per_page`,
/// `next_token`, `reverse`) applied to what `list` returns; the options are read (and
/// rejected with a 400) before anything blocks.
pub async fn blocking_page<T, F>(ctx: &Ctx, tables: &[Table], key: PageKey, list: F) -> ApiResult
where
    T: Serialize,
    F: Fn(&StateView) -> ApiResult<Vec<T>>,
{
    let opts = ListOptions::from_params(&ctx.params)?;
    blocking_with_headers(ctx, tables, |v| {
        let result = list(v)
            .and_then(|items| opts.apply(items, key))
            .and_then(|(page, next)| {
                let mut h = HeaderMap::new();
                if let Some(t) = next {
                    // IDs may hold UTF-8 (sent as raw bytes, as Go does); only control
                    // characters cannot go in a header.
                    let t = HeaderValue::from_bytes(t.as_bytes()).map_err(|_| {
                        ApiError::internal(format!("next token {t:?} is not a valid header value"))
                    })?;
                    h.insert(HEADER_NEXT_TOKEN, t);
                }
                Ok((page, h))
            });
        (result, tables_index(v, tables))
    })
    .await
}
