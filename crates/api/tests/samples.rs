//! Upstream's CRDs and samples (`fixtures/upstream`), plus realistic objects from
//! upstream's docs and operator, against Ferry's types.
//!
//! - Every upstream CRD parses as a CustomResourceDefinition.
//! - Valid samples parse into their kind and round-trip: parse → serialize → parse is
//!   equal, and the serialized JSON is what Go's encoder emits for the same object
//!   (always-emitted fields present, empty `omitempty` fields absent, `null` provider type,
//!   seconds-precision times).
//! - Invalid samples (spec §2) still parse (a watcher must not choke on them), and a
//!   structural check against the CRD schema, upstream's and Ferry's alike, reports
//!   exactly why the API server rejects them.

// The helpers below are test code too: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use ferry_api::{
    ForkliftController, Hook, Host, Migration, NetworkMap, OpenstackVolumePopulator,
    OvirtVolumePopulator, Plan, Provider, StorageMap, VSphereXcopyVolumePopulator,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use pretty_assertions::assert_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Debug;
use std::path::PathBuf;

/// The namespace the operator substitutes for `${NAMESPACE}` when it installs samples.
const NAMESPACE: &str = "openshift-mtv";

fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/upstream")
}

/// A sample as the operator installs it: `${NAMESPACE}` substituted.
fn sample(file: &str) -> Value {
    let path = upstream_dir().join("samples").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text.replace("${NAMESPACE}", NAMESPACE);
    assert!(!text.contains("${"), "{file}: unsubstituted placeholder");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn parse<K: DeserializeOwned>(value: &Value) -> K {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"))
}

/// Parse → serialize → parse is stable, and the serialized JSON is `expected`.
fn round_trip<K>(input: &Value, expected: &Value) -> K
where
    K: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let first: K = parse(input);
    let json = serde_json::to_value(&first).unwrap();
    let second: K = parse(&json);
    assert_eq!(first, second, "parse → serialize → parse");
    assert_eq!(&json, expected, "the JSON Go's encoder would write");
    first
}

fn crd_schema(crd: &CustomResourceDefinition) -> Value {
    let version = &crd.spec.versions[0];
    serde_json::to_value(
        version
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

fn upstream_crd(plural: &str) -> CustomResourceDefinition {
    let path = upstream_dir().join(format!("crds/forklift.konveyor.io_{plural}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{plural}: {e}"))
}

fn generated_crd(plural: &str) -> CustomResourceDefinition {
    ferry_api::crds::all()
        .unwrap()
        .into_iter()
        .find(|crd| crd.spec.names.plural == plural)
        .unwrap()
}

/// What the API server's structural handling would report: unknown fields are pruned
/// (`pruned <path>`), then required fields are checked (`<path>: Required value`) and
/// scalar types (`<path>: Invalid type`). The subset of validation the samples exercise.
fn problems(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let type_ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    };
    if !type_ok {
        out.push(format!("{path}: Invalid type"));
        return;
    }
    if let (Some(properties), Value::Object(object)) = (schema.get("properties"), value) {
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        for key in object.keys() {
            if properties.get(key).is_none() && !preserve {
                out.push(format!("pruned {path}.{key}"));
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                out.push(format!("{path}.{key}: Required value"));
            }
        }
        for (key, child) in object {
            if let Some(child_schema) = properties.get(key) {
                problems(child_schema, child, &format!("{path}.{key}"), out);
            }
        }
    }
    if let (Some(items), Value::Array(values)) = (schema.get("items"), value) {
        for (i, item) in values.iter().enumerate() {
            problems(items, item, &format!("{path}[{i}]"), out);
        }
    }
}

/// The problems of `object` under both upstream's and Ferry's CRD, which must agree.
fn validate(plural: &str, object: &Value) -> Vec<String> {
    let check = |crd: &CustomResourceDefinition| {
        let mut out = Vec::new();
        let mut object = object.clone();
        // metadata is validated by the API server itself, not by the schema.
        object.as_object_mut().unwrap().remove("metadata");
        problems(&crd_schema(crd), &object, "", &mut out);
        out.sort();
        out
    };
    let upstream = check(&upstream_crd(plural));
    let ferry = check(&generated_crd(plural));
    assert_eq!(
        upstream, ferry,
        "{plural}: upstream's and Ferry's CRD disagree"
    );
    upstream
}

#[test]
fn every_upstream_crd_parses() {
    let mut plurals = Vec::new();
    for entry in std::fs::read_dir(upstream_dir().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(crd.spec.group, "forklift.konveyor.io");
        assert_eq!(crd.spec.versions.len(), 1);
        assert!(crd.spec.versions[0].served && crd.spec.versions[0].storage);
        plurals.push(crd.spec.names.plural);
    }
    plurals.sort();
    assert_eq!(plurals.len(), 14);
}

// --- Valid samples ---

#[test]
fn provider_sample_is_valid_but_vmware_is_not_a_provider_type() {
    let input = sample("forklift_v1beta1_provider.yaml");
    assert!(validate("providers", &input).is_empty());
    let mut expected = input.clone();
    // Go omits the empty `url` (omitempty).
    expected["spec"].as_object_mut().unwrap().remove("url");
    let provider: Provider = round_trip(&input, &expected);
    assert_eq!(provider.type_name(), "vmware");
    assert_eq!(provider.provider_type(), None, "→ ProviderTypeNotSupported");
    assert_eq!(provider.namespace(), NAMESPACE);
}

#[test]
fn migration_sample_is_valid() {
    let input = sample("forklift_v1beta1_migration.yaml");
    assert!(validate("migrations", &input).is_empty());
    let migration: Migration = round_trip(&input, &input);
    assert_eq!(migration.spec.plan.name.as_deref(), Some("example-plan"));
    assert_eq!(migration.spec.plan.namespace.as_deref(), Some(NAMESPACE));
}

#[test]
fn hook_sample_is_valid_but_its_playbook_is_not_base64() {
    let input = sample("forklift_v1beta1_hook.yaml");
    assert!(validate("hooks", &input).is_empty());
    let hook: Hook = round_trip(&input, &input);
    assert!(hook.spec.is_local());
    // The hook controller reports InvalidPlaybook (Critical/DataError) for this.
    use base64::Engine;
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(&hook.spec.playbook)
            .is_err()
    );
}

#[test]
fn forklift_controller_sample_is_valid() {
    let input = sample("forklift_v1beta1_forkliftcontroller.yaml");
    assert!(validate("forkliftcontrollers", &input).is_empty());
    let controller: ForkliftController = round_trip(&input, &input);
    assert!(controller.spec.feature_validation());
    assert!(controller.spec.feature_volume_populator());
    assert!(controller.spec.validate().is_empty());
    assert_eq!(controller.spec.max_vm_inflight(), Ok(20));
}

#[test]
fn populator_samples_are_valid() {
    let input = sample("forklift_v1beta1_ovirt_populator.yaml");
    assert!(validate("ovirtvolumepopulators", &input).is_empty());
    let mut expected = input.clone();
    // Go always writes the populators' status and its progress.
    expected["status"] = json!({ "progress": "" });
    let ovirt: OvirtVolumePopulator = round_trip(&input, &expected);
    assert_eq!(ovirt.spec.disk_id, "");

    let input = sample("forklift_v1beta1_openstack_populator.yaml");
    assert!(validate("openstackvolumepopulators", &input).is_empty());
    let mut expected = input.clone();
    expected["status"] = json!({ "progress": "" });
    let _: OpenstackVolumePopulator = round_trip(&input, &expected);
}

// --- Invalid samples ---

#[test]
fn plan_sample_lacks_target_namespace_map_and_vms() {
    let input = sample("forklift_v1beta1_plan.yaml");
    assert_eq!(
        validate("plans", &input),
        [
            ".spec.map: Required value",
            ".spec.targetNamespace: Required value",
            ".spec.vms: Required value",
        ]
    );
    // Still readable: missing fields read as empty, as Go's decoder leaves them.
    let plan: Plan = parse(&input);
    assert!(plan.spec.target_namespace.is_empty() && plan.spec.vms.is_empty());
}

#[test]
fn map_samples_have_a_provider_ref_instead_of_a_provider_pair() {
    // spec.provider must be {source, destination}: the stray namespace/name are pruned,
    // then source and destination are missing.
    let expected = [
        ".spec.provider.destination: Required value",
        ".spec.provider.source: Required value",
        "pruned .spec.provider.name",
        "pruned .spec.provider.namespace",
    ];
    let input = sample("forklift_v1beta1_networkmap.yaml");
    assert_eq!(validate("networkmaps", &input), expected);
    let map: NetworkMap = parse(&input);
    assert_eq!(map.spec.map.len(), 1);

    let input = sample("forklift_v1beta1_storagemap.yaml");
    assert_eq!(validate("storagemaps", &input), expected);
    let map: StorageMap = parse(&input);
    assert_eq!(map.spec.map[0].destination.storage_class, "");
}

#[test]
fn host_sample_lacks_its_secret() {
    let input = sample("forklift_v1beta1_host.yaml");
    assert_eq!(validate("hosts", &input), [".spec.secret: Required value"]);
    let host: Host = parse(&input);
    assert_eq!(host.spec.ip_address, "");
}

#[test]
fn xcopy_sample_uses_stale_fields() {
    let input = sample("forklift_v1beta1_vsphere_xcopy_volume_populator.yaml");
    assert_eq!(
        validate("vspherexcopyvolumepopulators", &input),
        [
            ".spec.secretName: Required value",
            ".spec.storageVendorProduct: Required value",
            ".spec.vmId: Required value",
            ".spec.vmdkPath: Required value",
            "pruned .spec.secretRef",
            "pruned .spec.sourceVMDK",
            "pruned .spec.targetPVC",
        ]
    );
    let populator: VSphereXcopyVolumePopulator = parse(&input);
    assert_eq!(populator.spec.vmdk_path, "");
}

#[test]
fn kustomization_lists_every_installed_sample() {
    let kustomization = sample("kustomization.yaml");
    let resources = kustomization["resources"].as_array().unwrap();
    for resource in resources {
        let file = resource.as_str().unwrap();
        let _ = sample(file);
    }
    assert_eq!(resources.len(), 10);
}

// --- Realistic positive vectors ---

#[test]
fn host_provider_from_the_operator() {
    // operator/roles/forkliftcontroller/templates/controller/provider-host.yml.j2
    let input = yaml(
        r#"
kind: Provider
apiVersion: forklift.konveyor.io/v1beta1
metadata:
  name: host
  namespace: openshift-mtv
spec:
  type: openshift
  secret: {}
  url: ""
"#,
    );
    assert!(validate("providers", &input).is_empty());
    let mut expected = input.clone();
    expected["spec"].as_object_mut().unwrap().remove("url");
    let provider: Provider = round_trip(&input, &expected);
    assert!(provider.is_host());
    assert!(!provider.requires_conversion());
    assert_eq!(provider, Provider::host("openshift-mtv"));
}

#[test]
fn plan_with_a_hook_from_the_docs() {
    // docs/hooks.md, "Create the plan using the hook".
    let input = yaml(
        r#"
kind: Plan
apiVersion: forklift.konveyor.io/v1beta1
metadata:
  name: test
  namespace: konveyor-forklift
spec:
  map:
    network:
      namespace: "konveyor-forklift"
      name: "network"
    storage:
      namespace: "konveyor-forklift"
      name: "storage"
  provider:
    source:
      namespace: "konveyor-forklift"
      name: "boston"
    destination:
      namespace: "konveyor-forklift"
      name: host
  targetNamespace: "konveyor-forklift"
  vms:
    - id: vm-2861
      hooks:
        - hook:
            namespace: konveyor-forklift
            name: playbook
          step: PreHook
"#,
    );
    assert!(validate("plans", &input).is_empty());
    let mut expected = input.clone();
    // Go always writes `luks`, even empty.
    expected["spec"]["vms"][0]["luks"] = json!({});
    let plan: Plan = round_trip(&input, &expected);
    let vm = plan.spec.find_vm(&ferry_api::Ref::id("vm-2861")).unwrap();
    let hook = vm.find_hook(ferry_api::plan::hook_step::PRE_HOOK).unwrap();
    assert_eq!(hook.hook.name.as_deref(), Some("playbook"));
    assert!(
        vm.find_hook(ferry_api::plan::hook_step::POST_HOOK)
            .is_none()
    );
    assert!(plan.spec.preserve_static_ips(), "absent: the CRD default");
}

#[test]
fn hook_from_the_docs_has_a_real_playbook() {
    // docs/hooks.md, "Hook Example" (playbook shortened to its first tasks).
    let input = yaml(
        r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Hook
metadata:
  name: playbook
  namespace: konveyor-forklift
spec:
  image: quay.io/konveyor/hook-runner
  playbook: LSBuYW1lOiBNYWluCiAgaG9zdHM6IGxvY2FsaG9zdAogIHRhc2tzOgogIC0gbmFtZTogTG9hZCBQbGFuCiAgICBpbmNsdWRlX3ZhcnM6CiAgICAgIGZpbGU6IHBsYW4ueW1sCiAgICAgIG5hbWU6IHBsYW4K
  serviceAccount: forklift-controller
"#,
    );
    assert!(validate("hooks", &input).is_empty());
    let hook: Hook = round_trip(&input, &input);
    use base64::Engine;
    let playbook = base64::engine::general_purpose::STANDARD
        .decode(&hook.spec.playbook)
        .unwrap();
    assert!(
        String::from_utf8(playbook)
            .unwrap()
            .starts_with("- name: Main")
    );
}

/// A plan in the middle of a warm migration, as Forklift writes it: every always-emitted
/// field present (`luks: {}`, `pipeline`, `phase`, `progress`, error `phase`/`reasons`,
/// `warm` counters, all snapshot-ref fields), no empty `omitempty` field, times to the
/// second.
fn full_plan() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full-plan.yaml");
    yaml(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn full_plan_round_trips_exactly() {
    let input = full_plan();
    assert!(
        validate("plans", &input).is_empty(),
        "{:?}",
        validate("plans", &input)
    );
    let plan: Plan = round_trip(&input, &input);

    // Explicit falses are kept; absent CRD-default booleans read as true.
    assert!(!plan.spec.preserve_static_ips());
    assert!(plan.spec.migrate_shared_disks());
    assert!(!plan.spec.vm_migrate_shared_disks(&plan.spec.vms[0]));
    assert!(plan.spec.run_preflight_inspection());
    assert!(plan.is_warm());

    let status = &plan.status;
    assert!(status.conditions.is_ready());
    assert!(!status.conditions.has_blocker());
    assert!(
        status
            .conditions
            .has(&[ferry_api::condition::types::EXECUTING])
    );
    let snapshot = status.migration.active_snapshot().unwrap();
    assert_eq!(snapshot.migration.name, "warm-plan-abcde");
    let vm = status
        .migration
        .find_vm(&ferry_api::Ref::id("vm-431"))
        .unwrap();
    assert_eq!(vm.phase, ferry_api::phase::COPY_DISKS);
    let step = vm.find_step(ferry_api::phase::step::DISK_TRANSFER).unwrap();
    assert_eq!(step.task.progress.completed, 1024);
    assert_eq!(step.tasks[0].annotations["Precopy"], "1");
    assert_eq!(vm.warm.as_ref().unwrap().precopies[0].delta_map().len(), 1);
    assert_eq!(vm.detected_boot_disk, Some(0));
    assert!(
        status
            .migration
            .find_vm(&ferry_api::Ref::id("vm-432"))
            .is_some()
    );
    assert!(
        status
            .migration
            .find_vm(&ferry_api::Ref::name("web02"))
            .is_none(),
        "a status VM with an ID is never matched by name"
    );
}

#[test]
fn full_plan_serializes_like_go_with_fractional_times_truncated() {
    let mut input = full_plan();
    input["status"]["migration"]["started"] = json!("2024-05-01T10:00:05.999999Z");
    input["status"]["conditions"][0]["lastTransitionTime"] = json!("2024-05-01T12:00:00+02:00");
    let plan: Plan = parse(&input);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["status"]["migration"]["started"],
        "2024-05-01T10:00:05Z"
    );
    assert_eq!(
        json["status"]["conditions"][0]["lastTransitionTime"],
        "2024-05-01T10:00:00Z"
    );
}

#[test]
fn ova_e2e_objects_from_upstream_tests() {
    // tests/suit/framework/ova.go and utils/*.go: the OVA e2e shapes.
    let provider: Provider = round_trip(
        &json!({
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Provider",
            "metadata": {"name": "ova-provider", "namespace": "konveyor-forklift"},
            "spec": {"type": "ova", "url": "nfs.example:/exports/ova",
                     "secret": {"name": "ova-secret", "namespace": "konveyor-forklift"}}
        }),
        &json!({
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Provider",
            "metadata": {"name": "ova-provider", "namespace": "konveyor-forklift"},
            "spec": {"type": "ova", "url": "nfs.example:/exports/ova",
                     "secret": {"name": "ova-secret", "namespace": "konveyor-forklift"}}
        }),
    );
    assert!(provider.requires_conversion());
    let network = json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "NetworkMap",
        "metadata": {"name": "ova-network", "namespace": "konveyor-forklift"},
        "spec": {
            "provider": {"source": {"name": "ova-provider", "namespace": "konveyor-forklift"},
                         "destination": {"name": "host", "namespace": "konveyor-forklift"}},
            "map": [{"source": {"id": "ae1badc8c693926f492a01e2f357d6af321b"},
                     "destination": {"type": "pod"}}]
        }
    });
    assert!(validate("networkmaps", &network).is_empty());
    let map: NetworkMap = round_trip(&network, &network);
    assert!(
        map.find_network("ae1badc8c693926f492a01e2f357d6af321b")
            .is_some()
    );
    let storage = json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "StorageMap",
        "metadata": {"name": "ova-storage", "namespace": "konveyor-forklift"},
        "spec": {
            "provider": {"source": {"name": "ova-provider", "namespace": "konveyor-forklift"},
                         "destination": {"name": "host", "namespace": "konveyor-forklift"}},
            "map": [{"source": {"name": "centos44_new-disk1.vmdk"},
                     "destination": {"storageClass": "nfs-csi"}}]
        },
        "status": {"references": [{"id": "d1", "name": "centos44_new-disk1.vmdk"}]}
    });
    assert!(validate("storagemaps", &storage).is_empty());
    let map: StorageMap = round_trip(&storage, &storage);
    assert!(
        map.find_storage_by_name("centos44_new-disk1.vmdk")
            .is_some()
    );
    assert!(map.status.references.find(&ferry_api::Ref::id("d1")));
}

#[test]
fn hostile_objects_give_errors_not_panics() {
    for (text, what) in [
        (
            r#"{"kind":"Plan","spec":{"vms":[{"id":42}]}}"#,
            "a number for a string",
        ),
        (
            r#"{"kind":"Plan","spec":{"vms":{}}}"#,
            "an object for a list",
        ),
        (
            r#"{"kind":"Plan","status":{"conditions":[{"lastTransitionTime":"soon"}]}}"#,
            "a bad time",
        ),
        (
            r#"{"kind":"Plan","status":{"migration":{"vms":[{"warm":{"successes":"x"}}]}}}"#,
            "a string for a count",
        ),
        (
            r#"{"kind":"Provider","apiVersion":"v1"}"#,
            "the wrong apiVersion",
        ),
    ] {
        let kind = serde_json::from_str::<Value>(text).unwrap()["kind"].clone();
        let result = if kind == "Plan" {
            serde_json::from_str::<Plan>(text).map(|_| ())
        } else {
            serde_json::from_str::<Provider>(text).map(|_| ())
        };
        assert!(result.is_err(), "{what}: {text}");
    }
    // Unknown fields are ignored, as Go's decoder does; unknown enum values are kept.
    let plan: Plan = serde_json::from_str(
        r#"{"kind":"Plan","spec":{"futureField":1,"type":"teleport","targetPowerState":"maybe"}}"#,
    )
    .unwrap();
    assert_eq!(plan.spec.r#type.as_ref().unwrap().as_str(), "teleport");
    assert!(!plan.spec.r#type.as_ref().unwrap().is_known());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["spec"]["type"], "teleport");
    assert_eq!(json["spec"]["targetPowerState"], "maybe");
}
