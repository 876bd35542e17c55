//! The guest conversion (plan spec §6.4): a `Conversion` resource (upstream's default,
//! `FEATURE_USE_CONVERSION_CR`) or, with the feature off, the virt-v2v pod itself. Both are
//! built from the same [`Inputs`], so the pod the Conversion controller creates and the
//! one Ferry creates directly are the same.

use super::{Run, labels};
use crate::settings::Settings;
use ferry_api::conversion::{
    Connection, ConversionSpec, ConversionType, DiskEncryption, DiskEncryptionType, DiskRef,
    PodSettings,
};
use ferry_api::k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvFromSource, EnvVar,
    EphemeralVolumeSource, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimTemplate, PersistentVolumeClaimVolumeSource, Pod, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, ResourceRequirements, SeccompProfile,
    SecretEnvSource, SecretVolumeSource, SecurityContext, Volume, VolumeDevice, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement,
};
use ferry_api::labels::{self as keys, annotation};
use ferry_api::{Conversion, ObjectReference, Ref};
use std::collections::BTreeMap;

/// The qemu user and group the conversion runs as.
pub const QEMU_ID: i64 = 107;
/// The node label KubeVirt puts on nodes that can run VMs.
pub const KVM_NODE_LABEL: &str = "kubevirt.io/schedulable";
/// The KVM device resource.
pub const KVM_RESOURCE: &str = "devices.kubevirt.io/kvm";
/// The provider storage volume name (OVA: the NFS share).
pub const TEMP_STORAGE_VOLUME: &str = "conversion-temp-storage";
/// Where conversion temp storage is mounted (and `TMPDIR`).
pub const TEMP_STORAGE_PATH: &str = "/var/tmp/virt-v2v";
/// The volume of the customization scripts.
pub const SCRIPTS_VOLUME: &str = "scripts-volume-mount";
/// Where the customization scripts are mounted.
pub const SCRIPTS_PATH: &str = "/mnt/dynamic_scripts";
/// The volume of the extra virt-v2v configuration.
pub const EXTRA_V2V_CONF_VOLUME: &str = "extra-v2v-conf";

/// Everything the conversion of one VM needs, resolved by the engine.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The source VM (resolved reference).
    pub vm: Ref,
    /// The target name when it differs from the source name (`V2V_NewName`).
    pub new_name: String,
    /// `V2V_RootDisk`, when set on the VM.
    pub root_disk: String,
    /// `InPlace` (disks already on the destination) or `Remote` (virt-v2v copies).
    pub conversion_type: ConversionType,
    /// The VM's disk PVCs, in the VM's disk order.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// The virt-v2v secret's name.
    pub secret: String,
    /// The provider's environment (upstream `PodEnvironment`).
    pub provider_env: Vec<EnvVar>,
    /// Provider storage and other extra volumes, with their mounts (passed to the
    /// Conversion as `extraVolumes`/`extraMounts`).
    pub extra_volumes: Vec<Volume>,
    /// Mounts of [`Self::extra_volumes`].
    pub extra_mounts: Vec<VolumeMount>,
    /// The transfer network's annotations.
    pub transfer_network: BTreeMap<String, String>,
    /// The target namespace has a primary user-defined network.
    pub udn: bool,
    /// Request `/dev/kvm`.
    pub request_kvm: bool,
    /// The copied LUKS secret, when the VM has one (and no Clevis).
    pub luks_secret: Option<String>,
    /// The name of the extra virt-v2v configuration ConfigMap in the target namespace,
    /// when configured.
    pub extra_v2v_conf: Option<String>,
    /// The customization scripts ConfigMap in the target namespace, when configured.
    pub customization_scripts: Option<String>,
    /// Unlock disks with Clevis (`nbdeClevis`; takes precedence over LUKS).
    pub clevis: bool,
}

/// upstream's default convertor affinity: spread virt-v2v pods across nodes.
pub fn default_affinity() -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        namespace_selector: Some(LabelSelector::default()),
                        topology_key: "kubernetes.io/hostname".into(),
                        label_selector: Some(LabelSelector {
                            match_expressions: Some(vec![LabelSelectorRequirement {
                                key: keys::FORKLIFT_APP.into(),
                                operator: "In".into(),
                                values: Some(vec!["virt-v2v".into()]),
                            }]),
                            ..LabelSelector::default()
                        }),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// The UDN annotation opening the conversion pod's ports (`k8s.ovn.org/open-default-ports`).
pub const UDN_OPEN_PORTS: &str = "- protocol: tcp\n  port: 2112\n- protocol: tcp\n  port: 8080\n";

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// The pod labels: the conversion labels, then `spec.convertorLabels`.
pub fn pod_labels(run: &Run<'_>, vm_id: &str) -> labels::Labels {
    let mut labels = labels::conversion_pod(run, vm_id, true);
    labels.extend(run.plan.spec.convertor_labels.clone());
    labels
}

/// The pod annotations: the transfer network, plus the UDN ports.
pub fn pod_annotations(inputs: &Inputs) -> BTreeMap<String, String> {
    let mut annotations = inputs.transfer_network.clone();
    if inputs.udn {
        annotations.insert(
            annotation::OVN_OPEN_DEFAULT_PORTS.into(),
            UDN_OPEN_PORTS.into(),
        );
    }
    annotations
}

/// The pod's node selector: `spec.convertorNodeSelector` (plus `kubevirt.io/schedulable`
/// when KVM is requested, added by [`set_kvm`]).
fn node_selector(run: &Run<'_>) -> BTreeMap<String, String> {
    run.plan.spec.convertor_node_selector.clone()
}

/// The disk volumes, mounts and devices: one volume per PVC, named after it; block PVCs
/// are devices `/dev/block<i>`, filesystem PVCs mounts `/mnt/disks/disk<i>`.
pub fn disk_volumes(
    pvcs: &[PersistentVolumeClaim],
) -> (Vec<Volume>, Vec<VolumeMount>, Vec<VolumeDevice>) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let mut devices = Vec::new();
    for (i, pvc) in pvcs.iter().enumerate() {
        let name = pvc.metadata.name.clone().unwrap_or_default();
        volumes.push(Volume {
            name: name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: name.clone(),
                read_only: Some(false),
            }),
            ..Volume::default()
        });
        let block = pvc.spec.as_ref().and_then(|s| s.volume_mode.as_deref()) == Some("Block");
        if block {
            devices.push(VolumeDevice {
                name,
                device_path: format!("/dev/block{i}"),
            });
        } else {
            mounts.push(VolumeMount {
                name,
                mount_path: format!("/mnt/disks/disk{i}"),
                ..VolumeMount::default()
            });
        }
    }
    (volumes, mounts, devices)
}

/// The Conversion's `disks[]` (upstream `DiskRefsFromVolumes`).
pub fn disk_refs(pvcs: &[PersistentVolumeClaim]) -> Vec<DiskRef> {
    let (_, mounts, devices) = disk_volumes(pvcs);
    pvcs.iter()
        .map(|pvc| {
            let name = pvc.metadata.name.clone().unwrap_or_default();
            DiskRef {
                namespace: pvc.metadata.namespace.clone().unwrap_or_default(),
                volume_mode: pvc.spec.as_ref().and_then(|s| s.volume_mode.clone()),
                mount_path: mounts
                    .iter()
                    .find(|m| m.name == name)
                    .map(|m| m.mount_path.clone())
                    .unwrap_or_default(),
                device_path: devices
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.device_path.clone())
                    .unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// The `settings` of a Conversion: the provider's environment, plus `V2V_RootDisk` and
/// `V2V_NewName`.
fn conversion_settings(inputs: &Inputs) -> BTreeMap<String, String> {
    let mut settings: BTreeMap<String, String> = inputs
        .provider_env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect();
    if !inputs.root_disk.is_empty() {
        settings.insert("V2V_RootDisk".into(), inputs.root_disk.clone());
    }
    if !inputs.new_name.is_empty() {
        settings.insert("V2V_NewName".into(), inputs.new_name.clone());
    }
    settings
}

/// The volumes beside the disks that both paths mount: the provider storage and extra
/// volumes, and the customization scripts.
fn extras(inputs: &Inputs) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut volumes = inputs.extra_volumes.clone();
    let mut mounts = inputs.extra_mounts.clone();
    if let Some(name) = &inputs.customization_scripts {
        volumes.push(Volume {
            name: SCRIPTS_VOLUME.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: SCRIPTS_VOLUME.into(),
            mount_path: SCRIPTS_PATH.into(),
            ..VolumeMount::default()
        });
    }
    (volumes, mounts)
}

/// The guest `Conversion` resource (CR path), in the plan namespace with generateName
/// `<plan>-<vmID>-`.
pub fn conversion(run: &Run<'_>, inputs: &Inputs) -> Conversion {
    let vm_id = &inputs.vm.id;
    let (extra_volumes, extra_mounts) = extras(inputs);
    let mut cr = Conversion::new(
        run.plan_namespace(),
        "",
        ConversionSpec {
            r#type: inputs.conversion_type.clone(),
            target_namespace: run.target_namespace().to_string(),
            destination: ObjectReference {
                namespace: run.destination.metadata.namespace.clone(),
                name: run.destination.metadata.name.clone(),
                ..ObjectReference::default()
            },
            vm: inputs.vm.clone(),
            disks: disk_refs(&inputs.pvcs),
            connection: Connection {
                secret: ObjectReference {
                    namespace: Some(run.target_namespace().to_string()),
                    name: Some(inputs.secret.clone()),
                    ..ObjectReference::default()
                },
            },
            disk_encryption: encryption(run, inputs),
            image: run.virt_v2v_image().to_string(),
            xfs_compatibility: run.plan.spec.xfs_compatibility,
            settings: conversion_settings(inputs),
            vddk_image: String::new(),
            local_migration: run.destination.is_host(),
            pod_settings: PodSettings {
                transfer_network_annotations: inputs.transfer_network.clone(),
                node_selector: node_selector(run),
                service_account: run.service_account().to_string(),
                affinity: Some(
                    run.plan
                        .spec
                        .convertor_affinity
                        .clone()
                        .unwrap_or_else(default_affinity),
                ),
                generate_name: run.generate_name(vm_id),
                request_kvm: Some(inputs.request_kvm),
            },
            extra_volumes,
            extra_mounts,
        },
    );
    cr.metadata.name = None;
    cr.metadata.generate_name = Some(run.generate_name(vm_id));
    cr.metadata.labels = Some(labels_of(run, inputs));
    let annotations = pod_annotations(inputs);
    cr.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    cr
}

/// The labels a guest Conversion is created with and found by.
pub fn labels_of(run: &Run<'_>, inputs: &Inputs) -> labels::Labels {
    let mut labels = labels::conversion(run, &inputs.vm.id, inputs.conversion_type.as_str());
    labels.extend(run.plan.spec.convertor_labels.clone());
    labels
}

fn encryption(run: &Run<'_>, inputs: &Inputs) -> Option<DiskEncryption> {
    if inputs.clevis {
        return Some(DiskEncryption {
            r#type: DiskEncryptionType::Clevis,
            secret: ObjectReference::default(),
        });
    }
    inputs.luks_secret.as_ref().map(|name| DiskEncryption {
        r#type: DiskEncryptionType::Luks,
        secret: ObjectReference {
            namespace: Some(run.target_namespace().to_string()),
            name: Some(name.clone()),
            ..ObjectReference::default()
        },
    })
}

fn quantity(s: &str) -> Quantity {
    Quantity(s.to_string())
}

/// Upstream `SetKvmOnPodSpec`.
fn set_kvm(spec: &mut PodSpec, request: bool) {
    if !request {
        return;
    }
    spec.node_selector
        .get_or_insert_with(BTreeMap::new)
        .insert(KVM_NODE_LABEL.into(), "true".into());
    if let Some(container) = spec.containers.first_mut() {
        let resources = container
            .resources
            .get_or_insert_with(ResourceRequirements::default);
        resources
            .limits
            .get_or_insert_with(BTreeMap::new)
            .insert(KVM_RESOURCE.into(), quantity("1"));
        resources
            .requests
            .get_or_insert_with(BTreeMap::new)
            .insert(KVM_RESOURCE.into(), quantity("1"));
    }
}

/// The container environment, in upstream's order: `TMPDIR`, `V2V_inPlace`, the provider
/// environment, `V2V_RootDisk`, `V2V_NewName`, `V2V_memSize`, `V2V_smp`, the feature
/// flags, `LOCAL_MIGRATION`, `V2V_NBDE_CLEVIS`.
pub fn environment(run: &Run<'_>, inputs: &Inputs) -> Vec<EnvVar> {
    let settings: &Settings = run.settings;
    let spec = &run.plan.spec;
    let mut out = Vec::new();
    if temp_storage(run).is_some() {
        out.push(env("TMPDIR", TEMP_STORAGE_PATH));
    }
    if inputs.conversion_type == ConversionType::InPlace {
        out.push(env("V2V_inPlace", "1"));
    }
    out.extend(inputs.provider_env.iter().cloned());
    if !inputs.root_disk.is_empty() {
        out.push(env("V2V_RootDisk", inputs.root_disk.clone()));
    }
    if !inputs.new_name.is_empty() {
        out.push(env("V2V_NewName", inputs.new_name.clone()));
    }
    if settings.virt_v2v_memsize > 0 {
        out.push(env("V2V_memSize", settings.virt_v2v_memsize.to_string()));
    }
    if settings.virt_v2v_smp > 0 {
        out.push(env("V2V_smp", settings.virt_v2v_smp.to_string()));
    }
    if settings.vsphere_vmware_driver_removal {
        out.push(env("V2V_vsphereVmwareDriverRemoval", "true"));
    }
    if spec.xfs_compatibility {
        out.push(env("V2V_xfsCompatibility", "true"));
    }
    if settings.xfs_repair_ignore {
        out.push(env("V2V_xfsRepairIgnore", "true"));
    }
    if settings.windows_registry_network_config {
        out.push(env("V2V_windowsRegistryNetworkConfig", "true"));
    }
    if settings.windows_wait_for_reboot {
        out.push(env("V2V_waitForGuestReboot", "true"));
    }
    out.push(env(
        "LOCAL_MIGRATION",
        run.destination.is_host().to_string(),
    ));
    if inputs.clevis {
        out.push(env("V2V_NBDE_CLEVIS", "true"));
    }
    out
}

fn temp_storage(run: &Run<'_>) -> Option<(String, String)> {
    let spec = &run.plan.spec;
    (!spec.conversion_temp_storage_class.is_empty()
        && !spec.conversion_temp_storage_size.is_empty())
    .then(|| {
        (
            spec.conversion_temp_storage_class.clone(),
            spec.conversion_temp_storage_size.clone(),
        )
    })
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

/// The virt-v2v conversion pod (pod path), in the target namespace with generateName
/// `<plan>-<vmID>-` (upstream `BuildVirtV2vPod`).
pub fn pod(run: &Run<'_>, inputs: &Inputs) -> Pod {
    let settings = run.settings;
    let (mut volumes, mut mounts, devices) = disk_volumes(&inputs.pvcs);
    if let Some(name) = &inputs.extra_v2v_conf {
        volumes.push(Volume {
            name: EXTRA_V2V_CONF_VOLUME.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let (extra_volumes, extra_mounts) = extras(inputs);
    volumes.extend(extra_volumes);
    mounts.extend(extra_mounts);
    if let Some(name) = &inputs.luks_secret {
        volumes.push(Volume {
            name: "luks".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "luks".into(),
            mount_path: "/etc/luks".into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    volumes.push(Volume {
        name: "secret-volume".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(inputs.secret.clone()),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    });
    mounts.push(VolumeMount {
        name: "secret-volume".into(),
        mount_path: "/etc/secret".into(),
        read_only: Some(true),
        ..VolumeMount::default()
    });
    if let Some((class, size)) = temp_storage(run) {
        volumes.push(Volume {
            name: TEMP_STORAGE_VOLUME.into(),
            ephemeral: Some(EphemeralVolumeSource {
                volume_claim_template: Some(PersistentVolumeClaimTemplate {
                    spec: PersistentVolumeClaimSpec {
                        access_modes: Some(vec!["ReadWriteOnce".into()]),
                        storage_class_name: Some(class),
                        volume_mode: Some("Filesystem".into()),
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([("storage".into(), quantity(&size))])),
                            ..VolumeResourceRequirements::default()
                        }),
                        ..PersistentVolumeClaimSpec::default()
                    },
                    ..PersistentVolumeClaimTemplate::default()
                }),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: TEMP_STORAGE_VOLUME.into(),
            mount_path: TEMP_STORAGE_PATH.into(),
            ..VolumeMount::default()
        });
    }
    let seccomp = if settings.openshift {
        SeccompProfile {
            type_: "Localhost".into(),
            localhost_profile: Some("profiles/unshare.json".into()),
        }
    } else {
        SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }
    };
    let resources = &settings.virt_v2v_container;
    let container = Container {
        name: "virt-v2v".into(),
        image: Some(run.virt_v2v_image().to_string()),
        image_pull_policy: Some("Always".into()),
        env: Some(environment(run, inputs)),
        env_from: Some(vec![EnvFromSource {
            prefix: Some("V2V_".into()),
            secret_ref: Some(SecretEnvSource {
                name: inputs.secret.clone(),
                optional: None,
            }),
            ..EnvFromSource::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".into(), quantity(&resources.requests_cpu)),
                ("memory".into(), quantity(&resources.requests_memory)),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".into(), quantity(&resources.limits_cpu)),
                ("memory".into(), quantity(&resources.limits_memory)),
            ])),
            ..ResourceRequirements::default()
        }),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: 2112,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        volume_devices: (!devices.is_empty()).then_some(devices),
        security_context: Some(no_escalation()),
        ..Container::default()
    };
    let node_selector = node_selector(run);
    let mut spec = PodSpec {
        security_context: Some(PodSecurityContext {
            fs_group: Some(QEMU_ID),
            run_as_user: Some(QEMU_ID),
            run_as_non_root: Some(true),
            seccomp_profile: Some(seccomp),
            ..PodSecurityContext::default()
        }),
        node_selector: (!node_selector.is_empty()).then_some(node_selector),
        affinity: Some(
            run.plan
                .spec
                .convertor_affinity
                .clone()
                .unwrap_or_else(default_affinity),
        ),
        restart_policy: Some("Never".into()),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    let sa = run.service_account();
    if !sa.is_empty() {
        spec.service_account_name = Some(sa.to_string());
    }
    set_kvm(&mut spec, inputs.request_kvm);
    let annotations = pod_annotations(inputs);
    Pod {
        metadata: ferry_api::ObjectMeta {
            namespace: Some(run.target_namespace().to_string()),
            generate_name: Some(run.generate_name(&inputs.vm.id)),
            labels: Some(pod_labels(run, &inputs.vm.id)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ferry_api::ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}
