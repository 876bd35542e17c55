//! Kubernetes patch semantics, as kube-apiserver v1.33 implements them, for an embedded
//! API server: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge
//! patch, and server-side apply with `metadata.managedFields`. A pure library: no I/O.
//!
//! # Which function for which request
//!
//! | request | call |
//! |---|---|
//! | `PATCH` `application/merge-patch+json` | [`merge_patch`], then [`record_update`] |
//! | `PATCH` `application/json-patch+json` | [`json_patch`], then [`record_update`] |
//! | `PATCH` `application/strategic-merge-patch+json` | [`strategic_merge_patch`], then [`record_update`] |
//! | `PATCH` `application/apply-patch+yaml` (create or update) | [`apply`] |
//! | `POST` (create), `PUT` (update), also on `/status` | [`record_update`] |
//!
//! Every error converts to the `metav1.Status` kube-apiserver would send with
//! [`PatchError::status`] / [`ApplyError::status`] (code, reason, message, causes).
//!
//! # Type information
//!
//! Strategic merge patch and apply need the kind's schema ([`TypeInfo`]):
//! - built-in kinds: [`Schema::builtin`]`(api_version, kind)` (Pods, Services, Jobs,
//!   PVCs, CRDs, ... see [`Schema::builtin_kinds`]), from Kubernetes v1.33's OpenAPI;
//! - custom resources: [`Schema::for_custom_resource`] with the CRD version's
//!   `openAPIV3Schema`. Lists are atomic unless `x-kubernetes-list-type` says
//!   otherwise; `metadata` is the built-in `ObjectMeta`. Such a schema refuses strategic
//!   merge patch with [`PatchError::StrategicMergeUnsupported`] (415), like the real
//!   server; check [`TypeInfo::supports_strategic_merge`] before reading the body.
//!
//! Build a schema once per kind (or CRD version) and reuse it; it is `Send + Sync`.
//!
//! # Managed fields
//!
//! [`Writer`] says who writes (`manager`: the `fieldManager` parameter, else
//! [`manager_from_user_agent`]), to which endpoint (`api_version`, `kind`,
//! `subresource`), which fields that endpoint resets ([`reset_fields`],
//! [`custom_resource_reset_fields`]) and when (`now`).
//!
//! ```
//! use ferry_patch::{Schema, Writer, apply, record_update, reset_fields};
//! use serde_json::json;
//!
//! let schema = Schema::builtin("v1", "ConfigMap").expect("a built-in kind");
//! let writer = |manager| Writer {
//!     manager,
//!     api_version: "v1",
//!     kind: "ConfigMap",
//!     subresource: None,
//!     reset_fields: reset_fields("v1", "ConfigMap", None),
//!     now: "2025-01-01T00:00:00Z".parse().expect("a time"),
//! };
//! // Create: `kubectl create` owns what it set (operation Update).
//! let mut created = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}});
//! record_update(None, &mut created, &schema, &writer("kubectl-create")).expect("recorded");
//! // Apply by another manager changing the same field: a 409 conflict...
//! let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "w"}});
//! let err = apply(Some(&created), &config, &schema, &writer("deployer"), false).unwrap_err();
//! assert_eq!(err.to_string(),
//!     r#"Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.k"#);
//! assert_eq!(err.status().code, 409);
//! // ...unless forced, which takes the field over.
//! let applied = apply(Some(&created), &config, &schema, &writer("deployer"), true).expect("applied");
//! assert_eq!(applied.object["data"]["k"], "w");
//! ```
//!
//! # Not reproduced
//!
//! - Conversion between API versions: managed fields recorded at another `apiVersion`
//!   of the same kind are compared as if the versions had the same schema.
//! - Reconciling managed fields after a schema change (a list turning atomic).
//! - Defaulting: the server defaults the object after [`apply`], as for any write; for
//!   built-in kinds kube-apiserver also records fields that decoding defaults or that
//!   Go's zero values add (`resources: {}`), so the embedded server's objects must be
//!   in the same canonical form for identical `managedFields`.
//! - Strategic merge patch on undeclared fields merges them as plain objects where Go
//!   fails with "unable to find api field".
#![forbid(unsafe_code)]

mod depth;
mod error;
pub mod fieldpath;
mod fields_v1;
mod gofmt;
mod json_patch;
mod managed_fields;
mod merge_patch;
pub mod schema;
mod strategic;
mod typed;
mod updater;

pub use depth::{MAX_DEPTH, depth_within};
pub use error::{PatchError, StatusCause, StatusParts};
pub use fields_v1::{FieldsV1Error, fields_v1_to_set, set_to_fields_v1};
pub use json_patch::{MAX_COPY_BYTES, MAX_OPERATIONS, json_patch};
pub use managed_fields::{
    Applied, ApplyError, Conflict, FIELD_MANAGER_MAX_LENGTH, MAX_UPDATE_MANAGERS,
    ManagedFieldsError, Writer, apply, custom_resource_reset_fields, manager_from_user_agent,
    record_update, reset_fields,
};
pub use merge_patch::merge_patch;
pub use schema::{Schema, SchemaError, TypeInfo};
pub use strategic::strategic_merge_patch;
