//! Conversions between the `Driver` trait's types and the wire messages.
//!
//! Pure functions, so the RPC adapter stays a list of calls and the edge
//! cases (negative durations, times before 1970) are decided in one place.

use std::time::{Duration, SystemTime};

use drover_proto::prost_types;
use drover_proto::v1;
use tonic::Status;

use crate::driver::{Attr, ExitResult, Fingerprint, ResourceUsage, TaskEvent, TaskStatus};

pub(super) fn fingerprint(fp: Fingerprint) -> v1::FingerprintResponse {
    v1::FingerprintResponse {
        health: fp.health as i32,
        health_description: fp.description,
        attributes: fp
            .attributes
            .into_iter()
            .map(|(key, value)| (key, attribute(value)))
            .collect(),
    }
}

fn attribute(value: Attr) -> v1::Attribute {
    use v1::attribute::Value;
    let value = match value {
        Attr::String(s) => Value::StringVal(s),
        Attr::Int(i) => Value::IntVal(i),
        Attr::Float(f) => Value::FloatVal(f),
        Attr::Bool(b) => Value::BoolVal(b),
    };
    v1::Attribute {
        value: Some(value),
        unit: String::new(),
    }
}

pub(super) fn exit_result(exit: ExitResult) -> v1::ExitResult {
    v1::ExitResult {
        exit_code: exit.exit_code,
        signal: exit.signal,
        oom_killed: exit.oom_killed,
    }
}

pub(super) fn inspect(status: TaskStatus) -> v1::InspectTaskResponse {
    v1::InspectTaskResponse {
        task: Some(v1::TaskStatus {
            id: status.id,
            name: status.name,
            state: status.state as i32,
            started_at: status.started_at.map(timestamp),
            completed_at: status.completed_at.map(timestamp),
            result: status.exit.map(exit_result),
        }),
        driver_attributes: status.attributes.into_iter().collect(),
        network_override: None,
    }
}

pub(super) fn stats(task_id: &str, usage: ResourceUsage, at: SystemTime) -> v1::TaskStatsResponse {
    let by_pid = usage
        .by_pid
        .iter()
        .map(|(pid, u)| (pid.to_string(), resource_usage(u)))
        .collect();
    v1::TaskStatsResponse {
        stats: Some(v1::TaskResourceUsage {
            task_id: task_id.to_string(),
            timestamp: Some(timestamp(at)),
            agg: Some(resource_usage(&usage)),
            by_pid,
        }),
    }
}

/// Nomad's measured-field names, so the host can tell a zero from "not measured".
fn resource_usage(u: &ResourceUsage) -> v1::ResourceUsage {
    v1::ResourceUsage {
        cpu: Some(v1::CpuUsage {
            system_mode: u.cpu_system_secs,
            user_mode: u.cpu_user_secs,
            total_ticks: 0.0,
            percent: u.cpu_percent,
            measured_fields: ["System Mode", "User Mode", "Percent"]
                .map(String::from)
                .to_vec(),
        }),
        memory: Some(v1::MemoryUsage {
            rss: u.rss_bytes,
            measured_fields: vec!["RSS".to_string()],
            ..Default::default()
        }),
    }
}

pub(super) fn event(e: TaskEvent, at: SystemTime) -> v1::DriverTaskEvent {
    v1::DriverTaskEvent {
        task_id: e.task_id,
        alloc_id: e.alloc_id,
        task_name: e.task_name,
        timestamp: Some(timestamp(at)),
        message: e.message,
        annotations: e.annotations.into_iter().collect(),
    }
}

pub(super) fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// A request duration: `default` when absent, an `INVALID_ARGUMENT` naming
/// `field` when negative or out of range.
pub(super) fn duration(
    d: Option<prost_types::Duration>,
    field: &str,
    default: Duration,
) -> Result<Duration, Status> {
    match d {
        None => Ok(default),
        Some(d) => Duration::try_from(d).map_err(|e| {
            Status::invalid_argument(format!("{field} must be a non-negative duration: {e}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn durations_default_and_reject_negative() {
        let d = |seconds, nanos| Some(prost_types::Duration { seconds, nanos });
        let five = Duration::from_secs(5);
        assert_eq!(duration(None, "timeout", five).ok(), Some(five));
        let half = duration(d(1, 500_000_000), "timeout", five).ok();
        assert_eq!(half, Some(Duration::from_millis(1500)));
        let err = duration(d(-1, 0), "timeout", five).expect_err("negative");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().starts_with("timeout must be"), "{err:?}");
    }

    #[test]
    fn stats_keep_per_pid_usage() {
        let mut by_pid = BTreeMap::new();
        by_pid.insert(
            42,
            ResourceUsage {
                rss_bytes: 7,
                ..Default::default()
            },
        );
        let usage = ResourceUsage {
            cpu_percent: 12.5,
            rss_bytes: 9,
            by_pid,
            ..Default::default()
        };
        let out = stats("t1", usage, SystemTime::UNIX_EPOCH)
            .stats
            .expect("stats");
        assert_eq!(out.task_id, "t1");
        let agg = out.agg.expect("agg");
        assert_eq!(agg.cpu.expect("cpu").percent, 12.5);
        assert_eq!(agg.memory.expect("mem").rss, 9);
        assert_eq!(out.by_pid["42"].memory.as_ref().expect("mem").rss, 7);
    }

    #[test]
    fn fingerprint_attributes_keep_their_type() {
        let fp = Fingerprint::healthy("ok").with_attr("driver.x", Attr::Bool(true));
        let out = fingerprint(fp);
        assert_eq!(out.health, v1::Health::Healthy as i32);
        assert_eq!(
            out.attributes["driver.x"].value,
            Some(v1::attribute::Value::BoolVal(true))
        );
    }
}
