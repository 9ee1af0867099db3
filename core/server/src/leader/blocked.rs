//! Blocked evals (Nomad's `nomad/blocked_evals.go`), leader only, in memory.
//!
//! A job whose placements failed has one blocked eval (a newer one replaces the
//! older, which is handed out as a duplicate to cancel). When capacity appears on a
//! node (registered, ready again, eligible again, an allocation stopped), the evals
//! that could use that node's computed class are unblocked: those whose
//! `ClassEligibility` does not mark the class infeasible, and every "escaped" eval
//! (constraints on unique attributes, where classes say nothing).
//!
//! Capacity can appear between the scheduler's snapshot and the moment its blocked
//! eval arrives here; [`BlockedEvals::block`] compares the eval's `SnapshotIndex` with
//! the last unblock of its classes and unblocks at once when it missed one.

use std::collections::HashMap;
use std::sync::Arc;

use drover_types::Evaluation;

type JobKey = (String, String);

/// The blocked set; see the module docs.
#[derive(Default)]
pub struct BlockedEvals {
    by_job: HashMap<JobKey, Arc<Evaluation>>,
    class_unblocked_at: HashMap<String, u64>,
    any_unblocked_at: u64,
    duplicates: Vec<Arc<Evaluation>>,
}

fn could_use(eval: &Evaluation, class: &str) -> bool {
    eval.escaped_computed_class
        || class.is_empty()
        || eval.class_eligibility.get(class) != Some(&false)
}

impl BlockedEvals {
    /// Empties the set (leadership lost).
    pub fn clear(&mut self) {
        *self = BlockedEvals::default();
    }

    /// Tracks a blocked eval. Returns it back when capacity it could use appeared
    /// after its snapshot: the caller enqueues it right away.
    pub fn block(&mut self, eval: Arc<Evaluation>) -> Option<Arc<Evaluation>> {
        let missed = self.any_unblocked_at > eval.snapshot_index
            || self
                .class_unblocked_at
                .iter()
                .any(|(class, at)| *at > eval.snapshot_index && could_use(&eval, class));
        let key = (eval.namespace.clone(), eval.job_id.clone());
        if let Some(old) = self.by_job.remove(&key)
            && old.id != eval.id
        {
            if old.create_index > eval.create_index {
                // An older eval arrived late: keep the newer one.
                self.duplicates.push(eval);
                self.by_job.insert(key, old);
                return None;
            }
            self.duplicates.push(old);
        }
        if missed {
            return Some(eval);
        }
        self.by_job.insert(key, eval);
        None
    }

    /// Capacity appeared on a node of `class` at raft `index`: the evals to enqueue.
    pub fn unblock(&mut self, class: &str, index: u64) -> Vec<Arc<Evaluation>> {
        if class.is_empty() {
            self.any_unblocked_at = self.any_unblocked_at.max(index);
        } else {
            let at = self.class_unblocked_at.entry(class.to_owned()).or_default();
            *at = (*at).max(index);
        }
        let keys: Vec<JobKey> = self
            .by_job
            .iter()
            .filter(|(_, e)| could_use(e, class))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.by_job.remove(k)).collect()
    }

    /// Stops tracking an eval that became terminal (or was replaced in state).
    pub fn untrack(&mut self, eval: &Evaluation) {
        let key = (eval.namespace.clone(), eval.job_id.clone());
        if self.by_job.get(&key).is_some_and(|e| e.id == eval.id) {
            self.by_job.remove(&key);
        }
    }

    /// Older blocked evals of jobs that have a newer one, to be canceled.
    pub fn take_duplicates(&mut self) -> Vec<Arc<Evaluation>> {
        std::mem::take(&mut self.duplicates)
    }

    /// Number of blocked evals tracked.
    pub fn len(&self) -> usize {
        self.by_job.len()
    }

    /// Whether nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.by_job.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn blocked(
        id: &str,
        job: &str,
        create: u64,
        snap: u64,
        classes: &[(&str, bool)],
    ) -> Arc<Evaluation> {
        Arc::new(Evaluation {
            id: id.into(),
            namespace: "default".into(),
            job_id: job.into(),
            create_index: create,
            snapshot_index: snap,
            class_eligibility: classes
                .iter()
                .map(|(c, ok)| (c.to_string(), *ok))
                .collect::<BTreeMap<_, _>>(),
            ..Default::default()
        })
    }

    #[test]
    fn class_keyed_unblock_and_duplicates() {
        let mut b = BlockedEvals::default();
        assert!(
            b.block(blocked("e1", "a", 10, 10, &[("c1", true), ("c2", false)]))
                .is_none()
        );
        assert!(
            b.block(blocked("e2", "b", 11, 11, &[("c1", false)]))
                .is_none()
        );
        // c2 is infeasible for a; b never saw c2, so it may fit there.
        let got: Vec<_> = b.unblock("c2", 20).iter().map(|e| e.id.clone()).collect();
        assert_eq!(got, ["e2"]);
        assert_eq!(b.len(), 1);
        let got: Vec<_> = b.unblock("c3", 21).iter().map(|e| e.id.clone()).collect();
        assert_eq!(got, ["e1"], "an unseen class may fit");
        // A newer blocked eval for the same job replaces the older.
        assert!(b.block(blocked("e3", "x", 30, 30, &[])).is_none());
        assert!(b.block(blocked("e4", "x", 31, 31, &[])).is_none());
        let dups: Vec<_> = b.take_duplicates().iter().map(|e| e.id.clone()).collect();
        assert_eq!(dups, ["e3"]);
    }

    #[test]
    fn missed_unblock_is_caught_by_snapshot_index() {
        let mut b = BlockedEvals::default();
        b.unblock("c1", 50);
        let e = b.block(blocked("e1", "a", 40, 45, &[("c1", true)]));
        assert_eq!(e.map(|e| e.id.clone()).as_deref(), Some("e1"));
        assert!(
            b.block(blocked("e2", "b", 60, 60, &[("c1", true)]))
                .is_none()
        );
    }
}
