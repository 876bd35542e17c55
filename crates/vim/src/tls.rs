//! TLS trust as Forklift and govmomi apply it: verify the chain (against the
//! provider's CA, else the system roots); if that fails and a fingerprint is
//! pinned, accept the certificate whose SHA-1 fingerprint matches; with
//! `insecureSkipVerify`, accept any certificate. The fingerprint of whatever
//! certificate the server presents is recorded either way.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha1::{Digest as _, Sha1};

use crate::config::ConnectConfig;
use crate::error::{Error, TlsFailure};

/// The SHA-1 fingerprint of a DER certificate as Forklift formats it:
/// uppercase hex pairs joined by `:`.
pub fn fingerprint_sha1(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    let mut out = String::with_capacity(59);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{byte:02X}"));
    }
    out
}

/// Normalises a SHA-1 fingerprint written with or without `:` separators, in
/// either case, to `AB:CD:…`.
pub fn normalize_fingerprint(text: &str) -> Result<String, Error> {
    let hex: String = text
        .trim()
        .chars()
        .filter(|c| *c != ':' && *c != ' ')
        .collect();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::InvalidConfig {
            message: "the fingerprint must be a SHA-1 digest: 20 hex bytes such as AB:CD:…".into(),
        });
    }
    let upper = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..20).map(|i| &upper[i * 2..i * 2 + 2]).collect();
    Ok(pairs.join(":"))
}

/// What the verifier saw: the last certificate's fingerprint and why the last
/// verification failed. Shared with the transport to turn handshake failures
/// into [`TlsFailure`]s.
#[derive(Debug, Default)]
pub(crate) struct TlsObserver {
    fingerprint: Mutex<Option<String>>,
    failure: Mutex<Option<TlsFailure>>,
}

impl TlsObserver {
    /// The fingerprint of the last certificate the server presented.
    pub fn fingerprint(&self) -> Option<String> {
        self.fingerprint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the reason of the last failed verification.
    pub fn take_failure(&self) -> Option<TlsFailure> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn saw(&self, fingerprint: &str) {
        *self
            .fingerprint
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(fingerprint.to_owned());
    }

    fn failed(&self, failure: TlsFailure) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
    }
}

/// The ring provider, also installed as the process default (reqwest and
/// others look for one).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    let provider = rustls::crypto::ring::default_provider();
    // Fails only if a default is installed already, which is what we want.
    let _ = provider.clone().install_default();
    Arc::new(provider)
}

/// The rustls client configuration for these settings, and its observer.
pub(crate) fn client_config(
    config: &ConnectConfig,
) -> Result<(rustls::ClientConfig, Arc<TlsObserver>), Error> {
    let provider = provider();
    let observer = Arc::new(TlsObserver::default());
    let mode = if config.insecure_skip_verify {
        Mode::Insecure
    } else {
        let chain: Arc<dyn ServerCertVerifier> = match &config.ca_pem {
            Some(pem) => {
                let mut roots = RootCertStore::empty();
                let mut count = 0usize;
                for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| Error::InvalidConfig {
                        message: format!("the CA certificate (cacert) is not valid PEM: {e}"),
                    })?;
                    roots.add(cert).map_err(|e| Error::InvalidConfig {
                        message: format!("the CA certificate (cacert) cannot be used: {e}"),
                    })?;
                    count += 1;
                }
                if count == 0 {
                    return Err(Error::InvalidConfig {
                        message: "the CA certificate (cacert) holds no PEM certificate".into(),
                    });
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| Error::InvalidConfig {
                        message: format!("the CA certificate (cacert) cannot be used: {e}"),
                    })?
            }
            None => Arc::new(
                rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| {
                    Error::InvalidConfig {
                        message: format!("the system's trusted roots cannot be loaded: {e}"),
                    }
                })?,
            ),
        };
        Mode::Verify {
            chain,
            pin: config.fingerprint.clone(),
        }
    };
    let verifier = Arc::new(Verifier {
        mode,
        provider: provider.clone(),
        observer: observer.clone(),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig {
            message: format!("TLS set-up failed: {e}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((tls, observer))
}

#[derive(Debug)]
enum Mode {
    Insecure,
    Verify {
        chain: Arc<dyn ServerCertVerifier>,
        pin: Option<String>,
    },
}

#[derive(Debug)]
struct Verifier {
    mode: Mode,
    provider: Arc<CryptoProvider>,
    observer: Arc<TlsObserver>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = fingerprint_sha1(end_entity);
        self.observer.saw(&fingerprint);
        let Mode::Verify { chain, pin } = &self.mode else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            Err(error) => match pin {
                Some(pin) if *pin == fingerprint => Ok(ServerCertVerified::assertion()),
                Some(pin) => {
                    self.observer.failed(TlsFailure::FingerprintMismatch {
                        expected: pin.clone(),
                        actual: fingerprint,
                    });
                    Err(error)
                }
                None => {
                    self.observer.failed(TlsFailure::Untrusted {
                        fingerprint,
                        reason: error.to_string(),
                    });
                    Err(error)
                }
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_format_as_forklift() {
        // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d
        assert_eq!(
            fingerprint_sha1(b"abc"),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
        assert_eq!(
            normalize_fingerprint("a9993e364706816aba3e25717850c26c9cd0d89d").unwrap(),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
        assert!(normalize_fingerprint("A9:99").is_err());
        assert!(normalize_fingerprint(&"g".repeat(40)).is_err());
    }

    #[test]
    fn bad_cacert_is_invalid_config() {
        let config = ConnectConfig::new("https://127.0.0.1/sdk", "u", "p")
            .unwrap()
            .with_ca_pem("not a certificate");
        assert!(matches!(
            client_config(&config),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
