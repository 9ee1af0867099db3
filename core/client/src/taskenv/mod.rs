//! A task's environment, built as Nomad's `client/taskenv/env.go` builds it (§7.3).
//!
//! Why pure: the environment is a function of the allocation, the task, the node and a
//! few client facts (directories, host environment). The task runner gathers those and
//! calls [`TaskEnvBuilder::build`]; the table tests pin every variable without a driver.
//!
//! Precedence, later wins (`buildEnv`):
//! 1. Nomad's variables: directories, limits, identity, ports, other tasks' ports;
//! 2. `NOMAD_META_<k>` and `NOMAD_META_<K>` from job < group < task meta (interpolated);
//! 3. the host environment (non-image drivers only) minus the denylist, never replacing
//!    a variable already set;
//! 4. the task's `env {}`, interpolated, replacing anything.
//!
//! Interpolation sees the environment built by steps 1–3 (and, for references Nomad
//! resolves against node data, `node.*`, `attr.*`, `meta.*`); a user variable does not
//! see another user variable, which keeps the result independent of map order (Nomad's
//! Go map iteration makes that case random). Unknown references stay as written.

mod interpolate;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use drover_types::allocated::AllocatedPortMapping;
use drover_types::{Allocation, NetworkResource, Node, Task};
use serde_json::Value;

pub use interpolate::{clean_env_var, replace, replace_json};

use crate::allocdir::TaskEnvDirs;

/// Nomad's default `env.denylist`: host variables never passed to tasks. A leading `*`
/// matches any prefix.
pub const DEFAULT_ENV_DENYLIST: &[&str] = &[
    "CONSUL_TOKEN",
    "CONSUL_HTTP_TOKEN",
    "CONSUL_HTTP_TOKEN_FILE",
    "NOMAD_TOKEN",
    "VAULT_TOKEN",
    "*_LICENSE",
    "*_LICENSE_PATH",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_METADATA_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
];

/// Why an environment cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskEnvError {
    /// The allocation carries no job.
    #[error("allocation {0} has no job")]
    MissingJob(String),
    /// The task is not in the allocation's group.
    #[error("task {task:?} not found in group {group:?} of allocation {alloc}")]
    MissingTask {
        alloc: String,
        group: String,
        task: String,
    },
}

/// The built environment: what the task gets, and the node values interpolation uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskEnv {
    /// The task's variables.
    pub env: BTreeMap<String, String>,
    /// The same with host paths for the directories (what the client resolves paths with).
    pub client_env: BTreeMap<String, String>,
    /// `node.unique.id`, `node.region`, `attr.<k>`, `meta.<k>`, … for interpolation.
    pub node_attrs: BTreeMap<String, String>,
}

impl TaskEnv {
    /// Nomad's `ReplaceEnv`: task variables first, then node values.
    pub fn interpolate(&self, s: &str) -> String {
        replace(s, &self.env, &[&self.env, &self.node_attrs])
    }
    /// Like [`TaskEnv::interpolate`] with host directory paths (artifact destinations).
    pub fn interpolate_client(&self, s: &str) -> String {
        replace(s, &self.client_env, &[&self.client_env, &self.node_attrs])
    }
    /// Interpolates every string of a driver `config`.
    pub fn interpolate_json(&self, v: &Value) -> Value {
        replace_json(v, &self.env, &[&self.env, &self.node_attrs])
    }
    /// `KEY=value` pairs, sorted by key.
    pub fn list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// Gathers a task's inputs; [`TaskEnvBuilder::build`] is pure.
#[derive(Debug, Clone)]
pub struct TaskEnvBuilder<'a> {
    node: &'a Node,
    alloc: &'a Allocation,
    task: &'a Task,
    region: String,
    dirs: Option<TaskEnvDirs>,
    host_dirs: Option<TaskEnvDirs>,
    host_env: BTreeMap<String, String>,
    denylist: Vec<String>,
    cgroup_parent: String,
    driver_port_map: BTreeMap<String, i64>,
}

impl<'a> TaskEnvBuilder<'a> {
    /// Starts from the allocation (which must carry its job) and the task name.
    /// `region` is the client's region (`NOMAD_REGION`, `${node.region}`).
    pub fn new(
        node: &'a Node,
        alloc: &'a Allocation,
        task: &str,
        region: &str,
    ) -> Result<TaskEnvBuilder<'a>, TaskEnvError> {
        let job = alloc
            .job
            .as_deref()
            .ok_or_else(|| TaskEnvError::MissingJob(alloc.id.clone()))?;
        let task = job
            .task_groups
            .iter()
            .find(|g| g.name == alloc.task_group)
            .and_then(|g| g.task(task))
            .ok_or_else(|| TaskEnvError::MissingTask {
                alloc: alloc.id.clone(),
                group: alloc.task_group.clone(),
                task: task.to_owned(),
            })?;
        Ok(TaskEnvBuilder {
            node,
            alloc,
            task,
            region: region.to_owned(),
            dirs: None,
            host_dirs: None,
            host_env: BTreeMap::new(),
            denylist: DEFAULT_ENV_DENYLIST.iter().map(|s| s.to_string()).collect(),
            cgroup_parent: String::new(),
            driver_port_map: BTreeMap::new(),
        })
    }
    /// Directories as the task sees them and as the host sees them
    /// (see [`crate::TaskDir::env_dirs`]).
    pub fn dirs(mut self, task_view: TaskEnvDirs, host_view: TaskEnvDirs) -> Self {
        self.dirs = Some(task_view);
        self.host_dirs = Some(host_view);
        self
    }
    /// The host environment to pass through; give none for image-based drivers.
    pub fn host_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.host_env = vars.into_iter().collect();
        self
    }
    /// Replaces the denylist (client option `env.denylist`, comma-separated in Nomad).
    pub fn denylist(mut self, list: impl IntoIterator<Item = String>) -> Self {
        self.denylist = list.into_iter().collect();
        self
    }
    /// `NOMAD_PARENT_CGROUP`.
    pub fn cgroup_parent(mut self, parent: &str) -> Self {
        self.cgroup_parent = parent.to_owned();
        self
    }
    /// A driver's port map (label → port inside the task) for task-level networks.
    pub fn driver_port_map(mut self, map: BTreeMap<String, i64>) -> Self {
        self.driver_port_map = map;
        self
    }

    /// Builds the environment.
    pub fn build(&self) -> TaskEnv {
        let node_attrs = self.node_attrs();
        let env = self.build_env(self.dirs.as_ref(), &node_attrs);
        let client_env = self.build_env(self.host_dirs.as_ref(), &node_attrs);
        TaskEnv {
            env,
            client_env,
            node_attrs,
        }
    }

    fn node_attrs(&self) -> BTreeMap<String, String> {
        let n = self.node;
        let mut m = BTreeMap::new();
        if !self.region.is_empty() {
            m.insert("node.region".into(), self.region.clone());
        }
        m.insert("node.unique.id".into(), n.id.clone());
        m.insert("node.unique.name".into(), n.name.clone());
        m.insert("node.class".into(), n.node_class.clone());
        m.insert("node.datacenter".into(), n.datacenter.clone());
        m.insert("node.pool".into(), n.node_pool.clone());
        for (k, v) in &n.attributes {
            m.insert(format!("attr.{k}"), v.clone());
        }
        for (k, v) in &n.meta {
            m.insert(format!("meta.{k}"), v.clone());
        }
        m
    }

    fn build_env(
        &self,
        dirs: Option<&TaskEnvDirs>,
        node_attrs: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        self.nomad_vars(&mut env, dirs);
        // Task meta, interpolated against node values then what is built so far.
        let snapshot = env.clone();
        for (k, v) in self.combined_meta() {
            let v = replace(&v, &snapshot, &[node_attrs, &snapshot]);
            env.insert(format!("NOMAD_META_{}", k.to_uppercase()), v.clone());
            env.insert(format!("NOMAD_META_{k}"), v);
        }
        let snapshot = env.clone();
        for (k, v) in &self.host_env {
            if !env.contains_key(k) && !denied(&self.denylist, k) {
                env.insert(k.clone(), replace(v, &snapshot, &[node_attrs, &snapshot]));
            }
        }
        let snapshot = env.clone();
        for (k, v) in &self.task.env {
            env.insert(k.clone(), replace(v, &snapshot, &[node_attrs, &snapshot]));
        }
        const CLEANED: [&str; 5] = [
            "NOMAD_ADDR_",
            "NOMAD_IP_",
            "NOMAD_PORT_",
            "NOMAD_HOST_PORT_",
            "NOMAD_META_",
        ];
        env.into_iter()
            .map(|(k, v)| {
                if CLEANED.iter().any(|p| k.starts_with(p)) {
                    (clean_env_var(&k), v)
                } else {
                    (k, v)
                }
            })
            .collect()
    }

    /// Job < group < task meta (`CombinedTaskMeta`).
    fn combined_meta(&self) -> BTreeMap<String, String> {
        let mut meta = BTreeMap::new();
        if let Some(job) = self.alloc.job.as_deref() {
            meta.extend(job.meta.clone());
            if let Some(g) = job
                .task_groups
                .iter()
                .find(|g| g.name == self.alloc.task_group)
            {
                meta.extend(g.meta.clone());
            }
        }
        meta.extend(self.task.meta.clone());
        meta
    }

    fn nomad_vars(&self, env: &mut BTreeMap<String, String>, dirs: Option<&TaskEnvDirs>) {
        let mut set = |k: &str, v: String| {
            if !v.is_empty() {
                env.insert(k.to_owned(), v);
            }
        };
        if let Some(d) = dirs {
            set("NOMAD_ALLOC_DIR", d.alloc_dir.clone());
            set("NOMAD_TASK_DIR", d.task_dir.clone());
            set("NOMAD_SECRETS_DIR", d.secrets_dir.clone());
        }
        let alloc = self.alloc;
        let allocated = alloc
            .allocated_resources
            .as_ref()
            .and_then(|r| r.tasks.get(&self.task.name));
        let res = self.task.resources.clone().unwrap_or_default();
        let (cpu, mem, mem_max, cores) = match allocated {
            Some(a) => (
                a.cpu.cpu_shares,
                a.memory.memory_mb,
                a.memory.memory_max_mb,
                core_set(&a.cpu.reserved_cores),
            ),
            None => (
                res.cpu.unwrap_or(0),
                res.memory_mb.unwrap_or(0),
                res.memory_max_mb.unwrap_or(0),
                String::new(),
            ),
        };
        let nonzero = |n: i64| if n != 0 { n.to_string() } else { String::new() };
        set("NOMAD_MEMORY_LIMIT", nonzero(mem));
        set("NOMAD_MEMORY_MAX_LIMIT", nonzero(mem_max));
        set("NOMAD_CPU_LIMIT", nonzero(cpu));
        set("NOMAD_CPU_CORES", cores);
        set("NOMAD_ALLOC_ID", alloc.id.clone());
        set(
            "NOMAD_SHORT_ALLOC_ID",
            alloc.id.chars().take(8).collect::<String>(),
        );
        set("NOMAD_ALLOC_NAME", alloc.name.clone());
        set("NOMAD_GROUP_NAME", alloc.task_group.clone());
        set(
            "NOMAD_ALLOC_INDEX",
            alloc.index().map(|i| i.to_string()).unwrap_or_default(),
        );
        set("NOMAD_TASK_NAME", self.task.name.clone());
        if let Some(job) = alloc.job.as_deref() {
            set("NOMAD_JOB_ID", job.id.clone().unwrap_or_default());
            set("NOMAD_JOB_NAME", job.name.clone().unwrap_or_default());
            set(
                "NOMAD_JOB_PARENT_ID",
                job.parent_id.clone().unwrap_or_default(),
            );
        }
        set("NOMAD_DC", self.node.datacenter.clone());
        set("NOMAD_PARENT_CGROUP", self.cgroup_parent.clone());
        set("NOMAD_NAMESPACE", alloc.namespace.clone());
        set("NOMAD_REGION", self.region.clone());

        if let Some(a) = allocated {
            for n in &a.networks {
                self.task_network_env(env, n);
            }
        }
        // Other tasks' task-level ports, group network ports, then allocated ports.
        if let Some(r) = &alloc.allocated_resources {
            for (name, t) in &r.tasks {
                if *name == self.task.name {
                    continue;
                }
                for n in &t.networks {
                    for (p, _) in n.ports() {
                        let port = p.value.to_string();
                        env.insert(
                            format!("NOMAD_ADDR_{name}_{}", p.label),
                            join_host_port(&n.ip, &port),
                        );
                        env.insert(format!("NOMAD_IP_{name}_{}", p.label), n.ip.clone());
                        env.insert(format!("NOMAD_PORT_{name}_{}", p.label), port);
                    }
                }
            }
            for n in &r.shared.networks {
                for (p, _) in n.ports() {
                    let to = if p.to > 0 { p.to } else { p.value };
                    env.insert(format!("NOMAD_PORT_{}", p.label), to.to_string());
                    env.insert(format!("NOMAD_HOST_PORT_{}", p.label), p.value.to_string());
                }
            }
            for p in &r.shared.ports {
                add_allocated_port(env, p);
            }
        }
    }

    /// `buildPortEnv` for task-level networks.
    fn task_network_env(&self, env: &mut BTreeMap<String, String>, n: &NetworkResource) {
        let family = if n.ip.contains(':') {
            "NOMAD_IPv6_"
        } else {
            "NOMAD_IPv4_"
        };
        for (p, _) in n.ports() {
            let port = p.value.to_string();
            env.insert(format!("NOMAD_IP_{}", p.label), n.ip.clone());
            env.insert(format!("{family}{}", p.label), n.ip.clone());
            env.insert(format!("NOMAD_HOST_PORT_{}", p.label), port.clone());
            env.insert(
                format!("NOMAD_ADDR_{}", p.label),
                join_host_port(&n.ip, &port),
            );
            let mapped = self.driver_port_map.get(&p.label).copied().unwrap_or(0);
            let task_port = if mapped != 0 {
                mapped.to_string()
            } else {
                port
            };
            env.insert(format!("NOMAD_PORT_{}", p.label), task_port);
        }
    }
}

/// `addPorts`: a group port with its host IP.
fn add_allocated_port(env: &mut BTreeMap<String, String>, p: &AllocatedPortMapping) {
    let port = p.value.to_string();
    let addr = join_host_port(&p.host_ip, &port);
    env.insert(format!("NOMAD_ADDR_{}", p.label), addr.clone());
    env.insert(format!("NOMAD_HOST_ADDR_{}", p.label), addr);
    env.insert(format!("NOMAD_IP_{}", p.label), p.host_ip.clone());
    env.insert(format!("NOMAD_HOST_IP_{}", p.label), p.host_ip.clone());
    let to = if p.to > 0 {
        p.to.to_string()
    } else {
        port.clone()
    };
    env.insert(format!("NOMAD_PORT_{}", p.label), to.clone());
    env.insert(format!("NOMAD_ALLOC_PORT_{}", p.label), to);
    env.insert(format!("NOMAD_HOST_PORT_{}", p.label), port);
}

/// Go's `net.JoinHostPort`: brackets around IPv6 addresses.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Nomad's `idset` rendering: `0-1,3`.
pub fn core_set(cores: &[u16]) -> String {
    let mut c = cores.to_vec();
    c.sort_unstable();
    c.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let start = c[i];
        while i + 1 < c.len() && c[i + 1] == c[i] + 1 {
            i += 1;
        }
        parts.push(if c[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", c[i])
        });
        i += 1;
    }
    parts.join(",")
}

/// Whether `key` is on the denylist (exact, or `*SUFFIX`, or `PREFIX*`).
fn denied(list: &[String], key: &str) -> bool {
    list.iter().any(|pat| {
        if let Some(suffix) = pat.strip_prefix('*') {
            key.ends_with(suffix)
        } else if let Some(prefix) = pat.strip_suffix('*') {
            key.starts_with(prefix)
        } else {
            pat == key
        }
    })
}
