//! The manager: builds the shared [`Context`] (client, settings, clock, watch caches,
//! inventory collectors, metrics) and runs every controller until shut down.
//!
//! `ferry controller` calls [`run`]; the sandbox and tests call [`start`], which returns
//! a [`Manager`] handle (readiness, the context, shutdown) instead of waiting for a
//! signal:
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use ferry_controller::manager::{ClientSource, ManagerConfig, start};
//! let mut config = ManagerConfig::new(ClientSource::Client(client));
//! config.settings = Some(ferry_controller::Settings::defaults()?);
//! let manager = start(config).await?;
//! manager.wait_ready(std::time::Duration::from_secs(30)).await;
//! // ... create Providers, Plans, Migrations ...
//! manager.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_api::destination::nad::NetworkAttachmentDefinition;
use ferry_api::destination::{DataVolume, VirtualMachine};
use ferry_api::{
    Conversion, ForkliftController, Hook, Host, Migration, NetworkMap, Plan, Provider, StorageMap,
};
use ferry_inventory::Registry;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Resource;
use kube::api::{Api, ListParams};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cache::{Cache, valid};
use crate::clock::{Clock, SystemClock};
use crate::collectors::{Collectors, OvaShares};
use crate::context::{Caches, Context, DestinationCaches, Guarded};
use crate::leader::{self, Election};
use crate::metrics::Metrics;
use crate::plan::{PlanIndex, PlanReconciler};
use crate::settings::{Settings, SettingsError};
use crate::{conversion, health, hook, host, maps, migration, plan, provider};

/// Where the API client comes from.
pub enum ClientSource {
    /// In-cluster configuration, else `KUBECONFIG` / `~/.kube/config`.
    Infer,
    /// This kubeconfig file.
    Kubeconfig(PathBuf),
    /// This client (the sandbox's, a test's).
    Client(kube::Client),
}

/// How to start the manager.
pub struct ManagerConfig {
    /// The API client.
    pub client: ClientSource,
    /// The settings; `None` loads them from the environment and the ForkliftController.
    pub settings: Option<Settings>,
    /// The clock (tests inject a [`crate::clock::ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// The inventory registry, shared with the inventory REST service if one runs.
    pub registry: Arc<Registry>,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`; `None` serves nothing.
    pub http: Option<SocketAddr>,
    /// The plan controller's reconcile (default: `ferry-plan`'s,
    /// [`crate::plan::ferry::FerryPlan`]); `None` runs every controller but the plan's.
    pub plan: Option<Arc<dyn PlanReconciler>>,
    /// The Events' reporting instance and the leader-election identity; `None` uses
    /// `POD_NAME`, else `HOSTNAME`, else `ferry`.
    pub instance: Option<String>,
}

impl ManagerConfig {
    /// Defaults: settings from the environment, the system clock, a new registry, no
    /// HTTP server, `ferry-plan`'s plan controller.
    pub fn new(client: ClientSource) -> Self {
        Self {
            client,
            settings: None,
            clock: Arc::new(SystemClock),
            registry: Arc::new(Registry::new()),
            http: None,
            plan: Some(Arc::new(crate::plan::ferry::FerryPlan::new())),
            instance: None,
        }
    }
}

/// Why the manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No usable client configuration.
    #[error("cannot configure the Kubernetes client: {0}")]
    Client(String),
    /// The settings are invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The ForkliftController could not be read.
    #[error("cannot read the ForkliftController in namespace {namespace}: {source}")]
    ForkliftController {
        /// Where it was looked for.
        namespace: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The API server's discovery failed.
    #[error("cannot discover the API group {group}: {source}")]
    Discovery {
        /// The group version.
        group: &'static str,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The metrics and health server could not bind.
    #[error("cannot serve metrics and health on {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Why a running manager stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Another replica took the leader lease.
    #[error("leadership lost: another replica holds the lease")]
    LeadershipLost,
    /// Waiting for signals failed.
    #[error("cannot wait for termination signals: {0}")]
    Signals(std::io::Error),
}

/// A running manager.
pub struct Manager {
    ctx: Arc<Context>,
    shutdown: CancellationToken,
    runner: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    ready: watch::Receiver<bool>,
    lost: watch::Receiver<bool>,
    http: Option<SocketAddr>,
    index: Arc<PlanIndex>,
}

/// The `User-Agent` of the clients [`connect`] builds.
pub const USER_AGENT: &str = concat!("ferry-controller/", env!("CARGO_PKG_VERSION"));

/// Builds the API client.
pub async fn connect(source: ClientSource) -> Result<kube::Client, StartError> {
    let mut config = match source {
        ClientSource::Client(client) => return Ok(client),
        ClientSource::Infer => kube::Config::infer()
            .await
            .map_err(|error| StartError::Client(error.to_string()))?,
        ClientSource::Kubeconfig(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(&path)
                .map_err(|error| StartError::Client(format!("{}: {error}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|error| StartError::Client(format!("{}: {error}", path.display())))?
        }
    };
    // Identify ourselves as client-go does by default, so the API server's metrics and
    // audit log tell the controller's requests apart.
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(USER_AGENT),
    ));
    kube::Client::try_from(config).map_err(|error| StartError::Client(error.to_string()))
}

/// The ForkliftController's spec in `namespace` (the first by name), if any; `None`
/// also when the cluster does not serve the kind.
pub async fn forklift_controller(
    client: &kube::Client,
    namespace: &str,
) -> Result<Option<ForkliftController>, StartError> {
    let api: Api<ForkliftController> = Api::namespaced(client.clone(), namespace);
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            Ok(items.into_iter().next())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(source) => Err(StartError::ForkliftController {
            namespace: namespace.to_string(),
            source,
        }),
    }
}

/// Loads the settings from the environment and the ForkliftController in
/// `POD_NAMESPACE` (or the client's default namespace).
pub async fn load_settings(client: &kube::Client) -> Result<Settings, StartError> {
    let from_env = Settings::from_env(None)?;
    let namespace = if from_env.manager.pod_namespace.is_empty() {
        client.default_namespace().to_string()
    } else {
        from_env.manager.pod_namespace.clone()
    };
    let found = forklift_controller(client, &namespace).await?;
    match found {
        Some(controller) => {
            tracing::info!(
                name = controller.metadata.name.as_deref().unwrap_or_default(),
                namespace,
                "settings read from the ForkliftController"
            );
            Ok(Settings::from_env(Some(&controller.spec))?)
        }
        None => Ok(from_env),
    }
}

/// Whether the cluster serves `resource` in `group_version`.
async fn serves(
    client: &kube::Client,
    group_version: &'static str,
    resource: &str,
) -> Result<bool, StartError> {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == resource)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(source) => Err(StartError::Discovery {
            group: group_version,
            source,
        }),
    }
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

fn guarded<K>(
    name: &'static str,
    client: &kube::Client,
    namespace: Option<&str>,
    config: watcher::Config,
) -> Arc<Cache<Guarded<K>>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let api: Api<Guarded<K>> = scoped(client, namespace);
    Cache::spawn(name, watcher(api, config).default_backoff())
}

/// The label selector of the objects plans create.
pub const DESTINATION_SELECTOR: &str = "plan-name,plan-namespace";

async fn caches(client: &kube::Client, settings: &Settings) -> Result<Caches, StartError> {
    let namespace = settings.manager.watch_namespace.as_deref();
    let all = watcher::Config::default();
    let labelled = watcher::Config::default().labels(DESTINATION_SELECTOR);
    let nads = if serves(
        client,
        "k8s.cni.cncf.io/v1",
        "network-attachment-definitions",
    )
    .await?
    {
        let api: Api<PartialObjectMeta<NetworkAttachmentDefinition>> = Api::all(client.clone());
        Some(Cache::spawn(
            "networkattachmentdefinitions",
            watcher(api, all.clone()).default_backoff(),
        ))
    } else {
        tracing::info!(
            "the cluster serves no NetworkAttachmentDefinitions: Multus destinations cannot be found"
        );
        None
    };
    let data_volumes = if serves(client, "cdi.kubevirt.io/v1beta1", "datavolumes").await? {
        let api: Api<Guarded<DataVolume>> = Api::all(client.clone());
        Some(Cache::spawn(
            "datavolumes",
            watcher(api, labelled.clone()).default_backoff(),
        ))
    } else {
        None
    };
    let virtual_machines = if serves(client, "kubevirt.io/v1", "virtualmachines").await? {
        let api: Api<Guarded<VirtualMachine>> = Api::all(client.clone());
        Some(Cache::spawn(
            "virtualmachines",
            watcher(api, labelled.clone()).default_backoff(),
        ))
    } else {
        None
    };
    let secrets: Api<PartialObjectMeta<Secret>> = match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let classes: Api<PartialObjectMeta<StorageClass>> = Api::all(client.clone());
    let pvcs: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let jobs: Api<Job> = Api::all(client.clone());
    let conversions: Api<Guarded<Conversion>> = Api::all(client.clone());
    Ok(Caches {
        providers: guarded::<Provider>("providers", client, namespace, all.clone()),
        network_maps: guarded::<NetworkMap>("networkmaps", client, namespace, all.clone()),
        storage_maps: guarded::<StorageMap>("storagemaps", client, namespace, all.clone()),
        hooks: guarded::<Hook>("hooks", client, namespace, all.clone()),
        hosts: guarded::<Host>("hosts", client, namespace, all.clone()),
        migrations: guarded::<Migration>("migrations", client, namespace, all.clone()),
        plans: guarded::<Plan>("plans", client, namespace, all.clone()),
        secrets: Cache::spawn("secrets", watcher(secrets, all.clone()).default_backoff()),
        storage_classes: Cache::spawn(
            "storageclasses",
            watcher(classes, all.clone()).default_backoff(),
        ),
        nads,
        destination: DestinationCaches {
            pvcs: Cache::spawn("pvcs", watcher(pvcs, labelled.clone()).default_backoff()),
            pvs: Cache::spawn("pvs", watcher(pvs, labelled.clone()).default_backoff()),
            pods: Cache::spawn("pods", watcher(pods, labelled.clone()).default_backoff()),
            jobs: Cache::spawn("jobs", watcher(jobs, labelled.clone()).default_backoff()),
            conversions: Cache::spawn(
                "conversions",
                watcher(conversions, labelled).default_backoff(),
            ),
            data_volumes,
            virtual_machines,
        },
    })
}

fn instance(configured: Option<String>) -> String {
    configured
        .or_else(|| std::env::var("POD_NAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "ferry".into())
}

/// Recomputes the `mtv_*` metrics from the caches whenever a Plan, Migration or
/// Provider changes (a burst within a second counts once).
async fn update_metrics(ctx: Arc<Context>) {
    let caches = &ctx.caches;
    let mut changes = futures::stream::select_all([
        caches.plans.events().map(|_| ()).boxed(),
        caches.migrations.events().map(|_| ()).boxed(),
        caches.providers.events().map(|_| ()).boxed(),
    ]);
    while changes.next().await.is_some() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Drain what arrived meanwhile.
        while futures::FutureExt::now_or_never(changes.next())
            .flatten()
            .is_some()
        {}
        let plans: Vec<Plan> = caches
            .plans
            .state()
            .iter()
            .filter_map(|guard| valid(guard.as_ref()).cloned())
            .collect();
        let migrations: Vec<Migration> = caches
            .migrations
            .state()
            .iter()
            .filter_map(|guard| valid(guard.as_ref()).cloned())
            .collect();
        let provider = |reference: &ferry_api::ObjectReference| caches.provider_ref(reference);
        let plan = |reference: &ferry_api::ObjectReference| caches.plan_ref(reference);
        ctx.metrics
            .mtv
            .update_plans(&plans.iter().collect::<Vec<_>>(), &provider);
        ctx.metrics
            .mtv
            .update_migrations(&migrations.iter().collect::<Vec<_>>(), &plan, &provider);
    }
}

fn spawn_controllers(
    ctx: &Arc<Context>,
    plan_reconciler: Option<Arc<dyn PlanReconciler>>,
    index: &Arc<PlanIndex>,
    token: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let stop = || token.clone().cancelled_owned();
    let mut tasks = vec![
        tokio::spawn(provider::controller(Arc::clone(ctx), stop())),
        tokio::spawn(maps::controller::<NetworkMap>(Arc::clone(ctx), stop())),
        tokio::spawn(maps::controller::<StorageMap>(Arc::clone(ctx), stop())),
        tokio::spawn(hook::controller(Arc::clone(ctx), stop())),
        tokio::spawn(host::controller(Arc::clone(ctx), stop())),
        tokio::spawn(migration::controller(Arc::clone(ctx), stop())),
        tokio::spawn(conversion::controller(Arc::clone(ctx), token.clone())),
    ];
    match plan_reconciler {
        Some(reconciler) => tasks.push(tokio::spawn(plan::controller(
            Arc::clone(ctx),
            reconciler,
            Arc::clone(index),
            token.clone(),
        ))),
        None => tracing::warn!("no plan controller is wired: Plans are not reconciled"),
    }
    tasks
}

/// Starts the manager: caches, collectors, controllers (after winning the leader lease
/// when `FERRY_LEADER_ELECTION` is on), the metrics and health server when asked.
/// Returns once everything is spawned; see [`Manager::wait_ready`].
pub async fn start(config: ManagerConfig) -> Result<Manager, StartError> {
    let client = connect(config.client).await?;
    let settings = match config.settings {
        Some(settings) => settings,
        None => load_settings(&client).await?,
    };
    let settings = Arc::new(settings);
    let caches = caches(&client, &settings).await?;
    let collectors = Arc::new(Collectors::new(
        config.registry,
        OvaShares::new(settings.ova.clone()),
    ));
    let instance = instance(config.instance);
    let ctx = Arc::new(Context {
        client: client.clone(),
        settings: Arc::clone(&settings),
        clock: config.clock,
        metrics: Arc::new(Metrics::new()),
        caches,
        collectors,
        instance: instance.clone(),
    });
    let token = CancellationToken::new();
    let (ready_tx, ready) = watch::channel(false);
    let (lost_tx, lost) = watch::channel(false);
    let index = Arc::new(PlanIndex::new());
    let mut background = vec![
        tokio::spawn(provider::collect_garbage(Arc::clone(&ctx))),
        tokio::spawn(plan::maintain_index(
            Arc::clone(&ctx.caches.plans),
            Arc::clone(&index),
        )),
        tokio::spawn(update_metrics(Arc::clone(&ctx))),
    ];
    let http = match config.http {
        Some(addr) => {
            let (bound, task) = health::serve(
                addr,
                Arc::clone(&ctx.metrics),
                ready.clone(),
                token.clone().cancelled_owned(),
            )
            .await
            .map_err(|source| StartError::Http { addr, source })?;
            background.push(task);
            tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
            Some(bound)
        }
        None => None,
    };
    let election = settings.manager.leader_election.then(|| {
        let namespace = if settings.manager.pod_namespace.is_empty() {
            client.default_namespace().to_string()
        } else {
            settings.manager.pod_namespace.clone()
        };
        Election::new(&namespace, &settings.manager.lease_name, &instance)
    });
    let start_ctx = Arc::clone(&ctx);
    let start_token = token.clone();
    let start_index = Arc::clone(&index);
    let plan_reconciler = config.plan;
    let runner = tokio::spawn(async move {
        let mut keeper = None;
        if let Some(election) = election {
            let api: Api<Lease> = Api::namespaced(start_ctx.client.clone(), &election.namespace);
            if !leader::acquire(&api, &election, &start_token).await {
                return;
            }
            keeper = Some(tokio::spawn(leader::keep(
                api,
                election,
                start_token.clone(),
                lost_tx,
            )));
        }
        // Reconciles read the caches: a reconcile before every cache is listed would
        // see a Provider's map without its Provider and write a wrong status.
        tokio::select! {
            () = start_token.cancelled() => {}
            () = wait_caches(&start_ctx.caches) => {
                let controllers =
                    spawn_controllers(&start_ctx, plan_reconciler, &start_index, &start_token);
                let _ = ready_tx.send(true);
                tracing::info!("controllers running");
                for task in controllers {
                    let _ = task.await;
                }
            }
        }
        // The keeper releases the lease once cancelled.
        if let Some(keeper) = keeper {
            let _ = keeper.await;
        }
    });
    Ok(Manager {
        ctx,
        shutdown: token,
        runner,
        background,
        ready,
        lost,
        http,
        index,
    })
}

async fn wait_caches(caches: &Caches) {
    caches.providers.ready().await;
    caches.network_maps.ready().await;
    caches.storage_maps.ready().await;
    caches.hooks.ready().await;
    caches.hosts.ready().await;
    caches.migrations.ready().await;
    caches.plans.ready().await;
    caches.secrets.ready().await;
    caches.storage_classes.ready().await;
    if let Some(nads) = &caches.nads {
        nads.ready().await;
    }
    let destination = &caches.destination;
    destination.pvcs.ready().await;
    destination.pvs.ready().await;
    destination.pods.ready().await;
    destination.jobs.ready().await;
    destination.conversions.ready().await;
    if let Some(cache) = &destination.data_volumes {
        cache.ready().await;
    }
    if let Some(cache) = &destination.virtual_machines {
        cache.ready().await;
    }
}

/// How long [`Manager::shutdown`] waits for running reconciles.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Manager {
    /// The shared context (client, settings, caches, collectors, metrics).
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.ctx.metrics
    }

    /// The inventory collectors and registry.
    pub fn collectors(&self) -> &Arc<Collectors> {
        &self.ctx.collectors
    }

    /// The index of what Plans reference.
    pub fn plan_index(&self) -> &Arc<PlanIndex> {
        &self.index
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http
    }

    /// Whether the caches are listed and the controllers run.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// A receiver of readiness changes.
    pub fn readiness(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }

    /// Waits until ready, at most `timeout`; returns whether it is.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut ready = self.ready.clone();
        tokio::time::timeout(timeout, ready.wait_for(|ready| *ready))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Waits until leadership is lost (forever without leader election).
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        if lost.wait_for(|lost| *lost).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Stops: no new reconciles, running ones finish (at most [`SHUTDOWN_GRACE`]), the
    /// leader lease is released, collectors and watches stop.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in &self.background {
            task.abort();
        }
        let mut runner = self.runner;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut runner)
            .await
            .is_err()
        {
            tracing::warn!("reconciles still running after the grace period; aborting them");
            runner.abort();
        }
        self.ctx.collectors.stop_all();
        let caches = &self.ctx.caches;
        caches.providers.abort();
        caches.network_maps.abort();
        caches.storage_maps.abort();
        caches.hooks.abort();
        caches.hosts.abort();
        caches.migrations.abort();
        caches.plans.abort();
        caches.secrets.abort();
        caches.storage_classes.abort();
        if let Some(nads) = &caches.nads {
            nads.abort();
        }
        let destination = &caches.destination;
        destination.pvcs.abort();
        destination.pvs.abort();
        destination.pods.abort();
        destination.jobs.abort();
        destination.conversions.abort();
        if let Some(cache) = &destination.data_volumes {
            cache.abort();
        }
        if let Some(cache) = &destination.virtual_machines {
            cache.abort();
        }
        tracing::info!("manager stopped");
    }
}

async fn terminated() -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Runs the manager until SIGTERM or Ctrl-C (then shuts down gracefully), or until the
/// leader lease is lost (an error, so the process exits non-zero and restarts).
pub async fn run(config: ManagerConfig) -> Result<(), RunError> {
    let manager = start(config).await?;
    let outcome = tokio::select! {
        signal = terminated() => signal.map_err(RunError::Signals),
        () = manager.lost() => Err(RunError::LeadershipLost),
    };
    tracing::info!("shutting down");
    manager.shutdown().await;
    outcome
}
