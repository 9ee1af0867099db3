//! The state machine Raft applies committed entries to.
//!
//! Raft only orders opaque byte entries; what they mean is the state machine's
//! business. It must be deterministic and pure (no clocks, no I/O, no
//! randomness): every server applies the same entries in the same order and
//! must end in the same state, and a restart rebuilds it from the last
//! snapshot plus the log after it.

use std::collections::BTreeMap;

/// Error a state machine returns when a snapshot cannot be restored.
pub type RestoreError = Box<dyn std::error::Error + Send + Sync>;

/// Builds a snapshot image away from the Raft loop.
pub type SnapshotJob = Box<dyn FnOnce() -> Vec<u8> + Send>;

/// A snapshot image: ready now, or a job that builds it from state captured at the
/// moment of the call (the node runs it on a blocking thread and compacts the log
/// when it finishes, while applies go on).
pub enum SnapshotImage {
    /// The image itself.
    Ready(Vec<u8>),
    /// The image, once the job has run.
    Deferred(SnapshotJob),
}

/// A deterministic state machine driven by the Raft log.
pub trait StateMachine: Send + 'static {
    /// Applies the committed entry at `index` and returns the response handed
    /// to the proposer. Bad entries must be answered in the response, not by
    /// panicking: the entry is committed and every server will apply it.
    fn apply(&mut self, index: u64, entry: &[u8]) -> Vec<u8>;

    /// A serialized image of the whole state, as of the last applied entry.
    fn snapshot(&self) -> Vec<u8>;

    /// The image [`StateMachine::snapshot`] would return now, possibly as a job
    /// to run elsewhere: a state machine with cheap consistent views returns
    /// [`SnapshotImage::Deferred`] so that encoding a large state does not stall
    /// the Raft loop. The default encodes at once.
    fn snapshot_image(&self) -> SnapshotImage {
        SnapshotImage::Ready(self.snapshot())
    }

    /// Replaces the whole state with a [`StateMachine::snapshot`] image.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError>;
}

/// A state machine shared with readers: the node applies under the lock, and
/// readers lock it to look. The server's real state store will offer cheaper
/// consistent snapshots; this is enough for tests and simple callers.
impl<F: StateMachine> StateMachine for std::sync::Arc<std::sync::Mutex<F>> {
    fn apply(&mut self, index: u64, entry: &[u8]) -> Vec<u8> {
        self.lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(index, entry)
    }

    fn snapshot(&self) -> Vec<u8> {
        self.lock().unwrap_or_else(|p| p.into_inner()).snapshot()
    }

    fn snapshot_image(&self) -> SnapshotImage {
        self.lock()
            .unwrap_or_else(|p| p.into_inner())
            .snapshot_image()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        self.lock()
            .unwrap_or_else(|p| p.into_inner())
            .restore(snapshot)
    }
}

/// A tiny key-value state machine for tests and examples.
///
/// An entry is `key=value` (UTF-8); applying it stores the value and counts
/// how many times the key was written, so a test can tell a duplicated entry
/// from a lost one. The response is the new write count in decimal. An entry
/// without `=` is answered with `error: …` and changes nothing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KvStateMachine {
    /// key → (value, number of writes).
    pub entries: BTreeMap<String, (String, u64)>,
    /// Index of the last applied entry.
    pub last_index: u64,
}

impl KvStateMachine {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|(v, _)| v.as_str())
    }
}

impl StateMachine for KvStateMachine {
    fn apply(&mut self, index: u64, entry: &[u8]) -> Vec<u8> {
        self.last_index = index;
        let Ok(text) = std::str::from_utf8(entry) else {
            return b"error: entry is not UTF-8".to_vec();
        };
        let Some((key, value)) = text.split_once('=') else {
            return b"error: entry is not key=value".to_vec();
        };
        let slot = self.entries.entry(key.to_owned()).or_default();
        slot.0 = value.to_owned();
        slot.1 += 1;
        slot.1.to_string().into_bytes()
    }

    fn snapshot(&self) -> Vec<u8> {
        // A map of strings and integers always serializes.
        serde_json::to_vec(&(&self.entries, self.last_index)).unwrap_or_default()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let (entries, last_index) = serde_json::from_slice(snapshot)?;
        self.entries = entries;
        self.last_index = last_index;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_counts_writes_and_round_trips() {
        let mut kv = KvStateMachine::default();
        assert_eq!(kv.apply(1, b"a=1"), b"1");
        assert_eq!(kv.apply(2, b"a=2"), b"2");
        assert!(kv.apply(3, b"junk").starts_with(b"error"));
        let mut other = KvStateMachine::default();
        other.restore(&kv.snapshot()).expect("restore");
        assert_eq!(other, kv);
        assert_eq!(other.get("a"), Some("2"));
        assert!(other.restore(b"not json").is_err());
    }
}
