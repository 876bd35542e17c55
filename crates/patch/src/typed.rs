//! Schema-aware walks over objects, as structured-merge-diff's `typed` package does
//! them: validation of an applied configuration, the field set of an object, the
//! comparison of two objects, the merge of a configuration into a live object, and the
//! removal of a set of fields.
//!
//! Every entry point expects inputs already checked against [`crate::MAX_DEPTH`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::fieldpath::{Path, PathElement, Set, values_equal};
use crate::schema::{ListKind, ListType, MapType, TypeInfo, TypeRef, resolve};

/// The shape a value takes under a type.
#[derive(Clone, Copy)]
enum Shape<'a> {
    Scalar,
    List(&'a ListType),
    Map(&'a MapType, bool),
    /// The type accepts nothing (an unresolvable type).
    None,
}

impl Shape<'_> {
    fn same(&self, other: &Shape<'_>) -> bool {
        matches!(
            (self, other),
            (Shape::Scalar, Shape::Scalar)
                | (Shape::List(_), Shape::List(_))
                | (Shape::Map(..), Shape::Map(..))
                | (Shape::None, Shape::None)
        )
    }
}

/// `deduceAtom` + `handleAtom`: the shape that handles `value` under `ty` (maps first,
/// then scalars, then lists when the value does not decide).
fn shape<'a>(types: &'a dyn TypeInfo, ty: TypeRef, value: Option<&Value>) -> Shape<'a> {
    let r = resolve(types, ty);
    match value {
        Some(Value::Object(_)) if r.map.is_some() => {
            return Shape::Map(r.map.unwrap_or_else(|| unreachable_map()), r.map_atomic);
        }
        Some(Value::Array(_)) if r.list.is_some() => {
            if let Some(l) = r.list {
                return Shape::List(l);
            }
        }
        Some(Value::Bool(_) | Value::Number(_) | Value::String(_)) if r.scalar => {
            return Shape::Scalar;
        }
        _ => {}
    }
    if let Some(m) = r.map {
        Shape::Map(m, r.map_atomic)
    } else if r.scalar {
        Shape::Scalar
    } else if let Some(l) = r.list {
        Shape::List(l)
    } else {
        Shape::None
    }
}

fn unreachable_map() -> &'static MapType {
    static EMPTY: std::sync::LazyLock<MapType> = std::sync::LazyLock::new(MapType::default);
    &EMPTY
}

/// Validation errors, each prefixed by the path where it occurred, joined like
/// structured-merge-diff's `ValidationErrors`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<(String, String)>);

impl ValidationErrors {
    fn push(&mut self, path: &[PathElement], message: String) {
        self.0.push((Path(path.to_vec()).to_string(), message));
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let one = |(path, message): &(String, String)| {
            if path.is_empty() {
                message.clone()
            } else {
                format!("{path}: {message}")
            }
        };
        if self.0.len() == 1 {
            return write!(f, "{}", one(&self.0[0]));
        }
        let mut lines = vec!["errors:".to_string()];
        lines.extend(self.0.iter().map(|e| format!("  {}", one(e))));
        write!(f, "{}", lines.join("\n"))
    }
}

/// The path element of a list item (`listItemToPathElement`).
pub(crate) fn list_item_pe(
    types: &dyn TypeInfo,
    list: &ListType,
    item: &Value,
) -> Result<PathElement, String> {
    match &list.kind {
        ListKind::Atomic => Err("invalid indexing of non-associative list".into()),
        ListKind::Map { keys } => {
            let Value::Object(m) = item else {
                return Err(if item.is_null() {
                    "associative list with keys may not have a null element".into()
                } else {
                    "associative list with keys may not have non-map elements".into()
                });
            };
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                match m.get(key) {
                    Some(v) => fields.push((key.clone(), v.clone())),
                    None => {
                        let item_type = resolve(types, list.items);
                        let Some(map) = item_type.map else {
                            return Err(format!(
                                "couldn't find default value for {key}: associative list may not have non-map types"
                            ));
                        };
                        match map.fields.get(key).and_then(|f| f.default.clone()) {
                            Some(d) if !d.is_null() => fields.push((key.clone(), d)),
                            _ => {
                                return Err(format!(
                                    "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                                    crate::fieldpath::go_quote(key)
                                ));
                            }
                        }
                    }
                }
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
        ListKind::Set => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => {
                Err("associative list without keys has an element that's an explicit null".into())
            }
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.as_i64().is_some() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Validates `value` against `ty` (structured-merge-diff's validation of an applied
/// configuration): undeclared fields, values of the wrong shape, and keyed list
/// elements without keys or duplicated (unless `allow_duplicates`).
pub(crate) fn validate(
    types: &dyn TypeInfo,
    value: &Value,
    ty: TypeRef,
    allow_duplicates: bool,
) -> ValidationErrors {
    let mut errs = ValidationErrors::default();
    let mut path = Vec::new();
    validate_at(types, value, ty, allow_duplicates, &mut path, &mut errs);
    errs
}

fn validate_at(
    types: &dyn TypeInfo,
    value: &Value,
    ty: TypeRef,
    allow_duplicates: bool,
    path: &mut Vec<PathElement>,
    errs: &mut ValidationErrors,
) {
    match shape(types, ty, Some(value)) {
        Shape::None => errs.push(
            path,
            "schema error: no type found matching: inlined type".into(),
        ),
        Shape::Scalar => match value {
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
            other => errs.push(
                path,
                format!("expected any scalar, got {}", type_name(other)),
            ),
        },
        Shape::List(list) => match value {
            Value::Null => {}
            Value::Array(items) => {
                let mut seen: std::collections::BTreeSet<PathElement> = Default::default();
                for (i, item) in items.iter().enumerate() {
                    let pe = if list.kind == ListKind::Atomic {
                        PathElement::Index(i as i64)
                    } else {
                        match list_item_pe(types, list, item) {
                            Ok(pe) => pe,
                            Err(e) => {
                                errs.push(path, format!("element {i}: {e}"));
                                return;
                            }
                        }
                    };
                    if list.kind != ListKind::Atomic
                        && !seen.insert(pe.clone())
                        && !allow_duplicates
                    {
                        errs.push(path, format!("duplicate entries for key {pe}"));
                    }
                    path.push(pe);
                    validate_at(types, item, list.items, allow_duplicates, path, errs);
                    path.pop();
                }
            }
            other => errs.push(path, format!("expected list, got {}", type_name(other))),
        },
        Shape::Map(map, _) => match value {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    let pe = PathElement::Field(k.clone());
                    match map.type_of(k) {
                        Some(t) => {
                            path.push(pe);
                            validate_at(types, v, t, allow_duplicates, path, errs);
                            path.pop();
                        }
                        None => {
                            path.push(pe);
                            errs.push(path, "field not declared in schema".into());
                            path.pop();
                            return;
                        }
                    }
                }
            }
            other => errs.push(path, format!("expected map, got {}", type_name(other))),
        },
    }
}

/// The set of fields `value` sets (`ToFieldSet`): leaves, atomic lists and maps,
/// elements of sets and keyed lists, map entries that are not declared fields, and
/// empty or null fields.
pub(crate) fn to_field_set(types: &dyn TypeInfo, value: &Value, ty: TypeRef) -> Set {
    let mut set = Set::new();
    let mut path = Vec::new();
    field_set_at(types, value, ty, &mut path, &mut set);
    set
}

fn field_set_at(
    types: &dyn TypeInfo,
    value: &Value,
    ty: TypeRef,
    path: &mut Vec<PathElement>,
    set: &mut Set,
) {
    match shape(types, ty, Some(value)) {
        Shape::None => {}
        Shape::Scalar => set.insert(path),
        Shape::List(list) => {
            if list.kind == ListKind::Atomic {
                set.insert(path);
                return;
            }
            let Value::Array(items) = value else { return };
            let pes: Vec<Option<PathElement>> = items
                .iter()
                .map(|i| list_item_pe(types, list, i).ok())
                .collect();
            // Duplicated elements are owned as a whole.
            let mut seen: std::collections::BTreeSet<&PathElement> = Default::default();
            let mut duplicates: std::collections::BTreeSet<&PathElement> = Default::default();
            for pe in pes.iter().flatten() {
                if !seen.insert(pe) && duplicates.insert(pe) {
                    path.push(pe.clone());
                    set.insert(path);
                    path.pop();
                }
            }
            for (item, pe) in items.iter().zip(pes.iter()) {
                let Some(pe) = pe else { continue };
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe.clone());
                field_set_at(types, item, list.items, path, set);
                set.insert(path);
                path.pop();
            }
        }
        Shape::Map(map, atomic) => {
            if atomic {
                set.insert(path);
                return;
            }
            let Value::Object(m) = value else { return };
            for (k, v) in m {
                let declared = map.fields.contains_key(k);
                let Some(t) = map.type_of(k) else { continue };
                path.push(PathElement::Field(k.clone()));
                field_set_at(types, v, t, path, set);
                let empty = matches!(v, Value::Object(o) if o.is_empty());
                if v.is_null() || empty || !declared {
                    set.insert(path);
                }
                path.pop();
            }
        }
    }
}

/// What changed from one object to another (`typed.Comparison`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

/// Compares `lhs` (before) with `rhs` (after).
pub(crate) fn compare(types: &dyn TypeInfo, lhs: &Value, rhs: &Value, ty: TypeRef) -> Comparison {
    let mut c = Comparison::default();
    let mut path = Vec::new();
    compare_at(types, Some(lhs), Some(rhs), ty, &mut path, &mut c);
    c
}

fn compare_at(
    types: &dyn TypeInfo,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: TypeRef,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    let ls = shape(types, ty, lhs);
    let rs = shape(types, ty, rhs);
    let mut in_leaf = false;
    if rhs.is_none() {
        compare_shape(types, ls, lhs, rhs, path, c, &mut in_leaf);
    } else if lhs.is_none() || ls.same(&rs) {
        compare_shape(types, rs, lhs, rhs, path, c, &mut in_leaf);
    } else {
        let mut other_leaf = in_leaf;
        compare_shape(types, ls, lhs, rhs, path, c, &mut other_leaf);
        compare_shape(types, rs, lhs, rhs, path, c, &mut in_leaf);
    }
    if !in_leaf {
        if lhs.is_none() {
            c.added.insert(path);
        } else if rhs.is_none() {
            c.removed.insert(path);
        }
    }
}

fn compare_leaf(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &[PathElement],
    c: &mut Comparison,
    in_leaf: &mut bool,
) {
    if *in_leaf {
        return;
    }
    *in_leaf = true;
    match (lhs, rhs) {
        (None, _) => c.added.insert(path),
        (_, None) => c.removed.insert(path),
        (Some(l), Some(r)) if !values_equal(l, r) => c.modified.insert(path),
        _ => {}
    }
}

fn as_list(v: Option<&Value>) -> Option<&Vec<Value>> {
    match v {
        Some(Value::Array(a)) => Some(a),
        _ => None,
    }
}

fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fn compare_shape(
    types: &dyn TypeInfo,
    shape: Shape<'_>,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
    in_leaf: &mut bool,
) {
    match shape {
        Shape::None => {}
        Shape::Scalar => compare_leaf(lhs, rhs, path, c, in_leaf),
        Shape::List(list) => {
            let (l, r) = (as_list(lhs), as_list(rhs));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if list.kind == ListKind::Atomic || empty {
                compare_leaf(lhs, rhs, path, c, in_leaf);
                return;
            }
            compare_list_items(types, list, l, r, path, c);
        }
        Shape::Map(map, atomic) => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if atomic || empty {
                compare_leaf(lhs, rhs, path, c, in_leaf);
                return;
            }
            let mut keys: Vec<&String> = l.map(|m| m.keys().collect()).unwrap_or_default();
            if let Some(r) = r {
                for k in r.keys() {
                    if l.is_none_or(|l| !l.contains_key(k)) {
                        keys.push(k);
                    }
                }
            }
            for k in keys {
                let t = map.type_of(k).unwrap_or(TypeRef::DEDUCED);
                path.push(PathElement::Field(k.clone()));
                compare_at(
                    types,
                    l.and_then(|m| m.get(k)),
                    r.and_then(|m| m.get(k)),
                    t,
                    path,
                    c,
                );
                path.pop();
            }
        }
    }
}

/// Groups list items by path element, keeping first-seen order.
fn group_items<'v>(
    types: &dyn TypeInfo,
    list: &ListType,
    items: Option<&'v Vec<Value>>,
) -> (Vec<PathElement>, BTreeMap<PathElement, Vec<&'v Value>>) {
    let mut order = Vec::new();
    let mut groups: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
    for item in items.into_iter().flatten() {
        let Ok(pe) = list_item_pe(types, list, item) else {
            continue;
        };
        match groups.get_mut(&pe) {
            Some(g) => g.push(item),
            None => {
                order.push(pe.clone());
                groups.insert(pe, vec![item]);
            }
        }
    }
    (order, groups)
}

fn compare_list_items(
    types: &dyn TypeInfo,
    list: &ListType,
    lhs: Option<&Vec<Value>>,
    rhs: Option<&Vec<Value>>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    let (l_order, l_groups) = group_items(types, list, lhs);
    let (r_order, r_groups) = group_items(types, list, rhs);
    let mut all = l_order;
    for pe in r_order {
        if !l_groups.contains_key(&pe) {
            all.push(pe);
        }
    }
    for pe in all {
        let l = l_groups.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        let r = r_groups.get(&pe).map(Vec::as_slice).unwrap_or(&[]);
        path.push(pe);
        match (l.len(), r.len()) {
            (0, 0) => {}
            (a, b) if a <= 1 && b <= 1 => {
                compare_at(
                    types,
                    l.first().copied(),
                    r.first().copied(),
                    list.items,
                    path,
                    c,
                );
            }
            (a, b) if a >= 2 && b >= 2 => {
                let equal = a == b && l.iter().zip(r).all(|(x, y)| values_equal(x, y));
                if !equal {
                    c.modified.insert(path);
                }
            }
            (a, _) if a >= 2 => {
                if let Some(r0) = r.first() {
                    compare_at(types, None, Some(r0), list.items, path, c);
                }
                c.removed.insert(path);
            }
            _ => {
                if let Some(l0) = l.first() {
                    compare_at(types, Some(l0), None, list.items, path, c);
                }
                c.added.insert(path);
            }
        }
        path.pop();
    }
}

/// Merges `rhs` (an applied configuration) into `lhs` (the live object): the
/// configuration wins on leaves and atomic values; keyed lists merge by key, keeping
/// the configuration's order for its elements.
pub(crate) fn merge(types: &dyn TypeInfo, lhs: &Value, rhs: &Value, ty: TypeRef) -> Value {
    merge_at(types, Some(lhs), Some(rhs), ty).unwrap_or(Value::Null)
}

fn merge_at(
    types: &dyn TypeInfo,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: TypeRef,
) -> Option<Value> {
    let ls = shape(types, ty, lhs);
    let rs = shape(types, ty, rhs);
    let chosen = if rhs.is_none() { ls } else { rs };
    let keep_rhs = || rhs.or(lhs).cloned();
    match chosen {
        Shape::None | Shape::Scalar => keep_rhs(),
        Shape::List(list) => {
            let (l, r) = (as_list(lhs), as_list(rhs));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if list.kind == ListKind::Atomic
                || empty
                || (lhs.is_some() && rhs.is_some() && !ls.same(&rs))
            {
                return keep_rhs();
            }
            if l.is_none() && r.is_none() {
                return None;
            }
            merge_list(types, list, l, r).map(Value::Array)
        }
        Shape::Map(map, atomic) => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if atomic || empty || (lhs.is_some() && rhs.is_some() && !ls.same(&rs)) {
                return keep_rhs();
            }
            if l.is_none() && r.is_none() {
                return None;
            }
            let mut out = Map::new();
            let mut keys: Vec<&String> = l.map(|m| m.keys().collect()).unwrap_or_default();
            if let Some(r) = r {
                for k in r.keys() {
                    if l.is_none_or(|l| !l.contains_key(k)) {
                        keys.push(k);
                    }
                }
            }
            for k in keys {
                let t = map.type_of(k).unwrap_or(TypeRef::DEDUCED);
                if let Some(v) =
                    merge_at(types, l.and_then(|m| m.get(k)), r.and_then(|m| m.get(k)), t)
                {
                    out.insert(k.clone(), v);
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            }
        }
    }
}

/// `visitListItems` of the merging walker: elements in the configuration's order,
/// live-only elements kept where they were relative to shared ones.
fn merge_list(
    types: &dyn TypeInfo,
    list: &ListType,
    lhs: Option<&Vec<Value>>,
    rhs: Option<&Vec<Value>>,
) -> Option<Vec<Value>> {
    let index = |items: Option<&Vec<Value>>, allow_dup: bool| {
        let mut pes = Vec::new();
        let mut observed: BTreeMap<PathElement, Option<Value>> = BTreeMap::new();
        for item in items.into_iter().flatten() {
            let Ok(pe) = list_item_pe(types, list, item) else {
                continue;
            };
            if observed.contains_key(&pe) {
                if !allow_dup {
                    continue;
                }
                observed.insert(pe.clone(), None);
            } else {
                observed.insert(pe.clone(), Some(item.clone()));
            }
            pes.push((pe, item.clone()));
        }
        (pes, observed)
    };
    let (rhs_pes, observed_rhs) = index(rhs, false);
    let (lhs_pes, observed_lhs) = index(lhs, true);

    let mut shared: std::collections::VecDeque<&PathElement> = rhs_pes
        .iter()
        .map(|(pe, _)| pe)
        .filter(|pe| observed_lhs.contains_key(*pe))
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: std::collections::BTreeSet<PathElement> = Default::default();
    let mut out = Vec::new();
    let (mut li, mut ri) = (0, 0);
    let get =
        |m: &BTreeMap<PathElement, Option<Value>>, pe: &PathElement| m.get(pe).cloned().flatten();
    while li < lhs_pes.len() || ri < rhs_pes.len() {
        if li < lhs_pes.len() && ri < rhs_pes.len() {
            let pe = &lhs_pes[li].0;
            if *pe == rhs_pes[ri].0 {
                merged_rhs.insert(pe.clone());
                let l = get(&observed_lhs, pe);
                let r = get(&observed_rhs, pe);
                if let Some(v) = merge_at(types, l.as_ref(), r.as_ref(), list.items) {
                    out.push(v);
                }
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs_pes.len() {
            let pe = &lhs_pes[li].0;
            if !observed_rhs.contains_key(pe) {
                let item = lhs_pes[li].1.clone();
                if let Some(v) = merge_at(types, Some(&item), None, list.items) {
                    out.push(v);
                }
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs_pes.len() {
            let pe = rhs_pes[ri].0.clone();
            merged_rhs.insert(pe.clone());
            let l = get(&observed_lhs, &pe);
            let r = get(&observed_rhs, &pe);
            if let Some(v) = merge_at(types, l.as_ref(), r.as_ref(), list.items) {
                out.push(v);
            }
            ri += 1;
            if next_shared.is_some_and(|n| *n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Removes the fields of `to_remove` from `value` (`RemoveItems`): a member path is
/// removed with everything below it; objects and lists left empty become `null`, as in
/// structured-merge-diff.
pub(crate) fn remove_items(
    types: &dyn TypeInfo,
    value: &Value,
    to_remove: &Set,
    ty: TypeRef,
) -> Value {
    remove_at(types, value, to_remove, ty).unwrap_or(Value::Null)
}

fn remove_at(types: &dyn TypeInfo, value: &Value, to_remove: &Set, ty: TypeRef) -> Option<Value> {
    match shape(types, ty, Some(value)) {
        Shape::None | Shape::Scalar => Some(value.clone()),
        Shape::List(list) => {
            let Value::Array(items) = value else {
                return None;
            };
            if items.is_empty() {
                return None;
            }
            if list.kind == ListKind::Atomic {
                return None;
            }
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = list_item_pe(types, list, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match to_remove.with_prefix(&pe) {
                    Some(sub) if !sub.is_empty() => {
                        out.push(remove_at(types, item, sub, list.items).unwrap_or(Value::Null));
                    }
                    _ => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            }
        }
        Shape::Map(map, atomic) => {
            let Value::Object(m) = value else { return None };
            if m.is_empty() || atomic {
                return None;
            }
            let mut out = Map::new();
            for (k, v) in m {
                let pe = PathElement::Field(k.clone());
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                let t = map.type_of(k).unwrap_or(TypeRef::DEDUCED);
                match to_remove.with_prefix(&pe) {
                    Some(sub) if !sub.is_empty() => {
                        out.insert(
                            k.clone(),
                            remove_at(types, v, sub, t).unwrap_or(Value::Null),
                        );
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            }
        }
    }
}

/// `EnsureNamedFieldsAreMembers`: adds to `set` every declared field (of an object
/// type) that has paths below it.
pub(crate) fn ensure_named_fields_are_members(
    types: &dyn TypeInfo,
    set: &Set,
    ty: Option<TypeRef>,
) -> Set {
    let r = ty.map(|t| resolve(types, t));
    let map = r.and_then(|r| r.map);
    let list = r.and_then(|r| r.list);
    let mut members = set.members().clone();
    let mut children = BTreeMap::new();
    for (pe, child) in set.children() {
        let child_ty = match pe {
            PathElement::Field(name) => match map {
                Some(m) => {
                    if m.fields.contains_key(name) {
                        members.insert(pe.clone());
                    }
                    m.type_of(name)
                }
                None => None,
            },
            PathElement::Key(_) => list.map(|l| l.items),
            _ => None,
        };
        children.insert(
            pe.clone(),
            ensure_named_fields_are_members(types, child, child_ty),
        );
    }
    Set::from_parts(members, children)
}
