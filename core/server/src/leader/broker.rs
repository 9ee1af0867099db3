//! The eval broker (Nomad's `nomad/eval_broker.go`), leader only, in memory.
//!
//! * Ready queues per scheduler type, ordered by priority, then FIFO.
//! * At most one outstanding eval per (namespace, job): later ones wait in the job's
//!   pending list; when the outstanding one is acked, the newest pending one (by
//!   modify index) becomes ready and the rest are handed out as cancelable.
//! * At-least-once delivery: dequeue gives a token; ack/nack with it; an eval not
//!   acked within `nack_timeout` is nacked; after `delivery_limit` deliveries it is
//!   handed out as failed (the leader marks it failed and creates a follow-up).
//! * Nacked evals come back after 1 s (first nack) or 20 s (later ones); evals with a
//!   future `WaitUntil` sit in a delay queue until then.
//!
//! [`Broker`] is the pure core: every method takes the time as a parameter.
//! [`SharedBroker`] adds the lock and the wake-up for waiting workers.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_types::Evaluation;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Broker settings (Nomad's defaults).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// An unacked eval is nacked after this long (`EvalNackTimeout`, 60 s).
    pub nack_timeout: Duration,
    /// Deliveries before an eval is failed (`EvalDeliveryLimit`, 3).
    pub delivery_limit: u32,
    /// Requeue delay after the first nack (1 s).
    pub initial_nack_delay: Duration,
    /// Requeue delay after later nacks (20 s).
    pub subsequent_nack_delay: Duration,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            nack_timeout: Duration::from_secs(60),
            delivery_limit: 3,
            initial_nack_delay: Duration::from_secs(1),
            subsequent_nack_delay: Duration::from_secs(20),
        }
    }
}

/// Why an ack or nack was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The eval is not outstanding (timed out and redelivered, or unknown).
    #[error("evaluation {0} is not outstanding")]
    NotOutstanding(String),
    /// The token does not match the delivery.
    #[error("evaluation {0}: token does not match")]
    TokenMismatch(String),
}

type JobKey = (String, String);

fn job_key(e: &Evaluation) -> JobKey {
    (e.namespace.clone(), e.job_id.clone())
}

struct Ready {
    priority: i64,
    seq: u64,
    eval: Arc<Evaluation>,
}

impl PartialEq for Ready {
    fn eq(&self, o: &Self) -> bool {
        self.priority == o.priority && self.seq == o.seq
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ready {
    /// Max-heap: higher priority first, then lower sequence (FIFO).
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

struct Unacked {
    eval: Arc<Evaluation>,
    token: String,
    deadline: Instant,
}

/// A delayed eval: `requeue` ones already own their job's outstanding slot.
struct Delayed {
    eval: Arc<Evaluation>,
    requeue: bool,
}

/// Counts for status and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerStats {
    /// Ready to dequeue.
    pub ready: usize,
    /// Delivered, not yet acked.
    pub unacked: usize,
    /// Waiting behind their job's outstanding eval.
    pub pending: usize,
    /// Waiting for their `WaitUntil` or nack delay.
    pub delayed: usize,
}

/// The pure broker; see the module docs.
pub struct Broker {
    cfg: BrokerConfig,
    enabled: bool,
    seq: u64,
    ready: HashMap<String, BinaryHeap<Ready>>,
    pending: HashMap<JobKey, Vec<Arc<Evaluation>>>,
    outstanding: HashSet<JobKey>,
    unacked: HashMap<String, Unacked>,
    delayed: BTreeMap<(Instant, u64), Delayed>,
    known: HashSet<String>,
    deliveries: HashMap<String, u32>,
    failed: Vec<Arc<Evaluation>>,
    cancelable: Vec<Arc<Evaluation>>,
}

impl Broker {
    /// A disabled broker (enable it on gaining leadership).
    pub fn new(cfg: BrokerConfig) -> Self {
        Self {
            cfg,
            enabled: false,
            seq: 0,
            ready: HashMap::new(),
            pending: HashMap::new(),
            outstanding: HashSet::new(),
            unacked: HashMap::new(),
            delayed: BTreeMap::new(),
            known: HashSet::new(),
            deliveries: HashMap::new(),
            failed: Vec::new(),
            cancelable: Vec::new(),
        }
    }

    /// Enables (leader) or disables and empties (follower) the broker.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            let cfg = self.cfg.clone();
            *self = Broker::new(cfg);
        }
    }

    /// Whether the broker accepts evals.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the eval is anywhere in the broker.
    pub fn contains(&self, eval_id: &str) -> bool {
        self.known.contains(eval_id)
    }

    /// Adds an eval; `now_ns` is the wall clock (for `WaitUntil`), `now` the monotonic
    /// one. Duplicates (by ID) and evals given to a disabled broker are ignored.
    pub fn enqueue(&mut self, eval: Arc<Evaluation>, now_ns: i64, now: Instant) {
        if !self.enabled || !self.known.insert(eval.id.clone()) {
            return;
        }
        let wait_until = drover_scheduler::parse_rfc3339(&eval.wait_until).unwrap_or(0);
        if wait_until > now_ns {
            let wait = Duration::from_nanos(u64::try_from(wait_until - now_ns).unwrap_or(0));
            self.delay(eval, now + wait, false);
            return;
        }
        self.admit(eval);
    }

    fn delay(&mut self, eval: Arc<Evaluation>, at: Instant, requeue: bool) {
        self.seq += 1;
        self.delayed
            .insert((at, self.seq), Delayed { eval, requeue });
    }

    /// Ready if its job has nothing outstanding, else pending behind it.
    fn admit(&mut self, eval: Arc<Evaluation>) {
        let key = job_key(&eval);
        if self.outstanding.contains(&key) {
            self.pending.entry(key).or_default().push(eval);
        } else {
            self.outstanding.insert(key);
            self.push_ready(eval);
        }
    }

    fn push_ready(&mut self, eval: Arc<Evaluation>) {
        self.seq += 1;
        self.ready
            .entry(eval.kind.clone())
            .or_default()
            .push(Ready {
                priority: eval.priority,
                seq: self.seq,
                eval,
            });
    }

    /// The highest-priority ready eval of any of `types`, with its delivery token.
    pub fn dequeue(&mut self, types: &[String], now: Instant) -> Option<(Arc<Evaluation>, String)> {
        let best = types
            .iter()
            .filter_map(|t| self.ready.get(t).and_then(|h| h.peek()).map(|r| (t, r)))
            .max_by(|a, b| a.1.cmp(b.1))
            .map(|(t, _)| t.clone())?;
        let item = self.ready.get_mut(&best)?.pop()?;
        self.seq += 1;
        let token = format!("{:016x}-{:08x}", self.seq, rand::random::<u32>());
        *self.deliveries.entry(item.eval.id.clone()).or_default() += 1;
        self.unacked.insert(
            item.eval.id.clone(),
            Unacked {
                eval: item.eval.clone(),
                token: token.clone(),
                deadline: now + self.cfg.nack_timeout,
            },
        );
        Some((item.eval, token))
    }

    fn take_unacked(&mut self, eval_id: &str, token: &str) -> Result<Unacked, BrokerError> {
        match self.unacked.get(eval_id) {
            None => return Err(BrokerError::NotOutstanding(eval_id.to_owned())),
            Some(u) if u.token != token => {
                return Err(BrokerError::TokenMismatch(eval_id.to_owned()));
            }
            Some(_) => {}
        }
        self.unacked
            .remove(eval_id)
            .ok_or_else(|| BrokerError::NotOutstanding(eval_id.to_owned()))
    }

    /// The eval was processed: forget it and let its job's next eval run.
    pub fn ack(&mut self, eval_id: &str, token: &str) -> Result<(), BrokerError> {
        let u = self.take_unacked(eval_id, token)?;
        self.known.remove(eval_id);
        self.deliveries.remove(eval_id);
        self.release(&job_key(&u.eval));
        Ok(())
    }

    /// The eval could not be processed: redeliver it later, or fail it at the limit.
    pub fn nack(&mut self, eval_id: &str, token: &str, now: Instant) -> Result<(), BrokerError> {
        let u = self.take_unacked(eval_id, token)?;
        self.nacked(u, now);
        Ok(())
    }

    fn nacked(&mut self, u: Unacked, now: Instant) {
        let n = self.deliveries.get(&u.eval.id).copied().unwrap_or(0);
        if n >= self.cfg.delivery_limit {
            self.known.remove(&u.eval.id);
            self.deliveries.remove(&u.eval.id);
            self.release(&job_key(&u.eval));
            self.failed.push(u.eval);
            return;
        }
        let wait = if n <= 1 {
            self.cfg.initial_nack_delay
        } else {
            self.cfg.subsequent_nack_delay
        };
        self.delay(u.eval, now + wait, true);
    }

    /// The job's outstanding eval is done: promote its newest pending eval.
    fn release(&mut self, key: &JobKey) {
        self.outstanding.remove(key);
        let Some(mut waiting) = self.pending.remove(key) else {
            return;
        };
        waiting.sort_by_key(|e| (e.modify_index, e.create_index));
        if let Some(next) = waiting.pop() {
            for e in &waiting {
                self.known.remove(&e.id);
            }
            self.cancelable.extend(waiting);
            self.outstanding.insert(key.clone());
            self.push_ready(next);
        }
    }

    /// Moves due delayed evals to ready and nacks timed-out deliveries. Returns
    /// whether anything became ready.
    pub fn tick(&mut self, now: Instant) -> bool {
        let timed_out: Vec<String> = self
            .unacked
            .iter()
            .filter(|(_, u)| u.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in timed_out {
            if let Some(u) = self.unacked.remove(&id) {
                tracing::warn!(eval_id = %id, "evaluation not acked in time; nacking");
                self.nacked(u, now);
            }
        }
        let mut woke = false;
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let d = entry.remove();
            woke = true;
            if d.requeue {
                self.push_ready(d.eval);
            } else {
                self.admit(d.eval);
            }
        }
        woke
    }

    /// When [`Broker::tick`] next has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let delayed = self.delayed.keys().next().map(|k| k.0);
        let unacked = self.unacked.values().map(|u| u.deadline).min();
        match (delayed, unacked) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Evals that reached the delivery limit, to be marked failed.
    pub fn take_failed(&mut self) -> Vec<Arc<Evaluation>> {
        std::mem::take(&mut self.failed)
    }

    /// Evals superseded by a newer eval of the same job, to be marked canceled.
    pub fn take_cancelable(&mut self) -> Vec<Arc<Evaluation>> {
        std::mem::take(&mut self.cancelable)
    }

    /// Current counts.
    pub fn stats(&self) -> BrokerStats {
        BrokerStats {
            ready: self.ready.values().map(BinaryHeap::len).sum(),
            unacked: self.unacked.len(),
            pending: self.pending.values().map(Vec::len).sum(),
            delayed: self.delayed.len(),
        }
    }
}

/// The broker behind a lock, with wake-ups for waiting workers and the leader.
pub struct SharedBroker {
    inner: Mutex<Broker>,
    ready: Notify,
    changed: Notify,
}

impl SharedBroker {
    pub(crate) fn new(cfg: BrokerConfig) -> Self {
        Self {
            inner: Mutex::new(Broker::new(cfg)),
            ready: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// Runs `f` on the locked broker, then wakes waiters.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Broker) -> T) -> T {
        let out = f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
        self.ready.notify_waiters();
        self.changed.notify_waiters();
        out
    }

    /// Runs `f` on the locked broker without waking anyone.
    pub(crate) fn peek<T>(&self, f: impl FnOnce(&mut Broker) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits for an eval of one of `types`; `None` once `shutdown` fires.
    pub(crate) async fn dequeue(
        &self,
        types: &[String],
        shutdown: &CancellationToken,
    ) -> Option<(Arc<Evaluation>, String)> {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self
                .inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .dequeue(types, Instant::now());
            if let Some(got) = got {
                self.changed.notify_waiters();
                return Some(got);
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = notified => {}
            }
        }
    }

    /// Resolves at the next change (used by the leader's timer loop).
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Current counts.
    pub fn stats(&self) -> BrokerStats {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, job: &str, prio: i64, modify: u64) -> Arc<Evaluation> {
        Arc::new(Evaluation {
            id: id.into(),
            namespace: "default".into(),
            job_id: job.into(),
            priority: prio,
            kind: "service".into(),
            modify_index: modify,
            ..Default::default()
        })
    }

    fn types() -> Vec<String> {
        vec!["service".into()]
    }

    #[test]
    fn priority_fifo_and_one_per_job() {
        let now = Instant::now();
        let mut b = Broker::new(BrokerConfig::default());
        b.enqueue(ev("ignored", "j0", 50, 1), 0, now);
        assert_eq!(b.stats(), BrokerStats::default(), "disabled broker ignores");
        b.set_enabled(true);
        b.enqueue(ev("a", "j1", 50, 1), 0, now);
        b.enqueue(ev("b", "j2", 70, 2), 0, now);
        b.enqueue(ev("c", "j3", 50, 3), 0, now);
        b.enqueue(ev("d1", "j1", 50, 4), 0, now);
        b.enqueue(ev("d2", "j1", 50, 5), 0, now);
        b.enqueue(ev("d2", "j1", 50, 5), 0, now); // duplicate
        let order: Vec<_> = (0..3)
            .map(|_| b.dequeue(&types(), now).expect("ready").0.id.clone())
            .collect();
        assert_eq!(order, ["b", "a", "c"]);
        assert!(b.dequeue(&types(), now).is_none(), "j1's others wait");
        assert_eq!(b.stats().pending, 2);
        let tok = b.unacked["a"].token.clone();
        assert_eq!(
            b.ack("a", "wrong"),
            Err(BrokerError::TokenMismatch("a".into()))
        );
        b.ack("a", &tok).expect("ack");
        let (next, _) = b.dequeue(&types(), now).expect("promoted");
        assert_eq!(next.id, "d2", "newest pending wins");
        let canceled: Vec<_> = b.take_cancelable().iter().map(|e| e.id.clone()).collect();
        assert_eq!(canceled, ["d1"]);
    }

    #[test]
    fn nack_timeout_redelivers_then_fails_at_the_limit() {
        let t0 = Instant::now();
        let cfg = BrokerConfig {
            nack_timeout: Duration::from_secs(5),
            delivery_limit: 2,
            ..Default::default()
        };
        let mut b = Broker::new(cfg);
        b.set_enabled(true);
        b.enqueue(ev("a", "j1", 50, 1), 0, t0);
        let (_, tok) = b.dequeue(&types(), t0).expect("first delivery");
        b.nack("a", &tok, t0).expect("nack");
        assert!(b.dequeue(&types(), t0).is_none(), "waits the nack delay");
        assert!(b.tick(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        b.dequeue(&types(), t1).expect("second delivery");
        // Not acked: the timeout nacks it, which is the second (last) delivery.
        assert!(!b.tick(t1 + Duration::from_secs(6)));
        let failed: Vec<_> = b.take_failed().iter().map(|e| e.id.clone()).collect();
        assert_eq!(failed, ["a"]);
        assert!(!b.contains("a"));
        b.enqueue(ev("z", "j1", 50, 9), 0, t1);
        assert!(b.dequeue(&types(), t1).is_some(), "job released");
    }

    #[test]
    fn wait_until_delays() {
        let t0 = Instant::now();
        let mut b = Broker::new(BrokerConfig::default());
        b.set_enabled(true);
        let mut e = (*ev("w", "j", 50, 1)).clone();
        let now_ns = 1_700_000_000_000_000_000;
        e.wait_until = drover_scheduler::format_rfc3339(now_ns + 2_000_000_000);
        b.enqueue(Arc::new(e), now_ns, t0);
        assert!(b.dequeue(&types(), t0).is_none());
        assert_eq!(b.next_deadline(), Some(t0 + Duration::from_secs(2)));
        b.tick(t0 + Duration::from_secs(2));
        assert!(b.dequeue(&types(), t0 + Duration::from_secs(2)).is_some());
    }
}
