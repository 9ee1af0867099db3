//! The one place that maps errors to HTTP status codes and Nomad's texts.
//!
//! Nomad answers errors as `text/plain` with the message as the whole body
//! (`command/agent/http.go` `wrap`): 400 for bad input, 403, 404 `job not found`,
//! 405 `Invalid method`, 413 for oversized bodies, 500 for everything the RPC layer
//! rejects (including job validation, with the multierror text), 501 and 503.

use super::backend::BackendError;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// An error answer: status, body text, and headers (query meta on failed reads).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// The body, as clients see it.
    pub message: String,
    /// Extra headers (`X-Nomad-Index` … on blocking reads that found nothing); boxed
    /// to keep `Result<_, ApiError>` small.
    pub headers: Option<Box<HeaderMap>>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            headers: None,
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    /// 405 `Invalid method`.
    pub fn invalid_method() -> Self {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Invalid method")
    }
    /// 413, naming the limit.
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body too large: the limit is {limit} bytes"),
        )
    }
    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// With these headers added.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers.get_or_insert_default().extend(headers);
        self
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        let status = match &e {
            BackendError::NotFound(_) => StatusCode::NOT_FOUND,
            BackendError::BadRequest(_) => StatusCode::BAD_REQUEST,
            BackendError::PermissionDenied => StatusCode::FORBIDDEN,
            BackendError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            BackendError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BackendError::Validation(_) | BackendError::NoLeader | BackendError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.message).into_response();
        if let Some(h) = self.headers {
            resp.headers_mut().extend(*h);
        }
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

/// Handler result.
pub type ApiResult<T = Response> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use drover_types::ValidationError;

    #[test]
    fn backend_errors_map_to_nomad_codes() {
        let cases = [
            (
                BackendError::NotFound("job not found".into()),
                404,
                "job not found",
            ),
            (BackendError::BadRequest("x".into()), 400, "x"),
            (BackendError::NoLeader, 500, "No cluster leader"),
            (BackendError::PermissionDenied, 403, "Permission denied"),
            (BackendError::NotImplemented("later".into()), 501, "later"),
            (BackendError::Unavailable("busy".into()), 503, "busy"),
        ];
        for (e, code, text) in cases {
            let a = ApiError::from(e);
            assert_eq!((a.status.as_u16(), a.message.as_str()), (code, text));
        }
        let v = ApiError::from(BackendError::Validation(vec![ValidationError::new(
            vec![],
            "Missing job ID",
        )]));
        assert_eq!(v.status, 500);
        assert_eq!(v.message, "1 error occurred:\n\t* Missing job ID\n\n");
    }
}
