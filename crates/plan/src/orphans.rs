//! Cleanup after a Plan is deleted (spec §6.9, "Plan deleted"): the objects labelled
//! `plan-name=<name>, plan-namespace=<namespace>` in every namespace that nothing else
//! will remove. PVCs and DataVolumes owned by a VirtualMachine stay (they are the
//! migrated VM's disks); Pods, Secrets, ConfigMaps and PVs go regardless of owner, as
//! upstream does. Target VirtualMachines are never deleted.

use ferry_api::destination::DataVolume;
use ferry_api::k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
};
use ferry_api::labels;
use kube::api::{Api, DeleteParams, ListParams};
use kube::core::NamespaceResourceScope;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

use crate::observe::LoadError;

fn owned_by_vm(meta: &ferry_api::ObjectMeta) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|owner| owner.kind == "VirtualMachine")
}

fn failed(what: String) -> impl FnOnce(kube::Error) -> LoadError {
    move |source| LoadError { what, source }
}

fn gone(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

async fn sweep<K>(
    client: &kube::Client,
    selector: &str,
    keep: fn(&ferry_api::ObjectMeta) -> bool,
) -> Result<usize, LoadError>
where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let kind = K::kind(&()).into_owned();
    let all: Api<K> = Api::all(client.clone());
    let items = match all.list(&ListParams::default().labels(selector)).await {
        Ok(list) => list.items,
        Err(error) if gone(&error) => return Ok(0),
        Err(error) => return Err(failed(format!("{kind} list"))(error)),
    };
    let mut deleted = 0;
    for item in items.iter().filter(|item| !keep(item.meta())) {
        let namespace = item.meta().namespace.clone().unwrap_or_default();
        let name = item.meta().name.clone().unwrap_or_default();
        let api: Api<K> = Api::namespaced(client.clone(), &namespace);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => deleted += 1,
            Err(error) if gone(&error) => {}
            Err(error) => return Err(failed(format!("{kind} {namespace}/{name}"))(error)),
        }
        tracing::info!(kind, namespace, name, "deleted an orphan of a deleted plan");
    }
    Ok(deleted)
}

/// Deletes the orphans of the deleted Plan `namespace/name`; returns how many.
pub async fn delete(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<usize, LoadError> {
    if !crate::names::is_dns1123_label(namespace) || !crate::names::is_dns1123_subdomain(name) {
        return Ok(0);
    }
    // A name longer than a label value cannot be on any object.
    if name.len() > 63 {
        return Ok(0);
    }
    let selector = format!(
        "{}={name},{}={namespace}",
        labels::PLAN_NAME,
        labels::PLAN_NAMESPACE
    );
    let mut deleted = 0;
    deleted += sweep::<PersistentVolumeClaim>(client, &selector, owned_by_vm).await?;
    deleted += sweep::<DataVolume>(client, &selector, owned_by_vm).await?;
    deleted += sweep::<Pod>(client, &selector, |_| false).await?;
    deleted += sweep::<Secret>(client, &selector, |_| false).await?;
    deleted += sweep::<ConfigMap>(client, &selector, |_| false).await?;
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let items = match pvs.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => list.items,
        Err(error) if gone(&error) => Vec::new(),
        Err(error) => return Err(failed("PersistentVolume list".into())(error)),
    };
    for pv in items {
        let pv_name = pv.metadata.name.clone().unwrap_or_default();
        match pvs.delete(&pv_name, &DeleteParams::default()).await {
            Ok(_) => deleted += 1,
            Err(error) if gone(&error) => {}
            Err(error) => return Err(failed(format!("PersistentVolume {pv_name}"))(error)),
        }
    }
    Ok(deleted)
}
