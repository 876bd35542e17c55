//! Where a control plane keeps its files, and what it reuses across starts.
//!
//! A fresh temp dir gets new keys, a new token and new ports each start. A persistent
//! data dir ([`crate::Builder::data_dir`]) keeps its CA, serving certificate,
//! service-account keys and token, so kubeconfigs and service-account tokens stay
//! valid across restarts; the ports of the last start are reused when they are free.

use std::net::TcpListener;
use std::path::Path;

use crate::error::{Error, Result};
use crate::flags::{self, Layout};
use crate::kubeconfig;
use crate::pki::{self, Pki};

/// What one start uses: the files' layout (with its ports), the PKI and the token.
pub struct Prepared {
    /// Paths and ports.
    pub layout: Layout,
    /// Keys and certificates (written to `layout`'s `pki/`).
    pub pki: Pki,
    /// The admin's bearer token (written to the token file).
    pub token: String,
    /// The kubeconfig's text (written to `layout.kubeconfig()`).
    pub kubeconfig: String,
}

/// The PKI files, in the order [`Pki`]'s fields are read back.
const PKI_FILES: [&str; 5] = [
    "ca.crt",
    "serving.crt",
    "serving.key",
    "service-account.key",
    "service-account.pub",
];

/// The file that records the ports of the last start of a persistent data dir.
const PORTS_FILE: &str = "ports";

/// Prepares `dir` for a start: a fresh one gets everything new; a persistent one
/// that was used before keeps its PKI and token and, when they are free, its ports.
pub fn prepare(dir: &Path, persistent: bool) -> Result<Prepared> {
    let ports = match persistent.then(|| saved_ports(dir)).flatten() {
        Some(ports) if ports.iter().all(|&p| port_free(p)) => ports,
        _ => free_ports()?,
    };
    let [
        etcd_client_port,
        etcd_peer_port,
        apiserver_port,
        controller_manager_port,
    ] = ports;
    let layout = Layout {
        dir: dir.to_path_buf(),
        etcd_client_port,
        etcd_peer_port,
        apiserver_port,
        controller_manager_port,
    };
    let (pki, token) = match load(&layout)? {
        Some(found) => found,
        None => {
            let pki = Pki::generate()?;
            let token = pki::new_token();
            write_secrets(&layout, &pki, &token)?;
            (pki, token)
        }
    };
    let kubeconfig = kubeconfig::render(&layout.apiserver_url(), &pki.ca_pem, &token);
    write(&layout.kubeconfig(), &kubeconfig, 0o600)?;
    if persistent {
        let line = ports.map(|p| p.to_string()).join(" ");
        write(&dir.join(PORTS_FILE), &format!("{line}\n"), 0o644)?;
    }
    Ok(Prepared {
        layout,
        pki,
        token,
        kubeconfig,
    })
}

/// The PKI and token a previous start left in `layout`'s dir; `None` when there is
/// none; an error when only part of it is there (rather than silently replacing keys
/// that existing tokens and kubeconfigs depend on).
fn load(layout: &Layout) -> Result<Option<(Pki, String)>> {
    let token_file = layout.token_file();
    let present: Vec<bool> = PKI_FILES
        .iter()
        .map(|name| layout.pki(name).exists())
        .chain([token_file.exists()])
        .collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if !present.iter().all(|p| *p) {
        return Err(Error::DataDir {
            dir: layout.dir.clone(),
            reason: format!(
                "it holds only part of a control plane's keys (want pki/{{{}}} and {}); \
                 remove the directory to start afresh",
                PKI_FILES.join(","),
                token_file.display()
            ),
        });
    }
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e));
    let [ca, cert, key, sa_key, sa_pub] = PKI_FILES.map(|name| layout.pki(name));
    let pki = Pki {
        ca_pem: read(&ca)?,
        serving_cert_pem: read(&cert)?,
        serving_key_pem: read(&key)?,
        service_account_key_pem: read(&sa_key)?,
        service_account_pub_pem: read(&sa_pub)?,
    };
    let token = read(&token_file)?
        .split(',')
        .next()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::DataDir {
            dir: layout.dir.clone(),
            reason: format!("{} holds no token", token_file.display()),
        })?;
    Ok(Some((pki, token)))
}

/// The ports a previous start of this data dir recorded.
fn saved_ports(dir: &Path) -> Option<[u16; 4]> {
    let text = std::fs::read_to_string(dir.join(PORTS_FILE)).ok()?;
    let ports: Vec<u16> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    ports.try_into().ok()
}

/// True when nothing listens on the loopback `port`.
fn port_free(port: u16) -> bool {
    port != 0 && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Asks the kernel for `N` distinct free loopback ports (all held at once, then freed).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("bind", "127.0.0.1:0", e))?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .map_err(|e| Error::io("inspect", "127.0.0.1:0", e))?
            .port();
    }
    Ok(ports)
}

/// Writes the PKI and the token file; secrets with mode 0600.
fn write_secrets(l: &Layout, pki: &Pki, token: &str) -> Result<()> {
    let pki_dir = l.pki("");
    std::fs::create_dir_all(&pki_dir).map_err(|e| Error::io("create", &pki_dir, e))?;
    write(&l.pki("ca.crt"), &pki.ca_pem, 0o644)?;
    write(&l.pki("serving.crt"), &pki.serving_cert_pem, 0o644)?;
    write(&l.pki("serving.key"), &pki.serving_key_pem, 0o600)?;
    write(
        &l.pki("service-account.key"),
        &pki.service_account_key_pem,
        0o600,
    )?;
    write(
        &l.pki("service-account.pub"),
        &pki.service_account_pub_pem,
        0o644,
    )?;
    write(&l.token_file(), &flags::token_file_line(token), 0o600)
}

/// Writes `contents` to `path` with `mode`, replacing what was there (through a
/// temp file and a rename, so a reader never sees half a file).
fn write(path: &Path, contents: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_fresh_dir_gets_new_secrets_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let p = prepare(dir.path(), false).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p.layout.kubeconfig()), 0o600);
        assert_eq!(mode(&p.layout.token_file()), 0o600);
        assert_eq!(mode(&p.layout.pki("serving.key")), 0o600);
        assert_eq!(mode(&p.layout.pki("service-account.key")), 0o600);
        assert!(
            !dir.path().join(PORTS_FILE).exists(),
            "temp dirs keep no ports"
        );
    }

    #[test]
    fn a_persistent_dir_keeps_keys_token_and_free_ports() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(dir.path(), true).unwrap();
        let second = prepare(dir.path(), true).unwrap();
        assert_eq!(first.token, second.token);
        assert_eq!(first.pki.ca_pem, second.pki.ca_pem);
        assert_eq!(
            first.pki.service_account_key_pem,
            second.pki.service_account_key_pem
        );
        assert_eq!(first.layout.apiserver_port, second.layout.apiserver_port);
        assert_eq!(first.kubeconfig, second.kubeconfig);
    }

    #[test]
    fn a_taken_port_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(dir.path(), true).unwrap();
        let _holder = TcpListener::bind(("127.0.0.1", first.layout.apiserver_port)).unwrap();
        let second = prepare(dir.path(), true).unwrap();
        assert_ne!(first.layout.apiserver_port, second.layout.apiserver_port);
        assert_eq!(first.token, second.token);
        let kubeconfig = std::fs::read_to_string(second.layout.kubeconfig()).unwrap();
        assert!(
            kubeconfig.contains(&second.layout.apiserver_url()),
            "{kubeconfig}"
        );
    }

    #[test]
    fn a_partial_dir_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(dir.path(), true).unwrap();
        std::fs::remove_file(first.layout.pki("service-account.key")).unwrap();
        let err = prepare(dir.path(), true).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("only part of"), "{text}");
        assert!(text.contains("remove the directory"), "{text}");
        assert!(first.layout.pki("ca.crt").exists(), "nothing was replaced");
    }

    #[test]
    fn garbage_in_the_ports_file_means_new_ports() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PORTS_FILE), "1 2 x\n").unwrap();
        assert_eq!(saved_ports(dir.path()), None);
        std::fs::write(dir.path().join(PORTS_FILE), "0 0 0 0\n").unwrap();
        let p = prepare(dir.path(), true).unwrap();
        assert_ne!(p.layout.apiserver_port, 0);
    }
}
