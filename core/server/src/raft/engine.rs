//! The ordered key-value store under the Raft log.
//!
//! [`RaftStorage`](super::RaftStorage) keeps entries, hard state, conf state
//! and snapshots as keys in a [`KvEngine`]. The trait is small on purpose so
//! the engine can be swapped (sled 0.34.7 today; its 1.0 alphas change the
//! format) and wrapped, e.g. to count flushes in a test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::RaftError;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One write in a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Store `value` under `key`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Vec<u8>),
}

/// Writes applied atomically, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteBatch {
    /// The writes, in order.
    pub ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// Stages `key = value`.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put(key.into(), value.into()));
    }

    /// Stages the removal of `key`.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete(key.into()));
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An ordered key-value store with atomic batches and an explicit flush.
pub trait KvEngine: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RaftError>;

    /// Visits the pairs with `start <= key < end` in key order until `visit`
    /// returns `false`.
    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), RaftError>;

    /// The last pair with `start <= key < end`.
    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, RaftError>;

    /// Applies `batch` atomically. Not durable until [`KvEngine::flush`].
    fn write(&self, batch: WriteBatch) -> Result<(), RaftError>;

    /// Makes every write so far durable (fsync).
    fn flush(&self) -> Result<(), RaftError>;
}

/// [`KvEngine`] on sled 0.34.7, in `<data_dir>/server/raft`.
pub struct SledEngine {
    db: sled::Db,
    path: PathBuf,
}

/// How long [`SledEngine::open`] waits for a lock a previous instance in this
/// process is still releasing.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl SledEngine {
    /// Opens (or creates) the Raft store under `<data_dir>/server/`.
    pub fn open(data_dir: &Path) -> Result<Self, RaftError> {
        let path = data_dir.join("server").join("raft");
        // We flush once per Ready ourselves; sled's timer flush would only add
        // fsyncs that nothing waits for.
        let config = sled::Config::new().path(&path).flush_every_ms(None);
        // sled releases its file lock from background I/O threads some time
        // after the last handle of a previous instance in this process was
        // dropped (a server restarted in-process). Another process holding
        // the lock still fails after the grace period, with sled's message.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().starts_with("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => {
                    break other.map_err(|e| {
                        RaftError::Storage(format!(
                            "open {}: {e} (is another Drover server using this data_dir?)",
                            path.display()
                        ))
                    })?;
                }
            }
        };
        Ok(Self { db, path })
    }

    fn err(&self, op: &str, e: sled::Error) -> RaftError {
        RaftError::Storage(format!("{op} in {}: {e}", self.path.display()))
    }
}

impl KvEngine for SledEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RaftError> {
        let v = self.db.get(key).map_err(|e| self.err("read", e))?;
        Ok(v.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), RaftError> {
        for kv in self.db.range(start..end) {
            let (k, v) = kv.map_err(|e| self.err("scan", e))?;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, RaftError> {
        match self.db.range(start..end).next_back() {
            None => Ok(None),
            Some(kv) => {
                let (k, v) = kv.map_err(|e| self.err("scan", e))?;
                Ok(Some((k.to_vec(), v.to_vec())))
            }
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), RaftError> {
        let mut b = sled::Batch::default();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => b.insert(k, v),
                WriteOp::Delete(k) => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(|e| self.err("write", e))
    }

    fn flush(&self) -> Result<(), RaftError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| self.err("flush", e))
    }
}

/// [`KvEngine`] in memory: for simulations and tests; nothing survives the
/// process.
#[derive(Default)]
pub struct MemEngine {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemEngine {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written:
        // every operation below is a single map call or a loop of them.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KvEngine for MemEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RaftError> {
        Ok(self.map().get(key).cloned())
    }

    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), RaftError> {
        for (k, v) in self.map().range(start.to_vec()..end.to_vec()) {
            if !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, RaftError> {
        let map = self.map();
        let last = map.range(start.to_vec()..end.to_vec()).next_back();
        Ok(last.map(|(k, v)| (k.clone(), v.clone())))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), RaftError> {
        let mut map = self.map();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => map.insert(k, v),
                WriteOp::Delete(k) => map.remove(&k),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), RaftError> {
        Ok(())
    }
}

impl<E: KvEngine + ?Sized> KvEngine for std::sync::Arc<E> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, RaftError> {
        (**self).get(key)
    }

    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), RaftError> {
        (**self).scan(start, end, visit)
    }

    fn last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, RaftError> {
        (**self).last(start, end)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), RaftError> {
        (**self).write(batch)
    }

    fn flush(&self) -> Result<(), RaftError> {
        (**self).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_waits_for_a_lock_being_released_in_this_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = SledEngine::open(dir.path()).expect("first open");
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        // Fails at once without the grace period: the first instance still
        // holds the lock for 300 ms.
        let second = SledEngine::open(dir.path());
        holder.join().expect("holder thread");
        assert!(second.is_ok(), "{:?}", second.err());
    }
}
