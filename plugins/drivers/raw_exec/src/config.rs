//! raw_exec's plugin and task config blocks (Nomad's, minus the cgroup and
//! OOM options this driver does not implement).

use drover_plugin_sdk::schemars::JsonSchema;
use serde::Deserialize;

use drover_plugin_sdk::PluginError;

/// `plugin "raw_exec" { config { ... } }`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct PluginConfig {
    /// raw_exec runs tasks unisolated as the agent's user, so it is off until
    /// an operator turns it on.
    #[serde(default)]
    pub enabled: bool,
    /// Host uids tasks may not run as, e.g. `"0,1000-2000"`.
    #[serde(default)]
    pub denied_host_uids: Option<String>,
    /// Host gids tasks may not run as, e.g. `"0,1000-2000"`.
    #[serde(default)]
    pub denied_host_gids: Option<String>,
}

/// A task's `config { ... }` block.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "drover_plugin_sdk::schemars")]
pub struct TaskConfig {
    /// Program to run: an absolute path, a path relative to the task dir, or
    /// a name found in the task dir's `local/`, the task dir, or `PATH`.
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory; relative paths are taken from the task dir, which
    /// is the default.
    #[serde(default)]
    pub work_dir: Option<String>,
}

/// The validated plugin config.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub enabled: bool,
    pub denied_uids: IdRanges,
    pub denied_gids: IdRanges,
}

impl Settings {
    pub fn from_config(config: PluginConfig) -> Result<Settings, PluginError> {
        let parse = |field: &str, value: Option<String>| {
            IdRanges::parse(value.as_deref().unwrap_or(""))
                .map_err(|e| PluginError::invalid(format!("config.{field}: {e}")))
        };
        Ok(Settings {
            enabled: config.enabled,
            denied_uids: parse("denied_host_uids", config.denied_host_uids)?,
            denied_gids: parse("denied_host_gids", config.denied_host_gids)?,
        })
    }
}

/// A set of ids written as `"0,10-20"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdRanges(Vec<(u32, u32)>);

impl IdRanges {
    pub fn parse(text: &str) -> Result<IdRanges, String> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = |s: &str| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{part:?} is not an id or an id range like \"10-20\""))
            };
            let range = match part.split_once('-') {
                Some((lo, hi)) => (id(lo)?, id(hi)?),
                None => (id(part)?, id(part)?),
            };
            if range.0 > range.1 {
                return Err(format!("range {part:?} ends before it starts"));
            }
            ranges.push(range);
        }
        Ok(IdRanges(ranges))
    }

    pub fn contains(&self, id: u32) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges_parse_and_match() {
        let r = IdRanges::parse("0, 1000-1002").expect("valid");
        assert!(r.contains(0) && r.contains(1001) && !r.contains(1003) && !r.contains(1));
        assert_eq!(IdRanges::parse(""), Ok(IdRanges::default()));
        assert!(IdRanges::parse("5-1").is_err());
        assert!(IdRanges::parse("root").unwrap_err().contains("\"root\""));
    }

    #[test]
    fn bad_ranges_name_the_field() {
        let config = PluginConfig {
            enabled: true,
            denied_host_uids: None,
            denied_host_gids: Some("x".into()),
        };
        let err = Settings::from_config(config).expect_err("invalid");
        assert!(
            err.message.starts_with("config.denied_host_gids: "),
            "{err}"
        );
    }
}
