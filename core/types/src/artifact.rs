//! `artifact { source, destination, mode, options, headers, insecure, chown }`:
//! files fetched (go-getter style) into the task directory before start.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One artifact → an entry of `Artifacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskArtifact {
    /// The URL (`source`), interpolated by the client.
    pub getter_source: Option<String>,
    /// Query-string options (`options {}`), e.g. `checksum`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub getter_options: BTreeMap<String, String>,
    /// HTTP headers (`headers {}`).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub getter_headers: BTreeMap<String, String>,
    /// `any` (default), `file` or `dir`.
    pub getter_mode: Option<String>,
    /// Skip TLS verification.
    pub getter_insecure: Option<bool>,
    /// Destination relative to the task dir (`destination`); defaults to `local/`.
    pub relative_dest: Option<String>,
    /// Chown the download to the task user.
    pub chown: bool,
}

/// Artifact `mode` values.
pub const GETTER_MODES: &[&str] = &["any", "file", "dir"];

impl TaskArtifact {
    /// `TaskArtifact.Canonicalize`: mode `any`; destination `local/`, or
    /// `local/<basename(source)>` in `file` mode.
    pub fn canonicalize(&mut self) {
        let mode = self.getter_mode.get_or_insert_with(|| "any".into()).clone();
        let source = self.getter_source.get_or_insert_with(String::new).clone();
        self.getter_insecure.get_or_insert(false);
        if self.relative_dest.is_none() {
            self.relative_dest = Some(if mode == "file" {
                let base = source
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                // Drop any query string the URL carries.
                let base = base.split('?').next().unwrap_or(base);
                format!("local/{base}")
            } else {
                "local/".into()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalize_destination() {
        let mut a = TaskArtifact {
            getter_source: Some("http://10.1.41.225/mysql-bvc25.tar".into()),
            ..Default::default()
        };
        a.canonicalize();
        assert_eq!(a.relative_dest.as_deref(), Some("local/"));
        assert_eq!(a.getter_mode.as_deref(), Some("any"));
        let mut a = TaskArtifact {
            getter_source: Some("https://x.example/dir/app.bin?x=1".into()),
            getter_mode: Some("file".into()),
            ..Default::default()
        };
        a.canonicalize();
        assert_eq!(a.relative_dest.as_deref(), Some("local/app.bin"));
    }

    #[test]
    fn json_names() {
        let a: TaskArtifact = serde_json::from_str(
            r#"{"GetterSource":"http://h/a.tar","GetterOptions":{"checksum":"sha256:ab"},
                "GetterHeaders":null,"GetterMode":"any","RelativeDest":"local/"}"#,
        )
        .unwrap();
        assert_eq!(a.getter_options["checksum"], "sha256:ab");
        assert!(a.getter_headers.is_empty());
    }
}
