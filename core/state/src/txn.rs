//! `Txn`: one entry's working copy of the tables. Every write goes through these
//! helpers, which keep the secondary indexes, the per-table index map and the event
//! list consistent. Dropping a `Txn` discards everything (that is how a rejected entry
//! leaves no trace); [`crate::StateStore`] swaps the copy in only on success.

use crate::events::{Event, Payload, Topic};
use crate::view::{NsKey, StateView, Table};
use drover_types::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Job versions kept per job (Nomad's `JobTrackedVersions`).
pub const MAX_JOB_VERSIONS: usize = 6;

pub(crate) struct Txn {
    pub(crate) v: StateView,
    pub(crate) index: u64,
    kind: &'static str,
    events: Vec<Event>,
    event_pos: BTreeMap<(Topic, String), usize>,
    /// Jobs whose status must be recomputed at the end; `true` = an eval was deleted.
    pub(crate) status_dirty: BTreeMap<NsKey, bool>,
}

pub(crate) fn key(ns: &str, id: &str) -> NsKey {
    (ns.to_string(), id.to_string())
}

/// Empty namespaces mean `default`, as in Nomad's request defaults.
pub(crate) fn ns_or_default(ns: &str) -> String {
    if ns.is_empty() {
        drover_types::job::DEFAULT_NAMESPACE.to_string()
    } else {
        ns.to_string()
    }
}

impl Txn {
    pub(crate) fn new(v: StateView, index: u64, kind: &'static str) -> Self {
        Txn {
            v,
            index,
            kind,
            events: Vec::new(),
            event_pos: BTreeMap::new(),
            status_dirty: BTreeMap::new(),
        }
    }

    pub(crate) fn into_parts(mut self) -> (StateView, Vec<Event>) {
        self.v.applied_index = self.index;
        (self.v, self.events)
    }

    fn touch(&mut self, t: Table) {
        self.v.indexes[t as usize] = self.index;
    }

    /// Records an event; a row changed twice in one entry yields one event with its
    /// final value, at the position of the first change (as memdb coalesces changes).
    fn event(&mut self, topic: Topic, key: &str, ns: &str, filter: Vec<String>, p: Payload) {
        let ev = Event {
            topic,
            kind: self.kind,
            key: key.to_string(),
            namespace: ns.to_string(),
            filter_keys: filter,
            index: self.index,
            payload: p,
        };
        match self.event_pos.get(&(topic, key.to_string())) {
            Some(&i) => {
                if let Some(slot) = self.events.get_mut(i) {
                    *slot = ev;
                }
            }
            None => {
                self.event_pos
                    .insert((topic, key.to_string()), self.events.len());
                self.events.push(ev);
            }
        }
    }

    // ---- jobs ----

    pub(crate) fn put_job(&mut self, job: Job) -> Arc<Job> {
        let job = Arc::new(job);
        let (ns, id) = (job.namespace().to_string(), job.id().to_string());
        self.v.jobs.insert(key(&ns, &id), job.clone());
        self.touch(Table::Jobs);
        self.event(Topic::Job, &id, &ns, Vec::new(), Payload::Job(job.clone()));
        job
    }

    pub(crate) fn put_job_version(&mut self, job: Arc<Job>) {
        let (ns, id) = (job.namespace().to_string(), job.id().to_string());
        let version = job.version.unwrap_or(0);
        self.v
            .job_versions
            .insert((ns.clone(), id.clone(), version), job);
        let keys: Vec<(String, String, u64)> = self
            .v
            .job_versions
            .range((ns.clone(), id.clone(), 0)..)
            .take_while(|((n, j, _), _)| *n == ns && *j == id)
            .map(|(k, _)| k.clone())
            .collect();
        let excess = keys.len().saturating_sub(MAX_JOB_VERSIONS);
        for k in keys.into_iter().take(excess) {
            self.v.job_versions.remove(&k);
        }
        self.touch(Table::JobVersions);
    }

    /// Purge: the job, its versions and its summary. No event (as Nomad).
    pub(crate) fn delete_job(&mut self, ns: &str, id: &str) {
        self.v.jobs.remove(&key(ns, id));
        let versions: Vec<(String, String, u64)> = self
            .v
            .job_versions
            .range((ns.to_string(), id.to_string(), 0)..)
            .take_while(|((n, j, _), _)| n == ns && j == id)
            .map(|(k, _)| k.clone())
            .collect();
        for k in versions {
            self.v.job_versions.remove(&k);
        }
        self.v.summaries.remove(&key(ns, id));
        self.touch(Table::Jobs);
        self.touch(Table::JobVersions);
        self.touch(Table::JobSummaries);
        self.status_dirty.remove(&key(ns, id));
    }

    pub(crate) fn put_summary(&mut self, s: JobSummary) {
        let k = key(&s.namespace, &s.job_id);
        self.v.summaries.insert(k, Arc::new(s));
        self.touch(Table::JobSummaries);
    }

    pub(crate) fn mark_job_status(&mut self, ns: &str, id: &str, eval_delete: bool) {
        let e = self.status_dirty.entry(key(ns, id)).or_insert(false);
        *e |= eval_delete;
    }

    // ---- nodes ----

    pub(crate) fn put_node(&mut self, mut node: Node) {
        node.drain = node.drain_strategy.is_some();
        let node = Arc::new(node);
        self.v.nodes.insert(node.id.clone(), node.clone());
        self.touch(Table::Nodes);
        let id = node.id.clone();
        self.event(Topic::Node, &id, "", Vec::new(), Payload::Node(node));
    }

    pub(crate) fn delete_node(&mut self, id: &str) {
        if let Some(before) = self.v.nodes.remove(id) {
            self.touch(Table::Nodes);
            self.event(Topic::Node, id, "", Vec::new(), Payload::Node(before));
        }
    }

    // ---- allocations ----

    pub(crate) fn put_alloc(&mut self, alloc: Allocation) -> Arc<Allocation> {
        let alloc = Arc::new(alloc);
        if let Some(old) = self.v.allocs.insert(alloc.id.clone(), alloc.clone()) {
            self.unindex_alloc(&old);
        }
        self.v
            .allocs_by_node
            .insert((alloc.node_id.clone(), alloc.id.clone()));
        self.v.allocs_by_job.insert((
            alloc.namespace.clone(),
            alloc.job_id.clone(),
            alloc.id.clone(),
        ));
        self.v
            .allocs_by_eval
            .insert((alloc.eval_id.clone(), alloc.id.clone()));
        self.touch(Table::Allocs);
        let filter = vec![alloc.job_id.clone(), alloc.deployment_id.clone()];
        self.event(
            Topic::Allocation,
            &alloc.id,
            &alloc.namespace,
            filter,
            Payload::Allocation(alloc.clone()),
        );
        alloc
    }

    fn unindex_alloc(&mut self, a: &Allocation) {
        self.v
            .allocs_by_node
            .remove(&(a.node_id.clone(), a.id.clone()));
        self.v
            .allocs_by_job
            .remove(&(a.namespace.clone(), a.job_id.clone(), a.id.clone()));
        self.v
            .allocs_by_eval
            .remove(&(a.eval_id.clone(), a.id.clone()));
    }

    pub(crate) fn delete_alloc(&mut self, id: &str) -> Option<Arc<Allocation>> {
        let old = self.v.allocs.remove(id)?;
        self.unindex_alloc(&old);
        self.touch(Table::Allocs);
        Some(old)
    }

    // ---- evaluations ----

    pub(crate) fn put_eval(&mut self, eval: Evaluation) -> Arc<Evaluation> {
        let eval = Arc::new(eval);
        if let Some(old) = self.v.evals.insert(eval.id.clone(), eval.clone()) {
            self.v.evals_by_job.remove(&(
                old.namespace.clone(),
                old.job_id.clone(),
                old.id.clone(),
            ));
        }
        self.v
            .evals_by_job
            .insert((eval.namespace.clone(), eval.job_id.clone(), eval.id.clone()));
        self.touch(Table::Evals);
        let filter = vec![eval.job_id.clone(), eval.deployment_id.clone()];
        self.event(
            Topic::Evaluation,
            &eval.id,
            &eval.namespace,
            filter,
            Payload::Evaluation(eval.clone()),
        );
        eval
    }

    pub(crate) fn delete_eval(&mut self, id: &str) -> Option<Arc<Evaluation>> {
        let old = self.v.evals.remove(id)?;
        self.v
            .evals_by_job
            .remove(&(old.namespace.clone(), old.job_id.clone(), old.id.clone()));
        self.touch(Table::Evals);
        Some(old)
    }

    // ---- deployments ----

    pub(crate) fn put_deployment(&mut self, d: Deployment) -> Arc<Deployment> {
        let d = Arc::new(d);
        if let Some(old) = self.v.deployments.insert(d.id.clone(), d.clone()) {
            self.v.deployments_by_job.remove(&(
                old.namespace.clone(),
                old.job_id.clone(),
                old.id.clone(),
            ));
        }
        self.v
            .deployments_by_job
            .insert((d.namespace.clone(), d.job_id.clone(), d.id.clone()));
        self.touch(Table::Deployments);
        let filter = vec![d.job_id.clone()];
        self.event(
            Topic::Deployment,
            &d.id,
            &d.namespace,
            filter,
            Payload::Deployment(d.clone()),
        );
        d
    }
}
