//! Forklift's inventory REST service, provider-independent part
//! (`pkg/lib/inventory/web`, `pkg/controller/provider/web/base`).
//!
//! Routes (`:provider` is the Provider's UID):
//!
//! | route | answer |
//! |---|---|
//! | `GET /providers` | `{"ec2":[…],"hyperv":[…],"openshift":[…],"openstack":[…],"ova":[…],"ovirt":[…],"vsphere":[…]}` |
//! | `GET /providers/<type>[/]` | that type's providers |
//! | `GET /providers/<type>/<uid>` | one provider, with its resource counts |
//! | `GET /providers/<type>/<uid>/<collection>[/]` | a collection (`detail`, `name`, `limit`, `offset`) |
//! | `GET /providers/<type>/<uid>/<collection>/<id>` | one resource, full detail |
//! | `GET /providers/<type>/<uid>/workloads/<vm>` | a VM with everything it refers to |
//!
//! Status codes, as upstream: 400 for a negative or non-integer `limit`/`offset` or a
//! bad `detail`; 404 with `X-Reason: ProviderNotFound` for an unknown provider UID;
//! plain 404 for a missing resource or collection; 206 (no body) when the provider's
//! collector has not reached parity within [`RestState::parity_wait`]; 401/403 from the
//! [`auth::Authenticator`]. Error bodies are a short plain-text explanation (upstream
//! sends none).
//!
//! A provider type plugs in by implementing [`Collections`] (its collections rendered
//! as upstream's JSON) on top of [`crate::query::Inventory`], and registering each
//! Provider in the [`Registry`]. Watches (`X-Watch` websockets) are not served: such
//! requests get 501.

pub mod auth;
mod params;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

pub use params::{ListQuery, MAX_DETAIL, Page, ParamError};

use crate::query::Inventory;
use crate::registry::{ProviderInfo, Registered, Registry};
use auth::{Access, AuthError, Authenticator, Identity, bearer_token};

/// The provider types upstream's `/providers` aggregate lists (Nutanix is not in it).
pub const AGGREGATED_TYPES: [&str; 7] = [
    "ec2",
    "hyperv",
    "openshift",
    "openstack",
    "ova",
    "ovirt",
    "vsphere",
];
/// Every provider type with routes under `/providers/<type>`.
pub const PROVIDER_TYPES: [&str; 8] = [
    "ec2",
    "hyperv",
    "nutanix",
    "openshift",
    "openstack",
    "ova",
    "ovirt",
    "vsphere",
];
/// Upstream's reason header.
pub const REASON_HEADER: &str = "X-Reason";
/// Upstream's reason for an unknown provider UID.
pub const PROVIDER_NOT_FOUND: &str = "ProviderNotFound";

/// A provider type's collections, rendered as upstream's web layer does.
pub trait Collections: Inventory {
    /// A collection as a JSON array. [`RestError::NotFound`] for an unknown collection
    /// (and for collections only addressable by ID, such as `workloads`).
    fn list_json(
        &self,
        collection: &str,
        query: &ListQuery,
        links: &Links<'_>,
    ) -> Result<String, RestError>;

    /// One resource of a collection, at full detail, as a JSON document.
    fn get_json(&self, collection: &str, id: &str, links: &Links<'_>) -> Result<String, RestError>;

    /// One resource, with the request's parameters (vSphere's `tree/host` and `tree/vm`
    /// read `detail`). By default, [`Collections::get_json`].
    fn get_json_with(
        &self,
        collection: &str,
        id: &str,
        query: &ListQuery,
        links: &Links<'_>,
    ) -> Result<String, RestError> {
        let _ = query;
        self.get_json(collection, id, links)
    }

    /// The server facts the provider resource shows after `object` at detail ≥ 1, in
    /// upstream's order, as JSON values. By default OVA's empty `apiVersion` and
    /// `product`; vSphere adds `instanceUuid`.
    fn about(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![
            ("apiVersion", serde_json::Value::from("")),
            ("product", serde_json::Value::from("")),
        ]
    }

    /// The counts the provider resource shows at detail ≥ 1, in upstream's order
    /// (OVA: `vmCount`, `networkCount`, `diskCount`, `storageCount`).
    fn counts(&self) -> Vec<(&'static str, i64)>;
}

/// What resources need to build their `selfLink`s.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// The provider's UID.
    pub provider_uid: &'a str,
}

/// A request that cannot be answered with content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// 400.
    #[error(transparent)]
    BadParam(#[from] ParamError),
    /// 401 / 403 / 500.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// 404 with `X-Reason: ProviderNotFound`.
    #[error("no provider with UID '{0}' is known to the inventory")]
    ProviderNotFound(String),
    /// Plain 404.
    #[error("not found")]
    NotFound,
    /// 206: the collector has not loaded the provider yet.
    #[error("the provider's inventory is not loaded yet")]
    NotReady,
    /// 501.
    #[error("{0} is not supported by this inventory service")]
    Unsupported(&'static str),
    /// 500 (rendering failed).
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BadParam(_) => StatusCode::BAD_REQUEST,
            Self::Auth(AuthError::Unauthenticated) => StatusCode::UNAUTHORIZED,
            Self::Auth(AuthError::Forbidden(_)) => StatusCode::FORBIDDEN,
            Self::Auth(AuthError::Unavailable(_)) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::ProviderNotFound(_) | Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotReady => return StatusCode::PARTIAL_CONTENT.into_response(),
            Self::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
        };
        let mut response = (status, self.to_string()).into_response();
        if matches!(self, Self::ProviderNotFound(_)) {
            response
                .headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static(PROVIDER_NOT_FOUND));
        }
        response
    }
}

/// What the routes need.
#[derive(Clone)]
pub struct RestState {
    /// The providers served.
    pub registry: Arc<Registry>,
    /// Who may read.
    pub authenticator: Arc<dyn Authenticator>,
    /// How long a request waits for a provider's first load before answering 206
    /// (upstream: 10 s).
    pub parity_wait: Duration,
}

impl RestState {
    /// A state with upstream's 10 s parity wait.
    pub fn new(registry: Arc<Registry>, authenticator: Arc<dyn Authenticator>) -> Self {
        Self {
            registry,
            authenticator,
            parity_wait: Duration::from_secs(10),
        }
    }
}

/// The inventory service's routes.
pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/providers", get(all_providers))
        .route("/providers/", get(all_providers))
        .route("/providers/{type}", get(providers_of_type))
        .route("/providers/{type}/", get(providers_of_type))
        .route("/providers/{type}/{uid}", get(one_provider))
        .route("/providers/{type}/{uid}/{collection}", get(list_collection))
        .route(
            "/providers/{type}/{uid}/{collection}/",
            get(list_collection),
        )
        .route(
            "/providers/{type}/{uid}/{collection}/{id}",
            get(get_resource),
        )
        .with_state(state)
}

type Pairs = Query<Vec<(String, String)>>;

async fn all_providers(
    State(state): State<RestState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, RestError> {
    let identity = authenticate(&state, &headers).await?;
    let query = prepare(&headers, &pairs)?;
    authorize_list(&state, &identity, &query).await?;
    let mut body = String::from("{");
    for (index, provider_type) in AGGREGATED_TYPES.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&json(provider_type)?);
        body.push(':');
        body.push_str(&provider_list(&state, provider_type, &query)?);
    }
    body.push('}');
    Ok(json_response(body))
}

async fn providers_of_type(
    State(state): State<RestState>,
    Path(provider_type): Path<String>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, RestError> {
    let identity = authenticate(&state, &headers).await?;
    let query = prepare(&headers, &pairs)?;
    if !PROVIDER_TYPES.contains(&provider_type.as_str()) {
        return Err(RestError::NotFound);
    }
    authorize_list(&state, &identity, &query).await?;
    Ok(json_response(provider_list(
        &state,
        &provider_type,
        &query,
    )?))
}

async fn one_provider(
    State(state): State<RestState>,
    Path((provider_type, uid)): Path<(String, String)>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, RestError> {
    let identity = authenticate(&state, &headers).await?;
    prepare(&headers, &pairs)?;
    let provider = ready_provider(&state, &identity, &provider_type, &uid).await?;
    Ok(json_response(provider_json(&provider, MAX_DETAIL)?))
}

async fn list_collection(
    State(state): State<RestState>,
    Path((provider_type, uid, collection)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, RestError> {
    let identity = authenticate(&state, &headers).await?;
    let query = prepare(&headers, &pairs)?;
    let provider = ready_provider(&state, &identity, &provider_type, &uid).await?;
    let links = Links {
        provider_uid: &provider.info.uid,
    };
    Ok(json_response(provider.inventory.list_json(
        &collection,
        &query,
        &links,
    )?))
}

async fn get_resource(
    State(state): State<RestState>,
    Path((provider_type, uid, collection, id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, RestError> {
    let identity = authenticate(&state, &headers).await?;
    let query = prepare(&headers, &pairs)?;
    let provider = ready_provider(&state, &identity, &provider_type, &uid).await?;
    let links = Links {
        provider_uid: &provider.info.uid,
    };
    Ok(json_response(provider.inventory.get_json_with(
        &collection,
        &id,
        &query,
        &links,
    )?))
}

async fn authenticate(state: &RestState, headers: &HeaderMap) -> Result<Identity, RestError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    Ok(state
        .authenticator
        .authenticate(bearer_token(header))
        .await?)
}

/// Parameter checks every route makes first (upstream `Prepare`: paging, watch, detail).
fn prepare(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<ListQuery, RestError> {
    let query = ListQuery::parse(pairs)?;
    if headers.contains_key("X-Watch") {
        return Err(RestError::Unsupported("watching (X-Watch)"));
    }
    Ok(query)
}

async fn authorize_list(
    state: &RestState,
    identity: &Identity,
    query: &ListQuery,
) -> Result<(), RestError> {
    let access = Access {
        verb: "list",
        namespace: query.namespace.as_deref().unwrap_or(""),
        name: "",
    };
    Ok(state.authenticator.authorize(identity, access).await?)
}

/// Looks the provider up, checks the caller may read it, and waits for parity.
async fn ready_provider(
    state: &RestState,
    identity: &Identity,
    provider_type: &str,
    uid: &str,
) -> Result<Registered, RestError> {
    let provider = state
        .registry
        .get(uid)
        .ok_or_else(|| RestError::ProviderNotFound(uid.to_owned()))?;
    let access = Access {
        verb: "get",
        namespace: &provider.info.namespace,
        name: &provider.info.name,
    };
    state.authenticator.authorize(identity, access).await?;
    if provider.info.provider_type != provider_type {
        return Err(RestError::NotFound);
    }
    let mut status = provider.inventory.status();
    let ready = tokio::time::timeout(state.parity_wait, status.wait_for(|s| s.parity)).await;
    if !matches!(ready, Ok(Ok(_))) {
        return Err(RestError::NotReady);
    }
    Ok(provider)
}

/// A type's providers at the query's detail, paged.
fn provider_list(
    state: &RestState,
    provider_type: &str,
    query: &ListQuery,
) -> Result<String, RestError> {
    let providers = state
        .registry
        .of_type(provider_type, query.namespace.as_deref());
    let items = query
        .page
        .apply(&providers)
        .map(|provider| provider_json(provider, query.detail))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_array(items))
}

/// Upstream's provider resource: the OpenShift resource header, then at detail ≥ 1 the
/// type, the Provider object and the type's counts.
fn provider_json(provider: &Registered, detail: i64) -> Result<String, RestError> {
    let info: &ProviderInfo = &provider.info;
    let resource = ProviderResource {
        uid: &info.uid,
        version: &info.resource_version,
        namespace: &info.namespace,
        name: &info.name,
        self_link: format!("providers/{}/{}", info.provider_type, info.uid),
        id: &info.uid,
    };
    if detail == 0 {
        return json(&resource);
    }
    let mut body = json(&resource)?;
    body.pop();
    let mut fields = vec![
        ("type", json(&info.provider_type)?),
        ("object", json(&info.object)?),
    ];
    for (key, value) in provider.inventory.about() {
        fields.push((key, json(&value)?));
    }
    for (key, count) in provider.inventory.counts() {
        fields.push((key, count.to_string()));
    }
    for (key, value) in fields {
        body.push(',');
        body.push_str(&json(&key)?);
        body.push(':');
        body.push_str(&value);
    }
    body.push('}');
    Ok(body)
}

/// The OpenShift resource header (`pkg/controller/provider/web/ocp/resource.go`).
#[derive(Serialize)]
struct ProviderResource<'a> {
    uid: &'a str,
    version: &'a str,
    namespace: &'a str,
    name: &'a str,
    #[serde(rename = "selfLink")]
    self_link: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
}

/// Serializes a value, mapping the (impossible in practice) error to a 500.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, RestError> {
    serde_json::to_string(value).map_err(|error| RestError::Internal(error.to_string()))
}

/// Joins serialized items into a JSON array.
pub fn json_array(items: impl IntoIterator<Item = String>) -> String {
    let mut body = String::from("[");
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&item);
    }
    body.push(']');
    body
}

fn json_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
