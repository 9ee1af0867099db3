//! `restart` (client-side task restarts) and `reschedule` (server-side replacement of
//! failed allocations). Defaults depend on the job type (reference §2.4).

use crate::duration::Duration;
use serde::{Deserialize, Serialize};

/// `restart { attempts, interval, delay, mode, render_templates }` → `RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// Window in which `attempts` restarts are allowed.
    pub interval: Option<Duration>,
    /// Restarts allowed per interval.
    pub attempts: Option<i64>,
    /// Wait before restarting.
    pub delay: Option<Duration>,
    /// `fail` or `delay`.
    pub mode: Option<String>,
    /// Re-render templates on restart.
    pub render_templates: Option<bool>,
}

/// Restart `mode` values.
pub const RESTART_MODES: &[&str] = &["fail", "delay"];

impl RestartPolicy {
    /// `defaultServiceJobRestartPolicy`: 2 attempts in 30m, 15s delay, mode fail.
    pub fn default_service() -> Self {
        RestartPolicy {
            interval: Some(Duration::from_mins(30)),
            attempts: Some(2),
            delay: Some(Duration::from_secs(15)),
            mode: Some("fail".into()),
            render_templates: Some(false),
        }
    }
    /// `defaultBatchJobRestartPolicy`: 3 attempts in 24h, 15s delay, mode fail.
    pub fn default_batch() -> Self {
        RestartPolicy {
            interval: Some(Duration::from_hours(24)),
            attempts: Some(3),
            delay: Some(Duration::from_secs(15)),
            mode: Some("fail".into()),
            render_templates: Some(false),
        }
    }
    /// Nomad's `Merge`: every field set in `other` overrides ours.
    pub fn merge(&mut self, other: &RestartPolicy) {
        merge_opt(&mut self.interval, &other.interval);
        merge_opt(&mut self.attempts, &other.attempts);
        merge_opt(&mut self.delay, &other.delay);
        merge_opt(&mut self.mode, &other.mode);
        merge_opt(&mut self.render_templates, &other.render_templates);
    }
}

/// `reschedule { attempts, interval, delay, delay_function, max_delay, unlimited }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReschedulePolicy {
    /// Reschedules allowed per interval (ignored when unlimited).
    pub attempts: Option<i64>,
    /// Window for `attempts`.
    pub interval: Option<Duration>,
    /// Base delay.
    pub delay: Option<Duration>,
    /// `constant`, `exponential` or `fibonacci`.
    pub delay_function: Option<String>,
    /// Cap on the delay.
    pub max_delay: Option<Duration>,
    /// Reschedule forever.
    pub unlimited: Option<bool>,
}

/// Reschedule `delay_function` values.
pub const DELAY_FUNCTIONS: &[&str] = &["constant", "exponential", "fibonacci"];

impl ReschedulePolicy {
    /// Service default (`NewDefaultReschedulePolicy`): unlimited, exponential 30s → 1h.
    pub fn default_service() -> Self {
        ReschedulePolicy {
            attempts: Some(0),
            interval: Some(Duration::ZERO),
            delay: Some(Duration::from_secs(30)),
            delay_function: Some("exponential".into()),
            max_delay: Some(Duration::from_hours(1)),
            unlimited: Some(true),
        }
    }
    /// Batch default: 1 attempt in 24h, constant 5s.
    pub fn default_batch() -> Self {
        ReschedulePolicy {
            attempts: Some(1),
            interval: Some(Duration::from_hours(24)),
            delay: Some(Duration::from_secs(5)),
            delay_function: Some("constant".into()),
            max_delay: Some(Duration::ZERO),
            unlimited: Some(false),
        }
    }
    /// Nomad's `Merge`: every field set in `other` overrides ours.
    pub fn merge(&mut self, other: &ReschedulePolicy) {
        merge_opt(&mut self.attempts, &other.attempts);
        merge_opt(&mut self.interval, &other.interval);
        merge_opt(&mut self.delay, &other.delay);
        merge_opt(&mut self.delay_function, &other.delay_function);
        merge_opt(&mut self.max_delay, &other.max_delay);
        merge_opt(&mut self.unlimited, &other.unlimited);
    }
}

/// Overwrites `dst` with `src` when `src` is set.
pub(crate) fn merge_opt<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if let Some(v) = src {
        *dst = Some(v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_overrides_only_set_fields() {
        let mut p = RestartPolicy::default_service();
        p.merge(&RestartPolicy {
            attempts: Some(9),
            ..Default::default()
        });
        assert_eq!(p.attempts, Some(9));
        assert_eq!(p.interval, Some(Duration::from_mins(30)));
        assert_eq!(p.mode.as_deref(), Some("fail"));
    }

    #[test]
    fn json_names() {
        let v = serde_json::to_value(ReschedulePolicy::default_batch()).unwrap();
        assert_eq!(v["DelayFunction"], "constant");
        assert_eq!(v["Interval"], 86_400_000_000_000_i64);
        assert_eq!(v["MaxDelay"], 0);
        let v = serde_json::to_value(RestartPolicy::default_batch()).unwrap();
        assert_eq!(v["RenderTemplates"], false);
        assert_eq!(v["Delay"], 15_000_000_000_i64);
    }
}
