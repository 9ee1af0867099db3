//! Prestart hook: the driver's `TaskConfig`: the task environment (`NOMAD_*`, `env {}`
//! interpolated, host environment for drivers without isolation), the driver `config`
//! with `${…}` interpolated, resources and ports from the allocation, and the
//! `volume_mount`s resolved against the node's host volumes.

use drover_proto::v1;
use drover_types::{Allocation, Node, Task};

use crate::allocdir::{AllocDir, FsIsolation, LogKind, TaskDir};
use crate::runner::RunnerEnv;
use crate::taskenv::{TaskEnv, TaskEnvBuilder};

fn isolation(caps: &v1::DriverCapabilities) -> FsIsolation {
    match v1::FsIsolation::try_from(caps.fs_isolation).unwrap_or(v1::FsIsolation::None) {
        v1::FsIsolation::None => FsIsolation::None,
        v1::FsIsolation::Chroot => FsIsolation::Chroot,
        v1::FsIsolation::Image => FsIsolation::Image,
    }
}

/// The host mounts for the task's `volume_mount` blocks.
pub(super) fn mounts(
    node: &Node,
    alloc: &Allocation,
    task: &Task,
) -> Result<Vec<v1::Mount>, String> {
    let group = alloc
        .job
        .as_ref()
        .and_then(|j| j.task_groups.iter().find(|g| g.name == alloc.task_group));
    let mut out = Vec::new();
    for m in &task.volume_mounts {
        let name = m.volume.clone().unwrap_or_default();
        let req = group
            .and_then(|g| g.volumes.get(&name))
            .ok_or_else(|| format!("volume_mount {name:?}: the group has no volume {name:?}"))?;
        if req.kind != "host" {
            return Err(format!(
                "volume {name:?}: type {:?} is not supported (only \"host\")",
                req.kind
            ));
        }
        let hv = node.host_volumes.get(&req.source).ok_or_else(|| {
            format!(
                "volume {name:?}: host volume {:?} is not configured on this node",
                req.source
            )
        })?;
        if !std::path::Path::new(&hv.path).exists() {
            return Err(format!(
                "volume {name:?}: host volume {:?} path {} does not exist",
                req.source, hv.path
            ));
        }
        out.push(v1::Mount {
            task_path: m.destination.clone().unwrap_or_default(),
            host_path: hv.path.clone(),
            readonly: hv.read_only || req.read_only || m.read_only.unwrap_or(false),
        });
    }
    Ok(out)
}

/// A fresh driver task ID for one run: `<alloc_id>/<task>/<8 hex>`.
fn task_id(alloc_id: &str, task: &str) -> String {
    format!("{alloc_id}/{task}/{:08x}", rand::random::<u32>())
}

/// The task's environment (also what artifacts are interpolated with).
pub(super) fn task_env(
    env: &RunnerEnv,
    node: &Node,
    alloc: &Allocation,
    task: &Task,
    task_dir: &TaskDir,
    caps: &v1::DriverCapabilities,
) -> Result<TaskEnv, String> {
    let iso = isolation(caps);
    let mut builder = TaskEnvBuilder::new(node, alloc, &task.name, &env.region)
        .map_err(|e| e.to_string())?
        .dirs(task_dir.env_dirs(iso), task_dir.host_env_dirs());
    if iso == FsIsolation::None {
        builder = builder.host_env(std::env::vars());
    }
    if let Some(list) = &env.env_denylist {
        builder = builder.denylist(list.iter().cloned());
    }
    Ok(builder.build())
}

/// The `TaskConfig` handed to `StartTask`.
pub(super) fn task_config(
    env: &RunnerEnv,
    node: &Node,
    alloc: &Allocation,
    task: &Task,
    alloc_dir: &AllocDir,
    task_dir: &TaskDir,
    caps: &v1::DriverCapabilities,
) -> Result<v1::TaskConfig, String> {
    let task_env = task_env(env, node, alloc, task, task_dir, caps)?;
    let config = task_env.interpolate_json(&serde_json::Value::Object(task.config.clone()));
    let mounts = mounts(node, alloc, task)?;
    let alloc_res = alloc.allocated_resources.as_ref();
    let task_res = alloc_res.and_then(|r| r.tasks.get(&task.name));
    let ports = alloc_res
        .map(|r| {
            r.shared
                .ports
                .iter()
                .map(|p| v1::PortMapping {
                    label: p.label.clone(),
                    value: i32::try_from(p.value).unwrap_or(0),
                    to: i32::try_from(p.to).unwrap_or(0),
                    host_ip: p.host_ip.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let job = alloc.job.as_deref();
    Ok(v1::TaskConfig {
        id: task_id(&alloc.id, &task.name),
        name: task.name.clone(),
        config_json: config.to_string(),
        env: task_env.env.into_iter().collect(),
        resources: Some(v1::Resources {
            cpu_shares: task_res.map_or(0, |r| r.cpu.cpu_shares),
            memory_mb: task_res.map_or(0, |r| r.memory.memory_mb),
            memory_max_mb: task_res.map_or(0, |r| r.memory.memory_max_mb),
            ports,
        }),
        mounts,
        user: task.user.clone(),
        alloc_dir: alloc_dir.path().display().to_string(),
        stdout_path: alloc_dir
            .fifo_path(&task.name, LogKind::Stdout)
            .display()
            .to_string(),
        stderr_path: alloc_dir
            .fifo_path(&task.name, LogKind::Stderr)
            .display()
            .to_string(),
        task_group_name: alloc.task_group.clone(),
        job_name: job.and_then(|j| j.name.clone()).unwrap_or_default(),
        job_id: alloc.job_id.clone(),
        alloc_id: alloc.id.clone(),
        namespace: alloc.namespace.clone(),
        node_name: node.name.clone(),
        node_id: node.id.clone(),
    })
}
