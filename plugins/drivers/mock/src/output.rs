//! The fake task's stdout and stderr: the scripted string, written to the
//! files the host gave in `stdout_path`/`stderr_path`, at scripted times.
//!
//! Files are opened in append mode (the host may hand the same file to a
//! restarted task). A recovered task resumes the schedule: writes due before
//! the recovery already happened in the previous plugin process and are
//! skipped.

use std::time::SystemTime;

use tokio::io::AsyncWriteExt;
use tokio::time::sleep_until;

use crate::config::OutputScript;
use crate::state::Clock;

/// Where and when one stream is written.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// `stdout` or `stderr`, for error messages.
    pub stream: &'static str,
    pub path: String,
    pub script: OutputScript,
}

impl OutputPlan {
    /// A plan when both a path and a script exist.
    pub fn new(stream: &'static str, path: &str, script: Option<OutputScript>) -> Option<Self> {
        match script {
            Some(script) if !path.is_empty() => Some(Self {
                stream,
                path: path.to_string(),
                script,
            }),
            _ => None,
        }
    }

    /// Write the script, each write at `started_at + offset`, skipping writes
    /// due at or before `resume_from`. Returns the first I/O error.
    pub async fn run(
        self,
        clock: Clock,
        started_at: SystemTime,
        resume_from: Option<SystemTime>,
    ) -> Result<(), String> {
        let mut file = None;
        for offset in self.script.offsets() {
            let due = started_at + offset;
            if resume_from.is_some_and(|r| due <= r) {
                continue;
            }
            sleep_until(clock.instant_of(due)).await;
            let f = match &mut file {
                Some(f) => f,
                None => file.insert(self.open().await?),
            };
            f.write_all(self.script.text.as_bytes())
                .await
                .map_err(|e| self.error("write", &e))?;
            f.flush().await.map_err(|e| self.error("write", &e))?;
        }
        Ok(())
    }

    async fn open(&self) -> Result<tokio::fs::File, String> {
        tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| self.error("open", &e))
    }

    fn error(&self, what: &str, e: &std::io::Error) -> String {
        format!("cannot {what} {} file {}: {e}", self.stream, self.path)
    }
}

/// Run both plans (either may be absent) until both finish or one fails.
pub async fn run_all(
    plans: [Option<OutputPlan>; 2],
    clock: Clock,
    started_at: SystemTime,
    resume_from: Option<SystemTime>,
) -> Result<(), String> {
    let [a, b] = plans.map(|p| async move {
        match p {
            Some(p) => p.run(clock, started_at, resume_from).await,
            None => Ok(()),
        }
    });
    futures::future::try_join(a, b).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn plan(path: &std::path::Path, repeat: u32) -> OutputPlan {
        let script = OutputScript {
            text: "tick\n".into(),
            repeat,
            every: Duration::from_secs(1),
        };
        OutputPlan::new("stdout", &path.to_string_lossy(), Some(script)).expect("plan")
    }

    #[tokio::test(start_paused = true)]
    async fn writes_on_schedule_and_appends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        std::fs::write(&path, "old\n").expect("seed");
        let clock = Clock::now();
        let start = tokio::time::Instant::now();
        plan(&path, 2)
            .run(clock, clock.wall_of(start), None)
            .await
            .expect("writes");
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "old\ntick\ntick\ntick\n");
    }

    #[tokio::test(start_paused = true)]
    async fn resume_skips_writes_already_done() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out");
        let clock = Clock::now();
        let started = clock.wall_of(tokio::time::Instant::now()) - Duration::from_millis(1500);
        let resume = clock.wall_of(tokio::time::Instant::now());
        plan(&path, 3)
            .run(clock, started, Some(resume))
            .await
            .expect("writes");
        // Due at 0 s and 1 s (done before), 2 s and 3 s (written now).
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "tick\ntick\n"
        );
    }

    #[tokio::test]
    async fn open_errors_name_stream_and_path() {
        let clock = Clock::now();
        let p = plan(std::path::Path::new("/nonexistent-dir/out"), 0);
        let e = p
            .run(clock, SystemTime::now(), None)
            .await
            .expect_err("fails");
        assert!(
            e.starts_with("cannot open stdout file /nonexistent-dir/out:"),
            "{e}"
        );
        assert!(OutputPlan::new("stdout", "", None).is_none());
    }
}
