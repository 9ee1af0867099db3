//! Group `volume "name" { type, source, read_only, … }` requests and task
//! `volume_mount { volume, destination, read_only }`. A mount names a group volume;
//! a host volume's `source` names a client `host_volume`.

use serde::{Deserialize, Serialize};

/// `volume "name" {…}` → an entry of the group's `Volumes` map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeRequest {
    /// The block label (also the map key).
    pub name: String,
    /// `host` or `csi`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Host volume name on the client, or CSI volume ID.
    pub source: String,
    /// Mount read-only.
    pub read_only: bool,
    /// Keep the same volume across reschedules.
    pub sticky: bool,
    /// CSI access mode, e.g. `single-node-writer`.
    pub access_mode: String,
    /// CSI attachment mode: `file-system` or `block-device`.
    pub attachment_mode: String,
    /// CSI mount options.
    pub mount_options: Option<CsiMountOptions>,
    /// Append the allocation index to `source`.
    pub per_alloc: bool,
}

/// Volume `type` values.
pub const VOLUME_TYPES: &[&str] = &["host", "csi"];

/// `mount_options { fs_type, mount_flags }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CsiMountOptions {
    /// File system type.
    #[serde(rename = "FSType")]
    pub fs_type: String,
    /// Mount flags.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub mount_flags: Vec<String>,
}

/// `volume_mount { volume, destination, read_only, propagation_mode, selinux_label }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeMount {
    /// The group volume's name.
    pub volume: Option<String>,
    /// Path inside the task.
    pub destination: Option<String>,
    /// Defaults to false.
    pub read_only: Option<bool>,
    /// `private` (default), `host-to-task`, `bidirectional`.
    pub propagation_mode: Option<String>,
    /// SELinux label.
    #[serde(rename = "SELinuxLabel")]
    pub selinux_label: Option<String>,
}

/// `propagation_mode` values.
pub const PROPAGATION_MODES: &[&str] = &["private", "host-to-task", "bidirectional"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names() {
        let v: VolumeRequest = serde_json::from_str(
            r#"{"Name":"db","Type":"host","Source":"mysql","ReadOnly":false}"#,
        )
        .unwrap();
        assert_eq!((v.kind.as_str(), v.source.as_str()), ("host", "mysql"));
        let m = VolumeMount {
            selinux_label: Some("z".into()),
            ..Default::default()
        };
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["SELinuxLabel"], "z");
        assert!(j["Volume"].is_null());
    }
}
