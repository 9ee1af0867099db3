//! The client's driver plugins: one supervised process per driver ([`ManagedPlugin`]),
//! reattached from the record in the client state when it outlived the last agent, and
//! each driver's Fingerprint stream folded into one map the node is built from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use drover_pluginmgr::{
    ManagedDriver, ManagedPlugin, PluginCommand, PluginEvent, SupervisorOptions,
};
use drover_proto::v1;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::fingerprint::{DriverFingerprint, DriverHealth};
use crate::state::ClientDb;

/// One driver plugin to run.
#[derive(Debug, Clone)]
pub struct DriverSpec {
    /// The driver's name as jobs use it (`raw_exec`).
    pub name: String,
    /// The plugin executable.
    pub path: PathBuf,
    /// Extra arguments (`plugin "x" { args = [...] }`).
    pub args: Vec<String>,
    /// The plugin's config block as JSON.
    pub config: serde_json::Value,
}

/// The name a driver executable serves: `drover-driver-raw-exec` → `raw_exec`.
pub fn driver_name(path: &std::path::Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let rest = file.strip_prefix("drover-driver-")?;
    Some(rest.replace('-', "_"))
}

/// The running driver plugins.
pub struct Drivers {
    plugins: BTreeMap<String, ManagedPlugin>,
    /// Plugin name → the name its reattach record is stored under.
    record_names: BTreeMap<String, String>,
    fingerprints: watch::Sender<BTreeMap<String, DriverFingerprint>>,
    stop: CancellationToken,
}

/// A plugin attribute as the node attribute string (`true`, `3`, `1.5`, text).
pub fn attribute_text(a: &v1::Attribute) -> String {
    use v1::attribute::Value;
    match &a.value {
        Some(Value::StringVal(s)) => s.clone(),
        Some(Value::IntVal(i)) => i.to_string(),
        Some(Value::FloatVal(f)) => f.to_string(),
        Some(Value::BoolVal(b)) => b.to_string(),
        None => String::new(),
    }
}

/// A fingerprint report as node-attribute strings.
pub fn convert_fingerprint(r: &v1::FingerprintResponse) -> DriverFingerprint {
    let health = match v1::Health::try_from(r.health).unwrap_or(v1::Health::Undetected) {
        v1::Health::Healthy => DriverHealth::Healthy,
        v1::Health::Unhealthy => DriverHealth::Unhealthy,
        v1::Health::Undetected => DriverHealth::Undetected,
    };
    let attributes = r
        .attributes
        .iter()
        .map(|(k, a)| (k.clone(), attribute_text(a)))
        .collect();
    DriverFingerprint {
        health,
        description: r.health_description.clone(),
        attributes,
    }
}

impl Drivers {
    /// Starts (or reattaches to) every driver in `specs`. A driver that fails to start
    /// is logged and reported unhealthy; the others run.
    pub async fn start(specs: Vec<DriverSpec>, db: &ClientDb, opts: SupervisorOptions) -> Drivers {
        let (fingerprints, _) = watch::channel(BTreeMap::new());
        let stop = CancellationToken::new();
        let mut plugins = BTreeMap::new();
        let mut record_names = BTreeMap::new();
        for spec in specs {
            let record = db.plugin(&spec.name);
            let mut cmd = PluginCommand::new(&spec.path);
            cmd.args = spec.args.clone();
            match ManagedPlugin::start_or_reattach(record, cmd, spec.config.clone(), opts.clone())
                .await
            {
                Ok(plugin) => {
                    // Jobs name the driver as the plugin does (`mock_driver`), which
                    // may differ from the name its file suggests.
                    let name = plugin.name();
                    if let Err(e) = db.put_plugin(&spec.name, &plugin.reattach_record()).await {
                        tracing::error!(driver = %spec.name, error = %e, "cannot store the plugin's reattach record");
                    }
                    tokio::spawn(watch_plugin(
                        name.clone(),
                        spec.name.clone(),
                        plugin.clone(),
                        db.clone(),
                        fingerprints.clone(),
                        stop.clone(),
                    ));
                    record_names.insert(name.clone(), spec.name.clone());
                    plugins.insert(name, plugin);
                }
                Err(e) => {
                    tracing::error!(driver = %spec.name, error = %e, "driver plugin failed to start");
                    fingerprints.send_modify(|m| {
                        m.insert(
                            spec.name.clone(),
                            DriverFingerprint {
                                health: DriverHealth::Unhealthy,
                                description: format!("plugin failed to start: {e}"),
                                attributes: BTreeMap::new(),
                            },
                        );
                    });
                }
            }
        }
        Drivers {
            plugins,
            record_names,
            fingerprints,
            stop,
        }
    }

    /// The driver `name`, if its plugin runs.
    pub fn get(&self, name: &str) -> Option<ManagedDriver> {
        self.plugins.get(name).map(ManagedPlugin::driver)
    }

    /// The latest fingerprint of every driver.
    pub fn fingerprints(&self) -> watch::Receiver<BTreeMap<String, DriverFingerprint>> {
        self.fingerprints.subscribe()
    }

    /// Leaves the plugins running for the next agent (their records are stored).
    pub async fn detach(&self) {
        self.stop.cancel();
        for p in self.plugins.values() {
            p.detach().await;
        }
    }

    /// Stops every plugin and forgets its record.
    pub async fn shutdown(&self, db: &ClientDb) {
        self.stop.cancel();
        for (name, p) in &self.plugins {
            if let Err(e) = p.stop().await {
                tracing::warn!(driver = %name, error = %e, "stopping the driver plugin");
            }
            let record = self.record_names.get(name).unwrap_or(name);
            let _ = db.delete_plugin(record).await;
        }
    }
}

impl Drop for Drivers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Follows one plugin: its fingerprint stream (again after each relaunch) and its
/// reattach record (stored again after each relaunch).
async fn watch_plugin(
    name: String,
    record_name: String,
    plugin: ManagedPlugin,
    db: ClientDb,
    fingerprints: watch::Sender<BTreeMap<String, DriverFingerprint>>,
    stop: CancellationToken,
) {
    let mut events = plugin.subscribe();
    let driver = plugin.driver();
    let publish = |fp: DriverFingerprint| {
        fingerprints.send_if_modified(|m| {
            if m.get(&name) == Some(&fp) {
                false
            } else {
                m.insert(name.clone(), fp);
                true
            }
        });
    };
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            s = driver.fingerprint() => s,
        };
        match stream {
            Ok(mut stream) => loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    item = stream.next() => match item {
                        Some(Ok(r)) => publish(convert_fingerprint(&r)),
                        Some(Err(e)) => {
                            tracing::debug!(driver = %name, error = %e, "fingerprint stream ended");
                            break;
                        }
                        None => break,
                    },
                    ev = events.recv() => match ev {
                        Ok(PluginEvent::Relaunched { .. }) => {
                            let _ = db.put_plugin(&record_name, &plugin.reattach_record()).await;
                            break;
                        }
                        Ok(PluginEvent::Died { reason, .. }) => {
                            publish(DriverFingerprint {
                                health: DriverHealth::Unhealthy,
                                description: format!("plugin died: {reason}"),
                                attributes: BTreeMap::new(),
                            });
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
            },
            Err(e) => {
                tracing::warn!(driver = %name, error = %e, "cannot read the driver's fingerprint");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
}
