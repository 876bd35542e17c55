//! A breakdown of API requests by client, verb and resource, taken from the embedded API
//! server's request log (its `ferry_apiserver::request` debug events).
//!
//! The server's own counters ([`ferry_apiserver::CountersSnapshot`]) give requests by
//! user agent and verb, which is what the figures use; this log adds which resources a
//! client's requests went to (where the writes go), and, when asked, a timed trace of
//! every request for reading a single migration's critical path. Install
//! [`RequestLog::layer`] in the process's tracing subscriber; without it the breakdown is
//! empty and nothing else changes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::Context;

/// The API server's request-log target.
pub const TARGET: &str = "ferry_apiserver::request";

/// One counted kind of request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The client's user agent (its first word; empty when it sent none).
    pub agent: String,
    /// The request verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`).
    pub verb: String,
    /// The resource, with `/subresource` when there is one.
    pub resource: String,
}

/// One request of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// Milliseconds since the trace started.
    pub at_ms: u64,
    /// The client's user agent.
    pub agent: String,
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The answer's status code.
    pub code: u16,
}

#[derive(Debug, Default)]
struct Inner {
    counts: BTreeMap<Key, u64>,
    trace: Option<(Instant, Vec<Traced>)>,
}

/// The request log: counts, and optionally a trace.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RequestLog {
    /// A new, empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tracing layer that fills this log (only the API server's request events
    /// reach it, whatever the rest of the subscriber filters).
    pub fn layer<S>(&self) -> Filtered<Recorder, Targets, S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        Recorder { log: self.clone() }.with_filter(
            Targets::new().with_target(TARGET, tracing::level_filters::LevelFilter::DEBUG),
        )
    }

    /// The counts so far.
    pub fn counts(&self) -> BTreeMap<Key, u64> {
        lock(&self.inner).counts.clone()
    }

    /// Starts (or restarts) a trace of every request.
    pub fn start_trace(&self) {
        lock(&self.inner).trace = Some((Instant::now(), Vec::new()));
    }

    /// Stops the trace and returns it.
    pub fn take_trace(&self) -> Vec<Traced> {
        lock(&self.inner)
            .trace
            .take()
            .map(|(_, lines)| lines)
            .unwrap_or_default()
    }

    fn record(&self, fields: Fields) {
        let mut inner = lock(&self.inner);
        let resource = if fields.subresource.is_empty() {
            fields.resource.clone()
        } else {
            format!("{}/{}", fields.resource, fields.subresource)
        };
        *inner
            .counts
            .entry(Key {
                agent: fields.agent.clone(),
                verb: fields.verb,
                resource,
            })
            .or_insert(0) += 1;
        if let Some((started, lines)) = inner.trace.as_mut() {
            let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            lines.push(Traced {
                at_ms,
                agent: fields.agent,
                method: fields.method,
                path: fields.path,
                code: fields.code,
            });
        }
    }
}

/// The difference of two count maps (`later - earlier`), keeping what grew.
pub fn since(later: &BTreeMap<Key, u64>, earlier: &BTreeMap<Key, u64>) -> BTreeMap<Key, u64> {
    later
        .iter()
        .filter_map(|(key, n)| {
            let grew = n.saturating_sub(earlier.get(key).copied().unwrap_or(0));
            (grew > 0).then(|| (key.clone(), grew))
        })
        .collect()
}

/// The layer behind [`RequestLog::layer`].
#[derive(Debug)]
pub struct Recorder {
    log: RequestLog,
}

#[derive(Debug, Default)]
struct Fields {
    agent: String,
    verb: String,
    resource: String,
    subresource: String,
    method: String,
    path: String,
    code: u16,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "code" {
            self.code = u16::try_from(value).unwrap_or(0);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "code" {
            self.code = u16::try_from(value).unwrap_or(0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` fields arrive here, rendered with Display.
        self.set(field.name(), format!("{value:?}"));
    }
}

impl Fields {
    fn set(&mut self, name: &str, value: String) {
        match name {
            "user_agent" => self.agent = value,
            "verb" => self.verb = value,
            "resource" => self.resource = value,
            "subresource" => self.subresource = value,
            "method" => self.method = value,
            "path" => self.path = value,
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.log.record(fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn request_events_are_counted_by_agent_verb_and_resource() {
        let log = RequestLog::new();
        let subscriber = tracing_subscriber::registry().with(log.layer());
        tracing::subscriber::with_default(subscriber, || {
            let before = log.counts();
            log.start_trace();
            for _ in 0..2 {
                tracing::debug!(
                    target: "ferry_apiserver::request",
                    method = %"PUT",
                    path = %"/apis/forklift.konveyor.io/v1beta1/namespaces/a/plans/p/status",
                    verb = %"update",
                    resource = %"plans",
                    subresource = %"status",
                    code = 200u16,
                    user_agent = %"ferry-controller",
                    "request"
                );
            }
            tracing::debug!(target: "other", verb = %"get", "ignored");
            let grown = since(&log.counts(), &before);
            let key = Key {
                agent: "ferry-controller".into(),
                verb: "update".into(),
                resource: "plans/status".into(),
            };
            assert_eq!(grown.get(&key), Some(&2));
            assert_eq!(grown.len(), 1);
            let trace = log.take_trace();
            assert_eq!(trace.len(), 2);
            assert_eq!(trace[0].code, 200);
            assert_eq!(trace[0].method, "PUT");
            assert!(log.take_trace().is_empty());
        });
    }
}
