//! Server-side rescheduling of failed allocations (reference §5.6; Nomad's
//! `Allocation.NextDelay`, `NextRescheduleTime`, `RescheduleTracker.RescheduleEligible`
//! and `updateRescheduleTracker`). Times are Unix nanoseconds.

use crate::timefmt::parse_rfc3339;
use drover_types::alloc::{RescheduleEvent, RescheduleTracker};
use drover_types::{Allocation, ClientStatus, DesiredStatus, Duration, ReschedulePolicy};

/// Nomad's `maxPastRescheduleEvents`.
const MAX_PAST_EVENTS: usize = 5;

/// When the allocation failed: the latest task `FinishedAt`, else its `ModifyTime`.
pub fn last_event_time(a: &Allocation) -> i64 {
    a.task_states
        .values()
        .filter_map(|s| parse_rfc3339(&s.finished_at))
        .max()
        .unwrap_or(a.modify_time)
}

fn events(a: &Allocation) -> &[RescheduleEvent] {
    a.reschedule_tracker
        .as_ref()
        .map(|t| t.events.as_slice())
        .unwrap_or_default()
}

/// The delay before rescheduling `a` again: `delay` for the first reschedule, then
/// per `delay_function` (constant, exponential ×2, fibonacci), capped at `max_delay`
/// and reset to `delay` once the gap since the last reschedule exceeds the cap.
pub fn next_delay(a: &Allocation, p: &ReschedulePolicy) -> Duration {
    let base = p.delay.unwrap_or_default().0;
    let max = p.max_delay.unwrap_or_default().0;
    let ev = events(a);
    let Some(last) = ev.last() else {
        return Duration(base);
    };
    let mut d = match p.delay_function.as_deref().unwrap_or("constant") {
        "exponential" => last.delay.0.saturating_mul(2),
        "fibonacci" if ev.len() >= 2 => {
            let (n1, n2) = (last.delay.0, ev[ev.len() - 2].delay.0);
            if n2 == max && n1 == base {
                n1
            } else {
                n1.saturating_add(n2)
            }
        }
        "fibonacci" => base,
        _ => return Duration(base),
    };
    if max > 0 && d > max {
        d = max;
        if last_event_time(a) - last.reschedule_time > d {
            d = base;
        }
    }
    Duration(d)
}

/// `(time, eligible)`: when `a` may be rescheduled and whether the policy allows it.
pub fn next_reschedule_time(a: &Allocation, p: Option<&ReschedulePolicy>) -> Option<(i64, bool)> {
    let p = p?;
    let fail = last_event_time(a);
    if a.desired_status == DesiredStatus::Stop
        || a.client_status != ClientStatus::Failed
        || fail == 0
    {
        return None;
    }
    let delay = next_delay(a, p).0;
    let attempts = p.attempts.unwrap_or(0);
    let unlimited = p.unlimited.unwrap_or(false);
    let ev = events(a);
    let mut eligible = unlimited || (attempts > 0 && ev.is_empty());
    if attempts > 0 && !ev.is_empty() && !unlimited {
        let interval = p.interval.unwrap_or_default().0;
        let attempted = ev
            .iter()
            .filter(|e| fail - e.reschedule_time < interval)
            .count() as i64;
        eligible = attempted < attempts && delay < interval;
    }
    Some((fail + delay, eligible))
}

/// Records the reschedule of `prev` into `new`'s tracker.
pub fn update_tracker(
    new: &mut Allocation,
    prev: &Allocation,
    p: Option<&ReschedulePolicy>,
    now: i64,
) {
    let mut out: Vec<RescheduleEvent> = Vec::new();
    let ev = events(prev);
    let attempts = p.and_then(|p| p.attempts).unwrap_or(0);
    if attempts > 0 {
        let interval = p.and_then(|p| p.interval).unwrap_or_default().0;
        out.extend(
            ev.iter()
                .filter(|e| interval > 0 && now - e.reschedule_time <= interval)
                .cloned(),
        );
    } else {
        out.extend(
            ev[ev.len().saturating_sub(MAX_PAST_EVENTS)..]
                .iter()
                .cloned(),
        );
    }
    let delay = p.map(|p| next_delay(prev, p)).unwrap_or_default();
    out.push(RescheduleEvent {
        reschedule_time: now,
        prev_alloc_id: prev.id.clone(),
        prev_node_id: prev.node_id.clone(),
        delay,
    });
    new.reschedule_tracker = Some(RescheduleTracker { events: out });
}

/// Nodes to penalise when replacing `prev`: where it failed and where its
/// predecessors ran.
pub fn penalty_nodes(prev: &Allocation) -> Vec<String> {
    let mut out = Vec::new();
    if prev.client_status == ClientStatus::Failed {
        out.push(prev.node_id.clone());
    }
    for e in events(prev) {
        if !out.contains(&e.prev_node_id) {
            out.push(e.prev_node_id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc_with(delays: &[i64]) -> Allocation {
        Allocation {
            client_status: ClientStatus::Failed,
            modify_time: 1000 * 1_000_000_000,
            reschedule_tracker: Some(RescheduleTracker {
                events: delays
                    .iter()
                    .map(|d| RescheduleEvent {
                        reschedule_time: 990 * 1_000_000_000,
                        delay: Duration::from_secs(*d),
                        ..Default::default()
                    })
                    .collect(),
            }),
            ..Default::default()
        }
    }

    fn policy(func: &str) -> ReschedulePolicy {
        ReschedulePolicy {
            delay: Some(Duration::from_secs(5)),
            delay_function: Some(func.into()),
            max_delay: Some(Duration::from_secs(60)),
            unlimited: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn delay_functions() {
        assert_eq!(
            next_delay(&alloc_with(&[]), &policy("exponential")),
            Duration::from_secs(5)
        );
        assert_eq!(
            next_delay(&alloc_with(&[5, 10]), &policy("exponential")),
            Duration::from_secs(20)
        );
        assert_eq!(
            next_delay(&alloc_with(&[5, 10]), &policy("fibonacci")),
            Duration::from_secs(15)
        );
        assert_eq!(
            next_delay(&alloc_with(&[5, 10]), &policy("constant")),
            Duration::from_secs(5)
        );
        // Capped at max_delay (the last reschedule was 10s ago, within the cap).
        assert_eq!(
            next_delay(&alloc_with(&[40]), &policy("exponential")),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn attempts_within_interval() {
        let p = ReschedulePolicy {
            attempts: Some(1),
            interval: Some(Duration::from_hours(1)),
            delay: Some(Duration::from_secs(5)),
            unlimited: Some(false),
            ..Default::default()
        };
        let fresh = alloc_with(&[]);
        assert_eq!(
            next_reschedule_time(&fresh, Some(&p)),
            Some((1005 * 1_000_000_000, true))
        );
        let once = alloc_with(&[5]);
        assert_eq!(
            next_reschedule_time(&once, Some(&p)).map(|r| r.1),
            Some(false)
        );
    }
}
