//! Reading a migration's result: VM states, converted images against their sources,
//! duplicates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferry_api::Plan;
use ferry_api::destination::DataVolume;
use ferry_inventory::ova::samples::{SampleCatalog, SampleOptions, write_samples};
use ferry_sandbox::sandbox::demo;
use ferry_sandbox::sandbox::progress::{self, VmState};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};

pub fn states(plan: &Plan) -> BTreeMap<String, VmState> {
    progress::lines(plan)
        .into_iter()
        .map(|l| (l.name, l.state))
        .collect()
}

/// The sample catalog's description (the same content `ferry sandbox` writes).
pub fn catalog() -> SampleCatalog {
    let dir = tempfile::tempdir().unwrap();
    write_samples(dir.path(), &SampleOptions::from_env()).unwrap()
}

/// kubectl: `$FERRY_KUBE_BIN/kubectl` (scripts/test builds it) or the one on `PATH`.
pub fn kubectl_binary() -> PathBuf {
    std::env::var_os("FERRY_KUBE_BIN")
        .map(|dir| PathBuf::from(dir).join("kubectl"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

pub fn same_content(a: &Path, b: &Path) -> bool {
    std::process::Command::new(SampleOptions::from_env().qemu_img)
        .args(["compare", "-q"])
        .arg(a)
        .arg(b)
        .status()
        .is_ok_and(|s| s.success())
}

/// The converted image of each disk of `vm`, by disk file name, through the claims'
/// `disk-source` annotations.
pub async fn images(client: &kube::Client, plan: &Plan, vm: &str) -> BTreeMap<String, PathBuf> {
    let id = plan
        .status
        .migration
        .vms
        .iter()
        .find(|v| v.vm.name == vm)
        .map(|v| v.vm.id.clone())
        .expect("the VM is in the plan's status");
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let mut found = BTreeMap::new();
    for pvc in pvcs
        .list(&ListParams::default().labels(&format!("vmID={id}")))
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
        let file = source.rsplit("::").next().unwrap().to_owned();
        let pv = pvs
            .get(pvc.spec.as_ref().unwrap().volume_name.as_ref().unwrap())
            .await
            .unwrap();
        let dir = PathBuf::from(pv.spec.unwrap().host_path.unwrap().path);
        found.insert(file, dir.join("disk.img"));
    }
    found
}

pub async fn assert_converted(
    client: &kube::Client,
    plan: &Plan,
    catalog: &SampleCatalog,
    vm: &str,
) {
    let appliance = catalog.appliances.iter().find(|a| a.vm_name == vm).unwrap();
    let images = images(client, plan, vm).await;
    assert_eq!(
        images.len(),
        appliance.disks.len(),
        "{vm}: one claim per disk: {images:?}"
    );
    for disk in &appliance.disks {
        let expected = tempfile::NamedTempFile::new().unwrap();
        disk.write_raw(expected.path()).unwrap();
        let image = &images[&disk.file_name];
        assert!(
            same_content(expected.path(), image),
            "{vm}: {} differs from its source",
            image.display()
        );
    }
}

/// No VM got two DataVolumes for one disk, or two conversion pods.
pub async fn no_duplicates(client: &kube::Client, catalog: &SampleCatalog, plan: &Plan) {
    let dvs: Api<DataVolume> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
    for vm in &plan.status.migration.vms {
        let disks = catalog
            .appliances
            .iter()
            .find(|a| a.vm_name == vm.vm.name)
            .map_or(0, |a| a.disks.len());
        let selector = format!("vmID={}", vm.vm.id);
        let count = dvs
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap()
            .items
            .len();
        assert!(
            count <= disks,
            "{}: {count} DataVolumes for {disks} disks",
            vm.vm.name
        );
        let converters = pods
            .list(&ListParams::default().labels(&format!("{selector},forklift.app=virt-v2v")))
            .await
            .unwrap()
            .items
            .len();
        assert!(
            converters <= 1,
            "{}: {converters} conversion pods",
            vm.vm.name
        );
    }
}

/// Whether a conversion pod runs in the demo's target namespace: a migration is in the
/// middle of copying disks (whatever the plan controller has polled of it yet).
pub async fn converting(client: &kube::Client) -> bool {
    let pods: Api<Pod> = Api::namespaced(client.clone(), demo::TARGET_NAMESPACE);
    pods.list(&ListParams::default().labels("forklift.app=virt-v2v"))
        .await
        .is_ok_and(|list| {
            list.items
                .iter()
                .any(|pod| pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        })
}
