//! Admission that needs to read other objects: kube-apiserver's `ServiceAccount`
//! plugin for pods. (Admission that only looks at the object itself lives in each
//! kind's `Behaviour::admit_create`.)

use super::Api;
use crate::status::{ApiError, GroupResource};
use crate::store::ObjectKey;
use serde_json::{Value, json};
use std::time::Duration;

/// The projected token volume's name prefix (`kube-api-access-<random>`).
pub const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// Where the token volume is mounted in every container.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// A mirror pod (from a kubelet's static manifest) is not mutated.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// How often, and how long apart, a missing `default` account is looked up again:
/// the serviceaccount controller makes it right after its namespace, and the real
/// plugin waits for it the same way.
const DEFAULT_ACCOUNT_ATTEMPTS: usize = 10;
const DEFAULT_ACCOUNT_RETRY: Duration = Duration::from_millis(150);

fn serviceaccounts() -> GroupResource {
    GroupResource::new("", "serviceaccounts")
}

/// The projected volume source the plugin mounts (`TokenVolumeSource`).
fn token_volume(name: &str) -> Value {
    json!({"name": name, "projected": {
    "defaultMode": 420,
    "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
    ]}})
}

impl Api {
    /// The `ServiceAccount` admission plugin on a pod being created (whose
    /// `serviceAccountName` is already defaulted): the account must exist (403
    /// otherwise); its token is mounted as the `kube-api-access-*` projected volume
    /// into every container unless the pod or the account opts out; the account's
    /// image pull secrets are copied when the pod names none.
    pub async fn admit_service_account(
        &self,
        namespace: &str,
        name: &str,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        if pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(MIRROR_ANNOTATION))
            .is_some()
        {
            return Ok(());
        }
        let account = pod
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let Some(sa) = self.service_account(namespace, &account).await else {
            return Err(ApiError::forbidden(
                &GroupResource::new("", "pods"),
                name,
                &format!(
                    "error looking up service account {namespace}/{account}: serviceaccount {} not found",
                    crate::status::go_quote(&account)
                ),
            ));
        };
        let automount = pod
            .pointer("/spec/automountServiceAccountToken")
            .and_then(Value::as_bool)
            .or_else(|| {
                sa.get("automountServiceAccountToken")
                    .and_then(Value::as_bool)
            })
            .unwrap_or(true);
        if automount {
            mount_token(pod);
        }
        let pod_secrets = pod
            .pointer("/spec/imagePullSecrets")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if let Some(secrets) = sa.get("imagePullSecrets").and_then(Value::as_array)
            && !pod_secrets
            && !secrets.is_empty()
            && let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut)
        {
            let names: Vec<Value> = secrets
                .iter()
                .map(|s| json!({"name": s.get("name").cloned().unwrap_or(json!(""))}))
                .collect();
            spec.insert("imagePullSecrets".into(), Value::Array(names));
        }
        Ok(())
    }

    /// The account, waiting briefly for a namespace's `default` one.
    async fn service_account(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = ObjectKey::new(&serviceaccounts(), namespace, name);
        let attempts = if name == "default" {
            DEFAULT_ACCOUNT_ATTEMPTS
        } else {
            1
        };
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(DEFAULT_ACCOUNT_RETRY).await;
            }
            if let Some(sa) = self.store.latest(&key).filter(|o| !o.meta.deleting) {
                return sa.value().ok();
            }
        }
        None
    }
}

/// `mountServiceAccountToken`: every init and app container without a mount at
/// the token path gets one, and the pod gets the volume if one did.
fn mount_token(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .filter_map(|v| v.get("name").and_then(Value::as_str))
                .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
                .map(str::to_string)
        });
    let volume = existing
        .clone()
        .unwrap_or_else(|| super::write::generate_name(TOKEN_VOLUME_PREFIX));
    let mount = json!({"name": volume, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needed = false;
    for field in ["initContainers", "containers"] {
        for c in spec
            .get_mut(field)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let mounts = c
                .as_object_mut()
                .map(|c| c.entry("volumeMounts").or_insert_with(|| json!([])));
            let Some(Value::Array(mounts)) = mounts else {
                continue;
            };
            let taken = mounts
                .iter()
                .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH));
            if !taken {
                mounts.push(mount.clone());
                needed = true;
            }
        }
    }
    if needed && existing.is_none() {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(vs) = volumes.as_array_mut() {
            vs.push(token_volume(&volume));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_mounts_the_token_once() {
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "i"}],
            "containers": [
                {"name": "a", "volumeMounts": [{"name": "d", "mountPath": "/d"}]},
                {"name": "b", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]}],
            "volumes": [{"name": "d", "emptyDir": {}}]}});
        mount_token(&mut pod);
        let volumes = pod["spec"]["volumes"].as_array().unwrap();
        assert_eq!(volumes.len(), 2);
        let name = volumes[1]["name"].as_str().unwrap().to_string();
        assert!(
            name.starts_with(TOKEN_VOLUME_PREFIX) && name.len() == TOKEN_VOLUME_PREFIX.len() + 5
        );
        assert_eq!(
            pod["spec"]["initContainers"][0]["volumeMounts"][0]["name"],
            json!(name)
        );
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"][1]["name"],
            json!(name)
        );
        assert_eq!(
            pod["spec"]["containers"][1]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "a container with its own mount at the path keeps it"
        );
        // Admission again (e.g. a re-created pod body) adds nothing.
        let before = pod.clone();
        mount_token(&mut pod);
        assert_eq!(pod, before);
    }
}
