//! Cases about the plugin itself: handshake, identity, schema, config,
//! fingerprint and capabilities.

use std::time::Duration;

use drover_pluginmgr::{LaunchOptions, PluginProcess};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_stream::StreamExt;

use super::ctx::{Ctx, launch_options};
use super::{CaseResult, Outcome};
use crate::proto::v1;

/// Launch with modified options and expect a prompt, clear refusal.
async fn expect_refusal(ctx: &Ctx, opts: LaunchOptions, what: &str) -> CaseResult {
    match PluginProcess::launch(&ctx.cmd, &opts).await {
        Ok(p) => {
            p.kill();
            Err(format!("the plugin served although {what}"))
        }
        Err(e) if e.is_timeout() => Err(format!(
            "the plugin hung instead of exiting when {what}: {e}"
        )),
        Err(_) => Ok(Outcome::Passed),
    }
}

pub(crate) fn missing_cookie(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let opts = LaunchOptions {
            cookie: Some(String::new()),
            ..launch_options(ctx.scratch())
        };
        expect_refusal(ctx, opts, "the magic cookie was missing").await?;
        let opts = LaunchOptions {
            cookie: Some("not-the-cookie".into()),
            ..launch_options(ctx.scratch())
        };
        expect_refusal(ctx, opts, "the magic cookie was wrong").await
    }
    .boxed()
}

pub(crate) fn version_mismatch(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let opts = LaunchOptions {
            protocol_versions: vec![9999],
            ..launch_options(ctx.scratch())
        };
        expect_refusal(ctx, opts, "the host offered only protocol version 9999").await
    }
    .boxed()
}

pub(crate) fn info(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let current = ctx.plugin.current();
        let info = current
            .plugin_client()
            .plugin_info(v1::PluginInfoRequest {})
            .await
            .map_err(|e| format!("PluginInfo failed: {}", e.message()))?
            .into_inner();
        if info.r#type() != v1::PluginType::Driver {
            return Err(format!("type is {:?}, expected Driver", info.r#type()));
        }
        if info.name.is_empty()
            || !info
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "name {:?} must be non-empty [A-Za-z0-9_-]",
                info.name
            ));
        }
        let parts: Vec<&str> = info
            .version
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .collect();
        if parts.len() != 3 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
            return Err(format!(
                "version {:?} is not a semantic version",
                info.version
            ));
        }
        if !info.protocol_versions.contains(&current.protocol_version()) {
            return Err(format!(
                "protocol_versions {:?} do not include the negotiated version {}",
                info.protocol_versions,
                current.protocol_version()
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

fn check_schema(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(other) => Err(format!("{what} is JSON but not an object: {other}")),
        Err(e) => Err(format!("{what} is not JSON: {e}")),
    }
}

pub(crate) fn schema(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let config = ctx
            .plugin
            .current()
            .plugin_client()
            .config_schema(v1::ConfigSchemaRequest {})
            .await
            .map_err(|e| format!("ConfigSchema failed: {}", e.message()))?
            .into_inner()
            .json_schema;
        check_schema("ConfigSchema", &config)?;
        check_schema("TaskConfigSchema", &ctx.task_schema)?;
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn set_config_invalid(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        const FIELD: &str = "conformance_no_such_field";
        let mut bad = ctx.config.clone();
        if let Some(obj) = bad.as_object_mut() {
            obj.insert(FIELD.into(), serde_json::json!(1));
        }
        let mut client = ctx.plugin.current().plugin_client();
        let errors = client
            .set_config(v1::SetConfigRequest {
                config_json: bad.to_string(),
                agent: None,
            })
            .await
            .map_err(|e| {
                format!(
                    "SetConfig failed instead of answering errors: {}",
                    e.message()
                )
            })?
            .into_inner()
            .errors;
        let named = errors
            .iter()
            .any(|e| e.field.contains(FIELD) || e.message.contains(FIELD));
        // Put the good config back whatever happened.
        let restored = client
            .set_config(v1::SetConfigRequest {
                config_json: ctx.config.to_string(),
                agent: None,
            })
            .await
            .map_err(|e| {
                format!(
                    "SetConfig of the valid config failed afterwards: {}",
                    e.message()
                )
            })?
            .into_inner()
            .errors;
        if errors.is_empty() {
            return Err(format!("an unknown field {FIELD:?} was accepted"));
        }
        if !named {
            return Err(format!(
                "no error names the unknown field {FIELD:?}: {errors:?}"
            ));
        }
        if !restored.is_empty() {
            return Err(format!(
                "the valid config was rejected after an invalid one: {restored:?}"
            ));
        }
        let mut client = ctx.plugin.current().plugin_client();
        let garbage = client
            .set_config(v1::SetConfigRequest {
                config_json: "{not json".into(),
                agent: None,
            })
            .await
            .map_err(|e| {
                format!(
                    "SetConfig of malformed JSON failed instead of answering errors: {}",
                    e.message()
                )
            })?
            .into_inner()
            .errors;
        client
            .set_config(v1::SetConfigRequest {
                config_json: ctx.config.to_string(),
                agent: None,
            })
            .await
            .map_err(|e| format!("SetConfig failed: {}", e.message()))?;
        if garbage.is_empty() {
            return Err("malformed JSON was accepted as config".into());
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn fingerprint(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let mut stream = ctx
            .driver()
            .fingerprint(v1::FingerprintRequest {})
            .await
            .map_err(|e| format!("Fingerprint failed: {}", e.message()))?
            .into_inner();
        let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .map_err(|_| "no fingerprint within 5 s".to_string())?
            .ok_or("the fingerprint stream ended without a message")?
            .map_err(|e| format!("the fingerprint stream failed: {}", e.message()))?;
        match first.health() {
            v1::Health::Healthy => Ok(Outcome::Passed),
            h => Err(format!(
                "health is {h:?} with the given config ({:?}); pass the config that enables the driver",
                first.health_description
            )),
        }
    }
    .boxed()
}

pub(crate) fn capabilities(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        // Declared optional calls must not answer UNIMPLEMENTED.
        let c = &ctx.caps;
        let mut driver = ctx.driver();
        let probes: [(bool, &str, Result<(), tonic::Status>); 3] = [
            (
                c.send_signals,
                "send_signals / SignalTask",
                driver
                    .signal_task(v1::SignalTaskRequest {
                        task_id: "conformance/none/0".into(),
                        signal: "SIGUSR1".into(),
                    })
                    .await
                    .map(drop),
            ),
            (
                c.exec,
                "exec / ExecTask",
                driver
                    .exec_task(v1::ExecTaskRequest {
                        task_id: "conformance/none/0".into(),
                        command: vec!["true".into()],
                        timeout: None,
                    })
                    .await
                    .map(drop),
            ),
            (
                c.recover,
                "recover / RecoverTask",
                driver
                    .recover_task(v1::RecoverTaskRequest {
                        task_id: "conformance/none/0".into(),
                        handle: None,
                    })
                    .await
                    .map(drop),
            ),
        ];
        for (declared, what, result) in probes {
            let unimplemented = matches!(&result, Err(s) if s.code() == tonic::Code::Unimplemented);
            if declared && unimplemented {
                return Err(format!(
                    "capability {what} is declared but answers UNIMPLEMENTED"
                ));
            }
            if !declared && !unimplemented {
                return Err(format!(
                    "capability {what} is not declared, so the call must answer UNIMPLEMENTED"
                ));
            }
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}
