//! Request parsing: paths into request information (as `RequestInfoFactory` does),
//! query parameters, and content negotiation for bodies and responses.

use crate::status::ApiError;
use crate::table::IncludeObject;

/// The verb of a resource request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true` (or the `/watch/` prefix).
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The lower-case request-info verb (`get`, `list`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }

    /// The upper-case verb the `apiserver_request_total` metric uses.
    pub fn metric(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::List => "LIST",
            Self::Watch => "WATCH",
            Self::Create => "POST",
            Self::Update => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::DeleteCollection => "DELETECOLLECTION",
        }
    }
}

/// A parsed resource request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Resource (plural).
    pub resource: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource, if any.
    pub subresource: Option<String>,
    /// Path segments past the subresource (never served).
    pub extra: bool,
    /// Whether the deprecated `/watch/` prefix was used.
    pub watch_prefix: bool,
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/livez`, `/readyz` and their sub-checks.
    Health(String),
    /// `/metrics`.
    Metrics,
    /// `/openapi/v2`.
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiV3Index,
    /// `/openapi/v3/<api|apis/...>`.
    OpenApiV3(String),
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion(String, String),
    /// A resource request.
    Resource(ResourcePath),
    /// Anything else.
    NotFound,
}

/// Parses a request path.
pub fn route(path: &str) -> Route {
    let trimmed = path.trim_matches('/');
    let parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    match parts.as_slice() {
        ["version"] => return Route::Version,
        ["metrics"] => return Route::Metrics,
        ["openapi", "v2"] => return Route::OpenApiV2,
        ["openapi", "v3"] => return Route::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] => return Route::OpenApiV3(rest.join("/")),
        [h, rest @ ..] if matches!(*h, "healthz" | "livez" | "readyz") && rest.len() <= 1 => {
            return Route::Health(parts.join("/"));
        }
        ["api"] => return Route::CoreVersions,
        ["api", v] => return Route::GroupVersion(String::new(), v.to_string()),
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group(g.to_string()),
        ["apis", g, v] => return Route::GroupVersion(g.to_string(), v.to_string()),
        _ => {}
    }
    let (group, version, mut rest): (&str, &str, &[&str]) = match parts.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (g, v, rest),
        _ => return Route::NotFound,
    };
    let mut watch_prefix = false;
    if rest.first() == Some(&"watch") {
        if rest.len() < 2 {
            return Route::NotFound;
        }
        watch_prefix = true;
        rest = &rest[1..];
    }
    let mut namespace = None;
    if rest[0] == "namespaces" && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let resource = rest[0].to_string();
    let name = rest.get(1).map(|s| s.to_string());
    let subresource = rest.get(2).map(|s| s.to_string());
    if resource.is_empty() || name.as_deref() == Some("") || subresource.as_deref() == Some("") {
        return Route::NotFound;
    }
    // For `namespaces/<name>` the "namespace" is the object itself.
    if resource == "namespaces" && rest.len() >= 2 && rest[0] == "namespaces" {
        namespace = None;
    }
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        resource,
        namespace,
        name,
        subresource,
        extra: rest.len() > 3,
        watch_prefix,
    })
}

/// Decoded query parameters (repeated keys keep their first value).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// All values of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter as kube-apiserver reads one: `0` and `false` are false,
    /// any other value (even empty) true. Never an error.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        // kube-apiserver's query conversion (`Convert_Slice_string_To_bool`):
        // `0` and `false` (any case) are false, anything else is true.
        Ok(self
            .get(key)
            .map(|v| !(v == "0" || v.eq_ignore_ascii_case("false"))))
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
            }),
        }
    }
}

/// What the response body should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The object(s) as JSON.
    Json,
    /// The object(s) as YAML.
    Yaml,
    /// A `meta.k8s.io/v1` Table.
    Table,
    /// `PartialObjectMetadata`.
    Partial,
    /// `PartialObjectMetadataList`.
    PartialList,
}

/// The media types the server can answer with.
pub const ACCEPTED: &[&str] = &["application/json", "application/yaml"];

/// Negotiates the response format from `Accept` (first acceptable entry wins).
pub fn negotiate_output(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    let mut entries: Vec<(f32, usize, Output)> = Vec::new();
    for (i, entry) in accept.split(',').enumerate() {
        let mut params = entry.split(';').map(str::trim);
        let media = params.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let (mut as_, mut g, mut v) = (None, None, None);
        for p in params {
            if let Some((k, val)) = p.split_once('=') {
                match k.trim() {
                    "q" => q = val.trim().parse().unwrap_or(1.0),
                    "as" => as_ = Some(val.trim().to_string()),
                    "g" => g = Some(val.trim().to_string()),
                    "v" => v = Some(val.trim().to_string()),
                    _ => {}
                }
            }
        }
        if q <= 0.0 {
            continue;
        }
        let out = match media.as_str() {
            "application/json" | "application/*" | "*/*" => match as_.as_deref() {
                None => Some(Output::Json),
                Some(kind) => {
                    let meta = g.as_deref() == Some("meta.k8s.io")
                        && matches!(v.as_deref(), Some("v1") | Some("v1beta1"));
                    match (kind, meta) {
                        ("Table", true) => Some(Output::Table),
                        ("PartialObjectMetadata", true) => Some(Output::Partial),
                        ("PartialObjectMetadataList", true) => Some(Output::PartialList),
                        _ => None,
                    }
                }
            },
            "application/yaml" if as_.is_none() => Some(Output::Yaml),
            _ => None,
        };
        if let Some(o) = out {
            entries.push((q, i, o));
        }
    }
    entries.sort_by(|a, b| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.1.cmp(&b.1))
    });
    entries
        .first()
        .map(|e| e.2)
        .ok_or_else(|| ApiError::not_acceptable(ACCEPTED))
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// `application/json` (or no content type).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/json-patch+json`.
    JsonPatch,
    /// `application/merge-patch+json`.
    MergePatch,
    /// `application/strategic-merge-patch+json`.
    StrategicMergePatch,
    /// `application/apply-patch+yaml`.
    ApplyPatch,
    /// `application/vnd.kubernetes.protobuf` (built-in types only).
    Protobuf,
}

/// Parses `Content-Type` for a create or update body; `protobuf` says whether the
/// resource is a built-in type (custom resources have no protobuf form).
pub fn body_type(content_type: Option<&str>, protobuf: bool) -> Result<BodyType, ApiError> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media.as_str() {
        "" | "application/json" => Ok(BodyType::Json),
        "application/yaml" => Ok(BodyType::Yaml),
        "application/vnd.kubernetes.protobuf" if protobuf => Ok(BodyType::Protobuf),
        _ if protobuf => Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ])),
        _ => Err(ApiError::unsupported_media_type(ACCEPTED)),
    }
}

/// Parses `Content-Type` for a PATCH; `strategic` says whether the resource supports
/// strategic merge patch (built-in types only).
pub fn patch_type(content_type: Option<&str>, strategic: bool) -> Result<BodyType, ApiError> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let t = match media.as_str() {
        "application/json-patch+json" => BodyType::JsonPatch,
        "application/merge-patch+json" => BodyType::MergePatch,
        "application/strategic-merge-patch+json" if strategic => BodyType::StrategicMergePatch,
        "application/apply-patch+yaml" => BodyType::ApplyPatch,
        "application/strategic-merge-patch+json" => {
            // The patch handler's own refusal, for custom resources.
            return Err(ApiError::unsupported_media_type(&[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]));
        }
        _ => {
            // No PATCH route consumes this type: kube-apiserver's router answers.
            let mut e = ApiError::unsupported_media_type(&[]);
            e.message = "415: Unsupported Media Type".into();
            e.details.present = true;
            return Err(e);
        }
    };
    Ok(t)
}

/// Parses `includeObject` for tables.
pub fn include_object(q: &Query) -> Result<IncludeObject, ApiError> {
    IncludeObject::parse(q.get("includeObject"))
        .map_err(|e| ApiError::bad_request(format!("Unable to convert to Table as requested: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(p: &str) -> ResourcePath {
        match route(p) {
            Route::Resource(r) => r,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let r = res("/api/v1/namespaces/default/pods/p/log");
        assert_eq!(
            (
                r.group.as_str(),
                r.resource.as_str(),
                r.namespace.as_deref(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("", "pods", Some("default"), Some("p"), Some("log"))
        );
        let r = res("/api/v1/namespaces/foo");
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("foo"), None)
        );
        let r = res("/api/v1/namespaces/foo/finalize");
        assert_eq!(
            (r.name.as_deref(), r.subresource.as_deref()),
            (Some("foo"), Some("finalize"))
        );
        let r = res("/apis/forklift.konveyor.io/v1beta1/plans");
        assert_eq!(
            (r.group.as_str(), r.namespace),
            ("forklift.konveyor.io", None)
        );
        let r = res("/api/v1/watch/namespaces/d/configmaps");
        assert!(r.watch_prefix);
        assert_eq!(route("/apis/g"), Route::Group("g".into()));
        assert_eq!(route("/nope"), Route::NotFound);
    }

    #[test]
    fn negotiates_tables_and_refuses_protobuf_only() {
        assert_eq!(
            negotiate_output(Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).unwrap(),
            Output::Table
        );
        assert_eq!(
            negotiate_output(Some("application/vnd.kubernetes.protobuf,application/json")).unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate_output(Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code,
            406
        );
        assert_eq!(negotiate_output(None).unwrap(), Output::Json);
    }

    #[test]
    fn patch_types_depend_on_the_resource() {
        assert!(patch_type(Some("application/strategic-merge-patch+json"), false).is_err());
        assert_eq!(
            patch_type(Some("application/strategic-merge-patch+json"), true).unwrap(),
            BodyType::StrategicMergePatch
        );
        assert_eq!(
            body_type(Some("application/vnd.kubernetes.protobuf"), false)
                .unwrap_err()
                .code,
            415
        );
        assert_eq!(
            body_type(Some("application/vnd.kubernetes.protobuf"), true).unwrap(),
            BodyType::Protobuf
        );
    }
}

/// The paths of the fields a JSON document names twice in one object
/// (`spec.size`, `spec.disks[0].id`), which `fieldValidation` reports as
/// kube-apiserver's strict decoder does. serde keeps the last value silently, so
/// this reads the raw bytes. A malformed document yields what was found before
/// the error (the parser reports the error itself).
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    enum Frame {
        Object {
            path: String,
            keys: std::collections::HashSet<String>,
            current: Option<String>,
            expect_key: bool,
        },
        Array {
            path: String,
            index: usize,
        },
    }
    fn child(stack: &[Frame]) -> String {
        match stack.last() {
            None => String::new(),
            Some(Frame::Object { path, current, .. }) => {
                let key = current.as_deref().unwrap_or_default();
                if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                }
            }
            Some(Frame::Array { path, index }) => format!("{path}[{index}]"),
        }
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < json.len() && json[i] != b'"' {
                    if json[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let Some(raw) = json.get(start..=i) else {
                    break;
                };
                let at_key = matches!(
                    stack.last(),
                    Some(Frame::Object {
                        expect_key: true,
                        ..
                    })
                );
                if at_key {
                    let key: String = serde_json::from_slice(raw).unwrap_or_default();
                    if let Some(Frame::Object {
                        path,
                        keys,
                        current,
                        expect_key,
                    }) = stack.last_mut()
                    {
                        if !keys.insert(key.clone()) {
                            found.push(if path.is_empty() {
                                key.clone()
                            } else {
                                format!("{path}.{key}")
                            });
                        }
                        *current = Some(key);
                        *expect_key = false;
                    }
                }
            }
            b'{' => {
                let path = child(&stack);
                stack.push(Frame::Object {
                    path,
                    keys: Default::default(),
                    current: None,
                    expect_key: true,
                });
            }
            b'[' => {
                let path = child(&stack);
                stack.push(Frame::Array { path, index: 0 });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expect_key, .. }) => *expect_key = true,
                Some(Frame::Array { index, .. }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod duplicate_tests {
    use super::duplicate_fields;

    #[test]
    fn finds_repeated_keys_with_their_paths() {
        let doc = br#"{"a":1,"spec":{"size":1,"size":2,"disks":[{"id":"x"},{"id":"y","id":"z"}]},"a":{"b":"}{,\"b\""}}"#;
        assert_eq!(
            duplicate_fields(doc),
            vec!["spec.size", "spec.disks[1].id", "a"]
        );
        assert!(duplicate_fields(br#"{"a":{"x":1},"b":{"x":1}}"#).is_empty());
        assert!(duplicate_fields(b"{\"a\":").is_empty());
        assert!(duplicate_fields(b"").is_empty());
    }
}
