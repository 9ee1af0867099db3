//! `template { … }`: files rendered by the client (parsed, defaulted and kept; this
//! crate does not render them).

use crate::duration::Duration;
use serde::{Deserialize, Serialize};

/// One template → an entry of `Templates`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Template {
    /// `source`: template file path.
    pub source_path: Option<String>,
    /// `destination`: rendered file path, relative to the task dir.
    pub dest_path: Option<String>,
    /// `data`: inline template.
    pub embedded_tmpl: Option<String>,
    /// `restart` (default), `noop`, `signal`, `script`.
    pub change_mode: Option<String>,
    /// Signal for `change_mode = "signal"` (defaults to `SIGHUP`).
    pub change_signal: Option<String>,
    /// `change_script { command, args, timeout, fail_on_error }`.
    pub change_script: Option<ChangeScript>,
    /// Random wait before acting on a change; defaults to 5s.
    pub splay: Option<Duration>,
    /// File mode; defaults to `0644`.
    pub perms: Option<String>,
    /// Owner uid.
    pub uid: Option<i64>,
    /// Owner gid.
    pub gid: Option<i64>,
    /// Left delimiter; defaults to `{{`.
    pub left_delim: Option<String>,
    /// Right delimiter; defaults to `}}`.
    pub right_delim: Option<String>,
    /// `env`: load the rendered file into the task environment.
    pub envvars: Option<bool>,
    /// Render once only.
    pub once: Option<bool>,
    /// `error_on_missing_key`.
    pub err_missing_key: Option<bool>,
    /// Deprecated Vault grace, kept for the API.
    pub vault_grace: Option<Duration>,
    /// `wait { min, max }`.
    pub wait: Option<WaitConfig>,
}

/// `change_mode` values.
pub const CHANGE_MODES: &[&str] = &["restart", "noop", "signal", "script"];

/// `change_script { command, args, timeout, fail_on_error }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChangeScript {
    /// Command to run in the task.
    pub command: Option<String>,
    /// Its arguments.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub args: Vec<String>,
    /// Defaults to 5s.
    pub timeout: Option<Duration>,
    /// Fail the task if the script fails.
    pub fail_on_error: Option<bool>,
}

/// `wait { min, max }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WaitConfig {
    /// Minimum quiescence.
    pub min: Option<Duration>,
    /// Maximum wait.
    pub max: Option<Duration>,
}

impl Template {
    /// `Template.Canonicalize` (reference §2.4).
    pub fn canonicalize(&mut self) {
        self.source_path.get_or_insert_with(String::new);
        self.dest_path.get_or_insert_with(String::new);
        self.embedded_tmpl.get_or_insert_with(String::new);
        let mode = self
            .change_mode
            .get_or_insert_with(|| "restart".into())
            .clone();
        match &mut self.change_signal {
            Some(s) => *s = s.to_uppercase(),
            None => {
                self.change_signal = Some(if mode == "signal" {
                    "SIGHUP".into()
                } else {
                    String::new()
                })
            }
        }
        if let Some(cs) = &mut self.change_script {
            cs.command.get_or_insert_with(String::new);
            cs.timeout.get_or_insert(Duration::from_secs(5));
            cs.fail_on_error.get_or_insert(false);
        }
        self.splay.get_or_insert(Duration::from_secs(5));
        self.perms.get_or_insert_with(|| "0644".into());
        self.left_delim.get_or_insert_with(|| "{{".into());
        self.right_delim.get_or_insert_with(|| "}}".into());
        self.envvars.get_or_insert(false);
        self.once.get_or_insert(false);
        self.err_missing_key.get_or_insert(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_defaults() {
        let mut t = Template {
            change_mode: Some("signal".into()),
            ..Default::default()
        };
        t.canonicalize();
        assert_eq!(t.change_signal.as_deref(), Some("SIGHUP"));
        assert_eq!(t.splay, Some(Duration::from_secs(5)));
        assert_eq!(t.perms.as_deref(), Some("0644"));
        assert_eq!(
            (t.left_delim.as_deref(), t.right_delim.as_deref()),
            (Some("{{"), Some("}}"))
        );
        let mut t = Template {
            change_signal: Some("sigusr1".into()),
            ..Default::default()
        };
        t.canonicalize();
        assert_eq!(t.change_signal.as_deref(), Some("SIGUSR1"));
        assert_eq!(t.change_mode.as_deref(), Some("restart"));
    }

    #[test]
    fn json_names() {
        let t: Template = serde_json::from_str(
            r#"{"DestPath":"local/a","EmbeddedTmpl":"x","ErrMissingKey":true,"Envvars":true,
                "Wait":{"Min":5000000000,"Max":60000000000}}"#,
        )
        .unwrap();
        assert_eq!(t.wait.unwrap().max, Some(Duration::from_secs(60)));
        assert_eq!(t.err_missing_key, Some(true));
    }
}
