//! Calls to a conversion pod's endpoints (`http://<podIP>:2112/metrics`,
//! `:8080/vm`, `/inspection`, `/warnings`, `POST /shutdown`), behind [`PodHttp`] so
//! tests and the sandbox can answer them in process.

use crate::execute::action::{HttpAnswer, HttpRequest, Method};
use futures::future::BoxFuture;
use std::time::Duration;

/// Largest body read from a pod; longer answers are cut (virt-v2v's answers are a few
/// kilobytes).
pub const BODY_LIMIT: usize = 4 << 20;

/// Calls conversion pods.
pub trait PodHttp: Send + Sync {
    /// Makes `request` and classifies the outcome; never fails (failures are answers).
    fn call<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpAnswer>;
}

/// [`PodHttp`] over plain HTTP with `reqwest`.
#[derive(Clone, Debug)]
pub struct ReqwestPods {
    client: reqwest::Client,
}

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for conversion pods: {0}")]
pub struct HttpClientError(#[source] reqwest::Error);

impl ReqwestPods {
    /// A client with short timeouts (connect 3 s, whole request 15 s). Installs the
    /// process's default `rustls` provider (ring) if none is installed, as the
    /// workspace's `reqwest` carries no provider of its own.
    pub fn new() -> Result<Self, HttpClientError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            // Every conversion pod is a host of its own, asked a few times seconds
            // apart: pooled idle connections (tens of KiB of buffers each, for 90 s)
            // would cost more memory at a thousand pods than the reconnects cost time.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(HttpClientError)?;
        Ok(Self { client })
    }
}

fn classify(error: &reqwest::Error) -> HttpAnswer {
    if error.is_connect() {
        HttpAnswer::Refused
    } else if error.is_timeout() {
        HttpAnswer::Failed("the request timed out".into())
    } else if error.is_request() || error.is_body() {
        // The server closed the connection without (a whole) response: what
        // `POST /shutdown` gives while the server exits.
        HttpAnswer::Eof
    } else {
        HttpAnswer::Failed(error.to_string())
    }
}

impl PodHttp for ReqwestPods {
    fn call<'a>(&'a self, request: &'a HttpRequest) -> BoxFuture<'a, HttpAnswer> {
        Box::pin(async move {
            let builder = match request.method {
                Method::Get => self.client.get(&request.url),
                Method::Post => self.client.post(&request.url),
            };
            let mut response = match builder.send().await {
                Ok(response) => response,
                Err(error) => return classify(&error),
            };
            let status = response.status().as_u16();
            let mut body = Vec::new();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = BODY_LIMIT.saturating_sub(body.len());
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if body.len() >= BODY_LIMIT {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => return classify(&error),
                }
            }
            HttpAnswer::Response {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot server: answers GETs with `body`, and closes POSTs without an answer
    /// (as virt-v2v's server does on `/shutdown`).
    async fn serve(body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut request = vec![0u8; 4096];
                let n = stream.read(&mut request).await.unwrap_or(0);
                if request[..n].starts_with(b"POST") {
                    drop(stream);
                    continue;
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let pods = ReqwestPods::new().unwrap();
        let base = serve("v2v_disk_transfers{disk_id=\"1\"} 42\n").await;
        let get = HttpRequest {
            method: Method::Get,
            url: format!("{base}/metrics"),
        };
        assert_eq!(
            pods.call(&get).await,
            HttpAnswer::Response {
                status: 200,
                body: "v2v_disk_transfers{disk_id=\"1\"} 42\n".into()
            }
        );
        let shutdown = HttpRequest {
            method: Method::Post,
            url: format!("{base}/shutdown"),
        };
        assert_eq!(pods.call(&shutdown).await, HttpAnswer::Eof);
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = HttpRequest {
            method: Method::Get,
            url: format!("http://127.0.0.1:{port}/vm"),
        };
        assert_eq!(pods.call(&refused).await, HttpAnswer::Refused);
    }
}
