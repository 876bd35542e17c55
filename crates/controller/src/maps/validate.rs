//! The checks of NetworkMaps and StorageMaps (pure), with upstream's conditions
//! (`pkg/controller/map/{network,storage}/validation.go`,
//! `pkg/controller/validation/provider.go`).
//!
//! Source references are resolved against the source provider's inventory exactly as
//! upstream's finder does: by `id` when set, otherwise by `name` (only the last `/`
//! segment compared); the resolved `id` and `name` are what `status.references` lists,
//! once per `id`. Several entries failing the same way are reported together in the
//! condition's items (upstream's `Ref.String()` form). As upstream, the source condition
//! is unique by type, so when several kinds of failure occur the last one written wins:
//! `Ambiguous` over `NotFound` over `NotSet`.
//!
//! Ferry also de-duplicates the StorageMap's references by `id` (upstream lists every
//! resolved entry there, duplicates included).

use ferry_api::condition::{Condition, category, reason, types};
use ferry_api::mapping::{DestinationNetworkType, NetworkMap, StorageMap};
use ferry_api::plan::ProviderPair;
use ferry_api::provider::ProviderType;
use ferry_api::{ObjectReference, Provider, Ref, Refs};
use ferry_inventory::{FindError, Found};

use crate::context::ref_set;
use crate::findings::Findings;

/// A provider reference, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderLookup {
    /// `namespace` or `name` is empty.
    NotSet,
    /// No such Provider.
    NotFound,
    /// The Provider.
    Found(Box<Provider>),
}

/// Resolves a provider reference with `lookup`.
pub fn lookup_provider(
    reference: &ObjectReference,
    lookup: &dyn Fn(&str, &str) -> Option<Provider>,
) -> ProviderLookup {
    match ref_set(reference) {
        None => ProviderLookup::NotSet,
        Some((namespace, name)) => match lookup(namespace, name) {
            Some(provider) => ProviderLookup::Found(Box::new(provider)),
            None => ProviderLookup::NotFound,
        },
    }
}

/// Upstream `validation.Provider.Validate`: `ProviderNotValid` (NotSet or NotFound) or
/// `ProviderNotReady`, with the generic messages; and the provider when found.
pub fn provider(found: &ProviderLookup) -> (Vec<Condition>, Option<&Provider>) {
    let not_valid = |reason: &str| {
        Condition::new(types::PROVIDER_NOT_VALID, category::CRITICAL)
            .with_reason(reason)
            .with_message("The provider is not valid.")
    };
    match found {
        ProviderLookup::NotSet => (vec![not_valid(reason::NOT_SET)], None),
        ProviderLookup::NotFound => (vec![not_valid(reason::NOT_FOUND)], None),
        ProviderLookup::Found(provider) => {
            let mut conditions = Vec::new();
            if !provider.status.conditions.is_ready() {
                conditions.push(
                    Condition::new(types::PROVIDER_NOT_READY, category::CRITICAL)
                        .with_message("The provider does not have the Ready condition."),
                );
            }
            (conditions, Some(provider))
        }
    }
}

fn remap(condition: Condition, source: bool) -> Condition {
    let (not_valid, not_ready, valid_message, ready_message) = if source {
        (
            types::SOURCE_PROVIDER_NOT_VALID,
            types::SOURCE_PROVIDER_NOT_READY,
            "The source provider is not valid.",
            "The source provider does not have the Ready condition.",
        )
    } else {
        (
            types::DESTINATION_PROVIDER_NOT_VALID,
            types::DESTINATION_PROVIDER_NOT_READY,
            "The destination provider is not valid.",
            "The destination provider does not have the Ready condition.",
        )
    };
    let mut condition = condition;
    if condition.r#type == types::PROVIDER_NOT_VALID {
        condition.r#type = not_valid.to_string();
        condition.message = valid_message.to_string();
    } else {
        condition.r#type = not_ready.to_string();
        condition.message = ready_message.to_string();
    }
    condition
}

/// Upstream `validation.ProviderPair.Validate`: the source and destination conditions,
/// and `DestinationProviderNotValid/TypeNotValid` when the destination is not OpenShift.
pub fn provider_pair(
    source: &ProviderLookup,
    destination: &ProviderLookup,
    findings: &mut Findings,
) {
    let (conditions, _) = provider(source);
    findings.extend(conditions.into_iter().map(|c| remap(c, true)));
    let (conditions, found) = provider(destination);
    findings.extend(conditions.into_iter().map(|c| remap(c, false)));
    if let Some(destination) = found
        && !destination.is(ProviderType::OpenShift)
    {
        findings.set(
            Condition::new(types::DESTINATION_PROVIDER_NOT_VALID, category::CRITICAL)
                .with_reason(reason::TYPE_NOT_VALID)
                .with_message("The destination provider is not valid."),
        );
    }
}

/// The pair conditions that stop a map's validation.
pub const PAIR_STOPS: [&str; 4] = [
    types::SOURCE_PROVIDER_NOT_VALID,
    types::SOURCE_PROVIDER_NOT_READY,
    types::DESTINATION_PROVIDER_NOT_VALID,
    types::DESTINATION_PROVIDER_NOT_READY,
];

/// Looks up the providers of a pair.
pub fn lookup_pair(
    pair: &ProviderPair,
    lookup: &dyn Fn(&str, &str) -> Option<Provider>,
) -> (ProviderLookup, ProviderLookup) {
    (
        lookup_provider(&pair.source, lookup),
        lookup_provider(&pair.destination, lookup),
    )
}

/// The source inventory is not loaded yet: wait for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotReady;

/// What a source kind is called in messages.
struct SourceWords {
    r#type: &'static str,
    not_set: &'static str,
    not_found: &'static str,
    ambiguous: &'static str,
}

const NETWORK: SourceWords = SourceWords {
    r#type: types::SOURCE_NETWORK_NOT_VALID,
    not_set: "Source network: either `ID` or `Name` required.",
    not_found: "Source network not found.",
    ambiguous: "Source network has ambiguous ref.",
};

const STORAGE: SourceWords = SourceWords {
    r#type: types::SOURCE_STORAGE_NOT_VALID,
    not_set: "Source storage: either `ID` or `Name` required.",
    not_found: "Source storage not found.",
    ambiguous: "Source storage has ambiguous ref.",
};

fn resolve_sources(
    refs: impl Iterator<Item = Ref>,
    find: &dyn Fn(&Ref) -> Result<Found, FindError>,
    words: &SourceWords,
    findings: &mut Findings,
) -> Result<Refs, NotReady> {
    let mut not_found = Vec::new();
    let mut ambiguous = Vec::new();
    let mut references = Refs::default();
    for mut reference in refs {
        if reference.not_set() {
            findings.set(
                Condition::new(words.r#type, category::CRITICAL)
                    .with_reason(reason::NOT_SET)
                    .with_message(words.not_set),
            );
            continue;
        }
        match find(&reference) {
            Ok(found) => {
                reference.id = found.id;
                reference.name = found.name;
            }
            // Upstream's finder looks nothing up for a reference with only a `type` and
            // reports no error, leaving it unresolved.
            Err(FindError::EmptyRef { .. }) => {}
            Err(FindError::NotFound { .. } | FindError::Unsupported { .. }) => {
                not_found.push(reference.to_string());
                continue;
            }
            Err(FindError::NotUnique { .. }) => {
                ambiguous.push(reference.to_string());
                continue;
            }
            Err(FindError::NotReady) => return Err(NotReady),
        }
        if !references.find(&reference) {
            references.list.push(reference);
        }
    }
    if !not_found.is_empty() {
        findings.set(
            Condition::new(words.r#type, category::WARN)
                .with_reason(reason::NOT_FOUND)
                .with_message(words.not_found)
                .with_items(not_found),
        );
    }
    if !ambiguous.is_empty() {
        findings.set(
            Condition::new(words.r#type, category::CRITICAL)
                .with_reason(reason::AMBIGUOUS)
                .with_message(words.ambiguous)
                .with_items(ambiguous),
        );
    }
    Ok(references)
}

/// Resolves a NetworkMap's sources into `status.references`.
pub fn network_sources(
    map: &NetworkMap,
    find: &dyn Fn(&Ref) -> Result<Found, FindError>,
    findings: &mut Findings,
) -> Result<Refs, NotReady> {
    resolve_sources(
        map.spec.map.iter().map(|pair| pair.source.reference()),
        find,
        &NETWORK,
        findings,
    )
}

/// Resolves a StorageMap's sources into `status.references`.
pub fn storage_sources(
    map: &StorageMap,
    find: &dyn Fn(&Ref) -> Result<Found, FindError>,
    findings: &mut Findings,
) -> Result<Refs, NotReady> {
    resolve_sources(
        map.spec.map.iter().map(|pair| pair.source.clone()),
        find,
        &STORAGE,
        findings,
    )
}

/// The sources as written, de-duplicated by `id`, for a source without an inventory in
/// Ferry (the host cluster).
pub fn unresolved(refs: impl Iterator<Item = Ref>) -> Refs {
    let mut references = Refs::default();
    for reference in refs.filter(|r| !r.not_set()) {
        if !references.find(&reference) {
            references.list.push(reference);
        }
    }
    references
}

/// Go's `path.Join(namespace, name)` for the items of destination conditions.
pub fn path_join(namespace: &str, name: &str) -> String {
    let joined = [namespace, name]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return String::new();
    }
    let rooted = joined.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|last| *last != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Checks a NetworkMap's Multus destinations: the namespace is required and the
/// NetworkAttachmentDefinition must exist (`exists(namespace, name)`).
pub fn network_destinations(
    map: &NetworkMap,
    exists: &dyn Fn(&str, &str) -> bool,
    findings: &mut Findings,
) {
    let mut not_found = Vec::new();
    let mut ambiguous = Vec::new();
    for pair in &map.spec.map {
        let destination = &pair.destination;
        if destination.r#type != DestinationNetworkType::Multus {
            continue;
        }
        let item = path_join(&destination.namespace, &destination.name);
        if destination.namespace.is_empty() {
            ambiguous.push(item);
        } else if !exists(&destination.namespace, &destination.name) {
            not_found.push(item);
        }
    }
    if !not_found.is_empty() {
        findings.set(
            Condition::new(types::DESTINATION_NETWORK_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_FOUND)
                .with_message("Destination network (NAD) not found.")
                .with_items(not_found),
        );
    }
    if !ambiguous.is_empty() {
        findings.set(
            Condition::new(types::DESTINATION_NETWORK_NOT_VALID, category::CRITICAL)
                .with_reason(reason::AMBIGUOUS)
                .with_message("Destination network (NAD) namespace required.")
                .with_items(ambiguous),
        );
    }
}

/// Checks a StorageMap's destination storage classes (`exists(name)`).
pub fn storage_destinations(
    map: &StorageMap,
    exists: &dyn Fn(&str) -> bool,
    findings: &mut Findings,
) {
    let missing: Vec<String> = map
        .spec
        .map
        .iter()
        .map(|pair| pair.destination.storage_class.clone())
        .filter(|class| !exists(class))
        .collect();
    if !missing.is_empty() {
        findings.set(
            Condition::new(types::DESTINATION_STORAGE_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_FOUND)
                .with_message("Destination storage not valid.")
                .with_items(missing),
        );
    }
}

#[cfg(test)]
mod tests;
