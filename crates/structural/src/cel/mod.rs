//! `x-kubernetes-validations`: CEL rules over `self` (and `oldSelf` for transition rules),
//! evaluated with Kubernetes' data model (absent fields are errors, `has()` tests presence,
//! set and map lists compare without order, `date-time`/`duration` strings are timestamps
//! and durations).
//!
//! This is a purpose-built evaluator for the subset of CEL that CRD rules use. Any rule that
//! needs a function or syntax it does not implement is refused when the schema is compiled,
//! so a CRD is never served with a rule silently skipped.

mod eval;
mod parse;
mod value;

use crate::schema::{Additional, Node};
pub(crate) use eval::{EvalError, evaluate};
pub(crate) use value::parse_rfc3339;

/// Whether a rule's result is `true` (anything else fails the rule).
pub(crate) fn is_true(v: &value::Val) -> bool {
    matches!(v, value::Val::Bool(true))
}

/// The string a `messageExpression` produced, if it produced one.
pub(crate) fn as_string(v: value::Val) -> Option<String> {
    match v {
        value::Val::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// Runtime cost limit per rule evaluation (Kubernetes' `PerCallLimit`).
pub(crate) const PER_CALL_LIMIT: u64 = 1_000_000;
/// Runtime cost budget for all rules of one object (Kubernetes' `RuntimeCELCostBudget`).
pub(crate) const RUNTIME_BUDGET: u64 = 10_000_000;

/// A rule that compiled.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub(crate) ast: parse::Expr,
    /// The rule refers to `oldSelf`: it is a transition rule, skipped without an old value.
    pub(crate) uses_old_self: bool,
}

/// Why a rule cannot be compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompileError {
    /// The real server refuses it too (syntax error, undefined field, unknown variable).
    Invalid(String),
    /// Valid CEL that this evaluator cannot run; the CRD must be refused, not served.
    Unsupported(String),
}

const GLOBAL_FUNCTIONS: [&str; 11] = [
    "size",
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "bytes",
    "dyn",
    "duration",
    "timestamp",
    "matches",
];
const METHODS: [&str; 19] = [
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "replace",
    "split",
    "join",
    "substring",
    "indexOf",
    "lastIndexOf",
    "charAt",
    "isSorted",
    "sum",
    "min",
    "max",
];
const KNOWN_UNSUPPORTED: [&str; 22] = [
    "quantity",
    "isQuantity",
    "url",
    "isURL",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "format",
    "type",
    "optional",
    "orValue",
    "hasValue",
    "value",
    "getFullYear",
    "getMonth",
    "getDate",
    "getHours",
    "getMinutes",
    "getSeconds",
    "find",
    "findAll",
];

/// Compiles `src` for a rule attached to `node`.
pub(crate) fn compile(src: &str, node: &Node, is_root: bool) -> Result<Program, CompileError> {
    let ast = parse::parse(src).map_err(|e| CompileError::Invalid(e.to_string()))?;
    let mut uses_old_self = false;
    let mut scope: Vec<String> = Vec::new();
    check(&ast, node, is_root, &mut scope, &mut uses_old_self)?;
    Ok(Program { ast, uses_old_self })
}

/// What a sub-expression is known to be, for the light static check.
enum Known<'a> {
    Schema(&'a Node, bool),
    Unknown,
}

fn check<'a>(
    e: &parse::Expr,
    self_node: &'a Node,
    is_root: bool,
    scope: &mut Vec<String>,
    uses_old_self: &mut bool,
) -> Result<Known<'a>, CompileError> {
    use parse::Expr;
    Ok(match e {
        Expr::Lit(_) => Known::Unknown,
        Expr::Ident(name) => {
            if scope.contains(name) {
                Known::Unknown
            } else if name == "self" {
                Known::Schema(self_node, is_root)
            } else if name == "oldSelf" {
                *uses_old_self = true;
                Known::Schema(self_node, is_root)
            } else {
                return Err(CompileError::Invalid(format!(
                    "ERROR: <input>: undeclared reference to '{name}' (in container '')"
                )));
            }
        }
        Expr::Select(target, field) | Expr::Has(target, field) => {
            let t = check(target, self_node, is_root, scope, uses_old_self)?;
            match t {
                Known::Schema(n, _)
                    if !n.int_or_string
                        && ["string", "integer", "number", "boolean", "array"]
                            .contains(&n.ty.as_str()) =>
                {
                    let t = match n.ty.as_str() {
                        "integer" => "int",
                        "number" => "double",
                        "boolean" => "bool",
                        "array" => "list",
                        other => other,
                    };
                    return Err(CompileError::Invalid(format!(
                        "ERROR: <input>: type '{t}' does not support field selection"
                    )));
                }
                Known::Schema(n, root) => match select_schema(n, root, field) {
                    Some(Some(child)) => Known::Schema(child, false),
                    Some(None) => Known::Unknown,
                    None => {
                        return Err(CompileError::Invalid(format!(
                            "ERROR: <input>: undefined field '{field}'"
                        )));
                    }
                },
                Known::Unknown => Known::Unknown,
            }
        }
        Expr::Index(target, idx) => {
            let t = check(target, self_node, is_root, scope, uses_old_self)?;
            check(idx, self_node, is_root, scope, uses_old_self)?;
            match t {
                Known::Schema(n, _) if n.ty == "array" => match &n.items {
                    Some(i) => Known::Schema(i, false),
                    None => Known::Unknown,
                },
                Known::Schema(n, _) => match &n.additional {
                    Some(Additional::Schema(a)) => Known::Schema(a, false),
                    _ => Known::Unknown,
                },
                Known::Unknown => Known::Unknown,
            }
        }
        Expr::Call { name, target, args } => {
            if KNOWN_UNSUPPORTED.contains(&name.as_str()) || name.contains('.') {
                return Err(CompileError::Unsupported(format!("function '{name}'")));
            }
            let allowed = if target.is_some() {
                METHODS.contains(&name.as_str())
            } else {
                GLOBAL_FUNCTIONS.contains(&name.as_str())
            };
            if !allowed {
                // Kubernetes has more CEL libraries than this evaluator; refuse loudly.
                return Err(CompileError::Unsupported(format!("function '{name}'")));
            }
            if let Some(t) = target {
                check(t, self_node, is_root, scope, uses_old_self)?;
            }
            for a in args {
                check(a, self_node, is_root, scope, uses_old_self)?;
            }
            Known::Unknown
        }
        Expr::List(items) => {
            for i in items {
                check(i, self_node, is_root, scope, uses_old_self)?;
            }
            Known::Unknown
        }
        Expr::Map(entries) => {
            for (k, v) in entries {
                check(k, self_node, is_root, scope, uses_old_self)?;
                check(v, self_node, is_root, scope, uses_old_self)?;
            }
            Known::Unknown
        }
        Expr::Not(x) | Expr::Neg(x) => {
            check(x, self_node, is_root, scope, uses_old_self)?;
            Known::Unknown
        }
        Expr::Binary(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, self_node, is_root, scope, uses_old_self)?;
            check(b, self_node, is_root, scope, uses_old_self)?;
            Known::Unknown
        }
        Expr::Cond(c, a, b) => {
            check(c, self_node, is_root, scope, uses_old_self)?;
            check(a, self_node, is_root, scope, uses_old_self)?;
            check(b, self_node, is_root, scope, uses_old_self)?;
            Known::Unknown
        }
        Expr::Comprehension {
            range,
            var,
            body,
            filter,
            ..
        } => {
            check(range, self_node, is_root, scope, uses_old_self)?;
            scope.push(var.clone());
            let r =
                check(body, self_node, is_root, scope, uses_old_self).and_then(|_| match filter {
                    Some(f) => check(f, self_node, is_root, scope, uses_old_self).map(|_| ()),
                    None => Ok(()),
                });
            scope.pop();
            r?;
            Known::Unknown
        }
    })
}

/// The schema of `node.field` for the static check: `Some(Some(n))` typed, `Some(None)`
/// allowed but untyped, `None` an undefined field.
fn select_schema<'a>(node: &'a Node, is_root: bool, field: &str) -> Option<Option<&'a Node>> {
    if let Some(p) = node.properties.get(field) {
        return Some(Some(p));
    }
    if (is_root || node.embedded) && ["apiVersion", "kind", "metadata"].contains(&field) {
        return Some(None);
    }
    match &node.additional {
        Some(Additional::Schema(a)) => return Some(Some(a)),
        Some(Additional::Allows(true)) => return Some(None),
        _ => {}
    }
    if node.preserves_unknown() || node.ty.is_empty() || node.ty != "object" {
        return Some(None);
    }
    None
}

/// Normalizes a rule's `fieldPath` (`.spec.x`, `.a['b']`) to a field path suffix, or `None`
/// when it is not a valid path into the schema.
pub(crate) fn normalize_field_path(node: &Node, fp: &str) -> Option<String> {
    let mut rest = fp.trim();
    let mut out = String::new();
    let mut current = Some(node);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let len = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..len];
            if name.is_empty() {
                return None;
            }
            current = current.and_then(|n| n.field_schema(name));
            current?;
            out = crate::path::child(&out, name);
            rest = &r[len..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = &r[..close];
            let key = inner
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .map(str::to_string);
            match key {
                Some(k) => {
                    current = current.and_then(|n| n.field_schema(&k));
                    current?;
                    out = crate::path::key(&out, &k);
                }
                None => {
                    let i: usize = inner.parse().ok()?;
                    current = current.and_then(|n| n.items.as_deref());
                    current?;
                    out = crate::path::index(&out, i);
                }
            }
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}
