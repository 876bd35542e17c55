//! The string formats a CRD schema's `format` is checked against, as kube-openapi's
//! `strfmt.Default` registry checks them. Formats outside this list (`int32`, `int64`,
//! `float`, `double`, anything unknown) are stripped by the server and never validated.

use regex::Regex;
use std::net::Ipv6Addr;
use std::sync::OnceLock;

const SUPPORTED: [&str; 24] = [
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// Whether the server validates this format (name already stripped of `-`).
pub(crate) fn is_supported(normalized: &str) -> bool {
    SUPPORTED.contains(&normalized)
}

fn rx(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

fn matches(cell: &'static OnceLock<Option<Regex>>, pattern: &str, s: &str) -> bool {
    rx(cell, pattern).is_some_and(|r| r.is_match(s))
}

/// Whether `s` is valid for the (supported) format named in the schema.
pub(crate) fn validate(format: &str, s: &str) -> bool {
    static HOSTNAME: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID3: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID4: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID5: OnceLock<Option<Regex>> = OnceLock::new();
    static HEXCOLOR: OnceLock<Option<Regex>> = OnceLock::new();
    static RGBCOLOR: OnceLock<Option<Regex>> = OnceLock::new();
    static BASE64: OnceLock<Option<Regex>> = OnceLock::new();
    static SSN: OnceLock<Option<Regex>> = OnceLock::new();
    static BSON: OnceLock<Option<Regex>> = OnceLock::new();
    match format.replace('-', "").as_str() {
        "bsonobjectid" => matches(&BSON, "^[0-9a-fA-F]{24}$", s),
        "uri" => is_request_uri(s),
        "email" => is_email(s),
        "hostname" => {
            matches(
                &HOSTNAME,
                r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
                s,
            ) && s.len() <= 255
                && s.split('.').all(|p| p.len() <= 63)
        }
        "ipv4" => parse_ip_sloppy(s) && s.contains('.'),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "uuid" => matches(
            &UUID,
            "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid3" => matches(
            &UUID3,
            "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid4" => matches(
            &UUID4,
            "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid5" => matches(
            &UUID5,
            "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            s,
        ),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => s.len() == 11 && matches(&SSN, r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$", s),
        "hexcolor" => matches(&HEXCOLOR, "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", s),
        "rgbcolor" => matches(
            &RGBCOLOR,
            r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$",
            s,
        ),
        "byte" => matches(
            &BASE64,
            r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
            s,
        ),
        "password" => true,
        "date" => parse_date(s).is_some(),
        "duration" => is_duration(s),
        "datetime" => is_date_time(s),
        _ => true,
    }
}

/// `time.Parse("2006-01-02", s)`: (year, month, day) with the day checked against the month.
pub(crate) fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year as i64, month) {
        return None;
    }
    Some((year as i64, month, day))
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// strfmt's `IsDateTime`: a date, a `t`, and `hh:mm:ss[.frac](z|±hh:mm)` (case-insensitive).
fn is_date_time(s: &str) -> bool {
    static TIME: OnceLock<Option<Regex>> = OnceLock::new();
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || parse_date(parts[0]).is_none() {
        return false;
    }
    let Some(re) = rx(
        &TIME,
        r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$",
    ) else {
        return false;
    };
    match re.captures(parts[1]) {
        Some(c) => {
            let g = |i: usize| c.get(i).map(|m| m.as_str()).unwrap_or("");
            g(1) <= "23" && g(2) <= "59" && g(3) <= "59"
        }
        None => false,
    }
}

/// strfmt's `ParseDuration`: Go's `time.ParseDuration`, or any `<digits><unit>` run.
pub(crate) fn is_duration(s: &str) -> bool {
    if go_parse_duration(s).is_some() {
        return true;
    }
    static LOOSE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = rx(&LOOSE, r"((\d+)\s*([A-Za-zµ]+))") else {
        return false;
    };
    const UNITS: [&[&str]; 8] = [
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let mut ok = false;
    for c in re.captures_iter(s) {
        if c.get(2)
            .and_then(|m| m.as_str().parse::<i64>().ok())
            .is_none()
        {
            return false;
        }
        let unit = c
            .get(3)
            .map(|m| m.as_str().trim().to_lowercase())
            .unwrap_or_default();
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, v) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(v)) || unit.eq_ignore_ascii_case(v) {
                    ok = true;
                }
            }
        }
    }
    ok
}

/// Go's `time.ParseDuration`, returning nanoseconds.
pub(crate) fn go_parse_duration(s: &str) -> Option<i128> {
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
            if int_part.is_empty() && frac_part.is_empty() {
                return None;
            }
        } else if int_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        if !frac_part.is_empty() {
            let digits = frac_part.len().min(30) as u32;
            let frac: i128 = frac_part[..digits as usize].parse().ok()?;
            value += frac * scale / 10i128.pow(digits);
        }
        total = total.checked_add(value)?;
        if total > i64::MAX as i128 + 1 {
            return None;
        }
    }
    if !neg && total > i64::MAX as i128 {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// `netutils.ParseIPSloppy`: IPv4 with leading zeros allowed, or IPv6.
fn parse_ip_sloppy(s: &str) -> bool {
    parse_ipv4_sloppy(s).is_some() || s.parse::<Ipv6Addr>().is_ok()
}

fn parse_ipv4_sloppy(s: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut out = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        out[i] = p.parse::<u16>().ok().filter(|v| *v <= 255)? as u8;
    }
    Some(out)
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let max = if parse_ipv4_sloppy(ip).is_some() {
        32
    } else if ip.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|c| c.is_ascii_digit())
        && prefix.parse::<u32>().is_ok_and(|p| p <= max)
}

/// `net.ParseMAC`: 6, 8 or 20 octets, colon/hyphen separated or dotted in groups of four.
fn is_mac(s: &str) -> bool {
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|c| c.is_ascii_hexdigit());
    if s.len() < 14 {
        return false;
    }
    let b = s.as_bytes();
    if b[2] == b':' || b[2] == b'-' {
        let sep = b[2] as char;
        let parts: Vec<&str> = s.split(sep).collect();
        [6, 8, 20].contains(&parts.len()) && parts.iter().all(|p| hex(p, 2))
    } else if b[4] == b'.' {
        let parts: Vec<&str> = s.split('.').collect();
        [3, 4, 10].contains(&parts.len()) && parts.iter().all(|p| hex(p, 4))
    } else {
        false
    }
}

fn is_isbn10(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|c| *c != b' ' && *c != b'-').collect();
    if t.len() != 10
        || !t[..9].iter().all(u8::is_ascii_digit)
        || !(t[9].is_ascii_digit() || t[9] == b'X')
    {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in t[..9].iter().enumerate() {
        sum += (i as u32 + 1) * u32::from(c - b'0');
    }
    sum += 10
        * if t[9] == b'X' {
            10
        } else {
            u32::from(t[9] - b'0')
        };
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|c| *c != b' ' && *c != b'-').collect();
    if t.len() != 13 || !t.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in t[..12].iter().enumerate() {
        sum += [1, 3][i % 2] * u32::from(c - b'0');
    }
    (10 - sum % 10) % 10 == u32::from(t[12] - b'0')
}

fn is_credit_card(s: &str) -> bool {
    static CC: OnceLock<Option<Regex>> = OnceLock::new();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !matches(
        &CC,
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$",
        &digits,
    ) {
        return false;
    }
    let mut sum = 0u32;
    let mut double = false;
    for c in digits.bytes().rev() {
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d >= 10 {
                d = d % 10 + 1;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

/// Go's `url.ParseRequestURI` acceptance.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    // scheme
    let mut scheme = "";
    let mut rest = s;
    for (i, c) in s.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return false;
            }
            scheme = &s[..i];
            rest = &s[i + 1..];
        }
        break;
    }
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    if !rest.starts_with('/') {
        return !scheme.is_empty();
    }
    let mut path = rest;
    if !scheme.is_empty() && rest.starts_with("//") {
        let auth_and_path = &rest[2..];
        let end = auth_and_path.find('/').unwrap_or(auth_and_path.len());
        let authority = &auth_and_path[..end];
        path = &auth_and_path[end..];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !valid_host(host) {
            return false;
        }
    }
    valid_escapes(path)
}

fn valid_host(host: &str) -> bool {
    let (name, port) = if let Some(stripped) = host.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return false;
        };
        (&stripped[..close], &stripped[close + 1..])
    } else {
        match host.rfind(':') {
            Some(i) => (&host[..i], &host[i..]),
            None => (host, ""),
        }
    };
    if !port.is_empty() && !(port.starts_with(':') && port[1..].bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    valid_escapes(name)
        && name.bytes().all(|c| {
            c >= 0x80 || c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"%".contains(&c)
        })
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(x), Some(y)) if x.is_ascii_hexdigit() && y.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// `net/mail.ParseAddress` for the common shapes: `local@domain` or `Name <local@domain>`.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        &s[open + 1..s.len() - 1]
    } else {
        s
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom =
        |p: &str| !p.is_empty() && p.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    let local_ok =
        dot_atom(local) || (local.len() >= 2 && local.starts_with('"') && local.ends_with('"'));
    let domain_ok = dot_atom(domain) || (domain.starts_with('[') && domain.ends_with(']'));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn formats_accept_and_reject_like_kube_openapi() {
        let cases: &[(&str, &str, bool)] = &[
            ("date-time", "2024-05-01T10:00:00Z", true),
            ("date-time", "2024-05-01T10:00:00.123+02:00", true),
            ("date-time", "2024-05-01 10:00:00Z", false),
            ("date-time", "2024-02-30T10:00:00Z", false),
            ("date-time", "", false),
            ("date", "2024-02-29", true),
            ("date", "2023-02-29", false),
            ("uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", true),
            ("uuid", "6BA7B8109DAD11D180B400C04FD430C8", true),
            ("uuid", "not-a-uuid", false),
            ("byte", "aGVsbG8=", true),
            ("byte", "aGVsbG8", false),
            ("uri", "https://example.com/a?b=c", true),
            ("uri", "/relative/path", true),
            ("uri", "relative", false),
            ("uri", "http://host:port/", false),
            ("uri", "mailto:someone", true),
            ("ipv4", "10.0.0.1", true),
            ("ipv4", "010.0.0.1", true),
            ("ipv4", "::1", false),
            ("ipv6", "::1", true),
            ("ipv6", "10.0.0.1", false),
            ("cidr", "10.0.0.0/8", true),
            ("cidr", "10.0.0.0/33", false),
            ("mac", "01:23:45:67:89:ab", true),
            ("mac", "0123.4567.89ab", true),
            ("mac", "01:23:45", false),
            ("hostname", "example.com", true),
            ("hostname", "-bad.com", false),
            ("duration", "1h30m", true),
            ("duration", "3 days", true),
            ("duration", "soon", false),
            ("email", "a@example.com", true),
            ("email", "Bob <bob@example.com>", true),
            ("email", "nope", false),
            ("isbn10", "0321751043", true),
            ("isbn13", "978-0321751041", true),
            ("creditcard", "4111 1111 1111 1111", true),
            ("creditcard", "4111 1111 1111 1112", false),
            ("ssn", "123-45-6789", true),
            ("hexcolor", "#FFF", true),
            ("rgbcolor", "rgb(255, 0, 10)", true),
            ("rgbcolor", "rgb(256, 0, 10)", false),
            ("bsonobjectid", "507f1f77bcf86cd799439011", true),
            ("password", "anything", true),
        ];
        for (format, value, ok) in cases {
            assert_eq!(validate(format, value), *ok, "{format} {value:?}");
        }
    }
}
