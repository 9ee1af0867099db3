//! raft-rs logs through `slog`; this drain forwards its records to `tracing`.
//!
//! raft-rs is chatty at INFO (every election step, every conf change), so its
//! INFO becomes DEBUG here; the node logs leadership changes itself at INFO.
//! Events carry target `raft` and raft's key-values as one `kv` field.

use std::fmt::Write as _;

use slog::{Drain, KV, Level, OwnedKVList, Record, Serializer};

/// A slog drain that emits every record as a `tracing` event.
struct TracingDrain;

struct KvText(String);

impl Serializer for KvText {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = write!(self.0, "{key}={val}");
        Ok(())
    }
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut kv = KvText(String::new());
        let _ = record.kv().serialize(record, &mut kv);
        let _ = values.serialize(record, &mut kv);
        let msg = record.msg();
        let kv = kv.0;
        match record.level() {
            Level::Critical | Level::Error => tracing::error!(target: "raft", %kv, "{msg}"),
            Level::Warning => tracing::warn!(target: "raft", %kv, "{msg}"),
            Level::Info => tracing::debug!(target: "raft", %kv, "{msg}"),
            Level::Debug | Level::Trace => tracing::trace!(target: "raft", %kv, "{msg}"),
        }
        Ok(())
    }
}

/// A slog logger for raft-rs that forwards to `tracing`, tagged with `raft_id`.
pub fn raft_logger(raft_id: u64) -> slog::Logger {
    slog::Logger::root(TracingDrain.fuse(), slog::o!("raft_id" => raft_id))
}
