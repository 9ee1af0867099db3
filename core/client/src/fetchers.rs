//! The client's artifact fetcher plugins: one supervised process per fetcher
//! ([`ManagedPlugin`]), relaunched when it dies, asked once for the URL schemes
//! it handles. Fetchers hold no state, so unlike drivers they are never
//! reattached: every agent launches its own and stops them when it stops.

use std::collections::BTreeMap;
use std::path::PathBuf;

use drover_pluginmgr::{ManagedFetcher, ManagedPlugin, PluginCommand, SupervisorOptions};

/// One fetcher plugin to run.
#[derive(Debug, Clone)]
pub struct FetcherSpec {
    /// The name its file gives it (`drover-fetcher-http` → `http`).
    pub name: String,
    /// The plugin executable.
    pub path: PathBuf,
    /// Extra arguments (`plugin "http" { args = [...] }`).
    pub args: Vec<String>,
    /// The plugin's config block as JSON.
    pub config: serde_json::Value,
}

/// The name a fetcher executable goes by: `drover-fetcher-http` → `http`.
pub fn fetcher_name(path: &std::path::Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let rest = file.strip_prefix("drover-fetcher-")?;
    (!rest.is_empty()).then(|| rest.replace('-', "_"))
}

/// The running fetcher plugins, by the schemes they handle.
#[derive(Default)]
pub struct Fetchers {
    plugins: Vec<ManagedPlugin>,
    by_scheme: BTreeMap<String, ManagedFetcher>,
}

impl Fetchers {
    /// Launches every fetcher in `specs` (in order) and asks each for its
    /// schemes; a scheme goes to the first fetcher that names it. One that
    /// fails to start is logged and left out.
    pub async fn start(specs: Vec<FetcherSpec>, opts: SupervisorOptions) -> Fetchers {
        let mut out = Fetchers::default();
        for spec in specs {
            let mut cmd = PluginCommand::new(&spec.path);
            cmd.args = spec.args.clone();
            let plugin = match ManagedPlugin::start(cmd, spec.config.clone(), opts.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(fetcher = %spec.name, error = %e, "fetcher plugin failed to start");
                    continue;
                }
            };
            let fetcher = plugin.fetcher();
            match fetcher.schemes().await {
                Ok(schemes) => {
                    for scheme in schemes {
                        if let Some(other) = out.by_scheme.get(&scheme) {
                            tracing::warn!(fetcher = %spec.name, %scheme, handled_by = %other.name(), "scheme already handled by another fetcher; ignoring it here");
                            continue;
                        }
                        out.by_scheme.insert(scheme, fetcher.clone());
                    }
                }
                Err(e) => {
                    tracing::error!(fetcher = %spec.name, error = %e, "cannot ask the fetcher for its schemes; not using it");
                    let _ = plugin.stop().await;
                    continue;
                }
            }
            out.plugins.push(plugin);
        }
        if !out.by_scheme.is_empty() {
            tracing::info!(schemes = ?out.schemes(), "artifact fetchers ready");
        }
        out
    }

    /// The fetcher for URLs of `scheme` (lower case).
    pub fn for_scheme(&self, scheme: &str) -> Option<ManagedFetcher> {
        self.by_scheme.get(scheme).cloned()
    }

    /// Every scheme some fetcher handles, sorted.
    pub fn schemes(&self) -> Vec<String> {
        self.by_scheme.keys().cloned().collect()
    }

    /// Stops every fetcher plugin.
    pub async fn shutdown(&self) {
        for p in &self.plugins {
            if let Err(e) = p.stop().await {
                tracing::warn!(fetcher = %p.name(), error = %e, "stopping the fetcher plugin");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_come_from_the_file_name() {
        assert_eq!(
            fetcher_name(Path::new("/x/drover-fetcher-http")).as_deref(),
            Some("http")
        );
        assert_eq!(
            fetcher_name(Path::new("drover-fetcher-git-lfs")).as_deref(),
            Some("git_lfs")
        );
        assert_eq!(fetcher_name(Path::new("drover-fetcher-")), None);
        assert_eq!(fetcher_name(Path::new("drover-driver-raw-exec")), None);
    }
}
