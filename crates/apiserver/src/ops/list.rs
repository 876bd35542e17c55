//! List: selectors, paging with continue tokens, and the resourceVersion semantics
//! of the list API (`resourceVersion` / `resourceVersionMatch`).

use super::Api;
use crate::resource::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, FieldError};
use crate::store::{ObjectKey, PageRequest, StoredObject};
use base64::Engine;
use serde_json::{Value, json};
use std::sync::Arc;

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    /// `Exact`.
    Exact,
    /// `NotOlderThan`.
    NotOlderThan,
}

/// A list request's options.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = no limit).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion` ("" = unset).
    pub resource_version: String,
    /// `resourceVersionMatch`.
    pub rv_match: Option<RvMatch>,
}

/// One page of a list.
#[derive(Debug)]
pub struct Listed {
    /// The objects.
    pub items: Vec<Arc<StoredObject>>,
    /// The list's resourceVersion.
    pub rv: u64,
    /// The token for the next page.
    pub continue_token: Option<String>,
    /// How many objects remain after this page, when known.
    pub remaining: Option<u64>,
}

/// Encodes a continue token (as the etcd3 storage does: base64 JSON).
pub fn encode_continue(rv: u64, after: &(String, String)) -> String {
    let start = format!("{}/{}\u{0}", after.0, after.1);
    let body = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

/// Decodes a continue token into (resourceVersion, start-after key).
pub fn decode_continue(token: &str) -> Result<(u64, (String, String)), ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(format!(
            "invalid continue token: continue key is not valid: {why}"
        ))
    };
    // Go's RawURLEncoding: no padding, and lenient about the last symbol's
    // unused bits.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let raw = lenient
        .decode(token)
        .map_err(|e| bad(&go_base64_error(&e)))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| bad(&go_json_error(&raw, &e)))?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(bad("server does not recognize this encoded version"));
    }
    let rv = v
        .get("rv")
        .and_then(Value::as_u64)
        .filter(|r| *r > 0)
        .ok_or_else(|| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let start = v.get("start").and_then(Value::as_str).unwrap_or_default();
    let start = start.strip_suffix('\u{0}').unwrap_or(start);
    let (ns, name) = start.split_once('/').ok_or_else(|| {
        ApiError::bad_request("invalid continue token: continue key is not valid")
    })?;
    Ok((rv, (ns.to_string(), name.to_string())))
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            *at
        }
        base64::DecodeError::InvalidLength(at) => *at,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

/// Go's `encoding/json` syntax error text for the common case (a document that
/// does not start like JSON), else serde's.
fn go_json_error(raw: &[u8], e: &serde_json::Error) -> String {
    match raw.iter().find(|b| !b.is_ascii_whitespace()) {
        None => "unexpected end of JSON input".to_string(),
        Some(&b) if !b"{[\"tfn-0123456789".contains(&b) => format!(
            "invalid character {} looking for beginning of value",
            go_quote_char(b)
        ),
        Some(_) => e.to_string(),
    }
}

/// Go's `quoteChar`: a byte as the rune U+00XX, quoted as `strconv.Quote` would.
pub fn go_quote_char(b: u8) -> String {
    match b {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        0x07 => "'\\a'".to_string(),
        0x08 => "'\\b'".to_string(),
        0x0c => "'\\f'".to_string(),
        b'\n' => "'\\n'".to_string(),
        b'\r' => "'\\r'".to_string(),
        b'\t' => "'\\t'".to_string(),
        0x0b => "'\\v'".to_string(),
        0x00..=0x1f | 0x7f => format!("'\\x{b:02x}'"),
        0x80..=0xa0 | 0xad => format!("'\\u{:04x}'", u32::from(b)),
        _ => format!("'{}'", char::from(b)),
    }
}

fn list_options_invalid(errs: &[FieldError]) -> ApiError {
    ApiError::invalid("meta.k8s.io", "ListOptions", "", errs)
}

impl ListOptions {
    /// Checks the combinations `ValidateListOptions` refuses.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut errs = Vec::new();
        if let Some(m) = self.rv_match {
            if self.resource_version.is_empty() {
                errs.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if self.continue_token.is_some() {
                errs.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if m == RvMatch::Exact && self.resource_version == "0" {
                errs.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(list_options_invalid(&errs))
        }
    }
}

/// Parses `resourceVersionMatch`.
pub fn parse_rv_match(s: Option<&str>) -> Result<Option<RvMatch>, ApiError> {
    match s {
        None | Some("") => Ok(None),
        Some("Exact") => Ok(Some(RvMatch::Exact)),
        Some("NotOlderThan") => Ok(Some(RvMatch::NotOlderThan)),
        Some(other) => Err(list_options_invalid(&[FieldError::not_supported(
            "resourceVersionMatch",
            other,
            &["Exact", "NotOlderThan", ""],
        )])),
    }
}

/// Parses a numeric resourceVersion parameter.
pub fn parse_rv(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| {
        let q = crate::status::go_quote(s);
        ApiError::bad_request(format!(
            "invalid resource version: resourceVersion: Invalid value: {q}: strconv.ParseUint: parsing {q}: invalid syntax"
        ))
    })
}

impl Api {
    /// Checks that every field-selector label is supported by the resource.
    pub fn check_field_selector(
        &self,
        def: &ResourceDef,
        fields: &FieldSelector,
    ) -> Result<(), ApiError> {
        let probe = json!({"metadata": {}});
        for t in &fields.terms {
            if def.behaviour.field(&probe, &t.field).is_none() {
                return Err(ApiError::bad_request(
                    if def.behaviour.custom_field_labels() {
                        format!("field label not supported: {}", t.field)
                    } else {
                        format!(
                            "{:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                            t.field
                        )
                    },
                ));
            }
        }
        Ok(())
    }

    /// Whether a stored object matches label and field selectors.
    pub fn matches(
        def: &ResourceDef,
        labels: &LabelSelector,
        fields: &FieldSelector,
        obj: &StoredObject,
    ) -> bool {
        if !labels.is_empty() && !labels.matches_with(&|k| obj.meta.labels.get(k).map(String::from))
        {
            return false;
        }
        if fields.is_empty() {
            return true;
        }
        let Ok(v) = obj.value() else { return false };
        let v = def.behaviour.encode(&v, &def.version).unwrap_or(v);
        fields.matches(&|label| def.behaviour.field(&v, label))
    }

    /// Lists objects of `def` (in `namespace`, or everywhere).
    pub async fn list(
        &self,
        def: &ResourceDef,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Listed, ApiError> {
        opts.validate()?;
        self.check_field_selector(def, &opts.fields)?;
        let (at, after) = match &opts.continue_token {
            Some(token) => {
                if !opts.resource_version.is_empty() && opts.resource_version != "0" {
                    return Err(ApiError::bad_request(
                        "specifying resource version is not allowed when using continue",
                    ));
                }
                let (rv, after) = decode_continue(token)?;
                (Some(rv), Some(after))
            }
            None => {
                let rv = if opts.resource_version.is_empty() {
                    None
                } else {
                    Some(parse_rv(&opts.resource_version)?)
                };
                match (rv, opts.rv_match) {
                    (None, _) | (Some(0), _) => (None, None),
                    (Some(r), Some(RvMatch::Exact)) => (Some(r), None),
                    (Some(r), None) if opts.limit > 0 => (Some(r), None),
                    (Some(r), _) => {
                        if !self.wait_for_rv(r).await {
                            return Err(Api::read_error(crate::store::ReadError::TooNew {
                                requested: r,
                                current: self.store.current_rv(),
                            }));
                        }
                        (None, None)
                    }
                }
            }
        };
        if let Some(r) = at
            && opts.continue_token.is_none()
            && !self.wait_for_rv(r).await
        {
            return Err(Api::read_error(crate::store::ReadError::TooNew {
                requested: r,
                current: self.store.current_rv(),
            }));
        }
        let labels = &opts.labels;
        let fields = &opts.fields;
        let filter = |_k: &ObjectKey, o: &StoredObject| Api::matches(def, labels, fields, o);
        let ns = if def.namespaced { namespace } else { None };
        let page = self
            .store
            .list(&PageRequest {
                gr: &def.storage,
                namespace: ns,
                at,
                after,
                limit: opts.limit,
                filter: &filter,
            })
            .map_err(|e| match e {
                crate::store::ReadError::TooOld { .. } if opts.continue_token.is_some() => {
                    let mut err = ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
                    err.details.list_continue = opts
                        .continue_token
                        .as_deref()
                        .and_then(|t| decode_continue(t).ok())
                        .map(|(_, after)| encode_continue(self.store.current_rv(), &after));
                    err
                }
                other => Api::read_error(other),
            })?;
        Ok(Listed {
            continue_token: page.next.as_ref().map(|k| encode_continue(page.rv, k)),
            items: page.items,
            rv: page.rv,
            remaining: if labels.is_empty() && fields.is_empty() {
                page.remaining
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(42, &("default".into(), "b".into()));
        assert_eq!(
            decode_continue(&t).unwrap(),
            (42, ("default".into(), "b".into()))
        );
        assert_eq!(decode_continue("garbage!").unwrap_err().code, 400);
    }
}
