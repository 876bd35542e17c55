//! `ferry-plan`'s reconcile as the manager's [`PlanReconciler`]: its context is built
//! once from the manager's (client, settings, clock, the inventory registry, the OVA
//! adapter, Events through the manager's publisher), its results become kube-runtime
//! actions and its errors the manager's error classes.

use std::sync::{Arc, OnceLock};

use ferry_api::{ObjectReference, Plan, Time};
use ferry_plan::adapter::Adapters;
use ferry_plan::adapter::ova::OvaAdapter;
use ferry_plan::adapter::vsphere::VsphereAdapter;
use ferry_plan::events::{PlanEvent, Recorder};
use ferry_plan::settings::ContainerResources;
use futures::future::BoxFuture;
use kube::runtime::controller::Action;

use super::{PlanError, PlanReconciler};
use crate::clock::Clock;
use crate::context::Context;
use crate::error::ErrorClass;
use crate::events::{EventSpec, Publisher};
use crate::settings::{PodResources, Settings};

fn resources(pod: &PodResources) -> ContainerResources {
    ContainerResources {
        limits_cpu: pod.limits_cpu.clone(),
        limits_memory: pod.limits_memory.clone(),
        requests_cpu: pod.requests_cpu.clone(),
        requests_memory: pod.requests_memory.clone(),
    }
}

fn seconds(value: i64) -> std::time::Duration {
    std::time::Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

/// The plan controller's settings, from the manager's.
pub fn plan_settings(settings: &Settings) -> ferry_plan::Settings {
    let defaults = ferry_plan::Settings::default();
    let migration = &settings.migration;
    let features = &settings.features;
    let images = &settings.images;
    let or_default = |value: &str, default: &str| {
        if value.is_empty() {
            default.to_string()
        } else {
            value.to_string()
        }
    };
    ferry_plan::Settings {
        max_vm_inflight: usize::try_from(migration.max_vm_inflight).unwrap_or(1),
        blocker_grace_period: seconds(migration.blocker_grace_period_minutes.saturating_mul(60)),
        precopy_interval: seconds(migration.precopy_interval_minutes.saturating_mul(60)),
        hook_retry: i32::try_from(migration.hook_retry).unwrap_or(i32::MAX),
        importer_retry: i32::try_from(migration.importer_retry).unwrap_or(i32::MAX),
        use_conversion_cr: features.use_conversion_cr,
        windows_wait_for_reboot: features.windows_wait_for_reboot,
        windows_reboot_timeout: seconds(migration.windows_reboot_timeout_seconds),
        copy_offload: features.copy_offload,
        ovirt_warm_migration: features.ovirt_warm_migration,
        ocp_live_migration: features.ocp_live_migration,
        static_udn_ip_addresses: features.static_udn_ip_addresses(&settings.manager),
        retain_precopy_importer_pods: features.retain_precopy_importer_pods,
        retain_populator_pods: features.retain_populator_pods,
        vsphere_vmware_driver_removal: features.vsphere_vmware_driver_removal,
        windows_registry_network_config: features.windows_registry_network_config,
        xfs_repair_ignore: features.xfs_repair_ignore,
        wait_for_final_snapshot_consolidation: migration.wait_for_final_snapshot_consolidation,
        virt_v2v_image: or_default(&images.virt_v2v, &defaults.virt_v2v_image),
        virt_v2v_image_xfs: or_default(&images.virt_v2v_xfs, &defaults.virt_v2v_image_xfs),
        vddk_image: images.vddk.clone(),
        virt_v2v_dont_request_kvm: migration.virt_v2v_dont_request_kvm,
        virt_v2v_extra_args: migration.virt_v2v_extra_args.clone(),
        virt_v2v_inspector_extra_args: migration.virt_v2v_inspector_extra_args.clone(),
        virt_v2v_extra_conf_config_map: migration.virt_v2v_extra_conf_config_map.clone(),
        virt_v2v_memsize: migration.virt_v2v_memsize,
        virt_v2v_smp: migration.virt_v2v_smp,
        virt_v2v_container: resources(&settings.resources.virt_v2v),
        hooks_container: resources(&settings.resources.hooks),
        migration_service_account: migration.service_account.clone(),
        pvc_name_template: migration.pvc_name_template.clone(),
        ocp_pvc_name_template: migration.ocp_pvc_name_template.clone(),
        openshift: settings.manager.openshift,
        openshift_version: settings.manager.openshift_version.clone(),
        pod_namespace: settings.manager.pod_namespace.clone(),
        vddk_job_active_deadline: seconds(migration.vddk_job_active_deadline_seconds),
        aap_url: settings.aap.url.clone(),
        aap_token_secret_name: settings.aap.token_secret_name.clone(),
    }
}

struct PlanClock(Arc<dyn Clock>);

impl ferry_plan::reconcile::Clock for PlanClock {
    fn now(&self) -> Time {
        crate::clock::time(self.0.as_ref())
    }
}

struct PlanEvents(Publisher);

impl Recorder for PlanEvents {
    fn publish<'a>(
        &'a self,
        regarding: &'a ObjectReference,
        events: Vec<PlanEvent>,
    ) -> BoxFuture<'a, ()> {
        let events = events
            .into_iter()
            .map(|event| EventSpec {
                warning: event.warning,
                reason: event.reason,
                note: event.note,
                action: event.action,
            })
            .collect();
        Box::pin(self.0.publish(regarding, events))
    }
}

/// The plan controller of `ferry-plan`, with the OVA adapter.
#[derive(Default)]
pub struct FerryPlan {
    context: OnceLock<Arc<ferry_plan::Context>>,
}

impl FerryPlan {
    /// A plan controller whose context is built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn context(&self, ctx: &Context) -> Result<Arc<ferry_plan::Context>, PlanError> {
        if let Some(context) = self.context.get() {
            return Ok(Arc::clone(context));
        }
        let mut adapters = Adapters::new();
        OvaAdapter::register(&mut adapters);
        VsphereAdapter::register(&mut adapters);
        let inventories: Arc<dyn ferry_plan::observe::Inventories> =
            Arc::clone(ctx.collectors.registry()) as _;
        let context = ferry_plan::Context::new(
            ctx.client.clone(),
            Arc::new(plan_settings(&ctx.settings)),
            adapters,
            inventories,
        )
        .map_err(|error| PlanError {
            class: ErrorClass::Transient,
            reason: "HttpClient",
            message: format!("cannot build the conversion pods' HTTP client: {error}"),
        })?
        .with_recorder(Arc::new(PlanEvents(Publisher::new(
            ctx.client.clone(),
            super::NAME,
            &ctx.instance,
        ))))
        .with_clock(Arc::new(PlanClock(Arc::clone(&ctx.clock))));
        Ok(Arc::clone(self.context.get_or_init(|| Arc::new(context))))
    }
}

fn class(class: ferry_plan::ErrorClass) -> ErrorClass {
    match class {
        ferry_plan::ErrorClass::Conflict => ErrorClass::Conflict,
        ferry_plan::ErrorClass::ProviderNotReady => ErrorClass::ProviderNotReady,
        ferry_plan::ErrorClass::Transient => ErrorClass::Transient,
    }
}

async fn run(
    context: Arc<ferry_plan::Context>,
    namespace: String,
    name: String,
) -> Result<Action, PlanError> {
    match ferry_plan::reconcile(&context, &namespace, &name).await {
        Ok(done) => Ok(match done.requeue {
            Some(after) => Action::requeue(after),
            None => Action::await_change(),
        }),
        Err(error) => Err(PlanError {
            class: class(error.class()),
            reason: error.reason(),
            message: error.to_string(),
        }),
    }
}

impl PlanReconciler for FerryPlan {
    fn reconcile(
        &self,
        plan: Arc<Plan>,
        ctx: Arc<Context>,
    ) -> BoxFuture<'static, Result<Action, PlanError>> {
        let context = self.context(&ctx);
        let (namespace, name) = (plan.namespace().to_string(), plan.name().to_string());
        Box::pin(async move { run(context?, namespace, name).await })
    }

    fn deleted(
        &self,
        plan: Arc<Plan>,
        ctx: Arc<Context>,
    ) -> BoxFuture<'static, Result<(), PlanError>> {
        let context = self.context(&ctx);
        let (namespace, name) = (plan.namespace().to_string(), plan.name().to_string());
        // ferry-plan's reconcile of a Plan that is gone deletes what it left behind.
        Box::pin(async move { run(context?, namespace, name).await.map(|_| ()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_carry_over() {
        let mut settings = Settings::defaults().unwrap();
        settings.migration.max_vm_inflight = 3;
        settings.migration.blocker_grace_period_minutes = 7;
        settings.features.use_conversion_cr = false;
        settings.images.vddk = "quay.io/me/vddk:8".into();
        let plan = plan_settings(&settings);
        assert_eq!(plan.max_vm_inflight, 3);
        assert_eq!(
            plan.blocker_grace_period,
            std::time::Duration::from_secs(420)
        );
        assert!(!plan.use_conversion_cr);
        assert_eq!(plan.vddk_image, "quay.io/me/vddk:8");
        assert_eq!(
            plan.virt_v2v_image,
            ferry_plan::Settings::default().virt_v2v_image,
            "no VIRT_V2V_IMAGE keeps the plan controller's default image"
        );
        assert_eq!(plan.virt_v2v_container.limits_memory, "8Gi");
    }
}
