//! Runs and their snapshots (`status.migration.history`): which Migration is active,
//! which are pending, whether the objects a run started with are still the same (plan
//! spec §3.1–3.2).

use crate::conditions;
use ferry_api::condition::types;
use ferry_api::plan::{MigrationStatus, Snapshot, SnapshotMap, SnapshotRef, SnapshotRefPair};
use ferry_api::{Migration, NetworkMap, Plan, Provider, StorageMap, Time};

/// Whether a snapshot ended (`Canceled`, `Failed` or `Succeeded`).
pub fn is_terminal(snapshot: &Snapshot) -> bool {
    snapshot
        .conditions
        .has_any(&[types::CANCELED, types::FAILED, types::SUCCEEDED])
}

fn uid(migration: &Migration) -> &str {
    migration.metadata.uid.as_deref().unwrap_or_default()
}

/// Upstream `activeMigration`: the Migration of the last snapshot when that snapshot has
/// not ended. A Migration that is gone, or was replaced by one with another UID, cancels
/// the snapshot (`Canceled/Deleted`) and removes its `Executing`.
pub fn active_migration<'a>(
    status: &mut MigrationStatus,
    migrations: &'a [Migration],
    now: &Time,
) -> Option<&'a Migration> {
    let snapshot = status.active_snapshot_mut()?;
    if is_terminal(snapshot) {
        return None;
    }
    let wanted = &snapshot.migration;
    let found = migrations.iter().find(|m| {
        m.metadata.namespace.as_deref() == Some(wanted.namespace.as_str())
            && m.metadata.name.as_deref() == Some(wanted.name.as_str())
    });
    match found {
        Some(migration) if uid(migration) == wanted.uid => Some(migration),
        _ => {
            snapshot.conditions.set(conditions::canceled_deleted(), now);
            snapshot.conditions.delete(&[types::EXECUTING]);
            None
        }
    }
}

/// The objects a run started with.
#[derive(Clone, Copy)]
pub struct Referenced<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The source provider.
    pub source: &'a Provider,
    /// The destination provider.
    pub destination: &'a Provider,
    /// The network map.
    pub network_map: &'a NetworkMap,
    /// The storage map (`None` for `type: conversion`).
    pub storage_map: Option<&'a StorageMap>,
}

/// Upstream `matchSnapshot`: the plan, both providers, the network map and (except for
/// `type: conversion`) the storage map still have the UIDs the run started with.
/// Generations are ignored.
pub fn matches(snapshot: &Snapshot, referenced: &Referenced<'_>) -> bool {
    snapshot.plan.matches(&referenced.plan.metadata)
        && snapshot
            .provider
            .source
            .matches(&referenced.source.metadata)
        && snapshot
            .provider
            .destination
            .matches(&referenced.destination.metadata)
        && snapshot
            .map
            .network
            .matches(&referenced.network_map.metadata)
        && referenced
            .storage_map
            .is_none_or(|map| snapshot.map.storage.matches(&map.metadata))
}

/// Upstream `pendingMigrations`: the Migrations naming the plan that have neither ended
/// nor been canceled, oldest first (then by `namespace/name`).
///
/// Ferry also skips a Migration whose snapshot already ended in any way: a Migration runs
/// once, and upstream could otherwise run a Migration again whose snapshot failed before
/// the Migration controller marked it (plan spec §10).
pub fn pending<'a>(status: &MigrationStatus, migrations: &'a [Migration]) -> Vec<&'a Migration> {
    let mut pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| {
            !status
                .history
                .iter()
                .any(|s| s.migration.uid == uid(m) && is_terminal(s))
        })
        .filter(|m| {
            !m.status
                .conditions
                .has_any(&[types::SUCCEEDED, types::FAILED, types::CANCELED])
        })
        .collect();
    pending.sort_by(|a, b| {
        let time = |m: &Migration| m.metadata.creation_timestamp.as_ref().map(|t| t.0);
        time(a).cmp(&time(b)).then_with(|| key(a).cmp(&key(b)))
    });
    pending
}

fn key(migration: &Migration) -> String {
    format!(
        "{}/{}",
        migration.metadata.namespace.as_deref().unwrap_or_default(),
        migration.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Upstream `newSnapshot`: the objects a new run starts with. For `type: conversion` the
/// storage map stays zero-valued.
pub fn new_snapshot(referenced: &Referenced<'_>, migration: &Migration) -> Snapshot {
    Snapshot {
        plan: SnapshotRef::of(&referenced.plan.metadata),
        migration: SnapshotRef::of(&migration.metadata),
        provider: SnapshotRefPair {
            source: SnapshotRef::of(&referenced.source.metadata),
            destination: SnapshotRef::of(&referenced.destination.metadata),
        },
        map: SnapshotMap {
            network: SnapshotRef::of(&referenced.network_map.metadata),
            storage: referenced
                .storage_map
                .map(|m| SnapshotRef::of(&m.metadata))
                .unwrap_or_default(),
        },
        ..Snapshot::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::migration::MigrationSpec;

    fn now() -> Time {
        ferry_api::time::parse("2024-05-01T10:00:00Z").unwrap()
    }

    fn migration(name: &str, uid: &str, created: &str) -> Migration {
        let mut m = Migration::new("mtv", name, MigrationSpec::default());
        m.metadata.uid = Some(uid.into());
        m.metadata.creation_timestamp = Some(ferry_api::time::parse(created).unwrap());
        m
    }

    fn snapshot_of(m: &Migration) -> Snapshot {
        Snapshot {
            migration: SnapshotRef::of(&m.metadata),
            ..Snapshot::default()
        }
    }

    #[test]
    fn pending_migrations_are_ordered_and_filtered() {
        let early = migration("b", "u-b", "2024-05-01T09:00:00Z");
        let tie_a = migration("a", "u-a", "2024-05-01T09:30:00Z");
        let tie_c = migration("c", "u-c", "2024-05-01T09:30:00Z");
        let mut done = migration("d", "u-d", "2024-05-01T08:00:00Z");
        done.status
            .conditions
            .set(conditions::plan_succeeded(), &now());
        let canceled = migration("e", "u-e", "2024-05-01T08:00:00Z");
        let mut status = MigrationStatus::default();
        let mut old = snapshot_of(&canceled);
        old.conditions.set(conditions::canceled_deleted(), &now());
        status.history.push(old);
        let all = [tie_c, done, early, canceled, tie_a];
        let names: Vec<_> = pending(&status, &all)
            .iter()
            .map(|m| m.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["b", "a", "c"]);
    }

    #[test]
    fn a_deleted_or_replaced_migration_cancels_the_snapshot() {
        let m1 = migration("m1", "u-1", "2024-05-01T09:00:00Z");
        let mut status = MigrationStatus::default();
        let mut snapshot = snapshot_of(&m1);
        snapshot.conditions.set(conditions::executing(), &now());
        status.history.push(snapshot);
        assert!(active_migration(&mut status.clone(), std::slice::from_ref(&m1), &now()).is_some());

        let mut gone = status.clone();
        assert!(active_migration(&mut gone, &[], &now()).is_none());
        let snapshot = gone.active_snapshot().unwrap();
        let canceled = snapshot.conditions.find(types::CANCELED).unwrap();
        assert_eq!(canceled.reason, "Deleted");
        assert_eq!(canceled.message, "The migration has been deleted.");
        assert!(canceled.durable);
        assert!(snapshot.conditions.find(types::EXECUTING).is_none());

        let replaced = migration("m1", "u-other", "2024-05-01T09:00:00Z");
        let mut replaced_status = status.clone();
        assert!(active_migration(&mut replaced_status, &[replaced], &now()).is_none());
        assert!(is_terminal(replaced_status.active_snapshot().unwrap()));

        // A terminal snapshot has no active migration and is left alone.
        let mut ended = gone.clone();
        assert!(active_migration(&mut ended, std::slice::from_ref(&m1), &now()).is_none());
        assert_eq!(ended, gone);
        assert!(active_migration(&mut MigrationStatus::default(), &[m1], &now()).is_none());
    }
}
