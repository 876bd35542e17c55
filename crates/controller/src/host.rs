//! The Host controller: an ESXi host used for disk transfer, vSphere only
//! (`pkg/controller/host/validation.go`).
//!
//! Checks, with upstream's conditions, in upstream's order:
//!
//! 1. the provider (`ProviderNotValid`, `ProviderNotReady`, `TypeNotValid/TypeErr` for a
//!    non-vSphere provider);
//! 2. the host reference (`RefNotValid`: NotSet, and in the provider's inventory
//!    NotFound "Referenced host not found." or Ambiguous "Host reference is
//!    ambiguous."), by ID, else by name (the last `/` segment, narrowed by datacenter);
//! 3. the IP address (`IpNotValid` when empty). Ferry adds a Warn `IpNotValid` when the
//!    address is none of the host's VMkernel adapters' (`networking.vNICs`): the
//!    transfer would then not reach this host;
//! 4. the secret (`SecretNotValid` NotSet, NotFound, DataErr with the missing keys);
//! 5. `Validated`;
//! 6. unless a blocker was found: `InMaintenance` (Critical), `HostStatusNotGreen` (Warn)
//!    and `NotHealthy` (Critical, red) from the inventory, then the connection test: a
//!    login to `https://<ipAddress>/sdk` with the Secret (10 s).
//!    `ConnectionTestSucceeded` (which `Ready` requires), or `ConnectionTestFailed`
//!    "Could not connect to the ESXi host, please check credentials. Error: …" and a
//!    retry after 15 minutes. A certificate that the Secret does not make trusted
//!    (no `insecureSkipVerify`, no matching `cacert`) is upstream's `SecretNotValid`
//!    DataErr, with the reason.
//!
//! An `ipAddress` may carry a port (`10.0.0.5:8443`); upstream formats the URL the same
//! way. A Host wakes when it changes, when its Provider changes, when its Secret changes
//! and when its provider's inventory loads or loses its connection.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferry_api::condition::{Condition, category, ready, reason, types};
use ferry_api::host::HostStatus;
use ferry_api::provider::ProviderType;
use ferry_api::{Host, Provider};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::cache::valid;
use crate::collectors::InventoryEvent;
use crate::context::{Context, Guarded, ref_set};
use crate::error::{Error, Result};
use crate::findings::Findings;
use crate::maps::validate::{ProviderLookup, lookup_provider, provider};
use crate::runner::{Reconciled, Scoped, drive, error_policy, recompute, write_status};

/// The controller's name.
pub const NAME: &str = "host";

/// The host's secret, as far as the checks need it: `None` for NotSet, `Some(None)`
/// for NotFound, else its keys.
pub type SecretKeys = Option<Option<BTreeSet<String>>>;

/// How long a failed ESXi connection test waits before the next (upstream's 15 minutes).
pub const RETEST_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long an ESXi connection test may take (upstream's 10 s).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The host's findings (pure).
pub fn validate(host: &Host, found: &ProviderLookup, secret: &SecretKeys) -> Findings {
    let mut findings = Findings::new();
    let (conditions, provider) = provider(found);
    findings.extend(conditions);
    if let Some(provider) = provider
        && !provider.is(ProviderType::VSphere)
    {
        findings.set(
            Condition::new(types::TYPE_NOT_VALID, category::CRITICAL)
                .with_reason(reason::TYPE_ERR)
                .with_message("Provider type not supported."),
        );
    }
    if host.spec.reference().not_set() {
        findings.set(
            Condition::new(types::REF_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_SET)
                .with_message("The `id` is not valid."),
        );
    }
    if host.spec.ip_address.is_empty() {
        findings.set(
            Condition::new(types::IP_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_SET)
                .with_message("The `ipAddress` is not valid."),
        );
    }
    let secret_condition = |reason: &str, message: &str| {
        Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
            .with_reason(reason)
            .with_message(message)
    };
    match secret {
        None => findings.set(secret_condition(
            reason::NOT_SET,
            "The `secret` is not set.",
        )),
        Some(None) => findings.set(secret_condition(
            reason::NOT_FOUND,
            "The `secret` cannot be found.",
        )),
        Some(Some(keys)) => {
            if provider.is_some_and(|p: &Provider| p.is(ProviderType::VSphere)) {
                let missing: Vec<&str> = ["user", "password"]
                    .into_iter()
                    .filter(|key| !keys.contains(*key))
                    .collect();
                if !missing.is_empty() {
                    findings.set(
                        secret_condition(reason::DATA_ERR, "The `secret` missing required data.")
                            .with_items(missing),
                    );
                }
            }
        }
    }
    findings.set(
        Condition::new(types::VALIDATED, category::ADVISORY)
            .with_reason(reason::COMPLETED)
            .with_message(
                "The host inventory reference, IP address, and credentials have been validated.",
            ),
    );
    findings
}

/// The host's Secret data: `None` for NotSet, `Some(None)` for NotFound. Values are
/// only used to log in, never reported.
type SecretData = Option<Option<BTreeMap<String, Vec<u8>>>>;

async fn secret_data(ctx: &Context, host: &Host) -> Result<SecretData> {
    let Some((namespace, name)) = ref_set(&host.spec.secret) else {
        return Ok(None);
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|source| Error::kube("read", format!("Secret {namespace}/{name}"), source))?;
    Ok(Some(secret.map(|secret| {
        secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, value.0))
            .collect()
    })))
}

/// The keys of the host's Secret, for [`validate`].
fn keys_of(data: &SecretData) -> SecretKeys {
    data.as_ref()
        .map(|found| found.as_ref().map(|d| d.keys().cloned().collect()))
}

/// A host of the inventory, as the checks need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryHost {
    /// `inMaintenanceMode`.
    pub in_maintenance: bool,
    /// `overallStatus`.
    pub status: String,
    /// The IPv4 and IPv6 addresses of its VMkernel adapters.
    pub addresses: Vec<String>,
}

/// How the host reference resolved in the provider's inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostLookup {
    /// No vSphere inventory to look in (the provider is not vSphere, not Ready, or its
    /// inventory is not loaded).
    Unavailable,
    /// No such host.
    NotFound,
    /// Several hosts have that name.
    Ambiguous,
    /// The host.
    Found(InventoryHost),
}

/// Resolves a Host's reference in a vSphere inventory snapshot: by ID, else by name
/// (upstream's last-segment rule, narrowed by datacenter for names with `/`).
pub fn lookup_host(
    snapshot: &ferry_inventory::vsphere::Snapshot,
    reference: &ferry_api::Ref,
) -> HostLookup {
    let to_model = |host: &ferry_inventory::vsphere::model::Host| {
        let mut addresses = Vec::new();
        for vnic in host.network.vnics.iter().flatten() {
            if !vnic.ip_address.is_empty() {
                addresses.push(vnic.ip_address.clone());
            }
            addresses.extend(vnic.ip_v6_address.iter().flatten().cloned());
        }
        addresses.extend(host.management_ips.iter().cloned());
        InventoryHost {
            in_maintenance: host.in_maintenance_mode,
            status: host.status.clone(),
            addresses,
        }
    };
    if !reference.id.is_empty() {
        return snapshot
            .host(&reference.id)
            .map_or(HostLookup::NotFound, |host| {
                HostLookup::Found(to_model(host))
            });
    }
    let wanted = ferry_inventory::query::last_segment(&reference.name);
    let mut hits: Vec<_> = snapshot
        .hosts
        .values()
        .filter(|host| host.base.name == wanted)
        .collect();
    if hits.len() > 1 && reference.name.contains('/') {
        hits.retain(|host| {
            ferry_inventory::vsphere::path_match_root(&snapshot.path(&host.base), &reference.name)
        });
    }
    match hits.as_slice() {
        [] => HostLookup::NotFound,
        [one] => HostLookup::Found(to_model(one)),
        _ => HostLookup::Ambiguous,
    }
}

/// The host part of an `ipAddress` (which may carry a port).
fn ip_host(ip: &str) -> &str {
    if ip.parse::<std::net::IpAddr>().is_ok() {
        return ip;
    }
    if let Some(rest) = ip.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    ip.rsplit_once(':').map_or(ip, |(host, _)| host)
}

/// The inventory checks (upstream `validateRef` and the first half of
/// `testConnection`), after [`validate`]'s.
pub fn inventory_checks(host: &Host, lookup: &HostLookup, findings: &mut Findings) {
    match lookup {
        HostLookup::Unavailable => {}
        HostLookup::NotFound => findings.set(
            Condition::new(types::REF_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_FOUND)
                .with_message("Referenced host not found."),
        ),
        HostLookup::Ambiguous => findings.set(
            Condition::new(types::REF_NOT_VALID, category::CRITICAL)
                .with_reason(reason::AMBIGUOUS)
                .with_message("Host reference is ambiguous."),
        ),
        HostLookup::Found(found) => {
            let ip = ip_host(&host.spec.ip_address);
            if !ip.is_empty()
                && !found.addresses.is_empty()
                && !found.addresses.iter().any(|a| a == ip)
            {
                findings.set(
                    Condition::new(types::IP_NOT_VALID, category::WARN)
                        .with_reason(reason::NOT_FOUND)
                        .with_message(format!(
                            "The `ipAddress` {ip} is not an address of the host's VMkernel network adapters; disks are transferred through it, so it must reach this host."
                        ))
                        .with_items(found.addresses.clone()),
                );
            }
        }
    }
}

/// Upstream `testConnection`'s inventory conditions (maintenance, overall status).
pub fn state_checks(found: &InventoryHost, findings: &mut Findings) {
    if found.in_maintenance {
        findings.set(
            Condition::new(types::IN_MAINTENANCE, category::CRITICAL)
                .with_reason(reason::STATE_EVALUATED)
                .with_message("Host is in maintenance mode."),
        );
    }
    if found.status != "green" {
        findings.set(
            Condition::new(types::HOST_STATUS_NOT_GREEN, category::WARN)
                .with_reason(reason::STATE_EVALUATED)
                .with_message(format!(
                    "Host overallStatus is {:?} (expected green).",
                    found.status
                )),
        );
    }
    if found.status == "red" {
        findings.set(
            Condition::new(types::NOT_HEALTHY, category::CRITICAL)
                .with_reason(reason::STATE_EVALUATED)
                .with_message("Host overallStatus is red."),
        );
    }
}

/// The ESXi SDK URL of a Host: `https://<ipAddress>/sdk`, an IPv6 address in brackets.
pub fn esxi_url(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => format!("https://[{ip}]/sdk"),
        _ => format!("https://{ip}/sdk"),
    }
}

/// Logs in to the ESXi host with the Host's Secret: `Ok` or the condition to set. A
/// certificate the Secret does not make trusted is `SecretNotValid` (DataErr), as
/// upstream's TLS check before the test; anything else `ConnectionTestFailed`.
pub async fn test_esxi(
    host: &Host,
    data: &BTreeMap<String, Vec<u8>>,
) -> std::result::Result<(), Condition> {
    use ferry_inventory::vsphere::{ConnectionError, ConnectionSettings, SdkEndpoint};
    let failed = |error: &dyn std::fmt::Display| {
        Condition::new(types::CONNECTION_TEST_FAILED, category::CRITICAL)
            .with_reason(reason::TESTED)
            .with_message(format!(
                "Could not connect to the ESXi host, please check credentials. Error: {error}"
            ))
    };
    let endpoint = Provider::new(
        host.namespace(),
        host.name(),
        ferry_api::provider::ProviderSpec {
            r#type: Some("vsphere".into()),
            url: esxi_url(&host.spec.ip_address),
            ..ferry_api::provider::ProviderSpec::default()
        },
    );
    let mut settings = match ConnectionSettings::from_provider(&endpoint, data) {
        Ok(settings) => settings,
        Err(error) => return Err(failed(&error)),
    };
    // Upstream logs in without checking the server kind.
    settings.sdk_endpoint = SdkEndpoint::Unset;
    settings.connect.timeouts.call = settings.connect.timeouts.call.min(TEST_TIMEOUT);
    let outcome = tokio::time::timeout(
        TEST_TIMEOUT,
        ferry_inventory::vsphere::test_connection(&settings),
    )
    .await;
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(ConnectionError::Tls { message, .. })) => {
            Err(Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
                .with_reason(reason::DATA_ERR)
                .with_message(message))
        }
        Ok(Err(error)) => Err(failed(&error)),
        Err(_) => Err(failed(&format!("no answer within {TEST_TIMEOUT:?}"))),
    }
}

fn reconcile<'a>(host: &'a Host, scoped: &'a Scoped) -> Reconciled<'a> {
    Box::pin(async move {
        let ctx = &scoped.ctx;
        let found = lookup_provider(&host.spec.provider, &|namespace, name| {
            ctx.caches.provider(namespace, name)
        });
        let data = secret_data(ctx, host).await?;
        let mut findings = validate(host, &found, &keys_of(&data));
        let provider = match &found {
            ProviderLookup::Found(provider) => Some(provider.as_ref()),
            _ => None,
        };
        let lookup = match provider {
            Some(provider)
                if provider.is(ProviderType::VSphere) && !host.spec.reference().not_set() =>
            {
                match ctx.collectors.vsphere(provider.uid()) {
                    Some(inventory)
                        if ferry_inventory::Inventory::status(inventory.as_ref())
                            .borrow()
                            .parity =>
                    {
                        lookup_host(&inventory.snapshot(), &host.spec.reference())
                    }
                    _ => HostLookup::Unavailable,
                }
            }
            _ => HostLookup::Unavailable,
        };
        inventory_checks(host, &lookup, &mut findings);
        let mut action = Action::await_change();
        if let (HostLookup::Found(inventory_host), Some(Some(data))) = (&lookup, &data)
            && !findings.has_blocker()
        {
            state_checks(inventory_host, &mut findings);
            match test_esxi(host, data).await {
                Ok(()) => findings.set(
                    Condition::new(types::CONNECTION_TEST_SUCCEEDED, category::REQUIRED)
                        .with_reason(reason::TESTED)
                        .with_message("Connection test, succeeded."),
                ),
                Err(condition) => {
                    findings.set(condition);
                    action = Action::requeue(RETEST_AFTER);
                }
            }
        }
        let now = ctx.now();
        let current = &host.status;
        let (conditions, explain) =
            recompute(&current.conditions, findings.into_vec(), ready::host, &now);
        let status = HostStatus {
            conditions,
            observed_generation: host.generation(),
        };
        write_status(scoped, host, current, &status, &explain).await?;
        Ok(action)
    })
}

/// The Hosts of a provider whose collector's state changed.
fn hub_requests(
    ctx: Arc<Context>,
) -> impl futures::Stream<Item = ObjectRef<Guarded<Host>>> + Send + 'static {
    let receiver = ctx.collectors.subscribe();
    futures::stream::unfold((receiver, ctx), |(mut receiver, ctx)| async move {
        loop {
            let key = match receiver.recv().await {
                Ok(InventoryEvent::Status(key)) => key,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            let hosts = hosts_where(&ctx, |host| key.is(&host.spec.provider));
            if !hosts.is_empty() {
                return Some((futures::stream::iter(hosts), (receiver, ctx)));
            }
        }
    })
    .flatten()
}

fn hosts_where(ctx: &Context, matches: impl Fn(&Host) -> bool) -> Vec<ObjectRef<Guarded<Host>>> {
    ctx.caches
        .hosts
        .state()
        .iter()
        .filter_map(|guard| valid(guard.as_ref()))
        .filter(|host| matches(host))
        .map(|host| ObjectRef::new(host.name()).within(host.namespace()))
        .collect()
}

/// The controller, ready to run until `shutdown` resolves.
pub fn controller(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl std::future::Future<Output = ()> + Send {
    let scoped = Scoped::new(Arc::clone(&ctx), NAME);
    let by_provider = Arc::clone(&ctx);
    let by_secret = Arc::clone(&ctx);
    Controller::for_shared_stream(ctx.caches.hosts.changed(), ctx.caches.hosts.store())
        .with_config(Config::default().concurrency(ctx.settings.manager.max_concurrent_reconciles))
        .watches_shared_stream(ctx.caches.providers.changed(), move |guard| {
            let namespace = guard.metadata_namespace();
            let name = guard.metadata_name();
            hosts_where(&by_provider, |host| {
                crate::provider::names(&host.spec.provider, &namespace, &name)
            })
        })
        .watches_shared_stream(ctx.caches.secrets.changed(), move |secret| {
            let namespace = secret.metadata.namespace.clone().unwrap_or_default();
            let name = secret.metadata.name.clone().unwrap_or_default();
            hosts_where(&by_secret, |host| {
                crate::provider::names(&host.spec.secret, &namespace, &name)
            })
        })
        .reconcile_on(hub_requests(Arc::clone(&ctx)))
        .graceful_shutdown_on(shutdown)
        .run(
            |guard, scoped| drive(guard, scoped, reconcile),
            error_policy,
            scoped,
        )
        .for_each(|_| futures::future::ready(()))
}

trait MetadataNames {
    fn metadata_namespace(&self) -> String;
    fn metadata_name(&self) -> String;
}

impl MetadataNames for Guarded<Provider> {
    fn metadata_namespace(&self) -> String {
        use kube::Resource;
        self.meta().namespace.clone().unwrap_or_default()
    }
    fn metadata_name(&self) -> String {
        use kube::Resource;
        self.meta().name.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::ObjectReference;
    use ferry_api::condition::Conditions;
    use ferry_api::host::HostSpec;
    use ferry_api::provider::ProviderSpec;

    fn host(id: &str, ip: &str) -> Host {
        Host::new(
            "ns",
            "h",
            HostSpec {
                id: id.into(),
                ip_address: ip.into(),
                provider: ObjectReference {
                    namespace: Some("ns".into()),
                    name: Some("p".into()),
                    ..ObjectReference::default()
                },
                ..HostSpec::default()
            },
        )
    }

    fn found(t: &str, ready: bool) -> ProviderLookup {
        let mut provider = Provider::new(
            "ns",
            "p",
            ProviderSpec {
                r#type: Some(t.into()),
                ..ProviderSpec::default()
            },
        );
        if ready {
            provider.status.conditions =
                Conditions::from(vec![Condition::new(types::READY, category::REQUIRED)]);
        }
        ProviderLookup::Found(Box::new(provider))
    }

    fn keys(keys: &[&str]) -> SecretKeys {
        Some(Some(keys.iter().map(|k| k.to_string()).collect()))
    }

    #[test]
    fn non_vsphere_providers_are_a_type_error() {
        let findings = validate(&host("host-1", "10.0.0.1"), &found("ova", true), &keys(&[]));
        let c = findings.get(types::TYPE_NOT_VALID).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.category.as_str()),
            ("TypeErr", "Provider type not supported.", "Critical")
        );
        assert!(
            !findings.has(types::SECRET_NOT_VALID),
            "keys are only checked for vSphere"
        );
    }

    #[test]
    fn references_ip_and_secret() {
        let findings = validate(&host("", ""), &ProviderLookup::NotSet, &None);
        assert_eq!(
            findings.types(),
            [
                types::PROVIDER_NOT_VALID,
                types::REF_NOT_VALID,
                types::IP_NOT_VALID,
                types::SECRET_NOT_VALID,
                types::VALIDATED
            ]
        );
        assert_eq!(
            findings.get(types::SECRET_NOT_VALID).unwrap().message,
            "The `secret` is not set."
        );
        let findings = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", false),
            &Some(None),
        );
        assert_eq!(
            findings.get(types::SECRET_NOT_VALID).unwrap().message,
            "The `secret` cannot be found."
        );
        assert!(findings.has(types::PROVIDER_NOT_READY));
        let findings = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", true),
            &keys(&["user"]),
        );
        let c = findings.get(types::SECRET_NOT_VALID).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str(), c.items.as_slice()),
            (
                "DataErr",
                "The `secret` missing required data.",
                ["password".to_string()].as_slice()
            )
        );
        let fine = validate(
            &host("host-1", "10.0.0.1"),
            &found("vsphere", true),
            &keys(&["user", "password"]),
        );
        assert_eq!(fine.types(), [types::VALIDATED]);
        assert!(!fine.has_blocker());
    }

    #[test]
    fn esxi_addresses_and_urls() {
        assert_eq!(esxi_url("10.0.0.5"), "https://10.0.0.5/sdk");
        assert_eq!(esxi_url("fd00::5"), "https://[fd00::5]/sdk");
        assert_eq!(esxi_url("127.0.0.1:8989"), "https://127.0.0.1:8989/sdk");
        assert_eq!(ip_host("127.0.0.1:8989"), "127.0.0.1");
        assert_eq!(ip_host("[fd00::5]:443"), "fd00::5");
        assert_eq!(ip_host("fd00::5"), "fd00::5");
        assert_eq!(ip_host("esx1"), "esx1");
    }

    #[test]
    fn inventory_state_conditions() {
        let host = host("host-1", "10.0.0.5");
        let mut findings = Findings::new();
        inventory_checks(&host, &HostLookup::NotFound, &mut findings);
        let c = findings.get(types::REF_NOT_VALID).unwrap();
        assert_eq!(
            (c.reason.as_str(), c.message.as_str()),
            ("NotFound", "Referenced host not found.")
        );
        let mut findings = Findings::new();
        inventory_checks(&host, &HostLookup::Ambiguous, &mut findings);
        assert_eq!(
            findings.get(types::REF_NOT_VALID).unwrap().reason,
            "Ambiguous"
        );
        let found = InventoryHost {
            in_maintenance: true,
            status: "red".into(),
            addresses: vec!["10.0.0.6".into()],
        };
        let mut findings = Findings::new();
        inventory_checks(&host, &HostLookup::Found(found.clone()), &mut findings);
        let ip = findings.get(types::IP_NOT_VALID).unwrap();
        assert_eq!(ip.category, "Warn");
        assert!(!findings.has_blocker());
        state_checks(&found, &mut findings);
        assert_eq!(
            findings.get(types::HOST_STATUS_NOT_GREEN).unwrap().message,
            "Host overallStatus is \"red\" (expected green)."
        );
        assert_eq!(
            findings.get(types::NOT_HEALTHY).unwrap().category,
            "Critical"
        );
        assert_eq!(
            findings.get(types::IN_MAINTENANCE).unwrap().message,
            "Host is in maintenance mode."
        );
        let green = InventoryHost {
            in_maintenance: false,
            status: "green".into(),
            addresses: vec!["10.0.0.5".into()],
        };
        let mut findings = Findings::new();
        inventory_checks(&host, &HostLookup::Found(green.clone()), &mut findings);
        state_checks(&green, &mut findings);
        assert!(findings.types().is_empty());
    }
}
