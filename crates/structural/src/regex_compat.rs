//! Go (RE2) regular expressions on the `regex` crate.
//!
//! Kubernetes compiles `pattern` and CEL `matches()` with Go's `regexp`. The `regex` crate is
//! also an RE2-style, linear-time engine, so catastrophic patterns stay cheap; the syntax
//! differs in a few places, which this module translates: Go's `\d \w \s \b` (and their
//! negations) are ASCII-only, and Go supports `\Q...\E` literal quoting.

use regex::{Regex, RegexBuilder};

/// Compiled programs may use at most this much memory (a hostile pattern is refused).
const SIZE_LIMIT: usize = 4 << 20;

/// Compiles a Go regular expression; the error text explains why it is not valid.
pub(crate) fn compile(go_pattern: &str) -> Result<Regex, String> {
    let translated = translate(go_pattern)?;
    RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => format!(
                "error parsing regexp: {}",
                s.lines()
                    .last()
                    .unwrap_or("invalid syntax")
                    .trim()
                    .trim_start_matches("error: ")
            ),
            regex::Error::CompiledTooBig(n) => {
                format!("expression too large: compiled program exceeds {n} bytes")
            }
            other => other.to_string(),
        })
}

fn class_body(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        's' => "\\t\\n\\x0C\\r ",
        _ => return None,
    })
}

fn translate(p: &str) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 8);
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut class_depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&n) = chars.get(i + 1) else {
                return Err("trailing backslash at end of expression".to_string());
            };
            i += 2;
            match n {
                'd' | 'w' | 's' => {
                    let body = class_body(n).unwrap_or_default();
                    if class_depth > 0 {
                        out.push_str(body);
                    } else {
                        out.push('[');
                        out.push_str(body);
                        out.push(']');
                    }
                }
                'D' | 'W' | 'S' => {
                    let body = class_body(n.to_ascii_lowercase()).unwrap_or_default();
                    out.push_str("[^");
                    out.push_str(body);
                    out.push(']');
                }
                'b' if class_depth == 0 => out.push_str("(?-u:\\b)"),
                'B' if class_depth == 0 => out.push_str("(?-u:\\B)"),
                'Q' if class_depth == 0 => {
                    let mut literal = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        literal.push(chars[i]);
                        i += 1;
                    }
                    out.push_str(&regex::escape(&literal));
                }
                'C' => return Err("invalid escape sequence: `\\C`".to_string()),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        match c {
            '[' => {
                // `[:alpha:]` inside a class is a POSIX class, not a nested class.
                if class_depth > 0 && chars.get(i + 1) == Some(&':') {
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        continue;
                    }
                }
                if class_depth > 0 {
                    // Go has no nested classes: a literal '['.
                    out.push_str("\\[");
                    i += 1;
                    continue;
                }
                class_depth = 1;
                out.push('[');
                i += 1;
                // A leading ']' (after an optional '^') is a literal in Go.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            ']' if class_depth > 0 => {
                class_depth = 0;
                out.push(']');
            }
            '&' | '~' | '-' if class_depth > 0 && chars.get(i + 1) == Some(&c) => {
                // Rust treats `&&`, `~~`, `--` in classes as set operations; Go as literals.
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_classes_are_ascii() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        let re = compile(r"^[\w.-]+$").unwrap();
        assert!(re.is_match("a_b.c-d"));
        assert!(!re.is_match("é"));
        let re = compile(r"^\Qa.b\E$").unwrap();
        assert!(re.is_match("a.b"));
        assert!(!re.is_match("axb"));
        assert!(compile(r"^[]a]$").unwrap().is_match("]"));
        assert!(compile(r"^[[:alpha:]]+$").unwrap().is_match("abc"));
    }

    #[test]
    fn lookaround_is_refused() {
        assert!(compile("(?=a)").is_err());
        assert!(compile("(a").is_err());
    }

    #[test]
    fn catastrophic_patterns_run_in_linear_time() {
        let re = compile("^(a+)+$").unwrap();
        let input = format!("{}!", "a".repeat(100_000));
        assert!(!re.is_match(&input));
    }
}
