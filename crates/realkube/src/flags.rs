//! The command lines of etcd, kube-apiserver and kube-controller-manager. Pure: the
//! caller has made the files these point at.

use std::path::{Path, PathBuf};

use crate::pki::SERVICE_IP;

/// The files and ports one control plane uses.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The temp dir everything lives in.
    pub dir: PathBuf,
    /// etcd's client port.
    pub etcd_client_port: u16,
    /// etcd's peer port.
    pub etcd_peer_port: u16,
    /// kube-apiserver's secure port.
    pub apiserver_port: u16,
    /// kube-controller-manager's secure port (serving only `/healthz` and friends).
    pub controller_manager_port: u16,
}

impl Layout {
    /// etcd's data directory.
    pub fn etcd_data(&self) -> PathBuf {
        self.dir.join("etcd")
    }
    /// A file in the PKI directory.
    pub fn pki(&self, name: &str) -> PathBuf {
        self.dir.join("pki").join(name)
    }
    /// The static token file.
    pub fn token_file(&self) -> PathBuf {
        self.dir.join("tokens.csv")
    }
    /// The kubeconfig the harness writes.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
    /// A server's log file.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }
    /// etcd's client URL.
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_client_port)
    }
    /// kube-apiserver's URL.
    pub fn apiserver_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }
    /// kube-controller-manager's URL.
    pub fn controller_manager_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.controller_manager_port)
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// etcd: one member on loopback, quiet logs; without fsync unless `durable` (a temp
/// dir's data is thrown away; a persistent data dir must survive a crash).
pub fn etcd(l: &Layout, durable: bool) -> Vec<String> {
    let peer = format!("http://127.0.0.1:{}", l.etcd_peer_port);
    let mut args: Vec<String> = vec![
        "--name=default".into(),
        format!("--data-dir={}", path(&l.etcd_data())),
        format!("--listen-client-urls={}", l.etcd_url()),
        format!("--advertise-client-urls={}", l.etcd_url()),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=default={peer}"),
        "--initial-cluster-state=new".into(),
        "--log-level=warn".into(),
    ];
    if !durable {
        args.push("--unsafe-no-fsync=true".into());
    }
    args
}

/// The user the static token authenticates as.
pub const TOKEN_USER: &str = "ferry-realkube-admin";

/// The token file's one line: the token's user is in `system:masters` (cluster-admin
/// under RBAC).
pub fn token_file_line(token: &str) -> String {
    format!("{token},{TOKEN_USER},{TOKEN_USER},\"system:masters\"\n")
}

/// kube-apiserver: loopback only, static token authentication, RBAC, and the default
/// admission chain. `ServiceAccount` admission (which defaults a pod's service
/// account, mounts its token as the `kube-api-access-*` projected volume, and rejects
/// pods whose account does not exist) is on only when `service_accounts` says that
/// kube-controller-manager's serviceaccount-controller runs: without it no namespace
/// would get its `default` ServiceAccount and every pod would be refused, which no
/// real cluster does. No endpoint reconciler: it would try every 10 s to publish
/// 127.0.0.1 as the `kubernetes` Service's endpoint, which validation rejects
/// (loopback).
pub fn kube_apiserver(l: &Layout, service_accounts: bool, extra: &[String]) -> Vec<String> {
    let mut args = vec![
        format!("--etcd-servers={}", l.etcd_url()),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={}", l.apiserver_port),
        format!("--cert-dir={}", path(&l.pki(""))),
        format!("--tls-cert-file={}", path(&l.pki("serving.crt"))),
        format!("--tls-private-key-file={}", path(&l.pki("serving.key"))),
        format!("--token-auth-file={}", path(&l.token_file())),
        "--authorization-mode=RBAC".into(),
        "--anonymous-auth=false".into(),
        format!(
            "--service-account-key-file={}",
            path(&l.pki("service-account.pub"))
        ),
        format!(
            "--service-account-signing-key-file={}",
            path(&l.pki("service-account.key"))
        ),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-cluster-ip-range={SERVICE_IP}/24"),
        "--endpoint-reconciler-type=none".into(),
        "--allow-privileged=true".into(),
        "--profiling=false".into(),
    ];
    if !service_accounts {
        args.push("--disable-admission-plugins=ServiceAccount".into());
    }
    args.extend(extra.iter().cloned());
    args
}

/// kube-controller-manager running only `controllers`, talking to kube-apiserver as
/// the token user, without leader election. Its own port serves `/healthz` (always
/// allowed, so no delegated authentication is set up) with kube-apiserver's serving
/// certificate, which is valid for 127.0.0.1.
pub fn kube_controller_manager(l: &Layout, controllers: &[String]) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", path(&l.kubeconfig())),
        format!("--controllers={}", controllers.join(",")),
        "--leader-elect=false".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", l.controller_manager_port),
        format!("--tls-cert-file={}", path(&l.pki("serving.crt"))),
        format!("--tls-private-key-file={}", path(&l.pki("serving.key"))),
        "--use-service-account-credentials=false".into(),
        format!(
            "--service-account-private-key-file={}",
            path(&l.pki("service-account.key"))
        ),
        format!("--root-ca-file={}", path(&l.pki("ca.crt"))),
        format!("--service-cluster-ip-range={SERVICE_IP}/24"),
        "--profiling=false".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            dir: PathBuf::from("/tmp/x"),
            etcd_client_port: 2379,
            etcd_peer_port: 2380,
            apiserver_port: 6443,
            controller_manager_port: 10257,
        }
    }

    #[test]
    fn everything_listens_on_loopback_only() {
        let l = layout();
        let kcm = kube_controller_manager(&l, &["namespace-controller".into()]);
        let apiserver = kube_apiserver(&l, true, &[]);
        for arg in etcd(&l, true).iter().chain(&apiserver).chain(&kcm) {
            if arg.contains("://") && !arg.contains("kubernetes.default.svc") {
                assert!(arg.contains("127.0.0.1"), "{arg}");
            }
        }
        assert!(apiserver.contains(&"--bind-address=127.0.0.1".to_string()));
        assert!(kcm.contains(&"--bind-address=127.0.0.1".to_string()));
    }

    #[test]
    fn apiserver_talks_to_this_etcd_and_extra_args_come_last() {
        let l = layout();
        let args = kube_apiserver(&l, true, &["--v=4".to_string()]);
        assert!(args.contains(&"--etcd-servers=http://127.0.0.1:2379".to_string()));
        assert!(args.contains(&"--secure-port=6443".to_string()));
        assert_eq!(args.last().map(String::as_str), Some("--v=4"));
    }

    #[test]
    fn service_account_admission_is_off_only_without_its_controller() {
        let off = "--disable-admission-plugins=ServiceAccount".to_string();
        assert!(kube_apiserver(&layout(), false, &[]).contains(&off));
        assert!(!kube_apiserver(&layout(), true, &[]).contains(&off));
    }

    #[test]
    fn only_a_throwaway_etcd_skips_fsync() {
        let no_fsync = "--unsafe-no-fsync=true".to_string();
        assert!(etcd(&layout(), false).contains(&no_fsync));
        assert!(!etcd(&layout(), true).contains(&no_fsync));
    }

    #[test]
    fn the_token_user_is_a_cluster_admin() {
        assert_eq!(
            token_file_line("abc"),
            "abc,ferry-realkube-admin,ferry-realkube-admin,\"system:masters\"\n"
        );
    }

    #[test]
    fn controller_manager_runs_only_the_named_controllers() {
        let args = kube_controller_manager(
            &layout(),
            &[
                "garbage-collector-controller".into(),
                "namespace-controller".into(),
            ],
        );
        assert!(args.contains(
            &"--controllers=garbage-collector-controller,namespace-controller".to_string()
        ));
        assert!(args.contains(&"--kubeconfig=/tmp/x/kubeconfig".to_string()));
    }
}
