//! An in-memory source inventory of OVA-model VMs.

use ferry_inventory::ova::model::{
    Category, Concern, Disk, ExportSource, Network, Nic, Storage, Vm,
};
use ferry_inventory::query::resolve;
use ferry_inventory::{
    Change, FindError, Found, Inventory, InventoryStatus, Kind, Problem, Ref, SourceVm,
};
use std::sync::{Arc, RwLock};
use tokio::sync::{broadcast, watch};

/// A VM named `name` with ID `id`, no disks or NICs.
pub fn vm(id: &str, name: &str) -> Vm {
    Vm {
        id: id.into(),
        name: name.into(),
        ovf_path: format!("/ova/{name}.ova"),
        export_source: ExportSource::VMware,
        os_type: "otherLinux64Guest".into(),
        revision: 1,
        uuid: id.into(),
        firmware: String::new(),
        secure_boot: false,
        cpu_hot_add_enabled: false,
        cpu_hot_remove_enabled: false,
        memory_hot_add_enabled: false,
        cpu_count: 2,
        cores_per_socket: 1,
        memory: 2048,
        memory_units: "byte * 2^20".into(),
        cpu_units: String::new(),
        devices: Vec::new(),
        nics: Vec::new(),
        disks: Vec::new(),
        networks: Vec::new(),
        concerns: Vec::new(),
    }
}

/// A disk of `capacity` bytes, its ID the file name.
pub fn disk(vm: &Vm, file: &str, capacity: i64) -> Disk {
    Disk {
        id: format!("disk-{file}"),
        name: file.into(),
        file_path: vm.ovf_path.clone(),
        capacity,
        capacity_allocation_units: "byte".into(),
        disk_id: format!("vmdisk-{file}"),
        file_ref: format!("file-{file}"),
        format: "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized".into(),
        populated_size: 0,
    }
}

/// A NIC on network `network` with MAC `mac`.
pub fn nic(network: &str, mac: &str) -> Nic {
    Nic {
        name: format!("nic-{network}"),
        mac: mac.into(),
        network: network.into(),
    }
}

/// Network ID of a network name in the test inventory.
pub fn network_id(name: &str) -> String {
    format!("net-{}", name.replace(' ', "-").to_lowercase())
}

/// A concern.
pub fn concern(id: &str, category: Category, label: &str) -> Concern {
    Concern {
        id: id.into(),
        label: label.into(),
        category,
        assessment: format!("{label}."),
    }
}

#[derive(Default)]
struct State {
    vms: Vec<Arc<Vm>>,
    networks: Vec<Network>,
    storages: Vec<Storage>,
    loaded: bool,
}

/// An inventory of VMs; networks and storages are derived from the VMs.
pub struct TestInventory {
    state: RwLock<State>,
    status: watch::Sender<InventoryStatus>,
    changes: broadcast::Sender<Change>,
}

impl TestInventory {
    /// A loaded inventory of these VMs. Each VM's NIC networks become inventory networks
    /// (and the VM's `networks`), each disk a storage.
    pub fn new(vms: Vec<Vm>) -> Arc<Self> {
        let (status, _) = watch::channel(InventoryStatus {
            parity: true,
            generation: 1,
            error: None,
        });
        let (changes, _) = broadcast::channel(16);
        let inventory = Arc::new(Self {
            state: RwLock::new(State::default()),
            status,
            changes,
        });
        inventory.replace(vms);
        inventory
    }

    /// An inventory that has not loaded yet.
    pub fn unloaded() -> Arc<Self> {
        let inventory = Self::new(Vec::new());
        inventory.state.write().unwrap().loaded = false;
        inventory
    }

    /// Replaces the VMs.
    pub fn replace(&self, vms: Vec<Vm>) {
        let mut state = self.state.write().unwrap();
        state.networks.clear();
        state.storages.clear();
        state.vms.clear();
        for mut vm in vms {
            let mut networks = Vec::new();
            for nic in &vm.nics {
                let network = Network {
                    id: network_id(&nic.network),
                    name: nic.network.clone(),
                    description: String::new(),
                };
                if !state.networks.iter().any(|n| n.id == network.id) {
                    state.networks.push(network.clone());
                }
                if !networks.iter().any(|n: &Network| n.id == network.id) {
                    networks.push(network);
                }
            }
            if vm.networks.is_empty() {
                vm.networks = networks;
            }
            for disk in &vm.disks {
                state.storages.push(Storage {
                    id: disk.id.clone(),
                    name: disk.name.clone(),
                });
            }
            state.vms.push(Arc::new(vm));
        }
        state.loaded = true;
    }

    fn index(&self, kind: Kind, reference: &Ref) -> Result<(usize, Found), FindError> {
        let state = self.state.read().unwrap();
        if !state.loaded {
            return Err(FindError::NotReady);
        }
        let items: Vec<(&str, &str)> = match kind {
            Kind::Vm => state
                .vms
                .iter()
                .map(|v| (v.id.as_str(), v.name.as_str()))
                .collect(),
            Kind::Network => state
                .networks
                .iter()
                .map(|n| (n.id.as_str(), n.name.as_str()))
                .collect(),
            Kind::Storage => state
                .storages
                .iter()
                .map(|s| (s.id.as_str(), s.name.as_str()))
                .collect(),
            _ => return Err(FindError::Unsupported { kind }),
        };
        let index = resolve(
            kind,
            reference,
            |id| items.iter().position(|(i, _)| *i == id),
            |name| {
                let name = ferry_inventory::query::last_segment(name);
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, n))| *n == name)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            },
        )?;
        let (id, name) = (items[index].0.to_string(), items[index].1.to_string());
        Ok((index, Found { kind, id, name }))
    }
}

impl Inventory for TestInventory {
    fn provider_type(&self) -> &'static str {
        "ova"
    }

    fn status(&self) -> watch::Receiver<InventoryStatus> {
        self.status.subscribe()
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn find(&self, kind: Kind, reference: &Ref) -> Result<Found, FindError> {
        self.index(kind, reference).map(|(_, found)| found)
    }

    fn list(&self, kind: Kind) -> Result<Vec<Found>, FindError> {
        let state = self.state.read().unwrap();
        Ok(match kind {
            Kind::Vm => state
                .vms
                .iter()
                .map(|v| Found {
                    kind,
                    id: v.id.clone(),
                    name: v.name.clone(),
                })
                .collect(),
            Kind::Network => state
                .networks
                .iter()
                .map(|n| Found {
                    kind,
                    id: n.id.clone(),
                    name: n.name.clone(),
                })
                .collect(),
            _ => Vec::new(),
        })
    }

    fn vm(&self, reference: &Ref) -> Result<SourceVm, FindError> {
        let (index, _) = self.index(Kind::Vm, reference)?;
        Ok(SourceVm::Ova(Arc::clone(
            &self.state.read().unwrap().vms[index],
        )))
    }

    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}
