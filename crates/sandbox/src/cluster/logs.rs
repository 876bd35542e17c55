//! Container output. In a cluster the kubelet keeps it and serves `kubectl logs`; here
//! the simulated kubelet hands it to a [`PodLogs`]: files under the data directory, the
//! embedded API server's pod-log source (so `kubectl logs` works), or both ([`Tee`]).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Where container output goes.
pub trait PodLogs: Send + Sync + 'static {
    /// Appends output of one container.
    fn append(&self, namespace: &str, pod: &str, container: &str, text: &str);
    /// The container's output is complete.
    fn close(&self, namespace: &str, pod: &str, container: &str);
    /// The pod is gone.
    fn remove_pod(&self, namespace: &str, pod: &str);
}

/// Output in files: `<dir>/<namespace>/<pod>/<container>.log`, kept after the pod goes
/// (for post-mortems).
#[derive(Debug)]
pub struct FileLogs {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl FileLogs {
    /// Logs under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file of one container's output.
    pub fn path(&self, namespace: &str, pod: &str, container: &str) -> PathBuf {
        self.dir
            .join(component(namespace))
            .join(component(pod))
            .join(format!("{}.log", component(container)))
    }
}

/// A path component from an API name: names are DNS labels or subdomains, but nothing
/// here trusts that: anything but `[A-Za-z0-9._-]` becomes `_`, and `.`/`..` are
/// prefixed.
fn component(name: &str) -> String {
    let mut clean: String = name
        .chars()
        .take(253)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        clean.insert(0, '_');
    }
    clean
}

impl PodLogs for FileLogs {
    fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        let path = self.path(namespace, pod, container);
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let result = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(error) = result {
            tracing::debug!(path = %path.display(), %error, "cannot write container output");
        }
    }

    fn close(&self, _namespace: &str, _pod: &str, _container: &str) {}

    fn remove_pod(&self, _namespace: &str, _pod: &str) {}
}

/// Ferry's embedded API server keeps container output for `kubectl logs`.
impl PodLogs for ferry_apiserver::MemoryLogs {
    fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        ferry_apiserver::MemoryLogs::append(self, namespace, pod, container, text);
    }

    fn close(&self, namespace: &str, pod: &str, container: &str) {
        ferry_apiserver::MemoryLogs::close(self, namespace, pod, container);
    }

    fn remove_pod(&self, namespace: &str, pod: &str) {
        ferry_apiserver::MemoryLogs::remove_pod(self, namespace, pod);
    }
}

/// Output to several places.
pub struct Tee(pub Vec<Arc<dyn PodLogs>>);

impl PodLogs for Tee {
    fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        for sink in &self.0 {
            sink.append(namespace, pod, container, text);
        }
    }

    fn close(&self, namespace: &str, pod: &str, container: &str) {
        for sink in &self.0 {
            sink.close(namespace, pod, container);
        }
    }

    fn remove_pod(&self, namespace: &str, pod: &str) {
        for sink in &self.0 {
            sink.remove_pod(namespace, pod);
        }
    }
}

/// One container's output stream, as a workload writes it.
#[derive(Clone)]
pub struct ContainerLog {
    sink: Arc<dyn PodLogs>,
    namespace: String,
    pod: String,
    container: String,
}

impl ContainerLog {
    /// The stream of `container` of `namespace/pod`.
    pub fn new(sink: Arc<dyn PodLogs>, namespace: &str, pod: &str, container: &str) -> Self {
        Self {
            sink,
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
        }
    }

    /// Writes one line.
    pub fn line(&self, text: impl AsRef<str>) {
        let mut text = text.as_ref().to_owned();
        text.push('\n');
        self.sink
            .append(&self.namespace, &self.pod, &self.container, &text);
    }

    /// Ends the stream.
    pub fn close(&self) {
        self.sink.close(&self.namespace, &self.pod, &self.container);
    }
}

/// Reads a file written by [`FileLogs`] (for tests and post-mortems).
pub fn read_file_log(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_logs_stay_inside_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let logs = FileLogs::new(dir.path());
        logs.append("ns", "../../etc", "..", "hello\n");
        logs.append("ns", "../../etc", "..", "world\n");
        let path = logs.path("ns", "../../etc", "..");
        assert!(path.starts_with(dir.path()));
        assert!(!path.components().any(|c| c.as_os_str() == ".."));
        assert_eq!(read_file_log(&path), "hello\nworld\n");
    }
}
