//! Delete and deletecollection: preconditions, graceful deletion, finalizers and the
//! `orphan` / `foregroundDeletion` finalizers the garbage collector acts on, as
//! kube-apiserver's generic registry (`Store.Delete`) does, plus the special first
//! step of deleting a namespace or a CRD.

use super::{Api, ListOptions, now};
use crate::crd::CLEANUP_FINALIZER;
use crate::resource::{GcPolicy, ResourceDef};
use crate::status::{ApiError, FieldError, GroupResource, success_status};
use crate::store::{Write, WriteError};
use serde_json::{Value, json};

/// `propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Leave dependents, removing their owner references.
    Orphan,
    /// Delete the owner now, dependents afterwards.
    Background,
    /// Delete dependents first (those with `blockOwnerDeletion`), then the owner.
    Foreground,
}

impl Propagation {
    /// Parses `propagationPolicy`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "Orphan" => Ok(Self::Orphan),
            "Background" => Ok(Self::Background),
            "Foreground" => Ok(Self::Foreground),
            other => Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[FieldError::not_supported(
                    "propagationPolicy",
                    other,
                    &["Foreground", "Background", "Orphan", "nil"],
                )],
            )),
        }
    }
}

/// A delete request's options (`DeleteOptions`).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `propagationPolicy`.
    pub propagation: Option<Propagation>,
    /// The deprecated `orphanDependents`.
    pub orphan_dependents: Option<bool>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_rv: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// `ValidateDeleteOptions`.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.orphan_dependents.is_some() && self.propagation.is_some() {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[FieldError::invalid(
                    "propagationPolicy",
                    format!("{:?}", self.propagation)
                        .trim_start_matches("Some(")
                        .trim_end_matches(')')
                        .to_string(),
                    "orphanDependents and deletionPropagation cannot be both set",
                )],
            ));
        }
        Ok(())
    }

    /// Parses a `DeleteOptions` body (JSON), as kubectl and client libraries send it.
    pub fn from_body(v: &Value) -> Result<Self, ApiError> {
        let mut o = Self::default();
        if let Some(k) = v.get("kind").and_then(Value::as_str)
            && k != "DeleteOptions"
        {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type DeleteOptions): kind {k:?} is not DeleteOptions"
            )));
        }
        if let Some(g) = v.get("gracePeriodSeconds").filter(|g| !g.is_null()) {
            o.grace_period =
                Some(g.as_i64().ok_or_else(|| {
                    ApiError::bad_request("gracePeriodSeconds must be an integer")
                })?);
        }
        if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
            o.propagation = Some(Propagation::parse(p)?);
        }
        if let Some(b) = v.get("orphanDependents").and_then(Value::as_bool) {
            o.orphan_dependents = Some(b);
        }
        if let Some(p) = v.get("preconditions") {
            o.precondition_uid = p.get("uid").and_then(Value::as_str).map(String::from);
            o.precondition_rv = p
                .get("resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
        }
        if let Some(d) = v.get("dryRun").and_then(Value::as_array) {
            let values: Vec<&str> = d.iter().map(|x| x.as_str().unwrap_or_default()).collect();
            match crate::http::dry_run_options(&values) {
                Ok(dry) => o.dry_run |= dry,
                Err(e) => {
                    return Err(ApiError::invalid("meta.k8s.io", "DeleteOptions", "", &[e]));
                }
            }
        }
        Ok(o)
    }
}

/// The result of a delete.
#[derive(Debug)]
pub struct Deleted {
    /// The response body (the object, or a `Status`).
    pub body: Value,
    /// 200 (or 202).
    pub code: u16,
    /// `Warning` headers.
    pub warnings: Vec<String>,
    /// Whether the object is gone (not just marked for deletion).
    pub gone: bool,
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn set_meta(obj: &mut Value, key: &str, v: Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert(key.into(), v);
    }
}

/// Whether dependents should be orphaned (`shouldOrphanDependents`).
fn should_orphan(policy: GcPolicy, opts: &DeleteOptions, fin: &[String]) -> bool {
    if let Some(o) = opts.orphan_dependents {
        return o;
    }
    match opts.propagation {
        Some(Propagation::Orphan) => return true,
        Some(_) => return false,
        None => {}
    }
    for f in fin {
        match f.as_str() {
            "orphan" => return true,
            "foregroundDeletion" => return false,
            _ => {}
        }
    }
    policy == GcPolicy::OrphanDependents
}

/// Whether dependents should be deleted first (`shouldDeleteDependents`).
fn should_foreground(opts: &DeleteOptions, fin: &[String]) -> bool {
    if opts.orphan_dependents.is_some() {
        return false;
    }
    match opts.propagation {
        Some(Propagation::Foreground) => return true,
        Some(_) => return false,
        None => {}
    }
    for f in fin {
        match f.as_str() {
            "foregroundDeletion" => return true,
            "orphan" => return false,
            _ => {}
        }
    }
    false
}

/// `deletionFinalizersForGarbageCollection`: (changed, new finalizers).
fn gc_finalizers(policy: GcPolicy, opts: &DeleteOptions, fin: &[String]) -> (bool, Vec<String>) {
    let orphan = should_orphan(policy, opts, fin);
    let foreground = should_foreground(opts, fin);
    let mut out: Vec<String> = fin
        .iter()
        .filter(|f| *f != "orphan" && *f != "foregroundDeletion")
        .cloned()
        .collect();
    if orphan {
        out.push("orphan".into());
    }
    if foreground {
        out.push("foregroundDeletion".into());
    }
    let mut a: Vec<&String> = fin.iter().collect();
    let mut b: Vec<&String> = out.iter().collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    (a != b, out)
}

/// The namespaces kube-apiserver's NamespaceLifecycle admission never lets go.
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

impl Api {
    fn delete_response(&self, def: &ResourceDef, obj: &Value, gone: bool) -> Value {
        if gone && !def.behaviour.returns_deleted_object() {
            let name = crate::table::meta_str(obj, "name");
            let uid = crate::table::meta_str(obj, "uid");
            return success_status(&def.gr(), &def.plural, &name, &uid);
        }
        def.behaviour
            .encode(obj, &def.version)
            .unwrap_or_else(|| obj.clone())
    }

    /// Deletes an object.
    pub async fn delete(
        &self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        opts.validate()?;
        let key = self.key(def, namespace, name);
        let mut warnings = Vec::new();
        if opts.propagation.is_none()
            && opts.orphan_dependents.is_none()
            && let Some(w) = def.behaviour.default_gc_warning(&def.version)
        {
            warnings.push(w.to_string());
        }
        if def.storage == super::namespaces_gr() && IMMORTAL_NAMESPACES.contains(&name) {
            // The NamespaceLifecycle admission plugin.
            return Err(ApiError::forbidden(
                &def.gr(),
                name,
                "this namespace may not be deleted",
            ));
        }
        let policy = def.behaviour.default_gc_policy(&def.version);
        let kind_gr = GroupResource::new(&def.group, &def.kind);
        for _ in 0..64 {
            let Some(current) = self.store.latest(&key) else {
                return Err(ApiError::not_found(&def.gr(), name));
            };
            let mut obj = current.value().map_err(ApiError::internal)?;
            if let Some(uid) = &opts.precondition_uid
                && *uid != current.meta.uid
            {
                return Err(ApiError::conflict(
                    &kind_gr,
                    name,
                    &format!(
                        "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                        current.meta.uid
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_rv
                && *rv != current.rv.to_string()
            {
                return Err(ApiError::conflict(
                    &kind_gr,
                    name,
                    &format!(
                        "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                        current.rv
                    ),
                ));
            }
            let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
            // Namespaces: the first delete only starts termination.
            if def.storage == super::namespaces_gr() {
                if !deleting {
                    set_meta(&mut obj, "deletionTimestamp", json!(now()));
                    crate::builtin::set_path(&mut obj, &["status", "phase"], json!("Terminating"));
                    if opts.orphan_dependents == Some(false) {
                        let f: Vec<String> = finalizers(&obj)
                            .into_iter()
                            .filter(|f| f != "orphan")
                            .collect();
                        set_meta(&mut obj, "finalizers", json!(f));
                    }
                    if opts.dry_run {
                        return Ok(Deleted {
                            body: self.delete_response(def, &obj, false),
                            code: 200,
                            warnings,
                            gone: false,
                        });
                    }
                    match self
                        .store
                        .commit(&key, Some(current.rv), Write::Put(obj.clone()))
                        .await
                    {
                        Ok(stored) => {
                            let v = self.served(def, &stored)?;
                            return Ok(Deleted {
                                body: v,
                                code: 200,
                                warnings,
                                gone: false,
                            });
                        }
                        Err(WriteError::Conflict) => continue,
                        Err(e) => return Err(self.write_error(def, name, e)),
                    }
                }
                let spec_f = obj
                    .pointer("/spec/finalizers")
                    .and_then(Value::as_array)
                    .map(Vec::len)
                    .unwrap_or(0);
                if spec_f > 0 {
                    // Still terminating: kube-apiserver answers with the namespace.
                    return Ok(Deleted {
                        body: self.delete_response(def, &obj, false),
                        code: 200,
                        warnings,
                        gone: false,
                    });
                }
            }
            // CRDs: the first delete marks it and lets the CRD controller clean up.
            if def.storage == crate::crd::crd_gr() && !deleting {
                set_meta(&mut obj, "deletionTimestamp", json!(now()));
                let mut f = finalizers(&obj);
                if !f.iter().any(|x| x == CLEANUP_FINALIZER) {
                    f.push(CLEANUP_FINALIZER.into());
                }
                set_meta(&mut obj, "finalizers", json!(f));
                crate::crd::set_condition(
                    &mut obj,
                    "Terminating",
                    "True",
                    "InstanceDeletionPending",
                    "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
                );
                if opts.dry_run {
                    return Ok(Deleted {
                        body: obj,
                        code: 200,
                        warnings,
                        gone: false,
                    });
                }
                match self
                    .store
                    .commit(&key, Some(current.rv), Write::Put(obj))
                    .await
                {
                    Ok(stored) => {
                        let v = self.served(def, &stored)?;
                        return Ok(Deleted {
                            body: v,
                            code: 200,
                            warnings,
                            gone: false,
                        });
                    }
                    Err(WriteError::Conflict) => continue,
                    Err(e) => return Err(self.write_error(def, name, e)),
                }
            }
            // Graceful deletion (pods).
            let mut graceful = false;
            let mut pending_graceful = false;
            // A pod deleted with no grace period: kube-apiserver records the
            // deletion first (deletionTimestamp now, grace 0, generation + 1), then
            // removes it: watchers see MODIFIED then DELETED, and the answer is the
            // object as last recorded.
            let mut graceless = false;
            if let Some(mut period) = def
                .behaviour
                .grace_period(&obj, opts.grace_period.map(|g| if g < 0 { 1 } else { g }))
            {
                if deleting {
                    let old_grace = obj
                        .pointer("/metadata/deletionGracePeriodSeconds")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    if old_grace > 0 {
                        match opts.grace_period {
                            Some(_) if period >= old_grace => pending_graceful = true,
                            Some(_) => {
                                let old_ts = obj
                                    .pointer("/metadata/deletionTimestamp")
                                    .and_then(Value::as_str)
                                    .and_then(crate::table::parse_time)
                                    .map(|t| t.as_second())
                                    .unwrap_or(0);
                                let mut ts = old_ts - old_grace + period;
                                let now_s = jiff::Timestamp::now().as_second();
                                if ts < now_s {
                                    ts = now_s;
                                    if period != 0 {
                                        period = 1;
                                    }
                                }
                                let ts = jiff::Timestamp::from_second(ts)
                                    .unwrap_or_else(|_| jiff::Timestamp::now());
                                set_meta(
                                    &mut obj,
                                    "deletionTimestamp",
                                    json!(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                                );
                                set_meta(&mut obj, "deletionGracePeriodSeconds", json!(period));
                                // A shortened grace period of 0 deletes at once.
                                graceful = period > 0;
                            }
                            None => pending_graceful = true,
                        }
                    }
                } else if period > 0 {
                    let ts = jiff::Timestamp::now().as_second() + period;
                    let ts =
                        jiff::Timestamp::from_second(ts).unwrap_or_else(|_| jiff::Timestamp::now());
                    set_meta(
                        &mut obj,
                        "deletionTimestamp",
                        json!(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                    );
                    set_meta(&mut obj, "deletionGracePeriodSeconds", json!(period));
                    if let Some(g) = obj
                        .pointer("/metadata/generation")
                        .and_then(Value::as_i64)
                        .filter(|g| *g > 0)
                    {
                        set_meta(&mut obj, "generation", json!(g + 1));
                    }
                    graceful = true;
                } else {
                    graceless = true;
                }
            }
            if pending_graceful {
                let original = current.value().map_err(ApiError::internal)?;
                return Ok(Deleted {
                    body: self.delete_response(def, &original, false),
                    code: 200,
                    warnings,
                    gone: false,
                });
            }
            let fin = finalizers(&obj);
            let (changed, new_fin) = gc_finalizers(policy, opts, &fin);
            let pending_finalizers = !new_fin.is_empty();
            if graceful || pending_finalizers || changed {
                if changed {
                    set_meta(&mut obj, "finalizers", json!(new_fin));
                }
                if !graceful {
                    if pending_finalizers {
                        // markAsDeleting
                        if !deleting
                            && let Some(g) = obj
                                .pointer("/metadata/generation")
                                .and_then(Value::as_i64)
                                .filter(|g| *g > 0)
                        {
                            set_meta(&mut obj, "generation", json!(g + 1));
                        }
                        if !deleting {
                            set_meta(&mut obj, "deletionTimestamp", json!(now()));
                        }
                        set_meta(&mut obj, "deletionGracePeriodSeconds", json!(0));
                    } else {
                        return self
                            .delete_now(def, &key, name, current.rv, obj, opts, warnings)
                            .await
                            .map_or_else(
                                |e| match e {
                                    None => Err(ApiError::conflict_modified(&def.gr(), name)),
                                    Some(e) => Err(e),
                                },
                                Ok,
                            );
                    }
                }
                if opts.dry_run {
                    return Ok(Deleted {
                        body: self.delete_response(def, &obj, false),
                        code: 200,
                        warnings,
                        gone: false,
                    });
                }
                match self
                    .store
                    .commit(&key, Some(current.rv), Write::Put(obj))
                    .await
                {
                    Ok(stored) => {
                        let v = self.served(def, &stored)?;
                        let code = if opts.orphan_dependents == Some(false) {
                            202
                        } else {
                            200
                        };
                        return Ok(Deleted {
                            body: v,
                            code,
                            warnings,
                            gone: false,
                        });
                    }
                    Err(WriteError::Conflict) => continue,
                    Err(e) => return Err(self.write_error(def, name, e)),
                }
            }
            let mut rv = current.rv;
            if graceless && !deleting {
                set_meta(&mut obj, "deletionTimestamp", json!(now()));
                set_meta(&mut obj, "deletionGracePeriodSeconds", json!(0));
                if let Some(g) = obj
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .filter(|g| *g > 0)
                {
                    set_meta(&mut obj, "generation", json!(g + 1));
                }
                if !opts.dry_run {
                    match self
                        .store
                        .commit(&key, Some(rv), Write::Put(obj.clone()))
                        .await
                    {
                        Ok(stored) => {
                            rv = stored.rv;
                            obj = stored.value().map_err(ApiError::internal)?;
                        }
                        Err(WriteError::Conflict) => continue,
                        Err(e) => return Err(self.write_error(def, name, e)),
                    }
                }
            }
            match self
                .delete_now(def, &key, name, rv, obj, opts, warnings.clone())
                .await
            {
                Ok(d) => return Ok(d),
                Err(None) => continue,
                Err(Some(e)) => return Err(e),
            }
        }
        Err(ApiError::conflict_modified(&def.gr(), name))
    }

    /// Removes the object now; `Err(None)` means it changed meanwhile (retry).
    #[allow(clippy::too_many_arguments)]
    async fn delete_now(
        &self,
        def: &ResourceDef,
        key: &crate::store::ObjectKey,
        name: &str,
        rv: u64,
        obj: Value,
        opts: &DeleteOptions,
        warnings: Vec<String>,
    ) -> Result<Deleted, Option<ApiError>> {
        if opts.dry_run {
            return Ok(Deleted {
                body: self.delete_response(def, &obj, true),
                code: 200,
                warnings,
                gone: true,
            });
        }
        match self.store.commit(key, Some(rv), Write::Delete(obj)).await {
            Ok(stored) => {
                let v = stored.value().map_err(|e| Some(ApiError::internal(e)))?;
                Ok(Deleted {
                    body: self.delete_response(def, &v, true),
                    code: 200,
                    warnings,
                    gone: true,
                })
            }
            Err(WriteError::Conflict) => Err(None),
            Err(e) => Err(Some(self.write_error(def, name, e))),
        }
    }

    /// Deletes every object matching the list options; answers the list of what
    /// matched.
    pub async fn delete_collection(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<(Value, Vec<String>), ApiError> {
        opts.validate()?;
        let listed = self.list(def, namespace, list).await?;
        let mut items = Vec::new();
        let mut warnings = Vec::new();
        for obj in &listed.items {
            let v = self.served(def, obj)?;
            let ns = crate::table::meta_str(&v, "namespace");
            let name = crate::table::meta_str(&v, "name");
            match self.delete(def, &ns, &name, opts).await {
                Ok(d) => {
                    for w in d.warnings {
                        if !warnings.contains(&w) {
                            warnings.push(w);
                        }
                    }
                }
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
            let mut v = v;
            if def.crd.is_none() {
                crate::http::respond::strip_item_type_meta(&mut v);
            }
            items.push(v);
        }
        Ok((
            json!({
                "kind": format!("{}List", def.kind),
                "apiVersion": def.api_version(),
                "metadata": {"resourceVersion": listed.rv.to_string()},
                "items": items,
            }),
            warnings,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_finalizers_follow_the_policy() {
        let fg = DeleteOptions {
            propagation: Some(Propagation::Foreground),
            ..Default::default()
        };
        assert_eq!(
            gc_finalizers(GcPolicy::DeleteDependents, &fg, &[]),
            (true, vec!["foregroundDeletion".to_string()])
        );
        let none = DeleteOptions::default();
        assert_eq!(
            gc_finalizers(GcPolicy::OrphanDependents, &none, &[]),
            (true, vec!["orphan".to_string()])
        );
        assert_eq!(
            gc_finalizers(GcPolicy::DeleteDependents, &none, &["a/b".into()]),
            (false, vec!["a/b".to_string()])
        );
        let bg = DeleteOptions {
            propagation: Some(Propagation::Background),
            ..Default::default()
        };
        assert_eq!(
            gc_finalizers(GcPolicy::DeleteDependents, &bg, &["orphan".into()]),
            (true, vec![])
        );
    }
}
