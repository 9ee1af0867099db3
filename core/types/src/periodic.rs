//! `periodic` (cron-launched batch jobs) and `parameterized` (dispatched jobs).

use serde::{Deserialize, Serialize};

/// `periodic { crons, prohibit_overlap, time_zone, enabled }` → `Periodic`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PeriodicConfig {
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// A single cron spec (legacy `cron`).
    pub spec: Option<String>,
    /// Several cron specs (`crons`).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub specs: Vec<String>,
    /// `cron` (the only type).
    pub spec_type: Option<String>,
    /// Skip a launch while the previous child still runs.
    pub prohibit_overlap: Option<bool>,
    /// IANA zone; defaults to `UTC`.
    pub time_zone: Option<String>,
}

/// `parameterized { payload, meta_required, meta_optional }` → `ParameterizedJob`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParameterizedJobConfig {
    /// `optional` (default), `required` or `forbidden`.
    pub payload: String,
    /// Meta keys a dispatch must set.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta_required: Vec<String>,
    /// Meta keys a dispatch may set.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub meta_optional: Vec<String>,
}

/// `parameterized.payload` values.
pub const PAYLOAD_MODES: &[&str] = &["optional", "required", "forbidden"];

/// `dispatch_payload { file }`: where a task receives the dispatch payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DispatchPayloadConfig {
    /// Path relative to the task's `local/`.
    pub file: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names() {
        let p: PeriodicConfig = serde_json::from_str(
            r#"{"Enabled":true,"Specs":["*/5 * * * *"],"SpecType":"cron","TimeZone":"UTC","Unknown":1}"#,
        )
        .unwrap();
        assert_eq!(p.specs, ["*/5 * * * *"]);
        let v = serde_json::to_value(ParameterizedJobConfig {
            payload: "required".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v["Payload"], "required");
        assert_eq!(v["MetaRequired"], serde_json::json!([]));
    }
}
