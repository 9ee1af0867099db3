//! `Job::canonicalize`: Nomad's defaults, as `api.Job.Canonicalize` and the server's
//! job admission apply them (reference §2.4). Idempotent: canonicalizing twice changes
//! nothing. Values the user set are never overwritten; job-level `update`, `migrate`
//! and `reschedule` are merged into every group, and a group's `restart` into each task.

use crate::constraint::{Affinity, Constraint, Spread};
use crate::duration::Duration;
use crate::group::{DEFAULT_EPHEMERAL_DISK_MB, EphemeralDisk, TaskGroup};
use crate::job::{DEFAULT_NAMESPACE, DEFAULT_NODE_POOL, DEFAULT_PRIORITY, DEFAULT_REGION, Job};
use crate::logs::LogConfig;
use crate::restart::{ReschedulePolicy, RestartPolicy};
use crate::task::Task;
use crate::update::{MigrateStrategy, UpdateStrategy};

/// What a group needs from its job while being canonicalized.
struct JobCtx {
    name: String,
    job_type: String,
    update: Option<UpdateStrategy>,
    migrate: Option<MigrateStrategy>,
    reschedule: Option<ReschedulePolicy>,
}

impl Job {
    /// Fills every unset field with Nomad's default (see the module docs).
    pub fn canonicalize(&mut self) {
        let id = self.id.get_or_insert_with(String::new).clone();
        if self.name.as_deref().is_none_or(str::is_empty) {
            self.name = Some(id);
        }
        fill_str(&mut self.region, DEFAULT_REGION);
        fill_str(&mut self.namespace, DEFAULT_NAMESPACE);
        fill_str(&mut self.job_type, "service");
        if self.priority.is_none_or(|p| p == 0) {
            self.priority = Some(DEFAULT_PRIORITY);
        }
        self.all_at_once.get_or_insert(false);
        if self.datacenters.is_empty() {
            self.datacenters = vec!["*".into()];
        }
        fill_str(&mut self.node_pool, DEFAULT_NODE_POOL);
        self.stop.get_or_insert(false);
        self.parent_id.get_or_insert_with(String::new);
        self.status.get_or_insert_with(String::new);
        self.status_description.get_or_insert_with(String::new);
        self.stable.get_or_insert(false);
        self.version.get_or_insert(0);
        self.submit_time.get_or_insert(0);
        self.create_index.get_or_insert(0);
        self.modify_index.get_or_insert(0);
        self.job_modify_index.get_or_insert(0);

        if let Some(p) = &mut self.periodic {
            p.enabled.get_or_insert(true);
            p.spec.get_or_insert_with(String::new);
            if p.spec_type.is_none() && (p.spec.as_deref() != Some("") || !p.specs.is_empty()) {
                p.spec_type = Some("cron".into());
            }
            p.prohibit_overlap.get_or_insert(false);
            fill_str(&mut p.time_zone, "UTC");
        }
        if let Some(p) = &mut self.parameterized_job
            && p.payload.is_empty()
        {
            p.payload = "optional".into();
        }

        let job_type = self.job_type.clone().unwrap_or_default();
        match &mut self.update {
            Some(u) => u.canonicalize(),
            None if job_type == "service" || job_type == "system" => {
                self.update = Some(UpdateStrategy::default_strategy())
            }
            None => {}
        }
        canonicalize_placement(
            &mut self.constraints,
            &mut self.affinities,
            &mut self.spreads,
        );

        let ctx = JobCtx {
            name: self.name.clone().unwrap_or_default(),
            job_type,
            update: self.update.clone(),
            migrate: self.migrate.clone(),
            reschedule: self.reschedule.clone(),
        };
        for g in &mut self.task_groups {
            canonicalize_group(g, &ctx);
        }
    }
}

fn canonicalize_group(g: &mut TaskGroup, job: &JobCtx) {
    if g.count.is_none() {
        g.count = Some(g.scaling.as_ref().and_then(|s| s.min).unwrap_or(1));
    }
    let count = g.count.unwrap_or(1);
    if let Some(s) = &mut g.scaling {
        s.min.get_or_insert(count);
        s.enabled.get_or_insert(true);
        if s.kind.is_empty() {
            s.kind = "horizontal".into();
        }
    }

    let disk = g.ephemeral_disk.get_or_insert_with(EphemeralDisk::default);
    disk.sticky.get_or_insert(false);
    disk.migrate.get_or_insert(false);
    disk.size_mb.get_or_insert(DEFAULT_EPHEMERAL_DISK_MB);

    // update: the job's (if non-empty) merged with the group's, then defaulted.
    g.update = match (&job.update, g.update.take()) {
        (Some(j), Some(own)) => {
            let mut u = j.clone();
            u.merge(&own);
            Some(u)
        }
        (Some(j), None) if !j.is_empty() => Some(j.clone()),
        (_, own) => own,
    };
    if let Some(u) = &mut g.update {
        u.canonicalize();
    }

    // migrate: the job's merged with the group's; service jobs get the defaults under both.
    let mut migrate = job.migrate.clone();
    if let Some(own) = g.migrate.take() {
        migrate
            .get_or_insert_with(MigrateStrategy::default)
            .merge(&own);
    }
    if job.job_type == "service" {
        let mut m = MigrateStrategy::default_strategy();
        if let Some(user) = &migrate {
            m.merge(user);
        }
        migrate = Some(m);
    }
    g.migrate = migrate;

    // reschedule: per-type default < job < group; none for system/sysbatch.
    let base = match job.job_type.as_str() {
        "service" => Some(ReschedulePolicy::default_service()),
        "batch" => Some(ReschedulePolicy::default_batch()),
        _ => None,
    };
    if let Some(mut p) = base {
        if let Some(j) = &job.reschedule {
            p.merge(j);
        }
        if let Some(own) = &g.reschedule_policy {
            p.merge(own);
        }
        g.reschedule_policy = Some(p);
    }

    // restart: per-type default < group; tasks inherit below.
    let mut restart = match job.job_type.as_str() {
        "service" | "system" => RestartPolicy::default_service(),
        _ => RestartPolicy::default_batch(),
    };
    if let Some(own) = &g.restart_policy {
        restart.merge(own);
    }
    g.restart_policy = Some(restart.clone());

    for n in &mut g.networks {
        if n.mode.is_empty() {
            n.mode = "host".into();
        }
        for p in n
            .reserved_ports
            .iter_mut()
            .chain(n.dynamic_ports.iter_mut())
        {
            if p.host_network.is_empty() {
                p.host_network = "default".into();
            }
        }
    }
    for (name, v) in &mut g.volumes {
        if v.name.is_empty() {
            v.name = name.clone();
        }
    }
    if let Some(d) = &mut g.disconnect {
        d.replace.get_or_insert(true);
        fill_str(&mut d.reconcile, "best_score");
    }
    canonicalize_placement(&mut g.constraints, &mut g.affinities, &mut g.spreads);
    for s in &mut g.services {
        s.canonicalize(&job.name, &g.name, None);
    }
    for t in &mut g.tasks {
        canonicalize_task(t, &restart, &job.name, &g.name);
    }
}

fn canonicalize_task(t: &mut Task, group_restart: &RestartPolicy, job: &str, group: &str) {
    t.resources
        .get_or_insert_with(Default::default)
        .canonicalize();
    t.kill_timeout.get_or_insert(Duration::from_secs(5));
    t.log_config
        .get_or_insert_with(LogConfig::default_config)
        .canonicalize();
    for a in &mut t.artifacts {
        a.canonicalize();
    }
    for tmpl in &mut t.templates {
        tmpl.canonicalize();
    }
    for s in &mut t.services {
        s.canonicalize(job, group, Some(&t.name));
    }
    for m in &mut t.volume_mounts {
        m.read_only.get_or_insert(false);
        fill_str(&mut m.propagation_mode, "private");
        m.selinux_label.get_or_insert_with(String::new);
    }
    if t.lifecycle.as_ref().is_some_and(|l| l.is_empty()) {
        t.lifecycle = None;
    }
    let mut restart = group_restart.clone();
    if let Some(own) = &t.restart_policy {
        restart.merge(own);
    }
    t.restart_policy = Some(restart);
    canonicalize_placement(&mut t.constraints, &mut t.affinities, &mut Vec::new());
}

/// Operand `=` when empty; affinity and spread weight 50 when unset.
fn canonicalize_placement(c: &mut [Constraint], a: &mut [Affinity], s: &mut [Spread]) {
    for c in c {
        if c.operand.is_empty() {
            c.operand = "=".into();
        }
    }
    for a in a {
        if a.operand.is_empty() {
            a.operand = "=".into();
        }
        a.weight.get_or_insert(50);
    }
    for s in s {
        s.weight.get_or_insert(50);
    }
}

/// Sets `field` to `default` when unset or empty (Nomad treats `""` as unset here).
fn fill_str(field: &mut Option<String>, default: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(default.to_owned());
    }
}

#[cfg(test)]
#[path = "canonicalize_tests.rs"]
mod tests;
