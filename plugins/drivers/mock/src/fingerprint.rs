//! The fingerprint: health and node attributes as the plugin config scripts
//! them.
//!
//! [`build`] is a pure function of the settings and the time; [`stream`]
//! yields a report at once and then each time the report changes (a new
//! config, or the scripted `shutdown_periodic_duration` passing).

use drover_plugin_sdk::{Attr, Fingerprint};
use futures::stream::BoxStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{FingerprintHealth, MockConfig};
use crate::sleep_until_opt;

/// The node attribute a healthy mock driver sets.
pub const ATTRIBUTE: &str = "driver.mock_driver";

/// The plugin config as applied at a moment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub config: MockConfig,
    /// When `shutdown_periodic_after` turns the driver undetected.
    pub shutdown_at: Option<Instant>,
}

impl Settings {
    /// Settings for `config` received at `now`.
    pub fn new(config: MockConfig, now: Instant) -> Self {
        let shutdown_at = config.shutdown_periodic_after.then(|| {
            now + config
                .shutdown_periodic_duration
                .map(Into::into)
                .unwrap_or_default()
        });
        Self {
            config,
            shutdown_at,
        }
    }
}

/// The report for `settings` at `now`.
pub fn build(settings: &Settings, now: Instant) -> Fingerprint {
    if settings.shutdown_at.is_some_and(|at| now >= at) {
        return Fingerprint::undetected("disabled");
    }
    match settings.config.fingerprint_health {
        FingerprintHealth::Healthy => {
            Fingerprint::healthy("healthy").with_attr(ATTRIBUTE, Attr::Bool(true))
        }
        FingerprintHealth::Unhealthy => {
            Fingerprint::unhealthy("unhealthy (fingerprint_health = \"unhealthy\")")
        }
        FingerprintHealth::Undetected => {
            Fingerprint::undetected("undetected (fingerprint_health = \"undetected\")")
        }
    }
}

/// Reports for the settings behind `rx`: the current one at once, then every
/// change. Ends when the driver is dropped.
pub fn stream(rx: watch::Receiver<Settings>) -> BoxStream<'static, Fingerprint> {
    Box::pin(futures::stream::unfold(
        (rx, None::<Fingerprint>),
        |(mut rx, last)| async move {
            loop {
                let settings = rx.borrow_and_update().clone();
                let now = Instant::now();
                let report = build(&settings, now);
                if last.as_ref() != Some(&report) {
                    return Some((report.clone(), (rx, Some(report))));
                }
                let wake = settings.shutdown_at.filter(|at| *at > now);
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return None },
                    () = sleep_until_opt(wake) => {}
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use drover_plugin_sdk::Health;
    use futures::StreamExt;

    use super::*;
    use crate::duration::GoDuration;

    #[test]
    fn health_follows_the_config() {
        let now = Instant::now();
        let healthy = build(&Settings::new(MockConfig::default(), now), now);
        assert_eq!(healthy.health, Health::Healthy);
        assert_eq!(healthy.attributes.get(ATTRIBUTE), Some(&Attr::Bool(true)));
        let config = MockConfig {
            fingerprint_health: FingerprintHealth::Unhealthy,
            ..Default::default()
        };
        let sick = build(&Settings::new(config, now), now);
        assert_eq!(sick.health, Health::Unhealthy);
        assert!(sick.attributes.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_shutdown_turns_undetected_on_time() {
        let config = MockConfig {
            shutdown_periodic_after: true,
            shutdown_periodic_duration: Some(GoDuration(Duration::from_secs(5))),
            ..Default::default()
        };
        let start = Instant::now();
        let (tx, rx) = watch::channel(Settings::new(config, start));
        let mut reports = stream(rx);
        let first = reports.next().await.expect("first report");
        assert_eq!(first.health, Health::Healthy);
        let second = reports.next().await.expect("second report");
        assert_eq!(second.health, Health::Undetected);
        assert_eq!(second.description, "disabled");
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // A new config is reported at once; dropping the sender ends the stream.
        tx.send_replace(Settings::new(MockConfig::default(), Instant::now()));
        assert_eq!(
            reports.next().await.map(|f| f.health),
            Some(Health::Healthy)
        );
        drop(tx);
        assert!(reports.next().await.is_none());
    }
}
