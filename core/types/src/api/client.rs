//! Bodies of the client's own endpoints, `/v1/client/...` (reference §3.3, §3.4):
//! resource usage of allocations and of the host, file information of an allocation
//! directory, the log stream's frames, and the restart and signal requests. Nomad's
//! JSON shapes (`api/fs.go`, `api/nodes.go` `HostStats`, `api/allocations.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// `GET /v1/client/allocation/:id/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocResourceUsage {
    /// The sum over the allocation's tasks.
    pub resource_usage: Option<ResourceUsage>,
    /// Per task name.
    #[serde(deserialize_with = "null_default")]
    pub tasks: BTreeMap<String, TaskResourceUsage>,
    /// Unix nanoseconds of the sample.
    pub timestamp: i64,
}

/// One task's usage, with its processes when the driver reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskResourceUsage {
    /// The task's total.
    pub resource_usage: Option<ResourceUsage>,
    /// Unix nanoseconds of the sample.
    pub timestamp: i64,
    /// Per process ID (as a string, Nomad's map key).
    #[serde(deserialize_with = "null_default")]
    pub pids: BTreeMap<String, ResourceUsage>,
}

/// Memory and CPU usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResourceUsage {
    /// Memory.
    pub memory_stats: Option<MemoryStats>,
    /// CPU.
    pub cpu_stats: Option<CpuStats>,
}

/// Memory usage in bytes; `Measured` names the fields the driver filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MemoryStats {
    /// Resident set size.
    #[serde(rename = "RSS")]
    pub rss: u64,
    /// Page cache.
    pub cache: u64,
    /// Swap.
    pub swap: u64,
    /// Mapped files.
    pub mapped_file: u64,
    /// Current usage (cgroup).
    pub usage: u64,
    /// Peak usage.
    pub max_usage: u64,
    /// Kernel usage.
    pub kernel_usage: u64,
    /// Peak kernel usage.
    pub kernel_max_usage: u64,
    /// Which fields are measured.
    #[serde(deserialize_with = "null_default")]
    pub measured: Vec<String>,
}

/// CPU usage: modes in percent of one core, ticks in MHz.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CpuStats {
    /// Kernel mode.
    pub system_mode: f64,
    /// User mode.
    pub user_mode: f64,
    /// MHz consumed.
    pub total_ticks: f64,
    /// Throttled periods (cgroup).
    pub throttled_periods: u64,
    /// Throttled time (cgroup).
    pub throttled_time: u64,
    /// Percent of the whole host.
    pub percent: f64,
    /// Which fields are measured.
    #[serde(deserialize_with = "null_default")]
    pub measured: Vec<String>,
}

/// `GET /v1/client/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostStats {
    /// Memory.
    pub memory: Option<HostMemoryStats>,
    /// Per CPU.
    #[serde(rename = "CPU", deserialize_with = "null_default")]
    pub cpu: Vec<HostCpuStats>,
    /// Per mounted disk.
    #[serde(deserialize_with = "null_default")]
    pub disk_stats: Vec<HostDiskStats>,
    /// The disk holding the allocation directories.
    pub alloc_dir_stats: Option<HostDiskStats>,
    /// Seconds since boot.
    pub uptime: u64,
    /// MHz consumed on the host.
    #[serde(rename = "CPUTicksConsumed")]
    pub cpu_ticks_consumed: f64,
    /// Unix nanoseconds of the sample.
    pub timestamp: i64,
}

/// Host memory in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostMemoryStats {
    /// Total.
    pub total: u64,
    /// Available to new processes.
    pub available: u64,
    /// Used.
    pub used: u64,
    /// Free.
    pub free: u64,
}

/// One CPU, in percent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostCpuStats {
    /// `cpu0`, ….
    #[serde(rename = "CPU")]
    pub cpu: String,
    /// User mode.
    pub user: f64,
    /// Kernel mode.
    pub system: f64,
    /// Idle.
    pub idle: f64,
}

/// One disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostDiskStats {
    /// Device.
    pub device: String,
    /// Mount point.
    pub mountpoint: String,
    /// Bytes.
    pub size: u64,
    /// Bytes used.
    pub used: u64,
    /// Bytes available.
    pub available: u64,
    /// Percent used.
    pub used_percent: f64,
    /// Percent of inodes used.
    pub inodes_used_percent: f64,
}

/// `GET /v1/client/fs/ls` (a list) and `/fs/stat`: one file of an allocation dir.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocFileInfo {
    /// Base name.
    pub name: String,
    /// A directory.
    pub is_dir: bool,
    /// Bytes.
    pub size: i64,
    /// Go's `FileMode.String()`, e.g. `-rw-r--r--`, `drwxrwxrwx`.
    pub file_mode: String,
    /// RFC 3339 with nanoseconds.
    pub mod_time: String,
    /// Sniffed content type of a file; empty for a directory.
    pub content_type: String,
}

/// One frame of `/v1/client/fs/logs` and `/fs/stream`. Every field is omitted when
/// empty; `{}` is a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StreamFrame {
    /// Offset in `File` just after `Data`.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: i64,
    /// The bytes, base64 (standard alphabet, padded), as Go encodes `[]byte`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data: String,
    /// Path of the file, relative to the allocation directory.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// `file deleted` or `file truncated`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file_event: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl StreamFrame {
    /// A heartbeat (`{}`).
    pub fn is_heartbeat(&self) -> bool {
        *self == StreamFrame::default()
    }
}

/// `POST/PUT /v1/client/allocation/:id/restart` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocRestartRequest {
    /// One task; empty = every running task (or all with `AllTasks`).
    pub task_name: String,
    /// Restart every task, prestart and poststart ones included.
    pub all_tasks: bool,
}

/// `POST/PUT /v1/client/allocation/:id/signal` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AllocSignalRequest {
    /// One task; empty = every task.
    pub task: String,
    /// Signal name, e.g. `SIGHUP`; empty = the client's default (`SIGKILL`).
    pub signal: String,
}
