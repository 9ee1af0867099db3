//! The cluster RPC's server side: the `drover.cluster.v1.ClientRpc` gRPC service that
//! clients (node agents) call on the servers' RPC port (4647), mapped onto the
//! endpoints `node_register`, `node_update_status`, `client_allocs` and
//! `alloc_client_update`. Nodes and allocations travel as JSON bytes; errors become
//! gRPC codes in one place (`status.rs`).

mod service;
mod status;

use drover_proto::cluster_v1::client_rpc_server::ClientRpcServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

pub use service::ClientRpcService;
pub use status::to_status;

use crate::server::Server;

/// The largest request or answer (a node's allocations with their jobs): 64 MiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

impl ClientRpcService {
    /// The tonic service, ready for `tonic::transport::Server::builder().add_service(..)`.
    pub fn into_server(self) -> ClientRpcServer<Self> {
        ClientRpcServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// Serves the cluster RPC for `server` on `listener` until `shutdown`; in-flight
/// calls finish first (blocking `GetAllocs` calls end at once with `Unavailable`).
pub async fn serve(
    listener: TcpListener,
    server: Server,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(ClientRpcService::new(server).into_server())
        .serve_with_incoming_shutdown(
            // Small request/response frames: without TCP_NODELAY each answer can wait
            // 40 ms for a delayed ACK (Nagle).
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown.cancelled_owned(),
        )
        .await
}
