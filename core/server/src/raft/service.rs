//! The receiving side of the raft transport: a gRPC service on the server
//! port (4648) that decodes each message and hands it to the local node.
//!
//! raft-rs's protobuf codec (protobuf 2.28, RUSTSEC-2024-0437) decodes these
//! bytes; this service belongs on the server port only, which only cluster
//! peers reach.

use ::raft::prelude::Message;
use protobuf::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::RaftHandle;
use super::proto::raft_transport_server::{RaftTransport, RaftTransportServer};
use super::proto::{RaftAck, RaftBatch};
use super::transport::MAX_MESSAGE_BYTES;

/// Delivers incoming raft messages to one node.
pub struct RaftService {
    handle: RaftHandle,
}

impl RaftService {
    /// A service feeding `handle`'s node.
    pub fn new(handle: RaftHandle) -> Self {
        Self { handle }
    }

    /// The tonic server, ready for `Server::builder().add_service(..)`.
    pub fn into_server(self) -> RaftTransportServer<Self> {
        RaftTransportServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

#[tonic::async_trait]
impl RaftTransport for RaftService {
    async fn send(&self, request: Request<RaftBatch>) -> Result<Response<RaftAck>, Status> {
        let batch = request.into_inner();
        for (i, bytes) in batch.messages.iter().enumerate() {
            let msg = Message::parse_from_bytes(bytes).map_err(|e| {
                Status::invalid_argument(format!("raft message {i} from {}: {e}", batch.from))
            })?;
            self.handle
                .step(msg)
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
        }
        Ok(Response::new(RaftAck {}))
    }
}

/// Serves only the raft transport on `listener` until `shutdown` (tests,
/// examples; the agent adds [`RaftService`] to its own server-port router).
pub async fn serve(
    listener: TcpListener,
    handle: RaftHandle,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(RaftService::new(handle).into_server())
        .serve_with_incoming_shutdown(
            // Small request/response frames: without TCP_NODELAY each answer can wait
            // 40 ms for a delayed ACK (Nagle).
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown.cancelled_owned(),
        )
        .await
}
