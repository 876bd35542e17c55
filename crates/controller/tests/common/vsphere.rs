//! A vSphere provider over vcsim with maps and a plan, for the tests that change VMs in
//! "vCenter" and watch the plan follow.

use std::sync::Arc;
use std::time::Duration;

use ferry_api::mapping::{
    DestinationNetwork, DestinationNetworkType, DestinationStorage, NetworkMap, NetworkMapSpec,
    NetworkPair, NetworkSourceRef, StorageMap, StorageMapSpec, StoragePair,
};
use ferry_api::plan::{PlanSpec, ProviderPair, Vm as PlanVm};
use ferry_api::provider::{ProviderSpec, phase};
use ferry_api::{Plan, Provider, Ref};
use ferry_controller::plan::ferry::FerryPlan;
use ferry_inventory::{Inventory, Kind};
use ferry_vim::Client;
use ferry_vim::vcsim::Vcsim;

use super::{Bed, NS, reference};

/// A vSphere Provider `name` in [`NS`] for `url` with the Secret `secret`.
pub fn vsphere(name: &str, url: &str, secret: &str) -> Provider {
    Provider::new(
        NS,
        name,
        ProviderSpec {
            r#type: Some("vsphere".into()),
            url: url.into(),
            secret: reference(secret),
            ..ProviderSpec::default()
        },
    )
}

/// A Ready vSphere provider over a vcsim, the host provider, maps over every network and
/// datastore, and a cold Plan `plan` over some of the vcsim's VMs, with the manager
/// running Ferry's plan controller.
/// Creates the Secret `vc-creds` with vcsim's user and password plus `trust` (how the
/// certificate is trusted: `("cacert", pem)` or `("insecureSkipVerify", "true")`), and
/// the vSphere Provider `vc` that uses it.
pub async fn vcsim_provider(bed: &Bed, vcsim: &Vcsim, trust: (&str, &str)) -> Provider {
    let password = vcsim.password().expose().to_string();
    bed.secret(
        "vc-creds",
        &[("user", vcsim.user()), ("password", &password), trust],
    )
    .await;
    bed.create(&vsphere("vc", vcsim.url().as_str(), "vc-creds"))
        .await
}

pub struct PlanBed {
    /// The test bed.
    pub bed: Bed,
    /// The simulator (stops when dropped).
    pub vcsim: Vcsim,
    /// A client of the simulator, for changes made in "vCenter".
    pub client: Client,
    /// The vSphere provider's inventory.
    pub inventory: Arc<dyn Inventory>,
}

/// Starts a [`PlanBed`] whose plan names `vms`, with the plan controller's debounce at
/// `plan_debounce`.
pub async fn plan_bed(vms: &[&str], plan_debounce: Duration) -> PlanBed {
    let vcsim = Vcsim::builder()
        .autostart(false)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut bed = Bed::new().await;
    bed.settings.manager.plan_debounce = plan_debounce;
    bed.start_manager_with(Some(Arc::new(FerryPlan::new())), None)
        .await;
    let provider = vcsim_provider(&bed, &vcsim, ("insecureSkipVerify", "true")).await;
    bed.create(&Provider::host(NS)).await;
    bed.storage_class("standard").await;
    for name in ["vc", "host"] {
        bed.wait(name, "provider Ready", |p: &Provider| {
            p.status.phase == phase::READY
        })
        .await;
    }
    let inventory = bed
        .manager()
        .collectors()
        .inventory(provider.uid())
        .unwrap();
    let pair = ProviderPair {
        source: reference("vc"),
        destination: reference("host"),
    };
    let networks: Vec<NetworkPair> = inventory
        .list(Kind::Network)
        .unwrap()
        .into_iter()
        .map(|n| NetworkPair {
            source: NetworkSourceRef {
                id: n.id,
                ..NetworkSourceRef::default()
            },
            destination: DestinationNetwork {
                r#type: DestinationNetworkType::Ignored,
                ..DestinationNetwork::default()
            },
        })
        .collect();
    bed.create(&NetworkMap::new(
        NS,
        "net",
        NetworkMapSpec {
            provider: pair.clone(),
            map: networks,
        },
    ))
    .await;
    let storages: Vec<StoragePair> = inventory
        .list(Kind::Storage)
        .unwrap()
        .into_iter()
        .map(|s| StoragePair {
            source: Ref::id(s.id),
            destination: DestinationStorage {
                storage_class: "standard".into(),
                ..DestinationStorage::default()
            },
            offload_plugin: None,
        })
        .collect();
    bed.create(&StorageMap::new(
        NS,
        "storage",
        StorageMapSpec {
            provider: pair.clone(),
            map: storages,
        },
    ))
    .await;
    let mut plan = Plan::new(NS, "plan", PlanSpec::default());
    plan.spec.target_namespace = "target".into();
    plan.spec.provider = pair;
    plan.spec.map.network = reference("net");
    plan.spec.map.storage = reference("storage");
    plan.spec.vms = vms
        .iter()
        .map(|name| PlanVm {
            name: (*name).into(),
            ..PlanVm::default()
        })
        .collect();
    bed.create(&plan).await;
    let client = Client::connect(vcsim.config()).await.unwrap();
    PlanBed {
        bed,
        vcsim,
        client,
        inventory,
    }
}
