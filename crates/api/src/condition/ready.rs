//! When each kind's controller sets `Ready`, and with which message.
//!
//! Every Forklift controller ends its validation the same way: if nothing blocks, set
//! `Ready (Required) "<message>"`, then end staging. Each function here takes the
//! conditions of the current pass (while staging) and returns the `Ready` condition to set,
//! or `None` when the object is not ready. Set it with [`Conditions::set`] before
//! [`Conditions::end_staging`].

use super::{Condition, Conditions, category, types};

/// `Ready` message of a Provider.
pub const PROVIDER_MESSAGE: &str = "The provider is ready.";
/// `Ready` message of a Plan.
pub const PLAN_MESSAGE: &str = "The migration plan is ready.";
/// `Ready` message of a NetworkMap.
pub const NETWORK_MAP_MESSAGE: &str = "The network map is ready.";
/// `Ready` message of a StorageMap.
pub const STORAGE_MAP_MESSAGE: &str = "The storage map is ready.";
/// `Ready` message of a Migration.
pub const MIGRATION_MESSAGE: &str = "The migration is ready.";
/// `Ready` message of a Hook.
pub const HOOK_MESSAGE: &str = "The hook is ready.";
/// `Ready` message of a Host.
pub const HOST_MESSAGE: &str = "The host is ready.";

fn ready(message: &str) -> Condition {
    Condition::new(types::READY, category::REQUIRED).with_message(message)
}

/// Provider: no blocker, and both `ConnectionTestSucceeded` and `InventoryCreated`. (The
/// controller also sets `status.phase = Ready`.)
pub fn provider(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()
        && conditions.has(&[types::CONNECTION_TEST_SUCCEEDED, types::INVENTORY_CREATED]))
    .then(|| ready(PROVIDER_MESSAGE))
}

/// Plan: no blocker, not `Archived`, and not `ValidatingVDDK`.
pub fn plan(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()
        && !conditions.has(&[types::ARCHIVED])
        && !conditions.has(&[types::VALIDATING_VDDK]))
    .then(|| ready(PLAN_MESSAGE))
}

/// NetworkMap: no blocker.
pub fn network_map(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()).then(|| ready(NETWORK_MAP_MESSAGE))
}

/// StorageMap: no blocker.
pub fn storage_map(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()).then(|| ready(STORAGE_MAP_MESSAGE))
}

/// Migration: no blocker.
pub fn migration(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()).then(|| ready(MIGRATION_MESSAGE))
}

/// Hook: no blocker.
pub fn hook(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker()).then(|| ready(HOOK_MESSAGE))
}

/// Host: no blocker, and `ConnectionTestSucceeded`.
pub fn host(conditions: &Conditions) -> Option<Condition> {
    (!conditions.has_blocker() && conditions.has(&[types::CONNECTION_TEST_SUCCEEDED]))
        .then(|| ready(HOST_MESSAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> crate::Time {
        crate::time::parse("2024-05-01T10:00:00Z").unwrap()
    }

    fn staged(conditions: &[Condition]) -> Conditions {
        let mut list = Conditions::default();
        list.begin_staging();
        list.set_all(conditions.iter().cloned(), &now());
        list
    }

    #[test]
    fn provider_needs_connection_and_inventory() {
        let tested = Condition::new(types::CONNECTION_TEST_SUCCEEDED, category::REQUIRED);
        let inventory = Condition::new(types::INVENTORY_CREATED, category::REQUIRED);
        assert!(provider(&staged(std::slice::from_ref(&tested))).is_none());
        let ready = provider(&staged(&[tested.clone(), inventory.clone()])).unwrap();
        assert_eq!(ready.message, PROVIDER_MESSAGE);
        assert_eq!(ready.category, category::REQUIRED);
        let blocked = staged(&[
            tested,
            inventory,
            Condition::new(types::SECRET_NOT_VALID, category::CRITICAL),
        ]);
        assert!(provider(&blocked).is_none());
    }

    #[test]
    fn plan_is_not_ready_while_archived_or_validating_vddk() {
        assert_eq!(plan(&staged(&[])).unwrap().message, PLAN_MESSAGE);
        let warn = Condition::new(types::TARGET_NAME_NOT_VALID, category::WARN);
        assert!(plan(&staged(&[warn])).is_some(), "Warn does not block");
        let archived = Condition::new(types::ARCHIVED, category::ADVISORY);
        assert!(plan(&staged(&[archived])).is_none());
        let vddk = Condition::new(types::VALIDATING_VDDK, category::ADVISORY);
        assert!(plan(&staged(&[vddk])).is_none());
        let error = Condition::new("Anything", category::ERROR);
        assert!(plan(&staged(&[error])).is_none());
    }

    #[test]
    fn a_false_blocker_does_not_block() {
        let off = Condition::new(types::VM_NOT_FOUND, category::CRITICAL).with_status_false();
        assert!(network_map(&staged(&[off])).is_some());
    }

    #[test]
    fn an_unstaged_blocker_is_invisible_while_staging() {
        let mut list = Conditions::from(vec![Condition::new(
            types::SOURCE_NETWORK_NOT_VALID,
            category::CRITICAL,
        )]);
        assert!(storage_map(&list).is_none());
        list.begin_staging();
        assert_eq!(storage_map(&list).unwrap().message, STORAGE_MAP_MESSAGE);
    }

    #[test]
    fn host_needs_connection_test() {
        assert!(host(&staged(&[])).is_none());
        let tested = Condition::new(types::CONNECTION_TEST_SUCCEEDED, category::REQUIRED);
        assert_eq!(host(&staged(&[tested])).unwrap().message, HOST_MESSAGE);
        assert_eq!(hook(&staged(&[])).unwrap().message, HOOK_MESSAGE);
        assert_eq!(migration(&staged(&[])).unwrap().message, MIGRATION_MESSAGE);
    }
}
