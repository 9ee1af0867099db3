//! The generic reconciler (Nomad's `allocReconciler`, without deployments): per task
//! group, buckets the job's allocations into untainted, migrating, lost, reschedule
//! now/later, and decides stops, in-place and destructive updates and placements.

use crate::reschedule::next_reschedule_time;
use crate::update::tasks_updated;
use drover_types::{Allocation, ClientStatus, DesiredStatus, Job, NodeStatus};
use std::sync::Arc;

/// Nomad's `rescheduleWindowSize`: failures due within 1s are rescheduled now.
const RESCHEDULE_WINDOW_NS: i64 = 1_000_000_000;

pub const NOT_NEEDED: &str = "alloc not needed due to job update";
pub const MIGRATING: &str = "alloc is being migrated";
pub const UPDATING: &str = "alloc is being updated due to job update";
pub const LOST: &str = "alloc is lost since its node is down";

/// A placement to make.
pub struct Place {
    pub tg: usize,
    pub index: u64,
    pub previous: Option<Arc<Allocation>>,
    /// Stop `previous` first (destructive update, migration) with this description.
    pub stop_previous: Option<&'static str>,
    pub reschedule: bool,
}

/// What to do with one job.
#[derive(Default)]
pub struct Reconciled {
    pub stop: Vec<(Arc<Allocation>, &'static str, Option<ClientStatus>)>,
    pub place: Vec<Place>,
    pub inplace: Vec<(usize, Arc<Allocation>)>,
    /// `(alloc, reschedule time)` of failed allocs to reschedule later.
    pub later: Vec<(Arc<Allocation>, i64)>,
    /// Per group `(ignore, place, stop, inplace, destructive, migrate, resched_now, resched_later)`.
    pub ignored: Vec<(String, u64)>,
}

/// Indexes in use by a group's allocations (Nomad's `allocNameIndex`).
struct NameIndex {
    used: Vec<bool>,
}

impl NameIndex {
    fn new(count: usize, allocs: impl Iterator<Item = u64>) -> NameIndex {
        let mut ni = NameIndex {
            used: vec![false; count],
        };
        for i in allocs {
            ni.set(i as usize);
        }
        ni
    }
    fn set(&mut self, i: usize) {
        if i >= self.used.len() {
            self.used.resize(i + 1, false);
        }
        self.used[i] = true;
    }
    fn next(&mut self, n: usize) -> Vec<u64> {
        let mut out = Vec::with_capacity(n);
        let mut i = 0;
        while out.len() < n {
            if !self.used.get(i).copied().unwrap_or(false) {
                self.set(i);
                out.push(i as u64);
            }
            i += 1;
        }
        out
    }
}

fn same_version(a: &Allocation, job: &Job) -> bool {
    a.job
        .as_ref()
        .is_none_or(|aj| aj.version == job.version && aj.job_modify_index == job.job_modify_index)
}

/// Reconciles `allocs` (all of the job's) against `job` (`None` or stopped: stop all).
pub fn reconcile(
    job: Option<&Job>,
    allocs: &[Arc<Allocation>],
    node_status: &dyn Fn(&str) -> Option<NodeStatus>,
    batch: bool,
    now: i64,
    eval_id: &str,
) -> Reconciled {
    let mut r = Reconciled::default();
    let live = |a: &&Arc<Allocation>| !a.is_terminal();
    let Some(job) = job.filter(|j| !j.stop.unwrap_or(false)) else {
        for a in allocs.iter().filter(live) {
            r.stop.push((a.clone(), NOT_NEEDED, None));
        }
        return r;
    };
    for a in allocs.iter().filter(live) {
        if job.group(&a.task_group).is_none() {
            r.stop.push((a.clone(), NOT_NEEDED, None));
        }
    }
    for (ti, tg) in job.task_groups.iter().enumerate() {
        let count = tg.count_or_default().max(0) as usize;
        let (mut untainted, mut migrate, mut lost, mut now_set) = (vec![], vec![], vec![], vec![]);
        for a in allocs.iter().filter(|a| a.task_group == tg.name) {
            if !a.is_terminal() {
                if a.desired_transition.migrate == Some(true) {
                    migrate.push(a.clone());
                    continue;
                }
                match node_status(&a.node_id) {
                    None | Some(NodeStatus::Down | NodeStatus::Disconnected) => {
                        lost.push(a.clone());
                        continue;
                    }
                    _ => {}
                }
            }
            // shouldFilter
            let stopped = matches!(a.desired_status, DesiredStatus::Stop | DesiredStatus::Evict);
            if batch {
                if stopped {
                    if a.client_status == ClientStatus::Complete {
                        untainted.push(a.clone());
                    }
                    continue;
                }
                if a.client_status != ClientStatus::Failed {
                    untainted.push(a.clone());
                    continue;
                }
            } else if stopped
                || matches!(a.client_status, ClientStatus::Complete | ClientStatus::Lost)
            {
                continue;
            }
            if a.client_status == ClientStatus::Failed && !a.next_allocation.is_empty() {
                continue;
            }
            let force = a.desired_transition.force_reschedule == Some(true);
            let next = next_reschedule_time(a, tg.reschedule_policy.as_ref());
            match next {
                _ if force => now_set.push(a.clone()),
                Some((t, true))
                    if a.followup_eval_id == eval_id || t - now <= RESCHEDULE_WINDOW_NS =>
                {
                    now_set.push(a.clone())
                }
                Some((t, true)) => {
                    if a.followup_eval_id.is_empty() {
                        r.later.push((a.clone(), t));
                    }
                    untainted.push(a.clone());
                }
                _ => untainted.push(a.clone()),
            }
        }
        let mut names = NameIndex::new(
            count,
            untainted
                .iter()
                .chain(&migrate)
                .chain(&now_set)
                .chain(&lost)
                .filter_map(|a| a.index()),
        );
        for a in &lost {
            r.stop.push((a.clone(), LOST, Some(ClientStatus::Lost)));
        }
        // Stop the highest indexes beyond count.
        let mut remove = (untainted.len() + migrate.len()).saturating_sub(count);
        if remove > 0 {
            let mut live_idx: Vec<usize> = (0..untainted.len())
                .filter(|&i| !untainted[i].is_terminal())
                .collect();
            live_idx.sort_by_key(|&i| std::cmp::Reverse(untainted[i].index().unwrap_or(u64::MAX)));
            let mut gone = Vec::new();
            for i in live_idx {
                if remove == 0 {
                    break;
                }
                r.stop.push((untainted[i].clone(), NOT_NEEDED, None));
                gone.push(i);
                remove -= 1;
            }
            gone.sort_unstable();
            for i in gone.into_iter().rev() {
                untainted.remove(i);
            }
        }
        let mut ignore = 0;
        let mut destructive = Vec::new();
        for a in &untainted {
            if same_version(a, job) {
                ignore += 1;
            } else if a
                .job
                .as_ref()
                .is_none_or(|aj| tasks_updated(job, aj, &tg.name))
            {
                destructive.push(a.clone());
            } else if a.is_terminal() {
                ignore += 1;
            } else {
                r.inplace.push((ti, a.clone()));
            }
        }
        r.ignored.push((tg.name.clone(), ignore));
        let existing = untainted.len() + migrate.len() + now_set.len();
        for a in now_set {
            r.place.push(Place {
                tg: ti,
                index: a.index().unwrap_or(0),
                previous: Some(a),
                stop_previous: None,
                reschedule: true,
            });
        }
        let mut existing = existing;
        for a in lost {
            if existing >= count {
                break;
            }
            existing += 1;
            r.place.push(Place {
                tg: ti,
                index: a.index().unwrap_or(0),
                previous: Some(a),
                stop_previous: None,
                reschedule: false,
            });
        }
        if existing < count {
            for index in names.next(count - existing) {
                r.place.push(Place {
                    tg: ti,
                    index,
                    previous: None,
                    stop_previous: None,
                    reschedule: false,
                });
            }
        }
        for (a, desc) in destructive
            .into_iter()
            .map(|a| (a, UPDATING))
            .chain(migrate.into_iter().map(|a| (a, MIGRATING)))
        {
            r.place.push(Place {
                tg: ti,
                index: a.index().unwrap_or(0),
                previous: Some(a),
                stop_previous: Some(desc),
                reschedule: false,
            });
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::NameIndex;

    #[test]
    fn name_index_fills_gaps_first() {
        let mut ni = NameIndex::new(4, [0, 2].into_iter());
        assert_eq!(ni.next(3), vec![1, 3, 4]);
    }
}
