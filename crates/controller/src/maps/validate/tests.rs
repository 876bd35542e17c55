use ferry_api::condition::{Conditions, types};
use ferry_api::mapping::{
    DestinationNetwork, DestinationStorage, NetworkMapSpec, NetworkPair, NetworkSourceRef,
    StorageMapSpec, StoragePair,
};
use ferry_api::provider::ProviderSpec;
use ferry_inventory::Kind;

use super::*;

fn provider(name: &str, t: &str, ready: bool) -> Provider {
    let mut provider = Provider::new(
        "ns",
        name,
        ProviderSpec {
            r#type: Some(t.into()),
            ..ProviderSpec::default()
        },
    );
    if ready {
        provider.status.conditions =
            Conditions::from(vec![Condition::new(types::READY, category::REQUIRED)]);
    }
    provider
}

fn reference(name: &str) -> ObjectReference {
    ObjectReference {
        namespace: Some("ns".into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

fn pair(source: &str, destination: &str) -> ProviderPair {
    ProviderPair {
        source: reference(source),
        destination: reference(destination),
    }
}

fn providers(namespace: &str, name: &str) -> Option<Provider> {
    if namespace != "ns" {
        return None;
    }
    match name {
        "ova" => Some(provider("ova", "ova", true)),
        "host" => Some(provider("host", "openshift", true)),
        "loading" => Some(provider("loading", "ova", false)),
        "vsphere" => Some(provider("vsphere", "vsphere", true)),
        _ => None,
    }
}

fn pair_findings(pair: &ProviderPair) -> Findings {
    let (source, destination) = lookup_pair(pair, &providers);
    let mut findings = Findings::new();
    provider_pair(&source, &destination, &mut findings);
    findings
}

#[test]
fn provider_pairs() {
    assert!(pair_findings(&pair("ova", "host")).types().is_empty());
    let findings = pair_findings(&ProviderPair::default());
    assert_eq!(
        findings.types(),
        [
            types::SOURCE_PROVIDER_NOT_VALID,
            types::DESTINATION_PROVIDER_NOT_VALID
        ]
    );
    let c = findings.get(types::SOURCE_PROVIDER_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str(), c.category.as_str()),
        ("NotSet", "The source provider is not valid.", "Critical")
    );
    let findings = pair_findings(&pair("gone", "loading"));
    assert_eq!(
        findings
            .get(types::SOURCE_PROVIDER_NOT_VALID)
            .unwrap()
            .reason,
        "NotFound"
    );
    let c = findings.get(types::DESTINATION_PROVIDER_NOT_READY).unwrap();
    assert_eq!(
        c.message,
        "The destination provider does not have the Ready condition."
    );
    assert_eq!(c.reason, "");
    let findings = pair_findings(&pair("ova", "vsphere"));
    let c = findings.get(types::DESTINATION_PROVIDER_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("TypeNotValid", "The destination provider is not valid.")
    );
    // A reference in another namespace does not find the provider.
    let mut other = pair("ova", "host");
    other.source.namespace = Some("elsewhere".into());
    assert!(pair_findings(&other).has(types::SOURCE_PROVIDER_NOT_VALID));
}

/// An inventory of networks: `net-1 "VM Network"`, `net-2 "dup"`, `net-3 "dup"`.
fn find(reference: &Ref) -> Result<Found, FindError> {
    let items = [("net-1", "VM Network"), ("net-2", "dup"), ("net-3", "dup")];
    let found = |(id, name): &(&str, &str)| Found {
        kind: Kind::Network,
        id: id.to_string(),
        name: name.to_string(),
    };
    if !reference.id.is_empty() {
        return items
            .iter()
            .find(|(id, _)| *id == reference.id)
            .map(found)
            .ok_or(FindError::NotFound {
                kind: Kind::Network,
                reference: reference.clone(),
            });
    }
    if reference.name.is_empty() {
        return Err(FindError::EmptyRef {
            kind: Kind::Network,
        });
    }
    let name = reference.name.rsplit('/').next().unwrap_or_default();
    let matches: Vec<_> = items.iter().filter(|(_, n)| *n == name).collect();
    match matches.as_slice() {
        [] => Err(FindError::NotFound {
            kind: Kind::Network,
            reference: reference.clone(),
        }),
        [one] => Ok(found(one)),
        _ => Err(FindError::NotUnique {
            kind: Kind::Network,
            reference: reference.clone(),
            count: matches.len(),
        }),
    }
}

fn network_map(sources: &[(&str, &str)], destinations: &[DestinationNetwork]) -> NetworkMap {
    let map = sources
        .iter()
        .enumerate()
        .map(|(i, (id, name))| NetworkPair {
            source: NetworkSourceRef {
                id: id.to_string(),
                name: name.to_string(),
                ..NetworkSourceRef::default()
            },
            destination: destinations.get(i).cloned().unwrap_or(DestinationNetwork {
                r#type: DestinationNetworkType::Pod,
                ..DestinationNetwork::default()
            }),
        })
        .collect();
    NetworkMap::new(
        "ns",
        "m",
        NetworkMapSpec {
            provider: pair("ova", "host"),
            map,
        },
    )
}

#[test]
fn sources_resolve_into_deduplicated_references() {
    let map = network_map(
        &[
            ("net-1", ""),
            ("", "folder/VM Network"),
            ("", "dup"),
            ("", "nope"),
        ],
        &[],
    );
    let mut findings = Findings::new();
    let refs = network_sources(&map, &find, &mut findings).unwrap();
    assert_eq!(
        refs.list,
        vec![Ref::with_id_and_name("net-1", "VM Network")]
    );
    // Ambiguous is written last, so it wins over NotFound.
    let c = findings.get(types::SOURCE_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str(), c.message.as_str()),
        ("Ambiguous", "Critical", "Source network has ambiguous ref.")
    );
    assert_eq!(c.items, vec![" id: name:'dup' ".to_string()]);
}

#[test]
fn a_source_not_found_is_only_a_warning() {
    let map = network_map(&[("net-1", ""), ("net-9", "")], &[]);
    let mut findings = Findings::new();
    let refs = network_sources(&map, &find, &mut findings).unwrap();
    assert_eq!(refs.list.len(), 1);
    let c = findings.get(types::SOURCE_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str(), c.message.as_str()),
        ("NotFound", "Warn", "Source network not found.")
    );
    assert_eq!(c.items, vec![" id:net-9 name:'' ".to_string()]);
    assert!(!findings.has_blocker());
}

#[test]
fn unset_sources_are_critical_unless_a_later_kind_overwrites_them() {
    let map = network_map(&[("", "")], &[]);
    let mut findings = Findings::new();
    network_sources(&map, &find, &mut findings).unwrap();
    let c = findings.get(types::SOURCE_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str(), c.message.as_str()),
        (
            "NotSet",
            "Critical",
            "Source network: either `ID` or `Name` required."
        )
    );
    // As upstream: NotFound is written after NotSet and replaces it.
    let map = network_map(&[("", ""), ("net-9", "")], &[]);
    let mut findings = Findings::new();
    network_sources(&map, &find, &mut findings).unwrap();
    assert_eq!(
        findings
            .get(types::SOURCE_NETWORK_NOT_VALID)
            .unwrap()
            .reason,
        "NotFound"
    );
}

#[test]
fn an_unloaded_inventory_is_waited_for() {
    let map = network_map(&[("net-1", "")], &[]);
    let not_ready = |_: &Ref| Err(FindError::NotReady);
    assert_eq!(
        network_sources(&map, &not_ready, &mut Findings::new()),
        Err(NotReady)
    );
}

#[test]
fn multus_destinations_need_a_namespace_and_an_existing_nad() {
    let multus = |namespace: &str, name: &str| DestinationNetwork {
        r#type: DestinationNetworkType::Multus,
        namespace: namespace.into(),
        name: name.into(),
    };
    let map = network_map(
        &[("net-1", ""), ("net-1", ""), ("net-1", ""), ("net-1", "")],
        &[
            multus("blue", "nad"),
            multus("red", "gone"),
            multus("", "no-namespace"),
            DestinationNetwork {
                r#type: DestinationNetworkType::Ignored,
                ..DestinationNetwork::default()
            },
        ],
    );
    let exists = |namespace: &str, name: &str| namespace == "blue" && name == "nad";
    let mut findings = Findings::new();
    network_destinations(&map, &exists, &mut findings);
    let c = findings.get(types::DESTINATION_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("Ambiguous", "Destination network (NAD) namespace required.")
    );
    assert_eq!(c.items, vec!["no-namespace".to_string()]);
    let map = network_map(&[("net-1", "")], &[multus("red", "gone")]);
    let mut findings = Findings::new();
    network_destinations(&map, &exists, &mut findings);
    let c = findings.get(types::DESTINATION_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str(), c.items.as_slice()),
        (
            "NotFound",
            "Destination network (NAD) not found.",
            ["red/gone".to_string()].as_slice()
        )
    );
}

#[test]
fn storage_classes_must_exist() {
    let map = StorageMap::new(
        "ns",
        "s",
        StorageMapSpec {
            provider: pair("ova", "host"),
            map: ["standard", "gold", ""]
                .iter()
                .map(|class| StoragePair {
                    source: Ref::id("disk-1"),
                    destination: DestinationStorage {
                        storage_class: class.to_string(),
                        ..DestinationStorage::default()
                    },
                    offload_plugin: None,
                })
                .collect(),
        },
    );
    let mut findings = Findings::new();
    storage_destinations(&map, &|class| class == "standard", &mut findings);
    let c = findings.get(types::DESTINATION_STORAGE_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("NotFound", "Destination storage not valid.")
    );
    assert_eq!(c.items, vec!["gold".to_string(), String::new()]);
    let storage_find = |reference: &Ref| {
        let mut reference = reference.clone();
        reference.id = reference.id.replace("disk", "net");
        find(&reference).map(|found| Found {
            kind: Kind::Storage,
            ..found
        })
    };
    let mut findings = Findings::new();
    let refs = storage_sources(&map, &storage_find, &mut findings).unwrap();
    assert_eq!(
        refs.list.len(),
        1,
        "three entries with the same source, listed once"
    );
    assert!(!findings.has(types::SOURCE_STORAGE_NOT_VALID));
}

#[test]
fn thousands_of_entries() {
    let sources: Vec<(String, String)> = (0..5000)
        .map(|i| match i % 3 {
            0 => ("net-1".to_string(), String::new()),
            1 => (String::new(), "VM Network".to_string()),
            _ => (format!("missing-{i}"), String::new()),
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = sources
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let map = network_map(&borrowed, &[]);
    let mut findings = Findings::new();
    let refs = network_sources(&map, &find, &mut findings).unwrap();
    assert_eq!(refs.list.len(), 1);
    assert_eq!(
        findings
            .get(types::SOURCE_NETWORK_NOT_VALID)
            .unwrap()
            .items
            .len(),
        1666
    );
}

#[test]
fn go_path_join() {
    assert_eq!(path_join("", "name"), "name");
    assert_eq!(path_join("ns", "name"), "ns/name");
    assert_eq!(path_join("", ""), "");
    assert_eq!(path_join("ns", ""), "ns");
    assert_eq!(path_join("a/", "/b"), "a/b");
    assert_eq!(path_join("a", "../b"), "b");
    assert_eq!(path_join("", ".."), "..");
}
