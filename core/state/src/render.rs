//! A compact, stable text rendering of the tables: one line per row with the fields
//! that state-machine rules change. Used by the golden tests (reviewable diffs) and
//! handy in debug logs.

use crate::nodes::status_str;
use crate::view::{StateView, Table};
use drover_types::TaskGroupSummary;
use std::fmt::Write;

/// An enum's serde string (`run`, `eligible` …).
fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".to_string(),
    }
}

fn tg(s: &TaskGroupSummary) -> String {
    format!(
        "queued={} starting={} running={} complete={} failed={} lost={} unknown={}",
        s.queued, s.starting, s.running, s.complete, s.failed, s.lost, s.unknown
    )
}

impl StateView {
    /// Renders every table (see the module docs).
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "applied={}", self.applied_index());
        let idx: Vec<String> = Table::ALL
            .iter()
            .map(|t| format!("{}={}", t.name(), self.index(*t)))
            .collect();
        let _ = writeln!(o, "indexes: {}", idx.join(" "));
        let _ = writeln!(o, "jobs:");
        for j in self.jobs() {
            let _ = writeln!(
                o,
                "  {}/{} v{} status={} stop={} stable={} create={} modify={} jobmodify={} submit={} groups=[{}]",
                j.namespace(),
                j.id(),
                j.version.unwrap_or(0),
                j.status.as_deref().unwrap_or("-"),
                j.stop.unwrap_or(false),
                j.stable.unwrap_or(false),
                j.create_index.unwrap_or(0),
                j.modify_index.unwrap_or(0),
                j.job_modify_index.unwrap_or(0),
                j.submit_time.unwrap_or(0),
                j.task_groups
                    .iter()
                    .map(|g| format!("{}:{}", g.name, g.count.unwrap_or(1)))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        let _ = writeln!(o, "job_versions:");
        for ((ns, id, v), j) in self.job_versions.iter() {
            let _ = writeln!(
                o,
                "  {ns}/{id} v{v} jobmodify={} stop={} stable={}",
                j.job_modify_index.unwrap_or(0),
                j.stop.unwrap_or(false),
                j.stable.unwrap_or(false)
            );
        }
        let _ = writeln!(o, "job_summaries:");
        for s in self.job_summaries() {
            let _ = write!(
                o,
                "  {}/{} create={} modify={}",
                s.namespace, s.job_id, s.create_index, s.modify_index
            );
            if let Some(c) = &s.children
                && (c.pending, c.running, c.dead) != (0, 0, 0)
            {
                let _ = write!(
                    o,
                    " children=pending:{}/running:{}/dead:{}",
                    c.pending, c.running, c.dead
                );
            }
            let _ = writeln!(o);
            for (name, g) in &s.summary {
                let _ = writeln!(o, "    {name}: {}", tg(g));
            }
        }
        let _ = writeln!(o, "nodes:");
        for n in self.nodes() {
            let events: Vec<&str> = n.events.iter().map(|e| e.message.as_str()).collect();
            let _ = writeln!(
                o,
                "  {} status={} eligibility={} drain={}{} create={} modify={} updated_at={} events={:?}",
                n.id,
                status_str(n.status),
                name(&n.scheduling_eligibility),
                n.drain,
                match (&n.drain_strategy, &n.last_drain) {
                    (Some(d), _) => format!(
                        " started={} force_deadline={}",
                        d.started_at, d.force_deadline
                    ),
                    (None, Some(l)) => format!(" last_drain={}", l["Status"]),
                    (None, None) => String::new(),
                },
                n.create_index,
                n.modify_index,
                n.status_updated_at,
                events
            );
        }
        let _ = writeln!(o, "allocs:");
        for a in self.allocs() {
            let _ = writeln!(
                o,
                "  {} {}/{} tg={} node={} eval={} desired={} client={} create={} modify={} allocmodify={} times={}/{}{}{}",
                a.id,
                a.namespace,
                a.job_id,
                a.task_group,
                a.node_id,
                a.eval_id,
                name(&a.desired_status),
                a.client_status.as_str(),
                a.create_index,
                a.modify_index,
                a.alloc_modify_index,
                a.create_time,
                a.modify_time,
                if a.next_allocation.is_empty() {
                    String::new()
                } else {
                    format!(" next={}", a.next_allocation)
                },
                if a.preempted_by_allocation.is_empty() {
                    String::new()
                } else {
                    format!(" preempted_by={}", a.preempted_by_allocation)
                },
            );
        }
        let _ = writeln!(o, "evals:");
        for e in self.evals() {
            let _ = writeln!(
                o,
                "  {} {}/{} status={} trigger={} create={} modify={}{}",
                e.id,
                e.namespace,
                e.job_id,
                e.status.as_str(),
                e.triggered_by,
                e.create_index,
                e.modify_index,
                if e.status_description.is_empty() {
                    String::new()
                } else {
                    format!(" desc={:?}", e.status_description)
                },
            );
        }
        let _ = writeln!(o, "deployments:");
        for d in self.deployments() {
            let _ = writeln!(
                o,
                "  {} {}/{} v{} status={} create={} modify={}",
                d.id,
                d.namespace,
                d.job_id,
                d.job_version,
                d.status,
                d.create_index,
                d.modify_index
            );
            for (name, s) in &d.task_groups {
                let _ = writeln!(
                    o,
                    "    {name}: placed={} healthy={} unhealthy={} canaries={:?} progress_by={:?}",
                    s.placed_allocs,
                    s.healthy_allocs,
                    s.unhealthy_allocs,
                    s.placed_canaries,
                    s.require_progress_by
                );
            }
        }
        o
    }
}
