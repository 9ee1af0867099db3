//! `logs { max_files, max_file_size, disabled }` → `LogConfig`. Log files count
//! against the ephemeral disk, which validation checks.

use serde::{Deserialize, Serialize};

/// A task's log rotation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    /// Rotated files kept per stream; defaults to 10.
    pub max_files: Option<i64>,
    /// Size of one file in MB (`max_file_size`); defaults to 10.
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: Option<i64>,
    /// Disable log collection.
    pub disabled: Option<bool>,
    /// Deprecated inverse of `disabled`, kept for the API.
    pub enabled: Option<bool>,
}

impl LogConfig {
    /// `DefaultLogConfig`: 10 files of 10 MB.
    pub fn default_config() -> Self {
        LogConfig {
            max_files: Some(10),
            max_file_size_mb: Some(10),
            disabled: Some(false),
            enabled: None,
        }
    }
    /// Fills unset fields from [`LogConfig::default_config`].
    pub fn canonicalize(&mut self) {
        self.max_files.get_or_insert(10);
        self.max_file_size_mb.get_or_insert(10);
        self.disabled.get_or_insert(false);
    }
    /// Disk the logs may use, in MB: `max_files × max_file_size`.
    pub fn storage_mb(&self) -> i64 {
        self.max_files
            .unwrap_or(10)
            .saturating_mul(self.max_file_size_mb.unwrap_or(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        let mut l = LogConfig {
            max_files: Some(3),
            ..Default::default()
        };
        l.canonicalize();
        assert_eq!(l.storage_mb(), 30);
        let v = serde_json::to_value(LogConfig::default_config()).unwrap();
        assert_eq!(v["MaxFiles"], 10);
        assert_eq!(v["MaxFileSizeMB"], 10);
    }
}
