//! The simulated cluster: the components a migration needs besides the API server and
//! Ferry, each a small controller on a [`kube::Client`] that behaves, as seen through
//! the API, as the real component does.
//!
//! | actor | plays | module |
//! |---|---|---|
//! | storage | the PV controller, a hostPath provisioner, PVC/PV protection | [`storage`] |
//! | CDI | the DataVolume import controller | [`cdi`] |
//! | kubelet | the node (and the scheduler's binding), running [`workload`]s in process | [`kubelet`] |
//! | jobs | the Job controller | [`jobs`] |
//! | KubeVirt | the VirtualMachine controller | [`kubevirt`] |
//!
//! [`Cluster::start`] first installs what such a cluster has ([`setup`]: the KubeVirt,
//! CDI and Multus CRDs, the node, the default StorageClass and its StorageProfile), then
//! starts the actors. It needs nothing but a client: the same code runs against Ferry's
//! embedded API server and against a real kube-apiserver.
//!
//! # Contracts (what Ferry and tests can rely on)
//!
//! - Pod IPs are loopback addresses `127.N.x.y` ([`config::PodNetwork`]); in-process
//!   workloads listen on their pod's real ports at that address: virt-v2v `:2112`
//!   (metrics) and `:8080` (results), CDI's importer `:8443` (progress, plain HTTP).
//! - Volumes live under `<data>/volumes/<pv name>/disk.img`; NFS volumes are the local
//!   directories given as [`ClusterConfig::shares`].
//! - Faults: [`faults::Faults`] (delays per object, failing disks) act here; API faults
//!   are a client for the controller, [`apifaults::faulty_client`].

pub mod apifaults;
pub mod cdi;
pub mod config;
pub mod crds;
pub mod error;
pub mod events;
pub mod faults;
pub mod jobs;
pub mod kubeapi;
pub mod kubelet;
pub mod kubevirt;
pub mod logs;
pub mod qemu;
pub mod setup;
pub mod storage;
pub mod volumes;
pub mod vsphere;
pub mod workload;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{ClusterConfig, Pace, PodNetwork};
pub use error::{Error, Result};
pub use faults::Faults;

/// A running simulated cluster.
pub struct Cluster {
    config: Arc<ClusterConfig>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Installs the process-wide TLS crypto provider (ring), if none is installed yet.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: one is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl Cluster {
    /// Sets the cluster up on the API server behind `client` and starts the actors.
    pub async fn start(client: kube::Client, config: ClusterConfig) -> Result<Self> {
        install_crypto_provider();
        let volumes = config.volumes_dir();
        std::fs::create_dir_all(&volumes)
            .map_err(|e| Error::io("creating the volume directory", &volumes, e))?;
        setup::install_crds(&client, Duration::from_secs(60)).await?;
        setup::ensure_node(&client).await?;
        setup::ensure_storage(&client).await?;
        let config = Arc::new(config);
        let stop = CancellationToken::new();
        let cdi = {
            let (client, config, stop) = (client.clone(), Arc::clone(&config), stop.clone());
            tokio::spawn(async move {
                if let Err(error) = cdi::run(client, config, stop).await {
                    tracing::error!(%error, "the simulated CDI stopped");
                }
            })
        };
        let tasks = vec![
            tokio::spawn(storage::run(
                client.clone(),
                Arc::clone(&config),
                stop.clone(),
            )),
            tokio::spawn(kubelet::run(
                client.clone(),
                Arc::clone(&config),
                stop.clone(),
            )),
            tokio::spawn(jobs::run(client.clone(), Arc::clone(&config), stop.clone())),
            tokio::spawn(kubevirt::run(client, Arc::clone(&config), stop.clone())),
            cdi,
        ];
        Ok(Self {
            config,
            stop,
            tasks,
        })
    }

    /// The configuration the actors run with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Stops the actors and the workloads they run (pods keep their last status, as
    /// when a node goes down).
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
