//! A [`kube::Client`] whose API calls fail at a configured rate, for the controller under
//! test: the sandbox hands it to the controller instead of a plain client, and every
//! retry path (conflicts, throttling, server errors) gets exercised.
//!
//! The failures are answered by a tower layer in front of the client's HTTP stack, with a
//! Kubernetes `Status` body exactly as the API server writes one, so the client decodes
//! them into `kube::Error::Api` like real ones. Which requests fail is decided by a
//! deterministic sequence from [`ApiFaults::seed`]: a run can be repeated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::future::{BoxFuture, FutureExt};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use kube::client::{Body, ClientBuilder, DynBody};
use tower::{BoxError, Layer, Service};

use super::faults::ApiFaults;

/// Counts of what the injector did.
#[derive(Debug, Default)]
pub struct FaultStats {
    requests: AtomicU64,
    injected: AtomicU64,
}

impl FaultStats {
    /// Requests seen.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests answered with an injected error.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }
}

/// Builds a client for `config` whose calls fail as `faults` says, and the counters of
/// what it injected.
pub fn faulty_client(
    config: kube::Config,
    faults: &ApiFaults,
) -> Result<(kube::Client, Arc<FaultStats>), kube::Error> {
    let layer = FaultLayer::new(faults.clone());
    let stats = Arc::clone(&layer.stats);
    let client = ClientBuilder::try_from(config)?.with_layer(&layer).build();
    Ok((client, stats))
}

/// The tower layer behind [`faulty_client`].
#[derive(Debug, Clone)]
pub struct FaultLayer {
    faults: Arc<ApiFaults>,
    stats: Arc<FaultStats>,
}

impl FaultLayer {
    /// A layer injecting `faults`.
    pub fn new(faults: ApiFaults) -> Self {
        Self {
            faults: Arc::new(faults),
            stats: Arc::new(FaultStats::default()),
        }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<FaultStats> {
        Arc::clone(&self.stats)
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            faults: Arc::clone(&self.faults),
            stats: Arc::clone(&self.stats),
        }
    }
}

/// The service behind [`FaultLayer`].
#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
    faults: Arc<ApiFaults>,
    stats: Arc<FaultStats>,
}

impl<S> Service<Request<Body>> for FaultService<S>
where
    S: Service<Request<Body>, Response = Response<Box<DynBody>>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let n = self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let kind = RequestKind::of(request.method(), request.uri().query().unwrap_or(""));
        match decide(&self.faults, n, kind) {
            Some(code) => {
                self.stats.injected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(code, method = %request.method(), uri = %request.uri(), "injecting an API error");
                let response = injected_response(code);
                async move { Ok(response) }.boxed()
            }
            None => self.inner.call(request).boxed(),
        }
    }
}

/// What a request does, as far as fault eligibility goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A read (`GET` list or get).
    Read,
    /// A watch (`GET ...?watch=true`).
    Watch,
    /// A write (`POST`, `PUT`, `PATCH`, `DELETE`).
    Write,
}

impl RequestKind {
    /// Classifies a request by method and query string.
    pub fn of(method: &Method, query: &str) -> Self {
        if *method == Method::GET {
            let watch = query
                .split('&')
                .any(|pair| pair == "watch=true" || pair == "watch=1");
            if watch { Self::Watch } else { Self::Read }
        } else {
            Self::Write
        }
    }
}

/// Whether request number `n` of `kind` fails, and with which code (pure).
pub fn decide(faults: &ApiFaults, n: u64, kind: RequestKind) -> Option<u16> {
    if !faults.enabled() || (kind == RequestKind::Watch && !faults.watches) {
        return None;
    }
    let draw = mix(faults.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
    if unit >= faults.rate {
        return None;
    }
    // A conflict only makes sense for a write; reads get another code of the list.
    let eligible: Vec<u16> = faults
        .codes
        .iter()
        .copied()
        .filter(|code| *code != 409 || kind == RequestKind::Write)
        .collect();
    if eligible.is_empty() {
        return None;
    }
    let pick = (mix(draw) % eligible.len() as u64) as usize;
    eligible.get(pick).copied()
}

/// splitmix64's finalizer: a well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `Status` the API server writes for `code`.
pub fn status_body(code: u16) -> serde_json::Value {
    let (reason, message) = match code {
        409 => (
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your \
             changes to the latest version and try again (injected by ferry sandbox)",
        ),
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later \
             (injected by ferry sandbox)",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request (injected by ferry sandbox)",
        ),
        _ => (
            "InternalError",
            "Internal error occurred: injected by ferry sandbox",
        ),
    };
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": { "retryAfterSeconds": if code == 429 { 1 } else { 0 } },
        "code": code,
    })
}

fn injected_response(code: u16) -> Response<Box<DynBody>> {
    let body = Full::new(Bytes::from(status_body(code).to_string()))
        .map_err(|never: std::convert::Infallible| -> BoxError { match never {} });
    let mut response = Response::new(Box::new(body) as Box<DynBody>);
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if code == 429 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(rate: f64, codes: &[u16]) -> ApiFaults {
        ApiFaults {
            rate,
            codes: codes.to_vec(),
            watches: false,
            seed: 7,
        }
    }

    #[test]
    fn rate_is_respected_and_deterministic() {
        let f = faults(0.2, &[500, 429, 409]);
        let failed = (0..10_000)
            .filter(|n| decide(&f, *n, RequestKind::Write).is_some())
            .count();
        assert!((1_700..2_300).contains(&failed), "{failed}");
        let again = (0..10_000)
            .filter(|n| decide(&f, *n, RequestKind::Write).is_some())
            .count();
        assert_eq!(failed, again);
        assert!((0..1000).all(|n| decide(&faults(0.0, &[500]), n, RequestKind::Read).is_none()));
        assert!((0..1000).all(|n| decide(&faults(1.0, &[500]), n, RequestKind::Read) == Some(500)));
    }

    #[test]
    fn conflicts_only_for_writes_and_watches_spared() {
        let f = faults(1.0, &[409]);
        assert_eq!(decide(&f, 3, RequestKind::Write), Some(409));
        assert_eq!(decide(&f, 3, RequestKind::Read), None);
        assert_eq!(
            decide(&faults(1.0, &[409, 500]), 3, RequestKind::Read),
            Some(500)
        );
        assert_eq!(decide(&faults(1.0, &[500]), 3, RequestKind::Watch), None);
        let mut with_watches = faults(1.0, &[500]);
        with_watches.watches = true;
        assert_eq!(decide(&with_watches, 3, RequestKind::Watch), Some(500));
    }

    #[test]
    fn classifies_requests() {
        assert_eq!(
            RequestKind::of(&Method::GET, "watch=true&rv=1"),
            RequestKind::Watch
        );
        assert_eq!(
            RequestKind::of(&Method::GET, "labelSelector=a"),
            RequestKind::Read
        );
        assert_eq!(RequestKind::of(&Method::PATCH, ""), RequestKind::Write);
    }

    #[test]
    fn status_bodies_decode_as_kube_errors() {
        for code in [409, 429, 500, 503] {
            let status: kube::core::Status = serde_json::from_value(status_body(code)).unwrap();
            assert_eq!(status.code, code);
            assert!(status.message.contains("injected by ferry sandbox"));
        }
    }
}
