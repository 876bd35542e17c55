//! Forklift's condition model (`pkg/lib/condition`), with its exact semantics.
//!
//! Every Forklift status carries `conditions[]`. Unlike Kubernetes' usual conditions they
//! have a **category** (`Critical`, `Error`, `Warn`, `Required`, `Advisory`) that decides
//! whether they block `Ready`, a **durable** flag, and **items** (the objects concerned).
//!
//! A controller recomputes them on every pass with *staging*:
//!
//! 1. [`Conditions::begin_staging`]: every existing condition becomes un-staged, except the
//!    durable ones; while staging, un-staged conditions are invisible to the queries.
//! 2. [`Conditions::set`] for each finding: adds it, or updates the existing condition of
//!    that type (conditions are unique by type). **Any** field change (status, category,
//!    reason, message, suggestion, durable, items) bumps `lastTransitionTime`; an identical
//!    condition keeps its time.
//! 3. [`Conditions::end_staging`]: conditions not set again during the pass are deleted.
//!
//! [`recompute`] wraps the three steps for a controller that derives all its conditions
//! from one pass's findings. Times are passed in (`now`), so all of this is pure.
//!
//! The catalogue of types, categories and reasons is in [`category`], [`types`] and
//! [`reason`]; the per-kind `Ready` rules are in [`ready`].

mod catalogue;
pub mod ready;
#[cfg(test)]
mod tests;

pub use catalogue::{category, reason, status, types};

use crate::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// One condition: upstream `condition.Condition`.
///
/// Field order follows upstream so the JSON is byte-identical to Forklift's.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type. Conditions are unique by type within one list.
    #[serde(rename = "type", default)]
    pub r#type: String,
    /// The condition status, `"True"` or `"False"` ([`status`]).
    #[serde(default)]
    pub status: String,
    /// The reason for the condition or transition ([`reason`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The condition category ([`category`]).
    #[serde(default)]
    pub category: String,
    /// The human readable description of the condition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// A suggested action or resolution for the condition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suggestion: String,
    /// When the last change of any field occurred.
    #[serde(default = "epoch")]
    pub last_transition_time: Time,
    /// The condition is durable: never un-staged, so it survives passes that do not set it.
    #[serde(default, skip_serializing_if = "crate::omit::is_false")]
    pub durable: bool,
    /// The items referenced in the message (for example VM ref strings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Set or re-staged during the current staging pass. Not serialized.
    #[serde(skip)]
    #[schemars(skip)]
    staged: bool,
}

/// The Unix epoch, the time of a condition that was never set.
fn epoch() -> Time {
    Time(jiff::Timestamp::UNIX_EPOCH)
}

impl Default for Condition {
    fn default() -> Self {
        Self {
            r#type: String::new(),
            status: String::new(),
            reason: String::new(),
            category: String::new(),
            message: String::new(),
            suggestion: String::new(),
            last_transition_time: epoch(),
            durable: false,
            items: Vec::new(),
            staged: false,
        }
    }
}

/// Equality of the serialized form: every field including `lastTransitionTime`, but not the
/// in-memory staging flag. Use [`Condition::equal`] for upstream's `Equal`, which ignores
/// the time.
impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.equal(other) && self.last_transition_time == other.last_transition_time
    }
}

impl Eq for Condition {}

impl Condition {
    /// A condition of `type` and `category` with status `True`.
    pub fn new(r#type: impl Into<String>, category: impl Into<String>) -> Self {
        Self {
            r#type: r#type.into(),
            status: status::TRUE.to_string(),
            category: category.into(),
            ..Self::default()
        }
    }

    /// Sets the reason.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Sets the suggestion.
    #[must_use]
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = suggestion.into();
        self
    }

    /// Marks the condition durable.
    #[must_use]
    pub fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// Sets the items.
    #[must_use]
    pub fn with_items<I, S>(mut self, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.items = items.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the status to `"False"`.
    #[must_use]
    pub fn with_status_false(mut self) -> Self {
        self.status = status::FALSE.to_string();
        self
    }

    /// Whether the status is `"True"`.
    pub fn is_true(&self) -> bool {
        self.status == status::TRUE
    }

    /// Whether the condition was set or re-staged during the current staging pass.
    pub fn is_staged(&self) -> bool {
        self.staged
    }

    /// Upstream `Equal`: all fields except `lastTransitionTime` (and the staging flag).
    ///
    /// Upstream compares `items` with `reflect.DeepEqual`, which tells a nil list from an
    /// empty one; both serialize to nothing, so Ferry treats them as equal (otherwise a
    /// condition read back from the API would look changed on every pass).
    pub fn equal(&self, other: &Self) -> bool {
        self.r#type == other.r#type
            && self.status == other.status
            && self.category == other.category
            && self.reason == other.reason
            && self.message == other.message
            && self.suggestion == other.suggestion
            && self.durable == other.durable
            && self.items == other.items
    }

    /// Upstream `Update`: re-stages this condition and, when any field differs, copies
    /// `other`'s fields and sets `lastTransitionTime = now`. Returns whether it changed.
    pub fn update(&mut self, other: &Condition, now: &Time) -> bool {
        self.staged = true;
        if self.equal(other) {
            return false;
        }
        self.r#type.clone_from(&other.r#type);
        self.status.clone_from(&other.status);
        self.reason.clone_from(&other.reason);
        self.category.clone_from(&other.category);
        self.message.clone_from(&other.message);
        self.suggestion.clone_from(&other.suggestion);
        self.durable = other.durable;
        self.items.clone_from(&other.items);
        self.last_transition_time = crate::time::seconds(now.0);
        true
    }
}

/// What changed in a condition list, by type: upstream's `Explain` report. Controllers turn
/// it into Kubernetes Events (type `Warning` for Critical, Error and Warn, else `Normal`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explain {
    /// Conditions added.
    pub added: BTreeMap<String, Condition>,
    /// Conditions updated (not counting ones added in the same pass).
    pub updated: BTreeMap<String, Condition>,
    /// Conditions deleted.
    pub deleted: BTreeMap<String, Condition>,
}

impl Explain {
    /// Total number of changes. (Upstream's `Len` counts `updated` twice and `added` never;
    /// Ferry counts each once.)
    pub fn len(&self) -> usize {
        self.added.len() + self.updated.len() + self.deleted.len()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record_added(&mut self, condition: &Condition) {
        self.added
            .insert(condition.r#type.clone(), condition.clone());
        self.updated.remove(&condition.r#type);
        self.deleted.remove(&condition.r#type);
    }

    fn record_updated(&mut self, condition: &Condition) {
        if self.added.contains_key(&condition.r#type) {
            return;
        }
        self.updated
            .insert(condition.r#type.clone(), condition.clone());
        self.deleted.remove(&condition.r#type);
    }

    fn record_deleted(&mut self, condition: &Condition) {
        self.deleted
            .insert(condition.r#type.clone(), condition.clone());
        self.added.remove(&condition.r#type);
        self.updated.remove(&condition.r#type);
    }
}

/// A managed list of conditions: upstream `condition.Conditions`, serialized as the plain
/// list (the `conditions` field of every status).
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    /// The conditions, in insertion order.
    pub list: Vec<Condition>,
    staging: bool,
    explain: Explain,
}

/// Equality of the serialized list only (not staging state or the change report).
impl PartialEq for Conditions {
    fn eq(&self, other: &Self) -> bool {
        self.list == other.list
    }
}

impl Eq for Conditions {}

impl From<Vec<Condition>> for Conditions {
    fn from(list: Vec<Condition>) -> Self {
        Self {
            list,
            ..Self::default()
        }
    }
}

impl Serialize for Conditions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Conditions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A `null` list reads as empty, as Go's decoder does.
        let list = Option::<Vec<Condition>>::deserialize(deserializer)?;
        Ok(Self::from(list.unwrap_or_default()))
    }
}

impl JsonSchema for Conditions {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ferry.Conditions".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<Condition>();
        schemars::json_schema!({
            "description": "List of conditions.",
            "type": "array",
            "items": item,
        })
    }
}

impl Conditions {
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The conditions.
    pub fn iter(&self) -> std::slice::Iter<'_, Condition> {
        self.list.iter()
    }

    /// Whether a staging pass is in progress.
    pub fn is_staging(&self) -> bool {
        self.staging
    }

    /// The changes recorded since this value was created (or last taken).
    pub fn explain(&self) -> &Explain {
        &self.explain
    }

    /// Takes the change report, leaving an empty one.
    pub fn take_explain(&mut self) -> Explain {
        std::mem::take(&mut self.explain)
    }

    /// Upstream `BeginStagingConditions`: starts a pass. Every condition becomes un-staged
    /// except durable ones.
    pub fn begin_staging(&mut self) {
        self.staging = true;
        for condition in &mut self.list {
            condition.staged = condition.durable;
        }
    }

    /// Upstream `EndStagingConditions`: ends the pass and deletes every condition that was
    /// not staged during it.
    pub fn end_staging(&mut self) {
        self.staging = false;
        let mut kept = Vec::with_capacity(self.list.len());
        for condition in std::mem::take(&mut self.list) {
            if condition.staged {
                kept.push(condition);
            } else {
                self.explain.record_deleted(&condition);
            }
        }
        self.list = kept;
    }

    /// Finds a condition by type, ignoring staging.
    fn find_any(&self, r#type: &str) -> Option<&Condition> {
        self.list.iter().find(|c| c.r#type == r#type)
    }

    fn visible(&self, condition: &Condition) -> bool {
        !self.staging || condition.staged
    }

    /// Upstream `FindCondition`: the condition of this type; while staging, an un-staged
    /// condition counts as absent.
    pub fn find(&self, r#type: &str) -> Option<&Condition> {
        self.find_any(r#type).filter(|c| self.visible(c))
    }

    /// Upstream `SetCondition`: adds the condition (with `lastTransitionTime = now`) or
    /// updates the existing one of the same type (the time changes only when a field
    /// does). The condition is staged either way. `now` is truncated to whole seconds.
    pub fn set(&mut self, condition: Condition, now: &Time) {
        match self.list.iter_mut().find(|c| c.r#type == condition.r#type) {
            Some(existing) => {
                if existing.update(&condition, now) {
                    let updated = existing.clone();
                    self.explain.record_updated(&updated);
                }
            }
            None => {
                let mut condition = condition;
                condition.staged = true;
                condition.last_transition_time = crate::time::seconds(now.0);
                self.explain.record_added(&condition);
                self.list.push(condition);
            }
        }
    }

    /// Sets several conditions in order (later ones of the same type win).
    pub fn set_all(&mut self, conditions: impl IntoIterator<Item = Condition>, now: &Time) {
        for condition in conditions {
            self.set(condition, now);
        }
    }

    /// Upstream `UpdateConditions`: sets every condition of `other`.
    pub fn update_from(&mut self, other: &Conditions, now: &Time) {
        self.set_all(other.list.iter().cloned(), now);
    }

    /// Upstream `StageCondition`: re-stages existing conditions of these types without
    /// changing them, so they survive the current pass.
    pub fn stage(&mut self, types: &[&str]) {
        for condition in &mut self.list {
            if types.contains(&condition.r#type.as_str()) {
                condition.staged = true;
            }
        }
    }

    /// Upstream `DeleteCondition`: removes conditions of these types. While staging they
    /// are only un-staged (invisible now, removed by [`Self::end_staging`]); durable
    /// conditions can be deleted this way too.
    pub fn delete(&mut self, types: &[&str]) {
        let staging = self.staging;
        let mut kept = Vec::with_capacity(self.list.len());
        for mut condition in std::mem::take(&mut self.list) {
            if !types.contains(&condition.r#type.as_str()) {
                kept.push(condition);
                continue;
            }
            self.explain.record_deleted(&condition);
            if staging {
                condition.staged = false;
                kept.push(condition);
            }
        }
        self.list = kept;
    }

    /// Upstream `HasCondition`: **all** the listed types are present, visible and `True`.
    /// False for an empty list of types.
    pub fn has(&self, types: &[&str]) -> bool {
        !types.is_empty()
            && types
                .iter()
                .all(|t| self.find(t).is_some_and(Condition::is_true))
    }

    /// Upstream `HasAnyCondition`: **any** of the listed types is present, visible and
    /// `True`.
    pub fn has_any(&self, types: &[&str]) -> bool {
        types
            .iter()
            .any(|t| self.find(t).is_some_and(Condition::is_true))
    }

    /// Upstream `HasConditionCategory`: some visible `True` condition is in one of these
    /// categories.
    pub fn has_category(&self, categories: &[&str]) -> bool {
        self.list
            .iter()
            .any(|c| categories.contains(&c.category.as_str()) && c.is_true() && self.visible(c))
    }

    /// Upstream `HasCriticalCondition`: a visible `True` `Critical` condition; reconcile
    /// should not continue.
    pub fn has_critical(&self) -> bool {
        self.has_category(&[category::CRITICAL])
    }

    /// Upstream `HasErrorCondition`.
    pub fn has_error(&self) -> bool {
        self.has_category(&[category::ERROR])
    }

    /// Upstream `HasWarnCondition`.
    pub fn has_warn(&self) -> bool {
        self.has_category(&[category::WARN])
    }

    /// Upstream `HasBlockerCondition`: a visible `True` condition of category `Critical` or
    /// `Error`, which blocks `Ready`.
    pub fn has_blocker(&self) -> bool {
        self.has_category(&[category::CRITICAL, category::ERROR])
    }

    /// Upstream `HasReQCondition`: `ValidatingVDDK` or `VMMissingChangedBlockTracking` is
    /// `True`; the plan keeps being re-checked while either holds.
    pub fn has_req(&self) -> bool {
        self.has(&[types::VALIDATING_VDDK]) || self.has(&[types::VM_MISSING_CHANGED_BLOCK_TRACKING])
    }

    /// Upstream `IsReady`: the `Ready` condition is present, visible and `True`.
    pub fn is_ready(&self) -> bool {
        self.find(types::READY).is_some_and(Condition::is_true)
    }

    /// The visible `True` conditions of category `Critical` or `Error`.
    pub fn blockers(&self) -> impl Iterator<Item = &Condition> {
        self.list.iter().filter(|c| {
            (c.category == category::CRITICAL || c.category == category::ERROR)
                && c.is_true()
                && self.visible(c)
        })
    }
}

/// Recomputes a condition list from one pass's findings: begin staging on `previous`, set
/// every finding, end staging. Conditions whose fields did not change keep their
/// `lastTransitionTime`; durable conditions are carried over even when not found again;
/// everything else not found again is dropped. Returns the new list and what changed.
///
/// To remove a durable condition, or to keep a non-durable one without re-setting it, use
/// the staging API on [`Conditions`] directly ([`Conditions::delete`],
/// [`Conditions::stage`]).
pub fn recompute(
    previous: &[Condition],
    findings: impl IntoIterator<Item = Condition>,
    now: &Time,
) -> (Vec<Condition>, Explain) {
    let mut conditions = Conditions::from(previous.to_vec());
    conditions.begin_staging();
    conditions.set_all(findings, now);
    conditions.end_staging();
    let explain = conditions.take_explain();
    (conditions.list, explain)
}

/// Whether two condition lists differ only in `lastTransitionTime`s (or not at all): a
/// status writer can skip a write that would change nothing else.
pub fn same_ignoring_times(a: &[Condition], b: &[Condition]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equal(y))
}
