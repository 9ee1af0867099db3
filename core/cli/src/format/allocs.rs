//! Tables shared by several commands: allocations (`job status`, `node status`) and
//! jobs (`job status`, `status`).

use drover_types::AllocListStub;

use super::{Clock, format_list, limit};
use drover_types::api::JobListStub;

/// Nomad's `formatAllocListStubs`: ages by default; with `verbose` full IDs, eval
/// IDs, node names and absolute times.
pub fn alloc_table(stubs: &[AllocListStub], verbose: bool, len: usize, clock: &Clock) -> String {
    if stubs.is_empty() {
        return "No allocations placed".into();
    }
    let mut rows = Vec::with_capacity(stubs.len() + 1);
    if verbose {
        rows.push(
            "ID|Eval ID|Node ID|Node Name|Task Group|Version|Desired|Status|Created|Modified"
                .to_string(),
        );
        for a in stubs {
            rows.push(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                limit(&a.id, len),
                limit(&a.eval_id, len),
                limit(&a.node_id, len),
                a.node_name,
                a.task_group,
                a.job_version,
                status_str(&a.desired_status),
                a.client_status.as_str(),
                clock.format_nanos(a.create_time),
                clock.format_nanos(a.modify_time),
            ));
        }
    } else {
        rows.push("ID|Node ID|Task Group|Version|Desired|Status|Created|Modified".to_string());
        for a in stubs {
            rows.push(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                limit(&a.id, len),
                limit(&a.node_id, len),
                a.task_group,
                a.job_version,
                status_str(&a.desired_status),
                a.client_status.as_str(),
                clock.ago(a.create_time),
                clock.ago(a.modify_time),
            ));
        }
    }
    format_list(&rows)
}

/// The lowercase string of a serde enum (`run`, `stop`, …).
pub fn status_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Nomad's `createStatusListOutput`; `namespaces` adds the Namespace column
/// (`-namespace=*`).
pub fn job_list(jobs: &[JobListStub], namespaces: bool, clock: &Clock) -> String {
    let mut rows = Vec::with_capacity(jobs.len() + 1);
    rows.push(if namespaces {
        "ID|Namespace|Type|Priority|Status|Submit Date".to_string()
    } else {
        "ID|Type|Priority|Status|Submit Date".to_string()
    });
    for j in jobs {
        let ns = if namespaces {
            format!("{}|", j.namespace)
        } else {
            String::new()
        };
        rows.push(format!(
            "{}|{ns}{}|{}|{}|{}",
            j.id,
            job_type_string(j),
            j.priority,
            status_string(&j.status, j.stop),
            clock.format_nanos(j.submit_time),
        ));
    }
    format_list(&rows)
}

/// `service`, `batch/periodic`, `batch/parameterized`.
fn job_type_string(j: &JobListStub) -> String {
    let mut t = j.kind.clone();
    if j.periodic {
        t.push_str("/periodic");
    }
    if j.parameterized_job {
        t.push_str("/parameterized");
    }
    t
}

/// `dead (stopped)` for stopped jobs.
pub fn status_string(status: &str, stop: bool) -> String {
    if stop {
        format!("{status} (stopped)")
    } else {
        status.to_string()
    }
}
