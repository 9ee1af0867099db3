//! Why an entry was rejected or a snapshot could not be restored.
//!
//! A rejected entry changes nothing but the applied index (validation runs on a
//! copy-on-write working set that is dropped on error), and every replica rejects it the
//! same way. The error travels back to the proposer inside the apply response, so it is
//! serializable; the HTTP layer maps [`ApplyError::NotFound`] to 404,
//! [`ApplyError::EnforceIndex`]/[`ApplyError::Invalid`] to 400 and the rest to 500.

use serde::{Deserialize, Serialize};

/// A log entry that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApplyError {
    /// The entry is not a valid JSON command.
    #[error("malformed log entry: {reason}")]
    Decode {
        /// serde's message.
        reason: String,
    },
    /// The entry was written by a newer (or unknown) format.
    #[error("unsupported log entry version {version} (this server reads version 1)")]
    UnsupportedVersion {
        /// The entry's `V`.
        version: u32,
    },
    /// A referenced object does not exist.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// `job`, `node`, `alloc`, `eval`, `deployment`, `job version`.
        kind: String,
        /// Its ID (namespace-qualified for jobs: `ns/id`).
        id: String,
    },
    /// `EnforceIndex` was set and the job's modify index differs.
    #[error("Enforcing job modify index {expected}: {}", match (expected, actual) {
        (_, None) => "job does not exist".to_string(),
        (0, Some(_)) => "job already exists".to_string(),
        (_, Some(a)) => format!("job exists with conflicting job modify index: {a}"),
    })]
    EnforceIndex {
        /// The index the request expected.
        expected: u64,
        /// The job's current `JobModifyIndex`, `None` when the job does not exist.
        actual: Option<u64>,
    },
    /// A field breaks a rule.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, e.g. `Job.ID`, `Allocations[3].Job`.
        field: String,
        /// The rule.
        reason: String,
    },
}

impl ApplyError {
    pub(crate) fn not_found(kind: &str, id: impl Into<String>) -> Self {
        ApplyError::NotFound {
            kind: kind.to_string(),
            id: id.into(),
        }
    }
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApplyError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A snapshot that could not be restored; the store is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// Not a snapshot document.
    #[error("malformed state snapshot: {0}")]
    Decode(String),
    /// Written by a newer (or unknown) format.
    #[error("unsupported state snapshot version {0} (this server reads versions 1 and 2)")]
    UnsupportedVersion(u32),
    /// Two rows with the same key.
    #[error("state snapshot has duplicate {table} key {key:?}")]
    Duplicate {
        /// Table name.
        table: &'static str,
        /// The key.
        key: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nomad_texts() {
        let e = ApplyError::EnforceIndex {
            expected: 7,
            actual: None,
        };
        assert_eq!(
            e.to_string(),
            "Enforcing job modify index 7: job does not exist"
        );
        let e = ApplyError::EnforceIndex {
            expected: 7,
            actual: Some(9),
        };
        assert_eq!(
            e.to_string(),
            "Enforcing job modify index 7: job exists with conflicting job modify index: 9"
        );
        assert_eq!(
            ApplyError::not_found("job", "default/web").to_string(),
            "job \"default/web\" not found"
        );
    }
}
