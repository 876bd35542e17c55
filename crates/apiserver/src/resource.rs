//! What the server serves: resource definitions (names, scope, verbs, subresources)
//! and each resource's behaviour (decoding, defaulting, validation, generation,
//! printing, field selectors, deletion), for built-in types and custom resources.

use crate::names::NameRule;
use crate::status::{ApiError, FieldError, GroupResource};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// `fieldValidation`: what to do with unknown or duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and say so in `Warning` headers (the default).
    Warn,
    /// Refuse the request with `400 BadRequest`.
    Strict,
}

/// The dependents policy a delete applies when the client does not choose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPolicy {
    /// Delete dependents in the background.
    DeleteDependents,
    /// Orphan dependents (batch/v1 Jobs, for backwards compatibility).
    OrphanDependents,
}

/// One column of a server-side printed table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header.
    pub name: String,
    /// OpenAPI type (`string`, `integer`, `date`, ...).
    pub kind: String,
    /// OpenAPI format (`name` for the name column).
    pub format: String,
    /// Description.
    pub description: String,
    /// 0 shows by default, higher only with `-o wide`.
    pub priority: i32,
}

impl Column {
    /// A column.
    pub fn new(name: &str, kind: &str, format: &str, description: &str, priority: i32) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            format: format.into(),
            description: description.into(),
            priority,
        }
    }

    /// The standard NAME column.
    pub fn name() -> Self {
        Self::new(
            "Name",
            "string",
            "name",
            "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
            0,
        )
    }

    /// The standard AGE column.
    pub fn age() -> Self {
        Self::new(
            "Age",
            "string",
            "",
            "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            0,
        )
    }
}

/// The result of decoding a request body into the storage form.
#[derive(Debug)]
pub struct Decoded {
    /// The object, in its storage version, unknown fields dropped.
    pub object: Value,
    /// Paths of fields that were dropped (`spec.foo`), for warnings or strict errors.
    pub unknown: Vec<String>,
}

/// How objects of one resource behave. Implemented once for each built-in kind and
/// once for custom resources; every method has the generic API server's default.
pub trait Behaviour: Send + Sync + std::fmt::Debug {
    /// How `metadata.name` is validated.
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    /// Whether a `status` subresource exists (then the main endpoint ignores status
    /// changes and `/status` ignores everything else).
    fn has_status(&self) -> bool {
        false
    }

    /// Whether `metadata.generation` is maintained.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Whether PUT of a missing object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }

    /// Whether PUT without `metadata.resourceVersion` is allowed.
    fn allow_unconditional_update(&self) -> bool {
        true
    }

    /// Whether an immediate delete answers with the deleted object (rather than a
    /// `Status`).
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// Converts an object as served at `version` into the storage form, dropping
    /// fields the type does not have.
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError>;

    /// Converts a stored object into what `version` serves; `None` when stored and
    /// served forms are the same (the fast path).
    fn encode(&self, _stored: &Value, _version: &str) -> Option<Value> {
        None
    }

    /// Defaults applied on every write (after decoding).
    fn default(&self, _obj: &mut Value) {}

    /// Create-time preparation: reset status, set initial fields.
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// What admission plugins add on create (after managed fields are recorded, so
    /// nobody owns these fields): pod priority, default tolerations, the default
    /// service account, storage protection finalizers.
    fn admit_create(&self, _obj: &mut Value) {}

    /// Create-time allocation of unique values (service cluster IPs); `taken`
    /// says whether a value is already in use.
    fn allocate(&self, _obj: &mut Value, _taken: &dyn Fn(&str) -> bool) -> Vec<FieldError> {
        Vec::new()
    }

    /// Update-time preparation through the main endpoint.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// Type-specific validation (metadata is validated generically).
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Type-specific update validation (immutable fields and the like).
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate(new)
    }

    /// Warnings for a create or update (`Warning` headers).
    fn warnings(&self, _new: &Value, _old: Option<&Value>) -> Vec<String> {
        Vec::new()
    }

    /// Whether the parts of the object that drive `generation` changed.
    fn spec_changed(&self, new: &Value, old: &Value) -> bool {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                m.remove("status");
            }
            v
        };
        strip(new) != strip(old)
    }

    /// Table columns for `kubectl get`.
    fn columns(&self) -> Vec<Column> {
        vec![Column::name(), Column::age()]
    }

    /// One table row's cells (same order as [`Behaviour::columns`]).
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        vec![
            Value::String(crate::table::name_of(obj)),
            Value::String(crate::table::age_of(obj, now)),
        ]
    }

    /// Whether the kind registers its own field-label conversion (then unsupported
    /// labels read `field label not supported: X`, otherwise the generic
    /// `"X" is not a known field selector: only "metadata.name", "metadata.namespace"`).
    fn custom_field_labels(&self) -> bool {
        false
    }

    /// The value of a field-selector label, or `None` if the label is unsupported.
    fn field(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" => Some(crate::table::meta_str(obj, "name")),
            "metadata.namespace" => Some(crate::table::meta_str(obj, "namespace")),
            _ => None,
        }
    }

    /// The dependents policy when a delete does not choose one.
    fn default_gc_policy(&self, _version: &str) -> GcPolicy {
        GcPolicy::DeleteDependents
    }

    /// A warning for a delete that relies on the default policy.
    fn default_gc_warning(&self, _version: &str) -> Option<&'static str> {
        None
    }

    /// For graceful deletion: the grace period to apply (`Some(0)` deletes at once),
    /// or `None` when the type does not support graceful deletion.
    fn grace_period(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }

    /// Extra condition for deleting an object whose last finalizer an update removed
    /// (namespaces also need empty `spec.finalizers`).
    fn delete_during_update(&self, _new: &Value) -> bool {
        true
    }

    /// The OpenAPI v3 schema to publish for this kind, if any.
    fn openapi_schema(&self) -> Option<Value> {
        None
    }

    /// Status-only update preparation: everything comes from `old` except status
    /// (and managedFields, which record the status change), as
    /// `ResetObjectMetaForStatus` and the custom-resource status strategy do.
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        let status = new.get("status").cloned();
        let managed = new
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .cloned();
        let mut merged = old.clone();
        if let Some(m) = merged.as_object_mut() {
            match status {
                Some(s) => {
                    m.insert("status".into(), s);
                }
                None => {
                    m.remove("status");
                }
            }
            if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                match managed {
                    Some(mf) => {
                        meta.insert("managedFields".into(), mf);
                    }
                    None => {
                        meta.remove("managedFields");
                    }
                }
            }
        }
        *new = merged;
    }
}

/// One subresource of a resource.
#[derive(Debug, Clone)]
pub struct Subresource {
    /// `status`, `log`, `finalize`.
    pub name: &'static str,
    /// The kind it takes and returns.
    pub kind: String,
    /// Its verbs.
    pub verbs: Vec<&'static str>,
}

/// A resource at one group/version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group ("" for core).
    pub group: String,
    /// Version (`v1`, `v1beta1`).
    pub version: String,
    /// Kind (`ConfigMap`).
    pub kind: String,
    /// Plural (`configmaps`).
    pub plural: String,
    /// Singular (`configmap`).
    pub singular: String,
    /// Short names (`cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs served.
    pub verbs: Vec<&'static str>,
    /// Subresources served.
    pub subresources: Vec<Subresource>,
    /// Where objects are stored (shared across versions, and between
    /// `events.k8s.io` and core events).
    pub storage: GroupResource,
    /// Behaviour.
    pub behaviour: Arc<dyn Behaviour>,
    /// Whether this is the version discovery prefers for the group.
    pub preferred: bool,
    /// The CRD that defines it, for custom resources.
    pub crd: Option<String>,
    /// Type information for strategic merge patch, server-side apply and
    /// managedFields (`None` when the patch engine has none for the kind).
    pub patch_schema: Option<Arc<ferry_patch::Schema>>,
}

impl ResourceDef {
    /// `group/version` or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group-resource named in errors (the request's group and plural).
    pub fn gr(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    /// Whether `sub` is served.
    pub fn subresource(&self, sub: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == sub)
    }

    /// Whether `verb` is served on the main resource.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

/// The standard verbs of a read-write resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a custom resource, in the order apiextensions-apiserver lists them
/// in discovery.
pub const CUSTOM_RESOURCE_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

#[derive(Debug, Default)]
struct RegistryState {
    builtins: Vec<Arc<ResourceDef>>,
    /// CRD name -> served versions.
    custom: HashMap<String, Vec<Arc<ResourceDef>>>,
    generation: u64,
}

/// Every resource the server serves: built-ins plus what established CRDs add.
#[derive(Debug, Default)]
pub struct Registry {
    state: RwLock<RegistryState>,
}

impl Registry {
    /// A registry with these built-in resources.
    pub fn new(builtins: Vec<ResourceDef>) -> Self {
        Self {
            state: RwLock::new(RegistryState {
                builtins: builtins.into_iter().map(Arc::new).collect(),
                custom: HashMap::new(),
                generation: 1,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RegistryState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RegistryState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A counter that changes whenever what is served changes (discovery ETags).
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Every served resource, built-ins first.
    pub fn all(&self) -> Vec<Arc<ResourceDef>> {
        let st = self.read();
        let mut out = st.builtins.clone();
        let mut names: Vec<&String> = st.custom.keys().collect();
        names.sort();
        for n in names {
            out.extend(st.custom[n].iter().cloned());
        }
        out
    }

    /// The resource at `group/version/plural`.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        let st = self.read();
        st.builtins
            .iter()
            .chain(st.custom.values().flatten())
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    /// The resource serving `kind` at `apiVersion` (`group/version` or `v1`).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let st = self.read();
        st.builtins
            .iter()
            .chain(st.custom.values().flatten())
            .find(|d| d.group == group && d.version == version && d.kind == kind)
            .cloned()
    }

    /// Whether a group is served at all.
    pub fn has_group(&self, group: &str) -> bool {
        self.all().iter().any(|d| d.group == group)
    }

    /// Whether a group/version is served.
    pub fn has_group_version(&self, group: &str, version: &str) -> bool {
        self.all()
            .iter()
            .any(|d| d.group == group && d.version == version)
    }

    /// One served definition per storage resource (for namespace cleanup and GC).
    pub fn storage_resources(&self) -> Vec<Arc<ResourceDef>> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for d in self.all() {
            if seen.insert(d.storage.clone()) {
                out.push(d);
            }
        }
        out
    }

    /// Replaces what a CRD serves (empty to stop serving it).
    pub fn set_custom(&self, crd: &str, defs: Vec<ResourceDef>) {
        let mut st = self.write();
        if defs.is_empty() {
            st.custom.remove(crd);
        } else {
            st.custom
                .insert(crd.to_string(), defs.into_iter().map(Arc::new).collect());
        }
        st.generation += 1;
    }

    /// The definitions a CRD currently serves.
    pub fn custom(&self, crd: &str) -> Vec<Arc<ResourceDef>> {
        self.read().custom.get(crd).cloned().unwrap_or_default()
    }

    /// Whether the plural or kind of another served resource in `group` collides.
    pub fn names_taken(
        &self,
        group: &str,
        plural: &str,
        kind: &str,
        except_crd: &str,
    ) -> Option<String> {
        let st = self.read();
        for d in st.builtins.iter() {
            if d.group == group && (d.plural == plural || d.kind == kind) {
                return Some(format!("{}.{}", d.plural, d.group));
            }
        }
        for (name, defs) in st.custom.iter() {
            if name == except_crd {
                continue;
            }
            for d in defs {
                if d.group == group && (d.plural == plural || d.kind == kind) {
                    return Some(name.clone());
                }
            }
        }
        None
    }
}
