//! `Job::validate`: Nomad's rules (reference §2.5, `Job.Validate`,
//! `TaskGroup.Validate`, `Task.Validate`) plus Drover's cross-reference checks
//! (volume mounts name group volumes, driver `ports` name group ports). Every broken
//! rule is reported, each with a structured path. Run it on a canonicalized job.

mod group;
mod policy;
mod task;

use crate::error::{PathSegment, ValidationError};
use crate::job::{Job, JobType, MAX_PRIORITY};
use std::collections::HashMap;

/// Collects errors under a base path.
pub(crate) struct Sink {
    errors: Vec<ValidationError>,
}

impl Sink {
    /// An error at `base` + `rest`.
    pub(crate) fn at<I>(&mut self, base: &[PathSegment], rest: I, message: impl Into<String>)
    where
        I: IntoIterator<Item = PathSegment>,
    {
        let mut path = base.to_vec();
        path.extend(rest);
        self.errors.push(ValidationError::new(path, message));
    }
    /// An error at `base` + the dotted field names.
    pub(crate) fn field(
        &mut self,
        base: &[PathSegment],
        fields: &[&str],
        message: impl Into<String>,
    ) {
        self.at(base, fields.iter().map(|f| PathSegment::field(f)), message);
    }
}

/// `base` extended by `rest`.
pub(crate) fn join<I: IntoIterator<Item = PathSegment>>(
    base: &[PathSegment],
    rest: I,
) -> Vec<PathSegment> {
    let mut p = base.to_vec();
    p.extend(rest);
    p
}

/// Shorthand for a [`PathSegment::Field`].
pub(crate) fn f(name: &str) -> PathSegment {
    PathSegment::field(name)
}

impl Job {
    /// Checks every rule and returns all errors, in job → group → task order.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut sink = Sink { errors: Vec::new() };
        validate_job(self, &mut sink);
        if sink.errors.is_empty() {
            Ok(())
        } else {
            Err(sink.errors)
        }
    }
}

fn validate_job(job: &Job, s: &mut Sink) {
    let id = job.id.as_deref().unwrap_or("");
    let base = vec![PathSegment::Job(id.to_owned())];
    let base = base.as_slice();

    if job.region.as_deref().is_none_or(str::is_empty) {
        s.field(base, &["region"], "Missing job region");
    }
    if id.is_empty() {
        s.field(base, &["id"], "Missing job ID");
    } else if id.contains(' ') {
        s.field(base, &["id"], "Job ID contains a space");
    } else if id.contains('\0') {
        s.field(base, &["id"], "Job ID contains a null character");
    }
    match job.name.as_deref() {
        None | Some("") => s.field(base, &["name"], "Missing job name"),
        Some(n) if n.contains('\0') => {
            s.field(base, &["name"], "Job Name contains a null character")
        }
        _ => {}
    }
    if job.namespace.as_deref().is_some_and(|n| n.contains('\0')) {
        s.field(
            base,
            &["namespace"],
            "Job Namespace contains a null character",
        );
    }
    let kind = match job.job_type.as_deref() {
        None | Some("") => {
            s.field(base, &["type"], "Missing job type");
            None
        }
        Some(t) => {
            let k = JobType::parse(t);
            if k.is_none() {
                s.field(
                    base,
                    &["type"],
                    format!(
                        "Invalid job type: {t:?} (expected service, batch, system or sysbatch)"
                    ),
                );
            }
            k
        }
    };
    if let Some(p) = job.priority
        && !(1..=MAX_PRIORITY).contains(&p)
    {
        s.field(
            base,
            &["priority"],
            format!("job priority must be between [1, {MAX_PRIORITY}]; got {p}"),
        );
    }
    if job.datacenters.is_empty() {
        s.field(base, &["datacenters"], "Missing job datacenters");
    }
    for (i, dc) in job.datacenters.iter().enumerate() {
        if dc.is_empty() {
            s.at(
                base,
                [f("datacenters"), PathSegment::Index(i)],
                "Job datacenter must be non-empty string",
            );
        }
    }
    if job.task_groups.is_empty() {
        s.at(base, [], "Missing job task groups");
    }

    policy::constraints(s, base, &job.constraints);
    policy::affinities(s, base, &job.affinities);
    policy::spreads(s, base, &job.spreads);
    if kind == Some(JobType::System) {
        if !job.affinities.is_empty() {
            s.field(
                base,
                &["affinity"],
                "System jobs may not have an affinity block",
            );
        }
        if !job.spreads.is_empty() {
            s.field(base, &["spread"], "System jobs may not have a spread block");
        }
    }
    if let Some(k) = kind {
        if matches!(k, JobType::Batch | JobType::Sysbatch) {
            if job.update.as_ref().is_some_and(|u| !u.is_empty()) {
                s.field(
                    base,
                    &["update"],
                    format!("Job type {:?} does not allow update block", k.as_str()),
                );
            }
            if job.migrate.is_some() {
                s.field(
                    base,
                    &["migrate"],
                    format!("Job type {:?} does not allow migrate block", k.as_str()),
                );
            }
        }
        if k.is_system_like() && job.reschedule.is_some() {
            s.field(
                base,
                &["reschedule"],
                "System jobs should not have a reschedule policy",
            );
        }
    }
    if let Some(p) = &job.periodic {
        policy::periodic(s, base, p, kind);
    }
    if let Some(p) = &job.parameterized_job {
        policy::parameterized(s, base, p, kind);
    }

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, g) in job.task_groups.iter().enumerate() {
        let gbase = join(base, [PathSegment::Group(g.name.clone())]);
        if g.name.is_empty() {
            s.at(
                base,
                [f("group"), PathSegment::Index(i)],
                format!("Job task group {} missing name", i + 1),
            );
        } else if let Some(prev) = seen.insert(&g.name, i) {
            s.at(
                &gbase,
                [],
                format!(
                    "Job task group {} redefines '{}' from group {}",
                    i + 1,
                    g.name,
                    prev + 1
                ),
            );
        }
        group::validate(s, &gbase, g, kind);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
