//! The executor: a small long-lived process that owns one task's process.
//!
//! TO BE IMPLEMENTED.

/// If this process was started as an executor, run it and exit; otherwise
/// return at once. [`crate::serve`] calls it first thing.
pub fn run_if_executor() {}
