//! Cases about robustness: bad task config, many tasks at once, and recovery
//! of a running task after the plugin is killed.

use std::time::Duration;

use drover_pluginmgr::PluginEvent;
use futures::FutureExt;
use futures::future::{BoxFuture, join_all};

use super::cases_task::wait_for_stdout;
use super::ctx::Ctx;
use super::recipe::Behaviour;
use super::{CaseResult, Outcome};
use crate::proto::v1;

pub(crate) fn bad_task_config(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        const FIELD: &str = "conformance_no_such_option";
        let mut config = ctx
            .recipe()
            .map(|r| r.task_config(&Behaviour::forever()))
            .unwrap_or_else(|_| serde_json::json!({}));
        if let Some(obj) = config.as_object_mut() {
            obj.insert(FIELD.into(), serde_json::json!(true));
        }
        let cases = [
            (config.to_string(), Some(FIELD)),
            ("{not json".to_string(), None),
            ("[1, 2]".to_string(), None),
        ];
        for (config_json, field) in cases {
            let task = ctx.task(&serde_json::json!({}))?;
            let task = v1::TaskConfig {
                config_json: config_json.clone(),
                ..task
            };
            ctx.track(&task.id);
            match ctx
                .driver()
                .start_task(v1::StartTaskRequest { task: Some(task) })
                .await
            {
                Err(s) if s.code() == tonic::Code::InvalidArgument => {
                    if let Some(f) = field
                        && !s.message().contains(f)
                    {
                        return Err(format!(
                            "the error does not name the unknown field {f:?}: {:?}",
                            s.message()
                        ));
                    }
                }
                Err(s) => {
                    return Err(format!(
                        "config {config_json}: expected InvalidArgument, got {:?}: {}",
                        s.code(),
                        s.message()
                    ));
                }
                Ok(r) => {
                    return Err(format!(
                        "config {config_json} was accepted: {:?}",
                        r.into_inner().result()
                    ));
                }
            }
        }
        ctx.plugin
            .current()
            .check_health()
            .await
            .map_err(|e| format!("the plugin stopped serving: {e}"))?;
        if ctx.recipe().is_ok() {
            let resp = ctx.start_task(&Behaviour::exits(0, Duration::ZERO)).await?;
            let id = resp
                .handle
                .and_then(|h| h.config)
                .map(|c| c.id)
                .unwrap_or_default();
            ctx.wait_task(&id, Duration::from_secs(10)).await?;
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn concurrent(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if let Err(skip) = ctx.recipe() {
            return Ok(skip);
        }
        let runs = (0..50).map(|i| async move {
            let code = i % 4;
            let resp = ctx
                .start_task(&Behaviour::exits(code, Duration::from_millis(200)))
                .await?;
            let id = resp
                .handle
                .and_then(|h| h.config)
                .map(|c| c.id)
                .unwrap_or_default();
            let exit = ctx.wait_task(&id, Duration::from_secs(20)).await?;
            if exit.exit_code != code {
                return Err(format!("task {i}: expected exit code {code}, got {exit:?}"));
            }
            Ok(())
        });
        let failures: Vec<String> = join_all(runs)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        match failures.first() {
            None => Ok(Outcome::Passed),
            Some(first) => Err(format!(
                "{} of 50 tasks failed; first: {first}",
                failures.len()
            )),
        }
    }
    .boxed()
}

pub(crate) fn recover(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if !ctx.caps.recover {
            return Ok(Outcome::Skipped(
                "the driver does not declare recover".into(),
            ));
        }
        let recipe = match ctx.recipe() {
            Ok(r) => r,
            Err(skip) => return Ok(skip),
        };
        // Where the recipe allows, the task runs until the case creates a
        // file, so it is surely still running after the relaunch however
        // slow the machine; otherwise it runs 3 s.
        let trigger = ctx
            .scratch()
            .join(format!("recover-exit-{}", std::process::id()));
        let b = Behaviour {
            stdout: Some("started-once".into()),
            exit_when_file: recipe
                .supports_exit_when_file()
                .then(|| trigger.display().to_string()),
            ..Behaviour::exits(5, Duration::from_secs(3))
        };
        let task = ctx.task(&recipe.task_config(&b))?;
        let id = task.id.clone();
        ctx.track(&id);
        // Through the managed driver, which remembers the handle to recover it.
        let resp = ctx
            .plugin
            .driver()
            .start_task(task)
            .await
            .map_err(|e| format!("StartTask failed: {e}"))?;
        if resp.result() != v1::StartResult::Success {
            return Err(format!(
                "StartTask answered {:?}: {}",
                resp.result(),
                resp.driver_error_msg
            ));
        }
        wait_for_stdout(&resp, "started-once", Duration::from_secs(5)).await?;

        let mut events = ctx.plugin.subscribe();
        let generation = ctx.plugin.generation();
        ctx.plugin.current().kill();
        ctx.plugin
            .wait_for_generation(generation + 1, Duration::from_secs(20))
            .await
            .map_err(|e| format!("the plugin was not relaunched after SIGKILL: {e}"))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) => return Err("no Relaunched event within 10 s".into()),
                Ok(Err(e)) => return Err(format!("plugin events: {e}")),
                Ok(Ok(PluginEvent::Relaunched {
                    recovered, failed, ..
                })) => {
                    if let Some((_, why)) = failed.iter().find(|(t, _)| *t == id) {
                        return Err(format!("RecoverTask failed: {why}"));
                    }
                    if !recovered.contains(&id) {
                        return Err(format!(
                            "the task was not among the recovered ones: {recovered:?}"
                        ));
                    }
                    break;
                }
                Ok(Ok(_)) => {}
            }
        }
        let state = ctx.state(&id).await?;
        if state.state() != v1::TaskState::Running {
            return Err(format!(
                "after recovery the task is {:?}, expected RUNNING",
                state.state()
            ));
        }
        if b.exit_when_file.is_some() {
            std::fs::write(&trigger, b"")
                .map_err(|e| format!("cannot create {}: {e}", trigger.display()))?;
        }
        let exit = ctx.wait_task(&id, Duration::from_secs(10)).await?;
        if exit.exit_code != 5 {
            return Err(format!(
                "after recovery expected the task's own exit code 5, got {exit:?}"
            ));
        }
        let stdout = wait_for_stdout(&resp, "started-once", Duration::from_secs(1)).await?;
        if stdout.matches("started-once").count() != 1 {
            return Err("the task was started again instead of recovered".into());
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}
