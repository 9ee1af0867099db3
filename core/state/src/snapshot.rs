//! The snapshot format: one JSON document, `{"V":1,"AppliedIndex":…,"Indexes":{…},
//! "Jobs":[…],"JobVersions":[…],"JobSummaries":[…],"Nodes":[…],"Allocs":[…],
//! "Evals":[…],"Deployments":[…]}`, rows in key order, so equal states encode to equal
//! bytes. Secondary indexes are rebuilt on restore rather than stored.

use crate::error::RestoreError;
use crate::view::{StateView, Table};
use drover_types::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

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
    allocs: Vec<&'a Allocation>,
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
    evals: Vec<Evaluation>,
    deployments: Vec<Deployment>,
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(rename = "V")]
    version: u32,
}

pub(crate) fn encode(v: &StateView) -> Vec<u8> {
    let out = Out {
        version: SNAPSHOT_VERSION,
        applied_index: v.applied_index,
        indexes: Table::ALL.iter().map(|t| (t.name(), v.index(*t))).collect(),
        jobs: v.jobs.values().map(|j| j.as_ref()).collect(),
        job_versions: v.job_versions.values().map(|j| j.as_ref()).collect(),
        job_summaries: v.summaries.values().map(|s| s.as_ref()).collect(),
        nodes: v.nodes.values().map(|n| n.as_ref()).collect(),
        allocs: v.allocs.values().map(|a| a.as_ref()).collect(),
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
                Ok(v) if v.version != SNAPSHOT_VERSION => {
                    RestoreError::UnsupportedVersion(v.version)
                }
                _ => RestoreError::Decode(e.to_string()),
            });
        }
    };
    if doc.version != SNAPSHOT_VERSION {
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
    for a in doc.allocs {
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
