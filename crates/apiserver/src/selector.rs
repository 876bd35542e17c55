//! Label selectors (`labels.Parse`) and field selectors (`fields.ParseSelector`), in
//! the query-string syntax kubectl and client libraries send.

use crate::names;
use std::collections::BTreeMap;

/// A label selector operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOp {
    /// `key=value` / `key==value`.
    Equals,
    /// `key!=value`.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`.
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>n`.
    GreaterThan,
    /// `key<n`.
    LessThan,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub op: LabelOp,
    /// The values (sorted, deduplicated).
    pub values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        let v = labels(&self.key);
        let v = v.as_ref();
        match self.op {
            LabelOp::Equals | LabelOp::In => v.is_some_and(|v| self.values.contains(v)),
            LabelOp::NotEquals | LabelOp::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            LabelOp::Exists => v.is_some(),
            LabelOp::DoesNotExist => v.is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                let (Some(v), Some(bound)) = (v, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// A parsed label selector; all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// The requirements, ANDed.
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether labels (looked up through `get`) satisfy every requirement.
    pub fn matches_with(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches(get))
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(&|k| labels.get(k).cloned())
    }

    /// Parses the `labelSelector` query parameter.
    pub fn parse(s: &str) -> Result<Self, String> {
        let toks = lex(s)?;
        let mut p = Parser { toks, pos: 0 };
        let mut requirements = Vec::new();
        loop {
            match p.peek() {
                Tok::End => break,
                Tok::Bang => {}
                t if Parser::value_ident(t).is_some() => {}
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.text()
                    ));
                }
            }
            // As labels.Parse: errors inside one requirement carry this prefix.
            requirements.push(
                p.requirement()
                    .map_err(|e| format!("unable to parse requirement: {e}"))?,
            );
            match p.next() {
                Tok::End => break,
                Tok::Comma => {
                    let next = p.peek();
                    if !matches!(next, Tok::Bang) && Parser::value_ident(next).is_none() {
                        return Err(format!(
                            "found '{}', expected: identifier after ','",
                            next.text()
                        ));
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        t.text()
                    ));
                }
            }
        }
        Ok(Self { requirements })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    Gt,
    Lt,
    End,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Bang => "!".into(),
            Tok::Eq => "=".into(),
            Tok::DoubleEq => "==".into(),
            Tok::NotEq => "!=".into(),
            Tok::In => "in".into(),
            Tok::NotIn => "notin".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Gt => ">".into(),
            Tok::Lt => "<".into(),
            Tok::End => String::new(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '(' | ')' | ',' | '>' | '<')
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_special(c) {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let (tok, n) = match two.as_str() {
                "==" => (Tok::DoubleEq, 2),
                "!=" => (Tok::NotEq, 2),
                _ => match c {
                    '!' => (Tok::Bang, 1),
                    '=' => (Tok::Eq, 1),
                    '(' => (Tok::Open, 1),
                    ')' => (Tok::Close, 1),
                    ',' => (Tok::Comma, 1),
                    '>' => (Tok::Gt, 1),
                    _ => (Tok::Lt, 1),
                },
            };
            out.push(tok);
            i += n;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push(match word.as_str() {
            "in" => Tok::In,
            "notin" => Tok::NotIn,
            _ => Tok::Ident(word),
        });
    }
    out.push(Tok::End);
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).unwrap_or(&Tok::End)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// In value position, keywords are plain identifiers.
    fn value_ident(t: &Tok) -> Option<String> {
        match t {
            Tok::Ident(s) => Some(s.clone()),
            Tok::In => Some("in".into()),
            Tok::NotIn => Some("notin".into()),
            _ => None,
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        if matches!(self.peek(), Tok::Bang) {
            self.next();
            negated = true;
        }
        let t = self.next();
        let key = match Self::value_ident(&t) {
            Some(k) => k,
            None => return Err(format!("found '{}', expected: identifier", t.text())),
        };
        validate_key(&key)?;
        if negated || matches!(self.peek(), Tok::End | Tok::Comma) {
            let op = if negated {
                LabelOp::DoesNotExist
            } else {
                LabelOp::Exists
            };
            if negated && !matches!(self.peek(), Tok::End | Tok::Comma) {
                return Err(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    self.peek().text()
                ));
            }
            return Ok(Requirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        let op = match self.next() {
            Tok::Eq | Tok::DoubleEq => LabelOp::Equals,
            Tok::NotEq => LabelOp::NotEquals,
            Tok::In => LabelOp::In,
            Tok::NotIn => LabelOp::NotIn,
            Tok::Gt => LabelOp::GreaterThan,
            Tok::Lt => LabelOp::LessThan,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.text()
                ));
            }
        };
        let mut values = Vec::new();
        match op {
            LabelOp::In | LabelOp::NotIn => {
                match self.next() {
                    Tok::Open => {}
                    t => return Err(format!("found '{}' expected: '('", t.text())),
                }
                if matches!(self.peek(), Tok::Close) {
                    self.next();
                    values.push(String::new());
                } else {
                    loop {
                        match self.peek().clone() {
                            Tok::Comma => {
                                values.push(String::new());
                                self.next();
                                continue;
                            }
                            t => {
                                if let Some(v) = Self::value_ident(&t) {
                                    self.next();
                                    values.push(v);
                                } else if matches!(t, Tok::Close) {
                                    values.push(String::new());
                                } else {
                                    return Err(format!(
                                        "found '{}', expected: ',', or identifier",
                                        t.text()
                                    ));
                                }
                            }
                        }
                        match self.next() {
                            Tok::Comma => continue,
                            Tok::Close => break,
                            t => return Err(format!("found '{}', expected: ',' or ')'", t.text())),
                        }
                    }
                }
            }
            _ => {
                // A missing value means the empty string (`key=`).
                match self.peek().clone() {
                    Tok::End | Tok::Comma => values.push(String::new()),
                    t => match Self::value_ident(&t) {
                        Some(v) => {
                            self.next();
                            values.push(v);
                        }
                        None => {
                            return Err(format!("found '{}', expected: identifier", t.text()));
                        }
                    },
                }
                if matches!(op, LabelOp::GreaterThan | LabelOp::LessThan)
                    && values[0].parse::<i64>().is_err()
                {
                    return Err(format!(
                        "values[0]: Invalid value: {:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                        values[0]
                    ));
                }
            }
        }
        if !matches!(op, LabelOp::GreaterThan | LabelOp::LessThan) {
            for (i, v) in values.iter().enumerate() {
                if let Some(msg) = names::label_value_error(v) {
                    return Err(format!("values[{i}][{key}]: Invalid value: {v:?}: {msg}"));
                }
            }
        }
        values.sort();
        values.dedup();
        Ok(Requirement { key, op, values })
    }
}

fn validate_key(key: &str) -> Result<(), String> {
    match names::qualified_name_error(key) {
        None => Ok(()),
        // labels.Parse builds requirements without a field path: Go prints <nil>.
        Some(msg) => Err(format!("<nil>: Invalid value: {key:?}: {msg}")),
    }
}

/// One field-selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field label, `metadata.name`.
    pub field: String,
    /// The value to compare with.
    pub value: String,
    /// `!=` rather than `=`.
    pub negated: bool,
}

/// A parsed field selector; all terms must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms, ANDed.
    pub terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Whether it selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Parses the `fieldSelector` query parameter (with `\` escapes).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in split_unescaped(s, ',') {
            if part.is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some(i) = find_unescaped(&part, "!=") {
                (&part[..i], &part[i + 2..], true)
            } else if let Some(i) = find_unescaped(&part, "==") {
                (&part[..i], &part[i + 2..], false)
            } else if let Some(i) = find_unescaped(&part, "=") {
                (&part[..i], &part[i + 1..], false)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let value = unescape(value)
                .map_err(|e| format!("invalid field selector value {value:?}: {e}"))?;
            terms.push(FieldTerm {
                field: field.trim().to_string(),
                value,
                negated,
            });
        }
        Ok(Self { terms })
    }

    /// The value `field` must equal, if the selector pins it.
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && !t.negated)
            .map(|t| t.value.as_str())
    }

    /// Whether the object's field values (looked up through `get`) satisfy it.
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let v = get(&t.field).unwrap_or_default();
            (v == t.value) != t.negated
        })
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if escaped {
        cur.push('\\');
    }
    out.push(cur);
    out
}

fn find_unescaped(s: &str, pat: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(pat) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence \\{e}")),
                None => return Err("unterminated escape sequence".into()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_every_operator() {
        let s = LabelSelector::parse("a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g,h>4,i<9").unwrap();
        assert_eq!(s.requirements.len(), 9);
        let l = labels(&[
            ("a", "1"),
            ("b", "2"),
            ("c", "4"),
            ("d", "y"),
            ("e", "q"),
            ("f", ""),
            ("h", "5"),
            ("i", "8"),
        ]);
        assert!(s.matches(&l));
        let mut l2 = l.clone();
        l2.insert("g".into(), "x".into());
        assert!(!s.matches(&l2));
    }

    #[test]
    fn notin_and_not_equals_match_absent_labels() {
        let s = LabelSelector::parse("env notin (prod),tier!=db").unwrap();
        assert!(s.matches(&labels(&[])));
    }

    #[test]
    fn rejects_garbage() {
        assert!(LabelSelector::parse("a in x").is_err());
        assert!(LabelSelector::parse("a=b c").is_err());
        assert!(LabelSelector::parse("=x").is_err());
        assert!(LabelSelector::parse("a=(").is_err());
        assert!(LabelSelector::parse("a,").is_err());
        assert!(LabelSelector::parse("a=b!c").is_err());
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("Bad Key=1").is_err());
    }

    #[test]
    fn empty_selector_selects_all() {
        assert!(LabelSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn field_selectors_with_escapes() {
        let f = FieldSelector::parse("metadata.name=a\\,b,status.phase!=Running").unwrap();
        assert_eq!(f.terms[0].value, "a,b");
        assert!(f.terms[1].negated);
        assert!(f.matches(&|k| match k {
            "metadata.name" => Some("a,b".into()),
            "status.phase" => Some("Pending".into()),
            _ => None,
        }));
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
