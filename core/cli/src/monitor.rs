//! Follow an evaluation to its end the way `nomad job run` does (`command/monitor.go`):
//! poll the eval and its allocations every second, print what changed, then the
//! outcome. Exit code 0 when everything was placed, 2 when placements failed, 1 when
//! the eval could not be read.
//!
//! [`EvalState::changes`] is the pure part (old state + new state → lines) and is what
//! the unit tests pin; [`monitor`] is the polling loop around it.

use std::collections::BTreeMap;
use std::time::Duration;

use drover_types::{AllocListStub, Evaluation};

use crate::api::Client;
use crate::format::metrics::{failed_group_header, format_alloc_metrics};
use crate::format::{Clock, limit};

/// Nomad's `updateWait`.
const POLL: Duration = Duration::from_secs(1);

/// A line of monitor output: `Info` lines start with `==> `, `Output` lines with four
/// spaces (Nomad's `PrefixedUi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `==> <time>: …`
    Info(String),
    /// `    <time>: …`
    Output(String),
    /// `    …`: a detail line Nomad prints without a time (failure reasons).
    Detail(String),
}

/// What the monitor last saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalState {
    status: String,
    node: String,
    job: String,
    deployment: String,
    index: u64,
    allocs: BTreeMap<String, AllocState>,
}

#[derive(Debug, Clone, PartialEq)]
struct AllocState {
    group: String,
    node: String,
    desired: String,
    client: String,
    client_desc: String,
    index: u64,
}

impl EvalState {
    /// Nomad's initial state: pending, nothing seen.
    pub fn pending() -> EvalState {
        EvalState {
            status: "pending".into(),
            ..EvalState::default()
        }
    }

    /// The state an eval and its allocations describe.
    pub fn of(eval: &Evaluation, allocs: &[AllocListStub]) -> EvalState {
        EvalState {
            status: eval.status.as_str().into(),
            node: eval.node_id.clone(),
            job: eval.job_id.clone(),
            deployment: eval.deployment_id.clone(),
            index: eval.create_index,
            allocs: allocs
                .iter()
                .map(|a| {
                    let s = AllocState {
                        group: a.task_group.clone(),
                        node: a.node_id.clone(),
                        desired: crate::format::allocs::status_str(&a.desired_status),
                        client: a.client_status.as_str().into(),
                        client_desc: a.client_description.clone(),
                        index: a.create_index,
                    };
                    (a.id.clone(), s)
                })
                .collect(),
        }
    }

    /// The lines moving from `self` to `next` prints (without timestamps).
    pub fn changes(&self, next: &EvalState, len: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.node.is_empty() && !next.node.is_empty() {
            out.push(format!(
                "Evaluation triggered by node \"{}\"",
                limit(&next.node, len)
            ));
        }
        if self.job.is_empty() && !next.job.is_empty() {
            out.push(format!("Evaluation triggered by job {:?}", next.job));
        }
        if self.deployment.is_empty() && !next.deployment.is_empty() {
            out.push(format!(
                "Evaluation within deployment: \"{}\"",
                limit(&next.deployment, len)
            ));
        }
        for (id, a) in &next.allocs {
            match self.allocs.get(id) {
                None if a.index < next.index => out.push(format!(
                    "Allocation \"{}\" modified: node \"{}\", group {:?}",
                    limit(id, len),
                    limit(&a.node, len),
                    a.group
                )),
                None if a.desired == "run" => out.push(format!(
                    "Allocation \"{}\" created: node \"{}\", group {:?}",
                    limit(id, len),
                    limit(&a.node, len),
                    a.group
                )),
                Some(old) if old.client != a.client => {
                    let desc = if a.client_desc.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", a.client_desc)
                    };
                    out.push(format!(
                        "Allocation \"{}\" status changed: {:?} -> {:?}{desc}",
                        limit(id, len),
                        old.client,
                        a.client
                    ));
                }
                _ => {}
            }
        }
        if !self.status.is_empty() && next.status != "pending" && self.status != next.status {
            out.push(format!(
                "Evaluation status changed: {:?} -> {:?}",
                self.status, next.status
            ));
        }
        out
    }
}

/// The closing lines for a finished eval, and whether placements failed.
pub fn outcome(eval: &Evaluation, len: usize) -> (Vec<Line>, bool) {
    let id = limit(&eval.id, len);
    let status = eval.status.as_str();
    if eval.failed_tg_allocs.is_empty() {
        let line = format!("Evaluation \"{id}\" finished with status {status:?}");
        return (vec![Line::Info(line)], false);
    }
    let mut lines = vec![Line::Info(format!(
        "Evaluation \"{id}\" finished with status {status:?} but failed to place all allocations:"
    ))];
    for (tg, m) in &eval.failed_tg_allocs {
        lines.push(Line::Output(failed_group_header(tg, m)));
        for l in format_alloc_metrics(m, "  ").lines() {
            lines.push(Line::Detail(l.to_string()));
        }
    }
    if !eval.blocked_eval.is_empty() {
        lines.push(Line::Output(format!(
            "Evaluation \"{}\" waiting for additional capacity to place remainder",
            limit(&eval.blocked_eval, len)
        )));
    }
    (lines, true)
}

/// Render a line with its prefix and time.
pub fn render(line: &Line, clock: &Clock) -> String {
    let ts = clock.format_nanos(clock.now);
    match line {
        Line::Info(s) => format!("==> {ts}: {s}"),
        Line::Output(s) => format!("    {ts}: {s}"),
        Line::Detail(s) => format!("    {s}"),
    }
}

/// Follow `eval_id` (and the evals it chains to) until it finishes; returns the
/// command's exit code.
pub async fn monitor(client: &Client, eval_id: &str, len: usize) -> u8 {
    let mut eval_id = eval_id.to_string();
    let mut state = EvalState::pending();
    println!(
        "{}",
        render(
            &Line::Info(format!(
                "Monitoring evaluation \"{}\"",
                limit(&eval_id, len)
            )),
            &Clock::system()
        )
    );
    loop {
        let eval = match client.evaluation(&eval_id).await {
            Ok(e) => e,
            Err(e) if e.is_not_found() => {
                eprintln!("==> No evaluation with id {eval_id:?} found");
                return 1;
            }
            Err(e) => {
                eprintln!("==> Error reading evaluation: {e}");
                return 1;
            }
        };
        let allocs = match client.eval_allocations(&eval.id).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("==> Error reading allocations: {e}");
                return 1;
            }
        };
        let next = EvalState::of(&eval, &allocs);
        let clock = Clock::system();
        for change in state.changes(&next, len) {
            println!("{}", render(&Line::Output(change), &clock));
        }
        state = next;
        if !eval.status.is_terminal() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let (lines, failed) = outcome(&eval, len);
        for l in &lines {
            println!("{}", render(l, &clock));
        }
        if !eval.next_eval.is_empty() {
            let wait = eval.wait.to_std().unwrap_or_default();
            if !wait.is_zero() {
                let msg = format!(
                    "Monitoring next evaluation \"{}\" in {}",
                    limit(&eval.next_eval, len),
                    eval.wait
                );
                println!("{}", render(&Line::Info(msg), &clock));
                tokio::time::sleep(wait).await;
            }
            eval_id = eval.next_eval.clone();
            state = EvalState::pending();
            continue;
        }
        return if failed { 2 } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drover_types::{ClientStatus, EvalStatus};

    fn stub(id: &str, create_index: u64, status: ClientStatus, desc: &str) -> AllocListStub {
        AllocListStub {
            id: id.into(),
            node_id: "node-0123456789".into(),
            task_group: "web".into(),
            client_status: status,
            client_description: desc.into(),
            create_index,
            ..AllocListStub::default()
        }
    }

    #[test]
    fn reports_alloc_status_changes_and_modified_allocs() {
        let eval = Evaluation {
            id: "eval-0123456789".into(),
            job_id: "web".into(),
            status: EvalStatus::Pending,
            create_index: 10,
            ..Evaluation::default()
        };
        let first = EvalState::of(&eval, &[stub("alloc-new-1", 11, ClientStatus::Pending, "")]);
        let lines = EvalState::pending().changes(&first, 8);
        assert_eq!(
            lines,
            [
                "Evaluation triggered by job \"web\"",
                "Allocation \"alloc-ne\" created: node \"node-012\", group \"web\"",
            ]
        );
        let running = EvalState::of(
            &Evaluation {
                status: EvalStatus::Complete,
                ..eval.clone()
            },
            &[
                stub(
                    "alloc-new-1",
                    11,
                    ClientStatus::Running,
                    "Tasks are running",
                ),
                stub("alloc-old-2", 3, ClientStatus::Running, ""),
            ],
        );
        assert_eq!(
            first.changes(&running, 8),
            [
                "Allocation \"alloc-ne\" status changed: \"pending\" -> \"running\" (Tasks are running)",
                "Allocation \"alloc-ol\" modified: node \"node-012\", group \"web\"",
                "Evaluation status changed: \"pending\" -> \"complete\"",
            ]
        );
        // Nothing new, nothing printed.
        assert!(running.changes(&running, 8).is_empty());
    }
}
