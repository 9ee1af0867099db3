//! The mock driver's two config blocks: the plugin's `config { ... }` in the
//! agent config ([`MockConfig`]) and a task's `config { ... }` in a job
//! ([`MockTaskConfig`]), which scripts what the fake task does.
//!
//! Every key is optional and unknown keys are errors, so a typo in a test job
//! fails loudly instead of silently running the default script. Durations are
//! strings (`"150ms"`, `"1m30s"`), see [`crate::duration`]. Serde checks the
//! shape; [`MockTaskConfig::validate`] checks the rules serde cannot express
//! and names the field it rejects.

use std::time::Duration;

use drover_plugin_sdk::schemars::JsonSchema;
use drover_plugin_sdk::{PluginError, signal};
use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;

/// The plugin's `config { ... }` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct MockConfig {
    /// What the fingerprint reports. Default `healthy`.
    #[serde(default)]
    pub fingerprint_health: FingerprintHealth,
    /// When true, the driver turns `undetected` ("disabled")
    /// `shutdown_periodic_duration` after it received this config.
    #[serde(default)]
    pub shutdown_periodic_after: bool,
    /// See `shutdown_periodic_after`. Absent means at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_periodic_duration: Option<GoDuration>,
    /// Deliberate breaches of the driver contract, so that tests can check
    /// the conformance suite catches each one. Never set them otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
}

/// A deliberate breach of the driver contract (see [`MockConfig::faults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub enum Fault {
    /// `WaitTask` reports the exit code plus one.
    WrongExitCode,
    /// `StopTask` sends the signal but never escalates to SIGKILL.
    NoKillEscalation,
    /// `RecoverTask` answers OK but forgets the task.
    ForgetOnRecover,
}

/// The health the fingerprint reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub enum FingerprintHealth {
    #[default]
    Healthy,
    Unhealthy,
    Undetected,
}

/// A task's `config { ... }` block: the script of one fake task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct MockTaskConfig {
    /// How long the task runs before it exits by itself. Absent: until stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_for: Option<GoDuration>,
    /// Exit code reported when the task exits by itself.
    #[serde(default)]
    pub exit_code: i32,
    /// Signal number reported when the task exits by itself (0 = none).
    #[serde(default)]
    pub exit_signal: i32,
    /// When set, `WaitTask` answers this error instead of an exit result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_err_msg: Option<String>,
    /// When set, `StartTask` fails with this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// Whether `start_error` may succeed on retry (RETRY instead of FATAL).
    #[serde(default)]
    pub start_error_recoverable: bool,
    /// `StartTask` takes this long before it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_block_for: Option<GoDuration>,
    /// After a stop signal the task takes this long to die. Default: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_after: Option<GoDuration>,
    /// The plugin process exits (code 1) this long after the task started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_exit_after: Option<GoDuration>,
    /// When set, `SignalTask` answers this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_string: Option<String>,
    /// Extra writes of `stdout_string` after the first one.
    #[serde(default)]
    pub stdout_repeat: u32,
    /// Pause between writes of `stdout_string`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_repeat_duration: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_string: Option<String>,
    #[serde(default)]
    pub stderr_repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_repeat_duration: Option<GoDuration>,
    /// What `ExecTask` answers. Absent: exit 0 and stdout `Exec("<task>", [...])`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_command: Option<ExecCommand>,
}

/// The canned answer of `ExecTask`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct ExecCommand {
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub stdout_string: String,
    #[serde(default)]
    pub stderr_string: String,
}

/// One output stream of the script: `text` written `1 + repeat` times,
/// `every` apart, starting when the task starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputScript {
    pub text: String,
    pub repeat: u32,
    pub every: Duration,
}

impl OutputScript {
    /// Offsets from the task's start at which `text` is written.
    pub fn offsets(&self) -> impl Iterator<Item = Duration> + '_ {
        (0..=self.repeat).map(|k| self.every.saturating_mul(k))
    }
}

fn dur(d: Option<GoDuration>) -> Duration {
    d.map(Duration::from).unwrap_or_default()
}

impl MockTaskConfig {
    /// Check the rules serde does not: signal numbers exist, repeats have
    /// something to repeat. The error names the field as the SDK names
    /// decoding errors (`config.exit_signal: ...`).
    pub fn validate(&self) -> Result<(), PluginError> {
        if self.exit_signal != 0 && signal::name(self.exit_signal).is_none() {
            return Err(PluginError::invalid(format!(
                "config.exit_signal: {} is not a known signal number",
                self.exit_signal
            )));
        }
        for (stream, text, repeat) in [
            ("stdout", &self.stdout_string, self.stdout_repeat),
            ("stderr", &self.stderr_string, self.stderr_repeat),
        ] {
            if repeat > 0 && text.is_none() {
                return Err(PluginError::invalid(format!(
                    "config.{stream}_repeat: set to {repeat} but {stream}_string is not set"
                )));
            }
        }
        if self.start_error.as_deref() == Some("") {
            return Err(PluginError::invalid(
                "config.start_error: must not be empty (leave it out to start normally)",
            ));
        }
        Ok(())
    }

    pub fn run_for(&self) -> Option<Duration> {
        self.run_for.map(Duration::from)
    }
    pub fn kill_after(&self) -> Duration {
        dur(self.kill_after)
    }
    pub fn start_block_for(&self) -> Duration {
        dur(self.start_block_for)
    }
    pub fn plugin_exit_after(&self) -> Option<Duration> {
        self.plugin_exit_after.map(Duration::from)
    }

    pub fn stdout(&self) -> Option<OutputScript> {
        output(
            &self.stdout_string,
            self.stdout_repeat,
            self.stdout_repeat_duration,
        )
    }
    pub fn stderr(&self) -> Option<OutputScript> {
        output(
            &self.stderr_string,
            self.stderr_repeat,
            self.stderr_repeat_duration,
        )
    }
}

fn output(text: &Option<String>, repeat: u32, every: Option<GoDuration>) -> Option<OutputScript> {
    text.as_ref().map(|text| OutputScript {
        text: text.clone(),
        repeat,
        every: dur(every),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_config_is_the_default_script() {
        let c: MockTaskConfig = decode("{}").expect("decodes");
        assert_eq!(c, MockTaskConfig::default());
        assert_eq!(c.run_for(), None);
        assert_eq!(c.kill_after(), Duration::ZERO);
        assert!(c.validate().is_ok());
        let p: MockConfig = decode("{}").expect("decodes");
        assert_eq!(p.fingerprint_health, FingerprintHealth::Healthy);
    }

    #[test]
    fn decodes_every_key() {
        let c: MockTaskConfig = decode(
            r#"{"run_for":"1m30s","exit_code":3,"exit_signal":15,"exit_err_msg":"e",
                "start_error":"s","start_error_recoverable":true,"start_block_for":"1s",
                "kill_after":"2s","plugin_exit_after":"3s","signal_error":"nope",
                "stdout_string":"out","stdout_repeat":2,"stdout_repeat_duration":"10ms",
                "stderr_string":"err","stderr_repeat":1,"stderr_repeat_duration":"5ms",
                "exec_command":{"exit_code":4,"stdout_string":"o","stderr_string":"e"}}"#,
        )
        .expect("decodes");
        assert_eq!(c.run_for(), Some(Duration::from_secs(90)));
        assert_eq!(c.kill_after(), Duration::from_secs(2));
        let out = c.stdout().expect("stdout scripted");
        let offsets: Vec<_> = out.offsets().collect();
        assert_eq!(offsets, [0, 10, 20].map(Duration::from_millis));
        assert_eq!(c.exec_command.as_ref().map(|e| e.exit_code), Some(4));
        assert!(c.validate().is_ok());
        // What goes into driver_state decodes back to the same script.
        let json = serde_json::to_string(&c).expect("encodes");
        assert_eq!(decode::<MockTaskConfig>(&json), Ok(c));
    }

    #[test]
    fn errors_name_the_field() {
        let e = decode::<MockTaskConfig>(r#"{"run_for":"5x"}"#).expect_err("bad unit");
        assert!(e.starts_with("run_for: invalid duration \"5x\""), "{e}");
        let e = decode::<MockTaskConfig>(r#"{"exec_command":{"exit_cod":1}}"#).expect_err("typo");
        assert!(e.contains("exec_command") && e.contains("exit_cod"), "{e}");
        let e = decode::<MockTaskConfig>(r#"{"run_for":5}"#).expect_err("not a string");
        assert!(e.starts_with("run_for:"), "{e}");
        let e = decode::<MockConfig>(r#"{"fingerprint_health":"meh"}"#).expect_err("bad enum");
        assert!(e.starts_with("fingerprint_health:"), "{e}");
    }

    #[test]
    fn schema_lists_the_keys_and_forbids_others() {
        let schema: serde_json::Value =
            serde_json::from_str(&drover_plugin_sdk::config::schema_json::<MockTaskConfig>())
                .expect("schema is JSON");
        assert_eq!(schema["additionalProperties"], serde_json::json!(false));
        let props = schema["properties"].as_object().expect("properties");
        for key in [
            "run_for",
            "kill_after",
            "exec_command",
            "stderr_repeat_duration",
        ] {
            assert!(props.contains_key(key), "schema lacks {key}");
        }
        let text = schema.to_string();
        assert!(text.contains("1m30s"), "durations are described: {text}");
    }

    #[test]
    fn validate_names_the_field() {
        let c = MockTaskConfig {
            exit_signal: 99,
            ..Default::default()
        };
        let e = c.validate().expect_err("unknown signal");
        assert_eq!(
            e.message,
            "config.exit_signal: 99 is not a known signal number"
        );
        let c = MockTaskConfig {
            stderr_repeat: 2,
            ..Default::default()
        };
        let e = c.validate().expect_err("nothing to repeat");
        assert!(
            e.message.starts_with("config.stderr_repeat:"),
            "{}",
            e.message
        );
    }
}
