//! The conditions one validation pass finds, with upstream's `SetCondition` semantics
//! within the pass: conditions are unique by type and a later finding of a type
//! replaces the earlier one in place (so "the last write wins", as upstream).

use ferry_api::condition::{Condition, category};

/// Conditions found in one pass, unique by type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    list: Vec<Condition>,
}

impl Findings {
    /// No findings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a condition (replacing one of the same type).
    pub fn set(&mut self, condition: Condition) {
        match self.list.iter_mut().find(|c| c.r#type == condition.r#type) {
            Some(existing) => *existing = condition,
            None => self.list.push(condition),
        }
    }

    /// Sets each condition in order.
    pub fn extend(&mut self, conditions: impl IntoIterator<Item = Condition>) {
        for condition in conditions {
            self.set(condition);
        }
    }

    /// The finding of a type.
    pub fn get(&self, r#type: &str) -> Option<&Condition> {
        self.list.iter().find(|c| c.r#type == r#type)
    }

    /// Whether a `True` finding of this type exists.
    pub fn has(&self, r#type: &str) -> bool {
        self.get(r#type).is_some_and(Condition::is_true)
    }

    /// Whether any of these types was found `True`.
    pub fn has_any(&self, types: &[&str]) -> bool {
        types.iter().any(|t| self.has(t))
    }

    /// Whether a `True` finding blocks `Ready` (category Critical or Error).
    pub fn has_blocker(&self) -> bool {
        self.list.iter().any(|c| {
            c.is_true() && (c.category == category::CRITICAL || c.category == category::ERROR)
        })
    }

    /// The findings, in the order first set.
    pub fn into_vec(self) -> Vec<Condition> {
        self.list
    }

    /// The findings.
    pub fn as_slice(&self) -> &[Condition] {
        &self.list
    }

    /// The types found, in order (tests).
    pub fn types(&self) -> Vec<&str> {
        self.list.iter().map(|c| c.r#type.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::condition::types;

    #[test]
    fn the_last_finding_of_a_type_wins_in_place() {
        let mut findings = Findings::new();
        findings
            .set(Condition::new(types::URL_NOT_VALID, category::CRITICAL).with_reason("NotSet"));
        findings.set(Condition::new(types::SECRET_NOT_VALID, category::CRITICAL));
        findings
            .set(Condition::new(types::URL_NOT_VALID, category::CRITICAL).with_reason("Malformed"));
        assert_eq!(findings.types(), ["UrlNotValid", "SecretNotValid"]);
        assert_eq!(
            findings.get(types::URL_NOT_VALID).unwrap().reason,
            "Malformed"
        );
        assert!(findings.has_blocker());
        let mut warn_only = Findings::new();
        warn_only.set(Condition::new(types::CONNECTION_INSECURE, category::WARN));
        assert!(!warn_only.has_blocker());
        assert!(warn_only.has(types::CONNECTION_INSECURE));
    }
}
