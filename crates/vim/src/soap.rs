//! The HTTP side of SOAP: one POST per call, the session cookie, bounded
//! response bodies, and the mapping of transport failures to typed errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE, USER_AGENT};
use reqwest::{StatusCode, Url};

use crate::config::{ConnectConfig, Limits, display_url};
use crate::error::{Error, TlsFailure};
use crate::secret::Secret;
use crate::tls::{TlsObserver, client_config};
use crate::xml::{Body, Element, envelope_body, parse};

/// The name of vSphere's session cookie.
const SESSION_COOKIE: &str = "vmware_soap_session";

/// Sends SOAP envelopes to one endpoint.
#[derive(Debug)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub url: Url,
    pub display_url: String,
    action: RwLock<String>,
    cookie: RwLock<Option<Secret>>,
    limits: Limits,
    user_agent: String,
    observer: Option<Arc<TlsObserver>>,
    stats: Mutex<BTreeMap<String, u64>>,
}

impl Transport {
    pub fn new(config: &ConnectConfig) -> Result<Self, Error> {
        // reqwest's rustls backend needs a process-wide provider even for http.
        crate::tls::provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_keepalive(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        let mut observer = None;
        if config.url.scheme() == "https" {
            let (tls, seen) = client_config(config)?;
            builder = builder.tls_backend_preconfigured(tls);
            observer = Some(seen);
        }
        let http = builder.build().map_err(|e| Error::InvalidConfig {
            message: format!("the HTTP client cannot be built: {e}"),
        })?;
        Ok(Self {
            http,
            url: config.url.clone(),
            display_url: config.display_url(),
            action: RwLock::new("urn:vim25/8.0.3.0".to_owned()),
            cookie: RwLock::new(None),
            limits: config.limits,
            user_agent: config.user_agent.clone(),
            observer,
            stats: Mutex::new(BTreeMap::new()),
        })
    }

    /// Sends subsequent calls with `SOAPAction: urn:vim25/<version>`.
    pub fn set_api_version(&self, version: &str) {
        *self.action.write().unwrap_or_else(PoisonError::into_inner) =
            format!("urn:vim25/{version}");
    }

    /// The `Cookie` header value of the session, if logged in.
    pub fn cookie(&self) -> Option<Secret> {
        self.cookie
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the session cookie.
    pub fn clear_cookie(&self) {
        *self.cookie.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The fingerprint of the server's certificate, once a TLS handshake ran.
    pub fn fingerprint(&self) -> Option<String> {
        self.observer.as_ref().and_then(|o| o.fingerprint())
    }

    /// How many calls of each method were sent.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends one envelope and returns the response element (`<MethodResponse>`).
    pub async fn call(
        &self,
        method: &str,
        body: String,
        timeout: Duration,
    ) -> Result<Element, Error> {
        *self
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method.to_owned())
            .or_default() += 1;
        let started = Instant::now();
        let action = self
            .action
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, r#"text/xml; charset="utf-8""#)
            .header("SOAPAction", action)
            .header(USER_AGENT, self.user_agent.as_str())
            .body(body);
        if let Some(cookie) = self.cookie()
            && let Ok(value) = HeaderValue::from_str(cookie.expose())
        {
            request = request.header(COOKIE, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.send_error(e, method, timeout))?;
        self.remember_cookie(&response);
        let status = response.status();
        let bytes = self.read_body(response, method, timeout).await?;
        tracing::debug!(
            method,
            status = status.as_u16(),
            bytes = bytes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "vim25 call"
        );
        if status != StatusCode::OK && status != StatusCode::INTERNAL_SERVER_ERROR {
            return Err(Error::Http {
                url: self.display_url.clone(),
                status: status.as_u16(),
                message: excerpt(&bytes),
            });
        }
        let root = match parse(&bytes, self.limits.parse) {
            Ok(root) => root,
            Err(source) if status == StatusCode::OK => {
                return Err(Error::Xml {
                    method: method.to_owned(),
                    source,
                });
            }
            Err(_) => {
                return Err(Error::Http {
                    url: self.display_url.clone(),
                    status: status.as_u16(),
                    message: excerpt(&bytes),
                });
            }
        };
        match envelope_body(root) {
            Ok(Body::Response(element)) => Ok(element),
            Ok(Body::Fault(fault)) => Err(Error::Fault {
                method: method.to_owned(),
                fault: Box::new(fault),
            }),
            Err(message) if status == StatusCode::OK => Err(Error::Protocol {
                method: method.to_owned(),
                message,
            }),
            Err(_) => Err(Error::Http {
                url: self.display_url.clone(),
                status: status.as_u16(),
                message: excerpt(&bytes),
            }),
        }
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        method: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error> {
        let limit = self.limits.max_response_bytes;
        let too_large = || Error::ResponseTooLarge {
            method: method.to_owned(),
            limit,
        };
        let mut body = Vec::new();
        if let Some(length) = response.content_length() {
            if length > limit as u64 {
                return Err(too_large());
            }
            body.reserve(length as usize);
        }
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.send_error(e, method, timeout))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn remember_cookie(&self, response: &reqwest::Response) {
        for header in response.headers().get_all(SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("").trim();
            if let Some((name, value)) = pair.split_once('=')
                && name.trim() == SESSION_COOKIE
            {
                *self.cookie.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Secret::new(format!("{SESSION_COOKIE}={}", value.trim())));
            }
        }
    }

    /// Maps a reqwest failure to the typed error for `what`.
    pub fn send_error(&self, error: reqwest::Error, what: &str, timeout: Duration) -> Error {
        if let Some(failure) = self.observer.as_ref().and_then(|o| o.take_failure()) {
            return Error::Tls {
                url: self.display_url.clone(),
                kind: failure,
            };
        }
        if let Some(reason) = tls_cause(&error) {
            return Error::Tls {
                url: self.display_url.clone(),
                kind: TlsFailure::Handshake { reason },
            };
        }
        if error.is_timeout() {
            return Error::Timeout {
                what: what.to_owned(),
                after: timeout,
            };
        }
        let message = chain_message(&error);
        if error.is_connect() {
            Error::Connect {
                url: self.display_url.clone(),
                message,
            }
        } else {
            Error::Transport {
                url: display_url(&self.url),
                message,
            }
        }
    }
}

/// The rustls error somewhere in an error's source chain, if any.
fn tls_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        current = e.source();
    }
    None
}

/// The error and its causes, joined, without the URL (which may carry a query).
fn chain_message(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    if parts.is_empty() {
        parts.push(error.without_url_ref().to_string());
    }
    parts.join(": ")
}

/// A short, printable excerpt of a body for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let text = self.to_string();
        match self.url() {
            Some(url) => text.replace(url.as_str(), ""),
            None => text,
        }
    }
}
