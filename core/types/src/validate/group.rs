//! Group rules: count, tasks, network ports, volumes, ephemeral disk, the policy
//! blocks allowed for the job type, and cross-references from tasks to the group.

use super::{Sink, f, join, policy, task};
use crate::error::PathSegment;
use crate::group::TaskGroup;
use crate::job::JobType;
use crate::network::MAX_PORT;
use crate::volume::VOLUME_TYPES;
use std::collections::{BTreeSet, HashMap};

/// Nomad's minimum ephemeral disk size (MB).
const MIN_DISK_MB: i64 = 10;

pub(super) fn validate(s: &mut Sink, base: &[PathSegment], g: &TaskGroup, kind: Option<JobType>) {
    let count = g.count.unwrap_or(1);
    if count < 0 {
        s.field(base, &["count"], "Task group count can't be negative");
    }
    if kind.is_some_and(JobType::is_system_like) && count > 1 {
        s.field(
            base,
            &["count"],
            format!(
                "Job task group {} has count {count}. Count cannot exceed 1 with system scheduler",
                g.name
            ),
        );
    }
    if g.tasks.is_empty() {
        s.at(base, [], "Missing tasks for task group");
    }
    policy::constraints(s, base, &g.constraints);
    policy::affinities(s, base, &g.affinities);
    policy::spreads(s, base, &g.spreads);
    if kind == Some(JobType::System) {
        if !g.affinities.is_empty() {
            s.field(
                base,
                &["affinity"],
                "System jobs may not have an affinity block",
            );
        }
        if !g.spreads.is_empty() {
            s.field(base, &["spread"], "System jobs may not have a spread block");
        }
    }
    if let Some(r) = &g.restart_policy {
        policy::restart(s, base, r);
    }
    match (kind, &g.reschedule_policy) {
        (Some(k), Some(_)) if k.is_system_like() => s.field(
            base,
            &["reschedule"],
            "System jobs should not have a reschedule policy",
        ),
        (_, Some(r)) => policy::reschedule(s, base, r),
        (Some(JobType::Service | JobType::Batch), None) => s.field(
            base,
            &["reschedule"],
            format!("Task Group {} should have a reschedule policy", g.name),
        ),
        _ => {}
    }
    let batchy = kind.filter(|k| matches!(k, JobType::Batch | JobType::Sysbatch));
    if let Some(u) = &g.update {
        match batchy {
            Some(k) if !u.is_empty() => s.field(
                base,
                &["update"],
                format!("Job type {:?} does not allow update block", k.as_str()),
            ),
            _ => policy::update(s, base, u, count),
        }
    }
    if let Some(m) = &g.migrate {
        match batchy {
            Some(k) => s.field(
                base,
                &["migrate"],
                format!("Job type {:?} does not allow migrate block", k.as_str()),
            ),
            None => policy::migrate(s, base, m),
        }
    }
    let disk = g
        .ephemeral_disk
        .as_ref()
        .and_then(|d| d.size_mb)
        .unwrap_or(300);
    if disk < MIN_DISK_MB {
        s.field(
            base,
            &["ephemeral_disk", "size"],
            format!("minimum DiskMB value is {MIN_DISK_MB}; got {disk}"),
        );
    }
    if g.shutdown_delay.is_some_and(|d| d.0 < 0) {
        s.field(
            base,
            &["shutdown_delay"],
            "shutdown_delay must be a positive value",
        );
    }
    if let Some(d) = &g.disconnect
        && let Some(r) = d.reconcile.as_deref()
        && !crate::group::RECONCILE_MODES.contains(&r)
    {
        s.field(
            base,
            &["disconnect", "reconcile"],
            format!("invalid reconcile strategy {r:?}"),
        );
    }

    let ports = networks(s, base, g);
    volumes(s, base, g);
    for (i, svc) in g.services.iter().enumerate() {
        service_port(
            s,
            &join(base, [f("service"), PathSegment::Index(i)]),
            &svc.port_label,
            &ports,
        );
    }

    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut leaders = 0;
    let mut mains = 0;
    for (i, t) in g.tasks.iter().enumerate() {
        let tbase = join(base, [PathSegment::Task(t.name.clone())]);
        if !t.name.is_empty()
            && let Some(prev) = seen.insert(&t.name, i)
        {
            s.at(
                &tbase,
                [],
                format!(
                    "Task {} redefines '{}' from task {}",
                    i + 1,
                    t.name,
                    prev + 1
                ),
            );
        }
        leaders += usize::from(t.leader);
        mains += usize::from(t.is_main());
        let ctx = task::GroupCtx {
            disk_mb: disk,
            ports: &ports,
            volumes: &g.volumes,
            restart: g.restart_policy.as_ref(),
        };
        task::validate(s, &tbase, t, &ctx);
    }
    if leaders > 1 {
        s.field(base, &["task"], "Only one task may be marked as leader");
    }
    if !g.tasks.is_empty() && mains == 0 {
        s.field(
            base,
            &["task"],
            "Task group must have at least one main task (a task without lifecycle)",
        );
    }
}

/// Checks the group's networks and returns every port label they define.
fn networks(s: &mut Sink, base: &[PathSegment], g: &TaskGroup) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    let mut statics: HashMap<(i64, &str), &str> = HashMap::new();
    if g.networks.len() > 1 {
        s.field(
            base,
            &["network"],
            "Only one network block is allowed per group",
        );
    }
    for (i, n) in g.networks.iter().enumerate() {
        let nb = join(base, [f("network"), PathSegment::Index(i)]);
        let mode_ok = matches!(n.mode.as_str(), "" | "host" | "bridge" | "none")
            || n.mode.strip_prefix("cni/").is_some_and(|c| !c.is_empty());
        if !mode_ok {
            s.field(
                &nb,
                &["mode"],
                format!(
                    "invalid network mode {:?} (expected host, bridge, none or cni/<name>)",
                    n.mode
                ),
            );
        }
        for (p, reserved) in n.ports() {
            let pb = join(&nb, [f("port"), PathSegment::Key(p.label.clone())]);
            if p.label.is_empty() {
                s.at(&pb, [], "Port label must not be empty");
            } else if !labels.insert(p.label.clone()) {
                s.at(&pb, [], format!("Port label {} already in use", p.label));
            }
            if p.value < 0 || p.value > MAX_PORT {
                s.field(
                    &pb,
                    &["static"],
                    format!(
                        "Port {:?} ({}) must be between 0 and {MAX_PORT}",
                        p.label, p.value
                    ),
                );
            } else if reserved && p.value > 0 && !p.ignore_collision {
                let host_net = if p.host_network.is_empty() {
                    "default"
                } else {
                    p.host_network.as_str()
                };
                if let Some(other) = statics.insert((p.value, host_net), &p.label) {
                    s.field(
                        &pb,
                        &["static"],
                        format!("Static port {} already reserved by {}", p.value, other),
                    );
                }
            }
            if p.to < -1 {
                s.field(
                    &pb,
                    &["to"],
                    format!(
                        "Port {:?} cannot be mapped to negative value {}",
                        p.label, p.to
                    ),
                );
            } else if p.to > MAX_PORT {
                s.field(
                    &pb,
                    &["to"],
                    format!(
                        "Port {:?} cannot be mapped to a port ({}) greater than {MAX_PORT}",
                        p.label, p.to
                    ),
                );
            }
        }
    }
    labels
}

fn volumes(s: &mut Sink, base: &[PathSegment], g: &TaskGroup) {
    for (name, v) in &g.volumes {
        let vb = join(base, [f("volume"), PathSegment::Key(name.clone())]);
        if !v.name.is_empty() && v.name != *name {
            s.at(
                &vb,
                [],
                format!("volume name {:?} does not match its key {name:?}", v.name),
            );
        }
        if !VOLUME_TYPES.contains(&v.kind.as_str()) {
            s.field(
                &vb,
                &["type"],
                format!(
                    "volume has unrecognized type {:?} (expected host or csi)",
                    v.kind
                ),
            );
        }
        if v.source.is_empty() {
            s.field(
                &vb,
                &["source"],
                format!("volume {name} has an empty source"),
            );
        }
        if v.kind == "csi" {
            if v.access_mode.is_empty() {
                s.field(
                    &vb,
                    &["access_mode"],
                    "CSI volumes must have an access mode",
                );
            }
            if v.attachment_mode.is_empty() {
                s.field(
                    &vb,
                    &["attachment_mode"],
                    "CSI volumes must have an attachment mode",
                );
            }
        }
    }
}

/// A service's `port` must be a number or a label the group defines.
pub(super) fn service_port(
    s: &mut Sink,
    base: &[PathSegment],
    label: &str,
    ports: &BTreeSet<String>,
) {
    if label.is_empty() || label.parse::<u16>().is_ok() || ports.contains(label) {
        return;
    }
    s.field(
        base,
        &["port"],
        format!(
            "port label {label:?} is not defined in the group's network{}",
            defined(ports)
        ),
    );
}

/// ` (defined: a, b)` or ` (none defined)`.
pub(super) fn defined<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    let list: Vec<&str> = names.into_iter().map(String::as_str).collect();
    if list.is_empty() {
        " (none defined)".into()
    } else {
        format!(" (defined: {})", list.join(", "))
    }
}
