//! The upstream Forklift CRDs and samples (fixtures/upstream, Apache-2.0, see its NOTICE.md)
//! against ferry-structural: every CRD compiles, and every sample gets exactly the outcome a
//! real API server gives it (/work/shared/spec/forklift-api.md §2).

use ferry_structural::printer::{Cell, Column};
use ferry_structural::{FieldError, ListType, PathElement, Schema, invalid_message};
use serde_json::{Value, json};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/upstream")
}

fn yaml(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn crd(file: &str) -> Value {
    yaml(fixtures().join("crds").join(file))
}

fn sample(file: &str) -> Value {
    yaml(fixtures().join("samples").join(file))
}

fn schema_of(crd: &Value) -> Schema {
    let s = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    Schema::compile_at(s, "spec.versions[0].schema.openAPIV3Schema")
        .unwrap_or_else(|e| panic!("{}: {e}", crd["metadata"]["name"]))
}

fn schema(file: &str) -> Schema {
    schema_of(&crd(file))
}

/// What the server does to a created object: prune, default, validate.
fn admit(schema: &Schema, obj: &mut Value) -> (Vec<String>, Vec<FieldError>) {
    let pruned = schema.prune(obj);
    schema.apply_defaults(obj);
    let causes = schema.validate(obj, None);
    (pruned, causes)
}

fn causes(errs: &[FieldError]) -> Vec<(String, &'static str, String)> {
    errs.iter()
        .map(|e| (e.field.clone(), e.reason(), e.message()))
        .collect()
}

fn required(fields: &[&str]) -> Vec<(String, &'static str, String)> {
    fields
        .iter()
        .map(|f| {
            (
                f.to_string(),
                "FieldValueRequired",
                "Required value".to_string(),
            )
        })
        .collect()
}

#[test]
fn every_upstream_crd_compiles_with_its_printer_columns() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures().join("crds")).unwrap() {
        let crd = yaml(entry.unwrap().path());
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let s = &version["schema"]["openAPIV3Schema"];
            Schema::compile(s).unwrap_or_else(|e| panic!("{}: {e}", crd["metadata"]["name"]));
            for col in version["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
            {
                Column::new(
                    col["name"].as_str().unwrap(),
                    col["type"].as_str().unwrap(),
                    col["jsonPath"].as_str().unwrap(),
                )
                .unwrap();
            }
            count += 1;
        }
    }
    assert_eq!(count, 14);
}

#[test]
fn plan_sample_is_rejected_for_its_missing_required_fields() {
    let mut plan = sample("forklift_v1beta1_plan.yaml");
    let (pruned, errs) = admit(&schema("forklift.konveyor.io_plans.yaml"), &mut plan);
    assert!(pruned.is_empty(), "{pruned:?}");
    assert_eq!(
        causes(&errs),
        required(&["spec.map", "spec.targetNamespace", "spec.vms"])
    );
    assert_eq!(
        invalid_message("Plan", "forklift.konveyor.io", "example-plan", &errs),
        r#"Plan.forklift.konveyor.io "example-plan" is invalid: [spec.map: Required value, spec.targetNamespace: Required value, spec.vms: Required value]"#
    );
}

#[test]
fn map_samples_lose_their_stale_provider_fields_then_miss_the_pair() {
    for (file, crd_file) in [
        (
            "forklift_v1beta1_networkmap.yaml",
            "forklift.konveyor.io_networkmaps.yaml",
        ),
        (
            "forklift_v1beta1_storagemap.yaml",
            "forklift.konveyor.io_storagemaps.yaml",
        ),
    ] {
        let mut obj = sample(file);
        let (pruned, errs) = admit(&schema(crd_file), &mut obj);
        assert_eq!(
            pruned,
            ["spec.provider.name", "spec.provider.namespace"],
            "{file}"
        );
        assert_eq!(obj["spec"]["provider"], json!({}), "{file}");
        assert_eq!(
            causes(&errs),
            required(&["spec.provider.destination", "spec.provider.source"]),
            "{file}"
        );
    }
}

#[test]
fn host_sample_misses_its_secret() {
    let mut host = sample("forklift_v1beta1_host.yaml");
    let (pruned, errs) = admit(&schema("forklift.konveyor.io_hosts.yaml"), &mut host);
    assert!(pruned.is_empty(), "{pruned:?}");
    assert_eq!(causes(&errs), required(&["spec.secret"]));
}

#[test]
fn xcopy_sample_loses_stale_fields_then_misses_the_required_ones() {
    let mut obj = sample("forklift_v1beta1_vsphere_xcopy_volume_populator.yaml");
    let (pruned, errs) = admit(
        &schema("forklift.konveyor.io_vspherexcopyvolumepopulators.yaml"),
        &mut obj,
    );
    assert_eq!(
        pruned,
        ["spec.secretRef", "spec.sourceVMDK", "spec.targetPVC"]
    );
    let mut got = causes(&errs);
    got.sort();
    assert_eq!(
        got,
        required(&[
            "spec.secretName",
            "spec.storageVendorProduct",
            "spec.vmId",
            "spec.vmdkPath"
        ])
    );
}

#[test]
fn the_other_samples_are_valid() {
    for (file, crd_file) in [
        (
            "forklift_v1beta1_provider.yaml",
            "forklift.konveyor.io_providers.yaml",
        ),
        (
            "forklift_v1beta1_migration.yaml",
            "forklift.konveyor.io_migrations.yaml",
        ),
        (
            "forklift_v1beta1_hook.yaml",
            "forklift.konveyor.io_hooks.yaml",
        ),
        (
            "forklift_v1beta1_forkliftcontroller.yaml",
            "forklift.konveyor.io_forkliftcontrollers.yaml",
        ),
        (
            "forklift_v1beta1_ovirt_populator.yaml",
            "forklift.konveyor.io_ovirtvolumepopulators.yaml",
        ),
        (
            "forklift_v1beta1_openstack_populator.yaml",
            "forklift.konveyor.io_openstackvolumepopulators.yaml",
        ),
    ] {
        let mut obj = sample(file);
        let before = obj.clone();
        let (pruned, errs) = admit(&schema(crd_file), &mut obj);
        assert!(pruned.is_empty(), "{file}: {pruned:?}");
        assert!(errs.is_empty(), "{file}: {:?}", causes(&errs));
        assert_eq!(
            obj["metadata"], before["metadata"],
            "{file}: root metadata is the server's"
        );
    }
}

#[test]
fn plan_booleans_take_their_crd_defaults() {
    let s = schema("forklift.konveyor.io_plans.yaml");
    let mut plan = json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"targetNamespace": "t", "provider": {"source": {"name": "s"}, "destination": {"name": "d"}},
                 "map": {"network": {"name": "n"}, "storage": {"name": "st"}}, "vms": [{"id": "vm-1"}],
                 "migrateSharedDisks": false}
    });
    let (_, errs) = admit(&s, &mut plan);
    assert!(errs.is_empty(), "{:?}", causes(&errs));
    let spec = &plan["spec"];
    assert_eq!(spec["deleteVmOnFailMigration"], json!(true));
    assert_eq!(spec["preserveStaticIPs"], json!(true));
    assert_eq!(spec["useCompatibilityMode"], json!(true));
    assert_eq!(spec["runPreflightInspection"], json!(true));
    assert_eq!(spec["skipGuestConversion"], json!(false));
    assert_eq!(
        spec["migrateSharedDisks"],
        json!(false),
        "an explicit false is kept"
    );
    // A null for a non-nullable defaulted field is defaulted too.
    let mut again = plan.clone();
    again["spec"]["deleteVmOnFailMigration"] = Value::Null;
    s.apply_defaults(&mut again);
    assert_eq!(again["spec"]["deleteVmOnFailMigration"], json!(true));
}

#[test]
fn plan_field_errors_have_the_servers_messages() {
    let s = schema("forklift.konveyor.io_plans.yaml");
    let mut plan = json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan", "metadata": {"name": "p"},
        "spec": {"targetNamespace": "t", "provider": {"source": {}, "destination": {}},
                 "map": {"network": {}, "storage": {}}, "vms": [],
                 "type": "hot", "serviceAccount": "Bad_Name", "warm": "yes", "foo": 1}
    });
    let (pruned, errs) = admit(&s, &mut plan);
    assert_eq!(pruned, ["spec.foo"]);
    assert_eq!(
        causes(&errs),
        vec![
            (
                "spec.serviceAccount".to_string(),
                "FieldValueInvalid",
                "Invalid value: \"Bad_Name\": spec.serviceAccount in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'".to_string()
            ),
            (
                "spec.type".to_string(),
                "FieldValueNotSupported",
                "Unsupported value: \"hot\": supported values: \"cold\", \"warm\", \"live\", \"conversion\"".to_string()
            ),
            (
                "spec.warm".to_string(),
                "FieldValueTypeInvalid",
                "Invalid value: \"string\": spec.warm in body must be of type boolean: \"string\"".to_string()
            ),
        ]
    );
}

#[test]
fn forkliftcontroller_defaults_and_free_form_status() {
    let s = schema("forklift.konveyor.io_forkliftcontrollers.yaml");
    let mut fc = sample("forklift_v1beta1_forkliftcontroller.yaml");
    fc["status"] = json!({"conditions": [{"type": "Running", "ansibleResult": {"ok": 3}}], "anything": {"x": [1]}});
    fc["spec"]["not_a_key"] = json!("dropped");
    let (pruned, errs) = admit(&s, &mut fc);
    assert_eq!(pruned, ["spec.not_a_key"]);
    assert!(errs.is_empty(), "{:?}", causes(&errs));
    assert_eq!(fc["spec"]["image_pull_policy"], json!("Always"));
    assert_eq!(
        fc["status"]["anything"],
        json!({"x": [1]}),
        "preserve-unknown-fields keeps status"
    );
    assert_eq!(
        fc["status"]["conditions"][0]["ansibleResult"],
        json!({"ok": 3})
    );
    fc["spec"]["image_pull_policy"] = json!("Sometimes");
    assert_eq!(
        causes(&s.validate(&fc, None)),
        vec![(
            "spec.image_pull_policy".to_string(),
            "FieldValueNotSupported",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"".to_string()
        )]
    );
}

#[test]
fn ova_provider_server_provider_is_immutable_by_its_transition_rule() {
    let s = schema("forklift.konveyor.io_ovaproviderservers.yaml");
    let obj = |name: &str| {
        json!({"apiVersion": "forklift.konveyor.io/v1beta1", "kind": "OVAProviderServer",
               "metadata": {"name": "o", "namespace": "ns"},
               "spec": {"provider": {"name": name, "namespace": "ns"}}})
    };
    // create: no oldSelf, the transition rule does not run
    assert!(s.validate(&obj("a"), None).is_empty());
    // unchanged, and first set from an empty name: allowed
    assert!(s.validate(&obj("a"), Some(&obj("a"))).is_empty());
    assert!(s.validate(&obj("a"), Some(&obj(""))).is_empty());
    // changed: refused the way the real server words it
    let errs = s.validate(&obj("b"), Some(&obj("a")));
    assert_eq!(
        causes(&errs),
        vec![(
            "spec.provider".to_string(),
            "FieldValueInvalid",
            "Invalid value: \"object\": spec.provider is immutable".to_string()
        )]
    );
    assert_eq!(
        invalid_message("OVAProviderServer", "forklift.konveyor.io", "o", &errs),
        r#"OVAProviderServer.forklift.konveyor.io "o" is invalid: spec.provider: Invalid value: "object": spec.provider is immutable"#
    );
    // an old provider without a name: `oldSelf.name` errs, but `self == oldSelf` decides
    let mut no_name = obj("a");
    no_name["spec"]["provider"] = json!({"namespace": "ns"});
    assert!(s.validate(&no_name, Some(&no_name.clone())).is_empty());
    let errs = s.validate(&obj("a"), Some(&no_name));
    assert_eq!(
        causes(&errs),
        vec![(
            "spec.provider".to_string(),
            "FieldValueInvalid",
            "Invalid value: \"object\": no such key: name evaluating rule: spec.provider is immutable".to_string()
        )]
    );
}

#[test]
fn list_types_for_the_patch_engine() {
    let s = schema("forklift.konveyor.io_plans.yaml");
    let conditions = [
        PathElement::field("status"),
        PathElement::field("conditions"),
    ];
    assert!(s.list_type_at(&conditions).is_some());
    assert_eq!(
        s.list_type_at(&[PathElement::field("spec"), PathElement::field("vms")]),
        Some(ListType::Atomic)
    );
    assert_eq!(
        s.list_type_at(&[PathElement::field("spec"), PathElement::field("nope")]),
        None
    );
    assert_eq!(s.list_type_at(&[PathElement::field("spec")]), None);
}

#[test]
fn provider_printer_columns() {
    let crd = crd("forklift.konveyor.io_providers.yaml");
    let cols: Vec<Column> = crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            Column::new(
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["jsonPath"].as_str().unwrap(),
            )
            .unwrap()
        })
        .collect();
    let provider = json!({
        "metadata": {"name": "vc", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"type": "vsphere", "url": "https://vc/sdk"},
        "status": {"phase": "Ready", "conditions": [
            {"type": "ConnectionTestSucceeded", "status": "True"},
            {"type": "Ready", "status": "True"}
        ]}
    });
    let now = 1_704_067_200 + 90;
    let row: Vec<(String, Cell)> = cols
        .iter()
        .map(|c| (c.name.clone(), c.cell(&provider, now)))
        .collect();
    let get = |n: &str| {
        row.iter()
            .find(|(name, _)| name == n)
            .map(|(_, c)| c.clone())
    };
    assert_eq!(get("TYPE"), Some(Cell::String("vsphere".into())));
    assert_eq!(get("STATUS"), Some(Cell::String("Ready".into())));
    assert_eq!(get("READY"), Some(Cell::String("True".into())));
    assert_eq!(get("CONNECTED"), Some(Cell::String("True".into())));
    assert_eq!(get("INVENTORY"), Some(Cell::Null));
    assert_eq!(get("URL"), Some(Cell::String("https://vc/sdk".into())));
    assert_eq!(get("AGE"), Some(Cell::String("90s".into())));
}
