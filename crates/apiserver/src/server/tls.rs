//! Optional TLS: a self-signed CA made at start-up, a serving certificate for
//! `localhost` and `127.0.0.1` signed by it, and a rustls acceptor on the ring
//! provider. The kubeconfig carries the CA.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("cannot generate certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// The generated CA and serving identity.
pub struct TlsMaterial {
    /// The CA certificate (PEM), for clients.
    pub ca_pem: String,
    /// The CA certificate (DER).
    pub ca_der: Vec<u8>,
    /// The server configuration.
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

/// A new CA key (PEM), to keep in the data directory.
pub fn new_ca_key() -> Result<String, TlsError> {
    Ok(KeyPair::generate()?.serialize_pem())
}

/// Generates a serving certificate for `hosts` (DNS names or IPs), signed by a CA
/// made from `ca_key_pem`. The CA certificate is the same (same key, subject and
/// validity) whenever the same key is used, so a kubeconfig written on an earlier
/// run keeps working after a restart.
pub fn generate(
    hosts: &[String],
    ca_key_pem: &str,
    known_ca_pem: Option<&str>,
) -> Result<TlsMaterial, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferry-apiserver-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    params
        .distinguished_name
        .push(DnType::CommonName, "ferry-apiserver");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;
    let chain = vec![cert.der().clone(), ca.der().clone()];
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // A CA certificate made on an earlier run (same key and subject) is handed out
    // again, so kubeconfigs stay byte-for-byte the same across restarts.
    let (ca_pem, ca_der) = match known_ca_pem.and_then(pem_to_der) {
        Some(der) => (known_ca_pem.unwrap_or_default().to_string(), der),
        None => (ca.pem(), ca.der().to_vec()),
    };
    Ok(TlsMaterial {
        ca_pem,
        ca_der,
        config: Arc::new(config),
    })
}

/// The DER of the first certificate in a PEM text.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .filter(|d| !d.is_empty())
}
