//! Integration tests of the client's leaf modules that cross real files and FIFOs:
//! allocation directories and the log collector with real writer processes.

#[path = "client/allocdir.rs"]
mod allocdir;
#[path = "client/logmon.rs"]
mod logmon;
