//! IDs and names as upstream derives them (pure): the datastore ID sanitization, name
//! unescaping, and the order objects are listed in.

use std::cmp::Ordering;

use md5::{Digest as _, Md5};

/// Upstream's `sanitize`: a datastore ID is its moref, unless Go's `url.PathEscape`
/// would change it (vcsim's old `…@folder-5` morefs), in which case it is the hex MD5 of
/// the moref. Returns the ID and whether it was hashed.
pub fn sanitize_datastore_id(moref: &str) -> (String, bool) {
    if moref.bytes().all(path_segment_safe) {
        (moref.to_owned(), false)
    } else {
        (hex::encode(Md5::digest(moref.as_bytes())), true)
    }
}

/// The bytes Go's `url.PathEscape` leaves as they are.
fn path_segment_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'_' | b'.' | b'~' | b'$' | b'&' | b'+' | b':' | b'=' | b'@'
        )
}

/// Go's `url.PathUnescape` as upstream applies it to names (vSphere escapes `%`, `/`
/// and `\` in names as `%25`, `%2f`, `%5c`): `%XX` sequences are decoded; a malformed
/// sequence leaves the whole name as it is. Bytes that are not UTF-8 after decoding
/// become U+FFFD, as Go's JSON encoder writes them.
pub fn unescape_name(name: &str) -> String {
    if !name.contains('%') {
        return name.to_owned();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let high = bytes.get(index + 1).and_then(|b| hex_value(*b));
            let low = bytes.get(index + 2).and_then(|b| hex_value(*b));
            match (high, low) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    index += 3;
                }
                _ => return name.to_owned(),
            }
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// An object ID ordered as vCenter creates them: by the text before the trailing
/// number, then by that number (`vm-9` before `vm-10`), then as text. Lists come out in
/// this order (upstream lists in database insertion order, which for one collection
/// pass is the order vCenter reports objects in; moref numbers follow creation).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdKey(pub String);

impl IdKey {
    /// The key of an ID.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parts(&self) -> (&str, Option<u128>) {
        let text = self.0.as_str();
        let digits = text.len() - text.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (prefix, number) = text.split_at(digits);
        (prefix, number.parse().ok())
    }
}

impl Ord for IdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let (prefix, number) = self.parts();
        let (other_prefix, other_number) = other.parts();
        prefix
            .cmp(other_prefix)
            .then_with(|| number.cmp(&other_number))
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl From<&str> for IdKey {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_ids_hash_only_what_path_escape_changes() {
        assert_eq!(
            sanitize_datastore_id("datastore-59"),
            ("datastore-59".into(), false)
        );
        let moref = "/tmp/govcsim-DC0-LocalDS_0-1234@folder-5";
        let (id, hashed) = sanitize_datastore_id(moref);
        assert!(hashed);
        // md5 of the moref, checked with `printf %s "$moref" | md5sum`.
        assert_eq!(id, "cc537cddc4618785d10a08cc544fe044");
        assert!(sanitize_datastore_id("ds 1").1);
        assert!(!sanitize_datastore_id("a$b&c+d:e=f@g~h.i_j-k").1);
    }

    #[test]
    fn names_unescape_as_go_path_unescape() {
        assert_eq!(unescape_name("a%2fb%5Cc%25d"), "a/b\\c%d");
        assert_eq!(unescape_name("plain"), "plain");
        assert_eq!(unescape_name("100%"), "100%");
        assert_eq!(unescape_name("bad%zz%2f"), "bad%zz%2f");
        assert_eq!(unescape_name("caf%C3%A9"), "café");
        assert_eq!(unescape_name("%ff"), "\u{fffd}");
        assert_eq!(unescape_name("a+b"), "a+b");
    }

    #[test]
    fn ids_order_by_number() {
        let mut ids: Vec<IdKey> = ["vm-10", "vm-9", "host-2", "vm-100", "abc", "vm-"]
            .into_iter()
            .map(IdKey::from)
            .collect();
        ids.sort();
        let ordered: Vec<&str> = ids.iter().map(IdKey::as_str).collect();
        assert_eq!(ordered, ["abc", "host-2", "vm-", "vm-9", "vm-10", "vm-100"]);
    }
}
