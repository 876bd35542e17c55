//! Plan validation against the conformance cases of plan spec §9 (validation, 1–26, where
//! they apply to provider-agnostic rules or to the OVA-shaped test adapter), each rule of
//! the catalogue, and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic on setup failures

mod support;

use ferry_api::condition::{Condition, category, reason, types};
use ferry_api::destination::{NetworkAttachmentDefinition, VirtualMachine};
use ferry_api::hook::HookSpec;
use ferry_api::k8s_openapi::api::core::v1::Namespace;
use ferry_api::k8s_openapi::api::storage::v1::{CSIStorageCapacity, StorageClass};
use ferry_api::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ferry_api::mapping::{DestinationNetwork, DestinationNetworkType};
use ferry_api::plan::{HookRef, MigrationType, Vm, VmStatus};
use ferry_api::{Hook, Time};
use ferry_inventory::ova::model::Category;
use ferry_plan::mac::DestinationVm;
use ferry_plan::observe::{DestinationVmInfo, Lookup};
use ferry_plan::validate::{self, ValidateError};
use pretty_assertions::assert_eq;
use support::*;

fn now() -> Time {
    ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap()
}

/// The conditions a plan ends up with after this pass (staged, with Ready).
fn concluded(world: &World) -> Vec<Condition> {
    let validation = world.validate();
    validate::conclude(
        &world.observed.plan.status.conditions,
        &validation,
        world.observed.plan.spec.archived,
        &now(),
    )
    .list
}

fn types_of(conditions: &[Condition]) -> Vec<&str> {
    conditions.iter().map(|c| c.r#type.as_str()).collect()
}

fn find<'a>(conditions: &'a [Condition], r#type: &str) -> &'a Condition {
    conditions
        .iter()
        .find(|c| c.r#type == r#type)
        .unwrap_or_else(|| panic!("no {type} in {:?}", types_of(conditions)))
}

fn is_ready(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| c.r#type == types::READY)
}

const R1: &str = " id:vm-1 name:'web01' ";

/// Case 1.
#[test]
fn a_valid_plan_is_ready_and_nothing_else() {
    let conditions = concluded(&World::new());
    assert_eq!(types_of(&conditions), ["Ready"]);
    assert_eq!(conditions[0].category, category::REQUIRED);
    assert_eq!(conditions[0].message, "The migration plan is ready.");
}

/// Case 2.
#[test]
fn a_missing_source_provider_blocks_but_namespace_and_maps_still_run() {
    let mut world = World::new();
    world.observed.source = Lookup::NotFound;
    world.plan_mut().target_namespace = "Bad_NS".into();
    world.plan_mut().vms = vec![Vm::with_id("vm-9")];
    let validation = world.validate();
    assert!(validation.dangling);
    let conditions = concluded(&world);
    assert_eq!(
        types_of(&conditions),
        ["SourceProviderNotValid", "NamespaceNotValid"]
    );
    let source = find(&conditions, types::SOURCE_PROVIDER_NOT_VALID);
    assert_eq!(source.reason, reason::NOT_FOUND);
    assert_eq!(source.message, "The source provider is not valid.");
    let mut world = World::new();
    world.plan_mut().provider.source.name = None;
    world.observed.source = Lookup::NotSet;
    assert_eq!(
        find(&concluded(&world), types::SOURCE_PROVIDER_NOT_VALID).reason,
        reason::NOT_SET
    );
}

/// Case 3.
#[test]
fn validation_stops_when_the_source_is_not_ready() {
    let mut world = World::new();
    if let Lookup::Found(source) = &mut world.observed.source {
        source.status.conditions = Default::default();
    }
    world.plan_mut().target_namespace = "Bad_NS".into();
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["SourceProviderNotReady"]);
    assert_eq!(
        conditions[0].message,
        "The source provider does not have the Ready condition."
    );
}

/// Case 4.
#[test]
fn a_non_openshift_destination_is_not_valid() {
    let mut world = World::new();
    world.observed.destination = Lookup::Found(provider("host", "vsphere", "https://vc"));
    let conditions = concluded(&world);
    let destination = find(&conditions, types::DESTINATION_PROVIDER_NOT_VALID);
    assert_eq!(destination.reason, reason::TYPE_NOT_VALID);
    assert_eq!(destination.category, category::CRITICAL);
    assert!(!is_ready(&conditions));
}

/// Case 5.
#[test]
fn a_bad_target_namespace_skips_vm_checks() {
    let mut world = World::new();
    world.plan_mut().target_namespace = "Bad_NS".into();
    world.plan_mut().vms = vec![Vm::with_id("vm-9")];
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["NamespaceNotValid"]);
    assert_eq!(conditions[0].reason, reason::NOT_VALID);
    assert_eq!(conditions[0].message, "Target namespace is not valid.");
    world.plan_mut().target_namespace.clear();
    assert_eq!(concluded(&world)[0].reason, reason::NOT_SET);
}

/// Case 6.
#[test]
fn a_multus_destination_in_another_namespace_is_not_valid() {
    let mut world = World::new();
    if let Lookup::Found(map) = &mut world.observed.network_map {
        map.spec.map[0].destination = DestinationNetwork {
            r#type: DestinationNetworkType::Multus,
            namespace: "other".into(),
            name: "nad1".into(),
        };
    }
    let conditions = concluded(&world);
    let nad = find(&conditions, types::NET_MAP_DESTINATION_NAD_NOT_VALID);
    assert_eq!(nad.reason, reason::NOT_VALID);
    assert_eq!(
        nad.message,
        "Destination NAD other/nad1 must be in either the target namespace (tgt) or the default namespace. Pods cannot reference network attachment definitions from other namespaces."
    );
}

/// Map references: missing, unset and not Ready.
#[test]
fn map_references() {
    let mut world = World::new();
    world.observed.network_map = Lookup::NotFound;
    world.observed.storage_map = Lookup::NotSet;
    let conditions = concluded(&world);
    assert_eq!(
        types_of(&conditions),
        ["NetworkMapRefNotValid", "StorageRefNotValid"]
    );
    assert_eq!(conditions[0].reason, reason::NOT_FOUND);
    assert_eq!(conditions[0].message, "Map.Network is not valid.");
    assert_eq!(conditions[1].reason, reason::NOT_SET);
    assert_eq!(conditions[1].message, "Map.Storage is not valid.");

    let mut world = World::new();
    if let Lookup::Found(map) = &mut world.observed.storage_map {
        map.status.conditions = Default::default();
    }
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["StorageMapNotReady"]);
    assert_eq!(
        conditions[0].message,
        "Map.Storage does not have Ready condition."
    );

    // `type: conversion` ignores the storage map.
    let mut world = World::new();
    world.observed.storage_map = Lookup::NotFound;
    world.plan_mut().r#type = Some(MigrationType::Conversion);
    assert!(!types_of(&concluded(&world)).contains(&types::STORAGE_REF_NOT_VALID));
}

/// Case 7.
#[test]
fn a_missing_vm_is_reported_with_its_unresolved_ref() {
    let mut world = World::new();
    world.plan_mut().vms = vec![Vm::with_id("vm-9")];
    let conditions = concluded(&world);
    let not_found = find(&conditions, types::VM_NOT_FOUND);
    assert_eq!(not_found.reason, reason::NOT_FOUND);
    assert_eq!(not_found.message, "VM not found.");
    assert_eq!(not_found.items, [" id:vm-9 name:'' "]);
    assert!(!is_ready(&conditions));
}

/// Case 8.
#[test]
fn a_vm_listed_twice_is_a_duplicate() {
    let mut world = World::new();
    world.plan_mut().vms = vec![Vm::with_id("vm-1"), Vm::with_name("web01")];
    let conditions = concluded(&world);
    let duplicate = find(&conditions, types::DUPLICATE_VM);
    assert_eq!(duplicate.reason, reason::NOT_UNIQUE);
    assert_eq!(duplicate.message, "Duplicate (source) VM.");
    assert_eq!(duplicate.items, [R1]);
}

/// An ambiguous name (two inventory VMs share it).
#[test]
fn an_ambiguous_name_is_reported() {
    let mut other = web01();
    other.id = "vm-2".into();
    let mut world = World::with_vms(vec![web01(), other], vec![Vm::with_name("web01")]);
    world.settings.max_vm_inflight = 20;
    let conditions = concluded(&world);
    let ambiguous = find(&conditions, types::DUPLICATE_VM);
    assert_eq!(ambiguous.reason, reason::AMBIGUOUS);
    assert_eq!(ambiguous.message, "VM reference is ambiguous.");
    assert_eq!(ambiguous.items, [" id: name:'web01' "]);
}

/// Case 9 (validation part).
#[test]
fn a_source_name_that_is_not_dns1123_only_warns() {
    let mut web = web01();
    web.name = "Web_01".into();
    let world = World::with_vms(vec![web], vec![Vm::with_id("vm-1")]);
    let conditions = concluded(&world);
    let warn = find(&conditions, types::TARGET_NAME_NOT_VALID);
    assert_eq!(warn.category, category::WARN);
    assert_eq!(warn.reason, reason::NOT_VALID);
    assert_eq!(
        warn.message,
        "Target VM name does not comply with DNS1123 RFC, will be automatically changed."
    );
    assert_eq!(warn.items, [" id:vm-1 name:'Web_01' "]);
    assert!(is_ready(&conditions));
}

/// Case 10.
#[test]
fn an_invalid_target_name_blocks() {
    let mut world = World::new();
    world.plan_mut().vms[0].target_name = "My VM".into();
    let conditions = concluded(&world);
    let invalid = find(&conditions, types::NOT_VALID);
    assert_eq!(invalid.category, category::CRITICAL);
    assert_eq!(invalid.reason, "");
    assert_eq!(invalid.message, "TargetName is invalid.");
    assert_eq!(invalid.items, [R1]);
    assert!(!is_ready(&conditions));
}

/// Case 11.
#[test]
fn target_names_must_be_unique() {
    let mut web2 = web01();
    web2.id = "vm-2".into();
    web2.name = "web02".into();
    let mut a = Vm::with_id("vm-1");
    a.target_name = "same".into();
    let mut b = Vm::with_id("vm-2");
    b.target_name = "same".into();
    let world = World::with_vms(vec![web01(), web2], vec![a, b]);
    let conditions = concluded(&world);
    let duplicate = find(&conditions, types::DUPLICATE_VM);
    assert_eq!(duplicate.message, "Duplicate targetName.");
    assert_eq!(duplicate.items, [" id:vm-2 name:'web02' "]);
}

/// Case 12.
#[test]
fn an_invalid_plan_volume_template_blocks_without_items() {
    let mut world = World::new();
    world.plan_mut().volume_name_template = "{{.PVCName}}_x".into();
    let conditions = concluded(&world);
    let invalid = find(&conditions, types::NOT_VALID);
    assert_eq!(invalid.message, "Volume name template is invalid.");
    assert_eq!(invalid.category, category::CRITICAL);
    assert!(invalid.items.is_empty());
    let mut world = World::new();
    world.plan_mut().network_name_template = "{{.NetworkType}}".into();
    assert_eq!(
        find(&concluded(&world), types::NOT_VALID).message,
        "Network name template is invalid."
    );
}

fn storage_class(name: &str) -> StorageClass {
    StorageClass {
        metadata: ferry_api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        provisioner: "csi.example.com".into(),
        ..StorageClass::default()
    }
}

/// Case 13, deliberately different: upstream lets the Advisory "No capacity information"
/// replace the Critical "TargetName is invalid." and makes the plan Ready; Ferry keeps
/// the most severe `NotValid` of the pass (docs/compatibility.md).
#[test]
fn compat_the_most_severe_not_valid_wins() {
    let mut world = World::new();
    world.plan_mut().vms[0].target_name = "My VM".into();
    world.plan_mut().conversion_temp_storage_class = "sc1".into();
    world.plan_mut().conversion_temp_storage_size = "10Gi".into();
    world.observed.temp_storage_class = Lookup::Found(storage_class("sc1"));
    let conditions = concluded(&world);
    let not_valid: Vec<_> = conditions
        .iter()
        .filter(|c| c.r#type == types::NOT_VALID)
        .collect();
    assert_eq!(not_valid.len(), 1);
    assert_eq!(not_valid[0].category, category::CRITICAL);
    assert_eq!(not_valid[0].message, "TargetName is invalid.");
    assert!(!is_ready(&conditions));

    // Alone, the advisory is kept and the plan is Ready.
    world.plan_mut().vms[0].target_name.clear();
    let conditions = concluded(&world);
    let advisory = find(&conditions, types::NOT_VALID);
    assert_eq!(advisory.category, category::ADVISORY);
    assert_eq!(
        advisory.message,
        "No capacity information found for ConversionTempStorageClass \"sc1\". Ensure sufficient space is available."
    );
    assert!(is_ready(&conditions));
}

/// Conversion temp storage, every branch.
#[test]
fn conversion_temp_storage() {
    let message = |f: &dyn Fn(&mut World)| {
        let mut world = World::new();
        world.plan_mut().conversion_temp_storage_class = "sc1".into();
        world.plan_mut().conversion_temp_storage_size = "10Gi".into();
        world.observed.temp_storage_class = Lookup::Found(storage_class("sc1"));
        f(&mut world);
        let conditions = concluded(&world);
        conditions
            .iter()
            .find(|c| c.r#type == types::NOT_VALID)
            .map(|c| (c.category.clone(), c.message.clone()))
    };
    assert_eq!(
        message(&|w| w.plan_mut().conversion_temp_storage_size.clear()),
        Some((
            category::CRITICAL.into(),
            "Both ConversionTempStorageClass and ConversionTempStorageSize must be specified together.".into()
        ))
    );
    let (cat, text) =
        message(&|w| w.plan_mut().conversion_temp_storage_size = "ten".into()).unwrap();
    assert_eq!(cat, category::CRITICAL);
    assert!(
        text.starts_with(
            "ConversionTempStorageSize 'ten' is not a valid Kubernetes resource quantity: "
        ),
        "{text}"
    );
    assert_eq!(
        message(&|w| w.observed.temp_storage_class = Lookup::NotFound),
        Some((
            category::CRITICAL.into(),
            "ConversionTempStorageClass \"sc1\" not found in the cluster. The conversion PVC will remain Pending and the migration will hang.".into()
        ))
    );
    assert_eq!(
        message(&|w| w.observed.storage_capacities_error = Some("forbidden".into())),
        Some((
            category::ADVISORY.into(),
            "Storage capacity for ConversionTempStorageClass \"sc1\" could not be verified. Ensure sufficient space is available.".into()
        ))
    );
    let capacity = |max: Option<&str>, cap: Option<&str>| CSIStorageCapacity {
        storage_class_name: "sc1".into(),
        maximum_volume_size: max.map(|q| Quantity(q.into())),
        capacity: cap.map(|q| Quantity(q.into())),
        ..CSIStorageCapacity::default()
    };
    assert_eq!(
        message(&|w| w.observed.storage_capacities = vec![capacity(Some("5Gi"), Some("100Gi"))]),
        Some((
            category::CRITICAL.into(),
            "Insufficient space in storage class \"sc1\" for conversion temp storage (requested 10Gi). Migration may fail.".into()
        ))
    );
    assert_eq!(
        message(&|w| w.observed.storage_capacities = vec![capacity(None, Some("100Gi"))]),
        None
    );
    assert_eq!(
        message(&|w| w.observed.storage_capacities = vec![capacity(Some("10Gi"), None)]),
        None
    );
}

/// Case 14.
#[test]
fn an_invalid_vm_pvc_template_names_the_vm_template_and_error() {
    let mut world = World::new();
    world.plan_mut().pvc_name_template = "{{.VmName}}_INVALID".into();
    let conditions = concluded(&world);
    let invalid = find(&conditions, types::NOT_VALID);
    assert_eq!(invalid.message, "VM PVC name template is invalid.");
    assert_eq!(
        invalid.items,
        [
            " id:vm-1 name:'web01'  template:{{.VmName}}_INVALID error:Template output is invalid k8s label [web01_INVALID]"
        ]
    );
    // The VM's own template wins over the plan's; a syntax error is reported as such.
    world.plan_mut().vms[0].pvc_name_template = "{{.VmName".into();
    let conditions = concluded(&world);
    assert!(
        find(&conditions, types::NOT_VALID).items[0].starts_with(
            " id:vm-1 name:'web01'  template:{{.VmName error:Invalid template syntax caused by: '"
        ),
        "{:?}",
        find(&conditions, types::NOT_VALID).items
    );
    // VM-level volume and network templates.
    let mut world = World::new();
    world.plan_mut().vms[0].volume_name_template = "{{.PVCName}}_x".into();
    let invalid = concluded(&world);
    assert_eq!(
        find(&invalid, types::NOT_VALID).message,
        "VM volume name template is invalid."
    );
    assert_eq!(find(&invalid, types::NOT_VALID).items, [R1]);
    let mut world = World::new();
    world.plan_mut().vms[0].network_name_template = "{{.Nope}}".into();
    assert_eq!(
        find(&concluded(&world), types::NOT_VALID).message,
        "VM network name template is invalid."
    );
    // The global setting applies when the plan has none.
    let mut world = World::new();
    world.settings.pvc_name_template = "{{.PlanName}}_{{.DiskIndex}}".into();
    assert_eq!(
        find(&concluded(&world), types::NOT_VALID).items,
        [
            " id:vm-1 name:'web01'  template:{{.PlanName}}_{{.DiskIndex}} error:Template output is invalid k8s label [p_0]"
        ]
    );
}

/// Case 17 (OVA-shaped source).
#[test]
fn warm_is_not_supported_from_this_source() {
    let mut world = World::new();
    world.plan_mut().r#type = Some(MigrationType::Warm);
    let conditions = concluded(&world);
    let warm = find(&conditions, types::WARM_MIGRATION_NOT_READY);
    assert_eq!(warm.reason, reason::NOT_SUPPORTED);
    assert_eq!(
        warm.message,
        "Warm migration from the source provider is not supported."
    );
    assert_eq!(
        find(&conditions, types::MIGRATION_TYPE_NOT_VALID).message,
        "`warm` migration from the source provider is not supported."
    );
}

/// Case 23.
#[test]
fn a_destination_vm_with_the_same_mac_conflicts() {
    let mut world = World::new();
    world.observed.destination_vms = vec![DestinationVmInfo {
        vm: DestinationVm {
            namespace: "tgt".into(),
            name: "old".into(),
            macs: vec![MAC.into()],
        },
        ..DestinationVmInfo::default()
    }];
    let conditions = concluded(&world);
    let conflicts = find(&conditions, types::MAC_CONFLICTS);
    assert_eq!(conflicts.reason, reason::NOT_VALID);
    assert_eq!(
        conflicts.message,
        "VM  id:vm-1 name:'web01'  has MAC address conflicts: MACs 00:50:56:aa:bb:cc conflict with destination VM tgt/old"
    );
    assert_eq!(conflicts.items, [R1]);
}

/// Ferry: the target VM a failed run of this plan left behind is deleted by the re-run
/// (deleteVmOnFailMigration), so it is not a MAC conflict (upstream blocks the re-run,
/// case 53); one kept by deleteVmOnFailMigration=false still conflicts.
#[test]
fn compat_own_leftover_vm_is_not_a_mac_conflict() {
    let mut world = World::new();
    let labels = [("plan", "uid-p"), ("vmID", "vm-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    world.observed.destination_vms = vec![DestinationVmInfo {
        vm: DestinationVm {
            namespace: "tgt".into(),
            name: "web01".into(),
            macs: vec![MAC.into()],
        },
        labels,
    }];
    let mut failed = VmStatus::new(Vm::with_id("vm-1"), "Completed");
    failed.vm.name = "web01".into();
    failed
        .conditions
        .set(ferry_plan::conditions::vm_failed(), &now());
    world.observed.plan.status.migration.vms = vec![failed];
    let conditions = concluded(&world);
    assert!(!types_of(&conditions).contains(&types::MAC_CONFLICTS));
    assert!(!types_of(&conditions).contains(&types::VM_ALREADY_EXISTS));
    world.plan_mut().delete_vm_on_fail_migration = Some(false);
    assert!(types_of(&concluded(&world)).contains(&types::MAC_CONFLICTS));
}

/// VMAlreadyExists: a VM named like the target exists and the plan never migrated it.
#[test]
fn an_existing_target_vm_blocks() {
    let mut world = World::new();
    let vm: VirtualMachine = serde_json::from_value(serde_json::json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": "web01", "namespace": "tgt"}, "spec": {"template": {"spec": {"domain": {"devices": {}}}}}
    }))
    .unwrap();
    world.observed.destination_vms = vec![DestinationVmInfo::of(&vm)];
    let conditions = concluded(&world);
    let exists = find(&conditions, types::VM_ALREADY_EXISTS);
    assert_eq!(exists.message, "Target VM already exists.");
    assert_eq!(exists.reason, reason::NOT_UNIQUE);
    assert_eq!(exists.items, [R1]);
    // In another namespace it is fine.
    world.observed.destination_vms[0].vm.namespace = "elsewhere".into();
    assert!(is_ready(&concluded(&world)));
}

fn nad(namespace: &str, name: &str, route: Option<&str>) -> NetworkAttachmentDefinition {
    let mut nad = NetworkAttachmentDefinition::new(namespace, name, Default::default());
    if let Some(route) = route {
        nad.metadata.annotations = Some(
            [("forklift.konveyor.io/route".to_string(), route.to_string())]
                .into_iter()
                .collect(),
        );
    }
    nad
}

/// Case 24 (validation part) and the other transfer network checks.
#[test]
fn transfer_network() {
    let check = |namespace: &str, found: Option<NetworkAttachmentDefinition>| {
        let mut world = World::new();
        world.plan_mut().transfer_network = Some(object_ref(namespace, "nad1"));
        world
            .observed
            .nads
            .insert((namespace.into(), "nad1".into()), found);
        concluded(&world)
    };
    let conditions = check("tgt", Some(nad("tgt", "nad1", None)));
    let missing = find(&conditions, types::TRANSFER_NETWORK_MISSING_DEFAULT_ROUTE);
    assert_eq!(missing.category, category::WARN);
    assert_eq!(
        missing.message,
        "Transfer network missing default route annotation."
    );
    assert!(is_ready(&conditions));
    assert!(is_ready(&check(
        "tgt",
        Some(nad("tgt", "nad1", Some("10.0.0.1")))
    )));
    assert!(is_ready(&check(
        "default",
        Some(nad("default", "nad1", Some("none")))
    )));
    let bad = check("tgt", Some(nad("tgt", "nad1", Some("ten.0.0.1"))));
    assert_eq!(
        find(&bad, types::TRANSFER_NETWORK_NOT_VALID).message,
        "Transfer network default route annotation is not a valid IP address."
    );
    let gone = check("tgt", None);
    let not_found = find(&gone, types::TRANSFER_NETWORK_NOT_VALID);
    assert_eq!(not_found.reason, reason::NOT_FOUND);
    assert_eq!(not_found.message, "Transfer network is not valid.");
    let other = check("other", Some(nad("other", "nad1", Some("10.0.0.1"))));
    assert_eq!(
        find(&other, types::TRANSFER_NETWORK_NOT_VALID).message,
        "Transfer network other/nad1 is in a different namespace than the target namespace tgt. Pods cannot reference network attachment definitions across namespaces."
    );
}

fn hook(name: &str, spec: HookSpec, ready: bool) -> Hook {
    let mut hook = Hook::new(NS, name, spec);
    if ready {
        hook.status.conditions = support::ready();
    }
    hook
}

/// Case 25 and the other hook checks.
#[test]
fn hooks() {
    let mut world = World::new();
    world.plan_mut().vms[0].hooks = vec![HookRef {
        step: "Pre".into(),
        hook: object_ref(NS, "h"),
    }];
    let image = HookSpec {
        image: "quay.io/x/hook:1".into(),
        ..HookSpec::default()
    };
    world.observed.hooks.insert(
        (NS.into(), "h".into()),
        Some(hook("h", image.clone(), true)),
    );
    let conditions = concluded(&world);
    let step = find(&conditions, types::HOOK_STEP_NOT_VALID);
    assert_eq!(step.reason, reason::NOT_VALID);
    assert_eq!(step.message, "Hook step not valid.");
    assert_eq!(step.items, ["VM:  id:vm-1 name:'web01'  step: Pre"]);

    let mut world = World::new();
    world.plan_mut().vms[0].hooks = vec![
        HookRef {
            step: "PreHook".into(),
            hook: object_ref(NS, "missing"),
        },
        HookRef {
            step: "PostHook".into(),
            hook: object_ref("", "h"),
        },
        HookRef {
            step: "PostHook".into(),
            hook: object_ref(NS, "unready"),
        },
    ];
    world
        .observed
        .hooks
        .insert((NS.into(), "missing".into()), None);
    world.observed.hooks.insert(
        (NS.into(), "unready".into()),
        Some(hook(
            "unready",
            HookSpec {
                service_account: "hook-sa".into(),
                ..HookSpec::default()
            },
            false,
        )),
    );
    let conditions = concluded(&world);
    let described = |name: &str| {
        format!(
            "VM: {R1} hook: &ObjectReference{{Kind:,Namespace:mtv,Name:{name},UID:,APIVersion:,ResourceVersion:,FieldPath:,}}"
        )
    };
    let hook_not_valid = find(&conditions, types::HOOK_NOT_VALID);
    // NotSet, NotFound and NotValid share the type: the last one set wins.
    assert_eq!(hook_not_valid.reason, reason::NOT_VALID);
    assert_eq!(
        hook_not_valid.message,
        "Hook must set spec.aap or spec.image for a local hook (playbook optional)."
    );
    assert_eq!(hook_not_valid.items, [described("unready")]);
    assert_eq!(
        find(&conditions, types::HOOK_NOT_READY).items,
        [described("unready")]
    );
    assert_eq!(
        find(&conditions, types::HOOK_SERVICE_ACCOUNT_NOT_VALID).items,
        [format!(
            "{} ServiceAccount 'hook-sa' not found in namespace 'mtv'",
            described("unready")
        )]
    );
    // Alone, a missing hook is reported as such.
    world.plan_mut().vms[0].hooks.truncate(1);
    let conditions = concluded(&world);
    let missing = find(&conditions, types::HOOK_NOT_VALID);
    assert_eq!(missing.reason, reason::NOT_FOUND);
    assert_eq!(missing.message, "Hook not found.");
    assert_eq!(missing.items, [described("missing")]);
}

/// ServiceAccounts in the target and plan namespaces.
#[test]
fn service_accounts() {
    let mut world = World::new();
    world.plan_mut().service_account = "migrator".into();
    let conditions = concluded(&world);
    assert_eq!(
        find(&conditions, types::SERVICE_ACCOUNT_NOT_VALID).message,
        "ServiceAccount 'migrator' not found in target namespace 'tgt'."
    );
    world
        .observed
        .service_accounts
        .insert((TARGET.into(), "migrator".into()));
    assert!(is_ready(&concluded(&world)));
    // A local hook needs it in the plan namespace too.
    world.plan_mut().vms[0].hooks = vec![HookRef {
        step: "PreHook".into(),
        hook: object_ref(NS, "h"),
    }];
    world.observed.hooks.insert(
        (NS.into(), "h".into()),
        Some(hook(
            "h",
            HookSpec {
                image: "quay.io/x/hook:1".into(),
                ..HookSpec::default()
            },
            true,
        )),
    );
    assert_eq!(
        find(&concluded(&world), types::SERVICE_ACCOUNT_NOT_VALID).message,
        "ServiceAccount 'migrator' not found in plan namespace 'mtv' (required for hook pods)."
    );
    // The global setting is the fallback.
    let mut world = World::new();
    world.settings.migration_service_account = "global".into();
    assert_eq!(
        find(&concluded(&world), types::SERVICE_ACCOUNT_NOT_VALID).message,
        "ServiceAccount 'global' not found in target namespace 'tgt'."
    );
}

/// Case 26.
#[test]
fn a_restricted_controller_namespace_warns() {
    let mut world = World::new();
    world.settings.pod_namespace = "openshift-mtv".into();
    world.observed.controller_namespace = Some(Namespace {
        metadata: ferry_api::ObjectMeta {
            name: Some("openshift-mtv".into()),
            labels: Some(
                [(
                    "pod-security.kubernetes.io/enforce".to_string(),
                    "restricted".to_string(),
                )]
                .into_iter()
                .collect(),
            ),
            ..Default::default()
        },
        ..Namespace::default()
    });
    let conditions = concluded(&world);
    let restricted = find(&conditions, types::RESTRICTED_POD_SECURITY);
    assert_eq!(restricted.category, category::WARN);
    assert_eq!(
        restricted.message,
        "Namespace 'openshift-mtv' where MTV is installed may be restricted, causing migration to fail. Disable SCC label synchronization and apply the privileged label."
    );
    assert!(is_ready(&conditions));
}

/// `virtV2vImage` must be a fully-qualified reference.
#[test]
fn virt_v2v_image() {
    let mut world = World::new();
    world.plan_mut().virt_v2v_image = "forklift-virt-v2v".into();
    let conditions = concluded(&world);
    assert_eq!(
        find(&conditions, types::VIRT_V2V_IMAGE_NOT_VALID).message,
        "VirtV2vImage is not a valid container image reference. A fully-qualified image is required (e.g. quay.io/kubev2v/forklift-virt-v2v:latest)."
    );
    world.plan_mut().virt_v2v_image = "quay.io/kubev2v/forklift-virt-v2v:latest".into();
    assert!(is_ready(&concluded(&world)));
}

/// Adapter findings: unmapped networks and storage (maps written for another provider
/// pair map none of this source's objects), invalid disk sizes.
#[test]
fn maps_for_another_provider_pair_leave_vms_unmapped() {
    let mut world = World::new();
    for lookup in [&mut world.observed.network_map] {
        if let Lookup::Found(map) = lookup {
            map.status.references.list = vec![ferry_api::Ref::id("dvportgroup-22")];
        }
    }
    if let Lookup::Found(map) = &mut world.observed.storage_map {
        map.status.references.list = vec![ferry_api::Ref::id("datastore-15")];
    }
    let conditions = concluded(&world);
    assert_eq!(
        find(&conditions, types::VM_NETWORKS_NOT_MAPPED).message,
        "VM has unmapped networks."
    );
    assert_eq!(find(&conditions, types::VM_STORAGE_NOT_MAPPED).items, [R1]);
    assert!(!is_ready(&conditions));
}

#[test]
fn invalid_disk_sizes_concerns_and_luks() {
    let mut web = web01();
    web.disks[1].capacity = 0;
    web.concerns = vec![
        inventory::concern("ova.disk.broken", Category::Critical, "Broken disk"),
        inventory::concern(
            "ova.source.unsupported",
            Category::Warning,
            "Unsupported source",
        ),
    ];
    let mut planned = Vm::with_id("vm-1");
    planned.luks = object_ref(NS, "keys");
    planned.nbde_clevis = true;
    let world = World::with_vms(vec![web], vec![planned]);
    let conditions = concluded(&world);
    assert_eq!(
        find(&conditions, types::INVALID_DISK_SIZES).message,
        "VM has disks with invalid sizes."
    );
    assert_eq!(
        find(&conditions, types::VM_CRITICAL_CONCERNS).items,
        [" id:vm-1 name:'web01'  (Broken disk)"]
    );
    assert_eq!(
        find(&conditions, types::UNSUPPORTED_OVF_EXPORT_SOURCE).items,
        [R1]
    );
    let luks = find(&conditions, types::LUKS_AND_CLEVIS_INCOMPATIBILITY);
    assert_eq!(luks.category, category::WARN);
    assert_eq!(
        luks.message,
        "LUKS keys and Clevis cannot be configured together; Clevis will be used."
    );
}

#[test]
fn more_than_one_nic_on_the_pod_network() {
    let mut web = web01();
    web.nics.push(inventory::nic("Other", "00:50:56:aa:bb:dd"));
    let world = World::with_vms(vec![web], vec![Vm::with_id("vm-1")]);
    let conditions = concluded(&world);
    assert_eq!(
        find(&conditions, types::VM_MULTIPLE_POD_NETWORK_MAPPINGS).message,
        "VM has more than one interface mapped to the pod network."
    );
}

#[test]
fn a_vm_without_id_or_name_is_not_valid() {
    let mut world = World::new();
    world.plan_mut().vms.push(Vm::default());
    let conditions = concluded(&world);
    let vm_ref = find(&conditions, types::VM_REF_NOT_VALID);
    assert_eq!(vm_ref.message, "Either `ID` or `Name` required.");
    assert_eq!(vm_ref.reason, reason::NOT_SET);
}

/// Succeeded VMs are not validated again, and nothing is while the plan executes.
#[test]
fn succeeded_vms_and_executing_plans_skip_vm_checks() {
    let mut world = World::new();
    world.plan_mut().vms.push(Vm::with_id("gone"));
    let mut done = VmStatus::new(Vm::with_id("gone"), "Completed");
    done.conditions
        .set(ferry_plan::conditions::vm_succeeded(), &now());
    world.observed.plan.status.migration.vms = vec![done];
    assert!(is_ready(&concluded(&world)));

    let mut world = World::new();
    world.plan_mut().vms = vec![Vm::with_id("vm-9")];
    world
        .observed
        .plan
        .status
        .conditions
        .set(ferry_plan::conditions::executing(), &now());
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["Executing", "Ready"]);
}

/// Ferry: a source type without an adapter is a condition, not a failing reconcile.
#[test]
fn a_source_type_without_adapter_is_reported() {
    let mut world = World::new();
    world.observed.source = Lookup::Found(provider("src", "nutanix", "https://prism"));
    let conditions = concluded(&world);
    let source = find(&conditions, types::SOURCE_PROVIDER_NOT_VALID);
    assert_eq!(source.reason, reason::NOT_SUPPORTED);
    assert!(source.suggestion.contains("'nutanix'"));
    assert!(!is_ready(&conditions));
}

/// An inventory that has not loaded yet is an error to retry, not a condition.
#[test]
fn an_unloaded_inventory_is_retried() {
    let mut world = World::new();
    world.observed.inventory = Some(TestInventory::unloaded());
    let result = validate::validate(&world.observed, &world.adapters, &world.settings);
    assert_eq!(result, Err(ValidateError::InventoryNotReady));
    world.observed.inventory = None;
    let result = validate::validate(&world.observed, &world.adapters, &world.settings);
    assert_eq!(result, Err(ValidateError::InventoryNotReady));
}

/// Conditions keep their lastTransitionTime across passes when nothing changed, and are
/// dropped when fixed.
#[test]
fn conditions_are_recomputed_each_pass() {
    let mut world = World::new();
    world.plan_mut().vms = vec![Vm::with_id("vm-9")];
    let first = concluded(&world);
    world.observed.plan.status.conditions = first.clone().into();
    let later = ferry_api::time::parse("2024-05-01T11:00:00Z").unwrap();
    let validation = world.validate();
    let second = validate::conclude(
        &world.observed.plan.status.conditions,
        &validation,
        false,
        &later,
    );
    assert_eq!(first, second.list, "unchanged conditions keep their times");
    world.plan_mut().vms = vec![Vm::with_id("vm-1")];
    world.observed.plan.status.conditions = second;
    assert_eq!(types_of(&concluded(&world)), ["Ready"]);
}

/// Archived plans are not Ready.
#[test]
fn an_archived_plan_is_not_ready() {
    let mut world = World::new();
    world.plan_mut().archived = true;
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["Archived"]);
    assert_eq!(conditions[0].reason, reason::USER_REQUESTED);
    assert_eq!(
        conditions[0].message,
        "The migration plan has been archived."
    );
}

/// Hostile names: unicode, 10 000 characters, path traversal; none may panic, and each
/// gets a clear condition.
#[test]
fn hostile_names() {
    for name in [
        "../../etc/passwd".to_string(),
        "🚀 ünïcødé VM".to_string(),
        "x".repeat(10_000),
        "\u{0}\u{1b}[31m".to_string(),
    ] {
        let mut web = web01();
        web.name = name.clone();
        let mut planned = Vm::with_id("vm-1");
        planned.target_name = name.clone();
        let world = World::with_vms(vec![web], vec![planned]);
        let conditions = concluded(&world);
        assert!(!is_ready(&conditions), "{name:?}");
        assert_eq!(
            find(&conditions, types::NOT_VALID).message,
            "TargetName is invalid."
        );
        let mut world = world;
        world.plan_mut().vms[0].target_name.clear();
        let conditions = concluded(&world);
        assert!(
            types_of(&conditions).contains(&types::TARGET_NAME_NOT_VALID),
            "{name:?}"
        );
    }
    let mut world = World::new();
    world.plan_mut().target_namespace = "../x".into();
    assert_eq!(
        find(&concluded(&world), types::NAMESPACE_NOT_VALID).reason,
        reason::NOT_VALID
    );
    let mut world = World::new();
    world.plan_mut().pvc_name_template = "{{repeat 100000000 \"x\"}}".into();
    assert!(
        find(&concluded(&world), types::NOT_VALID).items[0].contains("Template execution failed")
    );
}

/// 2 000 VMs in one plan validate (each disk template rendered) without trouble.
#[test]
fn two_thousand_vms() {
    let mut inventory = Vec::new();
    let mut planned = Vec::new();
    for i in 0..2000 {
        let mut web = web01();
        web.id = format!("vm-{i}");
        web.name = format!("web{i:04}");
        web.nics[0].mac = format!("00:50:56:00:{:02x}:{:02x}", i / 256, i % 256);
        inventory.push(web);
        planned.push(Vm::with_id(format!("vm-{i}")));
    }
    planned.push(Vm::with_id("vm-7"));
    let world = World::with_vms(inventory, planned);
    let conditions = concluded(&world);
    assert_eq!(types_of(&conditions), ["DuplicateVM"]);
    assert_eq!(conditions[0].items, [" id:vm-7 name:'web0007' "]);
    assert!(world.validate().resolved.iter().all(Option::is_some));
}
