//! Finding a run's destination objects among those observed, by label selector, the way
//! upstream lists them.

use crate::kubevirt::labels::{self, Labels};
use crate::observe::Objects;
use ferry_api::ObjectMeta;
use ferry_api::k8s_openapi::Metadata;

/// The objects whose labels include every pair of `selector`. A selector with `vmID`
/// looks at that VM's objects only (through the index of [`Objects`]).
pub fn matching<'a, 's, T>(
    items: &'a Objects<T>,
    selector: &'s Labels,
) -> impl Iterator<Item = &'a T> + 's
where
    'a: 's,
    T: Metadata<Ty = ObjectMeta>,
{
    let candidates: Box<dyn Iterator<Item = &'a T> + 'a> =
        match selector.get(ferry_api::labels::VM_ID) {
            Some(vm) => {
                let all: &'a [T] = items;
                Box::new(
                    items
                        .positions_of_vm(vm)
                        .iter()
                        .filter_map(move |&position| all.get(position)),
                )
            }
            None => Box::new(items.iter()),
        };
    candidates.filter(move |item| labels::matches(item.metadata().labels.as_ref(), selector))
}

/// An object's name.
pub fn name<T>(item: &T) -> &str
where
    T: Metadata<Ty = ObjectMeta>,
{
    item.metadata().name.as_deref().unwrap_or_default()
}

/// An object's namespace.
pub fn namespace<T>(item: &T) -> &str
where
    T: Metadata<Ty = ObjectMeta>,
{
    item.metadata().namespace.as_deref().unwrap_or_default()
}

/// An annotation of an object.
pub fn annotation<'a, T>(item: &'a T, key: &str) -> Option<&'a str>
where
    T: Metadata<Ty = ObjectMeta>,
{
    item.metadata()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// Whether an object is being deleted.
pub fn terminating<T>(item: &T) -> bool
where
    T: Metadata<Ty = ObjectMeta>,
{
    item.metadata().deletion_timestamp.is_some()
}
