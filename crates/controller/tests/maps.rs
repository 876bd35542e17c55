//! The map controllers against the embedded API server: references resolved against
//! the OVA inventory, warnings that do not block, provider pairs that do, destination
//! storage classes appearing later, and very large maps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Bed, EXPORT, NS, condition, reference, types};
use ferry_api::condition::types as t;
use ferry_api::mapping::{
    DestinationNetwork, DestinationNetworkType, DestinationStorage, NetworkMap, NetworkMapSpec,
    NetworkPair, NetworkSourceRef, StorageMap, StorageMapSpec, StoragePair,
};
use ferry_api::plan::ProviderPair;
use ferry_api::provider::{ProviderSpec, phase};
use ferry_api::{Provider, Ref};

async fn ready_providers(bed: &Bed) {
    bed.secret("creds", &[("url", EXPORT)]).await;
    bed.create(&Provider::new(
        NS,
        "ova",
        ProviderSpec {
            r#type: Some("ova".into()),
            url: EXPORT.into(),
            secret: reference("creds"),
            ..ProviderSpec::default()
        },
    ))
    .await;
    bed.create(&Provider::host(NS)).await;
    for name in ["ova", "host"] {
        bed.wait(name, "provider Ready", |p: &Provider| {
            p.status.phase == phase::READY
        })
        .await;
    }
}

fn pair() -> ProviderPair {
    ProviderPair {
        source: reference("ova"),
        destination: reference("host"),
    }
}

fn network(id: &str, name: &str) -> NetworkPair {
    NetworkPair {
        source: NetworkSourceRef {
            id: id.into(),
            name: name.into(),
            ..NetworkSourceRef::default()
        },
        destination: DestinationNetwork {
            r#type: DestinationNetworkType::Pod,
            ..DestinationNetwork::default()
        },
    }
}

fn map_ready(map: &NetworkMap) -> bool {
    map.status.conditions.is_ready()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_maps_resolve_their_sources() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    ready_providers(&bed).await;
    // "VM Network" is upstream's well-known OVA network ID.
    let vm_network = "ae1badc8c693926f492a01e2f357d6af321b";
    bed.create(&NetworkMap::new(
        NS,
        "net",
        NetworkMapSpec {
            provider: pair(),
            map: vec![
                network("", "VM Network"),
                network(vm_network, ""),
                network("", "Network 1"),
                network("", "no such network"),
            ],
        },
    ))
    .await;
    let map: NetworkMap = bed.wait("net", "map Ready", map_ready).await;
    let references: Vec<(String, String)> = map
        .status
        .references
        .list
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    assert_eq!(references.len(), 2, "{references:?}");
    assert_eq!(references[0], (vm_network.into(), "VM Network".into()));
    assert_eq!(references[1].1, "Network 1");
    let c = condition(&map.status.conditions, t::SOURCE_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.category.as_str()),
        ("NotFound", "Warn")
    );
    assert_eq!(c.items, vec![" id: name:'no such network' ".to_string()]);
    assert_eq!(map.status.observed_generation, map.generation());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_pairs_block_and_destinations_are_checked() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    ready_providers(&bed).await;
    // Both providers in another namespace: not found.
    let mut elsewhere = pair();
    elsewhere.source.namespace = Some("other".into());
    elsewhere.destination.namespace = Some("other".into());
    bed.create(&NetworkMap::new(
        NS,
        "elsewhere",
        NetworkMapSpec {
            provider: elsewhere,
            map: vec![network("", "VM Network")],
        },
    ))
    .await;
    let map: NetworkMap = bed
        .wait("elsewhere", "pair conditions", |m: &NetworkMap| {
            !m.status.conditions.is_empty()
        })
        .await;
    assert_eq!(
        types(&map.status.conditions),
        [
            t::DESTINATION_PROVIDER_NOT_VALID,
            t::SOURCE_PROVIDER_NOT_VALID
        ]
    );
    assert!(map.status.references.list.is_empty());
    // A destination that is not OpenShift.
    bed.create(&NetworkMap::new(
        NS,
        "backwards",
        NetworkMapSpec {
            provider: ProviderPair {
                source: reference("host"),
                destination: reference("ova"),
            },
            map: vec![],
        },
    ))
    .await;
    let map: NetworkMap = bed
        .wait("backwards", "type check", |m: &NetworkMap| {
            !m.status.conditions.is_empty()
        })
        .await;
    let c = condition(&map.status.conditions, t::DESTINATION_PROVIDER_NOT_VALID).unwrap();
    assert_eq!(c.reason, "TypeNotValid");
    // A Multus destination on a cluster without NADs, and one without a namespace.
    let mut multus = network("", "VM Network");
    multus.destination = DestinationNetwork {
        r#type: DestinationNetworkType::Multus,
        namespace: "blue".into(),
        name: "nad".into(),
    };
    bed.create(&NetworkMap::new(
        NS,
        "multus",
        NetworkMapSpec {
            provider: pair(),
            map: vec![multus],
        },
    ))
    .await;
    let map: NetworkMap = bed
        .wait("multus", "destination checked", |m: &NetworkMap| {
            !m.status.conditions.is_empty()
        })
        .await;
    let c = condition(&map.status.conditions, t::DESTINATION_NETWORK_NOT_VALID).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.items.as_slice()),
        ("NotFound", ["blue/nad".to_string()].as_slice())
    );
    assert!(!map.status.conditions.is_ready());
}

fn storage(source: Ref, class: &str) -> StoragePair {
    StoragePair {
        source,
        destination: DestinationStorage {
            storage_class: class.into(),
            ..DestinationStorage::default()
        },
        offload_plugin: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_maps_wait_for_their_storage_class() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    ready_providers(&bed).await;
    let inventory = {
        let providers = bed.api::<Provider>();
        let ova = providers.get("ova").await.unwrap();
        bed.manager().collectors().inventory(ova.uid()).unwrap()
    };
    let disks = inventory.list(ferry_inventory::Kind::Storage).unwrap();
    assert!(!disks.is_empty());
    bed.create(&StorageMap::new(
        NS,
        "storage",
        StorageMapSpec {
            provider: pair(),
            map: disks
                .iter()
                .map(|disk| storage(Ref::id(disk.id.clone()), "gold"))
                .collect(),
        },
    ))
    .await;
    let map: StorageMap = bed
        .wait("storage", "destination missing", |m: &StorageMap| {
            condition(&m.status.conditions, t::DESTINATION_STORAGE_NOT_VALID).is_some()
        })
        .await;
    assert_eq!(map.status.references.list.len(), disks.len());
    assert!(
        map.status
            .references
            .list
            .iter()
            .all(|r| !r.name.is_empty())
    );
    // Creating the class is noticed through the StorageClass watch.
    bed.storage_class("gold").await;
    let map: StorageMap = bed
        .wait(
            "storage",
            "Ready once the class exists",
            |m: &StorageMap| m.status.conditions.is_ready(),
        )
        .await;
    assert!(condition(&map.status.conditions, t::DESTINATION_STORAGE_NOT_VALID).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_with_thousands_of_entries() {
    let mut bed = Bed::new().await;
    bed.start_manager().await;
    ready_providers(&bed).await;
    let map: Vec<NetworkPair> = (0..3000)
        .map(|i| match i % 2 {
            0 => network("", "VM Network"),
            _ => network(&format!("missing-{i}"), ""),
        })
        .collect();
    bed.create(&NetworkMap::new(
        NS,
        "big",
        NetworkMapSpec {
            provider: pair(),
            map,
        },
    ))
    .await;
    let map: NetworkMap = bed.wait("big", "big map Ready", map_ready).await;
    assert_eq!(map.status.references.list.len(), 1);
    let c = condition(&map.status.conditions, t::SOURCE_NETWORK_NOT_VALID).unwrap();
    assert_eq!(c.items.len(), 1500);
}
