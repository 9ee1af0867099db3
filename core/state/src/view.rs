//! `StateView`: an immutable, O(1)-to-clone snapshot of every table, and the read API
//! the schedulers, the plan applier and the HTTP API use.
//!
//! Tables are persistent ordered maps (`imbl::OrdMap`) of `Arc`ed rows: cloning a view
//! copies a few root pointers, an apply touches O(log n) nodes of a private copy, and a
//! view taken before an apply never sees it. Iteration order is key order, which makes
//! every listing (and the snapshot) deterministic.

use drover_types::{Allocation, Deployment, Evaluation, Job, JobSummary, Node};
use imbl::{OrdMap, OrdSet};
use std::sync::Arc;

/// `(namespace, id)`.
pub(crate) type NsKey = (String, String);

/// The tables, with Nomad's names (used by [`StateView::index_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// `jobs`.
    Jobs,
    /// `job_version`.
    JobVersions,
    /// `job_summary`.
    JobSummaries,
    /// `nodes`.
    Nodes,
    /// `allocs`.
    Allocs,
    /// `evals`.
    Evals,
    /// `deployment`.
    Deployments,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 7] = [
        Table::Jobs,
        Table::JobVersions,
        Table::JobSummaries,
        Table::Nodes,
        Table::Allocs,
        Table::Evals,
        Table::Deployments,
    ];
    /// Nomad's table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Jobs => "jobs",
            Table::JobVersions => "job_version",
            Table::JobSummaries => "job_summary",
            Table::Nodes => "nodes",
            Table::Allocs => "allocs",
            Table::Evals => "evals",
            Table::Deployments => "deployment",
        }
    }
    /// Parses Nomad's table name.
    pub fn parse(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A consistent, immutable read snapshot of the state.
#[derive(Debug, Clone, Default)]
pub struct StateView {
    pub(crate) jobs: OrdMap<NsKey, Arc<Job>>,
    pub(crate) job_versions: OrdMap<(String, String, u64), Arc<Job>>,
    pub(crate) summaries: OrdMap<NsKey, Arc<JobSummary>>,
    pub(crate) nodes: OrdMap<String, Arc<Node>>,
    pub(crate) allocs: OrdMap<String, Arc<Allocation>>,
    pub(crate) allocs_by_node: OrdSet<(String, String)>,
    pub(crate) allocs_by_job: OrdSet<(String, String, String)>,
    pub(crate) allocs_by_eval: OrdSet<(String, String)>,
    pub(crate) evals: OrdMap<String, Arc<Evaluation>>,
    pub(crate) evals_by_job: OrdSet<(String, String, String)>,
    pub(crate) deployments: OrdMap<String, Arc<Deployment>>,
    pub(crate) deployments_by_job: OrdSet<(String, String, String)>,
    pub(crate) indexes: [u64; 7],
    pub(crate) applied_index: u64,
}

fn ns_key(ns: &str, id: &str) -> NsKey {
    (ns.to_string(), id.to_string())
}

impl StateView {
    /// The last Raft index applied (including rejected entries and no-ops).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }
    /// The last Raft index that changed `table` (0 = never).
    pub fn index(&self, table: Table) -> u64 {
        self.indexes[table as usize]
    }
    /// [`StateView::index`] by Nomad's table name; unknown names are 0.
    pub fn index_of(&self, name: &str) -> u64 {
        Table::parse(name).map_or(0, |t| self.index(t))
    }
    /// The highest table index: what `X-Nomad-Index` reports for cross-table reads.
    pub fn latest_index(&self) -> u64 {
        self.indexes.iter().copied().max().unwrap_or(0)
    }

    // ---- jobs ----

    /// The current version of a job.
    pub fn job_by_id(&self, namespace: &str, id: &str) -> Option<&Arc<Job>> {
        self.jobs.get(&ns_key(namespace, id))
    }
    /// Every job, ordered by (namespace, ID).
    pub fn jobs(&self) -> impl Iterator<Item = &Arc<Job>> + '_ {
        self.jobs.values()
    }
    /// The jobs of one namespace, ordered by ID.
    pub fn jobs_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Arc<Job>> + 'a {
        self.jobs_by_prefix(namespace, "")
    }
    /// The jobs of one namespace whose ID starts with `prefix`.
    pub fn jobs_by_prefix<'a>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Job>> + 'a {
        self.jobs
            .range(ns_key(namespace, prefix)..)
            .take_while(move |((ns, id), _)| ns == namespace && id.starts_with(prefix))
            .map(|(_, j)| j)
    }
    /// The tracked versions of a job, newest first.
    pub fn job_versions(&self, namespace: &str, id: &str) -> Vec<Arc<Job>> {
        let from = (namespace.to_string(), id.to_string(), 0);
        let mut out: Vec<Arc<Job>> = self
            .job_versions
            .range(from..)
            .take_while(|((ns, jid, _), _)| ns == namespace && jid == id)
            .map(|(_, j)| j.clone())
            .collect();
        out.reverse();
        out
    }
    /// One tracked version of a job.
    pub fn job_version(&self, namespace: &str, id: &str, version: u64) -> Option<&Arc<Job>> {
        self.job_versions
            .get(&(namespace.to_string(), id.to_string(), version))
    }
    /// A job's allocation counts per group.
    pub fn job_summary(&self, namespace: &str, id: &str) -> Option<&Arc<JobSummary>> {
        self.summaries.get(&ns_key(namespace, id))
    }
    /// Every job summary, ordered by (namespace, ID).
    pub fn job_summaries(&self) -> impl Iterator<Item = &Arc<JobSummary>> + '_ {
        self.summaries.values()
    }

    // ---- nodes ----

    /// A node.
    pub fn node_by_id(&self, id: &str) -> Option<&Arc<Node>> {
        self.nodes.get(id)
    }
    /// Every node, ordered by ID.
    pub fn nodes(&self) -> impl Iterator<Item = &Arc<Node>> + '_ {
        self.nodes.values()
    }
    /// The nodes whose ID starts with `prefix`.
    pub fn nodes_by_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Node>> + 'a {
        self.nodes
            .range(prefix.to_string()..)
            .take_while(move |(id, _)| id.starts_with(prefix))
            .map(|(_, n)| n)
    }
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    // ---- allocations ----

    /// An allocation.
    pub fn alloc_by_id(&self, id: &str) -> Option<&Arc<Allocation>> {
        self.allocs.get(id)
    }
    /// Every allocation, ordered by ID.
    pub fn allocs(&self) -> impl Iterator<Item = &Arc<Allocation>> + '_ {
        self.allocs.values()
    }
    /// The allocations whose ID starts with `prefix`.
    pub fn allocs_by_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Allocation>> + 'a {
        self.allocs
            .range(prefix.to_string()..)
            .take_while(move |(id, _)| id.starts_with(prefix))
            .map(|(_, a)| a)
    }
    /// The allocations on a node (any status), ordered by alloc ID.
    pub fn allocs_by_node<'a>(
        &'a self,
        node_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Allocation>> + 'a {
        self.allocs_by_node
            .range((node_id.to_string(), String::new())..)
            .take_while(move |(n, _)| n == node_id)
            .filter_map(|(_, a)| self.allocs.get(a))
    }
    /// The non-terminal allocations on a node: what occupies its resources.
    pub fn live_allocs_by_node<'a>(
        &'a self,
        node_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Allocation>> + 'a {
        self.allocs_by_node(node_id).filter(|a| !a.is_terminal())
    }
    /// The allocations of a job (every job instance with that ID), ordered by alloc ID.
    pub fn allocs_by_job<'a>(
        &'a self,
        namespace: &'a str,
        job_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Allocation>> + 'a {
        self.allocs_by_job
            .range((namespace.to_string(), job_id.to_string(), String::new())..)
            .take_while(move |(ns, j, _)| ns == namespace && j == job_id)
            .filter_map(|(_, _, a)| self.allocs.get(a))
    }
    /// The allocations an evaluation placed.
    pub fn allocs_by_eval<'a>(
        &'a self,
        eval_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Allocation>> + 'a {
        self.allocs_by_eval
            .range((eval_id.to_string(), String::new())..)
            .take_while(move |(e, _)| e == eval_id)
            .filter_map(|(_, a)| self.allocs.get(a))
    }
    /// Number of allocations.
    pub fn alloc_count(&self) -> usize {
        self.allocs.len()
    }

    // ---- evaluations ----

    /// An evaluation.
    pub fn eval_by_id(&self, id: &str) -> Option<&Arc<Evaluation>> {
        self.evals.get(id)
    }
    /// Every evaluation, ordered by ID.
    pub fn evals(&self) -> impl Iterator<Item = &Arc<Evaluation>> + '_ {
        self.evals.values()
    }
    /// The evaluations whose ID starts with `prefix`.
    pub fn evals_by_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Evaluation>> + 'a {
        self.evals
            .range(prefix.to_string()..)
            .take_while(move |(id, _)| id.starts_with(prefix))
            .map(|(_, e)| e)
    }
    /// The evaluations of a job, ordered by eval ID.
    pub fn evals_by_job<'a>(
        &'a self,
        namespace: &'a str,
        job_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Evaluation>> + 'a {
        self.evals_by_job
            .range((namespace.to_string(), job_id.to_string(), String::new())..)
            .take_while(move |(ns, j, _)| ns == namespace && j == job_id)
            .filter_map(|(_, _, e)| self.evals.get(e))
    }

    // ---- deployments ----

    /// A deployment.
    pub fn deployment_by_id(&self, id: &str) -> Option<&Arc<Deployment>> {
        self.deployments.get(id)
    }
    /// Every deployment, ordered by ID.
    pub fn deployments(&self) -> impl Iterator<Item = &Arc<Deployment>> + '_ {
        self.deployments.values()
    }
    /// The deployments of a job, ordered by deployment ID.
    pub fn deployments_by_job<'a>(
        &'a self,
        namespace: &'a str,
        job_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Deployment>> + 'a {
        self.deployments_by_job
            .range((namespace.to_string(), job_id.to_string(), String::new())..)
            .take_while(move |(ns, j, _)| ns == namespace && j == job_id)
            .filter_map(|(_, _, d)| self.deployments.get(d))
    }
    /// The job's most recently created deployment.
    pub fn latest_deployment_by_job<'a>(
        &'a self,
        namespace: &'a str,
        job_id: &'a str,
    ) -> Option<&'a Arc<Deployment>> {
        self.deployments_by_job(namespace, job_id)
            .max_by_key(|d| (d.create_index, d.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_can_cross_threads_and_tables_have_nomad_names() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<StateView>();
        send_sync::<crate::StateStore>();
        for t in Table::ALL {
            assert_eq!(Table::parse(t.name()), Some(t));
        }
        assert_eq!(StateView::default().index_of("no_such_table"), 0);
    }
}
