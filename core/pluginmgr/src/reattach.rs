//! Reattaching to a plugin process that outlived the host that launched it.
//!
//! The host stores a [`ReattachRecord`] in client state; after a restart it
//! reattaches when the pid still names the same process (same start time, so
//! a reused pid is refused), the socket connects and health answers SERVING.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connect;
use crate::error::{Error, quote};
use crate::os::ProcHandle;
use crate::process::PluginProcess;

/// Time allowed for each step of a reattach (connect, health, info).
const STEP: Duration = Duration::from_secs(5);

/// What a host stores to find a running plugin again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReattachRecord {
    pub name: String,
    pub path: PathBuf,
    pub pid: u32,
    /// Start time of `pid` in clock ticks after boot (`/proc/<pid>/stat`
    /// field 22); guards against a reused pid.
    pub start_time: u64,
    pub socket: PathBuf,
    /// The private directory the launching host made; removed on stop.
    #[serde(default)]
    pub socket_dir: Option<PathBuf>,
    pub protocol_version: u32,
    pub plugin_version: String,
}

impl PluginProcess {
    /// Take over a plugin launched earlier (by this or a previous host).
    /// Its stderr stays with whoever launched it.
    pub async fn reattach(record: &ReattachRecord) -> Result<Self, Error> {
        let label = quote(&record.name);
        let fail = |reason: String| Error::Reattach {
            plugin: label.clone(),
            pid: record.pid,
            reason,
        };
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let proc = ProcHandle::attach(record.pid, record.start_time, &tracker, cancel.clone())
            .map_err(&fail)?;
        // From here on, dropping `guard` ends the watcher task.
        let guard = cancel.clone().drop_guard();
        let channel = connect::connect_unix(&record.socket, STEP)
            .await
            .map_err(|reason| Error::Connect {
                plugin: label.clone(),
                socket: record.socket.clone(),
                reason,
            })?;
        connect::check_health(channel.clone(), STEP)
            .await
            .map_err(|reason| Error::Unhealthy {
                plugin: label.clone(),
                reason,
            })?;
        let info = Self::fetch_info(&channel, &label, STEP).await?;
        if info.name != record.name {
            return Err(fail(format!(
                "the process there is plugin {:?}, not {:?}",
                info.name, record.name
            )));
        }
        tracing::info!(plugin = %info.name, pid = record.pid, "reattached to plugin");
        Ok(Self {
            label,
            path: record.path.clone(),
            info,
            protocol_version: record.protocol_version,
            socket: record.socket.clone(),
            socket_dir: record.socket_dir.clone(),
            start_time: record.start_time,
            proc,
            channel,
            stderr: None,
            cancel,
            tracker,
            _guard: guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_json_and_tolerates_missing_dir() {
        let record = ReattachRecord {
            name: "raw_exec".into(),
            path: "/usr/lib/drover/drover-driver-raw_exec".into(),
            pid: 4242,
            start_time: 123456,
            socket: "/tmp/drover-plugin-ab/plugin.sock".into(),
            socket_dir: Some("/tmp/drover-plugin-ab".into()),
            protocol_version: 1,
            plugin_version: "0.1.0".into(),
        };
        let json = serde_json::to_string(&record).expect("serialize");
        let back: ReattachRecord = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, record);
        let old = r#"{"name":"x","path":"/x","pid":1,"start_time":2,"socket":"/s",
            "protocol_version":1,"plugin_version":"0.1.0"}"#;
        let back: ReattachRecord = serde_json::from_str(old).expect("deserialize");
        assert_eq!(back.socket_dir, None);
    }

    #[tokio::test]
    async fn a_dead_pid_is_refused_by_name() {
        let record = ReattachRecord {
            name: "gone".into(),
            path: "/x".into(),
            pid: u32::MAX - 1,
            start_time: 1,
            socket: "/nonexistent/plugin.sock".into(),
            socket_dir: None,
            protocol_version: 1,
            plugin_version: "0.1.0".into(),
        };
        let err = PluginProcess::reattach(&record)
            .await
            .expect_err("no such pid");
        let text = err.to_string();
        assert!(
            text.starts_with("plugin \"gone\": cannot reattach to pid"),
            "{text}"
        );
        assert!(text.contains("is gone"), "{text}");
    }
}
