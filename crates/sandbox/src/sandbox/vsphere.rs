//! The sandbox's vSphere source: a `vsphere` Provider for an existing vCenter (`ferry
//! sandbox --vsphere URL --vsphere-user … --vsphere-password …`), or one the sandbox
//! starts itself from the vcsim build (govmomi's simulator, `FERRY_VCSIM`), whose VMs'
//! disk files it fills with real content first; then maps and a Plan over VMs of it.
//!
//! The Provider's Secret is created from the flags and never printed; the Provider and
//! the maps are the objects a user would write (pure builders here, applied by
//! [`super::Sandbox`]'s callers).
//!
//! # Filling vcsim's disks
//!
//! vcsim creates each disk as an empty descriptor and an empty `-flat.vmdk`. [`fill`]
//! sets a disk's capacity (vcsim's default is 10 GiB) and PUTs a VMDK descriptor and a
//! flat extent with [`content`] (deterministic bytes, with a zero run in the middle so
//! the copy's sparseness is exercised) to the datastore, as a user would upload disks.
//! The migration then reads them back over HTTPS; the images must equal them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ferry_vim::vcsim::Vcsim;
use ferry_vim::{
    Client, DataObject, DatastoreFile, MoRef, PropertyFilterSpec, PropertySpec, Value,
};
use serde_json::json;

use super::demo::{HOST_PROVIDER, NAMESPACE, TARGET_NAMESPACE};
use super::progress::{self, DiskSizes, Display, Mode, PlanState};
use super::{Sandbox, SandboxError};
use crate::cluster::vsphere as datastore;

/// The Provider.
pub const PROVIDER: &str = "vsphere";
/// Its Secret.
pub const SECRET: &str = "vsphere-credentials";
/// The Plan over vSphere VMs.
pub const PLAN: &str = "vsphere-demo";
/// Its NetworkMap.
pub const NETWORK_MAP: &str = "vsphere-networks";
/// Its StorageMap.
pub const STORAGE_MAP: &str = "vsphere-storage";
/// How long a vSphere task may take.
const TASK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the vSphere source is and how to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct VsphereSource {
    /// The SDK URL (`https://vcenter.example.com/sdk`).
    pub url: String,
    /// The user.
    pub user: String,
    /// The password (never printed).
    pub password: String,
    /// Skip certificate verification.
    pub insecure: bool,
    /// A CA certificate (PEM) to trust instead.
    pub cacert: Option<String>,
}

impl std::fmt::Debug for VsphereSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VsphereSource")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("insecure", &self.insecure)
            .field("cacert", &self.cacert.is_some())
            .finish()
    }
}

fn provider_ref(name: &str) -> serde_json::Value {
    json!({ "name": name, "namespace": NAMESPACE })
}

/// The Provider's Secret (`user`, `password`, and `insecureSkipVerify` or `cacert`).
pub fn secret(source: &VsphereSource) -> serde_json::Value {
    let mut data = json!({ "user": source.user, "password": source.password });
    if source.insecure {
        data["insecureSkipVerify"] = json!("true");
    }
    if let Some(ca) = &source.cacert {
        data["cacert"] = json!(ca);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET,
            "namespace": NAMESPACE,
            "labels": { "createdForProviderType": "vsphere", "createdForResourceType": "providers" },
        },
        "type": "Opaque",
        "stringData": data,
    })
}

/// The `vsphere` Provider.
pub fn provider(source: &VsphereSource) -> serde_json::Value {
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Provider",
        "metadata": { "name": PROVIDER, "namespace": NAMESPACE },
        "spec": {
            "type": "vsphere",
            "url": source.url,
            "secret": { "name": SECRET, "namespace": NAMESPACE },
            "settings": { "sdkEndpoint": "vcenter" },
        },
    })
}

/// The NetworkMap: every network of the inventory (`ids`) to the pod network (vcsim's
/// VMs have one NIC each).
pub fn network_map(ids: &[String]) -> serde_json::Value {
    let map: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| json!({ "source": { "id": id }, "destination": { "type": "pod" } }))
        .collect();
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "NetworkMap",
        "metadata": { "name": NETWORK_MAP, "namespace": NAMESPACE },
        "spec": {
            "provider": { "source": provider_ref(PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": map,
        },
    })
}

/// The StorageMap: every datastore (`ids`) to `storage_class`.
pub fn storage_map(ids: &[String], storage_class: &str) -> serde_json::Value {
    let map: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| json!({ "source": { "id": id }, "destination": { "storageClass": storage_class } }))
        .collect();
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "StorageMap",
        "metadata": { "name": STORAGE_MAP, "namespace": NAMESPACE },
        "spec": {
            "provider": { "source": provider_ref(PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": map,
        },
    })
}

/// The Plan over the VMs named `vms` (cold; virt-v2v copies the disks).
pub fn plan(vms: &[String]) -> serde_json::Value {
    let vms: Vec<serde_json::Value> = vms.iter().map(|name| json!({ "name": name })).collect();
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Plan",
        "metadata": { "name": PLAN, "namespace": NAMESPACE },
        "spec": {
            "description": "vSphere VMs migrated by ferry sandbox",
            "provider": { "source": provider_ref(PROVIDER), "destination": provider_ref(HOST_PROVIDER) },
            "map": {
                "network": { "name": NETWORK_MAP, "namespace": NAMESPACE },
                "storage": { "name": STORAGE_MAP, "namespace": NAMESPACE },
            },
            "targetNamespace": TARGET_NAMESPACE,
            "vms": vms,
        },
    })
}

/// The Migration number `n` of the vSphere plan.
pub fn migration(n: usize) -> serde_json::Value {
    json!({
        "apiVersion": "forklift.konveyor.io/v1beta1",
        "kind": "Migration",
        "metadata": { "name": format!("{PLAN}-{n}"), "namespace": NAMESPACE },
        "spec": { "plan": { "name": PLAN, "namespace": NAMESPACE } },
    })
}

/// The bytes [`fill`] writes to disk `index` of `vm` (`size` bytes): a xorshift stream
/// seeded by the names, with the middle quarter zero.
pub fn content(vm: &str, index: usize, size: u64) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for byte in vm.bytes().chain(index.to_le_bytes()) {
        state = (state ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    }
    let size = usize::try_from(size).unwrap_or(0);
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(size);
    let (zero_from, zero_to) = (size / 2, size / 2 + size / 4);
    out[zero_from..zero_to].fill(0);
    out
}

/// A VMDK descriptor for a flat extent of `size` bytes named `flat`.
pub fn descriptor(flat: &str, size: u64) -> String {
    format!(
        "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n# Extent description\nRW {} VMFS \"{flat}\"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"13\"\n",
        size.div_ceil(512)
    )
}

/// Why preparing the source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A vSphere call failed.
    #[error("vSphere: {0}")]
    Vim(#[from] ferry_vim::Error),
    /// Reading the VM failed.
    #[error("vSphere: {0}")]
    Read(#[from] datastore::ReadError),
    /// The VM is not as expected.
    #[error("vSphere: {0}")]
    Unexpected(String),
}

/// Replaces every disk of VM `name` by one of `size` bytes and writes
/// [`content`] into it (descriptor and flat extent); returns the content written per
/// disk backing file.
pub async fn fill(
    client: &Client,
    name: &str,
    size: u64,
) -> Result<BTreeMap<String, Vec<u8>>, SourceError> {
    let vm = datastore::find_vm_by_name(client, name).await?;
    let datacenter = datastore::datacenter_path(client, &vm.vm).await?;
    resize(client, &vm.vm, size).await?;
    // The new disks' files.
    let vm = datastore::find_vm_by_name(client, name).await?;
    let mut written = BTreeMap::new();
    for (index, disk) in vm.disks.iter().enumerate() {
        let file = DatastoreFile::from_datastore_path(&datacenter, &disk.file)?;
        let stem = file
            .path
            .strip_suffix(".vmdk")
            .unwrap_or(&file.path)
            .to_string();
        let flat_path = format!("{stem}-flat.vmdk");
        let flat_name = flat_path
            .rsplit('/')
            .next()
            .unwrap_or(&flat_path)
            .to_string();
        let bytes = content(name, index, size);
        let flat = DatastoreFile {
            path: flat_path,
            ..file.clone()
        };
        client
            .upload(&flat, bytes.clone(), Some(size), TASK_TIMEOUT)
            .await?;
        let text = descriptor(&flat_name, size);
        let length = text.len() as u64;
        client
            .upload(&file, text.into_bytes(), Some(length), TASK_TIMEOUT)
            .await?;
        written.insert(disk.file.clone(), bytes);
    }
    Ok(written)
}

/// Replaces every disk of the VM by a new one of `size` bytes on the same controller
/// and unit (`ReconfigVM_Task`: remove, keeping the old file, then add with
/// `fileOperation: create`): vSphere (and vcsim) refuse to shrink a disk.
async fn resize(client: &Client, vm: &MoRef, size: u64) -> Result<(), SourceError> {
    let devices = client
        .retrieve_one(vm, &["config.hardware.device"])
        .await?
        .and_then(|o| o.get("config.hardware.device").cloned())
        .and_then(|v| v.as_array().map(<[Value]>::to_vec))
        .unwrap_or_default();
    let kb =
        i64::try_from(size / 1024).map_err(|_| SourceError::Unexpected("size too large".into()))?;
    let disks: Vec<DataObject> = devices
        .into_iter()
        .filter_map(|device| match device {
            Value::Object(disk) if disk.type_name.as_deref() == Some("VirtualDisk") => Some(disk),
            _ => None,
        })
        .collect();
    if disks.is_empty() {
        return Ok(());
    }
    let reconfigure = |changes: Vec<Value>| async move {
        let mut spec = DataObject::new("VirtualMachineConfigSpec");
        for change in changes {
            spec.push("deviceChange", change);
        }
        let task = client.reconfigure_vm(vm, spec).await?;
        client.wait_for_task(&task, TASK_TIMEOUT).await?;
        Ok::<(), SourceError>(())
    };
    reconfigure(
        disks
            .iter()
            .map(|disk| {
                Value::Object(
                    DataObject::new("VirtualDeviceConfigSpec")
                        .with("operation", Value::Text("remove".into()))
                        .with("device", Value::Object(disk.clone())),
                )
            })
            .collect(),
    )
    .await?;
    let int = |disk: &DataObject, name: &str| disk.get(name).and_then(Value::as_i64).unwrap_or(0);
    reconfigure(
        disks
            .iter()
            .enumerate()
            .map(|(i, disk)| {
                let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
                    .with("fileName", Value::Text(String::new()))
                    .with("diskMode", Value::Text("persistent".into()))
                    .with("thinProvisioned", Value::Bool(true));
                let device = DataObject::new("VirtualDisk")
                    .with("key", Value::Int(-100 - i64::try_from(i).unwrap_or(0)))
                    .with("backing", Value::Object(backing))
                    .with("controllerKey", Value::Int(int(disk, "controllerKey")))
                    .with("unitNumber", Value::Int(int(disk, "unitNumber")))
                    .with("capacityInKB", Value::Int(kb));
                Value::Object(
                    DataObject::new("VirtualDeviceConfigSpec")
                        .with("operation", Value::Text("add".into()))
                        .with("fileOperation", Value::Text("create".into()))
                        .with("device", Value::Object(device)),
                )
            })
            .collect(),
    )
    .await
}

/// Which vSphere source `ferry sandbox` adds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum VsphereChoice {
    /// None.
    #[default]
    Off,
    /// An existing vCenter (`--vsphere URL`); `vms` are migrated by the demo.
    Server {
        /// How to reach it.
        source: VsphereSource,
        /// The VMs the demo plan migrates (none: the Provider only).
        vms: Vec<String>,
    },
    /// A vcsim the sandbox starts (`--vsphere vcsim`): two VMs with real disk content
    /// are migrated.
    Vcsim,
}

/// The size of each disk of the VMs the local vcsim's demo migrates.
pub const DEMO_DISK_SIZE: u64 = 16 << 20;
/// How many of its VMs the local vcsim's demo migrates.
pub const DEMO_VMS: usize = 2;

/// The vcsim build `FERRY_VCSIM` names (what `scripts/setup.d/20-vcsim.sh` exports
/// after `tools/vcsim/build.sh`), or why there is none.
pub fn vcsim_binary() -> Result<PathBuf, String> {
    match std::env::var_os("FERRY_VCSIM").map(PathBuf::from) {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(format!(
            "FERRY_VCSIM names {}, which is not a file",
            path.display()
        )),
        None => Err(
            "no vcsim build: FERRY_VCSIM is unset (build it with tools/vcsim/build.sh \
             and export FERRY_VCSIM=<the path it prints>, or source scripts/setup.d/20-vcsim.sh)"
                .into(),
        ),
    }
}

/// A vSphere source ready for the demo: where it is, the VMs to migrate, and the
/// simulator when the sandbox runs one (it stops when this is dropped).
pub struct Prepared {
    /// How to reach it.
    pub source: VsphereSource,
    /// The VMs the demo plan migrates.
    pub vms: Vec<String>,
    /// What each migrated disk holds (empty for an existing vCenter).
    pub written: BTreeMap<String, Vec<u8>>,
    /// The simulator, when the sandbox started one.
    pub vcsim: Option<Vcsim>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("source", &self.source)
            .field("vms", &self.vms)
            .field("vcsim", &self.vcsim.is_some())
            .finish_non_exhaustive()
    }
}

/// The names of the VMs of a server, sorted.
pub async fn vm_names(client: &Client) -> Result<Vec<String>, SourceError> {
    let root = client.content().root_folder.clone();
    let view = client
        .create_container_view(&root, &["VirtualMachine"], true)
        .await?;
    let spec = PropertyFilterSpec::for_view(
        view.clone(),
        vec![PropertySpec::new("VirtualMachine", &["name"])],
    );
    let found = client.retrieve_all(&spec, 500).await;
    let _ = client.destroy_view(&view).await;
    let mut names: Vec<String> = found?
        .iter()
        .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// Gets the chosen source ready: for a local vcsim, starts it (VMs powered off) and
/// fills the disks of [`DEMO_VMS`] VMs with [`DEMO_DISK_SIZE`] bytes of [`content`].
/// `Ok(None)` for [`VsphereChoice::Off`]; an `Err` says why the vSphere part cannot run.
pub async fn prepare(choice: &VsphereChoice) -> Result<Option<Prepared>, String> {
    match choice {
        VsphereChoice::Off => Ok(None),
        VsphereChoice::Server { source, vms } => Ok(Some(Prepared {
            source: source.clone(),
            vms: vms.clone(),
            written: BTreeMap::new(),
            vcsim: None,
        })),
        VsphereChoice::Vcsim => {
            vcsim_binary()?;
            let vcsim = Vcsim::builder()
                .autostart(false)
                .start()
                .await
                .map_err(|e| e.to_string())?;
            let client = Client::connect(vcsim.config())
                .await
                .map_err(|e| format!("vcsim: {e}"))?;
            let names = vm_names(&client).await.map_err(|e| e.to_string())?;
            let vms: Vec<String> = names.into_iter().take(DEMO_VMS).collect();
            let mut written = BTreeMap::new();
            for vm in &vms {
                written.extend(
                    fill(&client, vm, DEMO_DISK_SIZE)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
            let _ = client.logout().await;
            let source = VsphereSource {
                url: vcsim.url().to_string(),
                user: vcsim.user().to_string(),
                password: vcsim.password().expose().to_string(),
                insecure: false,
                cacert: vcsim.cert_pem().map(str::to_string),
            };
            Ok(Some(Prepared {
                source,
                vms,
                written,
                vcsim: Some(vcsim),
            }))
        }
    }
}

/// A Provider `Ready`, or why not after `limit`.
async fn wait_ready(
    providers: &kube::Api<ferry_api::Provider>,
    limit: Duration,
) -> Result<ferry_api::Provider, SandboxError> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let provider = providers
            .get_opt(PROVIDER)
            .await
            .map_err(|error| SandboxError::Kube {
                action: format!("reading Provider {PROVIDER}"),
                error,
            })?;
        if let Some(provider) = &provider
            && provider.status.conditions.is_ready()
        {
            return Ok(provider.clone());
        }
        if std::time::Instant::now() > deadline {
            let why = provider
                .map(|p| {
                    p.status
                        .conditions
                        .iter()
                        .filter(|c| c.category == "Critical" || c.category == "Error")
                        .map(|c| c.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            return Err(SandboxError::Timeout(format!(
                "the Provider {PROVIDER} did not become Ready within {} s: {}",
                limit.as_secs(),
                if why.is_empty() {
                    "no status yet"
                } else {
                    &why
                }
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The vSphere part of a sandbox run: the Provider (Ready), then optionally the demo
/// plan over [`Prepared::vms`].
pub struct VsphereRun {
    /// The source.
    pub prepared: Prepared,
    /// The Provider's UID.
    pub uid: String,
}

/// Creates the Secret and the Provider and waits until it is Ready; says where its
/// inventory is.
pub async fn start(
    sandbox: &Sandbox,
    prepared: Prepared,
    out: &mut (dyn std::io::Write + Send),
) -> Result<VsphereRun, SandboxError> {
    let client = sandbox.client();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client.clone(), NAMESPACE);
    super::run::apply(&secrets, &secret(&prepared.source)).await?;
    let providers: kube::Api<ferry_api::Provider> = kube::Api::namespaced(client, NAMESPACE);
    super::run::apply(&providers, &provider(&prepared.source)).await?;
    let ready = wait_ready(&providers, Duration::from_secs(120)).await?;
    let uid = ready.metadata.uid.clone().unwrap_or_default();
    let vms = sandbox
        .inventory(&uid)
        .and_then(|inventory| inventory.list(ferry_inventory::Kind::Vm).ok())
        .map_or(0, |vms| vms.len());
    let origin = if prepared.vcsim.is_some() {
        " (govmomi's vcsim, started by the sandbox)"
    } else {
        ""
    };
    writeln!(
        out,
        "  Provider '{PROVIDER}' is Ready: {}{origin}, {vms} VMs in {}/providers/vsphere/{uid}/vms",
        prepared.source.url,
        sandbox.endpoints().inventory
    )
    .map_err(SandboxError::Output)?;
    Ok(VsphereRun { prepared, uid })
}

/// Creates the maps (every network to the pod network, every datastore to the
/// sandbox's StorageClass), the Plan over the VMs and a Migration. `Ok(None)` when
/// there are no VMs to migrate.
pub async fn apply_plan(
    sandbox: &Sandbox,
    run: &VsphereRun,
    out: &mut (dyn std::io::Write + Send),
) -> Result<Option<String>, SandboxError> {
    if run.prepared.vms.is_empty() {
        return Ok(None);
    }
    let inventory = sandbox.inventory(&run.uid).ok_or_else(|| {
        SandboxError::Controllers("the vSphere inventory is not registered".into())
    })?;
    let ids = |kind| {
        inventory
            .list(kind)
            .map(|list| list.into_iter().map(|f| f.id).collect::<Vec<_>>())
            .map_err(|e| SandboxError::Controllers(format!("the vSphere inventory: {e}")))
    };
    let networks = ids(ferry_inventory::Kind::Network)?;
    let datastores = ids(ferry_inventory::Kind::Storage)?;
    let client = sandbox.client();
    let api = |()| client.clone();
    let network_maps: kube::Api<ferry_api::NetworkMap> = kube::Api::namespaced(api(()), NAMESPACE);
    super::run::apply(&network_maps, &network_map(&networks)).await?;
    let storage_maps: kube::Api<ferry_api::StorageMap> = kube::Api::namespaced(api(()), NAMESPACE);
    super::run::apply(
        &storage_maps,
        &storage_map(&datastores, crate::cluster::config::STORAGE_CLASS),
    )
    .await?;
    let plans: kube::Api<ferry_api::Plan> = kube::Api::namespaced(api(()), NAMESPACE);
    if plans
        .get_opt(PLAN)
        .await
        .map_err(|error| SandboxError::Kube {
            action: "reading the vSphere Plan".into(),
            error,
        })?
        .is_none()
    {
        super::run::apply(&plans, &plan(&run.prepared.vms)).await?;
    }
    let migrations: kube::Api<ferry_api::Migration> = kube::Api::namespaced(api(()), NAMESPACE);
    let existing = migrations
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|error| SandboxError::Kube {
            action: "listing Migrations".into(),
            error,
        })?
        .items
        .into_iter()
        .filter(|m| m.spec.plan.name.as_deref() == Some(PLAN))
        .count();
    let name = if existing == 0 {
        super::run::apply(&migrations, &migration(1)).await?;
        format!("{PLAN}-1")
    } else {
        format!("{PLAN}-{existing}")
    };
    writeln!(
        out,
        "  Plan '{PLAN}' migrates {} to namespace {TARGET_NAMESPACE} (Migration {name})",
        run.prepared.vms.join(", ")
    )
    .map_err(SandboxError::Output)?;
    Ok(Some(name))
}

/// Follows the vSphere plan until its migration ends (or an interrupt); returns its
/// state.
pub async fn watch(
    sandbox: &Sandbox,
    mode: Mode,
    out: &mut (dyn std::io::Write + Send),
    interrupt: &tokio_util::sync::CancellationToken,
) -> Result<PlanState, SandboxError> {
    let plans: kube::Api<ferry_api::Plan> = kube::Api::namespaced(sandbox.client(), NAMESPACE);
    let mut display = Display::new(mode);
    let sizes = DiskSizes::default();
    loop {
        let plan = plans
            .get_opt(PLAN)
            .await
            .map_err(|error| SandboxError::Kube {
                action: "reading the vSphere Plan".into(),
                error,
            })?;
        if let Some(plan) = plan {
            let state = progress::plan_state(&plan);
            let header = match &state {
                PlanState::NotReady(why) => format!("plan {PLAN}: not ready: {why}"),
                PlanState::Ready => format!("plan {PLAN}: ready"),
                PlanState::Executing => format!("plan {PLAN}: executing"),
                PlanState::Succeeded => format!("plan {PLAN}: succeeded"),
                PlanState::Failed(_) => format!("plan {PLAN}: FAILED"),
                PlanState::Canceled => format!("plan {PLAN}: canceled"),
            };
            let mut writer: &mut (dyn std::io::Write + Send) = &mut *out;
            display
                .update(&mut writer, &header, &progress::lines_sized(&plan, &sizes))
                .map_err(SandboxError::Output)?;
            if matches!(
                state,
                PlanState::Succeeded | PlanState::Failed(_) | PlanState::Canceled
            ) && plan.status.migration.timed.completed.is_some()
            {
                writeln!(
                    out,
                    "vSphere summary: {}",
                    super::run::plan_summary(&plan, &sizes)
                )
                .map_err(SandboxError::Output)?;
                return Ok(state);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = interrupt.cancelled() => return Ok(PlanState::Ready),
        }
    }
}

/// Compares each migrated disk's image with what [`fill`] wrote: the number of disks
/// that match, or the first that does not.
pub async fn verify(sandbox: &Sandbox, run: &VsphereRun) -> Result<usize, String> {
    use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
    let client = sandbox.client();
    let pvcs: kube::Api<PersistentVolumeClaim> =
        kube::Api::namespaced(client.clone(), TARGET_NAMESPACE);
    let pvs: kube::Api<PersistentVolume> = kube::Api::all(client);
    let list = pvcs
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut matched = 0;
    for pvc in list.items {
        let Some(source) = pvc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ferry_api::labels::annotation::DISK_SOURCE))
        else {
            continue;
        };
        let Some(expected) = run.prepared.written.get(source) else {
            continue;
        };
        let volume = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .ok_or_else(|| format!("{source}: its claim is not bound"))?;
        let pv = pvs.get(&volume).await.map_err(|e| e.to_string())?;
        let dir = pv
            .spec
            .and_then(|s| s.host_path)
            .map(|h| PathBuf::from(h.path))
            .ok_or_else(|| format!("{source}: its volume is not a local directory"))?;
        let image = dir.join(crate::cluster::volumes::DISK_IMAGE);
        let bytes = tokio::fs::read(&image)
            .await
            .map_err(|e| format!("{}: {e}", image.display()))?;
        let same = bytes.len() >= expected.len()
            && bytes[..expected.len()] == expected[..]
            && bytes[expected.len()..].iter().all(|b| *b == 0);
        if !same {
            return Err(format!(
                "{source}: the image differs from the content written"
            ));
        }
        matched += 1;
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic_and_partly_sparse() {
        let a = content("vm-a", 0, 4096);
        assert_eq!(a, content("vm-a", 0, 4096));
        assert_ne!(a, content("vm-a", 1, 4096));
        assert_ne!(a, content("vm-b", 0, 4096));
        assert_eq!(a.len(), 4096);
        assert!(a[2048..3072].iter().all(|b| *b == 0));
        assert!(a[..2048].iter().any(|b| *b != 0));
        assert!(content("x", 0, 0).is_empty());
        assert_eq!(content("x", 0, 13).len(), 13);
    }

    #[test]
    fn objects_never_show_the_password() {
        let source = VsphereSource {
            url: "https://vc.example/sdk".into(),
            user: "admin".into(),
            password: "s3cret-Passw0rd".into(),
            insecure: true,
            cacert: None,
        };
        assert!(!format!("{source:?}").contains("s3cret"));
        assert!(!provider(&source).to_string().contains("s3cret"));
        assert_eq!(secret(&source)["stringData"]["insecureSkipVerify"], "true");
        let text = descriptor("disk1-flat.vmdk", 1 << 20);
        assert!(text.contains("RW 2048 VMFS \"disk1-flat.vmdk\""));
        match datastore::layout("vm/disk1.vmdk", text.as_bytes(), 0).unwrap() {
            datastore::Layout::Flat(extents) => assert_eq!(extents[0].length, 1 << 20),
            other => panic!("{other:?}"),
        }
    }
}
