//! Rules for the policy blocks shared by several levels: constraint, affinity, spread,
//! restart, reschedule, update, migrate, periodic, parameterized.

use super::{Sink, f, join};
use crate::constraint::{Affinity, CONSTRAINT_OPERATORS, Constraint, Spread};
use crate::duration::Duration;
use crate::error::PathSegment;
use crate::job::JobType;
use crate::periodic::{PAYLOAD_MODES, ParameterizedJobConfig, PeriodicConfig};
use crate::restart::{DELAY_FUNCTIONS, RESTART_MODES, ReschedulePolicy, RestartPolicy};
use crate::update::{HEALTH_CHECKS, MigrateStrategy, UpdateStrategy};
use std::collections::HashSet;

/// Nomad's `RestartPolicyMinInterval`.
const RESTART_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Nomad's `ReschedulePolicyMinInterval`.
const RESCHEDULE_MIN_INTERVAL: Duration = Duration::from_secs(15);
/// Nomad's `ReschedulePolicyMinDelay`.
const RESCHEDULE_MIN_DELAY: Duration = Duration::from_secs(5);

fn indexed(base: &[PathSegment], block: &str, i: usize) -> Vec<PathSegment> {
    join(base, [f(block), PathSegment::Index(i)])
}

pub(super) fn constraints(s: &mut Sink, base: &[PathSegment], cs: &[Constraint]) {
    for (i, c) in cs.iter().enumerate() {
        let b = indexed(base, "constraint", i);
        if !CONSTRAINT_OPERATORS.contains(&c.operand.as_str()) {
            s.field(
                &b,
                &["operator"],
                format!("Unknown constraint type {:?}", c.operand),
            );
            continue;
        }
        let needs_l = !matches!(c.operand.as_str(), "distinct_hosts");
        if needs_l && c.l_target.is_empty() {
            s.field(
                &b,
                &["attribute"],
                "No LTarget provided but is required by constraint",
            );
        }
        let needs_r = !matches!(
            c.operand.as_str(),
            "distinct_hosts" | "distinct_property" | "is_set" | "is_not_set"
        );
        if needs_r && c.r_target.is_empty() {
            s.field(
                &b,
                &["value"],
                "No RTarget provided but is required by constraint",
            );
        }
    }
}

pub(super) fn affinities(s: &mut Sink, base: &[PathSegment], a: &[Affinity]) {
    for (i, a) in a.iter().enumerate() {
        let b = indexed(base, "affinity", i);
        let op_ok = CONSTRAINT_OPERATORS.contains(&a.operand.as_str())
            && !matches!(a.operand.as_str(), "distinct_hosts" | "distinct_property");
        if !op_ok {
            s.field(
                &b,
                &["operator"],
                format!("Unknown affinity operator {:?}", a.operand),
            );
        }
        if a.l_target.is_empty() {
            s.field(&b, &["attribute"], "Missing affinity attribute");
        }
        match a.weight {
            Some(0) => s.field(&b, &["weight"], "Affinity weight cannot be zero"),
            Some(w) if !(-100..=100).contains(&w) => s.field(
                &b,
                &["weight"],
                format!("Affinity weight must be within the range [-100,100]; got {w}"),
            ),
            _ => {}
        }
    }
}

pub(super) fn spreads(s: &mut Sink, base: &[PathSegment], sp: &[Spread]) {
    for (i, sp) in sp.iter().enumerate() {
        let b = indexed(base, "spread", i);
        if sp.attribute.is_empty() {
            s.field(&b, &["attribute"], "Missing spread attribute");
        }
        if let Some(w) = sp.weight
            && !(1..=100).contains(&w)
        {
            s.field(
                &b,
                &["weight"],
                format!("Spread block must have a positive weight from 1 to 100; got {w}"),
            );
        }
        let mut seen = HashSet::new();
        let mut sum = 0;
        for t in &sp.spread_target {
            let tb = join(&b, [f("target"), PathSegment::Key(t.value.clone())]);
            if !seen.insert(t.value.as_str()) {
                s.at(
                    &tb,
                    [],
                    format!("Spread target value {:?} already defined", t.value),
                );
            }
            if !(0..=100).contains(&t.percent) {
                s.field(
                    &tb,
                    &["percent"],
                    format!(
                        "Spread target percentage for value {:?} must be between 0 and 100",
                        t.value
                    ),
                );
            }
            sum += t.percent;
        }
        if sum > 100 {
            s.field(
                &b,
                &["target"],
                format!(
                    "Sum of spread target percentages must not be greater than 100%; got {sum}%"
                ),
            );
        }
    }
}

pub(super) fn restart(s: &mut Sink, base: &[PathSegment], r: &RestartPolicy) {
    let b = join(base, [f("restart")]);
    let mode = r.mode.as_deref().unwrap_or("fail");
    if !RESTART_MODES.contains(&mode) {
        s.field(
            &b,
            &["mode"],
            format!("Unsupported restart mode: {mode:?} (expected fail or delay)"),
        );
    }
    let attempts = r.attempts.unwrap_or(0);
    if attempts < 0 {
        s.field(
            &b,
            &["attempts"],
            format!("Attempts must be >= 0; got {attempts}"),
        );
    }
    if attempts == 0 && mode != "fail" {
        s.field(
            &b,
            &["attempts"],
            format!("Restart policy {mode:?} with {attempts} attempts is ambiguous"),
        );
    }
    let interval = r.interval.unwrap_or(Duration::ZERO);
    if interval < RESTART_MIN_INTERVAL {
        s.field(
            &b,
            &["interval"],
            format!("Interval can not be less than {RESTART_MIN_INTERVAL} (got {interval})"),
        );
    }
    let delay = r.delay.unwrap_or(Duration::ZERO);
    if delay.0 < 0 {
        s.field(
            &b,
            &["delay"],
            format!("Delay cannot be negative (got {delay})"),
        );
    } else if attempts > 0 && i128::from(attempts) * i128::from(delay.0) > i128::from(interval.0) {
        s.at(
            &b,
            [],
            format!("Nomad can't restart the TaskGroup {attempts} times in an interval of {interval} with a delay of {delay}"),
        );
    }
}

pub(super) fn reschedule(s: &mut Sink, base: &[PathSegment], r: &ReschedulePolicy) {
    let b = join(base, [f("reschedule")]);
    let func = r.delay_function.as_deref().unwrap_or("");
    if !DELAY_FUNCTIONS.contains(&func) {
        s.field(
            &b,
            &["delay_function"],
            format!(
                "Invalid delay function {func:?}, must be one of constant, exponential, fibonacci"
            ),
        );
    }
    let attempts = r.attempts.unwrap_or(0);
    let unlimited = r.unlimited.unwrap_or(false);
    if attempts < 0 {
        s.field(
            &b,
            &["attempts"],
            format!("Attempts must be >= 0; got {attempts}"),
        );
    }
    if !unlimited && attempts == 0 {
        return; // rescheduling disabled: nothing else matters
    }
    let delay = r.delay.unwrap_or(Duration::ZERO);
    if delay < RESCHEDULE_MIN_DELAY {
        s.field(
            &b,
            &["delay"],
            format!("Delay cannot be less than {RESCHEDULE_MIN_DELAY} (got {delay})"),
        );
    }
    let max_delay = r.max_delay.unwrap_or(Duration::ZERO);
    if func != "constant" && max_delay < delay {
        s.field(
            &b,
            &["max_delay"],
            format!("Max Delay cannot be less than Delay {delay} (got {max_delay})"),
        );
    }
    let interval = r.interval.unwrap_or(Duration::ZERO);
    if !unlimited && interval < RESCHEDULE_MIN_INTERVAL {
        s.field(
            &b,
            &["interval"],
            format!("Interval cannot be less than {RESCHEDULE_MIN_INTERVAL} (got {interval})"),
        );
    }
}

pub(super) fn update(s: &mut Sink, base: &[PathSegment], u: &UpdateStrategy, count: i64) {
    let b = join(base, [f("update")]);
    let hc = u.health_check.as_deref().unwrap_or("checks");
    if !HEALTH_CHECKS.contains(&hc) {
        s.field(
            &b,
            &["health_check"],
            format!("Invalid health check given: {hc:?}"),
        );
    }
    let max_parallel = u.max_parallel.unwrap_or(1);
    if max_parallel < 0 {
        s.field(
            &b,
            &["max_parallel"],
            format!("Max parallel can not be less than zero: {max_parallel} < 0"),
        );
    }
    let canary = u.canary.unwrap_or(0);
    if canary < 0 {
        s.field(
            &b,
            &["canary"],
            format!("Canary count can not be less than zero: {canary} < 0"),
        );
    } else if canary > count && count >= 0 {
        s.field(
            &b,
            &["canary"],
            format!("Canary count ({canary}) cannot exceed the group count ({count})"),
        );
    }
    if u.auto_promote.unwrap_or(false) && canary == 0 {
        s.field(
            &b,
            &["auto_promote"],
            "Auto Promote requires a Canary count greater than zero",
        );
    }
    let zero = Duration::ZERO;
    let min_healthy = u.min_healthy_time.unwrap_or(zero);
    let healthy = u.healthy_deadline.unwrap_or(Duration::from_mins(5));
    let progress = u.progress_deadline.unwrap_or(zero);
    if min_healthy < zero {
        s.field(
            &b,
            &["min_healthy_time"],
            format!("Minimum healthy time may not be less than zero: {min_healthy}"),
        );
    }
    if healthy <= zero {
        s.field(
            &b,
            &["healthy_deadline"],
            format!("Healthy deadline must be greater than zero: {healthy}"),
        );
    }
    if progress < zero {
        s.field(
            &b,
            &["progress_deadline"],
            format!("Progress deadline must be zero or greater: {progress}"),
        );
    }
    if min_healthy >= healthy {
        s.field(
            &b,
            &["min_healthy_time"],
            format!(
                "Minimum healthy time must be less than healthy deadline: {min_healthy} > {healthy}"
            ),
        );
    }
    if progress != zero && healthy >= progress {
        s.field(
            &b,
            &["healthy_deadline"],
            format!("Healthy deadline must be less than progress deadline: {healthy} > {progress}"),
        );
    }
    if u.stagger.is_some_and(|d| d <= zero) {
        s.field(&b, &["stagger"], "Stagger must be greater than zero");
    }
}

pub(super) fn migrate(s: &mut Sink, base: &[PathSegment], m: &MigrateStrategy) {
    let b = join(base, [f("migrate")]);
    let hc = m.health_check.as_deref().unwrap_or("checks");
    if hc != "checks" && hc != "task_states" {
        s.field(
            &b,
            &["health_check"],
            format!("Invalid health check given: {hc:?} (expected checks or task_states)"),
        );
    }
    if m.max_parallel.is_some_and(|v| v < 0) {
        s.field(&b, &["max_parallel"], "MaxParallel must be >= 0");
    }
    let zero = Duration::ZERO;
    let min_healthy = m.min_healthy_time.unwrap_or(zero);
    let healthy = m.healthy_deadline.unwrap_or(Duration::from_mins(5));
    if min_healthy < zero {
        s.field(&b, &["min_healthy_time"], "MinHealthyTime must be >= 0");
    }
    if healthy <= zero {
        s.field(&b, &["healthy_deadline"], "HealthyDeadline must be > 0");
    }
    if min_healthy > healthy {
        s.field(
            &b,
            &["min_healthy_time"],
            "MinHealthyTime must be less than HealthyDeadline",
        );
    }
}

pub(super) fn periodic(
    s: &mut Sink,
    base: &[PathSegment],
    p: &PeriodicConfig,
    kind: Option<JobType>,
) {
    if !p.enabled.unwrap_or(true) {
        return;
    }
    let b = join(base, [f("periodic")]);
    if kind.is_some_and(|k| !matches!(k, JobType::Batch | JobType::Sysbatch)) {
        s.at(
            &b,
            [],
            "Periodic can only be used with \"batch\" or \"sysbatch\" scheduler",
        );
    }
    if p.spec.as_deref().unwrap_or("").is_empty() && p.specs.is_empty() {
        s.field(&b, &["crons"], "Must specify a spec");
    }
    if let Some(t) = p.spec_type.as_deref()
        && t != "cron"
    {
        s.at(&b, [], format!("Unknown periodic specification type {t:?}"));
    }
    for (i, spec) in p.specs.iter().enumerate() {
        if spec.split_whitespace().count() == 0 {
            s.at(
                &b,
                [f("crons"), PathSegment::Index(i)],
                "Invalid cron spec: empty",
            );
        }
    }
}

pub(super) fn parameterized(
    s: &mut Sink,
    base: &[PathSegment],
    p: &ParameterizedJobConfig,
    kind: Option<JobType>,
) {
    let b = join(base, [f("parameterized")]);
    if kind.is_some_and(|k| !matches!(k, JobType::Batch | JobType::Sysbatch)) {
        s.at(
            &b,
            [],
            "Parameterized job can only be used with \"batch\" or \"sysbatch\" scheduler",
        );
    }
    if !p.payload.is_empty() && !PAYLOAD_MODES.contains(&p.payload.as_str()) {
        s.field(
            &b,
            &["payload"],
            format!("Unknown payload requirement: {:?}", p.payload),
        );
    }
    let required: HashSet<&str> = p.meta_required.iter().map(String::as_str).collect();
    for k in &p.meta_optional {
        if required.contains(k.as_str()) {
            s.field(
                &b,
                &["meta_optional"],
                format!("Meta key {k:?} is both required and optional"),
            );
        }
    }
}
