//! The vSphere source client (upstream `adapter/vsphere/client.go`): power state, power
//! off and on, through the vSphere API with the provider's credentials.
//!
//! # Sessions
//!
//! The engine asks for a source client on every pass that acts on the source. Logging
//! in each time would leave a trail of sessions on the vCenter, so [`Sessions`] keeps
//! one logged-in client per provider and reuses it while the provider's URL, Secret and
//! fingerprint stay the same (the Secret is compared by a SHA-256 of its data, never
//! kept). The client renews an expired session by itself; a client whose connection
//! broke is dropped and the next call connects again.
//!
//! # Powering off
//!
//! Upstream asks the guest to shut down (`ShutdownGuest`) and waits for
//! `runtime.powerState`. A guest shutdown needs VMware Tools; without them vCenter
//! refuses (`ToolsUnavailable`) and upstream's migration waits until the blocker grace
//! period fails it. Ferry asks the guest when its tools run, and powers the VM off
//! (`PowerOffVM_Task`) when they do not, or when the guest refuses; the wait for
//! `poweredOff` is the engine's `WaitForPowerOff` (see `docs/compatibility.md`).
//!
//! The VM is addressed by its managed object reference (the inventory ID): upstream
//! searches it by UUID because it may talk to an ESXi host directly, whose references
//! differ; Ferry always talks to the provider's endpoint.

use crate::adapter::{AdapterError, PowerState, SourceClient};
use ferry_api::Ref;
use ferry_api::k8s_openapi::api::core::v1::Secret;
use ferry_api::provider::Provider;
use ferry_vim::{Client, ConnectConfig, FaultKind, MoRef, PowerState as VimPowerState};
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// `guest.toolsRunningStatus` of a guest whose tools run.
pub const TOOLS_RUNNING: &str = "guestToolsRunning";
/// How long a hard power-off task may take.
pub const POWER_OFF_TIMEOUT: Duration = Duration::from_secs(60);

/// The source clients of every provider, kept between passes.
#[derive(Clone, Default)]
pub struct Sessions {
    by_provider: Arc<Mutex<HashMap<String, Arc<Session>>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .by_provider
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Sessions")
            .field("providers", &count)
            .finish()
    }
}

/// What identifies a provider's connection: URL, fingerprint, and a hash of the Secret.
fn connection_key(provider: &Provider, data: &BTreeMap<String, Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in data {
        hasher.update((key.len() as u64).to_le_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    }
    format!(
        "{}|{}|{}",
        provider.spec.url,
        provider.status.fingerprint,
        hex::encode(hasher.finalize())
    )
}

impl Sessions {
    /// The source client of a provider: the kept one when nothing changed, else a new
    /// one (connecting on first use).
    pub fn client(
        &self,
        provider: &Provider,
        secret: Option<&Secret>,
    ) -> Result<Arc<dyn SourceClient>, AdapterError> {
        let data: BTreeMap<String, Vec<u8>> = secret
            .and_then(|s| s.data.as_ref())
            .map(|data| data.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
            .ok_or_else(|| {
                AdapterError::Source(
                    "the source provider has no Secret with its credentials".to_string(),
                )
            })?;
        let key = connection_key(provider, &data);
        let uid = provider
            .metadata
            .uid
            .clone()
            .unwrap_or_else(|| format!("{}/{}", provider.namespace(), provider.name()));
        let mut sessions = self
            .by_provider
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = sessions.get(&uid)
            && session.key == key
        {
            return Ok(Arc::new(VsphereClient {
                session: Arc::clone(session),
            }));
        }
        let fingerprint =
            Some(provider.status.fingerprint.as_str()).filter(|f| !f.trim().is_empty());
        let config = ConnectConfig::from_provider_secret(&provider.spec.url, &data, fingerprint)
            .map_err(|error| AdapterError::Source(error.to_string()))?;
        let session = Arc::new(Session {
            key,
            config,
            client: futures::lock::Mutex::new(None),
        });
        // A replaced session is dropped; the server expires it.
        sessions.insert(uid, Arc::clone(&session));
        Ok(Arc::new(VsphereClient { session }))
    }
}

/// One provider's connection.
struct Session {
    key: String,
    config: ConnectConfig,
    client: futures::lock::Mutex<Option<Client>>,
}

impl Session {
    /// The logged-in client, connecting when there is none.
    async fn client(&self) -> Result<Client, AdapterError> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = Client::connect(self.config.clone())
            .await
            .map_err(|error| AdapterError::Source(error.to_string()))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Forgets the client after a connection failure.
    async fn forget(&self) {
        *self.client.lock().await = None;
    }
}

/// The source client handed to the engine.
struct VsphereClient {
    session: Arc<Session>,
}

fn vm_ref(vm: &Ref) -> Result<MoRef, AdapterError> {
    if vm.id.is_empty() {
        return Err(AdapterError::Source(format!(
            "VM {vm} has no ID to address it by"
        )));
    }
    Ok(MoRef::new("VirtualMachine", vm.id.clone()))
}

impl VsphereClient {
    /// Runs a call, dropping the client when the connection failed so the next call
    /// connects again.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, AdapterError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, ferry_vim::Error>>,
    {
        let client = self.session.client().await?;
        match f(client).await {
            Ok(value) => Ok(value),
            Err(error) => {
                if error.is_connection_failure() || error.is_auth_failure() {
                    self.session.forget().await;
                }
                Err(AdapterError::Source(error.to_string()))
            }
        }
    }

    async fn state(&self, vm: &MoRef) -> Result<VimPowerState, AdapterError> {
        let vm = vm.clone();
        self.call(|client| async move { client.power_state(&vm).await })
            .await
    }
}

/// Whether the guest's tools run (`guest.toolsRunningStatus`).
async fn tools_running(client: &Client, vm: &MoRef) -> Result<bool, ferry_vim::Error> {
    let content = client
        .retrieve_one(vm, &["guest.toolsRunningStatus"])
        .await?;
    Ok(content
        .as_ref()
        .and_then(|c| c.get("guest.toolsRunningStatus"))
        .and_then(ferry_vim::Value::as_str)
        == Some(TOOLS_RUNNING))
}

/// Guest shutdown when the tools run, else (or when the guest refuses) a hard
/// power-off, waiting for its task.
async fn power_off(client: Client, vm: MoRef) -> Result<(), ferry_vim::Error> {
    if tools_running(&client, &vm).await? {
        match client.shutdown_guest(&vm).await {
            Ok(()) => return Ok(()),
            Err(error) if error.fault().is_some() => {
                tracing::info!(vm = %vm.value, %error, "the guest did not accept a shutdown; powering the VM off");
            }
            Err(error) => return Err(error),
        }
    }
    let task = match client.power_off_vm(&vm).await {
        Ok(task) => task,
        // Off meanwhile.
        Err(error) if error.fault_kind() == Some(FaultKind::InvalidPowerState) => return Ok(()),
        Err(error) => return Err(error),
    };
    match client.wait_for_task(&task, POWER_OFF_TIMEOUT).await {
        Ok(_) => Ok(()),
        Err(error) if error.fault_kind() == Some(FaultKind::InvalidPowerState) => Ok(()),
        Err(error) => Err(error),
    }
}

impl SourceClient for VsphereClient {
    fn power_state<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<PowerState, AdapterError>> {
        Box::pin(async move {
            Ok(match self.state(&vm_ref(vm)?).await? {
                VimPowerState::PoweredOn => PowerState::On,
                VimPowerState::PoweredOff => PowerState::Off,
                _ => PowerState::Unknown,
            })
        })
    }

    fn power_off<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let moref = vm_ref(vm)?;
            if self.state(&moref).await? == VimPowerState::PoweredOff {
                return Ok(());
            }
            self.call(|client| power_off(client, moref)).await
        })
    }

    fn power_on<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let moref = vm_ref(vm)?;
            if self.state(&moref).await? == VimPowerState::PoweredOn {
                return Ok(());
            }
            self.call(|client| async move { client.power_on_vm(&moref, None).await.map(drop) })
                .await
        })
    }

    fn powered_off<'a>(&'a self, vm: &'a Ref) -> BoxFuture<'a, Result<bool, AdapterError>> {
        Box::pin(async move { Ok(self.state(&vm_ref(vm)?).await? == VimPowerState::PoweredOff) })
    }
}
