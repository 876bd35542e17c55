//! Type information: what the patch and apply algorithms need to know about a kind's
//! schema. Which lists are atomic, sets, or maps keyed by some fields (server-side
//! apply); which lists merge by which key under strategic merge patch; which objects
//! are atomic; which object keys are declared fields.
//!
//! The model follows structured-merge-diff's schema (the one kube-apiserver builds from
//! its OpenAPI documents): a [`TypeNode`] may accept a scalar, a list and/or a map, and
//! refers to the types below it by [`TypeRef`].
//!
//! Two implementations ship, both built from OpenAPI ([`Schema`]):
//! - [`Schema::builtin`] for the built-in kinds (Pods, Services, Jobs, CRDs, ...), from
//!   the Kubernetes v1.33 OpenAPI v3 documents kept in `data/builtin-openapi.json`;
//! - [`Schema::for_custom_resource`] from a CRD version's `openAPIV3Schema`.

mod builtin;
mod crd;
mod empty;
mod openapi;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

pub use builtin::KUBERNETES_VERSION;
pub use openapi::SchemaError;

/// A reference to a type inside a [`TypeInfo`]. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeRef {
    id: u32,
    /// Overrides the referenced map's atomicity (`x-kubernetes-map-type` on a field
    /// that refers to a named type).
    map_atomic: Option<bool>,
}

impl TypeRef {
    /// A reference to the node with index `id` of a [`TypeInfo`] implementation.
    /// Ids below [`TypeRef::FIRST_USER_ID`] are reserved.
    pub const fn new(id: u32) -> TypeRef {
        TypeRef {
            id,
            map_atomic: None,
        }
    }

    /// The first id an implementation may use for its own nodes.
    pub const FIRST_USER_ID: u32 = 2;

    /// Untyped with "deduced" structure: objects are granular maps (every key tracked
    /// separately), lists are atomic. What structured-merge-diff uses for unknown or
    /// preserved fields.
    pub const DEDUCED: TypeRef = TypeRef::new(0);

    /// Untyped and atomic: any value, owned and replaced as a whole.
    pub const UNTYPED: TypeRef = TypeRef::new(1);

    /// This reference, with the referenced map made atomic (`true`) or granular.
    pub const fn with_map_atomic(self, atomic: bool) -> TypeRef {
        TypeRef {
            id: self.id,
            map_atomic: Some(atomic),
        }
    }

    /// The node index this refers to.
    pub const fn id(self) -> u32 {
        self.id
    }
}

/// What values a type accepts, and how each shape behaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeNode {
    /// Accepts scalars (strings, numbers, booleans).
    pub scalar: bool,
    /// Accepts lists, with this behaviour.
    pub list: Option<ListType>,
    /// Accepts objects, with this behaviour.
    pub map: Option<MapType>,
}

/// How a list behaves under apply (structured-merge-diff) — the element type and the
/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListType {
    /// The type of the elements.
    pub items: TypeRef,
    /// Atomic, set, or map keyed by fields.
    pub kind: ListKind,
}

/// `x-kubernetes-list-type` as structured-merge-diff interprets it (falling back on the
/// strategic-merge patch strategy when no list type is declared, as it does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced and owned as a whole (the default).
    Atomic,
    /// A set of scalars, each element owned separately (`v:` in managed fields).
    Set,
    /// A map keyed by these fields of each element (`k:{...}` in managed fields).
    Map {
        /// The key fields, in declaration order.
        keys: Vec<String>,
    },
}

/// How an object behaves: its declared fields, the type of other keys, atomicity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapType {
    /// Declared fields (a struct's fields, or `properties`).
    pub fields: BTreeMap<String, Field>,
    /// The type of keys that are not declared fields (`additionalProperties`), or
    /// `None` when undeclared keys are not allowed.
    pub elements: Option<TypeRef>,
    /// `x-kubernetes-map-type: atomic`: replaced and owned as a whole.
    pub atomic: bool,
}

/// A declared field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's type.
    pub ty: TypeRef,
    /// The schema default (used for missing key fields of keyed lists, as
    /// structured-merge-diff does).
    pub default: Option<Value>,
    /// The field's strategic-merge-patch metadata.
    pub patch: PatchMeta,
}

/// Strategic merge patch metadata of a field: `x-kubernetes-patch-strategy` and
/// `x-kubernetes-patch-merge-key` (the Go struct tags `patchStrategy`/`patchMergeKey`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchMeta {
    /// The strategy other than `retainKeys`: `merge` or `replace`; `None` is the default
    /// (lists are replaced, objects merged).
    pub strategy: Option<PatchStrategy>,
    /// `retainKeys` is among the strategies (only affects patch generation).
    pub retain_keys: bool,
    /// The merge key of a list of objects with the merge strategy.
    pub merge_key: Option<String>,
}

/// A strategic merge patch strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// Lists are merged (by merge key for objects, as a set for scalars).
    Merge,
    /// The value is replaced.
    Replace,
}

/// Type information for one kind, supplied by the caller to every operation.
///
/// Use [`Schema::builtin`] for a built-in kind and [`Schema::for_custom_resource`] for
/// a custom resource; implement it only to describe some other schema source.
pub trait TypeInfo: fmt::Debug + Send + Sync {
    /// The type of the whole object.
    fn root(&self) -> TypeRef;

    /// The node `ty` refers to. Never called with [`TypeRef::DEDUCED`] or
    /// [`TypeRef::UNTYPED`]. An unknown id should answer a deduced node.
    fn node(&self, ty: TypeRef) -> &TypeNode;

    /// Whether a server accepts strategic merge patches for this kind. kube-apiserver
    /// refuses them for custom resources with 415 Unsupported Media Type.
    fn supports_strategic_merge(&self) -> bool;

    /// The object kube-apiserver's field manager compares a created object with: the
    /// JSON of the kind's zero value (`{}` fields for non-pointer structs, `null` for
    /// lists without `omitempty`). Fields in it are not "added" by the creator, so the
    /// creator's managed fields hold no `.` entry for them.
    fn empty_object(&self, api_version: &str, kind: &str) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("apiVersion".into(), Value::String(api_version.into()));
        m.insert("kind".into(), Value::String(kind.into()));
        Value::Object(m)
    }
}

/// A resolved node: the node with any field-level map-type override applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'a> {
    pub scalar: bool,
    pub list: Option<&'a ListType>,
    pub map: Option<&'a MapType>,
    pub map_atomic: bool,
}

static DEDUCED_NODE: std::sync::LazyLock<TypeNode> = std::sync::LazyLock::new(|| TypeNode {
    scalar: true,
    list: Some(ListType {
        items: TypeRef::UNTYPED,
        kind: ListKind::Atomic,
    }),
    map: Some(MapType {
        fields: BTreeMap::new(),
        elements: Some(TypeRef::DEDUCED),
        atomic: false,
    }),
});

static UNTYPED_NODE: std::sync::LazyLock<TypeNode> = std::sync::LazyLock::new(|| TypeNode {
    scalar: true,
    list: Some(ListType {
        items: TypeRef::UNTYPED,
        kind: ListKind::Atomic,
    }),
    map: Some(MapType {
        fields: BTreeMap::new(),
        elements: Some(TypeRef::UNTYPED),
        atomic: true,
    }),
});

/// The nodes of the two reserved references.
pub(crate) fn resolve_static(ty: TypeRef) -> &'static TypeNode {
    if ty.id == TypeRef::UNTYPED.id {
        &UNTYPED_NODE
    } else {
        &DEDUCED_NODE
    }
}

/// Resolves `ty` within `types`, applying the reference's map-type override.
pub(crate) fn resolve(types: &dyn TypeInfo, ty: TypeRef) -> Resolved<'_> {
    let node: &TypeNode = match ty.id {
        0 | 1 => resolve_static(ty),
        _ => types.node(ty),
    };
    let map_atomic = match (ty.map_atomic, &node.map) {
        (Some(a), _) => a,
        (None, Some(m)) => m.atomic,
        (None, None) => false,
    };
    Resolved {
        scalar: node.scalar,
        list: node.list.as_ref(),
        map: node.map.as_ref(),
        map_atomic,
    }
}

impl MapType {
    /// The type of key `name`: its declared field, else the element type.
    pub fn type_of(&self, name: &str) -> Option<TypeRef> {
        match self.fields.get(name) {
            Some(f) => Some(f.ty),
            None => self.elements,
        }
    }
}

/// A schema built from OpenAPI definitions: the [`TypeInfo`] this crate ships.
#[derive(Debug, Clone)]
pub struct Schema {
    nodes: std::sync::Arc<[TypeNode]>,
    root: TypeRef,
    strategic_merge: bool,
    empty: Option<Value>,
}

impl TypeInfo for Schema {
    fn root(&self) -> TypeRef {
        self.root
    }

    fn node(&self, ty: TypeRef) -> &TypeNode {
        let index = (ty.id as usize).wrapping_sub(TypeRef::FIRST_USER_ID as usize);
        self.nodes.get(index).unwrap_or(&DEDUCED_NODE)
    }

    fn supports_strategic_merge(&self) -> bool {
        self.strategic_merge
    }

    fn empty_object(&self, api_version: &str, kind: &str) -> Value {
        let mut obj = self
            .empty
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default()));
        if let Value::Object(m) = &mut obj {
            m.insert("apiVersion".into(), Value::String(api_version.into()));
            m.insert("kind".into(), Value::String(kind.into()));
        }
        obj
    }
}

impl Schema {
    /// Describes the type found at a dotted path from the root, for tests and
    /// diagnostics: `"spec.containers[].ports"`. `[]` steps into list elements; a
    /// segment that is not a declared field steps into map values.
    pub fn describe(&self, path: &str) -> Option<TypeNodeSummary> {
        let mut ty = self.root;
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (name, items) = match segment.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (segment, false),
            };
            let r = resolve(self, ty);
            ty = r.map?.type_of(name)?;
            if items {
                ty = resolve(self, ty).list?.items;
            }
        }
        let r = resolve(self, ty);
        Some(TypeNodeSummary {
            list: r.list.map(|l| l.kind.clone()),
            map_atomic: r.map.map(|_| r.map_atomic),
            scalar: r.scalar,
        })
    }

    /// The strategic-merge metadata of the field at a dotted path (see
    /// [`Schema::describe`] for the path syntax; the last segment names the field).
    pub fn patch_meta(&self, path: &str) -> Option<PatchMeta> {
        let (parent, field) = match path.rsplit_once('.') {
            Some((p, f)) => (p, f),
            None => ("", path),
        };
        let mut ty = self.root;
        for segment in parent.split('.').filter(|s| !s.is_empty()) {
            let (name, items) = match segment.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (segment, false),
            };
            ty = resolve(self, ty).map?.type_of(name)?;
            if items {
                ty = resolve(self, ty).list?.items;
            }
        }
        resolve(self, ty)
            .map?
            .fields
            .get(field)
            .map(|f| f.patch.clone())
    }
}

/// What [`Schema::describe`] reports about a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeNodeSummary {
    /// The list behaviour, when the type accepts lists.
    pub list: Option<ListKind>,
    /// Whether objects are atomic, when the type accepts objects.
    pub map_atomic: Option<bool>,
    /// Whether the type accepts scalars.
    pub scalar: bool,
}
