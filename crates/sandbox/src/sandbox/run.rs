//! Starting, running and stopping a sandbox.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_api::{Migration, Plan, Provider};
use ferry_apiserver::{MemoryLogs, RunningApiServer};
use ferry_inventory::Registry;
use ferry_inventory::ova::samples::SampleOptions;
use ferry_inventory::rest::{RestState, auth::StaticToken, router};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::catalog::{self, CatalogError};
use super::controllers::{ControllerSetup, Controllers, RunningControllers};
use super::demo;
use super::layout::{self, Endpoints, Layout, State};
use super::progress::{self, DiskSizes, Display, Mode, PlanState};
use super::server::{Server, ServerChoice};
use crate::cluster::apifaults::faulty_client;
use crate::cluster::config::{PodNetwork, STORAGE_CLASS};
use crate::cluster::faults::{ApiFaults, Faults};
use crate::cluster::logs::{FileLogs, PodLogs, Tee};
use crate::cluster::{self, Cluster, ClusterConfig, Pace};

const MANAGER: &str = "ferry-sandbox";

/// Why the sandbox stopped.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The data directory cannot be used.
    #[error("cannot use the data directory {dir}")]
    DataDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The API server did not start.
    #[error("the API server did not start")]
    ApiServer(#[from] ferry_apiserver::StartError),
    /// The real kube-apiserver, etcd or kube-controller-manager did not start.
    #[error("the real control plane did not start: {0}")]
    RealServer(Box<ferry_realkube::Error>),
    /// `--kube-bin` names a directory without the control-plane binaries.
    #[error(
        "--kube-bin {}: {reason}; build kube-apiserver, etcd, kube-controller-manager and \
         kubectl with tools/kube/build.sh and pass the directory it prints",
        dir.display()
    )]
    KubeBin {
        /// The directory.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The simulated cluster did not start.
    #[error("the simulated cluster did not start")]
    Cluster(#[from] cluster::Error),
    /// The catalog cannot be prepared.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The machine lacks what the sandbox needs (`qemu-img`).
    #[error(transparent)]
    Prerequisite(#[from] super::prereq::PrereqError),
    /// The controllers did not start.
    #[error("Ferry's controllers did not start: {0}")]
    Controllers(String),
    /// An API call failed.
    #[error("{action}: {}", crate::cluster::error::describe(error))]
    Kube {
        /// What was being done.
        action: String,
        /// Why.
        error: kube::Error,
    },
    /// Something did not happen in time.
    #[error("{0}")]
    Timeout(String),
    /// The demo plan failed.
    #[error("the migration failed: {0}")]
    MigrationFailed(String),
    /// The demo plan was canceled.
    #[error("the migration was canceled")]
    MigrationCanceled,
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

fn kube_error(action: impl Into<String>) -> impl FnOnce(kube::Error) -> SandboxError {
    let action = action.into();
    move |error| SandboxError::Kube { action, error }
}

/// How to start a [`Sandbox`].
#[derive(Clone)]
pub struct SandboxOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The OVA catalog; `None` writes the samples into `DATA/catalog`.
    pub catalog: Option<PathBuf>,
    /// How many sample VMs to prepare (at least the four samples are written).
    pub sample_vms: usize,
    /// How fast the simulated cluster goes.
    pub pace: Pace,
    /// What goes wrong in the cluster.
    pub faults: Faults,
    /// What goes wrong in the controllers' API calls.
    pub api_faults: ApiFaults,
    /// The controllers.
    pub controllers: Arc<dyn Controllers>,
    /// The API server: Ferry's embedded one, or the real kube-apiserver and etcd.
    pub server: ServerChoice,
}

/// A running sandbox.
pub struct Sandbox {
    layout: Layout,
    api: Server,
    cluster: Option<Cluster>,
    client: kube::Client,
    inventory_url: String,
    inventory_stop: CancellationToken,
    inventory_task: JoinHandle<()>,
    catalog: PathBuf,
    ova_url: String,
    launcher: Arc<dyn Controllers>,
    setup: ControllerSetup,
    controllers: Option<Box<dyn RunningControllers>>,
}

/// Puts the output of earlier runs' containers (`logs/<ns>/<pod>/<container>.log`)
/// back into the API server's log buffers, so `kubectl logs` still shows it after a
/// restart. Best effort: unreadable files are skipped.
fn replay_logs(dir: &std::path::Path, logs: &MemoryLogs) {
    let entries = |path: &std::path::Path| -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(path)
            .map(|d| d.filter_map(Result::ok).collect())
            .unwrap_or_default()
    };
    let name = |entry: &std::fs::DirEntry| entry.file_name().to_string_lossy().into_owned();
    for namespace in entries(dir) {
        for pod in entries(&namespace.path()) {
            for container in entries(&pod.path()) {
                let file = name(&container);
                let Some(container_name) = file.strip_suffix(".log") else {
                    continue;
                };
                if let Ok(text) = std::fs::read_to_string(container.path()) {
                    let (namespace, pod) = (name(&namespace), name(&pod));
                    logs.append(&namespace, &pod, container_name, &text);
                    logs.close(&namespace, &pod, container_name);
                }
            }
        }
    }
}

/// Server-side applies `object` as the sandbox's field manager, forcing conflicts.
pub(super) async fn apply<K>(api: &Api<K>, object: &Value) -> Result<K, SandboxError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(kube_error(format!(
        "applying {} {name}",
        object["kind"].as_str().unwrap_or_default()
    )))
}

impl Sandbox {
    /// Starts the API server, the cluster, the CRDs and the inventory service, and
    /// prepares the catalog. The controllers start with [`Sandbox::start_controllers`].
    pub async fn start(options: &SandboxOptions) -> Result<Self, SandboxError> {
        cluster::install_crypto_provider();
        if let ServerChoice::Real { bin, .. } = &options.server {
            // Before anything is written: a wrong directory is a typo to fix at once.
            super::server::binaries(bin)?;
        }
        let layout = Layout::new(&options.data_dir).map_err(|source| SandboxError::DataDir {
            dir: options.data_dir.clone(),
            source,
        })?;
        super::server::check_data_dir(&options.server, &layout)?;
        layout.create().map_err(|source| SandboxError::DataDir {
            dir: layout.root.clone(),
            source,
        })?;
        let mut state: State = layout::read_json(&layout.state()).unwrap_or_default();

        let catalog = match &options.catalog {
            Some(dir) => dir.canonicalize().map_err(|source| SandboxError::DataDir {
                dir: dir.clone(),
                source,
            })?,
            None => {
                let dir = layout.catalog();
                let vms = options.sample_vms;
                let samples = SampleOptions::from_env();
                let target = dir.clone();
                tokio::task::spawn_blocking(move || catalog::write(&target, vms, &samples))
                    .await
                    .map_err(|e| SandboxError::Controllers(e.to_string()))??;
                dir.canonicalize()
                    .map_err(|source| SandboxError::DataDir { dir, source })?
            }
        };
        let ova_url = format!("127.0.0.1:{}", catalog.display());

        let api = Server::start(&options.server, &layout, state.apiserver_port).await?;
        if !api.is_real() {
            state.apiserver_port = api.port();
        }
        let client = api.client().map_err(kube_error("building a client"))?;

        let mut config = ClusterConfig::new(&layout.root);
        if state.pod_network != 0 {
            config.pod_network = PodNetwork {
                octet: state.pod_network,
            };
        }
        state.pod_network = config.pod_network.octet;
        config.shares = vec![catalog.clone()];
        config.pace = options.pace.clone();
        config.faults = options.faults.clone();
        let mut logs = vec![Arc::new(FileLogs::new(layout.root.join("logs"))) as Arc<dyn PodLogs>];
        if let Some(memory) = api.memory_logs() {
            replay_logs(&layout.root.join("logs"), &memory);
            logs.push(memory as Arc<dyn PodLogs>);
        }
        config.logs = Arc::new(Tee(logs));
        let _ = layout::write_json(&layout.state(), &state);
        install_forklift_crds(&client).await?;
        let cluster = Cluster::start(client.clone(), config).await?;

        let registry = Arc::new(Registry::new());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|source| SandboxError::DataDir {
                dir: layout.root.clone(),
                source,
            })?;
        let inventory_url = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|source| SandboxError::DataDir {
                    dir: layout.root.clone(),
                    source,
                })?
        );
        let inventory_stop = CancellationToken::new();
        let state_rest = RestState::new(
            Arc::clone(&registry),
            Arc::new(StaticToken::new(api.token())),
        );
        let stop = inventory_stop.clone();
        let inventory_task = tokio::spawn(async move {
            let _ = axum::serve(listener, router(state_rest))
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });

        let controller_client = if options.api_faults.enabled() {
            faulty_client(api.client_config(), &options.api_faults)
                .map_err(kube_error("building the fault-injecting client"))?
                .0
        } else {
            client.clone()
        };
        let setup = ControllerSetup {
            client: controller_client,
            registry,
            ova_exports: vec![(ova_url.clone(), catalog.clone())],
            namespace: demo::NAMESPACE.into(),
        };
        Ok(Self {
            layout,
            api,
            cluster: Some(cluster),
            client,
            inventory_url,
            inventory_stop,
            inventory_task,
            catalog,
            ova_url,
            launcher: Arc::clone(&options.controllers),
            setup,
            controllers: None,
        })
    }

    /// A client for the sandbox's API server.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The embedded API server (its request counters, for benchmarks); `None` on the
    /// real kube-apiserver.
    pub fn api_server(&self) -> Option<&RunningApiServer> {
        self.api.embedded()
    }

    /// A client configuration for the sandbox's API server (as its admin).
    pub fn client_config(&self) -> kube::Config {
        self.api.client_config()
    }

    /// The bearer token the API server and the inventory service accept (the API
    /// server's admin token: a secret, never to be logged).
    pub fn token(&self) -> String {
        self.api.token()
    }

    /// True when the sandbox runs on the real kube-apiserver and etcd.
    pub fn is_real_server(&self) -> bool {
        self.api.is_real()
    }

    /// The inventory of a source Provider, by UID.
    pub fn inventory(&self, uid: &str) -> Option<Arc<dyn ferry_inventory::Inventory>> {
        self.setup.registry.inventory(uid)
    }

    /// The data directory's layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The OVA catalog directory.
    pub fn catalog(&self) -> &std::path::Path {
        &self.catalog
    }

    /// Where to reach the sandbox.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            apiserver: self.api.url(),
            kubeconfig: self.layout.kubeconfig(),
            inventory: self.inventory_url.clone(),
            namespace: demo::NAMESPACE.into(),
            catalog: self.catalog.clone(),
            ova_url: self.ova_url.clone(),
        }
    }

    /// Writes `endpoints.json`.
    pub fn write_endpoints(&self) -> Result<(), SandboxError> {
        layout::write_json(&self.layout.endpoints(), &self.endpoints()).map_err(|source| {
            SandboxError::DataDir {
                dir: self.layout.root.clone(),
                source,
            }
        })
    }

    /// Starts Ferry's controllers (no-op when they run).
    pub async fn start_controllers(&mut self) -> Result<(), SandboxError> {
        if self.controllers.is_none() {
            let running = self
                .launcher
                .start(self.setup.clone())
                .await
                .map_err(SandboxError::Controllers)?;
            self.controllers = Some(running);
        }
        Ok(())
    }

    /// Stops Ferry's controllers, as a crash would (the API keeps everything).
    pub async fn stop_controllers(&mut self) {
        if let Some(running) = self.controllers.take() {
            running.stop().await;
        }
    }

    /// Creates (or updates) the namespaces and the two Providers.
    pub async fn apply_providers(&self) -> Result<(), SandboxError> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        for name in [demo::NAMESPACE, demo::TARGET_NAMESPACE] {
            apply(&namespaces, &demo::namespace(name)).await?;
        }
        if self.api.is_real() {
            // ServiceAccount admission refuses pods until kube-controller-manager has
            // made the namespace's `default` account.
            for name in [demo::NAMESPACE, demo::TARGET_NAMESPACE] {
                self.wait_default_service_account(name, Duration::from_secs(60))
                    .await?;
            }
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        apply(&secrets, &demo::ova_secret(&self.ova_url)).await?;
        let providers: Api<Provider> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        apply(&providers, &demo::host_provider()).await?;
        apply(&providers, &demo::ova_provider(&self.ova_url)).await?;
        Ok(())
    }

    /// Waits until `namespace` has its `default` ServiceAccount.
    async fn wait_default_service_account(
        &self,
        namespace: &str,
        limit: Duration,
    ) -> Result<(), SandboxError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let deadline = Instant::now() + limit;
        while accounts
            .get_opt("default")
            .await
            .map_err(kube_error(format!(
                "reading ServiceAccount {namespace}/default"
            )))?
            .is_none()
        {
            if Instant::now() > deadline {
                return Err(SandboxError::Timeout(format!(
                    "namespace {namespace} got no default ServiceAccount within {} s \
                     (kube-controller-manager's serviceaccount-controller makes it)",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Waits until both Providers are `Ready`.
    pub async fn wait_providers(&self, limit: Duration) -> Result<(), SandboxError> {
        let providers: Api<Provider> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        let deadline = Instant::now() + limit;
        loop {
            let mut pending = Vec::new();
            for name in [demo::HOST_PROVIDER, demo::OVA_PROVIDER] {
                let provider = providers
                    .get_opt(name)
                    .await
                    .map_err(kube_error(format!("reading Provider {name}")))?;
                let ready = provider
                    .as_ref()
                    .and_then(|p| p.status.conditions.find("Ready"))
                    .is_some_and(|c| c.is_true());
                if !ready {
                    let why = provider
                        .map(|p| {
                            let s = p.status;
                            s.conditions
                                .iter()
                                .filter(|c| c.category == "Critical" || c.category == "Error")
                                .map(|c| c.message.clone())
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .unwrap_or_default();
                    pending.push(format!(
                        "{name} ({})",
                        if why.is_empty() {
                            "no status yet"
                        } else {
                            &why
                        }
                    ));
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(SandboxError::Timeout(format!(
                    "the Providers did not become Ready within {} s: {}",
                    limit.as_secs(),
                    pending.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates the maps, the Plan over `vms` of the catalog's VMs (all when `None`) and,
    /// unless the Plan already has one, a Migration. Returns the Migration's name.
    pub async fn apply_demo(&self, vms: Option<usize>) -> Result<String, SandboxError> {
        let dir = self.catalog.clone();
        let all = tokio::task::spawn_blocking(move || catalog::read(&dir))
            .await
            .map_err(|e| SandboxError::Controllers(e.to_string()))??;
        let chosen = catalog::choose(&all, vms);
        let ns = demo::NAMESPACE;
        let nads: Api<ferry_api::destination::NetworkAttachmentDefinition> =
            Api::namespaced(self.client.clone(), demo::TARGET_NAMESPACE);
        apply(&nads, &demo::bridge()).await?;
        let network_maps: Api<ferry_api::NetworkMap> = Api::namespaced(self.client.clone(), ns);
        apply(&network_maps, &demo::network_map(&chosen)).await?;
        let storage_maps: Api<ferry_api::StorageMap> = Api::namespaced(self.client.clone(), ns);
        apply(&storage_maps, &demo::storage_map(&chosen, STORAGE_CLASS)).await?;
        let plans: Api<Plan> = Api::namespaced(self.client.clone(), ns);
        if plans
            .get_opt(demo::PLAN)
            .await
            .map_err(kube_error("reading the Plan"))?
            .is_none()
        {
            apply(&plans, &demo::plan(&chosen)).await?;
        }
        self.start_migration(false).await
    }

    /// The Plan's Migrations, oldest first.
    pub async fn migrations(&self) -> Result<Vec<Migration>, SandboxError> {
        let migrations: Api<Migration> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        let mut list: Vec<Migration> = migrations
            .list(&ListParams::default())
            .await
            .map_err(kube_error("listing Migrations"))?
            .items
            .into_iter()
            .filter(|m| m.spec.plan.name.as_deref() == Some(demo::PLAN))
            .collect();
        list.sort_by_key(|m| m.metadata.creation_timestamp.as_ref().map(|t| t.0));
        Ok(list)
    }

    /// Creates a Migration of the Plan (with `again`, even when one exists); returns
    /// the newest Migration's name.
    pub async fn start_migration(&self, again: bool) -> Result<String, SandboxError> {
        let existing = self.migrations().await?;
        if let (Some(last), false) = (existing.last(), again) {
            return Ok(last.metadata.name.clone().unwrap_or_default());
        }
        let migrations: Api<Migration> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        let mut n = existing.len() + 1;
        loop {
            let object: Migration = serde_json::from_value(demo::migration(n))
                .map_err(|e| SandboxError::Controllers(e.to_string()))?;
            match migrations.create(&PostParams::default(), &object).await {
                Ok(created) => return Ok(created.metadata.name.unwrap_or_default()),
                Err(kube::Error::Api(status)) if status.code == 409 => n += 1,
                Err(error) => {
                    return Err(SandboxError::Kube {
                        action: "creating a Migration".into(),
                        error,
                    });
                }
            }
        }
    }

    /// The sizes of the catalog's disks (for progress in MB); empty if it cannot be
    /// read.
    pub async fn disk_sizes(&self) -> DiskSizes {
        let dir = self.catalog.clone();
        tokio::task::spawn_blocking(move || catalog::read(&dir))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|vms| DiskSizes::of(&vms))
            .unwrap_or_default()
    }

    /// The demo Plan.
    pub async fn plan(&self) -> Result<Option<Plan>, SandboxError> {
        let plans: Api<Plan> = Api::namespaced(self.client.clone(), demo::NAMESPACE);
        plans
            .get_opt(demo::PLAN)
            .await
            .map_err(kube_error("reading the Plan"))
    }

    /// Stops everything (the data directory keeps the state). The API server goes
    /// last, after every client of the sandbox's is dropped (their idle connections
    /// would keep its database open).
    pub async fn shutdown(mut self) {
        self.stop_controllers().await;
        if let Some(cluster) = self.cluster.take() {
            cluster.stop().await;
        }
        self.inventory_stop.cancel();
        let Self {
            api,
            client,
            setup,
            inventory_task,
            ..
        } = self;
        let _ = inventory_task.await;
        drop((client, setup));
        api.shutdown().await;
    }
}

/// Installs Forklift's CRDs (`ferry_api::crds`) and waits until they are served.
async fn install_forklift_crds(client: &kube::Client) -> Result<(), SandboxError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let all = ferry_api::crds::all().map_err(|e| SandboxError::Controllers(e.to_string()))?;
    for crd in &all {
        let value =
            serde_json::to_value(crd).map_err(|e| SandboxError::Controllers(e.to_string()))?;
        apply(&crds, &value).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in &all {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let current = crds
                .get_opt(&name)
                .await
                .map_err(kube_error(format!("reading CRD {name}")))?;
            let established = current
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(SandboxError::Timeout(format!(
                    "CRD {name} was not established within 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// How `ferry sandbox` runs.
#[derive(Clone)]
pub struct Options {
    /// What the sandbox is made of.
    pub sandbox: SandboxOptions,
    /// Create and run the demo plan.
    pub demo: bool,
    /// How many VMs the demo plan migrates (`None`: all of the catalog).
    pub vms: Option<usize>,
    /// Exit when the demo plan ends (0 when it succeeded) instead of serving.
    pub exit_when_done: bool,
    /// How progress is shown; `None` picks bars on a terminal, lines otherwise.
    pub display: Option<Mode>,
    /// A vSphere source to add (and migrate from, with the demo).
    pub vsphere: super::vsphere::VsphereChoice,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The demo plan succeeded (with `--exit-when-done`).
    Succeeded,
    /// Interrupted (Ctrl-C) while serving.
    Interrupted,
}

/// Runs `ferry sandbox`, writing what happens to `out`.
pub async fn run(options: Options, out: &mut (impl Write + Send)) -> Result<Outcome, SandboxError> {
    let started = Instant::now();
    let say = |out: &mut (dyn Write + Send), text: &str| -> Result<(), SandboxError> {
        writeln!(out, "{text}").map_err(SandboxError::Output)
    };
    say(
        out,
        &format!(
            "ferry sandbox: data in {}",
            options.sandbox.data_dir.display()
        ),
    )?;
    super::prereq::ensure_qemu_img(out)?;
    let mut sandbox = Sandbox::start(&options.sandbox).await?;
    let endpoints = sandbox.endpoints();
    say(
        out,
        &format!(
            "  API server   {} ({})",
            endpoints.apiserver,
            options.sandbox.server.describe()
        ),
    )?;
    say(out, &format!("  inventory    {}", endpoints.inventory))?;
    say(
        out,
        &format!(
            "  OVA catalog  {} (Provider URL {})",
            endpoints.catalog.display(),
            endpoints.ova_url
        ),
    )?;
    sandbox.start_controllers().await?;
    sandbox.apply_providers().await?;
    sandbox.wait_providers(Duration::from_secs(120)).await?;
    sandbox.write_endpoints()?;
    say(
        out,
        &format!(
            "  Providers '{}' and '{}' are Ready in namespace {}",
            demo::HOST_PROVIDER,
            demo::OVA_PROVIDER,
            demo::NAMESPACE
        ),
    )?;
    let vsphere = match super::vsphere::prepare(&options.vsphere).await {
        Ok(Some(prepared)) => Some(super::vsphere::start(&sandbox, prepared, out).await?),
        Ok(None) => None,
        Err(why) => {
            say(out, &format!("  vSphere: skipped: {why}"))?;
            None
        }
    };
    let interrupt = CancellationToken::new();
    {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt.cancel();
            }
        });
    }
    if !options.demo {
        say(out, &kubectl_hints(&endpoints.kubeconfig, false))?;
        say(out, "Serving; press Ctrl-C to stop.")?;
        interrupt.cancelled().await;
        sandbox.shutdown().await;
        return Ok(Outcome::Interrupted);
    }
    let migration = sandbox.apply_demo(options.vms).await?;
    say(
        out,
        &format!(
            "  Plan '{}' migrates to namespace {} (Migration {migration})",
            demo::PLAN,
            demo::TARGET_NAMESPACE
        ),
    )?;
    let vsphere_plan = match &vsphere {
        Some(vsphere) => super::vsphere::apply_plan(&sandbox, vsphere, out).await?,
        None => None,
    };
    let mode = options.display.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    });
    let sizes = sandbox.disk_sizes().await;
    let mut result = watch_plan(&sandbox, &sizes, mode, out, &interrupt).await;
    if let (Some(vsphere), Some(_), Ok(PlanState::Succeeded)) = (&vsphere, &vsphere_plan, &result) {
        result = super::vsphere::watch(&sandbox, mode, out, &interrupt).await;
        if matches!(result, Ok(PlanState::Succeeded)) && !vsphere.prepared.written.is_empty() {
            match super::vsphere::verify(&sandbox, vsphere).await {
                Ok(disks) => say(
                    out,
                    &format!(
                        "  vSphere: {disks} disk images equal the content written to the datastore"
                    ),
                )?,
                Err(why) => result = Err(SandboxError::MigrationFailed(why)),
            }
        }
    }
    let plan = sandbox.plan().await.ok().flatten();
    if let Some(plan) = &plan {
        say(out, &summary(plan, &sizes, started.elapsed()))?;
    }
    say(out, &kubectl_hints(&endpoints.kubeconfig, true))?;
    let result = match result {
        Ok(PlanState::Succeeded) => Ok(Outcome::Succeeded),
        Ok(PlanState::Failed(reason)) => Err(SandboxError::MigrationFailed(reason)),
        Ok(PlanState::Canceled) => Err(SandboxError::MigrationCanceled),
        Ok(_) => Ok(Outcome::Interrupted),
        Err(error) => Err(error),
    };
    if options.exit_when_done || interrupt.is_cancelled() {
        sandbox.shutdown().await;
        return result;
    }
    say(out, "Serving; press Ctrl-C to stop.")?;
    interrupt.cancelled().await;
    sandbox.shutdown().await;
    result.map(|_| Outcome::Interrupted)
}

/// Follows the Plan until its migration ends (or an interrupt); returns its state.
async fn watch_plan(
    sandbox: &Sandbox,
    sizes: &DiskSizes,
    mode: Mode,
    out: &mut (impl Write + Send),
    interrupt: &CancellationToken,
) -> Result<PlanState, SandboxError> {
    let mut display = Display::new(mode);
    let mut seen_executing = false;
    let since = Instant::now();
    let mut warned = false;
    loop {
        if let Some(plan) = sandbox.plan().await? {
            let state = progress::plan_state(&plan);
            let header = match &state {
                PlanState::NotReady(why) => format!("plan {}: not ready: {why}", demo::PLAN),
                PlanState::Ready => format!("plan {}: ready", demo::PLAN),
                PlanState::Executing => format!("plan {}: executing", demo::PLAN),
                PlanState::Succeeded => format!("plan {}: succeeded", demo::PLAN),
                PlanState::Failed(_) => format!("plan {}: FAILED", demo::PLAN),
                PlanState::Canceled => format!("plan {}: canceled", demo::PLAN),
            };
            display
                .update(out, &header, &progress::lines_sized(&plan, sizes))
                .map_err(SandboxError::Output)?;
            seen_executing |= state == PlanState::Executing;
            let migration_done = matches!(
                state,
                PlanState::Succeeded | PlanState::Failed(_) | PlanState::Canceled
            );
            if migration_done && (seen_executing || plan.status.migration.timed.completed.is_some())
            {
                return Ok(state);
            }
            if !warned
                && plan.status.conditions.is_empty()
                && since.elapsed() > Duration::from_secs(30)
            {
                warned = true;
                writeln!(
                    out,
                    "note: the Plan has no status after 30 s: is the plan controller running? \
                     (RUST_LOG=info shows what the controllers do)"
                )
                .map_err(SandboxError::Output)?;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = interrupt.cancelled() => return Ok(PlanState::Ready),
        }
    }
}

/// The summary printed at the end (pure).
pub fn summary(plan: &Plan, sizes: &DiskSizes, elapsed: Duration) -> String {
    format!(
        "Summary: {}, sandbox ran {:.1} s",
        plan_summary(plan, sizes),
        elapsed.as_secs_f64()
    )
}

/// One plan's outcome: VMs by state, MiB converted and the migration's duration (pure).
pub fn plan_summary(plan: &Plan, sizes: &DiskSizes) -> String {
    let lines = progress::lines_sized(plan, sizes);
    let count = |state| lines.iter().filter(|l| l.state == state).count();
    let mb: i64 = lines
        .iter()
        .filter(|l| l.state == progress::VmState::Succeeded)
        .map(|l| l.total_mb)
        .sum();
    let migration_time = match (
        &plan.status.migration.timed.started,
        &plan.status.migration.timed.completed,
    ) {
        (Some(start), Some(end)) => Duration::try_from(end.0.duration_since(start.0)).ok(),
        _ => None,
    };
    format!(
        "{} VMs: {} succeeded, {} failed, {} canceled; {} MiB converted; migration took {}",
        lines.len(),
        count(progress::VmState::Succeeded),
        count(progress::VmState::Failed),
        count(progress::VmState::Canceled),
        mb,
        migration_time.map_or_else(|| "-".into(), |d| format!("{:.1} s", d.as_secs_f64())),
    )
}

/// How to look at the result with kubectl.
pub fn kubectl_hints(kubeconfig: &std::path::Path, demo: bool) -> String {
    let k = format!("kubectl --kubeconfig {}", kubeconfig.display());
    let mut text = format!(
        "\nLook around with kubectl:\n  export KUBECONFIG={}\n  {k} get providers -n {ns}\n",
        kubeconfig.display(),
        ns = demo::NAMESPACE
    );
    if demo {
        text.push_str(&format!(
            "  {k} get plans,migrations -n {ns}\n  {k} get virtualmachines,datavolumes,pvc -n {target}\n  {k} get plan {plan} -n {ns} -o yaml\n",
            ns = demo::NAMESPACE,
            target = demo::TARGET_NAMESPACE,
            plan = demo::PLAN,
        ));
    }
    text
}
