//! Printer columns (`additionalPrinterColumns`): Kubernetes JSONPath (client-go's
//! `util/jsonpath` as the CRD table convertor uses it: missing keys allowed, first result
//! wins) and the cell formatting of apiextensions' table convertor.
//!
//! ```
//! use ferry_structural::printer::{Column, Cell};
//! let col = Column::new("READY", "string", ".status.conditions[?(@.type=='Ready')].status").unwrap();
//! let obj = serde_json::json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
//! assert_eq!(col.cell(&obj, 0), Cell::String("True".into()));
//! ```

use crate::gofmt;
use serde_json::Value;

/// Why a column definition is refused (`unrecognized column definition`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    /// The JSONPath does not parse.
    #[error("unrecognized column definition {path:?}: {reason}")]
    BadPath {
        /// The column's `jsonPath`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The column type is not one the server accepts.
    #[error("unsupported column type {0:?}: must be one of boolean,date,integer,number,string")]
    BadType(String),
}

/// One table cell, as it appears in `metav1.Table` rows (`null` when the path finds nothing).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// A `string` column, or a `date` column's age (`5m`, `<invalid>`, `<unknown>`).
    String(String),
    /// An `integer` column.
    Integer(i64),
    /// A `number` column.
    Number(f64),
    /// A `boolean` column.
    Boolean(bool),
}

impl Cell {
    /// The cell as JSON, for a `Table` row.
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::String(s) => Value::String(s.clone()),
            Cell::Integer(i) => Value::from(*i),
            Cell::Number(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Boolean(b) => Value::Bool(*b),
        }
    }
}

/// A compiled printer column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column name (header).
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub column_type: String,
    path: JsonPath,
}

impl Column {
    /// Compiles a column from the CRD's `name`, `type` and `jsonPath`.
    pub fn new(name: &str, column_type: &str, json_path: &str) -> Result<Column, PrinterError> {
        if !["boolean", "date", "integer", "number", "string"].contains(&column_type) {
            return Err(PrinterError::BadType(column_type.to_string()));
        }
        Ok(Column {
            name: name.to_string(),
            column_type: column_type.to_string(),
            path: JsonPath::parse(json_path)?,
        })
    }

    /// The cell for `obj`. `now_unix` (seconds) is the current time, for `date` columns.
    pub fn cell(&self, obj: &Value, now_unix: i64) -> Cell {
        let Some(value) = self.path.find(obj).into_iter().next() else {
            return Cell::Null;
        };
        if self.column_type == "string" {
            return match value {
                Value::Null => Cell::Null,
                Value::String(s) => Cell::String(s.clone()),
                Value::Number(_) | Value::Bool(_) => Cell::String(gofmt::go_v(value)),
                Value::Array(_) | Value::Object(_) => Cell::String(crate::canonical_json(value)),
            };
        }
        cell_for_json_value(&self.column_type, value, now_unix)
    }
}

fn cell_for_json_value(column_type: &str, value: &Value, now_unix: i64) -> Cell {
    match (column_type, value) {
        (_, Value::Null) => Cell::Null,
        ("integer", Value::Number(n)) => match gofmt::go_number(n) {
            gofmt::GoNumber::Int(i) => Cell::Integer(i),
            gofmt::GoNumber::Float(f) => Cell::Integer(f as i64),
        },
        ("number", Value::Number(n)) => Cell::Number(n.as_f64().unwrap_or(f64::NAN)),
        ("boolean", Value::Bool(b)) => Cell::Boolean(*b),
        ("date", Value::String(s)) => match crate::cel::parse_rfc3339(s) {
            Some(nanos) => {
                let secs = nanos.div_euclid(1_000_000_000) as i64;
                Cell::String(human_duration(now_unix.saturating_sub(secs)))
            }
            None => Cell::String("<invalid>".to_string()),
        },
        _ => Cell::Null,
    }
}

/// apimachinery's `duration.HumanDuration` for a whole number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Recursive,
    Indices(Vec<i64>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Vec<Step>,
    op: Option<(String, Operand)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    Path(Vec<Step>),
}

/// A parsed Kubernetes JSONPath expression (with or without the surrounding `{}`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// Longest JSONPath accepted.
const MAX_PATH_LEN: usize = 4096;

impl JsonPath {
    /// Parses `.status.conditions[?(@.type=="Ready")].status`, `{.spec.url}`, `.a[*].b`,
    /// `.a[0]`, `.a[-1]`, `.a[1:3]`, `..name`, `.a['b.c']`.
    pub fn parse(expr: &str) -> Result<JsonPath, PrinterError> {
        let bad = |reason: &str| PrinterError::BadPath {
            path: expr.to_string(),
            reason: reason.to_string(),
        };
        if expr.len() > MAX_PATH_LEN {
            return Err(bad("too long"));
        }
        let mut s = expr.trim();
        if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            s = inner.trim();
        }
        let s = s.strip_prefix('$').unwrap_or(s);
        let chars: Vec<char> = s.chars().collect();
        let mut pos = 0;
        let steps = parse_steps(&chars, &mut pos, false).map_err(|e| bad(&e))?;
        if pos != chars.len() {
            return Err(bad(&format!(
                "unexpected {:?}",
                chars[pos..].iter().collect::<String>()
            )));
        }
        Ok(JsonPath { steps })
    }

    /// All values the path selects, in document order (missing keys select nothing).
    pub fn find<'a>(&self, obj: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![obj];
        for step in &self.steps {
            current = apply(step, &current);
        }
        current
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '/'
}

fn parse_steps(chars: &[char], pos: &mut usize, in_filter: bool) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while *pos < chars.len() {
        match chars[*pos] {
            '.' => {
                *pos += 1;
                if chars.get(*pos) == Some(&'.') {
                    *pos += 1;
                    steps.push(Step::Recursive);
                }
                if chars.get(*pos) == Some(&'*') {
                    *pos += 1;
                    steps.push(Step::Wildcard);
                    continue;
                }
                let start = *pos;
                while *pos < chars.len() && ident_char(chars[*pos]) {
                    *pos += 1;
                }
                if start == *pos {
                    if chars.get(*pos) == Some(&'[') || *pos == chars.len() {
                        continue;
                    }
                    return Err("invalid field name".to_string());
                }
                steps.push(Step::Field(chars[start..*pos].iter().collect()));
            }
            '[' => {
                *pos += 1;
                let close = find_close(chars, *pos).ok_or("unterminated [")?;
                let inner: String = chars[*pos..close].iter().collect();
                *pos = close + 1;
                steps.push(parse_bracket(inner.trim())?);
            }
            c if in_filter && (c == ' ' || "=!<>)".contains(c)) => break,
            c => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(steps)
}

/// The index of the `]` closing a bracket opened just before `start`, honouring quotes and
/// nested brackets.
fn find_close(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, &c) in chars.iter().enumerate().skip(start) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' => depth += 1,
                ']' if depth == 0 => return Some(i),
                ']' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        return parse_filter(f.trim()).map(Step::Filter);
    }
    if (inner.starts_with('\'') && inner.ends_with('\'')
        || inner.starts_with('"') && inner.ends_with('"'))
        && inner.len() >= 2
    {
        return Ok(Step::Field(inner[1..inner.len() - 1].to_string()));
    }
    if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 {
            return Err("invalid slice".to_string());
        }
        let num = |s: &str| -> Result<Option<i64>, String> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("invalid slice bound {s:?}"))
            }
        };
        return Ok(Step::Slice(
            num(parts[0])?,
            num(parts.get(1).copied().unwrap_or(""))?,
            num(parts.get(2).copied().unwrap_or(""))?,
        ));
    }
    let mut indices = Vec::new();
    for part in inner.split(',') {
        indices.push(
            part.trim()
                .parse()
                .map_err(|_| format!("invalid array index {part:?}"))?,
        );
    }
    Ok(Step::Indices(indices))
}

fn parse_filter(f: &str) -> Result<Filter, String> {
    let chars: Vec<char> = f.chars().collect();
    let mut pos = 0;
    let left = parse_operand_path(&chars, &mut pos)?;
    while pos < chars.len() && chars[pos] == ' ' {
        pos += 1;
    }
    if pos == chars.len() {
        return Ok(Filter { left, op: None });
    }
    let rest: String = chars[pos..].iter().collect();
    let op = ["==", "!=", "<=", ">=", "<", ">"]
        .into_iter()
        .find(|o| rest.starts_with(o))
        .ok_or_else(|| format!("unrecognized filter operator in {rest:?}"))?;
    let rhs = rest[op.len()..].trim();
    let operand = if rhs.starts_with('@') {
        let c: Vec<char> = rhs.chars().collect();
        let mut p = 0;
        let steps = parse_operand_path(&c, &mut p)?;
        Operand::Path(steps)
    } else if (rhs.starts_with('\'') && rhs.ends_with('\'')
        || rhs.starts_with('"') && rhs.ends_with('"'))
        && rhs.len() >= 2
    {
        Operand::Literal(Value::String(rhs[1..rhs.len() - 1].to_string()))
    } else if rhs == "true" || rhs == "false" {
        Operand::Literal(Value::Bool(rhs == "true"))
    } else if let Ok(i) = rhs.parse::<i64>() {
        Operand::Literal(Value::from(i))
    } else if let Ok(f) = rhs.parse::<f64>() {
        Operand::Literal(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))
    } else {
        return Err(format!("unrecognized filter operand {rhs:?}"));
    };
    Ok(Filter {
        left,
        op: Some((op.to_string(), operand)),
    })
}

fn parse_operand_path(chars: &[char], pos: &mut usize) -> Result<Vec<Step>, String> {
    if chars.get(*pos) != Some(&'@') {
        return Err("filter must start with @".to_string());
    }
    *pos += 1;
    parse_steps(chars, pos, true)
}

fn apply<'a>(step: &Step, current: &[&'a Value]) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in current {
        match step {
            Step::Field(name) => {
                if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                    out.push(x);
                }
            }
            Step::Wildcard => match v {
                Value::Object(m) => out.extend(m.values()),
                Value::Array(a) => out.extend(a.iter()),
                _ => {}
            },
            Step::Recursive => collect_recursive(v, &mut out),
            Step::Indices(idx) => {
                if let Value::Array(a) = v {
                    for i in idx {
                        let real = if *i < 0 { a.len() as i64 + i } else { *i };
                        if let Some(x) = usize::try_from(real).ok().and_then(|u| a.get(u)) {
                            out.push(x);
                        }
                    }
                }
            }
            Step::Slice(start, end, step_by) => {
                if let Value::Array(a) = v {
                    let len = a.len() as i64;
                    let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                    let s = norm(start.unwrap_or(0));
                    let e = norm(end.unwrap_or(len));
                    let by = step_by.unwrap_or(1).max(1);
                    let mut i = s;
                    while i < e {
                        out.push(&a[i as usize]);
                        i += by;
                    }
                }
            }
            Step::Filter(f) => {
                let items: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    Value::Object(m) => m.values().collect(),
                    _ => Vec::new(),
                };
                for item in items {
                    if filter_matches(f, item) {
                        out.push(item);
                    }
                }
            }
        }
    }
    out
}

fn collect_recursive<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    // Iterative, so hostile nesting cannot exhaust the stack.
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        out.push(x);
        match x {
            Value::Object(m) => stack.extend(m.values().rev()),
            Value::Array(a) => stack.extend(a.iter().rev()),
            _ => {}
        }
    }
}

fn eval_path<'a>(steps: &[Step], v: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![v];
    for s in steps {
        current = apply(s, &current);
    }
    current
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let lefts = eval_path(&f.left, item);
    let Some((op, operand)) = &f.op else {
        return !lefts.is_empty();
    };
    let rights: Vec<Value> = match operand {
        Operand::Literal(l) => vec![l.clone()],
        Operand::Path(p) => eval_path(p, item).into_iter().cloned().collect(),
    };
    lefts
        .iter()
        .any(|l| rights.iter().any(|r| compare(l, r, op)))
}

fn compare(l: &Value, r: &Value, op: &str) -> bool {
    use std::cmp::Ordering;
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        "==" => ord == Some(Ordering::Equal),
        "!=" => ord != Some(Ordering::Equal),
        "<" => ord == Some(Ordering::Less),
        ">" => ord == Some(Ordering::Greater),
        "<=" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        ">=" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({
            "metadata": {"name": "p", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"type": "vsphere", "url": "https://vc/sdk", "n": 3, "f": 1.5, "ok": true,
                     "list": [{"name": "a", "v": 1}, {"name": "b", "v": 2}], "m": {"k": "v"}},
            "status": {"phase": "Ready", "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "ConnectionTestSucceeded", "status": "False"}
            ]}
        })
    }

    #[test]
    fn columns_format_like_the_table_convertor() {
        let now = 1_704_067_200 + 3 * 86_400 + 5 * 3600;
        let cases = [
            ("string", ".spec.type", Cell::String("vsphere".into())),
            (
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
                Cell::String("True".into()),
            ),
            (
                "string",
                ".status.conditions[?(@.type==\"ConnectionTestSucceeded\")].status",
                Cell::String("False".into()),
            ),
            (
                "string",
                ".status.conditions[?(@.type=='Missing')].status",
                Cell::Null,
            ),
            ("string", ".spec.list[*].name", Cell::String("a".into())),
            ("string", ".spec.list[-1].name", Cell::String("b".into())),
            ("string", ".spec.list[1:].v", Cell::String("2".into())),
            ("string", ".spec.m", Cell::String("{\"k\":\"v\"}".into())),
            ("string", ".spec.n", Cell::String("3".into())),
            ("string", "..phase", Cell::String("Ready".into())),
            ("string", ".nothing.here", Cell::Null),
            ("integer", ".spec.n", Cell::Integer(3)),
            ("integer", ".spec.f", Cell::Integer(1)),
            ("number", ".spec.n", Cell::Number(3.0)),
            ("boolean", ".spec.ok", Cell::Boolean(true)),
            ("boolean", ".spec.type", Cell::Null),
            (
                "date",
                ".metadata.creationTimestamp",
                Cell::String("3d5h".into()),
            ),
            ("date", ".spec.type", Cell::String("<invalid>".into())),
            (
                "string",
                "{.spec.url}",
                Cell::String("https://vc/sdk".into()),
            ),
        ];
        for (ty, path, want) in cases {
            let col = Column::new("X", ty, path).unwrap();
            assert_eq!(col.cell(&obj(), now), want, "{ty} {path}");
        }
    }

    #[test]
    fn bad_columns_are_refused() {
        assert!(Column::new("X", "string", ".spec[").is_err());
        assert!(Column::new("X", "string", ".spec[?(@.a ~ 1)]").is_err());
        assert!(Column::new("X", "color", ".spec").is_err());
    }

    #[test]
    fn human_durations() {
        for (s, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (10 * 3600, "10h"),
            (3 * 86400, "3d"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (10 * 365 * 86400, "10y"),
        ] {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }
}
