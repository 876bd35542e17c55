//! Building responses: objects, lists, tables and `Status` errors, in JSON or YAML,
//! with `Warning` headers.

use super::request::Output;
use crate::ops::Api;
use crate::resource::ResourceDef;
use crate::status::ApiError;
use crate::store::StoredObject;
use crate::table::{self, IncludeObject};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// A `Warning` header value (`299 - "text"`).
pub fn warning_header(text: &str) -> Option<HeaderValue> {
    let escaped: String = text
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c => vec![c],
        })
        .collect();
    HeaderValue::from_str(&format!("299 - \"{escaped}\"")).ok()
}

fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    let mut seen = Vec::new();
    for w in warnings {
        if seen.contains(w) {
            continue;
        }
        seen.push(w.clone());
        if let Some(h) = warning_header(w) {
            resp.headers_mut().append(header::WARNING, h);
        }
    }
    resp
}

fn code(c: u16) -> StatusCode {
    StatusCode::from_u16(c).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A raw response with a content type.
pub fn raw(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = code(status);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON value response.
pub fn json_value(status: u16, v: &Value) -> Response {
    raw(
        status,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

/// Encodes `v` in the negotiated format (JSON or YAML).
pub fn encode(status: u16, v: &Value, output: Output) -> Response {
    match output {
        Output::Yaml => match serde_saphyr::to_string(v) {
            Ok(s) => raw(status, "application/yaml", s),
            Err(e) => error(&ApiError::internal(e)),
        },
        _ => json_value(status, v),
    }
}

/// A `Status` error response (always JSON, which every client accepts).
pub fn error(e: &ApiError) -> Response {
    let mut r = json_value(e.code, &e.to_status());
    if let Some(s) = e.details.retry_after
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// One object (get, create, update, patch, delete) in the negotiated format.
pub fn object(
    def: &ResourceDef,
    status: u16,
    obj: &Value,
    output: Output,
    include: IncludeObject,
    warnings: &[String],
) -> Response {
    let resp = match output {
        Output::Json | Output::Yaml => encode(status, obj, output),
        Output::Partial => json_value(status, &table::partial_metadata(obj)),
        Output::PartialList => error(&ApiError::not_acceptable(&["application/json", "application/yaml"]).with_message(
            "you requested PartialObjectMetadataList, but the requested object is not a list (*unstructured.Unstructured)",
        )),
        Output::Table => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
            json_value(status, &table::table(def, std::slice::from_ref(obj), json!({"resourceVersion": rv}), include, true))
        }
    };
    with_warnings(resp, warnings)
}

/// A stored object, served without re-encoding when possible.
pub fn stored(
    api: &Api,
    def: &ResourceDef,
    s: &StoredObject,
    output: Output,
    include: IncludeObject,
) -> Response {
    if output == Output::Json {
        return match api.served_bytes(def, s) {
            Ok(b) => raw(200, "application/json", b),
            Err(e) => error(&e),
        };
    }
    match api.served(def, s) {
        Ok(v) => object(def, 200, &v, output, include, &[]),
        Err(e) => error(&e),
    }
}

/// List metadata.
pub fn list_meta(rv: u64, continue_token: Option<&str>, remaining: Option<u64>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some(c) = continue_token {
        m.insert("continue".into(), json!(c));
    }
    if let Some(r) = remaining {
        m.insert("remainingItemCount".into(), json!(r));
    }
    Value::Object(m)
}

/// Removes the top-level `apiVersion` and `kind` members of a compact JSON object
/// (as the store writes them), without parsing it: kube-apiserver's typed lists of
/// built-in kinds carry them on the list only, not on its items. Anything that is
/// not a JSON object comes back unchanged.
pub fn strip_type_meta(json: &[u8]) -> Vec<u8> {
    if json.first() != Some(&b'{') {
        return json.to_vec();
    }
    // The members of the top-level object, as byte ranges (between `{`/`,` and
    // `,`/`}` at depth 1).
    let mut members: Vec<(usize, usize)> = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = 1;
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if i > start {
                        members.push((start, i));
                    }
                    break;
                }
            }
            b',' if depth == 1 => {
                members.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    let kept: Vec<&[u8]> = members
        .iter()
        .map(|&(a, b)| &json[a..b])
        .filter(|m| !m.starts_with(b"\"apiVersion\":") && !m.starts_with(b"\"kind\":"))
        .collect();
    let mut out = Vec::with_capacity(json.len());
    out.push(b'{');
    for (i, m) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(m);
    }
    out.push(b'}');
    out
}

/// Removes `apiVersion` and `kind` from a list item of a built-in kind (see
/// [`strip_type_meta`]).
pub fn strip_item_type_meta(item: &mut Value) {
    if let Some(m) = item.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
}

/// A list in the negotiated format; JSON lists are assembled from stored bytes.
/// Items of built-in kinds carry no `apiVersion`/`kind` (as kube-apiserver's typed
/// lists); custom resources' items do.
pub fn list(
    api: &Api,
    def: &ResourceDef,
    items: &[Arc<StoredObject>],
    meta: Value,
    output: Output,
    include: IncludeObject,
) -> Response {
    let typed = def.crd.is_none();
    match output {
        Output::Json => {
            let head = json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(), "metadata": meta});
            let mut body = serde_json::to_vec(&head).unwrap_or_default();
            // Replace the closing brace with the items array.
            body.pop();
            body.extend_from_slice(b",\"items\":[");
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                match api.served_bytes(def, it) {
                    Ok(b) if typed => body.extend_from_slice(&strip_type_meta(&b)),
                    Ok(b) => body.extend_from_slice(&b),
                    Err(e) => return error(&e),
                }
            }
            body.extend_from_slice(b"]}");
            raw(200, "application/json", Bytes::from(body))
        }
        _ => {
            let mut values = Vec::with_capacity(items.len());
            for it in items {
                match api.served(def, it) {
                    Ok(v) => values.push(v),
                    Err(e) => return error(&e),
                }
            }
            let plain_items = || {
                let mut plain = values.clone();
                if typed {
                    plain.iter_mut().for_each(strip_item_type_meta);
                }
                plain
            };
            match output {
                Output::Table => json_value(200, &table::table(def, &values, meta, include, true)),
                Output::PartialList => json_value(
                    200,
                    &json!({
                        "kind": "PartialObjectMetadataList",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": meta,
                        "items": values.iter().map(table::partial_metadata).collect::<Vec<_>>(),
                    }),
                ),
                Output::Partial => error(&ApiError::not_acceptable(&["application/json", "application/yaml"]).with_message(
                    "you requested PartialObjectMetadata, but the requested object is a list (*unstructured.UnstructuredList)",
                )),
                _ => encode(
                    200,
                    &json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(), "metadata": meta, "items": plain_items()}),
                    output,
                ),
            }
        }
    }
}

/// Adds warnings to any response.
pub fn warn(resp: Response, warnings: &[String]) -> Response {
    with_warnings(resp, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_level_type_meta_goes() {
        let item = br#"{"apiVersion":"v1","involvedObject":{"apiVersion":"v1","kind":"Pod"},"kind":"Event","message":"a \"kind\":, }{","metadata":{"name":"e"}}"#;
        assert_eq!(
            String::from_utf8(strip_type_meta(item)).unwrap(),
            r#"{"involvedObject":{"apiVersion":"v1","kind":"Pod"},"message":"a \"kind\":, }{","metadata":{"name":"e"}}"#
        );
        assert_eq!(strip_type_meta(br#"{"kind":"X"}"#), b"{}");
        assert_eq!(strip_type_meta(b"{}"), b"{}");
        assert_eq!(strip_type_meta(b"[1]"), b"[1]");
    }
}
