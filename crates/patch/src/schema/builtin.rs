//! Type information for built-in kinds, from the Kubernetes OpenAPI v3 documents kept
//! (trimmed) in `data/builtin-openapi.json`. Regenerate that file with
//! `tools/extract_builtin_schemas.py` when moving to a new Kubernetes release.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use super::openapi::Builder;
use super::{Schema, SchemaError, TypeNode, TypeRef};

/// The Kubernetes release the built-in schemas come from.
pub const KUBERNETES_VERSION: &str = "v1.33.13";

const DATA: &str = include_str!("../../data/builtin-openapi.json");

/// The parsed data file: definitions, and `apiVersion/kind` → definition name.
pub(crate) struct BuiltinData {
    pub definitions: Map<String, Value>,
    kinds: Vec<(String, String)>,
}

pub(crate) static DATA_PARSED: LazyLock<BuiltinData> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(DATA).unwrap_or(Value::Null);
    let definitions = match doc.get("definitions") {
        Some(Value::Object(d)) => d.clone(),
        _ => Map::new(),
    };
    let kinds = match doc.get("kinds") {
        Some(Value::Object(k)) => k
            .iter()
            .filter_map(|(gvk, def)| Some((gvk.clone(), def.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    BuiltinData { definitions, kinds }
});

struct Arena {
    nodes: Arc<[TypeNode]>,
    roots: HashMap<String, TypeRef>,
}

static ARENA: LazyLock<Result<Arena, SchemaError>> = LazyLock::new(|| {
    let data = &*DATA_PARSED;
    let mut builder = Builder::new(&data.definitions);
    let mut roots = HashMap::new();
    for (gvk, def) in &data.kinds {
        roots.insert(gvk.clone(), builder.named(def)?);
    }
    builder.finish()?;
    Ok(Arena {
        nodes: builder.nodes.into(),
        roots,
    })
});

impl Schema {
    /// Type information for a built-in kind, by `apiVersion` (`v1`, `batch/v1`, ...) and
    /// `kind`; `None` when this crate has no schema for it (see [`Schema::builtin_kinds`]).
    pub fn builtin(api_version: &str, kind: &str) -> Option<Schema> {
        let arena = ARENA.as_ref().ok()?;
        let root = *arena.roots.get(&format!("{api_version}/{kind}"))?;
        Some(Schema {
            nodes: arena.nodes.clone(),
            root,
            strategic_merge: true,
            empty: super::empty::empty_object(api_version, kind),
        })
    }

    /// The `apiVersion/kind` pairs [`Schema::builtin`] knows, sorted.
    pub fn builtin_kinds() -> Vec<String> {
        let mut kinds: Vec<String> = DATA_PARSED.kinds.iter().map(|(k, _)| k.clone()).collect();
        kinds.sort();
        kinds
    }
}
