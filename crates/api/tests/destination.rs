//! Destination objects: what Ferry reads and sets is typed, and a read-modify-write of an
//! object written by KubeVirt, CDI or a user keeps every field Ferry does not know.

use ferry_api::destination::kubevirt::{
    Bootloader, Cpu, Disk, DiskTarget, DomainSpec, Efi, FeatureState, Features, Firmware,
    Interface, Memory, MultusNetwork, Network, PersistentVolumeClaimVolumeSource,
    VirtualMachineSpec, Volume, run_strategy,
};
use ferry_api::destination::{
    DataVolume, NetworkAttachmentDefinition, Object, VirtualMachine, VirtualMachineInstance,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// A VirtualMachine as KubeVirt returns it after Forklift created it: typed fields plus
/// many Ferry does not model (`dataVolumeTemplates`, `instancetype`, `resources`,
/// `inputs`, `clock`, `status.conditions`, …).
fn kubevirt_vm() -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": "web-01",
            "namespace": "web",
            "labels": {"migration": "m-uid", "plan": "p-uid", "vmID": "vm-431", "guestConverted": "true"},
            "annotations": {"kubevirt.io/latest-observed-api-version": "v1"},
            "resourceVersion": "1234",
            "uid": "vm-uid"
        },
        "spec": {
            "runStrategy": "Halted",
            "dataVolumeTemplates": [{"metadata": {"name": "dv"}, "spec": {"storage": {}}}],
            "instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": "u1.medium"},
            "template": {
                "metadata": {
                    "labels": {"app": "web-01", "kubevirt.io/domain": "web-01"},
                    "annotations": {"vm.kubevirt.io/os": "rhel9"}
                },
                "spec": {
                    "domain": {
                        "cpu": {"cores": 2, "sockets": 1, "threads": 1, "features": [{"name": "vmx", "policy": "optional"}], "dedicatedCpuPlacement": false},
                        "memory": {"guest": "4Gi"},
                        "firmware": {"bootloader": {"efi": {"secureBoot": true, "persistent": true}}, "serial": "4210ab2c-aaaa-bbbb-cccc-0123456789ab", "uuid": "4210ab2c"},
                        "features": {"smm": {"enabled": true}, "acpi": {}},
                        "machine": {"type": "pc-q35-rhel9.4.0"},
                        "resources": {"requests": {"memory": "4Gi"}},
                        "clock": {"timezone": "UTC"},
                        "devices": {
                            "disks": [
                                {"name": "vol-0", "disk": {"bus": "virtio"}, "bootOrder": 1, "serial": "6000C29abc"},
                                {"name": "cloudinit", "cdrom": {"bus": "sata", "readonly": true}}
                            ],
                            "interfaces": [
                                {"name": "net-0", "model": "virtio", "macAddress": "00:50:56:aa:bb:cc", "masquerade": {}, "ports": [{"port": 80}]},
                                {"name": "net-1", "model": "virtio", "macAddress": "00:50:56:aa:bb:cd", "bridge": {}}
                            ],
                            "inputs": [{"name": "tablet", "bus": "virtio", "type": "tablet"}],
                            "autoattachGraphicsDevice": true
                        }
                    },
                    "networks": [
                        {"name": "net-0", "pod": {}},
                        {"name": "net-1", "multus": {"networkName": "web/blue"}}
                    ],
                    "volumes": [
                        {"name": "vol-0", "persistentVolumeClaim": {"claimName": "web-01-disk-0", "hotpluggable": false}},
                        {"name": "cloudinit", "cloudInitNoCloud": {"userData": "#cloud-config"}}
                    ],
                    "evictionStrategy": "LiveMigrate",
                    "terminationGracePeriodSeconds": 180
                }
            }
        },
        "status": {
            "printableStatus": "Stopped",
            "ready": false,
            "created": false,
            "conditions": [{"type": "Ready", "status": "False", "reason": "VMINotExists"}],
            "volumeSnapshotStatuses": [{"name": "vol-0", "enabled": true}],
            "desiredGeneration": 2,
            "observedGeneration": 2
        }
    })
}

#[test]
fn virtual_machine_read_modify_write_keeps_unknown_fields() {
    let input = kubevirt_vm();
    let mut vm: VirtualMachine = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&vm).unwrap(), input, "lossless read");

    // Typed reads.
    let domain = &vm.spec.template.spec.domain;
    assert_eq!(domain.cpu.as_ref().unwrap().cores, Some(2));
    assert_eq!(
        domain.memory.as_ref().unwrap().guest.as_deref(),
        Some("4Gi")
    );
    let firmware = domain.firmware.as_ref().unwrap();
    let efi = firmware.bootloader.as_ref().unwrap().efi.as_ref().unwrap();
    assert_eq!(efi.secure_boot, Some(true));
    assert_eq!(
        domain
            .features
            .as_ref()
            .unwrap()
            .smm
            .as_ref()
            .unwrap()
            .enabled,
        Some(true)
    );
    assert_eq!(domain.devices.disks[0].boot_order, Some(1));
    assert_eq!(domain.devices.interfaces[1].bridge, Some(Object::new()));
    assert_eq!(
        vm.spec.template.spec.networks[1]
            .multus
            .as_ref()
            .unwrap()
            .network_name,
        "web/blue"
    );
    assert_eq!(vm.status.printable_status.as_deref(), Some("Stopped"));
    assert!(!vm.wants_running());

    // Modify what Ferry owns: start the VM.
    vm.spec.run_strategy = Some(run_strategy::ALWAYS.to_string());
    let mut expected = input;
    expected["spec"]["runStrategy"] = json!("Always");
    assert_eq!(
        serde_json::to_value(&vm).unwrap(),
        expected,
        "only runStrategy changed"
    );
    assert!(vm.wants_running());
}

#[test]
fn virtual_machine_as_ferry_builds_it() {
    let mut vm = VirtualMachine::new(
        "web",
        "web-01",
        VirtualMachineSpec {
            run_strategy: Some(run_strategy::HALTED.into()),
            ..Default::default()
        },
    );
    vm.spec.template.metadata = Some(ferry_api::ObjectMeta {
        labels: Some([("app".to_string(), "web-01".to_string())].into()),
        ..Default::default()
    });
    let template = &mut vm.spec.template.spec;
    template.domain = DomainSpec {
        cpu: Some(Cpu {
            sockets: Some(2),
            cores: Some(1),
            ..Default::default()
        }),
        memory: Some(Memory {
            guest: Some("4294967296".into()),
            ..Default::default()
        }),
        firmware: Some(Firmware {
            bootloader: Some(Bootloader {
                bios: Some(Object::new()),
                efi: None,
            }),
            serial: Some("4210ab2c".into()),
            ..Default::default()
        }),
        features: None,
        ..Default::default()
    };
    template.domain.devices.disks.push(Disk {
        name: "vol-0".into(),
        disk: Some(DiskTarget {
            bus: Some("virtio".into()),
            ..Default::default()
        }),
        serial: Some("6000C29abc".into()),
        ..Default::default()
    });
    template.domain.devices.interfaces.push(Interface {
        name: "net-0".into(),
        model: Some("virtio".into()),
        mac_address: Some("00:50:56:aa:bb:cc".into()),
        masquerade: Some(Object::new()),
        ..Default::default()
    });
    template.networks.push(Network {
        name: "net-0".into(),
        pod: Some(Object::new()),
        ..Default::default()
    });
    template.networks.push(Network {
        name: "net-1".into(),
        multus: Some(MultusNetwork {
            network_name: "web/blue".into(),
            default: None,
        }),
        ..Default::default()
    });
    template.volumes.push(Volume {
        name: "vol-0".into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: "web-01-disk-0".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    let json = serde_json::to_value(&vm).unwrap();
    assert_eq!(
        json,
        json!({
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {"name": "web-01", "namespace": "web"},
            "spec": {
                "runStrategy": "Halted",
                "template": {
                    "metadata": {"labels": {"app": "web-01"}},
                    "spec": {
                        "domain": {
                            "cpu": {"cores": 1, "sockets": 2},
                            "memory": {"guest": "4294967296"},
                            "firmware": {"bootloader": {"bios": {}}, "serial": "4210ab2c"},
                            "devices": {
                                "disks": [{"name": "vol-0", "disk": {"bus": "virtio"}, "serial": "6000C29abc"}],
                                "interfaces": [{"name": "net-0", "model": "virtio", "macAddress": "00:50:56:aa:bb:cc", "masquerade": {}}]
                            }
                        },
                        "networks": [{"name": "net-0", "pod": {}}, {"name": "net-1", "multus": {"networkName": "web/blue"}}],
                        "volumes": [{"name": "vol-0", "persistentVolumeClaim": {"claimName": "web-01-disk-0"}}]
                    }
                }
            }
        })
    );
    // EFI with secure boot needs SMM.
    let efi = Firmware {
        bootloader: Some(Bootloader {
            bios: None,
            efi: Some(Efi {
                secure_boot: Some(true),
                ..Default::default()
            }),
        }),
        ..Default::default()
    };
    let features = Features {
        smm: Some(FeatureState {
            enabled: Some(true),
        }),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value((&efi, &features)).unwrap(),
        json!([{"bootloader": {"efi": {"secureBoot": true}}}, {"smm": {"enabled": true}}])
    );
}

#[test]
fn virtual_machine_instance_minimal() {
    let vmi: VirtualMachineInstance = serde_json::from_value(json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": "web-01", "namespace": "web"},
        "spec": {"domain": {"devices": {}}},
        "status": {"phase": "Running", "nodeName": "node-1",
                   "interfaces": [{"ipAddress": "10.0.0.5", "mac": "00:50:56:aa:bb:cc"}],
                   "migrationState": {"completed": true}}
    }))
    .unwrap();
    assert_eq!(vmi.status.phase.as_deref(), Some("Running"));
    assert_eq!(vmi.status.interfaces.len(), 1);
    assert!(vmi.status.extra.contains_key("migrationState"));
}

/// A VDDK DataVolume as Forklift creates it and CDI updates it.
fn vddk_data_volume() -> Value {
    json!({
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume",
        "metadata": {
            "generateName": "warm-plan-vm-431-",
            "name": "warm-plan-vm-431-abcde",
            "namespace": "web",
            "labels": {"migration": "m-uid", "plan": "p-uid", "vmID": "vm-431"},
            "annotations": {
                "cdi.kubevirt.io/storage.deleteAfterCompletion": "false",
                "forklift.konveyor.io/disk-source": "[datastore1] web01/web01.vmdk"
            }
        },
        "spec": {
            "source": {"vddk": {
                "url": "https://vcenter.example/sdk",
                "uuid": "4210ab2c",
                "backingFile": "[datastore1] web01/web01.vmdk",
                "thumbprint": "AB:CD",
                "secretRef": "warm-plan-vm-431-xyz",
                "initImageURL": "quay.io/x/vddk:8",
                "extraArgs": "vddk-conf"
            }},
            "storage": {
                "resources": {"requests": {"storage": "10Gi"}},
                "storageClassName": "fast",
                "accessModes": ["ReadWriteOnce"],
                "volumeMode": "Block"
            },
            "checkpoints": [{"current": "snapshot-1", "previous": ""}],
            "finalCheckpoint": false,
            "preallocation": false
        },
        "status": {
            "phase": "ImportInProgress",
            "progress": "45.5%",
            "claimName": "warm-plan-vm-431-abcde",
            "restartCount": 1,
            "conditions": [
                {"type": "Bound", "status": "True", "reason": "Bound", "message": "PVC bound", "lastTransitionTime": "2024-05-01T10:01:00Z", "lastHeartbeatTime": "2024-05-01T10:01:00Z"},
                {"type": "Running", "status": "True", "reason": "Pod is running"}
            ]
        }
    })
}

#[test]
fn data_volume_read_modify_write_keeps_unknown_fields() {
    let input = vddk_data_volume();
    let mut dv: DataVolume = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&dv).unwrap(), input, "lossless read");
    let vddk = dv.spec.source.as_ref().unwrap().vddk.as_ref().unwrap();
    assert_eq!(
        vddk.backing_file.as_deref(),
        Some("[datastore1] web01/web01.vmdk")
    );
    assert!(vddk.extra.contains_key("extraArgs"));
    let storage = dv.spec.storage.as_ref().unwrap();
    assert_eq!(storage.volume_mode.as_deref(), Some("Block"));
    assert_eq!(
        storage
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["storage"]
            .0,
        "10Gi"
    );
    assert_eq!(
        dv.status.phase.as_deref(),
        Some(ferry_api::destination::cdi::phase::IMPORT_IN_PROGRESS)
    );
    assert_eq!(dv.progress_fraction(), Some(0.455));
    assert_eq!(dv.condition("Bound").unwrap().status, "True");
    assert_eq!(dv.source_secret(), Some("warm-plan-vm-431-xyz"));
    assert_eq!(
        dv.claim_ref().name.as_deref(),
        Some("warm-plan-vm-431-abcde")
    );

    // Warm: add the next checkpoint.
    dv.spec
        .checkpoints
        .push(ferry_api::destination::cdi::Checkpoint {
            current: "snapshot-2".into(),
            previous: "52 a1/1".into(),
        });
    let mut expected = input;
    expected["spec"]["checkpoints"]
        .as_array_mut()
        .unwrap()
        .push(json!({"current": "snapshot-2", "previous": "52 a1/1"}));
    assert_eq!(serde_json::to_value(&dv).unwrap(), expected);
}

#[test]
fn data_volume_progress_is_parsed_defensively() {
    let mut dv = DataVolume::default();
    for (progress, expected) in [
        ("N/A", None),
        ("", None),
        ("12%", Some(0.12)),
        ("100.0%", Some(1.0)),
        ("250%", Some(1.0)),
        ("-5%", Some(0.0)),
        ("NaN%", None),
        ("abc%", None),
    ] {
        dv.status.progress = Some(progress.into());
        assert_eq!(dv.progress_fraction(), expected, "{progress}");
    }
    dv.status.progress = None;
    assert_eq!(dv.progress_fraction(), None);
}

#[test]
fn blank_and_imageio_sources() {
    let dv: DataVolume = serde_json::from_value(json!({
        "spec": {"source": {"blank": {}}, "pvc": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    }))
    .unwrap();
    assert_eq!(dv.spec.source.as_ref().unwrap().blank, Some(Object::new()));
    assert!(dv.spec.pvc.is_some());
    let dv: DataVolume = serde_json::from_value(json!({
        "spec": {"source": {"imageio": {"url": "https://engine/ovirt-engine/api", "diskId": "d-1", "secretRef": "s", "certConfigMap": "c", "insecureSkipVerify": true}}}
    }))
    .unwrap();
    let imageio = dv.spec.source.as_ref().unwrap().imageio.as_ref().unwrap();
    assert_eq!(imageio.disk_id, "d-1");
    assert_eq!(imageio.extra["insecureSkipVerify"], true);
}

#[test]
fn network_attachment_definition_default_route() {
    let nad: NetworkAttachmentDefinition = serde_json::from_value(json!({
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "transfer", "namespace": "web",
                     "annotations": {"forklift.konveyor.io/route": "10.0.0.1"}},
        "spec": {"config": "{\"cniVersion\":\"0.3.1\",\"type\":\"bridge\",\"ipam\":{\"type\":\"static\",\"routes\":[{\"dst\":\"10.1.0.0/16\",\"gw\":\"10.0.0.9\"},{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"}]}}"}
    }))
    .unwrap();
    assert_eq!(nad.network_name(), "web/transfer");
    assert_eq!(nad.default_route_gateway().as_deref(), Some("10.0.0.1"));
    assert_eq!(nad.config().unwrap()["type"], "bridge");

    let mut broken = nad.clone();
    broken.spec.config = "{not json".into();
    assert!(broken.config().is_err());
    assert_eq!(broken.default_route_gateway(), None);
    broken.spec.config = r#"{"ipam":{"routes":"nope"}}"#.into();
    assert_eq!(broken.default_route_gateway(), None);
    let json = serde_json::to_value(&nad).unwrap();
    assert!(json.get("status").is_none());
}
