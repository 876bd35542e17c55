//! The destination objects, built as upstream builds them: names, generateNames, labels,
//! annotations (plan spec §6), and the virt-v2v output parser against upstream's own
//! test data.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic on setup failures

mod support;

use ferry_api::Hook;
use ferry_api::Ref;
use ferry_api::conversion::ConversionType;
use ferry_api::destination::VirtualMachine;
use ferry_api::hook::HookSpec;
use ferry_api::k8s_openapi::api::core::v1::{
    EnvVar, PersistentVolumeClaim, PersistentVolumeClaimSpec,
};
use ferry_api::plan::{TargetPowerState, Vm, VmStatus};
use ferry_inventory::Inventory;
use ferry_plan::adapter::{Adapter, inventory_ref};
use ferry_plan::kubevirt::{conversion, datavolume, hook, labels, parse, secret, vm};
use ferry_plan::template::DEFAULT_PVC_NAME_TEMPLATE;
use pretty_assertions::assert_eq;
use support::*;

fn status(name: &str) -> VmStatus {
    let mut vm = Vm::with_id("vm-1");
    vm.name = name.into();
    VmStatus::new(vm, "CreateVM")
}

#[test]
fn vm_label_sets() {
    let world = World::new();
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let keys = |l: labels::Labels| l.into_iter().collect::<Vec<_>>();
    assert_eq!(
        keys(labels::vm(&run, "vm-1", true)),
        [
            ("migration".to_string(), "uid-m1".to_string()),
            ("plan".into(), "uid-p".into()),
            ("plan-name".into(), "p".into()),
            ("plan-namespace".into(), "mtv".into()),
            ("resource".into(), "vm-config".into()),
            ("vmID".into(), "vm-1".into()),
        ]
    );
    assert!(!labels::vm(&run, "vm-1", false).contains_key("migration"));
    assert_eq!(
        labels::conversion_pod(&run, "vm-1", true)["forklift.app"],
        "virt-v2v"
    );
    let waiting = labels::wait_for_reboot_pod(&run, "vm-1", true);
    assert_eq!(waiting["resource"], "wait-for-reboot");
    assert_eq!(waiting["forklift.app"], "forklift-wait-for-reboot");
    let hook = labels::hook(&run, "vm-1", "PreHook", "uid-h");
    assert_eq!(hook["step"], "PreHook");
    assert_eq!(hook["hook"], "uid-h");
    assert_eq!(hook["resource"], "hook-config");
    assert_eq!(hook["plan-name"], "p");
}

#[test]
fn secrets_and_config_maps() {
    let world = World::new();
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let data = [("user".to_string(), b"admin".to_vec())]
        .into_iter()
        .collect();
    let cdi = secret::secret(&run, "vm-1", secret::Kind::Cdi, data);
    assert_eq!(cdi.metadata.generate_name.as_deref(), Some("p-vm-1-"));
    assert_eq!(cdi.metadata.namespace.as_deref(), Some("tgt"));
    let labels = cdi.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["isDV"], "true");
    assert_eq!(labels["vmID"], "vm-1");
    let v2v = secret::secret(&run, "vm-1", secret::Kind::V2v, Default::default());
    assert_eq!(v2v.metadata.labels.as_ref().unwrap()["isV2V"], "true");
    assert!(v2v.data.is_none());
    assert!(!secret::data_differs(
        &cdi,
        &[("user".to_string(), b"admin".to_vec())]
            .into_iter()
            .collect()
    ));
    assert!(secret::data_differs(&cdi, &Default::default()));
    let map = secret::config_map(&run, "vm-1", Default::default());
    assert_eq!(map.metadata.generate_name.as_deref(), Some("p-vm-1-"));
}

/// DataVolumes: the default name template (conformance case 15), the VM labels, and the
/// annotations upstream puts on them.
#[test]
fn data_volumes() {
    let mut world = World::new();
    world.observed.plan.metadata.name = Some("a-very-long-plan-name-that-exceeds".into());
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let view = world.view();
    let source = world
        .inventory
        .vm(&inventory_ref(&Ref::id("vm-1")))
        .unwrap();
    let adapter = TestAdapter;
    let disks = adapter
        .builder()
        .data_volumes(&view, &source, "a-very-long-vm-name-that-exceeds-fifteen")
        .unwrap();
    assert_eq!(disks.len(), 2);
    let options = datavolume::DataVolumeOptions {
        template: DEFAULT_PVC_NAME_TEMPLATE.into(),
        use_generate_name: true,
        ..Default::default()
    };
    let dv = datavolume::data_volume(&run, "vm-1", &disks[0], &options);
    assert_eq!(
        dv.metadata.generate_name.as_deref(),
        Some("a-very-long-pla-a-very-long-vm--disk-0-")
    );
    assert_eq!(dv.metadata.name, None);
    assert_eq!(dv.metadata.namespace.as_deref(), Some("tgt"));
    let annotations = dv.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        annotations["cdi.kubevirt.io/storage.deleteAfterCompletion"],
        "false"
    );
    assert_eq!(annotations["migration"], "uid-m1");
    assert_eq!(
        annotations["forklift.konveyor.io/disk-source"],
        "/ova/web01.ova::web01.vmdk"
    );
    assert!(!annotations.contains_key("cdi.kubevirt.io/storage.bind.immediate.requested"));
    assert_eq!(dv.metadata.labels.as_ref().unwrap()["vmID"], "vm-1");
    let exact = datavolume::DataVolumeOptions {
        use_generate_name: false,
        ..options.clone()
    };
    let dv = datavolume::data_volume(&run, "vm-1", &disks[1], &exact);
    assert_eq!(
        dv.metadata.name.as_deref(),
        Some("a-very-long-pla-a-very-long-vm--disk-1")
    );
    // A template that fails falls back to `<plan>-<vmID>-`.
    let broken = datavolume::DataVolumeOptions {
        template: "{{.Nope}}".into(),
        ..options
    };
    let dv = datavolume::data_volume(&run, "vm-1", &disks[0], &broken);
    assert_eq!(
        dv.metadata.generate_name.as_deref(),
        Some("a-very-long-plan-name-that-exceeds-vm-1-")
    );
}

fn pvc(name: &str, mode: Option<&str>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ferry_api::ObjectMeta {
            name: Some(name.into()),
            namespace: Some("tgt".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            volume_mode: mode.map(String::from),
            ..Default::default()
        }),
        status: None,
    }
}

fn inputs(conversion_type: ConversionType) -> conversion::Inputs {
    conversion::Inputs {
        vm: Ref::with_id_and_name("vm-1", "web01"),
        new_name: "web-01".into(),
        conversion_type,
        pvcs: vec![
            pvc("p-web01-disk-0-abcde", None),
            pvc("p-web01-disk-1-fghij", Some("Block")),
        ],
        secret: "p-vm-1-xyz".into(),
        provider_env: vec![EnvVar {
            name: "V2V_source".into(),
            value: Some("ova".into()),
            ..Default::default()
        }],
        request_kvm: true,
        ..Default::default()
    }
}

/// The guest Conversion resource (CR path) and conformance case 9's `V2V_NewName`.
#[test]
fn conversion_resource() {
    let world = World::new();
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let cr = conversion::conversion(&run, &inputs(ConversionType::Remote));
    assert_eq!(cr.metadata.namespace.as_deref(), Some("mtv"));
    assert_eq!(cr.metadata.generate_name.as_deref(), Some("p-vm-1-"));
    let labels = cr.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["conversion-type"], "Remote");
    assert_eq!(labels["plan"], "uid-p");
    assert_eq!(labels["migration"], "uid-m1");
    assert_eq!(labels["forklift.app"], "virt-v2v");
    assert_eq!(labels["plan-name"], "p");
    let spec = &cr.spec;
    assert_eq!(spec.target_namespace, "tgt");
    assert_eq!(spec.destination.name.as_deref(), Some("host"));
    assert_eq!(spec.connection.secret.name.as_deref(), Some("p-vm-1-xyz"));
    assert_eq!(spec.settings["V2V_NewName"], "web-01");
    assert_eq!(spec.settings["V2V_source"], "ova");
    assert!(spec.local_migration);
    assert_eq!(spec.pod_settings.generate_name, "p-vm-1-");
    assert_eq!(spec.pod_settings.request_kvm, Some(true));
    assert_eq!(spec.disks[0].mount_path, "/mnt/disks/disk0");
    assert_eq!(spec.disks[1].device_path, "/dev/block1");
    assert_eq!(spec.disks[1].volume_mode.as_deref(), Some("Block"));
    assert!(spec.disk_encryption.is_none());
    let affinity = spec.pod_settings.affinity.as_ref().unwrap();
    let terms = affinity
        .pod_anti_affinity
        .as_ref()
        .unwrap()
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap();
    assert_eq!(terms[0].weight, 100);
    assert_eq!(
        terms[0].pod_affinity_term.topology_key,
        "kubernetes.io/hostname"
    );
}

/// The virt-v2v pod (pod path): environment order, security, KVM, volumes (case 29's
/// `V2V_inPlace=1` for in-place conversions).
#[test]
fn conversion_pod() {
    let mut world = World::new();
    world.observed.plan.spec.conversion_temp_storage_class = "sc1".into();
    world.observed.plan.spec.conversion_temp_storage_size = "10Gi".into();
    world.settings.virt_v2v_memsize = 4096;
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let pod = conversion::pod(&run, &inputs(ConversionType::InPlace));
    let names: Vec<_> = conversion::environment(&run, &inputs(ConversionType::InPlace))
        .into_iter()
        .map(|e| format!("{}={}", e.name, e.value.unwrap_or_default()))
        .collect();
    assert_eq!(
        names,
        [
            "TMPDIR=/var/tmp/virt-v2v",
            "V2V_inPlace=1",
            "V2V_source=ova",
            "V2V_NewName=web-01",
            "V2V_memSize=4096",
            "V2V_waitForGuestReboot=true",
            "LOCAL_MIGRATION=true"
        ]
    );
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("p-vm-1-"));
    assert_eq!(
        pod.metadata.labels.as_ref().unwrap()["forklift.app"],
        "virt-v2v"
    );
    let spec = pod.spec.unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    let security = spec.security_context.unwrap();
    assert_eq!(security.run_as_user, Some(107));
    assert_eq!(security.fs_group, Some(107));
    assert_eq!(security.seccomp_profile.unwrap().type_, "RuntimeDefault");
    assert_eq!(
        spec.node_selector.unwrap()["kubevirt.io/schedulable"],
        "true"
    );
    let container = &spec.containers[0];
    assert_eq!(container.name, "virt-v2v");
    assert_eq!(container.image_pull_policy.as_deref(), Some("Always"));
    let resources = container.resources.as_ref().unwrap();
    assert_eq!(
        resources.limits.as_ref().unwrap()["devices.kubevirt.io/kvm"].0,
        "1"
    );
    assert_eq!(resources.requests.as_ref().unwrap()["cpu"].0, "1000m");
    assert_eq!(
        container.env_from.as_ref().unwrap()[0].prefix.as_deref(),
        Some("V2V_")
    );
    let mounts: Vec<_> = container
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert_eq!(
        mounts,
        ["/mnt/disks/disk0", "/etc/secret", "/var/tmp/virt-v2v"]
    );
    assert_eq!(
        container.volume_devices.as_ref().unwrap()[0].device_path,
        "/dev/block1"
    );
}

/// The VirtualMachine wrapper (conformance case 9's annotations; run strategy).
#[test]
fn virtual_machine() {
    let mut world = World::new();
    world.observed.plan.spec.target_labels = [("team".to_string(), "a".to_string())].into();
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let mut renamed = status("Web_01");
    renamed.new_name = "web-01".into();
    let built = VirtualMachine::new("", "", Default::default());
    let object = vm::virtual_machine(&run, &renamed, built.clone(), false);
    assert_eq!(object.metadata.name.as_deref(), Some("web-01"));
    let annotations = object.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations["openshift.io/display-name"], "Web_01");
    assert_eq!(annotations["original-ID"], "vm-1");
    let labels = object.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["guestConverted"], "true");
    assert_eq!(labels["migration"], "uid-m1");
    let template = object.spec.template.metadata.as_ref().unwrap();
    assert_eq!(template.labels.as_ref().unwrap()["app"], "web-01");
    assert_eq!(template.labels.as_ref().unwrap()["team"], "a");
    assert_eq!(
        template.annotations.as_ref().unwrap()["vm.kubevirt.io/os"],
        ""
    );
    // OVA has no power state: Halted unless asked otherwise.
    assert_eq!(object.spec.run_strategy.as_deref(), Some("Halted"));
    let plain = vm::virtual_machine(&run, &status("web01"), built.clone(), false);
    assert!(plain.metadata.annotations.is_none());
    let mut on = status("web01");
    on.restore_power_state = "On".into();
    assert_eq!(vm::run_strategy(&run, &on, false), "Always");
    let mut off = on.clone();
    off.vm.target_power_state = Some(TargetPowerState::Off);
    assert_eq!(vm::run_strategy(&run, &off, true), "Halted");
    assert_eq!(vm::run_strategy(&run, &status("win"), true), "Always");
}

#[test]
fn hook_objects() {
    let world = World::new();
    let m1 = migration("m1", "uid-m1");
    let run = world.run(&m1);
    let mut h = Hook::new(
        "mtv",
        "h",
        HookSpec {
            image: "quay.io/konveyor/hook-runner:latest".into(),
            playbook: "LSBob3N0czogbG9jYWxob3N0Cg==".into(),
            deadline: 300,
            ..Default::default()
        },
    );
    h.metadata.uid = Some("uid-h".into());
    let map = hook::config_map(
        &run,
        "vm-1",
        "PreHook",
        &h,
        serde_json::json!({"vm": {"ipAddress": "10.0.0.5"}}),
    )
    .unwrap();
    assert_eq!(
        map.metadata.generate_name.as_deref(),
        Some("p-vm-1-prehook-")
    );
    assert_eq!(map.metadata.namespace.as_deref(), Some("mtv"));
    let data = map.data.unwrap();
    assert_eq!(data["playbook.yml"], "- hosts: localhost\n");
    assert!(
        data["workload.yml"].contains("ipaddress"),
        "{}",
        data["workload.yml"]
    );
    assert!(
        data["plan.yml"].contains("targetnamespace: tgt"),
        "{}",
        data["plan.yml"]
    );
    let job = hook::job(&run, "vm-1", "PreHook", &h, "p-vm-1-prehook-abc");
    assert_eq!(
        job.metadata.generate_name.as_deref(),
        Some("p-vm-1-prehook-")
    );
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Plan", "uid-p"));
    let spec = job.spec.unwrap();
    assert_eq!(spec.backoff_limit, Some(1));
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.active_deadline_seconds, Some(300));
    assert_eq!(
        pod.containers[0].command.as_ref().unwrap()[1],
        "ansible-runner"
    );
    h.spec.playbook = "not base64!".into();
    assert!(hook::config_map(&run, "vm-1", "PreHook", &h, serde_json::Value::Null).is_err());
}

/// Upstream `kubevirtvmparser_test.go`, on upstream's own files.
#[test]
fn virt_v2v_output() {
    let read = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/tests/data/virt-v2v/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    for (file, firmware) in [
        ("new_format_bios.yml", "bios"),
        ("new_format_efi.yml", "uefi"),
        ("old_format_bios.yml", "bios"),
        ("old_format_efi.yml", "uefi"),
        ("old_format_none.yml", ""),
        ("new_format_none.yml", ""),
    ] {
        assert_eq!(
            parse::converted_vm(&read(file)).unwrap().firmware,
            firmware,
            "{file}"
        );
    }
    assert_eq!(
        parse::converted_vm(&read("new_format_boot_order.yml"))
            .unwrap()
            .boot_disk,
        Some(2)
    );
    assert_eq!(
        parse::converted_vm(&read("new_format_boot_order_first_disk.yml"))
            .unwrap()
            .boot_disk,
        Some(0)
    );
    assert_eq!(
        parse::converted_vm(&read("new_format_bios.yml"))
            .unwrap()
            .boot_disk,
        None
    );
    assert!(parse::converted_vm("not valid yaml: [").is_err());
}
