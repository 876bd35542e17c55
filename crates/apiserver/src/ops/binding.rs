//! `POST pods/{name}/binding`: how a scheduler (or a kubelet without one) assigns a
//! pod to a node, as kube-apiserver's `BindingREST` does. The write goes straight
//! to storage like its `GuaranteedUpdate`: no pod strategy, no managed fields, no
//! generation change; only `spec.nodeName`, the binding's annotations and the
//! `PodScheduled` condition change. An update may never set the node.

use super::{Api, now};
use crate::resource::ResourceDef;
use crate::status::{ApiError, FieldError, GroupResource};
use crate::store::{Write, WriteError};
use serde_json::{Value, json};

/// The decision a binding takes on the pod it targets.
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// The pod is being deleted.
    Deleting,
    /// The pod already names a node.
    Assigned(String),
    /// The pod still has scheduling gates.
    Gated,
}

impl Refusal {
    fn message(&self, pod: &str) -> String {
        match self {
            Self::Deleting => format!("pod {pod} is being deleted, cannot be assigned to a host"),
            Self::Assigned(node) => format!("pod {pod} is already assigned to node {node:?}"),
            Self::Gated => format!("pod {pod} has non-empty .spec.schedulingGates"),
        }
    }
}

/// `ValidatePodBinding`: the target is a node (or says no kind) and is named.
pub(crate) fn validate(binding: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let kind = str_at(binding, "/target/kind");
    if !kind.is_empty() && kind != "Node" {
        errs.push(FieldError::not_supported(
            "target.kind",
            kind,
            &["Node", "<empty>"],
        ));
    }
    if str_at(binding, "/target/name").is_empty() {
        errs.push(FieldError::required("target.name", ""));
    }
    errs
}

/// Binds `pod` (as stored) to `node`: the new pod, or why it cannot be bound.
pub(crate) fn bind(
    pod: &Value,
    node: &str,
    annotations: Option<&serde_json::Map<String, Value>>,
    at: &str,
) -> Result<Value, Refusal> {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(Refusal::Deleting);
    }
    let current = str_at(pod, "/spec/nodeName");
    if !current.is_empty() {
        return Err(Refusal::Assigned(current));
    }
    if pod
        .pointer("/spec/schedulingGates")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty())
    {
        return Err(Refusal::Gated);
    }
    let mut new = pod.clone();
    crate::builtin::set_path(&mut new, &["spec", "nodeName"], json!(node));
    if let Some(extra) = annotations.filter(|a| !a.is_empty()) {
        let mut merged = new
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        merged.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        crate::builtin::set_path(
            &mut new,
            &["metadata", "annotations"],
            Value::Object(merged),
        );
    }
    // podutil.UpdatePodCondition: a changed status gets a new transition time;
    // reason and message are replaced (by none).
    let mut conditions = new
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut scheduled = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": at});
    match conditions
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"))
    {
        Some(old) => {
            if old.get("status").and_then(Value::as_str) == Some("True")
                && let Some(t) = old.get("lastTransitionTime")
            {
                scheduled["lastTransitionTime"] = t.clone();
            }
            *old = scheduled;
        }
        None => conditions.push(scheduled),
    }
    crate::builtin::set_path(
        &mut new,
        &["status", "conditions"],
        Value::Array(conditions),
    );
    Ok(new)
}

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn binding_gr() -> GroupResource {
    GroupResource::new("", "pods/binding")
}

impl Api {
    /// Serves `POST .../pods/{name}/binding` with body `binding` (a `v1.Binding`):
    /// the `Status` kube-apiserver answers (201 Success), or its error.
    pub async fn bind_pod(
        &self,
        pods: &ResourceDef,
        namespace: &str,
        name: &str,
        binding: &Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let kind = str_at(binding, "/kind");
        if !kind.is_empty() && kind != "Binding" {
            let version = str_at(binding, "/apiVersion");
            let version = version.rsplit('/').next().unwrap_or_default();
            return Err(ApiError::bad_request(format!(
                "{kind} in version {version:?} cannot be handled as a Binding: converting ({version}.{kind}) to (core.Binding): unknown conversion"
            )));
        }
        let body_ns = str_at(binding, "/metadata/namespace");
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if str_at(binding, "/metadata/name") != name {
            return Err(ApiError::bad_request(
                "name in URL does not match name in Binding object",
            ));
        }
        let errs = validate(binding);
        if !errs.is_empty() {
            // kube-apiserver returns the aggregate unclassified: a 500 without reason.
            return Err(ApiError::unknown_500(crate::status::aggregate(&errs)));
        }
        let node = str_at(binding, "/target/name");
        let annotations = binding
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        let uid = str_at(binding, "/metadata/uid");
        let rv = str_at(binding, "/metadata/resourceVersion");
        let key = self.key(pods, namespace, name);
        for _ in 0..64 {
            let Some(current) = self.store.latest(&key) else {
                return Err(ApiError::not_found(&pods.gr(), name));
            };
            let pod = current.value().map_err(ApiError::internal)?;
            let precondition = |what: &str, wanted: &str, actual: String| {
                ApiError::conflict(
                    &pods.gr(),
                    name,
                    &format!(
                        "StorageError: invalid object, Code: 4, Key: /registry/pods/{namespace}/{name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {actual}"
                    ),
                )
            };
            if !uid.is_empty() && str_at(&pod, "/metadata/uid") != uid {
                return Err(precondition("UID", &uid, str_at(&pod, "/metadata/uid")));
            }
            if !rv.is_empty() && current.rv.to_string() != rv {
                return Err(precondition("ResourceVersion", &rv, current.rv.to_string()));
            }
            let new = bind(&pod, &node, annotations, &now())
                .map_err(|r| ApiError::conflict(&binding_gr(), name, &r.message(name)))?;
            if !dry_run {
                match self
                    .store
                    .commit(&key, Some(current.rv), Write::Put(new))
                    .await
                {
                    Ok(_) => {}
                    Err(WriteError::Conflict) => continue,
                    Err(e) => return Err(self.write_error(pods, name, e)),
                }
            }
            return Ok(
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            );
        }
        Err(ApiError::conflict_modified(&pods.gr(), name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": []},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no nodes", "lastProbeTime": null, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
    }

    #[test]
    fn binding_sets_the_node_and_the_scheduled_condition() {
        let mut a = serde_json::Map::new();
        a.insert("k".into(), json!("v"));
        let new = bind(&pod(), "n1", Some(&a), "2026-02-02T00:00:00Z").unwrap();
        assert_eq!(new["spec"]["nodeName"], "n1");
        assert_eq!(new["metadata"]["annotations"]["k"], "v");
        assert_eq!(
            new["status"]["conditions"],
            json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-02-02T00:00:00Z"}])
        );
    }

    #[test]
    fn bound_gated_and_deleted_pods_are_refused() {
        let bound = bind(&pod(), "n1", None, "t").unwrap();
        assert_eq!(
            bind(&bound, "n2", None, "t"),
            Err(Refusal::Assigned("n1".into()))
        );
        let mut gated = pod();
        gated["spec"]["schedulingGates"] = json!([{"name": "g"}]);
        assert_eq!(bind(&gated, "n", None, "t"), Err(Refusal::Gated));
        let mut deleted = pod();
        deleted["metadata"]["deletionTimestamp"] = json!("t");
        assert_eq!(bind(&deleted, "n", None, "t"), Err(Refusal::Deleting));
    }

    #[test]
    fn bindings_name_a_node() {
        let fields =
            |b: Value| -> Vec<String> { validate(&b).into_iter().map(|e| e.field).collect() };
        assert!(fields(json!({"target": {"kind": "Node", "name": "n"}})).is_empty());
        assert!(fields(json!({"target": {"name": "n"}})).is_empty());
        assert_eq!(
            fields(json!({"target": {"kind": "Pod", "name": "n"}})),
            ["target.kind"]
        );
        assert_eq!(fields(json!({"target": {}})), ["target.name"]);
        assert_eq!(fields(json!("not an object")), ["target.name"]);
    }
}
