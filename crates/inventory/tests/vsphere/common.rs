//! Helpers shared by the vSphere tests.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferry_inventory::Inventory;
use ferry_inventory::vsphere::{
    Backoff, CollectorConfig, CollectorTask, ConnectionSettings, Snapshot, VsphereInventory,
};
use ferry_vim::vcsim::{Vcsim, VcsimBuilder};
use ferry_vim::{Client, DataObject, MoRef, Value};

/// Every test is bounded by this.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// How long a change may take to reach the inventory in these tests (generous: the
/// machine is shared; the benchmark measures the real latency).
pub const CHANGE_WAIT: Duration = Duration::from_secs(30);

/// Runs a future with the test timeout.
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_TIMEOUT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {TEST_TIMEOUT:?}"),
    }
}

/// Starts vcsim or fails with the reason (e.g. run scripts/test).
pub async fn start(builder: VcsimBuilder) -> Vcsim {
    match builder.start().await {
        Ok(vcsim) => vcsim,
        Err(e) => panic!("{e}"),
    }
}

/// A collector configuration for tests: short waits and backoff.
pub fn config(settings: ConnectionSettings) -> CollectorConfig {
    let mut config = CollectorConfig::new(settings);
    config.wait_seconds = 2;
    config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };
    config
}

/// Starts a collector on vcsim and waits for its first load.
pub async fn collect(vcsim: &Vcsim) -> (Arc<VsphereInventory>, CollectorTask) {
    collect_with(config(ConnectionSettings::new(vcsim.config()))).await
}

/// Starts a collector with this configuration and waits for its first load.
pub async fn collect_with(config: CollectorConfig) -> (Arc<VsphereInventory>, CollectorTask) {
    let inventory = VsphereInventory::new();
    let task = inventory.spawn(config);
    wait_parity(&inventory, true).await;
    (inventory, task)
}

/// Waits until the parity is `parity`.
pub async fn wait_parity(inventory: &VsphereInventory, parity: bool) {
    let mut status = inventory.status();
    let waited =
        tokio::time::timeout(CHANGE_WAIT * 2, status.wait_for(|s| s.parity == parity)).await;
    assert!(
        matches!(waited, Ok(Ok(_))),
        "parity {parity} not reached; status {:?}, state {:?}",
        *inventory.status().borrow(),
        *inventory.state().borrow()
    );
}

/// Waits until the snapshot satisfies `wanted`.
pub async fn wait_until(
    inventory: &VsphereInventory,
    what: &str,
    wanted: impl Fn(&Snapshot) -> bool,
) {
    let mut status = inventory.status();
    let deadline = tokio::time::Instant::now() + CHANGE_WAIT;
    loop {
        if wanted(&inventory.snapshot()) {
            return;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() || tokio::time::timeout(left, status.changed()).await.is_err() {
            panic!("{what}: not reached within {CHANGE_WAIT:?}");
        }
    }
}

/// A logged-in client of vcsim (the test's own, not the collector's).
pub async fn client(vcsim: &Vcsim) -> Client {
    Client::connect(vcsim.config())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Waits for a task.
pub async fn finish(client: &Client, task: MoRef) -> Option<Value> {
    client
        .wait_for_task(&task, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("task {task}: {e}"))
}

/// The reference of a VM ID.
pub fn vm_ref(id: &str) -> MoRef {
    MoRef::new("VirtualMachine", id)
}

/// A `VirtualMachineConfigSpec` with these fields (in schema order).
pub fn config_spec(fields: Vec<(&str, Value)>) -> DataObject {
    let mut spec = DataObject::new("VirtualMachineConfigSpec");
    for (name, value) in fields {
        spec.push(name, value);
    }
    spec
}

/// A `deviceChange` adding a thin disk of `kb` KiB on `controller` at `unit` (a new
/// file, or an existing one to share it).
pub fn add_disk(controller: i64, unit: i64, kb: i64, file: Option<&str>) -> Value {
    let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
        .with("fileName", Value::Text(file.unwrap_or_default().to_owned()))
        .with("diskMode", Value::Text("persistent".into()))
        .with("thinProvisioned", Value::Bool(true));
    let disk = DataObject::new("VirtualDisk")
        .with("key", Value::Int(-100 - unit))
        .with("backing", Value::Object(backing))
        .with("controllerKey", Value::Int(controller))
        .with("unitNumber", Value::Int(unit))
        .with("capacityInKB", Value::Int(kb));
    let mut change =
        DataObject::new("VirtualDeviceConfigSpec").with("operation", Value::Text("add".into()));
    if file.is_none() {
        change.push("fileOperation", Value::Text("create".into()));
    }
    change.push("device", Value::Object(disk));
    Value::Object(change)
}

/// A `deviceChange` removing a device (given as read from `config.hardware.device`).
pub fn remove_device(device: Value) -> Value {
    Value::Object(
        DataObject::new("VirtualDeviceConfigSpec")
            .with("operation", Value::Text("remove".into()))
            .with("device", device),
    )
}

/// The devices of a VM as the server reports them.
pub async fn devices(client: &Client, vm: &MoRef) -> Vec<Value> {
    client
        .retrieve_one(vm, &["config.hardware.device"])
        .await
        .unwrap()
        .and_then(|o| o.get("config.hardware.device").cloned())
        .and_then(|v| v.as_array().map(<[Value]>::to_vec))
        .unwrap_or_default()
}

/// SOAP calls per method made since `before`.
pub fn calls_since(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(method, count)| {
            let delta = count - before.get(method).copied().unwrap_or(0);
            (delta > 0).then(|| (method.clone(), delta))
        })
        .collect()
}

/// A vcsim started without the test helper's start-up limit (10 000 VMs take minutes to
/// create); killed when dropped.
pub struct Large {
    _child: tokio::process::Child,
    /// vcsim's TMPDIR (its datastores, about 120 MB at 10 000 VMs), removed on drop.
    _dir: tempfile::TempDir,
    /// Settings that log in (TLS unverified: the certificate is throwaway).
    pub config: ferry_vim::ConnectConfig,
}

/// Starts vcsim with `per_pool` VMs per resource pool, powered off.
pub async fn start_large(per_pool: u32) -> Large {
    use tokio::io::AsyncBufReadExt as _;
    let binary = std::env::var_os("FERRY_VCSIM")
        .expect("FERRY_VCSIM is not set: run scripts/test or source scripts/setup.d/20-vcsim.sh");
    let password = "large-Passw0rd!";
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(binary)
        .arg("-l=127.0.0.1:0")
        .arg("-username=ferry")
        .arg(format!("-password={password}"))
        .arg("-stdinexit")
        .arg(format!("-vm={per_pool}"))
        .arg("-autostart=false")
        // vcsim copies whole objects per property path while collecting: without a
        // memory limit, Go's collector lets a 10 000-VM collection grow past 12 GB.
        .env("GOMEMLIMIT", "2GiB")
        .env("TMPDIR", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines
        .next_line()
        .await
        .unwrap()
        .expect("vcsim printed its URL");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let config = ferry_vim::ConnectConfig::new(first.trim(), "ferry", password)
        .unwrap()
        .with_insecure_skip_verify(true);
    Large {
        _child: child,
        _dir: dir,
        config,
    }
}
