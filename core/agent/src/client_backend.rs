//! [`ClientSlot`]: the `/v1/client` API's [`ClientApi`] over the agent's
//! `drover_client::Client`. The HTTP API starts before the client (the node registers
//! with the HTTP address), so the slot is filled once the client runs; until then the
//! client routes answer 503.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use drover_client::taskrunner::now_ns;
use drover_client::{Client, ControlError, ExecRequest, hoststats};
use drover_proto::v1;
use drover_types::api::client::{
    AllocResourceUsage, CpuStats, HostCpuStats, HostDiskStats, HostMemoryStats, HostStats,
    MemoryStats, ResourceUsage, TaskResourceUsage,
};
use futures::StreamExt;

use crate::http::client::exec::{ExecInput, ExecOutput, ExecQuery};
use crate::http::{ClientApi, ClientApiError};

/// The agent's client, once started.
#[derive(Clone, Default)]
pub struct ClientSlot(Arc<OnceLock<Client>>);

impl ClientSlot {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts the running client in the slot (once).
    pub fn set(&self, client: Client) {
        let _ = self.0.set(client);
    }

    fn get(&self) -> Result<&Client, ClientApiError> {
        self.0
            .get()
            .ok_or_else(|| ClientApiError::Unavailable("the client is starting".into()))
    }
}

fn control(e: ControlError) -> ClientApiError {
    match e {
        ControlError::NotFound(m) => ClientApiError::NotFound(m),
        ControlError::BadRequest(m) => ClientApiError::BadRequest(m),
        ControlError::Forbidden(m) => ClientApiError::Forbidden(m),
    }
}

fn usage(u: &v1::ResourceUsage) -> ResourceUsage {
    ResourceUsage {
        memory_stats: u.memory.as_ref().map(|m| MemoryStats {
            rss: m.rss,
            cache: m.cache,
            swap: m.swap,
            usage: m.usage,
            max_usage: m.max_usage,
            measured: m.measured_fields.clone(),
            ..Default::default()
        }),
        cpu_stats: u.cpu.as_ref().map(|c| CpuStats {
            system_mode: c.system_mode,
            user_mode: c.user_mode,
            total_ticks: c.total_ticks,
            percent: c.percent,
            measured: c.measured_fields.clone(),
            ..Default::default()
        }),
    }
}

fn ts(t: Option<&drover_proto::prost_types::Timestamp>) -> i64 {
    t.map_or(0, |t| {
        t.seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(t.nanos))
    })
}

/// Sums the tasks' usage into the allocation's.
fn sum(tasks: &BTreeMap<String, TaskResourceUsage>) -> ResourceUsage {
    let mut mem = MemoryStats::default();
    let mut cpu = CpuStats::default();
    for t in tasks.values() {
        if let Some(u) = &t.resource_usage {
            if let Some(m) = &u.memory_stats {
                mem.rss += m.rss;
                mem.cache += m.cache;
                mem.swap += m.swap;
                mem.usage += m.usage;
                mem.max_usage += m.max_usage;
                mem.measured.clone_from(&m.measured);
            }
            if let Some(c) = &u.cpu_stats {
                cpu.system_mode += c.system_mode;
                cpu.user_mode += c.user_mode;
                cpu.total_ticks += c.total_ticks;
                cpu.percent += c.percent;
                cpu.measured.clone_from(&c.measured);
            }
        }
    }
    ResourceUsage {
        memory_stats: Some(mem),
        cpu_stats: Some(cpu),
    }
}

/// Host CPU usage is measured between consecutive `/v1/client/stats` calls.
static CPU: hoststats::CpuSampler = hoststats::CpuSampler::new();

fn meminfo() -> Option<HostMemoryStats> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    let total = field("MemTotal")?;
    let available = field("MemAvailable").unwrap_or(0);
    let free = field("MemFree").unwrap_or(0);
    Some(HostMemoryStats {
        total,
        available,
        used: total.saturating_sub(available),
        free,
    })
}

fn uptime() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

#[async_trait]
impl ClientApi for ClientSlot {
    fn alloc_dir(&self, alloc_id: &str) -> Result<PathBuf, ClientApiError> {
        self.get()?
            .alloc_dir(alloc_id)
            .ok_or_else(|| ClientApiError::NotFound(format!("unknown allocation ID {alloc_id:?}")))
    }

    async fn alloc_stats(&self, alloc_id: &str) -> Result<AllocResourceUsage, ClientApiError> {
        let raw = self.get()?.alloc_stats(alloc_id).await.map_err(control)?;
        let tasks: BTreeMap<String, TaskResourceUsage> = raw
            .into_iter()
            .map(|(name, u)| {
                let t = TaskResourceUsage {
                    resource_usage: u.agg.as_ref().map(usage),
                    timestamp: ts(u.timestamp.as_ref()),
                    pids: u
                        .by_pid
                        .iter()
                        .map(|(k, v)| (k.clone(), usage(v)))
                        .collect(),
                };
                (name, t)
            })
            .collect();
        Ok(AllocResourceUsage {
            resource_usage: Some(sum(&tasks)),
            tasks,
            timestamp: now_ns(),
        })
    }

    fn server_http_addr(&self) -> Option<String> {
        self.0.get().and_then(Client::server_http_addr)
    }

    async fn host_stats(&self) -> Result<HostStats, ClientApiError> {
        let client = self.get()?;
        let device = client
            .node()
            .attributes
            .get("unique.storage.volume")
            .cloned();
        let alloc_root = client.alloc_root().to_owned();
        let disk = drover_client::client::statvfs(&alloc_root).map(|s| {
            let used = s.total_bytes.saturating_sub(s.available_bytes);
            HostDiskStats {
                device: device.unwrap_or_default(),
                mountpoint: alloc_root.display().to_string(),
                size: s.total_bytes,
                used,
                available: s.available_bytes,
                used_percent: s.used_percent(),
                inodes_used_percent: s.inodes_used_percent(),
            }
        });
        let attr = |k: &str| {
            client
                .node()
                .attributes
                .get(k)
                .and_then(|v| v.parse::<f64>().ok())
        };
        let mhz_per_core = match (attr("cpu.totalcompute"), attr("cpu.numcores")) {
            (Some(total), Some(n)) if n > 0.0 => total / n,
            _ => 0.0,
        };
        let cpus = CPU.sample();
        Ok(HostStats {
            memory: meminfo(),
            cpu_ticks_consumed: hoststats::ticks_consumed(&cpus, mhz_per_core),
            cpu: cpus
                .into_iter()
                .map(|c| HostCpuStats {
                    cpu: c.name,
                    user: c.user,
                    system: c.system,
                    idle: c.idle,
                })
                .collect(),
            disk_stats: disk.clone().into_iter().collect(),
            alloc_dir_stats: disk,
            uptime: uptime(),
            timestamp: now_ns(),
        })
    }

    async fn restart(
        &self,
        alloc_id: &str,
        task: Option<String>,
        all_tasks: bool,
    ) -> Result<(), ClientApiError> {
        self.get()?
            .restart(alloc_id, task.as_deref(), all_tasks)
            .await
            .map_err(control)
    }

    async fn signal(
        &self,
        alloc_id: &str,
        task: Option<String>,
        signal: String,
    ) -> Result<(), ClientApiError> {
        self.get()?
            .signal(alloc_id, task.as_deref(), &signal)
            .await
            .map_err(control)
    }

    async fn exec(
        &self,
        alloc_id: &str,
        query: ExecQuery,
        input: ExecInput,
    ) -> Result<ExecOutput, ClientApiError> {
        let req = ExecRequest {
            task: query.task,
            command: query.command,
            tty: query.tty,
        };
        let answers = self
            .get()?
            .exec(alloc_id, req, input)
            .await
            .map_err(control)?;
        Ok(answers
            .map(|r| r.map_err(|e| ClientApiError::Internal(e.to_string())))
            .boxed())
    }
}
