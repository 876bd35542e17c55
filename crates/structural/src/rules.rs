//! Running `x-kubernetes-validations` over an object (apiextensions' `cel.Validator`):
//! transition rules need a correlated old value, unchanged values ratchet, and every
//! failure is `field.Invalid(<path>, <schema type>, <message>)` unless the rule names
//! another reason.

use crate::cel::{self, EvalError};
use crate::error::{FieldError, FieldErrorKind};
use crate::path;
use crate::schema::{Additional, Node, Rule};
use crate::validate::correlate_list;
use serde_json::Value;

struct Walk {
    errs: Vec<FieldError>,
    budget: u64,
    stopped: bool,
}

pub(crate) fn validate(root: &Node, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut w = Walk {
        errs: Vec::new(),
        budget: cel::RUNTIME_BUDGET,
        stopped: false,
    };
    let unchanged = old.is_some_and(|o| o == obj);
    node(&mut w, root, obj, old, unchanged, "", true, 0);
    w.errs
}

#[allow(clippy::too_many_arguments)]
fn node(
    w: &mut Walk,
    s: &Node,
    v: &Value,
    old: Option<&Value>,
    unchanged: bool,
    pth: &str,
    is_root: bool,
    depth: usize,
) {
    if w.stopped || v.is_null() || depth > crate::MAX_DATA_DEPTH {
        return;
    }
    for rule in &s.rules {
        run_rule(w, s, rule, v, old, unchanged, pth, is_root);
        if w.stopped {
            return;
        }
    }
    match v {
        Value::Object(map) => {
            let old_map = old.and_then(Value::as_object);
            for (k, val) in map {
                let (sub, p) = if let Some(p) = s.properties.get(k) {
                    (p, path::child(pth, k))
                } else if let Some(Additional::Schema(a)) = &s.additional {
                    (&**a, path::key(pth, k))
                } else {
                    continue;
                };
                let old_val = old_map.and_then(|m| m.get(k));
                let child_unchanged = match old_val {
                    Some(o) => o == val,
                    None => false,
                };
                node(w, sub, val, old_val, child_unchanged, &p, false, depth + 1);
            }
        }
        Value::Array(items) => {
            if let Some(item) = &s.items {
                let correlated = correlate_list(s, old);
                for (i, val) in items.iter().enumerate() {
                    let old_item = correlated.as_ref().and_then(|c| c.get(val));
                    let item_unchanged = match old_item {
                        Some(o) => o == val,
                        None => unchanged,
                    };
                    node(
                        w,
                        item,
                        val,
                        old_item,
                        item_unchanged,
                        &path::index(pth, i),
                        false,
                        depth + 1,
                    );
                }
            }
        }
        _ => {}
    }
}

fn schema_type(s: &Node) -> Value {
    Value::String(s.ty.clone())
}

fn rule_text(rule: &Rule) -> String {
    match &rule.message {
        Some(m) if !m.is_empty() => m.trim().to_string(),
        _ => rule.source.trim().to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_rule(
    w: &mut Walk,
    s: &Node,
    rule: &Rule,
    v: &Value,
    old: Option<&Value>,
    unchanged: bool,
    pth: &str,
    is_root: bool,
) {
    if rule.program.uses_old_self && old.is_none() {
        return;
    }
    let field = if pth.is_empty() {
        "<nil>".to_string()
    } else {
        pth.to_string()
    };
    if w.budget == 0 {
        w.errs.push(FieldError::invalid(
            field,
            schema_type(s),
            "validation failed due to running out of cost budget, no further validation rules will be run",
        ));
        w.stopped = true;
        return;
    }
    let limit = cel::PER_CALL_LIMIT.min(w.budget);
    let (outcome, cost) = cel::evaluate(&rule.program, v, old, s, is_root, limit);
    w.budget = w.budget.saturating_sub(cost);
    let passed = match outcome {
        Ok(value) => cel::is_true(&value),
        Err(EvalError::CostExceeded) => {
            let detail = if limit < cel::PER_CALL_LIMIT {
                "validation failed due to running out of cost budget, no further validation rules will be run".to_string()
            } else {
                format!(
                    "'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: {}",
                    rule_text(rule)
                )
            };
            w.errs
                .push(FieldError::invalid(field, schema_type(s), detail));
            w.stopped = true;
            return;
        }
        Err(EvalError::Runtime(msg)) => {
            let detail = if msg.starts_with("no such overload") {
                format!(
                    "'{msg}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                    rule_text(rule)
                )
            } else {
                format!("{msg} evaluating rule: {}", rule_text(rule))
            };
            w.errs
                .push(FieldError::invalid(field, schema_type(s), detail));
            return;
        }
    };
    if passed {
        return;
    }
    if !rule.program.uses_old_self && unchanged {
        // ratcheted: the value did not change, so the failure is not reported
        return;
    }
    let err_path = match &rule.field_path {
        Some(fp) if !fp.is_empty() => path::child(pth, fp),
        _ => field,
    };
    let message = match &rule.message_expression {
        Some(expr) => {
            message_expression(w, expr, v, old, s, is_root).unwrap_or_else(|| default_message(rule))
        }
        None => default_message(rule),
    };
    let err = match rule.reason.as_deref() {
        Some("FieldValueForbidden") => FieldError::forbidden(err_path, message),
        Some("FieldValueRequired") => FieldError::required(err_path, message),
        Some("FieldValueDuplicate") => FieldError::duplicate(err_path, schema_type(s)),
        _ => FieldError::new(
            FieldErrorKind::Invalid,
            err_path,
            Some(schema_type(s)),
            message,
        ),
    };
    w.errs.push(err);
}

fn default_message(rule: &Rule) -> String {
    match &rule.message {
        Some(m) if !m.is_empty() => m.trim().to_string(),
        _ => format!("failed rule: {}", rule.source.trim()),
    }
}

fn message_expression(
    w: &mut Walk,
    expr: &cel::Program,
    v: &Value,
    old: Option<&Value>,
    s: &Node,
    is_root: bool,
) -> Option<String> {
    let limit = cel::PER_CALL_LIMIT.min(w.budget);
    let (out, cost) = cel::evaluate(expr, v, old, s, is_root, limit);
    w.budget = w.budget.saturating_sub(cost);
    let text = cel::as_string(out.ok()?)?;
    if text.trim().is_empty() || text.contains('\n') {
        return None;
    }
    Some(text)
}
