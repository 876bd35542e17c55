//! A cold migration from vcsim through the whole sandbox: two VMs whose disk files were
//! filled with real content (PUT to the datastore), migrated by Ferry's controllers;
//! the plan succeeds and each image equals what was written. The provider is Ready and
//! its VMs are in the inventory REST on the way.
//!
//! The VMs are powered off: vcsim's guests have no VMware Tools, and a powered-on VM
//! without them is blocked by validation (`GuestToolsIssue`), as upstream's is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_api::{Plan, Provider};
use ferry_sandbox::cluster::Pace;
use ferry_sandbox::cluster::config::STORAGE_CLASS;
use ferry_sandbox::sandbox::controllers::FerryManager;
use ferry_sandbox::sandbox::demo::{NAMESPACE, TARGET_NAMESPACE};
use ferry_sandbox::sandbox::vsphere::{self, VsphereSource};
use ferry_sandbox::sandbox::{Sandbox, SandboxOptions};
use ferry_vim::Client;
use ferry_vim::vcsim::Vcsim;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};

const LIMIT: Duration = Duration::from_secs(300);
const SIZE: u64 = 6 << 20;
const VMS: [&str; 2] = ["DC0_H0_VM0", "DC0_C0_RP0_VM0"];

async fn apply<K>(api: &Api<K>, object: serde_json::Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    api.patch(
        &name,
        &PatchParams::apply("vsphere-test").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"))
}

async fn wait<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `GET <inventory>/providers/vsphere/<uid>/<collection>` with the API token.
async fn inventory(sandbox: &Sandbox, uid: &str, collection: &str) -> serde_json::Value {
    let endpoints = sandbox.endpoints();
    let url = format!(
        "{}/providers/vsphere/{uid}/{collection}",
        endpoints.inventory
    );
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(sandbox.token())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_vcsim_vms_migrate_cold_with_their_disk_contents() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::time::timeout(LIMIT * 2, run())
        .await
        .expect("bounded");
}

async fn run() {
    ferry_sandbox::cluster::install_crypto_provider();
    let vcsim = Vcsim::builder()
        .autostart(false)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::connect(vcsim.config()).await.unwrap();
    let mut written: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for vm in VMS {
        written.extend(vsphere::fill(&client, vm, SIZE).await.unwrap());
    }

    let dir = tempfile::tempdir().unwrap();
    let options = SandboxOptions {
        data_dir: dir.path().join("data"),
        catalog: None,
        sample_vms: 0,
        pace: Pace::fast(),
        faults: Default::default(),
        api_faults: Default::default(),
        controllers: Arc::new(FerryManager::default()),
        server: Default::default(),
    };
    let mut sandbox = Sandbox::start(&options).await.unwrap();
    sandbox.start_controllers().await.unwrap();
    sandbox.apply_providers().await.unwrap();
    let kube = sandbox.client();
    let source = VsphereSource {
        url: vcsim.url().to_string(),
        user: vcsim.user().into(),
        password: vcsim.password().expose().into(),
        insecure: false,
        cacert: vcsim.cert_pem().map(str::to_string),
    };
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), NAMESPACE);
    apply(&secrets, vsphere::secret(&source)).await;
    let providers: Api<Provider> = Api::namespaced(kube.clone(), NAMESPACE);
    apply(&providers, vsphere::provider(&source)).await;
    let provider = wait("the vSphere provider Ready", async || {
        providers
            .get(vsphere::PROVIDER)
            .await
            .ok()
            .filter(|p| p.status.conditions.is_ready())
    })
    .await;
    let uid = provider.metadata.uid.clone().unwrap();

    // The inventory REST serves the VMs.
    let vms = inventory(&sandbox, &uid, "vms").await;
    let names: Vec<&str> = vms
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|vm| vm["name"].as_str())
        .collect();
    for vm in VMS {
        assert!(names.contains(&vm), "{vm} in {names:?}");
    }
    let ids = |list: serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let networks = ids(inventory(&sandbox, &uid, "networks").await);
    let datastores = ids(inventory(&sandbox, &uid, "datastores").await);

    let maps: Api<ferry_api::NetworkMap> = Api::namespaced(kube.clone(), NAMESPACE);
    apply(&maps, vsphere::network_map(&networks)).await;
    let storage: Api<ferry_api::StorageMap> = Api::namespaced(kube.clone(), NAMESPACE);
    apply(&storage, vsphere::storage_map(&datastores, STORAGE_CLASS)).await;
    let plans: Api<Plan> = Api::namespaced(kube.clone(), NAMESPACE);
    let names: Vec<String> = VMS.iter().map(|s| s.to_string()).collect();
    apply(&plans, vsphere::plan(&names)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let plan = plans.get(vsphere::PLAN).await.unwrap();
        if plan.status.conditions.is_ready() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the vSphere plan is not Ready: {:#?}",
            plan.status.conditions
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let migrations: Api<ferry_api::Migration> = Api::namespaced(kube.clone(), NAMESPACE);
    apply(&migrations, vsphere::migration(1)).await;
    let plan = wait("the vSphere plan Succeeded", async || {
        let plan = plans.get(vsphere::PLAN).await.ok()?;
        let conditions = &plan.status.conditions;
        assert!(
            !conditions.has(&["Failed"]),
            "the plan failed: {:?}",
            plan.status.migration.vms
        );
        conditions.has(&["Succeeded"]).then_some(plan)
    })
    .await;

    // Each disk's image equals what was written to the datastore.
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(kube.clone(), TARGET_NAMESPACE);
    let pvs: Api<PersistentVolume> = Api::all(kube.clone());
    let mut checked = 0;
    for status in &plan.status.migration.vms {
        assert_eq!(status.phase, "Completed", "{}", status.vm.name);
        for pvc in pvcs
            .list(&ListParams::default().labels(&format!("vmID={}", status.vm.id)))
            .await
            .unwrap()
            .items
        {
            let Some(source) = pvc
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("forklift.konveyor.io/disk-source"))
            else {
                continue;
            };
            let expected = written
                .get(source)
                .unwrap_or_else(|| panic!("unexpected disk {source}"));
            let pv = pvs
                .get(pvc.spec.as_ref().unwrap().volume_name.as_ref().unwrap())
                .await
                .unwrap();
            let image = PathBuf::from(pv.spec.unwrap().host_path.unwrap().path).join("disk.img");
            let bytes = std::fs::read(&image).unwrap();
            assert!(
                bytes.len() as u64 >= SIZE,
                "{}: {} bytes",
                image.display(),
                bytes.len()
            );
            assert!(
                bytes[..SIZE as usize] == expected[..],
                "{source}: the image differs from the content written"
            );
            assert!(bytes[SIZE as usize..].iter().all(|b| *b == 0));
            checked += 1;
        }
    }
    assert_eq!(checked, written.len(), "every disk was checked");
    sandbox.shutdown().await;
}
