//! The kubeconfig clients use to reach the server, written with mode 0600 because
//! it holds the bearer token.

use base64::Engine;
use std::io::Write;
use std::path::Path;

/// Writes a kubeconfig for `url` (context `ferry`, namespace `default`).
pub fn write_kubeconfig(
    path: &Path,
    url: &str,
    token: Option<&str>,
    ca_pem: Option<&str>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut cluster = format!("    server: {url}\n");
    if let Some(ca) = ca_pem {
        let b64 = base64::engine::general_purpose::STANDARD.encode(ca.as_bytes());
        cluster.push_str(&format!("    certificate-authority-data: {b64}\n"));
    }
    let user = match token {
        Some(t) => format!("    token: {t}\n"),
        None => "    {}\n".to_string(),
    };
    let user_block = if token.is_some() {
        format!("  user:\n{user}")
    } else {
        "  user: {}\n".to_string()
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferry\n  cluster:\n{cluster}users:\n- name: ferry\n{user_block}contexts:\n- name: ferry\n  context:\n    cluster: ferry\n    user: ferry\n    namespace: default\ncurrent-context: ferry\npreferences: {{}}\n"
    );
    write_private(path, &text)
}

/// Writes `text` to `path` with mode 0600, atomically (write then rename).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_private_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kubeconfig");
        write_kubeconfig(&p, "http://127.0.0.1:1", Some("secret"), None).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("token: secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
