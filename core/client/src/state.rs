//! Client state in sled under `data_dir/client/`: the allocations this node runs, each
//! task's local state (Nomad task state, driver handle, logmon pid) and the driver
//! plugins' reattach records.
//!
//! Every write is flushed before it returns: the agent may be killed with SIGKILL at any
//! moment, and a task handle that was not on disk is a task the next agent cannot find.
//! Values are JSON so a newer agent reads an older one's state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drover_pluginmgr::ReattachRecord;
use drover_types::{Allocation, TaskState};
use serde::{Deserialize, Serialize};

/// How long [`ClientDb::open`] waits for a sled lock still held by an instance of this
/// process that is shutting down.
const LOCK_GRACE: Duration = Duration::from_secs(5);

/// A client state failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database could not be opened.
    #[error("cannot open the client state in {}: {source}", path.display())]
    Open { path: PathBuf, source: sled::Error },
    /// A read or write failed (disk full, unwritable directory …).
    #[error("client state in {}: {}", path.display(), describe(source))]
    Db { path: PathBuf, source: sled::Error },
    /// A stored value does not decode.
    #[error("client state: {what} {key:?} is corrupt: {source}")]
    Corrupt {
        what: &'static str,
        key: String,
        source: serde_json::Error,
    },
}

/// sled keeps the first I/O error and answers every later write with a copy of it,
/// made from its `Debug` text; operators need the OS's sentence and what to do.
fn describe(e: &sled::Error) -> String {
    let sled::Error::Io(io) = e else {
        return e.to_string();
    };
    let text = if io.raw_os_error().is_some() {
        io.to_string()
    } else {
        let debug = io.to_string();
        debug
            .split_once("message: \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or(debug.clone(), |(m, _)| m.to_owned())
    };
    format!(
        "{text} (after an I/O error the client state takes no more writes: fix the disk, then restart the agent)"
    )
}

/// What the client keeps of one task between restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalTaskState {
    /// Nomad's task state as last reported.
    pub state: TaskState,
    /// The driver's handle (a prost-encoded `TaskHandle`, stored as hex), while the
    /// task runs.
    #[serde(default, with = "hex_opt")]
    pub handle: Option<Vec<u8>>,
    /// The task's log collector process.
    #[serde(default)]
    pub logmon_pid: Option<u32>,
    /// The task finished for good (no restart will follow).
    #[serde(default)]
    pub done: bool,
}

mod hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&hex(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| unhex(&s).ok_or_else(|| serde::de::Error::custom("invalid hex")))
            .transpose()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    }
}

/// The client's database.
#[derive(Clone)]
pub struct ClientDb {
    db: sled::Db,
    path: Arc<PathBuf>,
    allocs: sled::Tree,
    tasks: sled::Tree,
    plugins: sled::Tree,
}

fn task_key(alloc_id: &str, task: &str) -> String {
    format!("{alloc_id}/{task}")
}

impl ClientDb {
    /// Opens (or creates) the state in `dir`.
    pub fn open(dir: &Path) -> Result<ClientDb, StateError> {
        let path = dir.join("state.db");
        let deadline = Instant::now() + LOCK_GRACE;
        let db = loop {
            match sled::Config::new().path(&path).open() {
                Ok(db) => break db,
                // sled reports a held lock as WouldBlock, or as `Other` with the
                // WouldBlock text inside (when its own flusher still holds it).
                Err(sled::Error::Io(e))
                    if (e.kind() == std::io::ErrorKind::WouldBlock
                        || e.to_string().contains("could not acquire lock"))
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(source) => return Err(StateError::Open { path, source }),
            }
        };
        let tree = |name: &str| {
            db.open_tree(name).map_err(|source| StateError::Open {
                path: path.clone(),
                source,
            })
        };
        Ok(ClientDb {
            allocs: tree("allocs")?,
            tasks: tree("tasks")?,
            plugins: tree("plugins")?,
            db,
            path: Arc::new(path),
        })
    }

    fn err(&self, source: sled::Error) -> StateError {
        StateError::Db {
            path: self.path.to_path_buf(),
            source,
        }
    }

    async fn flush(&self) -> Result<(), StateError> {
        self.db.flush_async().await.map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stores an allocation as the servers sent it.
    pub async fn put_alloc(&self, alloc: &Allocation) -> Result<(), StateError> {
        let v = serde_json::to_vec(alloc).expect("an allocation serializes");
        self.allocs
            .insert(alloc.id.as_bytes(), v)
            .map_err(|e| self.err(e))?;
        self.flush().await
    }

    /// Every stored allocation; corrupt entries are reported and skipped.
    pub fn allocs(&self) -> Vec<Allocation> {
        let mut out = Vec::new();
        for kv in self.allocs.iter() {
            let Ok((k, v)) = kv else { continue };
            match serde_json::from_slice::<Allocation>(&v) {
                Ok(a) => out.push(a),
                Err(e) => tracing::error!(
                    alloc = %String::from_utf8_lossy(&k),
                    error = %e,
                    "client state: skipping a corrupt allocation"
                ),
            }
        }
        out
    }

    /// Removes an allocation and its tasks' state.
    pub async fn delete_alloc(&self, alloc_id: &str) -> Result<(), StateError> {
        self.allocs
            .remove(alloc_id.as_bytes())
            .map_err(|e| self.err(e))?;
        let prefix = format!("{alloc_id}/");
        for k in self.tasks.scan_prefix(prefix.as_bytes()).keys() {
            self.tasks
                .remove(k.map_err(|e| self.err(e))?)
                .map_err(|e| self.err(e))?;
        }
        self.flush().await
    }

    /// Stores a task's local state.
    pub async fn put_task(
        &self,
        alloc_id: &str,
        task: &str,
        state: &LocalTaskState,
    ) -> Result<(), StateError> {
        let v = serde_json::to_vec(state).expect("a task state serializes");
        self.tasks
            .insert(task_key(alloc_id, task).as_bytes(), v)
            .map_err(|e| self.err(e))?;
        self.flush().await
    }

    /// A task's local state, if stored.
    pub fn task(&self, alloc_id: &str, task: &str) -> Result<Option<LocalTaskState>, StateError> {
        let key = task_key(alloc_id, task);
        let Some(v) = self.tasks.get(key.as_bytes()).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|source| StateError::Corrupt {
                what: "task",
                key,
                source,
            })
    }

    /// Stores a driver plugin's reattach record under `key` (the driver's name).
    pub async fn put_plugin(&self, key: &str, record: &ReattachRecord) -> Result<(), StateError> {
        let v = serde_json::to_vec(record).expect("a reattach record serializes");
        self.plugins
            .insert(key.as_bytes(), v)
            .map_err(|e| self.err(e))?;
        self.flush().await
    }

    /// A driver plugin's reattach record stored under `name`, if readable.
    pub fn plugin(&self, name: &str) -> Option<ReattachRecord> {
        let v = self.plugins.get(name.as_bytes()).ok()??;
        serde_json::from_slice(&v).ok()
    }

    /// Forgets a plugin's reattach record (it was stopped on purpose).
    pub async fn delete_plugin(&self, name: &str) -> Result<(), StateError> {
        self.plugins
            .remove(name.as_bytes())
            .map_err(|e| self.err(e))?;
        self.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = ClientDb::open(dir.path()).unwrap();
            let alloc = Allocation {
                id: "a1".into(),
                ..Default::default()
            };
            db.put_alloc(&alloc).await.unwrap();
            let t = LocalTaskState {
                handle: Some(vec![0, 1, 254, 255]),
                logmon_pid: Some(42),
                ..Default::default()
            };
            db.put_task("a1", "web", &t).await.unwrap();
        }
        let db = ClientDb::open(dir.path()).unwrap();
        assert_eq!(db.allocs().len(), 1);
        let t = db.task("a1", "web").unwrap().unwrap();
        assert_eq!(t.handle, Some(vec![0, 1, 254, 255]));
        assert_eq!(t.logmon_pid, Some(42));
        db.delete_alloc("a1").await.unwrap();
        assert!(db.allocs().is_empty());
        assert!(db.task("a1", "web").unwrap().is_none());
    }
}
