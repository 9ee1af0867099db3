//! Task rules: name, driver, resources, logs against the group's disk, artifacts,
//! templates, lifecycle, and references to the group's volumes and ports.

use super::group::{defined, service_port};
use super::{Sink, f, join, policy};
use crate::artifact::GETTER_MODES;
use crate::error::PathSegment;
use crate::lifecycle::LIFECYCLE_HOOKS;
use crate::resources::{MIN_CPU, MIN_MEMORY_MB};
use crate::restart::RestartPolicy;
use crate::task::Task;
use crate::template::CHANGE_MODES;
use crate::volume::{PROPAGATION_MODES, VolumeRequest};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a task is checked against.
pub(super) struct GroupCtx<'a> {
    pub disk_mb: i64,
    pub ports: &'a BTreeSet<String>,
    pub volumes: &'a BTreeMap<String, VolumeRequest>,
    /// The group's restart policy; a task's equal one (inherited) is not re-checked.
    pub restart: Option<&'a RestartPolicy>,
}

pub(super) fn validate(s: &mut Sink, base: &[PathSegment], t: &Task, g: &GroupCtx<'_>) {
    if t.name.is_empty() {
        s.at(base, [], "Missing task name");
    } else if t.name == "alloc" {
        s.at(
            base,
            [],
            "Task name cannot be \"alloc\" (reserved for the shared alloc directory)",
        );
    } else if t.name.contains('/') {
        s.at(base, [], "Task name cannot include slashes");
    } else if t.name.contains('\0') {
        s.at(base, [], "Task name cannot include null characters");
    }
    if t.driver.is_empty() {
        s.field(base, &["driver"], "Missing task driver");
    }
    if t.kill_timeout.is_some_and(|d| d.0 < 0) {
        s.field(
            base,
            &["kill_timeout"],
            "KillTimeout must be a positive value",
        );
    }
    if t.shutdown_delay.0 < 0 {
        s.field(
            base,
            &["shutdown_delay"],
            "ShutdownDelay must be a positive value",
        );
    }
    policy::constraints(s, base, &t.constraints);
    policy::affinities(s, base, &t.affinities);
    if let Some(r) = &t.restart_policy
        && g.restart != Some(r)
    {
        policy::restart(s, base, r);
    }
    resources(s, base, t);
    logs(s, base, t, g.disk_mb);
    if let Some(l) = &t.lifecycle
        && !l.is_empty()
        && !LIFECYCLE_HOOKS.contains(&l.hook.as_str())
    {
        s.field(
            base,
            &["lifecycle", "hook"],
            format!(
                "invalid hook: {:?} (expected prestart, poststart or poststop)",
                l.hook
            ),
        );
    }
    artifacts(s, base, t);
    templates(s, base, t);
    for (i, svc) in t.services.iter().enumerate() {
        service_port(
            s,
            &join(base, [f("service"), PathSegment::Index(i)]),
            &svc.port_label,
            g.ports,
        );
    }
    for (i, m) in t.volume_mounts.iter().enumerate() {
        let mb = join(base, [f("volume_mount"), PathSegment::Index(i)]);
        match m.volume.as_deref().unwrap_or("") {
            "" => s.field(&mb, &["volume"], "volume_mount must name a group volume"),
            v if !g.volumes.contains_key(v) => s.field(
                &mb,
                &["volume"],
                format!(
                    "volume_mount references undefined volume {v:?}{}",
                    defined(g.volumes.keys())
                ),
            ),
            _ => {}
        }
        if m.destination.as_deref().unwrap_or("").is_empty() {
            s.field(
                &mb,
                &["destination"],
                "volume_mount must have a destination",
            );
        }
        if let Some(p) = m.propagation_mode.as_deref()
            && !PROPAGATION_MODES.contains(&p)
        {
            s.field(
                &mb,
                &["propagation_mode"],
                format!("invalid propagation mode {p:?}"),
            );
        }
    }
    let config_ports = t.config_port_labels();
    for (i, label) in config_ports.iter().enumerate() {
        if !g.ports.contains(*label) {
            s.at(
                base,
                [f("config"), f("ports"), PathSegment::Index(i)],
                format!(
                    "port label {label:?} is not defined in the group's network{}",
                    defined(g.ports)
                ),
            );
        }
    }
}

fn resources(s: &mut Sink, base: &[PathSegment], t: &Task) {
    let Some(r) = &t.resources else { return };
    let cpu = r.cpu.unwrap_or(0);
    let cores = r.cores.unwrap_or(0);
    if cores < 0 {
        s.field(
            base,
            &["resources", "cores"],
            format!("cores must be >= 0; got {cores}"),
        );
    }
    if cores > 0 && cpu > 0 {
        s.field(
            base,
            &["resources"],
            "Task can only ask for 'cpu' or 'cores' resource, not both.",
        );
    } else if cores == 0 && cpu < MIN_CPU {
        s.field(
            base,
            &["resources", "cpu"],
            format!("minimum CPU value is {MIN_CPU}; got {cpu}"),
        );
    }
    let mem = r.memory_mb.unwrap_or(0);
    if mem < MIN_MEMORY_MB {
        s.field(
            base,
            &["resources", "memory"],
            format!("minimum MemoryMB value is {MIN_MEMORY_MB}; got {mem}"),
        );
    }
    let max = r.memory_max_mb.unwrap_or(0);
    if max != 0 && max < mem {
        s.field(
            base,
            &["resources", "memory_max"],
            format!("MemoryMaxMB value ({max}) should be larger than MemoryMB value ({mem})"),
        );
    }
    for (i, d) in r.devices.iter().enumerate() {
        let db = join(base, [f("resources"), f("device"), PathSegment::Index(i)]);
        if d.name.is_empty() {
            s.at(&db, [], "device name must be given as one of the following: type, vendor/type, or vendor/type/name");
        }
        if d.count.is_some_and(|c| c < 0) {
            s.field(&db, &["count"], "device count must be >= 0");
        }
    }
}

fn logs(s: &mut Sink, base: &[PathSegment], t: &Task, disk_mb: i64) {
    let Some(l) = &t.log_config else { return };
    let files = l.max_files.unwrap_or(10);
    let size = l.max_file_size_mb.unwrap_or(10);
    if files < 1 {
        s.field(
            base,
            &["logs", "max_files"],
            format!("minimum number of files is 1; got {files}"),
        );
    }
    if size < 1 {
        s.field(
            base,
            &["logs", "max_file_size"],
            format!("minimum file size is 1MB; got {size}"),
        );
    }
    let usage = l.storage_mb();
    if files >= 1 && size >= 1 && usage >= disk_mb {
        s.field(
            base,
            &["logs"],
            format!(
                "log storage ({usage} MB) must be less than requested disk capacity ({disk_mb} MB)"
            ),
        );
    }
}

fn artifacts(s: &mut Sink, base: &[PathSegment], t: &Task) {
    for (i, a) in t.artifacts.iter().enumerate() {
        let ab = join(base, [f("artifact"), PathSegment::Index(i)]);
        if a.getter_source.as_deref().unwrap_or("").is_empty() {
            s.field(&ab, &["source"], "source must be specified");
        }
        if let Some(m) = a.getter_mode.as_deref()
            && !GETTER_MODES.contains(&m)
        {
            s.field(
                &ab,
                &["mode"],
                format!("invalid artifact mode {m:?}; must be one of: any, file, dir"),
            );
        }
        if let Some(d) = a.relative_dest.as_deref()
            && escapes_task_dir(d)
        {
            s.field(
                &ab,
                &["destination"],
                format!("destination {d:?} escapes the allocation directory"),
            );
        }
    }
}

fn templates(s: &mut Sink, base: &[PathSegment], t: &Task) {
    let mut dests: HashMap<&str, usize> = HashMap::new();
    for (i, tm) in t.templates.iter().enumerate() {
        let tb = join(base, [f("template"), PathSegment::Index(i)]);
        let dest = tm.dest_path.as_deref().unwrap_or("");
        if dest.is_empty() {
            s.field(
                &tb,
                &["destination"],
                "Must specify a destination for the template",
            );
        } else if let Some(prev) = dests.insert(dest, i) {
            s.field(
                &tb,
                &["destination"],
                format!("Template {} has same destination as {}", i + 1, prev + 1),
            );
        }
        if tm.source_path.as_deref().unwrap_or("").is_empty()
            && tm.embedded_tmpl.as_deref().unwrap_or("").is_empty()
        {
            s.at(
                &tb,
                [],
                "Must specify a source path or have an embedded template",
            );
        }
        let mode = tm.change_mode.as_deref().unwrap_or("restart");
        if !CHANGE_MODES.contains(&mode) {
            s.field(
                &tb,
                &["change_mode"],
                format!("Invalid change mode {mode:?}"),
            );
        }
        if mode == "signal" && tm.change_signal.as_deref().unwrap_or("").is_empty() {
            s.field(
                &tb,
                &["change_signal"],
                "Must specify signal value when change mode is signal",
            );
        }
        if mode == "script" && tm.change_script.is_none() {
            s.field(
                &tb,
                &["change_script"],
                "must specify change script configuration value when change mode is script",
            );
        }
        if tm.splay.is_some_and(|d| d.0 < 0) {
            s.field(&tb, &["splay"], "Must specify positive splay value");
        }
        if let Some(p) = tm.perms.as_deref()
            && u32::from_str_radix(p, 8).is_err()
        {
            s.field(&tb, &["perms"], format!("Failed to parse {p:?} as octal"));
        }
    }
}

/// Whether a task-relative path leaves the allocation directory (`../../x`, `/x` is
/// relative to the task dir in Nomad, so only `..` can escape). Runtime references
/// (`${NOMAD_ALLOC_DIR}/x`) are resolved by the client and pass here.
fn escapes_task_dir(path: &str) -> bool {
    let mut depth: i64 = 1; // the task dir sits one level below the alloc dir
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_check() {
        assert!(!super::escapes_task_dir("local/"));
        assert!(!super::escapes_task_dir("../alloc/data"));
        assert!(super::escapes_task_dir("../../etc"));
        assert!(super::escapes_task_dir("local/../../../x"));
    }
}
