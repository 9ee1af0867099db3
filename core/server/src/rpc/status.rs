//! The one mapping from [`ServerError`] to gRPC status codes for the cluster RPC.

use drover_state::ApplyError;
use tonic::Status;

use crate::error::ServerError;

/// The gRPC status a failed request answers: not found → `NotFound`, bad request or
/// invalid job → `InvalidArgument`, not the leader or shutting down → `Unavailable`
/// (the client tries another server), rejected by the state machine → by its kind.
pub fn to_status(e: ServerError) -> Status {
    match e {
        ServerError::NotFound(m) => Status::not_found(m),
        ServerError::BadRequest(_) | ServerError::Validation(_) => {
            Status::invalid_argument(e.to_string())
        }
        ServerError::NoLeader { leader } => Status::unavailable(match leader {
            Some(l) => format!("not the cluster leader (the leader's raft address is {l})"),
            None => "No cluster leader".to_owned(),
        }),
        ServerError::Unavailable(m) => Status::unavailable(m),
        ServerError::Apply(a) => match a {
            ApplyError::NotFound { .. } => Status::not_found(a.to_string()),
            ApplyError::Invalid { .. } => Status::invalid_argument(a.to_string()),
            ApplyError::EnforceIndex { .. } => Status::failed_precondition(a.to_string()),
            ApplyError::Decode { .. } | ApplyError::UnsupportedVersion { .. } => {
                Status::internal(a.to_string())
            }
        },
        ServerError::Internal(m) => Status::internal(m),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn codes() {
        let cases = [
            (ServerError::not_found("node"), Code::NotFound),
            (ServerError::BadRequest("x".into()), Code::InvalidArgument),
            (ServerError::NoLeader { leader: None }, Code::Unavailable),
            (
                ServerError::NoLeader {
                    leader: Some("10.0.0.1:4648".into()),
                },
                Code::Unavailable,
            ),
            (
                ServerError::Unavailable("stopping".into()),
                Code::Unavailable,
            ),
            (
                ServerError::Apply(ApplyError::NotFound {
                    kind: "alloc".into(),
                    id: "a1".into(),
                }),
                Code::NotFound,
            ),
            (ServerError::Internal("boom".into()), Code::Internal),
        ];
        for (err, code) in cases {
            let text = err.to_string();
            let status = to_status(err);
            assert_eq!(status.code(), code, "{text}");
            assert!(!status.message().is_empty(), "{text}: a message");
        }
    }
}
