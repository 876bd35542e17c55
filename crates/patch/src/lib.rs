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
