//! What the Provider controller needs to know about a vSphere connection: the settings
//! a Provider and its Secret give, a connection test, the certificate fingerprint to
//! record in `status.fingerprint`, and typed outcomes that map to upstream's conditions.
//!
//! # For the Provider controller
//!
//! ```text
//! let settings = ConnectionSettings::from_provider(&provider, &secret.data)?;   // Err: ConnectionTestFailed
//! match test_connection(&settings).await {
//!     Ok(tested) => {
//!         status.fingerprint = tested.fingerprint.unwrap_or_default();
//!         conditions.set(tested.condition());                       // ConnectionTestSucceeded
//!         // start the collector: VsphereInventory::new() + spawn(CollectorConfig::new(settings))
//!     }
//!     Err(error) => {
//!         if let Some(fingerprint) = error.fingerprint() { status.fingerprint = fingerprint }
//!         conditions.set(error.condition());     // ConnectionAuthFailed or ConnectionTestFailed
//!         match error.retry() { Retry::Never => no requeue, Retry::After(d) => requeue after d }
//!     }
//! }
//! conditions.set(inventory_condition(inventory.status().borrow().parity));   // InventoryCreated / LoadInventory
//! ```
//!
//! `ConnectionAuthFailed` ([`ConnectionError::Auth`]) must not be retried on a timer:
//! repeated wrong passwords lock vCenter accounts. Upstream stops requeueing until the
//! Provider or its Secret changes; [`Retry::Never`] says so. The collector does the same:
//! it stops after a refused login ([`super::CollectorPhase::Stopped`]).
//!
//! Messages are upstream's (`Connection test, failed: <error>`, `Connection auth failed,
//! error: <error>`, `provider sdkEndpoint is set to vCenter but the URL points to an ESXi
//! host`), with Ferry's error texts, which name the server (scheme, host and port) but
//! never a user's password, a session cookie or URL credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_api::condition::Condition;
use ferry_api::condition::{category, reason, types};
use ferry_vim::{Client, ConnectConfig, Error as VimError, FaultKind, TlsFailure};

use super::model::About;

/// How long a connection test may take (upstream `ConnectionTimeout`).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Which kind of server the Provider says it points at (`spec.settings.sdkEndpoint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SdkEndpoint {
    /// `vcenter` (the webhook's default).
    #[default]
    VCenter,
    /// `esxi`: a standalone ESXi host.
    Esxi,
    /// Not set (no check).
    Unset,
}

impl SdkEndpoint {
    /// The setting's value as upstream compares it (exact strings).
    pub fn from_setting(value: Option<&str>) -> Self {
        match value {
            Some(ferry_api::provider::settings::VCENTER) => Self::VCenter,
            Some(ferry_api::provider::settings::ESXI) => Self::Esxi,
            _ => Self::Unset,
        }
    }

    /// Upstream's `validateServerType`: the error message when the server is not the
    /// kind the setting names.
    pub fn mismatch(self, is_vcenter: bool) -> Option<&'static str> {
        match (self, is_vcenter) {
            (Self::VCenter, false) => {
                Some("provider sdkEndpoint is set to vCenter but the URL points to an ESXi host")
            }
            (Self::Esxi, true) => {
                Some("provider sdkEndpoint is set to ESXi but the URL points to a vCenter server")
            }
            _ => None,
        }
    }
}

/// Everything needed to reach a vSphere provider.
#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    /// Endpoint, credentials (the password is a redacted [`ferry_vim::Secret`]), TLS
    /// trust, timeouts.
    pub connect: ConnectConfig,
    /// The server kind the Provider expects.
    pub sdk_endpoint: SdkEndpoint,
}

impl ConnectionSettings {
    /// Settings from a Provider (`spec.url`, `spec.settings.sdkEndpoint`,
    /// `status.fingerprint`) and its Secret's data (`user`, `password`, `ca.crt` /
    /// `cacert`, `insecureSkipVerify`).
    pub fn from_provider<V: AsRef<[u8]>>(
        provider: &ferry_api::Provider,
        secret: &BTreeMap<String, V>,
    ) -> Result<Self, ConnectionError> {
        let fingerprint = Some(provider.status.fingerprint.as_str()).filter(|f| !f.is_empty());
        let connect = ConnectConfig::from_provider_secret(&provider.spec.url, secret, fingerprint)
            .map_err(ConnectionError::from_vim)?;
        let sdk_endpoint = SdkEndpoint::from_setting(
            provider
                .spec
                .settings
                .get(ferry_api::provider::settings::SDK_ENDPOINT)
                .map(String::as_str),
        );
        Ok(Self {
            connect,
            sdk_endpoint,
        })
    }

    /// Settings for a connection config, expecting a vCenter.
    pub fn new(connect: ConnectConfig) -> Self {
        Self {
            connect,
            sdk_endpoint: SdkEndpoint::VCenter,
        }
    }
}

/// Why a connection failed. Every message is free of secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The Provider or its Secret cannot work as written (bad URL, unreadable CA
    /// certificate, malformed fingerprint, a Secret value that is not UTF-8).
    #[error("{message}")]
    Settings {
        /// What is wrong.
        message: String,
    },
    /// The server refused the credentials (`InvalidLogin`): `ConnectionAuthFailed`.
    #[error("{message}")]
    Auth {
        /// The server's answer.
        message: String,
    },
    /// The server's certificate is not trusted, or not the pinned one.
    #[error("{message}")]
    Tls {
        /// What is wrong and what to do.
        message: String,
        /// The certificate's SHA-1 fingerprint, when the server presented one.
        fingerprint: Option<String>,
    },
    /// The server cannot be reached or did not answer in time.
    #[error("{message}")]
    Unreachable {
        /// The cause.
        message: String,
    },
    /// The server is not the kind `sdkEndpoint` names.
    #[error("{message}")]
    ServerType {
        /// Upstream's message.
        message: String,
    },
    /// The server answered something unexpected (a fault other than a refused login,
    /// malformed XML).
    #[error("{message}")]
    Protocol {
        /// The cause.
        message: String,
    },
}

/// Whether and when to try again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Not until the Provider or its Secret changes (refused credentials, unusable
    /// settings, the wrong kind of server).
    Never,
    /// After this delay (transient failures).
    After(Duration),
}

impl ConnectionError {
    /// Classifies a client error.
    pub fn from_vim(error: VimError) -> Self {
        let message = error.to_string();
        match &error {
            VimError::InvalidConfig { .. } | VimError::InvalidArgument { .. } => {
                Self::Settings { message }
            }
            VimError::Tls { kind, .. } => Self::Tls {
                message,
                fingerprint: match kind {
                    TlsFailure::Untrusted { fingerprint, .. } => Some(fingerprint.clone()),
                    TlsFailure::FingerprintMismatch { actual, .. } => Some(actual.clone()),
                    _ => None,
                },
            },
            _ if error.fault_kind() == Some(FaultKind::InvalidLogin) => Self::Auth { message },
            _ if error.is_connection_failure() => Self::Unreachable { message },
            _ => Self::Protocol { message },
        }
    }

    /// The Provider condition for this failure: `ConnectionAuthFailed` for refused
    /// credentials, `ConnectionTestFailed` otherwise (Critical, reason `Tested`).
    pub fn condition(&self) -> Condition {
        match self {
            Self::Auth { .. } => Condition::new(types::CONNECTION_AUTH_FAILED, category::CRITICAL)
                .with_reason(reason::TESTED)
                .with_message(format!("Connection auth failed, error: {self}")),
            _ => Condition::new(types::CONNECTION_TEST_FAILED, category::CRITICAL)
                .with_reason(reason::TESTED)
                .with_message(format!("Connection test, failed: {self}")),
        }
    }

    /// Whether to test again, and when (upstream requeues a failed test after 3 s; a
    /// refused login never).
    pub fn retry(&self) -> Retry {
        match self {
            Self::Auth { .. } | Self::Settings { .. } | Self::ServerType { .. } => Retry::Never,
            _ => Retry::After(Duration::from_secs(3)),
        }
    }

    /// The fingerprint of the certificate the server presented, to record in
    /// `status.fingerprint` even though the test failed (upstream records it whenever
    /// the certificate can be read).
    pub fn fingerprint(&self) -> Option<&str> {
        match self {
            Self::Tls { fingerprint, .. } => fingerprint.as_deref(),
            _ => None,
        }
    }
}

/// A successful connection test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tested {
    /// What the server is.
    pub about: About,
    /// The SHA-1 fingerprint (`AB:CD:…`) of the certificate the server presented, for
    /// `status.fingerprint`; `None` over plain HTTP.
    pub fingerprint: Option<String>,
}

impl Tested {
    /// `ConnectionTestSucceeded` (Required, reason `Tested`).
    pub fn condition(&self) -> Condition {
        Condition::new(types::CONNECTION_TEST_SUCCEEDED, category::REQUIRED)
            .with_reason(reason::TESTED)
            .with_message("Connection test, succeeded.")
    }
}

/// The inventory condition for a collector's parity: `InventoryCreated` (Required,
/// `Completed`, "The inventory has been loaded.") once loaded, `LoadInventory`
/// (Advisory, `Started`, "Loading the inventory.") before.
pub fn inventory_condition(parity: bool) -> Condition {
    if parity {
        Condition::new(types::INVENTORY_CREATED, category::REQUIRED)
            .with_reason(reason::COMPLETED)
            .with_message("The inventory has been loaded.")
    } else {
        Condition::new(types::LOAD_INVENTORY, category::ADVISORY)
            .with_reason(reason::STARTED)
            .with_message("Loading the inventory.")
    }
}

/// Connects, logs in, checks the server kind against `sdkEndpoint`, and logs out,
/// within [`TEST_TIMEOUT`] (upstream `Collector.Test`).
pub async fn test_connection(settings: &ConnectionSettings) -> Result<Tested, ConnectionError> {
    match tokio::time::timeout(TEST_TIMEOUT, connect(settings)).await {
        Ok(Ok((client, tested))) => {
            // The test's own session: a failed logout does not fail the test.
            if let Err(error) = client.logout().await {
                tracing::debug!(%error, "vSphere connection test: logout failed");
            }
            Ok(tested)
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ConnectionError::Unreachable {
            message: format!(
                "{}: no answer within {TEST_TIMEOUT:?}",
                server_name(&settings.connect)
            ),
        }),
    }
}

/// Connects and logs in (the collector's first step), checking the server kind.
pub(crate) async fn connect(
    settings: &ConnectionSettings,
) -> Result<(Client, Tested), ConnectionError> {
    let client = Client::connect(settings.connect.clone())
        .await
        .map_err(ConnectionError::from_vim)?;
    let about = about_of(&client);
    if let Some(message) = settings.sdk_endpoint.mismatch(about.is_vcenter) {
        if let Err(error) = client.logout().await {
            tracing::debug!(%error, "vSphere logout after a server type mismatch failed");
        }
        return Err(ConnectionError::ServerType {
            message: message.to_owned(),
        });
    }
    let fingerprint = client.server_fingerprint();
    Ok((client, Tested { about, fingerprint }))
}

/// The About of a connected client.
pub(crate) fn about_of(client: &Client) -> About {
    let about = client.about();
    About {
        api_version: about.api_version.clone(),
        product: about.license_product_name.clone(),
        instance_uuid: about.instance_uuid.clone(),
        is_vcenter: about.is_vcenter(),
    }
}

fn server_name(config: &ConnectConfig) -> String {
    let url = &config.url;
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_type_messages_are_upstreams() {
        assert_eq!(
            SdkEndpoint::from_setting(Some("vcenter")).mismatch(false),
            Some("provider sdkEndpoint is set to vCenter but the URL points to an ESXi host")
        );
        assert_eq!(
            SdkEndpoint::from_setting(Some("esxi")).mismatch(true),
            Some("provider sdkEndpoint is set to ESXi but the URL points to a vCenter server")
        );
        assert_eq!(
            SdkEndpoint::from_setting(Some("esxi")).mismatch(false),
            None
        );
        assert_eq!(SdkEndpoint::from_setting(None).mismatch(false), None);
        assert_eq!(
            SdkEndpoint::from_setting(Some("VCenter")),
            SdkEndpoint::Unset
        );
    }

    #[test]
    fn conditions_and_retries() {
        let auth = ConnectionError::Auth {
            message: "Login: InvalidLogin: Login failure".into(),
        };
        let condition = auth.condition();
        assert_eq!(condition.r#type, "ConnectionAuthFailed");
        assert_eq!(condition.category, "Critical");
        assert_eq!(condition.reason, "Tested");
        assert_eq!(
            condition.message,
            "Connection auth failed, error: Login: InvalidLogin: Login failure"
        );
        assert_eq!(auth.retry(), Retry::Never);
        let down = ConnectionError::Unreachable {
            message: "cannot connect".into(),
        };
        assert_eq!(down.condition().r#type, "ConnectionTestFailed");
        assert_eq!(
            down.condition().message,
            "Connection test, failed: cannot connect"
        );
        assert!(matches!(down.retry(), Retry::After(_)));
        assert_eq!(inventory_condition(true).r#type, "InventoryCreated");
        assert_eq!(inventory_condition(false).r#type, "LoadInventory");
    }

    #[test]
    fn settings_come_from_the_provider_and_its_secret() {
        let mut provider = ferry_api::Provider::new(
            "ns",
            "vc",
            ferry_api::provider::ProviderSpec {
                r#type: Some("vsphere".into()),
                url: "https://vc.example.com/sdk".into(),
                ..Default::default()
            },
        );
        provider
            .spec
            .settings
            .insert("sdkEndpoint".into(), "esxi".into());
        provider.status.fingerprint =
            "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01".into();
        let mut secret = BTreeMap::new();
        secret.insert("user".to_owned(), b"admin".to_vec());
        secret.insert("password".to_owned(), b"hunter2-secret".to_vec());
        let settings = ConnectionSettings::from_provider(&provider, &secret).unwrap();
        assert_eq!(settings.sdk_endpoint, SdkEndpoint::Esxi);
        assert_eq!(
            settings.connect.fingerprint.as_deref(),
            Some("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01")
        );
        assert!(!format!("{settings:?}").contains("hunter2-secret"));
        provider.spec.url = "ftp://vc".into();
        let error = ConnectionSettings::from_provider(&provider, &secret).unwrap_err();
        assert!(matches!(error, ConnectionError::Settings { .. }));
        assert_eq!(error.retry(), Retry::Never);
    }
}
