//! The restart tracker: after a task exits (or fails to start), restart it, and when?
//! Nomad's `client/allocrunner/taskrunner/restarts/restarts.go` (reference §5.6).
//!
//! Pure: the caller passes the time (`now`) and a source of jitter, so every branch is a
//! table test. Rules:
//! * a kill → `Killed`; a user-requested restart → `Restarting` at once;
//! * `attempts = 0` → "Policy allows no restarts" (a successful exit of a task that does
//!   not restart on success just terminates);
//! * the attempt counter resets when `interval` has passed since the window opened;
//! * an unrecoverable start error is not restarted;
//! * a successful exit of a batch/sysbatch task, of a non-sidecar prestart/poststart task
//!   and of any poststop task terminates: "Restart unnecessary as task terminated
//!   successfully";
//! * more than `attempts` restarts in the window: mode `fail` stops the task, mode
//!   `delay` waits for the window's end;
//! * otherwise restart after `delay + rand[0, delay) × 25 %`.

use std::time::{Duration, Instant};

use drover_types::alloc::task_event;
use drover_types::{JobType, RestartPolicy, TaskEvent, TaskLifecycle};

/// Jitter added to restart delays, as a fraction of the delay.
pub const JITTER: f64 = 0.25;
/// Reason when `attempts` is 0.
pub const REASON_NO_RESTARTS_ALLOWED: &str = "Policy allows no restarts";
/// Reason for an unrecoverable start error.
pub const REASON_UNRECOVERABLE_ERROR: &str = "Error was unrecoverable";
/// Reason for an ordinary restart.
pub const REASON_WITHIN_POLICY: &str = "Restart within policy";
/// Reason in mode `delay` when the attempts are used up.
pub const REASON_DELAY: &str = "Exceeded allowed attempts, applying a delay";
/// Reason for a successful exit that needs no restart.
pub const REASON_TERMINATED_SUCCESSFULLY: &str =
    "Restart unnecessary as task terminated successfully";

/// A random number below `n` (for `n ≥ 1`); any `rand::Rng` is one.
pub trait JitterSource {
    /// A value in `[0, n)`.
    fn below(&mut self, n: u64) -> u64;
}

impl<R: rand::Rng> JitterSource for R {
    fn below(&mut self, n: u64) -> u64 {
        self.random_range(0..n.max(1))
    }
}

/// `restart.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    /// Stop restarting once the attempts are used up.
    Fail,
    /// Wait for the interval to end, then restart.
    Delay,
}

/// A validated restart policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRules {
    /// Restarts allowed per interval.
    pub attempts: u32,
    /// The window.
    pub interval: Duration,
    /// Base delay before a restart.
    pub delay: Duration,
    /// What happens when the attempts are used up.
    pub mode: RestartMode,
}

/// Why a restart policy is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restart.{field}: {rule}")]
pub struct RestartPolicyError {
    /// The offending field (`attempts`, `interval`, `delay`, `mode`).
    pub field: &'static str,
    /// The rule, with the value found.
    pub rule: String,
}

impl RestartRules {
    /// Validates `policy`, filling unset fields from the job type's default.
    pub fn from_policy(
        policy: Option<&RestartPolicy>,
        job_type: JobType,
    ) -> Result<RestartRules, RestartPolicyError> {
        let mut p = match job_type {
            JobType::Batch | JobType::Sysbatch => RestartPolicy::default_batch(),
            JobType::Service | JobType::System => RestartPolicy::default_service(),
        };
        if let Some(given) = policy {
            p.merge(given);
        }
        let err = |field, rule: String| RestartPolicyError { field, rule };
        let attempts = p.attempts.unwrap_or(0);
        let attempts = u32::try_from(attempts)
            .map_err(|_| err("attempts", format!("must be 0 or more, found {attempts}")))?;
        let dur = |field: &'static str, d: Option<drover_types::Duration>| {
            let d = d.unwrap_or_default();
            d.to_std()
                .ok_or_else(|| err(field, format!("must not be negative, found {d}")))
        };
        let interval = dur("interval", p.interval)?;
        let delay = dur("delay", p.delay)?;
        let mode = match p.mode.as_deref().unwrap_or("fail") {
            "fail" => RestartMode::Fail,
            "delay" => RestartMode::Delay,
            other => {
                return Err(err(
                    "mode",
                    format!("must be \"fail\" or \"delay\", found {other:?}"),
                ));
            }
        };
        Ok(RestartRules {
            attempts,
            interval,
            delay,
            mode,
        })
    }
}

/// What ended the last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitOutcome {
    /// The task exited.
    Exited {
        /// Exit code.
        exit_code: i32,
        /// Terminating signal, 0 if none.
        signal: i32,
        /// Killed by the OOM killer.
        oom_killed: bool,
    },
    /// The driver failed to start it.
    StartError {
        /// Whether the driver said a retry may succeed.
        recoverable: bool,
    },
    /// Restart requested (`alloc restart`, template change). `failure` counts it
    /// against the policy.
    RestartRequested {
        /// Counts against the policy.
        failure: bool,
    },
    /// The task was killed on purpose.
    Killed,
}

/// The tracker's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartState {
    /// Start again after the decision's delay.
    Restarting,
    /// Dead and failed.
    NotRestarting,
    /// Dead, successfully.
    Terminated,
    /// Dead because it was killed.
    Killed,
}

/// A verdict, its delay and Nomad's reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartDecision {
    /// What to do.
    pub state: RestartState,
    /// Wait this long before restarting (`Restarting` only).
    pub delay: Duration,
    /// Nomad's reason ("" for kills and requested restarts).
    pub reason: String,
}

impl RestartDecision {
    /// The task event Nomad records for this decision (`Restarting` or
    /// `Not Restarting`); none for a successful termination or a kill.
    pub fn task_event(&self, time_unix_nanos: i64) -> Option<TaskEvent> {
        let mut e = TaskEvent {
            time: time_unix_nanos,
            restart_reason: self.reason.clone(),
            ..Default::default()
        };
        match self.state {
            RestartState::Restarting => {
                let nanos = i64::try_from(self.delay.as_nanos()).unwrap_or(i64::MAX);
                e.kind = task_event::RESTARTING.into();
                e.start_delay = nanos;
                let within = format!(
                    "Task restarting in {}",
                    drover_types::Duration::from_nanos(nanos)
                );
                e.display_message = if self.reason.is_empty() || self.reason == REASON_WITHIN_POLICY
                {
                    within
                } else {
                    format!("{} - {within}", self.reason)
                };
            }
            RestartState::NotRestarting => {
                e.kind = task_event::NOT_RESTARTING.into();
                e.fails_task = true;
                e.display_message = if self.reason.is_empty() {
                    "Task exceeded restart policy".into()
                } else {
                    self.reason.clone()
                };
            }
            RestartState::Terminated | RestartState::Killed => return None,
        }
        Some(e)
    }
}

/// Counts restarts of one task.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    rules: RestartRules,
    on_success: bool,
    count: u32,
    window_start: Instant,
}

/// Whether a task restarts after a successful exit (`NewRestartTracker`).
pub fn restarts_on_success(job_type: JobType, lifecycle: Option<&TaskLifecycle>) -> bool {
    match lifecycle.map(|l| (l.hook.as_str(), l.sidecar)) {
        Some(("prestart" | "poststart", sidecar)) => sidecar,
        Some(("poststop", _)) => false,
        _ => !matches!(job_type, JobType::Batch | JobType::Sysbatch),
    }
}

impl RestartTracker {
    /// A tracker whose first window opens at `now`.
    pub fn new(rules: RestartRules, on_success: bool, now: Instant) -> RestartTracker {
        RestartTracker {
            rules,
            on_success,
            count: 0,
            window_start: now,
        }
    }
    /// Restarts counted in the current window.
    pub fn count(&self) -> u32 {
        self.count
    }
    /// The policy in force.
    pub fn rules(&self) -> &RestartRules {
        &self.rules
    }
    /// Replaces the policy (job update).
    pub fn set_rules(&mut self, rules: RestartRules) {
        self.rules = rules;
    }

    /// Decides what follows `outcome` at `now`.
    pub fn next(
        &mut self,
        outcome: &ExitOutcome,
        now: Instant,
        rng: &mut impl JitterSource,
    ) -> RestartDecision {
        let decide = |state, delay, reason: &str| RestartDecision {
            state,
            delay,
            reason: reason.to_owned(),
        };
        let success = matches!(
            outcome,
            ExitOutcome::Exited {
                exit_code: 0,
                signal: 0,
                oom_killed: false
            }
        );
        match outcome {
            ExitOutcome::Killed => return decide(RestartState::Killed, Duration::ZERO, ""),
            ExitOutcome::RestartRequested { failure: false } => {
                return decide(RestartState::Restarting, Duration::ZERO, "");
            }
            _ => {}
        }
        if self.rules.attempts == 0 {
            let state = if !self.on_success && success {
                RestartState::Terminated
            } else {
                RestartState::NotRestarting
            };
            return decide(state, Duration::ZERO, REASON_NO_RESTARTS_ALLOWED);
        }
        let window_end = self.window_start + self.rules.interval;
        if now > window_end {
            self.count = 0;
            self.window_start = now;
        }
        self.count += 1;
        match outcome {
            ExitOutcome::StartError { recoverable: false } => {
                return decide(
                    RestartState::NotRestarting,
                    Duration::ZERO,
                    REASON_UNRECOVERABLE_ERROR,
                );
            }
            ExitOutcome::Exited { .. } if success && !self.on_success => {
                return decide(
                    RestartState::Terminated,
                    Duration::ZERO,
                    REASON_TERMINATED_SUCCESSFULLY,
                );
            }
            _ => {}
        }
        if self.count > self.rules.attempts {
            return match self.rules.mode {
                RestartMode::Fail => decide(
                    RestartState::NotRestarting,
                    Duration::ZERO,
                    &format!(
                        "Exceeded allowed attempts {} in interval {} and mode is \"fail\"",
                        self.rules.attempts,
                        go_duration(self.rules.interval)
                    ),
                ),
                RestartMode::Delay => {
                    let end = self.window_start + self.rules.interval;
                    decide(
                        RestartState::Restarting,
                        end.saturating_duration_since(now),
                        REASON_DELAY,
                    )
                }
            };
        }
        let d = u64::try_from(self.rules.delay.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let j = (rng.below(d) as f64 * JITTER) as u64;
        decide(
            RestartState::Restarting,
            Duration::from_nanos(d.saturating_add(j)),
            REASON_WITHIN_POLICY,
        )
    }
}

/// Go's `time.Duration.String()` of a std duration (`30m0s`).
fn go_duration(d: Duration) -> String {
    let nanos = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    drover_types::Duration::from_nanos(nanos).to_string()
}

#[cfg(test)]
#[path = "restarts_tests.rs"]
mod tests;
