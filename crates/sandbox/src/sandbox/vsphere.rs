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
use std::time::Duration;

use ferry_vim::{Client, DataObject, DatastoreFile, MoRef, Value};
use serde_json::json;

use super::demo::{HOST_PROVIDER, NAMESPACE, TARGET_NAMESPACE};
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
