//! The pure parts: validation, stages and phases, the pod builders and what is read back
//! from a pod, the deep-inspection results.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_api::condition::Conditions;
use ferry_api::conversion::{
    Connection, ConversionSpec, ConversionStage, ConversionStatus, ConversionType, DiskEncryption,
    DiskEncryptionType, DiskRef, SETTINGS_SNAPSHOT_MOREF,
};
use ferry_api::{ObjectReference, Ref, Time};
use k8s_openapi::api::core::v1::Pod;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::phase::{self, PendingClock};
use super::pod::{self, PodState};
use super::validate::{findings, types};
use super::*;

fn time(s: &str) -> Time {
    ferry_api::time::parse(s).unwrap()
}

fn disk(name: &str, block: bool) -> DiskRef {
    DiskRef {
        name: name.into(),
        namespace: "tgt".into(),
        volume_mode: Some(if block { "Block" } else { "Filesystem" }.into()),
        ..DiskRef::default()
    }
}

fn secret(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

fn conversion(conversion_type: ConversionType) -> Conversion {
    let mut conversion = Conversion::new(
        "mtv",
        "p-vm-1-abcde",
        ConversionSpec {
            r#type: conversion_type,
            target_namespace: "tgt".into(),
            vm: Ref::with_id_and_name("vm-1", "web01"),
            disks: vec![disk("d0", false), disk("d1", true)],
            connection: Connection {
                secret: secret("tgt", "p-vm-1-v2v"),
            },
            settings: BTreeMap::from([
                ("V2V_vmName".to_string(), "web01".to_string()),
                ("V2V_NewName".to_string(), "web-01".to_string()),
                ("V2V_source".to_string(), "ova".to_string()),
            ]),
            local_migration: true,
            ..ConversionSpec::default()
        },
    );
    conversion.metadata.uid = Some("uid-c".into());
    conversion.metadata.labels = Some(BTreeMap::from([
        ("plan".to_string(), "uid-p".to_string()),
        ("vmID".to_string(), "vm-1".to_string()),
        ("forklift.app".to_string(), "virt-v2v".to_string()),
    ]));
    conversion
}

fn types_of(conversion: &Conversion) -> Vec<String> {
    findings(conversion).into_iter().map(|c| c.r#type).collect()
}

#[test]
fn a_valid_spec_has_no_findings() {
    for t in [
        ConversionType::Remote,
        ConversionType::InPlace,
        ConversionType::Inspection,
    ] {
        assert_eq!(types_of(&conversion(t)), Vec::<String>::new());
    }
}

#[test]
fn upstreams_checks() {
    let mut c = conversion(ConversionType::Unknown("Teleport".into()));
    c.spec.target_namespace.clear();
    c.spec.vm = Ref::default();
    c.spec.connection.secret = ObjectReference::default();
    assert_eq!(
        types_of(&c),
        [
            types::TYPE_NOT_VALID,
            types::TARGET_NAMESPACE_NOT_SET,
            types::VM_NOT_SET,
            // The disks name the pod's namespace, which is now the Conversion's.
            types::DISKS_NOT_VALID,
            types::CONNECTION_NOT_SET,
        ]
    );
    let mut c = conversion(ConversionType::Remote);
    c.spec.disks.clear();
    c.spec.disk_encryption = Some(DiskEncryption {
        r#type: DiskEncryptionType::Luks,
        secret: ObjectReference::default(),
    });
    assert_eq!(
        types_of(&c),
        [types::DISKS_NOT_SET, types::LUKS_SECRET_NOT_SET]
    );
    let mut c = conversion(ConversionType::DeepInspection);
    c.spec.disks.clear();
    assert_eq!(types_of(&c), [types::VDDK_IMAGE_NOT_SET]);
    // Inspections need no disks.
    let mut c = conversion(ConversionType::Inspection);
    c.spec.disks.clear();
    assert!(findings(&c).is_empty());
}

#[test]
fn hostile_names_are_refused_and_quoted_briefly() {
    let mut c = conversion(ConversionType::Remote);
    c.spec.target_namespace = "Bad/Namespace".into();
    c.spec.disks[0].name = "x".repeat(10_000);
    c.spec.disks[1].mount_path = "../../etc".into();
    c.spec.connection.secret = secret("elsewhere", "a/b");
    c.spec.pod_settings.generate_name = "UPPER/".into();
    c.spec.disk_encryption = Some(DiskEncryption {
        r#type: DiskEncryptionType::Unknown("rot13".into()),
        secret: ObjectReference::default(),
    });
    let found = findings(&c);
    let kinds: Vec<&str> = found.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            types::TARGET_NAMESPACE_NOT_VALID,
            types::DISKS_NOT_VALID,
            types::CONNECTION_NOT_VALID,
            types::DISK_ENCRYPTION_NOT_VALID,
            types::POD_SETTINGS_NOT_VALID,
        ]
    );
    assert!(found.iter().all(|c| c.category == "Critical"));
    let disks = &found[1].items;
    assert!(disks[0].starts_with("disks[0]: name \"xxxx"));
    assert!(disks[0].contains("(10000 characters)"));
    assert!(disks[0].len() < 200, "{}", disks[0]);
    assert!(disks.iter().any(|i| i.contains("mountPath \"../../etc\"")));
    let message = phase::blockers(&Conditions::from(found));
    assert!(message.len() < 2048);
}

fn with_moref(mut c: Conversion, moref: &str) -> Conversion {
    c.spec
        .settings
        .insert(SETTINGS_SNAPSHOT_MOREF.into(), moref.into());
    c
}

#[test]
fn stages_by_type_and_snapshot_ownership() {
    let remote = conversion(ConversionType::Remote);
    assert_eq!(phase::current(None, &remote), ConversionStage::CreatingPod);
    assert_eq!(
        phase::next(&ConversionStage::PodRunning, &remote),
        Some(ConversionStage::Finished)
    );
    assert_eq!(phase::next(&ConversionStage::Finished, &remote), None);
    // A stage the type does not have starts over (the pod is found by its labels).
    assert_eq!(
        phase::current(Some(&ConversionStage::FetchingResults), &remote),
        ConversionStage::CreatingPod
    );

    let owned = conversion(ConversionType::DeepInspection);
    assert!(phase::owns_snapshot(&owned));
    assert_eq!(
        phase::current(None, &owned),
        ConversionStage::CreatingSnapshot
    );
    assert_eq!(
        phase::next(&ConversionStage::FetchingResults, &owned),
        Some(ConversionStage::RemovingSnapshot)
    );

    let given = with_moref(conversion(ConversionType::DeepInspection), "snapshot-1");
    assert!(!phase::owns_snapshot(&given));
    assert_eq!(phase::current(None, &given), ConversionStage::CreatingPod);
    assert_eq!(
        phase::next(&ConversionStage::FetchingResults, &given),
        Some(ConversionStage::Finished)
    );
    // A blank MoRef is no MoRef.
    assert!(phase::owns_snapshot(&with_moref(
        conversion(ConversionType::DeepInspection),
        "  "
    )));
}

#[test]
fn each_phase_has_its_message_and_condition() {
    let now = time("2024-05-01T10:00:00Z");
    let later = time("2024-05-01T11:00:00Z");
    let resolved =
        |phase: ConversionPhase, stage: Option<ConversionStage>, failure: Option<&str>| {
            let mut status = ConversionStatus {
                phase: Some(phase),
                stage,
                ..ConversionStatus::default()
            };
            phase::resolve(&mut status, failure, &now);
            status
        };
    let pending = resolved(ConversionPhase::Pending, None, None);
    assert_eq!(pending.message, "The conversion is pending.");
    let ready = pending.conditions.find("Ready").unwrap();
    assert!(!ready.is_true());
    assert!(pending.completion_time.is_none());

    let running = resolved(
        ConversionPhase::Running,
        Some(ConversionStage::PodRunning),
        None,
    );
    assert_eq!(running.message, "Conversion pod is running.");
    assert!(running.conditions.find(types::ADVISORY).is_some());

    let failed = resolved(ConversionPhase::Failed, None, Some("the pod failed"));
    assert_eq!(failed.message, "The conversion has failed: the pod failed");
    assert_eq!(
        failed
            .conditions
            .find(types::CONVERSION_FAILED)
            .unwrap()
            .category,
        "Critical"
    );
    assert_eq!(failed.completion_time, Some(now.clone()));

    let mut succeeded = resolved(ConversionPhase::Succeeded, None, None);
    assert!(succeeded.conditions.is_ready());
    // The completion time is set once.
    phase::resolve(&mut succeeded, None, &later);
    assert_eq!(succeeded.completion_time, Some(now.clone()));

    let canceled = resolved(ConversionPhase::Canceled, None, None);
    assert_eq!(canceled.message, "The conversion has been canceled.");
}

#[test]
fn the_pending_clock() {
    let created: jiff::Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(
        phase::pending_clock(Some(created), at("2024-05-01T10:01:00Z"), 5),
        PendingClock::Remaining(Duration::from_secs(240))
    );
    assert_eq!(
        phase::pending_clock(Some(created), at("2024-05-01T10:05:07Z"), 5),
        PendingClock::Expired(Duration::from_secs(307))
    );
    assert_eq!(
        phase::pending_clock(Some(created), at("2024-05-01T11:00:00Z"), 0),
        PendingClock::Unbounded
    );
    assert_eq!(
        phase::pending_clock(Some(created), at("2024-05-01T11:00:00Z"), -3),
        PendingClock::Unbounded
    );
    assert_eq!(
        phase::pending_clock(None, at("2024-05-01T11:00:00Z"), 5),
        PendingClock::Unbounded
    );
    // A creation time ahead of the clock counts as just created.
    assert_eq!(
        phase::pending_clock(Some(created), at("2024-05-01T09:00:00Z"), 5),
        PendingClock::Remaining(Duration::from_secs(300))
    );
    assert_eq!(phase::go_duration(Duration::from_secs(307)), "5m7s");
    assert_eq!(phase::go_duration(Duration::from_secs(3723)), "1h2m3s");
    assert_eq!(phase::go_duration(Duration::from_secs(42)), "42s");
}

fn settings() -> ferry_plan::Settings {
    ferry_plan::Settings::default()
}

fn env_of(pod: &Pod) -> Vec<String> {
    pod.spec.as_ref().unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| format!("{}={}", e.name, e.value.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn the_virt_v2v_pod_of_a_conversion() {
    let mut c = conversion(ConversionType::InPlace);
    c.spec.disks[0].mount_path = "/mnt/custom".into();
    c.spec.disk_encryption = Some(DiskEncryption {
        r#type: DiskEncryptionType::Clevis,
        secret: ObjectReference::default(),
    });
    c.spec.local_migration = false;
    let pod = pod::virt_v2v(&c, &c.spec.disks, &settings());
    let meta = &pod.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("tgt"));
    assert_eq!(meta.generate_name.as_deref(), Some("p-vm-1-abcde-"));
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels["conversion"], "p-vm-1-abcde");
    assert_eq!(labels["forklift.app"], "virt-v2v");
    assert_eq!(labels["vmID"], "vm-1");
    // Another namespace: no owner reference (the collector would delete the pod).
    assert!(meta.owner_references.is_none());
    assert_eq!(
        env_of(&pod),
        [
            "V2V_inPlace=1",
            "V2V_source=ova",
            "V2V_vmName=web01",
            "V2V_NewName=web-01",
            "V2V_waitForGuestReboot=true",
            "LOCAL_MIGRATION=false",
            "V2V_NBDE_CLEVIS=true",
        ]
    );
    let spec = pod.spec.as_ref().unwrap();
    assert!(
        spec.affinity.is_none(),
        "no affinity unless the spec gives one"
    );
    assert!(spec.init_containers.is_none());
    let container = &spec.containers[0];
    assert_eq!(container.name, "virt-v2v");
    let mounts: Vec<_> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert_eq!(mounts, ["/mnt/custom", "/etc/secret"]);
    assert_eq!(
        container.volume_devices.as_ref().unwrap()[0].device_path,
        "/dev/block1"
    );
    assert_eq!(
        spec.node_selector.as_ref().unwrap()["kubevirt.io/schedulable"],
        "true"
    );
}

#[test]
fn inspection_luks_vddk_and_owner() {
    let mut c = conversion(ConversionType::Inspection);
    c.spec.target_namespace = "mtv".into();
    c.spec.disks.clear();
    c.spec.vddk_image = "quay.io/me/vddk:8".into();
    c.spec.pod_settings.generate_name = "p-vm-1-".into();
    c.spec.pod_settings.request_kvm = Some(false);
    c.spec.disk_encryption = Some(DiskEncryption {
        r#type: DiskEncryptionType::Luks,
        secret: secret("mtv", "luks-1"),
    });
    c.metadata.annotations = Some(BTreeMap::from([("a".to_string(), "1".to_string())]));
    c.spec.pod_settings.transfer_network_annotations = BTreeMap::from([(
        "k8s.v1.cni.cncf.io/networks".to_string(),
        "ns/net".to_string(),
    )]);
    let pod = pod::virt_v2v(&c, &c.spec.disks, &settings());
    assert_eq!(
        pod.metadata.generate_name.as_deref(),
        Some("p-vm-1-inspection-")
    );
    assert_eq!(
        pod.metadata.labels.as_ref().unwrap()["forklift.app"],
        "virt-v2v-inspection"
    );
    let annotations = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations.len(), 2);
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Conversion", "uid-c")
    );
    assert_eq!(owner.controller, Some(true));
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.containers[0].name, "virt-v2v-inspection");
    assert!(spec.node_selector.is_none(), "no KVM asked");
    let init = spec.init_containers.as_ref().unwrap();
    assert_eq!(init[0].name, "vddk-side-car");
    assert_eq!(init[0].image.as_deref(), Some("quay.io/me/vddk:8"));
    let volumes: Vec<_> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(volumes, ["luks", "secret-volume", "vddk-vol-mount"]);
    assert!(!env_of(&pod).iter().any(|e| e.starts_with("V2V_inPlace")));
}

#[test]
fn the_selector_ignores_the_app_label() {
    let c = conversion(ConversionType::Inspection);
    let selector = pod::selector(&c);
    assert!(!selector.contains_key("forklift.app"));
    assert_eq!(selector["conversion"], "p-vm-1-abcde");
    let pod = pod::virt_v2v(&c, &c.spec.disks, &settings());
    assert!(pod::matches(pod.metadata.labels.as_ref(), &selector));
}

#[test]
fn the_deep_inspection_pod() {
    let mut c = with_moref(conversion(ConversionType::DeepInspection), "snap-9");
    let images = pod::DeepInspectionImages {
        image: "di:1".into(),
        xfs: "di-xfs:1".into(),
    };
    assert_eq!(
        pod::deep_inspection(&c, &c.spec.disks, Some("snap-9"), &settings(), &images),
        Err(pod::BuildError::NoVddkImage)
    );
    c.spec.vddk_image = "vddk:8".into();
    assert_eq!(
        pod::deep_inspection(
            &c,
            &c.spec.disks,
            None,
            &settings(),
            &pod::DeepInspectionImages::default()
        ),
        Err(pod::BuildError::NoDeepInspectionImage)
    );
    c.spec.xfs_compatibility = true;
    let pod =
        pod::deep_inspection(&c, &c.spec.disks, Some("snap-9"), &settings(), &images).unwrap();
    assert_eq!(
        pod.metadata.generate_name.as_deref(),
        Some("p-vm-1-abcde-deep-inspection-")
    );
    assert_eq!(
        pod.metadata.labels.as_ref().unwrap()["forklift.app"],
        "deep-inspection"
    );
    let spec = pod.spec.as_ref().unwrap();
    let container = &spec.containers[0];
    assert_eq!(container.image.as_deref(), Some("di-xfs:1"));
    assert_eq!(
        spec.security_context.as_ref().unwrap().run_as_user,
        Some(1001)
    );
    let env = env_of(&pod);
    assert_eq!(
        env,
        [
            "V2V_NewName=web-01",
            "V2V_source=ova",
            "V2V_vmName=web01",
            "VM_MOREF=vm-1",
            "SNAPSHOT_MOREF=snap-9",
        ]
    );
    let volumes: Vec<_> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(volumes, ["d0", "d1", "vddk-vol-mount", "connection-secret"]);
}

fn pod_with_status(status: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "tgt"},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn what_a_pod_says() {
    assert_eq!(
        pod::state(&pod_with_status(
            json!({"phase": "Running", "podIP": "10.0.0.5"})
        )),
        PodState::Running {
            ip: Some("10.0.0.5".into())
        }
    );
    assert_eq!(
        pod::state(&pod_with_status(json!({"phase": "Running", "podIP": ""}))),
        PodState::Running { ip: None }
    );
    let unschedulable = pod_with_status(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"}]}));
    assert_eq!(
        pod::pending_reason(&unschedulable),
        "Unschedulable: 0/1 nodes are available"
    );
    let pulling = pod_with_status(json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "vddk-side-car", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]}));
    assert_eq!(
        pod::pending_reason(&pulling),
        "ImagePullBackOff: no such image"
    );
    assert_eq!(
        pod::pending_reason(&pod_with_status(json!({}))),
        "check pod events for mount/scheduling failures"
    );
    let terminated = |message: serde_json::Value| {
        pod_with_status(json!({"phase": "Failed", "containerStatuses": [
            {"name": "virt-v2v", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 3, "reason": "Error", "message": message}}}]}))
    };
    assert_eq!(
        pod::state(&terminated(json!("virt-v2v: error: no disks\n"))),
        PodState::Failed {
            message: "virt-v2v: error: no disks".into()
        }
    );
    assert_eq!(
        pod::termination_message(&terminated(json!(""))),
        "container virt-v2v exited with code 3 (Error)"
    );
    assert_eq!(
        pod::termination_message(&pod_with_status(
            json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"})
        )),
        "Evicted: low on memory"
    );
    assert_eq!(
        pod::state(&pod_with_status(json!({"phase": "Unknown"}))),
        PodState::Unknown
    );
}

#[test]
fn deep_inspection_results() {
    let result = inspect::parse_results(
        r#"{"passed": true, "os_info": {"name": "win", "distro": "windows", "major_version": "10", "architecture": "x86_64"},
            "all_concerns": null, "filesystems": [{"device": "/dev/sda2", "type": "ntfs"}], "extra": 1}"#,
    )
    .unwrap();
    assert!(result.all_checks_passed);
    assert_eq!(result.os_info.unwrap().arch, "x86_64");
    assert!(result.concerns.is_empty());
    assert_eq!(result.filesystems[0].uuid, "");
    assert!(inspect::parse_results("<html>").is_err());
    assert!(inspect::parse_results(r#"{"passed": "yes"}"#).is_err());
    assert_eq!(
        inspect::url("10.0.0.5", 8080, "/ready").as_deref(),
        Some("http://10.0.0.5:8080/ready")
    );
    assert_eq!(
        inspect::url("fd00::5", 8080, "/ready").as_deref(),
        Some("http://[fd00::5]:8080/ready")
    );
    assert_eq!(inspect::url("evil.example/x?", 8080, "/ready"), None);
}

#[test]
fn phase_changes_make_events() {
    let before = ConversionStatus {
        phase: Some(ConversionPhase::Running),
        ..ConversionStatus::default()
    };
    assert_eq!(phase_event(&before, &before), None);
    let after = ConversionStatus {
        phase: Some(ConversionPhase::Failed),
        message: "The conversion has failed: x".into(),
        ..ConversionStatus::default()
    };
    let event = phase_event(&before, &after).unwrap();
    assert!(event.warning);
    assert_eq!(event.reason, "Failed");
    assert_eq!(event.note, "The conversion has failed: x");
}
