//! KubeVirt's VirtualMachine controller, as the API sees it: a VM whose run strategy
//! says it runs (`Always`, `RerunOnFailure`, `Once`) gets a VirtualMachineInstance once
//! its volumes are ready; a `Halted` one has none; `Manual` keeps what it has. The VM's
//! status is what KubeVirt reports: `printableStatus` (`Stopped`, `Provisioning`,
//! `WaitingForVolumeBinding`, `ErrorDataVolumeNotFound`, `ErrorPvcNotFound`,
//! `Starting`, `Running`, `Stopping`, `WaitingForReceiver`), `ready`, `created`,
//! `runStrategy`, and the `Ready` condition.
//!
//! No guest runs: the VMI is `Running` on the node `sandbox` with the VM's interfaces
//! and no launcher pod.

use std::sync::Arc;
use std::time::Duration;

use ferry_api::destination::{DataVolume, VirtualMachine, VirtualMachineInstance};
use futures::StreamExt;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::{ClusterConfig, NODE_NAME};
use super::error::{Error, Result};
use super::kubeapi;

const MANAGER: &str = "ferry-sandbox-virt-controller";

struct Ctx {
    client: kube::Client,
    config: Arc<ClusterConfig>,
}

/// Runs the VM controller until `stop` is cancelled.
pub async fn run(client: kube::Client, config: Arc<ClusterConfig>, stop: CancellationToken) {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config,
    });
    Controller::new(
        Api::<VirtualMachine>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<VirtualMachineInstance>::all(client),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(stop.cancelled_owned())
    .run(reconcile, retry, ctx)
    .for_each(|_| async {})
    .await;
}

fn retry(_vm: Arc<VirtualMachine>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(%error, "kubevirt: retrying");
    Action::requeue(Duration::from_millis(500))
}

/// Whether the VM should run, from its run strategy and whether it runs now (pure).
pub fn wants_running(vm: &VirtualMachine, has_instance: bool) -> bool {
    let strategy = vm.spec.run_strategy.clone().unwrap_or_else(|| {
        if vm.spec.running == Some(true) {
            "Always"
        } else {
            "Halted"
        }
        .into()
    });
    match strategy.as_str() {
        "Always" | "RerunOnFailure" | "Once" => true,
        "Manual" => has_instance,
        _ => false,
    }
}

/// Why a VM's volumes are not ready: the printable status it shows (pure over what
/// was found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volumes {
    /// All ready.
    Ready,
    /// A DataVolume is still importing.
    Provisioning,
    /// A claim is not bound.
    WaitingForBinding,
    /// A DataVolume is missing.
    DataVolumeMissing,
    /// A claim is missing.
    ClaimMissing,
}

impl Volumes {
    fn printable(self) -> &'static str {
        match self {
            Self::Ready => "Starting",
            Self::Provisioning => "Provisioning",
            Self::WaitingForBinding => "WaitingForVolumeBinding",
            Self::DataVolumeMissing => "ErrorDataVolumeNotFound",
            Self::ClaimMissing => "ErrorPvcNotFound",
        }
    }
}

async fn volumes(ctx: &Ctx, vm: &VirtualMachine) -> Result<Volumes> {
    let namespace = vm.metadata.namespace.clone().unwrap_or_default();
    let dvs: Api<DataVolume> = Api::namespaced(ctx.client.clone(), &namespace);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
    for volume in &vm.spec.template.spec.volumes {
        let (claim, dv) = match (&volume.persistent_volume_claim, &volume.data_volume) {
            (Some(pvc), _) => (pvc.claim_name.clone(), None),
            (None, Some(dv)) => (dv.name.clone(), Some(dv.name.clone())),
            _ => continue,
        };
        let pvc = kubeapi::get_opt(&pvcs, &claim).await?;
        if let Some(dv) = dv {
            match kubeapi::get_opt(&dvs, &dv).await? {
                Some(dv) if dv.status.phase.as_deref() != Some("Succeeded") => {
                    return Ok(Volumes::Provisioning);
                }
                Some(_) => {}
                None if pvc.is_none() => return Ok(Volumes::DataVolumeMissing),
                None => {}
            }
        }
        match pvc {
            None => return Ok(Volumes::ClaimMissing),
            Some(pvc) if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound") => {
                return Ok(Volumes::WaitingForBinding);
            }
            Some(_) => {}
        }
    }
    Ok(Volumes::Ready)
}

fn ready_condition(ready: bool, reason: &str, message: &str, now: &str) -> Value {
    let mut c = json!({
        "type": "Ready",
        "status": if ready { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now,
    });
    if !ready {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    }
    c
}

async fn reconcile(vm: Arc<VirtualMachine>, ctx: Arc<Ctx>) -> Result<Action> {
    if vm.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if let Some(rest) = kubeapi::held(&ctx.config.faults, "virtualmachine", &vm.metadata) {
        return Ok(Action::requeue(rest));
    }
    let namespace = vm.metadata.namespace.clone().unwrap_or_default();
    let name = vm.name_any();
    let vms: Api<VirtualMachine> = Api::namespaced(ctx.client.clone(), &namespace);
    let vmis: Api<VirtualMachineInstance> = Api::namespaced(ctx.client.clone(), &namespace);
    let instance = kubeapi::get_opt(&vmis, &name).await?;
    let want = wants_running(&vm, instance.is_some());
    let now = kubeapi::now();
    let strategy = vm.spec.run_strategy.clone().unwrap_or_else(|| {
        if vm.spec.running == Some(true) {
            "Always"
        } else {
            "Halted"
        }
        .into()
    });
    let mut action = Action::await_change();
    let (printable, ready, created, reason, message) = match (&instance, want) {
        (None, false) => {
            let p = if strategy == "WaitAsReceiver" {
                "WaitingForReceiver"
            } else {
                "Stopped"
            };
            (p, false, false, "VMINotExists", "VMI does not exist")
        }
        (Some(vmi), false) => {
            if vmi.metadata.deletion_timestamp.is_none() {
                match vmis.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if super::error::is_status(&e, 404) => {}
                    Err(e) => {
                        return Err(Error::kube(format!("deleting VMI {namespace}/{name}"), e));
                    }
                }
            }
            ("Stopping", false, true, "VMINotExists", "VMI is stopping")
        }
        (None, true) => match volumes(&ctx, &vm).await? {
            Volumes::Ready => {
                create_instance(&vm, &vmis).await?;
                action = Action::requeue(ctx.config.pace.pod_start);
                (
                    "Starting",
                    false,
                    true,
                    "GuestNotRunning",
                    "Guest VM is not reported as running",
                )
            }
            other => {
                action = Action::requeue(Duration::from_secs(1));
                (
                    other.printable(),
                    false,
                    false,
                    "VMINotExists",
                    "VMI does not exist",
                )
            }
        },
        (Some(vmi), true) => {
            let phase = vmi.status.phase.clone().unwrap_or_default();
            if phase == "Running" {
                ("Running", true, true, "", "")
            } else {
                let vmi_status = json!({
                    "phase": "Running",
                    "nodeName": NODE_NAME,
                    "qosClass": "Burstable",
                    "migrationMethod": "BlockMigration",
                    "guestOSInfo": {},
                    "interfaces": vm.spec.template.spec.domain.devices.interfaces.iter().map(|i| json!({
                        "name": i.name,
                        "mac": i.mac_address,
                        "infoSource": "domain",
                        "queueCount": 1,
                    })).collect::<Vec<_>>(),
                    "conditions": [
                        ready_condition(true, "", "", &now),
                        { "type": "LiveMigratable", "status": "False", "reason": "DisksNotLiveMigratable",
                          "message": "cannot migrate VMI: PVC is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)",
                          "lastProbeTime": null, "lastTransitionTime": now },
                    ],
                    "phaseTransitionTimestamps": [
                        { "phase": "Pending", "phaseTransitionTimestamp": now },
                        { "phase": "Scheduling", "phaseTransitionTimestamp": now },
                        { "phase": "Scheduled", "phaseTransitionTimestamp": now },
                        { "phase": "Running", "phaseTransitionTimestamp": now },
                    ],
                });
                kubeapi::merge_status(&vmis, &name, MANAGER, &vmi_status).await?;
                ("Running", true, true, "", "")
            }
        }
    };
    let old_ready = vm
        .status
        .extra
        .get("conditions")
        .and_then(|c| c.as_array())
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned();
    let transition = old_ready
        .as_ref()
        .filter(|c| c["status"] == if ready { "True" } else { "False" })
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let mut condition = ready_condition(ready, reason, message, &now);
    condition["lastTransitionTime"] = transition;
    let status = json!({
        "printableStatus": printable,
        "ready": ready,
        "created": created,
        "runStrategy": strategy,
        "desiredGeneration": vm.metadata.generation,
        "observedGeneration": vm.metadata.generation,
        "conditions": [condition],
        "volumeSnapshotStatuses": vm.spec.template.spec.volumes.iter().map(|v| json!({
            "name": v.name, "enabled": false, "reason": "No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass",
        })).collect::<Vec<_>>(),
    });
    let unchanged = vm.status.printable_status.as_deref() == Some(printable)
        && vm.status.ready == Some(ready)
        && vm.status.created == Some(created)
        && vm.status.extra.get("observedGeneration") == Some(&json!(vm.metadata.generation));
    if !unchanged {
        kubeapi::merge_status(&vms, &name, MANAGER, &status).await?;
    }
    Ok(action)
}

async fn create_instance(vm: &VirtualMachine, vmis: &Api<VirtualMachineInstance>) -> Result<()> {
    let template = &vm.spec.template;
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert("kubevirt.io/nodeName".into(), NODE_NAME.into());
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let spec =
        serde_json::to_value(&template.spec).map_err(|e| Error::json("encoding a VMI spec", e))?;
    let vmi: VirtualMachineInstance = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {
            "name": vm.name_any(),
            "namespace": vm.metadata.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [kubeapi::owner_reference(vm, true)],
            "finalizers": ["kubevirt.io/virtualMachineControllerFinalize"],
        },
        "spec": spec,
    }))
    .map_err(|e| Error::json("building a VMI", e))?;
    match vmis.create(&PostParams::default(), &vmi).await {
        Ok(_) => {
            let _ = kubeapi::merge_status(
                vmis,
                &vm.name_any(),
                MANAGER,
                &json!({ "phase": "Scheduling", "nodeName": NODE_NAME }),
            )
            .await;
            Ok(())
        }
        Err(e) if super::error::is_status(&e, 409) => Ok(()),
        Err(e) => Err(Error::kube(format!("creating VMI {}", kubeapi::key(vm)), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(strategy: Option<&str>, running: Option<bool>) -> VirtualMachine {
        let mut value = json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": { "name": "v" }, "spec": { "template": { "spec": {} } } });
        if let Some(s) = strategy {
            value["spec"]["runStrategy"] = json!(s);
        }
        if let Some(r) = running {
            value["spec"]["running"] = json!(r);
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn run_strategies() {
        assert!(wants_running(&vm(Some("Always"), None), false));
        assert!(!wants_running(&vm(Some("Halted"), None), true));
        assert!(wants_running(&vm(Some("Manual"), None), true));
        assert!(!wants_running(&vm(Some("Manual"), None), false));
        assert!(wants_running(&vm(None, Some(true)), false));
        assert!(!wants_running(&vm(None, None), false));
        assert!(!wants_running(&vm(Some("WaitAsReceiver"), None), false));
    }
}
