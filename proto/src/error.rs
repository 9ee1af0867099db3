//! The one mapping between plugin errors and gRPC status codes.
//!
//! Plugins return [`PluginError`]; the SDK turns it into a `tonic::Status`
//! with [`PluginError::into_status`]; the host turns a status back with
//! [`PluginError::from_status`]. Nothing else in Drover picks gRPC codes for
//! plugin calls.

use tonic::{Code, Status};

/// What kind of failure a plugin call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a task config, a signal name, a handle that does not parse.
    InvalidArgument,
    /// The task ID is unknown to the plugin.
    NotFound,
    /// The task ID is already in use.
    AlreadyExists,
    /// The call is not possible in the current state (e.g. driver disabled).
    FailedPrecondition,
    /// The plugin does not implement this optional call.
    Unimplemented,
    /// Something outside the plugin is not reachable (runtime daemon down).
    Unavailable,
    /// A deadline passed.
    DeadlineExceeded,
    /// A bug or an unexpected failure.
    Internal,
}

/// An error a plugin answers a call with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: String,
}

impl PluginError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn not_found(task_id: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("task {task_id:?} is not known to this driver"),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn unimplemented(call: &str) -> Self {
        Self::new(
            ErrorKind::Unimplemented,
            format!("{call} is not supported by this plugin"),
        )
    }

    pub fn code(&self) -> Code {
        match self.kind {
            ErrorKind::InvalidArgument => Code::InvalidArgument,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::FailedPrecondition => Code::FailedPrecondition,
            ErrorKind::Unimplemented => Code::Unimplemented,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorKind::Internal => Code::Internal,
        }
    }

    pub fn into_status(self) -> Status {
        Status::new(self.code(), self.message)
    }

    /// Map a status received from a plugin. Codes a plugin should not send
    /// (e.g. `Unknown`, `Cancelled`) become `Unavailable` when the transport
    /// failed and `Internal` otherwise.
    pub fn from_status(status: &Status) -> Self {
        let kind = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
            Code::NotFound => ErrorKind::NotFound,
            Code::AlreadyExists => ErrorKind::AlreadyExists,
            Code::FailedPrecondition => ErrorKind::FailedPrecondition,
            Code::Unimplemented => ErrorKind::Unimplemented,
            Code::Unavailable | Code::Cancelled | Code::Aborted => ErrorKind::Unavailable,
            Code::DeadlineExceeded => ErrorKind::DeadlineExceeded,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, status.message())
    }
}

impl From<PluginError> for Status {
    fn from(e: PluginError) -> Self {
        e.into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_keeps_kind_and_message() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::FailedPrecondition,
            ErrorKind::Unimplemented,
            ErrorKind::Unavailable,
            ErrorKind::DeadlineExceeded,
            ErrorKind::Internal,
        ] {
            let e = PluginError::new(kind, "boom");
            assert_eq!(PluginError::from_status(&e.clone().into_status()), e);
        }
    }
}
