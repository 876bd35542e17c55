//! Field paths in the two notations the real server uses.
//!
//! `field.Path` (objectmeta, list-type, CEL and CRD errors): `a.b`, `a[0]`, `a[key]`.
//! kube-openapi's validator (schema errors): `a.b`, `a[0]`, and `a.key` for map keys.

/// `path.Child(name)` in `field.Path` notation.
pub(crate) fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

/// `path.Index(i)`.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `path.Key(k)`.
pub(crate) fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

/// One step into an object for read-only schema look-ups (`Schema::list_type_at`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// An object field, or a key of a map (`additionalProperties`).
    Field(String),
    /// Any element of a list; the position does not matter to the schema.
    Index(usize),
}

impl PathElement {
    /// A field step, for building paths tersely.
    pub fn field(name: impl Into<String>) -> PathElement {
        PathElement::Field(name.into())
    }
}
