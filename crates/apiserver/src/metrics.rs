//! Request counters: by verb, group, resource, subresource and code, and by user
//! agent and field manager; readable in-process (tests and benchmarks count the API
//! calls a migration costs) and at `/metrics` in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// What one counted request was.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey {
    /// Request-info verb: `get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`, or `other` for non-resource requests.
    pub verb: String,
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Resource (plural), empty for non-resource requests.
    pub resource: String,
    /// Subresource, if any.
    pub subresource: String,
    /// HTTP status code of the answer.
    pub code: u16,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<RequestKey, u64>,
    by_agent: BTreeMap<(String, String), u64>,
    by_manager: BTreeMap<(String, String), u64>,
    watches_open: i64,
}

/// The server's request counters.
#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<Inner>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Requests by key.
    pub requests: BTreeMap<RequestKey, u64>,
    /// Requests by (user agent prefix, verb).
    pub by_user_agent: BTreeMap<(String, String), u64>,
    /// Writes by (field manager, verb).
    pub by_field_manager: BTreeMap<(String, String), u64>,
    /// Watches currently open.
    pub watches_open: i64,
}

impl CountersSnapshot {
    /// Requests with this verb on this resource (any group, version, code).
    pub fn count(&self, verb: &str, resource: &str) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| k.verb == verb && k.resource == resource)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests with this verb on any resource.
    pub fn count_verb(&self, verb: &str) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| k.verb == verb)
            .map(|(_, n)| n)
            .sum()
    }

    /// All resource requests.
    pub fn total(&self) -> u64 {
        self.requests
            .iter()
            .filter(|(k, _)| !k.resource.is_empty())
            .map(|(_, n)| n)
            .sum()
    }

    /// Writes (create, update, patch, delete, deletecollection) on any resource.
    pub fn writes(&self) -> u64 {
        ["create", "update", "patch", "delete", "deletecollection"]
            .iter()
            .map(|v| self.count_verb(v))
            .sum()
    }

    /// The difference `self - earlier`, for counting what happened in between.
    pub fn since(&self, earlier: &CountersSnapshot) -> CountersSnapshot {
        fn diff<K: Ord + Clone>(a: &BTreeMap<K, u64>, b: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
            a.iter()
                .filter_map(|(k, v)| {
                    let d = v.saturating_sub(b.get(k).copied().unwrap_or(0));
                    (d > 0).then(|| (k.clone(), d))
                })
                .collect()
        }
        CountersSnapshot {
            requests: diff(&self.requests, &earlier.requests),
            by_user_agent: diff(&self.by_user_agent, &earlier.by_user_agent),
            by_field_manager: diff(&self.by_field_manager, &earlier.by_field_manager),
            watches_open: self.watches_open,
        }
    }
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The first word of a user agent (`kubectl/v1.32.4 (linux/amd64)` -> `kubectl`).
pub fn agent_prefix(user_agent: &str) -> String {
    user_agent
        .split('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

impl Counters {
    /// Counts one request.
    pub fn record(&self, key: RequestKey, user_agent: &str, field_manager: Option<&str>) {
        let mut g = lock(&self.inner);
        let verb = key.verb.clone();
        *g.requests.entry(key).or_insert(0) += 1;
        *g.by_agent
            .entry((agent_prefix(user_agent), verb.clone()))
            .or_insert(0) += 1;
        if let Some(m) = field_manager {
            *g.by_manager.entry((m.to_string(), verb)).or_insert(0) += 1;
        }
    }

    /// Notes a watch opening (+1) or closing (-1).
    pub fn watch_delta(&self, d: i64) {
        lock(&self.inner).watches_open += d;
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> CountersSnapshot {
        let g = lock(&self.inner);
        CountersSnapshot {
            requests: g.requests.clone(),
            by_user_agent: g.by_agent.clone(),
            by_field_manager: g.by_manager.clone(),
            watches_open: g.watches_open,
        }
    }

    /// Clears the counters (open watches stay counted).
    pub fn reset(&self) {
        let mut g = lock(&self.inner);
        g.requests.clear();
        g.by_agent.clear();
        g.by_manager.clear();
    }

    /// The Prometheus text exposition (`apiserver_request_total` and friends).
    pub fn prometheus(&self, objects: &[(String, usize)]) -> String {
        let g = lock(&self.inner);
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.\n");
        out.push_str("# TYPE apiserver_request_total counter\n");
        for (k, n) in &g.requests {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{}\",component=\"apiserver\",group=\"{}\",resource=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"}} {}",
                k.code,
                esc(&k.group),
                esc(&k.resource),
                esc(&k.subresource),
                metric_verb(&k.verb),
                esc(&k.version),
                n
            );
        }
        out.push_str("# HELP ferry_apiserver_requests_by_user_agent_total Requests by user agent and verb.\n");
        out.push_str("# TYPE ferry_apiserver_requests_by_user_agent_total counter\n");
        for ((agent, verb), n) in &g.by_agent {
            let _ = writeln!(
                out,
                "ferry_apiserver_requests_by_user_agent_total{{user_agent=\"{}\",verb=\"{}\"}} {}",
                esc(agent),
                esc(verb),
                n
            );
        }
        out.push_str("# HELP ferry_apiserver_requests_by_field_manager_total Writes by field manager and verb.\n");
        out.push_str("# TYPE ferry_apiserver_requests_by_field_manager_total counter\n");
        for ((m, verb), n) in &g.by_manager {
            let _ = writeln!(
                out,
                "ferry_apiserver_requests_by_field_manager_total{{field_manager=\"{}\",verb=\"{}\"}} {}",
                esc(m),
                esc(verb),
                n
            );
        }
        out.push_str("# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests.\n");
        out.push_str("# TYPE apiserver_longrunning_requests gauge\n");
        let _ = writeln!(
            out,
            "apiserver_longrunning_requests{{component=\"apiserver\",verb=\"WATCH\"}} {}",
            g.watches_open
        );
        out.push_str("# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.\n");
        out.push_str("# TYPE apiserver_storage_objects gauge\n");
        for (resource, n) in objects {
            let _ = writeln!(
                out,
                "apiserver_storage_objects{{resource=\"{}\"}} {}",
                esc(resource),
                n
            );
        }
        out
    }
}

fn metric_verb(v: &str) -> &str {
    match v {
        "get" => "GET",
        "list" => "LIST",
        "watch" => "WATCH",
        "create" => "POST",
        "update" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        "deletecollection" => "DELETECOLLECTION",
        other => other,
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(verb: &str, resource: &str) -> RequestKey {
        RequestKey {
            verb: verb.into(),
            group: String::new(),
            version: "v1".into(),
            resource: resource.into(),
            subresource: String::new(),
            code: 200,
        }
    }

    #[test]
    fn counts_and_diffs() {
        let c = Counters::default();
        c.record(key("get", "pods"), "kubectl/v1.32", None);
        let before = c.snapshot();
        c.record(key("create", "pods"), "ferry/0.1", Some("ferry"));
        c.record(key("get", "pods"), "kubectl/v1.32", None);
        let d = c.snapshot().since(&before);
        assert_eq!(d.count("get", "pods"), 1);
        assert_eq!(d.writes(), 1);
        assert_eq!(
            d.by_field_manager[&("ferry".to_string(), "create".to_string())],
            1
        );
        let text = c.prometheus(&[]);
        assert!(text.contains("apiserver_request_total{code=\"200\",component=\"apiserver\",group=\"\",resource=\"pods\",subresource=\"\",verb=\"GET\",version=\"v1\"} 2"));
    }
}
