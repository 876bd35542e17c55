//! Upstream's `mtv_*` metrics (`pkg/monitoring/metrics/forklift-controller`), with the
//! same names, labels and semantics, computed from the watch caches.
//!
//! Labels: `provider` is the source provider's type (`ova`, `vsphere`, ...); `mode` is
//! `Warm` for `type: warm`, `Live` for `type: live`, otherwise `Cold` (as upstream, a
//! plan with the deprecated `warm: true` and no type counts as `Cold`); `target` is
//! `Local` when the destination provider's URL is empty, else `Remote`; `plan` is the
//! Plan's UID. Plans and Migrations whose providers (or plan) are not in the caches are
//! skipped. Counters count each Migration (or VM, or planned VM) once per process, as
//! upstream does.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Mutex, PoisonError};

use ferry_api::condition::types;
use ferry_api::plan::MigrationType;
use ferry_api::{Migration, ObjectReference, Plan, Provider};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::FloatGauge;

/// `status, provider, mode, target`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
#[allow(missing_docs)]
pub struct StatusLabels {
    pub status: String,
    pub provider: String,
    pub mode: String,
    pub target: String,
}

/// `status, provider, mode, target, plan, plan_name, phase`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
#[allow(missing_docs)]
pub struct AlertLabels {
    pub status: String,
    pub provider: String,
    pub mode: String,
    pub target: String,
    pub plan: String,
    pub plan_name: String,
    pub phase: String,
}

/// `provider, mode, target, plan`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
#[allow(missing_docs)]
pub struct PlanLabels {
    pub provider: String,
    pub mode: String,
    pub target: String,
    pub plan: String,
}

/// `provider, mode, target`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
#[allow(missing_docs)]
pub struct KindLabels {
    pub provider: String,
    pub mode: String,
    pub target: String,
}

/// `status, provider, mode, target, plan`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
#[allow(missing_docs)]
pub struct WorkloadLabels {
    pub status: String,
    pub provider: String,
    pub mode: String,
    pub target: String,
    pub plan: String,
}

impl KindLabels {
    fn with_status(&self, status: &str) -> StatusLabels {
        StatusLabels {
            status: status.to_string(),
            provider: self.provider.clone(),
            mode: self.mode.clone(),
            target: self.target.clone(),
        }
    }

    fn with_plan(&self, plan: &str) -> PlanLabels {
        PlanLabels {
            provider: self.provider.clone(),
            mode: self.mode.clone(),
            target: self.target.clone(),
            plan: plan.to_string(),
        }
    }
}

/// The plan conditions `mtv_plans_status` counts, in upstream's order.
pub const PLAN_STATUSES: [&str; 8] = [
    types::SUCCEEDED,
    types::FAILED,
    types::EXECUTING,
    types::RUNNING,
    types::PENDING,
    types::CANCELED,
    types::BLOCKED,
    types::DELETED,
];

/// The labels of a plan, from its providers; `None` when one is unknown.
pub fn plan_labels(
    plan: &Plan,
    provider: &dyn Fn(&ObjectReference) -> Option<Provider>,
) -> Option<KindLabels> {
    let source = provider(&plan.spec.provider.source)?;
    let destination = provider(&plan.spec.provider.destination)?;
    let mode = match plan.spec.r#type {
        Some(MigrationType::Warm) => "Warm",
        Some(MigrationType::Live) => "Live",
        _ => "Cold",
    };
    Some(KindLabels {
        provider: source.type_name().to_string(),
        mode: mode.to_string(),
        target: if destination.spec.url.is_empty() {
            "Local"
        } else {
            "Remote"
        }
        .to_string(),
    })
}

/// Bytes moved by the disk-transfer steps (`progress.completed` is in MiB).
fn transferred(vms: &[ferry_api::plan::VmStatus]) -> f64 {
    vms.iter()
        .flat_map(|vm| vm.pipeline.iter())
        .filter(|step| step.task.name == "DiskTransferV2v" || step.task.name == "DiskTransfer")
        .flat_map(|step| step.tasks.iter())
        .map(|task| task.progress.completed as f64 * 1024.0 * 1024.0)
        .sum()
}

/// What the plans say, at one instant.
#[derive(Debug, Default, PartialEq)]
pub struct PlanSnapshot {
    /// `mtv_plans_status`.
    pub statuses: BTreeMap<StatusLabels, i64>,
    /// `mtv_plan_alert_status` series.
    pub alerts: BTreeSet<AlertLabels>,
    /// `mtv_migration_data_transferred_bytes` of executing plans.
    pub transferred: BTreeMap<PlanLabels, f64>,
    /// `planUID/vmID` keys of planned VMs, with their labels.
    pub planned_vms: Vec<(String, KindLabels)>,
}

/// Computes the plan metrics (pure).
pub fn plan_snapshot(
    plans: &[&Plan],
    provider: &dyn Fn(&ObjectReference) -> Option<Provider>,
) -> PlanSnapshot {
    let mut snapshot = PlanSnapshot::default();
    for plan in plans {
        let Some(kind) = plan_labels(plan, provider) else {
            continue;
        };
        let uid = plan.uid();
        for vm in &plan.spec.vms {
            snapshot
                .planned_vms
                .push((format!("{uid}/{}", vm.id), kind.clone()));
        }
        let conditions = &plan.status.conditions;
        let alert = |status: &str, phase: String| AlertLabels {
            status: status.to_string(),
            provider: kind.provider.clone(),
            mode: kind.mode.clone(),
            target: kind.target.clone(),
            plan: uid.to_string(),
            plan_name: plan.name().to_string(),
            phase,
        };
        for status in PLAN_STATUSES {
            if !conditions.has(&[status]) {
                continue;
            }
            *snapshot
                .statuses
                .entry(kind.with_status(status))
                .or_insert(0) += 1;
            match status {
                types::SUCCEEDED => {
                    snapshot.alerts.insert(alert(status, "Completed".into()));
                }
                types::FAILED => {
                    let phases: Vec<&str> = plan
                        .status
                        .migration
                        .vms
                        .iter()
                        .filter_map(|vm| vm.error.as_ref().map(|e| e.phase.as_str()))
                        .collect();
                    let phase = phases.join(",");
                    snapshot
                        .alerts
                        .insert(alert(status, phase.trim_matches(',').to_string()));
                }
                types::EXECUTING => {
                    snapshot
                        .transferred
                        .insert(kind.with_plan(uid), transferred(&plan.status.migration.vms));
                    snapshot
                        .alerts
                        .insert(alert(status, types::EXECUTING.into()));
                }
                _ => {}
            }
        }
    }
    snapshot
}

/// The terminal state a Migration counts as, if any.
fn migration_status(migration: &Migration) -> Option<&'static str> {
    let conditions = &migration.status.conditions;
    [types::SUCCEEDED, types::FAILED, types::CANCELED]
        .into_iter()
        .find(|status| conditions.has(&[status]))
}

fn vm_status(vm: &ferry_api::plan::VmStatus) -> Option<&'static str> {
    [types::SUCCEEDED, types::FAILED, types::CANCELED]
        .into_iter()
        .find(|status| vm.conditions.has(&[status]))
}

#[derive(Default)]
struct Seen {
    statuses: HashSet<StatusLabels>,
    alerts: HashSet<AlertLabels>,
    planned: HashSet<String>,
    migrations: HashSet<(String, &'static str)>,
    vms: HashSet<String>,
}

/// Upstream's metrics and what has been counted.
pub struct MtvMetrics {
    plans_status: Family<StatusLabels, Gauge>,
    plan_alert_status: Family<AlertLabels, Gauge>,
    data_transferred: Family<PlanLabels, FloatGauge>,
    planned_vms: Family<KindLabels, Counter>,
    migrations_status: Family<StatusLabels, Counter>,
    workload_migrations_status: Family<WorkloadLabels, Counter>,
    migration_duration: Family<PlanLabels, FloatGauge>,
    migrations_duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    migrated_vms: Family<StatusLabels, Counter>,
    seen: Mutex<Seen>,
}

impl MtvMetrics {
    /// Registers every `mtv_*` metric.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            plans_status: Family::default(),
            plan_alert_status: Family::default(),
            data_transferred: Family::default(),
            planned_vms: Family::default(),
            migrations_status: Family::default(),
            workload_migrations_status: Family::default(),
            migration_duration: Family::default(),
            migrations_duration: Family::new_with_constructor(super::migration_histogram),
            migrated_vms: Family::default(),
            seen: Mutex::default(),
        };
        registry.register(
            "mtv_migrations_status",
            "VM Migrations sorted by status, provider, mode and target",
            metrics.migrations_status.clone(),
        );
        registry.register(
            "mtv_plans_status",
            "VM migration Plans sorted by status, provider, mode and target",
            metrics.plans_status.clone(),
        );
        registry.register(
            "mtv_plan_alert_status",
            "VM Migration plan statuses for alerting",
            metrics.plan_alert_status.clone(),
        );
        registry.register(
            "mtv_migration_duration_seconds",
            "Duration of VM migrations in seconds",
            metrics.migration_duration.clone(),
        );
        registry.register(
            "mtv_migration_data_transferred_bytes",
            "Total data transferred during VM migrations in bytes",
            metrics.data_transferred.clone(),
        );
        registry.register(
            "mtv_workload_migrations_status",
            "VM Migrations status by provider, mode, target and plan",
            metrics.workload_migrations_status.clone(),
        );
        registry.register(
            "mtv_migrations_duration_seconds",
            "Histogram of VM migrations duration in seconds",
            metrics.migrations_duration.clone(),
        );
        registry.register(
            "mtv_planned_vms",
            "Number of VMs listed in migration plan specs",
            metrics.planned_vms.clone(),
        );
        registry.register(
            "mtv_migrated_vms",
            "Number of migrated VMs sorted by status, provider, mode and target",
            metrics.migrated_vms.clone(),
        );
        metrics
    }

    /// Brings the plan metrics up to date with `plans`.
    pub fn update_plans(
        &self,
        plans: &[&Plan],
        provider: &dyn Fn(&ObjectReference) -> Option<Provider>,
    ) {
        let snapshot = plan_snapshot(plans, provider);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, labels) in &snapshot.planned_vms {
            if seen.planned.insert(key.clone()) {
                self.planned_vms.get_or_create(labels).inc();
            }
        }
        for (labels, count) in &snapshot.statuses {
            self.plans_status.get_or_create(labels).set(*count);
        }
        let gone: Vec<StatusLabels> = seen
            .statuses
            .iter()
            .filter(|labels| !snapshot.statuses.contains_key(labels))
            .cloned()
            .collect();
        for labels in gone {
            self.plans_status.get_or_create(&labels).set(0);
            seen.statuses.remove(&labels);
        }
        seen.statuses.extend(snapshot.statuses.keys().cloned());
        for labels in &snapshot.alerts {
            self.plan_alert_status.get_or_create(labels).set(1);
        }
        let stale: Vec<AlertLabels> = seen
            .alerts
            .iter()
            .filter(|labels| !snapshot.alerts.contains(labels))
            .cloned()
            .collect();
        for labels in stale {
            self.plan_alert_status.remove(&labels);
            seen.alerts.remove(&labels);
        }
        seen.alerts.extend(snapshot.alerts.iter().cloned());
        for (labels, bytes) in &snapshot.transferred {
            self.data_transferred.get_or_create(labels).set(*bytes);
        }
    }

    /// Counts Migrations that reached a terminal state, and their VMs.
    pub fn update_migrations(
        &self,
        migrations: &[&Migration],
        plan: &dyn Fn(&ObjectReference) -> Option<Plan>,
        provider: &dyn Fn(&ObjectReference) -> Option<Provider>,
    ) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for migration in migrations {
            let Some(plan) = plan(&migration.spec.plan) else {
                continue;
            };
            let Some(kind) = plan_labels(&plan, provider) else {
                continue;
            };
            let uid = migration.uid().to_string();
            if let Some(status) = migration_status(migration)
                && seen.migrations.insert((uid.clone(), status))
            {
                self.migrations_status
                    .get_or_create(&kind.with_status(status))
                    .inc();
                self.workload_migrations_status
                    .get_or_create(&WorkloadLabels {
                        status: status.to_string(),
                        provider: kind.provider.clone(),
                        mode: kind.mode.clone(),
                        target: kind.target.clone(),
                        plan: plan.uid().to_string(),
                    })
                    .inc();
                if status == types::SUCCEEDED {
                    let timed = &migration.status.timed;
                    if let (Some(started), Some(completed)) = (&timed.started, &timed.completed) {
                        let seconds = completed.0.duration_since(started.0).as_secs_f64();
                        self.migration_duration
                            .get_or_create(&kind.with_plan(plan.uid()))
                            .set(seconds);
                        self.migrations_duration
                            .get_or_create(&kind)
                            .observe(seconds);
                    }
                    self.data_transferred
                        .get_or_create(&kind.with_plan(plan.uid()))
                        .set(transferred(&migration.status.vms));
                }
            }
            for vm in &migration.status.vms {
                let Some(status) = vm_status(vm) else {
                    continue;
                };
                if seen.vms.insert(format!("{uid}/{}/{status}", vm.vm.id)) {
                    self.migrated_vms
                        .get_or_create(&kind.with_status(status))
                        .inc();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
