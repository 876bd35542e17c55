//! Keys, certificates and the bearer token for one control plane, made fresh each start.
//! Pure: nothing here touches the file system.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{Error, Result};

/// The names kube-apiserver's serving certificate is valid for: the loopback address
/// clients use, and the names and service IP in-cluster clients would use.
pub const SERVING_NAMES: [&str; 7] = [
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    SERVICE_IP,
];

/// The first address of `--service-cluster-ip-range`, which kube-apiserver gives the
/// `kubernetes` Service.
pub const SERVICE_IP: &str = "10.0.0.1";

/// The PEM files one control plane needs.
pub struct Pki {
    /// The self-signed CA that signed the serving certificate (what clients trust).
    pub ca_pem: String,
    /// kube-apiserver's serving certificate.
    pub serving_cert_pem: String,
    /// The serving certificate's private key (PKCS#8).
    pub serving_key_pem: String,
    /// The service-account signing key (ECDSA P-256, PKCS#8), for kube-apiserver's
    /// `--service-account-signing-key-file` and the controller manager.
    pub service_account_key_pem: String,
    /// Its public half, for `--service-account-key-file`.
    pub service_account_pub_pem: String,
}

impl Pki {
    /// Generates a CA, a serving certificate signed by it, and a service-account key
    /// pair. The validity period is rcgen's default (1975 to 4096): these live for one
    /// test run.
    pub fn generate() -> Result<Self> {
        let pki = |what| move |source| Error::Pki { what, source };

        let ca_key = KeyPair::generate().map_err(pki("the CA key"))?;
        let mut ca_params = CertificateParams::new(Vec::new()).map_err(pki("the CA"))?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferry-realkube-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(pki("the CA"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let serving_key = KeyPair::generate().map_err(pki("the serving key"))?;
        let names: Vec<String> = SERVING_NAMES.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).map_err(pki("the serving certificate"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_cert = params
            .signed_by(&serving_key, &issuer)
            .map_err(pki("the serving certificate"))?;

        let sa_key = KeyPair::generate().map_err(pki("the service-account key"))?;

        Ok(Pki {
            ca_pem: ca_cert.pem(),
            serving_cert_pem: serving_cert.pem(),
            serving_key_pem: serving_key.serialize_pem(),
            service_account_key_pem: sa_key.serialize_pem(),
            service_account_pub_pem: sa_key.public_key_pem(),
        })
    }
}

/// A fresh random bearer token (256 bits from the OS's generator, as hex).
pub fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_of_each_kind() {
        let pki = Pki::generate().unwrap();
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(
            pki.serving_cert_pem
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            pki.serving_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(
            pki.service_account_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(
            pki.service_account_pub_pem
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_ne!(pki.ca_pem, pki.serving_cert_pem);
    }

    #[test]
    fn each_generation_is_new() {
        let a = Pki::generate().unwrap();
        let b = Pki::generate().unwrap();
        assert_ne!(a.serving_key_pem, b.serving_key_pem);
        assert_ne!(a.service_account_key_pem, b.service_account_key_pem);
    }

    #[test]
    fn tokens_are_long_hex_and_differ() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_token());
    }
}
