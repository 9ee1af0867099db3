//! Destructive vs in-place job updates (Nomad's `tasksUpdated`): an allocation can be
//! updated in place only when what changed does not affect the running tasks — count,
//! update/reschedule/restart policies, constraints, affinities, spreads, services,
//! priority. Anything a task sees (driver, config, env, meta, resources, artifacts,
//! templates, volumes, networks, ephemeral disk, …) needs a new allocation.

use drover_types::{Job, TaskGroup};
use std::collections::BTreeMap;

fn combined_meta<'a>(job: &'a Job, tg: &'a TaskGroup, task: &'a str) -> BTreeMap<&'a str, &'a str> {
    let mut m: BTreeMap<&str, &str> = BTreeMap::new();
    let t = tg.task(task);
    for (k, v) in job
        .meta
        .iter()
        .chain(&tg.meta)
        .chain(t.into_iter().flat_map(|t| &t.meta))
    {
        m.insert(k, v);
    }
    m
}

/// Whether group `group` changed destructively between `old` and `new`.
pub fn tasks_updated(new: &Job, old: &Job, group: &str) -> bool {
    let (Some(a), Some(b)) = (new.group(group), old.group(group)) else {
        return true;
    };
    if a.tasks.len() != b.tasks.len()
        || a.ephemeral_disk != b.ephemeral_disk
        || a.networks != b.networks
        || a.volumes != b.volumes
        || a.consul != b.consul
    {
        return true;
    }
    for at in &a.tasks {
        let Some(bt) = b.task(&at.name) else {
            return true;
        };
        let (ar, br) = (
            at.resources.clone().unwrap_or_default(),
            bt.resources.clone().unwrap_or_default(),
        );
        if at.driver != bt.driver
            || at.user != bt.user
            || at.config != bt.config
            || at.env != bt.env
            || at.artifacts != bt.artifacts
            || at.templates != bt.templates
            || at.vault != bt.vault
            || at.consul != bt.consul
            || at.log_config != bt.log_config
            || at.volume_mounts != bt.volume_mounts
            || at.lifecycle != bt.lifecycle
            || at.dispatch_payload != bt.dispatch_payload
            || at.identity != bt.identity
            || at.identities != bt.identities
            || at.csi_plugin_config != bt.csi_plugin_config
            || ar.cpu != br.cpu
            || ar.cores != br.cores
            || ar.memory_mb != br.memory_mb
            || ar.memory_max_mb != br.memory_max_mb
            || ar.disk_mb != br.disk_mb
            || ar.devices != br.devices
            || ar.networks != br.networks
            || ar.numa != br.numa
            || combined_meta(new, a, &at.name) != combined_meta(old, b, &at.name)
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(count: i64, image: &str, meta: &str) -> Job {
        serde_json::from_value(serde_json::json!({
            "ID": "j", "Meta": {"k": meta},
            "TaskGroups": [{"Name": "g", "Count": count,
                "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": image}}]}]
        }))
        .unwrap()
    }

    #[test]
    fn destructive_rules() {
        assert!(!tasks_updated(&job(3, "a", "x"), &job(1, "a", "x"), "g"));
        assert!(tasks_updated(&job(1, "b", "x"), &job(1, "a", "x"), "g"));
        assert!(tasks_updated(&job(1, "a", "y"), &job(1, "a", "x"), "g"));
        assert!(tasks_updated(
            &job(1, "a", "x"),
            &job(1, "a", "x"),
            "missing"
        ));
    }
}
