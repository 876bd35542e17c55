//! Create, update and patch, following kube-apiserver's handlers and generic
//! registry: decode, admit, prepare, validate, then a compare-and-swap write
//! retried on races (`GuaranteedUpdate`).

use super::{Api, now, rv_of};
use crate::names;
use crate::resource::{FieldValidation, ResourceDef};
use crate::status::{ApiError, FieldError, GroupResource};
use crate::store::{Store, Write, WriteError};
use serde_json::{Value, json};

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The main resource.
    Main,
    /// The `status` subresource.
    Status,
    /// Namespaces' `finalize` subresource (only `spec.finalizers` changes).
    Finalize,
}

impl Sub {
    /// The subresource name ("" for the main resource).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Main => "",
            Self::Status => "status",
            Self::Finalize => "finalize",
        }
    }
}

/// Options of a write request.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `fieldManager` (or the user agent's prefix).
    pub field_manager: String,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// `force` (server-side apply).
    pub force: bool,
    /// Fields the request body names twice (`spec.size`), which
    /// `fieldValidation` reports like unknown fields.
    pub duplicate_fields: Vec<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            field_manager: "ferry-apiserver".into(),
            field_validation: FieldValidation::Warn,
            force: false,
            duplicate_fields: Vec::new(),
        }
    }
}

/// The result of a write.
#[derive(Debug)]
pub struct Written {
    /// The object as served by the endpoint.
    pub object: Value,
    /// 200 or 201.
    pub code: u16,
    /// `Warning` headers.
    pub warnings: Vec<String>,
}

/// A patch flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 6902.
    Json,
    /// RFC 7386.
    Merge,
    /// Strategic merge patch (built-in types).
    Strategic,
    /// Server-side apply.
    Apply,
}

/// A patch request.
#[derive(Debug, Clone)]
pub struct Patch {
    /// The flavour.
    pub kind: PatchKind,
    /// The patch document.
    pub body: Value,
}

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `base` and five random characters, as kube-apiserver's name generator makes them.
pub(crate) fn generate_name(base: &str) -> String {
    let base: String = base.chars().take(58).collect();
    let rnd = uuid::Uuid::new_v4();
    let suffix: String = rnd
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| NAME_CHARS[(*b as usize) % NAME_CHARS.len()] as char)
        .collect();
    format!("{base}{suffix}")
}

/// Runs `f` on `metadata` (created when absent); `None` if `obj` is not an object.
fn with_meta<R>(
    obj: &mut Value,
    f: impl FnOnce(&mut serde_json::Map<String, Value>) -> R,
) -> Option<R> {
    let root = obj.as_object_mut()?;
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().map(f)
}

fn meta_str(obj: &Value, f: &str) -> String {
    crate::table::meta_str(obj, f)
}

/// Duplicate- and unknown-field handling for `fieldValidation`.
fn unknown_fields(
    duplicates: &[String],
    unknown: &[String],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let list: Vec<String> = duplicates
        .iter()
        .map(|p| format!("duplicate field {p:?}"))
        .chain(unknown.iter().map(|p| format!("unknown field {p:?}")))
        .collect();
    if list.is_empty() {
        return None;
    }
    match validation {
        FieldValidation::Ignore => None,
        FieldValidation::Warn => {
            warnings.extend(list);
            None
        }
        FieldValidation::Strict => Some(format!("strict decoding error: {}", list.join(", "))),
    }
}

/// Checks the body's apiVersion and kind against the endpoint, filling them in when
/// absent (built-in decoding defaults them; custom resources require `kind`).
pub fn check_type_meta(def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let Some(m) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            def.kind,
            json_type(obj)
        )));
    };
    let api_version = def.api_version();
    let body_av = m
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let body_kind = m
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if def.crd.is_some() && body_kind.is_empty() {
        let text = serde_json::to_string(&*m).unwrap_or_default();
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): Object 'Kind' is missing in '{text}' ({})",
            def.kind,
            crate::http::body_summary(text.as_bytes())
        )));
    }
    let kind = if body_kind.is_empty() {
        def.kind.clone()
    } else {
        body_kind.clone()
    };
    if def.crd.is_none() {
        // Typed decoding: the scheme knows the kind at the data's version, or not.
        let (av, version) = if body_av.is_empty() {
            (api_version.clone(), def.version.clone())
        } else {
            let v = body_av.rsplit('/').next().unwrap_or_default().to_string();
            (body_av.clone(), v)
        };
        if av != api_version || kind != def.kind {
            let known = registry_kinds(&av).contains(&kind.as_str());
            let why = if known {
                format!(
                    "the kind in the data ({kind}) is not the expected kind ({})",
                    def.kind
                )
            } else {
                format!(
                    "no kind {kind:?} is registered for version {av:?} in scheme \"pkg/runtime/scheme.go:110\""
                )
            };
            return Err(ApiError::bad_request(format!(
                "{kind} in version {version:?} cannot be handled as a {}: {why}",
                def.kind
            )));
        }
    } else {
        if !body_av.is_empty() && body_av != api_version {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({body_av}) does not match the expected API version ({api_version})"
            )));
        }
        if body_kind != def.kind {
            let name = m
                .get("metadata")
                .and_then(|x| x.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(ApiError::invalid(
                &def.group,
                &body_kind,
                name,
                &[FieldError::invalid(
                    "kind",
                    body_kind.as_str(),
                    format!("must be {}", def.kind),
                )],
            ));
        }
    }
    m.insert("apiVersion".into(), json!(api_version));
    m.insert("kind".into(), json!(def.kind));
    Ok(())
}

/// Kinds the built-in scheme registers at an API version (for decode errors).
fn registry_kinds(api_version: &str) -> &'static [&'static str] {
    match api_version {
        "v1" => &[
            "Namespace",
            "Pod",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "ConfigMap",
            "Secret",
            "Service",
            "ServiceAccount",
            "Event",
            "Node",
            "Endpoints",
            "LimitRange",
            "ResourceQuota",
            "ReplicationController",
            "PodTemplate",
            "Binding",
            "ComponentStatus",
        ],
        "batch/v1" => &["Job", "CronJob"],
        "storage.k8s.io/v1" => &[
            "StorageClass",
            "CSIDriver",
            "CSINode",
            "VolumeAttachment",
            "CSIStorageCapacity",
        ],
        "coordination.k8s.io/v1" => &["Lease"],
        "events.k8s.io/v1" => &["Event"],
        "apiextensions.k8s.io/v1" => &["CustomResourceDefinition"],
        _ => &[],
    }
}

/// The JSON type as Go's decoder names it in errors (`array`, `string`, ...).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a write records managed fields itself, or they were already set by
/// server-side apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fields {
    Record,
    Applied,
}

fn subresource_name(sub: Sub) -> Option<&'static str> {
    match sub {
        Sub::Main => None,
        Sub::Status => Some("status"),
        Sub::Finalize => Some("finalize"),
    }
}

fn reset_for(def: &ResourceDef, sub: Option<&str>) -> &'static [&'static str] {
    if def.crd.is_some() {
        ferry_patch::custom_resource_reset_fields(def.behaviour.has_status(), sub)
    } else {
        ferry_patch::reset_fields(&def.api_version(), &def.kind, sub)
    }
}

/// Maps a server-side apply error to the status kube-apiserver sends.
fn apply_error(e: ferry_patch::ApplyError) -> ApiError {
    let parts = e.status();
    let mut err = match parts.code {
        409 => ApiError::apply_conflict(parts.message.clone(), Vec::new()),
        400 => ApiError::bad_request(parts.message.clone()),
        _ => ApiError::internal(&parts.message).with_message(parts.message.clone()),
    };
    err.reason = parts.reason.to_string();
    for c in parts.causes {
        err = err.with_cause(c.cause_type, c.message, &c.field);
    }
    err
}

/// Carries managedFields across a write. Until server-side apply's field tracking
/// is wired in, an update that omits managedFields keeps the stored ones, and
/// managedFields a client sends are kept as sent.
fn carry_managed_fields(old: Option<&Value>, new: &mut Value) {
    let Some(old) = old else { return };
    if new.pointer("/metadata/managedFields").is_none()
        && let Some(mf) = old.pointer("/metadata/managedFields")
    {
        with_meta(new, |m| m.insert("managedFields".into(), mf.clone()));
    }
}

impl Api {
    fn decode_body(
        &self,
        def: &ResourceDef,
        body: Value,
        opts: &WriteOptions,
        warnings: &mut Vec<String>,
        strict_as_patch: bool,
    ) -> Result<Value, ApiError> {
        let decoded = def.behaviour.decode(body.clone(), &def.version)?;
        let duplicates: &[String] = if strict_as_patch {
            &[]
        } else {
            &opts.duplicate_fields
        };
        if let Some(msg) = unknown_fields(
            duplicates,
            &decoded.unknown,
            opts.field_validation,
            warnings,
        ) {
            if strict_as_patch {
                return Err(ApiError::invalid(
                    "",
                    "",
                    "",
                    &[FieldError::invalid(
                        "patch",
                        serde_json::to_string(&body).unwrap_or_default(),
                        msg,
                    )],
                ));
            }
            return Err(ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: {msg}",
                def.kind, def.version, def.kind
            )));
        }
        let mut obj = decoded.object;
        if with_meta(&mut obj, |_| ()).is_none() {
            return Err(ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: the object must be a JSON object",
                def.kind, def.version, def.kind
            )));
        }
        Ok(obj)
    }

    fn invalid(def: &ResourceDef, name: &str, errs: &[FieldError]) -> ApiError {
        ApiError::invalid(&def.group, &def.kind, name, errs)
    }

    /// Records which fields `manager` changed in `metadata.managedFields`.
    fn record_managed(
        &self,
        def: &ResourceDef,
        old: Option<&Value>,
        new: &mut Value,
        manager: &str,
        sub: Sub,
    ) {
        let Some(schema) = def.patch_schema.as_deref() else {
            carry_managed_fields(old, new);
            return;
        };
        // Fields are recorded in the shape the endpoint serves (events.k8s.io
        // events are stored in their core/v1 shape).
        if def.storage.group != def.group && def.crd.is_none() {
            let served_old = old.map(|o| self.encode_value(def, o.clone()));
            let mut served_new = self.encode_value(def, new.clone());
            let api_version = def.api_version();
            let subresource = subresource_name(sub);
            let writer = ferry_patch::Writer {
                manager,
                api_version: &api_version,
                kind: &def.kind,
                subresource,
                reset_fields: reset_for(def, subresource),
                now: jiff::Timestamp::now(),
            };
            if let Err(e) =
                ferry_patch::record_update(served_old.as_ref(), &mut served_new, schema, &writer)
            {
                tracing::warn!(error = %e, kind = %def.kind, "managedFields not recorded");
            }
            let mf = served_new.pointer("/metadata/managedFields").cloned();
            with_meta(new, |m| match mf {
                Some(v) => {
                    m.insert("managedFields".into(), v);
                }
                None => {
                    m.remove("managedFields");
                }
            });
            return;
        }
        let api_version = def.api_version();
        let subresource = subresource_name(sub);
        let writer = ferry_patch::Writer {
            manager,
            api_version: &api_version,
            kind: &def.kind,
            subresource,
            reset_fields: reset_for(def, subresource),
            now: jiff::Timestamp::now(),
        };
        if let Err(e) = ferry_patch::record_update(old, new, schema, &writer) {
            tracing::warn!(error = %e, kind = %def.kind, "managedFields not recorded");
        }
    }

    /// Server-side apply of `config` onto `live` (`None`: create).
    fn apply_config(
        &self,
        def: &ResourceDef,
        live: Option<&Value>,
        config: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let schema = def.patch_schema.as_deref().ok_or_else(|| {
            ApiError::unsupported_media_type(&[
                "application/json-patch+json",
                "application/merge-patch+json",
            ])
        })?;
        let api_version = def.api_version();
        let writer = ferry_patch::Writer {
            manager: &opts.field_manager,
            api_version: &api_version,
            kind: &def.kind,
            subresource: None,
            reset_fields: reset_for(def, None),
            now: jiff::Timestamp::now(),
        };
        ferry_patch::apply(live, config, schema, &writer, opts.force)
            .map(|a| a.object)
            .map_err(apply_error)
    }

    /// Creates an object (POST).
    pub async fn create(
        &self,
        def: &ResourceDef,
        namespace: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        self.create_with(def, namespace, body, opts, Fields::Record)
            .await
    }

    async fn create_with(
        &self,
        def: &ResourceDef,
        namespace: &str,
        mut body: Value,
        opts: &WriteOptions,
        fields: Fields,
    ) -> Result<Written, ApiError> {
        check_type_meta(def, &mut body)?;
        let mut warnings = Vec::new();
        let mut obj = self.decode_body(def, body, opts, &mut warnings, false)?;
        let shape = names::metadata_shape(obj.get("metadata").unwrap_or(&Value::Null));
        if !shape.is_empty() {
            return Err(Self::invalid(def, &meta_str(&obj, "name"), &shape));
        }
        with_meta(&mut obj, |m| -> Result<(), ApiError> {
            for f in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
                m.remove(f);
            }
            if m.get("resourceVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
                // kube-apiserver answers this one as an unclassified 500.
                return Err(ApiError::unknown_500(
                    "resourceVersion should not be set on objects to be created",
                ));
            }
            m.remove("resourceVersion");
            let obj_ns = m.get("namespace").and_then(Value::as_str).unwrap_or_default().to_string();
            if def.namespaced {
                if obj_ns.is_empty() {
                    m.insert("namespace".into(), json!(namespace));
                } else if obj_ns != namespace {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
            } else {
                m.remove("namespace");
            }
            Ok(())
        })
        .unwrap_or(Ok(()))?;
        // Defaulting happens when the body is decoded, before a name is generated
        // (so the namespace name label of a generated namespace comes later, and
        // is not in its managedFields, as with kube-apiserver).
        def.behaviour.default(&mut obj);
        let generate = meta_str(&obj, "generateName");
        let explicit_name = meta_str(&obj, "name");
        if explicit_name.is_empty() && !generate.is_empty() {
            with_meta(&mut obj, |m| {
                m.insert("name".into(), json!(generate_name(&generate)))
            });
        }
        let name = meta_str(&obj, "name");
        self.admit_namespace(def, namespace, &name)?;
        with_meta(&mut obj, |m| {
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(now()));
            if def.behaviour.tracks_generation() {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
        });
        if fields == Fields::Record {
            self.record_managed(def, None, &mut obj, &opts.field_manager, Sub::Main);
        }
        def.behaviour.admit_create(&mut obj);
        if def.storage == GroupResource::new("", "pods") {
            self.admit_service_account(namespace, &name, &mut obj)
                .await?;
        }
        if def.storage == GroupResource::new("", "persistentvolumeclaims") {
            self.admit_default_storage_class(&mut obj);
        }
        def.behaviour.prepare_for_create(&mut obj);
        let mut errs = names::validate_object_meta(&obj, def.namespaced, def.behaviour.name_rule());
        if kube_validated(def) {
            errs.extend(names::kube_finalizer_names(&obj));
        }
        errs.extend(def.behaviour.validate(&obj));
        if errs.is_empty() {
            let taken = |ip: &str| self.cluster_ip_taken(ip);
            errs.extend(def.behaviour.allocate(&mut obj, &taken));
        }
        if !errs.is_empty() {
            return Err(Self::invalid(def, &name, &errs));
        }
        warnings.extend(def.behaviour.warnings(&obj, None));
        let key = self.key(def, namespace, &name);
        if opts.dry_run {
            Store::encode(&key, &obj).map_err(|e| self.write_error(def, &name, e))?;
            return Ok(Written {
                object: self.encode_value(def, obj),
                code: 201,
                warnings,
            });
        }
        let stored = match self.store.commit(&key, None, Write::Put(obj.clone())).await {
            Ok(s) => s,
            Err(WriteError::Conflict) => {
                if explicit_name.is_empty() && !generate.is_empty() {
                    let mut e = ApiError::already_exists(&def.gr(), &name);
                    e.message = format!(
                        "{} {} already exists, the server was not able to generate a unique name for the object",
                        def.gr(),
                        crate::status::go_quote(&name)
                    );
                    e.reason = "AlreadyExists".into();
                    e.details.retry_after = Some(1);
                    return Err(e);
                }
                return Err(ApiError::already_exists(&def.gr(), &name));
            }
            Err(WriteError::TooLarge) if obj.pointer("/metadata/managedFields").is_some() => {
                // As kube-apiserver: drop managedFields (which can be large) and retry.
                if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
                self.store
                    .commit(&key, None, Write::Put(obj))
                    .await
                    .map_err(|e| match e {
                        WriteError::Conflict => ApiError::already_exists(&def.gr(), &name),
                        other => self.write_error(def, &name, other),
                    })?
            }
            Err(e) => return Err(self.write_error(def, &name, e)),
        };
        Ok(Written {
            object: self.served(def, &stored)?,
            code: 201,
            warnings,
        })
    }

    fn encode_value(&self, def: &ResourceDef, v: Value) -> Value {
        match def.behaviour.encode(&v, &def.version) {
            Some(c) => c,
            None => v,
        }
    }

    fn cluster_ip_taken(&self, ip: &str) -> bool {
        let gr = crate::status::GroupResource::new("", "services");
        let (_, all) = self.store.snapshot(&gr, None);
        all.iter().any(|(_, o)| {
            o.value()
                .ok()
                .is_some_and(|v| v.pointer("/spec/clusterIP").and_then(Value::as_str) == Some(ip))
        })
    }

    /// Replaces an object (PUT), on the main resource or a subresource.
    pub async fn update(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        mut body: Value,
        sub: Sub,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        check_type_meta(def, &mut body)?;
        let mut warnings = Vec::new();
        let obj = self.decode_body(def, body, opts, &mut warnings, false)?;
        let obj_name = meta_str(&obj, "name");
        if obj_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({obj_name}) does not match the name on the URL ({name})"
            )));
        }
        let obj_ns = meta_str(&obj, "namespace");
        if def.namespaced && !obj_ns.is_empty() && obj_ns != namespace {
            return Err(ApiError::bad_request(format!(
                "the namespace of the object ({obj_ns}) does not match the namespace on the request ({namespace})"
            )));
        }
        let requested_rv = rv_of(&obj)?;
        let key = self.key(def, namespace, name);
        // A uid in the body is a precondition (kube-apiserver's etcd storage
        // refuses the write with its StorageError).
        let body_uid = meta_str(&obj, "uid");
        if let Some(current) = self.store.latest(&key)
            && !body_uid.is_empty()
            && body_uid != current.meta.uid
        {
            return Err(ApiError::conflict(
                &def.gr(),
                name,
                &format!(
                    "StorageError: invalid object, Code: 4, Key: {}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {body_uid}, UID in object meta: {}",
                    etcd_key(def, namespace, name),
                    current.meta.uid
                ),
            ));
        }
        if self.store.latest(&key).is_none()
            && sub == Sub::Main
            && def.behaviour.allow_create_on_update()
        {
            let mut body = obj.clone();
            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            return self.create(def, namespace, body, opts).await;
        }
        self.guaranteed_update(
            def,
            namespace,
            name,
            sub,
            opts,
            warnings,
            requested_rv,
            Fields::Record,
            |_old| Ok(obj.clone()),
        )
        .await
    }

    /// Applies a patch (PATCH).
    pub async fn patch(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        patch: Patch,
        sub: Sub,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let key = self.key(def, namespace, name);
        if self.store.latest(&key).is_none() {
            if patch.kind == PatchKind::Apply && sub == Sub::Main {
                return self.apply_create(def, namespace, name, &patch, opts).await;
            }
            return Err(ApiError::not_found(&def.gr(), name));
        }
        check_patch_shape(&patch)?;
        let requested_rv = match &patch.body {
            Value::Object(_) => rv_of(&patch.body)?,
            _ => None,
        };
        let strategic = if patch.kind == PatchKind::Strategic {
            Some(
                ferry_patch::Schema::builtin(&def.api_version(), &def.kind).ok_or_else(|| {
                    ApiError::unsupported_media_type(&[
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/apply-patch+yaml",
                    ])
                })?,
            )
        } else {
            None
        };
        if patch.kind == PatchKind::Apply {
            let config = patch.body.clone();
            return self
                .guaranteed_update(
                    def,
                    namespace,
                    name,
                    sub,
                    opts,
                    Vec::new(),
                    None,
                    Fields::Applied,
                    |old| self.apply_config(def, Some(old), &config, opts),
                )
                .await;
        }
        let last_patched: std::sync::Mutex<Option<Value>> = std::sync::Mutex::new(None);
        self.guaranteed_update(
            def,
            namespace,
            name,
            sub,
            opts,
            Vec::new(),
            requested_rv,
            Fields::Record,
            |old| {
                let current = old.clone();
                let patched = match patch.kind {
                    PatchKind::Merge => {
                        let mut t = current;
                        ferry_patch::merge_patch(&mut t, &patch.body).map_err(patch_error)?;
                        t
                    }
                    PatchKind::Json => {
                        ferry_patch::json_patch(&current, &patch.body).map_err(patch_error)?
                    }
                    PatchKind::Strategic | PatchKind::Apply => match &strategic {
                        Some(s) => ferry_patch::strategic_merge_patch(&current, &patch.body, s)
                            .map_err(patch_error)?,
                        None => {
                            return Err(ApiError::internal(
                                "strategic merge patch without type information",
                            ));
                        }
                    },
                };
                if let Ok(mut last) = last_patched.lock() {
                    *last = Some(patched.clone());
                }
                Ok(patched)
            },
        )
        .await
        .map_err(|e| {
            // A patch whose result does not decode is the patch's fault:
            // kube-apiserver answers 422 with the patched document as the value.
            if e.code == 400 && e.message.contains(" cannot be handled as a ") {
                let shown = last_patched
                    .lock()
                    .ok()
                    .and_then(|l| l.as_ref().map(Value::to_string))
                    .unwrap_or_default();
                let detail = e
                    .message
                    .split_once(" cannot be handled as a ")
                    .and_then(|(_, rest)| rest.split_once(": "))
                    .map(|(_, d)| d.to_string())
                    .unwrap_or_else(|| e.message.clone());
                return ApiError::invalid(
                    "",
                    "",
                    "",
                    &[FieldError::invalid("patch", shown, detail)],
                );
            }
            e
        })
    }

    /// Read-modify-write of an object by in-process controllers: `f` edits the
    /// current object (as served by `def`) and may run several times on races.
    pub async fn modify<F>(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        sub: Sub,
        opts: &WriteOptions,
        mut f: F,
    ) -> Result<Written, ApiError>
    where
        F: FnMut(&mut Value),
    {
        self.guaranteed_update(
            def,
            namespace,
            name,
            sub,
            opts,
            Vec::new(),
            None,
            Fields::Record,
            |old| {
                let mut n = old.clone();
                f(&mut n);
                Ok(n)
            },
        )
        .await
    }

    /// Server-side apply of an object that does not exist yet: it is created.
    async fn apply_create(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        patch: &Patch,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if let Some(crd) = &def.crd {
            let _ = crd;
            crate::crd::check_not_terminating(self, def, "create")?;
        }
        let mut obj = self.apply_config(def, None, &patch.body, opts)?;
        let body_name = meta_str(&obj, "name");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        self.create_with(def, namespace, obj, opts, Fields::Applied)
            .await
    }

    /// The read-modify-write loop shared by update and patch. `make` builds the
    /// requested object from the current one (as served); it may run several times.
    #[allow(clippy::too_many_arguments)]
    async fn guaranteed_update<F>(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        sub: Sub,
        opts: &WriteOptions,
        warnings: Vec<String>,
        requested_rv: Option<u64>,
        fields: Fields,
        mut make: F,
    ) -> Result<Written, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError>,
    {
        let key = self.key(def, namespace, name);
        for _ in 0..64 {
            let mut warnings = warnings.clone();
            let Some(current) = self.store.latest(&key) else {
                return Err(ApiError::not_found(&def.gr(), name));
            };
            let stored_old = current.value().map_err(ApiError::internal)?;
            let old = self.encode_value(def, stored_old.clone());
            let requested = make(&old)?;
            let mut new = if requested.get("apiVersion") == old.get("apiVersion")
                && requested.get("kind") == old.get("kind")
                && def.crd.is_none()
                && def.storage.group == def.group
            {
                // Patches produce served JSON; decode it like a request body.
                let mut r = requested;
                check_type_meta(def, &mut r)?;
                self.decode_body(def, r, opts, &mut warnings, true)?
            } else {
                let mut r = requested;
                check_type_meta(def, &mut r)?;
                self.decode_body(def, r, opts, &mut warnings, true)?
            };
            let new_name = meta_str(&new, "name");
            if new_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({new_name}) does not match the name on the URL ({name})"
                )));
            }
            // Optimistic concurrency.
            let rv = rv_of(&new)?;
            match rv {
                None if !def.behaviour.allow_unconditional_update() && sub == Sub::Main => {
                    let mut e = FieldError::invalid(
                        "metadata.resourceVersion",
                        0,
                        "must be specified for an update",
                    );
                    e.rendered = Some("Invalid value: 0x0: must be specified for an update".into());
                    return Err(ApiError::invalid(&def.group, &def.plural, name, &[e]));
                }
                Some(r) if r != current.rv => {
                    return Err(ApiError::conflict_modified(&def.gr(), name));
                }
                _ => {}
            }
            let _ = requested_rv;
            def.behaviour.default(&mut new);
            // BeforeUpdate: system fields come from the stored object.
            let old_meta = stored_old.get("metadata").cloned().unwrap_or(json!({}));
            with_meta(&mut new, |m| {
                if def.namespaced {
                    m.insert("namespace".into(), json!(namespace));
                } else {
                    m.remove("namespace");
                }
                match old_meta.get("generation") {
                    Some(g) => {
                        m.insert("generation".into(), g.clone());
                    }
                    None => {
                        m.remove("generation");
                    }
                }
                if m.get("uid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .is_empty()
                    && let Some(u) = old_meta.get("uid")
                {
                    m.insert("uid".into(), u.clone());
                }
                if let Some(c) = old_meta.get("creationTimestamp") {
                    m.insert("creationTimestamp".into(), c.clone());
                }
                if let Some(d) = old_meta.get("deletionTimestamp") {
                    m.insert("deletionTimestamp".into(), d.clone());
                } else {
                    m.remove("deletionTimestamp");
                }
                if m.get("deletionGracePeriodSeconds").is_none()
                    && let Some(g) = old_meta.get("deletionGracePeriodSeconds")
                {
                    m.insert("deletionGracePeriodSeconds".into(), g.clone());
                }
                m.insert("resourceVersion".into(), json!(current.rv.to_string()));
            });
            if fields == Fields::Record {
                self.record_managed(def, Some(&stored_old), &mut new, &opts.field_manager, sub);
            }
            match sub {
                Sub::Main => {
                    if def.behaviour.has_status() || def.crd.is_none() {
                        def.behaviour.prepare_for_update(&mut new, &stored_old);
                    }
                    if def.behaviour.tracks_generation()
                        && def.behaviour.spec_changed(&new, &stored_old)
                    {
                        let g = stored_old
                            .pointer("/metadata/generation")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                        with_meta(&mut new, |m| m.insert("generation".into(), json!(g + 1)));
                    }
                }
                Sub::Status => def
                    .behaviour
                    .prepare_for_status_update(&mut new, &stored_old),
                Sub::Finalize => {
                    let finalizers = new.pointer("/spec/finalizers").cloned();
                    let mut merged = stored_old.clone();
                    crate::builtin::set_path(
                        &mut merged,
                        &["spec", "finalizers"],
                        finalizers.unwrap_or(json!([])),
                    );
                    if let Some(mf) = new.pointer("/metadata/managedFields").cloned() {
                        with_meta(&mut merged, |m| m.insert("managedFields".into(), mf));
                    }
                    new = merged;
                }
            }
            let mut errs = names::validate_object_meta_update(&new, &stored_old);
            if errs.is_empty() {
                errs.extend(names::validate_object_meta(
                    &new,
                    def.namespaced,
                    def.behaviour.name_rule(),
                ));
                if kube_validated(def) {
                    errs.extend(names::kube_finalizer_names(&new));
                }
            }
            let mut schema_errs = def.behaviour.validate_update(&new, &stored_old);
            if sub == Sub::Status && def.crd.is_some() {
                // apiextensions validates a status update against the status
                // schema alone: its "in body" names are relative to `status`.
                for e in &mut schema_errs {
                    if let Some(r) = &mut e.rendered
                        && let Some(rest) = e.field.strip_prefix("status.")
                    {
                        *r = r.replace(&format!("{} in body", e.field), &format!("{rest} in body"));
                    }
                }
            }
            errs.extend(schema_errs);
            if !errs.is_empty() {
                return Err(Self::invalid(def, name, &errs));
            }
            warnings.extend(def.behaviour.warnings(&new, Some(&stored_old)));
            // No-op writes change nothing, not even the resourceVersion.
            if new == stored_old {
                return Ok(Written {
                    object: self.served(def, &current)?,
                    code: 200,
                    warnings,
                });
            }
            // An update that removes the last finalizer of a deleted object deletes it.
            let no_finalizers = new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty());
            let deleting = stored_old.pointer("/metadata/deletionTimestamp").is_some();
            let grace = stored_old
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if no_finalizers && deleting && grace == 0 && def.behaviour.delete_during_update(&new) {
                if opts.dry_run {
                    return Ok(Written {
                        object: self.encode_value(def, new),
                        code: 200,
                        warnings,
                    });
                }
                match self
                    .store
                    .commit(&key, Some(current.rv), Write::Delete(new.clone()))
                    .await
                {
                    Ok(_) => {
                        return Ok(Written {
                            object: self.encode_value(def, new),
                            code: 200,
                            warnings,
                        });
                    }
                    Err(WriteError::Conflict) => continue,
                    Err(e) => return Err(self.write_error(def, name, e)),
                }
            }
            if opts.dry_run {
                Store::encode(&key, &new).map_err(|e| self.write_error(def, name, e))?;
                return Ok(Written {
                    object: self.encode_value(def, new),
                    code: 200,
                    warnings,
                });
            }
            match self
                .store
                .commit(&key, Some(current.rv), Write::Put(new.clone()))
                .await
            {
                Ok(stored) => {
                    return Ok(Written {
                        object: self.served(def, &stored)?,
                        code: 200,
                        warnings,
                    });
                }
                Err(WriteError::Conflict) => continue,
                Err(WriteError::TooLarge) if new.pointer("/metadata/managedFields").is_some() => {
                    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove("managedFields");
                    }
                    match self
                        .store
                        .commit(&key, Some(current.rv), Write::Put(new))
                        .await
                    {
                        Ok(stored) => {
                            return Ok(Written {
                                object: self.served(def, &stored)?,
                                code: 200,
                                warnings,
                            });
                        }
                        Err(WriteError::Conflict) => continue,
                        Err(e) => return Err(self.write_error(def, name, e)),
                    }
                }
                Err(e) => return Err(self.write_error(def, name, e)),
            }
        }
        Err(ApiError::conflict_modified(&def.gr(), name))
    }
}

/// Whether the kind is validated by Kubernetes' own (`pkg/apis/...`) validation,
/// which adds rules to the generic metadata checks: every built-in kind but the
/// API extension types.
fn kube_validated(def: &ResourceDef) -> bool {
    def.crd.is_none() && def.storage.group != "apiextensions.k8s.io"
}

/// The key kube-apiserver would store the object under in etcd (it shows in some
/// storage errors): `/registry/<resource>/<namespace>/<name>` for built-in kinds,
/// with the group for custom resources and the API extension types, and
/// `services/specs` for services.
fn etcd_key(def: &ResourceDef, namespace: &str, name: &str) -> String {
    let resource = match (def.storage.group.as_str(), def.storage.resource.as_str()) {
        ("", "services") => "services/specs".to_string(),
        (_, r) if def.crd.is_some() || def.storage.group == "apiextensions.k8s.io" => {
            format!("{}/{r}", def.storage.group)
        }
        (_, r) => r.to_string(),
    };
    if def.namespaced {
        format!("/registry/{resource}/{namespace}/{name}")
    } else {
        format!("/registry/{resource}/{name}")
    }
}

/// Refuses a patch document of the wrong JSON shape as kube-apiserver's decoder
/// does: merge and strategic patches are objects, JSON patches arrays (`null` is an
/// empty patch to Go).
fn check_patch_shape(patch: &Patch) -> Result<(), ApiError> {
    let go_type = match patch.kind {
        PatchKind::Merge | PatchKind::Strategic => "map[string]interface {}",
        PatchKind::Json => "[]handlers.jsonPatchOp",
        PatchKind::Apply => return Ok(()),
    };
    let found = match (&patch.body, patch.kind) {
        (Value::Null, _) => return Ok(()),
        (Value::Object(_), PatchKind::Merge | PatchKind::Strategic) => return Ok(()),
        (Value::Array(_), PatchKind::Json) => return Ok(()),
        (Value::Object(_), _) => "object",
        (Value::Array(_), _) => "array",
        (Value::String(_), _) => "string",
        (Value::Number(_), _) => "number",
        (Value::Bool(_), _) => "bool",
    };
    Err(ApiError::bad_request(format!(
        "error decoding patch: json: cannot unmarshal {found} into Go value of type {go_type}"
    )))
}

/// Maps a patch engine error to the status kube-apiserver sends.
pub fn patch_error(e: ferry_patch::PatchError) -> ApiError {
    let parts = e.status();
    let mut err = match parts.code {
        400 => ApiError::bad_request(parts.message.clone()),
        413 => {
            let mut x = ApiError::too_large("");
            x.message = parts.message.clone();
            x
        }
        415 => {
            let mut x = ApiError::unsupported_media_type(&[]);
            x.message = parts.message.clone();
            x
        }
        422 => {
            let mut x = ApiError::invalid("", "", "", &[]);
            x.message = parts.message.clone();
            x
        }
        // Errors kube-apiserver does not classify: a bare 500, no details.
        _ => ApiError::unknown_500(parts.message.clone()),
    };
    err.reason = parts.reason.to_string();
    for c in parts.causes {
        err = err.with_cause(c.cause_type, c.message, &c.field);
    }
    err
}
