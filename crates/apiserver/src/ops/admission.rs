//! Admission that needs to read other objects: kube-apiserver's `ServiceAccount`
//! plugin for pods and its `DefaultStorageClass` plugin for claims. (Admission that only looks at the object itself lives in each
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

/// The annotation that makes a StorageClass the default (and its beta name).
pub const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];
/// The deprecated annotation that names a claim's class (then it has one).
const BETA_CLAIM_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// `GetDefaultClass`: among the classes annotated as default, the newest
/// (`creationTimestamp`), and between equally new ones the first by name.
pub fn default_class<'a>(classes: impl IntoIterator<Item = &'a Value>) -> Option<String> {
    let meta = |c: &Value, f: &str| -> String {
        c.pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    classes
        .into_iter()
        .filter(|c| {
            DEFAULT_CLASS_ANNOTATIONS.iter().any(|a| {
                c.pointer("/metadata/annotations")
                    .and_then(|m| m.get(*a))
                    .and_then(Value::as_str)
                    == Some("true")
            })
        })
        .map(|c| {
            let created = meta(c, "creationTimestamp");
            let at = created.parse::<jiff::Timestamp>().ok();
            (at, meta(c, "name"))
        })
        // Newest first, then by name ascending.
        .min_by(|(a_at, a_name), (b_at, b_name)| b_at.cmp(a_at).then_with(|| a_name.cmp(b_name)))
        .map(|(_, name)| name)
}

impl Api {
    /// The `DefaultStorageClass` admission plugin on a claim being created: a claim
    /// that names no class (neither `spec.storageClassName`, even empty, nor the
    /// beta annotation) gets the default StorageClass's name, if there is one.
    pub fn admit_default_storage_class(&self, claim: &mut Value) {
        let has_class = claim
            .pointer("/spec/storageClassName")
            .is_some_and(|v| !v.is_null())
            || claim
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(BETA_CLAIM_CLASS))
                .is_some();
        if has_class {
            return;
        }
        let (_, classes) = self.store.snapshot(
            &GroupResource::new("storage.k8s.io", "storageclasses"),
            None,
        );
        let classes: Vec<Value> = classes.iter().filter_map(|(_, c)| c.value().ok()).collect();
        if let Some(name) = default_class(&classes) {
            crate::builtin::set_path(claim, &["spec", "storageClassName"], json!(name));
        }
    }

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

    fn class(name: &str, created: &str, default: Option<&str>) -> Value {
        let mut c = json!({"metadata": {"name": name, "creationTimestamp": created}});
        if let Some(a) = default {
            c["metadata"]["annotations"] = json!({ a: "true" });
        }
        c
    }

    #[test]
    fn the_newest_default_class_wins_then_the_first_by_name() {
        let [ga, beta] = DEFAULT_CLASS_ANNOTATIONS;
        let classes = [
            class("plain", "2026-01-03T00:00:00Z", None),
            class("old", "2026-01-01T00:00:00Z", Some(ga)),
            class("b-new", "2026-01-02T00:00:00Z", Some(beta)),
            class("a-new", "2026-01-02T00:00:00Z", Some(ga)),
        ];
        assert_eq!(default_class(&classes).as_deref(), Some("a-new"));
        assert_eq!(default_class(&classes[..2]).as_deref(), Some("old"));
        assert_eq!(default_class(&classes[..1]), None);
        let mut not_true = class("x", "2026-01-04T00:00:00Z", Some(ga));
        not_true["metadata"]["annotations"][ga] = json!("True");
        assert_eq!(default_class([&not_true]), None);
    }

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
