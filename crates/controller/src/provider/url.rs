//! The errors of Go's `net/url.Parse` that upstream reports in `UrlNotValid/Malformed`
//! ("The `url` is malformed: <error>").
//!
//! Go's parser is lenient (a bare word parses as a relative path); it fails on control
//! characters, a leading colon, an invalid scheme-less first segment, a bad host
//! (unbalanced brackets, a bad port, characters not allowed in host names) and invalid
//! percent-escapes. These are the checks reproduced here, with Go's wording.

/// Go's `strconv.Quote` for the strings that appear in these messages.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scheme_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || (!first && (c.is_ascii_digit() || matches!(c, '+' | '-' | '.')))
}

/// Go's `getScheme`: `Ok(Some(scheme_end))`, `Ok(None)` (no scheme) or the error.
fn scheme(url: &str) -> Result<Option<usize>, &'static str> {
    for (i, c) in url.char_indices() {
        if c == ':' {
            if i == 0 {
                return Err("missing protocol scheme");
            }
            return Ok(Some(i));
        }
        if !scheme_char(c, i == 0) {
            return Ok(None);
        }
    }
    Ok(None)
}

fn check_escapes(part: &str, host: bool) -> Result<(), String> {
    let bytes = part.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !valid {
                let end = (i + 3).min(bytes.len());
                let escape = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                return Err(format!("invalid URL escape {}", quote(&escape)));
            }
            // Go only allows %25 in hosts (zone identifiers).
            if host && &part[i..i + 3] != "%25" {
                let escape = &part[i..i + 3];
                return Err(format!("invalid URL escape {}", quote(escape)));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Go's `validOptionalPort`.
fn valid_port(port: &str) -> bool {
    port.is_empty() || (port.starts_with(':') && port[1..].chars().all(|c| c.is_ascii_digit()))
}

fn host_char_ok(c: char) -> bool {
    // Go's `shouldEscape(c, encodeHost)` plus the characters a host may carry.
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | ':'
                | '['
                | ']'
                | '<'
                | '>'
                | '"'
                | '%'
        )
        || !c.is_ascii()
}

fn check_host(host: &str) -> Result<(), String> {
    if let Some(rest) = host.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &rest[close + 1..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
        return check_escapes(&rest[..close], true);
    }
    if let Some(colon) = host.rfind(':') {
        let port = &host[colon..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
    }
    if let Some(bad) = host.chars().find(|c| !host_char_ok(*c)) {
        return Err(format!(
            "invalid character {} in host name",
            quote(&bad.to_string())
        ));
    }
    check_escapes(host, true)
}

/// The error Go's `url.Parse` returns for `url`, formatted as Go formats it
/// (`parse "<url>": <reason>`); `None` when Go accepts it.
pub fn parse_error(url: &str) -> Option<String> {
    let reason = reason(url).err()?;
    Some(format!("parse {}: {reason}", quote(url)))
}

fn reason(url: &str) -> Result<(), String> {
    if url.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let (without_fragment, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    if let Some(fragment) = fragment {
        check_escapes(fragment, false)?;
    }
    let rest = match scheme(without_fragment).map_err(str::to_string)? {
        Some(end) => &without_fragment[end + 1..],
        None => without_fragment,
    };
    let has_scheme = rest.len() != without_fragment.len();
    let rest = rest.split_once('?').map_or(rest, |(path, _query)| path);
    if let Some(authority_and_path) = rest.strip_prefix("//") {
        let end = authority_and_path
            .find('/')
            .unwrap_or(authority_and_path.len());
        let (authority, path) = authority_and_path.split_at(end);
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        check_host(host)?;
        return check_escapes(path, false);
    }
    if !has_scheme
        && !rest.starts_with('/')
        && rest
            .split('/')
            .next()
            .is_some_and(|segment| segment.contains(':'))
    {
        return Err("first path segment in URL cannot contain colon".into());
    }
    check_escapes(rest, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        for url in [
            "https://vcenter.example.com/sdk",
            "https://10.0.0.1:443/sdk",
            "https://[fe80::1%25eth0]:8443/ovirt-engine/api",
            "https://user@host/path?query=%zz",
            "not-a-url",
            "/relative/path",
            "https://host/a%20b",
            "https://ünicode.example/",
        ] {
            assert_eq!(parse_error(url), None, "{url}");
        }
    }

    #[test]
    fn reports_gos_errors() {
        let cases = [
            (
                "https://host/\x01",
                r#"parse "https://host/\x01": net/url: invalid control character in URL"#,
            ),
            (":foo", r#"parse ":foo": missing protocol scheme"#),
            (
                "1a:b",
                r#"parse "1a:b": first path segment in URL cannot contain colon"#,
            ),
            (
                "https://[::1/sdk",
                r#"parse "https://[::1/sdk": missing ']' in host"#,
            ),
            (
                "https://host:port/sdk",
                r#"parse "https://host:port/sdk": invalid port ":port" after host"#,
            ),
            (
                "https://a b/sdk",
                r#"parse "https://a b/sdk": invalid character " " in host name"#,
            ),
            (
                "https://host/%zz",
                r#"parse "https://host/%zz": invalid URL escape "%zz""#,
            ),
            (
                "https://host/%4",
                r#"parse "https://host/%4": invalid URL escape "%4""#,
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(parse_error(url).as_deref(), Some(expected), "{url:?}");
        }
    }
}
