//! Forklift's inventory routes over the sample catalog, through `router()` with
//! `tower::ServiceExt::oneshot`: upstream's JSON shapes and IDs, paging, parity,
//! provider lookup, authentication.
//!
//! `tests/golden/ova-vms-detail-all.json` is the expected `vms?detail=all` document.
//! Regenerate it with `FERRY_UPDATE_GOLDEN=1` after a deliberate change, and review
//! the diff against upstream's shapes (`pkg/controller/provider/web/ovfbase/vm.go`).

#![allow(clippy::unwrap_used)] // test helpers may panic on setup failures

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use ferry_api::provider::{Provider, ProviderSpec};
use ferry_inventory::ova::OvaInventory;
use ferry_inventory::rest::auth::{
    Access, AuthError, AuthFuture, Authenticator, Identity, StaticToken,
};
use ferry_inventory::rest::{RestState, router};
use ferry_inventory::{ProviderInfo, Registry};
use serde_json::{Value, json};
use tower::ServiceExt;

const UID: &str = "6c1ad8b4-8c2f-4d0c-9a0e-1f2e3d4c5b6a";
const TOKEN: &str = "inventory-test-token";
/// Disk and network IDs computed independently with upstream's gob copy
/// (`pkg/lib/gob`) over the sample appliances' records.
const GO_DISK_IDS: [&str; 5] = [
    "2aa0c4785ce7ef7b42d0a86ac36fb741a247",
    "c0c94f6d507735e799dffd46f0e6690fd5a6",
    "062b2e23b89f6f41bb15d7e9b670c61216fc",
    "c72bf01b39919283b65b3f49914db2f51dda",
    "cead45d38afbc9355c6c2cde89a14c06e2bf",
];
const GO_NETWORK_IDS: [(&str, &str); 4] = [
    ("ovirtmgmt", "dfbb38073e8f748395137d241e789232e6c6"),
    ("NAT", "f099238943ee7e5067364728e8bb841575c8"),
    ("VM Network", "ae1badc8c693926f492a01e2f357d6af321b"),
    ("Network 1", "1a45ba1b60b03ce5360b3fff82e16668d795"),
];

fn provider_info() -> ProviderInfo {
    let mut provider = Provider::new(
        "konveyor-forklift",
        "ova-samples",
        ProviderSpec {
            r#type: Some("ova".into()),
            url: "nfs.example.com:/exports/ova".into(),
            ..ProviderSpec::default()
        },
    );
    provider.metadata.uid = Some(UID.into());
    provider.metadata.resource_version = Some("4711".into());
    ProviderInfo::from_provider(&provider).unwrap()
}

struct App {
    router: Router,
    _catalog: tempfile::TempDir,
}

/// The sample catalog, scanned, behind the routes.
fn app() -> App {
    let catalog = common::sample_copy();
    let inventory = common::inventory(catalog.path());
    inventory.scan().unwrap();
    App {
        router: routes(
            inventory,
            Arc::new(StaticToken::new(TOKEN)),
            Duration::from_secs(10),
        ),
        _catalog: catalog,
    }
}

fn routes(
    inventory: Arc<OvaInventory>,
    authenticator: Arc<dyn Authenticator>,
    parity_wait: Duration,
) -> Router {
    let registry = Arc::new(Registry::new());
    registry.insert(provider_info(), inventory);
    router(RestState {
        registry,
        authenticator,
        parity_wait,
    })
}

async fn call(router: &Router, uri: &str, token: Option<&str>) -> (StatusCode, HeaderMap, String) {
    call_with(router, uri, token, &[]).await
}

async fn call_with(
    router: &Router,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        router.clone().oneshot(request.body(Body::empty()).unwrap()),
    )
    .await
    .expect("answered in time")
    .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(router: &Router, uri: &str) -> Value {
    let (status, headers, body) = call(router, uri, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    serde_json::from_str(&body).unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn vms_at_full_detail_match_the_golden_document() {
    let app = app();
    let (status, _, body) = call(
        &app.router,
        &format!("/providers/ova/{UID}/vms?detail=all"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let actual: Value = serde_json::from_str(&body).unwrap();
    let golden_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/ova-vms-detail-all.json");
    if std::env::var_os("FERRY_UPDATE_GOLDEN").is_some() {
        std::fs::write(
            &golden_path,
            serde_json::to_string_pretty(&actual).unwrap() + "\n",
        )
        .unwrap();
    }
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
    pretty_assertions::assert_eq!(actual, golden);

    // IDs as upstream computes them.
    let disk_ids: Vec<&str> = actual
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|vm| vm["disks"].as_array().unwrap())
        .map(|disk| disk["ID"].as_str().unwrap())
        .collect();
    assert_eq!(disk_ids, GO_DISK_IDS);
    for vm in actual.as_array().unwrap() {
        for network in vm["networks"].as_array().unwrap() {
            let name = network["Name"].as_str().unwrap();
            let (_, id) = GO_NETWORK_IDS.iter().find(|(n, _)| *n == name).unwrap();
            assert_eq!(network["ID"], *id, "{name}");
        }
    }
    // Go's field order for the first VM.
    let first = &body[..body.find("},{\"id\"").unwrap()];
    let order = [
        "\"id\"",
        "\"name\"",
        "\"selfLink\"",
        "\"path\"",
        "\"concerns\"",
        "\"ovfPath\"",
        "\"exportSource\"",
        "\"osType\"",
        "\"revisionValidated\"",
        "\"policyVersion\"",
        "\"uuid\"",
        "\"firmware\"",
        "\"secureBoot\"",
        "\"cpuAffinity\"",
        "\"cpuCount\"",
        "\"memoryMB\"",
        "\"devices\"",
        "\"nics\"",
        "\"disks\"",
        "\"networks\"",
    ];
    let positions: Vec<usize> = order.iter().map(|key| first.find(key).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{first}");
}

#[tokio::test]
async fn vm_detail_levels_have_upstream_shapes() {
    let app = app();
    let bare = get_json(&app.router, &format!("/providers/ova/{UID}/vms")).await;
    let vmware = &bare[2];
    assert_eq!(keys(vmware), ["id", "name", "path", "selfLink"]);
    let id = vmware["id"].as_str().unwrap();
    assert_eq!(vmware["path"], id);
    assert_eq!(vmware["selfLink"], format!("providers/ova/{UID}/vms/{id}"));

    let summary = get_json(&app.router, &format!("/providers/ova/{UID}/vms?detail=1")).await;
    let vm = &summary[2];
    assert_eq!(
        keys(vm),
        [
            "concerns",
            "disks",
            "id",
            "name",
            "networks",
            "path",
            "revisionValidated",
            "selfLink"
        ]
    );
    assert_eq!(
        vm["networks"],
        Value::Null,
        "upstream never fills VM1.networks"
    );
    assert_eq!(vm["revisionValidated"], 1);
    assert_eq!(
        keys(&vm["disks"][0]),
        [
            "Capacity",
            "CapacityAllocationUnits",
            "DiskId",
            "FilePath",
            "FileRef",
            "Format",
            "ID",
            "Name",
            "PopulatedSize",
            "Revision",
            "Variant"
        ]
    );
    let negative = get_json(&app.router, &format!("/providers/ova/{UID}/vms?detail=-3")).await;
    assert_eq!(negative, bare);

    let full = get_json(&app.router, &format!("/providers/ova/{UID}/vms/{id}")).await;
    assert_eq!(
        full["revisionValidated"], 0,
        "shadowed and never set upstream"
    );
    assert_eq!(full["cpuAffinity"], Value::Null);
    assert_eq!(full["policyVersion"], 5);
    assert_eq!(
        full["nics"][0],
        json!({"Name": "Network adapter 1", "MAC": "00:50:56:8a:01:01", "Network": "VM Network", "Config": []})
    );
    assert_eq!(full["devices"][0], json!({"Kind": "SCSI controller"}));
    assert_eq!(
        full["networks"][0],
        json!({"ID": GO_NETWORK_IDS[2].1, "Variant": "", "Name": "VM Network", "Revision": 0, "Description": "The VM Network network"})
    );

    let workload = get_json(&app.router, &format!("/providers/ova/{UID}/workloads/{id}")).await;
    assert_eq!(
        workload["selfLink"],
        format!("providers/ova/{UID}/workloads/{id}")
    );
    assert!(workload.get("path").is_none());
    let mut expected = full.clone();
    let object = expected.as_object_mut().unwrap();
    object.remove("path");
    object.insert("selfLink".into(), workload["selfLink"].clone());
    assert_eq!(workload, expected);

    let (status, headers, _) = call(
        &app.router,
        &format!("/providers/ova/{UID}/vms/not-there"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers.get("X-Reason").is_none(),
        "a missing resource is a plain 404"
    );
    let (status, _, _) = call(
        &app.router,
        &format!("/providers/ova/{UID}/workloads"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "workloads are only addressable by VM"
    );
}

#[tokio::test]
async fn networks_disks_and_storages() {
    let app = app();
    let networks = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/networks?detail=1"),
    )
    .await;
    assert_eq!(networks.as_array().unwrap().len(), 4);
    assert_eq!(
        networks[2],
        json!({
            "id": GO_NETWORK_IDS[2].1,
            "name": "VM Network",
            "selfLink": format!("providers/ova/{UID}/networks/{}", GO_NETWORK_IDS[2].1),
            "path": GO_NETWORK_IDS[2].1,
            "Description": "The VM Network network"
        })
    );
    let named = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/networks?name=VM%20Network"),
    )
    .await;
    assert_eq!(named.as_array().unwrap().len(), 1);
    assert_eq!(keys(&named[0]), ["id", "name", "path", "selfLink"]);

    let disk = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/disks/{}", GO_DISK_IDS[2]),
    )
    .await;
    assert_eq!(
        disk,
        json!({
            "id": GO_DISK_IDS[2],
            "name": "ferry-vmware-efi-disk1.vmdk",
            "selfLink": format!("providers/ova/{UID}/disks/{}", GO_DISK_IDS[2]),
            "FilePath": "/ova/ferry-vmware-efi.ova",
            "Capacity": 64,
            "CapacityAllocationUnits": "byte * 2^20",
            "DiskId": "vmdisk1",
            "FileRef": "file1",
            "Format": "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
            "PopulatedSize": 0
        })
    );
    let bare_disks = get_json(&app.router, &format!("/providers/ova/{UID}/disks/")).await;
    assert_eq!(
        keys(&bare_disks[0]),
        ["id", "name", "selfLink"],
        "disks have no path"
    );

    let storages = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/storages?detail=all"),
    )
    .await;
    let storage_ids: Vec<&str> = storages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(storage_ids, GO_DISK_IDS, "one storage per disk");
    assert_eq!(keys(&storages[0]), ["id", "name", "path", "selfLink"]);
    let storage = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/storages/{}", GO_DISK_IDS[4]),
    )
    .await;
    assert_eq!(storage["name"], "ferry-plain-disk1.vmdk");
}

#[tokio::test]
async fn paging_and_parameters() {
    let app = app();
    let page = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/vms?limit=2&offset=1"),
    )
    .await;
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ferry-virtualbox-bios", "ferry-vmware-efi"]);
    let beyond = get_json(&app.router, &format!("/providers/ova/{UID}/vms?offset=10")).await;
    assert_eq!(beyond, json!([]));
    let by_name = get_json(
        &app.router,
        &format!("/providers/ova/{UID}/vms?name=dc/ferry-plain"),
    )
    .await;
    assert_eq!(by_name[0]["name"], "ferry-plain");
    for query in ["limit=-1", "offset=-1", "limit=x", "offset=1.5", "detail=x"] {
        let (status, _, body) = call(
            &app.router,
            &format!("/providers/ova/{UID}/vms?{query}"),
            Some(TOKEN),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.contains("is invalid"), "{body}");
    }
    let (status, _, _) = call_with(
        &app.router,
        &format!("/providers/ova/{UID}/vms"),
        Some(TOKEN),
        &[("X-Watch", "snapshot")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
}

#[tokio::test]
async fn providers() {
    let app = app();
    let listed = get_json(&app.router, "/providers/ova").await;
    assert_eq!(
        listed,
        json!([{
            "uid": UID,
            "version": "4711",
            "namespace": "konveyor-forklift",
            "name": "ova-samples",
            "selfLink": format!("providers/ova/{UID}"),
            "id": UID
        }])
    );
    let one = get_json(&app.router, &format!("/providers/ova/{UID}")).await;
    assert_eq!(one["type"], "ova");
    assert_eq!(one["object"]["spec"]["url"], "nfs.example.com:/exports/ova");
    assert_eq!(one["object"]["kind"], "Provider");
    assert_eq!(
        (one["apiVersion"].as_str(), one["product"].as_str()),
        (Some(""), Some(""))
    );
    assert_eq!(
        (
            &one["vmCount"],
            &one["networkCount"],
            &one["diskCount"],
            &one["storageCount"]
        ),
        (&json!(4), &json!(4), &json!(5), &json!(5))
    );
    let detailed = get_json(&app.router, "/providers/ova/?detail=1").await;
    assert_eq!(detailed[0], one);
    let all = get_json(&app.router, "/providers").await;
    assert_eq!(
        keys(&all),
        [
            "ec2",
            "hyperv",
            "openshift",
            "openstack",
            "ova",
            "ovirt",
            "vsphere"
        ]
    );
    assert_eq!(all["ova"], listed);
    assert_eq!(all["vsphere"], json!([]));
    assert_eq!(
        get_json(&app.router, "/providers/ova?namespace=other").await,
        json!([])
    );
    let (status, _, _) = call(&app.router, "/providers/bogus", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_providers_and_types() {
    let app = app();
    let (status, headers, _) =
        call(&app.router, "/providers/ova/no-such-uid/vms", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["X-Reason"], "ProviderNotFound");
    let (status, headers, _) = call(
        &app.router,
        &format!("/providers/vsphere/{UID}/vms"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the UID is an OVA provider");
    assert!(headers.get("X-Reason").is_none());
    let (status, _, _) = call(
        &app.router,
        &format!("/providers/ova/{UID}/datastores"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_provider_without_parity_answers_206() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = common::inventory(dir.path());
    let router = routes(
        Arc::clone(&inventory),
        Arc::new(StaticToken::new(TOKEN)),
        Duration::from_millis(50),
    );
    let (status, _, body) = call(&router, &format!("/providers/ova/{UID}/vms"), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, "");
    inventory.scan().unwrap();
    let (status, _, body) = call(&router, &format!("/providers/ova/{UID}/vms"), Some(TOKEN)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "[]"));
}

#[tokio::test]
async fn a_request_waits_for_parity_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = common::inventory(dir.path());
    let router = routes(
        Arc::clone(&inventory),
        Arc::new(StaticToken::new(TOKEN)),
        Duration::from_secs(30),
    );
    let pending = tokio::spawn({
        let router = router.clone();
        async move { call(&router, &format!("/providers/ova/{UID}/vms"), Some(TOKEN)).await }
    });
    tokio::task::spawn_blocking(move || inventory.scan().unwrap())
        .await
        .unwrap();
    let (status, _, _) = pending.await.unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn authentication_comes_first() {
    let app = app();
    for token in [None, Some("wrong")] {
        for uri in [
            "/providers".to_owned(),
            format!("/providers/ova/{UID}/vms"),
            "/providers/ova/no-such-uid/vms".to_owned(),
        ] {
            let (status, headers, _) = call(&app.router, &uri, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {token:?}");
            assert!(headers.get("X-Reason").is_none(), "no hint about providers");
        }
    }
}

/// Refuses every per-provider read, as a SubjectAccessReview would.
struct ListOnly;

impl Authenticator for ListOnly {
    fn authenticate<'a>(&'a self, _: Option<&'a str>) -> AuthFuture<'a, Identity> {
        Box::pin(async { Ok(Identity::default()) })
    }

    fn authorize<'a>(&'a self, _: &'a Identity, access: Access<'a>) -> AuthFuture<'a, ()> {
        let verdict = if access.verb == "get" {
            Err(AuthError::Forbidden(format!(
                "cannot get provider {}",
                access.name
            )))
        } else {
            Ok(())
        };
        Box::pin(async move { verdict })
    }
}

#[tokio::test]
async fn authorization_is_per_provider() {
    let dir = common::sample_copy();
    let inventory = common::inventory(dir.path());
    inventory.scan().unwrap();
    let router = routes(inventory, Arc::new(ListOnly), Duration::from_secs(1));
    let (status, _, body) = call(&router, &format!("/providers/ova/{UID}/vms"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("cannot get provider ova-samples"));
    let (status, _, _) = call(&router, "/providers/ova", None).await;
    assert_eq!(status, StatusCode::OK);
}
