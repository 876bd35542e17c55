//! `V2V_libvirtURL` and `V2V_fingerprint` (upstream `getSourceDetails`; vSphere spec §5.2):
//! where virt-v2v's libvirt input finds the VM.
//!
//! | case | URL | fingerprint |
//! |---|---|---|
//! | vCenter | `vpx://<user>@<provider host[:port]><host inventory path>?<tls>` (a standalone host: its compute resource's path) | the provider's |
//! | `sdkEndpoint: esxi` | `esx://<user>@<provider host name>?<tls>` (no port, as upstream) | the provider's |
//!
//! `<tls>` is `no_verify=1` with `insecureSkipVerify`, else `cacert=/opt/ca-bundle.crt`
//! (the certificates the conversion image links there). The URL is written as Go's
//! `url.URL.String()` writes it: the user name escaped for a userinfo (`@` → `%40`), the
//! path with `?`, spaces and non-ASCII bytes escaped. Upstream's third case, a Ready
//! `Host` CR for the VM's host (`esx://<host user>@<host IP>`), needs the Host CRs,
//! which the plan view does not carry.

use ferry_api::provider::settings;

/// The query of an unverified connection.
pub const NO_VERIFY: &str = "no_verify=1";
/// The query of a verified connection: the conversion image's CA bundle.
pub const CA_BUNDLE: &str = "cacert=/opt/ca-bundle.crt";

/// Why no libvirt URL can be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LibvirtUrlError {
    /// The provider URL does not parse or has no host.
    #[error("the provider URL '{0}' is not a valid URL with a host")]
    BadProviderUrl(String),
}

/// Which of Go's escaping rules applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    UserPassword,
    Path,
}

/// Go's `net/url` `escape` for the modes used here.
fn go_escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || match mode {
                // RFC 3986 §3.2.1: reserved characters but `@`, `/`, `?` and `:`.
                Mode::UserPassword => matches!(b, b'$' | b'&' | b'+' | b',' | b';' | b'='),
                // Reserved characters but `?`.
                Mode::Path => matches!(
                    b,
                    b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
                ),
            };
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Upstream `formatHostAddress`: IPv6 addresses in brackets.
pub fn format_host_address(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => format!("[{address}]"),
        _ => address.to_string(),
    }
}

/// The connection's TLS query.
pub fn tls_query(insecure: bool) -> &'static str {
    if insecure { NO_VERIFY } else { CA_BUNDLE }
}

/// The source of the conversion: `V2V_libvirtURL` and `V2V_fingerprint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDetails {
    /// `V2V_libvirtURL`.
    pub url: String,
    /// `V2V_fingerprint`.
    pub fingerprint: String,
}

/// Upstream `getSourceDetails` for a vCenter or the ESXi endpoint of the provider.
/// `host_path` is the inventory path of the VM's host (or of its standalone compute
/// resource); `user` the provider secret's `user`.
pub fn source_details(
    provider: &ferry_api::Provider,
    user: &str,
    insecure: bool,
    host_path: &str,
) -> Result<SourceDetails, LibvirtUrlError> {
    let url = reqwest::Url::parse(&provider.spec.url)
        .map_err(|_| LibvirtUrlError::BadProviderUrl(provider.spec.url.clone()))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| LibvirtUrlError::BadProviderUrl(provider.spec.url.clone()))?;
    let user = go_escape(user, Mode::UserPassword);
    let query = tls_query(insecure);
    let url = if provider.setting(settings::SDK_ENDPOINT) == Some(settings::ESXI) {
        // Go's `Hostname()` drops the brackets of an IPv6 literal; formatHostAddress puts
        // them back.
        let name = host.trim_start_matches('[').trim_end_matches(']');
        format!("esx://{user}@{}?{query}", format_host_address(name))
    } else {
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        format!(
            "vpx://{user}@{authority}{}?{query}",
            go_escape(host_path, Mode::Path)
        )
    };
    Ok(SourceDetails {
        url,
        fingerprint: provider.status.fingerprint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::provider::ProviderSpec;

    fn provider(url: &str, esxi: bool) -> ferry_api::Provider {
        let mut p = ferry_api::Provider::new(
            "ns",
            "vc",
            ProviderSpec {
                r#type: Some("vsphere".into()),
                url: url.into(),
                ..ProviderSpec::default()
            },
        );
        if esxi {
            p.spec
                .settings
                .insert(settings::SDK_ENDPOINT.into(), settings::ESXI.into());
        }
        p.status.fingerprint = "AB:CD".into();
        p
    }

    #[test]
    fn vcenter_urls_name_the_host_path() {
        let details = source_details(
            &provider("https://vcenter.example.com/sdk", false),
            "administrator@vsphere.local",
            true,
            "/DC0/host/DC0_C0/DC0_C0_H0",
        )
        .unwrap();
        assert_eq!(
            details.url,
            "vpx://administrator%40vsphere.local@vcenter.example.com/DC0/host/DC0_C0/DC0_C0_H0?no_verify=1"
        );
        assert_eq!(details.fingerprint, "AB:CD");
        let details = source_details(
            &provider("https://127.0.0.1:8989/sdk", false),
            "ferry",
            false,
            "/Data Center/host/Clüster/esx 1?",
        )
        .unwrap();
        assert_eq!(
            details.url,
            "vpx://ferry@127.0.0.1:8989/Data%20Center/host/Cl%C3%BCster/esx%201%3F?cacert=/opt/ca-bundle.crt"
        );
    }

    #[test]
    fn esxi_endpoints_use_the_provider_host_without_port() {
        let details = source_details(
            &provider("https://esx.example.com:443/sdk", true),
            "root",
            true,
            "/ignored",
        )
        .unwrap();
        assert_eq!(details.url, "esx://root@esx.example.com?no_verify=1");
        let details = source_details(
            &provider("https://[fd00::1]:8443/sdk", true),
            "root",
            false,
            "",
        )
        .unwrap();
        assert_eq!(
            details.url,
            "esx://root@[fd00::1]?cacert=/opt/ca-bundle.crt"
        );
        assert!(matches!(
            source_details(&provider("not a url", false), "u", true, "/"),
            Err(LibvirtUrlError::BadProviderUrl(_))
        ));
        assert_eq!(format_host_address("10.0.0.1"), "10.0.0.1");
        assert_eq!(format_host_address("::1"), "[::1]");
        assert_eq!(format_host_address("esx.local"), "esx.local");
    }
}
