//! Pod logs: where `GET .../pods/<name>/log` gets its text. In a cluster the kubelet
//! serves it; here a pluggable [`PodLogSource`] does, so a sandbox's simulated
//! kubelet can supply what its containers print. [`MemoryLogs`] is the default: a
//! buffer per container that tests and simulators append to.

use axum::body::Bytes;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

/// One log request (`PodLogOptions`), after the server has resolved the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Pod UID (a recreated pod has new logs).
    pub uid: String,
    /// Container name.
    pub container: String,
    /// Stream new output until the client goes away.
    pub follow: bool,
    /// The previous instance's logs.
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// At most this many bytes.
    pub limit_bytes: Option<i64>,
    /// Prefix lines with timestamps (sources that have none ignore it).
    pub timestamps: bool,
}

/// Why a source cannot serve logs (answered as `400 BadRequest`, as the kubelet's
/// errors reach clients).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub String);

/// Log output: all at once, or a stream (for `follow`).
pub enum LogBody {
    /// The whole text.
    Text(Bytes),
    /// Chunks as they come; the stream ends when the container's output does.
    Stream(BoxStream<'static, Bytes>),
}

impl std::fmt::Debug for LogBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => f.debug_tuple("Text").field(&t.len()).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// Supplies container logs.
pub trait PodLogSource: Send + Sync + 'static {
    /// The logs for one container.
    fn logs(&self, req: &LogRequest) -> Result<LogBody, LogError>;
}

#[derive(Default)]
struct Buffers {
    text: HashMap<(String, String, String), String>,
    closed: std::collections::HashSet<(String, String, String)>,
}

/// An in-memory log source: text appended per (namespace, pod, container).
pub struct MemoryLogs {
    buffers: Mutex<Buffers>,
    changed: watch::Sender<u64>,
}

impl std::fmt::Debug for MemoryLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLogs").finish_non_exhaustive()
    }
}

impl Default for MemoryLogs {
    fn default() -> Self {
        Self {
            buffers: Mutex::new(Buffers::default()),
            changed: watch::channel(0).0,
        }
    }
}

fn key(ns: &str, pod: &str, container: &str) -> (String, String, String) {
    (ns.to_string(), pod.to_string(), container.to_string())
}

impl MemoryLogs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffers> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends output of a container.
    pub fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.lock()
            .text
            .entry(key(namespace, pod, container))
            .or_default()
            .push_str(text);
        self.changed.send_modify(|n| *n += 1);
    }

    /// Marks a container's output as finished (following readers stop).
    pub fn close(&self, namespace: &str, pod: &str, container: &str) {
        self.lock().closed.insert(key(namespace, pod, container));
        self.changed.send_modify(|n| *n += 1);
    }

    /// Forgets a pod's logs.
    pub fn remove_pod(&self, namespace: &str, pod: &str) {
        let mut b = self.lock();
        b.text.retain(|k, _| !(k.0 == namespace && k.1 == pod));
        b.closed.retain(|k| !(k.0 == namespace && k.1 == pod));
        drop(b);
        self.changed.send_modify(|n| *n += 1);
    }

    fn snapshot(&self, k: &(String, String, String)) -> (String, bool) {
        let b = self.lock();
        (
            b.text.get(k).cloned().unwrap_or_default(),
            b.closed.contains(k),
        )
    }
}

/// Keeps the last `n` lines of `text`.
pub fn tail(text: &str, n: i64) -> &str {
    if n < 0 {
        return text;
    }
    let n = n as usize;
    if n == 0 {
        return "";
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut count = 0;
    for (i, c) in body.char_indices().rev() {
        if c == '\n' {
            count += 1;
            if count == n {
                return &text[i + 1..];
            }
        }
    }
    text
}

impl PodLogSource for std::sync::Arc<MemoryLogs> {
    fn logs(&self, req: &LogRequest) -> Result<LogBody, LogError> {
        if req.previous {
            return Err(LogError(format!(
                "previous terminated container {:?} in pod {:?} not found",
                req.container, req.pod
            )));
        }
        let k = key(&req.namespace, &req.pod, &req.container);
        let (text, closed) = self.snapshot(&k);
        let mut start = match req.tail_lines {
            Some(n) => text.len() - tail(&text, n).len(),
            None => 0,
        };
        let limit = req.limit_bytes.filter(|l| *l > 0).map(|l| l as usize);
        if !req.follow || closed {
            let mut out = &text[start..];
            if let Some(l) = limit {
                out = &out[..out.len().min(l)];
            }
            return Ok(LogBody::Text(Bytes::copy_from_slice(out.as_bytes())));
        }
        let me = self.clone();
        let mut rx = self.changed.subscribe();
        let mut sent = 0usize;
        let stream = async_stream(move |tx| async move {
            loop {
                let (text, closed) = me.snapshot(&k);
                if text.len() > start {
                    let mut chunk = &text[start..];
                    if let Some(l) = limit {
                        chunk = &chunk[..chunk.len().min(l.saturating_sub(sent))];
                    }
                    sent += chunk.len();
                    start = text.len();
                    if !chunk.is_empty()
                        && tx
                            .send(Bytes::copy_from_slice(chunk.as_bytes()))
                            .await
                            .is_err()
                    {
                        return;
                    }
                    if limit.is_some_and(|l| sent >= l) {
                        return;
                    }
                }
                if closed {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(LogBody::Stream(stream))
    }
}

/// A stream fed by a task through a small channel (no extra crates needed).
pub(crate) fn async_stream<F, Fut>(f: F) -> BoxStream<'static, Bytes>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(f(tx));
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\nb\nc", 1), "c");
        assert_eq!(tail("a\n", 5), "a\n");
        assert_eq!(tail("a\n", 0), "");
    }
}
