//! Integration tests of the client's leaf modules that cross real files and FIFOs:
//! allocation directories and the log collector with real writer processes; the
//! cluster RPC client against a real server.

#[path = "client/allocdir.rs"]
mod allocdir;
mod grpc;
#[path = "client/logmon.rs"]
mod logmon;
