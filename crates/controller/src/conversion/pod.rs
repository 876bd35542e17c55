//! The pod a Conversion runs (upstream `pkg/controller/conversion/builder.go`,
//! `ensurer.go`, `context/doc.go`), and what the controller reads back from it. Pure.
//!
//! The virt-v2v pod (types `Remote`, `InPlace`, `Inspection`) is `ferry-plan`'s
//! [`v2v::pod`], the builder of the plan's direct route, fed with the plan fields a
//! Conversion carries ([`virt_v2v`]); only what upstream's Conversion route does
//! differently is changed afterwards: the metadata (the Conversion's labels plus
//! `conversion=<name>`, its annotations, `podSettings.generateName`), the affinity
//! (`podSettings.affinity` as given, none when absent), the disk paths a `DiskRef`
//! names, the inspection container's name and the VDDK side-car when `vddkImage` is
//! set. A Conversion built from a plan's run therefore yields the plan's direct pod
//! (the crate's tests compare them), except:
//!
//! - the labels `conversion` and `conversion-type`;
//! - the provider environment (the Conversion's `settings` map) comes in key order
//!   (upstream's comes in Go's random map order);
//! - no conversion temp storage: `ConversionSpec` has no field for it (upstream's
//!   Conversion route drops it too).
//!
//! Upstream's Conversion route always adds an empty `vddk-vol-mount` at `/opt`; Ferry
//! adds it only with the VDDK side-car that fills it.

use std::collections::BTreeMap;

use ferry_api::conversion::{ConversionType, DiskEncryptionType, DiskRef};
use ferry_api::labels::{self as keys, app};
use ferry_api::plan::PlanSpec;
use ferry_api::provider::ProviderSpec;
use ferry_api::{Conversion, Migration, Plan, Provider};
use ferry_plan::kubevirt::{Run, conversion as v2v};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, Pod, PodSecurityContext, PodSpec, ResourceRequirements,
    SeccompProfile, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The label naming the Conversion a pod belongs to.
pub const LABEL_CONVERSION: &str = keys::CONVERSION;
/// `forklift.app` of deep-inspection pods.
pub const APP_DEEP_INSPECTION: &str = "deep-inspection";
/// The VDDK library volume (`vddk-vol-mount`, an emptyDir at `/opt`).
pub const VDDK_VOLUME: &str = "vddk-vol-mount";
/// `spec.settings` keys that the virt-v2v pod takes as `V2V_RootDisk` and `V2V_NewName`
/// after the provider environment.
const ROOT_DISK: &str = "V2V_RootDisk";
const NEW_NAME: &str = "V2V_NewName";
/// The deep-inspection pod's user and group.
const DEEP_INSPECTION_ID: i64 = 1001;
/// The environment variable carrying a deep inspection's snapshot.
pub const SNAPSHOT_MOREF_ENV: &str = ferry_api::conversion::SETTINGS_SNAPSHOT_MOREF;

/// The namespace of the pod: `spec.targetNamespace`, else the Conversion's.
pub fn target_namespace(conversion: &Conversion) -> &str {
    if conversion.spec.target_namespace.is_empty() {
        conversion.namespace()
    } else {
        &conversion.spec.target_namespace
    }
}

/// `forklift.app` of the pod of a Conversion of this type.
pub fn app_of(conversion_type: &ConversionType) -> &'static str {
    match conversion_type {
        ConversionType::Inspection => app::VIRT_V2V_INSPECTION,
        ConversionType::DeepInspection => APP_DEEP_INSPECTION,
        _ => app::VIRT_V2V,
    }
}

/// The labels a Conversion's pod is found by: the Conversion's labels (without
/// `forklift.app`, which the builder sets per type) plus `conversion=<name>`.
pub fn selector(conversion: &Conversion) -> BTreeMap<String, String> {
    let mut labels = conversion.metadata.labels.clone().unwrap_or_default();
    labels.remove(keys::FORKLIFT_APP);
    labels.insert(LABEL_CONVERSION.into(), conversion.name().into());
    labels
}

/// The labels of the pod: [`selector`] plus `forklift.app`.
pub fn labels(conversion: &Conversion) -> BTreeMap<String, String> {
    let mut labels = selector(conversion);
    labels.insert(
        keys::FORKLIFT_APP.into(),
        app_of(&conversion.spec.r#type).into(),
    );
    labels
}

/// Whether `labels` has every pair of `selector`.
pub fn matches(
    labels: Option<&BTreeMap<String, String>>,
    selector: &BTreeMap<String, String>,
) -> bool {
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The owner reference a pod in the Conversion's own namespace gets, so deleting the
/// Conversion deletes it. (An owner in another namespace counts as absent for the
/// garbage collector, which would delete the pod at once: pods elsewhere get none.)
pub fn owner_reference(conversion: &Conversion) -> Option<OwnerReference> {
    (target_namespace(conversion) == conversion.namespace() && !conversion.uid().is_empty()).then(
        || OwnerReference {
            api_version: ferry_api::API_VERSION.into(),
            kind: "Conversion".into(),
            name: conversion.name().into(),
            uid: conversion.uid().into(),
            controller: Some(true),
            block_owner_deletion: None,
        },
    )
}

fn generate_name(conversion: &Conversion, suffix: &str) -> String {
    let base = &conversion.spec.pod_settings.generate_name;
    let base = if base.is_empty() {
        format!("{}-", conversion.name())
    } else {
        base.clone()
    };
    format!("{base}{suffix}")
}

/// The pod annotations: `podSettings.transferNetworkAnnotations`, then the Conversion's
/// own annotations (upstream copies both).
pub fn annotations(conversion: &Conversion) -> BTreeMap<String, String> {
    let mut annotations = conversion
        .spec
        .pod_settings
        .transfer_network_annotations
        .clone();
    annotations.extend(conversion.metadata.annotations.clone().unwrap_or_default());
    annotations
}

fn metadata(conversion: &Conversion, suffix: &str) -> ObjectMeta {
    let annotations = annotations(conversion);
    ObjectMeta {
        namespace: Some(target_namespace(conversion).to_string()),
        generate_name: Some(generate_name(conversion, suffix)),
        labels: Some(labels(conversion)),
        annotations: (!annotations.is_empty()).then_some(annotations),
        owner_references: owner_reference(conversion).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

/// PVC stand-ins for `v2v::disk_volumes`: name and volume mode of each disk.
fn claims(disks: &[DiskRef]) -> Vec<PersistentVolumeClaim> {
    disks
        .iter()
        .map(|disk| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(disk.name.clone()),
                namespace: Some(disk.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                volume_mode: disk.volume_mode.clone(),
                ..PersistentVolumeClaimSpec::default()
            }),
            status: None,
        })
        .collect()
}

/// Applies the paths a `DiskRef` names (`mountPath`, `devicePath`) over the index-based
/// defaults.
fn disk_paths(container: &mut Container, disks: &[DiskRef]) {
    for disk in disks {
        if !disk.mount_path.is_empty()
            && let Some(mount) = container
                .volume_mounts
                .iter_mut()
                .flatten()
                .find(|m| m.name == disk.name)
        {
            mount.mount_path.clone_from(&disk.mount_path);
        }
        if !disk.device_path.is_empty()
            && let Some(device) = container
                .volume_devices
                .iter_mut()
                .flatten()
                .find(|d| d.name == disk.name)
        {
            device.device_path.clone_from(&disk.device_path);
        }
    }
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

fn quantity(value: &str) -> Quantity {
    Quantity(value.into())
}

fn resources(requests: (&str, &str), limits: (&str, &str)) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), quantity(requests.0)),
            ("memory".into(), quantity(requests.1)),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".into(), quantity(limits.0)),
            ("memory".into(), quantity(limits.1)),
        ])),
        ..ResourceRequirements::default()
    }
}

fn no_escalation() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// The LUKS passphrase Secret of `diskEncryption`, when it is LUKS with one.
pub fn luks_secret(conversion: &Conversion) -> Option<&str> {
    conversion
        .spec
        .disk_encryption
        .as_ref()
        .filter(|e| e.r#type == DiskEncryptionType::Luks)
        .and_then(|e| e.secret.name.as_deref())
        .filter(|name| !name.is_empty())
}

/// A read-only Secret volume and its mount.
fn secret_volume(name: &str, secret: &str, path: &str) -> (Volume, VolumeMount) {
    (
        Volume {
            name: name.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.into()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
    )
}

fn vddk_volume() -> (Volume, VolumeMount) {
    (
        Volume {
            name: VDDK_VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
        VolumeMount {
            name: VDDK_VOLUME.into(),
            mount_path: "/opt".into(),
            ..VolumeMount::default()
        },
    )
}

/// Upstream's `vddk-side-car` init container.
fn vddk_side_car(image: &str) -> Container {
    Container {
        name: "vddk-side-car".into(),
        image: Some(image.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        volume_mounts: Some(vec![vddk_volume().1]),
        resources: Some(resources(("100m", "150Mi"), ("1000m", "500Mi"))),
        security_context: Some(no_escalation()),
        ..Container::default()
    }
}

/// The destination the plan would have: the host cluster when `localMigration`.
fn destination(local: bool) -> Provider {
    Provider::new(
        "",
        "",
        ProviderSpec {
            r#type: Some("openshift".into()),
            url: if local {
                String::new()
            } else {
                "https://remote.invalid".into()
            },
            ..ProviderSpec::default()
        },
    )
}

/// The plan fields the virt-v2v pod reads, from the Conversion.
fn plan_of(conversion: &Conversion) -> Plan {
    let spec = &conversion.spec;
    let pod = &spec.pod_settings;
    let mut plan = Plan::new(
        conversion.namespace(),
        conversion.name(),
        PlanSpec::default(),
    );
    plan.spec.target_namespace = target_namespace(conversion).to_string();
    plan.spec.virt_v2v_image.clone_from(&spec.image);
    plan.spec.xfs_compatibility = spec.xfs_compatibility;
    plan.spec
        .convertor_node_selector
        .clone_from(&pod.node_selector);
    plan.spec.convertor_affinity.clone_from(&pod.affinity);
    plan.spec.service_account.clone_from(&pod.service_account);
    plan
}

/// What the plan's builder takes, from the Conversion. `disks` are the spec's disks
/// with their volume modes resolved.
fn inputs(conversion: &Conversion, disks: &[DiskRef]) -> v2v::Inputs {
    let spec = &conversion.spec;
    let setting = |key: &str| spec.settings.get(key).cloned().unwrap_or_default();
    let encryption = spec.disk_encryption.as_ref();
    v2v::Inputs {
        vm: spec.vm.clone(),
        new_name: setting(NEW_NAME),
        root_disk: setting(ROOT_DISK),
        conversion_type: if spec.r#type == ConversionType::InPlace {
            ConversionType::InPlace
        } else {
            ConversionType::Remote
        },
        pvcs: claims(disks),
        secret: spec.connection.secret.name.clone().unwrap_or_default(),
        provider_env: spec
            .settings
            .iter()
            .filter(|(name, _)| *name != ROOT_DISK && *name != NEW_NAME)
            .map(|(name, value)| env(name, value))
            .collect(),
        extra_volumes: spec.extra_volumes.clone(),
        extra_mounts: spec.extra_mounts.clone(),
        transfer_network: BTreeMap::new(),
        udn: false,
        request_kvm: spec.pod_settings.request_kvm(),
        luks_secret: luks_secret(conversion).map(String::from),
        extra_v2v_conf: None,
        customization_scripts: None,
        clevis: encryption.is_some_and(|e| e.r#type == DiskEncryptionType::Clevis),
    }
}

/// The virt-v2v conversion or inspection pod of a Conversion (types `Remote`, `InPlace`,
/// `Inspection`). `disks` are `spec.disks` with their volume modes resolved from the
/// claims.
pub fn virt_v2v(
    conversion: &Conversion,
    disks: &[DiskRef],
    settings: &ferry_plan::Settings,
) -> Pod {
    let plan = plan_of(conversion);
    let migration = Migration::new(conversion.namespace(), "", Default::default());
    let source = Provider::new("", "", ProviderSpec::default());
    let destination = destination(conversion.spec.local_migration);
    let run = Run {
        plan: &plan,
        migration: &migration,
        source: &source,
        destination: &destination,
        settings,
    };
    let mut pod = v2v::pod(&run, &inputs(conversion, disks));
    let inspection = conversion.spec.r#type == ConversionType::Inspection;
    pod.metadata = metadata(conversion, if inspection { "inspection-" } else { "" });
    if let Some(spec) = pod.spec.as_mut() {
        spec.affinity
            .clone_from(&conversion.spec.pod_settings.affinity);
        if let Some(container) = spec.containers.first_mut() {
            disk_paths(container, disks);
            if inspection {
                container.name = app::VIRT_V2V_INSPECTION.into();
            }
        }
        let vddk = &conversion.spec.vddk_image;
        if !vddk.is_empty() {
            let (volume, mount) = vddk_volume();
            spec.volumes.get_or_insert_with(Vec::new).push(volume);
            if let Some(container) = spec.containers.first_mut() {
                container
                    .volume_mounts
                    .get_or_insert_with(Vec::new)
                    .push(mount);
            }
            spec.init_containers = Some(vec![vddk_side_car(vddk)]);
        }
    }
    pod
}

/// The deep-inspection workload's images (`DEEP_INSPECTION_IMAGE`,
/// `DEEP_INSPECTION_IMAGE_XFS`).
#[derive(Clone, Debug, Default)]
pub struct DeepInspectionImages {
    /// The default image.
    pub image: String,
    /// The image for `xfsCompatibility`.
    pub xfs: String,
}

/// Why a deep-inspection pod cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No image at all.
    #[error(
        "deep inspection container image is not set (Conversion spec.image, DEEP_INSPECTION_IMAGE, or DEEP_INSPECTION_IMAGE_XFS when xfsCompatibility is enabled)"
    )]
    NoDeepInspectionImage,
    /// No VDDK image.
    #[error(
        "VDDK image is required for deep inspection but is not set (Conversion spec.vddkImage)"
    )]
    NoVddkImage,
}

fn deep_inspection_image<'a>(
    conversion: &'a Conversion,
    images: &'a DeepInspectionImages,
) -> &'a str {
    let spec = &conversion.spec;
    if !spec.image.is_empty() {
        &spec.image
    } else if spec.xfs_compatibility && !images.xfs.is_empty() {
        &images.xfs
    } else {
        &images.image
    }
}

/// The deep-inspection pod (upstream `BuildDeepInspectionPod`): the disks, the LUKS
/// secret, the extra volumes, the VDDK library and the connection secret at
/// `/etc/secret`; the environment is `spec.settings` (without `SNAPSHOT_MOREF`),
/// `VM_MOREF`, the snapshot to read (`snapshot`) and `V2V_NBDE_CLEVIS`.
pub fn deep_inspection(
    conversion: &Conversion,
    disks: &[DiskRef],
    snapshot: Option<&str>,
    settings: &ferry_plan::Settings,
    images: &DeepInspectionImages,
) -> Result<Pod, BuildError> {
    let spec = &conversion.spec;
    let image = deep_inspection_image(conversion, images);
    if image.is_empty() {
        return Err(BuildError::NoDeepInspectionImage);
    }
    if spec.vddk_image.is_empty() {
        return Err(BuildError::NoVddkImage);
    }
    let (mut volumes, mut mounts, devices) = v2v::disk_volumes(&claims(disks));
    let encryption = spec.disk_encryption.as_ref();
    if let Some(luks) = luks_secret(conversion) {
        let (volume, mount) = secret_volume("luks", luks, "/etc/luks");
        volumes.push(volume);
        mounts.push(mount);
    }
    volumes.extend(spec.extra_volumes.iter().cloned());
    mounts.extend(spec.extra_mounts.iter().cloned());
    if !volumes.iter().any(|v| v.name == VDDK_VOLUME) {
        let (volume, mount) = vddk_volume();
        volumes.push(volume);
        mounts.push(mount);
    }
    if let Some(secret) = spec
        .connection
        .secret
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        let (volume, mount) = secret_volume("connection-secret", secret, "/etc/secret");
        volumes.push(volume);
        mounts.push(mount);
    }
    let mut environment: Vec<EnvVar> = spec
        .settings
        .iter()
        .filter(|(name, _)| *name != SNAPSHOT_MOREF_ENV)
        .map(|(name, value)| env(name, value))
        .collect();
    if !spec.vm.id.is_empty() {
        environment.push(env("VM_MOREF", &spec.vm.id));
    }
    if let Some(moref) = snapshot.filter(|m| !m.is_empty()) {
        environment.push(env(SNAPSHOT_MOREF_ENV, moref));
    }
    if encryption.is_some_and(|e| e.r#type == DiskEncryptionType::Clevis) {
        environment.push(env("V2V_NBDE_CLEVIS", "true"));
    }
    let mut container = Container {
        name: APP_DEEP_INSPECTION.into(),
        image: Some(image.into()),
        image_pull_policy: Some("Always".into()),
        env: Some(environment),
        resources: Some(resources(("100m", "512Mi"), ("2000m", "4Gi"))),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        volume_devices: (!devices.is_empty()).then_some(devices),
        security_context: Some(no_escalation()),
        ..Container::default()
    };
    disk_paths(&mut container, disks);
    let node_selector = spec.pod_settings.node_selector.clone();
    let mut pod_spec = PodSpec {
        security_context: Some(PodSecurityContext {
            fs_group: Some(DEEP_INSPECTION_ID),
            run_as_user: Some(DEEP_INSPECTION_ID),
            run_as_non_root: Some(true),
            seccomp_profile: Some(seccomp(settings.openshift)),
            ..PodSecurityContext::default()
        }),
        node_selector: (!node_selector.is_empty()).then_some(node_selector),
        affinity: spec.pod_settings.affinity.clone(),
        restart_policy: Some("Never".into()),
        init_containers: Some(vec![vddk_side_car(&spec.vddk_image)]),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    let account = if spec.pod_settings.service_account.is_empty() {
        &settings.migration_service_account
    } else {
        &spec.pod_settings.service_account
    };
    if !account.is_empty() {
        pod_spec.service_account_name = Some(account.clone());
    }
    set_kvm(&mut pod_spec, spec.pod_settings.request_kvm());
    Ok(Pod {
        metadata: metadata(conversion, "deep-inspection-"),
        spec: Some(pod_spec),
        status: None,
    })
}

fn seccomp(openshift: bool) -> SeccompProfile {
    if openshift {
        SeccompProfile {
            type_: "Localhost".into(),
            localhost_profile: Some("profiles/unshare.json".into()),
        }
    } else {
        SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }
    }
}

/// Upstream `SetKvmOnPodSpec`.
fn set_kvm(spec: &mut PodSpec, request: bool) {
    if !request {
        return;
    }
    spec.node_selector
        .get_or_insert_with(BTreeMap::new)
        .insert(v2v::KVM_NODE_LABEL.into(), "true".into());
    if let Some(container) = spec.containers.first_mut() {
        let resources = container
            .resources
            .get_or_insert_with(ResourceRequirements::default);
        for list in [&mut resources.limits, &mut resources.requests] {
            list.get_or_insert_with(BTreeMap::new)
                .insert(v2v::KVM_RESOURCE.into(), quantity("1"));
        }
    }
}

/// Where a pod stands, as the controller reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Not running yet; `reason` says why (upstream `pendingPodReason`).
    Pending {
        /// Why it waits.
        reason: String,
    },
    /// Running, at `ip` when it has one.
    Running {
        /// The pod IP.
        ip: Option<String>,
    },
    /// Exited with success.
    Succeeded,
    /// Exited with failure; `message` is the termination message.
    Failed {
        /// What the pod said.
        message: String,
    },
    /// The node lost the pod.
    Unknown,
}

/// Reads a pod's state (no status is `Pending`).
pub fn state(pod: &Pod) -> PodState {
    let status = pod.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => PodState::Running {
            ip: status
                .and_then(|s| s.pod_ip.clone())
                .filter(|ip| !ip.is_empty()),
        },
        Some("Succeeded") => PodState::Succeeded,
        Some("Failed") => PodState::Failed {
            message: termination_message(pod),
        },
        Some("Unknown") => PodState::Unknown,
        _ => PodState::Pending {
            reason: pending_reason(pod),
        },
    }
}

/// Why a pod is Pending: an unschedulable pod's scheduler message, else the first
/// waiting container's reason (init containers too), else a hint.
pub fn pending_reason(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else {
        return "check pod events for mount/scheduling failures".into();
    };
    for condition in status.conditions.iter().flatten() {
        if condition.type_ == "PodScheduled" && condition.status == "False" {
            return format!(
                "Unschedulable: {}",
                condition.message.as_deref().unwrap_or_default()
            );
        }
    }
    let containers = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten());
    for container in containers {
        if let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref())
            && let Some(reason) = waiting.reason.as_deref().filter(|r| !r.is_empty())
        {
            return format!(
                "{reason}: {}",
                waiting.message.as_deref().unwrap_or_default()
            );
        }
    }
    "check pod events for mount/scheduling failures".into()
}

/// What a failed pod said: the termination message of the first container that failed
/// (init containers too), else its exit code and reason, else the pod's own message.
pub fn termination_message(pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else {
        return String::new();
    };
    let containers = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten());
    for container in containers {
        let Some(terminated) = container.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if terminated.exit_code == 0 {
            continue;
        }
        let message = terminated.message.as_deref().unwrap_or_default().trim();
        if !message.is_empty() {
            return message.to_string();
        }
        return match terminated.reason.as_deref().filter(|r| !r.is_empty()) {
            Some(reason) => format!(
                "container {} exited with code {} ({reason})",
                container.name, terminated.exit_code
            ),
            None => format!(
                "container {} exited with code {}",
                container.name, terminated.exit_code
            ),
        };
    }
    [status.reason.as_deref(), status.message.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}
