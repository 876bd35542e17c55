//! The kubeconfig the harness writes for kubectl, kube-controller-manager and kube-rs.

use base64::Engine as _;

/// The kubeconfig's cluster, user and context name.
pub const CONTEXT: &str = "ferry-realkube";

/// Renders a kubeconfig with one cluster (`url`, trusting `ca_pem`), one user (the
/// bearer `token`) and one current context. Every value is base64, a URL or hex, so
/// none needs YAML quoting beyond what is written here.
pub fn render(url: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: \"{url}\"
    certificate-authority-data: \"{ca}\"
users:
- name: {CONTEXT}
  user:
    token: \"{token}\"
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_rs_reads_what_is_rendered() {
        let text = render("https://127.0.0.1:6443", "PEM", "t0k3n");
        let kc = kube::config::Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some(CONTEXT));
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("UEVN"));
        assert!(kc.auth_infos[0].auth_info.as_ref().unwrap().token.is_some());
    }
}
