//! Kubernetes patch semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
//! strategic merge patch, and server-side apply with field managers.
#![forbid(unsafe_code)]

mod depth;
mod error;
mod json_patch;
mod merge_patch;

pub use depth::{MAX_DEPTH, depth_within};
pub use error::{PatchError, StatusCause, StatusParts};
pub use json_patch::{MAX_COPY_BYTES, MAX_OPERATIONS, json_patch};
pub use merge_patch::merge_patch;

pub mod schema;
pub use schema::{Schema, SchemaError, TypeInfo};

mod gofmt;
mod strategic;
pub use strategic::strategic_merge_patch;

pub mod fieldpath;
mod fields_v1;
mod managed_fields;
mod typed;
mod updater;
pub use fields_v1::{FieldsV1Error, fields_v1_to_set, set_to_fields_v1};
pub use managed_fields::{
    Applied, ApplyError, Conflict, FIELD_MANAGER_MAX_LENGTH, MAX_UPDATE_MANAGERS,
    ManagedFieldsError, Writer, apply, custom_resource_reset_fields, manager_from_user_agent,
    record_update, reset_fields,
};
