//! Table tests of the restart tracker.

use super::*;

/// Always returns `n - 1` (the largest jitter) or 0.
struct Fixed(bool);

impl JitterSource for Fixed {
    fn below(&mut self, n: u64) -> u64 {
        if self.0 { n - 1 } else { 0 }
    }
}

fn rules(attempts: u32, interval_s: u64, delay_s: u64, mode: RestartMode) -> RestartRules {
    RestartRules {
        attempts,
        interval: Duration::from_secs(interval_s),
        delay: Duration::from_secs(delay_s),
        mode,
    }
}

fn exit(code: i32) -> ExitOutcome {
    ExitOutcome::Exited {
        exit_code: code,
        signal: 0,
        oom_killed: false,
    }
}

#[test]
fn single_decisions_table() {
    let fail = rules(2, 1800, 15, RestartMode::Fail);
    let none = rules(0, 1800, 15, RestartMode::Fail);
    let sig = ExitOutcome::Exited {
        exit_code: 0,
        signal: 9,
        oom_killed: false,
    };
    let cases: Vec<(&str, RestartRules, bool, ExitOutcome, RestartState, &str)> = vec![
        (
            "service exit 0 restarts",
            fail.clone(),
            true,
            exit(0),
            RestartState::Restarting,
            REASON_WITHIN_POLICY,
        ),
        (
            "batch exit 0 terminates",
            fail.clone(),
            false,
            exit(0),
            RestartState::Terminated,
            REASON_TERMINATED_SUCCESSFULLY,
        ),
        (
            "batch exit 1 restarts",
            fail.clone(),
            false,
            exit(1),
            RestartState::Restarting,
            REASON_WITHIN_POLICY,
        ),
        (
            "signal is not success",
            fail.clone(),
            false,
            sig,
            RestartState::Restarting,
            REASON_WITHIN_POLICY,
        ),
        (
            "no attempts, failure",
            none.clone(),
            true,
            exit(1),
            RestartState::NotRestarting,
            REASON_NO_RESTARTS_ALLOWED,
        ),
        (
            "no attempts, service exit 0",
            none.clone(),
            true,
            exit(0),
            RestartState::NotRestarting,
            REASON_NO_RESTARTS_ALLOWED,
        ),
        (
            "no attempts, batch exit 0",
            none.clone(),
            false,
            exit(0),
            RestartState::Terminated,
            REASON_NO_RESTARTS_ALLOWED,
        ),
        (
            "unrecoverable start error",
            fail.clone(),
            true,
            ExitOutcome::StartError { recoverable: false },
            RestartState::NotRestarting,
            REASON_UNRECOVERABLE_ERROR,
        ),
        (
            "recoverable start error",
            fail.clone(),
            true,
            ExitOutcome::StartError { recoverable: true },
            RestartState::Restarting,
            REASON_WITHIN_POLICY,
        ),
        (
            "killed",
            none.clone(),
            true,
            ExitOutcome::Killed,
            RestartState::Killed,
            "",
        ),
        (
            "requested restart ignores policy",
            none.clone(),
            true,
            ExitOutcome::RestartRequested { failure: false },
            RestartState::Restarting,
            "",
        ),
        (
            "failed requested restart counts",
            none,
            true,
            ExitOutcome::RestartRequested { failure: true },
            RestartState::NotRestarting,
            REASON_NO_RESTARTS_ALLOWED,
        ),
    ];
    let t0 = Instant::now();
    for (name, r, on_success, outcome, state, reason) in cases {
        let mut t = RestartTracker::new(r, on_success, t0);
        let d = t.next(&outcome, t0, &mut Fixed(false));
        assert_eq!((d.state, d.reason.as_str()), (state, reason), "{name}");
    }
}

#[test]
fn attempts_within_interval_then_fail_and_window_reset() {
    let t0 = Instant::now();
    let mut t = RestartTracker::new(rules(2, 60, 15, RestartMode::Fail), true, t0);
    let mut rng = Fixed(false);
    for i in 1..=2 {
        let d = t.next(&exit(1), t0 + Duration::from_secs(i), &mut rng);
        assert_eq!(d.state, RestartState::Restarting);
        assert_eq!(
            d.delay,
            Duration::from_secs(15),
            "no jitter from Fixed(false)"
        );
    }
    let d = t.next(&exit(1), t0 + Duration::from_secs(3), &mut rng);
    assert_eq!(d.state, RestartState::NotRestarting);
    assert_eq!(
        d.reason,
        "Exceeded allowed attempts 2 in interval 1m0s and mode is \"fail\""
    );
    let ev = d.task_event(7).unwrap();
    assert_eq!(
        (ev.kind.as_str(), ev.fails_task, ev.time),
        ("Not Restarting", true, 7)
    );
    assert_eq!(ev.display_message, d.reason);
    // After the interval the count starts over.
    let d = t.next(&exit(1), t0 + Duration::from_secs(61), &mut rng);
    assert_eq!(d.state, RestartState::Restarting);
    assert_eq!(t.count(), 1);
}

#[test]
fn delay_mode_waits_for_the_window_end() {
    let t0 = Instant::now();
    let mut t = RestartTracker::new(rules(1, 600, 5, RestartMode::Delay), true, t0);
    let mut rng = Fixed(true);
    let d = t.next(&exit(2), t0 + Duration::from_secs(10), &mut rng);
    assert_eq!(d.state, RestartState::Restarting);
    let d = t.next(&exit(2), t0 + Duration::from_secs(100), &mut rng);
    assert_eq!(
        (d.state, d.reason.as_str()),
        (RestartState::Restarting, REASON_DELAY)
    );
    assert_eq!(d.delay, Duration::from_secs(500));
    let ev = d.task_event(0).unwrap();
    assert_eq!(ev.kind, "Restarting");
    assert_eq!(ev.start_delay, 500_000_000_000);
    assert_eq!(
        ev.display_message,
        "Exceeded allowed attempts, applying a delay - Task restarting in 8m20s"
    );
}

#[test]
fn jitter_is_at_most_a_quarter_of_the_delay() {
    let t0 = Instant::now();
    let r = rules(100, 3600, 20, RestartMode::Fail);
    let mut t = RestartTracker::new(r.clone(), true, t0);
    let d = t.next(&exit(1), t0, &mut Fixed(true));
    // 20s + (20s - 1ns) × 0.25, truncated to whole nanoseconds.
    assert_eq!(d.delay, Duration::from_nanos(24_999_999_999));
    let ev = d.task_event(0).unwrap();
    assert_eq!(ev.display_message, "Task restarting in 24.999999999s");
    let mut rng = rand::rng();
    let mut t = RestartTracker::new(r, true, t0);
    for _ in 0..50 {
        let d = t.next(&exit(1), t0, &mut rng);
        assert!(d.delay >= Duration::from_secs(20) && d.delay < Duration::from_secs(25));
    }
    assert!(
        RestartDecision {
            state: RestartState::Terminated,
            delay: Duration::ZERO,
            reason: REASON_TERMINATED_SUCCESSFULLY.into()
        }
        .task_event(0)
        .is_none()
    );
}

#[test]
fn on_success_by_job_type_and_lifecycle() {
    let lc = |hook: &str, sidecar| TaskLifecycle {
        hook: hook.into(),
        sidecar,
    };
    let cases = [
        (JobType::Service, None, true),
        (JobType::System, None, true),
        (JobType::Batch, None, false),
        (JobType::Sysbatch, None, false),
        (JobType::Service, Some(lc("prestart", false)), false),
        (JobType::Batch, Some(lc("prestart", true)), true),
        (JobType::Service, Some(lc("poststart", true)), true),
        (JobType::Service, Some(lc("poststop", true)), false),
        (JobType::Service, Some(lc("", false)), true),
    ];
    for (jt, l, want) in cases {
        assert_eq!(restarts_on_success(jt, l.as_ref()), want, "{jt:?} {l:?}");
    }
}

#[test]
fn policy_validation_and_defaults() {
    let r = RestartRules::from_policy(None, JobType::Batch).unwrap();
    assert_eq!(
        r,
        rules(3, 24 * 3600, 15, RestartMode::Fail),
        "batch default: 3 / 24h / 15s / fail"
    );
    let r = RestartRules::from_policy(None, JobType::Service).unwrap();
    assert_eq!(r, rules(2, 1800, 15, RestartMode::Fail));
    let p = RestartPolicy {
        mode: Some("sometimes".into()),
        ..Default::default()
    };
    let e = RestartRules::from_policy(Some(&p), JobType::Service).unwrap_err();
    assert_eq!(
        e.to_string(),
        "restart.mode: must be \"fail\" or \"delay\", found \"sometimes\""
    );
    let p = RestartPolicy {
        attempts: Some(-1),
        ..Default::default()
    };
    let e = RestartRules::from_policy(Some(&p), JobType::Service).unwrap_err();
    assert_eq!(e.field, "attempts");
    let p = RestartPolicy {
        delay: Some(drover_types::Duration::from_secs(-1)),
        ..Default::default()
    };
    assert_eq!(
        RestartRules::from_policy(Some(&p), JobType::Service)
            .unwrap_err()
            .field,
        "delay"
    );
}
