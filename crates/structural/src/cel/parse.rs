//! A parser for the Common Expression Language as used in `x-kubernetes-validations`.

use std::fmt;

/// Nesting bound for expressions (cel-go refuses deeply nested expressions too).
const MAX_NESTING: usize = 100;
/// Longest rule accepted, in bytes.
const MAX_SOURCE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Lit),
    Ident(String),
    Select(Box<Expr>, String),
    Has(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call {
        name: String,
        target: Option<Box<Expr>>,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Comprehension {
        kind: Macro,
        range: Box<Expr>,
        var: String,
        /// The predicate (all/exists/exists_one/filter) or the transform (map).
        body: Box<Expr>,
        /// `map(x, pred, transform)`: the filter applied before the transform.
        filter: Option<Box<Expr>>,
    },
}

/// A syntax error with its position, formatted like cel-go (`ERROR: <input>:1:5: ...`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERROR: <input>:1:{}: {}", self.offset + 1, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(Lit),
    Ident(String),
    Punct(&'static str),
    Eof,
}

const PUNCTS: [&str; 27] = [
    "==", "!=", "<=", ">=", "&&", "||", "?.", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":",
    ".", ",", "(", ")", "[", "]", "{", "}", "=", "|",
];

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        offset,
        message: message.into(),
    })
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                break;
            }
        }
    }

    fn next(&mut self) -> Result<(Tok, usize), SyntaxError> {
        self.skip_space();
        let start = self.pos;
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return Ok((Tok::Eof, start));
        };
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            return self.number().map(|t| (t, start));
        }
        if c == '"' || c == '\'' {
            return self.string(false, false).map(|t| (t, start));
        }
        if (c == 'r' || c == 'R' || c == 'b' || c == 'B') && rest.len() > 1 {
            let second = rest[1..].chars().next().unwrap_or(' ');
            let third = rest[2..].chars().next().unwrap_or(' ');
            let is_bytes = c == 'b' || c == 'B';
            if second == '"' || second == '\'' {
                self.pos += 1;
                let raw = !is_bytes;
                return self.string(raw, is_bytes).map(|t| (t, start));
            }
            if is_bytes && (second == 'r' || second == 'R') && (third == '"' || third == '\'') {
                self.pos += 2;
                return self.string(true, true).map(|t| (t, start));
            }
            if !is_bytes && (second == 'b' || second == 'B') && (third == '"' || third == '\'') {
                self.pos += 2;
                return self.string(true, true).map(|t| (t, start));
            }
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            self.pos += len;
            let word = &rest[..len];
            let tok = match word {
                "true" => Tok::Lit(Lit::Bool(true)),
                "false" => Tok::Lit(Lit::Bool(false)),
                "null" => Tok::Lit(Lit::Null),
                "in" => Tok::Punct("in"),
                _ => Tok::Ident(word.to_string()),
            };
            return Ok((tok, start));
        }
        for p in PUNCTS {
            if rest.starts_with(p) {
                self.pos += p.len();
                return Ok((Tok::Punct(p), start));
            }
        }
        err(
            start,
            format!("Syntax error: token recognition error at: '{c}'"),
        )
    }

    fn number(&mut self) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        if rest.starts_with("0x") || rest.starts_with("0X") {
            let digits = rest[2..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(rest.len() - 2);
            let text = &rest[2..2 + digits];
            self.pos += 2 + digits;
            let unsigned = self.src[self.pos..].starts_with(['u', 'U']);
            if unsigned {
                self.pos += 1;
                return u64::from_str_radix(text, 16)
                    .map(|v| Tok::Lit(Lit::Uint(v)))
                    .or_else(|_| err(start, "invalid uint literal"));
            }
            return i64::from_str_radix(text, 16)
                .map(|v| Tok::Lit(Lit::Int(v)))
                .or_else(|_| err(start, "invalid int literal"));
        }
        let mut len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mut is_double = false;
        let after = &rest[len..];
        if after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
            is_double = true;
            len += 1 + after[1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len() - 1);
        }
        let after = &rest[len..];
        if after.starts_with(['e', 'E']) {
            let mut k = 1;
            if after[1..].starts_with(['+', '-']) {
                k += 1;
            }
            let digits = after[k..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len() - k);
            if digits > 0 {
                is_double = true;
                len += k + digits;
            }
        }
        let text = &rest[..len];
        self.pos += len;
        if is_double {
            return text
                .parse::<f64>()
                .map(|v| Tok::Lit(Lit::Double(v)))
                .or_else(|_| err(start, "invalid double literal"));
        }
        if self.src[self.pos..].starts_with(['u', 'U']) {
            self.pos += 1;
            return text
                .parse::<u64>()
                .map(|v| Tok::Lit(Lit::Uint(v)))
                .or_else(|_| err(start, "invalid uint literal"));
        }
        // "-9223372036854775808" is handled by the parser folding a negated literal.
        match text.parse::<i64>() {
            Ok(v) => Ok(Tok::Lit(Lit::Int(v))),
            Err(_) if text == "9223372036854775808" => Ok(Tok::Lit(Lit::Uint(1u64 << 63))),
            Err(_) => err(start, "invalid int literal"),
        }
    }

    fn string(&mut self, raw: bool, bytes: bool) -> Result<Tok, SyntaxError> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        let quote = if rest.starts_with("\"\"\"") {
            "\"\"\""
        } else if rest.starts_with("'''") {
            "'''"
        } else if rest.starts_with('"') {
            "\""
        } else {
            "'"
        };
        let body_start = self.pos + quote.len();
        let triple = quote.len() == 3;
        let mut out: Vec<u8> = Vec::new();
        let mut i = body_start;
        let src = self.src.as_bytes();
        loop {
            if i >= src.len() {
                return err(
                    start,
                    "Syntax error: token recognition error: unterminated string",
                );
            }
            if self.src[i..].starts_with(quote) {
                self.pos = i + quote.len();
                break;
            }
            let c = src[i];
            if !triple && (c == b'\n' || c == b'\r') {
                return err(
                    start,
                    "Syntax error: token recognition error: newline in string",
                );
            }
            if c == b'\\' && !raw {
                let (decoded, used) = unescape(&self.src[i..], bytes).ok_or(SyntaxError {
                    offset: i,
                    message: "Syntax error: invalid escape sequence".to_string(),
                })?;
                out.extend_from_slice(&decoded);
                i += used;
                continue;
            }
            out.push(c);
            i += 1;
        }
        if bytes {
            Ok(Tok::Lit(Lit::Bytes(out)))
        } else {
            String::from_utf8(out)
                .map(|s| Tok::Lit(Lit::Str(s)))
                .or_else(|_| err(start, "invalid UTF-8 in string literal"))
        }
    }
}

/// Decodes one escape at the start of `s` (which begins with `\`): bytes and length used.
fn unescape(s: &str, bytes: bool) -> Option<(Vec<u8>, usize)> {
    let b = s.as_bytes();
    let c = *b.get(1)?;
    let simple = |x: u8| Some((vec![x], 2));
    match c {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' | b'\'' | b'"' | b'`' | b'?' => simple(c),
        b'x' | b'X' => {
            let v = u8::from_str_radix(s.get(2..4)?, 16).ok()?;
            if bytes {
                Some((vec![v], 4))
            } else {
                Some((char::from(v).to_string().into_bytes(), 4))
            }
        }
        b'u' | b'U' => {
            let n = if c == b'u' { 4 } else { 8 };
            let v = u32::from_str_radix(s.get(2..2 + n)?, 16).ok()?;
            let ch = char::from_u32(v)?;
            Some((ch.to_string().into_bytes(), 2 + n))
        }
        b'0'..=b'3' => {
            let v = u8::from_str_radix(s.get(1..4)?, 8).ok()?;
            if bytes {
                Some((vec![v], 4))
            } else {
                Some((char::from(v).to_string().into_bytes(), 4))
            }
        }
        _ => None,
    }
}

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    tok: Tok,
    tok_pos: usize,
    depth: usize,
}

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Expr, SyntaxError> {
    if src.len() > MAX_SOURCE {
        return err(
            0,
            format!("expression size exceeds limit of {MAX_SOURCE} bytes"),
        );
    }
    let mut p = Parser {
        lexer: Lexer { src, pos: 0 },
        tok: Tok::Eof,
        tok_pos: 0,
        depth: 0,
    };
    p.advance()?;
    let e = p.expr()?;
    if p.tok != Tok::Eof {
        return err(
            p.tok_pos,
            format!("Syntax error: extraneous input {}", p.describe()),
        );
    }
    Ok(e)
}

impl Parser<'_> {
    fn advance(&mut self) -> Result<(), SyntaxError> {
        let (t, pos) = self.lexer.next()?;
        self.tok = t;
        self.tok_pos = pos;
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.tok {
            Tok::Eof => "<EOF>".to_string(),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Ident(i) => format!("'{i}'"),
            Tok::Lit(l) => format!("{l:?}"),
        }
    }

    fn is(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<(), SyntaxError> {
        if self.is(p) {
            self.advance()
        } else {
            err(
                self.tok_pos,
                format!(
                    "Syntax error: mismatched input {} expecting '{p}'",
                    self.describe()
                ),
            )
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return err(
                self.tok_pos,
                format!("expression recursion limit exceeded: {MAX_NESTING}"),
            );
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        let cond = self.or()?;
        let out = if self.is("?") {
            self.advance()?;
            let a = self.or()?;
            self.expect(":")?;
            let b = self.expr()?;
            Expr::Cond(Box::new(cond), Box::new(a), Box::new(b))
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.and()?;
        let base = self.depth;
        while self.is("||") {
            self.enter()?;
            self.advance()?;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth = base;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.relation()?;
        let base = self.depth;
        while self.is("&&") {
            self.enter()?;
            self.advance()?;
            let right = self.relation()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        self.depth = base;
        Ok(left)
    }

    fn relation(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.addition()?;
        let base = self.depth;
        loop {
            let op = match &self.tok {
                Tok::Punct("==") => BinOp::Eq,
                Tok::Punct("!=") => BinOp::Ne,
                Tok::Punct("<") => BinOp::Lt,
                Tok::Punct("<=") => BinOp::Le,
                Tok::Punct(">") => BinOp::Gt,
                Tok::Punct(">=") => BinOp::Ge,
                Tok::Punct("in") => BinOp::In,
                _ => {
                    self.depth = base;
                    return Ok(left);
                }
            };
            self.enter()?;
            self.advance()?;
            let right = self.addition()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn addition(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.multiplication()?;
        let base = self.depth;
        loop {
            let op = match &self.tok {
                Tok::Punct("+") => BinOp::Add,
                Tok::Punct("-") => BinOp::Sub,
                _ => {
                    self.depth = base;
                    return Ok(left);
                }
            };
            self.enter()?;
            self.advance()?;
            let right = self.multiplication()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplication(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        let base = self.depth;
        loop {
            let op = match &self.tok {
                Tok::Punct("*") => BinOp::Mul,
                Tok::Punct("/") => BinOp::Div,
                Tok::Punct("%") => BinOp::Rem,
                _ => {
                    self.depth = base;
                    return Ok(left);
                }
            };
            self.enter()?;
            self.advance()?;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        let out = if self.is("!") {
            self.advance()?;
            Expr::Not(Box::new(self.unary()?))
        } else if self.is("-") {
            self.advance()?;
            match self.unary()? {
                Expr::Lit(Lit::Int(i)) => Expr::Lit(Lit::Int(-i)),
                Expr::Lit(Lit::Uint(u)) if u == 1u64 << 63 => Expr::Lit(Lit::Int(i64::MIN)),
                Expr::Lit(Lit::Double(d)) => Expr::Lit(Lit::Double(-d)),
                other => Expr::Neg(Box::new(other)),
            }
        } else {
            self.member()?
        };
        self.depth -= 1;
        Ok(out)
    }

    fn member(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.primary()?;
        let base = self.depth;
        loop {
            if self.is(".") || self.is("[") {
                self.enter()?;
            }
            if self.is("?.") {
                return err(self.tok_pos, "unsupported syntax '?.'");
            }
            if self.is(".") {
                self.advance()?;
                let name = match &self.tok {
                    Tok::Ident(n) => n.clone(),
                    _ => {
                        return err(
                            self.tok_pos,
                            format!(
                                "Syntax error: no viable alternative at input '.{}'",
                                self.describe()
                            ),
                        );
                    }
                };
                self.advance()?;
                if self.is("(") {
                    self.advance()?;
                    let args = self.args(")")?;
                    e = self.receiver_call(e, name, args)?;
                } else {
                    e = Expr::Select(Box::new(e), name);
                }
            } else if self.is("[") {
                self.advance()?;
                if self.is("?") {
                    return err(self.tok_pos, "unsupported syntax '[?'");
                }
                let idx = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                self.depth = base;
                return Ok(e);
            }
        }
    }

    fn receiver_call(
        &mut self,
        target: Expr,
        name: String,
        mut args: Vec<Expr>,
    ) -> Result<Expr, SyntaxError> {
        let kind = match (name.as_str(), args.len()) {
            ("all", 2) => Some(Macro::All),
            ("exists", 2) => Some(Macro::Exists),
            ("exists_one", 2) => Some(Macro::ExistsOne),
            ("map", 2) | ("map", 3) => Some(Macro::Map),
            ("filter", 2) => Some(Macro::Filter),
            _ => None,
        };
        let Some(kind) = kind else {
            return Ok(Expr::Call {
                name,
                target: Some(Box::new(target)),
                args,
            });
        };
        let var = match &args[0] {
            Expr::Ident(v) => v.clone(),
            _ => return err(self.tok_pos, "argument must be a simple name"),
        };
        let (body, filter) = if args.len() == 3 {
            let transform = args.pop();
            let pred = args.pop();
            (transform, pred.map(Box::new))
        } else {
            (args.pop(), None)
        };
        let Some(body) = body else {
            return err(self.tok_pos, "malformed macro");
        };
        Ok(Expr::Comprehension {
            kind,
            range: Box::new(target),
            var,
            body: Box::new(body),
            filter,
        })
    }

    fn args(&mut self, close: &str) -> Result<Vec<Expr>, SyntaxError> {
        let mut out = Vec::new();
        if self.is(close) {
            self.advance()?;
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if self.is(",") {
                self.advance()?;
                if self.is(close) {
                    self.advance()?;
                    return Ok(out);
                }
                continue;
            }
            self.expect(close)?;
            return Ok(out);
        }
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let pos = self.tok_pos;
        match self.tok.clone() {
            Tok::Lit(l) => {
                self.advance()?;
                Ok(Expr::Lit(l))
            }
            Tok::Ident(name) => {
                self.advance()?;
                if self.is("(") {
                    self.advance()?;
                    let args = self.args(")")?;
                    if name == "has" {
                        return match args.as_slice() {
                            [Expr::Select(target, field)] => {
                                Ok(Expr::Has(target.clone(), field.clone()))
                            }
                            _ => err(pos, "invalid argument to has() macro"),
                        };
                    }
                    return Ok(Expr::Call {
                        name,
                        target: None,
                        args,
                    });
                }
                if self.is("{") {
                    return err(
                        pos,
                        format!("unsupported syntax: message construction '{name}{{...}}'"),
                    );
                }
                Ok(Expr::Ident(name))
            }
            Tok::Punct("(") => {
                self.advance()?;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                self.advance()?;
                Ok(Expr::List(self.args("]")?))
            }
            Tok::Punct("{") => {
                self.advance()?;
                let mut entries = Vec::new();
                if self.is("}") {
                    self.advance()?;
                    return Ok(Expr::Map(entries));
                }
                loop {
                    let k = self.expr()?;
                    self.expect(":")?;
                    let v = self.expr()?;
                    entries.push((k, v));
                    if self.is(",") {
                        self.advance()?;
                        if self.is("}") {
                            self.advance()?;
                            break;
                        }
                        continue;
                    }
                    self.expect("}")?;
                    break;
                }
                Ok(Expr::Map(entries))
            }
            Tok::Punct(".") => err(pos, "unsupported syntax: leading '.' in identifier"),
            _ => err(
                pos,
                format!(
                    "Syntax error: mismatched input {} expecting expression",
                    self.describe()
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_upstream_transition_rule() {
        let e = parse("oldSelf == null || oldSelf.name == '' || self == oldSelf").unwrap();
        assert!(matches!(e, Expr::Or(..)));
    }

    #[test]
    fn precedence_and_macros() {
        let e = parse("1 + 2 * 3 == 7 && self.all(x, x > 0) ? 'a' : \"b\"").unwrap();
        assert!(matches!(e, Expr::Cond(..)));
        assert!(parse("has(self.a.b)").is_ok());
        assert!(parse("self.map(x, x > 1, x * 2)").is_ok());
        assert!(parse("r'\\d+' + b'\\x00' + '''multi\nline'''").is_ok());
    }

    #[test]
    fn syntax_errors_and_nesting_bound() {
        assert!(parse("1 +").is_err());
        assert!(parse("'unterminated").is_err());
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let negs = format!("{}1", "!".repeat(10_000));
        assert!(parse(&negs).is_err());
        let chain = vec!["1"; 10_000].join(" + ");
        assert!(parse(&chain).is_err());
        let select = format!("self{}", ".a".repeat(10_000));
        assert!(parse(&select).is_err());
    }
}
