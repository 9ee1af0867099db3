//! Integration tests of drover-server's Raft: single server on sled, restart
//! recovery, group commit, a 3-server cluster over real gRPC, a simulated
//! network with drops and partitions, and kill -9 durability; then the whole
//! server: scheduling, blocked evals, node loss, drain, restart, and the
//! reliability test (SIGKILL during a burst of job registrations); the cluster RPC
//! listener and the blocking `client_allocs` query.

#[path = "server/client_allocs.rs"]
mod client_allocs;
#[path = "server/common.rs"]
mod common;
#[path = "server/grpc_cluster.rs"]
mod grpc_cluster;
#[path = "server/kill9.rs"]
mod kill9;
#[path = "server/reliability.rs"]
mod reliability;
#[path = "server/rpc.rs"]
mod rpc;
#[path = "server/scheduling.rs"]
mod scheduling;
#[path = "server/sim.rs"]
mod sim;
#[path = "server/single.rs"]
mod single;
