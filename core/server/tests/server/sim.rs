//! A simulated network (raft-rs `harness/src/network.rs` style): in-memory
//! delivery that can drop messages and partition servers, with paused time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_server::raft::{Message, RaftConfig, RaftError, RaftHandle, RaftStorage, Transport};

use crate::common::{TestNode, agreed_leader, eventually, fast};

const T: Duration = Duration::from_secs(30);

#[derive(Default)]
struct NetState {
    nodes: HashMap<u64, RaftHandle>,
    cut: HashSet<(u64, u64)>,
    /// Drop probability in percent, drawn from a seeded xorshift (periodic
    /// drops could starve one message kind forever).
    drop_percent: u64,
    rng: u64,
    dropped: u64,
}

#[derive(Clone, Default)]
struct SimNetwork(Arc<Mutex<NetState>>);

impl SimNetwork {
    fn state(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.0.lock().expect("net lock")
    }

    /// No message crosses between `a` and `b`'s members.
    fn partition(&self, a: &[u64], b: &[u64]) {
        let mut s = self.state();
        for x in a {
            for y in b {
                s.cut.insert((*x, *y));
                s.cut.insert((*y, *x));
            }
        }
    }

    fn heal(&self) {
        self.state().cut.clear();
    }

    /// Drops about `percent`% of messages, reproducibly.
    fn drop_percent(&self, percent: u64) {
        let mut s = self.state();
        s.drop_percent = percent;
        s.rng = 0x9E37_79B9_7F4A_7C15;
    }
}

struct SimTransport {
    from: u64,
    net: SimNetwork,
}

impl Transport for SimTransport {
    fn send(&mut self, msgs: Vec<Message>) {
        let mut s = self.net.state();
        for m in msgs {
            s.rng ^= s.rng << 13;
            s.rng ^= s.rng >> 7;
            s.rng ^= s.rng << 17;
            let drop = s.rng % 100 < s.drop_percent;
            if drop || s.cut.contains(&(self.from, m.to)) {
                s.dropped += 1;
                continue;
            }
            if let Some(h) = s.nodes.get(&m.to) {
                h.try_step(m);
            }
        }
    }
    fn update_peers(&mut self, _: &BTreeMap<u64, String>) {}
}

fn cluster(net: &SimNetwork, n: u64, snapshot_threshold: u64) -> Vec<TestNode> {
    let book: BTreeMap<u64, String> = (1..=n).map(|id| (id, format!("sim-{id}:4648"))).collect();
    let nodes: Vec<_> = (1..=n)
        .map(|id| {
            let transport = SimTransport {
                from: id,
                net: net.clone(),
            };
            let mut config = fast(RaftConfig::cluster(id, book.clone()));
            config.snapshot_threshold = snapshot_threshold;
            TestNode::start(config, RaftStorage::in_memory(), Box::new(transport))
        })
        .collect();
    for node in &nodes {
        net.state()
            .nodes
            .insert(node.handle.status().id, node.handle.clone());
    }
    nodes
}

fn node(nodes: &[TestNode], id: u64) -> &TestNode {
    &nodes[(id - 1) as usize]
}

#[tokio::test(start_paused = true)]
async fn partitioned_minority_cannot_commit() {
    let net = SimNetwork::default();
    let nodes = cluster(&net, 3, 8192);
    let handles: Vec<_> = nodes.iter().map(|n| &n.handle).collect();
    let old = agreed_leader(&handles, T).await;
    node(&nodes, old)
        .handle
        .propose(b"before=1".to_vec())
        .await
        .expect("commit before partition");

    let others: Vec<u64> = (1..=3).filter(|id| *id != old).collect();
    net.partition(&[old], &others);
    // The old leader still accepts the proposal, but cannot commit it.
    let h = node(&nodes, old).handle.clone();
    let minority = tokio::spawn(async move { h.propose(b"minority=1".to_vec()).await });

    let majority: Vec<_> = others.iter().map(|id| &node(&nodes, *id).handle).collect();
    let new = agreed_leader(&majority, T).await;
    assert_ne!(new, old);
    node(&nodes, new)
        .handle
        .propose(b"majority=1".to_vec())
        .await
        .expect("majority commits");
    // Well past several election timeouts: the minority write is still not acknowledged.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !minority.is_finished(),
        "a minority write must not be acknowledged"
    );
    assert_eq!(node(&nodes, old).kv().get("minority"), None);
    assert!(
        !node(&nodes, old).handle.is_leader(),
        "an isolated leader steps down (check quorum)"
    );

    net.heal();
    let result = tokio::time::timeout(T, minority)
        .await
        .expect("resolved after healing")
        .expect("join");
    assert!(
        matches!(result, Err(RaftError::Dropped)),
        "overwritten proposal: {result:?}"
    );
    eventually("all servers converge", T, || {
        let states: Vec<_> = nodes.iter().map(|n| n.kv().entries).collect();
        let ok = states
            .iter()
            .all(|s| s == &states[0] && s.contains_key("majority"));
        async move { ok }
    })
    .await;
    assert!(nodes.iter().all(|n| n.kv().get("minority").is_none()));
    for n in nodes {
        n.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn replicates_through_dropped_messages_and_snapshots_a_lagging_follower() {
    let net = SimNetwork::default();
    net.drop_percent(20);
    let nodes = cluster(&net, 3, 50);
    let handles: Vec<_> = nodes.iter().map(|n| &n.handle).collect();
    let leader = agreed_leader(&handles, T).await;
    let lagging = (1..=3).find(|id| *id != leader).expect("a follower");
    let rest: Vec<u64> = (1..=3).filter(|id| *id != lagging).collect();
    net.partition(&[lagging], &rest);
    for i in 0..300 {
        let h = &node(&nodes, leader).handle;
        let proposal = h.propose(format!("k{i}=v").into_bytes());
        tokio::time::timeout(T, proposal)
            .await
            .unwrap_or_else(|_| panic!("k{i} not committed within {T:?}: {:?}", h.status()))
            .expect("commit with one follower and drops");
    }
    // The leader compacted its log past what the lagging follower has: it
    // can only catch up by installing a snapshot, through drops.
    assert!(node(&nodes, leader).handle.status().snapshot_index >= 250);
    net.heal();
    eventually("lagging follower catches up", T, || {
        let ok = node(&nodes, lagging).kv().entries.len() == 300;
        async move { ok }
    })
    .await;
    assert!(net.state().dropped > 0, "the network did drop messages");
    assert!(
        node(&nodes, lagging).handle.status().snapshot_index > 0,
        "follower installed a snapshot"
    );
    assert_eq!(
        node(&nodes, lagging).kv().entries,
        node(&nodes, leader).kv().entries
    );
    for n in nodes {
        n.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_server_joins_through_add_voter_and_leaves() {
    let net = SimNetwork::default();
    let mut nodes = cluster(&net, 3, 8192);
    let handles: Vec<_> = nodes.iter().map(|n| &n.handle).collect();
    let leader = agreed_leader(&handles, T).await;
    for i in 0..20 {
        node(&nodes, leader)
            .handle
            .propose(format!("k{i}=v").into_bytes())
            .await
            .expect("propose");
    }
    // Server 4 starts empty: no bootstrap, it waits for a leader to add it.
    let transport = SimTransport {
        from: 4,
        net: net.clone(),
    };
    let config = fast(RaftConfig::cluster(4, BTreeMap::new()));
    let joiner = TestNode::start(config, RaftStorage::in_memory(), Box::new(transport));
    net.state().nodes.insert(4, joiner.handle.clone());
    assert!(joiner.handle.status().voters.is_empty());
    nodes.push(joiner);

    let lead = &node(&nodes, leader).handle;
    lead.add_voter(4, "sim-4:4648").await.expect("add voter 4");
    assert_eq!(lead.status().voters, vec![1, 2, 3, 4]);
    let (last, _) = lead
        .propose(b"after-join=1".to_vec())
        .await
        .expect("propose with 4 voters");
    eventually("server 4 catches up", T, || {
        let s = node(&nodes, 4).handle.status();
        let ok = s.applied >= last && s.voters == vec![1, 2, 3, 4];
        async move { ok }
    })
    .await;
    assert_eq!(
        node(&nodes, 4).kv().entries,
        node(&nodes, leader).kv().entries
    );
    assert_eq!(
        node(&nodes, 4)
            .handle
            .status()
            .peers
            .get(&4)
            .map(String::as_str),
        Some("sim-4:4648")
    );
    // A follower refuses membership changes like any write.
    assert!(matches!(
        node(&nodes, 4).handle.remove_voter(4).await,
        Err(RaftError::NotLeader { .. })
    ));

    lead.remove_voter(4).await.expect("remove voter 4");
    assert_eq!(lead.status().voters, vec![1, 2, 3]);
    assert!(!lead.status().peers.contains_key(&4));
    for n in nodes {
        n.stop().await;
    }
}
