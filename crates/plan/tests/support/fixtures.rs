//! Fixtures: the conformance defaults of plan spec §9, adapted to the test adapter's
//! OVA-shaped provider.
//!
//! - Providers `src` (type `ova`, Ready) and `host` (`openshift`, empty URL, Ready) in
//!   `mtv`; maps `net`/`st`, Ready, mapping every source object; `net` maps to `pod`.
//! - Plan `p` in `mtv`, `targetNamespace: tgt`, cold, `preserveStaticIPs: false`.
//! - Inventory VM `vm-1` named `web01`: disks `web01.vmdk` (10 GiB) and `web01_1.vmdk`
//!   (1 GiB), one NIC on `VM Network` with MAC `00:50:56:aa:bb:cc`.

use super::adapter::TestAdapter;
use super::inventory::{TestInventory, disk, network_id, nic, vm};
use ferry_api::condition::{Condition, Conditions, category, types};
use ferry_api::mapping::{
    DestinationNetwork, DestinationNetworkType, DestinationStorage, MapStatus, NetworkMapSpec,
    NetworkPair, NetworkSourceRef, StorageMapSpec, StoragePair,
};
use ferry_api::plan::{PlanMap, PlanSpec, ProviderPair, Vm};
use ferry_api::provider::ProviderSpec;
use ferry_api::{NetworkMap, ObjectReference, Plan, Provider, Ref, Refs, StorageMap};
use ferry_inventory::ova::model::Vm as OvaVm;
use ferry_plan::adapter::Adapters;
use ferry_plan::observe::{Lookup, Observed};
use ferry_plan::settings::Settings;
use ferry_plan::validate::{self, Validation};
use std::sync::Arc;

pub const NS: &str = "mtv";
pub const TARGET: &str = "tgt";
pub const MAC: &str = "00:50:56:aa:bb:cc";
pub const GIB: i64 = 1 << 30;

/// A `Ready` condition list.
pub fn ready() -> Conditions {
    Conditions::from(vec![
        Condition::new(types::READY, category::REQUIRED).with_message("ready"),
    ])
}

/// `{namespace, name}`.
pub fn object_ref(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

pub fn provider(name: &str, r#type: &str, url: &str) -> Provider {
    let mut provider = Provider::new(
        NS,
        name,
        ProviderSpec {
            r#type: Some(r#type.into()),
            url: url.into(),
            ..ProviderSpec::default()
        },
    );
    provider.metadata.uid = Some(format!("uid-{name}"));
    provider.metadata.generation = Some(1);
    provider.status.conditions = ready();
    provider
}

/// The default source VM `vm-1`/`web01`.
pub fn web01() -> OvaVm {
    let mut web = vm("vm-1", "web01");
    web.disks = vec![
        disk(&web, "web01.vmdk", 10 * GIB),
        disk(&web, "web01_1.vmdk", GIB),
    ];
    web.nics = vec![nic("VM Network", MAC)];
    web
}

fn network_map_for(vms: &[OvaVm]) -> NetworkMap {
    let mut map = NetworkMap::new(NS, "net", NetworkMapSpec::default());
    map.metadata.uid = Some("uid-net".into());
    map.spec.provider = ProviderPair {
        source: object_ref(NS, "src"),
        destination: object_ref(NS, "host"),
    };
    let mut refs = Vec::new();
    for vm in vms {
        for nic in &vm.nics {
            let id = network_id(&nic.network);
            if refs.iter().any(|r: &Ref| r.id == id) {
                continue;
            }
            refs.push(Ref::with_id_and_name(id.clone(), nic.network.clone()));
            map.spec.map.push(NetworkPair {
                source: NetworkSourceRef {
                    id,
                    ..NetworkSourceRef::default()
                },
                destination: DestinationNetwork {
                    r#type: DestinationNetworkType::Pod,
                    ..DestinationNetwork::default()
                },
            });
        }
    }
    map.status = MapStatus {
        conditions: ready(),
        references: Refs { list: refs },
        observed_generation: 1,
    };
    map
}

fn storage_map_for(vms: &[OvaVm]) -> StorageMap {
    let mut map = StorageMap::new(NS, "st", StorageMapSpec::default());
    map.metadata.uid = Some("uid-st".into());
    map.spec.provider = ProviderPair {
        source: object_ref(NS, "src"),
        destination: object_ref(NS, "host"),
    };
    let mut refs = Vec::new();
    for vm in vms {
        for disk in &vm.disks {
            refs.push(Ref::with_id_and_name(disk.id.clone(), disk.name.clone()));
            map.spec.map.push(StoragePair {
                source: Ref::id(disk.id.clone()),
                destination: DestinationStorage {
                    storage_class: "standard".into(),
                    ..DestinationStorage::default()
                },
                offload_plugin: None,
            });
        }
    }
    map.status = MapStatus {
        conditions: ready(),
        references: Refs { list: refs },
        observed_generation: 1,
    };
    map
}

/// Plan `p` listing these VMs.
pub fn plan(vms: Vec<Vm>) -> Plan {
    let mut plan = Plan::new(
        NS,
        "p",
        PlanSpec {
            target_namespace: TARGET.into(),
            provider: ProviderPair {
                source: object_ref(NS, "src"),
                destination: object_ref(NS, "host"),
            },
            map: PlanMap {
                network: object_ref(NS, "net"),
                storage: object_ref(NS, "st"),
            },
            vms,
            preserve_static_ips: Some(false),
            ..PlanSpec::default()
        },
    );
    plan.metadata.uid = Some("uid-p".into());
    plan.metadata.generation = Some(1);
    plan
}

/// The conformance world: everything Ready, one VM.
pub struct World {
    pub observed: Observed,
    pub inventory: Arc<TestInventory>,
    pub settings: Settings,
    pub adapters: Adapters,
}

impl World {
    /// The defaults, with `plan.spec.vms = [{id: vm-1}]`.
    pub fn new() -> Self {
        Self::with_vms(vec![web01()], vec![Vm::with_id("vm-1")])
    }

    /// Inventory `inventory`, maps covering it, a plan listing `planned`.
    pub fn with_vms(inventory: Vec<OvaVm>, planned: Vec<Vm>) -> Self {
        let observed = Observed {
            plan: plan(planned),
            source: Lookup::Found(provider("src", "ova", "nfs.example.com:/ova")),
            destination: Lookup::Found(provider("host", "openshift", "")),
            network_map: Lookup::Found(network_map_for(&inventory)),
            storage_map: Lookup::Found(storage_map_for(&inventory)),
            ..Observed::default()
        };
        let store = TestInventory::new(inventory);
        let mut world = Self {
            observed,
            inventory: store.clone(),
            settings: Settings::default(),
            adapters: Adapters::new().with(Arc::new(TestAdapter)),
        };
        world.observed.inventory = Some(store);
        world
    }

    pub fn plan_mut(&mut self) -> &mut PlanSpec {
        &mut self.observed.plan.spec
    }

    pub fn validate(&self) -> Validation {
        validate::validate(&self.observed, &self.adapters, &self.settings)
            .expect("validation does not fail")
    }
}

/// Migration `m1` of plan `p`.
pub fn migration(name: &str, uid: &str) -> ferry_api::Migration {
    let mut migration = ferry_api::Migration::new(
        NS,
        name,
        ferry_api::migration::MigrationSpec {
            plan: object_ref(NS, "p"),
            ..Default::default()
        },
    );
    migration.metadata.uid = Some(uid.into());
    migration.metadata.generation = Some(1);
    migration.metadata.creation_timestamp =
        Some(ferry_api::time::parse("2024-05-01T09:00:00Z").unwrap());
    migration
}

impl World {
    /// A run of the world's plan by `migration`.
    pub fn run<'a>(&'a self, migration: &'a ferry_api::Migration) -> ferry_plan::kubevirt::Run<'a> {
        ferry_plan::kubevirt::Run {
            plan: &self.observed.plan,
            migration,
            source: self.observed.source.found().unwrap(),
            destination: self.observed.destination.found().unwrap(),
            settings: &self.settings,
        }
    }

    /// The plan view the adapter sees.
    pub fn view(&self) -> ferry_plan::adapter::PlanView<'_> {
        ferry_plan::adapter::PlanView {
            plan: &self.observed.plan,
            source: self.observed.source.found().unwrap(),
            destination: self.observed.destination.found().unwrap(),
            network_map: self.observed.network_map.found(),
            storage_map: self.observed.storage_map.found(),
            inventory: self.inventory.as_ref(),
            settings: &self.settings,
        }
    }
}
