//! Counting the real kube-apiserver's requests by user agent and verb, as the embedded
//! server's counters do, from kube-apiserver's own audit log (`--audit-log-path`,
//! JSON lines, written before each answer in its default `blocking` mode).
//!
//! The policy records every request at the `Metadata` level (no bodies) once: at
//! `ResponseComplete`, or at `ResponseStarted` for a watch (a watch counts when it is
//! opened, as on the embedded server; it completes only when it closes, which makes
//! the count of open watches).

use std::path::{Path, PathBuf};

use ferry_apiserver::metrics::agent_prefix;
use ferry_apiserver::{CountersSnapshot, RequestKey};
use serde::Deserialize;

/// The audit policy: every request, metadata only, without the `RequestReceived` stage.
pub const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [\"RequestReceived\"]
rules:
- level: Metadata
";

/// An audit log in a directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    policy: PathBuf,
    log: PathBuf,
}

impl AuditLog {
    /// Writes the policy into `dir`; the log will be `dir/audit.log`.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let policy = dir.join("audit-policy.yaml");
        std::fs::write(&policy, POLICY)?;
        Ok(Self {
            policy,
            log: dir.join("audit.log"),
        })
    }

    /// The kube-apiserver flags that write it.
    pub fn apiserver_args(&self) -> Vec<String> {
        vec![
            format!("--audit-policy-file={}", self.policy.display()),
            format!("--audit-log-path={}", self.log.display()),
            "--audit-log-format=json".into(),
            "--audit-log-mode=blocking".into(),
        ]
    }

    /// The requests logged so far (a missing log counts nothing).
    pub fn snapshot(&self) -> std::io::Result<CountersSnapshot> {
        match std::fs::read_to_string(&self.log) {
            Ok(text) => Ok(count(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CountersSnapshot::default()),
            Err(e) => Err(e),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    stage: String,
    verb: String,
    #[serde(default)]
    user_agent: String,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    response_status: Option<Status>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectRef {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: String,
    #[serde(default)]
    api_group: String,
    #[serde(default)]
    api_version: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: u16,
}

/// Counts the requests in an audit log's text (pure). Lines that do not parse (one
/// being written) are skipped.
pub fn count(text: &str) -> CountersSnapshot {
    let mut snapshot = CountersSnapshot::default();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            continue;
        };
        let watch = event.verb == "watch";
        if watch && event.stage == "ResponseComplete" {
            snapshot.watches_open -= 1;
            continue;
        }
        let counted_stage = if watch {
            "ResponseStarted"
        } else {
            "ResponseComplete"
        };
        if event.stage != counted_stage {
            continue;
        }
        if watch {
            snapshot.watches_open += 1;
        }
        let object = event.object_ref.unwrap_or_default();
        let key = RequestKey {
            verb: event.verb.clone(),
            group: object.api_group,
            version: object.api_version,
            resource: object.resource,
            subresource: object.subresource,
            code: event.response_status.map_or(0, |s| s.code),
        };
        *snapshot.requests.entry(key).or_default() += 1;
        *snapshot
            .by_user_agent
            .entry((agent_prefix(&event.user_agent), event.verb))
            .or_default() += 1;
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_counts_once_by_agent_and_verb() {
        let text = r#"{"kind":"Event","stage":"ResponseComplete","verb":"get","userAgent":"ferry-controller/0.1.0","objectRef":{"resource":"plans","apiGroup":"forklift.konveyor.io","apiVersion":"v1beta1"},"responseStatus":{"code":200}}
{"kind":"Event","stage":"ResponseStarted","verb":"watch","userAgent":"ferry-controller/0.1.0","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200}}
{"kind":"Event","stage":"ResponseComplete","verb":"watch","userAgent":"ferry-controller/0.1.0","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200}}
{"kind":"Event","stage":"ResponseComplete","verb":"patch","objectRef":{"resource":"pods","subresource":"status","apiVersion":"v1"},"responseStatus":{"code":200}}
{"kind":"Event","stage":"ResponseComplete","verb":"create","userAgent":"ferry-contr"#;
        let snapshot = count(text);
        let agent = |a: &str, v: &str| {
            snapshot
                .by_user_agent
                .get(&(a.to_owned(), v.to_owned()))
                .copied()
        };
        assert_eq!(agent("ferry-controller", "get"), Some(1));
        assert_eq!(
            agent("ferry-controller", "watch"),
            Some(1),
            "once, when opened"
        );
        assert_eq!(agent("", "patch"), Some(1), "no user agent");
        assert_eq!(agent("ferry-controller", "create"), None, "a partial line");
        assert_eq!(snapshot.count("get", "plans"), 1);
        assert_eq!(snapshot.count("patch", "pods"), 1);
        assert_eq!(snapshot.watches_open, 0, "the watch was opened and closed");
        let open = count(text.lines().take(2).collect::<Vec<_>>().join("\n").as_str());
        assert_eq!(open.watches_open, 1);
    }

    #[test]
    fn a_missing_log_counts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::create(dir.path()).unwrap();
        assert_eq!(log.snapshot().unwrap(), CountersSnapshot::default());
        assert!(log.apiserver_args()[0].contains("audit-policy.yaml"));
    }
}
