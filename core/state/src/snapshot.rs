//! The snapshot format: one JSON document, `{"V":2,"AppliedIndex":…,"Indexes":{…},
//! "Jobs":[…],"JobVersions":[…],"JobSummaries":[…],"Nodes":[…],"Allocs":[…],
//! "AllocJobVersions":{…},"Evals":[…],"Deployments":[…]}`, rows in key order, so equal states encode to equal
//! bytes. Secondary indexes are rebuilt on restore rather than stored.
//!
//! Version 2 stores an allocation's `Job` only when it is not one of the stored job
//! versions: otherwise the alloc is written with `"Job":null` and `AllocJobVersions`
//! maps its ID to the version to attach on restore (an allocation carries a full job,
//! which made it the largest part of the image). Version 1 images still restore.

use crate::error::RestoreError;
use crate::view::{StateView, Table};
use drover_types::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 2;

/// Older versions this build still restores.
const READABLE_VERSIONS: [u32; 2] = [1, 2];

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Out<'a> {
    #[serde(rename = "V")]
    version: u32,
    applied_index: u64,
    indexes: BTreeMap<&'static str, u64>,
    jobs: Vec<&'a Job>,
    job_versions: Vec<&'a Job>,
    job_summaries: Vec<&'a JobSummary>,
    nodes: Vec<&'a Node>,
    allocs: Vec<std::borrow::Cow<'a, Allocation>>,
    alloc_job_versions: BTreeMap<&'a str, u64>,
    evals: Vec<&'a Evaluation>,
    deployments: Vec<&'a Deployment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct In {
    #[serde(rename = "V")]
    version: u32,
    applied_index: u64,
    indexes: BTreeMap<String, u64>,
    jobs: Vec<Job>,
    job_versions: Vec<Job>,
    job_summaries: Vec<JobSummary>,
    nodes: Vec<Node>,
    allocs: Vec<Allocation>,
    #[serde(default)]
    alloc_job_versions: BTreeMap<String, u64>,
    evals: Vec<Evaluation>,
    deployments: Vec<Deployment>,
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(rename = "V")]
    version: u32,
}

pub(crate) fn encode(v: &StateView) -> Vec<u8> {
    let mut alloc_job_versions = BTreeMap::new();
    let allocs = v
        .allocs
        .values()
        .map(|a| {
            let stored = a.job.as_deref().and_then(|j| {
                let version = j.version?;
                let k = (a.namespace.clone(), a.job_id.clone(), version);
                v.job_versions
                    .get(&k)
                    .filter(|s| s.as_ref() == j)
                    .map(|_| version)
            });
            match stored {
                Some(version) => {
                    alloc_job_versions.insert(a.id.as_str(), version);
                    // One clone of the row, still far cheaper than encoding its job.
                    let mut slim = a.as_ref().clone();
                    slim.job = None;
                    std::borrow::Cow::Owned(slim)
                }
                None => std::borrow::Cow::Borrowed(a.as_ref()),
            }
        })
        .collect();
    let out = Out {
        version: SNAPSHOT_VERSION,
        applied_index: v.applied_index,
        indexes: Table::ALL.iter().map(|t| (t.name(), v.index(*t))).collect(),
        jobs: v.jobs.values().map(|j| j.as_ref()).collect(),
        job_versions: v.job_versions.values().map(|j| j.as_ref()).collect(),
        job_summaries: v.summaries.values().map(|s| s.as_ref()).collect(),
        nodes: v.nodes.values().map(|n| n.as_ref()).collect(),
        allocs,
        alloc_job_versions,
        evals: v.evals.values().map(|e| e.as_ref()).collect(),
        deployments: v.deployments.values().map(|d| d.as_ref()).collect(),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

fn dup(table: &'static str, key: String) -> RestoreError {
    RestoreError::Duplicate { table, key }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<StateView, RestoreError> {
    let doc: In = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => {
            return Err(match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(v) if !READABLE_VERSIONS.contains(&v.version) => {
                    RestoreError::UnsupportedVersion(v.version)
                }
                _ => RestoreError::Decode(e.to_string()),
            });
        }
    };
    if !READABLE_VERSIONS.contains(&doc.version) {
        return Err(RestoreError::UnsupportedVersion(doc.version));
    }
    let mut v = StateView {
        applied_index: doc.applied_index,
        ..Default::default()
    };
    for (name, idx) in &doc.indexes {
        if let Some(t) = Table::parse(name) {
            v.indexes[t as usize] = *idx;
        }
    }
    for j in doc.jobs {
        let k = (j.namespace().to_string(), j.id().to_string());
        if v.jobs.insert(k.clone(), Arc::new(j)).is_some() {
            return Err(dup("jobs", format!("{}/{}", k.0, k.1)));
        }
    }
    for j in doc.job_versions {
        let k = (
            j.namespace().to_string(),
            j.id().to_string(),
            j.version.unwrap_or(0),
        );
        if v.job_versions.insert(k.clone(), Arc::new(j)).is_some() {
            return Err(dup("job_version", format!("{}/{}@{}", k.0, k.1, k.2)));
        }
    }
    for s in doc.job_summaries {
        let k = (s.namespace.clone(), s.job_id.clone());
        if v.summaries.insert(k.clone(), Arc::new(s)).is_some() {
            return Err(dup("job_summary", format!("{}/{}", k.0, k.1)));
        }
    }
    for n in doc.nodes {
        if let Some(old) = v.nodes.insert(n.id.clone(), Arc::new(n)) {
            return Err(dup("nodes", old.id.clone()));
        }
    }
    for mut a in doc.allocs {
        if let Some(version) = doc.alloc_job_versions.get(&a.id) {
            let k = (a.namespace.clone(), a.job_id.clone(), *version);
            let Some(job) = v.job_versions.get(&k) else {
                return Err(RestoreError::Decode(format!(
                    "alloc {}: job {}/{} version {version} is not in JobVersions",
                    a.id, a.namespace, a.job_id
                )));
            };
            a.job = Some(Box::new(job.as_ref().clone()));
        }
        v.allocs_by_node.insert((a.node_id.clone(), a.id.clone()));
        v.allocs_by_job
            .insert((a.namespace.clone(), a.job_id.clone(), a.id.clone()));
        v.allocs_by_eval.insert((a.eval_id.clone(), a.id.clone()));
        if let Some(old) = v.allocs.insert(a.id.clone(), Arc::new(a)) {
            return Err(dup("allocs", old.id.clone()));
        }
    }
    for e in doc.evals {
        v.evals_by_job
            .insert((e.namespace.clone(), e.job_id.clone(), e.id.clone()));
        if let Some(old) = v.evals.insert(e.id.clone(), Arc::new(e)) {
            return Err(dup("evals", old.id.clone()));
        }
    }
    for d in doc.deployments {
        v.deployments_by_job
            .insert((d.namespace.clone(), d.job_id.clone(), d.id.clone()));
        if let Some(old) = v.deployments.insert(d.id.clone(), Arc::new(d)) {
            return Err(dup("deployment", old.id.clone()));
        }
    }
    Ok(v)
}
