//! How to reach and log in to a vCenter or ESXi host.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;

use crate::error::Error;
use crate::secret::Secret;
use crate::tls::normalize_fingerprint;
use crate::xml::ParseLimits;

/// Connection settings: endpoint, credentials, TLS trust and limits.
///
/// `Debug` is safe to log: the password is a [`Secret`].
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// The SDK endpoint, e.g. `https://vcenter.example.com/sdk` (no credentials).
    pub url: Url,
    /// The user name (`user` in the provider Secret).
    pub user: String,
    /// The password (`password` in the provider Secret).
    pub password: Secret,
    /// PEM CA certificates to trust instead of the system roots (`ca.crt` or
    /// `cacert` in the provider Secret).
    pub ca_pem: Option<String>,
    /// Accept any server certificate (`insecureSkipVerify: "true"`).
    pub insecure_skip_verify: bool,
    /// A SHA-1 fingerprint (`AB:CD:…`) accepted when the certificate does not
    /// chain to a trusted root (the provider's `status.fingerprint`), as
    /// govmomi's thumbprint check does.
    pub fingerprint: Option<String>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Response size and shape limits.
    pub limits: Limits,
    /// Log in again and retry once when a call fails with `NotAuthenticated`.
    pub relogin: bool,
    /// The `User-Agent` header.
    pub user_agent: String,
}

/// Time limits for calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP+TLS connection.
    pub connect: Duration,
    /// One SOAP call (other than `WaitForUpdatesEx`, which gets its
    /// `maxWaitSeconds` plus this).
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            call: Duration::from_secs(60),
        }
    }
}

/// Bounds on what a response may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest SOAP response body read, in bytes.
    pub max_response_bytes: usize,
    /// Parser bounds (depth, element count).
    pub parse: ParseLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_response_bytes: 32 * 1024 * 1024,
            parse: ParseLimits::default(),
        }
    }
}

impl ConnectConfig {
    /// Settings for `url` (an SDK endpoint; a bare `https://host` gets `/sdk`)
    /// with these credentials, verifying TLS against the system roots.
    pub fn new(
        url: &str,
        user: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, Error> {
        let mut url = Url::parse(url).map_err(|e| Error::InvalidConfig {
            message: format!("the URL is not valid: {e}"),
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::InvalidConfig {
                message: format!("the URL scheme must be https, not `{}`", url.scheme()),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::InvalidConfig {
                message: "the URL has no host".into(),
            });
        }
        // Credentials never travel in the URL (nor land in errors through it).
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        if url.path().is_empty() || url.path() == "/" {
            url.set_path("/sdk");
        }
        Ok(Self {
            url,
            user: user.into(),
            password: password.into(),
            ca_pem: None,
            insecure_skip_verify: false,
            fingerprint: None,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            relogin: true,
            user_agent: concat!("ferry-vim/", env!("CARGO_PKG_VERSION")).to_owned(),
        })
    }

    /// Settings from a Forklift provider: its URL, its Secret's data (`user`,
    /// `password`, `ca.crt` or `cacert`, `insecureSkipVerify`) and its
    /// `status.fingerprint`.
    pub fn from_provider_secret<V: AsRef<[u8]>>(
        url: &str,
        data: &BTreeMap<String, V>,
        fingerprint: Option<&str>,
    ) -> Result<Self, Error> {
        let text = |key: &str| -> Result<Option<String>, Error> {
            data.get(key)
                .map(|v| {
                    String::from_utf8(v.as_ref().to_vec()).map_err(|_| Error::InvalidConfig {
                        message: format!("the Secret's `{key}` is not UTF-8"),
                    })
                })
                .transpose()
        };
        let user = text("user")?.unwrap_or_default();
        let password = text("password")?.unwrap_or_default();
        let mut config = Self::new(url, user, password)?;
        config.ca_pem = match text("ca.crt")? {
            Some(ca) if !ca.trim().is_empty() => Some(ca),
            _ => text("cacert")?.filter(|ca| !ca.trim().is_empty()),
        };
        config.insecure_skip_verify = text("insecureSkipVerify")?
            .as_deref()
            .map(go_parse_bool)
            .unwrap_or(false);
        if let Some(fp) = fingerprint.filter(|f| !f.trim().is_empty()) {
            config.fingerprint = Some(normalize_fingerprint(fp)?);
        }
        Ok(config)
    }

    /// Trusts these PEM CA certificates instead of the system roots.
    pub fn with_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Accepts any server certificate.
    pub fn with_insecure_skip_verify(mut self, insecure: bool) -> Self {
        self.insecure_skip_verify = insecure;
        self
    }

    /// Accepts a certificate with this SHA-1 fingerprint even if untrusted.
    pub fn with_fingerprint(mut self, fingerprint: &str) -> Result<Self, Error> {
        self.fingerprint = Some(normalize_fingerprint(fingerprint)?);
        Ok(self)
    }

    /// The server URL for messages: scheme, host and port only.
    pub(crate) fn display_url(&self) -> String {
        display_url(&self.url)
    }
}

/// `scheme://host:port` of a URL, for messages.
pub(crate) fn display_url(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}://{}:{port}", url.scheme(), url.host_str().unwrap_or("")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
    }
}

/// Go's `strconv.ParseBool`, which Forklift applies to `insecureSkipVerify`;
/// anything it rejects counts as false.
fn go_parse_bool(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_secret_keys_as_forklift_reads_them() {
        let mut data = BTreeMap::new();
        data.insert("user".to_owned(), b"administrator@vsphere.local".to_vec());
        data.insert("password".to_owned(), b"s3cret!".to_vec());
        data.insert("cacert".to_owned(), b"-----BEGIN CERTIFICATE-----".to_vec());
        data.insert("insecureSkipVerify".to_owned(), b"True".to_vec());
        let config = ConnectConfig::from_provider_secret(
            "https://user:pw@vc.example.com",
            &data,
            Some("ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01"),
        )
        .unwrap();
        assert_eq!(config.url.as_str(), "https://vc.example.com/sdk");
        assert_eq!(config.user, "administrator@vsphere.local");
        assert_eq!(config.password.expose(), "s3cret!");
        assert!(config.insecure_skip_verify);
        assert_eq!(
            config.fingerprint.as_deref(),
            Some("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01")
        );
        assert!(config.ca_pem.is_some());
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret!"), "{debug}");
        assert!(!debug.contains("pw"), "{debug}");
    }

    #[test]
    fn ca_crt_wins_over_cacert_and_bad_bools_are_false() {
        let mut data = BTreeMap::new();
        data.insert("ca.crt".to_owned(), "new".to_owned());
        data.insert("cacert".to_owned(), "old".to_owned());
        data.insert("insecureSkipVerify".to_owned(), "yes".to_owned());
        let config = ConnectConfig::from_provider_secret("https://vc/sdk", &data, None).unwrap();
        assert_eq!(config.ca_pem.as_deref(), Some("new"));
        assert!(!config.insecure_skip_verify);
    }

    #[test]
    fn bad_settings_are_invalid_config() {
        assert!(matches!(
            ConnectConfig::new("ftp://vc/sdk", "u", "p"),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            ConnectConfig::new("not a url", "u", "p"),
            Err(Error::InvalidConfig { .. })
        ));
        let data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        assert!(matches!(
            ConnectConfig::from_provider_secret("https://vc/sdk", &data, Some("zz")),
            Err(Error::InvalidConfig { .. })
        ));
        let mut data = BTreeMap::new();
        data.insert("password".to_owned(), vec![0xff, 0xfe]);
        let err = ConnectConfig::from_provider_secret("https://vc/sdk", &data, None).unwrap_err();
        assert!(err.to_string().contains("`password` is not UTF-8"));
    }
}
