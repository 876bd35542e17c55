//! Kubernetes Events for condition changes: what a user reads in `kubectl describe`.
//!
//! As upstream (`base.Reconciler.Record`): one Event per condition added, updated or
//! deleted in a reconcile, with reason = the condition type, message = the condition
//! message, type `Warning` for categories Critical, Error and Warn and `Normal`
//! otherwise. Ferry words a deleted condition as cleared (`Normal`, "Cleared: ...")
//! instead of repeating it as if it had just happened. Events are only published when
//! something changed, so an idle object produces none.
//!
//! Ferry creates `events.k8s.io/v1` Events itself rather than through kube-runtime's
//! `Recorder`: the recorder folds repeats of the same reason within six minutes into a
//! series and keeps the *first* message, which would hide a condition whose message
//! changed (`SecretNotValid` going from NotSet to NotFound).

use std::sync::atomic::{AtomicU64, Ordering};

use ferry_api::ObjectReference;
use ferry_api::condition::{Condition, Explain, category};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

/// Events longer than this (the API's limit) are cut.
pub const NOTE_LIMIT: usize = 1024;

/// One event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// The reason (a condition type).
    pub reason: String,
    /// The message.
    pub note: String,
    /// What happened (`ConditionAdded`, `ConditionUpdated`, `ConditionCleared`, ...).
    pub action: &'static str,
}

fn is_warning(condition: &Condition) -> bool {
    matches!(
        condition.category.as_str(),
        category::CRITICAL | category::ERROR | category::WARN
    )
}

/// The events for one reconcile's condition changes, in a stable order (by type within
/// added, updated, then cleared).
pub fn condition_events(explain: &Explain) -> Vec<EventSpec> {
    let mut events = Vec::with_capacity(explain.len());
    for condition in explain.added.values() {
        events.push(EventSpec {
            warning: is_warning(condition),
            reason: condition.r#type.clone(),
            note: condition.message.clone(),
            action: "ConditionAdded",
        });
    }
    for condition in explain.updated.values() {
        events.push(EventSpec {
            warning: is_warning(condition),
            reason: condition.r#type.clone(),
            note: condition.message.clone(),
            action: "ConditionUpdated",
        });
    }
    for condition in explain.deleted.values() {
        events.push(EventSpec {
            warning: false,
            reason: condition.r#type.clone(),
            note: format!("Cleared: {}", condition.message),
            action: "ConditionCleared",
        });
    }
    events
}

/// Cuts `note` to the API's limit at a character boundary.
pub fn truncate(mut note: String) -> String {
    if note.len() > NOTE_LIMIT {
        let mut end = NOTE_LIMIT - '…'.len_utf8();
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push('…');
    }
    note
}

/// Publishes Events for one controller.
pub struct Publisher {
    client: kube::Client,
    controller: String,
    instance: String,
    sequence: AtomicU64,
}

impl Publisher {
    /// A publisher reporting as `forklift.konveyor.io/<controller>` from `instance`.
    pub fn new(client: kube::Client, controller: &str, instance: &str) -> Self {
        Self {
            client,
            controller: format!("{}/{controller}", ferry_api::GROUP),
            instance: instance.chars().take(128).collect(),
            sequence: AtomicU64::new(0),
        }
    }

    /// Publishes `events` about `regarding`. Failures are logged, not returned: an Event
    /// is a courtesy and must not fail a reconcile.
    pub async fn publish(&self, regarding: &ObjectReference, events: Vec<EventSpec>) {
        let Some(namespace) = regarding.namespace.as_deref() else {
            return;
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        for spec in events {
            let now = jiff::Timestamp::now();
            let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "{}.{:x}{:04x}",
                regarding.name.as_deref().unwrap_or("object"),
                now.as_nanosecond(),
                sequence & 0xffff
            );
            let event = Event {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(namespace.to_string()),
                    ..ObjectMeta::default()
                },
                action: Some(spec.action.to_string()),
                reason: Some(spec.reason.chars().take(128).collect()),
                note: Some(truncate(spec.note)),
                type_: Some(if spec.warning { "Warning" } else { "Normal" }.to_string()),
                event_time: Some(MicroTime(now)),
                regarding: Some(regarding.clone()),
                reporting_controller: Some(self.controller.clone()),
                reporting_instance: Some(self.instance.clone()),
                ..Event::default()
            };
            if let Err(error) = api.create(&PostParams::default(), &event).await {
                tracing::warn!(
                    namespace,
                    name = regarding.name.as_deref().unwrap_or_default(),
                    %error,
                    "cannot publish an Event"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::condition::{Conditions, types};

    fn now() -> ferry_api::Time {
        ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap()
    }

    #[test]
    fn changes_become_events_with_upstreams_types() {
        let mut conditions = Conditions::from(vec![
            Condition::new(types::CONNECTION_INSECURE, category::WARN).with_message("insecure"),
            Condition::new(types::VALIDATED, category::ADVISORY).with_message("done"),
        ]);
        conditions.begin_staging();
        conditions.set(
            Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
                .with_message("The `secret` is not valid."),
            &now(),
        );
        conditions.set(
            Condition::new(types::VALIDATED, category::ADVISORY).with_message("done again"),
            &now(),
        );
        conditions.end_staging();
        let events = condition_events(conditions.explain());
        assert_eq!(
            events,
            vec![
                EventSpec {
                    warning: true,
                    reason: "SecretNotValid".into(),
                    note: "The `secret` is not valid.".into(),
                    action: "ConditionAdded",
                },
                EventSpec {
                    warning: false,
                    reason: "Validated".into(),
                    note: "done again".into(),
                    action: "ConditionUpdated",
                },
                EventSpec {
                    warning: false,
                    reason: "ConnectionInsecure".into(),
                    note: "Cleared: insecure".into(),
                    action: "ConditionCleared",
                },
            ]
        );
    }

    #[test]
    fn nothing_changed_means_no_event() {
        let mut conditions = Conditions::from(vec![
            Condition::new(types::READY, category::REQUIRED).with_message("ready"),
        ]);
        conditions.begin_staging();
        conditions.set(
            Condition::new(types::READY, category::REQUIRED).with_message("ready"),
            &now(),
        );
        conditions.end_staging();
        assert!(condition_events(conditions.explain()).is_empty());
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let note = truncate("é".repeat(2000));
        assert!(note.len() <= NOTE_LIMIT);
        assert!(note.ends_with('…'));
        assert_eq!(truncate("short".into()), "short");
    }
}
