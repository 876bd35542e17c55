//! Kubernetes Events (`core/v1`) the simulated components record, so `kubectl describe`
//! shows what happened as on a real cluster. Best effort: a failure to record is logged
//! and ignored, as client-go's recorder does.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::kubeapi;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something expected happened.
    Normal,
    /// Something went wrong.
    Warning,
}

/// Records an Event about `object` from `component`.
pub async fn record<K>(
    client: &kube::Client,
    object: &K,
    kind: Kind,
    reason: &str,
    message: &str,
    component: &str,
) where
    K: Resource<DynamicType = ()>,
{
    let namespace = object.namespace().unwrap_or_else(|| "default".into());
    let now = kubeapi::now();
    let suffix = uuid_suffix();
    let event: Result<Event, _> = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{suffix}", object.name_any()),
            "namespace": namespace,
        },
        "involvedObject": {
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "name": object.name_any(),
            "namespace": object.namespace(),
            "uid": object.uid(),
            "resourceVersion": object.resource_version(),
        },
        "reason": reason,
        "message": truncate(message, 1024),
        "type": match kind { Kind::Normal => "Normal", Kind::Warning => "Warning" },
        "source": { "component": component, "host": super::config::NODE_NAME },
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": super::config::NODE_NAME,
    }));
    let Ok(event) = event else {
        return;
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    if let Err(error) = api.create(&PostParams::default(), &event).await {
        tracing::debug!(%error, reason, "cannot record an event");
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// 16 hex digits, unique enough for event names (client-go uses the time in ns).
fn uuid_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = jiff::Timestamp::now().as_nanosecond() as u64;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", nanos.wrapping_add(n.wrapping_mul(0x9E37_79B9)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_truncated_on_char_boundaries() {
        let text = "é".repeat(600);
        let cut = truncate(&text, 1024);
        assert!(cut.len() <= 1027);
        assert!(cut.ends_with("..."));
        assert_eq!(truncate("short", 10), "short");
        assert_ne!(uuid_suffix(), uuid_suffix());
    }
}
