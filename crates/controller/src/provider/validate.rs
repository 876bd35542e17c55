//! The Provider's checks (pure): type, URL, secret, connection and inventory, with
//! upstream's condition types, categories, reasons and messages
//! (`pkg/controller/provider/validation.go`), and the phase they lead to.
//!
//! What Ferry adds or words differently, and why:
//!
//! - a provider type Forklift knows but Ferry cannot collect an inventory for yet
//!   (oVirt, OpenStack, EC2, Hyper-V, Nutanix, a remote OpenShift cluster) gets
//!   `ProviderTypeNotSupported` with a message that says so, instead of a connection
//!   test that could never pass;
//! - Ferry makes no network connection to validate secrets (upstream dials vSphere,
//!   Hyper-V and Nutanix for their TLS certificate here); the key checks are upstream's;
//! - for vSphere the connection test is the collector's connection (upstream tests, then
//!   starts the collector, which connects again): once it has logged in,
//!   `ConnectionTestSucceeded`; a refused login `ConnectionAuthFailed` (and the collector
//!   waits for the Secret to change); anything else `ConnectionTestFailed` with the
//!   reason, kept while the collector retries, so a vCenter that goes away shows on the
//!   Provider until it is back;
//! - for OVA the connection test is the collector's first read of the catalog
//!   directory: success gives `ConnectionTestSucceeded`, an unreadable directory
//!   `ConnectionTestFailed` with the reason;
//! - appliance files the collector could not read are listed in an `InventoryError`
//!   (Warn) condition (upstream declares the type but never sets it);
//! - Ferry has no admission webhooks; the provider webhook's check is a condition here:
//!   a vSphere `sdkEndpoint` setting other than `vcenter` or `esxi` is
//!   `SettingsNotValid` (Critical, NotValid) with the webhook's message. (The mutating
//!   webhook's `sdkEndpoint: vcenter` default is what an absent setting means anyway.)

use std::collections::BTreeMap;

use ferry_api::Provider;
use ferry_api::condition::{Condition, category, reason, types};
use ferry_api::provider::{ProviderType, phase, secret};

use crate::collectors::{CollectorState, OvaCatalog, ShareError};
use crate::findings::Findings;

/// The provider's secret, as far as the checks need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretView {
    /// The host provider needs none.
    NotNeeded,
    /// `spec.secret` lacks a namespace or name.
    NotSet,
    /// The secret does not exist.
    NotFound,
    /// The secret's data (values are only read for flags and formats, never reported).
    Found(BTreeMap<String, Vec<u8>>),
}

/// What Ferry can do with a provider of this type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The cluster Ferry runs in: always connected, its inventory is the cluster.
    Host,
    /// An OVA export, read from a local directory.
    Ova(Result<OvaCatalog, ShareError>),
    /// A vCenter or an ESXi host, followed by the vSphere collector.
    Vsphere,
    /// A type Ferry has no inventory for yet.
    Unsupported(String),
    /// A type Forklift does not know.
    Unknown,
}

/// How a provider is read.
pub fn source(provider: &Provider, shares: &crate::collectors::OvaShares) -> Source {
    match provider.provider_type() {
        None => Source::Unknown,
        Some(ProviderType::OpenShift) if provider.is_host() => Source::Host,
        Some(ProviderType::OpenShift) => Source::Unsupported(
            "Ferry cannot use remote OpenShift clusters yet (the provider has a `url`): only the host cluster, a provider of type `openshift` with an empty `url`, is supported.".into(),
        ),
        Some(ProviderType::Ova) => Source::Ova(shares.resolve(&provider.spec.url)),
        Some(ProviderType::VSphere) => Source::Vsphere,
        Some(other) => Source::Unsupported(format!(
            "Ferry cannot use `{other}` providers yet: it has no inventory collector for them. Supported types: openshift (the host cluster), vsphere and ova."
        )),
    }
}

/// The result of the checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The conditions found.
    pub findings: Findings,
    /// The phase, before `Ready`.
    pub phase: &'static str,
}

impl Checked {
    fn fail(&mut self, phase: &'static str, condition: Condition) {
        self.phase = phase;
        self.findings.set(condition);
    }

    /// Whether a blocker was found (the collector does not start then).
    pub fn blocked(&self) -> bool {
        self.findings.has_blocker()
    }
}

/// Upstream's type list, formatted as Go prints a `[]ProviderType`.
fn known_types() -> String {
    format!("[{}]", ProviderType::KNOWN.join(" "))
}

/// Upstream `isValidNFSPath`: `^[^:]+:\/[^:].*$`.
pub fn is_valid_nfs_path(url: &str) -> bool {
    let Some((server, path)) = url.split_once(':') else {
        return false;
    };
    let mut rest = path.chars();
    !server.is_empty()
        && rest.next() == Some('/')
        && rest.next().is_some_and(|c| c != ':')
        && !path.get(2..).is_some_and(|tail| tail.contains('\n'))
        && !server.contains('\n')
}

fn insecure(data: &BTreeMap<String, Vec<u8>>) -> bool {
    data.get(secret::INSECURE_SKIP_VERIFY)
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(ferry_api::strconv::parse_bool)
        .unwrap_or(false)
}

fn has_ca(data: &BTreeMap<String, Vec<u8>>) -> bool {
    [secret::CA_CERT, secret::CACERT_DEPRECATED]
        .iter()
        .any(|key| data.get(*key).is_some_and(|value| !value.is_empty()))
}

/// Upstream `isValidSMBPath`.
pub fn is_valid_smb_path(value: &str) -> bool {
    let normalized = value.replace('\\', "/");
    let rest = normalized.strip_prefix("smb:").unwrap_or(&normalized);
    let Some(rest) = rest.strip_prefix("//") else {
        return false;
    };
    let Some((server, share)) = rest.split_once('/') else {
        return false;
    };
    let first = share.chars().next();
    !server.is_empty()
        && !server.contains(char::is_whitespace)
        && first.is_some_and(|c| c != '/' && !c.is_whitespace())
        && !share.contains('\n')
}

fn insecure_condition() -> Condition {
    Condition::new(types::CONNECTION_INSECURE, category::WARN)
        .with_reason(reason::SKIP_TLS_VERIFICATION)
        .with_message(
            "TLS is susceptible to machine-in-the-middle attacks when certificate verification is skipped.",
        )
}

/// Type, URL and secret checks.
pub fn check(provider: &Provider, secret_view: &SecretView, source: &Source) -> Checked {
    let mut checked = Checked {
        findings: Findings::new(),
        phase: phase::STAGING,
    };
    // Type.
    if provider.provider_type().is_none() {
        checked.fail(
            phase::VALIDATION_FAILED,
            Condition::new(types::PROVIDER_TYPE_NOT_SUPPORTED, category::CRITICAL)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message(format!("The `type` must be: {}", known_types())),
        );
    }
    if let Source::Unsupported(message) = source {
        checked.fail(
            phase::VALIDATION_FAILED,
            Condition::new(types::PROVIDER_TYPE_NOT_SUPPORTED, category::CRITICAL)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message(message.clone()),
        );
    }
    check_url(provider, source, &mut checked);
    check_secret(provider, secret_view, &mut checked);
    check_settings(provider, &mut checked);
    checked
}

/// The provider admission webhook's check (`validateSdkEndpointType`).
fn check_settings(provider: &Provider, checked: &mut Checked) {
    let endpoint = provider.setting(ferry_api::provider::settings::SDK_ENDPOINT);
    if let Some(endpoint) = endpoint
        && provider.is(ProviderType::VSphere)
        && endpoint != ferry_api::provider::settings::VCENTER
        && endpoint != ferry_api::provider::settings::ESXI
    {
        checked.fail(
            phase::VALIDATION_FAILED,
            Condition::new(types::SETTINGS_NOT_VALID, category::CRITICAL)
                .with_reason(reason::NOT_VALID)
                .with_message("vSphere provider is set with an invalid SDK endpoint type")
                .with_items([endpoint]),
        );
    }
}

fn url_not_valid(reason: &str, message: impl Into<String>) -> Condition {
    Condition::new(types::URL_NOT_VALID, category::CRITICAL)
        .with_reason(reason)
        .with_message(message)
}

fn check_url(provider: &Provider, source: &Source, checked: &mut Checked) {
    if provider.is_host() {
        return;
    }
    let url = provider.spec.url.as_str();
    if url.is_empty() {
        checked.fail(
            phase::VALIDATION_FAILED,
            url_not_valid(reason::NOT_SET, "The `url` is not valid."),
        );
    }
    match provider.provider_type() {
        Some(ProviderType::Ova) => {
            if !is_valid_nfs_path(url) {
                checked.fail(
                    phase::VALIDATION_FAILED,
                    url_not_valid(reason::MALFORMED, "The NFS path is malformed"),
                );
            } else if let Source::Ova(Err(error)) = source {
                checked.fail(
                    phase::VALIDATION_FAILED,
                    url_not_valid(reason::MALFORMED, error.to_string()),
                );
            }
        }
        Some(ProviderType::HyperV) => {
            if url.is_empty() {
                checked.fail(
                    phase::VALIDATION_FAILED,
                    url_not_valid(
                        reason::MALFORMED,
                        "The Hyper-V host address is required (e.g., '192.168.1.100')",
                    ),
                );
            }
        }
        _ => {
            if let Some(error) = super::url::parse_error(url) {
                checked.fail(
                    phase::VALIDATION_FAILED,
                    url_not_valid(
                        reason::MALFORMED,
                        format!("The `url` is malformed: {error}"),
                    ),
                );
            }
        }
    }
}

fn check_secret(provider: &Provider, view: &SecretView, checked: &mut Checked) {
    if provider.is_host() {
        return;
    }
    let not_valid = |reason: &str| {
        Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
            .with_reason(reason)
            .with_message("The `secret` is not valid.")
    };
    let data = match view {
        SecretView::NotNeeded => return,
        SecretView::NotSet => {
            checked.fail(phase::VALIDATION_FAILED, not_valid(reason::NOT_SET));
            return;
        }
        SecretView::NotFound => {
            checked.fail(phase::VALIDATION_FAILED, not_valid(reason::NOT_FOUND));
            return;
        }
        SecretView::Found(data) => data,
    };
    let mut required: Vec<&str> = Vec::new();
    match provider.provider_type() {
        Some(ProviderType::OpenShift) => required.push(secret::TOKEN),
        Some(ProviderType::VSphere | ProviderType::Nutanix) => {
            required.extend([secret::USER, secret::PASSWORD]);
            if insecure(data) {
                checked.findings.set(insecure_condition());
            } else if !has_ca(data) {
                required.push(secret::CA_CERT);
            }
        }
        Some(ProviderType::OVirt) => {
            required.extend([secret::USER, secret::PASSWORD]);
            if insecure(data) {
                checked.findings.set(insecure_condition());
            } else if !has_ca(data) {
                required.push(secret::CA_CERT);
            }
        }
        Some(ProviderType::Ova) => required.push(secret::URL),
        Some(ProviderType::HyperV) => {
            required.extend([secret::USERNAME, secret::PASSWORD, secret::SMB_URL]);
            let smb_ok = data
                .get(secret::SMB_URL)
                .is_none_or(|value| std::str::from_utf8(value).is_ok_and(is_valid_smb_path));
            if !smb_ok {
                checked.fail(
                    phase::VALIDATION_FAILED,
                    Condition::new(types::SECRET_NOT_VALID, category::CRITICAL)
                        .with_reason(reason::DATA_ERR)
                        .with_message(
                            "The smbUrl in secret is malformed. Expected format: //server/share, \\\\server\\share, or smb://server/share",
                        ),
                );
            } else if insecure(data) {
                checked.findings.set(insecure_condition());
            } else if !has_ca(data) {
                required.push(secret::CA_CERT);
            }
        }
        _ => {}
    }
    let missing: Vec<&str> = required
        .into_iter()
        .filter(|key| !data.contains_key(*key))
        .collect();
    if !missing.is_empty() {
        checked.fail(
            phase::VALIDATION_FAILED,
            not_valid(reason::DATA_ERR).with_items(missing),
        );
    }
}

/// Whether the status already records a tested connection and a loaded inventory for
/// this generation of the Provider.
fn was_loaded(provider: &Provider) -> bool {
    provider.has_reconciled()
        && provider
            .status
            .conditions
            .has(&[types::CONNECTION_TEST_SUCCEEDED, types::INVENTORY_CREATED])
}

/// The most appliance problems listed in `InventoryError`.
pub const MAX_PROBLEM_ITEMS: usize = 100;

/// Connection test and inventory, from the collector's state.
pub fn connect(
    provider: &Provider,
    source: &Source,
    state: &CollectorState,
    checked: &mut Checked,
) {
    if checked.blocked() {
        return;
    }
    let tested = || {
        Condition::new(types::CONNECTION_TEST_SUCCEEDED, category::REQUIRED)
            .with_reason(reason::TESTED)
            .with_message("Connection test, succeeded.")
    };
    let created = || {
        Condition::new(types::INVENTORY_CREATED, category::REQUIRED)
            .with_reason(reason::COMPLETED)
            .with_message("The inventory has been loaded.")
    };
    let loading = || {
        Condition::new(types::LOAD_INVENTORY, category::ADVISORY)
            .with_reason(reason::STARTED)
            .with_message("Loading the inventory.")
    };
    match source {
        Source::Host => {
            checked.findings.set(tested());
            checked.findings.set(created());
        }
        Source::Ova(_) => match state {
            CollectorState::Loading if was_loaded(provider) => {
                let previous = &provider.status.conditions;
                for kept in [types::CONNECTION_TEST_SUCCEEDED, types::INVENTORY_CREATED] {
                    if let Some(condition) = previous.find(kept) {
                        checked.findings.set(condition.clone());
                    }
                }
            }
            CollectorState::Stopped
            | CollectorState::Loading
            | CollectorState::Vsphere { .. }
            | CollectorState::Refused(_) => checked.findings.set(loading()),
            CollectorState::Failed { error } => checked.fail(
                phase::CONNECTION_FAILED,
                Condition::new(types::CONNECTION_TEST_FAILED, category::CRITICAL)
                    .with_reason(reason::TESTED)
                    .with_message(format!(
                        "Connection test, failed: the catalog of the NFS export '{}' cannot be read: {error}",
                        provider.spec.url
                    )),
            ),
            CollectorState::Loaded { problems } => {
                checked.findings.set(tested());
                checked.findings.set(created());
                if !problems.is_empty() {
                    let items = problems
                        .iter()
                        .take(MAX_PROBLEM_ITEMS)
                        .map(|problem| format!("{}: {}", problem.subject, problem.reason));
                    checked.findings.set(
                        Condition::new(types::INVENTORY_ERROR, category::WARN)
                            .with_reason(reason::NOT_VALID)
                            .with_message(format!(
                                "{} appliance file(s) in the catalog could not be read and are not in the inventory; see the items and Ferry's log for the reasons.",
                                problems.len()
                            ))
                            .with_items(items),
                    );
                }
            }
        },
        Source::Vsphere => connect_vsphere(state, checked, tested(), created(), loading()),
        Source::Unsupported(_) | Source::Unknown => {}
    }
    if !checked.blocked() {
        checked.findings.set(
            Condition::new(types::VALIDATED, category::ADVISORY)
                .with_reason(reason::COMPLETED)
                .with_message("Validation has been completed."),
        );
    }
}

/// The vSphere collector's state as conditions: a failure (while it lasts, the
/// collector retrying or stopped) is `ConnectionTestFailed` or `ConnectionAuthFailed`;
/// a connected collector `ConnectionTestSucceeded`; a loaded inventory
/// `InventoryCreated`, else `LoadInventory`.
fn connect_vsphere(
    state: &CollectorState,
    checked: &mut Checked,
    tested: Condition,
    created: Condition,
    loading: Condition,
) {
    match state {
        CollectorState::Refused(error) => checked.fail(phase::CONNECTION_FAILED, error.condition()),
        CollectorState::Vsphere { state, parity } => {
            if let Some(error) = &state.error {
                checked.fail(phase::CONNECTION_FAILED, error.condition());
                return;
            }
            use ferry_inventory::vsphere::CollectorPhase;
            let connected = *parity
                || matches!(
                    state.phase,
                    CollectorPhase::Loading { .. } | CollectorPhase::Ready
                );
            if connected {
                checked.findings.set(tested);
            }
            checked
                .findings
                .set(if *parity { created } else { loading });
        }
        _ => checked.findings.set(loading),
    }
}

/// The certificate fingerprint to record in `status.fingerprint`: the one the vSphere
/// collector saw when it connected, or the one a TLS failure reported.
pub fn fingerprint(state: &CollectorState) -> Option<String> {
    match state {
        CollectorState::Vsphere { state, .. } => state.fingerprint.clone().or_else(|| {
            state
                .error
                .as_ref()
                .and_then(|e| e.fingerprint().map(str::to_string))
        }),
        CollectorState::Refused(error) => error.fingerprint().map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
