//! Golden scheduler cases: each `golden/*.case` file describes a cluster, a job and
//! evaluations to process; the rendering of the plans, evals and failure metrics must
//! equal what follows the `---` line. `DROVER_GOLDEN_REWRITE=1` rewrites the expected
//! part. Format (one directive per line, `#` comments):
//!
//! ```text
//! node <id> [dc=dc1] [cpu=4000] [mem=8192] [disk=100000] [class=] [pool=default]
//!      [status=ready] [elig=eligible] [drain] [drivers=docker,exec] [attr.K=V] [meta.K=V]
//!      [vol=name[:ro]] [reserved_ports=22,80] [net=host|none]
//! job <one-line job JSON> | job @<file in core/types/tests/golden>
//! oldjob <one-line JSON>            (version 0; `job` then becomes version 1)
//! alloc <id> node=<id> index=<n> [group=g] [job=old] [client=running] [desired=run]
//!       [failed_at=<s>] [resched=<node>:<at s>:<delay s>,…] [migrate] [ports=3307]
//! reject <node> <times>             (the applier rejects placements on node)
//! eval [type=service] [trigger=job-register] [status=pending] [now=<s>] [algo=spread]
//! ```

use drover_scheduler::{
    Algorithm, Env, Harness, MemState, SeedableRng, StdRng, explain_metric, format_rfc3339,
};
use drover_types::alloc::{RescheduleEvent, RescheduleTracker};
use drover_types::allocated::{
    AllocatedCpuResources, AllocatedMemoryResources, AllocatedPortMapping, AllocatedTaskResources,
};
use drover_types::node::{ClientHostVolume, DrainStrategy, DriverInfo, NodeReservedResources};
use drover_types::{
    AllocatedResources, Allocation, ClientStatus, Duration, EvalStatus, Evaluation, Job,
    NetworkResource, Node, NodeResources, NodeStatus, TaskState,
};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SEC: i64 = 1_000_000_000;

fn kv(words: &[&str]) -> Vec<(String, String)> {
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (w.to_string(), String::new()),
        })
        .collect()
}

fn parse_node(id: &str, args: &[(String, String)]) -> Node {
    let mut n = Node {
        id: id.into(),
        name: id.into(),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        status: NodeStatus::Ready,
        attributes: [("kernel.name".to_string(), "linux".to_string())].into(),
        ..Default::default()
    };
    let mut r = NodeResources::default();
    r.cpu.cpu_shares = 4000;
    r.memory.memory_mb = 8192;
    r.disk.disk_mb = 100_000;
    let mut net = Some("host".to_string());
    let mut drivers = vec!["docker".to_string()];
    for (k, v) in args {
        match k.as_str() {
            "dc" => n.datacenter = v.clone(),
            "cpu" => r.cpu.cpu_shares = v.parse().unwrap(),
            "mem" => r.memory.memory_mb = v.parse().unwrap(),
            "disk" => r.disk.disk_mb = v.parse().unwrap(),
            "cores" => r.cpu.reservable_cpu_cores = (0..v.parse::<u16>().unwrap()).collect(),
            "class" => n.node_class = v.clone(),
            "pool" => n.node_pool = v.clone(),
            "status" => n.status = serde_json::from_value(v.as_str().into()).unwrap(),
            "elig" => n.scheduling_eligibility = serde_json::from_value(v.as_str().into()).unwrap(),
            "drain" => n.drain_strategy = Some(DrainStrategy::default()),
            "drivers" => {
                drivers = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "unhealthy" => {
                n.drivers.insert(
                    v.clone(),
                    DriverInfo {
                        detected: true,
                        healthy: false,
                        ..Default::default()
                    },
                );
            }
            "vol" => {
                let (name, ro) = v
                    .split_once(':')
                    .map_or((v.as_str(), false), |(a, b)| (a, b == "ro"));
                n.host_volumes.insert(
                    name.into(),
                    ClientHostVolume {
                        name: name.into(),
                        path: format!("/srv/{name}"),
                        read_only: ro,
                    },
                );
            }
            "reserved_ports" => {
                let mut rr = NodeReservedResources::default();
                rr.networks.reserved_host_ports = v.clone();
                n.reserved_resources = Some(rr);
            }
            "net" => net = (v != "none").then(|| v.clone()),
            k if k.starts_with("attr.") => {
                n.attributes.insert(k[5..].into(), v.clone());
            }
            k if k.starts_with("meta.") => {
                n.meta.insert(k[5..].into(), v.clone());
            }
            other => panic!("node {id}: unknown key {other}"),
        }
    }
    for d in drivers {
        n.drivers.entry(d).or_insert(DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        });
    }
    if let Some(mode) = net {
        r.networks.push(NetworkResource {
            mode,
            ip: format!("10.0.0.{}", id.len()),
            ..Default::default()
        });
    }
    n.node_resources = Some(r);
    n
}

fn parse_job(spec: &str, dir: &Path, version: u64) -> Job {
    let text = match spec.strip_prefix('@') {
        Some(f) => {
            std::fs::read_to_string(dir.join("../../../types/tests/golden").join(f)).unwrap()
        }
        None => spec.to_owned(),
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = v.get("Job").cloned().unwrap_or(v);
    let mut job: Job = serde_json::from_value(v).unwrap();
    job.canonicalize();
    job.version = Some(version);
    job.job_modify_index = Some(version + 1);
    job
}

fn alloc_resources(job: &Job, group: &str, ports: &[i64]) -> AllocatedResources {
    let tg = job.group(group).expect("alloc group in job");
    let mut ar = AllocatedResources::default();
    for t in &tg.tasks {
        let r = t.resources.clone().unwrap_or_default();
        ar.tasks.insert(
            t.name.clone(),
            AllocatedTaskResources {
                cpu: AllocatedCpuResources {
                    cpu_shares: r.cpu.unwrap_or(0),
                    ..Default::default()
                },
                memory: AllocatedMemoryResources {
                    memory_mb: r.memory_mb.unwrap_or(0),
                    memory_max_mb: 0,
                },
                ..Default::default()
            },
        );
    }
    ar.shared.disk_mb = tg
        .ephemeral_disk
        .as_ref()
        .and_then(|d| d.size_mb)
        .unwrap_or(300);
    for p in ports {
        ar.shared.ports.push(AllocatedPortMapping {
            label: "p".into(),
            value: *p,
            ..Default::default()
        });
    }
    ar
}

struct Case {
    harness: Harness,
    job: Option<Job>,
    old: Option<Job>,
    labels: HashMap<String, String>,
    out: String,
    dir: PathBuf,
    evals: usize,
    before: std::sync::Arc<MemState>,
}

impl Case {
    fn label(&mut self, id: &str, prefix: &str) -> String {
        if let Some(l) = self.labels.get(id) {
            return l.clone();
        }
        self.evals += 1;
        let l = format!("{prefix}{}", self.evals);
        self.labels.insert(id.to_owned(), l.clone());
        l
    }

    fn state(&mut self) -> &mut MemState {
        std::sync::Arc::make_mut(&mut self.harness.state)
    }

    fn alloc(&mut self, id: &str, args: &[(String, String)]) {
        let old = args.iter().any(|(k, v)| k == "job" && v == "old");
        let job = if old {
            self.old.clone()
        } else {
            self.job.clone()
        }
        .expect("alloc before job");
        let mut group = job.task_groups[0].name.clone();
        let (mut node, mut index, mut ports) = (String::new(), 0, Vec::new());
        let mut a = Allocation {
            id: id.into(),
            namespace: "default".into(),
            client_status: ClientStatus::Running,
            ..Default::default()
        };
        for (k, v) in args {
            match k.as_str() {
                "node" => node = v.clone(),
                "index" => index = v.parse().unwrap(),
                "group" => group = v.clone(),
                "job" => {}
                "client" => a.client_status = serde_json::from_value(v.as_str().into()).unwrap(),
                "desired" => a.desired_status = serde_json::from_value(v.as_str().into()).unwrap(),
                "migrate" => a.desired_transition.migrate = Some(true),
                "ports" => ports = v.split(',').map(|p| p.parse().unwrap()).collect(),
                "failed_at" => {
                    a.client_status = ClientStatus::Failed;
                    let t = v.parse::<i64>().unwrap() * SEC;
                    a.modify_time = t;
                    a.task_states.insert(
                        "t".into(),
                        TaskState {
                            failed: true,
                            finished_at: format_rfc3339(t),
                            ..Default::default()
                        },
                    );
                }
                "resched" => {
                    let events = v
                        .split(',')
                        .map(|e| {
                            let p: Vec<&str> = e.split(':').collect();
                            RescheduleEvent {
                                prev_node_id: p[0].into(),
                                reschedule_time: p[1].parse::<i64>().unwrap() * SEC,
                                delay: Duration::from_secs(p[2].parse().unwrap()),
                                ..Default::default()
                            }
                        })
                        .collect();
                    a.reschedule_tracker = Some(RescheduleTracker { events });
                }
                other => panic!("alloc {id}: unknown key {other}"),
            }
        }
        a.name = Allocation::make_name(job.id(), &group, index);
        a.node_id = node.clone();
        a.node_name = node;
        a.job_id = job.id().into();
        a.task_group = group.clone();
        a.allocated_resources = Some(alloc_resources(&job, &group, &ports));
        a.job = Some(Box::new(job));
        self.labels.insert(id.into(), id.into());
        self.state().upsert_alloc(a);
    }

    fn eval(&mut self, args: &[(String, String)]) {
        let job = self.job.clone();
        let mut e = Evaluation {
            namespace: "default".into(),
            priority: 50,
            kind: job
                .as_ref()
                .and_then(|j| j.job_type.clone())
                .unwrap_or("service".into()),
            triggered_by: "job-register".into(),
            job_id: job
                .as_ref()
                .map(|j| j.id().to_owned())
                .unwrap_or("gone".into()),
            ..Default::default()
        };
        let (mut now, mut algo) = (1000, Algorithm::Binpack);
        for (k, v) in args {
            match k.as_str() {
                "type" => e.kind = v.clone(),
                "trigger" => e.triggered_by = v.clone(),
                "status" => e.status = serde_json::from_value(v.as_str().into()).unwrap(),
                "now" => now = v.parse().unwrap(),
                "job" => e.job_id = v.clone(),
                "algo" => {
                    algo = if v == "spread" {
                        Algorithm::Spread
                    } else {
                        Algorithm::Binpack
                    }
                }
                other => panic!("eval: unknown key {other}"),
            }
        }
        e.id = format!("eval-{}", self.evals + 1);
        let label = self.label(&e.id.clone(), "eval-");
        let mut rng = StdRng::seed_from_u64(7);
        let (p0, c0, u0, r0) = (
            self.harness.plans.len(),
            self.harness.created_evals.len(),
            self.harness.updated_evals.len(),
            self.harness.reblocked_evals.len(),
        );
        let env = Env {
            now_ns: now * SEC,
            rng: &mut rng,
            algorithm: algo,
        };
        self.before = self.harness.state.clone();
        let res = self.harness.process(&e, env);
        writeln!(self.out, "{label} {} {}:", e.kind, e.triggered_by).unwrap();
        if let Err(err) = res {
            writeln!(self.out, "  error: {err}").unwrap();
        }
        let plans: Vec<_> = self.harness.plans[p0..].to_vec();
        let results: Vec<_> = self.harness.results[p0..].to_vec();
        for (i, (plan, result)) in plans.iter().zip(&results).enumerate() {
            writeln!(self.out, "  plan {}:", i + 1).unwrap();
            for (node, allocs) in &plan.node_update {
                for a in allocs {
                    writeln!(
                        self.out,
                        "    stop   {node} {} client={} {:?}",
                        a.name,
                        a.client_status.as_str(),
                        a.desired_description
                    )
                    .unwrap();
                }
            }
            for (node, allocs) in &plan.node_allocation {
                for a in allocs {
                    self.render_alloc(node, a);
                }
            }
            if !result.rejected_nodes.is_empty() {
                writeln!(self.out, "    rejected {:?}", result.rejected_nodes).unwrap();
            }
        }
        let created: Vec<_> = self.harness.created_evals[c0..].to_vec();
        for c in created {
            let l = self.label(&c.id, "new-");
            let mut line = format!(
                "  created {l} {} {} {:?}",
                c.status.as_str(),
                c.triggered_by,
                c.status_description
            );
            if !c.wait_until.is_empty() {
                write!(line, " wait_until={}", c.wait_until).unwrap();
            }
            writeln!(self.out, "{line}").unwrap();
        }
        let updated: Vec<_> = self.harness.updated_evals[u0..].to_vec();
        let reblocked: Vec<_> = self.harness.reblocked_evals[r0..].to_vec();
        for (verb, u) in updated
            .iter()
            .map(|u| ("status", u))
            .chain(reblocked.iter().map(|u| ("reblocked", u)))
        {
            let blocked = if u.blocked_eval.is_empty() {
                String::new()
            } else {
                format!(" blocked={}", self.label(&u.blocked_eval, "new-"))
            };
            let status = if verb == "status" {
                u.status.as_str()
            } else {
                EvalStatus::Blocked.as_str()
            };
            writeln!(
                self.out,
                "  {verb} {status} {:?} queued={:?}{blocked}",
                u.status_description, u.queued_allocations
            )
            .unwrap();
            for (tg, m) in &u.failed_tg_allocs {
                writeln!(
                    self.out,
                    "  failed {tg}: evaluated={} filtered={} exhausted={} in_pool={} coalesced={}",
                    m.nodes_evaluated,
                    m.nodes_filtered,
                    m.nodes_exhausted,
                    m.nodes_in_pool,
                    m.coalesced_failures
                )
                .unwrap();
                for line in explain_metric(m) {
                    writeln!(self.out, "    {line}").unwrap();
                }
            }
        }
    }

    fn render_alloc(&mut self, node: &str, a: &Allocation) {
        let existing = self
            .before
            .alloc(&a.id)
            .filter(|_| self.labels.contains_key(&a.id));
        let mut line = match existing {
            Some(old) if old.followup_eval_id != a.followup_eval_id => {
                format!(
                    "    attr   {node} {} followup={}",
                    a.name,
                    self.label(&a.followup_eval_id, "new-")
                )
            }
            Some(_) => format!("    inplace {node} {}", a.name),
            None => format!("    place  {node} {}", a.name),
        };
        if let Some(m) = &a.metrics
            && let Some(s) = m.score_meta_data.iter().find(|s| s.node_id == node)
        {
            {
                write!(line, " score={:.3}", s.norm_score).unwrap();
                let parts: Vec<String> = s
                    .scores
                    .iter()
                    .map(|(k, v)| format!("{k}={v:.3}"))
                    .collect();
                write!(line, " [{}]", parts.join(" ")).unwrap();
            }
        }
        if !a.previous_allocation.is_empty() {
            let prev = self
                .labels
                .get(&a.previous_allocation)
                .cloned()
                .unwrap_or("?".into());
            write!(line, " prev={prev}").unwrap();
        }
        if let Some(t) = &a.reschedule_tracker {
            let ev: Vec<String> = t
                .events
                .iter()
                .map(|e| format!("{}@{}", e.prev_node_id, e.delay))
                .collect();
            write!(line, " resched=[{}]", ev.join(",")).unwrap();
        }
        if let Some(r) = &a.allocated_resources {
            let ports: Vec<String> = r
                .shared
                .ports
                .iter()
                .map(|p| format!("{}={}", p.label, p.value))
                .collect();
            if !ports.is_empty() {
                write!(line, " ports={}", ports.join(",")).unwrap();
            }
        }
        writeln!(self.out, "{line}").unwrap();
    }
}

fn run_case(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let (input, expected) = text.split_once("\n---\n").unwrap_or((&text, ""));
    let mut case = Case {
        harness: Harness::new(MemState::new()),
        job: None,
        old: None,
        labels: HashMap::new(),
        out: String::new(),
        dir: path.parent().unwrap().to_path_buf(),
        evals: 0,
        before: Default::default(),
    };
    for line in input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "job" | "oldjob" => {
                let version = if cmd == "oldjob" {
                    0
                } else {
                    u64::from(case.old.is_some())
                };
                let job = parse_job(rest, &case.dir, version);
                if cmd == "oldjob" {
                    case.old = Some(job);
                } else {
                    case.job = Some(job.clone());
                    case.state().upsert_job(job);
                }
            }
            "stopjob" => {
                let mut job = case.job.clone().expect("stopjob after job");
                job.stop = Some(true);
                case.state().upsert_job(job);
            }
            _ => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                match cmd {
                    "node" => {
                        let n = parse_node(words[0], &kv(&words[1..]));
                        case.state().upsert_node(n);
                    }
                    "alloc" => case.alloc(words[0], &kv(&words[1..])),
                    "reject" => {
                        case.harness.reject_nodes.insert(words[0].into());
                        case.harness.reject_budget = words[1].parse().unwrap();
                    }
                    "eval" => case.eval(&kv(&words)),
                    other => panic!("{}: unknown directive {other}", path.display()),
                }
            }
        }
    }
    let _ = expected;
    (format!("{}\n---\n", input.trim_end()), case.out)
}

#[test]
fn golden_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let rewrite = std::env::var("DROVER_GOLDEN_REWRITE").is_ok_and(|v| v == "1");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the golden cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for p in &paths {
        let (head, got) = run_case(p);
        let text = std::fs::read_to_string(p).unwrap();
        let want = text.split_once("\n---\n").map(|(_, w)| w).unwrap_or("");
        if rewrite {
            std::fs::write(p, format!("{head}{got}")).unwrap();
        } else if want != got {
            failures.push(format!(
                "== {}\n-- want:\n{want}-- got:\n{got}",
                p.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ (DROVER_GOLDEN_REWRITE=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
