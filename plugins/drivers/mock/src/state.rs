//! What a mock task keeps in its handle's `driver_state`, and the clock that
//! maps wall time to tokio time.
//!
//! A mock task has no process to reattach to, so its state is its script and
//! its start time: from those, [`crate::MockDriver`]'s `recover_task` rebuilds
//! a task that ends at the same wall-clock moment it would have ended had the
//! plugin never crashed. Deadlines run on tokio's clock (so tests can pause
//! it); reported times are wall-clock, derived through [`Clock`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use drover_plugin_sdk::PluginError;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::MockTaskConfig;

/// The JSON in a mock task's `driver_state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverState {
    /// Wall-clock start of the task, milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// The task's script, as decoded from its `config` block.
    pub config: MockTaskConfig,
}

impl DriverState {
    pub fn new(started_at: SystemTime, config: MockTaskConfig) -> Self {
        let ms = started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        Self {
            started_at_unix_ms: u64::try_from(ms).unwrap_or(u64::MAX),
            config,
        }
    }

    pub fn started_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.started_at_unix_ms)
    }

    pub fn to_json(&self) -> serde_json::Value {
        // A struct of strings, numbers and bools always serializes.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Decode the state of task `task_id`, naming the bad field.
    pub fn from_json(task_id: &str, value: serde_json::Value) -> Result<Self, PluginError> {
        let state: Self = serde_path_to_error::deserialize(value).map_err(|e| {
            PluginError::invalid(format!(
                "driver_state of task {task_id:?} is not a mock_driver state: {e}"
            ))
        })?;
        state.config.validate().map_err(|e| {
            PluginError::invalid(format!("driver_state of task {task_id:?}: {}", e.message))
        })?;
        Ok(state)
    }
}

/// A wall-clock time and a tokio instant taken together, to convert between
/// the two.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    instant: Instant,
    wall: SystemTime,
}

impl Clock {
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The wall-clock time of tokio instant `at`.
    pub fn wall_of(&self, at: Instant) -> SystemTime {
        if at >= self.instant {
            self.wall + (at - self.instant)
        } else {
            self.wall - (self.instant - at)
        }
    }

    /// The tokio instant of wall time `at`; times before the clock was read
    /// map to that moment.
    pub fn instant_of(&self, at: SystemTime) -> Instant {
        self.instant + at.duration_since(self.wall).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json() {
        let config = MockTaskConfig {
            exit_code: 7,
            ..Default::default()
        };
        let started = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let state = DriverState::new(started, config);
        let back = DriverState::from_json("t", state.to_json()).expect("decodes");
        assert_eq!(back, state);
        assert_eq!(back.started_at(), started);
    }

    #[test]
    fn bad_state_names_task_and_field() {
        let e = DriverState::from_json("a/b/1", serde_json::json!({"started_at_unix_ms": "x"}))
            .expect_err("bad type");
        assert!(e.message.contains("\"a/b/1\""), "{}", e.message);
        assert!(e.message.contains("started_at_unix_ms"), "{}", e.message);
        let e = DriverState::from_json(
            "t",
            serde_json::json!({"started_at_unix_ms": 1, "config": {"exit_signal": 99}}),
        )
        .expect_err("bad signal");
        assert!(e.message.contains("config.exit_signal"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn clock_maps_both_ways() {
        let clock = Clock::now();
        let later = clock.wall_of(Instant::now() + Duration::from_secs(3));
        assert_eq!(
            clock.instant_of(later),
            Instant::now() + Duration::from_secs(3)
        );
        let past = SystemTime::now() - Duration::from_secs(60);
        assert_eq!(clock.instant_of(past), clock.instant);
    }
}
