//! `lifecycle { hook, sidecar }`: prestart/poststart/poststop tasks.

use serde::{Deserialize, Serialize};

/// A task's lifecycle hook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TaskLifecycle {
    /// `prestart`, `poststart` or `poststop`.
    pub hook: String,
    /// Keep running for the allocation's life (prestart/poststart only).
    pub sidecar: bool,
}

/// Lifecycle `hook` values.
pub const LIFECYCLE_HOOKS: &[&str] = &["prestart", "poststart", "poststop"];

impl TaskLifecycle {
    /// Nomad's `Empty`: no hook named.
    pub fn is_empty(&self) -> bool {
        self.hook.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let l: TaskLifecycle =
            serde_json::from_str(r#"{"Hook":"prestart","Sidecar":true}"#).unwrap();
        assert!(l.sidecar && !l.is_empty());
        assert!(TaskLifecycle::default().is_empty());
    }
}
