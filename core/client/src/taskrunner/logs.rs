//! Prestart hook: the task's log collector, a process of its own
//! ([`crate::logmon::process`]) so output keeps flowing while the agent restarts. Its
//! pid is kept in the task's local state; it is stopped when the task is dead for good.

use std::time::Duration;

use crate::logmon::LogMonConfig;
use crate::logmon::process;

use super::TaskRunner;

/// How long a stopping log collector may take to drain.
const LOGMON_STOP_GRACE: Duration = Duration::from_secs(5);

impl TaskRunner {
    /// Starts the log collector unless the stored one still runs. The new pid is in
    /// `self.local`; the caller persists it (on the start path, together with the
    /// provisional handle: one flush instead of two).
    pub(super) async fn ensure_logmon(&mut self) -> Result<(), String> {
        if self.local.logmon_pid.is_some_and(process::alive) {
            return Ok(());
        }
        let logs = self.task.log_config.clone().unwrap_or_default();
        let cfg = LogMonConfig::for_task(&self.alloc_dir, &self.task.name, &logs)
            .map_err(|e| e.to_string())?;
        crate::logmon::LogMon::new(cfg.clone())
            .create_fifos()
            .map_err(|e| e.to_string())?;
        let pid = process::spawn(&self.env.logmon, &cfg).await?;
        self.local.logmon_pid = Some(pid);
        Ok(())
    }

    /// Stops the log collector once the task is dead for good.
    pub(super) async fn finish_logmon(&mut self) {
        if let Some(pid) = self.local.logmon_pid.take() {
            process::stop(pid, LOGMON_STOP_GRACE).await;
            self.persist().await;
        }
    }
}
