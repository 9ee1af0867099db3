//! Pacing of the server streams: `Fingerprint` re-sends its latest report,
//! `TaskStats` polls the driver at the host's interval. Both take their
//! inputs as parameters (a stream, a sampling function), so their timing is
//! tested with a paused clock.

use std::future::Future;
use std::time::{Duration, SystemTime};

use drover_proto::v1;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};
use tonic::Status;

use super::convert;
use crate::PluginError;
use crate::driver::{Fingerprint, ResourceUsage};

/// The driver's reports as sent: each one as soon as it arrives, and the
/// latest again every `resend` so the host can tell a quiet plugin from a
/// stuck one. A driver stream that ends before its first report ends the
/// call with `INTERNAL`.
pub(super) fn fingerprints(
    reports: BoxStream<'static, Fingerprint>,
    resend: Duration,
) -> impl Stream<Item = Result<v1::FingerprintResponse, Status>> + Send + 'static {
    enum Step {
        Report(Option<Fingerprint>),
        Resend,
    }
    async_stream::stream! {
        let mut reports = reports;
        let Some(first) = reports.next().await else {
            yield Err(Status::internal("the driver's fingerprint stream ended before its first report"));
            return;
        };
        let mut latest = convert::fingerprint(first);
        yield Ok(latest.clone());
        let mut open = true;
        let mut ticks = tokio::time::interval_at(Instant::now() + resend, resend);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                report = reports.next(), if open => Step::Report(report),
                _ = ticks.tick() => Step::Resend,
            };
            match step {
                Step::Report(Some(report)) => {
                    latest = convert::fingerprint(report);
                    ticks.reset();
                    yield Ok(latest.clone());
                }
                Step::Report(None) => open = false,
                Step::Resend => yield Ok(latest.clone()),
            }
        }
    }
}

/// `first`, then one sample from `sample` every `interval`. The first error
/// ends the stream with its status (`NOT_FOUND` once the task is gone).
pub(super) fn stats<F, Fut>(
    task_id: String,
    first: ResourceUsage,
    interval: Duration,
    mut sample: F,
) -> impl Stream<Item = Result<v1::TaskStatsResponse, Status>> + Send + 'static
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<ResourceUsage, PluginError>> + Send,
{
    async_stream::stream! {
        yield Ok(convert::stats(&task_id, first, SystemTime::now()));
        let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sample().await {
                Ok(usage) => yield Ok(convert::stats(&task_id, usage, SystemTime::now())),
                Err(e) => {
                    yield Err(e.into_status());
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fingerprint_sends_at_once_and_resends_the_latest() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let reports = tokio_stream::wrappers::UnboundedReceiverStream::new(rx).boxed();
        let mut out = Box::pin(fingerprints(reports, Duration::from_secs(30)));
        tx.send(Fingerprint::healthy("one")).expect("send");
        let start = Instant::now();
        let first = out.next().await.expect("item").expect("ok");
        assert_eq!(first.health_description, "one");
        assert_eq!(start.elapsed(), Duration::ZERO);

        tx.send(Fingerprint::unhealthy("two")).expect("send");
        let second = out.next().await.expect("item").expect("ok");
        assert_eq!(second.health_description, "two");

        drop(tx); // the driver's stream ends; the latest keeps coming
        let again = out.next().await.expect("item").expect("ok");
        assert_eq!(again.health_description, "two");
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test]
    async fn fingerprint_without_a_report_is_an_error() {
        let empty = futures::stream::empty().boxed();
        let mut out = Box::pin(fingerprints(empty, Duration::from_secs(30)));
        let err = out.next().await.expect("item").expect_err("error");
        assert_eq!(err.code(), tonic::Code::Internal);
        assert!(out.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn stats_sample_at_the_interval_until_an_error() {
        let mut calls = 0u64;
        let sample = move || {
            calls += 1;
            let result = if calls < 3 {
                Ok(ResourceUsage {
                    rss_bytes: calls,
                    ..Default::default()
                })
            } else {
                Err(PluginError::not_found("t1"))
            };
            async move { result }
        };
        let interval = Duration::from_millis(250);
        let mut out = Box::pin(stats(
            "t1".into(),
            ResourceUsage::default(),
            interval,
            sample,
        ));
        let start = Instant::now();
        let rss = |item: Option<Result<v1::TaskStatsResponse, Status>>| {
            let stats = item.expect("item").expect("ok").stats.expect("stats");
            stats.agg.and_then(|a| a.memory).map(|m| m.rss)
        };
        assert_eq!(rss(out.next().await), Some(0));
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(rss(out.next().await), Some(1));
        assert_eq!(start.elapsed(), interval);
        assert_eq!(rss(out.next().await), Some(2));
        let err = out.next().await.expect("item").expect_err("gone");
        assert_eq!(err.code(), tonic::Code::NotFound);
        assert_eq!(start.elapsed(), interval * 3);
        assert!(out.next().await.is_none());
    }
}
