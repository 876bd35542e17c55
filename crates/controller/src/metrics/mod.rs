//! The metrics Ferry serves at `/metrics`: one registry (no globals) holding
//!
//! - every controller's reconciles, failures by reason and durations
//!   (`ferry_reconcile_total`, `ferry_reconcile_failures_total`,
//!   `ferry_reconcile_duration_seconds`);
//! - upstream's `mtv_*` metrics ([`mtv`]), recomputed from the watch caches when a Plan,
//!   Migration or Provider changes instead of every 10 s.

pub mod mtv;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A controller label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// The controller (`provider`, `networkmap`, ...).
    pub controller: String,
}

/// A controller and a failure reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The controller.
    pub controller: String,
    /// [`crate::Error::reason`].
    pub reason: String,
}

fn reconcile_buckets() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn migration_duration_buckets() -> Histogram {
    Histogram::new([1.0, 2.0, 5.0, 10.0, 24.0, 48.0].map(|hours| hours * 3600.0))
}

/// The registry and every metric in it.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Reconciles by controller.
    pub reconciles: Family<ControllerLabels, Counter>,
    /// Failed reconciles by controller and reason.
    pub failures: Family<FailureLabels, Counter>,
    /// Reconcile durations by controller.
    pub durations: Family<ControllerLabels, Histogram, fn() -> Histogram>,
    /// Upstream's metrics.
    pub mtv: mtv::MtvMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "ferry_reconcile",
            "Reconciles by controller",
            reconciles.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "ferry_reconcile_failures",
            "Failed reconciles by controller and reason",
            failures.clone(),
        );
        let durations =
            Family::<ControllerLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                reconcile_buckets,
            );
        registry.register(
            "ferry_reconcile_duration_seconds",
            "Reconcile durations by controller, in seconds",
            durations.clone(),
        );
        let mtv = mtv::MtvMetrics::register(&mut registry);
        Self {
            registry: Mutex::new(registry),
            reconciles,
            failures,
            durations,
            mtv,
        }
    }

    /// Records one reconcile of `controller`.
    pub fn reconciled(&self, controller: &str, took: Duration, failure: Option<&str>) {
        let labels = ControllerLabels {
            controller: controller.to_string(),
        };
        self.reconciles.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if let Some(reason) = failure {
            self.failures
                .get_or_create(&FailureLabels {
                    controller: controller.to_string(),
                    reason: reason.to_string(),
                })
                .inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }

    /// The value of a reconcile counter (tests, benchmarks).
    pub fn reconcile_count(&self, controller: &str) -> u64 {
        self.reconciles
            .get_or_create(&ControllerLabels {
                controller: controller.to_string(),
            })
            .get()
    }
}

/// A float gauge.
pub type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// Histogram constructor for `mtv_migrations_duration_seconds`.
pub(crate) fn migration_histogram() -> Histogram {
    migration_duration_buckets()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_metrics_are_exposed() {
        let metrics = Metrics::new();
        metrics.reconciled("provider", Duration::from_millis(3), None);
        metrics.reconciled("provider", Duration::from_millis(3), Some("Conflict"));
        assert_eq!(metrics.reconcile_count("provider"), 2);
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("ferry_reconcile_total{controller=\"provider\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "ferry_reconcile_failures_total{controller=\"provider\",reason=\"Conflict\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("ferry_reconcile_duration_seconds_bucket"),
            "{text}"
        );
    }
}
