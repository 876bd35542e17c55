//! structured-merge-diff's `merge.Updater` for one API version: who owns what after an
//! update or an apply, conflicts, and pruning of fields an applier stopped applying.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fieldpath::{Path, Set, values_equal};
use crate::schema::TypeInfo;
use crate::typed::{self, Comparison};

/// One manager's fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VersionedSet {
    pub set: Set,
    pub api_version: String,
    pub applied: bool,
}

/// Managers by identifier (see [`crate::managed_fields`]).
pub(crate) type Managers = BTreeMap<String, VersionedSet>;

/// Fields other managers own that an operation changes: `(manager id, path)`.
pub(crate) type Conflicts = Vec<(String, Path)>;

pub(crate) struct Updater<'t> {
    pub types: &'t dyn TypeInfo,
    /// Fields this endpoint ignores (its strategy resets them), with all below them.
    pub ignored: &'t Set,
}

impl Updater<'_> {
    fn filter(&self, set: &Set) -> Set {
        if self.ignored.is_empty() {
            set.clone()
        } else {
            set.recursive_difference(self.ignored)
        }
    }

    /// `update`: takes fields `new` changed away from the other managers (or reports
    /// them as conflicts unless `force`), and drops removed fields from everyone.
    fn update(
        &self,
        old: &Value,
        new: &Value,
        managers: &mut Managers,
        workflow: &str,
        force: bool,
    ) -> Result<Comparison, Conflicts> {
        let root = self.types.root();
        let raw = typed::compare(self.types, old, new, root);
        let compare = Comparison {
            added: self.filter(&raw.added),
            modified: self.filter(&raw.modified),
            removed: self.filter(&raw.removed),
        };
        let changed = compare.modified.union(&compare.added);
        let mut conflicts: BTreeMap<String, Set> = BTreeMap::new();
        for (manager, vs) in managers.iter() {
            if manager == workflow {
                continue;
            }
            let c = vs.set.intersection(&changed);
            if !c.is_empty() {
                conflicts.insert(manager.clone(), c);
            }
        }
        if !force && !conflicts.is_empty() {
            let mut out = Vec::new();
            for (manager, set) in &conflicts {
                for p in set.paths() {
                    out.push((manager.clone(), p));
                }
            }
            return Err(out);
        }
        for (manager, c) in &conflicts {
            if let Some(vs) = managers.get_mut(manager) {
                vs.set = vs.set.difference(c);
            }
        }
        if !compare.removed.is_empty() {
            for (manager, vs) in managers.iter_mut() {
                if manager != workflow {
                    vs.set = vs.set.difference(&compare.removed);
                }
            }
        }
        managers.retain(|_, vs| !vs.set.is_empty());
        Ok(compare)
    }

    /// `Update`: records that `manager` changed `live` into `new`.
    pub fn record_update(
        &self,
        live: &Value,
        new: &Value,
        api_version: &str,
        managers: &mut Managers,
        manager: &str,
    ) {
        let compare = match self.update(live, new, managers, manager, true) {
            Ok(c) => c,
            Err(_) => return,
        };
        let previous = managers
            .get(manager)
            .map(|v| v.set.clone())
            .unwrap_or_default();
        let set = previous
            .difference(&compare.removed)
            .union(&compare.modified)
            .union(&compare.added);
        let set = self.filter(&set);
        if set.is_empty() {
            managers.remove(manager);
        } else {
            managers.insert(
                manager.to_string(),
                VersionedSet {
                    set,
                    api_version: api_version.to_string(),
                    applied: false,
                },
            );
        }
    }

    /// `Apply`: merges `config` into `live` for `manager`; `None` when nothing changes.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        api_version: &str,
        managers: &mut Managers,
        manager: &str,
        force: bool,
    ) -> Result<Option<Value>, Conflicts> {
        let root = self.types.root();
        let merged = typed::merge(self.types, live, config, root);
        let last = managers.get(manager).cloned();
        let set = self.filter(&typed::to_field_set(self.types, config, root));
        managers.insert(
            manager.to_string(),
            VersionedSet {
                set,
                api_version: api_version.to_string(),
                applied: true,
            },
        );
        let new = self.prune(&merged, managers, last.as_ref());
        self.update(live, &new, managers, manager, force)?;
        if values_equal(live, &new) {
            return Ok(None);
        }
        Ok(Some(new))
    }

    /// Removes what the applier applied last time but not this time, unless someone
    /// else owns it.
    fn prune(&self, merged: &Value, managers: &Managers, last: Option<&VersionedSet>) -> Value {
        let Some(last) = last.filter(|l| !l.set.is_empty()) else {
            return merged.clone();
        };
        let t = self.types;
        let root = Some(t.root());
        let ensure = |s: &Set| typed::ensure_named_fields_are_members(t, s, root);
        let field_set = |v: &Value| ensure(&typed::to_field_set(t, v, t.root()));

        let pruned = typed::remove_items(t, merged, &ensure(&last.set), t.root());

        // Add back what anyone (the applier's new configuration included) owns.
        let mut managed = Set::new();
        for vs in managers.values() {
            managed = managed.union(&vs.set);
        }
        let merged_set = field_set(merged);
        let pruned_set = field_set(&pruned);
        let pruned = typed::remove_items(
            t,
            merged,
            &merged_set.difference(&pruned_set.union(&ensure(&managed))),
            t.root(),
        );

        // Only remove what the applier owned last time.
        let pruned_set = field_set(&pruned);
        typed::remove_items(
            t,
            merged,
            &merged_set
                .difference(&pruned_set)
                .intersection(&ensure(&last.set)),
            t.root(),
        )
    }
}
