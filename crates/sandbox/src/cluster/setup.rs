//! What a cluster with KubeVirt and CDI has before anyone uses it: their CRDs, a node, a
//! default StorageClass with its CDI StorageProfile, and the `CDI` object. Idempotent
//! (server-side apply), so a restarted sandbox runs it again harmlessly.

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use super::config::{NODE_NAME, PROVISIONER, STORAGE_CLASS};
use super::crds;
use super::error::{Error, Result};
use super::kubeapi;

const MANAGER: &str = "ferry-sandbox";

/// Applies `object` (server-side apply, forced: the sandbox owns these objects).
async fn apply<K>(api: &Api<K>, name: &str, object: &serde_json::Value) -> Result<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(|e| Error::kube(format!("applying {name}"), e))
}

/// Installs the CRDs and waits until the server serves them.
pub async fn install_crds(client: &kube::Client, timeout: Duration) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let all = crds::all().map_err(|e| Error::json("rendering the sandbox's CRDs", e))?;
    for crd in &all {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let value = serde_json::to_value(crd).map_err(|e| Error::json("encoding a CRD", e))?;
        apply(&api, &name, &value).await?;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for name in crds::names() {
        loop {
            let crd = kubeapi::get_opt(&api, &name).await?;
            let established = crd
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("CRD {name} to be established"),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// The node pods run on, registered before the kubelet starts: Ready, with KubeVirt's
/// schedulable label and KVM capacity. A server that does not serve Nodes gets none.
pub async fn ensure_node(client: &kube::Client) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let applied = apply(
        &api,
        NODE_NAME,
        &json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/worker": "",
                    "kubevirt.io/schedulable": "true",
                    "cpumanager": "false",
                },
            },
        }),
    )
    .await;
    match applied {
        Ok(_) => {}
        Err(error) if error.is_not_found() => {
            tracing::debug!("the API server does not serve Nodes; pods run on an unnamed node");
            return Ok(());
        }
        Err(error) => return Err(error),
    }
    let capacity = json!({
        "cpu": "16",
        "memory": "64Gi",
        "pods": "1000",
        "ephemeral-storage": "500Gi",
        "devices.kubevirt.io/kvm": "1k",
    });
    let now = kubeapi::now();
    kubeapi::merge_status(
        &api,
        NODE_NAME,
        MANAGER,
        &json!({
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [{
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status (ferry sandbox)",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }],
            "addresses": [
                { "type": "InternalIP", "address": "127.0.0.1" },
                { "type": "Hostname", "address": NODE_NAME },
            ],
            "nodeInfo": {
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": "",
                "osImage": "Ferry sandbox",
                "containerRuntimeVersion": "ferry-sandbox://in-process",
                "kubeletVersion": "v1.33.0",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }),
    )
    .await?;
    Ok(())
}

/// The default StorageClass, its StorageProfile (what CDI fills in when a DataVolume
/// says nothing about access and volume modes), and the `CDI` object.
pub async fn ensure_storage(client: &kube::Client) -> Result<()> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    apply(
        &classes,
        STORAGE_CLASS,
        &json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {
                    "storageclass.kubernetes.io/is-default-class": "true",
                    "storageclass.kubevirt.io/is-default-virt-class": "true",
                },
            },
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": true,
        }),
    )
    .await?;
    let profiles = dynamic(
        client,
        "cdi.kubevirt.io",
        "v1beta1",
        "StorageProfile",
        "storageprofiles",
    );
    apply(
        &profiles,
        STORAGE_CLASS,
        &json!({
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "StorageProfile",
            "metadata": { "name": STORAGE_CLASS },
            "spec": {},
        }),
    )
    .await?;
    kubeapi::merge_status(
        &profiles,
        STORAGE_CLASS,
        MANAGER,
        &json!({
            "storageClass": STORAGE_CLASS,
            "provisioner": PROVISIONER,
            "claimPropertySets": [{ "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem" }],
            "cloneStrategy": "copy",
            "dataImportCronSourceFormat": "pvc",
        }),
    )
    .await?;
    let cdis = dynamic(client, "cdi.kubevirt.io", "v1beta1", "CDI", "cdis");
    apply(
        &cdis,
        "cdi",
        &json!({
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "CDI",
            "metadata": { "name": "cdi" },
            "spec": {},
        }),
    )
    .await?;
    kubeapi::merge_status(
        &cdis,
        "cdi",
        MANAGER,
        &json!({
            "phase": "Deployed",
            "operatorVersion": "v1.62.0",
            "targetVersion": "v1.62.0",
            "observedVersion": "v1.62.0",
        }),
    )
    .await?;
    Ok(())
}

/// An API for a kind without a Rust type.
pub fn dynamic(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::all_with(client.clone(), &resource)
}
