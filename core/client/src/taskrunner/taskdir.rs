//! Prestart hook: the task directory (`<alloc>/<task>/{local,secrets,private,tmp}`).

use crate::allocdir::{AllocDir, TaskDir};

/// Builds (idempotently) the task's directory.
pub(super) fn build(alloc_dir: &AllocDir, task: &str) -> Result<TaskDir, String> {
    alloc_dir
        .build_task(task)
        .map_err(|e| format!("failed to build task directory for {task:?}: {e}"))
}
