//! Sending raft messages to peers.
//!
//! Raft tolerates loss and retries on its own, so a transport never blocks the
//! node: [`Transport::send`] queues and returns. [`GrpcTransport`] keeps one
//! worker per peer that batches queued messages into one `Send` call, and
//! reconnects with exponential backoff; a message for a peer that is down or
//! backed up is dropped.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::raft::prelude::Message;
use protobuf::Message as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::{Channel, Endpoint};

use super::proto::RaftBatch;
use super::proto::raft_transport_client::RaftTransportClient;

/// Where the node's outgoing messages go.
pub trait Transport: Send + 'static {
    /// Queues `msgs` for delivery (each names its recipient in `to`).
    fn send(&mut self, msgs: Vec<Message>);
    /// The address book changed (raft id → server address).
    fn update_peers(&mut self, peers: &BTreeMap<u64, String>);
}

/// Largest gRPC message between servers (a snapshot travels in one).
pub(crate) const MAX_MESSAGE_BYTES: usize = 1 << 30;
const QUEUE: usize = 4096;
const MAX_BATCH: usize = 512;
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

struct Peer {
    addr: String,
    queue: mpsc::Sender<Message>,
}

/// [`Transport`] over gRPC (`drover.raft.v1.RaftTransport/Send`).
pub struct GrpcTransport {
    id: u64,
    addrs: BTreeMap<u64, String>,
    peers: HashMap<u64, Peer>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl GrpcTransport {
    /// A transport for server `id`; its workers stop on `shutdown` or when
    /// the transport is dropped, and are tracked by [`GrpcTransport::tracker`].
    pub fn new(id: u64, shutdown: CancellationToken) -> Self {
        Self {
            id,
            addrs: BTreeMap::new(),
            peers: HashMap::new(),
            tracker: TaskTracker::new(),
            shutdown,
        }
    }

    /// The tracker of the per-peer workers (close and await it on shutdown).
    pub fn tracker(&self) -> TaskTracker {
        self.tracker.clone()
    }

    fn queue_for(&mut self, to: u64) -> Option<&mpsc::Sender<Message>> {
        let addr = self.addrs.get(&to)?;
        let stale = self
            .peers
            .get(&to)
            .is_none_or(|p| &p.addr != addr || p.queue.is_closed());
        if stale {
            let (tx, rx) = mpsc::channel(QUEUE);
            let worker = PeerWorker {
                from: self.id,
                to,
                addr: addr.clone(),
                rx,
            };
            self.tracker.spawn(worker.run(self.shutdown.clone()));
            self.peers.insert(
                to,
                Peer {
                    addr: addr.clone(),
                    queue: tx,
                },
            );
        }
        self.peers.get(&to).map(|p| &p.queue)
    }
}

impl Transport for GrpcTransport {
    fn send(&mut self, msgs: Vec<Message>) {
        for msg in msgs {
            let to = msg.to;
            match self.queue_for(to) {
                Some(q) => {
                    if q.try_send(msg).is_err() {
                        tracing::trace!(to, "raft peer queue full; message dropped");
                    }
                }
                None => tracing::debug!(to, "no address for raft peer; message dropped"),
            }
        }
    }

    fn update_peers(&mut self, peers: &BTreeMap<u64, String>) {
        self.addrs = peers.clone();
        self.addrs.remove(&self.id);
        // Dropping a queue ends its worker; changed addresses get a new one
        // on the next send.
        let addrs = &self.addrs;
        self.peers.retain(|id, p| addrs.get(id) == Some(&p.addr));
    }
}

struct PeerWorker {
    from: u64,
    to: u64,
    addr: String,
    rx: mpsc::Receiver<Message>,
}

impl PeerWorker {
    async fn run(mut self, shutdown: CancellationToken) {
        let mut client = None;
        let mut backoff = BACKOFF_MIN;
        let mut retry_at = Instant::now();
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => return,
                m = self.rx.recv() => match m { Some(m) => m, None => return },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                let Ok(m) = self.rx.try_recv() else { break };
                batch.push(m);
            }
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = self.deliver(&mut client, batch, retry_at) => r,
            };
            match result {
                Ok(()) => backoff = BACKOFF_MIN,
                Err(Some(e)) => {
                    tracing::debug!(from = self.from, to = self.to, addr = %self.addr, error = %e, "raft peer unreachable");
                    client = None;
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(None) => {} // still backing off: dropped
            }
        }
    }

    /// Sends `batch`, connecting first if needed. `Err(None)`: dropped while
    /// backing off; `Err(Some(reason))`: the peer failed.
    async fn deliver(
        &self,
        client: &mut Option<RaftTransportClient<Channel>>,
        batch: Vec<Message>,
        retry_at: Instant,
    ) -> Result<(), Option<String>> {
        if client.is_none() {
            if Instant::now() < retry_at {
                return Err(None);
            }
            *client = Some(self.connect().await.map_err(Some)?);
        }
        let Some(c) = client.as_mut() else {
            return Err(None);
        };
        let messages = batch
            .iter()
            .filter_map(|m| m.write_to_bytes().ok())
            .collect();
        let req = RaftBatch {
            from: self.from,
            messages,
        };
        c.send(req)
            .await
            .map(|_| ())
            .map_err(|s| Some(s.to_string()))
    }

    async fn connect(&self) -> Result<RaftTransportClient<Channel>, String> {
        let endpoint = Endpoint::from_shared(format!("http://{}", self.addr))
            .map_err(|e| format!("bad address {:?}: {e}", self.addr))?
            .connect_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true);
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        Ok(RaftTransportClient::new(channel)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
            .max_decoding_message_size(MAX_MESSAGE_BYTES))
    }
}
