//! Cases about one task's life: start, wait, stop, destroy, inspect, stats,
//! events, signal and exec.

use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_stream::StreamExt;

use super::ctx::Ctx;
use super::recipe::Behaviour;
use super::{CaseResult, Outcome};
use crate::proto::v1;

const SIGKILL: i32 = libc::SIGKILL;
const SIGTERM: i32 = libc::SIGTERM;

/// `Err(Outcome)` of [`Ctx::recipe`] is a skip, not a failure.
macro_rules! need_recipe {
    ($ctx:expr) => {
        match $ctx.recipe() {
            Ok(r) => r,
            Err(skip) => return Ok(skip),
        }
    };
}

pub(crate) fn task_id(resp: &v1::StartTaskResponse) -> String {
    resp.handle
        .as_ref()
        .and_then(|h| h.config.as_ref())
        .map(|c| c.id.clone())
        .unwrap_or_default()
}

async fn exits_with(ctx: &Ctx, code: i32) -> CaseResult {
    need_recipe!(ctx);
    let resp = ctx
        .start_task(&Behaviour::exits(code, Duration::from_millis(50)))
        .await?;
    let exit = ctx
        .wait_task(&task_id(&resp), Duration::from_secs(10))
        .await?;
    if exit.exit_code != code || exit.signal != 0 {
        return Err(format!("expected exit code {code}, got {exit:?}"));
    }
    Ok(Outcome::Passed)
}

pub(crate) fn exit_zero(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    exits_with(ctx, 0).boxed()
}

pub(crate) fn exit_nonzero(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    exits_with(ctx, 3).boxed()
}

async fn stop_task(ctx: &Ctx, id: &str, signal: &str, timeout: Duration) -> Result<(), String> {
    ctx.driver()
        .stop_task(v1::StopTaskRequest {
            task_id: id.to_string(),
            timeout: crate::proto::prost_types::Duration::try_from(timeout).ok(),
            signal: signal.to_string(),
        })
        .await
        .map_err(|e| format!("StopTask failed: {:?}: {}", e.code(), e.message()))?;
    Ok(())
}

pub(crate) fn stop_graceful(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        need_recipe!(ctx);
        let resp = ctx.start_task(&Behaviour::forever()).await?;
        let id = task_id(&resp);
        let t = Instant::now();
        stop_task(ctx, &id, "SIGTERM", Duration::from_secs(10)).await?;
        let exit = ctx.wait_task(&id, Duration::from_secs(5)).await?;
        if t.elapsed() >= Duration::from_secs(10) || exit.signal == SIGKILL {
            return Err(format!(
                "the task was killed, not stopped by SIGTERM: {exit:?}"
            ));
        }
        if exit.signal != SIGTERM && exit.exit_code != 128 + SIGTERM {
            return Err(format!("expected the task to end by SIGTERM, got {exit:?}"));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn stop_escalation(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        need_recipe!(ctx);
        let b = Behaviour {
            ignore_term: true,
            stdout: Some("ready".into()),
            ..Behaviour::forever()
        };
        let resp = ctx.start_task(&b).await?;
        let id = task_id(&resp);
        // The trap must be set before the signal comes: wait for the marker.
        wait_for_stdout(&resp, "ready", Duration::from_secs(5)).await?;
        let timeout = Duration::from_millis(500);
        let t = Instant::now();
        stop_task(ctx, &id, "SIGTERM", timeout).await?;
        let exit = ctx.wait_task(&id, Duration::from_secs(5)).await?;
        let took = t.elapsed();
        if exit.signal != SIGKILL {
            return Err(format!(
                "expected SIGKILL after the {timeout:?} timeout, got {exit:?}"
            ));
        }
        if took < timeout {
            return Err(format!(
                "killed after {took:?}, before the {timeout:?} timeout"
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

/// Poll the task's stdout file until it contains `needle`.
pub(crate) async fn wait_for_stdout(
    resp: &v1::StartTaskResponse,
    needle: &str,
    within: Duration,
) -> Result<String, String> {
    let path = resp
        .handle
        .as_ref()
        .and_then(|h| h.config.as_ref())
        .map(|c| c.stdout_path.clone())
        .unwrap_or_default();
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains(needle) {
            return Ok(text);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{needle:?} did not appear in the task's stdout ({path}) within {within:?}; it holds {text:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn destroy_running(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        need_recipe!(ctx);
        let resp = ctx.start_task(&Behaviour::forever()).await?;
        let id = task_id(&resp);
        let not_forced = ctx
            .driver()
            .destroy_task(v1::DestroyTaskRequest {
                task_id: id.clone(),
                force: false,
            })
            .await;
        if not_forced.is_ok() {
            return Err("DestroyTask without force succeeded on a running task".into());
        }
        ctx.driver()
            .destroy_task(v1::DestroyTaskRequest {
                task_id: id.clone(),
                force: true,
            })
            .await
            .map_err(|e| format!("DestroyTask(force) failed: {}", e.message()))?;
        match ctx
            .driver()
            .inspect_task(v1::InspectTaskRequest { task_id: id })
            .await
        {
            Err(s) if s.code() == tonic::Code::NotFound => Ok(Outcome::Passed),
            Err(s) => Err(format!(
                "InspectTask after DestroyTask answered {:?}, expected NotFound",
                s.code()
            )),
            Ok(_) => Err("the task is still known after DestroyTask".into()),
        }
    }
    .boxed()
}

pub(crate) fn inspect(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        need_recipe!(ctx);
        let resp = ctx
            .start_task(&Behaviour::exits(4, Duration::from_millis(300)))
            .await?;
        let id = task_id(&resp);
        let running = ctx.state(&id).await?;
        if running.id != id
            || running.state() != v1::TaskState::Running
            || running.started_at.is_none()
        {
            return Err(format!(
                "while running: expected id {id:?}, RUNNING and started_at, got {running:?}"
            ));
        }
        ctx.wait_task(&id, Duration::from_secs(10)).await?;
        let exited = ctx.state(&id).await?;
        let code = exited.result.as_ref().map(|r| r.exit_code);
        if exited.state() != v1::TaskState::Exited
            || exited.completed_at.is_none()
            || code != Some(4)
        {
            return Err(format!(
                "after exit: expected EXITED, completed_at and exit code 4, got {exited:?}"
            ));
        }
        match ctx
            .driver()
            .inspect_task(v1::InspectTaskRequest {
                task_id: "conformance/unknown/0".into(),
            })
            .await
        {
            Err(s) if s.code() == tonic::Code::NotFound => Ok(Outcome::Passed),
            other => Err(format!(
                "InspectTask of an unknown task: expected NotFound, got {other:?}"
            )),
        }
    }
    .boxed()
}

pub(crate) fn stats(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        need_recipe!(ctx);
        let b = Behaviour {
            stdout: Some("ready".into()),
            ..Behaviour::forever()
        };
        let resp = ctx.start_task(&b).await?;
        let id = task_id(&resp);
        // Sample a task that is surely past its start.
        wait_for_stdout(&resp, "ready", Duration::from_secs(5)).await?;
        let call = ctx
            .driver()
            .task_stats(v1::TaskStatsRequest {
                task_id: id.clone(),
                collection_interval: crate::proto::prost_types::Duration::try_from(
                    Duration::from_millis(50),
                )
                .ok(),
            })
            .await;
        let mut stream = match call {
            Err(s) if s.code() == tonic::Code::Unimplemented => {
                return Ok(Outcome::Skipped("TaskStats is not implemented".into()));
            }
            Err(s) => return Err(format!("TaskStats failed: {}", s.message())),
            Ok(r) => r.into_inner(),
        };
        // Most samples must show memory. One sample with RSS 0 was seen once
        // in CI under load, cause not yet found (raw_exec reads /proc for the
        // task's session); a driver that never reports memory still fails.
        let mut with_memory = 0;
        for n in 0..3 {
            let msg = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .map_err(|_| format!("stats sample {n} did not come within 5 s"))?
                .ok_or("the stats stream ended")?;
            let msg = match msg {
                Err(s) if s.code() == tonic::Code::Unimplemented => {
                    return Ok(Outcome::Skipped("TaskStats is not implemented".into()));
                }
                other => other.map_err(|e| format!("the stats stream failed: {}", e.message()))?,
            };
            let stats = msg.stats.ok_or("a stats message without stats")?;
            if stats.task_id != id {
                return Err(format!("stats for {:?}, expected {id:?}", stats.task_id));
            }
            let rss = stats.agg.and_then(|a| a.memory).map(|m| m.rss).unwrap_or(0);
            if rss > 0 {
                with_memory += 1;
            }
        }
        if with_memory < 2 {
            return Err(format!(
                "a running task reported RSS 0 in {} of 3 samples",
                3 - with_memory
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn events(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        let call = ctx.driver().task_events(v1::TaskEventsRequest {}).await;
        let mut stream = match call {
            Err(s) if s.code() == tonic::Code::Unimplemented => {
                return Ok(Outcome::Skipped("TaskEvents is not implemented".into()));
            }
            Err(s) => return Err(format!("TaskEvents failed: {}", s.message())),
            Ok(r) => r.into_inner(),
        };
        // Drive a task through its life; whatever events come must be about it.
        if ctx.recipe().is_ok() {
            let resp = ctx.start_task(&Behaviour::forever()).await?;
            let id = task_id(&resp);
            if ctx.caps.send_signals {
                let _ = ctx
                    .driver()
                    .signal_task(v1::SignalTaskRequest {
                        task_id: id.clone(),
                        signal: "SIGUSR1".into(),
                    })
                    .await;
            }
            stop_task(ctx, &id, "SIGKILL", Duration::from_secs(1)).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, stream.next()).await {
                let ev = ev.map_err(|e| format!("the events stream failed: {}", e.message()))?;
                if ev.task_id != id {
                    return Err(format!(
                        "an event names task {:?}, which this run never started",
                        ev.task_id
                    ));
                }
                if ev.message.is_empty() {
                    return Err("an event without a message".into());
                }
            }
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn signal(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if !ctx.caps.send_signals {
            return Ok(Outcome::Skipped(
                "the driver does not declare send_signals".into(),
            ));
        }
        let recipe = need_recipe!(ctx);
        let observable = recipe.supports_exit_on_usr1();
        let b = Behaviour {
            exit_on_usr1: observable,
            stdout: Some("ready".into()),
            ..Behaviour::forever()
        };
        let resp = ctx.start_task(&b).await?;
        let id = task_id(&resp);
        wait_for_stdout(&resp, "ready", Duration::from_secs(5)).await?;
        let bad = ctx
            .driver()
            .signal_task(v1::SignalTaskRequest {
                task_id: id.clone(),
                signal: "SIGNOPE".into(),
            })
            .await;
        if !matches!(&bad, Err(s) if s.code() == tonic::Code::InvalidArgument) {
            return Err(format!(
                "an unknown signal name must answer InvalidArgument, got {bad:?}"
            ));
        }
        let unknown = ctx
            .driver()
            .signal_task(v1::SignalTaskRequest {
                task_id: "conformance/unknown/0".into(),
                signal: "SIGUSR1".into(),
            })
            .await;
        if !matches!(&unknown, Err(s) if s.code() == tonic::Code::NotFound) {
            return Err(format!(
                "signalling an unknown task must answer NotFound, got {unknown:?}"
            ));
        }
        ctx.driver()
            .signal_task(v1::SignalTaskRequest {
                task_id: id.clone(),
                signal: "SIGUSR1".into(),
            })
            .await
            .map_err(|e| format!("SignalTask failed: {}", e.message()))?;
        if observable {
            let exit = ctx.wait_task(&id, Duration::from_secs(5)).await?;
            wait_for_stdout(&resp, "got-usr1", Duration::from_secs(2)).await?;
            if exit.exit_code != 0 || exit.signal != 0 {
                return Err(format!("the task's USR1 trap should exit 0, got {exit:?}"));
            }
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}

pub(crate) fn exec(ctx: &Ctx) -> BoxFuture<'_, CaseResult> {
    async move {
        if !ctx.caps.exec {
            return Ok(Outcome::Skipped("the driver does not declare exec".into()));
        }
        let recipe = need_recipe!(ctx);
        let reply = ("conformance-exec".to_string(), 7);
        let b = Behaviour {
            exec_reply: Some(reply.clone()),
            ..Behaviour::forever()
        };
        let resp = ctx.start_task(&b).await?;
        let out = ctx
            .driver()
            .exec_task(v1::ExecTaskRequest {
                task_id: task_id(&resp),
                command: recipe.exec_command(&reply),
                timeout: crate::proto::prost_types::Duration::try_from(Duration::from_secs(5)).ok(),
            })
            .await
            .map_err(|e| format!("ExecTask failed: {}", e.message()))?
            .into_inner();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let code = out.result.map(|r| r.exit_code);
        if !stdout.contains(&reply.0) || code != Some(reply.1) {
            return Err(format!(
                "expected stdout {:?} and exit code {}, got {stdout:?} and {code:?}",
                reply.0, reply.1
            ));
        }
        Ok(Outcome::Passed)
    }
    .boxed()
}
