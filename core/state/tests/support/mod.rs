//! Helpers for tests/state.rs: the golden-file runner, command builders, a tiny
//! deterministic RNG, random commands and state invariants.

use drover_state::command::*;
use drover_state::{Command, StateStore};
use drover_types::alloc::{DesiredTransition, TaskState, TaskStateValue};
use drover_types::{
    Allocation, ClientStatus, Deployment, DesiredStatus, EvalStatus, Evaluation, Job, Node,
    NodeStatus, PlanResult, SchedulingEligibility, TaskGroup,
};
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Case {
    pub input: String,
    /// Commands; `None` is a `render` line (dump the tables at that point).
    pub steps: Vec<Option<(u64, Command)>>,
    pub commands: Vec<(u64, Command)>,
    pub expected: String,
}

pub fn parse_case(text: &str) -> Result<Case, String> {
    let (input, expected) = match text.split_once("\n----\n") {
        Some((i, e)) => (format!("{i}\n"), e.to_string()),
        None => (text.to_string(), String::new()),
    };
    let mut steps = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "render" {
            steps.push(None);
            continue;
        }
        let rest = line
            .strip_prefix('@')
            .ok_or_else(|| format!("line {}: expected `@<index> <json>`", n + 1))?;
        let (idx, json) = rest
            .split_once(' ')
            .ok_or_else(|| format!("line {}: missing command JSON", n + 1))?;
        let idx: u64 = idx
            .parse()
            .map_err(|e| format!("line {}: index: {e}", n + 1))?;
        let cmd: Command =
            serde_json::from_str(json).map_err(|e| format!("line {}: {e}", n + 1))?;
        steps.push(Some((idx, cmd)));
    }
    let commands = steps.iter().flatten().cloned().collect();
    Ok(Case {
        input,
        steps,
        commands,
        expected,
    })
}

pub fn run_case(steps: &[Option<(u64, Command)>]) -> String {
    let mut s = StateStore::new();
    let mut out = String::new();
    for step in steps {
        let Some((i, c)) = step else {
            out.push_str(&s.render());
            continue;
        };
        let r = s.apply_command(*i, c);
        let events: Vec<String> = s
            .events_since(i - 1)
            .iter()
            .filter(|b| b.index == *i)
            .flat_map(|b| b.events.iter())
            .map(|e| format!("{}:{}:{}", e.topic.as_str(), e.kind, e.key))
            .collect();
        let _ = match r {
            Ok(o) if o.skipped => writeln!(out, "@{i} {} skipped", c.name()),
            Ok(o) => {
                let mut extra = String::new();
                if let (Some(m), Some(v)) = (o.job_modify_index, o.job_version) {
                    extra = format!(" jobmodify={m} version={v}");
                }
                writeln!(
                    out,
                    "@{i} {} ok{extra} events=[{}]",
                    c.name(),
                    events.join(" ")
                )
            }
            Err(e) => writeln!(out, "@{i} {} error: {e}", c.name()),
        };
    }
    out.push_str(&s.render());
    out
}

pub fn replay_bytes(commands: &[(u64, Command)]) -> Vec<u8> {
    let mut s = StateStore::new();
    for (i, c) in commands {
        let _ = s.apply(*i, &c.encode());
    }
    s.snapshot()
}

// ---- builders ----

pub fn job(id: &str, count: i64) -> Job {
    Job {
        id: Some(id.into()),
        job_type: Some("service".into()),
        task_groups: vec![TaskGroup {
            name: id.into(),
            count: Some(count),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn eval(id: &str, job: &str, status: EvalStatus) -> Evaluation {
    Evaluation {
        id: id.into(),
        job_id: job.into(),
        kind: "service".into(),
        triggered_by: "job-register".into(),
        status,
        ..Default::default()
    }
}

pub fn register(id: &str, count: i64, eval_id: Option<&str>) -> Command {
    Command::JobRegister(JobRegister {
        job: job(id, count),
        eval: eval_id.map(|e| eval(e, id, EvalStatus::Pending)),
        submit_time: 1_000,
        ..Default::default()
    })
}

pub fn node_struct(id: &str) -> Node {
    Node {
        id: id.into(),
        name: id.into(),
        status: NodeStatus::Ready,
        status_updated_at: 100,
        ..Default::default()
    }
}

pub fn node(id: &str) -> Command {
    Command::NodeRegister(NodeRegister {
        node: node_struct(id),
        evals: vec![],
    })
}

pub fn alloc(id: &str, job: &str, node: &str, eval: &str) -> Allocation {
    Allocation {
        id: id.into(),
        eval_id: eval.into(),
        name: format!("{job}.{job}[0]"),
        node_id: node.into(),
        job_id: job.into(),
        task_group: job.into(),
        ..Default::default()
    }
}

/// A plan placing `allocs` (id, node) for the store's current version of `job_id`
/// (a synthetic job when it does not exist).
pub fn place(s: &StateStore, eval_id: &str, job_id: &str, allocs: &[(&str, &str)]) -> Command {
    let mut result = PlanResult::default();
    for (a, n) in allocs {
        result
            .node_allocation
            .entry(n.to_string())
            .or_default()
            .push(alloc(a, job_id, n, eval_id));
    }
    let j = s
        .job_by_id("default", job_id)
        .map(|j| j.as_ref().clone())
        .unwrap_or_else(|| job(job_id, 1));
    Command::ApplyPlanResults(ApplyPlanResults {
        eval_id: eval_id.into(),
        job: Some(j),
        result,
        evals: vec![],
        time: 7,
    })
}

pub fn client(alloc_id: &str, status: &str, time: i64) -> Command {
    let cs: ClientStatus = serde_json::from_value(serde_json::json!(status)).unwrap();
    let st = match cs {
        ClientStatus::Running => TaskStateValue::Running,
        ClientStatus::Pending => TaskStateValue::Pending,
        _ => TaskStateValue::Dead,
    };
    let mut states = BTreeMap::new();
    states.insert(
        "t".to_string(),
        TaskState {
            state: st,
            failed: cs == ClientStatus::Failed,
            ..Default::default()
        },
    );
    Command::AllocClientUpdate(AllocClientUpdate {
        allocs: vec![Allocation {
            id: alloc_id.into(),
            client_status: cs,
            task_states: states,
            ..Default::default()
        }],
        evals: vec![],
        time,
    })
}

// ---- randomness ----

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const JOBS: [&str; 3] = ["web", "db", "batch"];
const NODES: [&str; 3] = ["n1", "n2", "n3"];
const ALLOCS: [&str; 5] = ["a1", "a2", "a3", "a4", "a5"];
const EVALS: [&str; 4] = ["e1", "e2", "e3", "e4"];

pub fn random_command(s: &StateStore, r: &mut Rng, i: u64) -> Command {
    let j = r.pick(&JOBS);
    let n = r.pick(&NODES);
    let a = r.pick(&ALLOCS);
    let e = r.pick(&EVALS);
    let statuses = [
        EvalStatus::Pending,
        EvalStatus::Blocked,
        EvalStatus::Complete,
        EvalStatus::Failed,
    ];
    let es = statuses[r.below(4) as usize];
    match r.below(14) {
        0 | 1 => {
            let mut c = register(j, 1 + r.below(3) as i64, Some(e));
            if let Command::JobRegister(reg) = &mut c {
                reg.enforce_index = r.below(4) == 0;
                reg.job_modify_index = r.below(5);
                reg.preserve_counts = r.below(2) == 0;
            }
            c
        }
        2 => Command::JobDeregister(JobDeregister {
            namespace: String::new(),
            job_id: j.into(),
            purge: r.below(3) == 0,
            eval: Some(eval(e, j, EvalStatus::Pending)),
            submit_time: i as i64,
        }),
        3 => Command::JobScale(JobScale {
            job_id: j.into(),
            group: if r.below(4) == 0 {
                "nope".into()
            } else {
                j.into()
            },
            count: Some(r.below(5) as i64 - 1),
            eval: Some(eval(e, j, EvalStatus::Pending)),
            ..Default::default()
        }),
        4 => {
            let mut nd = node_struct(n);
            nd.status = [
                NodeStatus::Initializing,
                NodeStatus::Ready,
                NodeStatus::Down,
            ][r.below(3) as usize];
            Command::NodeRegister(NodeRegister {
                node: nd,
                evals: vec![],
            })
        }
        5 => Command::NodeUpdateStatus(NodeUpdateStatus {
            node_id: n.into(),
            status: [
                NodeStatus::Initializing,
                NodeStatus::Ready,
                NodeStatus::Down,
                NodeStatus::Disconnected,
            ][r.below(4) as usize],
            updated_at: i as i64,
            node_event: None,
            evals: vec![eval(e, j, es)],
        }),
        6 => Command::NodeUpdateDrain(NodeUpdateDrain {
            node_id: n.into(),
            drain_strategy: (r.below(2) == 0).then(Default::default),
            mark_eligible: r.below(2) == 0,
            updated_at: i as i64,
            ..Default::default()
        }),
        7 => Command::NodeUpdateEligibility(NodeUpdateEligibility {
            node_id: n.into(),
            eligibility: if r.below(2) == 0 {
                SchedulingEligibility::Eligible
            } else {
                SchedulingEligibility::Ineligible
            },
            updated_at: i as i64,
            ..Default::default()
        }),
        8 => {
            let mut ev = eval(e, j, es);
            ev.queued_allocations.insert(j.into(), r.below(3) as i64);
            Command::UpsertEvals(UpsertEvals { evals: vec![ev] })
        }
        9 => Command::DeleteEvals(DeleteEvals {
            evals: vec![e.into()],
            allocs: if r.below(3) == 0 {
                vec![a.into()]
            } else {
                vec![]
            },
        }),
        10 => client(
            a,
            [
                "pending", "running", "complete", "failed", "lost", "unknown",
            ][r.below(6) as usize],
            i as i64,
        ),
        11 => {
            let mut m = BTreeMap::new();
            m.insert(
                a.to_string(),
                DesiredTransition {
                    migrate: Some(true),
                    ..Default::default()
                },
            );
            Command::AllocUpdateDesiredTransition(AllocUpdateDesiredTransition {
                allocs: m,
                evals: vec![],
                time: i as i64,
            })
        }
        12 => {
            let mut c = place(s, e, j, &[(a, n)]);
            if let Command::ApplyPlanResults(p) = &mut c {
                if r.below(2) == 0 {
                    p.eval_id.clear();
                }
                if r.below(3) == 0 {
                    let stop = Allocation {
                        id: r.pick(&ALLOCS).into(),
                        desired_status: DesiredStatus::Stop,
                        client_status: ClientStatus::Lost,
                        ..Default::default()
                    };
                    p.result.node_update.insert(n.into(), vec![stop]);
                }
                if r.below(3) == 0 {
                    p.result.deployment = Some(Deployment {
                        id: "d1".into(),
                        job_id: j.into(),
                        status: "running".into(),
                        ..Default::default()
                    });
                }
            }
            c
        }
        _ => Command::NodeDeregister(NodeDeregister {
            node_ids: vec![n.into()],
        }),
    }
}

/// Secondary indexes agree with the primary tables; summaries are never negative.
pub fn check_invariants(s: &StateStore, seed: u64) {
    let mut by_node = 0;
    for n in ["n1", "n2", "n3", "n4"] {
        for a in s.allocs_by_node(n) {
            assert_eq!(a.node_id, n, "seed {seed}");
            by_node += 1;
        }
    }
    assert_eq!(by_node, s.alloc_count(), "seed {seed}: allocs_by_node");
    for a in s.allocs() {
        assert!(
            s.allocs_by_job(&a.namespace, &a.job_id)
                .any(|x| x.id == a.id),
            "seed {seed}: allocs_by_job misses {}",
            a.id
        );
    }
    for e in s.evals() {
        assert!(
            s.evals_by_job(&e.namespace, &e.job_id)
                .any(|x| x.id == e.id),
            "seed {seed}: evals_by_job misses {}",
            e.id
        );
    }
    for sm in s.job_summaries() {
        for g in sm.summary.values() {
            let all = [
                g.queued, g.starting, g.running, g.complete, g.failed, g.lost,
            ];
            assert!(all.iter().all(|v| *v >= 0), "seed {seed}: {sm:?}");
        }
    }
    for j in s.jobs() {
        assert!(
            matches!(j.status.as_deref(), Some("pending" | "running" | "dead")),
            "seed {seed}: job status {:?}",
            j.status
        );
    }
}
