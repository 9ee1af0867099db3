//! Request context and the JSON in/out of every handler: bounded body reads with
//! Nomad's 400 texts (and the serde path, line and column of a bad value), JSON answers
//! with `?pretty`, and the `X-Nomad-*` meta headers.

use super::backend::Backend;
use super::backend::QueryMeta;
use super::error::{ApiError, ApiResult};
use super::query::Params;
use super::{AppState, Shutdown};
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// `X-Nomad-Index`.
pub const HEADER_INDEX: &str = "x-nomad-index";
/// `X-Nomad-KnownLeader`.
pub const HEADER_KNOWN_LEADER: &str = "x-nomad-knownleader";
/// `X-Nomad-LastContact`.
pub const HEADER_LAST_CONTACT: &str = "x-nomad-lastcontact";

/// What every handler gets: the backend, options, query, method and shutdown signal.
pub struct Ctx {
    /// Shared state.
    pub state: AppState,
    /// Decoded query.
    pub params: Params,
    /// The method.
    pub method: Method,
    /// `Content-Length`, when given.
    pub content_length: Option<u64>,
    /// Cancelled when the server shuts down: blocking reads and streams end early.
    pub shutdown: CancellationToken,
}

impl Ctx {
    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.state.backend
    }

    /// Reads the body (bounded by the configured limit → 413) and decodes it as JSON.
    /// An empty body is Nomad's 400 `Request body is empty`; a malformed one a 400 with
    /// the field path, line and column.
    pub async fn json_body<T: DeserializeOwned>(&self, body: Body) -> ApiResult<T> {
        let bytes = self.raw_body(body).await?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("Request body is empty"));
        }
        decode_json(&bytes)
    }

    /// Reads the body, bounded by the configured limit (413 beyond it).
    pub async fn raw_body(&self, body: Body) -> ApiResult<bytes::Bytes> {
        let limit = self.state.opts.max_body_bytes;
        if self.content_length.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::too_large(limit));
        }
        axum::body::to_bytes(body, limit).await.map_err(|e| {
            if is_length_limit(&e) {
                ApiError::too_large(limit)
            } else {
                ApiError::bad_request(format!("failed to read request body: {e}"))
            }
        })
    }

    /// A 200 JSON answer.
    pub fn json<T: Serialize>(&self, value: &T) -> ApiResult {
        json_response(
            self.params.pretty(),
            StatusCode::OK,
            value,
            HeaderMap::new(),
        )
    }

    /// A 200 JSON answer to a write, with `X-Nomad-Index`.
    pub fn write_json<T: Serialize>(&self, index: u64, value: &T) -> ApiResult {
        let mut h = HeaderMap::new();
        h.insert(HEADER_INDEX, HeaderValue::from(index));
        json_response(self.params.pretty(), StatusCode::OK, value, h)
    }

    /// Query-meta headers for a read at `index`.
    pub fn meta_headers(&self, index: u64) -> HeaderMap {
        meta_headers(index, self.backend().query_meta())
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let shutdown = parts
            .extensions
            .get::<Shutdown>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let content_length = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Ctx {
            state: state.clone(),
            params: Params::parse(parts.uri.query()),
            method: parts.method.clone(),
            content_length,
            shutdown,
        })
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Decodes JSON with serde's path to the bad value: `Job.TaskGroups[0].Count: invalid
/// type: string "x", expected i64 at line 1 column 42`. Field names match in any case,
/// as Nomad's (Go's) decoder does (`{"job": {"id": …}}`); map keys (meta, env) are
/// kept as written. Unknown fields are ignored.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let err = match serde_path_to_error::deserialize(drover_types::CaseInsensitive::new(value)) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let path = err.path().to_string();
    // The same error read straight from the text carries its line and column; use it
    // when it is about the same field (it is, unless the body's field names differ in
    // case from Nomad's).
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let message = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(strict) if strict.path().to_string() == path => strict.into_inner().to_string(),
        _ => err.into_inner().to_string(),
    };
    Err(if path == "." || path.is_empty() {
        ApiError::bad_request(message)
    } else {
        ApiError::bad_request(format!("{path}: {message}"))
    })
}

/// `X-Nomad-Index`, `X-Nomad-KnownLeader`, `X-Nomad-LastContact`.
pub fn meta_headers(index: u64, meta: QueryMeta) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(HEADER_INDEX, HeaderValue::from(index));
    h.insert(
        HEADER_KNOWN_LEADER,
        HeaderValue::from_static(if meta.known_leader { "true" } else { "false" }),
    );
    h.insert(HEADER_LAST_CONTACT, HeaderValue::from(meta.last_contact_ms));
    h
}

/// Serializes `value` (Go's `json` indent of 4 and a trailing newline with `pretty`).
pub fn json_response<T: Serialize>(
    pretty: bool,
    status: StatusCode,
    value: &T,
    headers: HeaderMap,
) -> ApiResult {
    let body = encode(pretty, value)
        .map_err(|e| ApiError::internal(format!("failed to encode response: {e}")))?;
    let mut resp = (status, body).into_response();
    resp.headers_mut().extend(headers);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// JSON bytes, pretty (4 spaces, trailing newline) or compact.
pub fn encode<T: Serialize>(pretty: bool, value: &T) -> serde_json::Result<Vec<u8>> {
    if !pretty {
        return serde_json::to_vec(value);
    }
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}

/// Serializes a shared state row without cloning it.
#[derive(Debug, Clone)]
pub struct Shared<T>(pub Arc<T>);

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

/// Header name helper for tests and callers.
pub fn header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

/// A response from parts (for non-JSON answers like Prometheus text).
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_path_and_position() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "PascalCase")]
        #[allow(dead_code)]
        struct W {
            count: i64,
        }
        let e = decode_json::<W>(b"{\n \"Count\": \"x\"}").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message.starts_with("Count: invalid type"),
            "{}",
            e.message
        );
        assert!(e.message.contains("line 2 column"), "{}", e.message);
        let e = decode_json::<W>(b"{\"Count\": 1} x").unwrap_err();
        assert!(e.message.contains("trailing characters"), "{}", e.message);
        let ok: W = decode_json(b"{\"Count\": 1, \"Extra\": {}}").unwrap();
        assert_eq!(ok.count, 1);
        assert_eq!(
            encode(true, &serde_json::json!({"a": 1})).unwrap(),
            b"{\n    \"a\": 1\n}\n"
        );
    }
}
