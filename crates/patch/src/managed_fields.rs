//! Server-side apply and field ownership as kube-apiserver's field manager
//! (`k8s.io/apimachinery/pkg/util/managedfields`) keeps them in
//! `metadata.managedFields`.
//!
//! - [`record_update`] for create, update and every non-apply patch: the writer becomes
//!   the owner (operation `Update`) of the fields it changed, others lose them;
//! - [`apply`] for `application/apply-patch+yaml`: merges the configuration, reports
//!   conflicts with other owners (409) unless forced, and removes fields the applier
//!   stopped applying when nobody else owns them.
//!
//! Reproduced from the real chain of field managers: identifiers per manager,
//! operation, API version (Update only) and subresource; the meta fields never owned
//! (`apiVersion`, `kind`, `metadata.name`, `uid`, ...); the ten-Update-managers cap
//! (older ones merged into `ancient-changes`); no tracking of objects that have none
//! (unless an apply starts it, after recording existing fields as `before-first-apply`);
//! the `managedFields: []` reset; `kubectl` apply's last-applied-configuration
//! handling; timestamps only when a manager's fields changed.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::error::{StatusCause, StatusParts};
use crate::fieldpath::{Path, PathElement, Set, go_quote};
use crate::fields_v1::{fields_v1_to_set, set_to_fields_v1};
use crate::schema::TypeInfo;
use crate::typed;
use crate::updater::{Conflicts, Managers, Updater, VersionedSet};

/// kube-apiserver's cap on field managers with operation `Update`.
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The most bytes of a user agent kept as a default field manager name.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Who writes, to which endpoint, when.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The field manager: the request's `fieldManager`, else
    /// [`manager_from_user_agent`] (for apply it is required).
    pub manager: &'a str,
    /// The endpoint's `apiVersion` (`v1`, `batch/v1`, `example.com/v1`).
    pub api_version: &'a str,
    /// The endpoint's kind.
    pub kind: &'a str,
    /// `Some("status")` (or another subresource) for a subresource endpoint.
    pub subresource: Option<&'a str>,
    /// Fields the endpoint's strategy resets, whose changes nobody owns: for the main
    /// resource of a kind with a status subresource `status`, for `/status` `spec` (see
    /// [`reset_fields`]).
    pub reset_fields: &'a [&'a str],
    /// The time recorded for changed managers (second precision, UTC).
    pub now: Timestamp,
}

/// Why an apply was refused. [`ApplyError::status`] gives kube-apiserver's answer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ApplyError {
    /// Other managers own fields the apply changes (409 Conflict).
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The request is malformed (400): wrong `apiVersion`/`kind`, `managedFields` set.
    #[error("{0}")]
    BadRequest(String),
    /// The configuration does not fit the schema, or stored managed fields are
    /// undecodable (kube-apiserver: 500 with this message).
    #[error("{0}")]
    Invalid(String),
    /// A document nests deeper than [`crate::MAX_DEPTH`] (400).
    #[error("{what} is nested deeper than {limit} levels")]
    TooDeep {
        /// Which input.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// One field another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owner, printed as kube-apiserver prints it: `"kubectl-client-side-apply"
    /// using v1` for an Update manager, `"my-applier"` for an Apply manager, with
    /// ` with subresource "status"` when it wrote through a subresource.
    pub manager: String,
    /// The field, as `.spec.replicas` or `.spec.containers[name="app"].image`.
    pub field: String,
}

fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager, one.field
        );
    }
    let mut by_manager: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for c in conflicts {
        if !by_manager.contains_key(c.manager.as_str()) {
            order.push(&c.manager);
        }
        by_manager.entry(&c.manager).or_default().push(&c.field);
    }
    let mut lines = Vec::new();
    for m in order {
        lines.push(format!("conflicts with {m}:"));
        for f in &by_manager[m] {
            lines.push(format!("- {f}"));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

impl ApplyError {
    /// The `metav1.Status` kube-apiserver sends for this error.
    pub fn status(&self) -> StatusParts {
        match self {
            ApplyError::Conflicts(conflicts) => StatusParts {
                code: 409,
                reason: "Conflict",
                message: self.to_string(),
                causes: conflicts
                    .iter()
                    .map(|c| StatusCause {
                        cause_type: "FieldManagerConflict",
                        message: format!("conflict with {}", c.manager),
                        field: c.field.clone(),
                    })
                    .collect(),
            },
            ApplyError::BadRequest(m) => StatusParts {
                code: 400,
                reason: "BadRequest",
                message: m.clone(),
                causes: Vec::new(),
            },
            ApplyError::TooDeep { .. } => StatusParts {
                code: 400,
                reason: "BadRequest",
                message: self.to_string(),
                causes: Vec::new(),
            },
            ApplyError::Invalid(m) => crate::error::internal(m),
        }
    }
}

/// Managed fields could not be recorded; as kube-apiserver does, the object's
/// `managedFields` were removed and the write goes on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("failed to update managedFields: {0}")]
pub struct ManagedFieldsError(pub String);

/// The default field manager for a request without `fieldManager`, as kube-apiserver
/// derives it: the user agent up to its first `/`, without unprintable characters, at
/// most 128 bytes. `kubectl/v1.33.0 (linux/amd64)` gives `kubectl`.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars() {
        if !is_go_printable(c) {
            continue;
        }
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint`, closely: graphic characters and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF)
}

/// The fields kube-apiserver's strategies reset for a built-in kind's endpoint (its
/// `GetResetFields`), for [`Writer::reset_fields`]: `status` on the main resource of a
/// kind with a status subresource, `spec` on `/status` (plus, for pods,
/// `metadata.deletionTimestamp` and `metadata.ownerReferences`).
pub fn reset_fields(
    api_version: &str,
    kind: &str,
    subresource: Option<&str>,
) -> &'static [&'static str] {
    let has_status = matches!(
        (api_version, kind),
        (
            "v1",
            "Pod"
                | "Service"
                | "PersistentVolumeClaim"
                | "PersistentVolume"
                | "Namespace"
                | "Node"
                | "ReplicationController"
                | "ResourceQuota"
        ) | (
            "apps/v1",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch/v1", "Job" | "CronJob")
            | ("storage.k8s.io/v1", "VolumeAttachment")
            | ("networking.k8s.io/v1", "Ingress")
            | ("policy/v1", "PodDisruptionBudget")
            | ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    );
    match (subresource, has_status) {
        (None, true) => &["status"],
        (Some("status"), true) if (api_version, kind) == ("v1", "Pod") => &[
            "spec",
            "metadata.deletionTimestamp",
            "metadata.ownerReferences",
        ],
        (Some("status"), true) => &["spec"],
        _ => &[],
    }
}

/// The reset fields of a custom resource endpoint: `status` on the main resource when
/// the CRD version has a status subresource, `spec` on `/status`.
pub fn custom_resource_reset_fields(
    has_status_subresource: bool,
    subresource: Option<&str>,
) -> &'static [&'static str] {
    match (has_status_subresource, subresource) {
        (true, None) => &["status"],
        (_, Some("status")) => &["spec"],
        _ => &[],
    }
}

fn field_set_of(paths: &[&str]) -> Set {
    let mut set = Set::new();
    for p in paths {
        let path: Vec<PathElement> = p
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| PathElement::Field(s.to_string()))
            .collect();
        set.insert(&path);
    }
    set
}

/// `metav1.ManagedFieldsEntry` minus the fields, the key managers are told apart by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ManagerId {
    manager: String,
    operation: String,
    api_version: String,
    subresource: String,
}

impl ManagerId {
    /// `BuildManagerIdentifier`: the entry's JSON without fields and time, and
    /// without `apiVersion` for Apply.
    fn key(&self) -> String {
        let mut m = String::from("{");
        let mut first = true;
        let mut field = |name: &str, value: &str| {
            if value.is_empty() {
                return;
            }
            if !first {
                m.push(',');
            }
            first = false;
            m.push_str(&format!("\"{name}\":{}", go_json_string(value)));
        };
        field("manager", &self.manager);
        field("operation", &self.operation);
        if self.operation != "Apply" {
            field("apiVersion", &self.api_version);
        }
        field("subresource", &self.subresource);
        m.push('}');
        m
    }

    fn from_key(key: &str) -> ManagerId {
        let v: Value = serde_json::from_str(key).unwrap_or(Value::Null);
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        ManagerId {
            manager: s("manager"),
            operation: s("operation"),
            api_version: s("apiVersion"),
            subresource: s("subresource"),
        }
    }

    /// `printManager`: how conflicts name a manager.
    fn printed(key: &str) -> String {
        let id = ManagerId::from_key(key);
        let mut s = go_quote(&id.manager);
        if !id.subresource.is_empty() {
            s = format!("{s} with subresource {}", go_quote(&id.subresource));
        }
        if id.operation == "Update" {
            s = format!("{s} using {}", id.api_version);
        }
        s
    }
}

fn go_json_string(s: &str) -> String {
    match crate::fields_v1::serialize_path_element(&PathElement::Value(Value::String(s.into())))
        .strip_prefix("v:")
    {
        Some(j) => j.to_string(),
        None => format!("\"{s}\""),
    }
}

/// Decoded managed fields: sets and times by manager key.
#[derive(Debug, Clone, Default)]
struct Managed {
    fields: Managers,
    times: BTreeMap<String, Option<String>>,
}

fn decode(entries: Option<&Value>) -> Result<Managed, String> {
    let mut managed = Managed::default();
    let entries = match entries {
        None | Some(Value::Null) => return Ok(managed),
        Some(Value::Array(e)) => e,
        Some(_) => return Err("managedFields must be a list".into()),
    };
    for (i, entry) in entries.iter().enumerate() {
        let Value::Object(e) = entry else {
            return Err(format!("managed fields entry {i} must be an object"));
        };
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let operation = s("operation");
        if operation != "Apply" && operation != "Update" {
            return Err("operation must be `Apply` or `Update`".into());
        }
        let api_version = s("apiVersion");
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match s("fieldsType").as_str() {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
            other => {
                return Err(format!(
                    "invalid fieldsType {} in managed fields entry {i}",
                    go_quote(other)
                ));
            }
        }
        let id = ManagerId {
            manager: s("manager"),
            operation: operation.clone(),
            api_version: api_version.clone(),
            subresource: s("subresource"),
        };
        let set = match e.get("fieldsV1") {
            Some(f) => fields_v1_to_set(f).map_err(|err| format!("error decoding set: {err}"))?,
            None => Set::new(),
        };
        let key = id.key();
        managed.fields.insert(
            key.clone(),
            VersionedSet {
                set,
                api_version,
                applied: operation == "Apply",
            },
        );
        managed.times.insert(
            key,
            e.get("time").and_then(Value::as_str).map(str::to_string),
        );
    }
    Ok(managed)
}

fn seconds(time: &Option<String>) -> i64 {
    time.as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// Encodes managed fields in kube-apiserver's order: Apply before Update, then by time,
/// manager, API version, subresource.
fn encode(managed: &Managed) -> Option<Value> {
    if managed.fields.is_empty() {
        return None;
    }
    let mut entries: Vec<(ManagerId, Option<String>, Value)> = Vec::new();
    for (key, vs) in &managed.fields {
        let mut id = ManagerId::from_key(key);
        id.api_version = vs.api_version.clone();
        if vs.applied {
            id.operation = "Apply".into();
        }
        let time = managed.times.get(key).cloned().flatten();
        let mut e = Map::new();
        if !id.manager.is_empty() {
            e.insert("manager".into(), json!(id.manager));
        }
        e.insert("operation".into(), json!(id.operation));
        e.insert("apiVersion".into(), json!(id.api_version));
        if let Some(t) = &time {
            e.insert("time".into(), json!(t));
        }
        e.insert("fieldsType".into(), json!("FieldsV1"));
        e.insert("fieldsV1".into(), set_to_fields_v1(&vs.set));
        if !id.subresource.is_empty() {
            e.insert("subresource".into(), json!(id.subresource));
        }
        entries.push((id, time, Value::Object(e)));
    }
    entries.sort_by(|(a, ta, _), (b, tb, _)| {
        a.operation
            .cmp(&b.operation)
            .then_with(|| seconds(ta).cmp(&seconds(tb)))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    Some(Value::Array(
        entries.into_iter().map(|(_, _, e)| e).collect(),
    ))
}

fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

fn managed_fields_of(obj: &Value) -> Option<&Value> {
    metadata(obj).and_then(|m| m.get("managedFields"))
}

fn set_managed_fields(obj: &mut Value, managed: Option<Value>) {
    let Value::Object(o) = obj else { return };
    match managed {
        Some(m) => {
            let meta = o
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert("managedFields".into(), m);
            }
        }
        None => {
            if let Some(Value::Object(meta)) = o.get_mut("metadata") {
                meta.remove("managedFields");
            }
        }
    }
}

/// `isResetManagedFields`: `[]`, or a single empty entry.
fn is_reset(managed: Option<&Value>) -> bool {
    match managed {
        Some(Value::Array(items)) if items.is_empty() => true,
        Some(Value::Array(items)) if items.len() == 1 => {
            matches!(&items[0], Value::Object(m) if m.is_empty())
        }
        _ => false,
    }
}

/// Paths never owned (`stripMetaManager`).
fn strip_set() -> Set {
    field_set_of(&[
        "apiVersion",
        "kind",
        "metadata",
        "metadata.name",
        "metadata.namespace",
        "metadata.creationTimestamp",
        "metadata.selfLink",
        "metadata.uid",
        "metadata.clusterName",
        "metadata.generation",
        "metadata.managedFields",
        "metadata.resourceVersion",
    ])
}

fn strip(managed: &mut Managers, key: &str) {
    if let Some(vs) = managed.get_mut(key) {
        vs.set = vs.set.difference(&strip_set());
        if vs.set.is_empty() {
            managed.remove(key);
        }
    }
}

fn time_string(now: Timestamp) -> String {
    // metav1.Time: RFC 3339 in UTC, whole seconds.
    match Timestamp::from_second(now.as_second()) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => now.to_string(),
    }
}

fn has_uid(obj: &Value) -> bool {
    metadata(obj)
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .is_some_and(|u| !u.is_empty())
}

/// The whole Update chain below the `FieldManager` (skip-non-applied, cap, manager
/// info, timestamps, strip, structured merge).
fn update_chain(
    types: &dyn TypeInfo,
    writer: &Writer<'_>,
    live: &Value,
    new: &Value,
    managed: &mut Managed,
    manager: &str,
) {
    // skipNonAppliedManager: objects without managed fields are not tracked, except
    // on create (no uid yet).
    if managed.fields.is_empty() && has_uid(live) {
        return;
    }
    // buildManagerInfoManager.
    let id = ManagerId {
        manager: if manager.is_empty() {
            "unknown".into()
        } else {
            manager.into()
        },
        operation: "Update".into(),
        api_version: writer.api_version.into(),
        subresource: writer.subresource.unwrap_or("").into(),
    }
    .key();
    // managedFieldsUpdater: the operation's changes under a temporary name, merged
    // into the manager's set.
    const CURRENT: &str = "current-operation";
    let ignored = field_set_of(writer.reset_fields);
    let updater = Updater {
        types,
        ignored: &ignored,
    };
    updater.record_update(live, new, writer.api_version, &mut managed.fields, CURRENT);
    strip(&mut managed.fields, CURRENT);
    if let Some(vs) = managed.fields.remove(CURRENT) {
        let set = match managed.fields.get(&id) {
            Some(previous) => vs.set.union(&previous.set),
            None => vs.set,
        };
        managed.fields.insert(
            id.clone(),
            VersionedSet {
                set,
                api_version: vs.api_version,
                applied: vs.applied,
            },
        );
        managed.times.insert(id, Some(time_string(writer.now)));
    }
    cap_update_managers(managed);
}

/// `capManagersManager`: at most ten Update managers; the oldest are merged into
/// `ancient-changes` per API version.
fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<String> = managed
        .fields
        .iter()
        .filter(|(_, vs)| !vs.applied)
        .map(|(k, _)| k.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    let secs = |k: &String| managed.times.get(k).map(seconds).unwrap_or(0);
    updaters.sort_by(|a, b| secs(a).cmp(&secs(b)).then_with(|| a.cmp(b)));
    let mut first_by_version: BTreeMap<String, String> = BTreeMap::new();
    let mut length = updaters.len();
    for manager in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(vs) = managed.fields.get(&manager).cloned() else {
            continue;
        };
        let time = managed.times.get(&manager).cloned().flatten();
        let bucket = ManagerId {
            manager: "ancient-changes".into(),
            operation: "Update".into(),
            api_version: vs.api_version.clone(),
            subresource: String::new(),
        }
        .key();
        match first_by_version.get(&vs.api_version) {
            Some(first) => {
                if !managed.fields.contains_key(&bucket)
                    && let Some(s) = managed.fields.remove(first)
                {
                    managed.fields.insert(bucket.clone(), s);
                }
                let bucket_set = managed
                    .fields
                    .get(&bucket)
                    .map(|b| b.set.clone())
                    .unwrap_or_default();
                managed.fields.insert(
                    bucket.clone(),
                    VersionedSet {
                        set: vs.set.union(&bucket_set),
                        api_version: vs.api_version.clone(),
                        applied: vs.applied,
                    },
                );
                managed.fields.remove(&manager);
                length -= 1;
                managed.times.insert(bucket, time);
            }
            None => {
                first_by_version.insert(vs.api_version.clone(), manager);
            }
        }
    }
}

/// Records managed fields for a create, update or non-apply patch (JSON, merge or
/// strategic merge patch), as kube-apiserver's `FieldManager.UpdateNoErrors` does.
///
/// `old` is the stored object (`None` on create); `new` is the object about to be
/// stored, after the patch and defaulting, with whatever `metadata.managedFields` the
/// request carried: valid, non-empty ones sent on the main resource are taken as the
/// new record (a client may rewrite them), `[]` clears them (and tracking stops until
/// the next apply); otherwise the stored ones are updated. On return `new` carries the
/// updated `metadata.managedFields` (none when nobody owns anything).
///
/// On error, as kube-apiserver does, `new`'s `managedFields` have been removed and the
/// write should go on (log the error).
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    types: &dyn TypeInfo,
    writer: &Writer<'_>,
) -> Result<(), ManagedFieldsError> {
    let empty;
    let live = match old {
        Some(o) => o,
        None => {
            empty = types.empty_object(writer.api_version, writer.kind);
            &empty
        }
    };
    let too_deep = crate::depth_within(live, crate::MAX_DEPTH).is_none()
        || crate::depth_within(new, crate::MAX_DEPTH).is_none();
    if too_deep {
        set_managed_fields(new, None);
        return Err(ManagedFieldsError(format!(
            "object is nested deeper than {} levels",
            crate::MAX_DEPTH
        )));
    }
    // decodeLiveOrNew.
    let from_live = || decode(managed_fields_of(live)).unwrap_or_default();
    let mut managed = if writer.subresource.is_some() {
        from_live()
    } else if is_reset(managed_fields_of(new)) {
        Managed::default()
    } else {
        match decode(managed_fields_of(new)) {
            Ok(m) if !m.fields.is_empty() => m,
            _ => from_live(),
        }
    };
    set_managed_fields(new, None);
    let mut live_view = live.clone();
    set_managed_fields(&mut live_view, None);
    update_chain(types, writer, &live_view, new, &mut managed, writer.manager);
    set_managed_fields(new, encode(&managed));
    Ok(())
}

/// The result of a successful apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The object to store, with updated `metadata.managedFields`. Defaulting has not
    /// run on it: the server defaults it as for any write.
    pub object: Value,
    /// Whether the object itself (not counting managed fields) differs from the live
    /// one. When `false`, the apply changed nothing but ownership; the server still
    /// stores the new managed fields.
    pub changed: bool,
}

/// `objectGVKNN`: `namespace/name; group/version, Kind=Kind`.
fn object_gvknn(obj: &Value, api_version: &str, kind: &str) -> String {
    let meta = metadata(obj);
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unknown>");
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{namespace}/{name}; {}", gvk_string(api_version, kind))
}

/// `GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    format!("{group}/{version}, Kind={kind}")
}

/// Server-side apply of `applied` (the decoded `application/apply-patch+yaml` body)
/// by `writer.manager`, with `force` from the request.
///
/// `live` is the stored object, or `None` when the apply creates it. The result is the
/// merged object with updated `metadata.managedFields`: fields the applier set are
/// its own (operation `Apply`); fields it applied before but no longer applies are
/// removed unless another manager owns them; a change to a field another manager owns
/// is a conflict ([`ApplyError::Conflicts`], 409) unless `force`, which takes the
/// field over.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    types: &dyn TypeInfo,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Applied, ApplyError> {
    let too_deep = |what| ApplyError::TooDeep {
        what,
        limit: crate::MAX_DEPTH,
    };
    if crate::depth_within(applied, crate::MAX_DEPTH).is_none() {
        return Err(too_deep("patch"));
    }
    let empty = types.empty_object(writer.api_version, writer.kind);
    let live = live.unwrap_or(&empty);
    if crate::depth_within(live, crate::MAX_DEPTH).is_none() {
        return Err(too_deep("object"));
    }
    // FieldManager.Apply: the stored managed fields.
    let managed = decode(managed_fields_of(live))
        .map_err(|e| ApplyError::Invalid(format!("failed to decode managed fields: {e}")))?;
    // versionCheckManager.
    let applied_api_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let applied_kind = applied.get("kind").and_then(Value::as_str).unwrap_or("");
    if applied_api_version != writer.api_version || applied_kind != writer.kind {
        return Err(ApplyError::BadRequest(format!(
            "invalid object type: {}",
            gvk_string(applied_api_version, applied_kind)
        )));
    }
    let result = match apply_inner(types, writer, live, applied, managed.clone(), force) {
        Err(ApplyError::Conflicts(conflicts)) if writer.manager == "kubectl" => {
            // lastAppliedManager: conflicts with what kubectl's client-side apply last
            // applied (and nobody changed since) are resolved in kubectl's favour.
            match allowed_conflicts_from_last_applied(types, writer, live) {
                Some(allowed) => {
                    let remaining: Vec<Conflict> = conflicts
                        .iter()
                        .filter(|c| !allowed.contains(&c.field))
                        .cloned()
                        .collect();
                    if remaining.is_empty() {
                        apply_inner(types, writer, live, applied, managed, true)
                    } else {
                        Err(ApplyError::Conflicts(remaining))
                    }
                }
                None => Err(ApplyError::Conflicts(conflicts)),
            }
        }
        other => other,
    };
    let (mut applied_result, _) = result?;
    // lastAppliedUpdater: kubectl's server-side apply keeps the client-side
    // annotation current when the object has one.
    if writer.manager == "kubectl" && has_last_applied(&applied_result.object) {
        set_last_applied(&mut applied_result.object, applied);
    }
    Ok(applied_result)
}

type ChainResult = Result<(Applied, Managed), ApplyError>;

fn apply_inner(
    types: &dyn TypeInfo,
    writer: &Writer<'_>,
    live: &Value,
    applied: &Value,
    mut managed: Managed,
    force: bool,
) -> ChainResult {
    let mut live = live.clone();
    set_managed_fields(&mut live, None);
    // skipNonAppliedManager: an object without managed fields first gets its existing
    // fields recorded as owned by "before-first-apply".
    if managed.fields.is_empty() {
        let empty = types.empty_object(writer.api_version, writer.kind);
        let mut before = Managed::default();
        let mut no_uid_empty = empty.clone();
        if let Some(Value::Object(m)) = no_uid_empty.get_mut("metadata") {
            m.remove("uid");
        }
        update_chain(
            types,
            writer,
            &no_uid_empty,
            &live,
            &mut before,
            "before-first-apply",
        );
        managed = before;
    }
    // buildManagerInfoManager.
    let id = ManagerId {
        manager: if writer.manager.is_empty() {
            "unknown".into()
        } else {
            writer.manager.into()
        },
        operation: "Apply".into(),
        api_version: String::new(),
        subresource: writer.subresource.unwrap_or("").into(),
    }
    .key();
    // structuredMergeManager.
    if managed_fields_of(applied).is_some_and(|m| !m.is_null()) {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let root = types.root();
    let errs = typed::validate(types, applied, root, false);
    if !errs.is_empty() {
        return Err(ApplyError::Invalid(format!(
            "failed to create typed patch object ({}): {errs}",
            object_gvknn(applied, writer.api_version, writer.kind)
        )));
    }
    let errs = typed::validate(types, &live, root, true);
    if !errs.is_empty() {
        return Err(ApplyError::Invalid(format!(
            "failed to create typed live object ({}): {errs}",
            object_gvknn(&live, writer.api_version, writer.kind)
        )));
    }
    let ignored = field_set_of(writer.reset_fields);
    let updater = Updater {
        types,
        ignored: &ignored,
    };
    let outcome = updater
        .apply(
            &live,
            applied,
            writer.api_version,
            &mut managed.fields,
            &id,
            force,
        )
        .map_err(|conflicts| ApplyError::Conflicts(to_conflicts(conflicts)))?;
    strip(&mut managed.fields, &id);
    // managedFieldsUpdater: the time moves only when the object changed.
    let (mut object, changed) = match outcome {
        Some(obj) => {
            managed.times.insert(id, Some(time_string(writer.now)));
            (obj, true)
        }
        None => (live.clone(), false),
    };
    set_managed_fields(&mut object, encode(&managed));
    Ok((Applied { object, changed }, managed))
}

fn to_conflicts(conflicts: Conflicts) -> Vec<Conflict> {
    conflicts
        .into_iter()
        .map(|(manager, path): (String, Path)| Conflict {
            manager: ManagerId::printed(&manager),
            field: path.to_string(),
        })
        .collect()
}

fn last_applied(obj: &Value) -> Option<&str> {
    metadata(obj)
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn has_last_applied(obj: &Value) -> bool {
    last_applied(obj).is_some()
}

/// `buildLastApplied`: the applied configuration without the annotation, as Go's
/// JSON encoder writes it (sorted keys, trailing newline).
fn set_last_applied(obj: &mut Value, applied: &Value) {
    let mut config = applied.clone();
    if let Some(Value::Object(annotations)) = config
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.remove(LAST_APPLIED);
    }
    let encoded = format!("{}\n", crate::fields_v1::go_json_value(&config));
    if let Some(Value::Object(annotations)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.insert(LAST_APPLIED.into(), Value::String(encoded));
    }
}

/// `allowedConflictsFromLastApplied`: the fields of kubectl's last client-side applied
/// configuration that still have the value it applied.
fn allowed_conflicts_from_last_applied(
    types: &dyn TypeInfo,
    writer: &Writer<'_>,
    live: &Value,
) -> Option<Vec<String>> {
    let raw = last_applied(live)?;
    let last: Value = serde_json::from_str(raw).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(writer.api_version) {
        return None;
    }
    crate::depth_within(&last, crate::MAX_DEPTH)?;
    let root = types.root();
    if !typed::validate(types, &last, root, false).is_empty() {
        return None;
    }
    let mut live = live.clone();
    set_managed_fields(&mut live, None);
    let set = typed::to_field_set(types, &last, root);
    let cmp = typed::compare(types, &last, &live, root);
    let allowed = set
        .difference(&cmp.modified)
        .difference(&cmp.added)
        .difference(&cmp.removed);
    Some(allowed.paths().iter().map(ToString::to_string).collect())
}
