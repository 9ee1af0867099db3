//! The server: Raft (raft-rs) with log and snapshots on sled, and later the eval broker, workers, plan applier and cluster RPC.
