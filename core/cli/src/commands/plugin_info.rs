//! `drover plugin info [--config FILE] PATH`: launch a plugin, show what it
//! says about itself, stop it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use drover_pluginmgr::{LaunchOptions, PluginCommand, PluginProcess};
use drover_proto::v1;
use tokio_stream::StreamExt;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin's config block in HCL (sent with SetConfig before the
    /// fingerprint, so health reflects it).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the schemas in full.
    #[arg(long)]
    verbose: bool,
    /// The plugin binary.
    path: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = super::read_plugin_config(a.config.as_deref())?;
    let cmd = PluginCommand {
        path: a.path.clone(),
        args: Vec::new(),
    };
    let plugin = PluginProcess::launch(&cmd, &LaunchOptions::default()).await?;
    let result = describe(&plugin, &config, a.verbose).await;
    plugin.stop(Duration::from_secs(2)).await?;
    result
}

async fn describe(
    plugin: &PluginProcess,
    config: &serde_json::Value,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let info = plugin.info().clone();
    let kind = match info.r#type() {
        v1::PluginType::Driver => "driver",
        v1::PluginType::Fetcher => "fetcher",
        v1::PluginType::Unspecified => "unspecified",
    };
    println!("Name              = {}", info.name);
    println!("Type              = {kind}");
    println!("Version           = {}", info.version);
    println!(
        "Protocol versions = {:?} (using {})",
        info.protocol_versions,
        plugin.protocol_version()
    );
    let config_errors = match plugin.set_config(config, v1::AgentConfig::default()).await {
        Ok(()) => None,
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = &config_errors {
        println!("Config            = rejected: {e}");
    }
    let mut schema = plugin.plugin_client();
    let config_schema = schema
        .config_schema(v1::ConfigSchemaRequest {})
        .await
        .context("ConfigSchema")?
        .into_inner();
    if info.r#type() == v1::PluginType::Driver {
        let mut driver = plugin.driver_client();
        let caps = driver
            .capabilities(v1::CapabilitiesRequest {})
            .await
            .context("Capabilities")?
            .into_inner()
            .capabilities
            .unwrap_or_default();
        println!("Capabilities      = {}", describe_caps(&caps));
        if config_errors.is_none() {
            let mut stream = driver
                .fingerprint(v1::FingerprintRequest {})
                .await
                .context("Fingerprint")?
                .into_inner();
            match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
                Ok(Some(Ok(fp))) => {
                    println!(
                        "Health            = {}: {}",
                        health(fp.health()),
                        fp.health_description
                    );
                    let mut attrs: Vec<_> = fp
                        .attributes
                        .iter()
                        .map(|(k, v)| format!("{k}={}", drover_client::drivers::attribute_text(v)))
                        .collect();
                    attrs.sort();
                    println!("Attributes        = {}", attrs.join(", "));
                }
                Ok(Some(Err(e))) => {
                    println!("Health            = fingerprint failed: {}", e.message())
                }
                Ok(None) => {
                    println!("Health            = fingerprint stream ended without a report")
                }
                Err(_) => println!("Health            = no fingerprint within 5 s"),
            }
        }
        let task_schema = driver
            .task_config_schema(v1::TaskConfigSchemaRequest {})
            .await
            .context("TaskConfigSchema")?;
        print_schema(
            "Task config",
            &task_schema.into_inner().json_schema,
            verbose,
        );
    }
    if info.r#type() == v1::PluginType::Fetcher {
        let schemes = plugin
            .fetcher_client()
            .schemes(v1::SchemesRequest {})
            .await
            .context("Schemes")?
            .into_inner()
            .schemes;
        println!("Schemes           = {}", schemes.join(", "));
    }
    print_schema("Plugin config", &config_schema.json_schema, verbose);
    Ok(if config_errors.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn describe_caps(c: &v1::DriverCapabilities) -> String {
    let mut on: Vec<&str> = Vec::new();
    for (flag, name) in [
        (c.send_signals, "send_signals"),
        (c.exec, "exec"),
        (c.recover, "recover"),
        (c.mounts, "mounts"),
        (c.disable_log_collection, "disable_log_collection"),
    ] {
        if flag {
            on.push(name);
        }
    }
    let fs = match c.fs_isolation() {
        v1::FsIsolation::None => "none",
        v1::FsIsolation::Chroot => "chroot",
        v1::FsIsolation::Image => "image",
    };
    format!(
        "{}; fs_isolation={fs}",
        if on.is_empty() {
            "none".to_string()
        } else {
            on.join(", ")
        }
    )
}

fn health(h: v1::Health) -> &'static str {
    match h {
        v1::Health::Undetected => "undetected",
        v1::Health::Unhealthy => "unhealthy",
        v1::Health::Healthy => "healthy",
    }
}

/// Print the top-level keys of a JSON Schema, or the whole schema.
fn print_schema(title: &str, schema: &str, verbose: bool) {
    if schema.is_empty() {
        println!("{title:<17} = (takes no configuration)");
        return;
    }
    if verbose {
        println!("{title} schema:\n{schema}");
        return;
    }
    let parsed: serde_json::Value = serde_json::from_str(schema).unwrap_or_default();
    let required: Vec<&str> = parsed["required"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let keys: Vec<String> = parsed["properties"]
        .as_object()
        .map(|p| {
            p.keys()
                .map(|k| {
                    if required.contains(&k.as_str()) {
                        format!("{k}*")
                    } else {
                        k.clone()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{title:<17} = {} (* required; --verbose for the schema)",
        keys.join(", ")
    );
}
