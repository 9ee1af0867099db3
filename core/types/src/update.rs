//! `update` (rolling deployments) and `migrate` (drain migration) strategies.
//! Only service and system jobs get update defaults; only service jobs get migrate
//! defaults (reference §2.4).

use crate::duration::Duration;
use crate::restart::merge_opt;
use serde::{Deserialize, Serialize};

/// `update { … }` → `Update` (job level) / `Update` (group level).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStrategy {
    /// Delay between migrations of groups of allocations.
    pub stagger: Option<Duration>,
    /// Allocations updated at once; 0 disables rolling updates.
    pub max_parallel: Option<i64>,
    /// `checks`, `task_states` or `manual`.
    pub health_check: Option<String>,
    /// Time an allocation must be healthy.
    pub min_healthy_time: Option<Duration>,
    /// Deadline for an allocation to become healthy.
    pub healthy_deadline: Option<Duration>,
    /// Deadline for the deployment to make progress; 0 disables.
    pub progress_deadline: Option<Duration>,
    /// Canaries per update.
    pub canary: Option<i64>,
    /// Revert to the last stable job on failure.
    pub auto_revert: Option<bool>,
    /// Promote canaries automatically.
    pub auto_promote: Option<bool>,
}

/// Update/migrate `health_check` values.
pub const HEALTH_CHECKS: &[&str] = &["checks", "task_states", "manual"];

impl UpdateStrategy {
    /// `DefaultUpdateStrategy`.
    pub fn default_strategy() -> Self {
        UpdateStrategy {
            stagger: Some(Duration::from_secs(30)),
            max_parallel: Some(1),
            health_check: Some("checks".into()),
            min_healthy_time: Some(Duration::from_secs(10)),
            healthy_deadline: Some(Duration::from_mins(5)),
            progress_deadline: Some(Duration::from_mins(10)),
            canary: Some(0),
            auto_revert: Some(false),
            auto_promote: Some(false),
        }
    }
    /// Fills every unset field from [`UpdateStrategy::default_strategy`].
    pub fn canonicalize(&mut self) {
        let mut d = Self::default_strategy();
        d.merge(self);
        *self = d;
    }
    /// Every field set in `other` overrides ours.
    pub fn merge(&mut self, o: &UpdateStrategy) {
        merge_opt(&mut self.stagger, &o.stagger);
        merge_opt(&mut self.max_parallel, &o.max_parallel);
        merge_opt(&mut self.health_check, &o.health_check);
        merge_opt(&mut self.min_healthy_time, &o.min_healthy_time);
        merge_opt(&mut self.healthy_deadline, &o.healthy_deadline);
        merge_opt(&mut self.progress_deadline, &o.progress_deadline);
        merge_opt(&mut self.canary, &o.canary);
        merge_opt(&mut self.auto_revert, &o.auto_revert);
        merge_opt(&mut self.auto_promote, &o.auto_promote);
    }
    /// Nomad's `Empty`: every field unset or zero.
    pub fn is_empty(&self) -> bool {
        let zero_d = |d: Option<Duration>| d.is_none_or(|d| d == Duration::ZERO);
        zero_d(self.stagger)
            && self.max_parallel.is_none_or(|v| v == 0)
            && self.health_check.as_deref().is_none_or(str::is_empty)
            && zero_d(self.min_healthy_time)
            && zero_d(self.healthy_deadline)
            && zero_d(self.progress_deadline)
            && self.canary.is_none_or(|v| v == 0)
            && !self.auto_revert.unwrap_or(false)
            && !self.auto_promote.unwrap_or(false)
    }
}

/// `migrate { max_parallel, health_check, min_healthy_time, healthy_deadline }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MigrateStrategy {
    /// Allocations migrated at once.
    pub max_parallel: Option<i64>,
    /// `checks` or `task_states`.
    pub health_check: Option<String>,
    /// Time an allocation must be healthy.
    pub min_healthy_time: Option<Duration>,
    /// Deadline for an allocation to become healthy.
    pub healthy_deadline: Option<Duration>,
}

impl MigrateStrategy {
    /// `DefaultMigrateStrategy`.
    pub fn default_strategy() -> Self {
        MigrateStrategy {
            max_parallel: Some(1),
            health_check: Some("checks".into()),
            min_healthy_time: Some(Duration::from_secs(10)),
            healthy_deadline: Some(Duration::from_mins(5)),
        }
    }
    /// Every field set in `other` overrides ours.
    pub fn merge(&mut self, o: &MigrateStrategy) {
        merge_opt(&mut self.max_parallel, &o.max_parallel);
        merge_opt(&mut self.health_check, &o.health_check);
        merge_opt(&mut self.min_healthy_time, &o.min_healthy_time);
        merge_opt(&mut self.healthy_deadline, &o.healthy_deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_keeps_user_values() {
        let mut u = UpdateStrategy {
            max_parallel: Some(3),
            ..Default::default()
        };
        u.canonicalize();
        assert_eq!(u.max_parallel, Some(3));
        assert_eq!(u.healthy_deadline, Some(Duration::from_mins(5)));
        assert_eq!(u.progress_deadline, Some(Duration::from_mins(10)));
        assert!(!u.is_empty());
        assert!(UpdateStrategy::default().is_empty());
        assert!(
            UpdateStrategy {
                max_parallel: Some(0),
                ..Default::default()
            }
            .is_empty()
        );
    }

    #[test]
    fn json_names() {
        let v = serde_json::to_value(MigrateStrategy::default_strategy()).unwrap();
        assert_eq!(v["MaxParallel"], 1);
        assert_eq!(v["MinHealthyTime"], 10_000_000_000_i64);
        let v = serde_json::to_value(UpdateStrategy::default_strategy()).unwrap();
        assert_eq!(v["AutoRevert"], false);
        assert_eq!(v["Stagger"], 30_000_000_000_i64);
    }
}
