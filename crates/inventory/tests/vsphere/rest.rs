//! Forklift's vSphere routes through `router()`: golden documents for each resource
//! shape at each detail level over vcsim's default model, paging, `name` matching on
//! the last path segment, the `vms` list's filtering, 206 before parity, 404s.
//!
//! `tests/golden/vsphere-rest.json` is the expected document set. Regenerate it with
//! `FERRY_UPDATE_GOLDEN=1` after a deliberate change and review the diff against
//! upstream's shapes (`pkg/controller/provider/web/vsphere/*.go`). The model is vcsim's
//! default with one host per cluster (vcsim places a cluster's VMs on random hosts); the
//! datastore's free space (the host file system's) is normalized to 0.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ferry_api::provider::{Provider, ProviderSpec};
use ferry_inventory::rest::auth::StaticToken;
use ferry_inventory::rest::{RestState, router};
use ferry_inventory::vsphere::store::Touched;
use ferry_inventory::vsphere::{Snapshot, VsphereInventory};
use ferry_inventory::{ProviderInfo, Registry};
use ferry_vim::vcsim::Vcsim;
use ferry_vim::{ChangeOp, MoRef, ObjectUpdate, PropertyChange, UpdateKind, Value};
use serde_json::{Value as Json, json};
use tower::ServiceExt;

use crate::common::{bounded, collect, start};

const UID: &str = "0f7c5c3e-2a57-4b1e-9d0a-5b8f0e6c9a11";
const TOKEN: &str = "vsphere-inventory-test-token";
const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/vsphere-rest.json"
);

fn provider_info() -> ProviderInfo {
    let mut provider = Provider::new(
        "konveyor-forklift",
        "vcsim",
        ProviderSpec {
            r#type: Some("vsphere".into()),
            url: "https://vcsim.example.com/sdk".into(),
            ..ProviderSpec::default()
        },
    );
    provider.metadata.uid = Some(UID.into());
    provider.metadata.resource_version = Some("17".into());
    ProviderInfo::from_provider(&provider).unwrap()
}

fn routes(inventory: Arc<VsphereInventory>, parity_wait: Duration) -> Router {
    let registry = Arc::new(Registry::new());
    registry.insert(provider_info(), inventory);
    let mut state = RestState::new(registry, Arc::new(StaticToken::new(TOKEN)));
    state.parity_wait = parity_wait;
    router(state)
}

async fn get(router: &Router, path: &str) -> (StatusCode, String) {
    let request = Request::get(path)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(router: &Router, path: &str) -> Json {
    let (status, body) = get(router, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn base(path: &str) -> String {
    format!("/providers/vsphere/{UID}/{path}")
}

fn normalize(value: &mut Json) {
    match value {
        Json::Object(map) => {
            if map.contains_key("free") && map.contains_key("capacity") {
                map.insert("free".into(), json!(0));
            }
            for (_, child) in map.iter_mut() {
                normalize(child);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

#[tokio::test]
async fn golden_documents_over_vcsims_default_model() {
    bounded("golden", async {
        // One host per cluster: vcsim places a cluster's VMs on random hosts.
        let vcsim = start(Vcsim::builder().cluster_hosts(1)).await;
        let (inventory, task) = collect(&vcsim).await;
        task.shutdown().await;
        let router = routes(inventory.clone(), Duration::from_secs(5));
        let snapshot = inventory.snapshot();
        let vm = snapshot.vms.values().next().unwrap().base.id.clone();
        let host = snapshot.hosts.values().next().unwrap().base.id.clone();
        let requests: Vec<String> = vec![
            format!("/providers/vsphere/{UID}"),
            format!("/providers/vsphere/{UID}?detail=0"),
            base("vms"),
            base(&format!("vms/{vm}")),
            base(&format!("workloads/{vm}")),
            base("hosts"),
            base("hosts?detail=1"),
            base(&format!("hosts/{host}")),
            base("clusters"),
            base("clusters?detail=1"),
            base("networks"),
            base("networks?detail=1"),
            base("datastores"),
            base("datastores?detail=all"),
            base("datacenters"),
            base("datacenters?detail=1"),
            base("folders"),
            base("folders?detail=1"),
            base("tree/host"),
            base("tree/host?detail=1"),
            base("tree/vm?detail=all"),
        ];
        let mut documents = serde_json::Map::new();
        for request in &requests {
            let mut document = get_json(&router, request).await;
            normalize(&mut document);
            let key = request.replace(UID, "<uid>");
            documents.insert(key, document);
        }
        let actual = Json::Object(documents);
        if std::env::var_os("FERRY_UPDATE_GOLDEN").is_some() {
            let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(GOLDEN, text).unwrap();
        }
        let expected: Json = serde_json::from_str(
            &std::fs::read_to_string(GOLDEN)
                .expect("the golden file (regenerate with FERRY_UPDATE_GOLDEN=1)"),
        )
        .unwrap();
        pretty_assertions::assert_eq!(actual, expected);
    })
    .await;
}

#[tokio::test]
async fn paging_names_and_errors() {
    bounded("paging", async {
        let vcsim = start(Vcsim::builder()).await;
        let (inventory, task) = collect(&vcsim).await;
        task.shutdown().await;
        let router = routes(inventory.clone(), Duration::from_secs(5));
        let all = get_json(&router, &base("vms")).await;
        let ids: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|vm| vm["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 4);
        let page = get_json(&router, &base("vms/?limit=2&offset=1")).await;
        let page_ids: Vec<&str> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|vm| vm["id"].as_str().unwrap())
            .collect();
        assert_eq!(page_ids, ids[1..3]);
        assert_eq!(get_json(&router, &base("vms?offset=10")).await, json!([]));
        for bad in ["vms?limit=-1", "vms?offset=x", "hosts?detail=lots"] {
            assert_eq!(
                get(&router, &base(bad)).await.0,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }

        // `name` compares the last path segment.
        let name = all[0]["name"].as_str().unwrap().to_owned();
        for query in [
            name.clone(),
            format!("DC0/vm/{name}"),
            format!("any/thing/{name}"),
        ] {
            let found = get_json(&router, &base(&format!("vms?name={query}"))).await;
            assert_eq!(found.as_array().unwrap().len(), 1, "{query}");
        }
        assert_eq!(get_json(&router, &base("vms?name=nope")).await, json!([]));
        let found = get_json(&router, &base("hosts?name=DC0/DC0_C0_H1")).await;
        assert_eq!(found[0]["name"], "DC0_C0_H1");
        let found = get_json(&router, &base("networks?name=VM%20Network&detail=1")).await;
        assert_eq!(found[0]["variant"], "Standard");

        // 404s.
        for missing in [
            "vms/vm-0",
            "hosts/x",
            "workloads/nope",
            "tree",
            "tree/cluster",
            "bogus",
            "workloads",
        ] {
            assert_eq!(
                get(&router, &base(missing)).await.0,
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
        let (status, _) = get(&router, &format!("/providers/ova/{UID}/vms")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let providers = get_json(&router, "/providers?detail=1").await;
        assert_eq!(providers["vsphere"][0]["vmCount"], 4);
        assert_eq!(providers["vsphere"][0]["type"], "vsphere");
    })
    .await;
}

#[tokio::test]
async fn partial_content_before_parity() {
    let inventory = VsphereInventory::new();
    let router = routes(inventory, Duration::from_millis(100));
    for path in [
        base("vms"),
        base("tree/vm"),
        format!("/providers/vsphere/{UID}"),
    ] {
        let (status, body) = get(&router, &path).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{path}");
        assert!(body.is_empty());
    }
}

fn update(kind: UpdateKind, obj_kind: &str, id: &str, changes: Vec<(&str, Value)>) -> ObjectUpdate {
    ObjectUpdate {
        kind,
        obj: MoRef::new(obj_kind, id),
        changes: changes
            .into_iter()
            .map(|(name, value)| PropertyChange {
                name: name.to_owned(),
                op: ChangeOp::Assign,
                value: Some(value),
            })
            .collect(),
        missing: Vec::new(),
    }
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn r(kind: &str, id: &str) -> Value {
    Value::MoRef(MoRef::new(kind, id))
}

/// Two datacenters with a same-named VM in each, a template, a ghost, a VM on a host
/// that is not in the inventory.
fn two_datacenters() -> Snapshot {
    let enter = UpdateKind::Enter;
    let mut updates = vec![update(
        enter,
        "Folder",
        "group-d1",
        vec![("name", s("Datacenters"))],
    )];
    for dc in ["1", "2"] {
        updates.push(update(
            enter,
            "Datacenter",
            &format!("datacenter-{dc}"),
            vec![
                ("name", s(&format!("DC{dc}"))),
                ("parent", r("Folder", "group-d1")),
                ("vmFolder", r("Folder", &format!("group-v{dc}"))),
                ("hostFolder", r("Folder", &format!("group-h{dc}"))),
            ],
        ));
        for (folder, name) in [("v", "vm"), ("h", "host")] {
            updates.push(update(
                enter,
                "Folder",
                &format!("group-{folder}{dc}"),
                vec![
                    ("name", s(name)),
                    ("parent", r("Datacenter", &format!("datacenter-{dc}"))),
                ],
            ));
        }
        updates.push(update(
            enter,
            "ComputeResource",
            &format!("domain-s{dc}"),
            vec![
                ("name", s("esx")),
                ("parent", r("Folder", &format!("group-h{dc}"))),
            ],
        ));
        updates.push(update(
            enter,
            "HostSystem",
            &format!("host-{dc}"),
            vec![
                ("name", s("esx")),
                ("parent", r("ComputeResource", &format!("domain-s{dc}"))),
            ],
        ));
        updates.push(update(
            enter,
            "VirtualMachine",
            &format!("vm-1{dc}"),
            vec![
                ("name", s("web")),
                ("parent", r("Folder", &format!("group-v{dc}"))),
                ("config.uuid", s(&format!("uuid-{dc}"))),
                ("runtime.host", r("HostSystem", &format!("host-{dc}"))),
            ],
        ));
    }
    updates.push(update(
        enter,
        "VirtualMachine",
        "vm-30",
        vec![
            ("name", s("template")),
            ("parent", r("Folder", "group-v1")),
            ("config.uuid", s("uuid-t")),
            ("config.template", Value::Bool(true)),
        ],
    ));
    updates.push(update(
        enter,
        "VirtualMachine",
        "vm-31",
        vec![("name", s("ghost")), ("parent", r("Folder", "group-v1"))],
    ));
    updates.push(update(
        enter,
        "VirtualMachine",
        "vm-32",
        vec![
            ("name", s("orphan")),
            ("parent", r("Folder", "group-v1")),
            ("config.uuid", s("uuid-o")),
            ("runtime.host", r("HostSystem", "host-99")),
        ],
    ));
    let mut snapshot = Snapshot::default();
    let mut touched = Touched::default();
    for update in &updates {
        snapshot.apply(update, &mut touched);
    }
    snapshot.finish(touched);
    snapshot
}

#[tokio::test]
async fn names_with_paths_templates_ghosts_and_broken_workloads() {
    let inventory = VsphereInventory::new();
    inventory.install(two_datacenters());
    let router = routes(inventory, Duration::from_secs(5));

    // Two VMs named `web`: a path narrows them by suffix.
    let both = get_json(&router, &base("vms?name=web")).await;
    assert_eq!(both.as_array().unwrap().len(), 2);
    let one = get_json(&router, &base("vms?name=DC2/vm/web")).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], "vm-12");
    assert_eq!(one[0]["path"], "/DC2/vm/web");
    // Hosts are narrowed by datacenter.
    let host = get_json(&router, &base("hosts?name=DC1/esx")).await;
    assert_eq!(host.as_array().unwrap().len(), 1);
    assert_eq!(host[0]["id"], "host-1");
    assert_eq!(host[0]["path"], "/DC1/host/esx/esx");

    // The list leaves out templates and ghosts; GET by ID shows them.
    let listed: Vec<String> = get_json(&router, &base("vms"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["vm-11", "vm-12", "vm-32"]);
    let template = get_json(&router, &base("vms/vm-30")).await;
    assert_eq!(template["isTemplate"], true);
    // A page may hold fewer items than the limit (the filter runs after paging).
    let page = get_json(&router, &base("vms?offset=2&limit=2")).await;
    assert_eq!(page.as_array().unwrap().len(), 0);

    // A workload whose host is unknown: 500 with upstream's explanation.
    let (status, body) = get(&router, &base("workloads/vm-32")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("host id 'host-99' not found"), "{body}");
    let workload = get_json(&router, &base("workloads/vm-11")).await;
    assert_eq!(
        workload["selfLink"],
        format!("providers/vsphere/{UID}/workloads/vm-11")
    );
    assert_eq!(workload["host"]["cluster"]["variant"], "ComputeResource");
    assert_eq!(workload["host"]["cluster"]["datacenter"], Json::Null);

    // Trees: one branch per datacenter.
    let tree = get_json(&router, &base("tree/vm")).await;
    let branches = tree["children"].as_array().unwrap();
    assert_eq!(branches.len(), 2);
    assert_eq!(branches[0]["kind"], "Datacenter");
    assert_eq!(branches[0]["object"]["name"], "DC1");
    let vms: Vec<&str> = branches[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["object"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(vms, ["vm-11", "vm-30", "vm-31", "vm-32"]);
    assert_eq!(tree["kind"], "");
    assert_eq!(tree["object"], Json::Null);
}

fn obj(type_name: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut object = ferry_vim::DataObject::new(type_name);
    for (name, value) in fields {
        object.push(name, value);
    }
    Value::Object(object)
}

fn untyped(fields: Vec<(&str, Value)>) -> Value {
    let mut object = ferry_vim::DataObject::default();
    for (name, value) in fields {
        object.push(name, value);
    }
    Value::Object(object)
}

/// Network variants and datastore kinds vcsim does not have.
#[tokio::test]
async fn switches_opaque_networks_and_nas_datastores() {
    let enter = UpdateKind::Enter;
    let members = Value::Array(ferry_vim::Array {
        type_name: "ArrayOfDistributedVirtualSwitchHostMember".into(),
        items: vec![obj(
            "DistributedVirtualSwitchHostMember",
            vec![(
                "config",
                untyped(vec![
                    ("host", r("HostSystem", "host-1")),
                    (
                        "backing",
                        obj(
                            "DistributedVirtualSwitchHostMemberPnicBacking",
                            vec![("pnicSpec", untyped(vec![("pnicDevice", s("vmnic1"))]))],
                        ),
                    ),
                ]),
            )],
        )],
    });
    let updates = [
        update(
            enter,
            "VmwareDistributedVirtualSwitch",
            "dvs-1",
            vec![("name", s("DSwitch")), ("config.host", members)],
        ),
        update(
            enter,
            "OpaqueNetwork",
            "network-o1",
            vec![
                ("name", s("nsx-seg")),
                (
                    "summary",
                    obj(
                        "OpaqueNetworkSummary",
                        vec![("opaqueNetworkId", s("seg-1"))],
                    ),
                ),
            ],
        ),
        update(
            enter,
            "DistributedVirtualPortgroup",
            "dvportgroup-2",
            vec![
                ("name", s("pg")),
                ("key", s("dvportgroup-2")),
                (
                    "config.distributedVirtualSwitch",
                    r("VmwareDistributedVirtualSwitch", "dvs-1"),
                ),
                (
                    "config.defaultPortConfig",
                    obj(
                        "VMwareDVSPortSetting",
                        vec![(
                            "vlan",
                            obj(
                                "VmwareDistributedVirtualSwitchVlanIdSpec",
                                vec![("vlanId", Value::Text("42".into()))],
                            ),
                        )],
                    ),
                ),
            ],
        ),
        update(
            enter,
            "Datastore",
            "datastore-n1",
            vec![
                ("name", s("nfs")),
                (
                    "info",
                    obj(
                        "NasDatastoreInfo",
                        vec![(
                            "nas",
                            untyped(vec![
                                ("remoteHost", s("filer")),
                                ("remotePath", s("/vol/vms")),
                            ]),
                        )],
                    ),
                ),
            ],
        ),
    ];
    let mut snapshot = Snapshot::default();
    let mut touched = Touched::default();
    for update in &updates {
        snapshot.apply(update, &mut touched);
    }
    snapshot.finish(touched);
    let inventory = VsphereInventory::new();
    inventory.install(snapshot);
    let router = routes(inventory, Duration::from_secs(5));

    let switch = get_json(&router, &base("networks/dvs-1")).await;
    assert_eq!(switch["variant"], "DvSwitch");
    assert_eq!(
        switch["host"],
        json!([{"Host": {"kind": "Host", "id": "host-1"}, "PNIC": ["vmnic1"]}])
    );
    assert!(switch.get("dvSwitch").is_none() && switch.get("key").is_none());
    let opaque = get_json(&router, &base("networks/network-o1")).await;
    assert_eq!(
        (opaque["variant"].clone(), opaque["key"].clone()),
        (json!("OpaqueNetwork"), json!("seg-1"))
    );
    assert_eq!(opaque["host"], Json::Null);
    let group = get_json(&router, &base("networks/dvportgroup-2")).await;
    assert_eq!(group["dvSwitch"], json!({"kind": "Network", "id": "dvs-1"}));
    assert_eq!(group["vlanId"], "42");
    assert_eq!(group["path"], "/pg");
    // The full network puts `variant` after the header; the header has it after `id`.
    let keys: Vec<String> = group.as_object().unwrap().keys().cloned().collect();
    assert!(keys.contains(&"variant".to_owned()));
    let (_, body) = get(&router, &base("networks/dvportgroup-2")).await;
    assert!(
        body.find("\"selfLink\"") < body.find("\"variant\""),
        "{body}"
    );
    let (_, body) = get(&router, &base("networks")).await;
    assert!(body.find("\"variant\"") < body.find("\"parent\""), "{body}");
    let nas = get_json(&router, &base("datastores/datastore-n1")).await;
    assert_eq!(nas["nasRemoteHost"], "filer");
    assert_eq!(nas["nasRemotePath"], "/vol/vms");
    assert!(nas.get("nasRemoteHostNames").is_none());
    assert_eq!(nas["backingDevicesNames"], Json::Null);
}
